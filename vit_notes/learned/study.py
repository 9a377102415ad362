"""The redesigned study (issue 23): every attention variant of :mod:`.backbone` trained on the
Pairs task (:mod:`.pairs`) from several seeds, with intervals.

    python -m vit_notes.learned.study                         # the default set (below)
    python -m vit_notes.learned.study --variants full,sra4,pool --seeds 0-4 --device cpu
    python -m vit_notes.learned.study --summary               # only rewrite the summary

Each run (variant, seed) trains the shared backbone with that attention on :data:`N_TRAIN`
training images (drawn once from :data:`~.pairs.TRAIN_SEEDS`) in an order set by the seed, from
weights set by the seed (:func:`.backbone.build`), and scores it on :data:`N_TEST` test images
(seed 0, balanced). A run writes ``runs/<variant>_seed<k>.json`` under :data:`OUT` and is
skipped when that file exists, so an interrupted study resumes where it stopped; runs can be
split between processes by variant. The summary ``summary.json`` gives each variant's
parameters, multiply-adds per image, per-seed accuracies, mean, sd, 95% t-interval, and the
paired difference with full attention over the seeds both have (:mod:`.stats`), and records
the device, versions, date, seeds and wall time of each run.

Sized for a CPU: one thread per run (``--threads``), a 16 × 16 token grid of width 32, two
blocks, :data:`EPOCHS` epochs of 250 steps (1,500 steps). Full attention costs about 66 ms a
step on one idle thread (batch 32; 144 ms at width 64 with 4 heads, 11 ms on an 8 × 8 grid),
so about 100 s a run; the recorded runs took 700 s on the loaded 2-core machine.

**No operating point yet.** No setting tried puts full attention above chance while the
pooling baseline stays at chance. Pilots, seed 0, one thread, on a shared machine whose load
average was 4 to 13 (so the times are not idle costs). Unless a row says otherwise: full
attention, width 32, 2 heads, 2 blocks, colour match, 6 kinds, 5 distractors, noise 0.05,
lr 2e-3, 8,000 training images, mean readout, official init (std 0.02).

Rows 1-7: ``python bench/study_pilot.py --variants full --seeds 0 --epochs 6 --kinds 6
--dim 32 --heads 2 --grid G --distractors D [--pos P] [--no-embed-norm] [--noise N]
--record`` (1,500 steps; rows in vit_notes/measurements/study_pilot.json). Rows 8-25:
``python bench/study_pilot_steps.py G STEPS LABEL [key=value ...]`` (1,000 test images;
``linit=0.1`` redraws every linear layer's weights N(0, 0.1), shared parts and attention
alike; ``readout=max`` takes the per-channel maximum over tokens instead of the mean).

====  ====  =====================================================  =====  =====  ========
row   grid  setting (besides the above)                            steps  test   time (s)
====  ====  =====================================================  =====  =====  ========
1     16    pos even                                               1500   0.501  189
2     8     pos even                                               1500   0.498  28
3     8     pos geometric                                          1500   0.505  30
4     8     pos even, no stem LayerNorm                            1500   0.500  44
5     8     pos even, no stem LayerNorm, noise 0                   1500   0.500  46
6     8     pos even, 0 distractors                                1500   0.492  31
7     8     pos even, 0 distractors, no stem LayerNorm             1500   0.500  43
8     8     control ``red``: some mark has colour 0                400    1.000  19
9     8     control ``row0``: some mark lies in row 0              400    1.000  17
10    8     ``dist=0 lr=5e-3 sched=const``                         1500   0.500  68
11    8     ``dist=0 qkinit=0.2``                                  1500   0.485  72
12    8     ``dist=0 en=0 noise=0 lr=5e-3``                        1500   0.500  68
13    4     ``dist=0 kinds=4``                                     3000   0.784  62
14    4     ``dist=0 kinds=4 linit=0.1``                           3000   1.000  47
15    4     ``dist=0 kinds=4 lr=5e-3``                             3000   0.740  52
16    4     ``dist=0 kinds=4 depth=1``                             3000   0.491  32
17    8     ``dist=0 kinds=4 linit=0.1 lr=5e-3``                   4000   0.505  217
18    8     the same with ``readout=max``                          3000   1.000  149
19    8     the same, ``v=pool`` (pooling baseline)                3000   0.855  95
20    16    ``linit=0.1 lr=5e-3 readout=max``                      1500   0.472  309
21    8     ``linit=0.1 lr=5e-3 readout=max``                      3000   0.504  136
22    8     the same, ``dist=2 ntr=24000``                         3000   0.477  136
23    8     the same, ``dist=2 ntr=48000``                         6000   0.582  298
24    8     the same, ``v=pool``                                   6000   0.610  265
25    8     ``dist=1 kinds=4 linit=0.1 lr=5e-3 readout=max``       3000   0.648  133
26    8     ``dist=2 dim=16 linit=0.1 lr=5e-3 readout=max``        3000   0.487  31
27    8     the same, ``v=pool``                                   3000   0.527  22
28    16    ``linit=0.1 lr=5e-3 readout=max ntr=40000``            5000   0.509  312
====  ====  =====================================================  =====  =====  ========

(Rows 8-9 train with LABEL ``red`` or ``row0``; rows 10-28 with ``pair``. Rows 26-28 ran at
a load average under 1. In rows 1-7, 10-12, 16-17, 20, 22 and 26-28 the training loss, after
the first few hundred steps, stays within 0.003 of 0.693 = ln 2. In rows 13-15 it leaves it
near step 1,500 to 1,900, in row 18 near step 1,000, and in rows 21 and 23-24 slowly after
step 2,000 to 3,000, ending near 0.66 with the test still near chance in 21.)

What the pilots show (single seeds; our reading where it says so):

1. *The machinery works*: the controls (rows 8-9), which need no relation, reach 1.000 in 400
   steps. What fails is relating two marks.
2. *The geometric position embedding cannot say "same row" sharply*: on 16 rows at width 32
   its row halves span about 9 useful directions, and neighbouring rows have dot product 6.5
   of 8 (:func:`.backbone.sincos_2d`, tests/test_study_backbone.py). ``pos="even"`` makes
   any two of the 16 rows orthogonal. Alone it does not move the loss (rows 1-3).
3. *The loss sits on a plateau at ln 2 that grows with the number of tokens*: 16 tokens leave
   it after 1,500 to 1,900 steps (rows 13-15), 64 tokens not within 4,000 (row 17). Our
   reading: the task is built so that same-colour pairs and same-row pairs are equally many in
   both classes, so at the start, where attention is uniform, no score gets a gradient of the
   first order; the model must grow a row score and a colour comparison together. Wider init
   (row 14), learning rate (10, 15), no stem LayerNorm (4, 5, 7, 12) do not shorten it much.
4. *The mean readout dilutes the signal*: with the per-channel maximum over tokens, the
   8 × 8 grid leaves the plateau near step 1,000 and reaches 1.000 (row 18 against row 17,
   which also had 1,000 more steps). But the pooling baseline then learns too: 0.855 (row 19)
   and 0.610 beside full attention's 0.582 (rows 23-24). On 8 rows × 6 kinds there are 48
   (kind, row) bins against a width of 32, so one pooled vector can carry much of the
   histogram (:mod:`.pairs`: the floor holds only while bins greatly outnumber the width).
   An 8 × 8 grid with the max readout is therefore no operating point.
5. On the 16 × 16 grid (96 bins) full attention has not left chance in any setting, within
   1,500 steps (rows 1, 20) or 5,000 with the max readout (row 28, 312 s on a nearly idle
   thread). At width 16 on 8 × 8 neither full attention nor the pooling baseline leaves
   chance in 3,000 steps (rows 26-27).

Left to find (not run): the 16 × 16 grid with the max readout, ``linit=0.1``, even spacing and
more steps (at 62 ms a step, 10,000 steps is about 10 minutes a run of full attention, so
13 variants × 5 seeds would take up to about 12 hours on one thread (the reduced variants
cost less), or 6 on the 2 cores: a GPU
job, ``--device``, and not known to suffice); or a task whose relation gives attention a
first-order signal while a pooled summary still fails, checked first with the pooling
baseline at the max readout.
The recorded runs under ``study_pairs`` (full, sra4, pool, 5 seeds each, all at chance) used
the defaults: geometric spacing, mean readout, std 0.02.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import measured, validate
from ..counting import count_macs, count_params
from . import backbone, pairs
from .stats import T975, mean_interval, paired_difference

#: The task (the Pairs defaults) and the model every variant shares (the Backbone defaults
#: but for the width): a 48-px image, 3-px patches, a 16 × 16 token grid.
TASK = dict(
    grid=pairs.GRID, cell=pairs.CELL, detail=pairs.DETAIL, distractors=pairs.DISTRACTORS,
    kinds=pairs.KINDS, match=pairs.MATCH_BY,
)  # fmt: skip
MODEL = dict(img_size=pairs.GRID * pairs.CELL, patch=pairs.CELL, dim=32, depth=2, heads=2)
#: The training recipe: AdamW, one-cycle learning rate, cross-entropy.
EPOCHS, N_TRAIN, N_TEST, BATCH, LR, WD = 6, 8000, 2000, 32, 2e-3, 0.05
RECIPE = dict(epochs=EPOCHS, n_train=N_TRAIN, n_test=N_TEST, batch=BATCH, lr=LR, wd=WD)
#: Every variant, in the order the study trains them (the baseline and one SRA first).
VARIANTS = ("full", "sra4", "pool", "sra2", "sra8", "avg2", "avg4", "avg8", "linear2",
            "shunted4", "shunted4_nole", "shunted8", "shunted8_nole")  # fmt: skip
SEEDS = (0, 1, 2, 3, 4)
#: Where the runs and the summary go.
OUT = Path(__file__).resolve().parent.parent / "measurements" / "study_pairs"


def data(n: int, seed: int, cache: Path | None = None):
    """``(images, labels)`` of ``make_pairs(n, seed, **TASK)``, cached on disk when asked."""
    path = None
    if cache is not None:
        tag = hashlib.sha256(json.dumps([n, seed, TASK], sort_keys=True).encode()).hexdigest()
        path = cache / f"pairs_{tag[:16]}.pt"
        if path.exists():
            return torch.load(path)
    d = pairs.make_pairs(n, seed, **TASK)
    out = (d.images, d.labels)
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
    return out


def fit(model, images, labels, seed: int, device: str = "cpu", progress=None) -> list[float]:
    """Train ``model`` in place with :data:`RECIPE`, batch order from ``seed``; the mean loss of
    each epoch."""
    steps = len(labels) // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=LR, total_steps=EPOCHS * steps, pct_start=0.15
    )
    order = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(labels), generator=order)
        total = 0.0
        for i in range(steps):
            idx = perm[i * BATCH : (i + 1) * BATCH]
            loss = F.cross_entropy(model(images[idx].to(device)), labels[idx].to(device))
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"the loss became {loss.item()}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            if progress is not None:
                progress.update(1)
        losses.append(total / steps)
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model, images, labels, device: str = "cpu", batch: int = 500) -> float:
    model.eval()
    pred = torch.cat(
        [
            model(images[i : i + batch].to(device)).argmax(1).cpu()
            for i in range(0, len(labels), batch)
        ]
    )
    return (pred == labels).float().mean().item()


def cost(variant: str) -> dict:
    """Parameters and multiply-adds per image of ``variant`` (on the meta device: no compute)."""
    m = backbone.build(variant, 0, **MODEL).eval()
    macs = count_macs(m, torch.rand(1, 3, MODEL["img_size"], MODEL["img_size"]))
    return dict(params=count_params(m), macs=macs)


def run(variant: str, seed: int, train, test, device: str = "cpu", progress=None) -> dict:
    """Train and score one (variant, seed); the run's record."""
    model = backbone.build(variant, seed, **MODEL).to(device)
    start = time.perf_counter()
    losses = fit(model, *train, seed, device, progress)
    seconds = time.perf_counter() - start
    return dict(
        variant=variant, seed=seed, accuracy=accuracy(model, *test, device),
        train_accuracy=accuracy(model, train[0][:N_TEST], train[1][:N_TEST], device),
        losses=[round(x, 4) for x in losses], seconds=round(seconds, 1), device=device,
        threads=torch.get_num_threads(), torch=torch.__version__,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        settings=dict(task=TASK, model=MODEL, recipe=RECIPE),
    )  # fmt: skip


def summarise(out: Path = OUT) -> dict:
    """Read every run under ``out/runs`` and write ``out/summary.json``: per variant its cost,
    per-seed accuracies, mean, sd, 95% interval, and the paired difference with ``full``."""
    runs = [json.loads(p.read_text("utf-8")) for p in sorted((out / "runs").glob("*.json"))]
    current = [r for r in runs if r["settings"] == dict(task=TASK, model=MODEL, recipe=RECIPE)]
    by = {}
    for r in current:
        by.setdefault(r["variant"], {})[r["seed"]] = r["accuracy"]
    variants = {}
    for v in [v for v in VARIANTS if v in by] + sorted(set(by) - set(VARIANTS)):
        accs = by[v]
        row = dict(cost(v), seeds={str(k): a for k, a in sorted(accs.items())}, n=len(accs))
        row["seconds"] = [r["seconds"] for r in current if r["variant"] == v]
        if len(accs) >= 2:
            iv = mean_interval(list(accs.values()))
            sd = (iv.high - iv.mean) / (stats_t(len(accs))) * math.sqrt(len(accs))
            row.update(mean=iv.mean, sd=sd, low=iv.low, high=iv.high)
            if v != "full" and len(set(accs) & set(by.get("full", {}))) >= 2:
                d = paired_difference(by["full"], accs)
                row["minus_full"] = dict(mean=d.mean, low=d.low, high=d.high, n=d.n)
        variants[v] = row
    summary = dict(
        generated_by="python -m vit_notes.learned.study",
        recorded={
            **measured.machine(),
            "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "devices": sorted({r["device"] for r in current}),
            "torch_of_runs": sorted({r["torch"] for r in current}),
        },
        settings=dict(task=TASK, model=MODEL, recipe=RECIPE, n_test=N_TEST, test_seed=0),
        chance=0.5,
        variants=variants,
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def stats_t(n: int) -> float:
    """The 0.975 t quantile for ``n`` seeds (``n - 1`` degrees of freedom, :data:`.stats.T975`):
    ``n`` from 2 to the largest the table holds."""
    n = validate.positive_int(
        "n", n, minimum=2, maximum=max(T975) + 1, why="the seeds the t table has a quantile for"
    )
    return T975[n - 1]


#: The most seeds one run of the study takes (each trains a model).
MAX_SEEDS = 1000


def _seed_text(text: str, part: str) -> int:
    part = part.strip()
    # ASCII digits only ("²" is a digit to isdigit() but not to int()), and few enough of them
    # that int() never meets its 4,300-digit limit (19 digits hold any 64-bit seed)
    if not (part.isascii() and part.isdigit()) or len(part) > 19:
        raise ValueError(
            f"seeds={validate.shown(text)}: give seeds >= 0 (at most 19 digits) as '0-4' or '0,2,5'"
        )
    return validate.seed("seed", int(part))


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` or ``"0,2,5"`` as a list of seeds: at most :data:`MAX_SEEDS` of them, each
    range ``lo-hi`` with ``lo <= hi``."""
    text = validate.text("seeds", text, allow_empty=True)
    if len(text) > 10 * MAX_SEEDS:
        raise ValueError(
            f"seeds is {len(text):,} characters long: give at most {MAX_SEEDS:,} seeds, as "
            "'0-4' or '0,2,5'"
        )
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        lo = _seed_text(text, lo)
        hi = _seed_text(text, hi) if hi or _ else lo
        if lo > hi:
            raise ValueError(
                f"seeds={validate.shown(text)}: the range {lo}-{hi} runs backwards; give it as "
                f"{hi}-{lo} (the form is '0-4' or '0,2,5')"
            )
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise ValueError(
                f"seeds={validate.shown(text)} gives more than {MAX_SEEDS:,} seeds (each trains a "
                "model): give fewer, as '0-4' or '0,2,5'"
            )
        seeds += list(range(lo, hi + 1))
    seen: set[int] = set()
    twice = sorted({s for s in seeds if s in seen or seen.add(s)})
    if twice:
        raise ValueError(
            f"seeds={validate.shown(text)}: {', '.join(map(str, twice[:8]))} given twice; give "
            "each seed once, as '0-4' or '0,2,5'"
        )
    return seeds


def table(summary: dict) -> str:
    """The summary as a text table (``summary`` as :func:`summarise` returns it)."""
    validate.nonempty_dict("summary", summary, "summarise")
    if "variants" not in summary:
        raise ValueError(
            f"summary has no 'variants' (it has {sorted(map(str, summary))[:8]}): pass what "
            "summarise returns"
        )
    variants = validate.nonempty_dict("summary['variants']", summary["variants"], "summarise")
    for v, r in variants.items():
        validate.rows(f"summary['variants'][{validate.shown(v)}]", [r], ("params", "macs", "n"))
        if "mean" not in r:
            validate.rows(f"summary['variants'][{validate.shown(v)}]", [r], ("seeds",))
    lines = [f"{'variant':>14} {'params':>7} {'MMACs':>6}  n  mean    sd   95% interval    "
             "minus full [95%]"]  # fmt: skip
    for v, r in variants.items():
        line = f"{v:>14} {r['params']:>7,} {r['macs'] / 1e6:>6.2f} {r['n']:>2}"
        if "mean" in r:
            line += f"  {r['mean']:.3f} {r['sd']:.3f}  [{r['low']:.3f}, {r['high']:.3f}]"
        else:  # one seed: its accuracy, no interval
            line += f"  {next(iter(r['seeds'].values())):.3f}  (one seed: no interval)"
        if "minus_full" in r:
            d = r["minus_full"]
            line += f"  {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS[:3]), help="names, or 'all'")
    ap.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,1,2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per run")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--cache", default="/tmp/study_pairs_cache", help="'' for none")
    ap.add_argument("--summary", action="store_true", help="only rewrite the summary")
    ap.add_argument("--epochs", type=int, default=None, help="pilots only: other epochs")
    ap.add_argument("--distractors", type=int, default=None, help="pilots only")
    ap.add_argument("--noise", type=float, default=None, help="pilots only")
    ap.add_argument("--embed-norm", type=int, default=None, help="pilots only: 0 or 1")
    args = ap.parse_args(argv)
    if args.epochs is not None or args.distractors is not None:  # a pilot: its own settings
        global EPOCHS
        EPOCHS = validate.positive_int("--epochs", args.epochs or EPOCHS)
        RECIPE["epochs"] = EPOCHS
        if args.distractors is not None:
            TASK["distractors"] = args.distractors
    if args.noise is not None:
        TASK["noise"] = args.noise
    if args.embed_norm is not None:
        MODEL["embed_norm"] = bool(args.embed_norm)
    out = Path(args.out)
    if not args.summary:
        from tqdm.auto import tqdm

        torch.set_num_threads(args.threads)
        names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
        for v in names:
            validate.one_of("--variants", v, backbone.ATTENTION)
        todo = [
            (v, s)
            for s in parse_seeds(args.seeds)
            for v in names
            if not (out / "runs" / f"{v}_seed{s}.json").exists()
        ]
        print(f"{len(todo)} runs to do (done runs are skipped)", flush=True)
        if todo:
            cache = Path(args.cache) if args.cache else None
            train = data(N_TRAIN, pairs.TRAIN_SEEDS, cache)
            test = data(N_TEST, 0, cache)
            steps = EPOCHS * (N_TRAIN // BATCH)
            (out / "runs").mkdir(parents=True, exist_ok=True)
            with tqdm(total=steps * len(todo), unit="step", mininterval=10) as bar:
                for v, s in todo:
                    bar.set_description(f"{v} seed {s}")
                    r = run(v, s, train, test, args.device, bar)
                    path = out / "runs" / f"{v}_seed{s}.json"
                    path.write_text(json.dumps(r, indent=1) + "\n", encoding="utf-8")
                    tqdm.write(
                        f"{v:>14} seed {s}: test {r['accuracy']:.3f}  train "
                        f"{r['train_accuracy']:.3f}  loss {r['losses'][0]:.3f} -> "
                        f"{r['losses'][-1]:.3f}  {r['seconds']:.0f} s"
                    )
    print(table(summarise(out)))


if __name__ == "__main__":
    main()

"""Train every model of the study and write the shipped weights and results.

    python -m vit_notes.learned.reproduce            # every run: about 30 minutes on 2 cores
    python -m vit_notes.learned.reproduce --check    # retrain nothing: re-score the shipped
                                                     # weights and compare with the results file
    python -m vit_notes.learned.reproduce --time     # re-time the shipped models only
    python -m vit_notes.learned.reproduce --only pvt_none --seeds 1 2  # some runs only
    python -m vit_notes.learned.reproduce --only pvt_full --seeds 1 2 --out /tmp/runs
                                                     # write to a copy, not the shipped files
    python -m vit_notes.learned.reproduce --verify --only pvt_none pvt_full --seeds 0
                                                     # retrain, compare with what is shipped

Without ``--out`` it writes ``vit_notes/learned/weights/study.pt`` (every model's weights,
float16, by name) and ``vit_notes/learned/weights/results.json``, the files the chapter reads: a
run replaces the shipped numbers (in a git clone, ``git checkout vit_notes/learned/weights``
restores them; a pip install has no copy to restore from, so use ``--out`` there).
With ``--out DIR`` it writes the same two files into ``DIR``, starting from copies of the
shipped ones, and leaves the shipped files alone.

The results file holds, for each model its parameters, multiply-adds per
image, measured time per batch of 64 images, training time and losses, accuracy on
:data:`TEST_SEEDS` test sets of :data:`TEST_N` images each (mean and the per-seed values),
and accuracy at each mark size; for :data:`SEED_MODELS`, the mean accuracy of runs from other
training seeds (``seeds``; not shipped), their accuracy at each mark size (``seeds_by_detail``)
and their last epoch's training loss (``seeds_final_loss``). The controls of
:data:`~.models.CONTROLS` are trained and scored alike, but not timed. The chapter reads these
files; nothing in it is typed by hand.

A run restricted with ``--only`` or ``--seeds`` keeps the file's header (machine, threads,
torch, the seed-0 timings) and appends what it ran, where and when, to ``added_runs``.

Each model trains with :data:`~.train.RECIPE`, seed 0, with ``--threads`` threads (2: the
book's machine). Training is deterministic for one machine and thread count; elsewhere the
weights differ in the last bits and the accuracies can differ too. tests/test_learned.py
trains one model for a few steps, twice, and compares the weights bit for bit. It also retrains
pvt_sra8 from seed 0 and checks its accuracy on test seed 0 against the shipped one within
:data:`RETRAIN_TOLERANCE`. That tolerance is looser than the mean difference of every SRA ratio
from full attention (the chapter asserts it), so the test catches a broken training loop, not a
miss the size of the study's effects.
Scores are computed from the float16 weights as shipped, loaded back into float32 models.

``--verify`` retrains the runs that ``--only`` and ``--seeds`` select and writes no weights. It
rounds a seed-0 run's float32 weights to float16, as shipped, and compares those with the
shipped ones bit for bit: a float32 difference below float16's rounding does not show. It
compares a run from another seed (whose weights are not shipped) by its mean accuracy with the
recorded one. It
appends the outcome (date, machine, threads, and for each run whether it is equal and the
largest difference) to the results file's ``verified`` list, after each run
(``finished`` says whether every selected run was compared).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import torch

from .. import measured
from ..counting import count_macs, count_params, time_forward
from .data import IMG_SIZE, MAX_DETAIL, MIN_DETAIL
from .models import CONTROLS, MODELS, build
from .shipped import RESULTS, WEIGHTS, WEIGHTS_DIR, key, load, load_results
from .train import RECIPE, evaluate, train

#: The test sets every model is scored on (seeds below the training seeds), and their size.
TEST_SEEDS = (0, 1, 2, 3, 4)
TEST_N = 2000
#: Test images per mark size for the accuracy-against-detail curve.
DETAIL_N = 1000
#: Models also trained on the pairwise "same" question (2 classes), to show what it takes.
SAME_TASK = ("pvt_full", "coatnet")
#: Models trained again from other seeds, to measure how much one training run varies; these
#: runs are scored on the test seeds (``results["models"][name]["seeds"]``), not shipped.
SEED_MODELS = ("pvt_full", "pvt_sra2", "pvt_sra4", "pvt_sra8", "shunted_full", "coatnet", *CONTROLS)
EXTRA_SEEDS = (1, 2, 3, 4)


def cost(model: torch.nn.Module, min_run_time: float = 0.5, timed: bool = True) -> dict:
    """Parameters, multiply-adds per image and milliseconds per batch of 64 (median; left out
    when ``timed`` is False)."""
    x = torch.zeros(64, 3, IMG_SIZE, IMG_SIZE)
    out = dict(params=count_params(model), macs=count_macs(model.eval(), x[:1]))
    if timed:
        out["ms"] = time_forward(model.eval(), x, min_run_time=min_run_time).median * 1e3
    return out


def score(model: torch.nn.Module, task: str = "majority", full: bool = True):
    """Accuracy on every test seed, and (for the study's task) at every mark size; with
    ``full=False`` only the mean accuracy over the test seeds."""
    accs = [evaluate(model, seed=s, n=TEST_N, task=task).accuracy for s in TEST_SEEDS]
    if not full:
        return sum(accs) / len(accs)
    out = dict(accuracy=accs, mean=sum(accs) / len(accs))
    if task == "majority":
        out["by_detail"] = {
            str(d): evaluate(model, seed=0, n=DETAIL_N, detail=d).accuracy
            for d in range(MIN_DETAIL, MAX_DETAIL + 1)
        }
    return out


def check() -> bool:
    """Re-score every shipped model on the test seeds and say whether the accuracies equal the
    results file's (they do on any machine where float32 inference rounds alike)."""
    results, same = load_results(), True
    for k, entry in results["models"].items():
        accs = [
            evaluate(load(entry["name"], entry["task"]), seed=s, n=TEST_N, task=entry["task"])
            for s in TEST_SEEDS
        ]
        gap = max(abs(a.accuracy - b) for a, b in zip(accs, entry["accuracy"]))
        same &= gap == 0
        print(f"{k:18s} {'equal' if gap == 0 else f'differs by up to {gap:.4f}'}")
    return same


def retime(results_path: Path = RESULTS) -> dict:
    """Measure again the time per batch of every timed model (the shipped weights; timing does
    not depend on them) and write it into ``results_path`` with the date and machine, so that
    the timings can be taken on a quiet machine apart from the training."""
    results = load_results(results_path)
    for k, entry in results["models"].items():
        if "ms" in entry:
            entry["ms"] = cost(load(entry["name"], entry["task"]))["ms"]
            print(f"{k:18s} {entry['ms']:.2f} ms per batch of 64")
    results["timed"] = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        threads=torch.get_num_threads(), **measured.machine(),
    )  # fmt: skip
    results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", "utf-8")
    return results


def _compare_states(ours: dict, theirs: dict) -> tuple[bool, float]:
    """Whether two float16 state dicts are equal bit for bit, and their largest absolute
    difference (infinite where their tensor names or shapes differ)."""
    if set(ours) != set(theirs) or any(ours[n].shape != theirs[n].shape for n in theirs):
        return False, float("inf")
    equal = all(torch.equal(ours[n], theirs[n]) for n in theirs)
    gap = max((ours[n].float() - theirs[n].float()).abs().max().item() for n in theirs)
    return equal, gap


def _verify(runs, threads: int, weights: Path, results_path: Path) -> dict:
    """Retrain ``runs`` as :func:`main` trains them, compare each with what is shipped (see the
    module's note on ``--verify``), append the record to ``results_path``'s ``verified`` list
    and return it. Writes no weights."""
    shipped = torch.load(weights, weights_only=True)
    results = load_results(results_path)
    record = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        threads=threads, **measured.machine(), runs={}, finished=False,
    )  # fmt: skip
    results.setdefault("verified", []).append(record)  # written after each run
    for name, task, seed in runs:
        k = key(name, task)
        model = build(name, seed=seed, task=task)
        log = train(model, seed=seed, task=task, label=f"verify {k} seed {seed}")
        ours = {n: v.detach().to(torch.float16) for n, v in model.state_dict().items()}
        if seed == 0:
            equal, gap = _compare_states(ours, shipped[k])
            compared = "float16 weights"
        else:
            model.load_state_dict({n: v.float() for n, v in ours.items()})
            mean = score(model, task, full=False)
            gap = abs(mean - results["models"][k]["seeds"][str(seed)])
            equal, compared = gap == 0, "mean accuracy"
        record["runs"][f"{k} seed {seed}"] = dict(
            equal=equal, largest_difference=gap, compared=compared, seconds=log.seconds
        )
        print(f"{k:18s} seed {seed}: {compared} " + ("equal" if equal else f"differ by {gap:g}"))
        record["finished"] = len(record["runs"]) == len(runs)
        results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", "utf-8")
    return record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="re-score the shipped weights")
    parser.add_argument("--only", nargs="*", default=None, help="train only these models")
    parser.add_argument("--seeds", nargs="*", type=int, default=None, help="only these seeds")
    parser.add_argument(
        "--time", action="store_true", help="re-time the shipped models only (train nothing)"
    )
    parser.add_argument(
        "--verify", action="store_true", help="retrain, compare with the shipped runs, keep them"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=(
            "write into this folder, not the shipped files; without it a run rewrites"
            " vit_notes/learned/weights (in a git clone, git checkout"
            " vit_notes/learned/weights restores it; a pip install cannot restore it)"
        ),
    )
    args = parser.parse_args(argv)
    out = WEIGHTS_DIR if args.out is None else args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder")
    weights, results_path = out / WEIGHTS.name, out / RESULTS.name
    for name in args.only or ():
        if name not in MODELS:
            raise ValueError(f"--only {name!r}: not a model; choose from {sorted(MODELS)}")
    for seed in args.seeds or ():
        if seed not in (0, *EXTRA_SEEDS):
            raise ValueError(f"--seeds {seed}: choose from {[0, *EXTRA_SEEDS]}")
    torch.set_num_threads(args.threads)  # a script, not a notebook kernel: safe here
    if args.check:
        check()
        return
    if args.time:
        retime(results_path)
        return
    runs = [(name, "majority", 0) for name in MODELS] + [(name, "same", 0) for name in SAME_TASK]
    runs += [(name, "majority", seed) for seed in EXTRA_SEEDS for name in SEED_MODELS]
    if args.only:
        runs = [r for r in runs if r[0] in args.only]
    if args.seeds is not None:
        runs = [r for r in runs if r[2] in args.seeds]
    out.mkdir(parents=True, exist_ok=True)
    if args.verify:
        if not results_path.exists():  # the record goes beside a copy of the shipped results
            results_path.write_text(RESULTS.read_text("utf-8"), "utf-8")
        _verify(runs, args.threads, WEIGHTS, results_path)
        return
    # a new --out folder starts from the shipped files
    states_from = weights if weights.exists() else WEIGHTS
    states = torch.load(states_from, weights_only=True) if states_from.exists() else {}
    results_from = results_path if results_path.exists() else RESULTS
    old = load_results(results_from) if results_from.exists() else {"models": {}}
    partial = args.only is not None or args.seeds is not None
    results = dict(
        generated_by="python -m vit_notes.learned.reproduce",
        torch=torch.__version__,
        machine=f"{platform.machine()}, {platform.system()}",
        # the processor, cores and versions, as a benchmark records them
        recorded=dict(
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **measured.machine(),
        ),
        threads=args.threads,
        recipe=RECIPE,
        test=dict(seeds=list(TEST_SEEDS), n=TEST_N, detail_n=DETAIL_N),
        models=dict(old.get("models", {})),
    )
    if partial and "generated_by" in old:  # keep the header of the runs already there
        results = dict(old, models=dict(old["models"]))
        results["added_runs"] = [*old.get("added_runs", []), dict(
            runs=[f"{key(n, t)} seed {s}" for n, t, s in runs],
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            threads=args.threads, **measured.machine(),
        )]  # fmt: skip
    start = time.perf_counter()
    for name, task, seed in runs:
        k = key(name, task)
        if seed:
            model = build(name, seed=seed, task=task)
            log = train(model, seed=seed, task=task, label=f"{k} seed {seed}")
            model.load_state_dict({n: v.half().float() for n, v in model.state_dict().items()})
            entry = results["models"][k]
            scored = score(model, task)
            entry.setdefault("seeds", {"0": entry["mean"]})[str(seed)] = scored["mean"]
            entry.setdefault("seeds_by_detail", {"0": entry["by_detail"]})
            entry["seeds_by_detail"][str(seed)] = scored["by_detail"]
            entry.setdefault("seeds_final_loss", {"0": entry["losses"][-1]})
            entry["seeds_final_loss"][str(seed)] = log.losses[-1]
            print(f"{k:18s} seed {seed} accuracy {entry['seeds'][str(seed)]:.3f}")
            results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", "utf-8")
            continue
        model = build(name, seed=0, task=task)
        log = train(model, seed=0, task=task, label=f"{k:18s}")
        states[k] = {n: v.detach().to(torch.float16) for n, v in model.state_dict().items()}
        torch.save(states, weights)
        model = load(name, task, path=weights)  # score what is shipped: the float16 weights
        entry = {f: v for f, v in results["models"].get(k, {}).items() if not f.startswith("seeds")}
        info = MODELS[name]
        entry.update(name=name, task=task, label=info.label, family=info.family, keys=info.keys)
        if name in CONTROLS:
            entry["control"] = True
        entry.update(cost(model, timed=name not in CONTROLS), **score(model, task))
        entry.update(train_seconds=log.seconds, losses=log.losses)
        results["models"][k] = entry
        print(f"{k:18s} accuracy {entry['mean']:.3f}  ({time.perf_counter() - start:.0f} s so far)")
        results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", "utf-8")
    if partial:
        results["added_runs"][-1]["seconds"] = time.perf_counter() - start
    else:
        results["total_seconds"] = time.perf_counter() - start
    results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", "utf-8")


if __name__ == "__main__":
    main()

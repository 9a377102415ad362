"""Pilot of the redesigned study (issue 23): does the Pairs task need selection?

Trains the shared backbone (vit_notes.learned.backbone) with the one-key pooling baseline and
with full attention (and any other variant named) on the Pairs task (vit_notes.learned.pairs),
a few training seeds each, on the CPU with one thread, and prints each run's test accuracy
beside chance. The task is meant to put the pooling baseline near chance and full attention
well above it; the pilot is where that is checked.

    python bench/study_pilot.py [--variants pool,full] [--seeds 0,1,2] [--epochs 24]
                                [--n-train 8000] [--distractors 0] [--detail 3] [--record]
                                [--pos even] [--readout max] [--init-std 0.1] [--log-every 125]

The defaults (a 4×4 grid of 3-px cells, marks matched by colour, 4 kinds, no distractors,
dim 64, 4 heads, 2 blocks, 24 epochs of 8,000 images, batches of 32, lr 2e-3) are a setting an
earlier session reported full attention to learn (0.994 and 0.998, pooling 0.521, with the
geometric spacing: ``--pos geometric``); those runs were not recorded. ``--pos`` (here evenly
spaced by default, unlike the backbone, whose default is geometric), ``--readout``,
``--init-std``, ``--no-embed-norm`` and ``--noise`` set the backbone's and the task's options
for every run of the call. The pilots
run since, their commands and what they show are tabled in the docstring of
vit_notes.learned.study (there is no operating point yet); bench/study_pilot_steps.py is the
same loop counted in steps, with a loss printed every 100 steps.

Every run sees the same training images (drawn once from the training seed of the task,
cached under --cache) in an order set by its seed; the model's weights come from the seed
too (vit_notes.learned.backbone.build). Test: --n-test images from seed 0, never a training
seed. ``--record`` adds one row per run (settings, the command) to
vit_notes/measurements/study_pilot.json, keeping the rows already there; the file records the
machine and the date of its last write.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vit_notes import measured
from vit_notes.counting import count_macs, count_params
from vit_notes.learned import backbone, pairs


def dataset(n: int, seed: int, task: dict, cache: Path | None):
    """``(images, labels)`` of ``make_pairs(n, seed, **task)``, cached on disk by settings."""
    if cache is not None:
        tag = hashlib.sha256(json.dumps([n, seed, task], sort_keys=True).encode()).hexdigest()
        path = cache / f"pairs_{tag[:16]}.pt"
        if path.exists():
            return torch.load(path)
    data = pairs.make_pairs(n, seed, **task)
    out = (data.images, data.labels)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
    return out


def fit(
    model, images, labels, seed: int, epochs: int, batch: int, lr: float, wd: float,
    warmup: float = 0.15, log_every: int = 0,
):  # fmt: skip
    """AdamW, one-cycle learning rate (``warmup`` of the steps rising), cross-entropy; batch
    order from ``seed``. Returns the mean loss of each epoch, and the mean loss of every
    ``log_every`` steps (printed as it goes; none when 0)."""
    steps = len(labels) // batch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps, pct_start=warmup
    )
    trace, window = [], []
    order = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(labels), generator=order)
        total = 0.0
        for i in range(steps):
            idx = perm[i * batch : (i + 1) * batch]
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"the loss became {loss.item()}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            window.append(loss.item())
            if log_every and len(window) == log_every:
                trace.append(round(sum(window) / log_every, 3))
                window = []
                print(" ", trace[-1], end="", flush=True)
        losses.append(total / steps)
    model.eval()
    if log_every:
        print()
    return losses, trace


@torch.no_grad()
def accuracy(model, images, labels, batch: int = 500) -> float:
    model.eval()
    pred = torch.cat([model(images[i : i + batch]).argmax(1) for i in range(0, len(labels), batch)])
    return (pred == labels).float().mean().item()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="pool,full", help="names in backbone.ATTENTION")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--n-train", type=int, default=8000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=0.15, help="share of steps warming up")
    ap.add_argument("--pos", default="even", choices=backbone.POS_SPACINGS)
    ap.add_argument("--readout", default="mean", choices=backbone.READOUTS)
    ap.add_argument("--init-std", type=float, default=0.02, help="std of the linears' weights")
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--log-every", type=int, default=125, help="print the loss every N steps")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--grid", type=int, default=4)
    ap.add_argument("--cell", type=int, default=3)
    ap.add_argument("--detail", type=int, default=pairs.DETAIL)
    ap.add_argument("--distractors", type=int, default=0)
    ap.add_argument("--kinds", type=int, default=4)
    ap.add_argument("--match", default="colour", choices=sorted(pairs.MATCH))
    ap.add_argument("--no-embed-norm", action="store_true", help="no LayerNorm after the stem")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/study_pilot_cache", help="'' for none")
    ap.add_argument("--record", action="store_true", help="write the results file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in backbone.ATTENTION:
            raise SystemExit(f"--variants: {v!r} is not one of {', '.join(backbone.ATTENTION)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    task = dict(
        grid=args.grid, cell=args.cell, detail=args.detail, distractors=args.distractors,
        kinds=args.kinds, match=args.match, noise=args.noise,
    )  # fmt: skip
    model_kw = dict(
        img_size=args.grid * args.cell, patch=args.cell, dim=args.dim, depth=args.depth,
        heads=args.heads, num_classes=2, embed_norm=not args.no_embed_norm, pos=args.pos,
        readout=args.readout, init_std=args.init_std,
    )  # fmt: skip
    cache = Path(args.cache) if args.cache else None
    t0 = time.perf_counter()
    train_x, train_y = dataset(args.n_train, pairs.TRAIN_SEEDS, task, cache)
    test_x, test_y = dataset(args.n_test, 0, task, cache)
    chance = max(test_y.float().mean().item(), 1 - test_y.float().mean().item())
    print(f"task {task}; data in {time.perf_counter() - t0:.0f} s")
    print(f"chance (majority class of the test set): {chance:.3f}", flush=True)

    rows = []
    for v in variants:
        probe = backbone.build(v, 0, **model_kw)
        params = count_params(probe)
        macs = count_macs(probe.eval(), test_x[:1])
        for seed in seeds:
            model = backbone.build(v, seed, **model_kw)
            start = time.perf_counter()
            losses, trace = fit(
                model, train_x, train_y, seed, args.epochs, args.batch, args.lr, args.wd,
                args.warmup, args.log_every,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            acc = accuracy(model, test_x, test_y)
            train_acc = accuracy(model, train_x[: args.n_test], train_y[: args.n_test])
            rows.append(
                dict(
                    variant=v, seed=seed, accuracy=acc, train_accuracy=train_acc,
                    chance=chance, params=params, macs=macs, seconds=round(seconds, 1),
                    losses=[round(x, 4) for x in losses], trace=trace,
                )
            )  # fmt: skip
            print(
                f"{v:>14} seed {seed}: test {acc:.3f}  train {train_acc:.3f}  "
                f"loss {losses[0]:.3f} -> {losses[-1]:.3f}  {seconds:.0f} s  "
                f"({params:,} params, {macs:,} MACs)",
                flush=True,
            )
    for v in variants:
        accs = [r["accuracy"] for r in rows if r["variant"] == v]
        mean = sum(accs) / len(accs)
        print(f"{v:>14}: mean {mean:.3f} over {len(accs)} seeds; chance {chance:.3f}")
    if args.record:
        settings = dict(
            task=task, model=model_kw, epochs=args.epochs, n_train=args.n_train,
            n_test=args.n_test, batch=args.batch, lr=args.lr, wd=args.wd, warmup=args.warmup,
            threads=args.threads,
        )  # fmt: skip
        command = "python bench/study_pilot.py " + " ".join(sys.argv[1:] if argv is None else argv)
        for r in rows:
            r.update(settings=settings, command=command)
        try:  # earlier pilots are kept: each row carries its own command
            rows = measured.load("study_pilot").rows + rows
        except ValueError:
            pass
        print("wrote", measured.record("study_pilot", rows, command="see each row"))


if __name__ == "__main__":
    main()

"""Quick pilot of the study's backbone on the Pairs task, counted in steps (issue 23).

    python bench/study_pilot_steps.py GRID STEPS LABEL [key=value ...]

The loop of vit_notes.learned.study (AdamW, one-cycle learning rate with 15% warm-up,
cross-entropy, batch order and weights from ``seed``) on ``ntr`` training images from
``pairs.TRAIN_SEEDS``, scored on 1,000 test images of seed 0. It prints the mean training
loss of every 100 steps, so a pilot shows when (or whether) the loss leaves 0.693.

LABEL: ``pair`` (the Pairs label), or one of two controls that need no relation: ``red``
(some mark is colour 0) and ``row0`` (some mark lies in row 0).

Keys (defaults in brackets): ``dist`` [5] distractors, ``kinds`` [6], ``noise`` [0.05], ``lr``
[2e-3], ``batch`` [32], ``wd`` [0.05], ``v`` [full] variant, ``seed`` [0], ``ntr`` [8000],
``dim`` [32], ``heads`` [2], ``depth`` [2], ``en`` [1] the stem's LayerNorm, ``pos`` [even],
``readout`` [mean], ``linit`` [0: keep the official init] std of a plain normal redraw of
every linear layer's weights after ``build`` (shared parts and attention alike), ``qkinit``
[0] the same for the attention's q and kv weights only, ``sched`` [onecycle] or ``const``
(100 steps of warm-up, then constant). One thread. The pilots it ran are listed in
vit_notes.learned.study's docstring.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from vit_notes.learned import backbone, pairs


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    grid, steps, label = int(argv[0]), int(argv[1]), argv[2]
    kw = dict(a.split("=") for a in argv[3:])
    task = dict(
        grid=grid, distractors=int(kw.pop("dist", 5)), kinds=int(kw.pop("kinds", 6)),
        noise=float(kw.pop("noise", 0.05)),
    )  # fmt: skip
    lr, batch, wd = float(kw.pop("lr", 2e-3)), int(kw.pop("batch", 32)), float(kw.pop("wd", 0.05))
    variant, seed, ntr = kw.pop("v", "full"), int(kw.pop("seed", 0)), int(kw.pop("ntr", 8000))
    model_kw = dict(
        img_size=grid * 3, patch=3, dim=int(kw.pop("dim", 32)), heads=int(kw.pop("heads", 2)),
        depth=int(kw.pop("depth", 2)), embed_norm=bool(int(kw.pop("en", 1))),
        pos=kw.pop("pos", "even"), readout=kw.pop("readout", "mean"),
    )  # fmt: skip
    linit, qkinit = float(kw.pop("linit", 0)), float(kw.pop("qkinit", 0))
    sched_kind = kw.pop("sched", "onecycle")
    if kw:
        raise SystemExit(f"unknown keys: {sorted(kw)}")
    t0 = time.time()
    train, test = (
        pairs.make_pairs(ntr, pairs.TRAIN_SEEDS, **task),
        pairs.make_pairs(1000, 0, **task),
    )

    def labels(d):
        if label == "pair":
            return d.labels
        if label == "red":
            return (d.colours == 0).any(1).long()
        if label == "row0":
            return (d.rows == 0).any(1).long()
        raise SystemExit(f"LABEL={label!r}: use pair, red or row0")

    ytr, yte = labels(train), labels(test)
    print(f"data {time.time() - t0:.0f} s, share of label 1 {ytr.float().mean():.2f}", flush=True)
    m = backbone.build(variant, seed, **model_kw)
    if linit:
        for mod in m.modules():
            if isinstance(mod, torch.nn.Linear):
                torch.nn.init.normal_(mod.weight, 0, linit)
    if qkinit:
        for b in m.blocks:
            for n, p in b.attn.named_parameters():
                if n in ("q.weight", "kv.weight"):
                    torch.nn.init.normal_(p, 0, qkinit)
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=wd)
    if sched_kind == "onecycle":
        sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    else:
        sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 100))
    g = torch.Generator().manual_seed(seed)
    perm, at, window = torch.randperm(ntr, generator=g), 0, []
    t0 = time.time()
    for _ in range(steps):
        if at + batch > ntr:
            perm, at = torch.randperm(ntr, generator=g), 0
        idx = perm[at : at + batch]
        at += batch
        loss = F.cross_entropy(m(train.images[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sch.step()
        window.append(loss.item())
        if len(window) == 100:
            print(f" {sum(window) / 100:.3f}", end="", flush=True)
            window = []
    m.eval()
    with torch.no_grad():
        acc = (m(test.images).argmax(1) == yte).float().mean().item()
    print(f"\n{argv} test {acc:.3f} {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

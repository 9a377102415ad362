"""One setting, timed once: how much of the timed global MSA's forward is building its
relative position bias B, recorded for the Swin chapter in
vit_notes/measurements/swin_bias.json.

The chapter's global MSA (``bench/swin_cost.py``) is a ``swin.GridWindowAttention`` whose
window is stage 1's whole 56×56 grid. On every forward it gathers B, (heads, hw, hw), from
its table and adds it to the logits; eq. (1) counts neither. This script times, on one
image and torch's threads, in ``--rounds`` rounds that take turns: the layer's forward and
the gather ``attn.relative_position_bias()`` alone. Each row keeps every round's median and
the 1-minute load average before and after. A one-off measurement at a single setting: the
chapter prints it as such, with the load.

    python bench/swin_bias.py [--rounds 5] [--min-run-time 0.2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os

import torch
from torch.utils import benchmark

from vit_notes import measured, swin

#: The one setting: stage 1 of Swin-T at 224² (56×56 tokens, C = 96, 3 heads), global.
GRID, DIM, HEADS = 56, 96, 3


def time_call(fn, min_run_time: float) -> float:
    """Median ms of ``fn()`` under no_grad."""
    timer = benchmark.Timer(
        stmt="with torch.no_grad(): fn()",
        globals=dict(torch=torch, fn=fn),
        num_threads=torch.get_num_threads(),
    )
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-run-time", type=float, default=0.2, help="seconds per timing")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while timing")
    args = ap.parse_args()
    torch.manual_seed(0)
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        layer = swin.GridWindowAttention(DIM, (GRID, GRID), HEADS, window_size=GRID).eval()
        x = torch.randn(1, GRID * GRID, DIM)
        parts = {
            "forward": lambda: layer(x, GRID, GRID),
            "bias": layer.attn.relative_position_bias,
        }
        load = os.getloadavg()[0]
        rows = [
            dict(part=p, grid=GRID, dim=DIM, heads=HEADS, window=GRID, ms_rounds=[]) for p in parts
        ]
        for _ in range(args.rounds):
            for row, fn in zip(rows, parts.values()):
                row["ms_rounds"].append(time_call(fn, args.min_run_time))
        for row in rows:
            row["ms"] = min(row["ms_rounds"])
            row["load_avg"] = [load, os.getloadavg()[0]]
            print(f"{row['part']:8s}", ", ".join(f"{t:.1f}" for t in row["ms_rounds"]), "ms")
        command = (
            f"python bench/swin_bias.py --rounds {args.rounds} "
            f"--min-run-time {args.min_run_time} --threads {args.threads}"
        )
        print("wrote", measured.record("swin_bias", rows, command=command))
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    main()

"""Forward time of Swin-T's attention layer at each stage, as W-MSA, SW-MSA and global MSA on
the same grid, on the CPU, recorded for the Swin chapter in
vit_notes/measurements/swin_cost.json.

The chapter plots the recorded rows (``vit_notes.measured.load("swin_cost")``) with the
machine, versions and date they were measured on: nothing is timed while the book builds.
Each layer (``swin.GridWindowAttention`` on one image's stage grid: 56×56 tokens of C = 96
with 3 heads at stage 1 of a 224² image, down to 7×7 of C = 768 at stage 4) is timed with
torch.utils.benchmark in ``--rounds`` rounds (``swin.swin_cost_table``). Each round times
the 12 layers in turn, each for at least ``--min-run-time`` seconds, so a round lasts
seconds. The order alternates: forward in the odd rounds, backward in the even ones, so no
layer is always timed just before another. SW-MSA uses W-MSA's weights, so it differs from
W-MSA by the shift and its mask alone. At stages 1 to 3 global MSA shares W-MSA's projections
and has its own, larger bias table; at stage 4 the grid is one window and global MSA holds all of
W-MSA's weights. Taking turns spreads
a burst of other work over the layers; a burst shorter than a round can still slow one
layer and not the next. Each row keeps every round's median. The
paper's Table 5 times "MSA in a stage" on a V100, with and without Swin's shifted blocks
(§4.4 "Ablation Study"); global MSA is the equations' reference (eq. (1)), timed here on the
same grids, its relative position bias included.

The same rounds time variants of those layers (``swin.SPLIT_VARIANTS``): at each stage that
shifts, SW-MSA with the roll and no mask and with the mask and no roll, and at every stage
global MSA's gather of its bias B alone. The SW-MSA variants are whole layers, so their times
do not add up to SW-MSA's. The gather's share of global MSA's time and the variants' ratios to
W-MSA come from the same run as the layers.

    python bench/swin_cost.py [--size 224] [--rounds 7] [--min-run-time 0.2] [--threads 1]

Prints the rows and, per stage, each other layer's and variant's time over W-MSA's in each
round, then writes the results file. Each row keeps the machine's 1-minute load average before
and after the run: on a shared machine other work adds time.
"""

from __future__ import annotations

import argparse
import os

import torch

from vit_notes import counting, measured, swin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=224, help="image side; stage 1's grid is size/4")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-run-time", type=float, default=0.2, help="seconds per timing")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while timing")
    ap.add_argument("--no-record", action="store_true", help="print only, write no file")
    args = ap.parse_args()

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)  # the results file records the threads in use
    try:
        load = os.getloadavg()[0]
        rows = swin.swin_cost_table(
            size=args.size, min_run_time=args.min_run_time, rounds=args.rounds, split=True
        )
        for r in rows:  # how busy the machine was: the 1-minute load average, before and after
            r["load_avg"] = [load, os.getloadavg()[0]]
        report(rows)
        if not args.no_record:
            command = (
                f"python bench/swin_cost.py --size {args.size} --rounds {args.rounds} "
                f"--min-run-time {args.min_run_time} --threads {args.threads}"
            )
            print("wrote", measured.record("swin_cost", rows, command=command))
    finally:
        torch.set_num_threads(previous)


def report(rows: list[dict]) -> None:
    """Print the rows and, per stage, each round's time ratio to W-MSA."""
    print(
        counting.format_table(
            rows,
            dict(
                variant="variant",
                stage="stage",
                grid="grid",
                window="window",
                shift="shift",
                counted_gmacs="GMACs",
                attn_mib="attn map MiB",
                ms="ms (fastest round)",
            ),
            floatfmt=".4f",
        )
    )
    for variant in ("SW-MSA", "MSA", *swin.SPLIT_VARIANTS):
        for stage, ratios in swin.round_ratios(rows, variant).items():
            print(
                f"stage {stage}: {variant} / W-MSA per round: "
                + ", ".join(f"{r:.2f}" for r in ratios)
            )


if __name__ == "__main__":
    main()

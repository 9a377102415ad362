"""Forward time of one stage-1 shunted layer and of PVT's SRA at the same sr_ratio, on the CPU,
recorded for the Shunted chapter in vit_notes/measurements/shunted_cost.json; and the
reduction convolution alone (kernel and stride r, the same multiply-adds at every r) in
vit_notes/measurements/shunted_reduction_conv.json.

The chapter plots the recorded rows (``vit_notes.measured.load("shunted_cost")``) with the
machine, versions and date they were measured on: nothing is timed while the book builds.
Each layer (Shunted-T's stage 1: ``DIM`` channels and ``NUM_HEADS`` heads, on the token grid of
a ``--size`` image; each row records them as ``dim`` and ``num_heads``) is timed
with torch.utils.benchmark in ``--rounds`` rounds that take turns
(``vit_notes.shunted.shunted_cost_table``): a burst of other work then slows one round of
every layer rather than every round of one layer, and each row keeps every round's median.

    python bench/shunted_cost.py [--size 224] [--rounds 9] [--min-run-time 0.2] [--threads 1]

Prints the rows, the Shunted / SRA time ratio at each sr_ratio, and the points whose time the
multiply-adds do not predict (``timing_outliers``), then writes the results file.
"""

from __future__ import annotations

import argparse

import torch

from vit_notes import counting, measured, shunted

SR_RATIOS = (2, 4, 8)
#: the timed layers' channels and heads: those of Shunted-T's stage 1 (tests/test_shunted.py
#: checks them against the model's configuration and the recorded rows)
DIM, NUM_HEADS = 64, 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=224, help="image side; the grid is size/4")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--min-run-time", type=float, default=0.2, help="seconds per timing")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while timing")
    ap.add_argument("--no-record", action="store_true", help="print only, write no file")
    args = ap.parse_args()

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)  # the results file records the threads in use
    try:
        rows = shunted.shunted_cost_table(
            size=args.size,
            sr_ratios=SR_RATIOS,
            dim=DIM,
            num_heads=NUM_HEADS,
            min_run_time=args.min_run_time,
            rounds=args.rounds,
        )
        convs = shunted.reduction_conv_table(
            size=args.size,
            sr_ratios=SR_RATIOS,
            dim=DIM,
            min_run_time=args.min_run_time,
            rounds=args.rounds,
        )
        report(rows, convs)
        if not args.no_record:
            command = (
                f"python bench/shunted_cost.py --size {args.size} --rounds {args.rounds} "
                f"--min-run-time {args.min_run_time} --threads {args.threads}"
            )
            print("wrote", measured.record("shunted_cost", rows, command=command))
            print("wrote", measured.record("shunted_reduction_conv", convs, command=command))
    finally:
        torch.set_num_threads(previous)


def report(rows: list[dict], convs: list[dict]) -> None:
    """Print the rows, the time ratios and the points the multiply-adds do not predict."""
    print(
        counting.format_table(
            rows,
            dict(
                variant="variant",
                sr_ratio="sr_ratio",
                counted_gmacs="GMACs",
                attn_mib="attn map MiB",
                ms="ms (fastest round)",
            ),
            floatfmt=".4f",
        )
    )
    ms = {(r["variant"], r["sr_ratio"]): r["ms"] for r in rows}
    for r in SR_RATIOS:
        print(f"sr_ratio {r}: Shunted / SRA time = {ms['Shunted', r] / ms['SRA', r]:.2f}")
    for kind, found in shunted.timing_outliers(rows).items():
        print(f"{kind}: {[(f['variant'], f['sr_ratio']) for f in found]}")
    print(
        counting.format_table(
            convs,
            dict(part="part", sr_ratio="kernel", gmacs="GMACs", ms="ms (fastest round)"),
            floatfmt=".4f",
        )
    )


if __name__ == "__main__":
    main()

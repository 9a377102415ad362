"""Forward time of one stage-1 attention layer of each kind (plain attention, PVT's SRA, PVT v2's
linear SRA) on the CPU, recorded for the PVT chapter in vit_notes/measurements/pvt_cost.json.

The chapter plots the recorded rows (``vit_notes.measured.load("pvt_cost")``) with the machine,
versions and date they were measured on: nothing is timed while the book builds. Each layer
(C = 64, one head, as at stage 1 of PVT-Tiny) is timed with torch.utils.benchmark in
``--rounds`` rounds that take turns (``vit_notes.pvt.sra_cost_table``): a burst of other work
is then spread over several layers' runs, not cancelled (within one round it can slow one layer
more than another). Each row keeps every round's median, and the machine's 1-minute load
average before and after (``load_avg``). Two sweeps: ``sr_ratio`` 1, 2, 4, 8 at 224²
(``sweep`` = "sr_ratio"), and the image size 112 to 448 at ``sr_ratio`` 8 (``sweep`` = "size").

    python bench/pvt_cost.py [--rounds 5] [--min-run-time 0.05] [--threads 1]

The setting both sweeps share is timed once. Prints the rows and the points whose time the
multiply-adds do not predict (``vit_notes.pvt.timing_surprises``), then writes the results file.
"""

from __future__ import annotations

import argparse
import os

import torch

from vit_notes import counting, measured, pvt

SWEEPS = {
    "sr_ratio": dict(sizes=(224,), sr_ratios=(1, 2, 4, 8)),
    "size": dict(sizes=(112, 224, 336, 448), sr_ratios=(8,)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-run-time", type=float, default=0.05, help="seconds per timing")
    ap.add_argument("--threads", type=int, default=1, help="torch threads while timing")
    ap.add_argument("--no-record", action="store_true", help="print only, write no file")
    args = ap.parse_args()

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)  # the results file records the threads in use
    try:
        rows = []
        load = os.getloadavg()[0]
        # Every setting of both sweeps in one table, so that the setting they share (sr_ratio 8
        # at 224²) is timed once and both figures show the same time for it.
        points = {sweep: [(s, r) for s in kw["sizes"] for r in kw["sr_ratios"]]
                  for sweep, kw in SWEEPS.items()}  # fmt: skip
        union = list(dict.fromkeys(p for ps in points.values() for p in ps))
        table = pvt.sra_cost_table(points=union, rounds=args.rounds, min_run_time=args.min_run_time)
        for sweep, ps in points.items():
            part = [r for r in table if (r["size"], r["sr_ratio"]) in ps]
            rows += [dict(sweep=sweep, **r) for r in part]
            report(part, sweep)
        for r in rows:  # how busy the machine was: the 1-minute load average, before and after
            r["load_avg"] = [load, os.getloadavg()[0]]
        if not args.no_record:
            command = (
                f"python bench/pvt_cost.py --rounds {args.rounds} "
                f"--min-run-time {args.min_run_time} --threads {args.threads}"
            )
            print("wrote", measured.record("pvt_cost", rows, command=command))
    finally:
        torch.set_num_threads(previous)


def report(rows: list[dict], sweep: str) -> None:
    """Print the rows and the points the multiply-adds do not predict."""
    print(
        counting.format_table(
            rows,
            dict(
                variant="variant",
                size="size",
                sr_ratio="sr_ratio",
                counted_gmacs="GMACs",
                attn_mib="attn map MiB",
                ms="ms (fastest round)",
            ),
            floatfmt=".4f",
        )
    )
    for s in pvt.timing_surprises(rows, sweep):
        kind = "every round" if s["always"] else "some rounds"
        print(f"slower than the counts predict ({kind}): {s['variant']} at {sweep} {s['x']}")


if __name__ == "__main__":
    main()

"""The comparison chapter's measurement, recorded so that the book shows it without timing
anything while it builds (vit_notes.measured):

* ``compare_cost``: the time of one 224x224 image (batch 1, no_grad, each model's default
  fused attention) through the comparison's line-up (``vit_notes.compare.lineup()``: the
  smallest variant of each compared paper), beside its counted multiply-adds. Every model is
  timed once per round, in turn, for ``--rounds`` rounds: a model slower in every round is
  slower, not unlucky.

    python bench/compare_cost.py [--rounds 7] [--threads 1]

One thread by default: on a shared machine a parallel kernel waits for its slowest thread,
and the waits, not the models, would set the times. The file records the machine, the
thread count, the versions and the date, and each row the machine's load average before and
after the run; the chapter prints them under the table.
"""

import argparse
import os
import time

import torch

from vit_notes import compare, measured


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-run-time", type=float, default=0.3, help="seconds per model and round")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start, load = time.perf_counter(), os.getloadavg()[0]
    rows = compare.time_lineup(rounds=args.rounds, min_run_time=args.min_run_time)
    for r in rows:  # how busy the machine was: the 1-minute load average, before and after
        r["load_avg"] = [load, os.getloadavg()[0]]
    path = measured.record(compare.TIMING, rows, command=compare.TIMING_COMMAND)
    print(f"{path} ({time.perf_counter() - start:.0f} s)")
    for r in rows:
        print(
            f"  {r['model']:10s} {r['gmacs']:6.3f} GMACs  {r['ms']:8.1f} ms "
            f"(rounds {', '.join(f'{t:.1f}' for t in r['ms_rounds'])})"
        )


if __name__ == "__main__":
    main()

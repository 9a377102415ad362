"""The comparison chapter's measurement of what "attention MiB" means in practice, recorded so
that the book shows it without measuring anything while it builds (vit_notes.measured):

* ``attention_memory``: one attention (batch 1, one head as in PVT's stage 1, d = 64,
  float32, ``no_grad``) over the N tokens of the stride-4 grid of growing images, on two
  paths: the explicit one, softmax(q kᵀ·scale) v, which stores the N×N map
  (``vit_notes.attention.explicit_attention``), and torch's fused
  ``scaled_dot_product_attention``. Each row holds the peak memory above the inputs, the
  map's own size (N²·4 bytes) and the time.

    python bench/attention_memory.py [--sizes 224 448 672 896] [--max-gib 8] [--threads 1]

How the peak is measured (``vit_notes.compare.measure_attention``): each (path, N) runs in a
fresh Python process. It creates q, k and v, runs the path once on 16 tokens (the first
call's one-time set-up), hands the heap's free pages back to the system (malloc_trim),
resets the process's peak resident memory (Linux: ``/proc/self/clear_refs``) and runs the
path once. The peak is the resident memory's high-water mark (``VmHWM``) above the resident
memory just before that call. It includes the output (N·d·4 bytes), every temporary the path
allocates (the explicit path's logits and its softmax map exist together) and the
allocator's rounding; it excludes q, k and v. Then the same process times the path with
torch.utils.benchmark (``--threads`` threads, the median of its blocks, three at least).

A size whose explicit path would need more than ``--max-gib`` GiB (two N×N float32 tensors:
the logits and the map) is left out, for both paths. One thread by default: on a shared
machine a parallel kernel waits for its slowest thread. The file records the machine, the
thread count, the versions and the date, and each row the 1-minute load average before and
after its process.
"""

import argparse
import os
import time

import torch

from vit_notes import compare, measured


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 448, 672, 896])
    ap.add_argument("--max-gib", type=float, default=8.0, help="the explicit path's limit")
    ap.add_argument("--min-run-time", type=float, default=2.0, help="seconds of timing per row")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)  # the recorded machine's thread count
    start, rows = time.perf_counter(), []
    for size in args.sizes:
        tokens = (size // 4) ** 2
        if 2 * 4 * tokens**2 > args.max_gib * 2**30:
            print(f"  {size}²: {tokens:,} tokens, left out (explicit path over {args.max_gib} GiB)")
            continue
        for path in compare.PATHS:
            load = os.getloadavg()[0]
            r = compare.measure_attention(
                path, tokens, threads=args.threads, min_run_time=args.min_run_time
            )
            r.update(img_size=size, load_avg=[load, os.getloadavg()[0]])
            rows.append(r)
            print(
                f"  {size}² {path:8s} N={tokens:6,}  map {r['map_bytes'] / 2**20:8.1f} MiB  "
                f"peak {r['peak_bytes'] / 2**20:8.1f} MiB  {r['ms']:9.1f} ms"
            )
    command = compare.MEMORY_COMMAND + (
        f" --sizes {' '.join(map(str, args.sizes))}" if args.sizes != [224, 448, 672, 896] else ""
    )
    path = measured.record(compare.MEMORY, rows, command=command)
    print(f"{path} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

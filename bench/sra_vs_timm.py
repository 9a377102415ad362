"""Forward time of vit_notes' SpatialReductionAttention against timm's pvt_v2 Attention.

Same shapes, same weights (copied), both on their fused path, measured side by side in one
run with torch.utils.benchmark, alternating the two so that machine noise hits both alike.
Prints the ratio ours / timm per configuration and overall (geometric mean).
Budget (issue #2): ratio <= 1.05 on CPU.

    python bench/sra_vs_timm.py [--threads N] [--min-run-time S] [--rounds R]
"""

import argparse
import math
import statistics

# vit_notes first: importing it quiets the CUDA_HOME warning that importing timm would print.
from vit_notes.pvt import SpatialReductionAttention  # isort: skip

import torch  # noqa: E402
from timm.models.pvt_v2 import Attention  # noqa: E402
from torch.utils import benchmark  # noqa: E402

# PVT v2-b2 stages at 224x224 (grid, dim, heads, sr_ratio), plus linear SRA at stage 1.
CONFIGS = [
    (56, 64, 1, 8, False),
    (28, 128, 2, 4, False),
    (14, 320, 5, 2, False),
    (7, 512, 8, 1, False),
    (56, 64, 1, 1, True),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--min-run-time", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, "
        f"{args.rounds} alternating rounds of {args.min_run_time}s each"
    )
    ratios = []
    for side, dim, heads, sr, linear in CONFIGS:
        theirs = Attention(dim, heads, sr_ratio=sr, linear_attn=linear, qkv_bias=True).eval()
        ours = SpatialReductionAttention(
            dim, heads, qkv_bias=True, sr_ratio=sr, linear=linear
        ).eval()
        ours.load_state_dict(theirs.state_dict())
        x = torch.randn(args.batch, side * side, dim)
        with torch.no_grad():
            torch.testing.assert_close(ours(x, side, side), theirs(x, (side, side)))
        t_ours, t_theirs = [], []
        for _ in range(args.rounds):
            for fn, acc in (
                (lambda ours=ours, x=x, side=side: ours(x, side, side), t_ours),
                (lambda theirs=theirs, x=x, side=side: theirs(x, (side, side)), t_theirs),
            ):
                timer = benchmark.Timer(
                    "with torch.no_grad(): fn()",
                    globals=dict(fn=fn, torch=torch),
                    num_threads=args.threads,
                )
                acc.append(timer.blocked_autorange(min_run_time=args.min_run_time).median)
        ratio = statistics.median(t_ours) / statistics.median(t_theirs)
        ratios.append(ratio)
        print(
            f"grid {side}x{side} dim {dim:3d} heads {heads} sr {sr} linear {linear!s:5}: "
            f"ours {statistics.median(t_ours) * 1e3:8.3f} ms  "
            f"timm {statistics.median(t_theirs) * 1e3:8.3f} ms  "
            f"ratio {ratio:.3f}"
        )
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"ratio ours/timm: geometric mean {geo:.3f}, worst {max(ratios):.3f} (budget <= 1.05)")


if __name__ == "__main__":
    main()

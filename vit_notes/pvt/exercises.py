"""Checkers for the PVT chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

from ..checking import TWO_FLOPS, check_forward, diagnose_sum, parse_count, verdict
from ..layers import reduced_grid
from .cost import sra_cost
from .model import SpatialReductionAttention


def check_kv_tokens(answer, H: int = 28, W: int = 28, sr_ratio: int = 4) -> bool:
    """How many key/value tokens does SRA keep on an ``H x W`` grid with ``sr_ratio``?"""
    h, w = reduced_grid(H, W, sr_ratio)
    right = h * w
    value = parse_count(answer, "tokens")
    if value is None:
        return False
    if value == right:
        return verdict(True, f"{H}×{W} tokens shrink to {h}×{w} = {right} keys and values")
    if value == H * W // sr_ratio:
        return verdict(
            False,
            f"{value} divides N by sr_ratio once; the conv shrinks both height and width, "
            f"so N shrinks by sr_ratio² = {sr_ratio**2}",
        )
    if value == H * W:
        return verdict(
            False, f"{value} is N, the number of queries: the keys come from the reduced grid"
        )
    if value == -(-H // sr_ratio) * -(-W // sr_ratio):
        return verdict(
            False, "the strided conv has no padding: leftover rows and columns are dropped (floor)"
        )
    return verdict(
        False,
        f"{value} is not the number of reduced tokens; the reduced grid is "
        f"floor(H/sr_ratio) × floor(W/sr_ratio)",
    )


def check_sra_macs(
    answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 1, sr_ratio: int = 8
) -> bool:
    """Multiply-adds of one SRA layer (all four linear maps, the reduction conv, both attention
    products)."""
    c = sra_cost(H, W, dim, num_heads, sr_ratio)
    value = parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == c.macs:
        return verdict(True, f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)")
    N, M, C, R = c.tokens, c.kv_tokens, dim, sr_ratio
    terms = {
        "q and proj (2·N·C²)": 2 * N * C * C,
        "the reduction conv (M·C²·R²)": M * C * C * R * R,
        "the kv projection (2·M·C²)": 2 * M * C * C,
        "q·kᵀ and attn·v (2·N·M·C)": 2 * N * M * C,
    }
    mistakes = [
        (
            c.macs - 2 * N * M * C + 2 * N * N * C,
            "the attention products use M reduced keys, not all N tokens",
        ),
        (2 * c.macs, TWO_FLOPS),
    ]
    return diagnose_sum(
        value,
        c.macs,
        terms,
        mistakes,
        f"{value:,} is {value / c.macs:.2f}× the right count; add up q, the conv, kv, both "
        "attention products and proj",
    )


def check_sra_forward(
    fn,
    configs=(
        (56, 56, 64, 1, 8),
        (28, 28, 128, 2, 4),
        (14, 14, 320, 5, 2),
        (7, 7, 64, 2, 1),
        (30, 22, 64, 2, 4),
    ),
) -> bool:
    """``fn(attn, x, H, W)`` must reproduce ``attn(x, H, W)`` from ``attn``'s weights for every
    config ``(H, W, dim, heads, sr_ratio)``. Reports the first config whose shape or values
    differ."""
    return check_forward(
        fn,
        lambda dim, heads, r: SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=r),
        configs,
        "SpatialReductionAttention",
        lambda r: (
            "check the head split, the scale dim_head**-0.5, the norm after the conv "
            "and the order of k and v"
        ),
    )

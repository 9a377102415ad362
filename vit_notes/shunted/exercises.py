"""Checkers for the Shunted chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

import torch

from ..checking import TWO_FLOPS, as_int, check_forward, diagnose_sum, parse_count, verdict
from .cost import shunted_cost, shunted_kv_tokens
from .model import ShuntedAttention


def check_shunted_kv_tokens(answer, H: int = 56, W: int = 56, sr_ratio: int = 8) -> bool:
    """How many keys does each head group of a shunted layer see? Answer ``(coarse, fine)``."""
    right = shunted_kv_tokens(H, W, sr_ratio)
    if sr_ratio == 1:
        raise ValueError("sr_ratio=1 has a single head group; ask about an even sr_ratio > 1")
    try:
        got = tuple(as_int(a) for a in answer)
    except TypeError:
        got = ()
    if len(got) != 2 or None in got:
        return verdict(False, f"give two whole numbers, (coarse group, fine group), got {answer!r}")
    r, half = sr_ratio, sr_ratio // 2
    if got == right:
        return verdict(
            True,
            f"the coarse group sees {H // r}×{W // r} = {right[0]} keys, the fine group "
            f"{H // half}×{W // half} = {right[1]}: {right[0] + right[1]} keys in one layer",
        )
    if got == right[::-1]:
        return verdict(
            False, "swapped: the first group (sr1, kernel and stride sr_ratio) is the coarse one"
        )
    if got[0] == right[0] and got[1] == right[0] * 2:
        return verdict(
            False,
            f"the fine grid halves the stride on both sides, so it has 4× (not 2×) the keys "
            f"of the coarse one: {right[1]}",
        )
    if got[0] == right[0]:
        return verdict(
            False,
            f"the coarse group is right; the fine group reduces by sr_ratio/2 = {half}: "
            f"⌊{H}/{half}⌋×⌊{W}/{half}⌋",
        )
    if got[1] == right[1]:
        return verdict(
            False,
            f"the fine group is right; the coarse group reduces by sr_ratio = {r}: "
            f"⌊{H}/{r}⌋×⌊{W}/{r}⌋",
        )
    return verdict(
        False,
        f"{got} is not it: group i sees ⌊H/r_i⌋×⌊W/r_i⌋ keys with r_1 = sr_ratio, r_2 = sr_ratio/2",
    )


def check_shunted_macs(
    answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 2, sr_ratio: int = 8
) -> bool:
    """Multiply-adds of one shunted layer: q, both reduction convs, kv1 and kv2, the two local
    convs, both groups' attention products and proj."""
    c = shunted_cost(H, W, dim, num_heads, sr_ratio)
    value = parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == c.macs:
        return verdict(True, f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)")
    if sr_ratio == 1:
        return verdict(
            False,
            f"{value:,} is {value / c.macs:.2f}× the right count; with sr_ratio 1 add q, "
            "kv (2NC²), both attention products (2N²C), the depthwise conv of V (9NC) and proj",
        )
    N, C, r, M = c.tokens, dim, sr_ratio, c.kv_tokens
    M1, M2 = shunted_kv_tokens(H, W, sr_ratio)
    terms = {
        "q and proj (2·N·C²)": 2 * N * C * C,
        "the coarse reduction conv (M1·C²·r²)": M1 * C * C * r * r,
        "the fine reduction conv (M2·C²·(r/2)²)": M2 * C * C * (r // 2) ** 2,
        "kv1 and kv2 ((M1 + M2)·C²)": M * C * C,
        "the local-enhancement convs (9·(M1 + M2)·C/2)": 9 * M * (C // 2),
        "q·kᵀ and attn·v of both groups (N·(M1 + M2)·C)": N * M * C,
    }
    mistakes = [
        (
            c.macs + N * M * C,
            "each group has only h/2 heads, C/2 channels: its two products cost "
            "N·M_i·C, not 2·N·M_i·C",
        ),
        (
            c.macs + M * C * C,
            "kv1 and kv2 map C to C (K and V for half the heads each), not C to 2C",
        ),
        (2 * c.macs, TWO_FLOPS),
    ]
    return diagnose_sum(
        value,
        c.macs,
        terms,
        mistakes,
        f"{value:,} is {value / c.macs:.2f}× the right count; add up q, both convs, kv1, kv2, "
        "the local convs, both groups' attention products and proj",
    )


def _perturbed_shunted(dim: int, heads: int, r: int) -> ShuntedAttention:
    attn = ShuntedAttention(dim, heads, qkv_bias=True, sr_ratio=r)
    with torch.no_grad():
        for p in attn.parameters():  # non-trivial biases and norms, so no term can hide
            p.add_(0.05 * torch.randn_like(p))
    return attn


def check_shunted_forward(
    fn,
    configs=(
        (56, 56, 64, 2, 8),
        (28, 28, 128, 4, 4),
        (14, 14, 256, 8, 2),
        (7, 7, 64, 2, 1),
        (30, 22, 64, 2, 4),
    ),
) -> bool:
    """``fn(attn, x, H, W)`` must reproduce ``attn(x, H, W)`` of a ``ShuntedAttention`` from its
    weights for every config ``(H, W, dim, heads, sr_ratio)``. Reports the first config that
    differs."""
    return check_forward(
        fn,
        _perturbed_shunted,
        configs,
        "ShuntedAttention",
        lambda r: (
            "the local conv of V is added to the output, not to V"
            if r == 1
            else "check which heads go to which group, the norm and GELU after each conv, "
            "and that the local conv of V is added to V on its reduced grid"
        ),
    )

"""Checkers for the CoAtNet chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

import torch

from ..checking import TWO_FLOPS, parse_count, verdict
from .model import relative_position_index


def check_rel_table_size(answer, H: int = 14, W: int = 14, num_heads: int = 12) -> bool:
    """How many learned scalars does one relative-attention layer's bias table hold?"""
    right = (2 * H - 1) * (2 * W - 1) * num_heads
    value = parse_count(answer, "entries")
    if value is None:
        return False
    if value == right:
        return verdict(
            True,
            f"(2·{H}−1)(2·{W}−1) = {(2 * H - 1) * (2 * W - 1)} offsets × {num_heads} heads "
            f"= {right} scalars",
        )
    if value == (2 * H - 1) * (2 * W - 1):
        return verdict(
            False, f"{value} is the table of one head; each of the {num_heads} heads has its own"
        )
    if value in ((H * W) ** 2 * num_heads, (H * W) ** 2):
        return verdict(
            False,
            f"{value} is the size of the gathered bias (N×N per head); the table stores one "
            "scalar per relative offset i − j, and many pairs share an offset",
        )
    if value in ((2 * H + 1) * (2 * W + 1) * num_heads, 4 * H * W * num_heads):
        return verdict(
            False, f"offsets along a side run from −({H}−1) to +({H}−1): that is 2·{H}−1 values"
        )
    return verdict(
        False, f"{value} is not it; count the possible offsets (Δy, Δx) on a {H}×{W} grid, per head"
    )


def check_relative_index(fn, grids=((1, 1), (2, 3), (4, 4), (5, 2), (7, 7))) -> bool:
    """``fn(H, W)`` must return the ``(HW, HW)`` integer index of the offset ``i − j`` into a
    table of ``(2H−1)(2W−1)`` entries laid out row-major over (Δy + H − 1, Δx + W − 1)."""
    for H, W in grids:
        want = relative_position_index(H, W)
        try:
            got = fn(H, W)
        except Exception as e:  # the student's code: report what broke and where
            return verdict(False, f"H={H}, W={W}: {type(e).__name__}: {e}")
        if not isinstance(got, torch.Tensor):
            return verdict(False, f"H={H}, W={W}: return a tensor, got {type(got).__name__}")
        if tuple(got.shape) != tuple(want.shape):
            return verdict(
                False,
                f"H={H}, W={W}: shape {tuple(got.shape)}, expected (N, N) = {tuple(want.shape)}",
            )
        if torch.equal(got.long(), want):
            continue
        if torch.equal(got.long(), want.t()):
            return verdict(
                False,
                f"H={H}, W={W}: you computed j − i; the paper's bias is w_(i−j) (query minus key)",
            )
        if got.min() < 0:
            return verdict(
                False, f"H={H}, W={W}: negative entries; shift Δy by H − 1 and Δx by W − 1"
            )
        return verdict(
            False,
            f"H={H}, W={W}: {int((got.long() != want).sum())} entries differ; the index is "
            "(Δy + H − 1)·(2W − 1) + (Δx + W − 1) with Δ = position of query i − position of key j",
        )
    return verdict(True, f"matches on {len(grids)} grids, including non-square ones")


def check_attention_macs(answer, H: int = 14, W: int = 14, dim: int = 384) -> bool:
    """Multiply-adds of the two attention products (``q kᵀ`` and ``attn v``) of one full
    relative-attention layer on an ``H x W`` grid with width ``dim`` (all heads together)."""
    N = H * W
    right = 2 * N * N * dim
    value = parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == right:
        return verdict(
            True,
            f"2·N²·C = 2·{N}²·{dim} = {right:,} ({right / 1e6:.1f} M): the heads split C, "
            "so their number does not appear",
        )
    if value == N * N * dim:
        return verdict(
            False, f"{value:,} is one of the two products; add attn·v (the same size again)"
        )
    if value == 2 * right:
        return verdict(False, TWO_FLOPS)
    if value == 2 * N * dim * dim:
        return verdict(
            False,
            f"{value:,} has C² where the attention products have N²: q kᵀ is N×d by d×N per head",
        )
    if value % right == 0:
        return verdict(
            False,
            f"{value:,} is {value // right}× too many; did you multiply by the heads? Each head "
            "works on d = C/heads channels, so heads·d = C",
        )
    return verdict(False, f"{value:,} is not it; q kᵀ costs N·N·C and attn·v another N·N·C")

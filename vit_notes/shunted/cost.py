"""What one shunted self-attention layer costs, counted by hand from the official code's
``SSA.py`` (``Attention.forward``; the paper's body text was not consulted); equal to the FLOP
counter (tested). And the SRA ratio whose layer
does the number of multiply-adds nearest to a shunted layer's: no whole ratio does exactly as
many, so a comparison of their maps states how far apart the two layers' counts are."""

from __future__ import annotations

from .. import validate
from ..counting import AttentionCost
from ..pvt.cost import sra_cost
from .model import check_head_groups, kv_grids


def shunted_kv_tokens(H: int, W: int, sr_ratio: int) -> tuple[int, ...]:
    """Keys per head group of :class:`~vit_notes.shunted.model.ShuntedAttention` on an
    ``H x W`` grid: ``(⌊H/r⌋⌊W/r⌋, ⌊2H/r⌋⌊2W/r⌋)`` for ``r > 1`` (coarse group, fine group),
    ``(HW,)`` for ``r = 1``."""
    return tuple(h * w for h, w in kv_grids(H, W, sr_ratio))


def shunted_cost(H: int, W: int, dim: int, num_heads: int, sr_ratio: int = 1) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.shunted.model.ShuntedAttention` on an ``H x W`` grid
    (MTA's token merge and LE in the chapter's equations).

    With ``N = HW``, ``C = dim`` and, for ``r > 1``, ``N_k1``/``N_k2`` keys for the coarse/fine
    head group (:func:`shunted_kv_tokens`): ``q`` and ``proj`` cost ``2NC²``; the reduction
    convs ``N_k1·C²·r² + N_k2·C²·(r/2)²``; ``kv1``, ``kv2`` ``(N_k1 + N_k2)·C²``; the
    local-enhancement depthwise convs ``9·(N_k1 + N_k2)·C/2``; ``q kᵀ`` and ``attn v`` of each
    group (``h/2`` heads, ``C/2`` channels) ``N·N_kg·C``. For ``r = 1``: ``kv`` ``2NC²``,
    attention ``2N²C`` and the depthwise conv of V ``9NC``. ``kv_tokens`` is ``N_k1 + N_k2``
    (every key of the layer); ``attn_elements`` counts both groups' maps,
    ``(h/2)·N·(N_k1 + N_k2)``.
    """
    # Python ints (NumPy's overflow silently) and sizes below validate.MAX_SIDE.
    H, W, sr_ratio = (
        validate.size("H", H),
        validate.size("W", W),
        validate.size("sr_ratio", sr_ratio),
    )
    dim, num_heads = (
        validate.positive_int("dim", dim),
        validate.positive_int("num_heads", num_heads),
    )
    validate.heads_divide(dim, num_heads)
    Nks = shunted_kv_tokens(H, W, sr_ratio)  # validates sr_ratio and the grid
    check_head_groups(num_heads, sr_ratio, dim)
    N, C = H * W, dim
    if sr_ratio == 1:
        Nk = N
        attn = 2 * N * Nk * C
        macs = 2 * N * C * C + 2 * N * C * C + attn + 9 * N * C
        maps = num_heads
    else:
        Nk1, Nk2 = Nks
        Nk = Nk1 + Nk2
        half = sr_ratio // 2
        reduce = Nk1 * C * C * sr_ratio**2 + Nk2 * C * C * half**2
        attn = N * Nk * C
        macs = 2 * N * C * C + reduce + Nk * C * C + 9 * Nk * (C // 2) + attn
        # h/2 coarse heads of N x Nk1 and h/2 fine heads of N x Nk2: (h/2)·N·(N_k1 + N_k2)
        maps = num_heads // 2
    return AttentionCost.of(macs, attn, N, Nk, maps)


#: :func:`sra_ratio_at_nearest_cost` tries every ratio up to the grid's side: it accepts sides up
#: to this (a 16,384-px image at stride 4), so that it answers within a second.
NEAREST_MAX_SIDE = 4096


def sra_ratio_at_nearest_cost(H: int, W: int, dim: int, num_heads: int, sr_ratio: int) -> int:
    """The PVT SRA ``sr_ratio`` (1 .. min(H, W)) whose layer's multiply-adds
    (:func:`~vit_notes.pvt.cost.sra_cost`) are nearest, in absolute difference, to those of
    a shunted layer with
    ``sr_ratio`` (:func:`shunted_cost`), on the same grid with the same ``dim`` and heads.
    The two counts differ: divide them to say by how much. It tries every ratio, so the grid's
    sides are bounded by :data:`NEAREST_MAX_SIDE`."""
    H = validate.positive_int("H", H, maximum=NEAREST_MAX_SIDE)
    W = validate.positive_int("W", W, maximum=NEAREST_MAX_SIDE)
    target = shunted_cost(H, W, dim, num_heads, sr_ratio).macs
    return min(
        range(1, min(H, W) + 1),
        key=lambda r: (abs(sra_cost(H, W, dim, num_heads, r).macs - target), r),
    )

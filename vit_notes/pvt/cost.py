"""What one SRA layer costs, counted by hand (PVT v1, §3.3 "Transformer Encoder",
eqs. (1)-(4); PVT v2, §3.2 "Linear Spatial Reduction Attention", eqs. (1)-(2)); equal to the
FLOP counter (tested)."""

from __future__ import annotations

from .. import validate
from ..counting import AttentionCost
from ..layers import reduced_grid


def sra_cost(
    H: int,
    W: int,
    dim: int,
    num_heads: int,
    sr_ratio: int = 1,
    linear: bool = False,
    pool_size: int = 7,
) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.pvt.model.SpatialReductionAttention` on an
    ``H x W`` grid.

    With ``N = HW`` and ``N_k`` keys (``⌊H/R⌋⌊W/R⌋``, or ``pool_size²`` for linear SRA):
    ``q`` and ``proj`` cost ``2NC²``; the reduction conv ``N_k·C²·R²``, only for ``R > 1``
    (``N_k·C²`` for the 1x1 conv of linear SRA; at ``R = 1`` there is no conv and ``N_k = N``);
    ``kv`` ``2MC²``; ``q kᵀ`` and ``attn v`` ``2NMC`` (PVT v1, §3.3
    "Transformer Encoder": the attention term shrinks by ``R²``; PVT v2 eq. (2),
    ``2hwP²c`` for linear SRA). PVT v2's eq. (1) writes the conv term as ``hwc²R²``, ``R²``
    times the count: a stride-R, R×R, c→c conv on an h×w grid does ``(h/R)(w/R)·c²R² = hwc²``
    multiply-adds, which is this function's ``N_k·C²·R²`` and what the FLOP counter counts. We
    read the paper's term as a slip. ``sr_ratio=1`` is
    plain multi-head attention.
    """
    # Python ints (NumPy's overflow silently) and sizes below validate.MAX_SIDE.
    linear = validate.flag("linear", linear)
    H, W = validate.size("H", H), validate.size("W", W)
    sr_ratio, pool_size = validate.size("sr_ratio", sr_ratio), validate.size("pool_size", pool_size)
    dim, num_heads = (
        validate.positive_int("dim", dim),
        validate.positive_int("num_heads", num_heads),
    )
    validate.heads_divide(dim, num_heads)
    N, C = H * W, dim
    if linear:
        M = pool_size * pool_size
        reduce = M * C * C
    elif sr_ratio > 1:
        h, w = reduced_grid(H, W, sr_ratio)
        M = h * w
        reduce = M * C * C * sr_ratio * sr_ratio
    else:
        M, reduce = N, 0
    attn = 2 * N * M * C
    macs = 2 * N * C * C + reduce + 2 * M * C * C + attn
    return AttentionCost.of(macs, attn, N, M, num_heads)

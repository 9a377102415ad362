"""What window attention costs, counted by hand with the paper's formulas (§3.2 "Shifted Window
based Self-Attention", eqs. (1)-(2)); equal to the FLOP counter on the modules (tested).

With ``h × w`` tokens of ``C`` channels and ``M × M`` windows, in multiply-adds:

* eq. (1), global multi-head self-attention: ``Ω(MSA) = 4hwC² + 2(hw)²C``;
* eq. (2), window attention: ``Ω(W-MSA) = 4hwC² + 2M²hwC``.

``4hwC²`` is the query, key, value and output projections. The second term is ``q kᵀ`` and
``attn v``: every token meets ``(hw)`` keys globally, ``M²`` in its window. For a fixed window
the cost grows linearly in the number of tokens. The shifted windows (SW-MSA) cost the same
as W-MSA: the cyclic shift keeps ``hw/M²`` windows of ``M²`` tokens, and the mask is an
addition that neither the paper nor the counter counts. Neither counts the softmax either
(the paper's footnote 3: "We omit SoftMax computation in determining complexity.").
"""

from __future__ import annotations

from .. import validate
from ..counting import AttentionCost
from .model import check_window


def effective_window(H: int, W: int, window_size: int) -> int:
    """The window a block really uses on an ``H x W`` grid: ``window_size``, or the grid's
    shorter side when the grid is no larger than the window (one window, as in the official
    code). Raises when the window does not divide the grid."""
    H, W = validate.size("H", H), validate.size("W", W)
    M = validate.size("window_size", window_size)
    if min(H, W) <= M:
        M = min(H, W)
    check_window(H, W, M)
    return M


def msa_cost(H: int, W: int, dim: int, num_heads: int) -> AttentionCost:
    """Eq. (1): global multi-head self-attention on an ``H x W`` grid,
    ``4hwC² + 2(hw)²C`` multiply-adds; the map is ``heads x hw x hw``."""
    H, W = validate.size("H", H), validate.size("W", W)
    C = validate.width("dim", dim)
    num_heads = validate.width("num_heads", num_heads)
    validate.heads_divide(C, num_heads)
    N = H * W
    attn = 2 * N * N * C
    return AttentionCost.of(4 * N * C * C + attn, attn, N, N, num_heads)


def window_attention_cost(
    H: int, W: int, dim: int, num_heads: int, window_size: int = 7
) -> AttentionCost:
    """Eq. (2): window attention (W-MSA or SW-MSA) on an ``H x W`` grid with ``M x M`` windows,
    ``4hwC² + 2M²hwC`` multiply-adds (``M`` as :func:`effective_window`). ``kv_tokens`` is
    ``M²``, the keys each query meets; the maps of all windows hold ``heads · hw · M²``
    entries."""
    H, W = validate.size("H", H), validate.size("W", W)
    C = validate.width("dim", dim)
    num_heads = validate.width("num_heads", num_heads)
    validate.heads_divide(C, num_heads)
    M = effective_window(H, W, window_size)
    N, K = H * W, M * M
    attn = 2 * K * N * C
    return AttentionCost.of(4 * N * C * C + attn, attn, N, K, num_heads)


def swin_block_cost(
    H: int, W: int, dim: int, num_heads: int, window_size: int = 7, mlp_ratio: float = 4.0
) -> int:
    """Multiply-adds of one Swin Transformer block (eq. (3)): the window attention of eq. (2)
    plus the MLP's two linear layers, ``2·α·hwC²`` (α = ``mlp_ratio``, hidden width
    ``int(αC)``). LayerNorms, GELU and the residual additions are not counted."""
    a = window_attention_cost(H, W, dim, num_heads, window_size)
    dim = validate.width("dim", dim)
    mlp_ratio = validate.number("mlp_ratio", mlp_ratio, low=0.0, low_open=True)
    validate.hidden_width("mlp_ratio", mlp_ratio, dim, built=False)
    return a.macs + 2 * a.tokens * dim * int(dim * mlp_ratio)

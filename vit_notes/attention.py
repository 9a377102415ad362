"""The attention kernel every chapter shares: softmax(q kᵀ · scale + bias) v.

Vaswani et al. 2017, "Attention Is All You Need", section "Scaled Dot-Product Attention". The
fast path is the fused :func:`torch.nn.functional.scaled_dot_product_attention`, which never
stores the ``N_q x N_kv`` matrix; the explicit path computes it, and runs only while
:func:`vit_notes.trace.record_attention` is active. With ``record_attention(query=i)`` the
output still comes from the fused kernel and only query ``i``'s row of the map is computed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import validate
from .trace import STATE, layer_name, log_shapes


def explicit_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(softmax(q kᵀ scale + bias) v, softmax map)`` with the map materialised."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        validate.tensor(name, t, what="a float tensor (..., N, d)")
    attn = (q * scale) @ k.transpose(-2, -1)
    if bias is not None:
        attn = attn + bias
    attn = attn.softmax(dim=-1)
    return attn @ v, attn


def attend(
    module: nn.Module,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float,
    dropout_p: float = 0.0,
    bias: torch.Tensor | None = None,
    tag: str = "attn",
    kv_grid: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Multi-head attention of ``q (B, h, N, d)`` over ``k, v (B, h, M, d)``.

    ``bias`` (broadcastable to ``(B, h, N, M)``) is added to the logits before the
    softmax (CoAtNet's relative position bias). ``tag`` names the map in traces and
    recordings (``attn_shape``; ``attn1_shape`` for a head group). ``kv_grid``: the
    ``(h, w)`` grid the ``M`` keys were flattened from, kept beside a recorded map so that
    a figure can draw it without knowing the layer.
    """
    if STATE.tracing:
        log_shapes(module, **{tag: (*q.shape[:-1], k.shape[-2])})
    maps = STATE.recording
    if maps is None:
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=dropout_p, scale=scale
        )
    name = layer_name(module)
    key = name if tag == "attn" else f"{name}.{tag}"
    maps.grids[key] = kv_grid
    if maps.query is not None:
        rows = [maps.query] if isinstance(maps.query, int) else maps.query
        for i in rows:
            if not 0 <= i < q.shape[-2]:
                raise ValueError(
                    f"query={i} is not a query of {key}, which has {q.shape[-2]} queries; "
                    f"use 0 <= query < {q.shape[-2]}"
                )
        row_bias = bias[..., rows, :] if bias is not None and bias.shape[-2] > 1 else bias
        _, row = explicit_attention(q[..., rows, :], k, v, scale, row_bias)
        maps[key] = row.detach()
        # The output itself from the fused kernel: one row is all that was asked for.
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=dropout_p, scale=scale
        )
    out, attn = explicit_attention(q, k, v, scale, bias)
    maps[key] = attn.detach()
    if dropout_p:
        # Same distribution as the fused path's dropout (not the same random draws).
        out = F.dropout(attn, dropout_p, training=True) @ v
    return out

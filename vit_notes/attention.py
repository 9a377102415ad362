"""The attention kernel every chapter shares: softmax(q kᵀ · scale + bias) v.

Vaswani et al. 2017, Eq. 1. The fast path is the fused
:func:`torch.nn.functional.scaled_dot_product_attention`, which never stores the
``N_q x N_kv`` matrix; the explicit path computes it, and runs only while
:func:`vit_notes.trace.record_attention` is active.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .trace import STATE, layer_name, log_shapes


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                       bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(softmax(q kᵀ scale + bias) v, softmax map)`` with the map materialised."""
    attn = (q * scale) @ k.transpose(-2, -1)
    if bias is not None:
        attn = attn + bias
    attn = attn.softmax(dim=-1)
    return attn @ v, attn


def attend(module: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float,
           dropout_p: float = 0.0, bias: torch.Tensor | None = None, tag: str = "attn") -> torch.Tensor:
    """Multi-head attention of ``q (B, h, N, d)`` over ``k, v (B, h, M, d)``.

    ``bias`` (broadcastable to ``(B, h, N, M)``) is added to the logits before the
    softmax (CoAtNet's relative position bias). ``tag`` names the map in traces and
    recordings (``attn_shape``; ``attn1_shape`` for a head group).
    """
    if STATE.tracing:
        log_shapes(module, **{tag: (*q.shape[:-1], k.shape[-2])})
    maps = STATE.recording
    if maps is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p, scale=scale)
    out, attn = explicit_attention(q, k, v, scale, bias)
    name = layer_name(module)
    maps[name if tag == "attn" else f"{name}.{tag}"] = attn.detach()
    if dropout_p:
        # Same distribution as the fused path's dropout (not the same random draws).
        out = F.dropout(attn, dropout_p, training=True) @ v
    return out

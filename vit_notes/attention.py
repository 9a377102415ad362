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


def _check(q, k, v, scale, bias) -> float:
    """Check the kernel's arguments, so that a slip gets an error naming it rather than one
    from inside torch: ``q (..., N, d)``, ``k (..., M, d)`` and ``v (..., M, d_v)`` float
    tensors of one dtype whose leading dimensions broadcast, ``scale`` a number of magnitude
    at most :data:`~vit_notes.validate.MAX_LOGIT_SCALE` (0 is honoured: every key weighs the
    same) and ``bias`` ``None`` or a float tensor that
    broadcasts to ``(..., N, M)``. Returns ``scale`` as a float."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        validate.tensor(name, t, what="a float tensor (..., N, d)")
        if t.dtype != q.dtype:
            raise validate.InputTypeError(
                f"{name} is {t.dtype} but q is {q.dtype}: q, k and v must share one dtype; "
                f"convert them alike, e.g. {name}.to(q.dtype)"
            )
        if t.device != q.device:
            raise ValueError(
                f"{name} is on the {t.device} device but q is on {q.device}: q, k and v must "
                f"share one device; use {name}.to(q.device)"
            )
        if t.dim() < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., tokens, channels), got a tensor "
                f"of shape {tuple(t.shape)}"
            )
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"q has {q.shape[-1]} channels per head but k has {k.shape[-1]}: q and k must share "
            "their last dimension"
        )
    if k.shape[-2] == 0:  # a softmax over no keys is undefined: no silent all-zero output
        raise ValueError(f"k has 0 keys, shape {tuple(k.shape)}: give at least one")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k has {k.shape[-2]} keys but v has {v.shape[-2]} values: give one each")
    try:
        lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"the leading dimensions of q {tuple(q.shape)}, k {tuple(k.shape)} and "
            f"v {tuple(v.shape)} do not broadcast: give each (batch, heads, tokens, channels)"
        ) from None
    # finite and at most MAX_LOGIT_SCALE in magnitude (float32 logits overflow past it); 0 is
    # honoured
    big = validate.MAX_LOGIT_SCALE
    scale = validate.number("scale", scale, low=-big, high=big)
    if bias is not None:
        validate.tensor(
            "bias", bias, dtype=q.dtype, device=q.device, what="a float tensor of logit biases"
        )
        want = (*lead, q.shape[-2], k.shape[-2])
        try:
            ok = torch.broadcast_shapes(bias.shape, want) == torch.Size(want)
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"bias of shape {tuple(bias.shape)} does not broadcast to the logits' shape "
                f"{want} (..., queries, keys)"
            )
    return scale


def explicit_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(softmax(q kᵀ scale + bias) v, softmax map)`` with the map materialised."""
    scale = _check(q, k, v, scale, bias)
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
    validate.instance("module", module, nn.Module, "pass the layer that calls attend (self)")
    scale = _check(q, k, v, scale, bias)
    dropout_p = validate.number("dropout_p", dropout_p, low=0.0, high=1.0, high_open=True)
    validate.instance("tag", tag, str)
    if kv_grid is not None:
        kv_grid = validate.grid("kv_grid", kv_grid)
        if kv_grid[0] * kv_grid[1] != k.shape[-2]:
            raise ValueError(
                f"kv_grid {kv_grid[0]}x{kv_grid[1]} has {kv_grid[0] * kv_grid[1]:,} cells but "
                f"k has {k.shape[-2]:,} keys: give the (h, w) grid the keys were flattened from"
            )
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
                    f"query={validate.shown(i)} is not a query of {key}, which has "
                    f"{q.shape[-2]} queries; "
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

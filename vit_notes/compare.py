"""Checkers for the comparison chapter's exercises. They read every chapter's attention
layers from the registry (each chapter registers its :class:`~vit_notes.registry.Design`), so
this module imports no chapter."""

from __future__ import annotations

from .checking import check_choice, check_prediction, option_named
from .registry import designs


def _layers() -> dict:
    return {label: layer for d in designs() for label, layer in d.layers.items()}


def check_growth(
    answer,
    layer: str = "PVT SRA, R=8",
    start: int = 224,
    end: int = 512,
    C: int = 64,
    heads: int = 2,
) -> bool:
    """Predict: from ``start``² to ``end``², by what factor do the attention products
    (``q kᵀ`` and ``attn v``) of ``layer`` on the stride-4 grid grow?"""
    a, b = (_layers()[layer].cost(s // 4, s // 4, C, heads) for s in (start, end))
    right = b.attn_macs / a.attn_macs
    tokens = b.tokens / a.tokens
    return check_prediction(
        answer,
        right,
        "the factor",
        f"Section 2 prints it for every layer: {layer}'s products grow {right:.1f}×, the whole "
        f"layer {b.macs / a.macs:.1f}×",
        correct=f"{right:.3g}×: the tokens grow {tokens:.3g}× and, with a fixed ratio, so do the "
        f"keys: N·M grows {tokens:.3g}² = {tokens**2:.3g}×. A fixed ratio divides the "
        "quadratic term by a constant; it does not remove it",
        mistakes=[
            (
                tokens,
                f"{tokens:.3g}× is the growth of the tokens N; with a fixed ratio the keys "
                "M = N/R² grow as much, and the products cost N·M",
            ),
            (end / start, f"{end / start:.3g}× is the growth of the image's side"),
            (
                b.macs / a.macs,
                f"{b.macs / a.macs:.3g}× is the whole layer's growth, whose linear "
                "maps grow only with N; the question is about the products",
            ),
        ],
    )


def check_layer_choice(
    answer, size: int = 1024, budget_mb: float = 1024.0, C: int = 64, heads: int = 2
) -> bool:
    """Design judgement: of the registered attention layers, the one for a stride-4 layer at
    ``size``² (C, heads) whose attention maps (float32, one image) fit ``budget_mb`` MB and
    whose keys are the finest (the most keys a query sees)."""
    H = W = size // 4
    costs = {label: layer.cost(H, W, C, heads) for label, layer in _layers().items()}
    fits = {k: c for k, c in costs.items() if c.attn_bytes / 2**20 <= budget_mb}
    best = max(fits, key=lambda k: fits[k].kv_tokens, default=None)  # the most keys: finest
    options = {}
    for label, c in costs.items():
        mb = c.attn_bytes / 2**20
        head = f"{label} at {size}²: {c.kv_tokens:,} keys in all, maps {mb:,.0f} MB"
        if mb > budget_mb:
            options[label] = f"{head}, {mb / budget_mb:.3g}× the {budget_mb:,.0f} MB budget"
        elif label != best:
            options[label] = (
                f"{head}: it fits, but {best} fits too with "
                f"{costs[best].kv_tokens / c.kv_tokens:.3g}× the keys, finer for small objects"
            )
        else:
            options[label] = (
                f"{head}: the finest keys that fit. The trade-off: its keys still grow with the "
                "tokens, so at a larger image it runs out of budget; linear SRA's 49 keys fit "
                "any size, each averaging a window that grows with the image"
            )
    return check_choice(
        answer, options, best, "the layer", parse=lambda a: option_named(a, options)
    )

"""The PVT chapter's pictures: one query's attention on the photo as ``sr_ratio`` grows (colour
tokens and identity weights: a toy whose maps mean "same colour"), the cost of one stage-1
layer against ``sr_ratio`` and image size, and the classroom explorer with its static twin."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import photo
from ..counting import count_macs, time_forward
from ..plotting import attention_explorer, cost_bars, overlay_map, show_photo
from ..trace import query_rows
from .cost import sra_cost
from .model import SpatialReductionAttention


@torch.no_grad()
def identity_sra(
    dim: int, sr_ratio: int, temperature: float = 0.25, linear: bool = False, num_heads: int = 1
):
    """A :class:`~vit_notes.pvt.SpatialReductionAttention` with identity weights.

    ``q``, ``k``, ``v`` and ``proj`` are identities, the reduction conv averages each
    ``sr_ratio x sr_ratio`` window (so a reduced key is the mean of the tokens it covers)
    and the LayerNorm is the plain standardisation. The logits are ``temperature · q·k``;
    with several heads, each head compares its own slice of the palette.
    """
    attn = SpatialReductionAttention(
        dim,
        num_heads=num_heads,
        qkv_bias=True,
        qk_scale=temperature,
        sr_ratio=sr_ratio,
        linear=linear,
    )
    eye = torch.eye(dim)
    attn.q.weight.copy_(eye)
    attn.q.bias.zero_()
    attn.kv.weight.copy_(torch.cat([eye, eye]))
    attn.kv.bias.zero_()
    attn.proj.weight.copy_(eye)
    attn.proj.bias.zero_()
    if hasattr(attn, "sr"):
        k = attn.sr.kernel_size[0]
        attn.sr.weight.zero_()
        attn.sr.weight[range(dim), range(dim)] = 1.0 / (k * k)
        attn.sr.bias.zero_()
    return attn.eval()


VARIANTS = ("plain", "SRA", "linear SRA")
COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "linear SRA": "tab:green"}


@torch.no_grad()
def sra_query_maps(
    img: torch.Tensor,
    sr_ratios=(1, 2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    num_heads: int = 1,
    linear: bool = False,
) -> dict[int, tuple[torch.Tensor, tuple[int, int]]]:
    """For each ``sr_ratio``: the attention of one query over the (reduced) key grid, head 0.

    Uses colour tokens and identity projections (:func:`identity_sra`) so the maps show
    colour similarity; returns ``{sr_ratio: (attn_row, key_grid)}``.
    """
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    q = photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        layer = identity_sra(tokens.shape[-1], r, linear=linear, num_heads=num_heads)
        (out[r],) = query_rows(layer, tokens, H, W, query=q)  # that one row only, not the N x M map
    return out


def _sra(dim, heads, variant, r):
    return SpatialReductionAttention(
        dim,
        heads,
        qkv_bias=True,
        sr_ratio=r if variant == "SRA" else 1,
        linear=variant == "linear SRA",
    ).eval()


@torch.no_grad()
def sra_cost_table(
    sizes=(224,),
    sr_ratios=(8,),
    dim: int = 64,
    num_heads: int = 1,
    patch: int = 4,
    timed: bool = True,
    min_run_time: float = 0.01,
) -> list[dict]:
    """Rows of {variant, size, sr_ratio, analytic/counted GMACs, attention MB, ms} for one
    stage-1 attention layer (tokens on a ``size/patch`` grid) of each variant.

    Plain and linear attention do not depend on ``sr_ratio`` (and SRA with ``sr_ratio`` 1 is
    plain attention): each distinct layer is counted and timed once and its row repeated.
    ``min_run_time`` is short on purpose: longer ones make the benchmark pick blocks of
    ~100 runs per measurement, which multiplies the notebook's run time for the same median.
    Timing keeps torch's thread count: switching it inside a notebook kernel has hung kernels
    here.
    """
    torch.manual_seed(0)
    rows, seen = [], {}
    for size in sizes:
        H = W = size // patch
        x = torch.randn(1, H * W, dim)
        for r in sr_ratios:
            for variant in VARIANTS:
                r_eff = r if variant == "SRA" else 1
                key = (
                    "plain" if (variant, r_eff) == ("SRA", 1) else variant,
                    size,
                    r_eff,
                )  # SRA, R=1 is plain
                if key not in seen:
                    c = sra_cost(H, W, dim, num_heads, r_eff, linear=variant == "linear SRA")
                    with torch.device("meta"):  # counting needs shapes only: no compute
                        layer = _sra(dim, num_heads, variant, r_eff)
                    counted = count_macs(layer, torch.empty(1, H * W, dim, device="meta"), H, W)
                    seen[key] = dict(
                        tokens=c.tokens,
                        kv_tokens=c.kv_tokens,
                        analytic_gmacs=c.macs / 1e9,
                        counted_gmacs=counted / 1e9,
                        attn_mb=c.attn_bytes / 2**20,
                    )
                    if timed:
                        layer = _sra(dim, num_heads, variant, r_eff)
                        seen[key]["ms"] = (
                            time_forward(layer, x, H, W, min_run_time=min_run_time).median * 1e3
                        )
                rows.append(dict(variant=variant, size=size, sr_ratio=r, **seen[key]))
    return rows


def plot_cost(rows: list[dict], x: str, title: str):
    """Three panels against ``x`` ("sr_ratio" or "size"): GMACs (analytic line, counted dots),
    attention-matrix memory, and measured latency if the rows have it."""
    panels = 3 if "ms" in rows[0] else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.6))
    for variant in VARIANTS:
        sel = [r for r in rows if r["variant"] == variant]
        xs = [r[x] for r in sel]
        kw = dict(color=COLOURS[variant])
        axes[0].plot(
            xs, [r["analytic_gmacs"] for r in sel], "-", label=f"{variant} (formula)", **kw
        )
        axes[0].plot(
            xs,
            [r["counted_gmacs"] for r in sel],
            "o",
            mfc="none",
            label=f"{variant} (counter)",
            **kw,
        )
        axes[1].plot(xs, [r["attn_mb"] for r in sel], "-o", label=variant, **kw)
        if panels == 3:
            axes[2].plot(xs, [r["ms"] for r in sel], "-o", label=variant, **kw)
    labels = [
        "GMACs (1 multiply-add = 1)",
        "attention matrix, MB (float32)",
        "CPU latency, ms (measured)",
    ]
    for ax, ylabel in zip(axes, labels):
        ax.set_xlabel("sr_ratio" if x == "sr_ratio" else "image size (px)")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def draw_sra_explorer(
    sr_ratio: int = 8,
    num_heads: int = 1,
    size: int = 224,
    query_row: float = 0.3,
    query_col: float = 0.5,
    img: torch.Tensor | None = None,
):
    """What the explorer draws: the photo with the query, SRA's map of it (head 0) on the
    reduced key grid, and the layer's analytic cost against plain and linear attention."""
    img = photo.load_photo(size) if img is None or img.shape[-1] != size else img
    ((row, grid),) = sra_query_maps(
        img, (sr_ratio,), (query_row, query_col), num_heads=num_heads
    ).values()
    H = W = size // 4
    costs = {
        v: sra_cost(H, W, 64, num_heads, sr_ratio if v == "SRA" else 1, linear=v == "linear SRA")
        for v in VARIANTS
    }
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    show_photo(axes[0], img, (query_row, query_col), f"{size}×{size}: {H * W} query tokens")
    overlay_map(
        axes[1], img, row, grid, f"sr_ratio={sr_ratio}, heads={num_heads}: {grid[0]}×{grid[1]} keys"
    )
    cost_bars(axes[2], costs, COLOURS, "MMACs of one stage-1 layer (C=64); label: + attention MB")
    fig.tight_layout()
    return fig


def sra_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for the classroom."""
    return attention_explorer(lambda **kw: draw_sra_explorer(**kw), heads=[1, 2, 4, 8])

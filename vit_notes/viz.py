"""Figures and classroom widgets. Every widget has a static twin: the same drawing
function called once with fixed arguments, so the rendered site teaches without a kernel."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from . import photo as _photo
from .cost import count_macs, sra_cost, time_forward
from .trace import record_attention

VARIANTS = ("plain", "SRA", "linear SRA")
COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "linear SRA": "tab:green"}


def show_photo(ax, img: torch.Tensor, query_rc: tuple[float, float] | None = None, title: str | None = None):
    size = img.shape[-1]
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), extent=(0, size, size, 0))
    if query_rc is not None:
        ax.plot(query_rc[1] * size, query_rc[0] * size, marker="*", color="red", markersize=14,
                markeredgecolor="white")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def overlay_map(ax, img: torch.Tensor, attn_row: torch.Tensor, grid: tuple[int, int], title: str | None = None):
    """Draw one query's attention over the keys (``attn_row`` of length ``h*w``) on the photo."""
    size = img.shape[-1]
    show_photo(ax, img)
    ax.imshow(attn_row.reshape(grid).numpy(), cmap="inferno", alpha=0.65, extent=(0, size, size, 0),
              interpolation="nearest")
    if title:
        ax.set_title(title, fontsize=10)


@torch.no_grad()
def sra_query_maps(img: torch.Tensor, sr_ratios=(1, 2, 4, 8), query_rc=(0.3, 0.5), patch: int = 4,
                   num_heads: int = 1, linear: bool = False) -> dict[int, tuple[torch.Tensor, tuple[int, int]]]:
    """For each ``sr_ratio``: the attention of one query over the (reduced) key grid, head 0.

    Uses colour tokens and identity projections (:mod:`vit_notes.photo`) so the maps show
    colour similarity; returns ``{sr_ratio: (attn_row, key_grid)}``.
    """
    tokens, (H, W) = _photo.colour_tokens(img, patch=patch)
    q = _photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        layer = _photo.identity_sra(tokens.shape[-1], r, linear=linear, num_heads=num_heads)
        with record_attention() as maps:
            layer(tokens, H, W)
        grid = (layer.pool_size,) * 2 if linear else ((H // r, W // r) if r > 1 else (H, W))
        out[r] = (maps.last()[0, 0, q], grid)
    return out


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio"):
    """The photo with the query, then one panel per entry of ``maps`` (from :func:`sra_query_maps`)."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(3 * (len(maps) + 1), 3.2))
    show_photo(axes[0], img, query_rc, "query ★")
    for ax, (r, (row, grid)) in zip(axes[1:], maps.items()):
        overlay_map(ax, img, row, grid, f"{label}={r}: keys {grid[0]}×{grid[1]}")
    fig.tight_layout()
    return fig


def _sra(dim, heads, variant, r):
    from .pvt import SpatialReductionAttention

    return SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=r if variant == "SRA" else 1,
                                     linear=variant == "linear SRA").eval()


@torch.no_grad()
def sra_cost_table(sizes=(224,), sr_ratios=(8,), dim: int = 64, num_heads: int = 1, patch: int = 4,
                   timed: bool = True, min_run_time: float = 0.05) -> list[dict]:
    """Rows of {variant, size, sr_ratio, analytic/counted GMACs, attention MB, ms} for one
    stage-1 attention layer (tokens on a ``size/patch`` grid) of each variant."""
    torch.manual_seed(0)
    rows = []
    for size in sizes:
        H = W = size // patch
        x = torch.randn(1, H * W, dim)
        for r in sr_ratios:
            for variant in VARIANTS:
                layer = _sra(dim, num_heads, variant, r)
                c = sra_cost(H, W, dim, num_heads, r if variant == "SRA" else 1, linear=variant == "linear SRA")
                row = dict(variant=variant, size=size, sr_ratio=r, tokens=c.tokens, kv_tokens=c.kv_tokens,
                           analytic_gmacs=c.macs / 1e9, counted_gmacs=count_macs(layer, x, H, W) / 1e9,
                           attn_mb=c.attn_bytes / 2**20)
                if timed:
                    row["ms"] = time_forward(layer, x, H, W, min_run_time=min_run_time).median * 1e3
                rows.append(row)
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
        axes[0].plot(xs, [r["analytic_gmacs"] for r in sel], "-", label=f"{variant} (formula)", **kw)
        axes[0].plot(xs, [r["counted_gmacs"] for r in sel], "o", mfc="none", label=f"{variant} (counter)", **kw)
        axes[1].plot(xs, [r["attn_mb"] for r in sel], "-o", label=variant, **kw)
        if panels == 3:
            axes[2].plot(xs, [r["ms"] for r in sel], "-o", label=variant, **kw)
    labels = ["GMACs (1 multiply-add = 1)", "attention matrix, MB (float32)", "CPU latency, ms (measured)"]
    for ax, ylabel in zip(axes, labels):
        ax.set_xlabel("sr_ratio" if x == "sr_ratio" else "image size (px)")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def draw_sra_explorer(sr_ratio: int = 8, num_heads: int = 1, size: int = 224, query_row: float = 0.3,
                      query_col: float = 0.5, img: torch.Tensor | None = None):
    """What the explorer draws: the photo with the query, SRA's map of it (head 0) on the
    reduced key grid, and the layer's analytic cost against plain and linear attention."""
    img = _photo.load_photo(size) if img is None or img.shape[-1] != size else img
    (row, grid), = sra_query_maps(img, (sr_ratio,), (query_row, query_col), num_heads=num_heads).values()
    H = W = size // 4
    costs = {v: sra_cost(H, W, 64, num_heads, sr_ratio if v == "SRA" else 1, linear=v == "linear SRA")
             for v in VARIANTS}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    show_photo(axes[0], img, (query_row, query_col), f"{size}×{size}: {H * W} query tokens")
    overlay_map(axes[1], img, row, grid, f"sr_ratio={sr_ratio}, heads={num_heads}: {grid[0]}×{grid[1]} keys")
    names = list(costs)
    axes[2].barh(names, [costs[n].macs / 1e6 for n in names], color=[COLOURS[n] for n in names])
    for i, n in enumerate(names):
        axes[2].text(costs[n].macs / 1e6, i, f" {costs[n].macs / 1e6:,.0f} M, {costs[n].attn_bytes / 2**20:,.1f} MB",
                     va="center", fontsize=8)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("MMACs of one stage-1 layer (C=64); label: + attention MB")
    axes[2].set_xlim(right=max(c.macs for c in costs.values()) / 1e6 * 40)
    fig.tight_layout()
    return fig


def sra_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for the classroom."""
    import ipywidgets as w
    from IPython.display import display

    controls = dict(
        sr_ratio=w.SelectionSlider(options=[1, 2, 4, 8], value=8, description="sr_ratio"),
        num_heads=w.SelectionSlider(options=[1, 2, 4, 8], value=1, description="heads"),
        size=w.SelectionSlider(options=[112, 160, 224, 288, 352, 448], value=224, description="image size"),
        query_row=w.FloatSlider(value=0.3, min=0.0, max=0.99, step=0.01, description="query row"),
        query_col=w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="query col"),
    )

    def redraw(**kw):
        fig = draw_sra_explorer(**kw)
        plt.show(fig)

    out = w.interactive_output(redraw, controls)
    ui = w.VBox([w.HBox([controls["sr_ratio"], controls["num_heads"], controls["size"]]),
                 w.HBox([controls["query_row"], controls["query_col"]]), out])
    display(ui)
    return ui


def grid_side(n: int) -> int:
    s = int(math.isqrt(n))
    if s * s != n:
        raise ValueError(f"{n} tokens do not form a square grid")
    return s

"""The CoAtNet chapter's pictures: the relative bias table and what it gives one query, one
query's attention from content, from position and from both (colour tokens: a toy), the cost
of convolution against attention per stage, and the layout explorer with its static twin."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter, ScalarFormatter

from .. import photo
from ..plotting import explorer, plot_query_maps
from ..trace import query_rows
from .cost import coatnet_cost, mbconv_cost, transformer_block_cost
from .model import RelativeAttention, parse_layout, relative_position_index

LAYOUTS = ("C-C-C-C", "C-C-C-T", "C-C-T-T", "C-T-T-T")
BLOCK_COLOURS = {"C": "tab:blue", "T": "tab:red", "stem": "tab:gray", "head": "tab:gray"}


def learned_style_table(grid: tuple[int, int] = (14, 14)) -> torch.Tensor:
    """A relative-bias table shaped like trained ones, ``(3, 2H−1, 2W−1)``: head 0 local (a bump
    around offset 0, ``−d²/8``), head 1 along rows (penalises vertical offsets only), head 2 up-left
    (favours keys above and to the left of the query). Made by hand, for pictures."""
    H, W = grid
    dy = torch.arange(-(H - 1), H, dtype=torch.float32)[:, None].expand(2 * H - 1, 2 * W - 1)
    dx = torch.arange(-(W - 1), W, dtype=torch.float32)[None, :].expand(2 * H - 1, 2 * W - 1)
    local = -(dy**2 + dx**2) / 8
    rows = -(dy**2) / 2
    upleft = 0.4 * (dy + dx).clamp(
        -6, 6
    )  # offset i − j > 0: the key j is above/left of the query i
    return torch.stack([local, rows, upleft])


def plot_bias_table(table: torch.Tensor, query: tuple[int, int], titles=None):
    """Top row: each head's table as an image (offset 0 at the centre); bottom row: the bias that
    one query at grid position ``query`` (row, col) gives every key, an ``H x W`` map."""
    heads, A, Bw = table.shape
    H, W = (A + 1) // 2, (Bw + 1) // 2
    i = query[0] * W + query[1]
    idx = relative_position_index(H, W)[i]  # (N,): table entry of offset i − j for every key j
    fig, axes = plt.subplots(2, heads, figsize=(3.2 * heads, 6.2), squeeze=False)
    for h in range(heads):
        ax = axes[0, h]
        ax.imshow(
            table[h].numpy(),
            cmap="viridis",
            extent=(-(W - 0.5) + 1, W - 0.5, H - 0.5, -(H - 0.5) + 1),
        )
        ax.set_title((titles[h] if titles else f"head {h}") + f": table {A}×{Bw}", fontsize=9)
        ax.set_xlabel("Δx = x_i − x_j")
        ax.set_ylabel("Δy = y_i − y_j")
        ax = axes[1, h]
        ax.imshow(table[h].flatten()[idx].reshape(H, W).numpy(), cmap="viridis")
        ax.plot(query[1], query[0], marker="*", color="red", markersize=12, markeredgecolor="white")
        ax.set_title(f"bias of query ★ {query} over the {H}×{W} keys", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


@torch.no_grad()
def identity_relative_attention(
    dim: int, grid: tuple[int, int], table: torch.Tensor | None = None, temperature: float = 0.25
):
    """A one-head :class:`~vit_notes.coatnet.model.RelativeAttention` whose q, k, v and
    projection are identities (so, on colour tokens, logits compare colours), scale
    ``temperature`` and relative table ``table`` (``(2H−1, 2W−1)``; zeros: no position bias)."""
    attn = RelativeAttention(dim, num_heads=1, grid_size=grid).eval()
    eye = torch.eye(dim)[:, :, None, None]
    attn.qkv.weight.copy_(torch.cat([eye, eye, eye]))
    attn.qkv.bias.zero_()
    attn.proj.weight.copy_(eye)
    attn.proj.bias.zero_()
    attn.scale = temperature
    flat = torch.zeros_like(attn.rel_pos.relative_position_bias_table)
    if table is not None:
        flat = table.reshape(-1, 1)
    attn.rel_pos.relative_position_bias_table.copy_(flat)
    return attn


@torch.no_grad()
def relative_query_maps(
    img: torch.Tensor, table: torch.Tensor, query_rc=(0.3, 0.5), patch: int = 16
) -> dict:
    """One query's attention over colour tokens on a ``size/patch`` grid, from content alone
    (``x_iᵀx_j``), from the position bias alone (``w_{i−j}``) and from their sum before the
    softmax (CoAtNet Eq. 3). Returns ``{label: (attn_row, grid)}``."""
    tokens, grid = photo.colour_tokens(img, patch=patch)
    x = tokens.transpose(1, 2).reshape(1, -1, *grid)
    q = photo.query_index(grid, *query_rc)
    out = {}
    for label, t, temp in (
        ("content only", None, 0.25),
        ("bias only", table, 0.0),
        ("content + bias", table, 0.25),
    ):
        layer = identity_relative_attention(tokens.shape[-1], grid, t, temp)
        (out[label],) = query_rows(layer, x, query=q)
    return out


def conv_vs_attention_rows(
    sizes=(128, 160, 192, 224, 288, 352, 416, 512), widths=(96, 192, 384, 768)
) -> list[dict]:
    """For each image size and stage S1..S4 (stride 4..32, CoAtNet-0 widths): MACs of one stride-1
    MBConv and of one stride-1 transformer block, and the transformer's attention map (MB)."""
    rows = []
    for size in sizes:
        for i, C in enumerate(widths):
            side = size // 2 ** (i + 2)
            c = mbconv_cost(side, side, C, C)
            t = transformer_block_cost(side, side, C, C)
            rows.append(
                dict(
                    size=size,
                    stage=f"S{i + 1}",
                    stride=2 ** (i + 2),
                    side=side,
                    width=C,
                    conv_mmacs=c.macs / 1e6,
                    attn_block_mmacs=t.macs / 1e6,
                    ratio=t.macs / c.macs,
                    attn_mb=t.attn_bytes / 2**20,
                )
            )
    return rows


def plot_conv_vs_attention(rows: list[dict]):
    """Two panels against the image size, one line per stage: the cost of a transformer block
    relative to an MBConv block, and the transformer's attention map."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    stages = sorted({r["stage"] for r in rows})
    for s, colour in zip(stages, ("tab:purple", "tab:blue", "tab:orange", "tab:red")):
        sel = [r for r in rows if r["stage"] == s]
        label = f"{s} (stride {sel[0]['stride']}, C={sel[0]['width']})"
        axes[0].plot(
            [r["size"] for r in sel], [r["ratio"] for r in sel], "-o", color=colour, label=label
        )
        axes[1].plot(
            [r["size"] for r in sel], [r["attn_mb"] for r in sel], "-o", color=colour, label=label
        )
    axes[0].axhline(1.5, color="gray", ls=":", lw=1)
    axes[0].text(
        rows[-1]["size"], 1.3, "1.5×: linear layers only", fontsize=8, color="gray", ha="right"
    )
    axes[0].set_ylabel("transformer block MACs / MBConv MACs")
    axes[1].set_ylabel("attention map of one block, MB (float32)")
    for ax in axes:
        ax.set_xlabel("image size (px)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].yaxis.set_major_formatter(ScalarFormatter())
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    axes[0].set_ylim(1.0, None)
    axes[0].legend(fontsize=8)
    fig.suptitle("one stride-1 block per stage: convolution vs relative attention", fontsize=11)
    fig.tight_layout()
    return fig


def draw_layout_explorer(layout: str = "C-C-T-T", size: int = 224, name: str = "coatnet_0"):
    """What the layout explorer draws for ``name`` with ``layout`` at ``size``²: GMACs per stage
    (coloured by block type), the largest attention map per stage, and the totals of all four
    layouts (the selected one outlined). Analytic counts (``coatnet_cost``, equal to the
    counter)."""
    kinds = ("stem",) + parse_layout(layout) + ("head",)
    c = coatnet_cost(name, img_size=size, layout=layout)
    names = ["S0", "S1", "S2", "S3", "S4", "head"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    colours = [BLOCK_COLOURS[k] for k in kinds]
    axes[0].bar(names, [c[n].macs / 1e9 for n in names], color=colours)
    axes[0].set_ylabel("GMACs")
    axes[0].set_title(
        f"{name} {layout} at {size}²: {c['total'].macs / 1e9:.2f} GMACs, "
        f"{c['total'].params / 1e6:.1f} M params",
        fontsize=9,
    )
    mb = [c[n].attn_bytes / 2**20 for n in names]
    xs = list(range(len(names)))
    axes[1].bar(xs, [m if m else float("nan") for m in mb], color=colours)
    for x, m in zip(xs, mb):
        axes[1].text(
            x,
            m if m else 2e-2,
            f"{m:,.1f}" if m else "no\nmap",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes[1].set_xticks(xs, names)
    axes[1].set_yscale("log")
    axes[1].set_ylim(1e-2, max(max(mb), 1.0) * 30)
    axes[1].set_ylabel("largest attention map, MB (float32)")
    axes[1].set_title("memory of one explicit map, per image", fontsize=9)
    totals = {lay: coatnet_cost(name, img_size=size, layout=lay)["total"] for lay in LAYOUTS}
    xs = range(len(LAYOUTS))
    axes[2].bar(
        [x - 0.2 for x in xs],
        [t.macs / 1e9 for t in totals.values()],
        0.4,
        label="GMACs",
        color="tab:orange",
        edgecolor=["black" if lay == layout else "none" for lay in LAYOUTS],
        lw=2,
    )
    axes[2].bar(
        [x + 0.2 for x in xs],
        [t.params / 1e7 for t in totals.values()],
        0.4,
        label="params (×10 M)",
        color="tab:green",
        edgecolor=["black" if lay == layout else "none" for lay in LAYOUTS],
        lw=2,
    )
    axes[2].set_xticks(list(xs), LAYOUTS, fontsize=8)
    axes[2].legend(fontsize=8)
    axes[2].set_title(f"all four layouts at {size}²", fontsize=9)
    axes[0].legend(
        handles=[
            Patch(color=BLOCK_COLOURS["C"], label="C: MBConv"),
            Patch(color=BLOCK_COLOURS["T"], label="T: transformer"),
        ],
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def layout_explorer(name: str = "coatnet_0"):
    """ipywidgets explorer over the layout (C-C-C-C ... C-T-T-T) and the image size."""
    import ipywidgets as w

    controls = dict(
        layout=w.Dropdown(options=LAYOUTS, value="C-C-T-T", description="layout"),
        size=w.SelectionSlider(
            options=[128, 160, 192, 224, 256, 288, 320, 384, 448, 512],
            value=224,
            description="image size",
        ),
    )

    return explorer(
        lambda **kw: draw_layout_explorer(name=name, **kw), controls, [list(controls.values())]
    )


def plot_relative_query_maps(img: torch.Tensor, maps: dict, query_rc):
    """The photo with the query, then one query's attention for each entry of
    :func:`relative_query_maps`."""
    titles = {
        "content only": "softmax(x_iᵀx_j)",
        "bias only": "softmax(w_(i−j))",
        "content + bias": "softmax(x_iᵀx_j + w_(i−j))",
    }
    return plot_query_maps(
        img,
        maps,
        query_rc,
        title=lambda label, row, grid: f"{titles.get(label, label)}, max {row.max():.2f}",
    )

"""Figures and classroom widgets. Every widget has a static twin: the same drawing
function called once with fixed arguments, so the rendered site teaches without a kernel."""
from __future__ import annotations

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
        (out[r],) = query_rows(layer, tokens, H, W, q)  # that one row only, not the N x M map
    return out


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio", title=None):
    """The photo with the query, then one panel per entry of ``maps`` (from :func:`sra_query_maps`).

    ``title(key, row, grid)`` names each panel; by default ``"<label>=<key>: keys h×w"``."""
    title = title or (lambda key, row, grid: f"{label}={key}: keys {grid[0]}×{grid[1]}")
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(3 * (len(maps) + 1), 3.2))
    show_photo(axes[0], img, query_rc, "query ★")
    for ax, (key, (row, grid)) in zip(axes[1:], maps.items()):
        overlay_map(ax, img, row, grid, title(key, row, grid))
    fig.tight_layout()
    return fig


def _sra(dim, heads, variant, r):
    from .pvt import SpatialReductionAttention

    return SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=r if variant == "SRA" else 1,
                                     linear=variant == "linear SRA").eval()


@torch.no_grad()
def sra_cost_table(sizes=(224,), sr_ratios=(8,), dim: int = 64, num_heads: int = 1, patch: int = 4,
                   timed: bool = True, min_run_time: float = 0.01) -> list[dict]:
    """Rows of {variant, size, sr_ratio, analytic/counted GMACs, attention MB, ms} for one
    stage-1 attention layer (tokens on a ``size/patch`` grid) of each variant.

    Plain and linear attention do not depend on ``sr_ratio`` (and SRA with ``sr_ratio`` 1 is
    plain attention): each distinct layer is counted and timed once and its row repeated.
    ``min_run_time`` is short on purpose: longer ones make the benchmark pick blocks of
    ~100 runs per measurement, which multiplies the notebook's run time for the same median. Timing keeps torch's
    thread count: switching it inside a notebook kernel has hung kernels here.
    """
    torch.manual_seed(0)
    rows, seen = [], {}
    for size in sizes:
        H = W = size // patch
        x = torch.randn(1, H * W, dim)
        for r in sr_ratios:
            for variant in VARIANTS:
                r_eff = r if variant == "SRA" else 1
                key = ("plain" if (variant, r_eff) == ("SRA", 1) else variant, size, r_eff)  # SRA, R=1 is plain
                if key not in seen:
                    c = sra_cost(H, W, dim, num_heads, r_eff, linear=variant == "linear SRA")
                    with torch.device("meta"):  # counting needs shapes only: no compute
                        layer = _sra(dim, num_heads, variant, r_eff)
                    counted = count_macs(layer, torch.empty(1, H * W, dim, device="meta"), H, W)
                    seen[key] = dict(tokens=c.tokens, kv_tokens=c.kv_tokens, analytic_gmacs=c.macs / 1e9,
                                     counted_gmacs=counted / 1e9, attn_mb=c.attn_bytes / 2**20)
                    if timed:
                        layer = _sra(dim, num_heads, variant, r_eff)
                        seen[key]["ms"] = time_forward(layer, x, H, W, min_run_time=min_run_time).median * 1e3
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
    cost_bars(axes[2], costs, COLOURS, "MMACs of one stage-1 layer (C=64); label: + attention MB")
    fig.tight_layout()
    return fig


def cost_bars(ax, costs: dict, colours: dict, xlabel: str) -> None:
    """Horizontal bars of each layer's multiply-adds (log scale), labelled with MMACs and
    attention-matrix MB: the cost panel of the explorers."""
    names = list(costs)
    ax.barh(names, [costs[n].macs / 1e6 for n in names], color=[colours[n] for n in names])
    for i, n in enumerate(names):
        ax.text(costs[n].macs / 1e6, i, f" {costs[n].macs / 1e6:,.0f} M, {costs[n].attn_bytes / 2**20:,.1f} MB",
                va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    # A decade of room on each side, so that no bar collapses onto the axis.
    ax.set_xlim(min(c.macs for c in costs.values()) / 1e7, max(c.macs for c in costs.values()) / 1e6 * 40)


def sra_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for the classroom."""
    return attention_explorer(lambda **kw: draw_sra_explorer(**kw), heads=[1, 2, 4, 8])


def attention_explorer(draw, heads: list[int]):
    """An explorer with the attention sliders (sr_ratio, heads, image size, query position)
    whose values ``draw(sr_ratio=, num_heads=, size=, query_row=, query_col=)`` redraws from."""
    import ipywidgets as w

    controls = dict(
        sr_ratio=w.SelectionSlider(options=[1, 2, 4, 8], value=8, description="sr_ratio"),
        num_heads=w.SelectionSlider(options=heads, value=heads[0], description="heads"),
        size=w.SelectionSlider(options=[112, 160, 224, 288, 352, 448], value=224, description="image size"),
        query_row=w.FloatSlider(value=0.3, min=0.0, max=0.99, step=0.01, description="query row"),
        query_col=w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="query col"),
    )
    rows = [[controls["sr_ratio"], controls["num_heads"], controls["size"]],
            [controls["query_row"], controls["query_col"]]]
    return explorer(draw, controls, rows)


def explorer(draw, controls: dict, rows: list[list]):
    """Show ``rows`` of ``controls`` above a figure that ``draw(**values)`` redraws on every change.

    The figure is displayed inside the widget's output area and closed, so the inline
    backend does not show it a second time under the cell.
    """
    import ipywidgets as w
    from IPython.display import display

    def redraw(**kw):
        fig = draw(**kw)
        display(fig)
        plt.close(fig)

    out = w.interactive_output(redraw, controls)
    ui = w.VBox([w.HBox(row) for row in rows] + [out])
    display(ui)
    return ui


# --- CoAtNet: relative bias pictures, conv-vs-attention cost per stage, the layout explorer -------------------

LAYOUTS = ("C-C-C-C", "C-C-C-T", "C-C-T-T", "C-T-T-T")
BLOCK_COLOURS = {"C": "tab:blue", "T": "tab:red", "stem": "tab:gray", "head": "tab:gray"}


def learned_style_table(grid: tuple[int, int] = (14, 14)) -> torch.Tensor:
    """A relative-bias table shaped like trained ones, ``(3, 2H−1, 2W−1)``: head 0 local (a bump
    around offset 0, ``−d²/8``), head 1 along rows (penalises vertical offsets only), head 2 up-left
    (favours keys above and to the left of the query). Made by hand, for pictures."""
    H, W = grid
    dy = torch.arange(-(H - 1), H, dtype=torch.float32)[:, None].expand(2 * H - 1, 2 * W - 1)
    dx = torch.arange(-(W - 1), W, dtype=torch.float32)[None, :].expand(2 * H - 1, 2 * W - 1)
    local = -(dy ** 2 + dx ** 2) / 8
    rows = -(dy ** 2) / 2
    upleft = 0.4 * (dy + dx).clamp(-6, 6)  # offset i − j > 0: the key j is above/left of the query i
    return torch.stack([local, rows, upleft])


def plot_bias_table(table: torch.Tensor, query: tuple[int, int], titles=None):
    """Top row: each head's table as an image (offset 0 at the centre); bottom row: the bias that
    one query at grid position ``query`` (row, col) gives every key, an ``H x W`` map."""
    from .coatnet import relative_position_index

    heads, A, Bw = table.shape
    H, W = (A + 1) // 2, (Bw + 1) // 2
    i = query[0] * W + query[1]
    idx = relative_position_index(H, W)[i]  # (N,): table entry of offset i − j for every key j
    fig, axes = plt.subplots(2, heads, figsize=(3.2 * heads, 6.2), squeeze=False)
    for h in range(heads):
        ax = axes[0, h]
        ax.imshow(table[h].numpy(), cmap="viridis", extent=(-(W - 0.5) + 1, W - 0.5, H - 0.5, -(H - 0.5) + 1))
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
def identity_relative_attention(dim: int, grid: tuple[int, int], table: torch.Tensor | None = None,
                                temperature: float = 0.25):
    """A one-head :class:`~vit_notes.coatnet.RelativeAttention` whose q, k, v and projection are
    identities (so, on colour tokens, logits compare colours), scale ``temperature`` and relative
    table ``table`` (``(2H−1, 2W−1)``; zeros: no position bias)."""
    from .coatnet import RelativeAttention

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
def relative_query_maps(img: torch.Tensor, table: torch.Tensor, query_rc=(0.3, 0.5), patch: int = 16) -> dict:
    """One query's attention over colour tokens on a ``size/patch`` grid, from content alone
    (``x_iᵀx_j``), from the position bias alone (``w_{i−j}``) and from their sum before the
    softmax (CoAtNet Eq. 3). Returns ``{label: (attn_row, grid)}``."""
    tokens, grid = _photo.colour_tokens(img, patch=patch)
    x = tokens.transpose(1, 2).reshape(1, -1, *grid)
    q = _photo.query_index(grid, *query_rc)
    out = {}
    for label, t, temp in (("content only", None, 0.25), ("bias only", table, 0.0),
                           ("content + bias", table, 0.25)):
        layer = identity_relative_attention(tokens.shape[-1], grid, t, temp)
        with record_attention() as maps:
            layer(x)
        out[label] = (maps.last()[0, 0, q], grid)
    return out


def conv_vs_attention_rows(sizes=(128, 160, 192, 224, 288, 352, 416, 512), widths=(96, 192, 384, 768)) -> list[dict]:
    """For each image size and stage S1..S4 (stride 4..32, CoAtNet-0 widths): MACs of one stride-1
    MBConv and of one stride-1 transformer block, and the transformer's attention map (MB)."""
    from .cost import mbconv_cost, transformer_block_cost

    rows = []
    for size in sizes:
        for i, C in enumerate(widths):
            side = size // 2 ** (i + 2)
            c = mbconv_cost(side, side, C, C)
            t = transformer_block_cost(side, side, C, C)
            rows.append(dict(size=size, stage=f"S{i + 1}", stride=2 ** (i + 2), side=side, width=C,
                             conv_mmacs=c.macs / 1e6, attn_block_mmacs=t.macs / 1e6,
                             ratio=t.macs / c.macs, attn_mb=t.attn_bytes / 2**20))
    return rows


def plot_conv_vs_attention(rows: list[dict]):
    """Two panels against the image size, one line per stage: the cost of a transformer block
    relative to an MBConv block, and the transformer's attention map."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    stages = sorted({r["stage"] for r in rows})
    for s, colour in zip(stages, ("tab:purple", "tab:blue", "tab:orange", "tab:red")):
        sel = [r for r in rows if r["stage"] == s]
        label = f"{s} (stride {sel[0]['stride']}, C={sel[0]['width']})"
        axes[0].plot([r["size"] for r in sel], [r["ratio"] for r in sel], "-o", color=colour, label=label)
        axes[1].plot([r["size"] for r in sel], [r["attn_mb"] for r in sel], "-o", color=colour, label=label)
    axes[0].axhline(1.5, color="gray", ls=":", lw=1)
    axes[0].text(rows[-1]["size"], 1.3, "1.5×: linear layers only", fontsize=8, color="gray", ha="right")
    axes[0].set_ylabel("transformer block MACs / MBConv MACs")
    axes[1].set_ylabel("attention map of one block, MB (float32)")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
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
    layouts (the selected one outlined). Analytic counts (``cost.coatnet_cost``, equal to the counter)."""
    from .coatnet import parse_layout
    from .cost import coatnet_cost

    kinds = ("stem",) + parse_layout(layout) + ("head",)
    c = coatnet_cost(name, img_size=size, layout=layout)
    names = ["S0", "S1", "S2", "S3", "S4", "head"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    colours = [BLOCK_COLOURS[k] for k in kinds]
    axes[0].bar(names, [c[n].macs / 1e9 for n in names], color=colours)
    axes[0].set_ylabel("GMACs")
    axes[0].set_title(f"{name} {layout} at {size}²: {c['total'].macs / 1e9:.2f} GMACs, "
                      f"{c['total'].params / 1e6:.1f} M params", fontsize=9)
    mb = [c[n].attn_bytes / 2**20 for n in names]
    xs = list(range(len(names)))
    axes[1].bar(xs, [m if m else float("nan") for m in mb], color=colours)
    for x, m in zip(xs, mb):
        axes[1].text(x, m if m else 2e-2, f"{m:,.1f}" if m else "no\nmap", ha="center", va="bottom",
                     fontsize=8)
    axes[1].set_xticks(xs, names)
    axes[1].set_yscale("log")
    axes[1].set_ylim(1e-2, max(max(mb), 1.0) * 30)
    axes[1].set_ylabel("largest attention map, MB (float32)")
    axes[1].set_title("memory of one explicit map, per image", fontsize=9)
    totals = {lay: coatnet_cost(name, img_size=size, layout=lay)["total"] for lay in LAYOUTS}
    xs = range(len(LAYOUTS))
    axes[2].bar([x - 0.2 for x in xs], [t.macs / 1e9 for t in totals.values()], 0.4, label="GMACs",
                color="tab:orange", edgecolor=["black" if lay == layout else "none" for lay in LAYOUTS], lw=2)
    axes[2].bar([x + 0.2 for x in xs], [t.params / 1e7 for t in totals.values()], 0.4, label="params (×10 M)",
                color="tab:green", edgecolor=["black" if lay == layout else "none" for lay in LAYOUTS], lw=2)
    axes[2].set_xticks(list(xs), LAYOUTS, fontsize=8)
    axes[2].legend(fontsize=8)
    axes[2].set_title(f"all four layouts at {size}²", fontsize=9)
    from matplotlib.patches import Patch
    axes[0].legend(handles=[Patch(color=BLOCK_COLOURS["C"], label="C: MBConv"),
                            Patch(color=BLOCK_COLOURS["T"], label="T: transformer")], fontsize=8)
    fig.tight_layout()
    return fig


def layout_explorer(name: str = "coatnet_0"):
    """ipywidgets explorer over the layout (C-C-C-C ... C-T-T-T) and the image size."""
    import ipywidgets as w

    controls = dict(
        layout=w.Dropdown(options=LAYOUTS, value="C-C-T-T", description="layout"),
        size=w.SelectionSlider(options=[128, 160, 192, 224, 256, 288, 320, 384, 448, 512], value=224,
                               description="image size"),
    )

    return explorer(lambda **kw: draw_layout_explorer(name=name, **kw), controls, [list(controls.values())])


def plot_relative_query_maps(img: torch.Tensor, maps: dict, query_rc):
    """The photo with the query, then one query's attention for each entry of :func:`relative_query_maps`."""
    titles = {"content only": "softmax(x_iᵀx_j)", "bias only": "softmax(w_(i−j))",
              "content + bias": "softmax(x_iᵀx_j + w_(i−j))"}
    return plot_query_maps(img, maps, query_rc,
                           title=lambda label, row, grid: f"{titles.get(label, label)}, max {row.max():.2f}")


# --- Shunted Transformer -------------------------------------------------------------------

SHUNTED_COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "Shunted": "tab:purple"}


@torch.no_grad()
def query_rows(layer, x: torch.Tensor, H: int, W: int, q: int) -> list[tuple[torch.Tensor, tuple[int, int]]]:
    """The attention of query ``q`` (head 0 of each group) of a ``ShuntedAttention`` or
    ``SpatialReductionAttention`` (plain, SRA or linear) ``layer``, computed for that one row only, so that large
    images never build the ``N x M`` matrix. Returns ``[(row, key_grid), ...]``: coarse then
    fine group for shunted attention, one entry otherwise (equal to ``record_attention``'s maps)."""
    from .shunted import ShuntedAttention

    d = layer.dim // layer.num_heads
    query = layer.q(x[:, q:q + 1])[0, 0, :d]                     # head 0 of the first group
    if isinstance(layer, ShuntedAttention) and layer.sr_ratio > 1:
        out = []
        for g, ((x_, h, w), kv) in enumerate(zip(layer.reduce(x, H, W), (layer.kv1, layer.kv2))):
            query_g = layer.q(x[:, q:q + 1])[0, 0, g * layer.dim // 2:g * layer.dim // 2 + d]
            keys = kv(x_)[0, :, :d]                                 # k of the group's head 0
            out.append(((keys @ query_g * layer.scale).softmax(-1), (h, w)))
        return out
    if isinstance(layer, ShuntedAttention):
        x_, grid = x, (H, W)
    else:
        x_ = layer.reduce(x, H, W)
        if layer.linear:
            grid = (layer.pool_size,) * 2
        else:
            grid = (H, W) if layer.sr_ratio == 1 else (H // layer.sr_ratio, W // layer.sr_ratio)
    keys = layer.kv(x_)[0, :, :d]
    return [((keys @ query * layer.scale).softmax(-1), grid)]


@torch.no_grad()
def shunted_query_maps(img: torch.Tensor, sr_ratios=(2, 4, 8), query_rc=(0.3, 0.5), patch: int = 4,
                       num_heads: int = 2) -> dict[int, dict[str, tuple[torch.Tensor, tuple[int, int]]]]:
    """For each ``sr_ratio``: one query's attention in the coarse and the fine head group of a
    shunted layer with identity weights on colour tokens (:func:`vit_notes.photo.identity_shunted`).

    Returns ``{sr_ratio: {"coarse": (row, grid), "fine": (row, grid)}}`` (``{"plain": ...}`` for 1).
    """
    tokens, (H, W) = _photo.colour_tokens(img, patch=patch)
    x = _photo.repeat_for_heads(tokens, num_heads)
    q = _photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        rows = query_rows(_photo.identity_shunted(tokens.shape[-1], r, num_heads), x, H, W, q)
        out[r] = dict(zip(("coarse", "fine") if r > 1 else ("plain",), rows))
    return out


@torch.no_grad()
def sra_equal_cost_maps(img: torch.Tensor, sr_ratios=(2, 4, 8), query_rc=(0.3, 0.5), patch: int = 4,
                        dim: int = 64, num_heads: int = 2) -> dict[int, tuple[int, torch.Tensor, tuple[int, int]]]:
    """For each shunted ``sr_ratio``: PVT's SRA at the same cost (``cost.sra_ratio_at_equal_cost``
    for a ``dim``-channel, ``num_heads``-head layer on the photo's token grid), and the same
    query's map through it. Returns ``{sr_ratio: (sra_ratio, row, grid)}``."""
    from .cost import sra_ratio_at_equal_cost

    tokens, (H, W) = _photo.colour_tokens(img, patch=patch)
    q = _photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        r_sra = sra_ratio_at_equal_cost(H, W, dim, num_heads, r)
        (row, grid), = query_rows(_photo.identity_sra(tokens.shape[-1], r_sra), tokens, H, W, q)
        out[r] = (r_sra, row, grid)
    return out


def plot_shunted_maps(img: torch.Tensor, maps: dict, query_rc, sra: dict | None = None):
    """One row per ``sr_ratio``: the photo with the query, the coarse group's map, the fine
    group's map and, given ``sra`` (from :func:`sra_equal_cost_maps`), PVT's SRA at the same cost."""
    cols = 4 if sra else 3
    # Small panels: a grid of photos is the heaviest thing on a chapter page.
    fig, axes = plt.subplots(len(maps), cols, figsize=(2.4 * cols, 2.5 * len(maps)), squeeze=False)
    for ax_row, (r, groups) in zip(axes, maps.items()):
        show_photo(ax_row[0], img, query_rc, f"sr_ratio={r}: query ★")
        for ax, (name, (row, grid)) in zip(ax_row[1:3], groups.items()):
            rate = {"coarse": r, "fine": r // 2, "plain": 1}[name]
            overlay_map(ax, img, row, grid, f"{name} group (÷{rate}): {grid[0]}×{grid[1]} keys")
        if len(groups) == 1:
            ax_row[2].axis("off")
        if sra:
            r_sra, row, grid = sra[r]
            overlay_map(ax_row[3], img, row, grid, f"PVT SRA, same cost (R={r_sra}): {grid[0]}×{grid[1]}")
    for ax in axes.flat:
        ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def shunted_cost_table(size: int = 224, sr_ratios=(2, 4, 8), dim: int = 64, num_heads: int = 2, patch: int = 4,
                       timed: bool = True, min_run_time: float = 0.05, num_threads: int | None = None) -> list[dict]:
    """Rows of {variant, sr_ratio, tokens, kv_tokens, analytic/counted GMACs, attention MB, ms}
    for one stage-1 layer (``size/patch`` grid, so equal query-token counts) of shunted
    attention and of PVT's SRA at each ``sr_ratio``.

    Untimed, the layers are counted on the ``meta`` device (shapes only, no compute). Timed,
    they run on the CPU with ``num_threads`` threads (default: torch's current setting; changing
    it inside a notebook kernel has hung or killed the kernel here, so leave it unless needed)."""
    from .cost import shunted_cost
    from .pvt import SpatialReductionAttention
    from .shunted import ShuntedAttention

    torch.manual_seed(0)
    H = W = size // patch
    device = torch.device("cpu" if timed else "meta")
    x = torch.randn(1, H * W, dim, device=device)
    rows = []
    for r in sr_ratios:
        for variant in ("Shunted", "SRA"):
            with device:
                if variant == "Shunted":
                    layer = ShuntedAttention(dim, num_heads, True, sr_ratio=r)
                    c = shunted_cost(H, W, dim, num_heads, r)
                else:
                    layer = SpatialReductionAttention(dim, num_heads, True, sr_ratio=r)
                    c = sra_cost(H, W, dim, num_heads, r)
            layer.eval()
            row = dict(variant=variant, size=size, sr_ratio=r, tokens=c.tokens, kv_tokens=c.kv_tokens,
                       analytic_gmacs=c.macs / 1e9, counted_gmacs=count_macs(layer, x, H, W) / 1e9,
                       attn_mb=c.attn_bytes / 2**20)
            if timed:
                row["ms"] = time_forward(layer, x, H, W, min_run_time=min_run_time,
                                         num_threads=num_threads).median * 1e3
            rows.append(row)
    return rows


def plot_shunted_cost(rows: list[dict], title: str):
    """GMACs against ``sr_ratio`` (analytic lines, counted circles) and, on a second axis,
    the measured latency (dotted squares) when the rows have it: everything on one plot."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    twin = ax.twinx() if "ms" in rows[0] else None
    for variant in ("Shunted", "SRA"):
        sel = [r for r in rows if r["variant"] == variant]
        xs = [r["sr_ratio"] for r in sel]
        kw = dict(color=SHUNTED_COLOURS[variant])
        ax.plot(xs, [r["analytic_gmacs"] for r in sel], "-", label=f"{variant}: formula", **kw)
        ax.plot(xs, [r["counted_gmacs"] for r in sel], "o", mfc="none", ms=9, label=f"{variant}: counter", **kw)
        if twin is not None:
            twin.plot(xs, [r["ms"] for r in sel], ":s", label=f"{variant}: measured ms", **kw)
    ax.set_xlabel("sr_ratio (Shunted: coarse group; the fine group uses sr_ratio/2)")
    ax.set_ylabel("GMACs (1 multiply-add = 1)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        twin.set_ylabel("CPU latency, ms (measured)")
        twin.set_yscale("log")
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def draw_shunted_explorer(sr_ratio: int = 8, num_heads: int = 2, size: int = 224, query_row: float = 0.3,
                          query_col: float = 0.5, img: torch.Tensor | None = None):
    """What the Shunted explorer draws: the photo with the query, the coarse and the fine group's
    map of it, and the analytic cost of one stage-1 layer (C=64) against SRA and plain attention."""
    from .cost import shunted_cost

    img = _photo.load_photo(size) if img is None or img.shape[-1] != size else img
    groups = shunted_query_maps(img, (sr_ratio,), (query_row, query_col), num_heads=num_heads)[sr_ratio]
    H = W = size // 4
    costs = {"plain": sra_cost(H, W, 64, num_heads, 1), "SRA": sra_cost(H, W, 64, num_heads, sr_ratio),
             "Shunted": shunted_cost(H, W, 64, num_heads, sr_ratio)}
    fig, axes = plt.subplots(1, 4, figsize=(12.5, 3.1))
    show_photo(axes[0], img, (query_row, query_col), f"{size}×{size}: {H * W} query tokens")
    for ax, (name, (row, grid)) in zip(axes[1:3], groups.items()):
        rate = {"coarse": sr_ratio, "fine": sr_ratio // 2, "plain": 1}[name]
        overlay_map(ax, img, row, grid, f"{name} (÷{rate}), heads={num_heads}: {grid[0]}×{grid[1]} keys")
    if len(groups) == 1:
        axes[2].axis("off")
        axes[2].text(0.5, 0.5, "sr_ratio=1: one group,\nall keys", ha="center", va="center")
    cost_bars(axes[3], costs, SHUNTED_COLOURS,
              f"MMACs of one stage-1 layer (C=64, sr_ratio {sr_ratio}); + attention MB")
    fig.tight_layout()
    return fig


def shunted_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for shunted attention."""
    return attention_explorer(lambda **kw: draw_shunted_explorer(**kw), heads=[2, 4, 8])

"""The CoAtNet chapter's pictures: the network's stages with the relative bias table (a
schematic drawn from the model's own configuration), small weight matrices side by side, the
relative bias table and what it gives one query, one query's attention from content, from
position and from both (colour tokens: a toy), the cost of convolution against attention per
stage, and the layout explorer (a widget in a kernel, its page twin on the site).

Every figure follows the book's standard (:mod:`vit_notes.plotting`): drawn inside
:func:`~vit_notes.plotting.styled` with :func:`~vit_notes.plotting.new_figure`, at most
7.5 in wide, no text under 9 pt, at most three panels in a row; maps that are compared share
one colour scale and a colour bar.
"""

from __future__ import annotations

import math
import re

import torch
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter

from .. import photo, registry, validate
from ..counting import format_bytes
from ..explorer import Bars, Control, Explorer
from ..plotting import (
    MAP_CMAP,
    MAX_COLS,
    arrow,
    box,
    compare_maps,
    mark_query,
    new_figure,
    schematic_axes,
    set_alt,
    styled,
)
from ..trace import query_rows
from .cost import coatnet_cost, mbconv_cost, transformer_block_cost
from .model import (
    CONFIGS,
    CoAtNet,
    RelativeAttention,
    create,
    parse_layout,
    relative_position_index,
)

LAYOUTS = ("C-C-C-C", "C-C-C-T", "C-C-T-T", "C-T-T-T")
BLOCK_COLOURS = {"C": "tab:blue", "T": "tab:red", "stem": "tab:gray", "classifier": "tab:gray"}
#: The colour map of a bias (a signed logit offset), to tell it from attention weights.
BIAS_CMAP = "viridis"


# --- the picture of the idea -------------------------------------------------------------------


def coatnet_stages(name_or_model="coatnet_0", img_size: int = 224) -> list[dict]:
    """What :func:`draw_coatnet_schematic` draws, read from the model itself: one dict per
    stage S0..S4 with ``name``, ``kind`` ("stem", "C" or "T"), ``blocks`` (the stem's: its
    convs), ``width``, ``grid`` (H, W) of its output (the image size divided by the strides
    of the stem's convs and of each stage's first block) and, for a transformer stage,
    ``heads``, ``table`` ``(2H−1, 2W−1)``, the shape of one head's relative bias table, and
    ``table_scalars``, the learned scalars of all the stage's tables: every block has its own
    (the paper shares none across layers, section "Related Work").

    ``name_or_model``: a name from :data:`~vit_notes.coatnet.model.CONFIGS`, a config dict
    (as :func:`~vit_notes.coatnet.cost.coatnet_cost` takes) or a built
    :class:`~vit_notes.coatnet.model.CoAtNet` (then ``img_size`` is the model's own). Names
    and dicts are built on the ``meta`` device: shapes only, no weights allocated."""
    if isinstance(name_or_model, CoAtNet):
        model = name_or_model
    else:
        with torch.device("meta"):
            if isinstance(name_or_model, dict):
                model = CoAtNet(**{**name_or_model, "img_size": img_size})
            else:
                validate.one_of("name_or_model", name_or_model, CONFIGS)
                model = create(name_or_model, img_size=img_size)
    convs = [m for m in model.stem.modules() if isinstance(m, torch.nn.Conv2d)]
    H, W = model.img_size
    for conv in convs:  # the stem's stride: the product of its convs' strides
        H, W = H // conv.stride[0], W // conv.stride[1]
    stages = [
        dict(name="S0", kind="stem", blocks=len(convs), width=convs[-1].out_channels, grid=(H, W))
    ]
    for i, stage in enumerate(model.stages):
        first = stage.blocks[0]
        H, W = H // first.stride, W // first.stride  # the first block strides, the others not
        s = dict(
            name=f"S{i + 1}",
            kind=model.layout[i],
            blocks=len(stage.blocks),
            width=model.embed_dims[i],
            grid=(H, W),
        )
        if s["kind"] == "T":
            rel = first.attn.rel_pos
            s["heads"] = first.attn.num_heads
            s["table"] = tuple(rel.table().shape[1:])  # (2H−1, 2W−1), one per head
            s["grid"] = rel.grid_size  # the grid the table is built for: the stage's own
            s["table_scalars"] = sum(
                blk.attn.rel_pos.relative_position_bias_table.numel() for blk in stage.blocks
            )
        stages.append(s)
    return stages


#: What the schematic's box sizes mean, in the figure and in its alt text.
_LOG_SCALE_NOTE = (
    "Box sides are on a log2 scale of the grid side:\n"
    "each halving takes the same step off a box, not half of it."
)


def _stage_lines(s: dict) -> list[str]:
    (H, W), kind = s["grid"], s["kind"]
    what = {"stem": "convs", "C": "MBConv", "T": "transformer"}[kind]
    lines = [f"{H}×{W}", f"C = {s['width']}", f"{s['blocks']} × {what}"]
    if kind == "T":
        a, b = s["table"]
        lines += [f"{s['heads']} heads", f"table {a}×{b}"]
    return lines


@styled
def draw_coatnet_schematic(name_or_model="coatnet_0", img_size: int = 224):
    """CoAtNet's idea in one picture: the image, then stages S0..S4 as boxes shrinking with
    the resolution (grey: the stem, blue: MBConv "C", red: transformer "T"; a box's side is
    linear in log2 of its grid side, as the figure says), each labelled
    with its grid, width, number of blocks and, for "T" stages, heads and the shape of the
    relative bias table; a callout spells out the first transformer stage's table. All
    numbers come from the model's own modules (:func:`coatnet_stages`), so the picture
    cannot drift from the code."""
    stages = coatnet_stages(name_or_model, img_size)
    if isinstance(name_or_model, CoAtNet):
        title, img_hw = "CoAtNet", name_or_model.img_size
    else:
        title = name_or_model if isinstance(name_or_model, str) else "CoAtNet"
        img_hw = (img_size, img_size)
    layout = "-".join(s["kind"] for s in stages[1:])
    fig, axes = new_figure(1, 1, height=3.9)
    ax = axes[0, 0]
    schematic_axes(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fw, fh = fig.get_size_inches()
    items = [dict(name="image", kind="image", grid=img_hw)] + stages
    n = len(items)
    sides = [math.log2(max(it["grid"])) for it in items]
    lo, hi = min(sides), max(sides)
    col = 1 / n
    y_mid = 0.74
    centres = []
    for k, (it, s) in enumerate(zip(items, sides)):
        h = 0.08 + 0.2 * ((s - lo) / (hi - lo) if hi > lo else 1.0)
        w = h * fh / fw  # square on the page
        cx = col * (k + 0.5)
        colour = "tab:gray" if it["kind"] in ("stem", "image") else BLOCK_COLOURS[it["kind"]]
        cells = None
        if it["kind"] == "T" and max(it["grid"]) <= 32:  # finer rulings only blur
            cells = it["grid"]  # the token grid attention runs on, one cell per token
        box(ax, (cx - w / 2, y_mid - h / 2), (w, h), color=colour, cells=cells, alpha=0.3)
        centres.append((cx, w, h))
        head = {"image": "image", "stem": f"{it['name']} stem"}.get(
            it["kind"], f"{it['name']} · {it['kind']}"
        )
        ax.text(
            cx,
            y_mid + 0.16,
            head,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
            color="black" if it["kind"] == "image" else colour,
        )
        lines = [f"{it['grid'][0]}×{it['grid'][1]}", "RGB"] if it["kind"] == "image" else None
        ax.text(
            cx,
            y_mid - 0.16,
            "\n".join(lines or _stage_lines(it)),
            ha="center",
            va="top",
            fontsize=9,
            linespacing=1.25,
        )
    for (c0, w0, _), (c1, w1, _) in zip(centres, centres[1:]):
        arrow(ax, (c0 + w0 / 2 + 0.005, y_mid), (c1 - w1 / 2 - 0.005, y_mid))
    ax.text(
        0.5,
        1.0,
        f"{title}, {layout} at {img_hw[0]}×{img_hw[1]}: each stage halves the grid",
        ha="center",
        va="top",
        fontsize=11,
    )
    # The boxes cannot halve per stage and stay readable, so the figure says its scale.
    ax.text(0.02, 0.42, _LOG_SCALE_NOTE, ha="left", va="top", fontsize=9, linespacing=1.25)
    first_t = next((k for k, it in enumerate(items) if it["kind"] == "T"), None)
    if first_t is not None:
        it = items[first_t]
        (H, W), (a, b), heads = it["grid"], it["table"], it["heads"]
        # The callout: the relative bias table of the first transformer stage, drawn as a
        # ruled (2H−1) x (2W−1) grid with offset (0, 0) at its centre.
        th = 0.2
        tw = th * fh / fw
        tx, ty = 0.02, 0.03
        cells = (a, b) if max(a, b) <= 63 else None
        box(ax, (tx, ty), (tw, th), color="tab:red", cells=cells, alpha=0.15)
        ax.add_patch(
            Rectangle(
                (tx + tw * (b // 2) / b, ty + th * (a // 2) / a),
                tw / b,
                th / a,
                color="black",
            )
        )
        N, blocks = H * W, it["blocks"]
        text = (
            f"{it['name']}'s relative bias table $w_{{i-j}}$: one scalar per offset "
            f"$(\\Delta y, \\Delta x)$,\n"
            f"(2·{H}−1)(2·{W}−1) = {a}×{b} = {a * b:,} per head, × {heads} heads "
            f"= {a * b * heads:,} scalars a block.\n"
            f"Each of the {blocks} blocks has its own: {it['table_scalars']:,} in all.\n"
            f"Gathered into a {heads}×{N}×{N} bias added to the logits.\n"
            f"The black cell is offset (0, 0)."
        )
        ax.text(tx + tw + 0.015, ty + th / 2, text, ha="left", va="center", fontsize=9)
        # A dashed line from the callout up to the stage it describes.
        cx = centres[first_t][0]
        line = 9 * 1.25 / 72 / (0.97 * fh)  # one line of 9 pt text, in axes units
        ax.plot(
            [cx, cx],
            [ty + th + 0.03, y_mid - 0.16 - line * len(_stage_lines(it)) - 0.015],
            color="tab:red",
            lw=1,
            ls="--",
        )
        ax.add_patch(
            FancyBboxPatch(
                (0.005, 0.01),
                0.99,
                th + 0.04,
                boxstyle="round,pad=0.0,rounding_size=0.02",
                fill=False,
                edgecolor="tab:red",
                lw=1,
                ls="--",
            )
        )
    t_stages = [s for s in stages if s["kind"] == "T"]
    alt = (
        f"Schematic of {title}, layout {layout}, at {img_hw[0]}×{img_hw[1]}: the image, then "
        + ", ".join(
            f"{s['name']} ({_stage_lines(s)[2]}, {s['grid'][0]}×{s['grid'][1]} grid)"
            for s in stages
        )
        + ". "
        + _LOG_SCALE_NOTE.replace("\n", " ")
    )
    if t_stages:
        s = t_stages[0]
        a, b = s["table"]
        alt += (
            f" Each transformer block learns its own relative bias table per head; in "
            f"{s['name']} each is {a}×{b} per head for {s['heads']} heads, "
            f"{a * b * s['heads']:,} scalars a block and {s['table_scalars']:,} over its "
            f"{s['blocks']} blocks."
        )
    return set_alt(fig, alt)


# --- small matrices -----------------------------------------------------------------------------


def plain_title(title: str) -> str:
    """A panel title in words for alt text: its TeX read out, not stripped. ``\\mathrm{pre}``
    reads "pre", a superscript ``y^{pre}`` "y-pre", a subscript holding a sign ``w_{i-j}``
    "w(i−j)", any other subscript ``B_{ij}`` "B_ij"; then the markup left is dropped."""
    title = validate.text("title", title, allow_empty=True)
    t = re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", title)
    t = re.sub(r"\^\{([^{}]*)\}", r"-\1", t)
    t = re.sub(r"_\{([^{}]*[-+][^{}]*)\}", lambda m: "(" + m[1].replace("-", "−") + ")", t)
    return re.sub(r"[${}\\]", "", t)


@styled
def plot_matrices(groups, panel_height: float = 2.3):
    """Small heatmaps of ``N x N`` matrices (row: query ``i``, column: key ``j``), at most three
    to a row. ``groups``: ``[(label, {title: matrix})]``; the matrices of one group share one
    colour scale and one colour bar labelled ``label`` (weights, ``≥ 0``, in the attention
    colours; a group with negative entries, such as a bias, in :data:`BIAS_CMAP`)."""
    groups = validate.nonempty_sequence("groups", groups)
    panel_height = validate.number("panel_height", panel_height, low=0.5, high=10.0)
    try:
        panels = [(g, title, m) for g, (_, mats) in enumerate(groups) for title, m in mats.items()]
    except (TypeError, ValueError, AttributeError):
        raise validate.InputTypeError(
            f"groups must be a list of (label, {{title: matrix}}) pairs, got "
            f"{validate.shown(groups)}"
        ) from None
    if not panels:
        raise ValueError("groups holds no matrices: give at least one {title: matrix}")
    for g, title, m in panels:
        where = f"groups[{g}]'s matrix {validate.shown(title)}"
        m = validate.tensor(where, m, what="a float tensor (N, N)")
        if m.dim() != 2 or m.shape[0] != m.shape[1] or not m.numel():
            raise ValueError(f"{where} must be a square (N, N) matrix, got {tuple(m.shape)}")
    n = len(panels)
    ncols = min(n, MAX_COLS)
    nrows = math.ceil(n / ncols)
    given = f"groups hold {n:,} matrices at panel_height={panel_height:g}"
    fig, axes = new_figure(nrows, ncols, height=panel_height * nrows + 0.3, given=given)
    flat = list(axes.flat)
    for g, (label, mats) in enumerate(groups):
        values = torch.stack([torch.as_tensor(m, dtype=torch.float32) for m in mats.values()])
        lo, hi = min(float(values.min()), 0.0), float(values.max())
        cmap = MAP_CMAP if lo >= 0 else BIAS_CMAP
        group_axes = []
        for k, (pg, title, m) in enumerate(panels):
            if pg != g:
                continue
            ax = flat[k]
            im = ax.imshow(
                torch.as_tensor(m).numpy(), cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest"
            )
            ax.set_title(title)
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.set_xlabel("key j")
            if k % ncols == 0 or not group_axes:
                ax.set_ylabel("query i")
            group_axes.append(ax)
        fig.colorbar(im, ax=group_axes, shrink=0.8, pad=0.02, label=label)
    for ax in flat[n:]:
        ax.set_visible(False)
    size = "×".join(str(d) for d in torch.as_tensor(panels[0][2]).shape)
    alt = f"Heatmaps of {size} matrices, query i down, key j across: " + "; ".join(
        f"{label}: " + ", ".join(plain_title(t) for t in mats) for label, mats in groups
    )
    return set_alt(fig, alt + ".")


# --- the relative bias table -------------------------------------------------------------------


def learned_style_table(grid: tuple[int, int] = (14, 14)) -> torch.Tensor:
    """A hand-made relative-bias table, ``(3, 2H−1, 2W−1)``, for pictures (no trained table is
    shipped with the book): head 0 local (a bump around offset 0, ``−δ²/8`` at a distance of
    δ patches), head 1 along rows (penalises vertical offsets only), head 2 a
    clipped ramp on Δy + Δx (favours keys up-left of the anti-diagonal through the query)."""
    H, W = validate.grid("grid", grid)
    dy = torch.arange(-(H - 1), H, dtype=torch.float32)[:, None].expand(2 * H - 1, 2 * W - 1)
    dx = torch.arange(-(W - 1), W, dtype=torch.float32)[None, :].expand(2 * H - 1, 2 * W - 1)
    local = -(dy**2 + dx**2) / 8
    rows = -(dy**2) / 2
    # offset i − j > 0: the key j is above/left of the query i
    upleft = 0.4 * (dy + dx).clamp(-6, 6)
    return torch.stack([local, rows, upleft])


@styled
def plot_bias_table(table: torch.Tensor, query: tuple[int, int], titles=None):
    """One column per head (at most three to a row): on top the head's table as an image,
    offset (0, 0) at the centre, with the region of offsets that the query at grid position
    ``query`` (row, col) uses outlined; below it the bias that this query gives every key,
    an ``H x W`` map with the query marked (outlined box and crosshair). A head's table and
    its query map share one colour scale and a colour bar; where the heads' ranges differ
    tenfold, the figure says so."""
    table = _table("table", table, heads=True)
    heads, A, Bw = table.shape
    H, W = (A + 1) // 2, (Bw + 1) // 2
    qy, qx = validate.cell("query", query, H, W)
    if titles is not None:
        titles = validate.nonempty_sequence("titles", titles)
        if len(titles) != heads or not all(isinstance(t, str) for t in titles):
            raise ValueError(
                f"titles must be {heads} strings, one per head of the table, got "
                f"{validate.shown(titles)}"
            )
    idx = relative_position_index(H, W)[qy * W + qx]  # table entry of offset i − j, every key j
    ncols = min(heads, MAX_COLS)
    blocks = math.ceil(heads / ncols)
    fig, axes = new_figure(
        2 * blocks, ncols, height=5.9 * blocks, given=f"table has {heads:,} heads"
    )
    spans = []
    for h in range(heads):
        b, c = divmod(h, ncols)
        top, bottom = axes[2 * b, c], axes[2 * b + 1, c]
        lo, hi = float(table[h].min()), float(table[h].max())
        spans.append(hi - lo)
        top.imshow(
            table[h].numpy(),
            cmap=BIAS_CMAP,
            vmin=lo,
            vmax=hi,
            extent=(-(W - 1) - 0.5, W - 1 + 0.5, H - 1 + 0.5, -(H - 1) - 0.5),
        )
        # The offsets y_i − y_j, x_i − x_j this query meets: its region of the table.
        top.add_patch(
            Rectangle(
                (qx - (W - 1) - 0.5, qy - (H - 1) - 0.5),
                W,
                H,
                fill=False,
                edgecolor="white",
                lw=1.5,
                ls="--",
            )
        )
        name = titles[h] if titles else f"head {h}"
        top.set_title(f"{name}: table {A}×{Bw}")
        top.set_xlabel(r"$\Delta x = x_i - x_j$")
        if c == 0:
            top.set_ylabel(r"$\Delta y = y_i - y_j$")
        im = bottom.imshow(
            table[h].flatten()[idx].reshape(H, W).numpy(),
            cmap=BIAS_CMAP,
            vmin=lo,
            vmax=hi,
            extent=(0, W, H, 0),
            interpolation="nearest",
        )
        mark_query(bottom, table.new_empty(H, W), ((qy + 0.5) / H, (qx + 0.5) / W), patch=1)
        bottom.set_title(f"bias from query {tuple(query)}")
        bottom.set_xticks([])
        bottom.set_yticks([])
        if c == 0:
            bottom.set_ylabel(f"the {H}×{W} keys")
        fig.colorbar(
            im,
            ax=[top, bottom],
            orientation="horizontal",
            location="bottom",
            shrink=0.9,
            aspect=18,
            pad=0.02,
            label="bias (logits)",
        )
    for h in range(heads, blocks * ncols):
        b, c = divmod(h, ncols)
        axes[2 * b, c].set_visible(False)
        axes[2 * b + 1, c].set_visible(False)
    note = "one colour scale per head: a head's table and its query map"
    if min(spans) > 0 and max(spans) / min(spans) >= 10:
        note += f"\nthe heads' ranges differ {max(spans) / min(spans):.0f}-fold"
        note += f" ({min(spans):.1f} to {max(spans):.1f})"
    fig.suptitle(note, fontsize=10)
    names = [titles[h] if titles else f"head {h}" for h in range(heads)]
    alt = (
        f"{heads} heads' relative bias tables, each a {A}×{Bw} image with offset (0, 0) at its "
        f"centre ({', '.join(names)}), and below each the bias that the query at {tuple(query)} "
        f"gives every key of the {H}×{W} grid: the dashed box of its table, flipped."
    )
    return set_alt(fig, alt)


# --- one query's attention on the photo ----------------------------------------------------------


def _table(name: str, table, *, heads: bool = False, grid=None) -> torch.Tensor:
    """A relative-bias table as the figures take it: a float tensor ``(2H−1, 2W−1)`` (with a
    leading heads dimension where ``heads``), odd sides, finite values, on the CPU; of the
    ``grid``'s size where one is given. Returned detached."""
    shape = "(heads, 2H-1, 2W-1)" if heads else "(2H-1, 2W-1)"
    validate.tensor(name, table, what=f"a float tensor {shape}")
    sides = table.shape[-2:] if table.dim() >= 2 else ()
    if (
        table.dim() != (3 if heads else 2)
        or not table.numel()
        or any(side % 2 == 0 for side in sides)
    ):
        raise ValueError(f"{name} must have shape {shape}, odd sides, got {tuple(table.shape)}")
    if grid is not None and tuple(sides) != (2 * grid[0] - 1, 2 * grid[1] - 1):
        raise ValueError(
            f"{name} is {sides[0]}x{sides[1]} but the {grid[0]}x{grid[1]} grid needs a "
            f"{2 * grid[0] - 1}x{2 * grid[1] - 1} table (one entry per offset i − j)"
            + ("; for one head of a (heads, ...) table use table[0]" if table.dim() == 3 else "")
        )
    if table.device.type != "cpu":
        raise ValueError(f"{name} is on the {table.device.type} device: give a CPU tensor")
    table = table.detach()
    if not bool(torch.isfinite(table).all()):
        raise ValueError(f"{name} holds NaN or infinite values")
    if bool((table.abs() > validate.MAX_LOGIT_SCALE).any()):
        raise ValueError(
            f"{name} holds values up to {float(table.abs().max()):.3g} in magnitude: a bias "
            f"table's entries are logits, at most {validate.MAX_LOGIT_SCALE:g} here (float32 "
            "logits overflow past that)"
        )
    return table


def _map_entry(name: str, entry) -> None:
    """One entry ``(weights, (h, w))`` of a maps dict: a float row of ``h·w`` weights."""
    if not validate._ordered(entry) or len(entry) != 2:
        raise validate.InputTypeError(
            f"{name} must be (weights, (h, w)), as the maps functions return, got "
            f"{validate.shown(entry)}"
        )
    row, grid = entry
    validate.tensor(f"{name}'s weights", row, what="a float tensor of attention weights")
    h, w = validate.grid(f"{name}'s grid", grid)
    if row.numel() != h * w:
        raise ValueError(f"{name} holds {row.numel()} weights for a {h}x{w} grid of keys")


@torch.no_grad()
def identity_relative_attention(
    dim: int,
    grid: tuple[int, int],
    table: torch.Tensor | None = None,
    scale: float = registry.TOY_LOGIT_SCALE,
):
    """A one-head :class:`~vit_notes.coatnet.model.RelativeAttention` whose q, k, v and
    projection are identities (so, on colour tokens, logits compare colours), with relative
    table ``table`` (``(2H−1, 2W−1)``; zeros: no position bias). ``scale`` multiplies the
    content logits ``x_iᵀx_j`` (an inverse temperature; 0 leaves the bias alone)."""
    attn = RelativeAttention(dim, num_heads=1, grid_size=grid).eval()
    big = validate.MAX_LOGIT_SCALE  # float32 logits overflow past it
    scale = validate.number("scale", scale, low=-big, high=big)
    if table is not None:
        table = _table("table", table, grid=attn.rel_pos.grid_size)
    eye = torch.eye(dim)[:, :, None, None]
    attn.qkv.weight.copy_(torch.cat([eye, eye, eye]))
    attn.qkv.bias.zero_()
    attn.proj.weight.copy_(eye)
    attn.proj.bias.zero_()
    attn.scale = scale
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
    softmax (CoAtNet's relative attention), with identity projections
    (:func:`identity_relative_attention`, content logits scaled by ``registry.TOY_LOGIT_SCALE``).
    A toy: colour tokens and hand-set weights, no trained layer. Returns
    ``{label: (attn_row, grid)}``."""
    tokens, grid = photo.colour_tokens(img, patch=patch)
    table = _table("table", table, grid=grid)
    x = tokens.transpose(1, 2).reshape(1, -1, *grid)
    q = photo.query_at(grid, query_rc)
    out = {}
    for label, t, scale in (
        ("content only", None, registry.TOY_LOGIT_SCALE),
        ("bias only", table, 0.0),
        ("content + bias", table, registry.TOY_LOGIT_SCALE),
    ):
        layer = identity_relative_attention(tokens.shape[-1], grid, t, scale)
        (out[label],) = query_rows(layer, x, query=q)
    return out


#: Panel titles of :func:`plot_relative_query_maps`: what the softmax is taken of.
QUERY_MAP_TITLES = {
    "content only": rf"content: softmax$({registry.TOY_LOGIT_SCALE:g}\,x_i^\top x_j)$",
    "bias only": r"bias: softmax$(w_{i-j})$",
    "content + bias": rf"sum: softmax$({registry.TOY_LOGIT_SCALE:g}\,x_i^\top x_j + w_{{i-j}})$",
}


def plot_relative_query_maps(img: torch.Tensor, maps: dict, query_rc, suptitle=None):
    """One query's attention for each entry of :func:`relative_query_maps`, over the photo, on
    one colour scale with a colour bar, the query marked (through
    :func:`~vit_notes.plotting.compare_maps`): the box outlines the patch of the query's token,
    the one whose row the maps show (``photo.query_at``), not a box centred on ``query_rc``."""
    img = validate.photo("img", img)
    validate.nonempty_dict("maps", maps, "relative_query_maps")
    row, col = validate.fraction_pair("query_rc", query_rc)
    if suptitle is not None:
        validate.text("suptitle", suptitle, allow_empty=True)
    for label, entry in maps.items():
        _map_entry(f"maps[{validate.shown(label)}]", entry)
    panels = [
        (f"{QUERY_MAP_TITLES.get(label, label)}\npeak {float(row.max()):.2f}", row, grid)
        for label, (row, grid) in maps.items()
    ]
    patches = [img.shape[-2] // grid[0] for _, _, grid in panels]  # each token's patch, px
    fig = compare_maps(img, panels, query_rc, suptitle=suptitle, panel_height=2.35, patches=patches)
    alt = (
        f"One query's attention weights over the photo (query at {row:.0%} of the height, "
        f"{col:.0%} of the width), on one colour scale: "
        + "; ".join(f"{label}, peak {float(w.max()):.2f}" for label, (w, _) in maps.items())
        + "."
    )
    return set_alt(fig, alt)


# --- cost ---------------------------------------------------------------------------------------


def conv_vs_attention_rows(
    sizes=(128, 160, 192, 224, 288, 352, 416, 512), widths=(96, 192, 384, 768)
) -> list[dict]:
    """For each image size and stage S1..S4 (stride 4..32, CoAtNet-0 widths): MACs of one stride-1
    MBConv and of one stride-1 transformer block, the transformer's heads and its attention map
    (MiB, float32, one image)."""
    widths = validate.nonempty_sequence("widths", widths, limit=validate.MAX_STAGES)
    for i, C in enumerate(widths):
        if validate.width(f"widths[{i}]", C) % 32:
            raise ValueError(
                f"widths[{i}]={C} is not a multiple of 32, CoAtNet's head size: the "
                "transformer block splits its width into heads of 32 channels"
            )
    sizes = validate.nonempty_sequence("sizes", sizes)
    for i, size in enumerate(sizes):
        validate.size(f"sizes[{i}]", size, minimum=2 ** (len(widths) + 1))
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
                    heads=t.attn_elements // (side * side) ** 2,  # heads x N x N entries
                    attn_mib=t.attn_bytes / 2**20,
                )
            )
    return rows


STAGE_COLOURS = ("tab:purple", "tab:blue", "tab:orange", "tab:red")


def _log_ticks(ax, values, fmt):
    """Label a log axis at ``values`` (those inside its limits) with ``fmt``, no minor labels."""
    lo, hi = ax.get_ylim()
    ticks = [v for v in values if lo <= v <= hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(lambda v, _: fmt(v))
    ax.yaxis.set_minor_formatter(NullFormatter())


@styled
def plot_conv_vs_attention(rows: list[dict], mark_size: int = 224, layout: str = "C-C-T-T"):
    """Two panels against the image size, one line per stage (one legend for both): left, what
    a stride-1 transformer block costs relative to a stride-1 MBConv block; right, the
    attention map that a transformer block would hold at that stage. Both on log axes;
    ``mark_size`` (if in range) is marked. The stages that ``layout`` makes MBConv stages hold
    no map in CoAtNet: their lines are dashed and their legend entries say so."""
    rows = validate.rows("rows", rows, keys=("stage", "size", "ratio", "attn_mib"))
    kinds = dict(zip(("S1", "S2", "S3", "S4"), parse_layout(layout)))
    fig, axes = new_figure(1, 2, height=3.6)
    left, right = axes[0]
    stages = sorted({r["stage"] for r in rows})
    sizes = sorted({r["size"] for r in rows})
    for s, colour in zip(stages, STAGE_COLOURS * len(stages)):
        sel = [r for r in rows if r["stage"] == s]
        label = f"{s}: stride {sel[0]['stride']}, C = {sel[0]['width']}"
        conv = kinds.get(s) == "C"
        style = "--o" if conv else "-o"
        label += " (MBConv in CoAtNet)" if conv else ""
        xs = [r["size"] for r in sel]
        left.plot(xs, [r["ratio"] for r in sel], style, ms=4, color=colour, label=label)
        right.plot(xs, [r["attn_mib"] for r in sel], style, ms=4, color=colour)
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel("image size (px)")
        ax.grid(alpha=0.3)
        if sizes[0] <= validate.size("mark_size", mark_size) <= sizes[-1]:
            ax.axvline(mark_size, color="gray", lw=1, ls="--")
    left.set_ylim(1.0, max(2.0, max(r["ratio"] for r in rows) * 1.3))
    _log_ticks(left, (1, 2, 3, 5, 10, 20, 50, 100), lambda v: f"{v:g}×")
    left.set_title("transformer block ÷ MBConv block")
    left.set_ylabel("MACs ratio (log scale)")
    right.set_title("attention map if the stage\nwere a transformer block")
    right.set_ylabel("MiB, float32 (log scale)")
    _log_ticks(right, [10.0**k for k in range(-3, 5)], lambda v: f"{v:g}")
    if sizes[0] <= mark_size <= sizes[-1]:
        for ax in (left, right):
            ax.text(mark_size, ax.get_ylim()[1], f" {mark_size}²", va="top", color="gray")
    fig.legend(loc="outside lower center", ncol=2, frameon=False)
    top = max(rows, key=lambda r: r["ratio"])
    alt = (
        f"Two log-scale line charts against the image size, {sizes[0]} to {sizes[-1]} px, one "
        f"line per stage {', '.join(stages)}: left, a transformer block's multiply-adds over an "
        f"MBConv block's, largest at {top['stage']} ({top['ratio']:.0f}× at {top['size']}²); "
        "right, in MiB, the attention map a transformer block would hold at each stage, which "
        "shrinks stage by stage. Dashed lines mark the stages that are MBConv stages in CoAtNet "
        f"({', '.join(s for s in stages if kinds.get(s) == 'C') or 'none'}), which hold no map."
    )
    return set_alt(fig, alt)


#: The explorer's image sizes.
EXPLORER_SIZES = (128, 160, 192, 224, 256, 288, 320, 384, 448, 512)


def layout_charts(layout: str = "C-C-T-T", size: int = 224, name: str = "coatnet_0") -> list[Bars]:
    """The layout explorer's charts for ``name`` with ``layout`` at ``size``²: GMACs per stage
    (coloured by block type), the attention map of one block per stage (its memory, KiB or MiB
    as fits, on a linear scale), and the total GMACs and parameters of all four layouts (the
    selected one outlined). Analytic counts (``coatnet_cost``, equal to the counter)."""
    kinds = ("stem",) + parse_layout(layout) + ("classifier",)
    c = coatnet_cost(name, img_size=size, layout=layout)
    names = ("S0", "S1", "S2", "S3", "S4", "head")  # coatnet_cost's keys: "head" is the classifier
    labels = names[:-1] + ("classifier",)  # "head" is kept for attention heads
    colours = tuple(BLOCK_COLOURS[k] for k in kinds)
    stage_labels = tuple(f"{n} ({k})" if k in ("C", "T") else n for n, k in zip(labels, kinds))
    totals = {lay: coatnet_cost(name, img_size=size, layout=lay)["total"] for lay in LAYOUTS}
    mib = tuple(c[n].attn_bytes / 2**20 for n in names)
    selected = LAYOUTS.index(layout)
    return [
        Bars(
            "multiply-adds per stage (GMACs)",
            stage_labels,
            tuple(c[n].macs / 1e9 for n in names),
            texts=tuple(f"{c[n].macs / 1e9:.3f}" for n in names),
            colours=colours,
        ),
        Bars(
            "one block's attention map (memory)",
            stage_labels,
            mib,
            texts=tuple(
                format_bytes(c[n].attn_bytes) if c[n].attn_bytes else "no map" for n in names
            ),
            colours=colours,
        ),
        Bars(
            f"GMACs, the four layouts at {size}²",
            tuple(LAYOUTS),
            tuple(t.macs / 1e9 for t in totals.values()),
            texts=tuple(f"{t.macs / 1e9:.2f}" for t in totals.values()),
            colours=("tab:orange",) * len(LAYOUTS),
            selected=selected,
        ),
        Bars(
            f"parameters (M), the four layouts at {size}²",
            tuple(LAYOUTS),
            tuple(t.params / 1e6 for t in totals.values()),
            texts=tuple(f"{t.params / 1e6:.1f}" for t in totals.values()),
            colours=("tab:green",) * len(LAYOUTS),
            selected=selected,
        ),
    ]


def layout_explorer(name: str = "coatnet_0") -> Explorer:
    """The chapter's explorer over the layout (C-C-C-C ... C-T-T-T) and the image size
    (:func:`layout_charts`): a live widget in a kernel, a precomputed twin on the page."""
    validate.one_of("name", name, CONFIGS)

    def caption(layout, size):
        t = coatnet_cost(name, img_size=size, layout=layout)["total"]
        return (
            f"{name}, {layout} at {size}²: {t.macs / 1e9:.2f} GMACs, {t.params / 1e6:.1f} M "
            "params (C: MBConv, T: transformer)"
        )

    def alt(layout, size):
        c = coatnet_cost(name, img_size=size, layout=layout)
        kinds = dict(zip(("S1", "S2", "S3", "S4"), parse_layout(layout)))
        top = max(("S0", "S1", "S2", "S3", "S4"), key=lambda n: c[n].macs)
        maps = [f"{format_bytes(c[n].attn_bytes)} in {n}" for n in kinds if c[n].attn_bytes]
        totals = [coatnet_cost(name, img_size=size, layout=lay)["total"] for lay in LAYOUTS]
        gmacs, params = [t.macs / 1e9 for t in totals], [t.params / 1e6 for t in totals]
        t = c["total"]
        listed = " and ".join(filter(None, (", ".join(maps[:-1]), maps[-1]))) if maps else ""
        return (
            f"Explorer, starting state: {name} with layout {layout} at {size}². The first "
            f"chart gives the multiply-adds per stage. The largest is {top} "
            f"({kinds.get(top, 'stem')}) with {c[top].macs / 1e9:.3f} GMACs. The second gives "
            "one block's attention map per stage: "
            + (
                f"{listed}. The stem and the MBConv stages have none"
                if maps
                else "none, since every stage is MBConv"
            )
            + ". The last two compare the four "
            f"layouts at {size}²: {min(gmacs):.2f} to {max(gmacs):.2f} GMACs and "
            f"{min(params):.1f} to {max(params):.1f} M parameters in total. {layout} is "
            f"outlined, at {t.macs / 1e9:.2f} GMACs and {t.params / 1e6:.1f} M parameters"
        )

    return Explorer(
        key="explore-layout",
        title=f"CoAtNet layouts: {name}'s cost per stage and in total",
        controls=(
            Control("layout", "layout", tuple(LAYOUTS), default="C-C-T-T"),
            Control("size", "image size", EXPLORER_SIZES, default=224),
        ),
        bars=lambda layout, size: layout_charts(layout, size, name),
        caption=caption,
        alt=alt,
    )

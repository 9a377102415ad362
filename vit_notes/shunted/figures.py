"""The Shunted chapter's pictures: a schematic of shunted self-attention drawn from a layer's own
configuration, one query's attention in the coarse and the fine head group (colour tokens and
identity weights: a toy), beside PVT's SRA at about the same cost, the cost of one stage-1 layer
against ``sr_ratio``, and the classroom explorer with its static twin.

Every figure follows the book's standard (:mod:`vit_notes.plotting`): drawn inside
:func:`~vit_notes.plotting.styled` with :func:`~vit_notes.plotting.new_figure`, at most as wide
as the text column, at most three panels in a row, no text under 9 pt; compared maps share one
colour scale and a colour bar, and the query is marked with an outlined box and a crosshair."""

from __future__ import annotations

import copy
import io
import re

import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from .. import photo, validate
from ..counting import count_macs, time_forward
from ..plotting import (
    MIN_FONT_PT,
    arrow,
    attention_explorer,
    box,
    cost_bars,
    new_figure,
    overlay_map,
    schematic_axes,
    styled,
)
from ..pvt.cost import sra_cost
from ..pvt.figures import identity_sra
from ..pvt.model import SpatialReductionAttention
from ..trace import query_rows, trace_shapes
from .cost import shunted_cost, sra_ratio_at_equal_cost
from .model import ShuntedAttention, kv_grids


@torch.no_grad()
def identity_shunted(
    channels: int, sr_ratio: int, num_heads: int = 2, temperature: float = 0.25, shift: float = 6.0
):
    """A :class:`~vit_notes.shunted.model.ShuntedAttention` with identity weights, for tokens
    made by :func:`repeat_for_heads` (``dim = num_heads · channels``).

    ``q`` and ``proj`` are identities; ``kv1``/``kv2`` give each head of a group its own copy
    of the (reduced) token as key and as value; ``sr1``/``sr2`` average each window, so a
    reduced key is the mean histogram of the tokens it covers; the local-enhancement convs
    are zero. The norms standardise and add ``shift`` so that the GELU after them is (almost
    exactly) the identity: a constant added to every key component leaves the logits of a
    standardised query unchanged. The two head groups then differ only in their key grid.
    """

    validate.positive_int("channels", channels)
    h = validate.positive_int("num_heads", num_heads)
    dim = h * channels
    attn = ShuntedAttention(
        dim, num_heads=h, qkv_bias=True, qk_scale=temperature, sr_ratio=sr_ratio
    )
    eye = torch.eye(dim)
    for lin in (attn.q, attn.proj):
        lin.weight.copy_(eye)
        lin.bias.zero_()
    if sr_ratio == 1:
        attn.kv.weight.copy_(torch.cat([eye, eye]))
        attn.kv.bias.zero_()
        attn.local_conv.weight.zero_()
        attn.local_conv.bias.zero_()
        return attn.eval()
    half = dim // 2
    for g, (kv, sr, norm, local) in enumerate(
        (
            (attn.kv1, attn.sr1, attn.norm1, attn.local_conv1),
            (attn.kv2, attn.sr2, attn.norm2, attn.local_conv2),
        )
    ):
        # rows (k|v, head j of the group, c) read the input channels of head g·h/2 + j
        group_cols = eye[g * half : (g + 1) * half]
        kv.weight.copy_(torch.cat([group_cols, group_cols]))
        kv.bias.zero_()
        k = sr.kernel_size[0]
        sr.weight.zero_()
        sr.weight[range(dim), range(dim)] = 1.0 / (k * k)
        sr.bias.zero_()
        norm.weight.fill_(1.0)
        norm.bias.fill_(shift)
        local.weight.zero_()
        local.bias.zero_()
    return attn.eval()


SHUNTED_COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "Shunted": "tab:purple"}


@torch.no_grad()
def shunted_query_maps(
    img: torch.Tensor, sr_ratios=(2, 4, 8), query_rc=(0.3, 0.5), patch: int = 4, num_heads: int = 2
) -> dict[int, dict[str, tuple[torch.Tensor, tuple[int, int]]]]:
    """For each ``sr_ratio``: one query's attention in the coarse and the fine head group of a
    shunted layer with identity weights on colour tokens (:func:`identity_shunted`).

    Returns ``{sr_ratio: {"coarse": (row, grid), "fine": (row, grid)}}`` (``{"plain": ...}`` for 1).
    """
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    x = photo.repeat_for_heads(tokens, num_heads)
    q = photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        rows = query_rows(identity_shunted(tokens.shape[-1], r, num_heads), x, H, W, query=q)
        out[r] = dict(zip(("coarse", "fine") if r > 1 else ("plain",), rows))
    return out


@torch.no_grad()
def sra_equal_cost_maps(
    img: torch.Tensor,
    sr_ratios=(2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    dim: int = 64,
    num_heads: int = 2,
) -> dict[int, tuple[int, torch.Tensor, tuple[int, int]]]:
    """For each shunted ``sr_ratio``: PVT's SRA at the same cost (``sra_ratio_at_equal_cost``
    for a ``dim``-channel, ``num_heads``-head layer on the photo's token grid), and the same
    query's map through it. Returns ``{sr_ratio: (sra_ratio, row, grid)}``."""

    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    q = photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        r_sra = sra_ratio_at_equal_cost(H, W, dim, num_heads, r)
        ((row, grid),) = query_rows(identity_sra(tokens.shape[-1], r_sra), tokens, H, W, query=q)
        out[r] = (r_sra, row, grid)
    return out


def _peak_note(peaks: list[float]) -> str:
    """The figure's warning when the peaks of maps on one scale differ tenfold or more."""
    lo, hi = min(peaks), max(peaks)
    if lo > 0 and hi / lo >= 10:
        return f"peaks range from {lo:.3f} to {hi:.2f} (over 10×): faint maps are spread, not empty"
    return ""


@styled
def plot_shunted_maps(img: torch.Tensor, maps: dict, query_rc, sra: dict | None = None):
    """One row per ``sr_ratio``: the coarse group's map, the fine group's map and, given ``sra``
    (from :func:`sra_equal_cost_maps`), PVT's SRA at the same cost.

    Every map is drawn over the photo on **one** colour scale (one colour bar), with the query
    marked on each (outlined box and crosshair); each title gives the map's peak, and the
    figure says so when the peaks differ tenfold or more."""
    ncols = 3 if sra else 2
    nrows = len(maps)
    fig, axes = new_figure(nrows, ncols, height=2.3 * nrows + 0.45)
    peaks = [float(row.max()) for groups in maps.values() for row, _ in groups.values()]
    if sra:
        peaks += [float(sra[r][1].max()) for r in maps]
    vmax = max(peaks)
    im = None
    for ax_row, (r, groups) in zip(axes, maps.items()):
        panels = []
        for name, (row, grid) in groups.items():
            rate = {"coarse": r, "fine": r // 2, "plain": 1}[name]
            panels.append((f"{name} ÷{rate}: {grid[0]}×{grid[1]}", row, grid))
        if len(groups) == 1:
            panels.append(None)  # sr_ratio 1: one group, no fine map
        if sra:
            r_sra, row, grid = sra[r]
            panels.append((f"SRA R={r_sra}: {grid[0]}×{grid[1]}", row, grid))
        for ax, panel in zip(ax_row, panels):
            if panel is None:
                ax.set_visible(False)
                continue
            title, row, grid = panel
            im = overlay_map(ax, img, row, grid, vmax=vmax, query_rc=query_rc)
            ax.set_title(f"{title}, peak {float(row.max()):.2f}")
        ax_row[0].set_ylabel(f"sr_ratio = {r}")
    cbar = fig.colorbar(im, ax=axes, shrink=0.8, pad=0.02, aspect=30)
    cbar.set_label("attention weight (one scale)")
    columns = "coarse group (÷r), fine group (÷r/2)"
    if sra:
        columns += ", PVT SRA at the same cost (÷R)"
    note = _peak_note(peaks)
    fig.suptitle("\n".join(t for t in (columns + "; query: cyan box", note) if t))
    return fig


#: The two head groups' colours in the schematic: coarse (÷r) and fine (÷r/2).
GROUP_COLOURS = {"coarse": "tab:blue", "fine": "tab:orange", "plain": "tab:purple"}

_SHAPE_LINE = re.compile(r"^\S+ (\w+_shape): (\(.*\))$")


@torch.no_grad()
def traced_shapes(attn: ShuntedAttention, H: int = 56, W: int = 56, batch: int = 1) -> dict:
    """What :func:`~vit_notes.trace.trace_shapes` prints for ``attn`` on a ``batch x (H·W) x
    dim`` input, as ``{"q_shape": "(1, 2, 3136, 32)", ...}``. Run on a copy of the layer on
    the ``meta`` device: shapes only, nothing computed."""
    validate.positive_int("batch", batch)
    layer = copy.deepcopy(attn).to("meta").eval()
    buf = io.StringIO()
    with trace_shapes(layer, root="ssa", stream=buf):
        layer(torch.empty(batch, H * W, attn.dim, device="meta"), H, W)
    shapes = {}
    for line in buf.getvalue().splitlines():
        m = _SHAPE_LINE.match(line)
        if m:
            shapes[m.group(1)] = m.group(2)
    return shapes


def _token_grid(ax, centre, side_in, grid, colour, ax_scale) -> tuple[float, float, float, float]:
    """A square of ``side_in`` inches at ``centre`` (data units), ruled into the ``grid`` of
    tokens it holds (thin rules when dense). Returns its (x0, y0, w, h) in data units."""
    sx, sy = ax_scale
    w, h = side_in / sx, side_in / sy
    x0, y0 = centre[0] - w / 2, centre[1] - h / 2
    box(ax, (x0, y0), (w, h), color=colour, alpha=0.18)
    rows, cols = grid
    lw = 0.5 if max(rows, cols) <= 16 else 0.25
    for r in range(1, rows):
        ax.plot([x0, x0 + w], [y0 + h * r / rows] * 2, color=colour, lw=lw, alpha=0.8)
    for c in range(1, cols):
        ax.plot([x0 + w * c / cols] * 2, [y0, y0 + h], color=colour, lw=lw, alpha=0.8)
    return x0, y0, w, h


def _label(ax, xy, text, gid=None, **kw):
    kw = dict(ha="center", va="center", fontsize=MIN_FONT_PT) | kw
    return ax.text(*xy, text, gid=gid, **kw)


def _heads(lo: int, hi: int) -> str:
    return f"head {lo}" if lo == hi else f"heads {lo}–{hi}"


@styled
def draw_shunted_schematic(
    attn: ShuntedAttention | None = None, H: int = 56, W: int = 56, batch: int = 1
):
    """Shunted self-attention as boxes and arrows, drawn from ``attn``'s own configuration
    (default: stage 1 of Shunted-T, ``ShuntedAttention(64, 2, qkv_bias=True, sr_ratio=8)``)
    on an ``H x W`` token grid: queries from every token, split into two head groups; group 1
    takes keys and values from the grid reduced by ``r``, group 2 by ``r/2``
    (:func:`~vit_notes.shunted.model.kv_grids`); local enhancement adds a depthwise 3×3 conv
    of V to V; the groups' outputs are concatenated and projected.

    Every tensor is labelled with the name and shape that
    :func:`~vit_notes.trace.trace_shapes` prints for this layer (:func:`traced_shapes`); each
    such label carries its name as its ``gid``. With ``sr_ratio`` 1 the layer is one group of
    plain attention, and the conv of V is added to its output."""
    attn = ShuntedAttention(64, 2, qkv_bias=True, sr_ratio=8) if attn is None else attn
    shapes = traced_shapes(attn, H, W, batch)
    r, C, h = attn.sr_ratio, attn.dim, attn.num_heads
    grids = kv_grids(H, W, r)
    two = r > 1
    width, height = 7.5, 5.9
    fig, axes = new_figure(1, 1, height=height, width=width)
    ax = axes[0, 0]
    schematic_axes(ax)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    # Inches per data unit of the axes (constrained layout leaves them almost the figure).
    scale = (width * 0.97 / 10, height * 0.9 / 10)

    def shape(name):  # the label trace_shapes prints, kept findable by its gid
        return f"{name}: {shapes[name]}"

    # The input: every token of the H x W grid.
    x0, y0, w0, h0 = _token_grid(ax, (5, 8.75), 0.85, (H, W), "0.35", scale)
    _label(
        ax,
        (x0 + w0 + 0.15, y0 + h0 / 2),
        f"x: ({batch}, {H * W}, {C})\n{H}×{W} tokens, C = {C}\n{h} heads, sr_ratio r = {r}",
        ha="left",
    )
    fig.suptitle(f"Shunted self-attention on a {H}×{W} grid: two head groups, two key grids")

    # The queries: every token, split by heads into the groups.
    qx, qy, qw, qh = 3.9, 5.75, 2.2, 0.55
    arrow(ax, (5, y0), (5, qy + qh + 0.55))
    _label(ax, (5.1, y0 - 0.35), "q: Linear C→C", ha="left")
    _label(ax, (5, qy + qh + 0.3), shape("q_shape"), gid="q_shape")
    names = ("coarse", "fine") if two else ("plain",)
    half = h // 2 if two else h
    for g, name in enumerate(names):
        part = qw / len(names)
        box(ax, (qx + g * part, qy), (part, qh), color=GROUP_COLOURS[name], alpha=0.3)
        _label(ax, (qx + (g + 0.5) * part, qy + qh / 2), _heads(g * half, (g + 1) * half - 1))

    # Each group's column: its key grid, K and V, local enhancement, attention.
    xs = (1.65, 8.35) if two else (1.65,)
    attn_boxes = []
    for g, (name, gx, grid) in enumerate(zip(names, xs, grids), start=1):
        colour = GROUP_COLOURS[name]
        tag = str(g) if two else ""
        rate = (r if g == 1 else r // 2) if two else 1
        # the key grid: the same image area, in fewer tokens
        cy = 6.05
        if two:
            kx0, ky0, kw, kh = _token_grid(ax, (gx, cy), 0.85, grid, colour, scale)
            arrow(ax, (x0 if g == 1 else x0 + w0, y0 + h0 / 2), (gx, ky0 + kh + 0.05))
            _label(
                ax,
                ((gx + x0) / 2 - 0.2, 8.1) if g == 1 else ((gx + x0 + w0) / 2 + 0.2, 8.1),
                f"sr{g}: conv {rate}×{rate}, stride {rate};\nLayerNorm, GELU",
                ha="right" if g == 1 else "left",
            )
            _label(
                ax,
                (gx, ky0 - 0.3),
                f"{name}: {grid[0]}×{grid[1]} keys\n" + shape(f"x{g}_reduced_shape"),
                gid=f"x{g}_reduced_shape",
                va="top",
            )
            kv_from = (gx, ky0 - 1.05)
            kv_text = f"kv{g}: Linear C→C (K, V of {half} head{'s' * (half > 1)})"
        else:
            _label(ax, (gx, cy), "no reduction:\nkeys = all tokens", color=colour)
            arrow(ax, (x0, y0 + h0 / 2), (gx, cy + 0.5))
            kv_from = (gx, cy - 0.5)
            kv_text = "kv: Linear C→2C (K, V of every head)"
        # K and V
        ky = 3.55
        arrow(ax, kv_from, (gx, ky + 0.45))
        _label(ax, (gx, (kv_from[1] + ky + 0.45) / 2), kv_text, backgroundcolor="white")
        box(ax, (gx - 1.55, ky - 0.4), (3.1, 0.8), color=colour, alpha=0.2)
        _label(ax, (gx, ky), shape(f"kv{tag}_shape") + "\nK, V", gid=f"kv{tag}_shape")
        # local enhancement of V (the whole layer's V, added to the output, when r = 1)
        ly = 2.25
        box(ax, (gx - 1.55, ly - 0.38), (3.1, 0.76), color=colour, alpha=0.08)
        if two:
            le = f"LE: V + DWConv3×3(V), {grid[0]}×{grid[1]} grid\n" + shape(f"v{g}_grid_shape")
            _label(ax, (gx, ly), le, gid=f"v{g}_grid_shape")
        else:
            _label(ax, (gx, ly), "local_conv: DWConv3×3(V),\nadded to the output")
        arrow(ax, (gx, ky - 0.4), (gx, ly + 0.38))
        # attention
        ay = 0.75
        box(ax, (gx - 1.55, ay - 0.42), (3.1, 0.84), color=colour, alpha=0.3)
        _label(
            ax,
            (gx, ay),
            shape(f"attn{tag}_shape") + f"\nsoftmax(q{tag} K{tag}ᵀ · scale) V{tag}",
            gid=f"attn{tag}_shape",
        )
        arrow(ax, (gx, ly - 0.38), (gx, ay + 0.42))
        attn_boxes.append((gx, ay))
        # this group's queries
        qs = qx + (g - 0.5) * qw / len(names)
        arrow(ax, (qs, qy), (gx + (0.9 if gx < 5 else -0.9), ay + 0.42))

    # Concatenate the groups' C/2 channels, project, output.
    ox, oy = 5, 1.9
    box(ax, (ox - 1.25, oy - 0.55), (2.5, 1.1), color="0.35", alpha=0.15)
    cat = "concat the groups'\nC/2 channels, proj\n" if two else "proj\n"
    _label(ax, (ox, oy), cat + shape("output_shape"), gid="output_shape")
    for gx, ay in attn_boxes:
        arrow(
            ax, (gx + (1.55 if gx < 5 else -1.55), ay), (ox + (-1.25 if gx < 5 else 1.25), oy - 0.3)
        )
    return fig


@torch.no_grad()
def shunted_cost_table(
    size: int = 224,
    sr_ratios=(2, 4, 8),
    dim: int = 64,
    num_heads: int = 2,
    patch: int = 4,
    timed: bool = True,
    min_run_time: float = 0.05,
    num_threads: int | None = None,
) -> list[dict]:
    """Rows of {variant, sr_ratio, tokens, kv_tokens, analytic/counted GMACs, attention MB, ms}
    for one stage-1 layer (``size/patch`` grid, so equal query-token counts) of shunted
    attention and of PVT's SRA at each ``sr_ratio``.

    Untimed, the layers are counted on the ``meta`` device (shapes only, no compute). Timed,
    they run on the CPU with ``num_threads`` threads (default: torch's current setting; changing
    it inside a notebook kernel has hung or killed the kernel here, so leave it unless needed)."""

    torch.manual_seed(0)
    H = W = size // patch
    device = torch.device("cpu" if timed else "meta")
    x = torch.randn(1, H * W, dim, device=device)
    rows = []
    for r in sr_ratios:
        for variant in ("Shunted", "SRA"):
            with device:
                if variant == "Shunted":
                    layer = ShuntedAttention(dim, num_heads, qkv_bias=True, sr_ratio=r)
                    c = shunted_cost(H, W, dim, num_heads, r)
                else:
                    layer = SpatialReductionAttention(dim, num_heads, qkv_bias=True, sr_ratio=r)
                    c = sra_cost(H, W, dim, num_heads, r)
            layer.eval()
            row = dict(
                variant=variant,
                size=size,
                sr_ratio=r,
                tokens=c.tokens,
                kv_tokens=c.kv_tokens,
                analytic_gmacs=c.macs / 1e9,
                counted_gmacs=count_macs(layer, x, H, W) / 1e9,
                attn_mb=c.attn_bytes / 2**20,
            )
            if timed:
                row["ms"] = (
                    time_forward(
                        layer, x, H, W, min_run_time=min_run_time, num_threads=num_threads
                    ).median
                    * 1e3
                )
            rows.append(row)
    return rows


def timing_outliers(rows: list[dict]) -> list[dict]:
    """The timed rows that the counts do not explain: slower than a layer of the same variant
    (on the same grid, with the same width) that counts more multiply-adds. Fewer
    multiply-adds of the same kind of work should never take longer; when one does, it is
    timing noise (other work on a shared machine), not a property of the layer."""
    out = []
    for a in rows:
        if "ms" not in a:
            continue
        same = [
            b
            for b in rows
            if b is not a
            and "ms" in b
            and all(b.get(k) == a.get(k) for k in ("variant", "size", "tokens"))
        ]
        if any(b["counted_gmacs"] > a["counted_gmacs"] and b["ms"] < a["ms"] for b in same):
            out.append(a)
    return out


def _sr_axis(ax, ratios) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(ratios))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("sr_ratio (log scale)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")


@styled
def plot_shunted_cost(rows: list[dict], title: str):
    """Cost of one layer against ``sr_ratio``, one message per panel: the multiply-adds (formula
    lines, counter circles: they agree) and, when the rows are timed, the measured latency.

    Both axes are logarithmic and labelled so. A timed point slower than a layer of the same
    variant with more multiply-adds (:func:`timing_outliers`) is ringed in red and explained
    on the figure: timing noise on a shared machine."""
    timed = "ms" in rows[0]
    fig, axes = new_figure(1, 2 if timed else 1, height=3.6)
    ax = axes[0, 0]
    variants = [v for v in ("Shunted", "SRA") if any(r["variant"] == v for r in rows)]
    for variant in variants:
        sel = [r for r in rows if r["variant"] == variant]
        xs = [r["sr_ratio"] for r in sel]
        kw = dict(color=SHUNTED_COLOURS[variant])
        ax.plot(xs, [r["analytic_gmacs"] for r in sel], "-", label=variant, **kw)
        ax.plot(xs, [r["counted_gmacs"] for r in sel], "o", mfc="none", ms=9, **kw)
    _sr_axis(ax, [r["sr_ratio"] for r in rows])
    ax.set_ylabel("GMACs (log scale)")
    ax.set_title("multiply-adds: formula = counter")
    style = [
        Line2D([], [], color="0.3", label="formula"),
        Line2D([], [], color="0.3", marker="o", mfc="none", ms=9, ls="none", label="counter"),
    ]
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style, loc="upper right")
    if timed:
        ax = axes[0, 1]
        for variant in variants:
            sel = [r for r in rows if r["variant"] == variant]
            ax.plot(
                [r["sr_ratio"] for r in sel],
                [r["ms"] for r in sel],
                "-s",
                color=SHUNTED_COLOURS[variant],
                label=variant,
            )
        _sr_axis(ax, [r["sr_ratio"] for r in rows])
        ax.set_ylabel("CPU latency, ms (log scale)")
        ax.set_title("measured: median of repeated runs")
        odd = timing_outliers(rows)
        if odd:
            ax.plot(
                [r["sr_ratio"] for r in odd],
                [r["ms"] for r in odd],
                "o",
                ms=16,
                mfc="none",
                mec="tab:red",
                mew=1.5,
                label="slower than\nits count:\ntiming noise\n(shared machine)",
            )
        ax.legend(loc="upper right")
    fig.suptitle(title)
    return fig


@styled
def draw_shunted_explorer(
    sr_ratio: int = 8,
    num_heads: int = 2,
    size: int = 224,
    query_row: float = 0.3,
    query_col: float = 0.5,
    img: torch.Tensor | None = None,
):
    """What the Shunted explorer draws: the coarse and the fine group's map of the query (marked
    on each) on one colour scale, and below them the analytic cost of one stage-1 layer (C=64)
    against SRA and plain attention."""

    img = photo.load_photo(size) if img is None or img.shape[-1] != size else img
    query_rc = (query_row, query_col)
    groups = shunted_query_maps(img, (sr_ratio,), query_rc, num_heads=num_heads)[sr_ratio]
    H = W = size // 4
    costs = {
        "plain": sra_cost(H, W, 64, num_heads, 1),
        "SRA": sra_cost(H, W, 64, num_heads, sr_ratio),
        "Shunted": shunted_cost(H, W, 64, num_heads, sr_ratio),
    }
    fig, axes = new_figure(2, 2, height=5.0, gridspec_kw=dict(height_ratios=[2.7, 1.0]))
    vmax = max(float(row.max()) for row, _ in groups.values())
    im = None
    for ax, (name, (row, grid)) in zip(axes[0], groups.items()):
        rate = {"coarse": sr_ratio, "fine": sr_ratio // 2, "plain": 1}[name]
        im = overlay_map(ax, img, row, grid, vmax=vmax, query_rc=query_rc)
        ax.set_title(f"{name} ÷{rate}: {grid[0]}×{grid[1]} keys, peak {float(row.max()):.2f}")
    if len(groups) == 1:
        axes[0, 1].set_axis_off()
        axes[0, 1].text(0.5, 0.5, "sr_ratio=1: one group,\nall keys", ha="center", va="center")
    fig.colorbar(im, ax=axes[0, :], shrink=0.9, pad=0.02, label="attention weight (one scale)")
    gs = axes[1, 0].get_gridspec()
    for ax in axes[1]:
        ax.remove()
    cost_bars(
        fig.add_subplot(gs[1, :]),
        costs,
        SHUNTED_COLOURS,
        f"MMACs of one stage-1 layer (C=64, sr_ratio {sr_ratio}, log scale); label: + attention MB",
    )
    fig.suptitle(f"{size}×{size} photo: {H * W} query tokens, heads={num_heads}; query: cyan box")
    return fig


def shunted_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for shunted
    attention."""
    return attention_explorer(lambda **kw: draw_shunted_explorer(**kw), heads=[2, 4, 8])

"""The book's figure style and the plotting primitives every chapter draws with (the photo, a
query marked on it, one query's map, maps compared on one colour scale, cost bars, the boxes and
arrows of a schematic), and the classroom explorer widget.

The style: figures at most as wide as the site's text column (:data:`TEXT_WIDTH_IN` at
:data:`DPI` CSS px per inch, so a full-width figure shows at its natural size), no text
smaller than :data:`MIN_FONT_PT`, at most :data:`MAX_COLS` panels in a row, saved at twice the
resolution for high-density screens. Every figure helper draws inside :func:`styled`; a
notebook calls :func:`book_style` once so that its own figures and the inline backend follow
it too. :func:`figure_problems` says what breaks the standard (the tests use it).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib import patheffects
from matplotlib.patches import FancyArrowPatch, Rectangle

from . import validate

#: The site's text column: about 750 CSS px at a laptop's width (1280 px).
TEXT_WIDTH_IN = 7.5
#: CSS pixels per inch of a figure: a 7.5-inch figure shows at 750 px, its natural size.
DPI = 100
#: No text in a figure smaller than this, at the figure's natural size.
MIN_FONT_PT = 9
#: At most this many panels side by side; more become rows (or a slider).
MAX_COLS = 3
#: The colour map of every attention map in the book, and its colour for "no weight".
MAP_CMAP = "inferno"

STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": 2 * DPI,  # sharp on high-density screens
    "figure.figsize": (TEXT_WIDTH_IN, 3.2),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
    "image.cmap": MAP_CMAP,
    "axes.grid": False,
    "grid.alpha": 0.3,
}


def figure_png(fig) -> tuple[bytes, dict[str, int]]:
    """``fig`` as the book stores it: a PNG at twice its natural size (sharp on high-density
    screens) with that natural CSS size as metadata, the figure as drawn (constrained layout
    keeps every label inside it; no "tight" crop that would pad it past the column), and its
    colours reduced to an adaptive 256-colour palette, which keeps a photo panel a fraction
    of its full-colour size (a chapter page, images included, must stay under 3 MB)."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=2 * fig.dpi, facecolor=fig.get_facecolor())
    with Image.open(raw) as img:
        width, height = img.size
        small = img.convert("RGB").quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
        )
    out = io.BytesIO()
    small.save(out, format="png", optimize=True)
    return out.getvalue(), {"width": width // 2, "height": height // 2}


def book_style() -> None:
    """Apply the book's style to every figure of this session and, in a notebook, show each
    figure as :func:`figure_png` stores it."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the rcParams are all there is to set
        return
    shell = get_ipython()
    if shell is not None:
        # Loading the inline backend sets its own figure formatters (on its first import, in a
        # kernel): load it now, so that ours, set after, are the ones that stay.
        import matplotlib_inline.backend_inline  # noqa: F401

        formatters = shell.display_formatter.formatters
        formatters["image/png"].for_type(mpl.figure.Figure, figure_png)
        # No second copy of the figure in another format.
        for mime in ("image/jpeg", "image/svg+xml", "application/pdf"):
            formatters[mime].type_printers.pop(mpl.figure.Figure, None)


def styled(draw: Callable) -> Callable:
    """Decorate a figure helper: it draws in the book's style, whatever the caller's rcParams."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(
    nrows: int = 1, ncols: int = 1, height: float = 3.2, width: float = TEXT_WIDTH_IN, **subplots_kw
):
    """``plt.subplots`` within the standard: at most :data:`MAX_COLS` columns and the text
    column's width. Call inside a :func:`styled` helper."""
    validate.positive_int("nrows", nrows)
    if not 1 <= validate.positive_int("ncols", ncols) <= MAX_COLS:
        raise ValueError(f"ncols={ncols}: at most {MAX_COLS} panels in a row; use more rows")
    if not 0 < width <= TEXT_WIDTH_IN:
        raise ValueError(f"width={width!r} in: a figure is at most {TEXT_WIDTH_IN} in wide")
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **subplots_kw)


def figure_problems(fig) -> list[str]:
    """What in ``fig`` breaks the book's figure standard: wider than the text column, text
    smaller than :data:`MIN_FONT_PT` or cut off at the figure's edge, more than
    :data:`MAX_COLS` panels in a row. Empty: fine."""
    problems = []
    width = fig.get_figwidth()
    if width > TEXT_WIDTH_IN + 1e-6:
        problems.append(f"{width:.2f} in wide, more than the column's {TEXT_WIDTH_IN} in")
    for text in fig.findobj(mpl.text.Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT_PT:
            problems.append(f"text {text.get_text()!r} at {text.get_fontsize():.1f} pt")
    # Everything drawn lies inside the figure: nothing is cut off at its edge.
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # inches, drawn artists only
    over = max(-drawn.x0, -drawn.y0, drawn.x1 - fig.get_figwidth(), drawn.y1 - fig.get_figheight())
    if over > 0.02:
        problems.append(f"something is cut off at the figure's edge ({over:.2f} in outside)")
    rows: dict[tuple[float, float], int] = {}
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>" and ax.axison | bool(ax.images):
            y0, y1 = ax.get_position().intervaly
            key = (round(y0, 2), round(y1, 2))
            rows[key] = rows.get(key, 0) + 1
    if rows and max(rows.values()) > MAX_COLS:
        problems.append(f"{max(rows.values())} panels in a row, more than {MAX_COLS}")
    return problems


def _size(img: torch.Tensor) -> tuple[int, int]:
    return img.shape[-2], img.shape[-1]


def show_photo(
    ax,
    img: torch.Tensor,
    query_rc: tuple[float, float] | None = None,
    title: str | None = None,
    patch: int | None = None,
):
    """The photo on ``ax``, without ticks, with the query marked if ``query_rc`` is given."""
    h, w = _size(img)
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), extent=(0, w, h, 0))
    if query_rc is not None:
        mark_query(ax, img, query_rc, patch)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def mark_query(ax, img: torch.Tensor, query_rc: tuple[float, float], patch: int | None = None):
    """Mark the query at fractional position ``query_rc`` (row, col): an outlined box around
    its patch (``patch`` px, default 1/14 of the image) and a crosshair to the edges, drawn in
    cyan with a black outline so that it cannot be taken for part of the photo or the map."""
    h, w = _size(img)
    side = patch or max(h, w) / 14
    y, x = query_rc[0] * h, query_rc[1] * w
    if patch:  # the box of the patch the query token stands for
        y0, x0 = (y // side) * side, (x // side) * side
    else:
        y0, x0 = y - side / 2, x - side / 2
    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    ax.add_patch(
        Rectangle(
            (x0, y0),
            side,
            side,
            fill=False,
            edgecolor="cyan",
            linewidth=2,
            path_effects=outline,
            zorder=5,
        )
    )
    cy, cx = y0 + side / 2, x0 + side / 2
    for xs, ys in (
        ((0, x0), (cy, cy)),
        ((x0 + side, w), (cy, cy)),
        ((cx, cx), (0, y0)),
        ((cx, cx), (y0 + side, h)),
    ):
        ax.plot(xs, ys, color="cyan", linewidth=0.8, linestyle=(0, (3, 3)), zorder=4)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)


def overlay_map(
    ax,
    img: torch.Tensor,
    attn_row: torch.Tensor,
    grid: tuple[int, int],
    title: str | None = None,
    vmax: float | None = None,
    query_rc: tuple[float, float] | None = None,
):
    """Draw one query's attention over the keys (``attn_row`` of length ``h*w``) on the photo,
    on the colour scale ``[0, vmax]`` (default: this map's own peak); returns the image, for a
    colour bar."""
    h, w = _size(img)
    show_photo(ax, img)
    im = ax.imshow(
        attn_row.reshape(grid).numpy(),
        cmap=MAP_CMAP,
        alpha=0.7,
        extent=(0, w, h, 0),
        interpolation="nearest",
        vmin=0.0,
        vmax=float(attn_row.max()) if vmax is None else vmax,
    )
    if query_rc is not None:
        mark_query(ax, img, query_rc)
    if title:
        ax.set_title(title)
    return im


@styled
def compare_maps(
    img: torch.Tensor,
    panels: list[tuple[str, torch.Tensor, tuple[int, int]]],
    query_rc,
    suptitle: str | None = None,
    panel_height: float = 2.45,
):
    """One query's maps side by side, at most :data:`MAX_COLS` to a row, on **one** colour
    scale with a colour bar, the query marked on each. ``panels``: ``[(title, weights, grid)]``.
    Where the peaks differ tenfold or more, the figure says so: a faint map is not empty."""
    n = len(panels)
    ncols = 2 if n == 4 else min(n, MAX_COLS)
    nrows = math.ceil(n / ncols)
    # As wide as the panels need (a single map does not stretch over the column).
    width = min(TEXT_WIDTH_IN, 2.5 * ncols + 1.1)
    fig, axes = new_figure(nrows, ncols, height=panel_height * nrows + 0.5, width=width)
    peaks = [float(row.max()) for _, row, _ in panels]
    vmax = max(peaks)
    im = None
    for ax, (title, row, grid) in zip(axes.flat, panels):
        im = overlay_map(ax, img, row, grid, title, vmax=vmax, query_rc=query_rc)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    cbar = fig.colorbar(im, ax=axes, shrink=0.9, pad=0.02)
    cbar.set_label("attention weight (one scale)")
    note = ""
    if min(peaks) > 0 and vmax / min(peaks) >= 10:
        note = f"peaks range from {min(peaks):.3f} to {vmax:.2f}: faint maps are spread, not empty"
    if suptitle or note:
        fig.suptitle("\n".join(t for t in (suptitle, note) if t))
    return fig


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio", title=None):
    """One panel per entry of ``maps`` (``{key: (weights, grid)}``), on one colour scale.

    ``title(key, row, grid)`` names each panel; by default ``"<label>=<key>: keys h×w"``."""
    title = title or (lambda key, row, grid: f"{label}={key}: keys {grid[0]}×{grid[1]}")
    panels = [(title(key, row, grid), row, grid) for key, (row, grid) in maps.items()]
    return compare_maps(img, panels, query_rc)


def cost_bars(ax, costs: dict, colours: dict, xlabel: str) -> None:
    """Horizontal bars of each layer's multiply-adds (log scale), labelled with MMACs and
    attention-matrix MB: the cost panel of the explorers."""
    names = list(costs)
    ax.barh(names, [costs[n].macs / 1e6 for n in names], color=[colours[n] for n in names])
    for i, n in enumerate(names):
        ax.text(
            costs[n].macs / 1e6,
            i,
            f" {costs[n].macs / 1e6:,.0f} M, {costs[n].attn_bytes / 2**20:,.1f} MB",
            va="center",
            fontsize=MIN_FONT_PT,
        )
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    # A decade of room on the left, so that no bar collapses onto the axis; two and a half
    # decades on the right for the labels.
    ax.set_xlim(
        min(c.macs for c in costs.values()) / 1e7, max(c.macs for c in costs.values()) / 1e6 * 300
    )


def box(
    ax,
    xy: tuple[float, float],
    size: tuple[float, float],
    label: str = "",
    color: str = "tab:blue",
    cells: tuple[int, int] | None = None,
    fontsize: float = 9,
    label_pos: str = "center",
    alpha: float = 0.25,
):
    """A schematic's tensor: a filled box at ``xy`` (lower left) of ``size`` (w, h) in axes
    data units, optionally ruled into ``cells`` (rows, cols) like a token grid, with ``label``
    inside (``label_pos="center"``), above (``"above"``) or below (``"below"``)."""
    (x, y), (w, h) = xy, size
    ax.add_patch(Rectangle((x, y), w, h, facecolor=color, alpha=alpha, edgecolor=color, lw=1.5))
    ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=color, lw=1.5))
    if cells:
        rows, cols = cells
        for r in range(1, rows):
            ax.plot([x, x + w], [y + h * r / rows] * 2, color=color, lw=0.5, alpha=0.7)
        for c in range(1, cols):
            ax.plot([x + w * c / cols] * 2, [y, y + h], color=color, lw=0.5, alpha=0.7)
    if label:
        ty = {"center": y + h / 2, "above": y + h, "below": y}[label_pos]
        va = {"center": "center", "above": "bottom", "below": "top"}[label_pos]
        ax.text(
            x + w / 2,
            ty + {"center": 0, "above": 0.04, "below": -0.04}[label_pos],
            label,
            ha="center",
            va=va,
            fontsize=fontsize,
        )


def arrow(
    ax,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    fontsize: float = 9,
    color: str = "black",
    offset: tuple[float, float] = (0, 0.06),
):
    """A schematic's step: an arrow from ``start`` to ``end`` with ``label`` at its middle."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=12,
            color=color,
            lw=1.2,
            shrinkA=2,
            shrinkB=2,
        )
    )
    if label:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, label, ha="center", va="bottom", fontsize=fontsize)


def schematic_axes(ax) -> None:
    """A blank canvas in unit-free coordinates, for :func:`box` and :func:`arrow`."""
    ax.set_axis_off()
    ax.set_aspect("auto")


def attention_explorer(draw, heads: list[int]):
    """An explorer with the attention sliders (sr_ratio, heads, image size, query position)
    whose values ``draw(sr_ratio=, num_heads=, size=, query_row=, query_col=)`` redraws from."""
    import ipywidgets as w

    controls = dict(
        sr_ratio=w.SelectionSlider(options=[1, 2, 4, 8], value=8, description="sr_ratio"),
        num_heads=w.SelectionSlider(options=heads, value=heads[0], description="heads"),
        size=w.SelectionSlider(
            options=[112, 160, 224, 288, 352, 448], value=224, description="image size"
        ),
        query_row=w.FloatSlider(value=0.3, min=0.0, max=0.99, step=0.01, description="query row"),
        query_col=w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="query col"),
    )
    rows = [
        [controls["sr_ratio"], controls["num_heads"], controls["size"]],
        [controls["query_row"], controls["query_col"]],
    ]
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

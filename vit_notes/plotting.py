"""The book's figure style and the plotting primitives every chapter draws with (the photo, a
query marked on it, one query's map, maps compared on one colour scale, cost bars, the boxes and
arrows of a schematic), and the explorers: one description (:class:`Explorer`) drawn as a live
ipywidgets explorer in a kernel and as a kernel-free HTML/JavaScript twin on the page.

The style: figures at most as wide as the site's text column (:data:`TEXT_WIDTH_IN` at
:data:`DPI` CSS px per inch, so a full-width figure shows at its natural size), no text
smaller than :data:`MIN_FONT_PT`, at most :data:`MAX_COLS` panels in a row, saved at twice the
resolution for high-density screens. Every figure helper draws inside :func:`styled`; a
notebook calls :func:`book_style` once so that its own figures and the inline backend follow
it too. :func:`figure_problems` says what breaks the standard (the tests use it).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import itertools
import json
import math
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib import patheffects
from matplotlib.patches import FancyArrowPatch, Rectangle

from . import validate
from .counting import format_bytes, significant

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


def set_alt(fig, text: str):
    """Give ``fig`` its alt text: one or two sentences saying what the figure shows (not
    how it is drawn), for readers who cannot see it. Returns ``fig``. The book stores it
    with the figure's PNG (:func:`figure_png`) and the site puts it on the image."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"alt text must be a non-empty string, got {text!r}")
    fig._vit_notes_alt = " ".join(text.split())
    return fig


def alt_text(fig) -> str | None:
    """The alt text :func:`set_alt` gave ``fig``, or None."""
    return getattr(fig, "_vit_notes_alt", None)


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
    meta = {"width": width // 2, "height": height // 2}
    if alt_text(fig):
        meta["alt"] = alt_text(fig)
    return out.getvalue(), meta


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


def _query_marks(img: torch.Tensor, query_rc: tuple[float, float], patch: int | None = None):
    """Where :func:`mark_query` draws: the box's corner and side, and the crosshair's four
    segments (from the image's edges to the box)."""
    h, w = _size(img)
    side = patch or max(h, w) / 14
    y, x = query_rc[0] * h, query_rc[1] * w
    if patch:  # the box of the patch the query token stands for, as photo.query_index finds it
        y0, x0 = int(query_rc[0] * (h // patch)) * patch, int(query_rc[1] * (w // patch)) * patch
    else:
        y0, x0 = y - side / 2, x - side / 2
    cy, cx = y0 + side / 2, x0 + side / 2
    segments = (
        ((0, x0), (cy, cy)),
        ((x0 + side, w), (cy, cy)),
        ((cx, cx), (0, y0)),
        ((cx, cx), (y0 + side, h)),
    )
    return (x0, y0), side, segments


def mark_query(ax, img: torch.Tensor, query_rc: tuple[float, float], patch: int | None = None):
    """Mark the query at fractional position ``query_rc`` (row, col): an outlined box around
    its patch (``patch`` px, default 1/14 of the image) and a crosshair to the edges, drawn in
    cyan with a black outline so that it cannot be taken for part of the photo or the map.
    Returns the artists it drew (:func:`move_query_mark` moves them)."""
    h, w = _size(img)
    corner, side, segments = _query_marks(img, query_rc, patch)
    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    marks = [
        ax.add_patch(
            Rectangle(
                corner,
                side,
                side,
                fill=False,
                edgecolor="cyan",
                linewidth=2,
                path_effects=outline,
                zorder=5,
            )
        )
    ]
    for xs, ys in segments:
        marks += ax.plot(xs, ys, color="cyan", linewidth=0.8, linestyle=(0, (3, 3)), zorder=4)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    return marks


def move_query_mark(marks: list, img: torch.Tensor, query_rc, patch: int | None = None) -> None:
    """Move :func:`mark_query`'s ``marks`` (its box, then its four lines) to ``query_rc``."""
    corner, side, segments = _query_marks(img, query_rc, patch)
    box, *lines = marks
    box.set_bounds(*corner, side, side)
    for line, (xs, ys) in zip(lines, segments):
        line.set_data(xs, ys)


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


def _maps_layout(n: int) -> tuple[int, float]:
    """:func:`compare_maps`'s columns and width (in) for ``n`` maps: as wide as the panels
    need (a single map does not stretch over the column)."""
    ncols = 2 if n == 4 else min(n, MAX_COLS)
    return ncols, min(TEXT_WIDTH_IN, 2.5 * ncols + 1.1)


def _peaks_note(peaks: list[float]) -> str:
    """What a figure of maps on one scale says when their peaks differ tenfold or more."""
    vmax = max(peaks)
    if min(peaks) > 0 and vmax / min(peaks) >= 10:
        return f"peaks range from {min(peaks):.3f} to {vmax:.2f}: faint maps are spread, not empty"
    return ""


#: A colour scale's top whose tick labels are as wide as an attention map's get (7 characters).
WIDEST_SCALE = 0.000155


class MapsFigure:
    """:func:`compare_maps`'s figure, kept so that other maps can be drawn into it in place
    (:meth:`show`) and turned into an image fast (:meth:`image`): the live explorer's drawing.

    A move of the query changes the maps, their colour scale, the query's marks and the
    peaks' note, nothing else: :meth:`image` draws the rest once (the *background*: photo,
    panel titles, frames) and then only those artists over a copy of it (blitting). A new
    photo, titles or grids (another state) draw the background again, on the layout computed
    for the first drawing: figures of the same :attr:`shape` share one."""

    @styled
    def __init__(
        self,
        img: torch.Tensor,
        panels: list[tuple[str, torch.Tensor, tuple[int, int]]],
        query_rc,
        suptitle: str | None = None,
        panel_height: float = 2.45,
        note_line: bool = False,
        patches: list[int | None] | None = None,
    ):
        n = len(panels)
        if n == 0:
            raise ValueError("panels is empty: give at least one (title, weights, grid)")
        patches = [None] * n if patches is None else list(patches)
        if len(patches) != n:
            raise ValueError(f"patches: {len(patches)} query patches for {n} panels")
        self.patches = patches
        ncols, width = _maps_layout(n)
        nrows = math.ceil(n / ncols)
        fig, axes = new_figure(nrows, ncols, height=panel_height * nrows + 0.5, width=width)
        vmax = max(float(row.max()) for _, row, _ in panels)
        self.panels = []
        for ax, (title, row, grid), patch in zip(axes.flat, panels, patches):
            im = overlay_map(ax, img, row, grid, title, vmax=vmax)
            self.panels.append((ax, ax.images[0], im, mark_query(ax, img, query_rc, patch)))
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        cbar = fig.colorbar(im, ax=axes, shrink=0.9, pad=0.02)
        cbar.set_label("attention weight (one scale)")
        self.fig, self.cbar, self.img, self.suptitle = fig, cbar, img, suptitle
        self.note_line = note_line
        self._static = self._static_of(img, panels, suptitle)
        self._background = None
        self.title = None  # the suptitle's Text, once there is one
        self._title(_peaks_note([float(row.max()) for _, row, _ in panels]))
        self.shape = (n, (suptitle or "").count("\n"), note_line or self.noted)

    @staticmethod
    def _static_of(img, panels, suptitle) -> tuple:
        return (id(img), tuple((t, tuple(g)) for t, _, g in panels), suptitle)

    def _title(self, note: str) -> None:
        """The figure's title: the suptitle and, where the peaks differ tenfold, their ``note``
        (``noted``: a line more, so another :attr:`shape`, unless ``note_line`` keeps a line
        for it whether it shows or not)."""
        self.noted = bool(note)
        if self.note_line and not note:
            note = " "
        text = "\n".join(t for t in (self.suptitle, note) if t)
        if text or self.title is not None:
            self.title = self.fig.suptitle(text)

    @styled  # titles and texts take their sizes from the style when they are set
    def show(
        self, panels, query_rc, img: torch.Tensor | None = None, suptitle=None, patches=None
    ) -> None:
        """Draw ``panels`` for the query at ``query_rc`` into the figure, on their own shared
        colour scale, over ``img`` (default: the figure's photo) with ``suptitle``: as many
        panels, title lines and peaks' notes as the figure has (:attr:`shape`)."""
        img = self.img if img is None else img
        if len(panels) != len(self.panels):
            raise ValueError(f"{len(panels)} panels for a figure of {len(self.panels)}")
        if patches is not None:
            if len(patches) != len(panels):
                raise ValueError(f"patches: {len(patches)} query patches for {len(panels)} panels")
            self.patches = list(patches)
        if (suptitle or "").count("\n") != self.shape[1]:
            raise ValueError(f"suptitle {suptitle!r}: this figure's has {self.shape[1] + 1} lines")
        peaks = [float(row.max()) for _, row, _ in panels]
        note = _peaks_note(peaks)
        if not self.note_line and bool(note) != self.shape[2]:
            raise ValueError("the peaks' note comes or goes with these maps: another shape")
        static = self._static_of(img, panels, suptitle)
        changed = static != self._static  # another state: photo, titles, grids or caption
        h, w = _size(img)
        vmax = max(peaks)
        for (ax, photo_im, im, marks), (title, row, grid), patch in zip(
            self.panels, panels, self.patches
        ):
            if changed:
                photo_im.set_data(img.permute(1, 2, 0).clamp(0, 1).numpy())
                photo_im.set_extent((0, w, h, 0))
                im.set_extent((0, w, h, 0))
                ax.set_title(title)
            im.set_data(row.reshape(grid).numpy())
            im.set_clim(0.0, vmax)  # the colour bar follows the last one
            move_query_mark(marks, img, query_rc, patch)
            if changed:
                ax.set_xlim(0, w)
                ax.set_ylim(h, 0)
        if changed:
            self.img, self.suptitle, self._static = img, suptitle, static
            self._background = None
        self._title(note)

    def _dynamic(self) -> list:
        """What a move of the query changes: drawn over the background."""
        moving = [a for _, _, im, marks in self.panels for a in (im, *marks)]
        return moving + [self.cbar.ax] + ([self.title] if self.title is not None else [])

    def image(self, fmt: str = "png") -> tuple[bytes, int]:
        """The figure as ``(bytes, width in px)`` in ``fmt`` (png or jpeg) at its natural size
        (:data:`DPI`)."""
        from matplotlib.layout_engine import PlaceHolderLayoutEngine

        fig, canvas = self.fig, self.fig.canvas
        with mpl.rc_context(STYLE):
            if not isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
                # The first drawing lays the figure out, once, with room for the widest
                # colour bar labels a map's scale gets (0.00000 ... 0.00015).
                clim = self.cbar.mappable.get_clim()
                self.cbar.mappable.set_clim(0.0, WIDEST_SCALE)
                canvas.draw()
                fig.set_layout_engine("none")  # a place holder: the positions stay
                self.cbar.mappable.set_clim(*clim)
            if self._background is None:
                dynamic = self._dynamic()
                for a in dynamic:
                    a.set_visible(False)
                canvas.draw()
                self._background = canvas.copy_from_bbox(fig.bbox)
                for a in dynamic:
                    a.set_visible(True)
            canvas.restore_region(self._background)
            for ax, _, im, marks in self.panels:
                for a in (im, *marks, *ax.spines.values()):  # the frames over the map, as drawn
                    ax.draw_artist(a)
            fig.draw_artist(self.cbar.ax)
            if self.title is not None:
                fig.draw_artist(self.title)
            # another query's colour bar can have wider tick labels than the layout left room
            drawn = self.cbar.ax.get_tightbbox(canvas.get_renderer())
            if drawn.x1 > fig.bbox.x1:
                fig.set_layout_engine("constrained")
                canvas.draw()
                fig.set_layout_engine("none")
                self._background = None
                return self.image(fmt)
        return _encode(canvas.buffer_rgba(), fmt)


def compare_maps(
    img: torch.Tensor,
    panels: list[tuple[str, torch.Tensor, tuple[int, int]]],
    query_rc,
    suptitle: str | None = None,
    panel_height: float = 2.45,
    patches: list[int | None] | None = None,
):
    """One query's maps side by side, at most :data:`MAX_COLS` to a row, on **one** colour
    scale with a colour bar, the query marked on each. ``panels``: ``[(title, weights, grid)]``.
    ``patches``: per panel, the side in pixels of the patch its query token stands for, boxed
    where the token lies (``None``: a box of 1/14 of the image centred on the query).
    Where the peaks differ tenfold or more, the figure says so: a faint map is not empty."""
    return MapsFigure(
        img, panels, query_rc, suptitle=suptitle, panel_height=panel_height, patches=patches
    ).fig


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio", title=None):
    """One panel per entry of ``maps`` (``{key: (weights, grid)}``), on one colour scale.

    ``title(key, row, grid)`` names each panel; by default ``"<label>=<key>: keys h×w"``."""
    title = title or (lambda key, row, grid: f"{label}={key}: keys {grid[0]}×{grid[1]}")
    panels = [(title(key, row, grid), row, grid) for key, (row, grid) in maps.items()]
    return compare_maps(img, panels, query_rc)


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


# --- explorers: one description, drawn live (ipywidgets) and on the page (HTML/JS) --------------


@dataclass(frozen=True)
class Control:
    """One discrete control of an explorer: ``name`` (the keyword the explorer's functions
    take), ``label`` (shown, and read by screen readers), its ``values`` in order, and the
    ``default`` among them."""

    name: str
    label: str
    values: tuple
    default: object

    def __post_init__(self):
        if self.default not in self.values:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of {self.values}")


@dataclass(frozen=True)
class MapPanel:
    """One attention map of an explorer state: its ``title``, the key ``grid`` ``(h, w)`` and
    ``rows``, one row of ``h·w`` weights for each query of the explorer's query grid."""

    title: str
    grid: tuple[int, int]
    rows: torch.Tensor
    #: the side in pixels of the patch each query token stands for (the box drawn around the
    #: query), or None: a box of 1/14 of the image centred on the query
    patch: int | None = None


@dataclass(frozen=True)
class Bars:
    """One bar chart of an explorer state: a bar per label, as long as its value (``log``: on
    a log scale), with ``texts``, the numbers printed beside the bars, formatted here once so
    that the page and the package show the same; ``selected``: the outlined bar, if any."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    texts: tuple[str, ...]
    colours: tuple[str, ...]
    log: bool = False
    selected: int | None = None


def layer_cost_bars(title: str, costs: dict, colours: dict, ratio_of: str = "") -> Bars:
    """An explorer's cost panel: each layer's multiply-adds (``costs``: label ->
    :class:`~vit_notes.counting.AttentionCost`, the first the reference, plain attention) as a
    bar on a linear scale, so that a bar a 22nd of another's is drawn a 22nd as long. Each is
    labelled with its MMACs, its attention maps' size in binary units
    (:func:`~vit_notes.counting.format_bytes`: KiB or MiB as fits, never 0.0) and, after the
    first, how many times fewer (or more) multiply-adds it costs than the first ("as many"
    within 5 %), followed by ``ratio_of`` where given ("(22× fewer MACs)", so that the
    bracket says which cost it counts); ``colours``: label -> colour."""
    unit = f" {ratio_of}" if ratio_of else ""

    reference = next(iter(costs.values())).macs

    def text(i: int, c) -> str:
        out = f"{significant(c.macs / 1e6)} M, {format_bytes(c.attn_bytes)}"
        if not i or not c.macs:
            return out
        ratio = reference / c.macs
        if significant(ratio, 2) == "1.0" or significant(1 / ratio, 2) == "1.0":
            return out + f" (as many{unit})"
        if ratio > 1:
            return out + f" ({significant(ratio, 2)}× fewer{unit})"
        return out + f" ({significant(1 / ratio, 2)}× more{unit})"

    return Bars(
        title=title,
        labels=tuple(costs),
        values=tuple(c.macs for c in costs.values()),
        texts=tuple(text(i, c) for i, c in enumerate(costs.values())),
        colours=tuple(colours[label] for label in costs),
    )


def _query_cells(patch: int | None, img: torch.Tensor) -> dict:
    """A map's query box for the page: the query tokens per side (``qcells``, rows and
    columns) when the box marks the query token's patch, so that explorer.js finds the token
    as :func:`~vit_notes.photo.query_index` does; nothing for the default box."""
    if patch is None:
        return {}
    h, w = _size(img)
    return {"qcells": [h // patch, w // patch]}


#: The page-side renderer of every explorer, inlined into each explorer's HTML output.
EXPLORER_JS = Path(__file__).with_name("static") / "explorer.js"
#: A stored map's levels: uint8, each query's row scaled to its own peak.
MAP_LEVELS = 255


@dataclass
class Explorer:
    """The one description of an explorer, from which the live ipywidgets explorer (a kernel)
    and its kernel-free HTML/JavaScript twin (the site, or any page that runs scripts) are both
    built, so that they cannot drift apart.

    ``controls``: the discrete controls; every combination of their values is a *state*.
    ``maps(queries=[(row, col), ...], **state)``: the state's attention maps, a row for every
    query on a ``query_grid × query_grid`` grid of positions (fractions of the image; none if
    ``query_grid`` is 0). ``bars(**state)``: its bar charts (the cost, from the package's
    counts). ``caption(**state)``: one line saying what is shown. ``alt(**state)``, if given:
    the alt text of the starting state's PNG (what the picture shows, for a screen reader).

    Shown by a notebook (``_repr_mimebundle_``), it carries the live widget (where a kernel
    with ipywidgets runs), the HTML/JS twin with every state precomputed (text/html: inline
    script, nothing fetched), and a PNG of the starting state for frontends that run no
    scripts (the PDF, GitHub's preview), each frontend showing the richest it can.
    """

    key: str
    title: str
    controls: tuple[Control, ...]
    bars: Callable[..., list[Bars]]
    caption: Callable[..., str]
    maps: Callable[..., list[MapPanel]] | None = None
    query_grid: int = 0
    default_query: tuple[int, int] = (0, 0)
    photo: Callable[..., torch.Tensor] | None = None
    #: the starting state's PNG's alt text: a string, or a function of the state's controls
    alt: str | Callable[..., str] | None = None
    _maps_cache: dict = field(default_factory=dict, repr=False)

    # -- states and queries

    def states(self) -> list[dict]:
        names = [c.name for c in self.controls]
        return [dict(zip(names, v)) for v in itertools.product(*(c.values for c in self.controls))]

    def default_state(self) -> dict:
        return {c.name: c.default for c in self.controls}

    def state_key(self, state: dict) -> str:
        """The state's name on the page: its values, in the controls' order, joined by ``|``."""
        for c in self.controls:
            if state.get(c.name) not in c.values:
                raise ValueError(f"{c.name}={state.get(c.name)!r}: choose one of {c.values}")
        return "|".join(str(state[c.name]) for c in self.controls)

    def query_positions(self) -> list[tuple[float, float]]:
        """The grid of queries, row by row, as (row, col) fractions of the image: cell centres."""
        g = self.query_grid
        return [((i + 0.5) / g, (j + 0.5) / g) for i in range(g) for j in range(g)]

    def state_maps(self, state: dict) -> list[MapPanel]:
        """The state's maps, computed once per state (a move of the query alone reuses them)."""
        key = self.state_key(state)
        if self.maps is None:
            return []
        if key not in self._maps_cache:
            self._maps_cache[key] = self.maps(queries=self.query_positions(), **state)
        return self._maps_cache[key]

    # -- drawn with matplotlib: the PNG fallback, and what the live widget draws (LiveDrawing)

    def query_cell(self, query) -> int:
        """The flat index of grid cell ``query`` (row, col); a cell outside the grid, a negative
        one included, is refused (it would wrap around to another query)."""
        if not isinstance(query, (tuple, list)) or len(query) != 2:
            raise ValueError(f"query={query!r} must be a grid cell (row, col)")
        for name, v in zip(("query row", "query col"), query):
            validate.positive_int(name, v, minimum=0)
            if v >= self.query_grid:
                raise ValueError(
                    f"{name}={v} is outside the {self.query_grid}×{self.query_grid} query grid; "
                    f"use 0 <= {name} < {self.query_grid} (a negative index does not count "
                    "from the end)"
                )
        return query[0] * self.query_grid + query[1]

    def figures(self, state: dict, query: tuple[int, int] | None = None, parts=("maps", "bars")):
        """The state drawn with matplotlib in the book's style: the maps of the query at grid
        cell ``query`` (row, col) on one colour scale (``"maps"``), and the bar charts
        (``"bars"``); one figure per part (a state without maps draws its caption over the
        bars)."""
        query = self.default_query if query is None else query
        figs = []
        panels = self.state_maps(state)
        if "maps" in parts and panels:
            i = self.query_cell(query)
            img = self.photo(**state)
            rows = [(p.title, p.rows[i], p.grid) for p in panels]
            caption = self.maps_caption(state, len(rows))
            where = self.query_positions()[i]
            patches = [p.patch for p in panels]
            figs.append(compare_maps(img, rows, where, caption, patches=patches))
        if "bars" in parts and self.bars(**state):
            figs.append(bar_charts(self.bars(**state), None if panels else self.caption(**state)))
        return figs

    def maps_caption(self, state: dict, n: int) -> str:
        """The state's caption over ``n`` maps, wrapped to :func:`compare_maps`'s width (as
        wide as its panels; 11 pt titles)."""
        return textwrap.fill(self.caption(**state), int(9 * _maps_layout(n)[1]))

    def fallback_png(self) -> tuple[bytes, dict[str, int]]:
        """The starting state as one PNG (parts stacked), for frontends that run no scripts."""
        from PIL import Image

        images, width = [], 0
        for fig in self.figures(self.default_state()):
            data, size = figure_png(fig)
            plt.close(fig)
            images.append(Image.open(io.BytesIO(data)).convert("RGB"))
            width = max(width, size["width"])
        canvas = Image.new("RGB", (2 * width, sum(im.height for im in images)), "white")
        y = 0
        for im in images:
            canvas.paste(im, (0, y))
            y += im.height
        out = io.BytesIO()
        canvas.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
            out, format="png", optimize=True
        )
        return out.getvalue(), {"width": width, "height": canvas.height // 2}

    # -- the page's twin: every state precomputed, drawn by explorer.js

    def payload(self) -> dict:
        """Everything the page draws from, as JSON: the controls, the photo, and per state
        its caption, bar charts and maps. A map is stored as uint8 levels of each query's row
        relative to that row's peak (kept beside it), deflated and base64-encoded; identical
        maps (a control that changes the cost only) are stored once."""
        blobs: list[str] = []
        seen: dict[bytes, int] = {}
        states = {}
        for state in self.states():
            maps = []
            for p in self.state_maps(state):
                rows = p.rows.float().reshape(len(p.rows), -1)
                peaks = rows.amax(dim=1).clamp_min(1e-12)
                levels = (rows / peaks[:, None] * MAP_LEVELS).round().to(torch.uint8)
                data = zlib.compress(levels.numpy().tobytes(), 6)
                if data not in seen:
                    seen[data] = len(blobs)
                    blobs.append(base64.b64encode(data).decode("ascii"))
                maps.append(
                    dict(
                        title=p.title,
                        grid=list(p.grid),
                        blob=seen[data],
                        peaks=[float(f"{v:.4g}") for v in peaks.tolist()],
                        **_query_cells(p.patch, self.photo(**state)),
                    )
                )
            states[self.state_key(state)] = dict(
                caption=self.caption(**state),
                maps=maps,
                bars=[_bars_json(b) for b in self.bars(**state)],
            )
        return dict(
            id=self.key,
            title=self.title,
            controls=[
                dict(
                    name=c.name,
                    label=c.label,
                    values=[str(v) for v in c.values],
                    default=c.values.index(c.default),
                )
                for c in self.controls
            ],
            query=dict(grid=self.query_grid, default=list(self.default_query))
            if self.maps
            else None,
            photo=_photo_uri(self.photo(**self.default_state())) if self.maps else None,
            cmap=_cmap_bytes(),
            blobs=blobs,
            states=states,
        )

    def html(self, fallback: bytes | None = None) -> str:
        """The kernel-free explorer: a ``<div>`` holding the payload and the inline script that
        draws it (no file or network fetched; it works opened from disk), with ``fallback``
        (a PNG) shown until the script runs, or instead of it where scripts do not run."""
        data = json.dumps(self.payload(), separators=(",", ":")).replace("</", "<\\/")
        img = ""
        if fallback:
            src = base64.b64encode(fallback).decode("ascii")
            img = (
                f'<img class="vn-fallback" alt="{html.escape(self.title)}: the starting state" '
                f'src="data:image/png;base64,{src}">'
            )
        return (
            f'<div class="vn-explorer" id="{self.key}" data-explorer="{self.key}">{img}'
            f'<script type="application/json" class="vn-data">{data}</script>'
            f"<script>{EXPLORER_JS.read_text(encoding='utf-8')}</script></div>"
        )

    # -- the live widget

    def widget(self):
        """The ipywidgets explorer: a slider per control and, with maps, two for the query;
        a move of the query redraws the maps alone, a move of a control the maps and bars
        (drawn by :class:`LiveDrawing`: figures kept and redrawn in place)."""
        import ipywidgets as w

        sliders = {
            c.name: w.SelectionSlider(
                options=[(str(v), v) for v in c.values], value=c.default, description=c.label
            )
            for c in self.controls
        }
        query = {}
        if self.maps:
            for axis, label, start in zip(
                ("row", "col"), ("query row", "query col"), self.default_query
            ):
                query[axis] = w.IntSlider(
                    value=start, min=0, max=self.query_grid - 1, description=label
                )
        drawing = LiveDrawing(self)
        map_out = w.Image(format=LiveDrawing.MAPS_FORMAT)
        bar_out = w.Image(format=LiveDrawing.BARS_FORMAT)

        def show(out, drawn):
            if drawn is None:
                out.layout.display = "none"
                return
            data, width = drawn
            if out.value != data:
                out.value = data
            if out.layout.width != f"{width}px":  # each layout change is a message
                out.layout.width, out.layout.max_width = f"{width}px", "100%"
            out.layout.display = None

        def state():
            return {name: s.value for name, s in sliders.items()}

        def q():
            return (query["row"].value, query["col"].value) if query else None

        def on_query(_=None):
            show(map_out, drawing.maps_image(state(), q()))

        def on_state(_=None):
            on_query()
            show(bar_out, drawing.bars_image(state()))

        for s in sliders.values():
            s.observe(on_state, names="value")
        for s in query.values():
            s.observe(on_query, names="value")
        on_state()
        rows = [w.HBox(list(sliders.values()))]
        if query:
            rows.append(w.HBox(list(query.values())))
        return w.VBox(rows + [map_out, bar_out])

    def _repr_mimebundle_(self, include=None, exclude=None):
        png, size = self.fallback_png()
        data = {
            "text/html": self.html(fallback=png),
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"{self.title} (explorer: run in a kernel with ipywidgets, or open "
            "the book's page)",
        }
        try:
            ui = self.widget()
        except ImportError:  # no ipywidgets: the page's twin and the picture
            ui = None
        if ui is not None:
            # The live widget first: JupyterLab, Voila and the classic notebook rank it
            # above HTML; the book's site ranks it out (nb_mime_priority_overrides).
            view = {"version_major": 2, "version_minor": 0, "model_id": ui.model_id}
            data = {"application/vnd.jupyter.widget-view+json": view, **data}
        # the picture's alt text, as the page's fallback image gives it
        alt = f"{self.title}: the starting state"
        if callable(self.alt):
            alt = self.alt(**self.default_state())
        elif self.alt:
            alt = self.alt
        return data, {"image/png": {**size, "alt": " ".join(alt.split())}}


class LiveDrawing:
    """What an explorer's live widget shows, drawn fast enough to follow a slider: the image of
    a state's maps for a query, and of a state's bar charts, each at the figure's natural
    size (:data:`DPI`). The same figures as :meth:`Explorer.figures` draws, but kept:

    * a maps figure per shape (:class:`MapsFigure`; as many panels and caption lines, the
      last :data:`KEEP`): a move of the query blits the new maps, marks, colour scale and
      peaks' note over the figure's background; a move of a control draws the state's photo,
      titles and caption into it, on the layout computed once;
    * one bar figure (:class:`BarsFigure`), into which each state's charts are drawn while
      they keep its shape, and each state's bar image, which no query changes;
    * the image from the canvas's pixels (:func:`_encode`): no second drawing by ``savefig``.

    Figures are drawn on an Agg canvas of their own, outside pyplot, so that no notebook
    backend shows or keeps them."""

    #: Maps figures kept (a few shapes; each holds its canvas and background, about 3 MB).
    KEEP = 4
    #: Maps are mostly photo: JPEG (4:4:4, quality 90) encodes faster and in fewer bytes than
    #: PNG (a connection to Colab or Binder carries each move), its text still crisp. Bars are
    #: flat colour: PNG.
    MAPS_FORMAT, BARS_FORMAT = "jpeg", "png"

    def __init__(self, explorer: Explorer):
        self.explorer = explorer
        self._maps: dict[tuple, MapsFigure] = {}
        self._bars: BarsFigure | None = None
        self._bar_images: dict[str, tuple[bytes, int]] = {}
        self._photos: list[torch.Tensor] = []

    def maps_image(self, state: dict, query: tuple[int, int] | None = None):
        """The state's maps for the query at grid cell ``query`` (row, col) as ``(bytes,
        width in px)`` in :data:`MAPS_FORMAT`, or None if the explorer has no maps."""
        e = self.explorer
        panels = e.state_maps(state)
        if not panels:
            return None
        query = e.default_query if query is None else query
        for axis, v in zip(("row", "col"), query):
            if not (isinstance(v, int) and 0 <= v < e.query_grid):
                raise ValueError(f"query {axis}={v!r}: choose a whole number 0..{e.query_grid - 1}")
        i = query[0] * e.query_grid + query[1]
        rows = [(p.title, p.rows[i], p.grid) for p in panels]
        where = e.query_positions()[i]
        caption = e.maps_caption(state, len(rows))
        # a line is kept for the peaks' note (note_line): only these fix the layout
        shape = (len(rows), caption.count("\n"))
        img = self._photo(state)
        fig = self._maps.pop(shape, None)
        if fig is None:
            # one map has one peak: no note, no line kept for it
            fig = _detached(
                MapsFigure(
                    img,
                    rows,
                    where,
                    suptitle=caption,
                    note_line=len(rows) > 1,
                    patches=[p.patch for p in panels],
                )
            )
        else:
            fig.show(rows, where, img=img, suptitle=caption, patches=[p.patch for p in panels])
        self._maps[shape] = fig  # the newest last
        while len(self._maps) > self.KEEP:
            self._maps.pop(next(iter(self._maps)))
        return fig.image(self.MAPS_FORMAT)

    def _photo(self, state: dict) -> torch.Tensor:
        """The state's photo, one tensor per distinct photo (its identity says "unchanged")."""
        img = self.explorer.photo(**state)
        for kept in self._photos:
            if kept.shape == img.shape and torch.equal(kept, img):
                return kept
        self._photos.append(img)
        return img

    def bars_image(self, state: dict):
        """The state's bar charts as ``(bytes, width in px)`` in :data:`BARS_FORMAT`, or None
        if it has none."""
        e = self.explorer
        key = e.state_key(state)
        if key not in self._bar_images:
            charts = e.bars(**state)
            if not charts:
                return None
            title = None if e.maps else e.caption(**state)
            if self._bars is not None and self._bars.shape == _bars_shape(charts):
                self._bars.show(charts, title)
            else:
                self._bars = _detached(BarsFigure(charts, title))
            self._bar_images[key] = self._bars.image(self.BARS_FORMAT)
        return self._bar_images[key]


def _detached(drawing):
    """``drawing``'s figure taken out of pyplot (no backend shows or keeps it) onto an Agg
    canvas of its own."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plt.close(drawing.fig)
    FigureCanvasAgg(drawing.fig)
    return drawing


def _encode(rgba, fmt: str) -> tuple[bytes, int]:
    """A canvas's pixels as ``(bytes, width in px)``: a PNG lightly compressed (level 1: the
    bytes cross one connection, speed matters more), or a JPEG at quality 90 without chroma
    subsampling."""
    from PIL import Image

    out = io.BytesIO()
    h, w = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (w, h), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    if fmt == "png":
        image.save(out, format="png", compress_level=1)
    elif fmt == "jpeg":
        image.save(out, format="jpeg", quality=90, subsampling=0)
    else:
        raise ValueError(f"fmt={fmt!r}: choose 'png' or 'jpeg'")
    return out.getvalue(), w


def _bars_json(b: Bars) -> dict:
    return dict(
        title=b.title,
        labels=list(b.labels),
        values=[float(v) for v in b.values],
        texts=list(b.texts),
        colours=[mpl.colors.to_hex(c) for c in b.colours],
        log=b.log,
        selected=b.selected,
    )


def _photo_uri(img: torch.Tensor) -> str:
    from PIL import Image

    arr = (img.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="jpeg", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _cmap_bytes() -> str:
    """:data:`MAP_CMAP` as 256 RGB triples (base64): the page colours maps as matplotlib does."""
    lut = mpl.colormaps[MAP_CMAP](range(256), bytes=True)[:, :3]
    return base64.b64encode(lut.tobytes()).decode("ascii")


def _bar_limits(b: Bars) -> tuple[float, float]:
    """A chart's x range, whose left end is also where a missing bar's text starts: room right
    of the longest bar for its text (decades more on a log scale)."""
    shown = [v for v in b.values if v > 0]
    lo, hi = (min(shown), max(shown)) if shown else (1.0, 1.0)
    return (lo / 10, hi * 300) if b.log else (0.0, hi * 1.7)


def _bars_shape(charts: list[Bars]) -> tuple:
    """What fixes a bar figure's layout: the charts' count, scales and label lengths."""
    return tuple((b.log, tuple(len(t) for t in b.labels)) for b in charts)


class BarsFigure:
    """:func:`bar_charts`'s figure, kept so that another state's charts of the same shape (as
    many bars, labels as long) can be drawn into it in place (:meth:`show`), on the layout
    computed for the first: the live explorer's redraw of its cost bars."""

    @styled
    def __init__(self, charts: list[Bars], suptitle: str | None = None):
        if not charts:
            raise ValueError("charts is empty: give at least one Bars")
        self.shape = _bars_shape(charts)
        ncols = min(2, len(charts))
        nrows = math.ceil(len(charts) / ncols)
        tallest = max(len(b.labels) for b in charts)
        fig, axes = new_figure(nrows, ncols, height=nrows * (0.3 * tallest + 0.9) + 0.3)
        self.charts = []
        for ax, b in zip(axes.flat, charts):
            ys = list(range(len(b.labels)))
            bars = ax.barh(ys, [1.0] * len(ys), linewidth=2)
            texts = [ax.text(0, y, "", va="center", fontsize=MIN_FONT_PT) for y in ys]
            if b.log:
                ax.set_xscale("log")
            ax.set_yticks(ys, b.labels)
            ax.set_ylim(len(b.labels) - 0.5, -0.5)  # every label, a bar or not, first on top
            ax.tick_params(axis="x", labelbottom=False, bottom=False, which="both")
            self.charts.append((ax, bars, texts))
        for ax in list(axes.flat)[len(charts) :]:
            ax.set_visible(False)
        self.fig = fig
        self.show(charts, suptitle)

    @styled  # titles and texts take their sizes from the style when they are set
    def show(self, charts: list[Bars], suptitle: str | None = None) -> None:
        """Draw ``charts`` (of this figure's shape) into it."""
        if _bars_shape(charts) != self.shape:
            raise ValueError("these charts have another shape: draw them in a new BarsFigure")
        for (ax, bars, texts), b in zip(self.charts, charts):
            left, right = _bar_limits(b)
            for i, (rect, text, v) in enumerate(zip(bars, texts, b.values)):
                rect.set_width(v if v > 0 else float("nan"))
                rect.set_facecolor(b.colours[i])
                rect.set_edgecolor("black" if i == b.selected else "none")
                text.set_x(v if v > 0 else left)
                text.set_text(f" {b.texts[i]}")
            ax.set_xlim(left, right)
            ax.set_yticks(range(len(b.labels)), b.labels)
            ax.set_title(b.title)
        if suptitle or self.fig.get_suptitle():
            self.fig.suptitle(suptitle or "")

    def image(self, fmt: str = "png") -> tuple[bytes, int]:
        """The figure as ``(bytes, width in px)`` in ``fmt`` (png or jpeg) at its natural
        size; laid out at its first drawing only (other charts of its shape keep it)."""
        from matplotlib.layout_engine import PlaceHolderLayoutEngine

        with mpl.rc_context(STYLE):
            self.fig.canvas.draw()
        if not isinstance(self.fig.get_layout_engine(), PlaceHolderLayoutEngine):
            self.fig.set_layout_engine("none")
        return _encode(self.fig.canvas.buffer_rgba(), fmt)


def bar_charts(charts: list[Bars], suptitle: str | None = None):
    """An explorer's bar charts, two to a row: horizontal bars labelled with their numbers
    (the same texts the page shows), the selected bar outlined."""
    return BarsFigure(charts, suptitle).fig

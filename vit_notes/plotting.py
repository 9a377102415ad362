"""The book's figure style and the plotting primitives every chapter draws with (the photo, a
query marked on it, one query's map, maps compared on one colour scale, the boxes and arrows of
a schematic). The explorers, drawn with them, are :mod:`vit_notes.explorer`'s.

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
from matplotlib.transforms import Bbox, BboxTransformTo

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
#: A query patch narrower than this (pixels of a 224² photo, in a panel of a maps figure) is
#: covered by the query box's stroke; a figure may draw its box one patch outside it instead
#: (``outside`` of :func:`mark_query`), so that the weight on the query's own token shows.
MARK_OUTSIDE_BELOW = 8

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


def _figure(fig, *, whole: bool = True):
    """Return ``fig`` if it is a matplotlib Figure (or, unless ``whole``, a SubFigure)."""
    kind = mpl.figure.Figure if whole else mpl.figure.FigureBase
    if not isinstance(fig, kind):
        raise validate.InputTypeError(
            f"fig must be a matplotlib Figure, got {validate.shown(fig)} ({type(fig).__name__}); "
            "pass the figure itself, e.g. fig from fig, ax = plt.subplots()"
        )
    return fig


def _axes(ax):
    """Return ``ax`` if it is a matplotlib Axes, else a TypeError saying what to pass."""
    return validate.axes("ax", ax)


def set_alt(fig, text: str):
    """Give ``fig`` its alt text: one or two sentences saying what the figure shows (not
    how it is drawn), for readers who cannot see it. Returns ``fig``. The book stores it
    with the figure's PNG (:func:`figure_png`) and the site puts it on the image."""
    validate.text("text (the alt text)", text)
    _figure(fig, whole=False)
    fig._vit_notes_alt = " ".join(text.split())
    return fig


def alt_text(fig) -> str | None:
    """The alt text :func:`set_alt` gave ``fig``, or None."""
    _figure(fig, whole=False)
    return getattr(fig, "_vit_notes_alt", None)


def figure_png(fig) -> tuple[bytes, dict[str, int]]:
    """``fig`` as the book stores it: a PNG at twice its natural size (sharp on high-density
    screens) with that natural CSS size as metadata, the figure as drawn (constrained layout
    keeps every label inside it; no "tight" crop that would pad it past the column), and its
    colours reduced to an adaptive 256-colour palette, which keeps a photo panel a fraction
    of its full-colour size (a chapter page, images included, must stay under 3 MB)."""
    from PIL import Image

    _figure(fig)
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


#: The most rows of panels, and the tallest figure (in), :func:`new_figure` draws.
MAX_ROWS = 50
MAX_HEIGHT_IN = 100.0


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    height: float = 3.2,
    width: float = TEXT_WIDTH_IN,
    *,
    given: str | None = None,
    **subplots_kw,
):
    """``plt.subplots`` within the standard: at most :data:`MAX_COLS` columns and the text
    column's width, at most :data:`MAX_ROWS` rows and :data:`MAX_HEIGHT_IN` in tall. Call
    inside a :func:`styled` helper. ``given``: what the caller's own student passed that sets
    the rows (``"maps has 60 entries"``), named instead of ``nrows``/``height`` when the figure
    would be too tall."""
    if given is not None:
        given = validate.text("given", given)
        rows = validate.positive_int("nrows", nrows)
        tall = validate.number("height", height, low=0.0, low_open=True)
        if rows > MAX_ROWS or tall > MAX_HEIGHT_IN:
            raise ValueError(
                f"{given}: that needs {rows:,} rows of panels, {tall:.3g} in tall, more than the "
                f"{MAX_ROWS} rows and {MAX_HEIGHT_IN:g} in a figure holds; give fewer"
            )
    nrows = validate.positive_int("nrows", nrows, maximum=MAX_ROWS, why="a page holds fewer")
    if not 1 <= validate.positive_int("ncols", ncols) <= MAX_COLS:
        raise ValueError(f"ncols={ncols}: at most {MAX_COLS} panels in a row; use more rows")
    width = validate.number("width", width, low=0.0, low_open=True)
    if not 0 < width <= TEXT_WIDTH_IN:
        raise ValueError(f"width={width!r} in: a figure is at most {TEXT_WIDTH_IN} in wide")
    height = validate.number("height", height, low=0.0, low_open=True, high=MAX_HEIGHT_IN)
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **subplots_kw)


def figure_problems(fig) -> list[str]:
    """What in ``fig`` breaks the book's figure standard: wider than the text column, text
    smaller than :data:`MIN_FONT_PT` or cut off at the figure's edge, more than
    :data:`MAX_COLS` panels in a row. Empty: fine."""
    _figure(fig)
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
    # A colour bar's label no longer than its bar: a longer one runs past it into what lies
    # above or below (another panel's title, or the figure's edge).
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() == "<colorbar>":
            bar = ax.get_window_extent(renderer)
            vertical = bar.height >= bar.width
            label = (ax.yaxis if vertical else ax.xaxis).label
            if not label.get_visible() or not label.get_text().strip():
                continue
            drawn = label.get_window_extent(renderer)
            lo, hi = (drawn.y0, drawn.y1) if vertical else (drawn.x0, drawn.x1)
            b_lo, b_hi = (bar.y0, bar.y1) if vertical else (bar.x0, bar.x1)
            if max(b_lo - lo, hi - b_hi) > 0.02 * fig.dpi:
                problems.append(
                    f"colour bar label {label.get_text()!r} is longer than its bar "
                    f"({(hi - lo) / fig.dpi:.2f} in against {(b_hi - b_lo) / fig.dpi:.2f} in)"
                )
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
    """The ``(H, W)`` of ``img``, the image marks are drawn over: a float tensor of at least
    two dimensions (only its size is read)."""
    validate.tensor("img", img, what="the image the marks are drawn over, a float tensor (3, H, W)")
    if img.dim() < 2 or img.shape[-2] < 1 or img.shape[-1] < 1:
        raise ValueError(
            f"img must be an image (3, H, W) to draw over, got a tensor of shape {tuple(img.shape)}"
        )
    return img.shape[-2], img.shape[-1]


def show_photo(
    ax,
    img: torch.Tensor,
    query_rc: tuple[float, float] | None = None,
    title: str | None = None,
    patch: int | None = None,
):
    """The photo on ``ax``, without ticks, with the query marked if ``query_rc`` is given."""
    _axes(ax)
    img = validate.photo("img", img)
    if title is not None:
        title = validate.figure_text("title", title, allow_empty=True)
    if query_rc is not None:  # checked before anything is drawn
        _query_marks(img, query_rc, patch)
    h, w = _size(img)
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), extent=(0, w, h, 0))
    if query_rc is not None:
        mark_query(ax, img, query_rc, patch)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _query_marks(
    img: torch.Tensor,
    query_rc: tuple[float, float],
    patch: int | None = None,
    outside: bool = False,
):
    """Where :func:`mark_query` draws: the box's corner and side, and the crosshair's four
    segments (from the image's edges to the box); with ``outside``, the box one patch outside
    the query's patch on every side."""
    query_rc = validate.fraction_pair("query_rc", query_rc)
    if patch is not None:
        patch = validate.kernel("patch", patch)
    h, w = _size(img)
    side = patch or max(h, w) / 14
    y, x = query_rc[0] * h, query_rc[1] * w
    if patch:  # the box of the patch the query token stands for, as photo.query_index finds it
        y0, x0 = int(query_rc[0] * (h // patch)) * patch, int(query_rc[1] * (w // patch)) * patch
    else:
        y0, x0 = y - side / 2, x - side / 2
    cy, cx = y0 + side / 2, x0 + side / 2
    if outside:  # a ring one patch wide around the patch: its inside stays visible
        x0, y0, side = x0 - side, y0 - side, 3 * side
    segments = (
        ((0, x0), (cy, cy)),
        ((x0 + side, w), (cy, cy)),
        ((cx, cx), (0, y0)),
        ((cx, cx), (y0 + side, h)),
    )
    return (x0, y0), side, segments


def mark_query(
    ax,
    img: torch.Tensor,
    query_rc: tuple[float, float],
    patch: int | None = None,
    outside: bool = False,
):
    """Mark the query at fractional position ``query_rc`` (row, col): an outlined box around
    its patch (``patch`` px, default 1/14 of the image) and a crosshair to the edges, drawn in
    cyan with a black outline so that it cannot be taken for part of the photo or the map.
    With ``outside`` the box is drawn one patch outside the patch, so that a patch smaller
    than the box's stroke (:data:`MARK_OUTSIDE_BELOW`) stays visible inside it.
    Returns the artists it drew (:func:`move_query_mark` moves them)."""
    _axes(ax)
    outside = validate.flag("outside", outside)
    h, w = _size(img)
    corner, side, segments = _query_marks(img, query_rc, patch, outside)
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


def move_query_mark(
    marks: list, img: torch.Tensor, query_rc, patch: int | None = None, outside: bool = False
) -> None:
    """Move :func:`mark_query`'s ``marks`` (its box, then its four lines) to ``query_rc``."""
    if (
        not isinstance(marks, (list, tuple))
        or len(marks) != 5
        or not isinstance(marks[0], Rectangle)
        or not all(isinstance(m, mpl.lines.Line2D) for m in marks[1:])
    ):
        raise validate.InputTypeError(
            f"marks must be what mark_query returns (a box, then four lines), got "
            f"{validate.shown(marks)} ({type(marks).__name__})"
        )
    corner, side, segments = _query_marks(img, query_rc, patch, outside)
    box, *lines = marks
    box.set_bounds(*corner, side, side)
    for line, (xs, ys) in zip(lines, segments):
        line.set_data(xs, ys)


def seen_box(row: torch.Tensor, grid: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The key-grid cells ``(top, left, bottom, right)``, ends excluded, that one query's
    weights ``row`` reach where they reach only part of the ``grid``, the others exactly zero
    (as outside a Swin window); ``None`` where the query sees every key."""
    grid = validate.grid("grid", grid)
    validate.instance("row", row, torch.Tensor, "give one query's row of attention weights")
    if row.numel() != grid[0] * grid[1]:
        raise ValueError(
            f"row has {row.numel():,} weights, but grid {grid[0]}x{grid[1]} has "
            f"{grid[0] * grid[1]:,} keys; give one weight per key"
        )
    if row.dim() != 1:
        raise ValueError(
            f"row must be 1-D (one query's weights), got shape {tuple(row.shape)}; give "
            "row.flatten() if it is one query's map"
        )
    if row.is_floating_point() and bool(row.isnan().any()):
        raise ValueError("row holds NaN weights: give a row of attention weights with none")
    if bool((row < 0).any()):
        raise ValueError("row holds negative weights: give a row of attention weights (>= 0)")
    seen = row.reshape(grid) != 0
    if not bool(seen.any()):
        raise ValueError("row is all zeros, so the query sees no key: give its attention weights")
    if bool(seen.all()):
        return None
    rows, cols = seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _seen_rect(img: torch.Tensor, row: torch.Tensor, grid: tuple[int, int]):
    """Where :func:`mark_seen` draws: the corner and sides, in pixels, of the keys the query
    sees, or ``None``."""
    h, w = _size(img)
    found = seen_box(row, grid)
    if found is None:
        return None
    (t, left, b, r), (gh, gw) = found, grid
    return (left * w / gw, t * h / gh), (r - left) * w / gw, (b - t) * h / gh


#: The window outline's width in points: white, inside a black stroke of twice its width.
SEEN_LINE_PT = 1.5


class _OutsideRectangle(Rectangle):
    """A rectangle drawn ``pad`` points outside its bounds on every side, so that a stroke of
    twice ``pad`` centred on its drawn edge covers nothing inside the bounds. Its bounds
    (``get_x``, ``get_width``, ...) stay the data it outlines; only the drawing moves out."""

    def __init__(self, *args, pad: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = pad

    def get_patch_transform(self):
        if self.axes is None or self.figure is None:
            return super().get_patch_transform()
        bbox = self.get_bbox()
        to_display = self.get_data_transform()
        (x0, y0), (x1, y1) = to_display.transform([(bbox.x0, bbox.y0), (bbox.x1, bbox.y1)])
        p = self.pad * self.figure.dpi / 72  # points to display pixels, at the drawing's dpi
        lo = (min(x0, x1) - p, min(y0, y1) - p)
        hi = (max(x0, x1) + p, max(y0, y1) + p)
        return BboxTransformTo(Bbox(to_display.inverted().transform([lo, hi])))


def mark_seen(ax, img: torch.Tensor, row: torch.Tensor, grid: tuple[int, int]):
    """Outline, in white, the keys a query sees where it sees only part of the key grid (its
    window, :func:`seen_box`); elsewhere the outline is drawn but hidden. The outline and its
    black stroke lie just outside the window, so that they cover none of its keys (the query's
    own token can sit on its edge). Returns it (:func:`move_seen_mark` moves it)."""
    _axes(ax)
    found = _seen_rect(img, row, grid)  # img, row and grid checked before anything is drawn
    outline = [patheffects.withStroke(linewidth=2 * SEEN_LINE_PT, foreground="black")]
    rect = ax.add_patch(
        _OutsideRectangle(
            (0, 0),
            0,
            0,
            pad=SEEN_LINE_PT,  # half the black stroke: its inner edge on the window's edge
            fill=False,
            edgecolor="white",
            linewidth=SEEN_LINE_PT,
            zorder=4,
        )
    )
    rect.set_path_effects(outline)
    _place_seen(rect, found)
    return rect


def move_seen_mark(rect, img: torch.Tensor, row: torch.Tensor, grid: tuple[int, int]) -> None:
    """Move :func:`mark_seen`'s outline to the keys that ``row`` reaches (hidden if all)."""
    validate.instance("rect", rect, Rectangle, "pass the outline that mark_seen returns")
    _place_seen(rect, _seen_rect(img, row, grid))


def _place_seen(rect, found) -> None:
    """Put the outline ``rect`` on ``found`` (:func:`_seen_rect`), or hide it for ``None``."""
    rect.set_visible(found is not None)
    if found is not None:
        rect.set_bounds(*found[0], found[1], found[2])


def overlay_map(
    ax,
    img: torch.Tensor,
    attn_row: torch.Tensor,
    grid: tuple[int, int],
    title: str | None = None,
    vmax: float | None = None,
    query_rc: tuple[float, float] | None = None,
    patch: int | None = None,
    outside: bool = False,
):
    """Draw one query's attention over the keys (``attn_row`` of length ``h*w``) on the photo,
    on the colour scale ``[0, vmax]`` (default: this map's own peak); returns the image, for a
    colour bar. With ``query_rc`` the query is marked (:func:`mark_query`: with ``patch``, the
    box outlines the query token's own ``patch``-pixel square, or with ``outside`` a ring one
    patch outside it). ``attn_row``: a float tensor without NaN; ``vmax``: a positive finite
    number."""
    _axes(ax)
    img = validate.photo("img", img)
    grid = validate.grid("grid", grid)
    validate.tensor("attn_row", attn_row, what="one query's row of attention weights")
    if attn_row.numel() != grid[0] * grid[1]:
        raise ValueError(
            f"attn_row has {attn_row.numel():,} weights, but grid {grid[0]}x{grid[1]} has "
            f"{grid[0] * grid[1]:,} keys; give one weight per key"
        )
    attn_row = attn_row.detach().cpu().float()
    if not bool(torch.isfinite(attn_row).all()):
        raise ValueError(
            "attn_row holds NaN or infinite weights: give a row of attention weights with none"
        )
    if vmax is not None:
        vmax = validate.number("vmax", vmax, low=0.0, low_open=True)
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
        mark_query(ax, img, query_rc, patch, outside)
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


#: The height of one line of a figure's title (11 pt, 1.2 lines apart), in inches.
TITLE_LINE_IN = 0.19


class MapsFigure:
    """:func:`compare_maps`'s figure, into which other maps of its :attr:`shape` (as many
    panels, caption lines and peaks' notes) can be drawn in place (:meth:`show`): another
    query moves the maps, their colour scale, the query's marks and the peaks' note; another
    photo, titles or grids redraw those too."""

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
        windows: list[bool] | None = None,
        outside: list[bool] | None = None,
        vmax: float | None = None,
    ):
        panels = _map_panels(panels)
        n = len(panels)
        if suptitle is not None:
            validate.figure_text("suptitle", suptitle, allow_empty=True)
        panel_height = validate.number(
            "panel_height", panel_height, low=0.0, low_open=True, high=MAX_HEIGHT_IN
        )
        note_line = validate.flag("note_line", note_line)
        if vmax is not None:
            vmax = validate.number("vmax", vmax, low=0.0, low_open=True)
        self.patches = patches = _patches(patches, n)
        self.windows = windows = _flags("windows", windows, n)
        self.outside = outside = _flags("outside", outside, n)
        ncols, width = _maps_layout(n)
        nrows = math.ceil(n / ncols)
        # The title's lines beyond the first get height of their own, so that the panels and
        # the colour bar beside them keep their size however long the caption is.
        noted = bool(_peaks_note([float(row.max()) for _, row, _ in panels])) or note_line
        lines = (suptitle.count("\n") + 1 if suptitle else 0) + noted
        height = panel_height * nrows + 0.5 + TITLE_LINE_IN * max(0, lines - 1)
        fig, axes = new_figure(
            nrows, ncols, height=height, width=width, given=f"panels has {n:,} maps"
        )
        peak = max(float(row.max()) for _, row, _ in panels)
        if vmax is None:
            vmax = peak
        elif not vmax >= peak:
            raise ValueError(
                f"vmax={vmax!r} is below the panels' largest weight {peak}: give vmax >= {peak}"
            )
        self.panels = []
        for ax, (title, row, grid), patch, window, out in zip(
            axes.flat, panels, patches, windows, outside
        ):
            im = overlay_map(ax, img, row, grid, title, vmax=vmax)
            marks = mark_query(ax, img, query_rc, patch, out)
            if window:  # the keys the query sees, where it sees part of the grid
                marks.append(mark_seen(ax, img, row, grid))
            self.panels.append((ax, ax.images[0], im, marks))
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        cbar = fig.colorbar(im, ax=axes, shrink=0.9, pad=0.02)
        cbar.set_label("attention weight (one scale)")
        self.fig, self.cbar, self.img, self.suptitle = fig, cbar, img, suptitle
        self.note_line = note_line
        self._static = self._static_of(img, panels, suptitle)
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
        panels = _map_panels(panels)
        if len(panels) != len(self.panels):
            raise ValueError(f"{len(panels)} panels for a figure of {len(self.panels)}")
        if patches is not None:
            self.patches = _patches(patches, len(panels))
        if suptitle is not None:
            validate.figure_text("suptitle", suptitle, allow_empty=True)
        if (suptitle or "").count("\n") != self.shape[1]:
            raise ValueError(
                f"suptitle {validate.shown(suptitle)}: this figure's has {self.shape[1] + 1} lines"
            )
        peaks = [float(row.max()) for _, row, _ in panels]
        note = _peaks_note(peaks)
        if not self.note_line and bool(note) != self.shape[2]:
            raise ValueError("the peaks' note comes or goes with these maps: another shape")
        static = self._static_of(img, panels, suptitle)
        changed = static != self._static  # another state: photo, titles, grids or caption
        h, w = _size(img)
        vmax = max(peaks)
        for (ax, photo_im, im, marks), (title, row, grid), patch, out in zip(
            self.panels, panels, self.patches, self.outside
        ):
            if changed:
                photo_im.set_data(img.permute(1, 2, 0).clamp(0, 1).numpy())
                photo_im.set_extent((0, w, h, 0))
                im.set_extent((0, w, h, 0))
                ax.set_title(title)
            im.set_data(row.reshape(grid).numpy())
            im.set_clim(0.0, vmax)  # the colour bar follows the last one
            move_query_mark(marks[:5], img, query_rc, patch, out)  # the box and its four lines
            if len(marks) > 5:  # the window's outline
                move_seen_mark(marks[5], img, row, grid)
            if changed:
                ax.set_xlim(0, w)
                ax.set_ylim(h, 0)
        if changed:
            self.img, self.suptitle, self._static = img, suptitle, static
        self._title(note)


def _map_panels(panels) -> list[tuple[str, torch.Tensor, tuple[int, int]]]:
    """``panels`` as a list of ``(title, weights, grid)``: text, one query's finite,
    non-negative weights (a tensor), one per key of the ``(h, w)`` grid. Refused by index."""
    panels = validate.nonempty_sequence("panels", panels)  # new_figure bounds their count
    out = []
    for i, panel in enumerate(panels):
        if not validate._ordered(panel) or len(panel) != 3:
            raise validate.InputTypeError(
                f"panels[{i}] must be (title, weights, grid), got {validate.shown(panel)}"
            )
        title, row, grid = panel
        validate.figure_text(f"panels[{i}]'s title", title, allow_empty=True)
        validate.tensor(f"panels[{i}]'s weights", row, what="a tensor of one query's weights")
        grid = validate.grid(f"panels[{i}]'s grid", grid)
        if row.numel() != grid[0] * grid[1]:
            raise ValueError(
                f"panels[{i}]'s weights number {row.numel():,}, but its grid {grid[0]}x{grid[1]} "
                f"has {grid[0] * grid[1]:,} keys; give one weight per key"
            )
        values = row.detach()
        if not bool(torch.isfinite(values).all()) or bool((values < 0).any()):
            raise ValueError(
                f"panels[{i}]'s weights hold NaN, infinite or negative values: give attention "
                "weights (a softmax row)"
            )
        out.append((title, row, grid))
    return out


def _flags(name: str, value, n: int) -> list[bool]:
    """Per-panel flags: ``None`` for all False, else a list of ``n`` booleans."""
    if value is None:
        return [False] * n
    value = validate.nonempty_sequence(name, value)
    if len(value) != n:
        raise ValueError(f"{name}: {len(value)} flags for {n} panels; give one per panel")
    return [validate.flag(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _patches(value, n: int) -> list[int | None]:
    """Per-panel query patches: ``None`` for all default, else ``n`` sides (px) or ``None``s."""
    if value is None:
        return [None] * n
    value = validate.nonempty_sequence("patches", value)
    if len(value) != n:
        raise ValueError(f"patches: {len(value)} query patches for {n} panels; give one per panel")
    return [
        None if v is None else validate.positive_int(f"patches[{i}]", v)
        for i, v in enumerate(value)
    ]


def compare_maps(
    img: torch.Tensor,
    panels: list[tuple[str, torch.Tensor, tuple[int, int]]],
    query_rc,
    suptitle: str | None = None,
    panel_height: float = 2.45,
    patches: list[int | None] | None = None,
    windows: list[bool] | None = None,
    outside: list[bool] | None = None,
    vmax: float | None = None,
):
    """One query's maps side by side, at most :data:`MAX_COLS` to a row, on **one** colour
    scale with a colour bar, the query marked on each. ``panels``: ``[(title, weights, grid)]``.
    ``vmax``: the scale's top, to share one scale with another figure (default: the largest
    weight in ``panels``; a smaller one is a ValueError, since it would clip a map).
    ``patches``: per panel, the side in pixels of the patch its query token stands for, boxed
    where the token lies (``None``: a box of 1/14 of the image centred on the query).
    ``windows``: per panel, whether to outline in white the keys the query sees where it sees
    only part of the key grid (:func:`seen_box`: a Swin window); default none.
    ``outside``: per panel, whether to draw the query's box one patch outside its patch
    (:func:`mark_query`); default none.
    Where the peaks differ tenfold or more, the figure says so: a faint map is not empty."""
    return MapsFigure(
        img,
        panels,
        query_rc,
        suptitle=suptitle,
        panel_height=panel_height,
        patches=patches,
        windows=windows,
        outside=outside,
        vmax=vmax,
    ).fig


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio", title=None):
    """One panel per entry of ``maps`` (``{key: (weights, grid)}``), on one colour scale.

    ``title(key, row, grid)`` names each panel; by default ``"<label>=<key>: keys h×w"``."""
    maps = validate.nonempty_dict("maps", maps, "the query-map functions (sra_query_maps)")
    label = validate.figure_text("label", label)
    if title is not None and not callable(title):
        raise validate.InputTypeError(
            f"title must be a function title(key, row, grid) that names a panel, or None, got "
            f"{validate.shown(title)} ({type(title).__name__})"
        )
    title = title or (lambda key, row, grid: f"{label}={key}: keys {grid[0]}×{grid[1]}")
    panels = []
    for key, entry in maps.items():
        if not validate._ordered(entry) or len(entry) != 2:
            raise validate.InputTypeError(
                f"maps[{validate.shown(key)}] must be (weights, grid), as the query-map "
                f"functions return, got {validate.shown(entry)}"
            )
        row, grid = entry
        panels.append((title(key, row, grid), row, grid))
    return compare_maps(img, panels, query_rc)


#: The most rows or columns :func:`box` rules: the book's finest ruling has 63 a side (CoAtNet's
#: bias table), and a finer one blurs into a fill; each line is an artist, so a million of them
#: took minutes to draw.
MAX_CELLS = 128
#: The largest font (pt) a schematic's label takes: an inch tall.
MAX_LABEL_PT = 72
#: The largest coordinate (in magnitude) of a schematic's points and sizes, in its axes' data
#: units: the book's schematics span at most 10 of them; matplotlib's arrow overflows on
#: squares of numbers near 1e154.
MAX_COORD = 1e6


def _label(label, fontsize) -> tuple[str, float]:
    """A schematic's label (text, ``None`` for none) and its font size in (0, MAX_LABEL_PT]."""
    label = "" if label is None else validate.figure_text("label", label, allow_empty=True)
    size = validate.number("fontsize", fontsize, low=0.0, low_open=True, high=MAX_LABEL_PT)
    return label, size


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
    inside (``label_pos="center"``), above (``"above"``) or below (``"below"``). ``cells``:
    each from 1 to :data:`MAX_CELLS`; ``color``: any colour matplotlib reads."""
    _axes(ax)
    x, y = validate.point("xy", xy, high=MAX_COORD)
    w, h = validate.point("size", size, what="(w, h)", low=0.0, high=MAX_COORD)
    label, fontsize = _label(label, fontsize)
    color = validate.colour("color", color)
    if cells is not None:
        cells = validate.count_pair(
            "cells",
            cells,
            maximum=MAX_CELLS,
            why="the book's finest ruling has 63; finer ones blur into a fill",
        )
    validate.one_of("label_pos", label_pos, ("center", "above", "below"))
    alpha = validate.probability("alpha", alpha)
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
    """A schematic's step: an arrow from ``start`` to ``end`` with ``label`` at its middle,
    moved by ``offset`` (dx, dy)."""
    _axes(ax)
    start, end = (
        validate.point("start", start, high=MAX_COORD),
        validate.point("end", end, high=MAX_COORD),
    )
    offset = validate.point("offset", offset, what="(dx, dy)", high=MAX_COORD)
    label, fontsize = _label(label, fontsize)
    color = validate.colour("color", color)
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
    _axes(ax)
    ax.set_axis_off()
    ax.set_aspect("auto")

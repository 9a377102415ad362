"""The explorers: one description (:class:`Explorer`) of an explorer's controls, maps, bars
and caption, with one renderer, ``static/explorer.js``. Every state is computed in Python
(:meth:`Explorer.payload`) and drawn by that script: on the page as a kernel-free HTML twin
(:meth:`Explorer.html`), and in a kernel as a live widget (:meth:`Explorer.widget`, an
anywidget fed by the kernel), so that the two cannot drift apart. The still picture for
frontends that run no scripts is drawn with matplotlib, in :mod:`vit_notes.plotting`'s style.
"""

from __future__ import annotations

import base64
import dataclasses
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

from . import validate
from .counting import AttentionCost, format_bytes, significant
from .plotting import (
    MAP_CMAP,
    MIN_FONT_PT,
    _maps_layout,
    _size,
    compare_maps,
    figure_png,
    new_figure,
    seen_box,
    styled,
)


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
    #: whether to outline the keys each query sees where it sees only part of the key grid
    #: (:func:`~vit_notes.plotting.seen_box`: a Swin window), on the page and in the figure
    window: bool = False
    #: whether to draw the query's box one patch outside its patch, where the patch is smaller
    #: than the box's stroke (:func:`~vit_notes.plotting.mark_query`), on the page and in the
    #: figure
    outside: bool = False


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
    #: each bar's interval, drawn as an error bar (``None``: none drawn)
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    #: the value axis's label; where given, the axis is drawn, from zero, with its ticks
    axis: str | None = None


def layer_cost_bars(
    title: str, costs: dict, colours: dict, ratio_of: str = "", millions: str = "M"
) -> Bars:
    """An explorer's cost panel: each layer's multiply-adds (``costs``: label ->
    :class:`~vit_notes.counting.AttentionCost`, the first the reference, plain attention) as a
    bar on a linear scale, so that a bar a 22nd of another's is drawn a 22nd as long. Each is
    labelled with its MMACs, its attention maps' size in binary units
    (:func:`~vit_notes.counting.format_bytes`: KiB or MiB as fits, never 0.0) and, after the
    first, how many times fewer (or more) multiply-adds it costs than the first, followed by
    ``ratio_of`` where given ("(22× fewer MACs)", so that the bracket says which cost it
    counts). "As many" only where the two counts are equal: a ratio that rounds to 1.0 is
    given as a percentage ("(0.14% more MACs)"), so the bracket never contradicts the counts
    it stands beside. ``colours``: label -> colour; ``millions``: the word after the count of
    millions ("M", or "million" where M names something else on the page)."""
    validate.one_of("millions", millions, ("M", "million"))
    unit = f" {ratio_of}" if ratio_of else ""
    _check_costs(costs, colours)

    reference = next(iter(costs.values())).macs

    def text(i: int, c) -> str:
        out = f"{significant(c.macs / 1e6)} {millions}, {format_bytes(c.attn_bytes)}"
        if not i or not c.macs:
            return out
        if c.macs == reference:
            return out + f" (as many{unit})"
        ratio = reference / c.macs
        if significant(ratio, 2) == "1.0" or significant(1 / ratio, 2) == "1.0":
            return out + f" ({_percent_apart(c.macs, reference, 'more', 'fewer')}{unit})"
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


def _percent_apart(value: float, reference: float, more: str, fewer: str) -> str:
    """How far ``value`` lies from ``reference``, as a percentage of ``reference``, for two
    counts close enough that their ratio rounds to 1.0: "0.14% more", "3.0% fewer"."""
    share = significant(abs(value / reference - 1) * 100, 2)
    return f"{share}% {more if value > reference else fewer}"


def _check_costs(costs, colours) -> None:
    """``costs`` a non-empty dict of label -> AttentionCost with finite counts, ``colours`` a
    dict with a colour for every label; else an error naming which."""
    if not isinstance(costs, dict) or not costs:
        raise validate.InputTypeError(
            "costs must be a non-empty dict of label -> AttentionCost, got "
            f"{validate.shown(costs)} ({type(costs).__name__})"
        )
    if not isinstance(colours, dict):
        raise validate.InputTypeError(
            "colours must be a dict of label -> colour, got "
            f"{validate.shown(colours)} ({type(colours).__name__})"
        )
    for label, c in costs.items():
        validate.instance(
            f"costs[{label!r}]", c, AttentionCost, "give counting.AttentionCost.of(...)"
        )
        validate.number(f"costs[{label!r}].macs", c.macs, low=0.0)
        validate.number(f"costs[{label!r}].attn_bytes", c.attn_bytes, low=0.0)
        if label not in colours:
            raise ValueError(
                f"colours has no colour for {label!r}; give one for every label in costs "
                f"({list(costs)})"
            )


def _query_cells(patch: int | None, img: torch.Tensor) -> dict:
    """A map's query box for the page: the query tokens per side (``qcells``, rows and
    columns) when the box marks the query token's patch, so that explorer.js finds the token
    as :func:`~vit_notes.photo.query_index` does; nothing for the default box."""
    if patch is None:
        return {}
    h, w = _size(img)
    return {"qcells": [h // patch, w // patch]}


def _seen_boxes(panel: MapPanel) -> dict:
    """A map's window outlines for the page, for a panel with ``window``: per query, the
    key-grid cells it sees (:func:`~vit_notes.plotting.seen_box`: top, left, bottom, right)
    where it sees only part of the grid, so that explorer.js outlines what the matplotlib
    figure outlines; nothing for a map whose queries all see every key."""
    if not panel.window:
        return {}
    boxes = [seen_box(row, panel.grid) for row in panel.rows.reshape(len(panel.rows), -1)]
    if all(b is None for b in boxes):
        return {}
    return {"seen": [None if b is None else list(b) for b in boxes]}


#: The renderer of every explorer, inlined into each explorer's HTML output and into the live
#: widget's module.
EXPLORER_JS = Path(__file__).with_name("static") / "explorer.js"
#: The live widget's module (its ``render``), which calls :data:`EXPLORER_JS`'s ``setup``.
EXPLORER_WIDGET_JS = Path(__file__).with_name("static") / "explorer_widget.js"
#: A stored map's levels: uint8, each query's row scaled to its own peak.
MAP_LEVELS = 255


_NO_QUERIES = object()  # maps() was called without queries


@dataclass
class Explorer:
    """The one description of an explorer, from which the live widget (a kernel) and its
    kernel-free HTML/JavaScript twin (the site, or any page that runs scripts) are both built
    and drawn by one script (``static/explorer.js``), so that they cannot drift apart.

    ``controls``: the discrete controls; every combination of their values is a *state*.
    ``maps(queries=[(row, col), ...], **state)``: the state's attention maps, a row for every
    query on a ``query_grid × query_grid`` grid of positions (fractions of the image; none if
    ``query_grid`` is 0). ``bars(**state)``: its bar charts (the cost, from the package's
    counts). ``caption(**state)``: one line saying what is shown. ``alt(**state)``, if given:
    the alt text of the starting state's PNG (what the picture shows, for a screen reader).

    Shown by a notebook (``_repr_mimebundle_``), it carries the live widget (where a kernel
    with anywidget runs: :meth:`widget`), the HTML/JS twin with every state precomputed
    (text/html: inline script, nothing fetched), and a PNG of the starting state for
    frontends that run no scripts (the PDF, GitHub's preview), each frontend showing the
    richest it can.
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

    def __post_init__(self):
        # the chapter's functions of a state are called with the state checked first, so that
        # caption(), bars(), photo() and maps() refuse what the controls do not offer
        for name in ("bars", "caption", "maps", "photo", "alt"):
            fn = getattr(self, name)
            if callable(fn) and not getattr(fn, "_checks_state", False):
                setattr(self, name, self._checking(fn))

    def _checking(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def checked(*args, queries=_NO_QUERIES, **state):
            names = [c.name for c in self.controls]
            if len(args) > len(names) or any(n in state for n in names[: len(args)]):
                raise TypeError(
                    f"give the state's controls ({', '.join(names)}) once each, by name or in "
                    f"that order: got {len(args)} by position and {sorted(state)} by name"
                )
            state = {**dict(zip(names, args)), **state}
            self.check_state(state, partial=True)
            if queries is _NO_QUERIES:
                return fn(**state)
            return fn(queries=queries, **state)

        checked._checks_state = True
        return checked

    def check_state(self, state, partial: bool = False) -> dict:
        """``state`` checked against the controls: a dict whose names are controls and whose
        values each control offers; every control must be given unless ``partial``."""
        if not isinstance(state, dict):
            raise validate.InputTypeError(
                f"state must be a dict of the controls' values (default_state() gives one), got "
                f"{validate.shown(state)} ({type(state).__name__})"
            )
        names = [c.name for c in self.controls]
        for name in state:
            if name not in names:
                raise ValueError(
                    f"state has {validate.shown(name)}, which is no control of this explorer; "
                    f"its controls are {', '.join(names)}"
                )
        for c in self.controls:
            if c.name not in state and partial:
                continue
            value = state.get(c.name)
            if not validate.offered(value, c.values):
                raise ValueError(
                    f"{c.name}={validate.shown(value)}: choose one of {validate.shown(c.values)}"
                )
        return state

    def state_key(self, state: dict) -> str:
        """The state's name on the page: its values, in the controls' order, joined by ``|``."""
        self.check_state(state)
        return "|".join(str(state[c.name]) for c in self.controls)

    def query_positions(self) -> list[tuple[float, float]]:
        """The grid of queries, row by row, as (row, col) fractions of the image: cell centres."""
        g = self.query_grid
        return [((i + 0.5) / g, (j + 0.5) / g) for i in range(g) for j in range(g)]

    def start_query(self) -> tuple[float, float]:
        """The explorer's first query, the centre of grid cell ``default_query``, as (row, col)
        fractions of the image."""
        return self.query_positions()[self.query_cell(self.default_query)]

    def state_maps(self, state: dict) -> list[MapPanel]:
        """The state's maps, computed once per state (a move of the query alone reuses them).
        Each call hands out copies of the cached weights: changing them changes nothing here."""
        key = self.state_key(state)
        if self.maps is None:
            return []
        if key not in self._maps_cache:
            self._maps_cache[key] = self.maps(queries=self.query_positions(), **state)
        return [
            dataclasses.replace(p, rows=p.rows.clone())
            if isinstance(p, MapPanel) and isinstance(p.rows, torch.Tensor)
            else p
            for p in self._maps_cache[key]
        ]

    # -- drawn with matplotlib: the still picture for frontends that run no scripts

    def query_cell(self, query) -> int:
        """The flat index of grid cell ``query`` (row, col); a cell outside the grid, a negative
        one included, is refused (it would wrap around to another query)."""
        g = self.query_grid
        query = validate.pair("query", query, f"(row, col), a cell of the {g}×{g} query grid")
        for name, v in zip(("query row", "query col"), query):
            validate.positive_int(name, v, minimum=0, maximum=validate.MAX_SIDE)
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
        if isinstance(parts, str) or not isinstance(parts, (tuple, list)):
            raise validate.InputTypeError(
                f"parts must be a tuple of 'maps' and/or 'bars', got {validate.shown(parts)}"
            )
        for part in parts:
            if part not in ("maps", "bars"):
                raise ValueError(f"parts has {validate.shown(part)}: choose 'maps' and/or 'bars'")
        self.check_state(state)
        figs = []
        panels = self.state_maps(state)
        if "maps" in parts and panels:
            i = self.query_cell(query)
            img = self.photo(**state)
            rows = [(p.title, p.rows[i], p.grid) for p in panels]
            caption = self.maps_caption(state, len(rows))
            where = self.query_positions()[i]
            patches = [p.patch for p in panels]
            windows = [p.window for p in panels]
            outside = [p.outside for p in panels]
            figs.append(
                compare_maps(
                    img, rows, where, caption, patches=patches, windows=windows, outside=outside
                )
            )
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
                        **({"qoutside": True} if p.outside else {}),
                        **_seen_boxes(p),
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
        return self._html(self.payload(), fallback)

    def _html(self, payload: dict, fallback: bytes | None = None) -> str:
        data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
        img = ""
        if fallback:
            src = base64.b64encode(fallback).decode("ascii")
            img = (
                f'<img class="vn-fallback" alt="{html.escape(self.fallback_alt())}" '
                f'src="data:image/png;base64,{src}">'
            )
        return (
            f'<div class="vn-explorer" id="{self.key}" data-explorer="{self.key}">{img}'
            f'<script type="application/json" class="vn-data">{data}</script>'
            f"<script>{EXPLORER_JS.read_text(encoding='utf-8')}</script></div>"
        )

    # -- the live widget

    def widget(self):
        """The live explorer in a kernel: an anywidget drawn by the page's own script
        (``static/explorer.js``, the same controls, maps and bars as the page's twin), from
        :meth:`payload`, which the kernel computes and puts in the widget's ``payload``.
        It runs wherever anywidget does: JupyterLab, the classic notebook, Colab, VS Code,
        Voila; with ipywidgets 7.7 (Colab's) or 8.

        The reader's state is synced back to the kernel in ``state``: each control's value
        by name, and ``"query": [row, col]`` (a cell of the query grid) where the explorer
        has maps. A teacher reads it (``w.state``) and sets it from Python, which redraws
        every view of the widget: ``w.state = {"sr_ratio": 2, "query": [3, 5]}`` (names left
        out keep their values; assign a new dict, as changing ``w.state`` in place sends
        nothing). A value no control offers, or a query outside the grid, is refused with
        :meth:`check_state`'s or :meth:`query_cell`'s error.
        Needs ``anywidget`` (the ``notebooks`` extra): an ImportError without it."""
        return self._widget(self.payload())

    def _widget(self, payload: dict):
        """:meth:`widget` from a payload already computed (:meth:`_repr_mimebundle_` computes
        it once for the widget and the page's twin)."""
        return _widget_class()(self, payload)

    def _repr_mimebundle_(self, include=None, exclude=None):
        png, size = self.fallback_png()
        payload = self.payload()
        data = {
            "text/html": self._html(payload, fallback=png),
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"{self.title} (explorer: run in a kernel with ipywidgets, or open "
            "the book's page)",
        }
        try:
            ui = self._widget(payload)
        except ImportError:  # no anywidget: the page's twin and the picture
            ui = None
        if ui is not None:
            # The live widget first: JupyterLab, Voila and the classic notebook rank it
            # above HTML; the book's site ranks it out (nb_mime_priority_overrides).
            view = {"version_major": 2, "version_minor": 0, "model_id": ui.model_id}
            data = {"application/vnd.jupyter.widget-view+json": view, **data}
        # the picture's alt text, as the page's fallback image gives it
        return data, {"image/png": {**size, "alt": self.fallback_alt()}}

    def fallback_alt(self) -> str:
        """The alt text of the starting state's picture (the notebook's PNG and the page's
        fallback image alike): :attr:`alt`, or, without one, the title."""
        alt = f"{self.title}: the starting state"
        if callable(self.alt):
            alt = self.alt(**self.default_state())
        elif self.alt:
            alt = self.alt
        return " ".join(alt.split())


def _json_value(value):
    """A control's value as the widget's JSON carries it (its text where JSON has none)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def _same_value(value, sent) -> bool:
    """Whether ``sent`` (from Python, or the JSON the page sends back) is the control's
    ``value``: equal numbers (JavaScript writes 0.0 as 0), never a bool for a number (True is
    not the control's 1), else equal JSON ([7, 7] for (7, 7))."""
    if isinstance(value, bool) or isinstance(sent, bool):
        return isinstance(value, bool) and isinstance(sent, bool) and value == sent
    if isinstance(value, (int, float)) and isinstance(sent, (int, float)):
        return value == sent
    return json.dumps(_json_value(value)) == json.dumps(_json_value(sent))


@functools.cache
def _widget_class():
    """The live widget's class (:meth:`Explorer.widget`), made on first use: anywidget is
    needed in a kernel only."""
    import anywidget
    import traitlets

    class ExplorerWidget(anywidget.AnyWidget):
        """An explorer drawn by ``static/explorer.js`` from the kernel's ``payload``; the
        reader's ``state`` synced both ways (:meth:`Explorer.widget`)."""

        _esm = (
            "const vnExplorer = "
            + EXPLORER_JS.read_text(encoding="utf-8")
            + ";\n"
            + EXPLORER_WIDGET_JS.read_text(encoding="utf-8")
        )
        payload = traitlets.Dict().tag(sync=True)
        _values = traitlets.List().tag(sync=True)
        state = traitlets.Dict().tag(sync=True)

        def __init__(self, explorer: Explorer, payload: dict):
            self._explorer = explorer
            values = [[_json_value(v) for v in c.values] for c in explorer.controls]
            start = explorer.default_state()
            if explorer.maps:
                start["query"] = list(explorer.default_query)
            super().__init__(payload=payload, _values=values, state=start)

        @traitlets.validate("state")
        def _valid_state(self, proposal):
            return _widget_state(self._explorer, self.state, proposal["value"])

    return ExplorerWidget


def _widget_state(e: Explorer, current: dict, given) -> dict:
    """The widget's new state: ``given`` (control name -> value, and ``query``) over
    ``current``, each value the control's own (the JSON the page sends back matched to it),
    checked as :meth:`Explorer.check_state` and :meth:`Explorer.query_cell` check."""
    if not isinstance(given, dict):
        raise validate.InputTypeError(
            'state must be a dict of control name -> value (and "query": [row, col]), got '
            f"{validate.shown(given)} ({type(given).__name__})"
        )
    given = dict(given)
    query = given.pop("query", None)
    for c in e.controls:  # the page sends [7, 7] for (7, 7), 0 for 0.0
        if c.name in given:
            match = [v for v in c.values if _same_value(v, given[c.name])]
            if match:
                given[c.name] = match[0]
    controls = {k: v for k, v in (current or {}).items() if k != "query"}
    out = dict(e.check_state({**controls, **given}))
    if query is not None or "query" in (current or {}):
        if not e.maps:
            raise ValueError(f"state has a query, but this explorer ({e.key}) has no maps")
        q = current.get("query") if query is None else query
        if isinstance(q, list):
            q = tuple(q)
        e.query_cell(q)
        out["query"] = [int(q[0]), int(q[1])]
    return out


#: A bar's opacity where its interval is drawn over it, so that the error bar shows through.
INTERVAL_ALPHA = 0.55


def _on_paper(colour, alpha: float | None) -> str:
    """``colour`` as the figure shows it on its white paper at opacity ``alpha`` (None:
    opaque), as an opaque hex colour: the page draws it so on a light or a dark page alike."""
    rgb = mpl.colors.to_rgb(colour)
    if alpha is not None:
        rgb = tuple(alpha * x + (1 - alpha) for x in rgb)
    return mpl.colors.to_hex(rgb)


def _bars_json(b: Bars) -> dict:
    """A chart as the page draws it (explorer.js): what :class:`BarsFigure` draws, its
    intervals, its bars' colours as the figure shows them and its value axis
    (:func:`bar_axis`) included."""
    alpha = INTERVAL_ALPHA if b.low is not None else None
    out = dict(
        title=b.title,
        labels=list(b.labels),
        values=[float(v) for v in b.values],
        texts=list(b.texts),
        colours=[_on_paper(c, alpha) for c in b.colours],
        log=b.log,
        selected=b.selected,
    )
    if b.low is not None and b.high is not None:
        out.update(low=[float(v) for v in b.low], high=[float(v) for v in b.high])
    axis = bar_axis(b)
    if axis is not None:
        out["axis"] = axis
    return out


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
    shown = [v for v in (b.high or b.values) if v > 0]
    lo, hi = (min(shown), max(shown)) if shown else (1.0, 1.0)
    return (lo / 10, hi * 300) if b.log else (0.0, hi * 1.7)


def _tick_labels(ticks: list[float]) -> list[str]:
    """The ticks' labels, each with as many decimals as the finest needs (0.0, 0.2, ..., 1.0;
    0, 50, 100), as matplotlib's default labels read."""
    for decimals in range(7):
        if all(abs(round(t, decimals) - t) <= 1e-9 * max(1.0, abs(t)) for t in ticks):
            break
    return [f"{t:,.{decimals}f}" for t in ticks]


def bar_axis(b: Bars) -> dict | None:
    """A chart's value axis (``b.axis`` given; None otherwise), one description for the
    matplotlib figure (:class:`BarsFigure`: the live explorer and the picture) and the page
    (explorer.js): ``label``, ``log``, ``ticks`` and their ``tick_labels``, and the ``domain``
    (low, high) the page's bar track spans. A linear axis starts at zero, its ticks
    (:class:`matplotlib.ticker.MaxNLocator`, at most 5 steps) over the values and their
    intervals; a log axis has a tick per power of ten over them."""
    validate.instance("b", b, Bars, "pass a Bars chart")
    if b.axis is None:
        return None
    ends = [v for v in (b.high or b.values) if v > 0] or [1.0]
    if b.log:
        starts = [v for v in (b.low or b.values) if v > 0] or ends
        lo = math.floor(math.log10(min(starts)) + 1e-9)
        hi = math.ceil(math.log10(max(ends)) - 1e-9)
        ticks = [10.0**k for k in range(lo, max(hi, lo + 1) + 1)]
        domain = (ticks[0], ticks[-1])
    else:
        top = max(ends)
        found = mpl.ticker.MaxNLocator(5).tick_values(0, top)
        ticks = [float(f"{t:.12g}") for t in found if 0 <= t <= 1.05 * top]
        domain = (0.0, max(top, ticks[-1]))
    return dict(
        label=b.axis,
        log=b.log,
        ticks=ticks,
        tick_labels=_tick_labels(ticks),
        domain=[float(d) for d in domain],
    )


def _bars_shape(charts: list[Bars]) -> tuple:
    """What fixes a bar figure's layout: the charts' count, scales and label lengths."""
    return tuple((b.log, tuple(len(t) for t in b.labels)) for b in charts)


class BarsFigure:
    """:func:`bar_charts`'s figure (the still picture's bars), into which another state's
    charts of the same shape (as many bars, labels as long) can be drawn in place
    (:meth:`show`), on the layout computed for the first."""

    @styled
    def __init__(self, charts: list[Bars], suptitle: str | None = None):
        if isinstance(charts, (list, tuple)) and not charts:
            raise ValueError("charts is empty: give at least one Bars")
        charts = validate.nonempty_sequence("charts", charts, limit=64)
        for i, b in enumerate(charts):
            validate.instance(f"charts[{i}]", b, Bars, "give a list of Bars charts")
        self.shape = _bars_shape(charts)
        ncols = min(2, len(charts))
        nrows = math.ceil(len(charts) / ncols)
        tallest = max(len(b.labels) for b in charts)
        height = nrows * (0.3 * tallest + 0.9) + 0.3
        given = f"charts has {len(charts)} charts of up to {tallest:,} bars"
        fig, axes = new_figure(nrows, ncols, height=height, given=given)
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
            ends = b.high or b.values  # a bar's text starts right of its error bar
            for i, (rect, text, v) in enumerate(zip(bars, texts, b.values)):
                rect.set_width(v if v > 0 else float("nan"))
                rect.set_facecolor(b.colours[i])
                rect.set_edgecolor("black" if i == b.selected else "none")
                # the error bar shows through
                rect.set_alpha(INTERVAL_ALPHA if b.low is not None else None)
                text.set_x(ends[i] if v > 0 else left)
                text.set_text(f" {b.texts[i]}")
            for line in getattr(ax, "_interval_lines", []):  # a redraw replaces them
                line.remove()
            ax._interval_lines = []
            if b.low is not None and b.high is not None:
                ys = range(len(b.values))
                ax._interval_lines = [
                    ax.hlines(ys, b.low, b.high, colors="black", linewidth=1),
                    ax.vlines(b.low, [y - 0.2 for y in ys], [y + 0.2 for y in ys], "black", lw=1),
                    ax.vlines(b.high, [y - 0.2 for y in ys], [y + 0.2 for y in ys], "black", lw=1),
                ]
            axis = bar_axis(b)
            if axis is not None:  # the page's axis (explorer.js) draws the same ticks
                ax.tick_params(axis="x", labelbottom=True, bottom=True, which="major")
                ax.set_xlabel(axis["label"])
                # ticks over the values' range, not over the texts' room
                ax.set_xticks(axis["ticks"], axis["tick_labels"])
                ax.set_xticks([], minor=True)
            ax.set_xlim(left, right)
            ax.set_yticks(range(len(b.labels)), b.labels)
            ax.set_title(b.title)
        if suptitle or self.fig.get_suptitle():
            self.fig.suptitle(suptitle or "")


def bar_charts(charts: list[Bars], suptitle: str | None = None):
    """An explorer's bar charts, two to a row: horizontal bars labelled with their numbers
    (the same texts the page shows), the selected bar outlined."""
    return BarsFigure(charts, suptitle).fig

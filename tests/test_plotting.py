"""The figure standard (vit_notes.plotting): what it refuses, and the shared primitives."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
import torch

from vit_notes import explorer, photo, plotting


def test_figure_problems_names_each_break_of_the_standard():
    fig, axes = plt.subplots(1, 4, figsize=(9, 2))
    axes[0].set_title("tiny", fontsize=6)
    axes[3].text(1.5, 0.5, "far outside", transform=axes[3].transAxes)
    problems = " | ".join(plotting.figure_problems(fig))
    assert "9.00 in wide" in problems
    assert "'tiny' at 6.0 pt" in problems
    assert "4 panels in a row" in problems
    assert "cut off at the figure's edge" in problems


def test_a_figure_in_the_style_passes():
    @plotting.styled
    def draw():
        fig, axes = plotting.new_figure(1, 3)
        for ax in axes.flat:
            ax.plot([1, 2], [3, 4], label="a line")
            ax.set_title("a title")
            ax.legend()
        return fig

    fig = draw()
    assert plotting.figure_problems(fig) == []
    assert fig.dpi == plotting.DPI and fig.get_figwidth() == plotting.TEXT_WIDTH_IN
    with mpl.rc_context({"font.size": 5}):  # the caller's own style does not leak in
        assert plotting.figure_problems(draw()) == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(ncols=4), "at most 3 panels in a row"),
        (dict(width=9.0), "at most 7.5 in wide"),
        (dict(nrows=0), "nrows must be an integer >= 1"),
    ],
)
def test_new_figure_refuses_what_breaks_the_standard(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.new_figure(**kwargs)


def test_compare_maps_uses_one_colour_scale_and_says_when_peaks_differ():
    img = photo.load_photo(64)
    flat = torch.full((16,), 1 / 16)
    peaked = torch.zeros(16)
    peaked[5] = 1.0
    fig = plotting.compare_maps(
        img, [("flat", flat, (4, 4)), ("peaked", peaked, (4, 4))], (0.5, 0.5)
    )
    maps = [im for ax in fig.axes for im in ax.images if im.get_alpha() == 0.7]
    assert len(maps) == 2 and {im.get_clim() for im in maps} == {(0.0, 1.0)}
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert "faint maps are spread, not empty" in fig._suptitle.get_text()
    assert plotting.figure_problems(fig) == []


def test_compare_maps_shares_a_scale_given_its_top_and_refuses_one_that_clips():
    img = photo.load_photo(64)
    flat = torch.full((16,), 1 / 16)
    fig = plotting.compare_maps(img, [("flat", flat, (4, 4))], (0.5, 0.5), vmax=0.5)
    maps = [im for ax in fig.axes for im in ax.images if im.get_alpha() == 0.7]
    assert [im.get_clim() for im in maps] == [(0.0, 0.5)]
    with pytest.raises(ValueError, match=r"vmax=0\.01 is below the panels' largest weight"):
        plotting.compare_maps(img, [("flat", flat, (4, 4))], (0.5, 0.5), vmax=0.01)


def test_a_colour_bar_label_longer_than_its_bar_is_a_problem():
    fig, ax = plt.subplots(figsize=(4, 1.2), layout="constrained")
    im = ax.imshow([[0, 1], [1, 0]])
    fig.colorbar(im, ax=ax, label="a label far longer than this short colour bar")
    assert "longer than its bar" in " | ".join(plotting.figure_problems(fig))


def test_a_long_caption_leaves_the_maps_their_height():
    # four title lines (a wrapped caption and the peaks' note): the colour bar keeps its
    # height, and its label stays beside it instead of running into what lies below
    img = photo.load_photo(64)
    flat, peaked = torch.full((16,), 1 / 16), torch.zeros(16)
    peaked[5] = 1.0
    panels = [("flat", flat, (4, 4)), ("peaked", peaked, (4, 4))]
    short = plotting.compare_maps(img, panels, (0.5, 0.5), suptitle="one line")
    long = plotting.compare_maps(img, panels, (0.5, 0.5), suptitle="one\ntwo\nthree")
    assert long.get_figheight() > short.get_figheight()
    assert plotting.figure_problems(long) == []

    def bar_height(fig):
        fig.canvas.draw()
        (cbar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        return cbar.get_window_extent().height

    assert bar_height(long) == pytest.approx(bar_height(short), rel=0.05)


def test_figure_png_is_twice_the_natural_size_and_palette_compressed():
    import io

    img = photo.load_photo(128)
    fig = plotting.compare_maps(img, [("flat", torch.full((16,), 1 / 16), (4, 4))], (0.5, 0.5))
    data, meta = plotting.figure_png(fig)
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=2 * fig.dpi)
    w, h = int(fig.get_figwidth() * fig.dpi), int(fig.get_figheight() * fig.dpi)
    assert meta == {"width": w, "height": h}
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[25] == 3  # colour type 3: a palette
    assert len(data) < len(full.getvalue()) / 2


# --- explorers: one description, one renderer: a live widget and a page twin -----------------


def _toy_explorer(calls=None):
    """Two controls; maps over a 2x2 query grid that depend on ``a`` only (``b``: bars only)."""

    def maps(queries, a, b):
        if calls is not None:
            calls.append((a, b))
        rows = torch.arange(len(queries) * 4, dtype=torch.float32).reshape(len(queries), 4) * a
        return [explorer.MapPanel(f"a={a}", (2, 2), rows.softmax(-1))]

    def bars(a, b):
        return [
            explorer.Bars("cost", ("x", "y"), (a, 10.0 * b), (f"{a} M", f"{10 * b} M"), ("r", "b"))
        ]

    return explorer.Explorer(
        key="explore-toy",
        title="toy",
        controls=(
            explorer.Control("a", "a", (1, 2), 1),
            explorer.Control("b", "b", (1, 3), 3),
        ),
        maps=maps,
        bars=bars,
        caption=lambda a, b: f"a={a}, b={b}",
        query_grid=2,
        photo=lambda **_: torch.linspace(0, 1, 3 * 16 * 16).reshape(3, 16, 16),
    )


def test_explorer_payload_holds_every_state_with_maps_stored_once():
    import base64
    import zlib

    e = _toy_explorer()
    p = e.payload()
    assert set(p["states"]) == {"1|1", "1|3", "2|1", "2|3"}
    assert [c["default"] for c in p["controls"]] == [0, 1]
    assert len(p["blobs"]) == 2  # b changes the bars only: a's two maps, stored once each
    state = p["states"]["2|3"]
    assert state["bars"][0]["texts"] == ["2 M", "30 M"] and state["caption"] == "a=2, b=3"
    (m,) = state["maps"]
    levels = torch.frombuffer(
        bytearray(zlib.decompress(base64.b64decode(p["blobs"][m["blob"]]))), dtype=torch.uint8
    ).reshape(4, 4)
    rows = e.state_maps(dict(a=2, b=3))[0].rows
    restored = levels.float() / explorer.MAP_LEVELS * torch.tensor(m["peaks"])[:, None]
    assert torch.allclose(restored, rows, atol=rows.max().item() / 255)
    with pytest.raises(ValueError, match=r"a=5: choose one of \(1, 2\)"):
        e.state_key(dict(a=5, b=1))
    with pytest.raises(ValueError, match="default 7"):
        explorer.Control("a", "a", (1, 2), 7)


def test_explorer_html_is_self_contained():
    html = _toy_explorer().html(fallback=b"\x89PNG fake")
    assert 'class="vn-explorer"' in html and "<script>" in html and "vn-data" in html
    assert "data:image/png;base64," in html
    # nothing fetched: no URL but data: ones, no fetch or XHR in the script
    assert "http" not in html.replace("http-equiv", "") and "fetch(" not in html
    assert "XMLHttpRequest" not in html


def test_explorer_bundle_puts_the_live_widget_first_then_html_then_png():
    data, meta = _toy_explorer()._repr_mimebundle_()
    assert list(data)[:3] == [
        "application/vnd.jupyter.widget-view+json",
        "text/html",
        "image/png",
    ]
    assert meta["image/png"]["width"] <= plotting.TEXT_WIDTH_IN * plotting.DPI


def test_explorer_widget_draws_the_pages_payload_and_syncs_the_readers_state():
    """The live widget is an anywidget whose module is the page's renderer (explorer.js) and
    whose payload is the page's; its state (the controls and the query) is set from Python,
    each control value accepted, and what the page sends back (JSON) read as the control's
    own value."""
    import anywidget

    calls = []
    e = _toy_explorer(calls)
    w = e.widget()
    assert isinstance(w, anywidget.AnyWidget)
    assert w.payload == e.payload()  # the page's, state for state
    assert explorer.EXPLORER_JS.read_text(encoding="utf-8") in w._esm
    assert "export default" in w._esm and "vnExplorer.setup(" in w._esm
    assert w.state == {"a": 1, "b": 3, "query": [0, 0]}
    sent = []
    w.send_state = lambda key=None: sent.append(key)  # what a change sends the frontend
    for c in e.controls:
        for v in c.values:
            w.state = {**w.state, c.name: v}
            assert w.state[c.name] == v
    assert sent  # every change went to the frontend, which redraws
    w.state = {"b": 1, "query": [1, 0]}  # names left out keep their values
    assert w.state == {"a": 2, "b": 1, "query": [1, 0]}
    w.set_state({"state": {"a": 1, "b": 3, "query": [0, 1]}})  # as the page sends a move
    assert w.state == {"a": 1, "b": 3, "query": [0, 1]}
    with pytest.raises(ValueError, match=r"a=5: choose one of \(1, 2\)"):
        w.state = {"a": 5}
    with pytest.raises(ValueError, match="query row=2 is outside the 2×2 query grid"):
        w.state = {"query": [2, 0]}
    with pytest.raises(ValueError, match="b=True: choose one of"):
        w.state = {"b": True}
    assert w.state == {"a": 1, "b": 3, "query": [0, 1]}  # a refused state changes nothing
    assert sorted(set(calls)) == [(1, 1), (1, 3), (2, 1), (2, 3)]  # each state's maps once
    assert len(calls) == len(set(calls))


def test_the_widget_reads_what_the_page_sends_as_the_controls_own_values():
    """JavaScript writes 0.0 as 0 and a tuple as a list: the state holds the control's own
    value (0.0, a float; (7, 7), a tuple), as the page shows it (str(value))."""
    e = explorer.Explorer(
        key="explore-float",
        title="floats",
        controls=(
            explorer.Control("t", "t", (0.0, 0.5), 0.5),
            explorer.Control("w", "w", ((7, 7), (14, 14)), (7, 7)),
        ),
        bars=lambda t, w: [explorer.Bars("cost", ("x",), (t + 1,), (f"{t}",), ("r",))],
        caption=lambda t, w: f"t={t}, w={w}",
    )
    w = e.widget()
    assert w._values == [[0.0, 0.5], [[7, 7], [14, 14]]]
    w.set_state({"state": {"t": 0, "w": [14, 14]}})  # as the page sends a move
    assert w.state == {"t": 0.0, "w": (14, 14)}
    assert type(w.state["t"]) is float
    assert str(w.state["t"]) == w.payload["controls"][0]["values"][0]  # "0.0", as shown


def test_an_explorer_without_maps_has_no_query_in_its_widget_state():
    e = explorer.Explorer(
        key="explore-bars",
        title="bars only",
        controls=(explorer.Control("n", "n", (1, 2), 1),),
        bars=lambda n: [explorer.Bars("cost", ("x",), (float(n),), (f"{n}",), ("r",))],
        caption=lambda n: f"n={n}",
    )
    w = e.widget()
    assert w.state == {"n": 1} and w.payload["query"] is None
    with pytest.raises(ValueError, match="has no maps"):
        w.state = {"query": [0, 0]}


def _two_map_explorer():
    """Two panels whose peaks differ more or less than tenfold with the query (the note comes
    and goes), over photos of two sizes, with two bar charts."""

    def maps(queries, size, k):
        g = torch.Generator().manual_seed(size + k)
        rows = torch.rand(len(queries), 9, generator=g) ** (4 * k)
        flat = torch.full((len(queries), 4), 0.25)
        flat[::2] = 0.002  # every other query: a faint map beside a peaked one
        return [
            explorer.MapPanel(f"peaked k={k}", (3, 3), rows / rows.sum(-1, keepdim=True)),
            explorer.MapPanel("flat", (2, 2), flat),
        ]

    def bars(size, k):
        return [
            explorer.Bars(f"cost at {size}", ("x", "y"), (k, size), (f"{k}", f"{size}"), "rb"),
            explorer.Bars("log", ("u", "v"), (10.0**k, 0.0), (f"1e{k}", "none"), "gg", log=True),
        ]

    return explorer.Explorer(
        key="explore-two",
        title="two maps",
        controls=(
            explorer.Control("size", "size", (32, 48), 32),
            explorer.Control("k", "k", (1, 2, 3), 1),
        ),
        maps=maps,
        bars=bars,
        caption=lambda size, k: f"size={size}, k={k}",
        query_grid=3,
        photo=lambda size, k: photo.load_photo(size),
    )


def test_a_bars_figure_draws_charts_of_its_shape_in_place():
    e = _two_map_explorer()
    figure = explorer.BarsFigure(e.bars(size=32, k=1))
    figure.show(e.bars(size=48, k=3))
    (ax, bars, texts), (log_ax, _, log_texts) = figure.charts
    assert [r.get_width() for r in bars] == [3, 48] and texts[1].get_text() == " 48"
    assert log_ax.get_xscale() == "log" and log_texts[1].get_text() == " none"
    assert plotting.figure_problems(figure.fig) == []
    with pytest.raises(ValueError, match="another shape"):
        figure.show([explorer.Bars("one", ("x",), (1.0,), ("1",), "r")])
    plt.close(figure.fig)


def test_a_charts_axis_and_intervals_are_one_description_for_figure_and_page():
    """A chart with a value axis and intervals: the page's payload carries the figure's
    ticks, their labels and the intervals (explorer.bar_axis, read by both drawings), and a
    redraw of the kept figure (the live explorer) takes the new chart's ticks."""
    acc = explorer.Bars(
        "accuracy",
        ("a", "b"),
        (0.62, 0.9),
        ("62%", "90%"),
        ("r", "b"),
        low=(0.5, 0.85),
        high=(0.74, 0.95),
        axis="accuracy (axis from 0)",
    )
    shown = explorer._bars_json(acc)
    assert shown["low"] == [0.5, 0.85] and shown["high"] == [0.74, 0.95]
    axis = shown["axis"]
    assert axis == explorer.bar_axis(acc)
    assert axis["log"] is False and axis["ticks"][0] == 0 and axis["domain"] == [0.0, 0.95]
    # ticks over the values and intervals, none past them by more than 5%
    assert axis["tick_labels"] == ["0.0", "0.2", "0.4", "0.6", "0.8"]
    figure = explorer.BarsFigure([acc])
    figure.fig.canvas.draw()
    ((ax, _, _),) = figure.charts
    assert list(ax.get_xticks()) == pytest.approx(axis["ticks"])
    assert [t.get_text() for t in ax.get_xticklabels()] == axis["tick_labels"]
    assert ax.get_xlabel() == axis["label"] and ax.get_xscale() == "linear"
    whiskers = ax._interval_lines[0].get_segments()
    assert [(s[0][0], s[1][0]) for s in whiskers] == [(0.5, 0.74), (0.85, 0.95)]
    # the bars' colours as the figure shows them on its paper (paled: the error bar shows)
    for rect, colour in zip(figure.charts[0][1], shown["colours"], strict=True):
        *rgb, alpha = rect.get_facecolor()
        assert alpha < 1 and mpl.colors.to_hex([alpha * x + 1 - alpha for x in rgb]) == colour
    # another state's chart drawn into the figure: its ticks
    wide = explorer.Bars("accuracy", ("a", "b"), (20.0, 35.0), ("20", "35"), ("r", "b"),
                         low=(10.0, 30.0), high=(30.0, 41.0), axis="points")  # fmt: skip
    figure.show([wide])
    assert list(ax.get_xticks()) == pytest.approx(explorer.bar_axis(wide)["ticks"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "10", "20", "30", "40"]
    assert explorer.bar_axis(wide)["domain"] == [0.0, 41.0]
    plt.close(figure.fig)
    # a log axis: a tick per power of ten over the values; a chart without: nothing added
    log = explorer.Bars("cost", ("a", "b"), (3e6, 4e8), ("3", "400"), ("r", "b"), log=True,
                        axis="MACs")  # fmt: skip
    assert explorer.bar_axis(log)["ticks"] == [1e6, 1e7, 1e8, 1e9]
    plain = explorer._bars_json(explorer.Bars("t", ("a",), (1.0,), ("1",), ("r",)))
    assert explorer.bar_axis(explorer.Bars("t", ("a",), (1.0,), ("1",), ("r",))) is None
    assert not {"axis", "low", "high"} & set(plain)


def test_alt_text_travels_with_the_stored_figure():
    fig, _ = plotting.new_figure(width=3, height=2)
    assert "alt" not in plotting.figure_png(fig)[1]
    plotting.set_alt(fig, "Two  bars:\n SRA and plain attention.")
    assert plotting.figure_png(fig)[1]["alt"] == "Two bars: SRA and plain attention."
    with pytest.raises(ValueError, match="alt text"):
        plotting.set_alt(fig, "  ")
    plt.close(fig)


def test_cost_bars_are_linear_and_say_the_ratio():
    """A 22x saving is drawn 22 times shorter and says so; small maps print KiB, not 0.0 MB."""
    from vit_notes.counting import AttentionCost

    def cost(macs, nbytes):
        return AttentionCost(macs, 0, 1, 1, nbytes // 4, nbytes)

    b = explorer.layer_cost_bars(
        "t",
        {"plain": cost(22_000_000, 2**20), "SRA": cost(1_000_000, 16 * 1024)},
        {"plain": "tab:blue", "SRA": "tab:orange"},
    )
    assert not b.log and b.values[0] / b.values[1] == 22
    assert b.texts == ("22.0 M, 1.00 MiB", "1.00 M, 16.0 KiB (22× fewer)")
    # "as many" only for equal counts: close ones print how far apart they are
    b = explorer.layer_cost_bars(
        "t",
        {
            "plain": cost(1_000_000, 2**20),
            "same": cost(1_000_000, 2**20),
            "more": cost(1_001_400, 2**20),
            "fewer": cost(970_000, 2**20),
        },
        {"plain": "k", "same": "k", "more": "k", "fewer": "k"},
        ratio_of="MACs",
    )
    assert b.texts[1:] == (
        "1.00 M, 1.00 MiB (as many MACs)",
        "1.00 M, 1.00 MiB (0.14% more MACs)",
        "0.970 M, 1.00 MiB (3.0% fewer MACs)",
    )
    # where M names something else on the page (Swin's window side), the word
    b = explorer.layer_cost_bars(
        "t",
        {"plain": cost(22_000_000, 2**20)},
        {"plain": "tab:blue"},
        millions="million",
    )
    assert b.texts == ("22.0 million, 1.00 MiB",)
    with pytest.raises(ValueError, match="millions"):
        explorer.layer_cost_bars("t", {"plain": cost(1, 4)}, {"plain": "k"}, millions="Mio")


def test_no_explorer_prints_zero_or_draws_a_log_cost_chart():
    """Every state of every chapter's explorer: no number printed as 0.0 (or 0.00, 0 MB) on
    its bars, and the cost charts on a linear scale (a log scale shows 22x as about 2x)."""
    import re

    from vit_notes import registry

    zero = re.compile(r"(?<![\d.,])0(\.0+)?(?![\d.,])\s*(B|KiB|MiB|GiB|MB|M)?\b")
    explorers = [f() for f in registry.explorers()]
    for e in explorers:
        for state in e.states():
            for chart in e.bars(**state):
                assert not chart.log, (e.key, chart.title)
                for text in chart.texts:
                    assert not zero.search(text), (e.key, state, text)

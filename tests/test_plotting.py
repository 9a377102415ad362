"""The figure standard (vit_notes.plotting): what it refuses, and the shared primitives."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
import torch

from vit_notes import photo, plotting


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


# --- explorers: one description, a live widget and a page twin ----------------------------------


def _toy_explorer(calls=None):
    """Two controls; maps over a 2x2 query grid that depend on ``a`` only (``b``: bars only)."""

    def maps(queries, a, b):
        if calls is not None:
            calls.append((a, b))
        rows = torch.arange(len(queries) * 4, dtype=torch.float32).reshape(len(queries), 4) * a
        return [plotting.MapPanel(f"a={a}", (2, 2), rows.softmax(-1))]

    def bars(a, b):
        return [
            plotting.Bars("cost", ("x", "y"), (a, 10.0 * b), (f"{a} M", f"{10 * b} M"), ("r", "b"))
        ]

    return plotting.Explorer(
        key="explore-toy",
        title="toy",
        controls=(
            plotting.Control("a", "a", (1, 2), 1),
            plotting.Control("b", "b", (1, 3), 3),
        ),
        maps=maps,
        bars=bars,
        caption=lambda a, b: f"a={a}, b={b}",
        query_grid=2,
        photo=lambda **_: torch.rand(3, 16, 16),
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
    restored = levels.float() / plotting.MAP_LEVELS * torch.tensor(m["peaks"])[:, None]
    assert torch.allclose(restored, rows, atol=rows.max().item() / 255)
    with pytest.raises(ValueError, match=r"a=5: choose one of \(1, 2\)"):
        e.state_key(dict(a=5, b=1))
    with pytest.raises(ValueError, match="default 7"):
        plotting.Control("a", "a", (1, 2), 7)


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


def test_explorer_widget_moves_of_the_query_redraw_the_maps_alone(monkeypatch):
    calls = []
    e = _toy_explorer(calls)
    drawn = []
    real = e.figures
    monkeypatch.setattr(
        e, "figures", lambda state, query, parts: drawn.append(parts) or real(state, query, parts)
    )
    ui = e.widget()
    sliders = {c.description: c for box in ui.children[:2] for c in box.children}
    assert set(sliders) == {"a", "b", "query row", "query col"}
    drawn.clear()
    sliders["query row"].value = 1
    assert drawn == [("maps",)]
    drawn.clear()
    sliders["b"].value = 1
    assert drawn == [("maps",), ("bars",)]
    sliders["query col"].value = 1
    assert calls == [(1, 3), (1, 1)]  # each state's maps computed once, not per query move

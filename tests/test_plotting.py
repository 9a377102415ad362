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

"""Figures and classroom widgets. The widget cells are not executed headless (nbclient can
deadlock on widget comms), so the explorers are exercised here instead."""
import matplotlib.pyplot as plt
import pytest

from vit_notes import photo, viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_sra_explorer_builds_and_redraws_on_every_slider(monkeypatch):
    drawn = []
    real = viz.draw_sra_explorer
    monkeypatch.setattr(viz, "draw_sra_explorer", lambda **kw: drawn.append(kw) or real(**kw))
    ui = viz.sra_explorer()
    sliders = {c.description: c for box in ui.children[:2] for c in box.children}
    assert set(sliders) == {"sr_ratio", "heads", "image size", "query row", "query col"}
    sliders["sr_ratio"].value = 2
    sliders["heads"].value = 4
    sliders["image size"].value = 112
    sliders["query row"].value = 0.9
    assert drawn[0] == dict(sr_ratio=8, num_heads=1, size=224, query_row=0.3, query_col=0.5)
    assert drawn[-1] == dict(sr_ratio=2, num_heads=4, size=112, query_row=0.9, query_col=0.5)


def test_static_twin_draws_map_and_cost():
    fig = viz.draw_sra_explorer(sr_ratio=4, num_heads=2, size=160, query_row=0.5, query_col=0.5)
    assert len(fig.axes) >= 3
    assert "keys" in fig.axes[1].get_title()


def test_query_maps_coarsen_with_sr_ratio():
    maps = viz.sra_query_maps(photo.load_photo(128), (1, 2, 4, 8), (0.3, 0.5))
    assert [grid for _, grid in maps.values()] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert all(abs(float(row.sum()) - 1) < 1e-5 for row, _ in maps.values())


def test_layout_explorer_redraws(monkeypatch):
    drawn = []
    real = viz.draw_layout_explorer
    monkeypatch.setattr(viz, "draw_layout_explorer", lambda **kw: drawn.append(kw) or real(**kw))
    ui = viz.layout_explorer()
    layout, size = ui.children[0].children
    layout.value = "C-T-T-T"
    size.value = 128
    assert drawn[0] == dict(name="coatnet_0", layout="C-C-T-T", size=224)
    assert drawn[-1] == dict(name="coatnet_0", layout="C-T-T-T", size=128)


def test_shunted_explorer_redraws(monkeypatch):
    drawn = []
    real = viz.draw_shunted_explorer
    monkeypatch.setattr(viz, "draw_shunted_explorer", lambda **kw: drawn.append(kw) or real(**kw))
    ui = viz.shunted_explorer()
    sliders = {c.description: c for box in ui.children[:2] for c in box.children}
    sliders["sr_ratio"].value = 4
    sliders["image size"].value = 112
    assert drawn[0]["sr_ratio"] == 8 and drawn[-1]["sr_ratio"] == 4 and drawn[-1]["size"] == 112

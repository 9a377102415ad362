"""Plotting primitives every chapter draws with (the photo, a query's map on it, cost bars)
and the classroom explorer widget. Every explorer has a static twin: the same drawing
function called once with fixed arguments, so the rendered site teaches without a kernel."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch


def show_photo(
    ax, img: torch.Tensor, query_rc: tuple[float, float] | None = None, title: str | None = None
):
    size = img.shape[-1]
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), extent=(0, size, size, 0))
    if query_rc is not None:
        ax.plot(
            query_rc[1] * size,
            query_rc[0] * size,
            marker="*",
            color="red",
            markersize=14,
            markeredgecolor="white",
        )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def overlay_map(
    ax, img: torch.Tensor, attn_row: torch.Tensor, grid: tuple[int, int], title: str | None = None
):
    """Draw one query's attention over the keys (``attn_row`` of length ``h*w``) on the photo."""
    size = img.shape[-1]
    show_photo(ax, img)
    ax.imshow(
        attn_row.reshape(grid).numpy(),
        cmap="inferno",
        alpha=0.65,
        extent=(0, size, size, 0),
        interpolation="nearest",
    )
    if title:
        ax.set_title(title, fontsize=10)


def plot_query_maps(img: torch.Tensor, maps: dict, query_rc, label: str = "sr_ratio", title=None):
    """The photo with the query, then one panel per entry of ``maps`` (from :func:`sra_query_maps`).

    ``title(key, row, grid)`` names each panel; by default ``"<label>=<key>: keys h×w"``."""
    title = title or (lambda key, row, grid: f"{label}={key}: keys {grid[0]}×{grid[1]}")
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(3 * (len(maps) + 1), 3.2))
    show_photo(axes[0], img, query_rc, "query ★")
    for ax, (key, (row, grid)) in zip(axes[1:], maps.items()):
        overlay_map(ax, img, row, grid, title(key, row, grid))
    fig.tight_layout()
    return fig


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
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    # A decade of room on each side, so that no bar collapses onto the axis.
    ax.set_xlim(
        min(c.macs for c in costs.values()) / 1e7, max(c.macs for c in costs.values()) / 1e6 * 40
    )


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

"""The study chapter's pictures: examples of the dataset, accuracy against cost and against the
size of the detail (from the shipped results), the training loss of a live run beside the
shipped one, and one query's attention in the trained models beside the colour-token toy of the
earlier chapters (identity projections: a query attends to keys of its own colour)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import photo, validate
from ..explorer import Bars, Control, Explorer, MapPanel
from ..plotting import compare_maps, new_figure, set_alt, show_photo, styled
from ..pvt import sra_query_maps
from ..trace import record_attention
from .data import IMG_SIZE, SHAPES, Marks, _check_marks, make_dataset, render_shape
from .models import CONTROLS, MODELS, STUDY
from .shipped import check_results, load, load_results
from .stats import mean_interval
from .train import MAX_EPOCHS

#: The stage-1 token grid of the PVT and Shunted models (stride 4 on 32×32 images).
GRID = (IMG_SIZE // 4, IMG_SIZE // 4)
#: How many test images the chapter's section 6 and the explorer draw, with
#: ``make_dataset(SAMPLE, seed)``: the images depend on ``n``, so both draw the same number and
#: the explorer's test image 1 is the image of section 6's figures.
SAMPLE = 12
#: One colour per model, one marker per family, in every plot of the chapter.
MODEL_COLOURS = dict(
    zip(STUDY, ["black", "tab:blue", "tab:cyan", "tab:purple", "tab:olive",
                "tab:orange", "tab:red", "tab:brown", "tab:green"])
)  # fmt: skip
#: The controls (:data:`.models.CONTROLS`): grey, a marker of their own, "(control)" in the legend.
CONTROL_COLOUR, CONTROL_MARKER = "grey", "X"
MODEL_COLOURS.update(dict.fromkeys(CONTROLS, CONTROL_COLOUR))
FAMILY_MARKERS = {"PVT": "o", "Shunted": "s", "CoAtNet": "D"}
#: The PVT models whose maps are drawn at each ratio.
RATIO_MODELS = {1: "pvt_full", 2: "pvt_sra2", 4: "pvt_sra4", 8: "pvt_sra8"}


def query_token(corner, detail: int, grid: int = GRID[0], size: int = IMG_SIZE) -> int:
    """The flat index, on a ``grid x grid`` token grid of a ``size``-px image, of the token
    (the ``size/grid``-px patch) that holds the centre pixel of a mark with top-left pixel
    ``corner`` (row, col) and side ``detail``."""
    stride = _stride(grid, size)
    detail = validate.positive_int("detail", detail, maximum=size)
    r, c = (v + (detail - 1) // 2 for v in _corner(corner))
    if not (0 <= r < size and 0 <= c < size):
        raise ValueError(f"corner={tuple(corner)}: the mark's centre ({r}, {c}) is off the image")
    return (r // stride) * grid + c // stride


def _corner(corner) -> tuple[int, int]:
    """A mark's top-left pixel ``(row, col)``: two integers >= 0 (the caller checks that the
    mark lies on its image)."""
    if isinstance(corner, torch.Tensor):  # a row of Marks.corners
        corner = corner.tolist()
    row, col = validate.pair("corner", corner)
    big = validate.MAX_IMAGE
    return (
        validate.positive_int("corner[0] (the row)", row, minimum=0, maximum=big),
        validate.positive_int("corner[1] (the column)", col, minimum=0, maximum=big),
    )


def _stride(grid: int, size: int) -> int:
    size = validate.image_side("size", size)
    grid = validate.positive_int("grid", grid, maximum=size)
    if size % grid:
        raise ValueError(f"grid={grid} does not divide size={size}: a token is size/grid pixels")
    return size // grid


def query_rc(corner, detail: int, size: int = IMG_SIZE) -> tuple[float, float]:
    """A mark's centre pixel as a fraction (row, col) of the image, for the figures."""
    size = validate.image_side("size", size)
    detail = validate.positive_int("detail", detail, maximum=size)
    r, c = (v + (detail - 1) // 2 for v in _corner(corner))
    if not (0 <= r < size and 0 <= c < size):
        raise ValueError(f"corner={tuple(corner)}: the mark's centre ({r}, {c}) is off the image")
    return ((r + 0.5) / size, (c + 0.5) / size)


@styled
def show_examples(data: Marks, k: int = 6):
    """The first ``k`` images of ``data`` (at most 6), each titled with its label. The figure
    carries its alt text (:func:`.plotting.set_alt`): the images and their labels."""
    _check_marks("data", data)  # a replaced field must fit the others
    k = validate.positive_int("k", k)
    k = min(k, 6, len(data))
    names = list(SHAPES)
    rows = -(-k // 3)
    fig, axes = new_figure(rows, 3, height=2.3 * rows + 0.2)
    shown = []
    for i, ax in enumerate(axes.flat):
        if i >= k:
            ax.set_visible(False)
            continue
        label = int(data.labels[i])
        what = names[label] if data.task == "majority" else ("same", "different")[1 - label]
        show_photo(ax, data.images[i], title=f"{what}, {int(data.detail[i])} px marks")
        shown.append(what)
    count = ("One", "Two", "Three", "Four", "Five", "Six")[k - 1]
    marks = "three" if data.task == "majority" else "two"
    alt = (
        f"{count} Marks images, each with {marks} small coloured marks on a dark, noisy "
        f"background; their labels are {', '.join(shown)}."
    )
    return set_alt(fig, alt)  # what it shows, for readers who cannot see it


def _mean_std(values) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return t.mean().item(), t.std().item() if len(t) > 1 else 0.0


def _study_rows(results: dict, controls: bool = False) -> list[dict]:
    names = [*STUDY, *CONTROLS] if controls else list(STUDY)
    return [results["models"][n] for n in names if n in results["models"]]


def _control_note(results: dict, name: str) -> str:
    """What a control's legend entry adds to its label. Where its runs were trained is a
    property of the results file, not of the model: the chapter's note says it once, and
    :func:`.shipped.caption` prints it."""
    return "control"


def _style(row: dict, results: dict) -> tuple[str, str, str]:
    """A row's colour, marker and legend label (the model's label of :data:`.models.MODELS`,
    which names the broadcast at R = 8): the controls grey, marked as controls."""
    label = MODELS[row["name"]].label
    if row["name"] in CONTROLS:
        return CONTROL_COLOUR, CONTROL_MARKER, f"{label} ({_control_note(results, row['name'])})"
    return MODEL_COLOURS[row["name"]], FAMILY_MARKERS[row["family"]], label


def _broadcast_alt(results: dict, value, where: str) -> str:
    """The alt texts' sentence on the one-key model (R = 8): a broadcast, not SRA's choice."""
    row = results["models"].get("pvt_sra8")
    if row is None:
        return ""
    return (
        f" The PVT SRA model with R=8 has one key per attention layer, so its attention is a "
        f"broadcast that selects nothing. Its seed-0 run scores {value(row):.1%}{where}."
    )


def _pvt_and_others(rows: list[dict], value) -> tuple[list, list]:
    """``value(row)`` for the PVT models of the study, and for the others (Shunted, CoAtNet)."""
    pvt = [value(r) for r in rows if r["family"] == "PVT"]
    return pvt, [value(r) for r in rows if r["family"] != "PVT"]


def _cost_alt(results: dict) -> str:
    """The alt text of :func:`plot_accuracy_vs_cost`: the range of each family's seed-0 means,
    the seeds of the hollow markers, and each control's runs."""
    pvt, others = _pvt_and_others(_study_rows(results), lambda r: r["mean"])
    text = "Two scatter plots of test accuracy, against multiply-adds per image and against "
    text += "measured time per batch. Each model's filled point is its seed-0 run, with its "
    text += "spread over the test sets"
    if pvt:
        text += f": the PVT models between {min(pvt):.0%} and {max(pvt):.0%}"
    if others:
        text += f", Shunted and CoAtNet between {min(others):.1%} and {max(others):.1%}"
    later = sorted({s for r in _study_rows(results, controls=True) for s in r.get("seeds", {})})
    later = [s for s in later if s != "0"]
    if later:
        seeds = f"seed {later[0]}" if len(later) == 1 else f"seeds {', '.join(later[:-1])}"
        text += f". Hollow markers are the runs from {seeds}"
        text += "" if len(later) == 1 else f" and {later[-1]}"
    for name in CONTROLS:
        row = results["models"].get(name)
        if row is None:
            continue
        runs = row.get("seeds", {"0": row["mean"]})
        each = ", ".join(
            f"{v:.1%} (seed {s}, {'filled' if s == '0' else 'hollow'})" for s, v in runs.items()
        )
        text += (
            f". {len(runs)} grey crosses on the left plot only, the PVT without attention "
            f"(the {_control_note(results, name)}, not timed), at {row['macs'] / 1e6:.2f} "
            f"MMACs: {each}"
        )
    return text + "." + _broadcast_alt(results, lambda r: r["mean"], " over the test sets")


def _detail_alt(results: dict, names, floor) -> str:
    """The alt text of :func:`plot_accuracy_vs_detail`: each family's range at the smallest
    side, the floor's levels and each control's score there."""
    rows = [r for r in _study_rows(results) if names is None or r["name"] in names]
    small = min(int(d) for r in _study_rows(results, controls=True) for d in r["by_detail"])
    pvt, others = _pvt_and_others(rows, lambda r: r["by_detail"][str(small)])
    text = "Line chart of test accuracy against the side of a mark in pixels, one line per "
    text += f"model, each one training run (seed 0). At {small} pixels"
    parts = []
    if pvt:
        parts.append(f"the PVT models score {min(pvt):.0%} to {max(pvt):.0%}")
    if others:
        parts.append(f"Shunted and CoAtNet {min(others):.0%} to {max(others):.0%}")
    text += " " + ", ".join(parts) if parts else ""
    text += "."
    if floor is not None:
        levels: dict = {}
        for d in sorted(floor):
            levels.setdefault(f"{floor[d]:.0%}", []).append(str(d))
        text += (
            " Black dashes mark what the marks' areas alone give: "
            + ", ".join(f"{v} at {', '.join(ds)} pixels" for v, ds in levels.items())
            + "."
        )
    text += " A grey dotted line marks chance."
    for name in CONTROLS:
        row = results["models"].get(name)
        if row is not None and (names is None or name in names):
            text += (
                f" A grey dashed line, the PVT without attention (the "
                f"{_control_note(results, name)}), scores "
                f"{row['by_detail'][str(small)]:.0%} at {small} pixels."
            )
    if names is None or "pvt_sra8" in names:
        text += _broadcast_alt(results, lambda r: r["by_detail"][str(small)], f" at {small} pixels")
    return text


@styled
def plot_accuracy_vs_cost(results: dict):
    """Accuracy (mean ± standard deviation over the test seeds) against multiply-adds per image
    and against the measured time per batch, one point per model of the study and a grey one
    per control (:data:`.models.CONTROLS`; not timed, so only in the left panel). Filled markers:
    the seed-0 run; hollow markers: runs from other training seeds, where the results hold
    some, in the left panel only (only the seed-0 weights were timed). The bars measure the
    test sets of the seed-0 run, not training; the legend says so. The figure carries its alt
    text (:func:`.plotting.set_alt`), computed from ``results``."""
    check_results(results)
    fig, axes = new_figure(1, 2, height=4.2, sharey=True)
    for row in _study_rows(results, controls=True):
        mean, std = _mean_std(row["accuracy"])
        colour, marker, label = _style(row, results)
        style = dict(color=colour, marker=marker, capsize=3, markersize=6, linestyle="none")
        others = [v for s, v in row.get("seeds", {}).items() if s != "0"]
        for ax, x in zip(axes.flat, (row["macs"] / 1e6, row.get("ms"))):
            if x is None:  # a control: not timed
                continue
            ax.errorbar(x, mean, yerr=std, label=label, **style)
            if others and ax is axes.flat[0]:  # only seed 0 was timed: no time for the others
                ax.plot([x] * len(others), others, marker, color=colour, markersize=6,
                        markerfacecolor="none", linestyle="none")  # fmt: skip
    axes[0, 0].set_xlabel("MMACs per 32×32 image")
    axes[0, 1].set_xlabel("ms per 64 images (the reproduce run)")
    axes[0, 0].set_ylabel("test accuracy")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    later = sorted({s for r in _study_rows(results, controls=True) for s in r.get("seeds", {})})
    sets = len(_study_rows(results)[0]["accuracy"])
    for fill, text in (
        ("grey", "filled: the seed-0 run"),
        (
            "none",
            f"hollow: seeds {', '.join(s for s in later if s != '0')} "
            "(left only: only seed 0 was timed)",
        ),
    ):
        handles.append(plt.Line2D([], [], marker="o", color="grey", markerfacecolor=fill,
                                  linestyle="none"))  # fmt: skip
        labels.append(text)
    handles.append(plt.Line2D([], [], marker="|", color="grey", markersize=10, linestyle="none"))
    labels.append(f"bars: seed 0's sd over {sets} test sets")
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return set_alt(fig, _cost_alt(results))  # what it shows, for readers who cannot see it


@styled
def plot_accuracy_vs_detail(results: dict, names=None, chance: float = 0.25, floor=None):
    """Accuracy against the side of the marks (px), one line per model of the study and a grey
    dashed one per control (:data:`.models.CONTROLS`), each the seed-0 run (the title says so:
    one training run per model); ``names``: only
    these models. A grey dotted line at ``chance``. ``floor``: side -> accuracy of a baseline
    (:func:`.data.area_floor`), a black dash at each side; ``None``: none. The figure carries
    its alt text (:func:`.plotting.set_alt`), computed from ``results``."""
    check_results(results)
    if names is not None:
        names = validate.nonempty_sequence("names", names)
        for name in names:
            validate.one_of("names", name, MODELS)
    chance = validate.number("chance", chance, low=0.0, high=1.0)
    if floor is not None:
        validate.nonempty_dict("floor", floor, "data.area_floor")
        floor = {validate.positive_int("floor's sides", d): validate.number(
            f"floor[{d}]", v, low=0.0, high=1.0) for d, v in floor.items()}  # fmt: skip
    fig, axes = new_figure(1, 1, height=4.0)
    ax = axes[0, 0]
    for row in _study_rows(results, controls=True):
        if names is not None and row["name"] not in names:
            continue
        sizes = sorted(int(d) for d in row["by_detail"])
        colour, marker, label = _style(row, results)
        ax.plot(
            sizes,
            [row["by_detail"][str(d)] for d in sizes],
            marker=marker,
            color=colour,
            linestyle="--" if row["name"] in CONTROLS else "-",
            label=label,
        )
    ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label=f"chance ({chance:g})")
    if floor is not None:
        sides = sorted(int(d) for d in floor)
        # one dash per side: the sides are whole pixels, nothing lies between them
        ax.plot(sides, [floor[d] for d in sides], color="black", linestyle="none",
                marker="_", markersize=20, markeredgewidth=2,
                label="from areas alone")  # fmt: skip
    ax.set_xlabel(
        "side of a mark (px)\none token's patch: 4 px at stage 1 (PVT, the control, Shunted),"
        "\n8 px at CoAtNet's first attention layer"
    )
    ax.set_ylabel("test accuracy")
    ax.set_title("each line: one training run per model (seed 0)")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right center")
    return set_alt(fig, _detail_alt(results, names, floor))  # for readers who cannot see it


def _losses(name: str, losses) -> list[float]:
    """A run's loss per epoch: a non-empty list of finite numbers, 0 or more."""
    losses = validate.nonempty_sequence(name, losses, limit=MAX_EPOCHS)
    return [validate.number(f"{name}[{i}]", v, low=0.0) for i, v in enumerate(losses)]


@styled
def plot_losses(live: list[float] | None, shipped: list[float], label: str):
    """The training loss per epoch of the shipped run, and of a run in this session beside it
    (``live``; ``None``: the shipped run alone)."""
    shipped = _losses("shipped", shipped)
    if live is not None:
        live = _losses("live", live)
    label = validate.text("label", label, allow_empty=True)
    fig, axes = new_figure(1, 1, height=3.0, width=5.5)
    ax = axes[0, 0]
    epochs = range(1, len(shipped) + 1)
    ax.plot(epochs, shipped, color="grey", linewidth=4, alpha=0.5, label="shipped run")
    if live is not None:
        ax.plot(range(1, len(live) + 1), live, color="tab:blue", label="this run")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title(label)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


@torch.no_grad()
def _stage1_rows(
    model, img: torch.Tensor, query, head: int = 0
) -> list[tuple[torch.Tensor, tuple]]:
    """Head ``head``'s attention of token ``query`` (an index, or a list: one row each) in the first
    block of stage 1, per head group (the image through the stem and that block only: later
    stages have fewer tokens)."""
    x, H, W = model.patch_embed1(img[None])
    block = model.block1[0]
    with torch.no_grad(), record_attention(block, root="block", query=query) as maps:
        block(x, H, W)
    heads = min(m.shape[1] for m in maps.values())
    if not 0 <= head < heads:
        raise ValueError(
            f"head={head}, but the first block of stage 1 has {heads} head(s)"
            + (" per head group" if len(maps) > 1 else "")
            + f": use a head from 0 to {heads - 1}"
        )
    pick = (0, head) if isinstance(query, list) else (0, head, 0)
    return [(m[pick], maps.grids[k]) for k, m in maps.items()]


def learned_query_maps(
    img: torch.Tensor, query, names=None
) -> list[tuple[str, torch.Tensor, tuple]]:
    """One query's attention in the first block of each trained model (shipped weights, head
    0; a Shunted layer gives one panel per head group): ``[(title, weights, key_grid), ...]``.
    ``query``: a fraction (row, col) of the image, of at most
    :data:`~vit_notes.validate.MAX_PHOTO_TOKENS` tokens of 4 px (the models' first stride)."""
    img = validate.photo("img", img, patch=4, max_tokens=validate.MAX_PHOTO_TOKENS)
    names = (
        list(RATIO_MODELS.values()) if names is None else validate.nonempty_sequence("names", names)
    )
    for name in names:
        validate.one_of("names", name, STUDY)
    q = photo.query_index(GRID, *validate.fraction_pair("query", query))
    panels = []
    for name in names:
        rows = _stage1_rows(load(name), img, q)
        tags = ["coarse", "fine"] if len(rows) == 2 else [None]
        for tag, (row, grid) in zip(tags, rows):
            # A head group's panel is named by its group alone (the model's label is long).
            title = f"{tag} group" if tag else STUDY[name].label
            panels.append((f"{title}: {grid[0]}×{grid[1]} keys", row, grid))
    return panels


def toy_query_maps(
    img: torch.Tensor, query, ratios=(1, 2, 4, 8)
) -> list[tuple[str, torch.Tensor, tuple]]:
    """The same query through the earlier chapters' toy: colour tokens of 4×4 patches and
    identity projections (:func:`vit_notes.pvt.sra_query_maps`), at each ``sr_ratio``."""
    maps = sra_query_maps(img, ratios, query)
    return [(f"toy, R={r}: {g[0]}×{g[1]} keys", row, g) for r, (row, g) in maps.items()]


def with_levels(
    panels: list[tuple[str, torch.Tensor, tuple]],
) -> list[tuple[str, torch.Tensor, tuple]]:
    """``panels`` (``[(title, weights, key_grid), ...]``) with each title's second line stating
    the panel's largest weight as a multiple of its uniform weight, 1 over its keys, to three
    significant figures, short enough that neighbouring titles do not overlap. On one
    colour scale a panel with few keys is bright even where its weights are uniform: the
    titles say so."""
    out = []
    for i, panel in enumerate(validate.nonempty_sequence("panels", panels)):
        if not validate._ordered(panel) or len(panel) != 3:
            raise validate.InputTypeError(
                f"panels[{i}] must be (title, weights, key_grid), got {validate.shown(panel)}"
            )
        title, row, grid = panel
        validate.text(f"panels[{i}]'s title", title, allow_empty=True)
        h, w = validate.grid(f"panels[{i}]'s key grid", grid)
        keys = h * w
        validate.attention_rows(f"panels[{i}]'s weights", row, keys)  # else no "× uniform"
        top = float(row.max())  # printed with its ratio: never shown below uniform
        line = f"peak {top * keys:.3g}× uniform"
        out.append((f"{title}\n{line}", row, grid))
    return out


def learned_explorer(images: int = 6, seed: int = 0) -> Explorer:
    """The chapter's explorer: a test image (the first ``images`` of
    ``make_dataset(max(images, SAMPLE), seed)``, so that image 1 is section 6's), a ratio
    and a query on the 8×8 stage-1 grid; the trained PVT at that ratio (first attention layer,
    head 0, shipped weights) beside the colour-token toy at the same ratio, on one colour
    scale, and the four ratios' accuracy and the control's without attention (shipped results:
    the mean over training seeds with its 95% interval) with the chosen ratio outlined.
    Shown by a notebook: the live widget in a kernel, the precomputed page twin on the site
    (:class:`~vit_notes.explorer.Explorer`)."""
    images = validate.positive_int("images", images, maximum=100, why="one control per image")
    seed = validate.seed("seed", seed)
    drawn = max(images, SAMPLE)  # the images depend on how many are drawn (make_dataset)
    start = min(1, images - 1)  # section 6's image 1, or image 0 where it is the only one
    test = make_dataset(drawn, seed)
    results = load_results()["models"]
    names = list(SHAPES)

    models = {r: load(name) for r, name in RATIO_MODELS.items()}  # built once, not per state

    def maps(queries, sr_ratio, image):
        img = test.images[image]
        ((trained, grid),) = _stage1_rows(
            models[sr_ratio], img, [photo.query_index(GRID, *q) for q in queries]
        )
        ((toy, toy_grid),) = sra_query_maps(img, (sr_ratio,), queries).values()
        return [
            MapPanel(f"trained, R={sr_ratio}: {grid[0]}×{grid[1]} keys", grid, trained),
            MapPanel(f"toy, R={sr_ratio}: {toy_grid[0]}×{toy_grid[1]} keys", toy_grid, toy),
        ]

    # The bars: each ratio's mean over its training seeds with the 95% interval (the runs of
    # section 4), not the shipped seed-0 run alone, which no ranking can rest on; last, the
    # control without attention, the reference the ratios are read against.
    bar_models = {f"R={r}": n for r, n in RATIO_MODELS.items() if r != 8} | {
        "R=8, 1 key:\nbroadcast": RATIO_MODELS[8],  # it selects nothing (section 2)
        "no attention,\ncontrol": "pvt_none",  # the control without attention
    }
    runs = {k: mean_interval(results[n]["seeds"].values()) for k, n in bar_models.items()}
    n_runs = min(i.n for i in runs.values())
    # an accuracy lies in [0, 1]: a t-interval's end beyond it is clipped there (and starred)
    ends = {k: (max(i.low, 0.0), min(i.high, 1.0)) for k, i in runs.items()}
    stars = {k: "*" if ends[k] != (i.low, i.high) else "" for k, i in runs.items()}

    def bars(sr_ratio, image):
        return [
            Bars(
                f"accuracy of the trained PVT: mean of {n_runs} training runs, 95% interval",
                labels=tuple(runs),
                values=tuple(i.mean for i in runs.values()),
                texts=tuple(
                    f"{i.mean:.1%} [{ends[k][0]:.1%}, {ends[k][1]:.1%}]{stars[k]}"
                    for k, i in runs.items()
                ),
                colours=tuple(MODEL_COLOURS[n] for n in bar_models.values()),
                selected=list(RATIO_MODELS).index(sr_ratio),
                low=tuple(lo for lo, _ in ends.values()),
                high=tuple(hi for _, hi in ends.values()),
                axis="test accuracy (axis from 0; 1 = every image right; *: clipped at 1)",
            )
        ]

    def caption(sr_ratio, image):
        return (
            f"test image {image} (n = {drawn}, seed {seed}): label "
            f"{names[int(test.labels[image])]}, "
            f"{int(test.detail[image])} px marks; query: cyan box"
        )

    return Explorer(
        key="explore-learned",
        title="What a trained PVT attends to: image, sr_ratio, query",
        controls=(
            Control("sr_ratio", "sr_ratio", tuple(RATIO_MODELS), default=2),
            Control("image", "test image", tuple(range(images)), default=start),
        ),
        maps=maps,
        bars=bars,
        caption=caption,
        query_grid=GRID[0],
        # the token at the centre of the default image's first mark
        default_query=divmod(query_token(test.corners[start, 0], int(test.detail[start])), GRID[1]),
        photo=lambda image, **_: test.images[image].clone(),  # a copy: the cache stays
        alt=(
            "Explorer of a trained PVT's first attention layer: one test image, the map of one "
            "query at sr_ratio 2 beside the colour-token toy's map, and bars of the four "
            "ratios' test accuracy and that of the PVT without attention (the control), each "
            f"the mean of {n_runs} training runs with its interval."
        ),
    )


def mark_tokens(
    corner, detail: int, grid: int = GRID[0], size: int = IMG_SIZE, shape: int | None = None
) -> list[int]:
    """The flat indices of the tokens (``size/grid``-px patches) that hold a pixel of a mark.

    ``shape``: the mark's shape number (:data:`SHAPES`); its pixels are
    :func:`render_shape`'s, so a patch that the mark's ``detail x detail`` box overlaps only
    where the shape is blank does not count. ``None``: every patch the box overlaps."""
    stride = _stride(grid, size)
    (r, c), d = _corner(corner), validate.positive_int("detail", detail, maximum=size)
    if r + d > size or c + d > size:
        raise ValueError(
            f"corner={(r, c)}, detail={d}: the mark's box ends at ({r + d - 1}, {c + d - 1}), "
            f"off the {size}x{size} image; give a mark that lies on it"
        )
    if shape is None:
        rows = range(r // stride, (r + d - 1) // stride + 1)
        cols = range(c // stride, (c + d - 1) // stride + 1)
        return [i * grid + j for i in rows for j in cols]
    if isinstance(shape, torch.Tensor) and shape.numel() == 1:  # an entry of Marks.shapes
        shape = shape.item()
    pixels = render_shape(shape, d).nonzero()
    return sorted({((r + y) // stride) * grid + (c + x) // stride for y, x in zip(*pixels)})


@torch.no_grad()
def attention_on_marks(
    data: Marks, name: str | None = None, count: int = 200, head: int = 0, per_image: bool = False
) -> dict:
    """Where one query's attention goes, averaged over the first ``count`` images of ``data``
    ("majority" task): the query is the token at the centre of the first mark of the shared
    pair; the result is the mean share of its weight on the tokens of that mark itself
    (``"own mark"``), of its partner of the same shape (``"partner"``), of the mark of the
    other shape (``"odd mark"``) and on the rest (``"rest"``: tokens whose 4-px patch overlaps no
    mark, though their receptive field may reach one), full 8×8 key grid.

    ``name``: a trained model of the study with full attention at stage 1 (its first block,
    head ``head``, 0 by default); ``None``: the earlier chapters' toy (colour tokens, identity
    weights, R=1). ``per_image``: each share as a list, one value per image, for an interval
    over the images, instead of the mean."""
    per_image = validate.flag("per_image", per_image)
    validate.instance("data", data, Marks, "pass what make_dataset returns")
    if name is not None:
        validate.one_of("name", name, STUDY)
    head = validate.positive_int("head", head, minimum=0, maximum=validate.MAX_CHANNELS)
    if data.task != "majority":
        raise ValueError("attention_on_marks needs the 'majority' task: a pair and an odd mark")
    if name is None and head != 0:
        raise ValueError(
            f"head={head}, but the toy (name=None) has 1 head: use head=0, or name a trained "
            "model of the study"
        )
    model = None if name is None else load(name)
    size = data.images.shape[-1]  # the data's own size: its stage-1 grid is size/4 a side
    grid = (size // 4, size // 4)
    totals = {k: [] for k in ("own mark", "partner", "odd mark", "rest")}
    count = min(validate.positive_int("count", count), len(data))
    for i in range(count):
        d = int(data.detail[i])
        q = query_token(data.corners[i, 0], d, grid=grid[0], size=size)
        if model is None:
            ((row, keys),) = sra_query_maps(
                data.images[i], (1,), query_rc(data.corners[i, 0], d, size=size)
            ).values()
        else:
            ((row, keys),) = _stage1_rows(model, data.images[i], q, head=head)
        if tuple(keys) != grid:
            raise ValueError(
                f"{name or 'the toy'}: its first layer has a {keys} key grid, not the full "
                f"{grid} of these {size}-px images"
            )
        marks = [
            set(mark_tokens(data.corners[i, j], d, grid[0], size, shape=data.shapes[i, j]))
            for j in range(3)
        ]
        own, partner, odd = marks[0], marks[1] - marks[0], marks[2] - marks[0] - marks[1]
        shares = {"own mark": own, "partner": partner, "odd mark": odd}
        for key, tokens in shares.items():
            totals[key].append(float(row[sorted(tokens)].sum()) if tokens else 0.0)
        totals["rest"].append(1.0 - sum(totals[k][-1] for k in shares))
    if per_image:
        return totals
    return {k: sum(v) / count for k, v in totals.items()}


__all__ = [
    "learned_explorer",
    "attention_on_marks",
    "compare_maps",
    "learned_query_maps",
    "mark_tokens",
    "plot_accuracy_vs_cost",
    "plot_accuracy_vs_detail",
    "plot_losses",
    "query_rc",
    "query_token",
    "show_examples",
    "toy_query_maps",
    "with_levels",
]

"""The comparison chapter's checkers, and every chapter's checkers against any answer."""

import math
import re
import statistics

import numpy as np
import pytest
import slips
import torch

from vit_notes import coatnet, compare, counting, pvt, registry, shunted


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (16, True, "N·N_k grows 4 × 4 = 16×"),
        ("16", True, "the keys a query sees, N_k, 4×"),
        (4, False, "4× is the growth of the tokens N"),
        (2, False, "2× is the growth of the image's side"),
        (8.03, False, "8.03× is the whole layer's growth"),
        (None, False, "as a number, got None"),
        (7, False, "7× is too low"),
        (64, False, "64× is too high"),
    ],
)
def test_growth_prediction(capsys, answer, ok, says):
    assert compare.check_growth(answer) is ok
    out = " ".join(capsys.readouterr().out.split())
    assert says in out
    if ok:
        assert "Section 3 prints it for every layer" in out
    else:  # a prediction round: a wrong answer is never shown the figure
        assert "16" not in out and "8.03" not in out.replace("8.03× is", "")


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        ("PVT SRA, R=8", True, "784 keys (8×8 tokens each), maps 300 MiB: the most keys a query"),
        ("pvt sra, r=8", True, "a query sees 49 keys at every size. The maps grow only in step"),
        (
            "PVT SRA, R=8",
            True,
            "In “PVT B2-Li linear SRA” and “Swin, 7×7 windows”, a query sees 49",
        ),
        # each other layer that fits: what it gives up against SRA's
        ("PVT SRA, R=8", True, "linear SRA” gives up detail: a query sees 16× fewer keys than"),
        ("PVT SRA, R=8", True, "windows” gives up the wide view: a query sees 16× fewer keys"),
        ("PVT SRA, R=8", True, "The trade-off: the keys of “PVT SRA, R=8” grow with the tokens"),
        ("swin 7x7", False, "“Swin, 7×7 windows” at 896²: 49 keys (one token each)"),
        ("PVT SRA R=8", True, "784 keys (8×8 tokens each), maps 300 MiB: the most keys a query"),
        ("pvt  sra r = 8.", True, "784 keys (8×8 tokens each), maps 300 MiB: the most keys"),
        ("Shunted R=8 and 4", False, "maps 750 MiB, 1.47× the 512 MiB budget"),
        ("PVT SRA, R=8", True, "19 MiB here, over 512 MiB only beyond about 4,681² pixels"),
        # keys per head group: the fine group's heads see 4× SRA's, never the groups' sum
        ("PVT SRA, R=8", True, "its group with the most keys sees 4× as many keys (3,136)"),
        ("PVT SRA, R=8", True, "each 4×4 tokens against 8×8: 2× finer per side"),
        # what it gives up is computed (coarser keys), not a claim about objects
        ("PVT SRA, R=8", True, "the most keys a query sees that fit. It gives up detail. In"),
        (
            "Shunted",
            False,
            "per head group 784 keys (8×8 tokens each) and 3,136 keys (4×4 tokens each)",
        ),
        (
            "linear",
            False,
            "there a query sees 16× as many keys (784 against 49). And this layer's keys are 4×",
        ),
        # Swin's keys are single tokens: finer than SRA's, but fewer and local
        ("Swin, 7×7 windows", False, "49 keys (one token each), maps 19 MiB: it fits"),
        ("Swin", False, "This layer's keys are 8× finer per side than those of “PVT SRA, R=8”"),
        ("Swin", False, "They cover only 49 of the 50,176 tokens: a local view"),
        ("Shunted", False, "maps 750 MiB, 1.47× the 512 MiB budget"),
        ("full attention", False, "37.5× the 512 MiB budget"),
        ("sra", False, "names 2 layers, 'PVT SRA, R=8', 'PVT B2-Li linear SRA': which one?"),
    ],
)
def test_layer_judgement(capsys, answer, ok, says):
    assert compare.check_layer_choice(answer) is ok
    assert says in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (81, True, "N·N_k grows 9 × 9 = 81×"),
        (16, False, "16× is the growth to 448², which section 3 prints"),
        (9, False, "9× is the growth of the tokens N"),
        (40, False, "40× is too low"),
        ("81x", True, "N·N_k grows 9 × 9 = 81×"),
        ("81×", True, "N·N_k grows 9 × 9 = 81×"),
        (80, False, "80× is too low"),
        (82.5, False, "82.5× is too high"),
    ],
)
def test_growth_prediction_beyond_the_printed_table(capsys, answer, ok, says):
    args = dict(layer="Shunted, R=8 and 4", start=224, end=672)
    assert compare.check_growth(answer, **args) is ok
    out = " ".join(capsys.readouterr().out.split())
    assert says in out and ("81" in out) is ok


@pytest.mark.parametrize(
    "layer,less",
    [("PVT SRA, R=8", True), ("PVT B2-Li linear SRA", True), ("Swin, 7×7 windows", False)],
)
def test_growth_says_less_only_where_the_whole_layer_grows_less(capsys, layer, less):
    # the rest of a layer grows at most in step with the tokens: "less" where the products
    # outgrow it, nothing where they grow alike (Swin's windows); "maps" means attention maps
    a, b = (compare.layers()[layer].cost(s // 4, s // 4, 64, 2) for s in (224, 448))
    assert compare.check_growth(b.attn_macs / a.attn_macs, layer=layer)
    out = " ".join(capsys.readouterr().out.split())
    assert ("less, since the rest of the layer grows at most in step with N" in out) is less
    assert "linear maps" not in out


def test_the_fixed_key_limit_is_where_the_maps_pass_the_budget(capsys):
    layer = compare.layers()["PVT B2-Li linear SRA"]
    side = compare.fixed_keys_limit(layer.cost(224, 224, 64, 2), 896, 512)
    below, above = (int(side * f) // 4 * 4 for f in (0.99, 1.01))
    for s, fits in ((below, True), (above, False)):
        mib = layer.cost(s // 4, s // 4, 64, 2).attn_bytes / 2**20
        assert (mib <= 512) is fits


def test_time_lineup_threads_are_restored():
    before = torch.get_num_threads()
    compare.time_lineup(["pvt_v2_b0"], rounds=1, min_run_time=0.01, img_size=64, threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        compare.time_lineup(["pvt_v2_b0"], threads=0)


def test_the_lineup_is_one_model_per_compared_paper():
    names = compare.lineup()
    compared = {d.family for d in registry.designs()}
    assert {registry.model_info(n).family for n in names} == compared
    cites = [registry.model_info(n).paper.cite for n in names]
    assert len(set(cites)) == len(cites)
    for n in names:  # the smallest of its paper
        info = registry.model_info(n)
        same = [m for m in registry.list_models(info.family)
                if registry.model_info(m).paper.cite == info.paper.cite]  # fmt: skip
        assert info.paper.params_m == min(registry.model_info(m).paper.params_m for m in same)


def test_a_readme_figure_is_recorded_as_the_readmes():
    """The comparison marks a figure that a README gives, not a paper's table, from
    ``Paper.readme``: only parameters and top-1 can be such, and the source names the README."""
    for name in registry.list_models():
        p = registry.model_info(name).paper
        assert set(p.readme) <= {"params_m", "top1"}, (name, p.readme)
        assert not p.readme or "README" in p.source, (name, p.source)
    # Shunted's parameters and top-1: the official README's results list
    assert registry.model_info("shunted_t").paper.readme == ("params_m", "top1")


def test_the_recorded_timing_covers_the_lineup_as_it_is_now():
    # A design that joins the comparison, or a model that changes, needs a new recording:
    # python bench/compare_cost.py (the chapter would refuse the stale file).
    rows = counting.family_table(compare.lineup())
    gmacs = {r["model"]: r["gmacs"] for r in rows}
    m = compare.recorded_times(list(gmacs), gmacs)
    assert [r["model"] for r in m.rows] == list(gmacs)
    for r in m.rows:
        assert len(r["ms_rounds"]) >= 3 and r["ms"] == statistics.median(r["ms_rounds"])
        assert len(r["load_avg"]) == 2
    assert "bench/compare_cost.py" in m.caption()


def test_a_stale_recording_is_refused_with_the_command_to_rerun():
    rows = counting.family_table(compare.lineup())
    gmacs = {r["model"]: r["gmacs"] for r in rows}
    with pytest.raises(ValueError, match=r"no recorded time for \['not_a_model'\].*compare_cost"):
        compare.recorded_times([*gmacs, "not_a_model"], {**gmacs, "not_a_model": 1.0})
    first = next(iter(gmacs))
    with pytest.raises(ValueError, match=f"{first} was timed at .* changed since"):
        compare.recorded_times(list(gmacs), {**gmacs, first: gmacs[first] * 2})


def test_time_lineup_rows():
    (row,) = compare.time_lineup(["pvt_v2_b0"], rounds=2, min_run_time=0.01, img_size=64)
    assert row["model"] == "pvt_v2_b0" and row["img_size"] == 64
    assert len(row["ms_rounds"]) == 2 and row["gmacs"] > 0
    # two rounds: the median is the mean of both, not one of them
    assert row["ms"] == pytest.approx(sum(row["ms_rounds"]) / 2)


CHECKERS = [
    pvt.check_kv_tokens,
    pvt.check_sra_macs,
    pvt.check_explorer_prediction,
    pvt.check_sr_choice,
    coatnet.check_rel_table_size,
    coatnet.check_attention_macs,
    coatnet.check_layout_prediction,
    coatnet.check_layout_choice,
    shunted.check_shunted_kv_tokens,
    shunted.check_shunted_macs,
    shunted.check_explorer_prediction,
    shunted.check_ratio_choice,
    compare.check_growth,
    compare.check_layer_choice,
]
ANSWERS = [
    None,
    "",
    "forty-nine",
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**400),
    1e308,
    torch.ones(3),
    torch.tensor(math.nan),
    np.int64(7),
    np.array([1.0, 2.0]),
    [49],
    (1, 2, 3),
    {"a": 1},
    True,
    object(),
]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_checker_answers_anything_with_one_message(capsys, monkeypatch, checker):
    from vit_notes import checking

    monkeypatch.setattr(checking, "LINE_WIDTH", 80)  # as on the page
    for answer in ANSWERS:
        assert checker(answer) in (True, False)
        out = capsys.readouterr().out
        assert out.startswith(("❌ not yet: ", "✅ correct: ")), (answer, out)
        assert all(len(line) <= 80 for line in out.splitlines()), out


def test_count_by_op_sums_to_the_total_and_isolates_the_products():
    with torch.device("meta"):
        m = registry.create("pvt_v2_b0", img_size=64).eval()
    x = torch.empty(1, 3, 64, 64, device="meta")
    by_op = counting.count_macs_by_op(m, x)
    assert sum(by_op.values()) == counting.count_macs(m, x)
    assert by_op["bmm"] > 0  # q kᵀ and attn v on the explicit path of the meta device


def test_the_layer_choice_never_sums_head_groups_nor_calls_coarser_keys_finer(capsys):
    """The judgement checker counts Shunted's keys per head group (784 and 3,136, not their
    sum 3,920) and says "finer" only of keys with fewer tokens a side behind them."""
    for answer in compare.layers():
        compare.check_layer_choice(answer)
        out = " ".join(capsys.readouterr().out.split())
        assert "3,920" not in out and not re.search(r"(?<![\d.])5×", out), out
        if answer == "Swin, 7×7 windows":  # single tokens: finer than SRA's, never called coarser
            assert "coarser" not in out and "finer per side" in out, out
        if answer == "PVT B2-Li linear SRA":  # 32×32 tokens behind a key: coarser
            assert "finer" not in out and "4× coarser per side" in out, out
    groups = compare.layer_keys(896, 512)["Shunted, R=8 and 4"]["groups"]
    assert groups == ((784, 8), (3136, 4))
    assert compare.layer_keys(896, 512)["Swin, 7×7 windows"]["groups"] == ((49, 1),)


def test_the_layer_choice_message_chains_no_semicolons(capsys):
    compare.check_layer_choice("PVT SRA, R=8")
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "; PVT v2" not in out and ". In “PVT B2-Li linear SRA” and “Swin, 7×7 windows”, a " in out
    )
    # the two layers of 49 keys reach as far: one sentence for both, and no possessive label
    assert out.count("4,681² pixels") == 1 and "R=8's keys" not in out, out
    assert "“PVT B2-Li linear SRA” gives up detail" in out and "“Swin, 7×7 windows” gives up" in out


def test_the_layer_choice_quotes_every_label_it_names(capsys):
    """The labels hold commas ("PVT SRA, R=8", "Swin, 7×7 windows"): unquoted in a sentence they
    read as a list. Every label the checker's messages name stands in quotes."""
    labels = list(compare.layers())
    for answer in labels:
        compare.check_layer_choice(answer)
        out = " ".join(capsys.readouterr().out.split())
        for label in labels:
            bare = out.replace(f"“{label}”", "")
            assert label not in bare, (answer, label, out)


def test_each_query_panel_knows_its_query_patch():
    """The comparison's query box marks each panel's own query token: the stride-4 grid for
    PVT and Shunted, CoAtNet's stride-16 grid (issue: one box drawn on every panel)."""
    from vit_notes import photo, registry

    img = photo.load_photo(224)
    found = {d.family: registry.query_patches(d, img) for d in registry.designs()}
    assert found == {"pvt": [4], "coatnet": [16], "shunted": [4, 4], "swin": [4]}


def test_a_panel_title_says_how_many_keys_a_query_sees():
    import torch

    from vit_notes import registry

    everywhere = torch.full((2, 49), 1 / 49)
    assert registry.panel_title("SRA", everywhere, (7, 7)) == "SRA: 7×7 keys"
    window = torch.zeros(2, 64)
    window[0, :4] = window[1, 8:14] = 0.1  # the second query sees 6 keys
    assert registry.panel_title("W", window, (8, 8)) == "W: 6 of 8×8 keys"
    assert registry.panel_title("W", window, (8, 8), sep=":\n") == "W:\n6 of 8×8 keys"


def test_the_query_box_is_the_query_tokens_patch():
    import torch

    from vit_notes import plotting

    img = torch.zeros(3, 224, 224)
    for patch, corner in ((4, (112, 64)), (16, (112, 64)), (None, (104.0, 59.2))):
        got, side, _ = plotting._query_marks(img, (0.3, 0.5), patch)
        assert got == pytest.approx(corner) and side == (patch or 16)


def test_the_swin_panel_outlines_the_query_window_in_the_figure_and_on_the_page():
    """Swin's panel outlines the 7×7 window (28×28 px at stride 4) of keys its query sees, in
    the matplotlib figure and in the page's payload alike; no other panel gets an outline."""
    import matplotlib.pyplot as plt

    from vit_notes import photo, plotting

    e = registry.designs_explorer()
    panels = e.state_maps(e.default_state())
    payload = e.payload()["states"][""]["maps"]
    i = e.query_cell(e.default_query)
    (fig,) = e.figures(e.default_state(), parts=("maps",))
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]
    for p, shown, ax in zip(panels, payload, axes, strict=True):
        box = plotting.seen_box(p.rows[i], p.grid)
        outlines = [r for r in ax.patches[1:] if r.get_visible()]  # [0]: the query box
        if p.title.startswith("Swin"):
            t, left, b, r = box
            assert (b - t, r - left) == (7, 7) and shown["seen"][i] == [t, left, b, r]
            (rect,) = outlines
            assert (rect.get_width(), rect.get_height()) == (28, 28)
            assert (rect.get_x(), rect.get_y()) == (left * 4, t * 4)
            q = photo.query_at(p.grid, [e.query_positions()[i]])[0]  # inside its window
            assert t <= q // p.grid[1] < b and left <= q % p.grid[1] < r
        else:
            assert box is None and "seen" not in shown and not outlines
    plt.close(fig)


def test_the_live_explorer_draws_the_pages_swin_windows():
    """The live widget draws the page's payload (explorer.js): its Swin panel's window for
    each query is the one checked above against the figure's outline."""
    e = registry.designs_explorer()
    w = e.widget()
    page = e.payload()
    assert w.payload == page
    for state in page["states"].values():
        for m in state["maps"]:
            assert ("seen" in m) == m["title"].startswith("Swin")
    w.state = {"query": [10, 2]}
    assert w.state["query"] == [10, 2]


def test_the_explorer_picture_says_it_is_the_toy_and_what_it_shows():
    """The starting state's picture, in the notebook and as the page's fallback image, is
    described in words: the toy, the query's cell, every panel's largest weight, and the panel
    whose weight tops the shared colour scale; no click instruction. Its caption names the toy
    too, on the picture and on the page."""
    e = registry.designs_explorer()
    alt = e.fallback_alt()
    i = e.query_cell(e.default_query)
    panels = e.state_maps(e.default_state())
    peaks = [float(p.rows[i].max()) for p in panels]
    assert "toy" in alt and "not a trained model" in alt and "click" not in alt, alt
    assert f"row {e.default_query[0]} and column {e.default_query[1]}" in alt, alt
    for p, peak in zip(panels, peaks):
        assert f"“{p.title.split(':')[0]}”: {peak:.2f}" in alt, (p.title, alt)
    top = panels[peaks.index(max(peaks))].title.split(":")[0]
    assert f"“{top}” sets the top of the colour scale, {max(peaks):.2f}" in alt, alt
    from html import escape

    assert f'alt="{escape(alt)}"' in e.html(fallback=b"\x89PNG fake")
    assert "toy" in e.caption() and e.payload()["states"][""]["caption"] == e.caption()


def test_the_layer_choice_names_every_layer_an_answer_fits(capsys):
    """ "SRA" is in two labels: the checker names both and asks which, not "choose one of"."""
    assert compare.check_layer_choice("SRA") is False
    out = " ".join(capsys.readouterr().out.split())
    assert "'SRA' names 2 layers" in out and "'PVT SRA, R=8'" in out, out
    assert "'PVT B2-Li linear SRA'" in out and "choose one of" not in out, out
    assert compare.layers_named("sra", ["PVT SRA, R=8", "Swin, 7×7 windows"]) == ["PVT SRA, R=8"]
    assert compare.layers_named(3, ["PVT SRA, R=8"]) == []


# --- bad inputs: one slip per public function of the chapter (tests/test_robust_api.py) ---


def _slip_cost():
    return pvt.sra_cost(56, 56, 64, 1, 8)


#: ``'package.name' -> (args, kwargs, argument the message must name)``: the student slip.
API_SLIPS: dict[str, tuple] = {
    "vit_notes.compare.time_lineup": ((["pvt_tinyy"],), {}, "names"),
    "vit_notes.compare.recorded_times": ((["pvt_tiny"], {}), {}, "gmacs"),
    "vit_notes.compare.fixed_keys_limit": (("cost", 896, 512.0), {}, "cost"),
    "vit_notes.compare.check_growth": ((4,), dict(layer="PVT SRA R=8"), "layer"),
    "vit_notes.compare.layer_keys": ((), dict(size=0), "size"),
    "vit_notes.compare.check_layer_choice": (("Swin",), dict(budget_mib=0), "budget_mib"),
    "vit_notes.compare.layer_named": (("swin", "Swin, 7×7 windows"), {}, "names"),
    "vit_notes.compare.layers_named": (("swin", [3]), {}, "names"),
    "vit_notes.compare.measure_attention": (("explicitt", 64), {}, "path"),
}  # fmt: skip

#: Public callables with no bad-input test, and why.
API_NO_SLIP: dict[str, str] = {
    "vit_notes.compare.layers": "takes no arguments",
    "vit_notes.compare.lineup": "takes no arguments",
    "vit_notes.compare.attention_memory": "takes no arguments",
}

#: ``'package.name' -> [(args, kwargs, argument, the slip), ...]``: further slips, each once
#: answered by Python or torch from inside the package, or not at all (issue 19's fuzz).
API_MORE_SLIPS: dict[str, list[tuple]] = {
    "vit_notes.compare.time_lineup": [
        ((["pvt_tiny"],), dict(threads="2"), "threads", "text for the threads: int('2') read it"),
        ((["pvt_tiny"],), dict(rounds=0, img_size=64), "rounds", "no rounds: rows without times"),
    ],
    "vit_notes.compare.check_growth": [
        ((4,), dict(start=0), "start", "a zero side: ZeroDivisionError"),
        ((4,), dict(C=64, heads=3), "heads", "heads that do not divide C"),
    ],
    "vit_notes.compare.check_layer_choice": [
        (("Swin",), dict(size="896"), "size", "the size as text: str // int"),
    ],
    "vit_notes.compare.fixed_keys_limit": [
        ((slips.Later(_slip_cost), 896, "512"), {}, "budget_mib", "text: str * int"),
    ],
    "vit_notes.compare.measure_attention": [
        (("fused", 3.5), {}, "tokens", "int(3.5) measured 3 tokens"),
        (("fused", 64), dict(threads="1"), "threads", "int('1') read the text"),
    ],
}  # fmt: skip


def test_the_explorers_start_query_is_its_default_cells_centre():
    """``start_query`` (the chapter's first explorer query) is the centre of grid cell
    ``default_query``, as (row, col) fractions of the image."""
    e = registry.designs_explorer()
    r, c = e.default_query
    g = e.query_grid
    assert e.start_query() == ((r + 0.5) / g, (c + 0.5) / g)


def test_the_judgement_attempt_checks_the_glued_setting():
    # The page's answer form reads the attempt cell's literal arguments
    # (book/_ext/vit_notes_site.checker_call); the text glues JUDGE_SIZE and JUDGE_BUDGET.
    import ast
    import json
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "book" / "_ext"))
    from vit_notes_site import checker_call

    cells = json.loads((root / "notebooks" / "compare.ipynb").read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    (setting,) = [s for s in sources if "JUDGE_SIZE, JUDGE_BUDGET =" in s]
    line = re.search(r"^JUDGE_SIZE, JUDGE_BUDGET = (.+?)(  #.*)?$", setting, re.M)
    size, budget = ast.literal_eval(line.group(1))
    (attempt,) = [s for s in sources if s.startswith("my_choice = None")]
    assert checker_call(attempt) == (
        "compare",
        "check_layer_choice",
        {"size": size, "budget_mib": budget},
    )

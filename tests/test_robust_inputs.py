"""The input contract (issue 19, class 5; :mod:`vit_notes.validate`): the commonest slips get
an error that names the argument and the one-line fix, never an error from inside torch.

Images and tokens: a float tensor in the weights' dtype. uint8 (straight from PIL), float16,
float64 (from NumPy), bool, NumPy arrays and nested lists are refused with the conversion to
use. Numbers in constructors: text is a ``TypeError`` naming the argument (also a
``ValueError``, for code written against the earlier errors).
"""

from __future__ import annotations

import inspect
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from vit_notes import (
    checking,
    coatnet,
    compare,
    counting,
    explorer,
    layers,
    learned,
    photo,
    plotting,
    prose,
    pvt,
    registry,
    shunted,
    swin,
    validate,
)
from vit_notes.coatnet import CoAtNet, MBConv, mbconv_cost, transformer_block_cost
from vit_notes.coatnet import exercises as coatnet_exercises
from vit_notes.coatnet import paper as coatnet_paper
from vit_notes.coatnet.cost import coatnet_cost
from vit_notes.learned import backbone as learned_backbone
from vit_notes.learned import figures as learned_figures
from vit_notes.learned import pairs as learned_pairs
from vit_notes.learned import stats
from vit_notes.learned import study as learned_study
from vit_notes.pvt import model as pvt_model
from vit_notes.pvt import paper as pvt_paper
from vit_notes.shunted import paper as shunted_paper
from vit_notes.swin import SwinTransformer

# Each chapter registers its smallest modules (``registry.Samples``, in its ``__init__``):
# a new chapter adds its cases there, and nothing here changes.
SAMPLES = {d.family: d.samples for d in registry.chapters() if d.samples is not None}
MODELS = {family: s.model for family, s in SAMPLES.items()}


def slips(x: torch.Tensor) -> dict:
    """The same image as a student might hand it over, each with the fix the error must name."""
    return {
        "uint8 from PIL": ((x * 255).to(torch.uint8), "x.float() / 255"),
        "float64 from NumPy": (x.double(), "x.float()"),
        "float16": (x.half(), "x.float()"),
        "bool mask": (x > 0.5, "x.float()"),
        "int64": (x.long(), "x.float()"),
        "NumPy array": (x.numpy(), "torch.from_numpy(x).float()"),
        "nested list": (x.tolist(), "torch.tensor(x, dtype=torch.float32)"),
    }


@pytest.mark.parametrize("family", MODELS)
def test_a_model_names_the_fix_for_every_image_slip(family):
    model = MODELS[family]().eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (1, 3)
        for slip, (bad, fix) in slips(x).items():
            with pytest.raises(TypeError) as e:
                model(bad)
            assert fix in str(e.value), (slip, str(e.value))
            assert isinstance(e.value, ValueError)  # old ``except ValueError`` still catches it


def test_a_model_converted_to_float64_takes_float64():
    # float64 is refused only against float32 weights: ``model.double()`` makes it right.
    model = MODELS["pvt"]().double().eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 64, 64, dtype=torch.float64)).dtype == torch.float64
        with pytest.raises(TypeError, match=r"x\.double\(\)"):
            model(torch.rand(1, 3, 64, 64))


def test_one_image_without_a_batch_gets_the_fix():
    model = MODELS["coatnet"]().eval()
    with pytest.raises(ValueError, match=r"x\[None\]"):
        model(torch.rand(3, 64, 64))


LAYERS = {name: case for s in SAMPLES.values() for name, case in s.layers.items()}
assert len(LAYERS) == sum(len(s.layers) for s in SAMPLES.values()), "two layers share a name"


@pytest.mark.parametrize("layer", LAYERS)
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(
        [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8, torch.bool,
         torch.int32, torch.complex64, "numpy", "list", "none", "text"]
    )
)  # fmt: skip
def test_a_layer_accepts_floats_and_refuses_the_rest_with_a_type_error(layer, kind):
    make, args, shape = LAYERS[layer]
    module = make().eval()
    x = torch.rand(*shape)
    bad = {
        "numpy": x.numpy(), "list": x.tolist(), "none": None, "text": "x",
    }.get(kind) if isinstance(kind, str) else x.to(kind)  # fmt: skip
    with torch.no_grad():
        if kind is torch.float32:
            module(*args(x))
            return
        with pytest.raises(TypeError, match="x"):
            module(*args(bad))


CONSTRUCTORS = {cls: kw for s in SAMPLES.values() for cls, kw in s.constructors.items()}


@pytest.mark.parametrize("cls", CONSTRUCTORS, ids=lambda c: c.__name__)
def test_a_number_typed_as_text_is_a_type_error_naming_the_argument(cls):
    # The slip: ``SpatialReductionAttention(64, "2")``, ``MBConv(8, 8, expand_ratio="4")``.
    kwargs = CONSTRUCTORS[cls]
    for p in inspect.signature(cls).parameters.values():
        value = kwargs.get(p.name, p.default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        with pytest.raises(TypeError, match=p.name):
            cls(**{**kwargs, p.name: str(value)})


RATES = [(family, name) for family, s in SAMPLES.items() for name in s.rates]


@pytest.mark.parametrize("family, name", RATES)
def test_a_rate_typed_as_text_names_the_models_argument(family, name):
    cls = type(SAMPLES[family].model())
    with pytest.raises(TypeError, match=name):
        cls(**{name: "0.1"})


def test_every_model_family_registers_its_samples():
    families = {registry.model_info(n).family for n in registry.list_models()}
    designs = {d.family for d in registry.designs()}
    assert designs <= set(SAMPLES), f"no registry.Samples for {sorted(designs - set(SAMPLES))}"
    for family in families & set(SAMPLES):
        assert SAMPLES[family].rates, f"{family}: name the model's rate arguments"


def test_numpy_integers_are_python_ints_after_validation():
    assert type(validate.positive_int("dim", np.int64(8))) is int
    with pytest.raises(TypeError, match="not text"):
        validate.positive_int("dim", "8")
    with pytest.raises(TypeError, match="pass 8"):
        validate.positive_int("dim", 8.0)


def test_a_uint8_photo_gets_the_fix_in_the_toy_too():
    img = photo.load_photo(32)
    with pytest.raises(TypeError, match=r"img\.float\(\) / 255"):
        photo.colour_tokens((img * 255).to(torch.uint8))


FLAGS = [flag for s in SAMPLES.values() for flag in s.flags]


@pytest.mark.parametrize("cls, name", FLAGS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("slip", ["False", "0", 0, 1, None])
def test_a_switch_given_text_or_a_number_is_refused_not_read_as_its_truth_value(cls, name, slip):
    # The slip: ``qkv_bias="False"`` is truthy, so reading it as a truth value would silently
    # build the model with biases. Only True and False are switches.
    kwargs = CONSTRUCTORS.get(cls, {})
    with pytest.raises(TypeError, match=name):
        cls(**{**kwargs, name: slip})


def test_a_numpy_bool_is_a_switch():
    assert validate.flag("ape", np.bool_(True)) is True
    assert SwinTransformer(**CONSTRUCTORS[SwinTransformer], ape=np.False_).ape is False


# --- any value, anywhere: refused by the package or read (issue 19's fuzz) -------------------

#: Any value a student might hand over: numbers of every size, text, containers, tensors.
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-3, 300), st.floats(allow_nan=True)), max_size=4),
    st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)),
    st.sets(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(torch.tensor, st.floats(allow_nan=True, width=32)),
    st.just(np.int64(4)),
    st.just(np.float64("nan")),
    st.just(object()),
)


def _tokens():
    return torch.rand(1, 2, 16, 8), torch.rand(1, 2, 4, 8), torch.rand(1, 2, 4, 8)


def _positions():
    from vit_notes import coatnet, learned, pvt, shunted, swin
    from vit_notes.attention import explicit_attention

    return {
        "query_rc": lambda v: photo.query_at((14, 14), v),
        "widths": lambda v: coatnet.conv_vs_attention_rows(sizes=(128,), widths=v),
        "shift_size": lambda v: swin.check_shift(v, 7),
        "scale": lambda v: explicit_attention(*_tokens(), v),
        "values": lambda v: learned.stats.mean_interval(v),
        "grid": lambda v: coatnet.learned_style_table(v),
        "corner": lambda v: learned.query_token(v, 5),
        "sr_ratios": lambda v: pvt.sra_query_maps(photo.load_photo(32), sr_ratios=v),
        "row": lambda v: shunted.effective_keys(v),
        "v": lambda v: coatnet.make_divisible(v),
        # tenth audit: the schematic's primitives and the grid guard
        "cells": lambda v: plotting.box(Figure().add_subplot(), (0, 0), (1, 1), cells=v),
        "xy": lambda v: plotting.box(Figure().add_subplot(), v, (1, 1)),
        "label_pos": lambda v: plotting.box(
            Figure().add_subplot(), (0, 0), (1, 1), label="q", label_pos=v
        ),
        "color": lambda v: plotting.arrow(Figure().add_subplot(), (0, 0), (1, 1), color=v),
        "start": lambda v: plotting.arrow(Figure().add_subplot(), v, (1, 1)),
        "img": lambda v: plotting.mark_seen(
            Figure().add_subplot(), v, torch.tensor([0.5, 0.5, 0.0, 0.0]), (2, 2)
        ),
        "H": lambda v: coatnet_exercises.check_positions(v, 4, "grid_size"),
    }


POSITIONS = _positions()


@pytest.mark.parametrize("argument", POSITIONS)
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(value=ANY)
def test_any_value_is_read_or_refused_by_the_package_naming_the_argument(argument, value):
    # Each argument once met some value that Python, NumPy or torch refused from inside the
    # package (a set for a grid, a huge int, a 0-d tensor for a list, text for a number).
    import traceback

    try:
        POSITIONS[argument](value)
    except (TypeError, ValueError) as e:
        where = traceback.extract_tb(e.__traceback__)[-1].filename
        assert "vit_notes" in where, f"{argument}={value!r}: raised in {where}: {e}"
        assert argument in str(e), f"{argument}={value!r}: {e}"


# Second audit (robust-audit-r1): sizes with no upper bound crashed inside PIL or torch, a NaN
# sharpness gave NaN tokens, and three messages named the wrong argument or function.
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: photo.load_photo(size=10**30), "size"),
        (lambda: photo.load_photo(size=40_000), "size"),
        (lambda: photo.palette(bins=10**30), "bins"),
        (lambda: photo.palette(bins=np.int64(2**62)), "bins"),
        (lambda: photo.colour_tokens(photo.load_photo(32), bins=10**6), "bins"),
        (lambda: photo.colour_tokens(photo.load_photo(32), sharpness=float("nan")), "sharpness"),
        (lambda: photo.colour_tokens(photo.load_photo(32), sharpness=float("inf")), "sharpness"),
        (lambda: photo.nearby_queries((0.5, 0.5), n=10**9), "n"),
        (lambda: swin.check_memory_prediction("3", base_window=10**5000), "base_window"),
        (lambda: swin.swin_cost_table(size=7, timed=False), "size=7"),
        (lambda: swin.swin_cost_table(size=12, timed=False), "size=12"),
    ],
)
def test_second_audit_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


def test_record_attention_names_itself_in_its_fix():
    from vit_notes import trace

    with pytest.raises(TypeError, match=r"record_attention\(model\)"):
        with trace.record_attention(model=5):
            pass


# Third audit (robust-audit-r2): formatting helpers overflowed on huge or infinite numbers,
# arguments reached torch unchecked, and silent results (wrong quantiles, wrapped indices).
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: counting.significant(10**400), "value"),
        (lambda: counting.significant(float("inf")), "value"),
        (lambda: counting.significant(float("nan")), "value"),
        (lambda: counting.significant(1.5, digits=0), "digits"),
        (lambda: counting.significant(1.5, digits=2.5), "digits"),
        (lambda: counting.significant(1.5, digits=10**30), "digits"),
        (lambda: counting.format_bytes(10**400), "n"),
        (lambda: counting.format_bytes(float("inf")), "n"),
        (lambda: counting.format_bytes(5000, digits=-1), "digits"),
        (lambda: counting.family_table(["pvt_v2_b0"], img_size=-5), "img_size"),
        (lambda: counting.family_table(["pvt_v2_b0"], img_size=10**30), "img_size"),
        (lambda: counting.family_table("pvt_v2_b0"), "names"),
        (lambda: counting.count_params(5), "module"),
        (lambda: counting.count_macs(5), "module"),
        (lambda: counting.format_table([{"a": 1}], {"b": "B"}), "'b'"),
        (lambda: counting.format_table(5, {"a": "A"}), "rows"),
        (lambda: counting.format_table([{"a": 1.0}], {"a": "A"}, floatfmt="q"), "floatfmt"),
    ],
)
def test_third_audit_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: layers.drop_path_rates(0.1, 5), "depths"),
        (lambda: layers.drop_path_rates(0.1, [2.5]), "depths[0]"),
        (lambda: layers.drop_path_rates(0.1, [3, -1]), "depths[1]"),
        (lambda: layers.drop_path_rates(0.1, [-2]), "depths[0]"),
        (lambda: layers.drop_path_rates(0.1, [10**30]), "depths[0]"),
        (lambda: layers.drop_path_rates(0.1, [np.int64(2**62)]), "depths[0]"),
        (lambda: pvt_paper.describe_symbols(width=float("nan")), "width"),
        (lambda: pvt_paper.describe_differences(width=float("nan")), "width"),
        (lambda: pvt_paper.describe_claims(width=float("nan")), "width"),
        (lambda: shunted_paper.describe_symbols(width=float("nan")), "width"),
        (lambda: shunted_paper.describe_differences(width=float("nan")), "width"),
        (lambda: shunted_paper.describe_ablations(width=float("nan")), "width"),
        (lambda: coatnet_paper.describe_layout_study(width=float("nan")), "width"),
        (lambda: coatnet_paper.describe_layout_study(width=2.5), "width"),
        (lambda: coatnet_paper.describe_layout_study(width=0), "width"),
    ],
)
def test_third_audit_hangs_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: stats.share_resolved(1, 1, 5, draws=np.int64(2**62)), "draws"),
        (lambda: stats.share_resolved(1, 1, 10**9, draws=10), "n"),
        (lambda: stats.share_resolved(1, 1, 5, seed=10**30), "seed"),
        (lambda: stats.share_resolved(1, 1, 5, seed=2**64), "seed"),
        (lambda: stats.share_resolved(1, 1, 5, draws=10**30), "draws"),
        (lambda: stats.share_resolved(1, 1, 10**30), "n"),
        (lambda: stats.seeds_for_power(1, 1, draws=10**30), "draws"),
        (lambda: stats.mean_interval([1e308, -1e308, 1e308]), "values"),
        (lambda: stats.mean_interval([1e308, 1e308]), "values"),
        (lambda: stats.unpaired_difference({1: 1e308, 2: -1e308}, {1: -1e308, 2: 1e308}), "runs_a"),
        (lambda: stats.mcnemar([float("nan"), 1], [0, 1]), "right_a[0]"),
        (lambda: stats.mcnemar("abc", "abc"), "right_a"),
        (lambda: stats.mcnemar([2, 3], [0, 1]), "right_a[0]"),
        (lambda: stats.t_quantile(10**30), "df"),
    ],
)
def test_third_audit_stats_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


@pytest.mark.parametrize("df", [10**7 + 1, 10**12, 10**15, np.int64(2**59)])
def test_t_quantile_of_large_df_is_the_normal_quantile(df):
    assert abs(stats.t_quantile(df) - 1.959964) < 1e-5


def test_mcnemar_takes_bool_tensors_and_zero_one_arrays():
    got = stats.mcnemar(torch.tensor([True, False, True]), np.array([0, 1, 1]))
    assert (got.only_a, got.only_b) == (1, 1)


_COST = counting.AttentionCost.of(10, 5, 4, 4, 1)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: explorer.layer_cost_bars("t", {}, {}), "costs"),
        (lambda: explorer.layer_cost_bars("t", {"a": _COST}, {}), "colours"),
        (lambda: explorer.layer_cost_bars("t", {"a": 5}, {"a": "r"}), "costs['a']"),
        (lambda: explorer.layer_cost_bars("t", [1], {}), "costs"),
        (
            lambda: explorer.layer_cost_bars(
                "t",
                {"a": _COST, "b": counting.AttentionCost(10**400, 0, 1, 1, 0, 0)},
                {"a": "r", "b": "g"},
            ),
            "costs['b'].macs",
        ),
        (lambda: plotting.seen_box(torch.ones(5), (2, 2)), "row"),
        (lambda: plotting.seen_box(torch.ones(4) / 4, (10**30, 1)), "grid[0]"),
        (lambda: plotting.seen_box(torch.full((4,), float("nan")), (2, 2)), "NaN"),
        (lambda: photo.query_index((10**30, 2), 0.5, 0.5), "grid[0]"),
        (lambda: learned_figures.mark_tokens((31, 31), 8), "corner"),
        (lambda: learned_figures.mark_tokens((4000, 4000), 8), "corner"),
    ],
)
def test_third_audit_figure_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: coatnet_cost("coatnet_0", num_classes=np.int64(2**62)), "num_classes"),
        (lambda: coatnet_cost("coatnet_0", num_classes=10**30), "num_classes"),
        (lambda: coatnet_cost("coatnet_0", depths=(10**30, 1, 1, 1)), "depths[0]"),
        (lambda: coatnet_cost("coatnet_0", depths=(2000, 1, 1, 1)), "depths[0]"),
        (lambda: coatnet_cost("coatnet_0", head_hidden_size=10**30), "head_hidden_size"),
        (
            lambda: compare.fixed_keys_limit(counting.AttentionCost(1, 1, 1, 1, -4, -4), 224, 512),
            "cost.",
        ),
        (
            lambda: compare.fixed_keys_limit(
                counting.AttentionCost(1, 1, float("nan"), 1, 4, float("nan")), 224, 5
            ),
            "cost.",
        ),
        (
            lambda: compare.fixed_keys_limit(counting.AttentionCost(1, 1, 1, 1, 4, 4), 224, 1e308),
            "budget_mib",
        ),
        (lambda: compare.layer_keys(size=3), "size=3"),
        (lambda: compare.layer_keys(size=4096), "size=4096"),
        (lambda: compare.check_layer_choice("x", size=100), "size=100"),
        (lambda: swin.model.WindowAttention(8, 7, 1, qk_scale=1e308), "qk_scale"),
        (lambda: pvt_model.SpatialReductionAttention(8, 1, qk_scale=1e308), "qk_scale"),
        (lambda: swin.figures.toy_window_attention(8, 7, logit_scale=1e308), "logit_scale"),
    ],
)
def test_third_audit_cost_and_scale_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


def test_coatnet_cost_counts_numpy_classes_as_python_ints():
    total = coatnet_cost("coatnet_0", num_classes=np.int64(1000))["total"]
    assert type(total.macs) is int and type(total.params) is int
    assert total == coatnet_cost("coatnet_0")["total"]


# --- Fourth audit (review/robust-audit-r3.md) ---------------------------------------------

_LINEAR = torch.nn.Linear(2, 2)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: counting.count_macs(_LINEAR, torch.zeros(1, 2, dtype=torch.uint8)), "x.float()"),
        (lambda: counting.count_macs_by_op(_LINEAR, torch.zeros(1, 2, dtype=torch.uint8)), "x"),
        (
            lambda: counting.count_macs_by_module(
                _LINEAR, torch.zeros(1, 2, dtype=torch.uint8), names=["x"]
            ),
            "x",
        ),
        (lambda: counting.count_macs_by_module(_LINEAR, torch.zeros(1, 2), names="fc"), "names"),
        (lambda: counting.count_macs_by_module(_LINEAR, torch.zeros(1, 2), names=[]), "names"),
        (lambda: counting.count_macs(_LINEAR, torch.zeros(1, 2, dtype=torch.float64)), "x"),
        (lambda: counting.count_macs(_LINEAR, np.zeros((1, 2))), "torch.from_numpy(x)"),
        (lambda: counting.count_macs(_LINEAR, [[0.0, 0.0]]), "torch.tensor(x"),
        (lambda: counting.time_forward(_LINEAR, np.zeros((1, 2)), min_run_time=0.01), "x"),
        (lambda: counting.time_forward(5, torch.zeros(1, 2), min_run_time=0.01), "module"),
        (
            lambda: counting.time_forward(
                _LINEAR, torch.zeros(1, 2), min_run_time=0.01, num_threads=0
            ),
            "num_threads",
        ),
        (
            lambda: counting.time_forward(
                _LINEAR, torch.zeros(1, 2), min_run_time=0.01, num_threads=10**6
            ),
            "num_threads",
        ),
        (
            lambda: counting.time_forward(_LINEAR, torch.zeros(1, 2), min_run_time=float("nan")),
            "min_run_time",
        ),
        (lambda: counting.time_forward(_LINEAR, torch.zeros(1, 2), min_run_time=1e9), "min_run"),
        (lambda: counting.time_forward(_LINEAR, torch.zeros(1, 2), min_run_time=-1), "min_run"),
    ],
)
def test_fourth_audit_counting_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


def test_fourth_audit_long_typed_numbers_are_judged_quickly(capsys):
    import time

    from vit_notes import checking, pvt

    start = time.perf_counter()
    assert pvt.check_kv_tokens("1" * 10**6) is False
    assert pvt.check_kv_tokens("-" + "1" * 10**6) is False
    assert time.perf_counter() - start < 5
    out = capsys.readouterr().out
    assert "1000000-digit" in out and "correct" not in out
    assert checking.as_number("2" * 30000 + "/" + "1" * 30000) == 2
    assert checking.as_number("1" * 5000 + "/" + "1" * 5000) == 1


def test_fourth_audit_bare_except_cannot_outlast_the_time_limit(monkeypatch, capsys):
    import sys
    import time

    from vit_notes import checking
    from vit_notes.learned import exercises as learned_exercises

    monkeypatch.setattr(checking, "STUDENT_SECONDS", 0.5)

    def swallow(corner, detail):
        while True:
            try:
                time.sleep(0.01)
            except:  # noqa: E722 - the student's slip under test
                pass

    before = sys.gettrace()
    start = time.perf_counter()
    assert learned_exercises.check_query_token(swallow) is False
    assert time.perf_counter() - start < 10
    assert "stopped" in capsys.readouterr().out
    assert sys.gettrace() is before
    assert checking.call_student(lambda: 5) == 5


def _partial_results(**rows):
    from vit_notes.learned import load_results

    results = load_results()
    results["models"] = {"pvt_full": results["models"]["pvt_full"], **rows}
    return results


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: prose.glue("x", 10**5000), "value"),
        (lambda: prose.glue("x", -(10**5000)), "value"),
        (lambda: prose.round_up(1.5, 401), "places"),
        (lambda: prose.round_up(1.5, 10**30), "places"),
        (lambda: prose.round_up(10**5000, 2), "value"),
        (lambda: prose.round_up(2**1024, 2), "value"),
        (lambda: registry.is_meta(5), "model"),
        (lambda: registry.panel_title("t", [1, 0, 0, 0], (2, 2)), "rows"),
        (lambda: registry.panel_title("t", torch.ones(4), 5), "grid"),
        (lambda: registry.panel_title("t", torch.tensor(1.0), (1, 1)), "rows"),
        (lambda: registry.panel_title("t", torch.full((4,), float("nan")), (2, 2)), "NaN"),
        (lambda: registry.panel_title("t", torch.ones(5), (2, 2)), "rows"),
        (lambda: registry.panel_title("t", np.ones(4), (2, 2)), "rows"),
        (lambda: trace_last_of_nothing(), "record_attention"),
        (lambda: learned.check_prediction("higher", results=_partial_results()), "pvt_sra8"),
        (lambda: learned.check_higher("higher", results=_partial_results()), "pvt_sra8"),
        (lambda: learned.check_prediction("higher", results=_partial_results(pvt_sra8={})), "mean"),
        (
            lambda: learned.check_higher("higher", results=_partial_results(pvt_sra8={})),
            "by_detail",
        ),
        (lambda: learned.caption({"recorded": 5}), "results['recorded']"),
        (lambda: learned.caption({"added_runs": 5}), "results['added_runs']"),
        (lambda: learned.caption({"recorded": {"date": 5}}), "['date']"),
        (
            lambda: pvt.check_sra_forward(lambda *a: a[0], configs=[(4096, 4096, 512, 8, 1)]),
            "configs[0]",
        ),
        (
            lambda: shunted.check_shunted_forward(
                lambda *a: a[0], configs=[(4096, 4096, 512, 8, 2)]
            ),
            "configs[0]",
        ),
        (lambda: plotting.set_alt(5, "x"), "fig"),
        (lambda: plotting.figure_png(5), "fig"),
        (lambda: plotting.figure_problems(5), "fig"),
        (lambda: plotting.alt_text(5), "fig"),
        (lambda: explorer.bar_axis(5), "b "),
        (lambda: registry.designs_explorer(0), "size"),
        (lambda: registry.designs_explorer(10**30), "size"),
        (lambda: registry.designs_explorer("224"), "size"),
        (lambda: registry.designs_explorer(224.0), "size"),
        (lambda: registry.designs_explorer(16), "size=16"),
        (lambda: registry.designs_explorer(100), "size=100"),
        (lambda: learned.check_test_size(4 * 10**30, n=10**30), "n="),
    ],
)
def test_fourth_audit_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


def trace_last_of_nothing():
    from vit_notes import trace

    with trace.record_attention() as maps:
        pass
    return maps.last()


def test_fourth_audit_valid_inputs_keep_their_results():
    assert prose.round_up(1e30, 2) == 1e30 and prose.round_up(1e308, 2) == 1e308
    assert prose.round_up(1.5, 400) == 1.5 and prose.round_up(2.141, 1) == 2.2
    assert registry.is_meta(torch.nn.ReLU()) is False
    assert registry.panel_title("t", torch.tensor([1.0, 0, 0, 0]), (2, 2)) == "t: 1 of 2×2 keys"
    assert registry.panel_title("t", torch.ones(3, 4), (2, 2)) == "t: 2×2 keys"
    assert learned.check_test_size(4 * 10**9, n=10**9)


class _StripRaises(str):
    def strip(self, *args):
        raise RuntimeError("strip raised")


def test_fourth_audit_a_str_subclass_is_read_as_its_text(capsys):
    import inspect

    from vit_notes import coatnet

    checked = 0
    for module in (pvt, coatnet, shunted, swin, learned, compare):
        for name in dir(module):
            check = getattr(module, name)
            if not name.startswith("check_") or not callable(check):
                continue
            try:
                params = list(inspect.signature(check).parameters)
            except (TypeError, ValueError):
                continue
            if params[:1] != ["answer"] or name == "check_choice":
                continue
            for text in ("12", "higher"):
                assert check(_StripRaises(text)) in (True, False), name
            checked += 1
    assert checked >= 16
    capsys.readouterr()


# --- Fifth audit (review/robust-audit-r4.md) ----------------------------------------------
# Each case is the student's slip as the audit made it; the error names the argument.


def _fig_ax():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    return fig, ax


def _overlay(**kw):
    fig, ax = _fig_ax()
    args = dict(ax=ax, img=photo.load_photo(64), attn_row=torch.full((16,), 1 / 16), grid=(4, 4))
    args.update(kw)
    try:
        return plotting.overlay_map(**args)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _design():
    return registry.designs()[0]


def _placement():
    return shunted.le_placement_study(photo.load_photo(224), seeds=(0,))


def _table_with(runs_factor=1, seeds=(0,), runs=None):
    photo_runs, noise = _placement()
    return shunted.le_placement_table(
        photo_runs * runs_factor if runs is None else runs, noise, seeds=seeds
    )


class _Unprintable:
    def __format__(self, spec):
        raise ZeroDivisionError

    __str__ = __repr__ = __format__


@pytest.mark.parametrize(
    "call, name",
    [
        # C1: the Pairs generator's sizes and counts are bounded up front
        (lambda: learned_pairs.make_pairs(1, 0, grid=100_000), "grid="),
        (lambda: learned_pairs.make_pairs(1, 0, cell=100_000), "cell="),
        (lambda: learned_pairs.make_pairs(10**9, 0), "n="),
        (lambda: learned_pairs.make_pairs(100_000, 0, grid=200), "n="),
        (lambda: learned_pairs.render_shape(0, 10**9), "side="),
        # C2
        (lambda: learned_backbone.sincos_2d(10**6, 10**6, 8), "H="),
        (lambda: learned_backbone.sincos_2d(4096, 4096, 4096), "H=4096, W=4096 and dim"),
        # C3: the study's helpers
        (lambda: learned_study.stats_t(0), "n "),
        (lambda: learned_study.stats_t(1), "n "),
        (lambda: learned_study.stats_t(10**6), "n="),
        (lambda: learned_study.parse_seeds("1-1000000000000"), "seeds="),
        (lambda: learned_study.parse_seeds("0-99999999"), "seeds="),
        (lambda: learned_study.parse_seeds("1" * 5000), "seeds="),
        (lambda: learned_study.parse_seeds("²"), "seeds="),
        (lambda: learned_study.parse_seeds("5-1"), "1-5"),
        (lambda: learned_study.table({}), "summary"),
        (lambda: learned_study.table({"variants": {"full": {}}}), "summary['variants']"),
        # C4, S3: the placement table's runs
        (lambda: _table_with(runs=[{"a": 1}]), "photo_runs[0]"),
        (lambda: _table_with(seeds=(0, 1, 2)), "seeds has 3"),
        (lambda: _table_with(runs_factor=3), "photo_runs has 3"),
        # C5: the head is one of the model's heads
        (
            lambda: learned_figures.attention_on_marks(
                learned.make_dataset(8, 0), name="pvt_full", head=1, count=4
            ),
            "1 head",
        ),
        (
            lambda: learned_figures.attention_on_marks(
                learned.make_dataset(8, 0), name=None, head=99, count=4
            ),
            "head=99",
        ),
        # C6: the message names what the student passed
        (lambda: swin.accepted_sizes(up_to=5000), "up_to="),
        (
            lambda: swin.accepted_sizes(patch_size=1, window_size=1, num_stages=1, up_to=2**20),
            "up_to=",
        ),
        (
            lambda: shunted.traced_shapes(
                shunted.ShuntedAttention(8, 2, sr_ratio=2), H=10**6, W=10**6
            ),
            "H=",
        ),
        # C7: the checking helpers' own arguments
        (lambda: checking.round_to_step(10, 0), "step"),
        # C8: query_patches checks each argument
        (lambda: registry.query_patches(5, photo.load_photo(224)), "design"),
        (lambda: registry.query_patches(_design(), photo.load_photo(224).tolist()), "img"),
        (lambda: registry.query_patches(_design(), photo.load_photo(224), probes=5), "probes"),
        (
            lambda: registry.query_patches(
                _design(), photo.load_photo(224), probes=((float("nan"), 0.5),)
            ),
            "probes[0]",
        ),
        (
            lambda: registry.query_patches(_design(), photo.load_photo(224), probes=((1.0, 1.0),)),
            "probes[0]",
        ),
        (lambda: registry.query_patches(_design(), photo.load_photo(16)), "img of 16x16"),
        # C9: a cell that cannot be printed is named
        (lambda: counting.format_table([{"a": 10**5000}], {"a": "A"}), "rows[0]['a']"),
        (lambda: counting.format_table([{"a": _Unprintable()}], {"a": "A"}), "rows[0]['a']"),
        # C11: the plotting helpers say what to pass
        (lambda: _overlay(attn_row=torch.full((16,), 1 / 16).numpy()), "torch.from_numpy"),
        (lambda: _overlay(ax=5), "ax"),
        (lambda: _overlay(attn_row=torch.full((16,), float("nan"))), "attn_row"),
        (lambda: _overlay(vmax=float("nan")), "vmax"),
        (lambda: _overlay(vmax=-1.0), "vmax"),
        (lambda: plotting.schematic_axes(5), "ax"),
        (lambda: plotting.move_query_mark([5], photo.load_photo(64), (0.5, 0.5)), "marks"),
        (
            lambda: plotting.move_seen_mark(
                5, photo.load_photo(64), torch.full((16,), 1 / 16), (4, 4)
            ),
            "rect",
        ),
        (lambda: explorer.bar_charts([5]), "charts[0]"),
        # S2: a scale past float32's range gave NaN
        (
            lambda: layers_explicit(torch.rand(1, 1, 4, 8), 1e308),
            "scale",
        ),
        (lambda: coatnet_identity(scale=1e308), "scale"),
        (lambda: coatnet_identity(table=torch.full((7, 7), 1e300, dtype=torch.float64)), "table"),
        (lambda: photo.colour_tokens(torch.rand(3, 32, 32), sharpness=1e308), "sharpness"),
        # S4: a query on no tile of the grid, a W that does not fit it
        (lambda: shunted.on_own_tile(torch.full((16,), 1 / 16), (4, 4), 2, 999, 8), "query="),
        (lambda: shunted.on_own_tile(torch.full((16,), 1 / 16), (4, 4), 2, 0, 1000), "W=1000"),
        # H2, H3, H4: the work is bounded up front
        (lambda: swin.receptive_fields(1024, 1024, 8, 0, 64), "blocks=64"),
        (lambda: swin.receptive_fields(4096, 4096, 64, 0, 64), "blocks=64"),
        (lambda: plotting.new_figure(nrows=1000), "nrows="),
        (lambda: plotting.new_figure(height=1e308), "height"),
        (
            lambda: pvt.check_sra_forward(pvt.sra_steps, configs=[(64, 64, 512, 1, 1)]),
            "configs[0]",
        ),
        (
            # the fourth: 2**20 map entries each, and (robust-r5 H2) the layer's weights too
            lambda: pvt.check_sra_forward(pvt.sra_steps, configs=[(32, 32, 64, 1, 1)] * 5),
            "configs[3]",
        ),
        (
            lambda: shunted.check_shunted_forward(lambda *a: a[0], configs=[(64, 64, 512, 8, 2)]),
            "configs[0]",
        ),
        (
            lambda: swin.check_swin_forward(lambda *a: a[0], configs=[(128, 128, 512, 8, 8, 0)]),
            "configs[0]",
        ),
        # R2
        (lambda: photo.repeat_for_heads(np.zeros((1, 4, 8)), 2), "torch.from_numpy(tokens)"),
        (lambda: photo.repeat_for_heads([[1.0]], 2), "tokens"),
    ],
)
def test_fifth_audit_slips_are_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert name in str(err.value)


def layers_explicit(q, scale):
    from vit_notes import explicit_attention

    return explicit_attention(q, q, q, scale)


def coatnet_identity(**kw):
    from vit_notes import coatnet

    return coatnet.identity_relative_attention(8, (4, 4), **kw)


# R1: the feed-forwards (and PVT's block) refuse the issue's slips with the fix
_TOK = torch.rand(1, 16, 8)
FEED_FORWARDS = {
    "pvt.Block": lambda x, H=4, W=4: pvt.Block(8, 1, sr_ratio=2).eval()(x, H, W),
    "pvt.Mlp": lambda x, H=4, W=4: pvt.Mlp(8, 16).eval()(x, H, W),
    "pvt.Mlp(dwconv)": lambda x, H=4, W=4: pvt.Mlp(8, 16, dwconv=True).eval()(x, H, W),
    "shunted.DetailSpecificMlp": lambda x, H=4, W=4: shunted.DetailSpecificMlp(8, 16).eval()(
        x, H, W
    ),
    "swin.Mlp": lambda x, H=4, W=4: swin.Mlp(8, 16).eval()(x),
}


@pytest.mark.parametrize("layer", FEED_FORWARDS)
@pytest.mark.parametrize("slip", list(slips(_TOK)))
def test_fifth_audit_feed_forwards_refuse_the_issues_slips(layer, slip):
    x, fix = slips(_TOK)[slip]
    with pytest.raises(TypeError) as err:
        FEED_FORWARDS[layer](x)
    assert fix in str(err.value)


@pytest.mark.parametrize("layer", ["pvt.Mlp(dwconv)", "shunted.DetailSpecificMlp"])
@pytest.mark.parametrize("H, W, name", [(3, 5, "H=3, W=5"), (-4, -4, "H ")])
def test_fifth_audit_a_feed_forwards_grid_is_checked(layer, H, W, name):
    with pytest.raises(ValueError) as err:
        FEED_FORWARDS[layer](_TOK, H, W)
    assert name in str(err.value)


def test_fifth_audit_valid_inputs_keep_their_results():
    for layer in FEED_FORWARDS.values():
        assert layer(_TOK).shape == _TOK.shape
    # C10: NumPy numbers are numbers (a byte count from np.prod, say)
    assert counting.significant(np.int64(5)) == counting.significant(5) == "5.00"
    assert counting.significant(np.float32(1.5)) == "1.50"
    assert counting.format_bytes(np.int64(5)) == "5 B"
    assert counting.format_bytes(np.prod((4, 1024, 1024)) * 4) == "16.0 MiB"
    # C7: a right answer of any size is judged, and rounded() says no rounding
    assert checking.check_count(10**5000, 10**5000, "x", "ok") is True
    assert checking.check_count(10**5000 + 1, 10**5000, "x", "ok") is False  # a near miss
    assert checking.rounded(10**5000, 3) is None
    # as_number/as_int/parse_count give the exact whole number, as documented (only printing
    # its repr meets Python's 4,300-digit limit); a typed one is read exactly too
    assert checking.as_number(10**5000) == checking.as_int(10**5000) == 10**5000
    assert checking.parse_count(10**5000, "x") == 10**5000
    assert checking.as_int("1" * 5000) == (10**5000 - 1) // 9
    assert checking.describe(checking.as_number(10**5000)) == "a 5001-digit number"
    # C3: the seeds' forms still read
    assert learned_study.parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert learned_study.stats_t(2) == stats.T975[1]
    # C8: every design's query patches, as before
    assert [registry.query_patches(d, photo.load_photo(224)) for d in registry.designs()]
    # S4: a query on a leftover row (no key) is on no tile, not refused
    assert shunted.on_own_tile(torch.full((16,), 1 / 16), (4, 4), 2, 71, 8) is False
    # C6: the largest up_to is accepted
    assert swin.accepted_sizes(up_to=4096)[-1] <= 4096


# S1: the t quantile and the sd range in the far tail (closed forms at df = 1 and 2)
@pytest.mark.parametrize("p", [0.9, 0.995, 0.999, 0.9999, 0.99999, 1 - 1e-12])
def test_fifth_audit_t_quantile_in_the_far_tail(p):
    import math

    # the closed forms in the tail q = 1 - p, which keeps its digits (p - 0.5 would not)
    q = 1 - p
    assert stats.t_quantile(1, p) == pytest.approx(1 / math.tan(math.pi * q), rel=1e-9)
    two = (1 - 2 * q) / math.sqrt(2 * q * (1 - q))
    assert stats.t_quantile(2, p) == pytest.approx(two, rel=1e-9)
    # the audit's numbers: 318.31 at 0.999, 3183.1 at 0.9999 (the old rule stalled near 1146)
    assert round(stats.t_quantile(1, 0.999), 2) == 318.31
    assert round(stats.t_quantile(1, 0.9999), 1) == 3183.1


def test_fifth_audit_sd_range_resolves_a_level_close_to_1():
    import math

    # with 1 df, chi-square's upper quantile q at tail t: erfc(sqrt(q / 2)) = t
    low, high = stats.sd_range(1, level=1 - 1e-12)
    low2, high2 = stats.sd_range(1, level=1 - 1e-15)
    assert high2 > 100 * high  # it was stuck at 1.5549e12 for both
    q = 1 / low**2
    assert math.erfc(math.sqrt(q / 2)) == pytest.approx(0.5e-12, rel=1e-6)


# H1: McNemar's tail stays exact where it is summed, and its work bounded beyond
def test_fifth_audit_mcnemar_tail_matches_the_exact_sum_beyond_the_exact_range():
    import math
    from fractions import Fraction

    for n, k in [(2001, 950), (3000, 1400), (10_000, 4990)]:
        exact = float(Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n))
        assert stats._binomial_half_tail(n, k) == pytest.approx(exact, rel=1e-9)


def test_fifth_audit_mcnemar_on_a_large_test_set_counts_no_terms(monkeypatch):
    import math

    calls = []

    def counting_comb(n, k):
        calls.append(1)
        return math.factorial(n) // (math.factorial(k) * math.factorial(n - k))

    # 40,000 disagreements (the audit's 227 s): no binomial term is summed, one by one
    monkeypatch.setattr(stats.math, "comb", counting_comb)
    got = stats.mcnemar([1, 0] * 20_000 + [0] * 1000, [0, 1] * 20_000 + [0] * 1000)
    split = stats.mcnemar([1, 0] * 19_000 + [1] * 2000, [0, 1] * 19_000 + [0] * 2000)
    monkeypatch.undo()
    assert got.p == 1.0 and 0 < split.p < 1e-10 and not calls


# H2: the receptive fields walk each block's grid once per step, not a fresh grid per step
def test_fifth_audit_receptive_fields_build_two_grids(monkeypatch):
    from vit_notes.swin import figures as swin_figures

    calls = []
    real = swin_figures.attention_groups

    def counted(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(swin_figures, "attention_groups", counted)
    fields = swin_figures.receptive_fields(14, 14, 7, 30, 8)
    assert len(fields) == 8 and len(calls) == 2


# H4: the known mistakes are replayed only for a step that differs
def test_fifth_audit_a_right_forward_replays_no_mistake(capsys):
    calls = []

    def steps(*args, **kwargs):
        calls.append(kwargs.get("mistake"))
        return pvt.sra_steps(*args, **kwargs)

    assert pvt.check_sra_forward(steps, configs=[(8, 8, 32, 2, 2)])
    assert calls == [None]
    capsys.readouterr()


# T1, T2, T3: state a call or a student could change
def test_fifth_audit_model_info_hands_out_a_copy_of_the_config():
    info = registry.model_info("pvt_v2_b0")
    depth = len(registry.create("pvt_v2_b0").block1)
    info.config["depths"] = (1, 1, 1, 1)
    assert len(registry.create("pvt_v2_b0").block1) == depth
    assert registry.model_info("pvt_v2_b0").config["depths"] != (1, 1, 1, 1)
    # the copies still compare equal: the norm layer (a callable) is the registry's own
    shunted_t, shunted_s = (registry.model_info(n).config for n in ("shunted_t", "shunted_s"))
    assert shunted_t["norm_layer"] is shunted_s["norm_layer"]
    assert registry.model_info("shunted_t").config == shunted_t


@pytest.mark.parametrize(
    "call",
    [
        lambda: learned_backbone.build("full", seed=0),
        lambda: shunted.le_placement_study(photo.load_photo(224), seeds=(0,)),
    ],
    ids=["learned_backbone.build", "shunted.le_placement_study"],
)
def test_fifth_audit_seeded_helpers_leave_the_callers_stream(call):
    draws = []
    for s in (1, 2):
        torch.manual_seed(s)
        want = torch.rand(2)
        torch.manual_seed(s)
        call()
        draws.append((torch.rand(2), want))
    for got, want in draws:
        assert torch.equal(got, want)


def test_fifth_audit_explorer_state_maps_are_copies():
    e = pvt.sra_explorer()
    st = e.default_state()
    first = e.state_maps(st)[0].rows
    kept = first.clone()
    first.zero_()
    assert torch.equal(e.state_maps(st)[0].rows, kept)


# H3 (its callers): a figure too tall for new_figure names what the student passed, not nrows
def _too_tall():
    from vit_notes.coatnet import figures as coatnet_figures

    row = torch.full((16,), 1 / 16)
    bars = explorer.Bars("t", ("a",) * 400, (1.0,) * 400, ("1",) * 400, ("k",) * 400)
    return {
        "table has 60 heads": lambda: coatnet_figures.plot_bias_table(
            torch.zeros(60, 3, 3), (0, 0)
        ),
        "groups hold 40 matrices": lambda: coatnet_figures.plot_matrices(
            [("w", {str(i): torch.eye(2) for i in range(40)})], panel_height=10
        ),
        "charts has 4 charts": lambda: explorer.bar_charts([bars] * 4),
        "panels has 200 maps": lambda: plotting.compare_maps(
            photo.load_photo(64), [(str(i), row, (4, 4)) for i in range(200)], (0.5, 0.5)
        ),
        "maps has 60 entries": lambda: shunted.plot_shunted_maps(
            photo.load_photo(64), {r: {"plain": (row, (4, 4))} for r in range(1, 61)}, (0.5, 0.5)
        ),
    }


@pytest.mark.parametrize("name", list(_too_tall()))
def test_fifth_audit_a_figure_too_tall_names_the_callers_argument(name):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    with pytest.raises(ValueError) as err:
        _too_tall()[name]()
    assert name in str(err.value) and "nrows" not in str(err.value)
    assert plt.get_fignums() == before  # refused before a figure was opened


# --- Sixth audit (review/robust-r5.md) -----------------------------------------------------
# Each case is the student's slip as the audit made it: a message and a verdict in bounded
# time, or an error that names the argument, with global state put back.


@pytest.fixture
def quick_timer(monkeypatch):
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 1.0)
    monkeypatch.setattr(checking, "ANSWER_SECONDS", 1.0)


class _MyBase(BaseException):
    """A student's own exception class, derived from BaseException by mistake."""


def _coatnet_exercises():
    from vit_notes.coatnet import exercises

    return exercises


def _function_checkers():
    ce = _coatnet_exercises()
    return {
        "pvt": pvt.check_sra_forward,
        "shunted": shunted.check_shunted_forward,
        "swin": swin.check_swin_forward,
        "relative_attention": ce.check_relative_attention,
        "relative_index": ce.check_relative_index,
        "query_token": learned.check_query_token,
    }


@pytest.mark.parametrize("name", list(_function_checkers()))
def test_sixth_audit_a_base_exception_of_the_students_own_gets_a_verdict(capsys, name):
    def f(*args):
        raise _MyBase("base")

    assert _function_checkers()[name](f) is False
    assert "_MyBase: base" in " ".join(capsys.readouterr().out.split())


def test_sixth_audit_a_keyboard_interrupt_still_stops_the_checker():
    def f(*args):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pvt.check_sra_forward(f)


def test_sixth_audit_a_stopped_student_leaves_no_torch_function_mode(quick_timer, capsys):
    def busy(attn, x):
        while True:
            pass

    before = list(torch.overrides._get_current_function_mode_stack())
    assert _coatnet_exercises().check_relative_attention(busy) is False
    assert "was stopped" in capsys.readouterr().out
    assert list(torch.overrides._get_current_function_mode_stack()) == before


@pytest.mark.parametrize("name", list(_function_checkers()))
def test_sixth_audit_torch_defaults_changed_by_a_raising_student_are_put_back(capsys, name):
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()

    def f(*args):
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(threads + 1)
        raise ValueError("x")

    try:
        assert _function_checkers()[name](f) is False
        assert torch.get_default_dtype() == dtype and torch.get_num_threads() == threads
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


class _HangRepr:
    def __repr__(self):
        while True:
            time.sleep(0.01)


class _HangFloat:
    def __float__(self):
        while True:
            pass

    __index__ = __float__

    def __repr__(self):
        return "HangFloat()"


def _answer_checkers():
    from vit_notes import coatnet

    return {
        "compare.check_growth": compare.check_growth,
        "compare.check_layer_choice": compare.check_layer_choice,
        "pvt.check_kv_tokens": pvt.check_kv_tokens,
        "pvt.check_sr_choice": pvt.check_sr_choice,
        "coatnet.check_rel_table_size": coatnet.check_rel_table_size,
        "coatnet.check_layout_choice": coatnet.check_layout_choice,
        "shunted.check_shunted_macs": shunted.check_shunted_macs,
        "swin.check_memory_prediction": swin.check_memory_prediction,
        "learned.check_chance_level": learned.check_chance_level,
        "learned.check_prediction": learned.check_prediction,
    }


@pytest.mark.parametrize(
    "answer", [_HangRepr(), _HangFloat(), [_HangRepr()]], ids=["repr", "float", "list"]
)
@pytest.mark.parametrize("name", list(_answer_checkers()))
def test_sixth_audit_an_answer_whose_methods_never_return_gets_a_verdict(
    quick_timer, capsys, name, answer
):
    start = time.monotonic()
    assert _answer_checkers()[name](answer) is False
    assert time.monotonic() - start < 10
    assert capsys.readouterr().out.startswith("❌")
    assert sys.gettrace() is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: pvt.check_sra_forward(pvt.sra_steps, configs=[(1, 1, 8192, 1, 1)]),
        lambda: pvt.check_sra_forward(pvt.sra_steps, configs=[(1, 1, 4096, 1, 64)]),
        lambda: shunted.check_shunted_forward(shunted.shunted_steps, configs=[(1, 1, 4096, 2, 64)]),
        lambda: swin.check_swin_forward(swin.swin_steps, configs=[(1, 1, 16384, 1, 1, 0)]),
        lambda: _coatnet_exercises().check_relative_attention(
            _coatnet_exercises().relative_attention_steps, configs=[(64, 64, 16, 16, 1, 1)]
        ),
    ],
)
def test_sixth_audit_forward_work_counts_weights_and_the_modules_grid(call):
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"configs\[0\]"):
        call()
    assert time.monotonic() - start < 5


def test_sixth_audit_relative_index_bounds_its_grids_in_all():
    from vit_notes import coatnet

    ce = _coatnet_exercises()
    with pytest.raises(ValueError, match=r"grids\[1\]"):
        ce.check_relative_index(coatnet.relative_position_index, grids=[(64, 64)] * 100)


@pytest.mark.parametrize(
    "call",
    [
        lambda: pvt.sra_query_maps(torch.rand(3, 1024, 1024), sr_ratios=(1,), patch=1),
        lambda: shunted.sra_nearest_cost_maps(torch.rand(3, 1024, 1024), patch=1),
        lambda: shunted.shunted_query_maps(torch.rand(3, 1024, 1024), sr_ratios=(2,), patch=1),
        lambda: pvt.query_peaks(torch.rand(3, 2048, 2048), [(0.5, 0.5)], sr_ratios=(1,)),
        lambda: learned.toy_query_maps(torch.rand(3, 2048, 2048), (0.5, 0.5)),
        lambda: learned.learned_query_maps(torch.rand(3, 2048, 2048), (0.5, 0.5)),
    ],
)
def test_sixth_audit_a_photo_too_large_for_the_query_maps_is_refused(call):
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"img is .* at most 16,384 tokens"):
        call()
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    "call, answer",
    [
        (pvt.check_sra_macs, "58605568.00000000001"),
        (pvt.check_sra_macs, "58605.5680000000000001k"),
        (swin.check_window_macs, "145108992.00000000001"),
        # more than 28 significant digits, where a Decimal rounds in its context
        (pvt.check_kv_tokens, "49.00000000000000000000000000000000001"),
        (pvt.check_sra_macs, "58605.568000000000000000000000000001k"),
    ],
)
def test_sixth_audit_a_fraction_too_fine_for_a_float_is_not_a_count(capsys, call, answer):
    assert call(answer) is False
    assert "is whole" in capsys.readouterr().out


def test_a_whole_number_in_another_scripts_digits_is_not_read_as_a_fraction(capsys):
    """Python reads any Unicode decimal digit: their zeros after the point are zeros too."""
    assert pvt.check_kv_tokens("\u0664\u0669.\u0660") is True  # "49.0" in Arabic-Indic digits
    assert pvt.check_kv_tokens("\u0664\u0669.\u0660" + "\u0660" * 30 + "\u0661") is False
    assert "is whole" in capsys.readouterr().out


def test_sixth_audit_a_near_fraction_is_echoed_as_typed(capsys):
    assert pvt.check_kv_tokens("49.00000000001") is False
    out = capsys.readouterr().out
    assert "49.00000000001" in out and "49 is" not in out


def test_sixth_audit_a_hugely_negative_test_size_is_told_it_is_negative(capsys):
    assert learned.check_test_size(-(10**5000)) is False
    out = capsys.readouterr().out
    assert "positive" in out and "too many" not in out


@pytest.mark.parametrize("drop_path", [[], [0.1], [0.1, 0.2, 0.3]])
def test_sixth_audit_basic_layer_needs_one_drop_path_rate_per_block(drop_path):
    with pytest.raises(ValueError, match="drop_path has .* depth=2"):
        swin.BasicLayer(
            dim=64, input_resolution=(14, 14), depth=2, num_heads=2, window_size=7,
            drop_path=drop_path,
        )  # fmt: skip


def test_sixth_audit_runs_to_pair_bounds_detail():
    from vit_notes.learned import exercises as learned_exercises

    with pytest.raises(ValueError, match="detail"):
        learned_exercises.check_runs_to_pair([1, 2], detail=10**5000)


@pytest.mark.parametrize(
    "step", [float("nan"), 10**5000, -5, 2.5, True], ids=["nan", "huge", "-5", "2.5", "True"]
)
def test_sixth_audit_check_count_refuses_a_bad_step(step):
    with pytest.raises((TypeError, ValueError), match="step"):
        checking.check_count(12845057, 12845056, "M", "ok", step=step)


def test_sixth_audit_explicit_attention_refuses_a_map_it_cannot_hold():
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"tokens=65,536.*at most 32,768 tokens"):
        compare.measure_attention("explicit", 65536)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: learned.Interval(mean="7", low=0.0, high=1.0, n=3),
        lambda: learned.Interval(mean=0.5, low=None, high=1.0, n=3),
        lambda: learned.Interval(mean=0.5, low=0.0, high=float("nan"), n=3),
        lambda: learned.Interval(mean=0.5, low=0.0, high=1.0, n=-3),
        lambda: learned.TrainLog(losses=-3),
        lambda: learned.TrainLog(seconds="7"),
        lambda: learned.TrainLog(settings=None),
    ],
)
def test_sixth_audit_result_records_refuse_what_they_cannot_hold(make):
    with pytest.raises((TypeError, ValueError), match="mean|low|high|n|losses|seconds|settings"):
        make()


def test_sixth_audit_result_records_take_what_they_hold():
    assert str(learned.Interval(mean=0.02, low=-0.01, high=0.05, n=5)) == "+2.0% [-1.0%, +5.0%]"
    assert learned.TrainLog([0.5, 0.25], 1.5, {"lr": 1e-3}).losses == [0.5, 0.25]


def test_sixth_audit_a_wrong_head_count_does_not_print_the_per_head_size(capsys):
    from vit_notes import coatnet

    assert coatnet.check_rel_table_size(729 * 2) is False
    out = " ".join(capsys.readouterr().out.split())
    assert "729" not in out and "12 heads, not 2" in out


# Audit 7 (N2, N4, N5, N7): each test is the student's slip the audit found.


def _query_map_calls():
    return [
        lambda x: pvt.sra_query_maps(x, sr_ratios=(1,)),
        lambda x: pvt.query_peaks(x, [(0.5, 0.5)], sr_ratios=(1,)),
        lambda x: shunted.shunted_query_maps(x, sr_ratios=(2,)),
        lambda x: shunted.coarse_peaks(x, [(0.5, 0.5)], sr_ratio=8),
        photo.colour_tokens,
        lambda x: plotting.show_photo(Figure().add_subplot(), x),
    ]


@pytest.mark.parametrize("call", _query_map_calls())
def test_seventh_audit_a_photo_in_0_to_255_is_refused(call):
    """``torch.from_numpy(np.asarray(pil)).permute(2, 0, 1).float()`` without ``/ 255``."""
    pixels = (photo.load_photo(64) * 255).round()
    with pytest.raises(ValueError, match=r"img holds values from 0 to 255.*img / 255"):
        call(pixels)


@pytest.mark.parametrize("call", _query_map_calls())
def test_seventh_audit_a_photo_below_0_is_refused(call):
    """A normalised image (mean 0, unit spread) is not a photo in [0, 1] either."""
    img = photo.load_photo(64)
    with pytest.raises(ValueError, match=r"img holds values from -[\d.]+ to [\d.]+.*\[0, 1\]"):
        call((img - 0.5) / 0.25)


@pytest.mark.parametrize("call", _query_map_calls())
def test_seventh_audit_a_photo_a_little_outside_0_to_1_is_told_to_clamp(call):
    """A bicubic resize overshoots [0, 1] by a little."""
    img = photo.load_photo(64)
    with pytest.raises(ValueError, match=r"img holds values from -0\.01 to 1\.01.*clamp\(0, 1\)"):
        call(img * 1.02 - 0.01)


def test_seventh_audit_the_photo_is_in_0_to_1():
    for side in (8, 64, 224, 448):
        img = photo.load_photo(side)
        assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0


def test_seventh_audit_numpy_small_integers_give_the_plain_int_result():
    u8, i8 = np.uint8, np.int8
    assert pvt.OverlapPatchEmbed(img_size=u8(200)).num_patches == 2500
    assert pvt.PatchEmbed(img_size=u8(200), patch_size=4).num_patches == 2500
    assert type(pvt.PatchEmbed(img_size=u8(200), patch_size=u8(4)).stride) is int
    got = transformer_block_cost(14, 14, 64, expand_ratio=u8(4)).macs
    assert got == transformer_block_cost(14, 14, 64, expand_ratio=4).macs
    got = mbconv_cost(14, 14, 64, 64, expand_ratio=u8(4)).macs
    assert got == mbconv_cost(14, 14, 64, 64, expand_ratio=4).macs
    assert MBConv(64, 64, expand_ratio=u8(4)).mid_chs == MBConv(64, 64).mid_chs
    got = mbconv_cost(14, 14, 256, 256, se_ratio=u8(1)).macs  # 1 x 256 in uint8 overflowed
    assert got == mbconv_cost(14, 14, 256, 256, se_ratio=1.0).macs
    sra = pvt.SpatialReductionAttention(i8(64), 2)
    assert sra.kv.out_features == 128 and "np." not in repr(sra)
    win = swin.WindowAttention(i8(64), 7, 2)
    assert win.qkv.out_features == 192 and "np." not in repr(win)
    assert swin.toy_window_attention(i8(64), 7).qkv.out_features == 192
    assert torch.equal(swin.shift_mask(14, 14, i8(7), 3), swin.shift_mask(14, 14, 7, 3))
    assert torch.equal(swin.shift_regions(14, 14, i8(7), 3), swin.shift_regions(14, 14, 7, 3))


@pytest.mark.parametrize(
    "call, got",
    [
        (lambda: compare.layer_keys(C=3), "C=3 is not divisible by heads=2"),
        (lambda: compare.check_growth(4, heads=5), "C=64 is not divisible by heads=5"),
        (lambda: compare.check_layer_choice("x", C=3), "C=3 is not divisible by heads=2"),
    ],
)
def test_seventh_audit_the_comparison_names_its_own_arguments(call, got):
    with pytest.raises(ValueError, match=got) as e:
        call()
    assert "num_heads" not in str(e.value) and "dim=" not in str(e.value)


_PER_STAGE = ("embed_dims", "num_heads", "mlp_ratios", "depths", "sr_ratios")


@pytest.mark.parametrize(
    "build, name",
    [(pvt.PyramidVisionTransformer, n) for n in _PER_STAGE]
    + [(shunted.ShuntedTransformer, n) for n in _PER_STAGE]
    + [(CoAtNet, "embed_dims"), (CoAtNet, "depths")],
)
def test_seventh_audit_a_0_d_tensor_per_stage_setting_is_named(build, name):
    with pytest.raises(TypeError, match=rf"^{name} must be a list or tuple .*a 0-d tensor"):
        build(**{name: torch.tensor(3)})


# --- eighth audit (N1, N3-N5) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda v: pvt.SpatialReductionAttention(64, num_heads=1, attn_drop=v), "attn_drop"),
        (lambda v: pvt.Block(64, num_heads=1, attn_drop=v), "attn_drop"),
        (lambda v: pvt.PyramidVisionTransformer(attn_drop_rate=v), "attn_drop_rate"),
        (lambda v: swin.WindowAttention(32, (4, 4), 2, attn_drop=v), "attn_drop"),
        (lambda v: swin.SwinTransformer(attn_drop_rate=v), "attn_drop_rate"),
        (lambda v: shunted.ShuntedAttention(64, num_heads=2, sr_ratio=2, attn_drop=v),
         "attn_drop"),
        (lambda v: shunted.ShuntedTransformer(attn_drop_rate=v), "attn_drop_rate"),
        (lambda v: coatnet.RelativeAttention(32, num_heads=2, grid_size=(4, 4), attn_drop=v),
         "attn_drop"),
        (lambda v: coatnet.TransformerBlock(32, grid_size=(4, 4), drop=v), "drop"),
    ],
    ids=["SRA", "PVT Block", "PVT", "WindowAttention", "Swin", "ShuntedAttention", "Shunted",
         "RelativeAttention", "TransformerBlock"],
)  # fmt: skip
@pytest.mark.parametrize("rate", [1.0, 1, 1.5, -0.1])
def test_eighth_audit_an_attention_dropout_of_1_is_refused_when_built(build, name, rate):
    # N1, the slip: ``attn_drop=1.0`` "to drop it all", accepted until the first training
    # step, where attention.attend refused it as ``dropout_p``, a name the student never gave.
    with pytest.raises(ValueError, match=rf"^{name} must be a number >= 0 and < 1") as e:
        build(rate)
    assert "dropout_p" not in str(e.value)


def test_eighth_audit_an_attention_dropout_below_1_still_trains():
    attn = pvt.SpatialReductionAttention(64, num_heads=1, attn_drop=0.99).train()
    assert attn(torch.randn(1, 16, 64), 4, 4).shape == (1, 16, 64)


def test_eighth_audit_minus_zero_bytes_print_as_zero():
    # N3, the slip: a difference of two equal sizes, ``0.0 * -1``, printed as "-0 B".
    assert counting.format_bytes(-0.0) == counting.format_bytes(0.0 * -1) == "0 B"
    assert counting.format_bytes(np.float64(-0.0)) == "0 B"


def test_eighth_audit_attention_over_no_keys_is_refused():
    # N4, the slip: a student's own reduction maps the key grid to nothing.
    from vit_notes.attention import explicit_attention

    q = torch.randn(1, 2, 5, 8)
    with pytest.raises(ValueError, match="^k has 0 keys"):
        explicit_attention(q, torch.randn(1, 2, 0, 8), torch.randn(1, 2, 0, 8), scale=0.1)
    with pytest.raises(ValueError, match="^k has 0 keys"):
        explicit_attention(q, torch.randn(1, 2, 0, 8), torch.randn(1, 2, 3, 8), scale=0.1)


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("repr raised")


@pytest.mark.parametrize("query", [[10**5000, 1, 2], (_BadRepr(),), (1, 2, 3), None])
def test_eighth_audit_a_query_that_is_not_a_pair_is_named(query):
    # N5, the slip: ``figures(state, query=[row, col, 2])``; its message printed the query
    # with repr, which raised for a huge int or a broken repr.
    ex = pvt.sra_explorer()
    with pytest.raises((TypeError, ValueError), match=r"^query must be a pair \(row, col\)"):
        ex.query_cell(query)
    if query is not None:  # figures' None is the default query
        with pytest.raises((TypeError, ValueError), match=r"^query must be a pair \(row, col\)"):
            ex.figures(ex.default_state(), query=query)


@pytest.mark.parametrize("value", [np.float32(1.23456), np.float16(1.23456), torch.tensor(1.23456)])
def test_ninth_audit_format_table_formats_every_float(value):
    # N1, the slip: a row holds ``arr.mean()`` of a float32 array, or a loss tensor.
    table = counting.format_table([{"a": value}, {"a": 2.0}], {"a": "A"})
    assert table.splitlines()[2:] == ["1.23", "2.00"]


class _Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.l(x)


def test_ninth_audit_count_macs_names_inputs_that_do_not_fit():
    # N2, the slip: a student's own module counted on an input of the wrong width, or with
    # no input at all.
    with pytest.raises(ValueError, match=r"_Small.*\(2, 4\)") as info:
        counting.count_macs(_Small(), torch.ones(2, 4))
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(ValueError, match="needs the inputs that module") as info:
        counting.count_macs(_Small())
    assert isinstance(info.value.__cause__, TypeError)
    assert counting.count_macs(_Small(), torch.ones(2, 3)) == 18


def test_ninth_audit_measured_holds_numpy_and_tensor_numbers(monkeypatch, tmp_path):
    # N3, the slip: a benchmark records NumPy or torch timings as they come.
    from vit_notes import measured

    monkeypatch.setattr(measured, "DIR", tmp_path)
    rows = [{"t": np.float64(1.5), "n": np.int64(3), "l": torch.tensor(0.5)}]
    measured.record("a", rows, command="x")
    assert measured.load("a").rows == [{"t": 1.5, "n": 3, "l": 0.5}]
    with pytest.raises(ValueError, match=r"rows\[0\]\['t'\] is nan"):
        measured.record("b", [{"t": float("nan")}], command="x")
    with pytest.raises(ValueError, match=r"rows\[0\]\['t'\] is inf"):
        measured.record("b", [{"t": np.float32("inf")}], command="x")
    with pytest.raises(TypeError, match="^command"):
        measured.record("b", [{"t": 1}], command=None)
    with pytest.raises(TypeError, match=r"rows\[0\]\['t'\] must be a number or text"):
        measured.record("b", [{"t": object()}], command="x")
    (tmp_path / "g.json").write_text("{}")
    with pytest.raises(ValueError, match=r"g\.json has no key 'name'"):
        measured.load("g")
    (tmp_path / "h.json").write_text("not json")
    with pytest.raises(ValueError, match=r"h\.json is not a results file"):
        measured.load("h")


@pytest.mark.parametrize("floatfmt", [">100000000", ".1000f", ">" + "9" * 5000])
def test_ninth_audit_format_table_caps_floatfmt(floatfmt):
    # N4, the slip: a width typed with too many zeros pads every cell to it.
    with pytest.raises(ValueError, match="^floatfmt="):
        counting.format_table([{"a": 1.5}], {"a": "A"}, floatfmt=floatfmt)
    assert counting.format_table([{"a": 1.5}], {"a": "A"}, floatfmt=">100.2f").endswith("1.50")


def test_ninth_audit_attend_refuses_a_kv_grid_that_does_not_fit_the_keys():
    # N5, the slip: a student's own layer passes the query grid as the key grid.
    from vit_notes import attention, trace

    q = torch.ones(1, 1, 2, 3)
    with trace.record_attention(query=0):
        with pytest.raises(ValueError, match="^kv_grid 3x3 has 9 cells but k has 2 keys"):
            attention.attend(torch.nn.Identity(), q, q, q, scale=1.0, kv_grid=(3, 3))


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (torch.zeros(4), "^row is all zeros"),
        (-torch.ones(4), "^row holds negative weights"),
        (torch.ones(2, 2) / 4, "^row must be 1-D"),
    ],
)
def test_ninth_audit_seen_box_refuses_rows_that_are_not_weights(row, match):
    # N6, the slip: a masked-out row, logits instead of weights, or the whole map.
    with pytest.raises(ValueError, match=match):
        plotting.seen_box(row, (2, 2))
    assert plotting.seen_box(torch.ones(4) / 4, (2, 2)) is None


def test_ninth_audit_init_weights_names_a_module_and_a_flag():
    # N7, the slip: ``init_weights("x")`` or ``convs="no"``, which is true.
    with pytest.raises(TypeError, match="^m must be a Module.*model.apply"):
        layers.init_weights("x")
    with pytest.raises(TypeError, match="^convs must be True or False"):
        layers.init_weights(torch.nn.Linear(2, 2), convs="no")


# --- Tenth audit (robust-audit-r10) -------------------------------------------------------
# Each case is the student's slip as the audit made it; the error names the argument.


def _refused_by_the_package(call, match):
    """``call()`` raises a TypeError or ValueError from the package, its message matching."""
    import traceback

    with pytest.raises((TypeError, ValueError), match=match) as e:
        call()
    where = traceback.extract_tb(e.value.__traceback__)[-1].filename
    assert "vit_notes" in where, f"raised in {where}: {e.value}"
    return e.value


@pytest.mark.parametrize(
    "cells, got",
    [
        # the token count for each side, not the grid's side: 3,136 tokens of a 224-px
        # image in 4-px patches (the audit's 10**6 drew for minutes)
        ((3136, 3136), "rows=3136"),
        ((10**6, 10**6), "rows=1000000"),
        ((10**5000, 2), "rows=a 5001-digit number"),
        # a subtraction gone negative, ``cells=(kh - R, kw)``: drew no ruling, silently
        ((-4, 4), "rows=-4"),
        ((4, 0), "cols=0"),
    ],
    ids=["tokens", "million", "huge", "negative", "zero"],
)
def test_tenth_audit_a_box_is_ruled_into_a_bounded_count_of_cells(cells, got):
    # N1: the message names cells, the value and the allowed range, at once.
    ax = Figure().add_subplot()
    start = time.monotonic()
    err = _refused_by_the_package(
        lambda: plotting.box(ax, (0, 0), (1, 1), cells=cells), r"^cells must be two integers"
    )
    assert time.monotonic() - start < 1
    assert got in str(err) and f"from 1 to {plotting.MAX_CELLS}" in str(err)
    assert not ax.lines and not ax.patches  # refused before anything is drawn


def test_tenth_audit_every_ruling_the_book_draws_is_inside_the_bound():
    # The finest ruling in the package: CoAtNet's bias table, (2H - 1) cells a side up to 63.
    ax = Figure().add_subplot()
    plotting.box(ax, (0, 0), (1, 1), cells=(63, np.int64(63)))
    plotting.box(ax, (0, 0), (1, 1), cells=(plotting.MAX_CELLS, 1))
    assert len(ax.lines) == 62 * 2 + plotting.MAX_CELLS - 1


def _schematic_slips():
    img, row = photo.load_photo(64), torch.tensor([0.5, 0.5, 0.0, 0.0])

    def ax():
        return Figure().add_subplot()

    return {
        # ``ax=None``: the panel forgotten, or ``axes`` (the array) for one panel
        "box ax=None": (lambda: plotting.box(None, (0, 0), (1, 1)), r"^ax must be a Axes"),
        "arrow ax=None": (lambda: plotting.arrow(None, (0, 0), (1, 1)), r"^ax must be a Axes"),
        "show_photo ax=None": (lambda: plotting.show_photo(None, img), r"^ax must be a Axes"),
        "mark_seen ax=None": (
            lambda: plotting.mark_seen(None, img, row, (2, 2)),
            r"^ax must be a Axes",
        ),
        "mark_query ax=None": (
            lambda: plotting.mark_query(None, img, (0.5, 0.5)),
            r"^ax must be a Axes",
        ),
        # a bad xy: one number, a third coordinate, text, NaN
        "box xy=0.5": (lambda: plotting.box(ax(), 0.5, (1, 1)), r"^xy must be a pair \(x, y\)"),
        "box xy 3-D": (lambda: plotting.box(ax(), (0, 0, 0), (1, 1)), r"^xy must be a pair"),
        "box xy text": (lambda: plotting.box(ax(), ("0", 0), (1, 1)), r"^xy\[0\] must be"),
        "box size<0": (lambda: plotting.box(ax(), (0, 0), (-1, 1)), r"^size\[0\] must be"),
        "arrow start": (lambda: plotting.arrow(ax(), "ab", (1, 1)), r"^start must be a pair"),
        "arrow end NaN": (
            lambda: plotting.arrow(ax(), (0, 0), (1, float("nan"))),
            r"^end\[1\] must be",
        ),
        "arrow offset": (
            lambda: plotting.arrow(ax(), (0, 0), (1, 1), label="x", offset=0.1),
            r"^offset must be a pair",
        ),
        # a bad label_pos: "top" for "above"
        "box label_pos": (
            lambda: plotting.box(ax(), (0, 0), (1, 1), label="q", label_pos="top"),
            r"^label_pos='top' is not allowed; choose one of \['above', 'below', 'center'\]",
        ),
        # a bad colour: misspelt, a number for a grey, None
        "box color": (
            lambda: plotting.box(ax(), (0, 0), (1, 1), color="bleu"),
            r"^color='bleu' is not a matplotlib colour",
        ),
        "box color grey": (
            lambda: plotting.box(ax(), (0, 0), (1, 1), color=0.5),
            r"^color=0.5 is not a matplotlib colour.*'0.5'",
        ),
        "arrow color": (
            lambda: plotting.arrow(ax(), (0, 0), (1, 1), color=None),
            r"^color=None is not a matplotlib colour",
        ),
        "box alpha": (lambda: plotting.box(ax(), (0, 0), (1, 1), alpha=25), r"^alpha must be"),
        "box label": (lambda: plotting.box(ax(), (0, 0), (1, 1), label=3), r"^label must be"),
        "show_photo title": (
            lambda: plotting.show_photo(ax(), img, title=3),
            r"^title must be a string",
        ),
        # the photo forgotten, or handed over as a NumPy array
        "mark_seen img=None": (
            lambda: plotting.mark_seen(ax(), None, row, (2, 2)),
            r"^img must be the image the marks are drawn over",
        ),
        "mark_seen img NumPy": (
            lambda: plotting.mark_seen(ax(), img.numpy(), row, (2, 2)),
            r"^img must be .*torch\.from_numpy\(img\)",
        ),
        "mark_query img=None": (
            lambda: plotting.mark_query(ax(), None, (0.5, 0.5)),
            r"^img must be the image the marks are drawn over",
        ),
    }


SCHEMATIC_SLIPS = _schematic_slips()


@pytest.mark.parametrize("slip", SCHEMATIC_SLIPS)
def test_tenth_audit_the_drawing_primitives_name_a_bad_argument(slip):
    # N2: each once met Python's AttributeError ('NoneType' has no attribute 'add_patch'), a
    # KeyError for label_pos, or matplotlib's own error for the colour.
    call, match = SCHEMATIC_SLIPS[slip]
    _refused_by_the_package(call, match)


def test_tenth_audit_the_drawing_primitives_still_draw():
    ax = Figure().add_subplot()
    plotting.box(ax, np.array([0.0, 1.0]), (1, 1), "q", color=(0.1, 0.2, 0.3), cells=(2, 3))
    plotting.box(ax, (0, 0), (1, 1), label=None, color="0.35", label_pos="above", alpha=0)
    plotting.arrow(ax, (0, 0), (1, 1), "step", color="tab:blue", offset=(0, 0.1))
    assert len(ax.patches) == 5 and len(ax.lines) == 3 and len(ax.texts) == 2
    img = photo.load_photo(64)
    plotting.show_photo(ax, img, query_rc=(0.5, 0.5), title="")
    rect = plotting.mark_seen(ax, img, torch.tensor([0.5, 0.5, 0.0, 0.0]), (2, 2))
    assert rect.get_visible() and (rect.get_x(), rect.get_width()) == (0.0, 64.0)


def _pil(size: int = 64, mode: str = "RGB"):
    from PIL import Image

    return Image.new(mode, (size, size + 8), "white")


@pytest.mark.parametrize("family", MODELS)
def test_tenth_audit_a_pil_image_gets_the_one_line_fix(family):
    # N3, the slip: ``model(Image.open(path))``, the photo as PIL gives it. The message named
    # no fix and cut the description at "size=...".
    model = MODELS[family]().eval()
    pil = _pil()
    with pytest.raises(TypeError) as e:
        model(pil)
    message = str(e.value)
    fix = "(torch.from_numpy(np.array(x)).permute(2, 0, 1).float() / 255)[None]"
    assert message.startswith("x must be a float tensor of images"), message
    assert "a PIL image (mode RGB, 64x72 px)" in message and fix in message, message
    assert "size=..." not in message
    x = eval(fix, {"torch": torch, "np": np, "x": pil})  # the fix, as the student types it
    with torch.no_grad():
        assert model(torch.nn.functional.interpolate(x, size=64)).shape == (1, 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda img: plotting.show_photo(Figure().add_subplot(), img),
        lambda img: validate.photo("img", img),
        lambda img: photo.colour_tokens(img),
    ],
)
def test_tenth_audit_a_pil_photo_for_a_figure_gets_the_fix(call):
    pil = _pil(mode="L")  # a greyscale scan: converted to RGB first
    fix = 'torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).float() / 255'
    err = _refused_by_the_package(lambda: call(pil), r"^img must be .*a PIL image \(mode L")
    assert fix in str(err), err
    img = eval(fix, {"torch": torch, "np": np, "img": pil})
    assert img.shape == (3, 72, 64) and float(img.max()) == 1.0
    call(img)  # the fix gives what the figures take


def test_tenth_audit_a_shown_value_keeps_its_useful_part():
    # A default repr loses its memory address, which pushed the rest past the cut; a PIL
    # image is described by its mode and size wherever a message shows it.
    assert validate.shown(_pil()) == "a PIL image (mode RGB, 64x72 px)"
    assert validate.shown(object()) == "<object object>"
    with pytest.raises(TypeError, match=r"^ax must be a Axes, got a PIL image \(mode RGB"):
        plotting.schematic_axes(_pil())


@pytest.mark.parametrize(
    "H, W, match",
    [
        # NumPy int16 sides from an array of sizes: 256 * 256 overflowed to 0 and passed
        (np.int16(256), np.int16(256), r"a 256x256 grid of 65,536 positions"),
        (np.int16(300), np.int16(300), r"a 300x300 grid of 90,000 positions"),
        (10**5000, 1, r"^H=a 5001-digit number is too large"),  # str() of it raised
        ("14", 14, r"^H must be an integer >= 1, got '14' \(str\); pass the number itself"),
        (-1, 14, r"^H must be an integer >= 1, got -1"),  # accepted: -14 positions
        (14, float("nan"), r"^W must be an integer >= 1, got nan"),  # accepted
        (14.0, 14, r"^H must be an integer >= 1, got 14.0 \(float\); pass 14"),
    ],
    ids=["int16-256", "int16-300", "huge", "text", "negative", "nan", "float"],
)
def test_tenth_audit_the_positions_guard_names_a_bad_side(H, W, match):
    # N4: check_positions is the guard of the relative-attention grids (not a checker of an
    # answer: the constructors that call it rely on its raising); its sides are image sides.
    _refused_by_the_package(lambda: coatnet_exercises.check_positions(H, W, "grid_size"), match)


def test_tenth_audit_the_positions_guard_keeps_its_verdicts():
    assert coatnet_exercises.check_positions(np.int64(64), 64, "grid_size") is None
    with pytest.raises(ValueError, match=r"^grid_size gives relative attention a 64x65 grid"):
        coatnet_exercises.check_positions(64, 65, "grid_size")
    with pytest.raises(TypeError, match=r"^what must be a string"):
        coatnet_exercises.check_positions(4, 4, None)


# -- audit 11


@pytest.mark.parametrize("value", [10**5000, 3, None], ids=["huge", "int", "none"])
def test_set_alt_and_measured_load_refuse_a_non_text_with_a_message(value):
    import matplotlib.pyplot as plt

    from vit_notes import measured, plotting

    class BrokenRepr:
        def __repr__(self):
            raise RuntimeError("repr")

    fig = plt.figure()
    try:
        for v in (value, BrokenRepr()):
            with pytest.raises(TypeError, match="must be a string"):
                plotting.set_alt(fig, v)
            with pytest.raises(TypeError, match="name must be a string"):
                measured.load(v)
    finally:
        plt.close(fig)


def test_learned_explorer_with_one_image_starts_on_it():
    from vit_notes import learned

    e = learned.learned_explorer(images=1)
    assert e.default_state()["image"] == 0


def test_swin_cost_table_refuses_a_size_in_its_own_name():
    from vit_notes import swin

    # 64 px is an integer >= 4, but swin_t's 7x7 windows do not tile its 16x16 grid
    with pytest.raises(ValueError, match=r"size=64 .* such as 224, 448"):
        swin.swin_cost_table(size=64, timed=False)


@pytest.mark.parametrize("attn", [torch.nn.Linear(2, 2), None])
def test_sra_steps_checks_the_layer_before_reading_it(attn):
    from vit_notes import pvt

    with pytest.raises(TypeError, match="attn must be"):
        pvt.sra_steps(attn, torch.rand(1, 16, 8), 4, 4)


@pytest.mark.parametrize(
    "done",
    ["2", 10**5000, float("nan"), None, -5, 30],
    ids=["text", "huge", "nan", "none", "-5", "30"],
)
def test_progress_refuses_a_step_outside_the_run(done):
    from vit_notes.learned import Progress

    p = Progress(3, "run", width=10, enabled=False)
    with pytest.raises((TypeError, ValueError), match="done"):
        p.update(done)
    with pytest.raises((TypeError, ValueError), match="done"):
        p.text(done, "")
    with pytest.raises(TypeError, match="note"):
        p.text(1, 3)
    assert p.text(3, "") == "run ██████████ 3/3"


def test_show_examples_refuses_marks_whose_fields_disagree():
    import dataclasses

    from vit_notes import learned

    d = learned.make_dataset(12, 0)
    slips = [
        (learned.Marks(1, 2, 3, 4, 5, 6, 7, 8), "data.task"),  # fields in the wrong places
        (dataclasses.replace(d, labels=d.labels + 10), "data.labels runs from 10"),
        (dataclasses.replace(d, task="same"), "the 'same' task has classes 0 to 1"),
        (dataclasses.replace(d, labels=d.labels[:3]), "data.labels has 3 entries"),
    ]
    for data, message in slips:
        with pytest.raises((TypeError, ValueError), match=message):
            learned.show_examples(data)


def _compare_maps_slips():
    row = torch.softmax(torch.arange(16.0), 0)
    panel = [("a", row, (4, 4))]
    return [
        (dict(panels=panel, suptitle=3), TypeError, "suptitle must be a string"),
        (dict(panels=panel, vmax="1"), TypeError, "vmax must be a number"),
        (dict(panels=[("a", row.tolist(), (4, 4))]), TypeError, r"panels\[0\]'s weights"),
        (dict(panels=[("a", row)]), TypeError, r"panels\[0\] must be \(title, weights, grid\)"),
        (dict(panels=panel, patches=4), TypeError, "patches must be a list"),
        (dict(panels=panel, panel_height="2"), TypeError, "panel_height must be a number"),
        (dict(panels=[("a", -row, (4, 4))]), ValueError, r"panels\[0\]'s weights hold"),
        (dict(panels=(p for p in panel)), TypeError, "panels must be a list"),
        (dict(panels=panel, outside=["False"]), TypeError, r"outside\[0\] must be True or False"),
    ]


@pytest.mark.parametrize("kwargs, kind, message", _compare_maps_slips())
def test_compare_maps_names_each_argument(kwargs, kind, message):
    from vit_notes import photo, plotting

    img = photo.load_photo(32)
    kwargs = dict(kwargs)
    panels = kwargs.pop("panels")
    with pytest.raises(kind, match=message):
        plotting.compare_maps(img, panels, (0.5, 0.5), **kwargs)


def test_plot_query_maps_and_mark_query_name_their_arguments():
    import matplotlib.pyplot as plt

    from vit_notes import photo, plotting

    img, row = photo.load_photo(32), torch.softmax(torch.arange(16.0), 0)
    with pytest.raises(TypeError, match="title must be a function"):
        plotting.plot_query_maps(img, {2: (row, (4, 4))}, (0.5, 0.5), title="x")
    with pytest.raises(TypeError, match="maps must be a dict"):
        plotting.plot_query_maps(img, [(row, (4, 4))], (0.5, 0.5))
    fig, ax = plt.subplots()
    try:
        with pytest.raises(TypeError, match="outside must be True or False"):
            plotting.mark_query(ax, img, (0.5, 0.5), 4, outside="False")
    finally:
        plt.close(fig)


@given(st.sampled_from([r"cost of $\sqrt$ N", r"$x_{$", r"$\frac{1}{2$"]))
@settings(max_examples=3, deadline=None)
def test_figure_text_with_a_half_written_formula_is_refused_up_front(formula):
    import matplotlib.pyplot as plt

    from vit_notes import measured, photo, plotting, pvt

    # a student's half-written formula in a title: refused by name, not at display
    with pytest.raises(ValueError, match="title=.* has a formula that matplotlib cannot draw"):
        pvt.plot_cost(measured.load("pvt_cost").rows, "size", formula)
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="title=.* cannot draw"):
            plotting.show_photo(ax, photo.load_photo(32), title=formula)
    finally:
        plt.close("all")
    assert validate.figure_text("title", r"cost of $\sqrt{N}$") == r"cost of $\sqrt{N}$"

"""No silent wrong result, no hang (issue 19, classes 3 and 4): each test is a student's slip.

Zero honoured where zero means something, NumPy integers counted exactly, a model scored only
on its own task, the study's helpers on the data's own grid; generators refuse settings they
cannot meet, up front, and cost helpers refuse sizes above their stated bound at once.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vit_notes import validate
from vit_notes.coatnet import (
    coatnet_cost,
    mbconv_cost,
    relative_attention_cost,
    transformer_block_cost,
)
from vit_notes.learned import data as study_data
from vit_notes.learned.figures import mark_tokens, query_token
from vit_notes.pvt import PatchEmbed, SpatialReductionAttention, sra_cost
from vit_notes.pvt.figures import identity_sra
from vit_notes.shunted import ShuntedAttention, shunted_cost
from vit_notes.shunted.cost import NEAREST_MAX_SIDE, sra_ratio_at_nearest_cost

FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- zero is a value ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [SpatialReductionAttention, ShuntedAttention])
def test_qk_scale_zero_is_honoured_not_replaced(make):
    # The slip that is not one: qk_scale=0 asks for uniform attention; it is not "the default".
    assert make(8, 2, qk_scale=0).scale == 0.0
    assert make(8, 2, qk_scale=0.0).scale == 0.0
    assert make(8, 2).scale == pytest.approx(4**-0.5)
    assert make(8, 2, qk_scale=-0.5).scale == -0.5


def test_scale_zero_gives_uniform_attention():
    attn = identity_sra(8, 1, scale=0.0)
    assert attn.scale == 0.0


@pytest.mark.parametrize("bad", ["0.1", None.__class__, float("nan")])
def test_qk_scale_must_be_a_number(bad):
    with pytest.raises((TypeError, ValueError), match="qk_scale"):
        SpatialReductionAttention(8, 2, qk_scale=bad)


def test_patch_stride_zero_is_refused_not_replaced():
    with pytest.raises(ValueError, match="stride"):
        PatchEmbed(img_size=32, patch_size=4, stride=0)
    assert PatchEmbed(img_size=32, patch_size=4).stride == 4


# --- NumPy integers -----------------------------------------------------------------------------


def test_numpy_sizes_do_not_overflow():
    # The slip: sizes taken from an array (``np.int32``) overflow at 2**31 inside a product.
    i = np.int32
    exact = sra_cost(4096, 4096, 4096, 1, 1)
    assert sra_cost(i(4096), i(4096), i(4096), i(1), i(1)) == exact
    assert exact.macs > 2**63 // 10**3 and type(exact.macs) is int
    for cost in [
        shunted_cost(i(4096), i(4096), i(4096), i(2), i(2)),
        relative_attention_cost(i(4096), i(4096), i(4096), i(2)),
        mbconv_cost(i(4096), i(4096), i(4096), i(2048)),
        transformer_block_cost(i(4096), i(4096), i(4096), i(2048)),
        coatnet_cost(img_size=np.int64(4096), depths=np.array([2, 2, 2, 2]))["total"],
    ]:
        assert type(cost.macs) is int and cost.macs > 0


@FAST
@given(
    H=st.integers(1, 4096),
    W=st.integers(1, 4096),
    heads=st.sampled_from([1, 2, 4]),
    r=st.sampled_from([1, 2, 4, 8]),
    kind=st.sampled_from([np.int16, np.int32, np.int64, np.uint32, int]),
)
def test_any_integer_type_gives_the_same_count(H, W, heads, r, kind):
    if min(H, W) < r:
        return
    assert sra_cost(kind(H), kind(W), kind(64), kind(heads), kind(r)) == sra_cost(
        H, W, 64, heads, r
    )


# --- the study ------------------------------------------------------------------------------------


def test_token_helpers_follow_the_images_size():
    # The slip: images of 64 px, the helper still assumes 32 px and an 8x8 grid.
    assert query_token((40, 40), 9, grid=16, size=64) == (44 // 4) * 16 + 44 // 4
    assert query_token((0, 0), 3) == 0
    with pytest.raises(ValueError, match="off the image"):
        query_token((40, 40), 9)  # a 64-px corner on the default 32-px image
    with pytest.raises(ValueError, match="divide"):
        mark_tokens((0, 0), 3, grid=7, size=32)


def test_a_model_is_scored_only_on_its_own_task():
    # The slip: a 4-class "majority" model scored on the 2-class "same" task scored 0.0.
    from vit_notes.learned.train import evaluate

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 4))
    with pytest.raises(ValueError, match="4 outputs"):
        evaluate(model, n=8, task="same")
    assert 0 <= evaluate(model, n=8, task="majority").accuracy <= 1


def test_a_model_is_trained_only_on_its_own_task():
    # The slip: a 4-class "majority" model trained on the 2-class "same" task. Cross-entropy
    # runs without an error (labels 0 and 1 are valid classes of 4) and trains a wrong model.
    from vit_notes.learned.train import train

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 4))
    before = [p.clone() for p in model.parameters()]
    deterministic = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ValueError, match="4 outputs but task='same' has 2 classes"):
        train(model, epochs=1, n=8, batch_size=4, task="same", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # untouched
    assert torch.are_deterministic_algorithms_enabled() == deterministic  # state restored
    log = train(model, epochs=1, n=8, batch_size=4, task="majority", progress=False)
    assert len(log.losses) == 1


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(model="pvt_full"), "model"), (dict(lr=0), "lr"), (dict(lr="3e-3"), "lr"),
     (dict(weight_decay=-1), "weight_decay")],
)  # fmt: skip
def test_train_refuses_a_bad_setting_naming_it(kwargs, name):
    # The slips: the model's name instead of the model, a zero or text learning rate.
    from vit_notes.learned.train import train

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 4))
    with pytest.raises(ValueError, match=name):
        train(**{"model": model, "epochs": 1, "n": 8, "batch_size": 4, **kwargs}, progress=False)


# --- generators refuse what they cannot meet ------------------------------------------------------


def test_no_room_for_the_marks_is_refused_up_front():
    # The slip: small images with the largest marks; it used to loop for ever.
    start = time.monotonic()
    with pytest.raises(ValueError, match="do not fit"):
        study_data.make_dataset(4, 0, size=16, detail=9)
    with pytest.raises(ValueError, match="do not fit"):
        study_data.make_dataset(4, 0, size=16, detail=9, task="same")
    assert time.monotonic() - start < 5


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    size=st.integers(16, 40),
    lo=st.integers(3, 12),
    span=st.integers(0, 3),
    task=st.sampled_from(["majority", "same"]),
)
def test_make_dataset_answers_every_setting_at_once(size, lo, span, task):
    start = time.monotonic()
    try:
        data = study_data.make_dataset(3, 0, size=size, detail=(lo, lo + span), task=task)
    except ValueError as e:
        assert "detail" in str(e) or "size" in str(e)
    else:
        assert data.images.shape == (3, 3, size, size)
    assert time.monotonic() - start < 10


# --- cost helpers refuse huge sizes at once -------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: sra_cost(10**9, 10**9, 64, 1, 8),
        lambda: shunted_cost(10**9, 10**9, 64, 2, 8),
        lambda: relative_attention_cost(10**9, 7, 64, 2),
        lambda: mbconv_cost(10**9, 10**9, 64, 64),
        lambda: coatnet_cost(img_size=2**40),
        lambda: sra_ratio_at_nearest_cost(NEAREST_MAX_SIDE + 1, 64, 64, 2, 8),
    ],
)
def test_huge_sizes_are_refused_quickly(call):
    start = time.monotonic()
    with pytest.raises(ValueError, match="too large"):
        call()
    assert time.monotonic() - start < 1


def test_deep_stages_cost_no_time_to_count():
    start = time.monotonic()
    # the deepest stage the model takes (robust-audit-r2 S2: the cost helper has its bounds)
    deep = coatnet_cost(depths=(2, 3, validate.MAX_DEPTH, 2))
    assert time.monotonic() - start < 1
    one = coatnet_cost(depths=(2, 3, 5, 2))
    assert deep["total"].macs > one["total"].macs
    assert deep["S3"].attn_bytes == one["S3"].attn_bytes  # one map at a time


def test_sizes_above_the_stated_bound_are_refused():
    assert validate.size("H", validate.MAX_SIDE) == validate.MAX_SIDE
    with pytest.raises(ValueError, match="at most"):
        validate.size("H", validate.MAX_SIDE + 1)


@pytest.mark.parametrize("kind", [np.uint8, np.int16, np.int32])
def test_a_numpy_setting_of_a_checker_gives_the_same_verdict(kind, capsys):
    # The slip: a checker's settings taken from a NumPy array (np.uint8 sizes); the checkers'
    # own arithmetic overflowed ("Python integer 3136 out of bounds for uint8") or, for int16,
    # could wrap silently. Settings are Python ints before any product.
    from vit_notes import pvt, shunted, swin

    cases = [
        (pvt.check_sra_macs, pvt.sra_cost(56, 56, 64, 1, 8).macs,
         dict(H=56, W=56, dim=64, num_heads=1, sr_ratio=8)),
        (pvt.check_kv_tokens, 49, dict(H=28, W=28, sr_ratio=4)),
        (shunted.check_shunted_macs, shunted.shunted_cost(56, 56, 64, 2, 8).macs,
         dict(H=56, W=56, dim=64, num_heads=2, sr_ratio=8)),
        (swin.check_window_macs, swin.window_attention_cost(56, 56, 96, 3, 7).macs,
         dict(H=56, W=56, dim=96, num_heads=3, window_size=7)),
    ]  # fmt: skip
    for check, right, options in cases:
        assert check(right, **{k: kind(v) for k, v in options.items()}), check.__name__
    capsys.readouterr()


# -- audit 11: no silent wrong result


def test_swin_steps_refuses_a_grid_other_than_the_layers():
    from vit_notes import swin

    # the student replays a layer built for 8x8 on a 4x16 grid of the same token count
    layer = swin.GridWindowAttention(8, (8, 8), 2, 4, 2)
    x = torch.rand(1, 64, 8)
    with pytest.raises(ValueError, match=r"layer was built for the 8x8 grid, got H=4, W=16"):
        swin.swin_steps(layer, x, 4, 16)
    with pytest.raises(ValueError, match=r"this layer was built for the 8x8 grid"):
        layer(x, 4, 16)
    assert swin.swin_steps(layer, x, 8, 8)["out"].shape == (1, 64, 8)


@given(st.sampled_from([1.0, 2.0, torch.tensor(2), np.float64(2), True, "2", 2 + 0j, None, [2]]))
@settings(max_examples=20, deadline=None)
def test_explorer_state_takes_only_an_offered_value_of_its_kind(value):
    from vit_notes import swin
    from vit_notes.explorer import Control, Explorer  # noqa: F401

    e = swin.swin_explorer()
    state = e.default_state() | {"window_size": value}
    with pytest.raises(ValueError, match=r"window_size=.*: choose one of \(4, 7, 8, 14\)"):
        e.state_key(state)


def test_explorer_state_takes_numpy_ints_for_an_int_control():
    from vit_notes import swin

    e = swin.swin_explorer()
    state = e.default_state() | {"window_size": np.int64(7)}
    assert e.state_key(state) == e.state_key(e.default_state())


def test_plot_cost_curves_labels_the_rows_own_settings():
    import matplotlib.pyplot as plt

    from vit_notes import swin

    # the student counts the curves at C = 64 with 4x4 windows and plots them
    rows = swin.cost_curves(sides=(224,), dim=64, num_heads=2, window_size=4, windows=(4, 8))
    fig = swin.plot_cost_curves(rows)
    try:
        assert "C = 64, 2 heads" in fig._suptitle.get_text()
        labels = [t for ax in fig.axes for t in ax.get_legend_handles_labels()[1]]
        assert any("M = 4" in t for t in labels), labels
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="dim=96, but the rows were counted with dim=64"):
        swin.plot_cost_curves(rows, dim=96)


@pytest.mark.parametrize(
    "weights",
    [
        torch.full((4,), float("nan")),
        -torch.softmax(torch.rand(4), 0),  # a minus sign slipped in
        torch.softmax(torch.rand(3), 0),  # the weights of a 3-key grid, titled for 2x2
        torch.ones(4) * 5,  # logits, not the softmax of them
    ],
    ids=["nan", "negative", "three-keys", "logits"],
)
def test_with_levels_states_a_level_only_for_attention_weights(weights):
    from vit_notes.learned import figures as learned_figures

    with pytest.raises(ValueError, match=r"panels\[0\]'s weights"):
        learned_figures.with_levels([("a", weights, (2, 2))])


@given(st.sampled_from(["SRA", "plain", "linear SRA"]))
@settings(max_examples=3, deadline=None)
def test_plot_cost_refuses_a_table_filtered_to_one_variant(variant):
    from vit_notes import measured, pvt

    # filtering the table to the variant of interest: a natural step, refused by name
    rows = [r for r in measured.load("pvt_cost").rows if r["variant"] == variant]
    with pytest.raises(ValueError, match="rows has no row with variant .* pass the whole table"):
        pvt.plot_cost(rows, "size", "one variant")


def test_table_helpers_refuse_a_bad_row_by_its_index():
    import copy

    from vit_notes import measured, pvt, shunted, swin

    rows = measured.load("pvt_cost").rows
    r = copy.deepcopy(rows)
    del r[5]["analytic_gmacs"]
    with pytest.raises(ValueError, match=r"rows\[5\] lacks \['analytic_gmacs'\]"):
        pvt.plot_cost(r, "size", "t")
    r = copy.deepcopy(rows)
    r[0]["ms"] = str(r[0]["ms"])
    with pytest.raises(TypeError, match=r"rows\[0\]\['ms'\] must be a number"):
        pvt.timing_surprises(r, "size")
    r = copy.deepcopy(rows)
    for x in r:
        x["ms"] = 0.0
    with pytest.raises(ValueError, match=r"rows\[0\]\['ms'\] is 0.0"):
        pvt.fixed_cost_pairs(r, "size")
    s = copy.deepcopy(measured.load("shunted_cost").rows)
    for x in s:
        x["ms_rounds"] = [0.0] * len(x["ms_rounds"])
    with pytest.raises(ValueError, match=r"\['ms_rounds'\]\[0\] is 0.0"):
        shunted.timing_margins(s)
    w = copy.deepcopy(measured.load("swin_cost").rows)
    for x in w:
        x["ms_rounds"] = []
    with pytest.raises(ValueError, match=r"\['ms_rounds'\] is \[\]"):
        swin.print_round_ratios(w)

"""Global state a student cannot break (issue 19, class 2): tracing, recording and the names
they register are restored on every exit path, a bad argument included; each test is a slip."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vit_notes import pvt, record_attention, trace_shapes
from vit_notes.trace import STATE


def state():
    return (STATE.tracing, STATE.recording, dict(STATE.names), STATE.stream)


@pytest.mark.parametrize(
    "call",
    [
        lambda: trace_shapes(model="pvt_tiny"),  # the slip: the model's name, not the model
        lambda: trace_shapes(model=torch.randn(2, 3)),  # its output
        lambda: trace_shapes(pvt.SpatialReductionAttention(8, 1), root=3),
        lambda: trace_shapes(stream="out.txt"),  # a file name, not a file
        lambda: record_attention(model="pvt_tiny"),
        lambda: record_attention(model=[1, 2]),
        lambda: record_attention(query=-1),  # a negative index does not count from the end
        lambda: record_attention(query="3"),
    ],
    ids=["trace str", "trace tensor", "trace root", "trace stream", "record str", "record list",
         "record -1", "record text"],
)  # fmt: skip
def test_a_bad_argument_leaves_tracing_and_recording_off(call):
    before = state()
    with pytest.raises((TypeError, ValueError)), call():
        pass
    assert state() == before
    assert STATE.tracing is False and STATE.recording is None


def test_state_is_restored_when_the_block_raises():
    # The slip: the model raises inside the block (a wrong image size).
    model = pvt.SpatialReductionAttention(8, 1, sr_ratio=2)
    before = state()
    with pytest.raises(ValueError), trace_shapes(model, stream=io.StringIO()):
        model(torch.randn(1, 15, 8), 4, 4)
    with pytest.raises(ValueError), record_attention(model):
        model(torch.randn(1, 15, 8), 4, 4)
    assert state() == before


def test_a_negative_query_cell_is_refused_not_wrapped():
    # The slip: ``explorer.figures(state, query=(-1, 0))`` hoping for the last row.
    from vit_notes.explorer import Explorer

    ex = Explorer.__new__(Explorer)
    ex.query_grid, ex.default_query = 4, (0, 0)
    assert ex.query_cell((3, 1)) == 13
    for query in [(-1, 0), (0, 4), (0.5, 1), "a"]:
        with pytest.raises((TypeError, ValueError), match="query"):
            ex.query_cell(query)


@pytest.mark.parametrize(
    "given, match",
    [
        ({"sr": 3}, r"sr=3: choose one of \(1, 2\)"),  # a value the control does not offer
        ({"ratio": 2}, "'ratio', which is no control"),  # the label's name, not the control's
        ({"query": [-1, 0]}, "query row must be an integer >= 0"),  # no count from the end
        ({"query": [0, 3]}, "query col=3 is outside the 3×3 query grid"),
        ({"query": 4}, "query must be"),
        ({"sr": True}, "sr=True: choose one of"),  # True is not the control's 1
        ("sr=2", "state. trait .* expected a dict"),
    ],
    ids=["value", "name", "negative query", "query outside", "query int", "bool", "text"],
)
def test_a_bad_widget_state_is_refused_and_leaves_the_state_alone(given, match):
    # The slip: a teacher sets the live explorer's state from Python (w.state = ...).
    pytest.importorskip("anywidget")
    from traitlets import TraitError

    from vit_notes.explorer import Bars, Control, Explorer, MapPanel

    ex = Explorer(
        key="explore-slip",
        title="slip",
        controls=(Control("sr", "ratio", (1, 2), 1),),
        maps=lambda queries, sr: [MapPanel("m", (2, 2), torch.full((len(queries), 4), 0.25))],
        bars=lambda sr: [Bars("cost", ("x",), (float(sr),), (f"{sr}",), ("r",))],
        caption=lambda sr: f"sr={sr}",
        query_grid=3,
        photo=lambda sr: torch.zeros(3, 12, 12),
    )
    w = ex.widget()
    before = dict(w.state)
    with pytest.raises((TypeError, ValueError, TraitError), match=match):
        w.state = given
    assert w.state == before


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    model=st.one_of(st.text(max_size=8), st.integers(), st.lists(st.integers(), max_size=3),
                    st.builds(torch.zeros, st.integers(0, 3))),
    recording=st.booleans(),
)  # fmt: skip
def test_no_argument_leaves_global_state_changed(model, recording):
    before = state()
    manager = record_attention if recording else trace_shapes
    with pytest.raises((TypeError, ValueError)), manager(model):
        pass
    assert state() == before


@pytest.mark.parametrize(
    "call",
    [
        lambda: __import__("vit_notes").pvt.sra_cost_table(sizes=(64,), sr_ratios=(2,), dim=8,
                                                            timed=False),
        lambda: __import__("vit_notes").shunted.shunted_cost_table(size=64, sr_ratios=(2,),
                                                                    dim=8, timed=False),
        lambda: __import__("vit_notes").shunted.reduction_conv_table(size=64, sr_ratios=(2,),
                                                                      dim=8, timed=False),
        lambda: __import__("vit_notes").swin.swin_cost_table(size=224, stages=(4,), timed=False),
        lambda: list(__import__("vit_notes").swin.exercises.swin_cases([(8, 8, 16, 2, 4, 2)])),
        lambda: __import__("vit_notes").learned.load("pvt_sra8"),
    ],
    ids=["sra_cost_table", "shunted_cost_table", "reduction_conv_table", "swin_cost_table",
         "swin_cases", "learned.load"],
)  # fmt: skip
def test_a_table_leaves_the_readers_random_draws_alone(call):
    # The slip: torch.manual_seed(1), a cost table (untimed), then torch.rand: the table
    # seeded the global generator for its layers, so the reader's draws were seed 0's.
    torch.manual_seed(1)
    want = torch.rand(4)
    torch.manual_seed(1)
    call()
    assert torch.equal(torch.rand(4), want)


def test_a_table_is_the_same_whatever_the_readers_generator():
    # Its own draws stay seeded: the rows do not depend on what the reader drew before.
    from vit_notes import shunted

    rows = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        rows.append(shunted.reduction_conv_table(size=64, sr_ratios=(2,), dim=8, timed=False))
    assert rows[0] == rows[1]


def test_cases_between_a_students_draws_stay_the_same():
    # A student's function that draws random numbers between two cases once moved the next
    # case's weights; the cases now draw from their own stream.
    from vit_notes.swin import exercises

    configs = [(8, 8, 16, 2, 4, 2), (8, 8, 16, 2, 4, 0)]
    plain = [layer.attn.qkv.weight.clone() for _, layer, _ in exercises.swin_cases(configs)]
    drawn = []
    for _, layer, _ in exercises.swin_cases(configs):
        torch.rand(1000)  # the student's draws, between two cases
        drawn.append(layer.attn.qkv.weight.clone())
    assert all(torch.equal(a, b) for a, b in zip(plain, drawn))

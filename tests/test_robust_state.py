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

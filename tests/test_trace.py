"""Shape tracing and attention recording: print and record only inside their blocks."""

import io

import pytest
import torch

from vit_notes import pvt, record_attention, trace_shapes
from vit_notes.trace import STATE


def test_trace_prints_the_notes_shapes_with_layer_names(capsys):
    model = pvt.pvt_tiny().eval()
    with trace_shapes(model, root="pvt_tiny"), torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    out = capsys.readouterr().out.splitlines()
    assert "pvt_tiny.block1.0.attn q_shape: (1, 1, 3136, 64)" in out
    assert "pvt_tiny.block1.0.attn kv_shape: (2, 1, 1, 49, 64)" in out
    assert "pvt_tiny.block1.0.attn attn_shape: (1, 1, 3136, 49)" in out
    assert "pvt_tiny.block1.0.attn output_shape: (1, 3136, 64)" in out
    assert "pvt_tiny.block4.1.attn attn_shape: (1, 8, 50, 50)" in out  # class token + 7x7
    assert "pvt_tiny stage3_shape: (1, 14, 14, 320)" in out


def test_no_output_and_state_restored_outside_the_block(capsys):
    attn = pvt.SpatialReductionAttention(16, 2, sr_ratio=2)
    x = torch.randn(1, 16, 16)
    attn(x, 4, 4)
    assert capsys.readouterr().out == ""
    buf = io.StringIO()
    with trace_shapes(stream=buf):
        attn(x, 4, 4)
    assert "SpatialReductionAttention kv_shape: (2, 1, 2, 4, 8)" in buf.getvalue()
    assert capsys.readouterr().out == ""
    attn(x, 4, 4)
    assert capsys.readouterr().out == ""
    assert not STATE.tracing and STATE.recording is None and STATE.names == {}


def test_state_restored_after_an_exception():
    attn = pvt.SpatialReductionAttention(16, 2)
    try:
        with trace_shapes(), record_attention():
            attn(torch.randn(1, 5, 16), 2, 2)
    except ValueError:
        pass
    assert not STATE.tracing and STATE.recording is None


def test_record_attention_keeps_one_map_per_layer_in_call_order():
    model = pvt.pvt_v2_b0().eval()
    with record_attention(model) as maps, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert list(maps)[0] == "PyramidVisionTransformer.block1.0.attn"
    assert len(maps) == sum(pvt.CONFIGS["pvt_v2_b0"]["depths"])
    assert maps.last().shape == (1, 8, 4, 4)
    assert all(not m.requires_grad for m in maps.values())


def test_record_one_query_equals_the_full_map_and_keeps_the_fused_output():
    torch.manual_seed(0)
    from vit_notes import coatnet

    rel = coatnet.RelativeAttention(32, num_heads=2, grid_size=(5, 4)).eval()
    sra = pvt.SpatialReductionAttention(32, 2, qkv_bias=True, sr_ratio=2).eval()
    cases = [
        (rel, (torch.randn(1, 32, 5, 4),), (5, 4)),
        (sra, (torch.randn(1, 35, 32), 7, 5), (3, 2)),
    ]
    for layer, inputs, grid in cases:
        with torch.no_grad():
            fused = layer(*inputs)
            with record_attention() as full:
                layer(*inputs)
            with record_attention(query=7) as one:
                out = layer(*inputs)
        torch.testing.assert_close(out, fused)  # the output still comes from the fused kernel
        (name, row), (_, whole) = one.popitem(), full.popitem()
        assert row.shape == (1, 2, 1, whole.shape[-1])
        torch.testing.assert_close(row[:, :, 0], whole[:, :, 7])
        assert one.grids[name] == grid


def test_record_query_out_of_range_names_the_layer():
    attn = pvt.SpatialReductionAttention(16, 1).eval()
    with pytest.raises(ValueError, match=r"query=20 is not a query of .*, which has 16 queries"):
        with record_attention(query=20), torch.no_grad():
            attn(torch.randn(1, 16, 16), 4, 4)
    with pytest.raises(ValueError, match="query must be an integer >= 0, got -1"):
        with record_attention(query=-1):
            pass

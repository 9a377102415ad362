"""Analytic cost formulas against torch.utils.flop_counter, and the counting helpers."""
import pytest
import torch

from vit_notes import cost, pvt

GRID = [(H, W, dim, heads, sr, linear)
        for H, W in [(56, 56), (28, 28), (14, 14), (30, 22), (7, 7)]
        for dim, heads in [(64, 1), (128, 2), (96, 4)]
        for sr, linear in [(1, False), (2, False), (4, False), (7, False), (1, True)]
        if sr <= min(H, W)]


@pytest.mark.parametrize("H,W,dim,heads,sr,linear", GRID)
def test_sra_formula_equals_the_counter(H, W, dim, heads, sr, linear):
    attn = pvt.SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=sr, linear=linear).eval()
    counted = cost.count_macs(attn, torch.randn(1, H * W, dim), H, W)
    assert cost.sra_cost(H, W, dim, heads, sr, linear).macs == pytest.approx(counted, rel=0.01)


def test_counter_counts_the_fused_attention_products():
    # Without the CPU entry, torch's counter sees no FLOPs in the fused kernel.
    attn = pvt.SpatialReductionAttention(64, 1).eval()
    with_attn = cost.count_macs(attn, torch.randn(1, 196, 64), 14, 14)
    assert with_attn - 4 * 196 * 64 * 64 == 2 * 196 * 196 * 64


def test_meta_device_counts_equal_real_counts():
    x = torch.randn(1, 3, 64, 64)
    real = cost.count_macs(pvt.pvt_v2_b0().eval(), x)
    with torch.device("meta"):
        meta = cost.count_macs(pvt.pvt_v2_b0().eval(), torch.empty(1, 3, 64, 64))
    assert real == meta


def test_attention_memory_and_tokens():
    c = cost.sra_cost(56, 56, 64, 2, 8)
    assert (c.tokens, c.kv_tokens) == (3136, 49)
    assert c.attn_elements == 2 * 3136 * 49 and c.attn_bytes == 4 * c.attn_elements
    assert cost.sra_cost(56, 56, 64, 2, 1).attn_macs == 64 * cost.sra_cost(56, 56, 64, 2, 8).attn_macs


@pytest.mark.parametrize("kwargs,match", [
    (dict(H=0, W=4, dim=8, num_heads=1), "H must be an integer >= 1, got 0"),
    (dict(H=4, W=4, dim=8, num_heads=3), "dim=8 is not divisible by num_heads=3"),
    (dict(H=4, W=4, dim=8, num_heads=1, sr_ratio=8), "smaller than sr_ratio=8"),
    (dict(H=4, W=4, dim=8, num_heads=1, sr_ratio=1.5), "sr_ratio must be an integer"),
])
def test_sra_cost_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cost.sra_cost(**kwargs)


def test_family_table_counts_live_and_compares():
    rows = cost.family_table({"pvt_v2_b0": pvt.pvt_v2_b0}, pvt.PAPER)
    (row,) = rows
    assert row["params_m"] == pytest.approx(3.66676, abs=1e-5)
    assert row["gmacs"] == pytest.approx(0.566, abs=0.001)  # PVT v2 Table 1: 0.6 GFLOPs
    assert row["gmacs_ratio"] == pytest.approx(row["gmacs"] / 0.6)
    text = cost.format_table(rows, dict(model="model", params_m="params"))
    assert text.splitlines()[2].split() == ["pvt_v2_b0", "3.67"]


def test_time_forward_returns_a_measurement():
    m = cost.time_forward(torch.nn.Linear(8, 8), torch.randn(2, 8), min_run_time=0.01, num_threads=1)
    assert m.median > 0

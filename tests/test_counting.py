"""The counting and timing tools every chapter uses: the FLOP counter sees fused attention,
meta-device counts equal real ones, family tables read the registry, timings return a
measurement, release_memory gives freed memory back (and is a no-op off glibc)."""

import os
import sys

import pytest
import torch

from vit_notes import counting, pvt


def test_counter_counts_the_fused_attention_products():
    # Without the CPU entry, torch's counter sees no FLOPs in the fused kernel.
    attn = pvt.SpatialReductionAttention(64, 1).eval()
    with_attn = counting.count_macs(attn, torch.randn(1, 196, 64), 14, 14)
    assert with_attn - 4 * 196 * 64 * 64 == 2 * 196 * 196 * 64


def test_meta_device_counts_equal_real_counts():
    x = torch.randn(1, 3, 64, 64)
    real = counting.count_macs(pvt.pvt_v2_b0().eval(), x)
    with torch.device("meta"):
        meta = counting.count_macs(pvt.pvt_v2_b0().eval(), torch.empty(1, 3, 64, 64))
    assert real == meta


def test_family_table_counts_live_and_compares():
    rows = counting.family_table(["pvt_v2_b0", "coatnet_4"])
    row = rows[0]
    assert row["params_m"] == pytest.approx(3.66676, abs=1e-5)
    assert row["gmacs"] == pytest.approx(0.566, abs=0.001)  # PVT v2: 0.6 GFLOPs
    assert row["gmacs_ratio"] == pytest.approx(row["gmacs"] / 0.6)
    assert (row["top1"], row["cite"], row["family"]) == (70.5, "wang2022pvtv2", "pvt")
    assert rows[1]["top1"] is None  # no ImageNet-1k-only result in the paper
    text = counting.format_table(rows, dict(model="model", params_m="params", top1="top-1"))
    assert text.splitlines()[2].split() == ["pvt_v2_b0", "3.67", "70.50"]
    assert text.splitlines()[3].split()[-1] == "-"


def test_time_forward_returns_a_measurement():
    m = counting.time_forward(
        torch.nn.Linear(8, 8), torch.randn(2, 8), min_run_time=0.01, num_threads=1
    )
    assert m.median > 0


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(counting._malloc_trim() is None, reason="glibc only: no malloc_trim here")
def test_release_memory_gives_freed_tensors_back():
    # 3,200 tensors of 64 kB (under glibc's mmap threshold: they come from its heap); freeing
    # every other one leaves 100 MB of holes that free() keeps and malloc_trim returns.
    tensors = [torch.ones(16 * 1024) for _ in range(3200)]
    del tensors[::2]
    held = _resident_mb()
    assert counting.release_memory() is True
    assert held - _resident_mb() > 50
    assert tensors[-1].sum() == 16 * 1024  # what is still alive is untouched


def test_release_memory_is_a_no_op_without_glibc(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert counting._malloc_trim() is None  # looked up on Linux only
    monkeypatch.setattr(counting, "_malloc_trim", lambda: None)
    assert counting.release_memory() is False

    def broken(pad):
        raise OSError("not glibc's malloc_trim")

    monkeypatch.setattr(counting, "_malloc_trim", lambda: broken)
    assert counting.release_memory() is False  # never raises


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1,023 B"),
        (1024, "1.00 KiB"),
        (96 * 1024, "96.0 KiB"),
        (1.5 * 2**20, "1.50 MiB"),  # binary units: 2**20 bytes = 1 MiB
        (16 * 2**20, "16.0 MiB"),
        (1000 * 2**20, "1,000 MiB"),
        (9.996 * 2**20, "10.0 MiB"),
        (3 * 2**30, "3.00 GiB"),
    ],
)
def test_format_bytes_picks_the_unit_and_never_prints_zero(n, text):
    assert counting.format_bytes(n) == text


def test_format_bytes_and_significant_reject_bad_input():
    with pytest.raises(ValueError, match=r"n=-1: give a number of bytes, 0 or more"):
        counting.format_bytes(-1)
    with pytest.raises(ValueError, match="n=True"):
        counting.format_bytes(True)
    with pytest.raises(TypeError, match="value must be a number, got '3'"):
        counting.significant("3")


@pytest.mark.parametrize(
    "value, text",
    [(0.0123, "0.0123"), (1.5, "1.50"), (12.34, "12.3"), (123.4, "123"), (12345.6, "12,346")],
)
def test_significant_keeps_three_digits_without_exponents(value, text):
    assert counting.significant(value) == text


def test_macs_by_module_add_up_to_the_whole_and_name_a_missing_submodule():
    """Each stage's count from the counter's per-module record; together they are the total."""
    m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = torch.zeros(3, 4)
    by = counting.count_macs_by_module(m, x, names=["0", "1", "2"])
    assert by == {"0": 3 * 4 * 8, "1": 0, "2": 3 * 8 * 2}
    assert sum(by.values()) == counting.count_macs(m, x)
    with pytest.raises(ValueError, match="'3' is not a submodule"):
        counting.count_macs_by_module(m, x, names=["3"])

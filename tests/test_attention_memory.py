"""What "attention MiB" means in practice: the recorded peak memory and time of the explicit
path (the map stored) and the fused one (bench/attention_memory.py), and the measuring
function itself, run small."""

from __future__ import annotations

import statistics
import sys
from types import SimpleNamespace

import pytest

from vit_notes import compare

FIELDS = {
    "tokens", "side", "map_mib", "explicit_mib", "fused_mib", "explicit_ms", "fused_ms",
    "explicit_runs", "fused_runs", "head_dim",
}  # fmt: skip


def test_the_recording_has_both_paths_at_growing_token_counts():
    m, rows = compare.attention_memory()
    assert m.command.startswith("python bench/attention_memory.py") and m.machine.get("cpu")
    assert m.machine["torch_threads"] == 1
    assert len(rows) >= 3 and [r["tokens"] for r in rows] == sorted(r["tokens"] for r in rows)
    for r in rows:
        assert set(r) == FIELDS
        assert r["tokens"] == (r["side"] // 4) ** 2
        assert r["map_mib"] == pytest.approx(4 * r["tokens"] ** 2 / 2**20)
        assert r["explicit_ms"] > 0 and r["fused_ms"] > 0 and len(r["fused_runs"]) >= 3
        # medians: with an even number of runs, the mean of the two middle ones
        assert r["explicit_ms"] == statistics.median(r["explicit_runs"])
        assert r["fused_ms"] == statistics.median(r["fused_runs"])
    for raw in m.rows:
        assert {"path", "peak_bytes", "map_bytes", "ms", "ms_runs", "load_avg"} <= set(raw)
        assert raw["dim"] == 64 and raw["heads"] == 1 and raw["threads"] == 1
    # the chapter reads the head size from the recording: d = dim / heads of its runs
    assert {r["head_dim"] for r in rows} == {raw["dim"] // raw["heads"] for raw in m.rows}


def _row(path, dim, heads):
    return dict(path=path, tokens=16, dim=dim, heads=heads, map_bytes=1024, peak_bytes=2048,
                ms=1.0, ms_runs=[1.0])  # fmt: skip


def test_the_head_size_is_the_recordings_own(monkeypatch):
    rows = [_row("explicit", 96, 3), _row("fused", 96, 3)]
    monkeypatch.setattr(compare.measured, "load", lambda name: SimpleNamespace(rows=rows))
    _, (row,) = compare.attention_memory()
    assert row["head_dim"] == 32


def test_the_median_of_an_even_number_of_runs_is_the_mean_of_the_middle_two(monkeypatch):
    # the recorded "ms" (the upper middle run, as an older recording stored it) is not read
    rows = [dict(_row(p, 64, 1), ms=4.0, ms_runs=[4.0, 1.0, 3.0, 2.0]) for p in compare.PATHS]
    monkeypatch.setattr(compare.measured, "load", lambda name: SimpleNamespace(rows=rows))
    _, (row,) = compare.attention_memory()
    assert row["explicit_ms"] == row["fused_ms"] == 2.5


def test_two_head_sizes_at_one_token_count_are_refused(monkeypatch):
    rows = [_row("explicit", 64, 1), _row("fused", 64, 2)]
    monkeypatch.setattr(compare.measured, "load", lambda name: SimpleNamespace(rows=rows))
    with pytest.raises(ValueError, match="two head sizes"):
        compare.attention_memory()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_the_explicit_path_stores_the_map_and_the_fused_one_does_not():
    tokens = 2048  # a 16 MiB map
    explicit = compare.measure_attention("explicit", tokens)
    fused = compare.measure_attention("fused", tokens)
    map_bytes = 4 * tokens**2
    assert explicit["map_bytes"] == fused["map_bytes"] == map_bytes
    assert explicit["peak_bytes"] >= map_bytes
    assert fused["peak_bytes"] < map_bytes / 4
    assert "ms" not in fused  # timed only when asked


def test_an_unknown_path_is_refused():
    with pytest.raises(ValueError, match="path='flash' is not allowed; choose one of"):
        compare.measure_attention("flash", 16)

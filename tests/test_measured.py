"""vit_notes.measured: results files written by benchmark commands, read by chapters."""

from __future__ import annotations

import pytest

from vit_notes import measured


def test_a_recorded_measurement_loads_with_its_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(measured, "DIR", tmp_path)
    measured.record("demo_times", [{"size": 224, "ms": 1.5}], command="python bench/demo.py")
    m = measured.load("demo_times")
    assert m.rows == [{"size": 224, "ms": 1.5}]
    assert m.command == "python bench/demo.py"
    assert m.machine["cores"] >= 1 and m.machine["torch"]
    assert "python bench/demo.py" in m.caption() and m.date[:4] in m.caption()


@pytest.mark.parametrize("name", ["", "Demo", "a-b", "../x", None])
def test_a_bad_name_is_refused(name):
    with pytest.raises(ValueError, match="measurement's name"):
        measured.load(name)


def test_a_missing_measurement_names_the_recorded_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(measured, "DIR", tmp_path)
    measured.record("there", [], command="x")
    with pytest.raises(ValueError, match=r"no measurement 'absent'; recorded: \['there'\]"):
        measured.load("absent")


def test_rows_must_be_dicts(tmp_path, monkeypatch):
    monkeypatch.setattr(measured, "DIR", tmp_path)
    with pytest.raises(TypeError, match="list of dicts"):
        measured.record("bad", [1, 2], command="x")


def test_the_caption_counts_threads_in_english():
    one = measured.Measurement("x", [], "cmd", "2026-12-05", {"torch_threads": 1})
    two = measured.Measurement("x", [], "cmd", "2026-12-05", {"torch_threads": 2})
    assert "(1 thread," in one.caption() and "(2 threads," in two.caption()

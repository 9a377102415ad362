"""The redesigned study's runner (vit_notes.learned.study): seeds, resuming, the summary."""

from __future__ import annotations

import json

import pytest

from vit_notes.learned import study
from vit_notes.learned.stats import mean_interval


def fake_run(out, variant, seed, acc):
    (out / "runs").mkdir(parents=True, exist_ok=True)
    r = dict(
        variant=variant, seed=seed, accuracy=acc, train_accuracy=acc, losses=[0.69],
        seconds=1.0, device="cpu", threads=1, torch="x", date="d",
        settings=dict(task=study.TASK, model=study.MODEL, recipe=study.RECIPE),
    )  # fmt: skip
    (out / "runs" / f"{variant}_seed{seed}.json").write_text(json.dumps(r), encoding="utf-8")


def test_parse_seeds():
    assert study.parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert study.parse_seeds("3") == [3]
    with pytest.raises(ValueError, match="seed"):
        study.parse_seeds("-1")


def test_summary_gives_intervals_and_the_paired_difference(tmp_path):
    full, pool = [0.9, 0.8, 0.85], [0.5, 0.52, 0.49]
    for s, (a, b) in enumerate(zip(full, pool, strict=True)):
        fake_run(tmp_path, "full", s, a)
        fake_run(tmp_path, "pool", s, b)
    fake_run(tmp_path, "sra4", 0, 0.7)  # one seed: no interval
    out = study.summarise(tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text("utf-8")) == out
    f, p = out["variants"]["full"], out["variants"]["pool"]
    iv = mean_interval(full)
    assert (f["mean"], f["low"], f["high"]) == pytest.approx((iv.mean, iv.low, iv.high))
    assert f["sd"] == pytest.approx(0.05)
    d = mean_interval([b - a for a, b in zip(full, pool, strict=True)])
    assert p["minus_full"]["mean"] == pytest.approx(d.mean) and p["minus_full"]["n"] == 3
    assert "mean" not in out["variants"]["sra4"] and out["variants"]["sra4"]["n"] == 1
    assert f["params"] > 0 and f["macs"] > p["macs"]  # full attention costs more
    assert out["recorded"]["devices"] == ["cpu"]


def test_done_runs_are_skipped(tmp_path, capsys):
    fake_run(tmp_path, "pool", 0, 0.5)
    study.main(["--variants", "pool", "--seeds", "0", "--out", str(tmp_path), "--cache", ""])
    assert "0 runs to do" in capsys.readouterr().out


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="window"):
        study.main(["--variants", "window", "--seeds", "0", "--out", str(tmp_path)])

"""bench/device_check.py, run on the CPU: the check passes, and a tolerance below float32's
rounding makes it fail (so it can fail)."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "device_check", Path(__file__).resolve().parents[1] / "bench" / "device_check.py"
)
device_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device_check)


def test_device_check_passes_and_can_fail(capsys):
    assert device_check.main(["--device", "cpu", "--models", "pvt_v2_b0"]) == 0
    assert "ours vs timm" in capsys.readouterr().out
    assert device_check.main(["--device", "cpu", "--models", "pvt_v2_b0", "--atol", "0"]) == 1
    assert "TOO LARGE" in capsys.readouterr().out

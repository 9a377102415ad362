"""Measured figures the book shows (times, peak memory), read from results files that a
benchmark command wrote, never measured while the book builds: the site must not depend on
the build machine's speed or load.

A benchmark script calls :func:`record` with its rows; the file
``vit_notes/measurements/<name>.json`` keeps them with the machine, the versions, the date
and the command that wrote them. A chapter calls :func:`load` and shows the rows as
measured on that machine (:meth:`Measurement.caption` says which), and may offer a cell that
times the reader's own machine.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import validate

DIR = Path(__file__).resolve().parent / "measurements"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _path(name: str) -> Path:
    if not isinstance(name, str):
        raise validate.InputTypeError(
            f"name must be a string (a measurement's name), got {validate.shown(name)} "
            f"({type(name).__name__})"
        )
    if not _NAME.match(name):
        raise ValueError(
            f"a measurement's name is lower-case letters, digits and '_', got "
            f"{validate.shown(name)}"
        )
    return DIR / f"{name}.json"


def machine() -> dict:
    """What a timing depends on: the processor, the cores and threads, the versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
        cpu = model or cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": "cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(terse=True),
    }


@dataclass(frozen=True)
class Measurement:
    """One results file: ``rows`` (a list of dicts) and where they were measured."""

    name: str
    rows: list[dict]
    command: str
    date: str
    machine: dict = field(default_factory=dict)

    def caption(self) -> str:
        """One line naming the machine and date, to print under a measured figure."""
        m = self.machine
        threads = m.get("torch_threads", "?")
        return (
            f"measured on {m.get('cpu', '?')} ({threads} thread{'' if threads == 1 else 's'}, "
            f"torch {m.get('torch', '?')}) on {self.date[:10]} by `{self.command}`"
        )


def _plain(where: str, value):
    """``value`` as JSON can hold it: a NumPy scalar or a one-element tensor becomes a plain
    number; NaN and the infinities are refused (JSON has no such number)."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.size == 1):
        value = value.item()
    elif callable(getattr(value, "numel", None)) and callable(getattr(value, "item", None)):
        if value.numel() != 1:
            raise ValueError(
                f"{where} is a tensor of {value.numel():,} values: record one number per "
                "cell, e.g. x.item()"
            )
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"{where} is {value!r}, which a results file cannot hold: record finite numbers"
        )
    if isinstance(value, (list, tuple)):
        return [_plain(f"{where}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _plain(f"{where}[{k!r}]", v) for k, v in value.items()}
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise validate.InputTypeError(
            f"{where} must be a number or text, got {validate.shown(value)} "
            f"({type(value).__name__})"
        )
    return value


def record(name: str, rows: list[dict], *, command: str) -> Path:
    """Write ``rows`` to ``vit_notes/measurements/<name>.json`` with this machine's details."""
    path = _path(name)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a list of dicts, got {type(rows).__name__}")
    validate.text("command", command)
    rows = [{k: _plain(f"rows[{i}][{k!r}]", v) for k, v in r.items()} for i, r in enumerate(rows)]
    path.parent.mkdir(exist_ok=True)
    data = {
        "name": name,
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "rows": rows,
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load(name: str) -> Measurement:
    """The rows a benchmark command recorded under ``name``."""
    path = _path(name)
    if not path.is_file():
        have = sorted(p.stem for p in DIR.glob("*.json")) if DIR.is_dir() else []
        raise ValueError(f"no measurement {validate.shown(name)}; recorded: {have}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not a results file (not JSON: {err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a results file: it holds no JSON object")
    missing = [k for k in ("name", "rows", "command", "date") if k not in data]
    if missing:
        raise ValueError(f"{path} has no key {missing[0]!r}: record it again with measured.record")
    return Measurement(
        name=data["name"],
        rows=data["rows"],
        command=data["command"],
        date=data["date"],
        machine=data.get("machine", {}),
    )

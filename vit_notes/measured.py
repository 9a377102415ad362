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
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

DIR = Path(__file__).resolve().parent / "measurements"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _path(name: str) -> Path:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"a measurement's name is lower-case letters, digits and '_', got {name!r}"
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


def record(name: str, rows: list[dict], *, command: str) -> Path:
    """Write ``rows`` to ``vit_notes/measurements/<name>.json`` with this machine's details."""
    path = _path(name)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a list of dicts, got {type(rows).__name__}")
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
        raise ValueError(f"no measurement {name!r}; recorded: {have}")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Measurement(
        name=data["name"],
        rows=data["rows"],
        command=data["command"],
        date=data["date"],
        machine=data.get("machine", {}),
    )

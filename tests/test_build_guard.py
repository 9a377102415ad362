"""Nothing slow runs while the book builds (book/_ext/build_guard.py).

The guard itself: in a kernel started as the build starts its kernels, timing
(torch.utils.benchmark, timeit) and training (any optimizer step) raise, or, for a chapter
still pending, are logged. And the chapters' code: an executed cell of a chapter outside
``PENDING`` does not time by hand (``time.perf_counter`` and the like, which the guard
cannot tell from an ordinary use). tests/browser/test_build.py reads the real build's log.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import build_guard  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_pending_chapters_exist():
    assert build_guard.PENDING <= {p.stem for p in NOTEBOOKS}


_PROBE = textwrap.dedent(
    """
    import json, sys, timeit
    import torch, torch.utils.benchmark as benchmark
    sys.path.insert(0, sys.argv[1])
    import build_guard
    build_guard.install()
    build_guard.install()  # idempotent: one log line per call, not two
    results = {}
    def attempt(name, f):
        try:
            f()
            results[name] = "ran"
        except build_guard.BuildTimeError as e:
            results[name] = "stopped: " + str(e)[:60]
    attempt("benchmark", lambda: benchmark.Timer("1 + 1").blocked_autorange(min_run_time=0.01))
    attempt("timeit", lambda: timeit.timeit("1 + 1", number=10))
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    def step():
        model(torch.ones(1, 2)).sum().backward()
        opt.step()
    attempt("train", step)
    attempt("forward", lambda: model(torch.ones(1, 2)))  # an ordinary forward is fine
    print(json.dumps(results))
    """
)


def _probe(tmp_path, doc: str) -> tuple[dict, dict]:
    env = {
        **build_guard.kernel_environment(tmp_path / "log"),
        build_guard.ENV_DOC: doc,
        "PATH": "/usr/bin:/bin",
    }
    env.pop("PYTHONSTARTUP")  # a plain interpreter: install() is called by the probe
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "book" / "_ext")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1]), build_guard.read_log(tmp_path / "log")


def test_guard_stops_timing_and_training(tmp_path):
    results, log = _probe(tmp_path, "notebooks/newchapter")
    assert results["benchmark"].startswith("stopped: torch.utils.benchmark.Timer.blocked_auto")
    assert results["timeit"].startswith("stopped: timeit.Timer.timeit")
    assert results["train"].startswith("stopped: torch.optim.sgd.SGD.step (training)")
    assert results["forward"] == "ran"
    calls = [c["call"] for c in log["newchapter"]]
    assert calls == [
        "torch.utils.benchmark.Timer.blocked_autorange",
        "timeit.Timer.timeit",
        "torch.optim.sgd.SGD.step (training)",
    ]


def test_guard_logs_a_pending_chapter_without_stopping_it(tmp_path):
    chapter = sorted(build_guard.PENDING)[0] if build_guard.PENDING else None
    if chapter is None:
        pytest.skip("no chapter is pending")
    results, log = _probe(tmp_path, f"notebooks/{chapter}")
    assert set(results.values()) == {"ran"}
    assert len(log[chapter]) >= 3


def test_the_builds_kernels_run_the_guard(tmp_path, monkeypatch):
    """An IPython kernel started with the build's environment (PYTHONSTARTUP) refuses a
    timer in a cell, and leaves no name of its own in the notebook's namespace."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print(sorted(n for n in dir() if 'vit_notes' in n))"),
        nbformat.v4.new_code_cell(
            "import timeit\n"
            "try:\n"
            "    timeit.timeit('1', number=1)\n"
            "except RuntimeError as e:\n"
            "    print(type(e).__name__)"
        ),
    ]
    for key, value in build_guard.kernel_environment(tmp_path / "log").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(build_guard.ENV_DOC, "notebooks/newchapter")
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    printed = ["".join(o.get("text", "")) for c in nb.cells for o in c.outputs]
    assert printed == ["[]\n", "BuildTimeError\n"], printed
    assert build_guard.guarded_chapters(tmp_path / "log") == {"newchapter"}


# --- the chapters' code: no timing by hand in an executed cell ---------------------------------

#: Calls that time (or train) whatever they wrap; the guard cannot catch the first group
#: at run time without refusing every library that reads a clock.
TIMING_CALLS = {
    "perf_counter", "perf_counter_ns", "process_time", "process_time_ns", "monotonic",
    "monotonic_ns", "time", "time_ns", "timeit", "repeat", "autorange", "blocked_autorange",
    "adaptive_autorange", "time_forward", "Timer",
}  # fmt: skip
TIMING_MODULES = {"time", "timeit", "benchmark", "counting"}
TRAINING_CALLS = {("learned", "train"), ("train", "train"), ("reproduce", "main")}
TIMING_MAGICS = ("%timeit", "%%timeit", "%time ", "%%time")


def _calls(code: str):
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(code))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            yield owner_name, node.func.attr
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            yield "", node.func.id


def timing_problems(cells: list[dict]) -> list[str]:
    """Executed cells (not tagged skip-execution) that time or train by name."""
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        if "skip-execution" in cell.get("metadata", {}).get("tags", []):
            continue
        code = "".join(cell["source"])
        if any(line.lstrip().startswith(TIMING_MAGICS) for line in code.splitlines()):
            problems.append(f"cell {i}: a timing magic")
        for owner, name in _calls(code):
            timed = name in TIMING_CALLS and (owner in TIMING_MODULES or name == "time_forward")
            if timed or (owner, name) in TRAINING_CALLS:
                problems.append(f"cell {i}: {owner + '.' if owner else ''}{name}(...)")
    return problems


def _code(source: str, *tags: str) -> dict:
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source}


def test_the_static_rule_sees_timing_and_training():
    cells = [
        _code("t = time.perf_counter()"),
        _code("counting.time_forward(m, x)"),
        _code("log = learned.train(model)"),
        _code("%timeit f()"),
        _code("benchmark.Timer('f()').timeit(3)"),
        _code("learned.train(m)", "skip-execution", "nbval-skip"),
        _code("rows = measured.load('pvt').rows"),
        _code("model.train(False)"),
    ]
    found = timing_problems(cells)
    assert [p.split(":")[0] for p in found] == [
        "cell 0", "cell 1", "cell 2", "cell 3", "cell 4",
    ], found  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_executed_cell_times_or_trains(path):
    if path.stem in build_guard.PENDING:
        pytest.skip(f"{path.stem} is pending (build_guard.PENDING; the built book's log "
                    "tells when it no longer times or trains)")  # fmt: skip
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    problems = timing_problems(cells)
    assert not problems, (
        f"{path.name} times or trains while the book builds: show a results file "
        "(vit_notes.measured) and tag the cell that times the reader's machine "
        "skip-execution and nbval-skip:\n  " + "\n  ".join(problems)
    )

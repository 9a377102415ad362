"""Nothing slow runs while the book builds, and nothing the site shows depends on the build
machine's speed.

A chapter shows measured times from a results file (``vit_notes.measured``, written by a
benchmark command), never from a timer run during the build, and the study chapter shows
its shipped training run. A cell that lets a reader time their own machine, or train, is
tagged ``skip-execution`` (and ``nbval-skip``), so the build never runs it.

The rule, enforced while the build runs: **no executed cell times or trains**. Every kernel
the build starts runs :func:`install` first (``vit_notes_site`` points ``PYTHONSTARTUP`` at
``build_guard_startup.py``; an IPython kernel runs that file before any cell), which
makes these raise :class:`BuildTimeError`:

* timing: every method of ``torch.utils.benchmark.Timer`` that runs the statement
  (``counting.time_forward`` and the chapters' timed tables go through it) and of the
  standard library's ``timeit.Timer`` (``timeit.timeit``, ``%timeit``);
* training: any ``torch.optim`` optimizer's step (a global pre-step hook), which every
  training loop takes (``learned.train``).

Each call is also logged, one JSON line per call, in ``<build>/build-guard/<page>.jsonl``
(and each kernel notes its start there, ``<page>.started``).
A chapter listed in :data:`PENDING` (not converted yet) is logged but not stopped; the
test of the built book (``tests/browser/test_build.py``) fails for a chapter outside
``PENDING`` that logged a call, and for one inside it that logged none (strict: a converted
chapter must leave the set). ``tests/test_build_guard.py`` tests the guard itself and
reads the cells' code for direct timing calls.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

#: Chapters (notebook stems) that still time or train while the book builds: being moved
#: to ``vit_notes.measured`` and a ``skip-execution`` cell by their engineers (issue 22).
PENDING: frozenset[str] = frozenset()

#: Environment of a kernel the build starts: the folder of the log, and the page executed.
ENV_LOG = "VIT_NOTES_BUILD_GUARD"
ENV_DOC = "VIT_NOTES_BUILD_DOC"

#: torch.utils.benchmark.Timer's and timeit.Timer's methods that run the timed statement.
TORCH_TIMER_METHODS = ("timeit", "repeat", "autorange", "blocked_autorange",
                       "adaptive_autorange", "collect_callgrind")  # fmt: skip
TIMEIT_METHODS = ("timeit", "repeat", "autorange")


class BuildTimeError(RuntimeError):
    """A cell timed or trained while the book was being built."""


def chapter_of(doc: str) -> str:
    """The chapter stem of a page name: ``notebooks/pvt`` -> ``pvt``."""
    return doc.rsplit("/", 1)[-1]


def _cell_line() -> str:
    """The notebook cell's line that led here (the innermost frame of a cell)."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        if "ipykernel" in frame.filename or frame.filename.startswith("<ipython-input"):
            return (frame.line or "").strip()
    return ""


def violation(what: str) -> None:
    """Log ``what`` (a timing or training call) and raise unless the page is pending."""
    doc = os.environ.get(ENV_DOC, "")
    line = _cell_line()
    folder = os.environ.get(ENV_LOG)
    if folder:
        path = Path(folder) / f"{chapter_of(doc) or 'unknown'}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"doc": doc, "call": what, "line": line}) + "\n")
    if chapter_of(doc) in PENDING:
        return
    raise BuildTimeError(
        f"{what} ran while the book builds ({doc or 'unknown page'}: {line!r}). "
        "Nothing slow runs at build time and nothing the site shows may depend on the "
        "build machine's speed: show a results file (vit_notes.measured.load) written by a "
        "benchmark command, and tag a cell that times or trains on the reader's machine "
        "skip-execution and nbval-skip (book/_ext/build_guard.py)."
    )


_inside: list[str] = []  # the guarded call running now (nested calls are its own)


def _guarded(cls, name: str, label: str):
    original = getattr(cls, name, None)
    if original is None or getattr(original, "_vit_notes_guarded", False):
        return

    def method(self, *args, **kwargs):
        if _inside:  # torch's Timer runs the standard library's: one call, logged once
            return original(self, *args, **kwargs)
        violation(f"{label}.{name}")
        _inside.append(name)
        try:
            return original(self, *args, **kwargs)
        finally:
            _inside.pop()

    method._vit_notes_guarded = True
    method.__doc__ = original.__doc__
    setattr(cls, name, method)


def install() -> None:
    """Make timing and training calls in this process raise (or, for a pending chapter,
    log). Idempotent."""
    import timeit

    for name in TIMEIT_METHODS:
        _guarded(timeit.Timer, name, "timeit.Timer")
    import importlib

    try:
        benchmark = importlib.import_module("torch.utils.benchmark")
        optim = importlib.import_module("torch.optim.optimizer")
    except ImportError:  # a kernel without torch cannot time or train with it
        return
    for name in TORCH_TIMER_METHODS:
        _guarded(benchmark.Timer, name, "torch.utils.benchmark.Timer")
    if not getattr(optim, "_vit_notes_guarded", False):

        def step_hook(optimizer, args, kwargs):
            violation(f"{type(optimizer).__module__}.{type(optimizer).__name__}.step (training)")

        optim.register_optimizer_step_pre_hook(step_hook)
        optim._vit_notes_guarded = True


def started() -> None:
    """Note in the log folder that this page's kernel started under the guard."""
    folder, doc = os.environ.get(ENV_LOG), os.environ.get(ENV_DOC, "")
    if folder and doc:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{chapter_of(doc)}.started").touch()


def guarded_chapters(folder: Path) -> set[str]:
    """The chapters whose kernels ran under the guard in the build that wrote ``folder``."""
    return {p.stem for p in Path(folder).glob("*.started")}


def kernel_environment(log_folder: Path) -> dict[str, str]:
    """The environment variables that make the build's kernels run :func:`install`."""
    startup = Path(__file__).with_name("build_guard_startup.py").resolve()
    return {"PYTHONSTARTUP": str(startup), ENV_LOG: str(Path(log_folder).resolve())}


def read_log(folder: Path) -> dict[str, list[dict]]:
    """Chapter stem -> the calls its kernel logged during the build."""
    found: dict[str, list[dict]] = {}
    for path in sorted(Path(folder).glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found[path.stem] = [json.loads(line) for line in lines if line.strip()]
    return found


if __name__ == "__main__":  # python book/_ext/build_guard.py FOLDER: print a build's log
    for chapter, calls in read_log(Path(sys.argv[1])).items():
        for c in calls:
            print(f"{chapter}: {c['call']}  ({c['line']})")

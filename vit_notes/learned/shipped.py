"""The study's shipped weights and results, as :mod:`.reproduce` writes them: ``weights/study.pt``
(every model's weights in float16, by name) and ``weights/results.json``."""

from __future__ import annotations

import functools
import json
import numbers
from pathlib import Path

import torch

from .. import validate
from ..layers import keeps_global_rng
from .models import MODELS, build

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS = WEIGHTS_DIR / "study.pt"
RESULTS = WEIGHTS_DIR / "results.json"
#: A retrained model's accuracy must come within this of the shipped one's (absolute, on the
#: same test set; tests/test_learned.py retrains pvt_sra8 from seed 0 and scores it on test
#: seed 0): the shipped weights are float16, and another machine or thread count changes the
#: last bits of every step. The chapter quotes it beside the differences it compares.
RETRAIN_TOLERANCE = 0.03


def key(name: str, task: str = "majority") -> str:
    """The weights' name in :data:`WEIGHTS`: the model's name, ``+same`` for the pairwise task."""
    return name if task == "majority" else f"{name}+{task}"


def _states(path: Path) -> dict:
    # Read once per version of the file: every model's weights are in the one file (a figure or
    # an explorer loads several models, often the same ones again). Keyed on the file's size and
    # time too, so that a file rewritten in the same process (reproduce writes each model's
    # weights, then scores them from the file) is read again, not served from the cache.
    stat = Path(path).stat()
    return _read_states(Path(path).resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_states(path: Path, mtime_ns: int, size: int) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _weights_file(path) -> Path:
    """``path`` as an existing file: a ``str`` or ``Path``."""
    validate.instance("path", path, (str, Path), "leave the default for the shipped weights")
    if not Path(path).is_file():
        raise ValueError(
            f"path={str(path)!r} is no file; leave the default for the shipped weights"
        )
    return Path(path)


@keeps_global_rng
def load(name: str, task: str = "majority", path: Path = WEIGHTS) -> torch.nn.Module:
    """The study's model ``name`` with its shipped weights, in eval mode (a fresh module each
    call: the file is read once, the model is built anew)."""
    validate.one_of("name", name, MODELS)
    path = _weights_file(path)
    model = build(name, task=task)
    fix = "leave the default for the shipped weights"
    try:
        states = _states(path)
    except Exception as e:  # not a file torch.save wrote, or not one of plain tensors
        raise ValueError(
            f"path={str(path)!r} holds no study weights (torch.load could not read it: "
            f"{type(e).__name__}); {fix}"
        ) from None
    state = states.get(key(name, task)) if isinstance(states, dict) else None
    if not isinstance(state, dict):
        raise ValueError(
            f"path={str(path)!r} holds no weights for {key(name, task)!r} (a file of the "
            f"study's weights holds a dict of every model's); {fix}"
        )
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except Exception as e:  # other names or shapes than the model's
        raise ValueError(
            f"path={str(path)!r} holds weights for {key(name, task)!r} that do not fit the "
            f"model ({type(e).__name__}); {fix}"
        ) from None
    return model.eval()


def load_results(path: Path = RESULTS) -> dict:
    """The shipped results (what they hold: :mod:`.reproduce`)."""
    validate.instance("path", path, (str, Path))
    if not Path(path).is_file():
        raise ValueError(
            f"path={str(path)!r} is no file; leave the default for the shipped results"
        )
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:  # not JSON, not UTF-8 text, or unreadable
        raise ValueError(
            f"path={str(path)!r} holds no results JSON ({type(e).__name__}); leave the default "
            "for the shipped results"
        ) from None
    if not isinstance(results, dict) or "models" not in results:
        raise ValueError(
            f"path={str(path)!r} is JSON but not the study's results (a dict with 'models'); "
            "leave the default for the shipped results"
        )
    return results


def check_results(results) -> dict:
    """Raise unless ``results`` looks like :func:`load_results`'s (a dict with ``models``)."""
    validate.instance("results", results, dict, "pass load_results()")
    if not isinstance(results.get("models"), dict) or not results["models"]:
        raise ValueError("results holds no 'models': pass load_results()")
    for name, model in results["models"].items():
        where = f"results['models'][{validate.shown(name)}]"
        if not isinstance(model, dict):
            _refuse_field(where, model, "a dict of the model's results")
        for field in ("seeds", "by_detail"):  # {seed or mark side: accuracy}
            if field in model:
                _accuracies(f"{where}[{field!r}]", model[field])
        if "seeds_by_detail" in model:  # {seed: {mark side: accuracy}}
            by = model["seeds_by_detail"]
            if not isinstance(by, dict):
                _refuse_field(f"{where}['seeds_by_detail']", by, "a dict of dicts")
            for seed, scores in by.items():
                _accuracies(f"{where}['seeds_by_detail'][{validate.shown(seed)}]", scores)
    return results


def _refuse_field(where: str, value, kind: str):
    raise ValueError(
        f"{where} must be {kind}, got {validate.shown(value)} ({type(value).__name__}): leave "
        "results out for the shipped ones, or pass load_results()"
    )


def _accuracies(where: str, scores) -> None:
    """``scores``: a dict of accuracies, each a finite number in [0, 1]."""
    if not isinstance(scores, dict):
        _refuse_field(where, scores, "a dict of accuracies")
    for key, value in scores.items():
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok or not 0 <= float(value) <= 1:  # NaN fails the comparison too
            _refuse_field(f"{where}[{validate.shown(key)}]", value, "an accuracy in [0, 1]")


def _caption_fields(results: dict) -> None:
    """Raise a ``ValueError`` naming ``results`` and the field unless the fields
    :func:`caption` reads have the kinds :func:`load_results`'s have."""

    def refuse(field: str, value, kind: str):
        raise ValueError(
            f"results[{field}] must be {kind}, got {validate.shown(value)} "
            f"({type(value).__name__}): pass load_results()"
        )

    rec = results.get("recorded", {})
    if not isinstance(rec, dict):
        refuse("'recorded'", rec, "a dict")
    if "date" in rec and not isinstance(rec["date"], str):
        refuse("'recorded']['date'", rec["date"], "a date as text")
    added = results.get("added_runs", [])
    if not isinstance(added, (list, tuple)):
        refuse("'added_runs'", added, "a list of dicts")
    for i, one in enumerate(added):
        if not isinstance(one, dict):
            refuse(f"'added_runs'][{i}", one, "a dict")
        runs = one.get("runs", [])
        if not isinstance(runs, (list, tuple)) or not all(isinstance(r, str) for r in runs):
            refuse(f"'added_runs'][{i}]['runs'", runs, "a list of run names")


def caption(results: dict) -> str:
    """One line naming what wrote ``results`` and where: the command, the machine, the threads
    and the torch version (and the processor and date, where the file records them, or that the
    processor is not recorded), then each further set of runs (``added_runs``), trained in a
    separate session, with the processor, threads and torch it ran on."""
    validate.instance("results", results, dict, "pass load_results()")
    _caption_fields(results)
    rec = results.get("recorded", {})
    where = rec.get("cpu") or f"{results.get('machine', '?')}, processor not recorded"
    when = f" on {rec['date'][:10]}" if "date" in rec else ""
    line = (
        f"recorded on {where} ({results.get('threads', '?')} threads, torch "
        f"{results.get('torch', '?')}){when} by `{results.get('generated_by', '?')}`"
    )
    for added in results.get("added_runs", []):
        seeds: dict[str, list[str]] = {}
        for run in added.get("runs", []):
            name, _, seed = run.partition(" seed ")
            seeds.setdefault(name, []).append(seed)
        runs = " and ".join(f"{n} (seeds {', '.join(s)})" for n, s in seeds.items())
        line += (
            f". {runs or '?'} trained in a separate session, on "
            f"{added.get('cpu', '?')} ({added.get('threads', '?')} threads, torch "
            f"{added.get('torch', '?')})"
        )
    return line

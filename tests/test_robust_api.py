"""Every public function answers a bad input (issue 19): one student slip per function of the
package's public API (each subpackage's ``__all__``, the top level's, every public function
of each chapter's ``figures.py`` and ``exercises.py``, and of the comparison chapter,
:mod:`vit_notes.compare`), each expected to raise a ``ValueError`` or ``TypeError`` whose
message names the argument. :func:`test_every_public_function_has_a_bad_input_test` walks the
API and fails on a function that has neither a slip here nor a reason to have none.

Further slips of one function (``API_MORE_SLIPS`` in each chapter's test file, ``MORE_SLIPS``
here) are the defects issue 19's fuzz found: each must be refused by the package itself, with
an error that names the argument, not by Python or torch from inside it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import time
import traceback

import pytest
import torch
from slips import Later, chapter_more_slips, chapter_slips

import vit_notes
from vit_notes import registry
from vit_notes.pvt import SpatialReductionAttention

#: Where the public API is listed: the top level's ``__all__`` and every chapter
#: subpackage's, found by walking the package (a new chapter is walked without a line here).
CHAPTERS = [m.name for m in pkgutil.iter_modules(vit_notes.__path__) if m.ispkg]
PACKAGES = ["vit_notes", *(f"vit_notes.{c}" for c in CHAPTERS)]
#: Each chapter's figure helpers, public whether exported or not.
FIGURES = [
    f"vit_notes.{c}.{part}"
    for c in CHAPTERS
    for part in ("figures", "exercises")
    if importlib.util.find_spec(f"vit_notes.{c}.{part}") is not None
] + ["vit_notes.compare"]  # the comparison chapter: one module, no __all__


def public_functions() -> dict[str, object]:
    """``'package.name' -> callable`` for every public function and class of the API."""
    out = {}
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj) and not inspect.ismodule(obj):
                out[f"{pkg}.{name}"] = obj
    for fig in FIGURES:
        mod = importlib.import_module(fig)
        pkg = fig.rsplit(".", 1)[0]
        for name, obj in vars(mod).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != fig:
                continue
            if not any(obj is o for o in out.values()):
                out[f"{fig}.{name}"] = obj
    return out


_sra = Later(lambda: SpatialReductionAttention(8, 2, sr_ratio=2))


#: ``'package.name' -> (args, kwargs, argument the message must name)``: the student slip.
#: :class:`Later` arguments are built when the test runs.
SLIPS: dict[str, tuple] = {
    # top level
    "vit_notes.attend": ((_sra, "q", torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
                         dict(scale=1.0), "q"),
    "vit_notes.create": (("pvt_tinyy",), {}, "name"),
    "vit_notes.explicit_attention": ((torch.rand(1, 4, 8), torch.rand(1, 4, 8).numpy(),
                                      torch.rand(1, 4, 8), 1.0), {}, "k"),
    "vit_notes.glue": ((3, 1.0), {}, "name"),
    "vit_notes.list_models": ((), dict(family="pvtt"), "family"),
    "vit_notes.model_info": (("pvt_tinyy",), {}, "name"),
    "vit_notes.record_attention": ((), dict(model="pvt_tiny"), "model"),
    "vit_notes.trace_shapes": ((), dict(model=3), "model"),
}  # fmt: skip

#: Public callables with no bad-input test, and why.
NO_SLIP: dict[str, str] = {}  # none at the top level

# Each chapter lists its own slips in its test file (``API_SLIPS``, ``API_NO_SLIP``).
_chapter_slips, _chapter_none = chapter_slips([*CHAPTERS, "compare"])
SLIPS.update(_chapter_slips)
NO_SLIP.update(_chapter_none)

#: The family factories (``pvt_tiny(...)`` ...): a bad keyword, the same slip for each.
FACTORY_SLIP = ((), dict(num_classes=-1), "num_classes")


def slip_for(name: str, fn) -> tuple | None:
    if name in SLIPS:
        return SLIPS[name]
    if name.rsplit(".", 1)[1] in registry.list_models():  # pvt_tiny(...), coatnet_0(...)
        return FACTORY_SLIP
    if name.endswith(".create"):
        return (("no_such_model",), {}, "name")
    return None


API = public_functions()


def test_every_public_function_has_a_bad_input_test():
    # Fails on a public function added without a slip in SLIPS (or a reason in NO_SLIP).
    untested = [n for n, fn in API.items() if slip_for(n, fn) is None and n not in NO_SLIP]
    assert not untested, f"public functions without a bad-input test: {untested}"
    stale = [n for n in [*SLIPS, *NO_SLIP] if n not in API]
    assert not stale, f"listed but not public: {stale}"


def _refused(name: str, args, kwargs, slip: str = "") -> pytest.ExceptionInfo:
    """Call the public function ``name`` on a slip: it must raise a ValueError or TypeError
    within 20 s (a context manager checks on entry)."""
    start = time.monotonic()
    with pytest.raises((ValueError, TypeError)) as e:
        result = API[name](*args, **kwargs)
        if hasattr(result, "__enter__"):
            with result:
                pass
    assert time.monotonic() - start < 20, slip or name
    return e


@pytest.mark.parametrize("name", [n for n, fn in API.items() if slip_for(n, fn) is not None])
def test_a_bad_input_names_the_argument(name):
    args, kwargs, arg = slip_for(name, API[name])
    args = [a.make() if isinstance(a, Later) else a for a in args]
    e = _refused(name, args, kwargs)
    assert arg in str(e.value), f"{name}: {type(e.value).__name__}: {e.value}"


#: ``'package.name' -> [(args, kwargs, argument the message must name, the slip), ...]``:
#: further slips of the top-level functions (the chapters' are in their test files).
MORE_SLIPS: dict[str, list[tuple]] = {
    "vit_notes.attend": [
        ((_sra, torch.rand(1, 1, 4, 8).double(), torch.rand(1, 1, 4, 8),
          torch.rand(1, 1, 4, 8)), dict(scale=1.0), "k",
         "q in float64 (from NumPy), k and v in float32: torch's dtype error"),
        ((_sra, torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
         dict(scale=1.0, dropout_p=1.5), "dropout_p", "a dropout rate above 1"),
        ((_sra, torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
         dict(scale=10**400), "scale", "a scale too large for a float: OverflowError"),
        ((_sra, torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
         dict(scale=1.0, bias="mask"), "bias", "text for the bias: torch's TypeError"),
        ((_sra, torch.rand(1, 1, 4, 8), torch.empty(1, 1, 4, 8, device="meta"),
          torch.rand(1, 1, 4, 8)), dict(scale=1.0), "k",
         "k on the meta device (shapes only): torch's device error"),
        (("pvt_tiny", torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
         dict(scale=1.0), "module", "the model's name for the layer: accepted silently"),
    ],
    "vit_notes.explicit_attention": [
        ((torch.rand(1, 4, 8), torch.rand(8), torch.rand(1, 4, 8), 1.0), {}, "k",
         "a 1-D key: IndexError from inside torch"),
        ((torch.rand(1, 4, 8), torch.rand(1, 4, 8), torch.rand(1, 4, 8), "0.5"), {}, "scale",
         "the scale as text"),
        ((torch.rand(1, 4, 8), torch.rand(1, 4, 8), torch.rand(1, 4, 8), 1.0),
         dict(bias=torch.rand(3)), "bias", "a bias of the wrong shape: torch's size mismatch"),
    ],
    "vit_notes.glue": [
        ((10**5000, 1.0), {}, "name", "a huge number for the name: its message raised"),
    ],
}  # fmt: skip
MORE_SLIPS.update(chapter_more_slips([*CHAPTERS, "compare"]))
MORE_CASES = [(name, i) for name, cases in MORE_SLIPS.items() for i in range(len(cases))]


def test_every_further_slip_is_of_a_public_function():
    stale = [n for n in MORE_SLIPS if n not in API]
    assert not stale, f"further slips of functions that are not public: {stale}"


@pytest.mark.parametrize(
    "name,i", MORE_CASES, ids=[f"{n.replace('vit_notes.', '')}-{i}" for n, i in MORE_CASES]
)
def test_a_further_slip_is_refused_by_the_package_naming_the_argument(name, i):
    args, kwargs, arg, slip = MORE_SLIPS[name][i]
    args = [a.make() if isinstance(a, Later) else a for a in args]
    kwargs = {k: v.make() if isinstance(v, Later) else v for k, v in kwargs.items()}
    e = _refused(name, args, kwargs, slip)
    assert arg in str(e.value), f"{name} ({slip}): {type(e.value).__name__}: {e.value}"
    # refused by the package, not by Python, NumPy or torch from inside it
    where = traceback.extract_tb(e.value.__traceback__)[-1].filename
    assert "vit_notes" in where, f"{name} ({slip}): raised in {where}: {e.value}"

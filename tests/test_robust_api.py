"""Every public function answers a bad input (issue 19): one student slip per function of the
package's public API (each subpackage's ``__all__``, the top level's, and every public function
of each chapter's ``figures.py``), each expected to raise a ``ValueError`` or ``TypeError``
whose message names the argument. :func:`test_every_public_function_has_a_bad_input_test`
walks the API and fails on a function that has neither a slip here nor a reason to have none.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import time

import pytest
import torch
from slips import Later, chapter_slips

import vit_notes
from vit_notes import registry
from vit_notes.pvt import SpatialReductionAttention

#: Where the public API is listed: the top level's ``__all__`` and every chapter
#: subpackage's, found by walking the package (a new chapter is walked without a line here).
CHAPTERS = [m.name for m in pkgutil.iter_modules(vit_notes.__path__) if m.ispkg]
PACKAGES = ["vit_notes", *(f"vit_notes.{c}" for c in CHAPTERS)]
#: Each chapter's figure helpers, public whether exported or not.
FIGURES = [
    f"vit_notes.{c}.figures"
    for c in CHAPTERS
    if importlib.util.find_spec(f"vit_notes.{c}.figures") is not None
]


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
_chapter_slips, _chapter_none = chapter_slips(CHAPTERS)
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


@pytest.mark.parametrize("name", [n for n, fn in API.items() if slip_for(n, fn) is not None])
def test_a_bad_input_names_the_argument(name):
    args, kwargs, arg = slip_for(name, API[name])
    args = [a.make() if isinstance(a, Later) else a for a in args]
    start = time.monotonic()
    with pytest.raises((ValueError, TypeError)) as e:
        result = API[name](*args, **kwargs)
        if hasattr(result, "__enter__"):  # a context manager checks on entry
            with result:
                pass
    assert time.monotonic() - start < 20
    assert arg in str(e.value), f"{name}: {type(e.value).__name__}: {e.value}"

"""ViT Notes: efficient vision-transformer attention, built one tensor at a time.

One subpackage per chapter, each holding its family's model, analytic cost, figures and
explorer, and exercise checkers: :mod:`~vit_notes.pvt`, :mod:`~vit_notes.coatnet`,
:mod:`~vit_notes.shunted`. What every chapter shares lies flat beside them:
:mod:`~vit_notes.attention` (the kernel), :mod:`~vit_notes.trace` (shape tracing, attention
recording), :mod:`~vit_notes.validate` (errors that name the bad value),
:mod:`~vit_notes.layers` (shared layers and rules), :mod:`~vit_notes.counting` (counting and
timing), :mod:`~vit_notes.photo` (the photo and its colour tokens), :mod:`~vit_notes.plotting`
(plotting primitives and the explorer widget), :mod:`~vit_notes.checking` (checker
machinery), :mod:`~vit_notes.facts` (records of what a paper says),
:mod:`~vit_notes.prose` (numbers glued into the prose) and
:mod:`~vit_notes.registry` (every model by name: :func:`create`, :func:`list_models`).
"""

import importlib as _importlib
import logging as _logging
import pkgutil as _pkgutil

import torch as _torch  # noqa: F401  (first: importing torch configures its loggers)

# torch warns "No CUDA runtime is found" on import of timm wherever nvcc exists but no GPU
# does; it says nothing about this book's CPU runs and would clutter every notebook.
_logging.getLogger("torch.utils.cpp_extension").setLevel(_logging.ERROR)

from ._version import __version__  # noqa: E402
from .attention import attend, explicit_attention  # noqa: E402
from .prose import glue  # noqa: E402
from .registry import create, list_models, model_info  # noqa: E402
from .trace import record_attention, trace_shapes  # noqa: E402

# Every chapter subpackage registers its models on import; importing them all here is what
# makes create() know every model, and a new chapter needs no line in this file.
for _chapter in _pkgutil.iter_modules(__path__):
    if _chapter.ispkg:
        _importlib.import_module(f"{__name__}.{_chapter.name}")

__all__ = [
    "__version__",
    "attend",
    "create",
    "explicit_attention",
    "glue",
    "list_models",
    "model_info",
    "record_attention",
    "trace_shapes",
]

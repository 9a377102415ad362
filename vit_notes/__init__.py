"""ViT Notes: efficient vision-transformer attention, built one tensor at a time.

Modules, one idea each: :mod:`~vit_notes.attention` (the shared attention kernel),
:mod:`~vit_notes.trace` (shape tracing, attention-map recording), :mod:`~vit_notes.pvt`
(PVT v1/v2), :mod:`~vit_notes.coatnet` (CoAtNet),
:mod:`~vit_notes.shunted` (Shunted Transformer), :mod:`~vit_notes.cost` (analytic, counted and timed cost),
:mod:`~vit_notes.photo` (the chapters' photo and its patch features),
:mod:`~vit_notes.viz` (figures and widgets), :mod:`~vit_notes.exercises` (answer checkers).
"""
import logging as _logging

import torch as _torch  # noqa: F401  (first: importing torch configures its loggers)

# torch warns "No CUDA runtime is found" on import of timm wherever nvcc exists but no GPU
# does; it says nothing about this book's CPU runs and would clutter every notebook.
_logging.getLogger("torch.utils.cpp_extension").setLevel(_logging.ERROR)

from .attention import attend, explicit_attention  # noqa: E402
from .trace import record_attention, trace_shapes  # noqa: E402
from .pvt import SpatialReductionAttention, PyramidVisionTransformer  # noqa: E402
from .coatnet import CoAtNet, MBConv, RelativeAttention  # noqa: E402
from .shunted import ShuntedAttention, ShuntedTransformer  # noqa: E402

__all__ = ["attend", "explicit_attention", "record_attention", "trace_shapes", "SpatialReductionAttention",
           "PyramidVisionTransformer", "CoAtNet", "MBConv", "RelativeAttention",
           "ShuntedAttention", "ShuntedTransformer"]
__version__ = "0.1.0"

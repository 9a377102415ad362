"""Looking inside a forward pass, the way the student's notes do.

Two context managers, both free when unused (a single attribute check per layer):

* :func:`trace_shapes` prints every named tensor a layer reports, as in the notes
  (``kv_shape: (2, 1, 1, 49, 64)``), prefixed with the layer's name.
* :func:`record_attention` makes attention layers take the explicit softmax path
  and keeps each layer's attention map, ``(B, heads, N_q, N_kv)``.

Outside them every attention layer runs the fused
:func:`torch.nn.functional.scaled_dot_product_attention` and prints nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from . import validate


class _State:
    tracing = False
    recording: AttentionMaps | None = None
    names: dict[int, str] = {}
    stream = None


STATE = _State()


def _register_names(
    model: nn.Module | None, root: str | None, caller: str = "trace_shapes"
) -> dict[int, str]:
    """The names of ``model``'s layers, after checking the arguments: called before any global
    state changes, so that a bad argument leaves tracing and recording as they were."""
    if model is not None and not isinstance(model, nn.Module):
        raise validate.InputTypeError(
            f"model must be a torch.nn.Module (or None), got {type(model).__name__}; "
            f"pass the model itself, e.g. {caller}(model), not its output or its name"
        )
    if root is not None and not isinstance(root, str):
        raise validate.InputTypeError(
            f"root must be a string (the model's name in the printout), got {type(root).__name__}"
        )
    if model is None:
        return {}
    root = root if root is not None else type(model).__name__
    return {id(m): (f"{root}.{n}" if n else root) for n, m in model.named_modules()}


def layer_name(module: nn.Module) -> str:
    """The name given to ``module`` by the active context (its path in the model),
    or its class name when it was not registered."""
    return STATE.names.get(id(module), type(module).__name__)


def _fmt(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, torch.Size):
        return str(tuple(value))
    return str(value)


def log_shapes(module: nn.Module, **tensors) -> None:
    """Print ``<layer> <key>_shape: (...)`` for each tensor (or shape) given.

    Layers call this only behind ``if STATE.tracing:`` so that it costs nothing
    when no :func:`trace_shapes` block is active.
    """
    prefix = layer_name(module)
    out = STATE.stream or sys.stdout
    for key, value in tensors.items():
        print(f"{prefix} {key}_shape: {_fmt(value)}", file=out)


@contextmanager
def trace_shapes(
    model: nn.Module | None = None, *, root: str | None = None, stream=None
) -> Iterator[None]:
    """Print the shape of every named tensor inside attention layers and blocks.

    ``model``: when given, each layer is prefixed with its path in the model
    (``block1.0.attn``); otherwise with its class name. ``root`` names the model
    itself (default: its class name).
    """
    names = _register_names(model, root)  # checks the arguments before anything changes
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise validate.InputTypeError(
            f"stream must be a file-like object with a write method (or None), "
            f"got {type(stream).__name__}"
        )
    old = (STATE.tracing, STATE.names, STATE.stream)
    try:
        STATE.tracing = True
        STATE.names = {**STATE.names, **names}
        STATE.stream = stream
        yield
    finally:
        STATE.tracing, STATE.names, STATE.stream = old


class AttentionMaps(dict):
    """Layer name -> softmax attention map ``(B, heads, N_q, N_kv)``, in call order.

    A layer with several head groups (Shunted) stores one map per group under
    ``<layer>.attn1``, ``<layer>.attn2``. With ``query=i`` each map is that query's row
    only, ``(B, heads, 1, N_kv)``; with ``query=[i, j, ...]`` those queries' rows,
    ``(B, heads, len(query), N_kv)``. ``grids`` maps the same names to the ``(h, w)`` grid the
    keys were flattened from (``None`` where the keys are not one grid, e.g. with a class token).
    """

    def __init__(self, query: int | list[int] | None = None):
        super().__init__()
        self.query = query
        self.grids: dict[str, tuple[int, int] | None] = {}

    def last(self) -> torch.Tensor:
        if not self:
            raise ValueError(
                "no attention map was recorded: call the model inside the "
                "`with record_attention(...)` block"
            )
        return next(reversed(self.values()))

    def rows(self) -> list[tuple[torch.Tensor, tuple[int, int] | None]]:
        """``[(map of head 0, key grid), ...]`` in call order: with ``query=i``, query ``i``'s
        weights over the keys of each layer (or head group), a vector of ``N_kv`` entries;
        with a list of queries, their rows, ``(len(query), N_kv)``."""
        one = isinstance(self.query, int)
        return [
            (m[0, 0].squeeze(0) if one else m[0, 0], self.grids.get(name))
            for name, m in self.items()
        ]


@contextmanager
def record_attention(
    model: nn.Module | None = None,
    *,
    root: str | None = None,
    query: int | list[int] | None = None,
) -> Iterator[AttentionMaps]:
    """Make attention layers compute the explicit softmax map and keep it.

    Outputs are the same as on the fused path (tested); only slower and heavier,
    since the ``N_q x N_kv`` matrix now exists in memory. Maps are detached.
    ``query``: keep only that query's row of each map (flat token index), computed
    beside the fused kernel, so that a large image never builds the ``N x M`` matrix. A list
    of indices keeps those queries' rows (an explorer's grid of queries), in that order.
    """
    if isinstance(query, (list, tuple)):
        if not query:
            raise ValueError("query=[]: give at least one query index")
        query = [_query_index(i) for i in query]
    elif query is not None:
        query = _query_index(query)
    names = _register_names(model, root, "record_attention")  # checked before any change
    maps = AttentionMaps(query)
    old = (STATE.recording, STATE.names)
    try:
        STATE.recording = maps
        STATE.names = {**STATE.names, **names}
        yield maps
    finally:
        STATE.recording, STATE.names = old


@torch.no_grad()
def _query_index(value) -> int:
    """A query's flat token index: an integer from 0 to the last token of the largest grid a
    layer here takes (:data:`~vit_notes.validate.MAX_SIDE` squared)."""
    return validate.positive_int(
        "query",
        value,
        minimum=0,
        maximum=validate.MAX_SIDE**2 - 1,
        why=f"a token of a grid of at most {validate.MAX_SIDE:,} x {validate.MAX_SIDE:,} tokens",
    )


def query_rows(
    layer: nn.Module, *inputs, query: int | list[int]
) -> list[tuple[torch.Tensor, tuple[int, int] | None]]:
    """Run ``layer(*inputs)`` and return query ``query``'s attention (head 0) in each of its
    attention maps (one per head group), with the key grid: ``[(weights, (h, w)), ...]``
    (``query`` a list: each weights tensor holds those queries' rows, one per query).

    Only that row is computed beside the fused kernel (:func:`record_attention` with
    ``query``), so a large image never builds the ``N x M`` matrix."""
    with record_attention(query=query) as maps:
        layer(*inputs)
    return maps.rows()

"""What a model costs, counted and timed: the tools every chapter's cost uses.

Conventions (the papers' and this book's): **one multiply-add = one FLOP**, i.e. the
numbers are multiply-accumulates (MACs). :class:`torch.utils.flop_counter.FlopCounterMode`
counts 2 per multiply-add, so :func:`count_macs` halves it. Counted: matrix products
(linear layers, ``q kᵀ`` and ``attn v``) and convolutions; not counted: norms,
activations, softmax, pooling and biases, which the counter skips too.

A chapter that is done with its full-size models deletes them and calls
:func:`release_memory`, so that the kernel's resident memory falls back afterwards.
"""

from __future__ import annotations

import ctypes
import gc
import math
import numbers
import re
import sys
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils import benchmark, flop_counter
from torch.utils.flop_counter import FlopCounterMode

from . import registry, validate


@dataclass(frozen=True)
class AttentionCost:
    """Cost of one attention layer on one image.

    ``macs``: multiply-adds of the whole layer; ``attn_macs``: those of ``q kᵀ`` and
    ``attn v`` alone; ``tokens``/``kv_tokens``: N and the number of keys N_k;
    ``attn_elements``: entries of the ``heads x N x N_k`` attention matrix, and
    ``attn_bytes`` their size in float32 (what the explicit path stores).
    """

    macs: int
    attn_macs: int
    tokens: int
    kv_tokens: int
    attn_elements: int
    attn_bytes: int

    @classmethod
    def of(cls, macs: int, attn_macs: int, tokens: int, kv_tokens: int, maps: int):
        """The cost of a layer with ``maps`` attention maps of ``tokens x kv_tokens`` each
        (one per head), whose entries and float32 bytes follow from those. Every count is a
        Python ``int`` (a NumPy integer would overflow silently, or raise, in the products)."""
        macs, attn_macs, tokens, kv_tokens, maps = (
            int(v) for v in (macs, attn_macs, tokens, kv_tokens, maps)
        )
        elements = maps * tokens * kv_tokens
        return cls(macs, attn_macs, tokens, kv_tokens, elements, 4 * elements)


def _sdpa_for_cpu_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


# The counter knows the CUDA attention kernels but not the CPU one that the fused
# scaled_dot_product_attention runs here: without this entry it silently counts
# q kᵀ and attn v as zero on a CPU (and counts them on a GPU or the meta device).
_CPU_ATTENTION = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_for_cpu_flop}


def count_macs(module: nn.Module, *inputs, **kwargs) -> int:
    """Multiply-adds of one forward pass, counted by :mod:`torch.utils.flop_counter` (halved),
    with an entry for the CPU's fused attention kernel, which the stock counter leaves out.

    Works on real tensors and on the ``meta`` device (shapes only, no compute), which
    is how the family tables count the large variants in a fraction of a second.
    """
    _inputs(_module(module), inputs)
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        _forward(module, inputs, kwargs)
    return counter.get_total_flops() // 2


def _forward(module: nn.Module, inputs: tuple, kwargs: dict) -> None:
    """Run ``module(*inputs, **kwargs)``; a failure that the package's own input checks did
    not already explain (a ``ValueError``) becomes a ``ValueError`` naming the module and the
    inputs' shapes, chained to torch's error."""
    try:
        module(*inputs, **kwargs)
    except ValueError:
        raise
    except Exception as err:
        name = type(module).__name__
        if not inputs and not kwargs:
            raise ValueError(
                f"count_macs needs the inputs that module ({name}) takes: call "
                "count_macs(module, x), with x shaped as its forward expects"
            ) from err
        shapes = ", ".join(str(tuple(getattr(x, "shape", ()))) for x in inputs) or "none"
        raise ValueError(
            f"count_macs: module ({name}) failed on inputs of shapes {shapes} "
            f"({type(err).__name__}: {validate.shown(str(err), 120)}); give inputs shaped "
            "as its forward expects"
        ) from err


def count_macs_by_op(module: nn.Module, *inputs, **kwargs) -> dict[str, int]:
    """Multiply-adds of one forward pass per ATen operator (``"bmm"``, ``"convolution"``,
    ``"addmm"``, ...), counted as :func:`count_macs` counts them; they sum to its total."""
    _inputs(_module(module), inputs)
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        module(*inputs, **kwargs)
    return {
        getattr(op, "__name__", str(op)).split(".")[0]: flops // 2
        for op, flops in counter.get_flop_counts()["Global"].items()
    }


def count_macs_by_module(module: nn.Module, *inputs, names, **kwargs) -> dict[str, int]:
    """Multiply-adds of one forward pass inside each submodule of ``names`` (dotted, as
    ``module.named_modules()`` gives them: ``"stem"``, ``"stages.0"``), counted as
    :func:`count_macs` counts them; ``torch.utils.flop_counter`` keeps a count per module."""
    _inputs(_module(module), inputs)
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise TypeError(
            f"names must be a non-empty list of submodule names, got {validate.shown(names)}"
        )
    known = dict(module.named_modules())
    for name in names:
        if not isinstance(name, str) or not name or name not in known:
            some = ", ".join(repr(n) for n in list(known)[1:6])
            raise ValueError(
                f"names: {validate.shown(name)} is not a submodule of this "
                f"{type(module).__name__}; its names look like {some}, ... "
                "(module.named_modules())"
            )
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        module(*inputs, **kwargs)
    # the counter names each module by its dotted path under the root's class name
    counts = {
        key.split(".", 1)[1]: sum(per_op.values()) // 2
        for key, per_op in counter.get_flop_counts().items()
        if "." in key
    }
    return {name: counts.get(name, 0) for name in names}


def _module(module):
    return validate.instance("module", module, nn.Module, "pass a model or layer (an nn.Module)")


def _inputs(module: nn.Module, inputs: tuple) -> None:
    """Check a forward's inputs before torch sees them: the first (``x``), and any other
    tensor or NumPy array among them, a float tensor of the module's dtype (the sides ``H``,
    ``W`` that some layers take, and any other argument, pass as they are)."""
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), None)
    for i, x in enumerate(inputs):
        array = type(x).__module__ == "numpy" and getattr(x, "shape", ()) != ()
        if i == 0 or isinstance(x, torch.Tensor) or array:
            validate.tensor("x" if i == 0 else f"inputs[{i}]", x, dtype=dtype)


def count_params(module: nn.Module) -> int:
    _module(module)
    return sum(p.numel() for p in module.parameters())


def time_forward(
    module: nn.Module, *inputs, min_run_time: float = 0.5, num_threads: int | None = None, **kwargs
) -> benchmark.Measurement:
    """Time ``module(*inputs)`` under ``no_grad`` with :class:`torch.utils.benchmark.Timer`.

    Returns the Measurement; ``.median`` is in seconds. Timings vary from machine to
    machine and run to run: compare ratios measured side by side, not absolute values.
    """
    _inputs(_module(module), inputs)
    min_run_time = validate.number("min_run_time", min_run_time, low=0.0, high=600.0)
    if num_threads is None:
        num_threads = torch.get_num_threads()
    else:
        num_threads = validate.positive_int("num_threads", num_threads, maximum=1024)
    timer = benchmark.Timer(
        stmt="with torch.no_grad(): module(*inputs, **kwargs)",
        globals=dict(torch=torch, module=module, inputs=inputs, kwargs=kwargs),
        num_threads=num_threads,
    )
    return timer.blocked_autorange(min_run_time=min_run_time)


def release_memory() -> bool:
    """Collect garbage, then hand the heap's free pages back to the operating system.

    Why it is needed: ``del model`` returns the weights' memory to the C allocator, not to
    the system. glibc's ``malloc`` serves blocks below its mmap threshold from heaps it keeps,
    and it raises that threshold (from 128 kB up to 32 MB) each time a larger block is freed,
    so after the first big activation is freed a model's tensors all land in those heaps. Freed,
    they leave holes that ``free`` never returns: the kernel's resident memory stays where it
    peaked (CoAtNet-0's weights alone are 100 MB). ``malloc_trim(0)`` returns those pages.
    Delete the models first (``del model``): this gives back only memory already freed.

    Returns True when glibc gave memory back. A no-op that returns False where there is no
    ``malloc_trim`` (macOS, Windows, musl); it never raises.
    """
    gc.collect()  # objects held only by reference cycles go first
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        return bool(trim(0))
    except Exception:  # a libc that has the name but not glibc's function
        return False


def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def family_table(names, img_size: int = 224) -> list[dict]:
    """Count registered models live (:func:`vit_notes.create`), beside their papers' numbers.

    Models are built and run on the ``meta`` device: parameters and multiply-adds come
    from shapes alone, without allocating the weights or computing anything. Each row holds
    the paper's parameters, GFLOPs, top-1 (``None`` where the paper gives none) and bib key.
    """
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)):
        raise validate.InputTypeError(
            f"names must be a list or tuple of model names, got {validate.shown(names)} "
            f"({type(names).__name__}); for one model pass [{validate.shown(names)}]"
        )
    img_size = validate.image_side("img_size", img_size)
    rows = []
    for name in names:
        info = registry.model_info(name)
        with torch.device("meta"):
            model = info.build().eval()
        # Run outside the device context: its per-op dispatch would double the time.
        macs = count_macs(model, torch.empty(1, 3, img_size, img_size, device="meta"))
        p = info.paper
        params = count_params(model) / 1e6
        rows.append(
            dict(
                model=name,
                family=info.family,
                params_m=params,
                paper_params_m=p.params_m,
                gmacs=macs / 1e9,
                paper_gflops=p.gflops,
                params_ratio=params / p.params_m,
                gmacs_ratio=None if p.gflops is None else macs / 1e9 / p.gflops,
                top1=p.top1,
                cite=p.cite,
            )
        )
    return rows


def _cell(value, floatfmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return format(float(value), floatfmt)
    return str(value)


def _table_cell(value, floatfmt: str, where: str) -> str:
    """One cell as text, or a ValueError naming it (``where``): a whole number too long for
    ``str`` (4,300 digits), or a value whose formatting raises."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if validate.digits(value) > 4000:
            raise ValueError(
                f"{where} is a {validate.digits(value)}-digit number, too long to print in a "
                "table: give a count of at most 4,000 digits"
            )
    try:
        return _cell(value, floatfmt)
    except Exception as err:
        raise ValueError(
            f"{where}={validate.shown(value)} cannot be printed ({type(err).__name__}): give "
            "numbers or text"
        ) from err


#: The largest width or precision a ``floatfmt`` may ask for (a wider one pads every cell).
_MAX_FLOATFMT = 100


def format_table(rows: list[dict], columns: dict[str, str], floatfmt: str = ".2f") -> str:
    """A fixed-width text table of ``rows``; ``columns`` maps row keys to headers."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)):
        raise validate.InputTypeError(
            f"rows must be a list of dicts, got {validate.shown(rows)} ({type(rows).__name__})"
        )
    if not isinstance(columns, dict):
        raise validate.InputTypeError(
            "columns must be a dict from row keys to headers, got "
            f"{validate.shown(columns)} ({type(columns).__name__})"
        )
    if not isinstance(floatfmt, str):
        raise validate.InputTypeError(
            f"floatfmt must be a format spec such as '.2f', got {validate.shown(floatfmt)} "
            f"({type(floatfmt).__name__})"
        )
    if any(len(n) > 3 or int(n) > _MAX_FLOATFMT for n in re.findall(r"\d+", floatfmt)):
        raise ValueError(
            f"floatfmt={validate.shown(floatfmt)} asks for too wide a width or precision: "
            f"give at most {_MAX_FLOATFMT}, as in '.2f' or '>10.3g'"
        )
    try:
        format(1.5, floatfmt)
    except ValueError:
        raise ValueError(
            f"floatfmt={floatfmt!r} is not a float format spec; give one such as '.2f' or '.3g'"
        ) from None
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise validate.InputTypeError(
                f"rows[{i}] must be a dict, got {validate.shown(r)} ({type(r).__name__})"
            )
        missing = [k for k in columns if k not in r]
        if missing:
            raise ValueError(
                f"rows[{i}] has no key {missing[0]!r}, named in columns; its keys are {list(r)}"
            )
    cells = [[validate.text(f"columns[{validate.shown(k)}]", h, allow_empty=True)
              for k, h in columns.items()]]  # fmt: skip
    for i, r in enumerate(rows):
        cells.append([_table_cell(r[k], floatfmt, f"rows[{i}][{validate.shown(k)}]")
                      for k in columns])  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


#: Binary units: 2**10 bytes = 1 KiB, 2**20 bytes = 1 MiB, 2**30 bytes = 1 GiB.
BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, in fixed point and with thousands
    separators, never in exponent form: 0.0123, 1.50, 12.3, 123, 12,345 (a whole number
    prints no decimals once it has ``digits`` digits or more)."""
    validate.number("value", value)  # a number; NaN, the infinities, ints past a float's
    value = int(value) if isinstance(value, numbers.Integral) else float(value)  # NumPy too
    digits = validate.positive_int("digits", digits, maximum=50, why="a float holds about 17")
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if math.floor(math.log10(abs(float(f"{value:.{digits - 1}e}")))) > magnitude:
        magnitude += 1  # 9.996 rounds up to 10.0
    return f"{value:,.{max(0, digits - 1 - magnitude)}f}"


def format_bytes(n: float, digits: int = 3) -> str:
    """``n`` bytes in the largest binary unit that keeps the number at 1 or more (B, KiB,
    MiB, GiB; 2**20 bytes = 1 MiB), with ``digits`` significant digits: 512 B, 96.0 KiB,
    1.50 MiB, 16.0 MiB, 1,024 GiB. A size above zero never prints as 0."""
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not n >= 0:  # NumPy's too
        raise ValueError(f"n={validate.shown(n)}: give a number of bytes, 0 or more")
    validate.number("n", n)  # the infinities and ints past a float's range
    n = int(n) if isinstance(n, numbers.Integral) else float(n) + 0.0  # -0.0 prints as 0
    validate.positive_int("digits", digits, maximum=50, why="a float holds about 17")
    unit = 0
    while unit < len(BYTE_UNITS) - 1 and n >= 1024 ** (unit + 1):
        unit += 1
    if unit == 0:
        return f"{n:,.0f} B" if float(n).is_integer() else f"{significant(n, digits)} B"
    return f"{significant(n / 1024**unit, digits)} {BYTE_UNITS[unit]}"


@dataclass(frozen=True)
class BlockCost:
    """Cost of one block (or a sum of blocks) on one image.

    ``macs`` and ``params`` as :func:`count_macs` and :func:`count_params` count them;
    ``attn_macs`` those of ``q kᵀ`` and ``attn v``; ``attn_elements``/``attn_bytes`` the
    ``heads x N x N`` map of one attention layer (float32), 0 for convolution blocks. For a
    sum of blocks, the attention map entries are the largest single map (the explicit path
    keeps one at a time), not a sum.
    """

    macs: int
    params: int
    attn_macs: int = 0
    attn_elements: int = 0
    attn_bytes: int = 0

    def __add__(self, other: BlockCost) -> BlockCost:
        return BlockCost(
            macs=self.macs + other.macs,
            params=self.params + other.params,
            attn_macs=self.attn_macs + other.attn_macs,
            attn_elements=max(self.attn_elements, other.attn_elements),
            attn_bytes=max(self.attn_bytes, other.attn_bytes),
        )

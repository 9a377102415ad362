"""What attention costs: analytic counts, counted FLOPs, measured time.

Conventions (the papers' and this book's): **one multiply-add = one FLOP**, i.e. the
numbers are multiply-accumulates (MACs). :class:`torch.utils.flop_counter.FlopCounterMode`
counts 2 per multiply-add, so :func:`count_macs` halves it. Counted: matrix products
(linear layers, ``q kᵀ`` and ``attn v``) and convolutions; not counted: norms,
activations, softmax, pooling and biases, which the counter skips too.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils import benchmark
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from . import validate


@dataclass(frozen=True)
class AttentionCost:
    """Cost of one attention layer on one image.

    ``macs``: multiply-adds of the whole layer; ``attn_macs``: those of ``q kᵀ`` and
    ``attn v`` alone; ``tokens``/``kv_tokens``: N and the number of keys M;
    ``attn_elements``: entries of the ``heads x N x M`` attention matrix, and
    ``attn_bytes`` their size in float32 (what the explicit path stores).
    """

    macs: int
    attn_macs: int
    tokens: int
    kv_tokens: int
    attn_elements: int
    attn_bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def sra_cost(H: int, W: int, dim: int, num_heads: int, sr_ratio: int = 1, linear: bool = False,
             pool_size: int = 7) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.pvt.SpatialReductionAttention` on an ``H x W`` grid.

    With ``N = HW`` and ``M`` keys (``⌊H/R⌋⌊W/R⌋``, or ``pool_size²`` for linear SRA):
    ``q`` and ``proj`` cost ``2NC²``; the reduction conv ``M·C²·R²`` (``M·C²`` for the 1x1
    conv of linear SRA); ``kv`` ``2MC²``; ``q kᵀ`` and ``attn v`` ``2NMC`` (PVT v1 Eq. 3: the
    attention term shrinks by ``R²``). ``sr_ratio=1`` is plain multi-head attention.
    """
    for name, v in dict(H=H, W=W, sr_ratio=sr_ratio, pool_size=pool_size).items():
        validate.positive_int(name, v)
    validate.heads_divide(dim, num_heads)
    N, C = H * W, dim
    if linear:
        M = pool_size * pool_size
        reduce = M * C * C
    elif sr_ratio > 1:
        if H < sr_ratio or W < sr_ratio:
            raise ValueError(f"the grid {H}x{W} is smaller than sr_ratio={sr_ratio}")
        M = (H // sr_ratio) * (W // sr_ratio)
        reduce = M * C * C * sr_ratio * sr_ratio
    else:
        M, reduce = N, 0
    attn = 2 * N * M * C
    macs = 2 * N * C * C + reduce + 2 * M * C * C + attn
    return AttentionCost(macs=macs, attn_macs=attn, tokens=N, kv_tokens=M, attn_elements=num_heads * N * M,
                         attn_bytes=4 * num_heads * N * M)


def _sdpa_for_cpu_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


# The counter knows the CUDA attention kernels but not the CPU one that the fused
# scaled_dot_product_attention runs here: without this entry it silently counts
# q kᵀ and attn v as zero on a CPU (and counts them on a GPU or the meta device).
_CPU_ATTENTION = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_for_cpu_flop}


def count_macs(module: nn.Module, *inputs, **kwargs) -> int:
    """Multiply-adds of one forward pass, counted by :mod:`torch.utils.flop_counter` (halved).

    Works on real tensors and on the ``meta`` device (shapes only, no compute), which
    is how the family tables count the large variants in a fraction of a second.
    """
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        module(*inputs, **kwargs)
    return counter.get_total_flops() // 2


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def time_forward(module: nn.Module, *inputs, min_run_time: float = 0.5, num_threads: int | None = None,
                 **kwargs) -> benchmark.Measurement:
    """Time ``module(*inputs)`` under ``no_grad`` with :class:`torch.utils.benchmark.Timer`.

    Returns the Measurement; ``.median`` is in seconds. Timings vary from machine to
    machine and run to run: compare ratios measured side by side, not absolute values.
    """
    timer = benchmark.Timer(
        stmt="with torch.no_grad(): module(*inputs, **kwargs)",
        globals=dict(torch=torch, module=module, inputs=inputs, kwargs=kwargs),
        num_threads=num_threads or torch.get_num_threads(),
    )
    return timer.blocked_autorange(min_run_time=min_run_time)


def gmacs(macs: int) -> float:
    return macs / 1e9


# ---------------------------------------------------------------------------------------------
# Shunted Transformer (Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation",
# CVPR 2022): the analytic cost of one shunted self-attention layer.
# ---------------------------------------------------------------------------------------------

def shunted_kv_tokens(H: int, W: int, sr_ratio: int) -> tuple[int, ...]:
    """Keys per head group of :class:`~vit_notes.shunted.ShuntedAttention` on an ``H x W`` grid:
    ``(⌊H/r⌋⌊W/r⌋, ⌊2H/r⌋⌊2W/r⌋)`` for ``r > 1`` (coarse group, fine group), ``(HW,)`` for ``r = 1``."""
    from .shunted import kv_grids  # local import: the cost tools do not need the models otherwise

    return tuple(h * w for h, w in kv_grids(H, W, sr_ratio))


def shunted_cost(H: int, W: int, dim: int, num_heads: int, sr_ratio: int = 1) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.shunted.ShuntedAttention` on an ``H x W`` grid (Ren et al. 2022, MTA and LE).

    With ``N = HW``, ``C = dim`` and, for ``r > 1``, ``M1``/``M2`` keys for the coarse/fine
    head group (:func:`shunted_kv_tokens`): ``q`` and ``proj`` cost ``2NC²``; the reduction
    convs ``M1·C²·r² + M2·C²·(r/2)²``; ``kv1``, ``kv2`` ``(M1 + M2)·C²``; the local-enhancement
    depthwise convs ``9·(M1 + M2)·C/2``; ``q kᵀ`` and ``attn v`` of each group (``h/2`` heads,
    ``C/2`` channels) ``N·M_i·C``. For ``r = 1``: ``kv`` ``2NC²``, attention ``2N²C`` and the
    depthwise conv of V ``9NC``. ``kv_tokens`` is ``M1 + M2`` (every key of the layer);
    ``attn_elements`` counts both groups' maps, ``(h/2)·N·(M1 + M2)``.
    """
    for name, v in dict(H=H, W=W).items():
        validate.positive_int(name, v)
    validate.heads_divide(dim, num_heads)
    Ms = shunted_kv_tokens(H, W, sr_ratio)  # validates sr_ratio and the grid
    if sr_ratio > 1 and num_heads % 2:
        raise ValueError(f"num_heads={num_heads} is odd but sr_ratio={sr_ratio} > 1 needs two equal head groups; "
                         "use an even num_heads or sr_ratio=1")
    N, C = H * W, dim
    if sr_ratio == 1:
        M = N
        attn = 2 * N * M * C
        macs = 2 * N * C * C + 2 * N * C * C + attn + 9 * N * C
        elements = num_heads * N * M
    else:
        M1, M2 = Ms
        M = M1 + M2
        half = sr_ratio // 2
        reduce = M1 * C * C * sr_ratio ** 2 + M2 * C * C * half ** 2
        attn = N * M * C
        macs = 2 * N * C * C + reduce + M * C * C + 9 * M * (C // 2) + attn
        elements = (num_heads // 2) * N * M
    return AttentionCost(macs=macs, attn_macs=attn, tokens=N, kv_tokens=M, attn_elements=elements,
                         attn_bytes=4 * elements)


def sra_ratio_at_equal_cost(H: int, W: int, dim: int, num_heads: int, sr_ratio: int) -> int:
    """The PVT SRA ``sr_ratio`` (1 .. min(H, W)) whose :func:`sra_cost` is closest to the
    :func:`shunted_cost` of a shunted layer with ``sr_ratio``: the fair contrast for its maps."""
    target = shunted_cost(H, W, dim, num_heads, sr_ratio).macs
    return min(range(1, min(H, W) + 1), key=lambda r: (abs(sra_cost(H, W, dim, num_heads, r).macs - target), r))

"""What attention costs: analytic counts, counted FLOPs, measured time.

Conventions (the papers' and this book's): **one multiply-add = one FLOP**, i.e. the
numbers are multiply-accumulates (MACs). :class:`torch.utils.flop_counter.FlopCounterMode`
counts 2 per multiply-add, so :func:`count_macs` halves it. Counted: matrix products
(linear layers, ``q kᵀ`` and ``attn v``) and convolutions; not counted: norms,
activations, softmax, pooling and biases, which the counter skips too.
"""
from __future__ import annotations

from dataclasses import dataclass

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


def family_table(builders: dict, paper: dict, img_size: int = 224) -> list[dict]:
    """Count every variant of a family live, beside the paper's numbers.

    ``builders``: name -> zero-argument constructor; ``paper``: name -> (params M, GFLOPs).
    Models are built and run on the ``meta`` device: parameters and multiply-adds come
    from shapes alone, without allocating the weights or computing anything.
    """
    rows = []
    for name, build in builders.items():
        with torch.device("meta"):
            model = build().eval()
        # Run outside the device context: its per-op dispatch would double the time.
        macs = count_macs(model, torch.empty(1, 3, img_size, img_size, device="meta"))
        p_paper, g_paper = paper[name]
        params = count_params(model) / 1e6
        rows.append(dict(model=name, params_m=params, paper_params_m=p_paper, gmacs=macs / 1e9,
                         paper_gflops=g_paper, params_ratio=params / p_paper, gmacs_ratio=macs / 1e9 / g_paper))
    return rows


def format_table(rows: list[dict], columns: dict[str, str], floatfmt: str = ".2f") -> str:
    """A fixed-width text table of ``rows``; ``columns`` maps row keys to headers."""
    cells = [[h for h in columns.values()]]
    for r in rows:
        cells.append([format(r[k], floatfmt) if isinstance(r[k], float) else str(r[k]) for k in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- CoAtNet: per-block analytic cost (MBConv, relative attention, transformer block) ------------------------


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

    def __add__(self, other: "BlockCost") -> "BlockCost":
        return BlockCost(self.macs + other.macs, self.params + other.params, self.attn_macs + other.attn_macs,
                         max(self.attn_elements, other.attn_elements), max(self.attn_bytes, other.attn_bytes))


def _grid_after(H: int, W: int, stride: int) -> tuple[int, int]:
    validate.one_of("stride", stride, {1, 2})
    validate.positive_int("H", H)
    validate.positive_int("W", W)
    if stride == 2 and (H % 2 or W % 2):
        raise ValueError(f"a stride-2 block needs an even grid, got {H}x{W}")
    return H // stride, W // stride


def relative_attention_cost(H: int, W: int, dim: int, num_heads: int, dim_out: int | None = None) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.coatnet.RelativeAttention` on an ``H x W`` grid.

    ``N = HW``, width ``C`` of q, k, v (``dim_out``): the qkv 1x1 conv costs ``3·N·dim·C``,
    ``q kᵀ`` and ``attn v`` ``2N²C`` (CoAtNet's quadratic term: every position attends to every
    other), the projection ``NC²``. Gathering and adding the relative bias ``w_{i−j}`` costs no
    multiply-adds, only the ``heads x N x N`` bias tensor in memory.
    """
    dim_out = dim_out or dim
    validate.positive_int("dim", dim)
    validate.heads_divide(dim_out, num_heads)
    N = validate.positive_int("H", H) * validate.positive_int("W", W)
    attn = 2 * N * N * dim_out
    macs = 3 * N * dim * dim_out + attn + N * dim_out * dim_out
    return AttentionCost(macs=macs, attn_macs=attn, tokens=N, kv_tokens=N, attn_elements=num_heads * N * N,
                         attn_bytes=4 * num_heads * N * N)


def mbconv_cost(H: int, W: int, in_chs: int, out_chs: int, stride: int = 1, expand_ratio: float = 4.0,
                se_ratio: float = 0.25, stride_mode: str = "1x1") -> BlockCost:
    """Multiply-adds and parameters of :class:`~vit_notes.coatnet.MBConv` on an ``H x W`` input.

    ``M = mid`` channels (``expand_ratio·out_chs``), ``N'`` output positions: expand 1x1
    ``in·M`` per position (at the input resolution with ``stride_mode="dw"``, at the output one
    with ``"1x1"``), depthwise 3x3 ``9M·N'`` (the fixed local kernel: linear in ``N``), SE
    ``2·M·M_se`` once, project ``M·out·N'``, shortcut 1x1 ``in·out·N'`` when the width changes.
    """
    from .coatnet import make_divisible

    validate.one_of("stride_mode", stride_mode, {"1x1", "dw"})
    Ho, Wo = _grid_after(H, W, stride)
    N, No = H * W, Ho * Wo
    mid, rd = make_divisible(out_chs * expand_ratio), int(se_ratio * out_chs)
    has_short = stride == 2 or in_chs != out_chs
    short_conv = in_chs != out_chs and has_short
    macs = (in_chs * mid * (No if stride_mode == "1x1" else N) + 9 * mid * No + 2 * mid * rd
            + mid * out_chs * No + (in_chs * out_chs * No if short_conv else 0))
    params = (2 * in_chs + in_chs * mid + 2 * mid + 9 * mid + 2 * mid + (mid * rd + rd) + (rd * mid + mid)
              + (mid * out_chs + out_chs) + ((in_chs * out_chs + out_chs) if short_conv else 0))
    return BlockCost(macs=macs, params=params)


def transformer_block_cost(H: int, W: int, dim: int, dim_out: int | None = None, stride: int = 1,
                           dim_head: int = 32, expand_ratio: float = 4.0) -> BlockCost:
    """Multiply-adds and parameters of :class:`~vit_notes.coatnet.TransformerBlock` on an ``H x W`` input:
    :func:`relative_attention_cost` on the (pooled) output grid, the FFN ``2·C·4C`` per position,
    the shortcut 1x1 conv when the width changes, the relative table ``(2H'−1)(2W'−1)`` per head."""
    dim_out = dim_out or dim
    Ho, Wo = _grid_after(H, W, stride)
    if dim_out % dim_head:
        raise ValueError(f"width {dim_out} is not divisible by the head size dim_head={dim_head}")
    heads, N, hidden = dim_out // dim_head, Ho * Wo, int(dim_out * expand_ratio)
    a = relative_attention_cost(Ho, Wo, dim, heads, dim_out)
    short = dim * dim_out * N if dim != dim_out else 0
    macs = a.macs + 2 * N * dim_out * hidden + short
    params = (2 * dim + 3 * dim_out * (dim + 1) + (2 * Ho - 1) * (2 * Wo - 1) * heads + dim_out * (dim_out + 1)
              + 2 * dim_out + hidden * (dim_out + 1) + dim_out * (hidden + 1)
              + ((dim * dim_out + dim_out) if dim != dim_out else 0))
    return BlockCost(macs=macs, params=params, attn_macs=a.attn_macs, attn_elements=a.attn_elements,
                     attn_bytes=a.attn_bytes)


def coatnet_cost(name_or_config="coatnet_0", img_size: int = 224, **overrides) -> dict[str, BlockCost]:
    """Analytic cost of a whole :class:`~vit_notes.coatnet.CoAtNet`, per stage, without building it.

    ``name_or_config``: a name from :data:`vit_notes.coatnet.CONFIGS` or a config dict; ``overrides``
    as for :func:`vit_notes.coatnet.create` (``layout``, ``stride_mode``, ...). Returns ``{"S0": stem,
    "S1".."S4": stages, "head": classifier, "total": sum}``; equal to :func:`count_macs` (with
    the attention products counted) and :func:`count_params` (tested).
    """
    from .coatnet import CONFIGS, parse_layout

    if isinstance(name_or_config, str):
        validate.one_of("name", name_or_config, CONFIGS)
        name_or_config = CONFIGS[name_or_config]
    cfg = {**dict(in_chans=3, num_classes=1000, layout="C-C-T-T", dim_head=32, expand_ratio=4.0, se_ratio=0.25,
                  stride_mode="1x1", head_hidden_size=None), **name_or_config, **overrides}
    depths, dims, D0 = cfg["depths"], cfg["embed_dims"], cfg["stem_width"]
    layout = parse_layout(cfg["layout"], len(depths))
    stride = 2 ** (len(depths) + 1)
    validate.positive_int("img_size", img_size)
    if img_size % stride:
        raise ValueError(f"img_size={img_size} is not divisible by the total stride {stride}")
    H = img_size // 2
    out = {"S0": BlockCost(macs=(cfg["in_chans"] + D0) * D0 * 9 * H * H,
                           params=cfg["in_chans"] * D0 * 9 + 2 * D0 + D0 * D0 * 9)}
    in_chs = D0
    for i, (t, d, L) in enumerate(zip(layout, dims, depths)):
        total = BlockCost(0, 0)
        for j in range(L):
            s, c = (2, in_chs) if j == 0 else (1, d)
            if t == "C":
                total = total + mbconv_cost(H, H, c, d, s, cfg["expand_ratio"], cfg["se_ratio"], cfg["stride_mode"])
            else:
                total = total + transformer_block_cost(H, H, c, d, s, cfg["dim_head"], cfg["expand_ratio"])
            H //= s
        out[f"S{i + 1}"], in_chs = total, d
    D, hid, K = dims[-1], cfg["head_hidden_size"], cfg["num_classes"]
    hid = D if hid is None else hid
    feat = hid or D
    out["head"] = BlockCost(macs=(D * hid if hid else 0) + feat * K,
                            params=2 * D + ((D + 1) * hid if hid else 0) + ((feat + 1) * K if K else 0))
    tot = BlockCost(0, 0)
    for v in out.values():
        tot = tot + v
    out["total"] = tot
    return out


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

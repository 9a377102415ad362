"""Property-based tests (hypothesis) of every family's public constructors and forwards, the
analytic cost functions and ``vit_notes.create``.

The property, for every drawn combination of dims, heads, ratios, layouts, image sizes and
token counts (zero, negative, floats, bools, odd heads, ratios larger than the grid, wrong
token counts, wrong channel counts, wrong tensor ranks): the call either runs and gives the
documented output shape, or raises a ``ValueError`` whose message names the offending
parameter. Never a raw error from inside torch (RuntimeError, TypeError, IndexError,
ZeroDivisionError, a warning turned error by pytest...).

Each test carries a small oracle: the list of problems a combination has, each problem given
as the words an error about it may use (the parameter's name). No problem: the call must
run and give the documented shape. Problems: it must raise a ``ValueError`` naming one of
them. A cost function must accept exactly what its module accepts. Models stay tiny
(dims <= 16, depth 1, images <= 96 px); the whole file runs in seconds on two CPU cores.
"""

from __future__ import annotations

import inspect
import math
import os
import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import vit_notes
from vit_notes.coatnet import (
    CoAtNet,
    MBConv,
    RelativeAttention,
    TransformerBlock,
    coatnet_cost,
    mbconv_cost,
    relative_attention_cost,
    transformer_block_cost,
)
from vit_notes.counting import AttentionCost, BlockCost
from vit_notes.pvt import PyramidVisionTransformer, SpatialReductionAttention, sra_cost
from vit_notes.shunted import ShuntedAttention, ShuntedTransformer, shunted_cost
from vit_notes.swin import (
    GridWindowAttention,
    SwinTransformer,
    size_problem,
    window_attention_cost,
)

# With database=None hypothesis still caches the constants it finds in this project's modules,
# under ./.hypothesis by default (its pytest plugin does so while collecting): keep that cache
# out of the working tree unless HYPOTHESIS_STORAGE_DIRECTORY says where it goes.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "vit_notes_hypothesis")


def fast(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- drawing values -------------------------------------------------------------------------------

#: Wrong values for a positive integer parameter: zero, negative, floats, bools, None, a string.
BAD_INT = [0, -1, -8, 2.0, 2.5, True, False, None, "4"]
#: Wrong values for a ratio that must be > 0 (NaN included; bools are numbers, True = 1).
BAD_RATIO = [0, -1, -0.5, float("nan")]


def mostly(good, bad, one_in: int = 8):
    """A good value, and about once in ``one_in`` draws a bad one (shrinks towards good)."""
    return st.integers(0, one_in - 1).flatmap(
        lambda k: st.sampled_from(bad if k == one_in - 1 else good)
    )


@st.composite
def spoil(draw, cfg, bad):
    """``cfg`` with none, one or two of its entries spoiled: ``bad[key]`` is a list of bad
    values for ``cfg[key]``, or a function of the good value giving a strategy of bad ones."""
    count = draw(st.sampled_from([0, 0, 1, 1, 2]))
    keys = st.lists(st.sampled_from(sorted(bad)), min_size=count, max_size=count, unique=True)
    for key in draw(keys):
        b = bad[key]
        cfg[key] = draw(b(cfg[key]) if callable(b) else st.sampled_from(b))
    return cfg


def bad_stages(items):
    """Spoil a per-stage tuple: one entry from ``items``, a scalar, one entry short or long."""

    @st.composite
    def spoiled(draw, seq):
        form = draw(st.sampled_from(["entry", "entry", "scalar", "short", "long"]))
        if form == "scalar":
            return seq[0]
        if form == "short":
            return seq[:-1]
        if form == "long":
            return (*seq, seq[-1])
        i = draw(st.integers(0, len(seq) - 1))
        return (*seq[:i], draw(st.sampled_from(items)), *seq[i + 1 :])

    return spoiled


def pos_int(v, minimum: int = 1) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def pos_num(v) -> bool:
    return isinstance(v, (int, float)) and v > 0  # NaN is not > 0


def is_seq(v) -> bool:
    return isinstance(v, (tuple, list))


def tokens_tensor(B, N, C, rank):
    """``(B, N, C)`` tokens, or the same numbers in a tensor of the wrong rank."""
    shape = {3: (B, N, C), 2: (N, C), 4: (B, 1, N, C)}[rank]
    return torch.randn(*shape)


def token_count(H, W) -> int:
    """``H * W`` where that is a count (also for a bad ``H`` or ``W``: -2 x -3 gives 6), else 4."""
    if isinstance(H, (int, float)) and isinstance(W, (int, float)) and H * W >= 0:
        if float(H * W).is_integer():
            return int(H * W)
    return 4


def image_tensor(B, C, H, W, rank):
    shape = {4: (B, C, H, W), 3: (C, H, W), 5: (B, 1, C, H, W)}[rank]
    return torch.randn(*shape)


# --- the property ---------------------------------------------------------------------------------


def outcome(call, problems, maybe=()):
    """Run ``call()`` without gradients. With no ``problems`` it must succeed (the result is
    returned); with problems it must raise a ``ValueError`` naming one of them (``None`` is
    returned). ``maybe``: problems the package may refuse or accept. Any other exception
    propagates and fails the test."""
    try:
        with torch.no_grad():
            out = call()
    except ValueError as e:
        msg = str(e)
        allowed = [*problems, *maybe]
        assert allowed, f"a valid combination was refused: {msg}"
        assert any(tok in msg for p in allowed for tok in p), (
            f"the error names none of the problems {allowed}: {msg}"
        )
        return None
    assert not problems, f"a combination with problems {problems} was accepted"
    return out


# Words an error about a parameter may use.
DIM = ("dim=", "dim must")
SHAPE = ("shape", "(B,")
EMPTY = ("at least", "empty")


def grid_problems(H, W):
    return [p for v, p in ((H, ("H must", "H=")), (W, ("W must", "W="))) if not pos_int(v)]


# --- PVT ------------------------------------------------------------------------------------------


def sra_problems(dim, num_heads, sr_ratio, linear, prefix=0):
    p = []
    if not pos_int(dim):
        p.append(DIM)
    if not pos_int(num_heads):
        p.append(("num_heads",))
    elif pos_int(dim) and dim % num_heads:
        p.append(("num_heads",))
    if not pos_int(sr_ratio):
        p.append(("sr_ratio",))
    if not pos_int(prefix, 0):
        p.append(("num_prefix_tokens",))
    elif prefix and (linear or (pos_int(sr_ratio) and sr_ratio > 1)):
        p.append(("num_prefix_tokens",))
    return p


def sra_grid_problems(H, W, sr_ratio, linear):
    p = grid_problems(H, W)
    if p or linear or not pos_int(sr_ratio):
        return p
    if sr_ratio > 1 and min(H, W) < sr_ratio:
        p.append(("sr_ratio",))
    return p


@fast(300)
@given(
    dim=mostly([1, 2, 4, 6, 8, 12, 16], BAD_INT),
    num_heads=mostly([1, 2, 3, 4, 8], BAD_INT),
    sr_ratio=mostly([1, 1, 2, 3, 4, 8], BAD_INT),
    linear=st.booleans(),
    qkv_bias=st.booleans(),
    prefix=mostly([0, 0, 0, 1, 2], [-1, True, 1.0]),
    H=mostly([1, 2, 3, 4, 5, 7], BAD_INT),
    W=mostly([1, 2, 3, 4, 6, 8], BAD_INT),
    B=st.sampled_from([1, 2, 0]),
    extra_tokens=mostly([0], [-1, 1, -3]),
    extra_channels=mostly([0], [-1, 1]),
    rank=mostly([3], [2, 4]),
)
def test_spatial_reduction_attention(
    dim,
    num_heads,
    sr_ratio,
    linear,
    qkv_bias,
    prefix,
    H,
    W,
    B,
    extra_tokens,
    extra_channels,
    rank,
):
    attn = outcome(
        lambda: SpatialReductionAttention(
            dim,
            num_heads,
            qkv_bias=qkv_bias,
            sr_ratio=sr_ratio,
            linear=linear,
            num_prefix_tokens=prefix,
        ).eval(),
        sra_problems(dim, num_heads, sr_ratio, linear, prefix),
    )
    if attn is None:
        return
    n_grid = token_count(H, W)
    N = max(n_grid + prefix + extra_tokens, 0)
    x = tokens_tensor(B, N, dim + extra_channels, rank)
    p = grid_problems(H, W)
    if rank != 3:
        p.append(SHAPE)
    if extra_tokens:
        p.append(("tokens",))
    if extra_channels:
        p.append(("channels", "dim="))
    if not p:
        p = sra_grid_problems(H, W, sr_ratio, linear)
    out = outcome(lambda: attn(x, H, W), p)
    if out is not None:
        assert out.shape == x.shape


IMAGES = [(32, 32), (40, 56), (33, 50), (96, 64), (64, 36), (29, 31)]
SMALL_IMAGES = [(0, 0), (0, 8), (1, 1), (3, 9), (8, 16), (16, 16), (20, 12)]


def pvt_stage_grids(version, patch_size, num_stages, H, W):
    """Each stage's token grid for an ``H x W`` image, and the stage whose patch embedding
    cannot run (None if every one can)."""
    grids = []
    for i in range(num_stages):
        stride = patch_size if i == 0 else 2
        kernel = stride if version == 1 else (7 if i == 0 else 3)
        pad = 0 if version == 1 else kernel // 2
        if min(H, W) + 2 * pad < kernel:
            return grids, i
        H, W = (H + 2 * pad - kernel) // stride + 1, (W + 2 * pad - kernel) // stride + 1
        grids.append((H, W))
    return grids, None


@st.composite
def pvt_config(draw):
    n = draw(st.integers(1, 4))
    version = draw(st.sampled_from([1, 2]))
    dims = tuple(draw(st.sampled_from([4, 8, 12, 16])) for _ in range(n))
    sr_ratios = tuple(draw(st.sampled_from([1, 2, 4, 8])) for _ in range(n))
    if version == 1:  # v1's class token needs plain attention in the last stage
        sr_ratios = (*sr_ratios[:-1], 1)
    cfg = dict(
        img_size=draw(st.sampled_from([32, 40, 64, 96, 16, 8])),
        patch_size=draw(st.sampled_from([4, 4, 2, 3, 8])),
        in_chans=draw(st.sampled_from([3, 1])),
        num_classes=draw(st.sampled_from([0, 3])),
        embed_dims=dims,
        num_heads=tuple(draw(st.sampled_from([h for h in (1, 2, 4) if d % h == 0])) for d in dims),
        mlp_ratios=tuple(draw(st.sampled_from([1, 2, 0.5])) for _ in range(n)),
        depths=(1,) * n,
        sr_ratios=sr_ratios,
        num_stages=n,
        version=version,
        linear=version == 2 and draw(st.booleans()),
    )
    bad = dict(
        img_size=BAD_INT,
        patch_size=BAD_INT,
        in_chans=BAD_INT,
        num_classes=[-1, 2.0, True, None],
        embed_dims=bad_stages(BAD_INT),
        num_heads=bad_stages([*BAD_INT, 3]),
        mlp_ratios=bad_stages([*BAD_RATIO, 0.01]),
        depths=bad_stages(BAD_INT),
        sr_ratios=bad_stages([*BAD_INT, 16]),
        num_stages=[0, -1, 2.0, True, n + 1],
        version=[0, 3, True, 2.0, "2"],
        linear=[True],
    )
    return draw(spoil(cfg, bad))


def pvt_problems(c):
    p, maybe = [], []
    if not (c["version"] in (1, 2) and pos_int(c["version"])):
        p.append(("version",))
    n = c["num_stages"]
    if not pos_int(n):
        return p + [("num_stages",)], maybe
    lists = ("embed_dims", "num_heads", "mlp_ratios", "depths", "sr_ratios")
    bad_lists = [(k,) for k in lists if not is_seq(c[k]) or len(c[k]) != n]
    if bad_lists:
        return p + bad_lists, maybe
    for i in range(n):
        d, h, r = c["embed_dims"][i], c["num_heads"][i], c["mlp_ratios"][i]
        if not pos_int(c["depths"][i]):
            p.append(("depth",))
        p += sra_problems(d, h, c["sr_ratios"][i], False)
        if not pos_num(r) or (pos_int(d) and int(d * r) < 1):
            p.append(("mlp_ratio",))
    for k in ("img_size", "patch_size", "in_chans"):
        if not pos_int(c[k]):
            p.append((k,))
    if not pos_int(c["num_classes"], 0):
        p.append(("num_classes",))
    if c["version"] == 1 and (c["linear"] or c["sr_ratios"][-1] != 1):
        p.append(("num_prefix_tokens", "linear"))
    if not p:
        # Stages after the first are built for img_size // (patch_size * 2**(i-1)); a build
        # size too small for a late stage may be refused, naming img_size.
        if any(c["img_size"] // (c["patch_size"] * 2 ** (i - 1)) < 1 for i in range(1, n)):
            maybe.append(("img_size",))
    return p, maybe


@fast(200)
@given(
    cfg=pvt_config(),
    HW=mostly(IMAGES, SMALL_IMAGES, 3),
    B=st.sampled_from([1, 2, 0]),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_pyramid_vision_transformer(cfg, HW, B, extra_channels, rank):
    problems, maybe = pvt_problems(cfg)
    model = outcome(lambda: PyramidVisionTransformer(**cfg).eval(), problems, maybe)
    if model is None:
        return
    H, W = HW
    x = image_tensor(B, cfg["in_chans"] + extra_channels, H, W, rank)
    p = [] if rank == 4 and not extra_channels else [SHAPE]
    n = cfg["num_stages"]
    grids, stuck = pvt_stage_grids(cfg["version"], cfg["patch_size"], n, H, W)
    if not p:
        for i, (h, w) in enumerate(grids):
            if not cfg["linear"] and min(h, w) < cfg["sr_ratios"][i]:
                p.append(("sr_ratio",))
                break
        else:
            if stuck is not None:
                p.append(("patch size",))
    res = outcome(lambda: model.forward_features(x, return_stages=True), p)
    if res is None:
        return
    pooled, stages = res
    dims = cfg["embed_dims"]
    assert [tuple(s.shape) for s in stages] == [(B, d, h, w) for d, (h, w) in zip(dims, grids)]
    assert model.head(pooled).shape == (B, cfg["num_classes"] or dims[-1])


# --- CoAtNet --------------------------------------------------------------------------------------


def map_problems(x, channels):
    """Problems of a ``(B, C, H, W)`` map given to a block built for ``channels``."""
    if x.dim() != 4 or x.shape[1] != channels:
        return [SHAPE]
    return [EMPTY] if 0 in x.shape[2:] else []


def mbconv_problems(in_chs, out_chs, stride, expand_ratio, se_ratio, stride_mode):
    p = [(k,) for k, v in (("in_chs", in_chs), ("out_chs", out_chs)) if not pos_int(v)]
    if not (pos_int(stride) and stride in (1, 2)):
        p.append(("stride",))
    if stride_mode not in ("1x1", "dw"):
        p.append(("stride_mode",))
    ratios_ok = pos_num(expand_ratio) and pos_num(se_ratio) and se_ratio <= 1
    if not ratios_ok or (pos_int(out_chs) and int(se_ratio * out_chs) < 1):
        p.append(("expand_ratio", "se_ratio"))
    return p


def even_problems(H, W, stride):
    if pos_int(H, 0) and pos_int(W, 0) and stride == 2 and (H % 2 or W % 2):
        return [("even",)]
    return []


@fast(250)
@given(
    in_chs=mostly([4, 8, 16], BAD_INT),
    out_chs=mostly([4, 8, 16], BAD_INT),
    stride=mostly([1, 2], [0, 3, 2.0, True]),
    expand_ratio=mostly([4.0, 1, 0.5], BAD_RATIO),
    se_ratio=mostly([0.25, 0.5, 1], [*BAD_RATIO, 1.5, 0.01]),
    stride_mode=mostly(["1x1", "dw"], ["pool", "", 1]),
    B=st.sampled_from([1, 2, 0]),
    H=st.integers(0, 9),
    W=st.integers(0, 9),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_mbconv(
    in_chs, out_chs, stride, expand_ratio, se_ratio, stride_mode, B, H, W, extra_channels, rank
):
    args = (in_chs, out_chs, stride, expand_ratio, se_ratio, stride_mode)
    block = outcome(lambda: MBConv(*args).eval(), mbconv_problems(*args))
    if block is None:
        return
    x = image_tensor(B, in_chs + extra_channels, H, W, rank)
    p = map_problems(x, in_chs) + (even_problems(H, W, stride) if x.dim() == 4 else [])
    out = outcome(lambda: block(x), p)
    if out is not None:
        assert out.shape == (B, out_chs, H // stride, W // stride)


def pair_problems(v, name):
    if pos_int(v):
        return []
    if is_seq(v) and len(v) == 2 and all(pos_int(s) for s in v):
        return []
    return [(name,)]


def relative_attention_problems(dim, dim_out, num_heads, grid_size=4):
    p = [] if pos_int(dim) else [DIM]
    width = dim if dim_out is None else dim_out
    if dim_out is not None and not pos_int(dim_out):
        p.append(("dim_out", "dim must", "dim="))
    elif not pos_int(num_heads):
        p.append(("num_heads",))
    elif pos_int(width) and width % num_heads:
        p.append(("num_heads",))
    return p + pair_problems(grid_size, "grid_size")


GRIDS = [4, (2, 3), 1, (3, 3)]
BAD_GRIDS = [0, (0, 4), 2.0, (2, 2, 2), (3,), "ab", True, None]


@fast(250)
@given(
    dim=mostly([4, 8, 12], BAD_INT),
    dim_out=mostly([None, 8, 4, 6], [0, -8, 8.0]),
    num_heads=mostly([1, 2, 4, 3], BAD_INT),
    grid_size=mostly(GRIDS, BAD_GRIDS),
    B=st.sampled_from([1, 2, 0]),
    H=st.integers(0, 6),
    W=st.integers(0, 6),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_relative_attention(dim, dim_out, num_heads, grid_size, B, H, W, extra_channels, rank):
    attn = outcome(
        lambda: RelativeAttention(dim, dim_out, num_heads=num_heads, grid_size=grid_size).eval(),
        relative_attention_problems(dim, dim_out, num_heads, grid_size),
    )
    if attn is None:
        return
    x = image_tensor(B, dim + extra_channels, H, W, rank)
    out = outcome(lambda: attn(x), map_problems(x, dim))
    if out is not None:
        assert out.shape == (B, dim_out or dim, H, W)


def transformer_block_problems(dim, dim_out, stride, dim_head, expand_ratio, grid_size=4):
    p = [] if pos_int(dim) else [DIM]
    width = dim if dim_out is None else dim_out
    if dim_out is not None and not pos_int(dim_out):
        p.append(("dim_out", "dim must", "dim="))
    if not (pos_int(stride) and stride in (1, 2)):
        p.append(("stride",))
    if not pos_int(dim_head):
        p.append(("dim_head",))
    elif pos_int(width) and width % dim_head:
        p.append(("dim_head",))
    if not pos_num(expand_ratio) or (pos_int(width) and int(width * expand_ratio) < 1):
        p.append(("expand_ratio",))
    return p + pair_problems(grid_size, "grid_size")


@fast(250)
@given(
    dim=mostly([4, 8, 16], BAD_INT),
    dim_out=mostly([None, 8, 16], [0, -8, 8.0]),
    stride=mostly([1, 2], [0, 3, 2.0, True]),
    dim_head=mostly([4, 8, 2], [*BAD_INT, 3]),
    expand_ratio=mostly([4.0, 1, 0.5], [*BAD_RATIO, 0.01]),
    grid_size=mostly(GRIDS, BAD_GRIDS),
    B=st.sampled_from([1, 2, 0]),
    H=st.integers(0, 6),
    W=st.integers(0, 6),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_transformer_block(
    dim, dim_out, stride, dim_head, expand_ratio, grid_size, B, H, W, extra_channels, rank
):
    block = outcome(
        lambda: TransformerBlock(
            dim,
            dim_out,
            stride,
            grid_size=grid_size,
            dim_head=dim_head,
            expand_ratio=expand_ratio,
        ).eval(),
        transformer_block_problems(dim, dim_out, stride, dim_head, expand_ratio, grid_size),
    )
    if block is None:
        return
    x = image_tensor(B, dim + extra_channels, H, W, rank)
    p = map_problems(x, dim) + (even_problems(H, W, stride) if x.dim() == 4 else [])
    out = outcome(lambda: block(x), p)
    if out is not None:
        assert out.shape == (B, dim_out or dim, H // stride, W // stride)


@st.composite
def bad_layout(draw, layout):
    letters = list(layout.split("-") if isinstance(layout, str) else layout)
    form = draw(st.sampled_from(["letter", "short", "long", "nodash", "junk"]))
    if form == "letter":
        letters[draw(st.integers(0, len(letters) - 1))] = draw(
            st.sampled_from(["X", "c", "", "CT"])
        )
    if form == "short":
        letters = letters[:-1]
    if form == "long":
        letters = [*letters, "T"]
    if form == "junk":
        return draw(st.sampled_from([5, None, 3.0]))
    return ("" if form == "nodash" else "-").join(letters)


@st.composite
def coatnet_config(draw):
    n = draw(st.integers(1, 4))
    letters = tuple(draw(st.sampled_from("CT")) for _ in range(n))
    cfg = dict(
        img_size=draw(st.sampled_from([32, 64, 96, (32, 64), [64, 96], (96, 32)])),
        in_chans=draw(st.sampled_from([3, 1])),
        num_classes=draw(st.sampled_from([0, 3])),
        stem_width=draw(st.sampled_from([8, 4])),
        embed_dims=tuple(draw(st.sampled_from([8, 16])) for _ in range(n)),
        depths=(1,) * n,
        layout=draw(st.sampled_from(["-".join(letters), letters, list(letters)])),
        dim_head=draw(st.sampled_from([8, 4])),
        expand_ratio=draw(st.sampled_from([4.0, 1.0])),
        se_ratio=draw(st.sampled_from([0.25, 0.5])),
        stride_mode=draw(st.sampled_from(["1x1", "dw"])),
        head_hidden_size=draw(st.sampled_from([None, 0, 8])),
    )
    bad = dict(
        img_size=[*BAD_GRIDS, 48, -32, (48, 64)],
        in_chans=BAD_INT,
        num_classes=[-1, 2.0, True],
        stem_width=BAD_INT,
        embed_dims=bad_stages([*BAD_INT, 12]),
        depths=bad_stages(BAD_INT),
        layout=bad_layout,
        dim_head=[*BAD_INT, 3],
        expand_ratio=[*BAD_RATIO, 0.01],
        se_ratio=[*BAD_RATIO, 1.5, 0.01],
        stride_mode=["pool", 1],
        head_hidden_size=[-1, 2.0, True],
    )
    return draw(spoil(cfg, bad))


def coatnet_problems(c):
    dims, depths, layout = c["embed_dims"], c["depths"], c["layout"]
    if not is_seq(dims) or not is_seq(depths) or len(dims) != len(depths):
        return [("embed_dims", "depths")]
    n = len(depths)
    p = []
    letters = layout.split("-") if isinstance(layout, str) else layout
    if not is_seq(letters) or len(letters) != n or any(t not in ("C", "T") for t in letters):
        return [("layout",)]
    img = c["img_size"]
    p += pair_problems(img, "img_size")
    if not p and any(s % 2 ** (n + 1) for s in ((img, img) if pos_int(img) else img)):
        p.append(("img_size",))
    for k in ("in_chans", "stem_width"):
        if not pos_int(c[k]):
            p.append((k,))
    p += [("depths",) for d in depths if not pos_int(d)]
    if not pos_int(c["num_classes"], 0):
        p.append(("num_classes",))
    hidden = c["head_hidden_size"]
    if hidden is not None and not pos_int(hidden, 0):
        p.append(("head_hidden_size",))
    in_chs = c["stem_width"]
    for t, d in zip(letters, dims):
        if not pos_int(d):
            p.append(("embed_dims",))
        elif t == "C":
            p += mbconv_problems(in_chs, d, 2, c["expand_ratio"], c["se_ratio"], c["stride_mode"])
        else:
            p += transformer_block_problems(in_chs, d, 2, c["dim_head"], c["expand_ratio"])
        in_chs = d
    return p


@fast(200)
@given(
    cfg=coatnet_config(),
    HW=mostly([(32, 32), (64, 64), (64, 96), (96, 32)], [(0, 0), (48, 64), (16, 16)]),
    B=st.sampled_from([1, 2, 0]),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_coatnet(cfg, HW, B, extra_channels, rank):
    model = outcome(lambda: CoAtNet(**cfg).eval(), coatnet_problems(cfg))
    if model is None:
        return
    H, W = HW
    x = image_tensor(B, cfg["in_chans"] + extra_channels, H, W, rank)
    p = [] if rank == 4 and not extra_channels else [SHAPE]
    stride = 2 ** (len(cfg["depths"]) + 1)
    if not p and (H % stride or W % stride):
        p.append(("stride",))
    if not p and 0 in (H, W):
        p.append(EMPTY)
    res = outcome(lambda: model.forward_features(x, return_stages=True), p)
    if res is None:
        return
    last, stages = res
    widths = (cfg["stem_width"], *cfg["embed_dims"])
    want = [(B, w, H // 2 ** (i + 1), W // 2 ** (i + 1)) for i, w in enumerate(widths)]
    assert [tuple(s.shape) for s in stages] == want
    hidden = cfg["head_hidden_size"]
    features = widths[-1] if hidden is None else (hidden or widths[-1])
    assert model.head(last).shape == (B, cfg["num_classes"] or features)


# --- Shunted --------------------------------------------------------------------------------------


def shunted_problems(dim, num_heads, sr_ratio):
    p = sra_problems(dim, num_heads, sr_ratio, False)
    if pos_int(sr_ratio) and sr_ratio > 1:
        if sr_ratio % 2:
            p.append(("sr_ratio",))
        if pos_int(num_heads) and num_heads % 2:
            p.append(("num_heads",))
    return p


@fast(300)
@given(
    dim=mostly([2, 4, 6, 8, 12, 16], BAD_INT),
    num_heads=mostly([1, 2, 4, 3], BAD_INT),
    sr_ratio=mostly([1, 1, 2, 4, 8, 3], BAD_INT),
    qkv_bias=st.booleans(),
    H=mostly([1, 2, 3, 4, 5, 8], BAD_INT),
    W=mostly([1, 2, 4, 6, 7], BAD_INT),
    B=st.sampled_from([1, 2, 0]),
    extra_tokens=mostly([0], [-1, 1]),
    extra_channels=mostly([0], [-1, 1]),
    rank=mostly([3], [2, 4]),
)
def test_shunted_attention(
    dim, num_heads, sr_ratio, qkv_bias, H, W, B, extra_tokens, extra_channels, rank
):
    attn = outcome(
        lambda: ShuntedAttention(dim, num_heads, qkv_bias=qkv_bias, sr_ratio=sr_ratio).eval(),
        shunted_problems(dim, num_heads, sr_ratio),
    )
    if attn is None:
        return
    n_grid = token_count(H, W)
    x = tokens_tensor(B, max(n_grid + extra_tokens, 0), dim + extra_channels, rank)
    p = grid_problems(H, W)
    if rank != 3:
        p.append(SHAPE)
    if extra_tokens:
        p.append(("tokens",))
    if extra_channels:
        p.append(("channels", "dim="))
    if not p:
        p = sra_grid_problems(H, W, sr_ratio, False)
    out = outcome(lambda: attn(x, H, W), p)
    if out is not None:
        assert out.shape == x.shape


@st.composite
def shunted_config(draw):
    n = draw(st.integers(1, 4))
    dims = tuple(draw(st.sampled_from([4, 8, 12])) for _ in range(n))
    sr_ratios = tuple(draw(st.sampled_from([1, 2, 4, 8])) for _ in range(n))
    heads = tuple(
        draw(st.sampled_from([h for h in (1, 2, 4) if d % h == 0 and (r == 1 or h % 2 == 0)]))
        for d, r in zip(dims, sr_ratios)
    )
    cfg = dict(
        img_size=draw(st.sampled_from([32, 64, 1])),
        in_chans=draw(st.sampled_from([3, 1])),
        num_classes=draw(st.sampled_from([0, 3])),
        embed_dims=dims,
        num_heads=heads,
        mlp_ratios=tuple(draw(st.sampled_from([1, 2, 0.5])) for _ in range(n)),
        depths=(1,) * n,
        sr_ratios=sr_ratios,
        num_stages=n,
        num_conv=draw(st.sampled_from([0, 1])),
    )
    bad = dict(
        img_size=BAD_INT,
        in_chans=BAD_INT,
        num_classes=[-1, 2.0, True],
        embed_dims=bad_stages(BAD_INT),
        num_heads=bad_stages([*BAD_INT, 3]),
        mlp_ratios=bad_stages([*BAD_RATIO, 0.01]),
        depths=bad_stages(BAD_INT),
        sr_ratios=bad_stages([*BAD_INT, 3, 16]),
        num_stages=[0, -1, 2.0, True, n + 1],
        num_conv=[-1, 1.0, True],
    )
    return draw(spoil(cfg, bad))


def shunted_model_problems(c):
    n = c["num_stages"]
    p = [(k,) for k in ("num_stages", "img_size") if not pos_int(c[k])]
    if not pos_int(c["num_classes"], 0):
        p.append(("num_classes",))
    if not pos_int(n):
        return p
    lists = ("embed_dims", "num_heads", "mlp_ratios", "depths", "sr_ratios")
    bad_lists = [(k,) for k in lists if not is_seq(c[k]) or len(c[k]) != n]
    if bad_lists:
        return p + bad_lists
    for i in range(n):
        d, r = c["embed_dims"][i], c["mlp_ratios"][i]
        if not pos_int(c["depths"][i]):
            p.append(("depth",))
        p += shunted_problems(d, c["num_heads"][i], c["sr_ratios"][i])
        if not pos_num(r) or (pos_int(d) and int(d * r) < 1):
            p.append(("mlp_ratio",))
    if not pos_int(c["num_conv"], 0):
        p.append(("num_conv",))
    if not pos_int(c["in_chans"]):
        p.append(("in_chans",))
    return p


def shunted_stage_grids(num_stages, H, W):
    """Each stage's token grid for an ``H x W`` image (the stem: conv 7/2, conv 2/2; then
    conv 3/2 with padding 1 per stage)."""
    H, W = ((H - 1) // 2 + 1) // 2, ((W - 1) // 2 + 1) // 2
    grids = [(H, W)]
    for _ in range(num_stages - 1):
        H, W = (H - 1) // 2 + 1, (W - 1) // 2 + 1
        grids.append((H, W))
    return grids


@fast(200)
@given(
    cfg=shunted_config(),
    HW=mostly(IMAGES, SMALL_IMAGES, 3),
    B=st.sampled_from([1, 2, 0]),
    extra_channels=mostly([0], [1, -1]),
    rank=mostly([4], [3, 5]),
)
def test_shunted_transformer(cfg, HW, B, extra_channels, rank):
    model = outcome(lambda: ShuntedTransformer(**cfg).eval(), shunted_model_problems(cfg))
    if model is None:
        return
    H, W = HW
    x = image_tensor(B, cfg["in_chans"] + extra_channels, H, W, rank)
    p = [] if rank == 4 and not extra_channels else [SHAPE]
    grids = shunted_stage_grids(cfg["num_stages"], H, W)
    if not p and min(H, W) < 4:
        p.append(("stem",))
    if not p:
        for (h, w), r in zip(grids, cfg["sr_ratios"]):
            if min(h, w) < r:
                p.append(("sr_ratio",))
                break
    res = outcome(lambda: model.forward_features(x, return_stages=True), p)
    if res is None:
        return
    pooled, stages = res
    dims = cfg["embed_dims"]
    assert [tuple(s.shape) for s in stages] == [(B, d, h, w) for d, (h, w) in zip(dims, grids)]
    assert model.head(pooled).shape == (B, cfg["num_classes"] or dims[-1])


# --- analytic costs: they accept exactly what their module accepts --------------------------------


def check_cost(cost):
    fields = [getattr(cost, k) for k in cost.__dataclass_fields__]
    assert all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in fields), cost


GRID = mostly([1, 2, 3, 4, 7, 8], BAD_INT)


@fast(400)
@given(
    H=GRID,
    W=GRID,
    dim=mostly([1, 4, 8, 12], BAD_INT),
    num_heads=mostly([1, 2, 3, 4], BAD_INT),
    sr_ratio=mostly([1, 2, 3, 4, 8], BAD_INT),
    linear=st.booleans(),
)
def test_sra_cost(H, W, dim, num_heads, sr_ratio, linear):
    p = sra_problems(dim, num_heads, sr_ratio, linear) + sra_grid_problems(H, W, sr_ratio, linear)
    cost = outcome(lambda: sra_cost(H, W, dim, num_heads, sr_ratio, linear=linear), p)
    if cost is not None:
        assert isinstance(cost, AttentionCost) and cost.tokens == H * W
        check_cost(cost)


@fast(400)
@given(
    H=GRID,
    W=GRID,
    dim=mostly([2, 4, 8, 12], BAD_INT),
    num_heads=mostly([1, 2, 3, 4], BAD_INT),
    sr_ratio=mostly([1, 2, 3, 4, 8], BAD_INT),
)
def test_shunted_cost(H, W, dim, num_heads, sr_ratio):
    p = shunted_problems(dim, num_heads, sr_ratio) + sra_grid_problems(H, W, sr_ratio, False)
    cost = outcome(lambda: shunted_cost(H, W, dim, num_heads, sr_ratio), p)
    if cost is not None:
        assert isinstance(cost, AttentionCost) and cost.tokens == H * W
        check_cost(cost)


@fast(400)
@given(
    H=GRID,
    W=GRID,
    dim=mostly([4, 8, 12], BAD_INT),
    dim_out=mostly([None, 8, 4, 6], [0, -8, 8.0]),
    num_heads=mostly([1, 2, 4, 3], BAD_INT),
)
def test_relative_attention_cost(H, W, dim, dim_out, num_heads):
    p = relative_attention_problems(dim, dim_out, num_heads) + grid_problems(H, W)
    cost = outcome(lambda: relative_attention_cost(H, W, dim, num_heads, dim_out), p)
    if cost is not None:
        assert isinstance(cost, AttentionCost) and cost.tokens == H * W
        check_cost(cost)


@fast(400)
@given(
    H=GRID,
    W=GRID,
    in_chs=mostly([4, 8, 16], BAD_INT),
    out_chs=mostly([4, 8, 16], BAD_INT),
    stride=mostly([1, 2], [0, 3, 2.0, True]),
    expand_ratio=mostly([4.0, 1, 0.5], BAD_RATIO),
    se_ratio=mostly([0.25, 0.5, 1], [*BAD_RATIO, 1.5, 0.01]),
    stride_mode=mostly(["1x1", "dw"], ["pool", "", 1]),
)
def test_mbconv_cost(H, W, in_chs, out_chs, stride, expand_ratio, se_ratio, stride_mode):
    args = (in_chs, out_chs, stride, expand_ratio, se_ratio, stride_mode)
    p = mbconv_problems(*args) + grid_problems(H, W) + even_problems(H, W, stride)
    cost = outcome(lambda: mbconv_cost(H, W, *args), p)
    if cost is not None:
        assert isinstance(cost, BlockCost)
        check_cost(cost)


@fast(400)
@given(
    H=GRID,
    W=GRID,
    dim=mostly([4, 8, 16], BAD_INT),
    dim_out=mostly([None, 8, 16], [0, -8, 8.0]),
    stride=mostly([1, 2], [0, 3, 2.0, True]),
    dim_head=mostly([4, 8, 2], [*BAD_INT, 3]),
    expand_ratio=mostly([4.0, 1, 0.5], [*BAD_RATIO, 0.01]),
)
def test_transformer_block_cost(H, W, dim, dim_out, stride, dim_head, expand_ratio):
    args = (dim, dim_out, stride, dim_head, expand_ratio)
    p = transformer_block_problems(*args) + grid_problems(H, W) + even_problems(H, W, stride)
    cost = outcome(lambda: transformer_block_cost(H, W, *args), p)
    if cost is not None:
        assert isinstance(cost, BlockCost)
        check_cost(cost)


COATNET_DEFAULTS = {k: v.default for k, v in inspect.signature(CoAtNet).parameters.items()}


@fast(300)
@given(
    name=mostly(["coatnet_0", "coatnet_2"], ["coatnet_9", "", 0, None, ["coatnet_0"]], 3),
    img_size=mostly([32, 64, 96], [0, -32, 48, 64.0, True, (64, 64), None]),
    overrides=mostly(
        [
            {},
            dict(layout="C-T-T-T"),
            dict(stride_mode="dw"),
            dict(embed_dims=(8, 16, 32), depths=(1, 1, 1), layout="C-C-T", stem_width=8),
        ],
        [
            dict(layout="C-X-T-T"),
            dict(layout=5),
            dict(layout="C-T"),
            dict(dim_head=0),
            dict(dim_head=-32),
            dict(dim_head=5),
            dict(depths=(1, 0, 1, 1)),
            dict(depths=(1, 1.0, 1, 1)),
            dict(embed_dims=(8, 0, 32, 32)),
            dict(embed_dims=(8, 16, 32)),
            dict(embed_dims=32),
            dict(stem_width=0),
            dict(in_chans=0),
            dict(num_classes=-1),
            dict(expand_ratio=0),
            dict(se_ratio=0.001),
            dict(head_hidden_size=-1),
            dict(stride_mode="pool"),
        ],
        3,
    ),
)
def test_coatnet_cost(name, img_size, overrides):
    if not (isinstance(name, str) and name in vit_notes.coatnet.CONFIGS):
        p = [("name",)]
    else:
        cfg = {**COATNET_DEFAULTS, **vit_notes.coatnet.CONFIGS[name], **overrides}
        cfg["img_size"] = img_size
        p = coatnet_problems(cfg)
        if not pos_int(img_size):  # the cost takes a square size only
            p.append(("img_size",))
    costs = outcome(lambda: coatnet_cost(name, img_size, **overrides), p)
    if costs is None:
        return
    n = len(overrides.get("depths", (1,) * 4))
    assert list(costs) == ["S0", *(f"S{i + 1}" for i in range(n)), "head", "total"]
    for c in costs.values():
        check_cost(c)
    assert costs["total"].macs == sum(c.macs for k, c in costs.items() if k != "total")


# --- create() -------------------------------------------------------------------------------------

#: Family -> overrides that make its variants tiny: each chapter registers its own
#: (``registry.Samples.overrides``).
TINY = {
    d.family: d.samples.overrides for d in vit_notes.registry.chapters() if d.samples is not None
}


@fast(60)
@given(
    name=mostly(vit_notes.list_models(), ["pvt_huge", "", 3, None, ("pvt_tiny",), ["pvt_tiny"]]),
    num_classes=mostly([0, 5], [-1, 2.0, True, None]),
    img_size=mostly([64], BAD_INT),
    B=st.sampled_from([1, 2]),
)
def test_create(name, num_classes, img_size, B):
    known = isinstance(name, str) and name in vit_notes.list_models()
    if not known:
        p = [("name",)]
        kwargs = {}
    else:
        family = vit_notes.model_info(name).family
        kwargs = dict(TINY[family], num_classes=num_classes, img_size=img_size)
        p = [("num_classes",)] if not pos_int(num_classes, 0) else []
        if not pos_int(img_size):
            p.append(("img_size",))
        elif family == "coatnet" and img_size % 32:
            p.append(("img_size",))
    model = outcome(lambda: vit_notes.create(name, **kwargs).eval(), p)
    if model is None:
        return
    x = torch.randn(B, 3, 64, 64)
    out = outcome(lambda: model(x), [])
    width = 16 if vit_notes.model_info(name).family == "coatnet" else 8
    assert out.shape == (B, num_classes or width)
    assert math.isfinite(out.abs().sum().item())


# --- Swin -----------------------------------------------------------------------------------------


def swin_problems(dim, num_heads, H, W, window_size, shift_size):
    """What is wrong with a window-attention layer of these settings on an ``H x W`` grid."""
    p = []
    if not pos_int(dim):
        p.append(DIM)
    if not pos_int(num_heads) or (pos_int(dim) and dim % num_heads):
        p.append(("num_heads",))
    for name, v in (("H", H), ("W", W)):
        if not pos_int(v):
            p.append((f"{name} must", f"{name}=", "input_resolution"))
    if not pos_int(window_size):
        return p + [("window_size",)]
    if not pos_int(shift_size, 0) or shift_size >= window_size:
        p.append(("shift_size",))
    if pos_int(H) and pos_int(W):
        M = layer_window(H, W, window_size)
        if H % M or W % M:
            p.append(("window_size",))
    return p


@fast(300)
@given(
    dim=mostly([2, 4, 6, 8, 12], BAD_INT),
    num_heads=mostly([1, 2, 3, 4], BAD_INT),
    H=mostly([1, 2, 4, 6, 7, 8, 14], BAD_INT),
    W=mostly([1, 2, 4, 6, 7, 8, 14], BAD_INT),
    window_size=mostly([1, 2, 3, 4, 7], BAD_INT),
    shift_size=mostly([0, 1, 2, 3], [-1, 7, 1.0, True, None]),
    B=st.sampled_from([1, 2, 0]),
    extra_tokens=mostly([0], [-1, 1]),
    extra_channels=mostly([0], [-1, 1]),
)
def test_window_attention(
    dim, num_heads, H, W, window_size, shift_size, B, extra_tokens, extra_channels
):
    # The layer (W-MSA, or SW-MSA with its mask) and eq. (2)'s cost accept the same settings.
    p = swin_problems(dim, num_heads, H, W, window_size, shift_size)
    layer = outcome(
        lambda: GridWindowAttention(dim, (H, W), num_heads, window_size, shift_size).eval(), p
    )
    cost_p = [q for q in p if q != ("shift_size",)]
    cost = outcome(lambda: window_attention_cost(H, W, dim, num_heads, window_size), cost_p)
    if cost is not None:
        assert cost.tokens == H * W and cost.kv_tokens == layer_window(H, W, window_size) ** 2
        check_cost(cost)
    if layer is None:
        return
    x = tokens_tensor(B, max(H * W + extra_tokens, 0), dim + extra_channels, 3)
    q = []
    if extra_tokens:
        q.append(("tokens",))
    if extra_channels:
        q.append(("channels", "dim="))
    out = outcome(lambda: layer(x, H, W), q)
    if out is not None:
        assert out.shape == x.shape


def layer_window(H, W, window_size):
    return min(H, W) if min(H, W) <= window_size else window_size


@fast(60)
@given(
    img_size=mostly([28, 56, 112, 224], [*BAD_INT, 30, 100]),
    window_size=mostly([1, 2, 7], [0, -1, 2.0, 3]),
    embed_dim=mostly([4, 8], BAD_INT),
    B=st.sampled_from([1, 2]),
)
def test_swin_transformer(img_size, window_size, embed_dim, B):
    # Every image size the official code can run is accepted; every other one is refused by
    # name, up front (size_problem says why), never by a shape error from inside torch.
    cfg = dict(
        img_size=img_size, window_size=window_size, embed_dim=embed_dim,
        depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1), num_classes=3,
    )  # fmt: skip
    p = []
    if not pos_int(embed_dim):
        p.append(("embed_dim", "dim"))
    if not pos_int(img_size):
        p.append(("img_size",))
    if not pos_int(window_size):
        p.append(("window_size",))
    if not p and size_problem(img_size, 4, window_size, 4):
        p.append(("img_size",))
    model = outcome(lambda: SwinTransformer(**cfg).eval(), p)
    if model is not None:
        assert model(torch.randn(B, 3, img_size, img_size)).shape == (B, 3)

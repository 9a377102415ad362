"""CoAtNet: depthwise convolution and relative self-attention in one network.

Dai, Liu, Le and Tan, "CoAtNet: Marrying Convolution and Attention for All Data Sizes",
NeurIPS 2021.

* Relative attention (section "Merging Convolution and Self-Attention", the
  pre-normalisation form ``y_i^pre`` of Eqn. (3)): ``y_i = Σ_j softmax_j(x_iᵀ x_j + w_{i−j})
  x_j``; the static, input-independent convolution kernel ``w_{i−j}`` is *added to the
  logits* of input-dependent attention, one learned scalar per relative offset and head: a
  table of ``(2H−1)(2W−1)`` entries per head for an ``H x W`` map, in every transformer
  block: the paper shares none across layers (section "Related Work"). The paper's equations
  leave out the query, key and value projections (its footnote 2) and the ``1/√d`` scale;
  the modules have both, as timm's do.
* The network (section "Vertical Layout Design", the overview figure, the table of
  sizes): S0 a two-conv stem of stride 2, S1-S2 MBConv blocks, S3-S4 transformer blocks
  (the "C-C-T-T" layout), each stage halving the resolution; the first block of a stage
  down-samples (the appendix).

Module and parameter names follow timm's ``timm/models/maxxvit.py`` (``coatnet_0_224`` ...
``coatnet_3_224``), so its state dicts load into these models unchanged (tested); the code
is this book's own. Where timm departs from the paper's text, these modules follow timm:

* the MBConv's first 1x1 conv expands to 4x the block's *output* width (timm's
  ``expand_output=True``). The paper expands by 4x (Table 3's caption). Its one sentence on
  the rate (section "Merging Convolution and Self-Attention") "first expands the channel size
  of the input by 4x and later project the 4x-wide hidden state back to the original channel
  size": read literally, from the input width. But it describes a residual block, whose input
  and output widths are equal, so it does not settle a stage's first block;
* squeeze-excitation's hidden activation is SiLU (timm's ``attn_act_layer='silu'``); the
  appendix ("Pre-Activation") names GELU as the activation of the MBConv blocks;
* a down-sampling transformer block pools both branches with a 2x2 average, where the
  appendix ("Down-Sampling") names "the standard max pooling of stride 2";
* the classifier has a LayerNorm, timm's final norm (see :class:`ClassifierHead`), and a
  ``tanh`` pre-logits layer, timm's ``head_hidden_size``; the appendix ("Classification
  head") describes only global average pooling.

One thing these modules do that timm's do not: on a grid other than the one it was built for,
:class:`RelativePositionBias` resizes its table in every forward pass (bicubically). timm's
model raises a shape error on an image of another size unless
``model.set_input_size(img_size=...)`` is called first. That call resizes the stored table
once, in place, as ``maxxvit.checkpoint_filter_fn`` does when it loads a checkpoint into a
model of another size (``resize_rel_pos_bias_table``, BEiT's resampling). The paper's appendix
("2D Relative Attention") uses bi-linear interpolation when it fine-tunes at a higher
resolution.
Everything works on ``(B, C, H, W)`` feature maps, as the convolutions do.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import registry, validate
from ..attention import attend
from ..layers import DropPath, drop_path_rates, init_weights
from ..trace import STATE, log_shapes

#: Block types of a layout string: MBConv ("C") and relative-attention transformer ("T").
BLOCK_TYPES = {"C": "MBConv", "T": "transformer"}
STRIDE_MODES = {"1x1", "dw"}


def parse_layout(layout, num_stages: int = 4) -> tuple[str, ...]:
    """``"C-C-T-T"`` (or a sequence ``("C", "C", "T", "T")``) -> ``("C", "C", "T", "T")``.

    One letter per stage S1..S4; raises ``ValueError`` for an unknown letter or a wrong count."""
    num_stages = validate.stages("num_stages", num_stages)
    if not isinstance(layout, (str, list, tuple)):
        raise validate.InputTypeError(
            f"layout={validate.shown(layout)} must be a string such as 'C-C-T-T' or a sequence "
            "of 'C' and 'T'"
        )
    parts = tuple(layout.split("-")) if isinstance(layout, str) else tuple(layout)
    for p in parts:
        if not isinstance(p, str) or p not in BLOCK_TYPES:
            raise ValueError(
                f"unknown block type {validate.shown(p)} in layout {validate.shown(layout)}; "
                f"allowed: 'C' (MBConv) and 'T' (transformer), e.g. 'C-C-T-T'"
            )
    if len(parts) != num_stages:
        raise ValueError(
            f"layout {validate.shown(layout)} has {len(parts)} stages but the model has "
            f"{num_stages}; "
            f"give one letter per stage, e.g. {'-'.join('C' * 2 + 'T' * (num_stages - 2))!r}"
        )
    return parts


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (never more than 10% down), as
    EfficientNet does."""
    v = validate.number("v", v, low=0.0, low_open=True, high=validate.MAX_CHANNELS)
    divisor = validate.width("divisor", divisor)
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _pair(v, name: str) -> tuple[int, int]:
    """One side or a pair ``(H, W)``, each in ``[1, MAX_IMAGE]`` (:func:`validate.image_side`)."""
    if not validate._ordered(v):
        h = w = v  # one side: image_side refuses what is not an integer
    elif len(v) == 2:
        h, w = v
    else:
        raise ValueError(
            f"{name}={validate.shown(v)} must be one integer or a pair (H, W) of integers"
        )
    if h is w:
        return (validate.image_side(name, h),) * 2
    return validate.image_side(f"{name}[0]", h), validate.image_side(f"{name}[1]", w)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map."""

    def __init__(self, num_channels: int, eps: float = 1e-6):
        super().__init__(validate.width("num_channels", num_channels), eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(
            x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps
        )
        return x.permute(0, 3, 1, 2)


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm followed by an activation (GELU by default; ``act=False``: none), one module
    so the parameter names are those of a plain BatchNorm."""

    def __init__(self, num_features: int, act: bool = True, eps: float = 1e-5):
        super().__init__(validate.width("num_features", num_features), eps=eps)
        self.act = nn.GELU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class Downsample2d(nn.Module):
    """The shortcut of a down-sampling block (the paper's appendix): ``Proj(Pool(x))``, a 2x2
    average pool (``stride=2``) and a 1x1 conv when the width changes. Average pooling is
    timm's choice; the paper's appendix ("Down-Sampling") names max pooling of stride 2 for
    the transformer block."""

    def __init__(self, dim: int, dim_out: int, stride: int = 2, bias: bool = True):
        super().__init__()
        dim = validate.width("dim", dim)
        dim_out = validate.width("dim_out", dim_out)
        validate.one_of("stride", stride, {1, 2})
        self.pool = nn.AvgPool2d(2) if stride == 2 else nn.Identity()
        self.expand = nn.Conv2d(dim, dim_out, 1, bias=bias) if dim != dim_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.pool(x))


class SqueezeExcite(nn.Module):
    """Squeeze-excitation: channel gates ``sigmoid(fc2(SiLU(fc1(mean(x)))))`` (Hu et al. 2018).

    SiLU is timm's choice (``attn_act_layer='silu'``); the CoAtNet paper's appendix
    ("Pre-Activation") names GELU as the MBConv blocks' activation."""

    def __init__(self, channels: int, rd_channels: int):
        super().__init__()
        channels = validate.width("channels", channels)
        rd_channels = validate.width("rd_channels", rd_channels)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1)
        self.act = nn.SiLU()
        self.fc2 = nn.Conv2d(rd_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))).sigmoid()


def check_mbconv_ratios(out_chs: int, expand_ratio: float, se_ratio: float) -> tuple[float, float]:
    """``expand_ratio > 0``; ``se_ratio`` in (0, 1], leaving ``int(se_ratio · out_chs) >= 1``
    squeeze-excitation channels. Returns both as floats, to compute with (a NumPy uint8 ratio
    times a width would overflow)."""
    typed, expand_ratio = expand_ratio, validate.number("expand_ratio", expand_ratio)
    se_ratio = validate.number("se_ratio", se_ratio)
    if not expand_ratio > 0 or not 0 < se_ratio <= 1:
        raise ValueError(
            f"expand_ratio={expand_ratio!r} must be > 0 and se_ratio={se_ratio!r} in (0, 1]"
        )
    validate.hidden_width("expand_ratio", typed, out_chs)
    if int(se_ratio * out_chs) < 1:
        raise ValueError(
            f"se_ratio={se_ratio!r} leaves int(se_ratio * out_chs={out_chs}) = 0 "
            f"squeeze-excitation channels; use se_ratio >= 1/{out_chs}"
        )
    return expand_ratio, se_ratio


def check_expand_ratio(width: int, expand_ratio: float) -> float:
    """The transformer block's FFN: ``expand_ratio > 0`` leaving ``int(width · expand_ratio)
    >= 1`` hidden channels. Returns ``expand_ratio`` as a float, to compute with."""
    typed, expand_ratio = expand_ratio, validate.number("expand_ratio", expand_ratio)
    if expand_ratio > 0:
        validate.hidden_width("expand_ratio", typed, width)
    if not expand_ratio > 0 or int(width * expand_ratio) < 1:
        raise ValueError(
            f"expand_ratio={expand_ratio!r} must be > 0 and leave int(width * expand_ratio) >= 1 "
            f"hidden channels (width {width}); use expand_ratio >= 1/{width}"
        )
    return expand_ratio


class MBConv(nn.Module):
    """Pre-norm inverted-bottleneck block (CoAtNet, section "Vertical Layout Design";
    Sandler et al. 2018; Tan & Le 2019).

    ``x + Conv1x1(SE(DepthConv3x3(Conv1x1(Norm(x)))))``. A 1x1 conv expands to
    ``expand_ratio`` times the *output* width ``out_chs`` (timm's ``expand_output=True``; the
    paper's sentence, read literally, expands the input width, but it describes a block of
    equal widths and does not settle a stage's first block). A depthwise
    3x3 conv mixes each channel with its 3x3 neighbourhood: the *static* kernel ``w_{i−j}``.
    Squeeze-excitation with ``se_ratio · out_chs`` hidden channels reweights the channels, and a
    1x1 conv projects back.

    ``stride=2`` (first block of a stage): the shortcut becomes ``Proj(Pool(x))`` and the
    residual branch strides either in the first 1x1 conv (``stride_mode="1x1"``), or in the
    depthwise conv, as timm does (``"dw"``). The paper's appendix (Eqn. 5) strides in the
    branch's first conv and names no kernel size for it. We read it as the 1x1 expansion; the
    paper's Table 9 compares the two placements.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        stride: int = 1,
        expand_ratio: float = 4.0,
        se_ratio: float = 0.25,
        stride_mode: str = "1x1",
        drop_path: float = 0.0,
    ):
        super().__init__()
        in_chs = validate.width("in_chs", in_chs)
        out_chs = validate.width("out_chs", out_chs)
        validate.one_of("stride", stride, {1, 2})
        validate.one_of("stride_mode", stride_mode, STRIDE_MODES)
        expand_ratio, se_ratio = check_mbconv_ratios(out_chs, expand_ratio, se_ratio)
        mid = make_divisible(out_chs * expand_ratio)
        self.in_chs, self.out_chs, self.mid_chs, self.stride = in_chs, out_chs, mid, stride
        self.shortcut = (
            Downsample2d(in_chs, out_chs, stride)
            if (stride == 2 or in_chs != out_chs)
            else nn.Identity()
        )
        self.pre_norm = BatchNormAct2d(in_chs, act=False)
        self.down = nn.Identity()
        s1, s2 = (stride, 1) if stride_mode == "1x1" else (1, stride)
        self.conv1_1x1 = nn.Conv2d(in_chs, mid, 1, stride=s1, bias=False)
        self.norm1 = BatchNormAct2d(mid)
        self.conv2_kxk = nn.Conv2d(mid, mid, 3, stride=s2, padding=1, groups=mid, bias=False)
        self.norm2 = BatchNormAct2d(mid)
        self.se = SqueezeExcite(mid, int(se_ratio * out_chs))
        self.conv3_1x1 = nn.Conv2d(mid, out_chs, 1, bias=True)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.tensor(
            "x",
            x,
            dtype=self.conv1_1x1.weight.dtype,
            device=self.conv1_1x1.weight.device,
            what="a float map (B, C, H, W)",
        )
        if x.dim() != 4 or x.shape[1] != self.in_chs:
            raise ValueError(
                f"expected a map of shape (B, {self.in_chs}, H, W), got {tuple(x.shape)}"
            )
        validate.nonempty(x)
        if self.stride == 2 and (x.shape[2] % 2 or x.shape[3] % 2):
            raise ValueError(
                f"a stride-2 block needs an even map size, got {x.shape[2]}x{x.shape[3]}"
            )
        shortcut = self.shortcut(x)
        expand = self.norm1(self.conv1_1x1(self.down(self.pre_norm(x))))
        depthwise = self.norm2(self.conv2_kxk(expand))
        se = self.se(depthwise)
        out = self.conv3_1x1(se)
        if STATE.tracing:
            log_shapes(
                self,
                expand=expand,
                depthwise=depthwise,
                se_gate=(x.shape[0], self.mid_chs, 1, 1),
                project=out,
                shortcut=shortcut,
            )
        return self.drop_path(out) + shortcut


#: Grids of at most this many positions keep their index in a cache (32x32: 8 MiB of int64);
#: a larger grid's index is computed each time, since it grows as the fourth power of the
#: side (56x56, the stride-4 grid of a 224² image: 75 MiB) and a cache would hold it for good.
CACHED_INDEX_POSITIONS = 32 * 32


#: Positions of a relative-attention grid (64 x 64). Its bias is ``(heads, N, N)`` and its index
#: ``N x N`` int64: at 4,096 positions 128 MiB, at 16,384 (128 x 128) already 2 GiB. The largest
#: official grid is CoAtNet's stage S3 at 512 px, 32 x 32 = 1,024 positions.
MAX_POSITIONS = 64 * 64


def check_positions(H: int, W: int, what: str) -> None:
    """Refuse a relative-attention grid of more than :data:`MAX_POSITIONS` positions, naming
    ``what`` gave it. ``H`` and ``W`` are sides (:func:`~vit_notes.validate.image_side`: a NumPy
    integer is read as a Python int, so that ``H * W`` cannot overflow), ``what`` text; a bad
    one is a ``TypeError`` or ``ValueError`` that names it. A guard, not a checker: the
    constructors and index builders that call it rely on its raising."""
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    what = validate.text("what", what)
    if H * W > MAX_POSITIONS:
        raise ValueError(
            f"{what} gives relative attention a {H}x{W} grid of {H * W:,} positions; it allows at "
            f"most {MAX_POSITIONS:,} (a 64x64 grid), since its index is N x N: use a smaller image "
            "or an MBConv stage ('C') there"
        )


def relative_position_index(H: int, W: int) -> torch.Tensor:
    """``(HW, HW)`` table index of the offset ``i − j`` between every pair of positions.

    With ``i = (y_i, x_i)``: ``(y_i − y_j + H − 1) · (2W − 1) + (x_i − x_j + W − 1)``, a
    number in ``[0, (2H−1)(2W−1))``; equal offsets share an entry (translation equivariance).
    Small grids' indices are cached (:data:`CACHED_INDEX_POSITIONS`); every call returns a
    copy, so that changing the result in place cannot change the cache.
    """
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    check_positions(H, W, f"H={H}, W={W}")
    if H * W <= CACHED_INDEX_POSITIONS:
        return _cached_index(H, W).clone()
    return _index(H, W)


@lru_cache(maxsize=16)
def _cached_index(H: int, W: int) -> torch.Tensor:
    return _index(H, W)


def _index(H: int, W: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(H, device="cpu"), torch.arange(W, device="cpu"), indexing="ij"
    )
    coords = torch.stack((ys.flatten(), xs.flatten()))  # (2, N)
    rel = coords[:, :, None] - coords[:, None, :]  # (2, N, N): i − j
    return (rel[0] + H - 1) * (2 * W - 1) + rel[1] + W - 1


class RelativePositionBias(nn.Module):
    """The learned ``w_{i−j}`` of CoAtNet's relative attention: a table of ``(2H−1)(2W−1)``
    scalars per head, gathered into a ``(heads, N, N)`` bias for the logits.

    Built for an ``H x W`` grid (``grid_size``); on another grid the table, seen as a
    ``(2H−1) x (2W−1)`` image per head, is resized to ``(2H'−1) x (2W'−1)`` bicubically, in the
    forward pass, every time. timm's ``RelPosBias`` adds a bias of the size it was built for, so
    its model raises a shape error on another image size. It resizes its stored table once, in
    place, when ``model.set_input_size(img_size=...)`` is called
    (``RelPosBias.set_window_size``) or when a checkpoint is loaded into a model of another
    size (``checkpoint_filter_fn``). Both use ``resize_rel_pos_bias_table``, BEiT's resampling
    on a geometric grid. The paper's appendix ("2D Relative Attention") resizes bi-linearly
    when it fine-tunes at a higher resolution.
    """

    def __init__(self, grid_size, num_heads: int):
        super().__init__()
        self.grid_size = _pair(grid_size, "grid_size")
        self.num_heads = validate.width("num_heads", num_heads)
        H, W = self.grid_size
        check_positions(H, W, f"grid_size={self.grid_size}")
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * H - 1) * (2 * W - 1), num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer(
            "relative_position_index",
            relative_position_index(H, W).flatten().clone(),
            persistent=False,
        )

    def table(self, H: int | None = None, W: int | None = None) -> torch.Tensor:
        """The table as images, ``(heads, 2H−1, 2W−1)``, resized for an ``H x W`` grid if needed."""
        H0, W0 = self.grid_size
        t = rearrange(self.relative_position_bias_table, "(a b) h -> h a b", a=2 * H0 - 1)
        H, W = H or H0, W or W0
        if (H, W) != (H0, W0):
            t = F.interpolate(
                t[None], size=(2 * H - 1, 2 * W - 1), mode="bicubic", align_corners=True
            )[0]
        return t

    def forward(self, H: int, W: int) -> torch.Tensor:
        """The bias ``(heads, HW, HW)``: entry ``[h, i, j] = table[h, i − j]``."""
        if (H, W) == self.grid_size:
            flat, index = self.relative_position_bias_table.t(), self.relative_position_index
        else:
            flat = self.table(H, W).flatten(1)
            index = relative_position_index(H, W).flatten().to(flat.device)
        return flat[:, index].view(self.num_heads, H * W, H * W)


class RelativeAttention(nn.Module):
    """Multi-head self-attention with a 2-D relative position bias (CoAtNet's relative attention).

    On a ``(B, C, H, W)`` map: a 1x1 conv gives q, k, v (``num_heads`` heads; channels ordered
    head, then q/k/v, then head channel, as in timm), the logits are ``q kᵀ/√d + w_{i−j}``
    with ``w`` from :class:`RelativePositionBias`, and a 1x1 conv projects the heads'
    outputs. ``dim_out`` (default ``dim``) is the width of q, k, v and the output (the first
    block of a stage widens the map here). The bias goes to the fused SDPA kernel as its
    additive ``attn_mask``; under :func:`~vit_notes.trace.record_attention` the explicit map is
    kept.
    """

    def __init__(
        self,
        dim: int,
        dim_out: int | None = None,
        num_heads: int = 8,
        grid_size=(14, 14),
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ):
        super().__init__()
        dim = validate.attention_width("dim", dim)
        dim_out = dim if dim_out is None else validate.attention_width("dim_out", dim_out)
        head_dim = validate.heads_divide(dim_out, num_heads)
        self.dim, self.dim_out, self.num_heads, self.head_dim = dim, dim_out, num_heads, head_dim
        self.scale = head_dim**-0.5
        self.qkv = nn.Conv2d(dim, dim_out * 3, 1, bias=validate.flag("qkv_bias", qkv_bias))
        self.rel_pos = RelativePositionBias(grid_size, num_heads)
        self.attn_drop = nn.Dropout(validate.attention_dropout("attn_drop", attn_drop))
        self.proj = nn.Conv2d(dim_out, dim_out, 1, bias=qkv_bias)
        self.proj_drop = nn.Dropout(validate.probability("proj_drop", proj_drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.tensor(
            "x",
            x,
            dtype=self.qkv.weight.dtype,
            device=self.qkv.weight.device,
            what="a float map (B, C, H, W)",
        )
        if x.dim() != 4 or x.shape[1] != self.dim:
            raise ValueError(f"expected a map of shape (B, {self.dim}, H, W), got {tuple(x.shape)}")
        validate.nonempty(x)
        B, _, H, W = x.shape
        qkv = self.qkv(x)
        q, k, v = rearrange(
            qkv, "b (h three d) y x -> three b h (y x) d", h=self.num_heads, three=3
        ).unbind(0)
        bias = self.rel_pos(H, W)
        if STATE.tracing:
            log_shapes(self, qkv=qkv, q=q, index=(H * W, H * W), bias=bias)
        out = attend(
            self,
            q,
            k,
            v,
            scale=self.scale,
            bias=bias.unsqueeze(0).to(q.dtype),
            kv_grid=(H, W),
            dropout_p=self.attn_drop.p if self.training else 0.0,
        )
        out = self.proj_drop(self.proj(rearrange(out, "b h (y x) d -> b (h d) y x", y=H)))
        if STATE.tracing:
            log_shapes(self, output=out)
        return out


class ConvMlp(nn.Module):
    """The transformer block's feed-forward as 1x1 convs: fc1, GELU, fc2."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        dim = validate.width("dim", dim)
        hidden = validate.width("hidden", hidden)
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = nn.GELU()
        self.drop = nn.Dropout(validate.probability("drop", drop))
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(self.act(self.fc1(x))))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block with relative attention on a 2-D map (CoAtNet, section
    "Vertical Layout Design").

    ``x + RelAttn(LN(x))`` then ``x + FFN(LN(x))`` (FFN expansion 4). With ``stride=2``
    (the paper's appendix): ``Proj(Pool(x)) + Attention(Pool(Norm(x)))`` — the 2x2 pool comes
    before attention, so attention runs on the smaller grid. ``grid_size`` is the grid the
    relative table is built for (the block's output grid).
    """

    def __init__(
        self,
        dim: int,
        dim_out: int | None = None,
        stride: int = 1,
        grid_size=(14, 14),
        dim_head: int = 32,
        expand_ratio: float = 4.0,
        drop: float = 0.0,
        drop_path: float = 0.0,
    ):
        super().__init__()
        drop = validate.attention_dropout("drop", drop)  # it is also the attention's dropout
        dim = validate.attention_width("dim", dim)
        dim_out = dim if dim_out is None else validate.attention_width("dim_out", dim_out)
        validate.one_of("stride", stride, {1, 2})
        dim_head = validate.width("dim_head", dim_head)
        if dim_out % dim_head:
            raise ValueError(
                f"width {dim_out} is not divisible by the head size dim_head={dim_head}; "
                f"use a width that is a multiple of {dim_head} or a dim_head from "
                f"{validate.divisors(dim_out)}"
            )
        expand_ratio = check_expand_ratio(dim_out, expand_ratio)
        self.dim, self.stride = dim, stride
        if stride == 2:
            self.shortcut = Downsample2d(dim, dim_out, 2)
            self.norm1 = nn.Sequential()
            self.norm1.add_module("norm", LayerNorm2d(dim))
            self.norm1.add_module("down", Downsample2d(dim, dim, 2))
        else:
            self.shortcut = Downsample2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()
            self.norm1 = LayerNorm2d(dim)
        self.attn = RelativeAttention(
            dim,
            dim_out,
            num_heads=dim_out // dim_head,
            grid_size=grid_size,
            attn_drop=drop,
            proj_drop=drop,
        )
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = LayerNorm2d(dim_out)
        self.mlp = ConvMlp(dim_out, int(dim_out * expand_ratio), drop)
        self.drop_path2 = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.tensor(
            "x",
            x,
            dtype=self.attn.qkv.weight.dtype,
            device=self.attn.qkv.weight.device,
            what="a float map (B, C, H, W)",
        )
        if self.stride == 2 and (x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2):
            raise ValueError(
                f"a stride-2 block needs a (B, C, H, W) map of even size, got {tuple(x.shape)}"
            )
        if x.dim() != 4 or x.shape[1] != self.dim:
            raise ValueError(f"expected a map of shape (B, {self.dim}, H, W), got {tuple(x.shape)}")
        validate.nonempty(x)
        x = self.shortcut(x) + self.drop_path1(self.attn(self.norm1(x)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))


class Stem(nn.Module):
    """S0: conv 3x3 stride 2, BatchNorm + GELU, conv 3x3 (the paper's two-layer stem, L0 = 2)."""

    def __init__(self, in_chans: int, out_chs: int):
        super().__init__()
        in_chans = validate.width("in_chans", in_chans)
        out_chs = validate.width("out_chs", out_chs)
        self.conv1 = nn.Conv2d(in_chans, out_chs, 3, stride=2, padding=1, bias=False)
        self.norm1 = BatchNormAct2d(out_chs)
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.norm1(self.conv1(x)))


class Stage(nn.Module):
    """``depth`` blocks of one type; the first halves the resolution and sets the width."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        depth: int,
        block_type: str,
        grid_size,
        dim_head: int = 32,
        expand_ratio: float = 4.0,
        se_ratio: float = 0.25,
        stride_mode: str = "1x1",
        drop_path=0.0,
    ):
        super().__init__()
        validate.one_of("block_type", block_type, BLOCK_TYPES)
        depth = validate.depth("depth", depth)
        dp = drop_path if isinstance(drop_path, (list, tuple)) else [drop_path] * depth
        blocks = []
        for i in range(depth):
            stride, dim = (2, in_chs) if i == 0 else (1, out_chs)
            if block_type == "C":
                blocks.append(
                    MBConv(
                        dim,
                        out_chs,
                        stride=stride,
                        expand_ratio=expand_ratio,
                        se_ratio=se_ratio,
                        stride_mode=stride_mode,
                        drop_path=dp[i],
                    )
                )
            else:
                blocks.append(
                    TransformerBlock(
                        dim,
                        out_chs,
                        stride=stride,
                        grid_size=grid_size,
                        dim_head=dim_head,
                        expand_ratio=expand_ratio,
                        drop_path=dp[i],
                    )
                )
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ClassifierHead(nn.Module):
    """Average pool, LayerNorm, a ``tanh`` pre-logits layer (when ``hidden_size``), linear
    classifier. The LayerNorm and the pre-logits layer are timm's; the paper's appendix
    ("Classification head") describes only the global average pooling. With ``hidden_size``
    0 the LayerNorm stays after the pooling; timm's model without ``head_hidden_size`` applies
    it before."""

    def __init__(
        self, dim: int, num_classes: int, hidden_size: int | None = None, drop: float = 0.0
    ):
        super().__init__()
        dim = validate.width("dim", dim)
        num_classes = validate.classes("num_classes", num_classes)
        if hidden_size is not None:
            hidden_size = validate.width("hidden_size", hidden_size, minimum=0)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        if hidden_size:
            self.pre_logits = nn.Sequential()
            self.pre_logits.add_module("fc", nn.Linear(dim, hidden_size))
            self.pre_logits.add_module("act", nn.Tanh())
        else:
            self.pre_logits = nn.Identity()
        self.drop = nn.Dropout(validate.probability("drop", drop))
        self.fc = nn.Linear(hidden_size or dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pre_logits(self.norm(x.mean((2, 3))))
        return x if pre_logits else self.fc(self.drop(x))


class CoAtNet(nn.Module):
    """CoAtNet (Dai et al. 2021, the overview figure and the table of sizes): stem S0, then
    four stages S1-S4 whose block types follow ``layout`` (the paper's "C-C-T-T"), each
    halving the resolution: 1/2, 1/4, 1/8, 1/16, 1/32 of the image (112, 56, 28, 14, 7 at 224²).

    ``stem_width`` and ``embed_dims`` are the paper's D0 and D1..D4, ``depths`` L1..L4;
    ``dim_head`` the attention head size (32: heads = width / 32); ``stride_mode`` where an
    MBConv strides ("1x1": our reading of the appendix's first conv, "dw": timm);
    ``head_hidden_size`` the width of the
    ``tanh`` pre-logits layer of timm's "paper-like" configs (0: none). ``img_size`` sets the
    grids the relative tables are built for; other sizes (multiples of 32) interpolate them in
    the forward pass, which timm's model does not (see :class:`RelativePositionBias`).
    """

    def __init__(
        self,
        img_size=224,
        in_chans: int = 3,
        num_classes: int = 1000,
        stem_width: int = 64,
        embed_dims=(96, 192, 384, 768),
        depths=(2, 3, 5, 2),
        layout="C-C-T-T",
        dim_head: int = 32,
        expand_ratio: float = 4.0,
        se_ratio: float = 0.25,
        stride_mode: str = "1x1",
        head_hidden_size: int | None = None,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
    ):
        super().__init__()
        drop_rate = validate.probability("drop_rate", drop_rate)
        validate.sequence("embed_dims", embed_dims)
        validate.sequence("depths", depths)
        validate.stages("len(depths)", len(depths))
        if len(embed_dims) != len(depths):
            raise ValueError(
                f"embed_dims has {len(embed_dims)} entries but depths has {len(depths)}"
            )
        self.layout = parse_layout(layout, len(depths))
        self.img_size = _pair(img_size, "img_size")
        self.stride = 2 ** (len(depths) + 1)
        for s in self.img_size:
            if s % self.stride:
                raise ValueError(
                    f"img_size={img_size} is not divisible by the total stride {self.stride}; "
                    f"use a multiple of {self.stride}"
                )
        in_chans = validate.width("in_chans", in_chans)
        stem_width = validate.width("stem_width", stem_width)
        for i, d in enumerate(depths):
            validate.depth(f"depths[{i}]", d)
        num_classes = validate.classes("num_classes", num_classes)
        if head_hidden_size is not None:
            head_hidden_size = validate.width("head_hidden_size", head_hidden_size, minimum=0)
        for i, (t, d) in enumerate(zip(self.layout, embed_dims)):
            validate.width(f"embed_dims[{i}]", d)
            if t == "T":
                side = (self.img_size[0] >> (i + 2), self.img_size[1] >> (i + 2))
                check_positions(*side, f"img_size={img_size} (stage S{i + 1}'s grid)")
            if t == "T" and d % validate.width("dim_head", dim_head):
                raise ValueError(
                    f"embed_dims[{i}]={d} (stage S{i + 1}, a transformer stage) is not divisible "
                    f"by dim_head={dim_head}; use a multiple of {dim_head}"
                )
        self.depths, self.embed_dims, self.num_classes = (
            tuple(depths),
            tuple(embed_dims),
            num_classes,
        )
        self.stem = Stem(in_chans, stem_width)
        dpr = drop_path_rates(drop_path_rate, depths)
        H, W = self.img_size[0] // 2, self.img_size[1] // 2
        stages, in_chs = [], stem_width
        for i, (t, d, L) in enumerate(zip(self.layout, embed_dims, depths)):
            H, W = H // 2, W // 2
            stages.append(
                Stage(
                    in_chs,
                    d,
                    depth=L,
                    block_type=t,
                    grid_size=(H, W),
                    dim_head=dim_head,
                    expand_ratio=expand_ratio,
                    se_ratio=se_ratio,
                    stride_mode=stride_mode,
                    drop_path=dpr[i],
                )
            )
            in_chs = d
        self.stages = nn.Sequential(*stages)
        self.num_features = embed_dims[-1]
        self.head = ClassifierHead(
            embed_dims[-1],
            num_classes,
            hidden_size=embed_dims[-1] if head_hidden_size is None else head_hidden_size,
            drop=drop_rate,
        )
        if not registry.is_meta(self):
            self.apply(init_weights)  # fan-out normal for convs, truncated normal for linears

    def forward_features(self, x: torch.Tensor, return_stages: bool = False):
        """Image ``(B, 3, H, W)`` -> last map ``(B, D4, H/32, W/32)``; with ``return_stages``
        also the list of the five stage outputs S0..S4."""
        validate.image(
            x,
            self.stem.conv1.in_channels,
            dtype=self.stem.conv1.weight.dtype,
            device=self.stem.conv1.weight.device,
        )
        validate.nonempty(x)
        if x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(
                f"image size {x.shape[2]}x{x.shape[3]} is not divisible by the total stride "
                f"{self.stride}; use a multiple of {self.stride}"
            )
        x = self.stem(x)
        stages = [x]
        if STATE.tracing:
            log_shapes(self, S0=x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            stages.append(x)
            if STATE.tracing:
                log_shapes(self, **{f"S{i + 1}_{self.layout[i]}": x})
        return (x, stages) if return_stages else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


_C01 = dict(stem_width=64, embed_dims=(96, 192, 384, 768))
#: The CoAtNet family (the paper's table of sizes): ``stem_width`` = D0, ``embed_dims`` = D1..D4,
#: ``depths`` = L1..L4 (L0 = 2, the stem's two convs).
CONFIGS: dict[str, dict] = {
    "coatnet_0": dict(_C01, depths=(2, 3, 5, 2)),
    "coatnet_1": dict(_C01, depths=(2, 6, 14, 2)),
    "coatnet_2": dict(stem_width=128, embed_dims=(128, 256, 512, 1024), depths=(2, 6, 14, 2)),
    "coatnet_3": dict(stem_width=192, embed_dims=(192, 384, 768, 1536), depths=(2, 6, 14, 2)),
    "coatnet_4": dict(stem_width=192, embed_dims=(192, 384, 768, 1536), depths=(2, 12, 28, 2)),
}

_SRC = "CoAtNet (arXiv v2), Table 4 'Model performance on ImageNet' (224², ImageNet-1K only)"
#: The paper's numbers, shown beside the book's counts (never used in a computation): parameters
#: (M), GFLOPs at 224² (the paper does not define them: the book reads them as G multiply-adds),
#: ImageNet-1k top-1 (%) at 224² without extra data.
#: CoAtNet-4 is reported only with ImageNet-21K or JFT pre-training, at 384² and 512², so it
#: has neither GFLOPs at 224² nor a top-1 here (its 384² figures: ``paper.COATNET_4_AT_384``).
PAPER = {
    "coatnet_0": registry.Paper(
        params_m=25, gflops=4.2, top1=81.6, cite="dai2021coatnet", source=_SRC
    ),
    "coatnet_1": registry.Paper(
        params_m=42, gflops=8.4, top1=83.3, cite="dai2021coatnet", source=_SRC
    ),
    "coatnet_2": registry.Paper(
        params_m=75, gflops=15.7, top1=84.1, cite="dai2021coatnet", source=_SRC
    ),
    "coatnet_3": registry.Paper(
        params_m=168, gflops=34.7, top1=84.5, cite="dai2021coatnet", source=_SRC
    ),
    "coatnet_4": registry.Paper(
        params_m=275,
        gflops=None,
        top1=None,
        cite="dai2021coatnet",
        source="CoAtNet (arXiv v2), Table 4 'Model performance on ImageNet' (21K+1K rows)",
    ),
}

create, _FACTORIES = registry.register_family("coatnet", CoAtNet, CONFIGS, PAPER)
create.__doc__ += ' E.g. ``layout="C-C-C-T"``, ``img_size=160``, ``stride_mode="dw"``.'
coatnet_0, coatnet_1, coatnet_2, coatnet_3, coatnet_4 = (
    _FACTORIES[f"coatnet_{i}"] for i in range(5)
)


def load_timm_state_dict(model: nn.Module, timm_model: nn.Module) -> list[str]:
    """Copy a timm CoAtNet's weights (``coatnet_0_224`` ...) into ``model`` (a :class:`CoAtNet`
    or any of its blocks, given the matching timm module). Keys must match; returns the names
    copied.

    Outputs then equal timm's when ``stride_mode="dw"`` (timm strides in the depthwise conv)."""
    validate.instance("model", model, nn.Module)
    validate.instance("timm_model", timm_model, nn.Module, "pass timm.create_model(...)")
    src, dst = timm_model.state_dict(), model.state_dict()
    missing = sorted(set(dst) - set(src))
    unexpected = sorted(set(src) - set(dst))
    bad = [k for k in dst if k in src and src[k].shape != dst[k].shape]
    if missing or unexpected or bad:
        raise ValueError(
            f"the structures differ: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"shape mismatch {bad[:5]}"
        )
    model.load_state_dict(src, strict=False)
    return list(dst)

"""Swin Transformer: self-attention inside local windows, shifted between consecutive blocks.

Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021
(arXiv 2103.14030). §3.1 "Overall Architecture": patch partition (4×4 patches), then four stages
whose token grids are 1/4, 1/8, 1/16 and 1/32 of the image, patch merging between them; "Swin
Transformer block". §3.2 "Shifted Window based Self-Attention": window attention on ``M × M``
windows (eqs. (1)-(2) compare its cost with global attention), a cyclic shift by ``⌊M/2⌋`` in
every second block with a mask for the wrapped tokens (eq. (3), the two consecutive blocks), and
the relative position bias ``B`` added to the logits (eq. (4)). §3.3 "Architecture Variants":
Swin-T, -S, -B (:data:`CONFIGS`).

Parameter names follow the official code (microsoft/Swin-Transformer,
``models/swin_transformer.py``): ``layers.i.blocks.j.attn.relative_position_bias_table``,
``layers.i.downsample`` at the *end* of stage ``i``, ``head`` a plain ``Linear``. timm's
``swin_transformer`` names every block parameter the same way and differs in two places, mapped
by :func:`state_dict_from_timm`: it places the patch merging at the *start* of the next stage
(``layers.{i+1}.downsample``) and wraps the classifier (``head.fc``). The official checkpoints
also store two buffers that are computed, not learned (``relative_position_index``,
``attn_mask``); here they are not saved (as in timm), and :func:`state_dict_from_official` drops
them.

Input sizes: exactly those that the official code runs. The image side must equal
``img_size``; the window must divide every stage's token grid, except that a grid no larger
than the window is one window, not shifted (the official rule, and timm's); each grid that
is merged must be even. For Swin-T (4×4 patches, ``M = 7``) that is every multiple of 224.
timm builds models at other sizes by zero-padding the grid up to a multiple of the window and
odd grids before merging. The paper allows that padding (§3.2, footnote 4: "bottom-right
padding is employed on the feature map if needed"), but the official classification code
does not pad, so those sizes raise a ValueError here that names the sizes accepted
(:func:`accepted_sizes`).
"""

from __future__ import annotations

import functools
import json
import numbers
from pathlib import Path

import torch
from einops import rearrange
from torch import nn

from .. import registry, validate
from ..attention import attend
from ..layers import DropPath, drop_path_rates, init_weights
from ..trace import STATE, log_shapes
from . import paper

#: The logit the official code adds where the shifted-window mask keeps two tokens apart: not
#: ``-inf``. Such a key gets at most ``e^(Δ - 100)`` of a weight, ``Δ`` being its logit minus
#: the largest logit of the query's own region: about ``4e-44`` where ``Δ`` is near 0.
MASK_VALUE = -100.0


#: The most entries a window's own tables may hold: the relative index, ``M² x M²``, and the
#: shift mask, ``H·W·M²``. 2^28 entries (2 GiB of int64) is a window of 128 (official ones are
#: 7 and 12), so that a huge window is refused at once rather than allocated. Not checked on
#: the meta device (``with torch.device("meta")``), where the tables are shapes alone.
MAX_WINDOW_ENTRIES = 2**28


def _pair(name: str, value) -> tuple[int, int]:
    """A window or grid as ``(height, width)``: an int for a square, or a pair of ints, each
    in ``[1, MAX_IMAGE]``."""
    if validate._ordered(value):
        h, w = validate.grid(name, value)
        return h, w
    side = validate.image_side(name, value)
    return side, side


def check_window(H: int, W: int, window_size: int) -> int:
    """Raise unless ``window_size`` divides both sides of the ``H x W`` token grid
    (window partition tiles the grid exactly, §3.2 "Self-attention in non-overlapped windows");
    return it as a plain int."""
    H, W = validate.size("H", H), validate.size("W", W)
    M = validate.size("window_size", window_size)
    if H % M or W % M:
        common = [d for d in validate.divisors(H) if W % d == 0]
        raise ValueError(
            f"window_size={M} does not divide the {H}x{W} token grid; choose a window size "
            f"from the common divisors of {H} and {W}: {common}"
        )
    return M


def check_shift(shift_size: int, window_size: int) -> int:
    """Raise unless ``0 <= shift_size < window_size`` (the official code's rule). The paper
    shifts by ``⌊M/2⌋`` (§3.2 "Shifted window partitioning in successive blocks"); 0 is the
    regular partition."""
    M = validate.size("window_size", window_size)
    if isinstance(shift_size, bool) or not isinstance(shift_size, numbers.Integral):
        raise validate.InputTypeError(
            f"shift_size must be an integer in [0, {M - 1}], got {validate.shown(shift_size)} "
            f"({type(shift_size).__name__}); the paper uses window_size // 2 = {M // 2}"
        )
    shift_size = int(shift_size)
    if not 0 <= shift_size < M:
        raise ValueError(
            f"shift_size={validate.shown(shift_size)} is out of range for window_size={M}: use "
            "an integer in "
            f"[0, {M - 1}] (the paper shifts by window_size // 2 = {M // 2}; 0 means no shift)"
        )
    return shift_size


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Cut a ``(B, H, W, C)`` grid into non-overlapping ``M x M`` windows:
    ``(B * H/M * W/M, M, M, C)``, window by window in row-major order, image by image."""
    M = validate.size("window_size", window_size)
    validate.instance("x", x, torch.Tensor, "a (B, H, W, C) grid of tokens (or of labels)")
    if x.dim() != 4:
        raise ValueError(f"x must be (B, H, W, C), got a tensor of shape {tuple(x.shape)}")
    check_window(x.shape[1], x.shape[2], M)
    return rearrange(x, "b (nh m1) (nw m2) c -> (b nh nw) m1 m2 c", m1=M, m2=M)


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Put the windows of :func:`window_partition` back on the ``(B, H, W, C)`` grid."""
    M = validate.size("window_size", window_size)
    check_window(H, W, M)
    validate.instance("windows", windows, torch.Tensor, "the windows of window_partition")
    if windows.dim() != 4 or tuple(windows.shape[1:3]) != (M, M):
        raise ValueError(
            f"windows must be (B*nW, {M}, {M}, C), got a tensor of shape {tuple(windows.shape)}"
        )
    per_image = (H // M) * (W // M)
    if windows.shape[0] % per_image:
        raise ValueError(
            f"{windows.shape[0]} windows do not make whole {H}x{W} grids of {per_image} windows"
        )
    return rearrange(windows, "(b nh nw) m1 m2 c -> b (nh m1) (nw m2) c", nh=H // M, nw=W // M)


def relative_position_index(window_size) -> torch.Tensor:
    """``index[i, j]``: the row of the bias table that query ``i`` uses for key ``j`` in one
    ``Wh x Ww`` window, ``(Wh*Ww, Wh*Ww)``. The offset ``i - j`` (rows ``dy`` in
    ``[-(Wh-1), Wh-1]``, columns ``dx`` in ``[-(Ww-1), Ww-1]``) is shifted to start at 0 and
    flattened row-major: ``(dy + Wh - 1) * (2Ww - 1) + dx + Ww - 1``, so the table has
    ``(2Wh - 1)(2Ww - 1)`` rows (§3.2 "Relative position bias": ``B`` is taken from
    ``B̂ ∈ R^{(2M-1)×(2M-1)}``)."""
    Wh, Ww = _pair("window_size", window_size)
    on_meta = torch.empty(()).device.type == "meta"  # under torch.device("meta"): shapes only
    if (Wh * Ww) ** 2 > MAX_WINDOW_ENTRIES and not on_meta:
        raise ValueError(
            f"window_size={Wh}x{Ww}: its relative index would hold (Wh·Ww)² = "
            f"{(Wh * Ww) ** 2:,} entries, more than {MAX_WINDOW_ENTRIES:,}; use a window of at "
            "most 128 (official windows are 7 and 12)"
        )
    rows, cols = torch.meshgrid(torch.arange(Wh), torch.arange(Ww), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :]  # query minus key
    dx = cols[:, None] - cols[None, :]
    return (dy + Wh - 1) * (2 * Ww - 1) + (dx + Ww - 1)


def shift_regions(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """``(H, W)`` region labels of the cyclically shifted grid: tokens with the same label were
    neighbours before the shift; a window holding two labels holds tokens that the shift
    wrapped around the border. Each axis has three bands, ``[0, H-M)``, ``[H-M, H-s)``,
    ``[H-s, H)``, and a token's label is ``3 * row band + column band``."""
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    window_size = check_window(H, W, window_size)
    s = check_shift(shift_size, window_size)

    def bands(n: int) -> torch.Tensor:
        i = torch.arange(n)
        return (i >= n - window_size).long() + (i >= n - s).long()

    return 3 * bands(H)[:, None] + bands(W)[None, :]


def shift_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor | None:
    """The attention mask of the shifted windows, ``(num_windows, M², M²)``: 0 where query and
    key lie in one region of :func:`shift_regions`, :data:`MASK_VALUE` where the cyclic shift
    brought them together (§3.2 "Efficient batch computation for shifted configuration").
    ``None`` when ``shift_size`` is 0."""
    if check_shift(shift_size, window_size) == 0:
        check_window(H, W, window_size)
        return None
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    window_size = validate.size("window_size", window_size)  # a plain int: H·W·M² in int8 wraps
    on_meta = torch.empty(()).device.type == "meta"  # under torch.device("meta"): shapes only
    if H * W * window_size**2 > MAX_WINDOW_ENTRIES and not on_meta:
        raise ValueError(
            f"the shift mask of a {H}x{W} grid in windows of {window_size} would hold "
            f"H·W·window_size² = {H * W * window_size**2:,} entries, more than "
            f"{MAX_WINDOW_ENTRIES:,}: use a smaller grid or window"
        )
    labels = shift_regions(H, W, window_size, shift_size)
    win = window_partition(labels[None, :, :, None], window_size).flatten(1)  # (nW, M²)
    apart = win[:, :, None] != win[:, None, :]
    return torch.zeros(apart.shape).masked_fill(apart, MASK_VALUE)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a relative position bias
    (W-MSA, §3.2; eq. (4): ``softmax(Q Kᵀ / √d + B) V``).

    ``x``: ``(num_windows * B, M², C)``, each row one window's tokens. ``B`` is the
    ``(heads, M², M²)`` bias ``relative_position_bias_table[relative_position_index]``: one
    learned scalar per head and relative offset, shared by every window. ``mask``:
    ``(num_windows, M², M²)`` from :func:`shift_mask`, added to the logits of each image's windows
    in order. The fused :func:`~torch.nn.functional.scaled_dot_product_attention` runs unless
    :func:`vit_notes.record_attention` asks for the maps.
    """

    def __init__(
        self,
        dim: int,
        window_size,
        num_heads: int,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ):
        super().__init__()
        head_dim = validate.heads_divide(dim, num_heads)
        dim, num_heads = (
            validate.attention_width("dim", dim),
            validate.width("num_heads", num_heads),
        )
        self.dim, self.num_heads = dim, num_heads
        self.window_size = _pair("window_size", window_size)
        Wh, Ww = self.window_size
        self.scale = (
            head_dim**-0.5
            if qk_scale is None
            else validate.number("qk_scale", qk_scale, low=-1e6, high=1e6)
        )
        index = relative_position_index(self.window_size)  # refuses a huge window first
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * Wh - 1) * (2 * Ww - 1), num_heads)
        )
        self.register_buffer("relative_position_index", index, persistent=False)
        self.qkv = nn.Linear(dim, dim * 3, bias=validate.flag("qkv_bias", qkv_bias))
        self.attn_drop = nn.Dropout(validate.attention_dropout("attn_drop", attn_drop))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(validate.probability("proj_drop", proj_drop))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self) -> torch.Tensor:
        """``B``, ``(heads, M², M²)``: the table's row for each query-key offset ``i - j``."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return rearrange(bias, "(i j) h -> h i j", i=n, j=n)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        validate.tensor(
            "x",
            x,
            dtype=self.qkv.weight.dtype,
            device=self.qkv.weight.device,
            what="a float tensor of windows",
        )
        n = self.window_size[0] * self.window_size[1]
        if x.dim() != 3 or x.shape[1] != n or x.shape[2] != self.dim:
            raise ValueError(
                f"x must be (num_windows * B, {n}, {self.dim}) for a {self.window_size[0]}x"
                f"{self.window_size[1]} window of dim={self.dim}, got {tuple(x.shape)}"
            )
        qkv = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.num_heads)
        q, k, v = qkv.unbind(0)
        bias = self.relative_position_bias()[None]  # (1, heads, M², M²)
        if mask is not None:
            validate.tensor(
                "mask", mask, device=x.device, what="a float mask (num_windows, M², M²)"
            )
            if mask.dim() != 3 or tuple(mask.shape[1:]) != (n, n) or not mask.shape[0]:
                raise ValueError(
                    f"mask must be (num_windows, {n}, {n}) for {self.window_size[0]}x"
                    f"{self.window_size[1]} windows, as shift_mask gives it, got a tensor of "
                    f"shape {tuple(mask.shape)}"
                )
            nW = mask.shape[0]
            if x.shape[0] % nW:
                raise ValueError(
                    f"x holds {x.shape[0]} windows, not a multiple of the mask's {nW} windows"
                )
            # image by image, window by window: (B, nW, heads, M², M²) flattened like x
            bias = bias[:, None] + mask[None, :, None].to(bias.dtype)
            bias = bias.expand(x.shape[0] // nW, -1, -1, -1, -1).reshape(-1, *bias.shape[2:])
        out = attend(
            self,
            q,
            k,
            v,
            scale=self.scale,
            dropout_p=self.attn_drop.p if self.training else 0.0,
            bias=bias,
            kv_grid=self.window_size,
        )
        return self.proj_drop(self.proj(rearrange(out, "b h n d -> b n (h d)")))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"


class Mlp(nn.Module):
    """The block's feed-forward: fc1, GELU, fc2 (a 2-layer MLP, §3.1 "Swin Transformer block")."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        in_features, hidden_features = validate.feed_forward(in_features, hidden_features)
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(validate.probability("drop", drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.feature_tokens(x, self.fc1.weight, leading=None)  # tokens, or windows of them
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def shifted_window_attention(
    owner: nn.Module,
    x: torch.Tensor,
    attn: WindowAttention,
    window_size: int,
    shift_size: int,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    """(S)W-MSA on a ``(B, H, W, C)`` grid (§3.2): roll by ``-shift_size`` (the cyclic shift),
    cut into windows, attend inside each window with ``mask``, put the windows back, roll by
    ``+shift_size`` (the shift back). ``owner`` names the step in traces (``windows_shape``,
    ``mask_shape``)."""
    validate.tensor("x", x, what="a float tensor (B, H, W, C)")
    if x.dim() != 4:
        raise ValueError(f"x must be a (B, H, W, C) grid of tokens, got shape {tuple(x.shape)}")
    validate.instance("attn", attn, WindowAttention, "pass a block's .attn (a WindowAttention)")
    if owner is not None:  # None: the step goes unnamed in traces
        validate.instance("owner", owner, nn.Module, "pass the block or layer that runs it")
    H, W = x.shape[1], x.shape[2]
    M, s = validate.positive_int("window_size", window_size), check_shift(shift_size, window_size)
    if s:
        x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))  # cyclic shift
    windows = rearrange(window_partition(x, M), "nb m1 m2 c -> nb (m1 m2) c")
    if STATE.tracing:
        log_shapes(owner, windows=windows)
        if mask is not None:
            log_shapes(owner, mask=mask)
    windows = attn(windows, mask=mask)
    x = window_reverse(rearrange(windows, "nb (m1 m2) c -> nb m1 m2 c", m1=M), M, H, W)
    if s:
        x = torch.roll(x, shifts=(s, s), dims=(1, 2))  # the shift back
    return x


class GridWindowAttention(nn.Module):
    """Window attention as a layer on a token grid, called as ``layer(x (B, H*W, C), H, W)``
    like the other chapters' attention layers (the comparison chapter's form): the attention
    half of a block, without its LayerNorm, residual and MLP. Built for one grid, because the
    mask of the shifted windows depends on it."""

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        qkv_bias: bool = True,
    ):
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        super().__init__()
        dim = validate.width("dim", dim)
        H, W = _pair("input_resolution", input_resolution)
        window_size = validate.image_side("window_size", window_size)
        shift_size = check_shift(shift_size, window_size)
        if min(H, W) <= window_size:
            window_size, shift_size = min(H, W), 0
        check_window(H, W, window_size)
        self.input_resolution, self.window_size, self.shift_size = (H, W), window_size, shift_size
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias=qkv_bias)
        self.register_buffer(
            "attn_mask", shift_mask(H, W, window_size, shift_size), persistent=False
        )

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        validate.built_grid("this layer", self.input_resolution, H, W)
        validate.tokens_match_grid(
            x, H, W, dtype=self.attn.qkv.weight.dtype, device=self.attn.qkv.weight.device
        )
        x = rearrange(x, "b (h w) c -> b h w c", h=H, w=W)
        x = shifted_window_attention(
            self, x, self.attn, self.window_size, self.shift_size, self.attn_mask
        )
        return rearrange(x, "b h w c -> b (h w) c")


class SwinTransformerBlock(nn.Module):
    """One Swin Transformer block (§3.1, eq. (3)):
    ``ẑ = (S)W-MSA(LN(z)) + z``, ``z' = MLP(LN(ẑ)) + ẑ``.

    With ``shift_size > 0`` the normalised grid is rolled by ``-shift_size`` on both axes
    before the window partition and rolled back after (the cyclic shift), and the mask of
    :func:`shift_mask` keeps wrapped tokens apart (SW-MSA). A grid no larger than the window
    is a single window and is not shifted (the official rule). ``x``: ``(B, H*W, C)`` tokens of
    the ``input_resolution = (H, W)`` grid.
    """

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        norm_layer=nn.LayerNorm,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        super().__init__()
        dim, drop_path = validate.width("dim", dim), validate.probability("drop_path", drop_path)
        H, W = _pair("input_resolution", input_resolution)
        window_size = validate.image_side("window_size", window_size)
        shift_size = check_shift(shift_size, window_size)
        if min(H, W) <= window_size:  # one window covers the grid: nothing to shift
            window_size, shift_size = min(H, W), 0
        check_window(H, W, window_size)
        self.dim, self.input_resolution, self.num_heads = dim, (H, W), num_heads
        self.window_size, self.shift_size = window_size, shift_size
        self.mlp_ratio = validate.number("mlp_ratio", mlp_ratio, low=0.0, low_open=True)
        validate.hidden_width("mlp_ratio", mlp_ratio, dim)
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(
            dim,
            window_size,
            num_heads,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop=attn_drop,
            proj_drop=drop,
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.register_buffer(
            "attn_mask", shift_mask(H, W, window_size, shift_size), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.input_resolution
        validate.tokens_match_grid(
            x, H, W, dtype=self.norm1.weight.dtype, device=self.norm1.weight.device
        )
        shortcut = x
        x = rearrange(self.norm1(x), "b (h w) c -> b h w c", h=H, w=W)
        x = shifted_window_attention(
            self, x, self.attn, self.window_size, self.shift_size, self.attn_mask
        )
        x = shortcut + self.drop_path(rearrange(x, "b h w c -> b (h w) c"))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, input_resolution={self.input_resolution}, "
            f"num_heads={self.num_heads}, window_size={self.window_size}, "
            f"shift_size={self.shift_size}, mlp_ratio={self.mlp_ratio}"
        )


class PatchMerging(nn.Module):
    """Patch merging (§3.1): concatenate the features of each 2×2 group of neighbouring tokens
    (``4C``), LayerNorm, then a linear layer to ``2C``: ``(B, H*W, C) -> (B, H/2*W/2, 2C)``.
    The four neighbours are concatenated in the official order: (0, 0), (1, 0), (0, 1), (1, 1)
    as (row, column) offsets."""

    def __init__(self, input_resolution: tuple[int, int], dim: int, norm_layer=nn.LayerNorm):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        super().__init__()
        H, W = _pair("input_resolution", input_resolution)
        if H % 2 or W % 2:
            raise ValueError(
                f"input_resolution={H}x{W}: patch merging needs an even token grid; "
                "choose an image size whose grid is even at every merge"
            )
        self.input_resolution, self.dim = (H, W), validate.width("dim", dim)
        validate.weights_fit("dim", self.dim, lambda d: 8 * d * d, "the merge (a 4Cx2C linear)")
        dim = self.dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.input_resolution
        validate.tokens_match_grid(
            x, H, W, dtype=self.reduction.weight.dtype, device=self.reduction.weight.device
        )
        x = rearrange(x, "b (h dh w dw) c -> b (h w) (dw dh c)", h=H // 2, w=W // 2, dh=2, dw=2)
        return self.reduction(self.norm(x))

    def extra_repr(self) -> str:
        return f"input_resolution={self.input_resolution}, dim={self.dim}"


class BasicLayer(nn.Module):
    """One stage: ``depth`` blocks alternating regular (even ``j``) and shifted (odd ``j``,
    by ``window_size // 2``) windows, then the patch merging to the next stage (§3.1; the
    official code's name and placement)."""

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path=0.0,
        norm_layer=nn.LayerNorm,
        downsample: type | None = None,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        super().__init__()
        depth, dim = validate.depth("depth", depth), validate.width("dim", dim)
        if downsample is not None and not callable(downsample):
            raise validate.InputTypeError(
                f"downsample must be a layer class such as PatchMerging (or None), got "
                f"{validate.shown(downsample)} ({type(downsample).__name__})"
            )
        self.dim, self.input_resolution, self.depth = dim, input_resolution, depth
        rates = drop_path if isinstance(drop_path, (list, tuple)) else [drop_path] * depth
        if len(rates) != depth:
            raise ValueError(
                f"drop_path has {len(rates)} rates but depth={depth}: give one rate per block "
                f"({depth} in all), or one number for every block"
            )
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(
                dim,
                input_resolution,
                num_heads,
                window_size=window_size,
                shift_size=0 if j % 2 == 0 else window_size // 2,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                qk_scale=qk_scale,
                drop=drop,
                attn_drop=attn_drop,
                drop_path=rates[j],
                norm_layer=norm_layer,
            )
            for j in range(depth)
        )
        self.downsample = (
            downsample(input_resolution, dim=dim, norm_layer=norm_layer) if downsample else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return x if self.downsample is None else self.downsample(x)


class PatchEmbed(nn.Module):
    """Patch partition and linear embedding (§3.1): a conv of kernel = stride = ``patch_size``
    from the ``(B, 3, H, W)`` image to ``(B, H/p * W/p, C)`` tokens, then LayerNorm."""

    def __init__(
        self, img_size: int = 224, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 96,
        norm_layer=nn.LayerNorm,
    ):  # fmt: skip
        norm_layer = validate.layer_factory("norm_layer", norm_layer, allow_none=True)
        super().__init__()
        img_size = self.img_size = validate.image_side("img_size", img_size)
        patch_size = self.patch_size = validate.kernel("patch_size", patch_size)
        embed_dim = validate.width("embed_dim", embed_dim)
        if img_size % patch_size:
            raise ValueError(
                f"img_size={img_size} is not a multiple of patch_size={patch_size}; "
                f"use e.g. {img_size // patch_size * patch_size or patch_size}"
            )
        self.in_chans = in_chans = validate.width("in_chans", in_chans)
        self.patches_resolution = (img_size // patch_size,) * 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.image(
            x, self.in_chans, dtype=self.proj.weight.dtype, device=self.proj.weight.device
        )
        if tuple(x.shape[-2:]) != (self.img_size, self.img_size):
            raise ValueError(
                f"the image is {x.shape[-2]}x{x.shape[-1]} but this model was built for "
                f"img_size={self.img_size}: resize it, or build the model with that img_size"
            )
        x = rearrange(self.proj(x), "b c h w -> b (h w) c")
        return x if self.norm is None else self.norm(x)


def stage_grids(img_size: int, patch_size: int = 4, num_stages: int = 4) -> list[int]:
    """The token grid's side at each stage: ``img_size / patch_size``, halved at each merge."""
    side = validate.image_side("img_size", img_size) // validate.kernel("patch_size", patch_size)
    return [side // 2**i for i in range(validate.stages("num_stages", num_stages))]


def size_problem(img_size: int, patch_size: int, window_size: int, num_stages: int) -> str | None:
    """Why the official code cannot run at ``img_size`` (None when it can): the side is not a
    multiple of the patch, a grid to merge is odd, or the window does not divide a grid larger
    than itself."""
    img_size = validate.image_side("img_size", img_size)
    patch_size = validate.kernel("patch_size", patch_size)
    window_size = validate.image_side("window_size", window_size)
    num_stages = validate.stages("num_stages", num_stages)
    if img_size % patch_size:
        return f"img_size={img_size} is not a multiple of patch_size={patch_size}"
    side = img_size // patch_size
    for i in range(num_stages):
        if side > window_size and side % window_size:
            return (
                f"img_size={img_size} gives a {side}x{side} token grid at stage {i + 1}, "
                f"which window_size={window_size} does not divide"
            )
        if i < num_stages - 1:
            if side % 2:
                return (
                    f"img_size={img_size} gives a {side}x{side} token grid at stage {i + 1}, "
                    "odd, so it cannot be merged 2x2"
                )
            side //= 2
    return None


def accepted_sizes(
    patch_size: int = 4, window_size: int = 7, num_stages: int = 4, up_to: int = 1024
) -> list[int]:
    """Every image side up to ``up_to`` that a model with this patch, window and number of
    stages accepts (:func:`size_problem` finds nothing). ``up_to`` is at most
    :data:`~vit_notes.validate.MAX_IMAGE`, the largest image side a model is built for."""
    patch_size = validate.kernel("patch_size", patch_size)
    up_to = validate.positive_int(
        "up_to", up_to, maximum=validate.MAX_IMAGE, why="the largest image side a model takes"
    )
    return [
        s
        for s in range(patch_size, up_to + 1, patch_size)
        if size_problem(s, patch_size, window_size, num_stages) is None
    ]


def check_img_size(img_size: int, patch_size: int, window_size: int, num_stages: int) -> None:
    """Raise a ValueError naming the problem and the sizes accepted near ``img_size``."""
    problem = size_problem(img_size, patch_size, window_size, num_stages)
    if problem is None:
        return
    up_to = min(max(4 * img_size, 1024), validate.MAX_IMAGE)
    sizes = accepted_sizes(patch_size, window_size, num_stages, up_to=up_to)
    raise ValueError(
        f"{problem}. With patch_size={patch_size}, window_size={window_size} and {num_stages} "
        f"stages the sizes accepted up to {sizes[-1] if sizes else 0} are {sizes[:8]}"
        + (" ..." if len(sizes) > 8 else "")
        + "; timm pads the grid at other sizes, which the paper's model does not do"
    )


class SwinTransformer(nn.Module):
    """The four-stage Swin Transformer (§3.1, Figure 3; variants in §3.3).

    Stage ``i`` has ``embed_dim * 2^i`` channels on an ``img_size / (patch_size * 2^i)`` grid;
    blocks alternate W-MSA and SW-MSA. The classifier averages the last stage's tokens after a
    LayerNorm (no class token). ``ape``: add a learned absolute position embedding (the
    official option, off in every variant of the paper's §3.3).
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: int = 96,
        depths=(2, 2, 6, 2),
        num_heads=(3, 6, 12, 24),
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        norm_layer=nn.LayerNorm,
        ape: bool = False,
        patch_norm: bool = True,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        super().__init__()
        depths = validate.nonempty_sequence("depths", depths, limit=validate.MAX_STAGES)
        num_stages = validate.stages("len(depths)", len(depths))
        num_heads = validate.nonempty_sequence("num_heads", num_heads, limit=validate.MAX_STAGES)
        validate.same_length(num_stages, num_heads=num_heads)
        depths = [validate.depth(f"depths[{i}]", d) for i, d in enumerate(depths)]
        num_heads = [validate.width(f"num_heads[{i}]", h) for i, h in enumerate(num_heads)]
        img_size = validate.image_side("img_size", img_size)
        patch_size = validate.kernel("patch_size", patch_size)
        window_size = validate.image_side("window_size", window_size)
        embed_dim = validate.width("embed_dim", embed_dim)
        num_classes = validate.classes("num_classes", num_classes)
        validate.width(f"embed_dim x 2^{num_stages - 1} (the last stage's width)",
                       embed_dim * 2 ** (num_stages - 1))  # fmt: skip
        for i, h in enumerate(num_heads):
            validate.heads_divide(embed_dim * 2**i, h)
        check_img_size(img_size, patch_size, window_size, num_stages)
        self.num_classes, self.num_layers, self.embed_dim = num_classes, num_stages, embed_dim
        ape, patch_norm = validate.flag("ape", ape), validate.flag("patch_norm", patch_norm)
        self.ape, self.window_size = ape, window_size
        self.num_features = embed_dim * 2 ** (num_stages - 1)
        self.patch_embed = PatchEmbed(
            img_size,
            patch_size,
            in_chans=in_chans,
            embed_dim=embed_dim,
            norm_layer=norm_layer if patch_norm else None,
        )
        grids = stage_grids(img_size, patch_size, num_stages)
        if ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, grids[0] ** 2, embed_dim))
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.pos_drop = nn.Dropout(validate.probability("drop_rate", drop_rate))
        attn_drop_rate = validate.attention_dropout("attn_drop_rate", attn_drop_rate)
        mlp_ratio = validate.number("mlp_ratio", mlp_ratio, low=0.0, low_open=True)
        rates = drop_path_rates(drop_path_rate, depths)
        self.layers = nn.ModuleList(
            BasicLayer(
                embed_dim * 2**i,
                (grids[i], grids[i]),
                depths[i],
                num_heads=num_heads[i],
                window_size=window_size,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                qk_scale=qk_scale,
                drop=drop_rate,
                attn_drop=attn_drop_rate,
                drop_path=rates[i],
                norm_layer=norm_layer,
                downsample=PatchMerging if i < num_stages - 1 else None,
            )
            for i in range(num_stages)
        )
        self.norm = norm_layer(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()
        # The official initialisation leaves convolutions at PyTorch's default.
        self.apply(functools.partial(init_weights, convs=False))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features ``(B, num_features)`` before the classifier."""
        x = self.patch_embed(x)
        if self.ape:
            x = x + self.absolute_pos_embed
        x = self.pos_drop(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def _check_state(name: str, state, source: str) -> None:
    """A state_dict: a non-empty dict of tensors under string names."""
    validate.state_dict(name, state, source)


def state_dict_from_timm(timm_state: dict) -> dict:
    """timm's ``swin_transformer`` state_dict under this module's (the official) names: timm's
    ``layers.{i}.downsample`` (the merging at the start of stage ``i``) is the official
    ``layers.{i-1}.downsample`` (at the end of stage ``i-1``), and ``head.fc`` is ``head``.
    Every other name is the same."""
    _check_state("timm_state", timm_state, "timm.create_model('swin_tiny_patch4_window7_224')")
    out = {}
    for k, v in timm_state.items():
        parts = k.split(".")
        if parts[0] == "layers" and len(parts) > 2 and parts[2] == "downsample":
            parts[1] = str(int(parts[1]) - 1)
        elif parts[:2] == ["head", "fc"]:
            parts = ["head", *parts[2:]]
        out[".".join(parts)] = v
    return out


#: Buffers that the official checkpoints store but that are computed from the configuration
#: (:func:`relative_position_index`, :func:`shift_mask`): not saved here, as in timm.
COMPUTED_BUFFERS = ("relative_position_index", "attn_mask")


def state_dict_from_official(official_state: dict) -> dict:
    """An official checkpoint's ``state_dict`` (its ``"model"`` entry) without the computed
    buffers of :data:`COMPUTED_BUFFERS`: every remaining name is this module's."""
    _check_state("official_state", official_state, "torch.load(path)['model']")
    return {k: v for k, v in official_state.items() if k.split(".")[-1] not in COMPUTED_BUFFERS}


#: The family's configurations (§3.3 "Architecture Variants": window 7, heads of 32 channels,
#: MLP ratio 4).
CONFIGS: dict[str, dict] = {
    name: dict(
        embed_dim=v.C,
        depths=v.layers,
        num_heads=tuple(v.C * 2**i // paper.HEAD_DIM for i in range(4)),
        window_size=paper.WINDOW,
        mlp_ratio=paper.MLP_RATIO,
    )
    for name, v in paper.VARIANTS.items()
}
#: What running the official code gives (microsoft/Swin-Transformer
#: ``models/swin_transformer.py``, commit f82860b): each variant's parameter count, Swin-T's
#: state_dict keys and shapes, and two computed buffers for small windows.
OFFICIAL_FILE = Path(__file__).with_name("official_swin_t.json")
OFFICIAL = json.loads(OFFICIAL_FILE.read_text())
#: Parameters (M) counted by running the official code (:data:`OFFICIAL_FILE`).
CODE_PARAMS = {name: n / 1e6 for name, n in OFFICIAL["params"].items()}


def official_state_dict() -> dict[str, torch.Tensor]:
    """A state_dict with the keys and shapes of the official Swin-T (zeros), computed
    buffers included, as recorded in :data:`OFFICIAL_FILE`."""
    return {k: torch.zeros(shape) for k, shape in OFFICIAL["state_dict"].items()}


create, _FACTORIES = registry.register_family("swin", SwinTransformer, CONFIGS, paper.TABLE)
swin_t, swin_s, swin_b = (_FACTORIES[n] for n in ("swin_t", "swin_s", "swin_b"))

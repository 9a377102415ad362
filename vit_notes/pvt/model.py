"""Pyramid Vision Transformer, v1 and v2, built from spatial-reduction attention.

* PVT v1: Wang et al., "Pyramid Vision Transformer: A Versatile Backbone for Dense
  Prediction without Convolutions", arXiv:2102.12122v2, also ICCV 2021 (§3.1 "Overall
  Architecture" and §3.3 "Transformer Encoder", eqs. (1)-(4); the configurations of its
  model-size table, which the ICCV paper moves to its supplementary material).
* PVT v2: Wang et al., "PVT v2: Improved Baselines with Pyramid Vision Transformer",
  CVMJ 2022 (its overlapping patch embedding and convolutional feed-forward, in every model,
  and its linear SRA, which only B2-Li uses: Table 1, where "-Li" denotes "PVT v2 with linear
  SRA"; B0 to B5 keep SRA).

Parameter names follow the official code (whai362/PVT) so its checkpoints, and
timm's ``pvt_v2`` attention modules, load into these modules unchanged.

Input sizes: every size that the official code and timm's ``pvt_v2`` accept, square or not,
with their outputs (tested against timm for v2). With SRA, stage 1's token grid must be as
large as ``sr_ratio=8``: v1's grid is ``⌊H/4⌋`` (at least 32 px a side), v2's overlapping
embedding gives ``⌈H/4⌉`` (at least 29 px); smaller inputs raise a ValueError naming the stage
where the official code and timm fail inside the reduction conv. Linear SRA pools any grid to
7×7, so v2 ``linear=True`` takes any size, down to 1×1, as timm does.
PVT v1 resizes each stage's position embedding from that stage's own grid.
The official v1 code decides whether to resize by comparing ``H*W`` with *stage 1's* patch
count at every stage: a 224-built model then fails on a 448² input (stage 2's 56×56 grid
has stage 1's patch count, so its 28×28 embedding is added unresized), and a non-square grid
with stage 1's area would keep the square embedding. Here the grids are compared, which is
the behaviour the official code intends and equals it wherever it runs.
"""

from __future__ import annotations

import re
from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import registry, validate
from ..attention import attend
from ..layers import DropPath, DWConv, drop_path_rates, init_weights, reduced_grid
from ..trace import STATE, log_shapes


class SpatialReductionAttention(nn.Module):
    """Spatial-reduction attention, SRA (PVT v1, §3.3 "Transformer Encoder", eqs. (1)-(4)); linear
    SRA with ``linear=True`` (PVT v2, §3.2 "Linear Spatial Reduction Attention"; of the PVT v2
    models only B2-Li uses it).

    Queries come from all ``N = H*W`` tokens; keys and values from a smaller grid:
    a ``sr_ratio x sr_ratio`` conv of stride ``sr_ratio`` + LayerNorm shrinks the
    ``H x W`` grid to :func:`~vit_notes.layers.reduced_grid` (``floor(H/R) x floor(W/R)``,
    the official code's behaviour), so the attention matrix is
    ``N x N/sr_ratio²``. Linear SRA instead average-pools to a fixed ``pool_size²``
    grid (1x1 conv, LayerNorm, GELU), so its cost grows linearly in ``N``.

    ``num_prefix_tokens``: tokens before the grid (PVT v1's class token in the last
    stage); allowed only without spatial reduction, as in the official code.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        sr_ratio: int = 1,
        linear: bool = False,
        pool_size: int = 7,
        num_prefix_tokens: int = 0,
    ):
        super().__init__()
        head_dim = validate.heads_divide(dim, num_heads)
        dim, num_heads = validate.width("dim", dim), validate.width("num_heads", num_heads)
        sr_ratio = validate.kernel("sr_ratio", sr_ratio)
        validate.attention_width("dim", dim, kernel=sr_ratio if sr_ratio > 1 else 0)
        validate.positive_int(
            "num_prefix_tokens",
            num_prefix_tokens,
            minimum=0,
            maximum=validate.MAX_KERNEL,
            why="PVT v1 has one, its class token",
        )
        pool_size = validate.kernel("pool_size", pool_size)
        if num_prefix_tokens and (sr_ratio > 1 or linear):
            raise ValueError(
                f"num_prefix_tokens={num_prefix_tokens} needs sr_ratio=1 and linear=False: "
                "a class token has no place on the reduced key grid"
            )
        linear = validate.flag("linear", linear)
        self.dim, self.num_heads, self.sr_ratio, self.linear = dim, num_heads, sr_ratio, linear
        self.num_prefix_tokens = num_prefix_tokens
        # None: the default 1/√d. Any other number is honoured, 0 too (equal weights on every key).
        self.scale = (
            head_dim**-0.5
            if qk_scale is None
            else validate.number("qk_scale", qk_scale, low=-1e6, high=1e6)
        )

        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = nn.Dropout(validate.attention_dropout("attn_drop", attn_drop))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(validate.probability("proj_drop", proj_drop))
        if linear:
            self.pool_size = pool_size
            self.pool = nn.AdaptiveAvgPool2d(pool_size)
            self.sr = nn.Conv2d(dim, dim, kernel_size=1, stride=1)
            self.norm = nn.LayerNorm(dim)
            self.act = nn.GELU()
        elif sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def kv_grid(self, H: int, W: int) -> tuple[int, int]:
        """The grid the keys and values come from: ``pool_size²`` (linear SRA), the reduced
        grid (``sr_ratio > 1``) or the token grid itself."""
        if self.linear:
            return self.pool_size, self.pool_size
        return reduced_grid(H, W, self.sr_ratio) if self.sr_ratio > 1 else (H, W)

    def reduce(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        """The tokens keys and values are computed from: ``(B, N, C) -> (B, N_k, C)``."""
        if not self.linear and self.sr_ratio == 1:
            return x
        grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        if self.linear:
            grid = self.sr(self.pool(grid))
        else:
            reduced_grid(H, W, self.sr_ratio)  # a grid smaller than the conv: a clear error
            grid = self.sr(grid)
        x_ = self.norm(rearrange(grid, "b c h w -> b (h w) c"))
        return self.act(x_) if self.linear else x_

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        validate.tokens_match_grid(
            x, H, W, self.num_prefix_tokens, dtype=self.q.weight.dtype, device=self.q.weight.device
        )
        if x.shape[-1] != self.dim:
            raise ValueError(
                f"x has {x.shape[-1]} channels but this layer was built for dim={self.dim}"
            )
        h = self.num_heads
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=h)
        x_ = self.reduce(x, H, W)
        kv = rearrange(self.kv(x_), "b m (two h d) -> two b h m d", two=2, h=h)
        k, v = kv.unbind(0)
        if STATE.tracing:
            log_shapes(self, q=q, **({"x_reduced": x_} if x_ is not x else {}), kv=kv)
        grid = None if self.num_prefix_tokens else self.kv_grid(H, W)
        out = attend(
            self,
            q,
            k,
            v,
            scale=self.scale,
            kv_grid=grid,
            dropout_p=self.attn_drop.p if self.training else 0.0,
        )
        out = self.proj_drop(self.proj(rearrange(out, "b h n d -> b n (h d)")))
        if STATE.tracing:
            log_shapes(self, output=out)
        return out


class Mlp(nn.Module):
    """Feed-forward: fc1, GELU, fc2; with ``dwconv=True`` the PVT v2 form fc1, (ReLU), DWConv,
    GELU, fc2."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        drop: float = 0.0,
        dwconv: bool = False,
        linear: bool = False,
    ):
        super().__init__()
        in_features, hidden_features = validate.feed_forward(in_features, hidden_features)
        self.fc1 = nn.Linear(in_features, hidden_features)
        dwconv, linear = validate.flag("dwconv", dwconv), validate.flag("linear", linear)
        self.dwconv = DWConv(hidden_features) if dwconv else None
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(validate.probability("drop", drop))
        self.relu = nn.ReLU(inplace=True) if linear else None

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        # the grid matters only to the depthwise conv (PVT v1's blocks carry a class token)
        grid = (H, W) if self.dwconv is not None else (None, None)
        validate.feature_tokens(x, self.fc1.weight, *grid)
        x = self.fc1(x)
        if self.relu is not None:
            x = self.relu(x)
        if self.dwconv is not None:
            x = self.dwconv(x, H, W)
        x = self.drop(self.act(x))
        return self.drop(self.fc2(x))


class Block(nn.Module):
    """Pre-norm transformer encoder block with SRA: x + SRA(LN(x)), then x + FFN(LN(x))."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        norm_layer=nn.LayerNorm,
        sr_ratio: int = 1,
        linear: bool = False,
        dwconv: bool = False,
        num_prefix_tokens: int = 0,
        pool_size: int = 7,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        linear = validate.flag("linear", linear)
        dwconv = validate.flag("dwconv", dwconv)
        super().__init__()
        validate.heads_divide(dim, num_heads)
        validate.hidden_width("mlp_ratio", mlp_ratio, dim)
        self.norm1 = norm_layer(dim)
        self.attn = SpatialReductionAttention(
            dim,
            num_heads,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop=attn_drop,
            proj_drop=drop,
            sr_ratio=sr_ratio,
            linear=linear,
            pool_size=pool_size,
            num_prefix_tokens=num_prefix_tokens,
        )
        self.drop_path = DropPath(drop_path)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop, dwconv=dwconv, linear=linear)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        # the tokens' kind first (the norm would fail on uint8 or float64 from inside torch);
        # the grid, with any prefix token, is the attention's to check
        validate.feature_tokens(x, self.mlp.fc1.weight)  # any attention (the study swaps it)
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        return x + self.drop_path(self.mlp(self.norm2(x), H, W))


class PatchEmbed(nn.Module):
    """Non-overlapping patch embedding (PVT v1): conv of kernel = stride = patch size, then
    LayerNorm."""

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        stride: int | None = None,
        padding: int = 0,
    ):
        super().__init__()
        # Sizes as the plain ints validate returns (a NumPy uint8 would overflow below).
        self.patch_size = patch_size = validate.kernel("patch_size", patch_size)
        in_chans = validate.width("in_chans", in_chans)
        embed_dim = validate.width("embed_dim", embed_dim)
        padding = validate.kernel("padding", padding, minimum=0)
        self.stride = patch_size if stride is None else validate.kernel("stride", stride)
        self.img_size = img_size = validate.image_side("img_size", img_size)
        self.padding = padding
        # The grid at the size the model is built for (PVT v1 sizes its position embeddings by it).
        self.H = self.W = max((img_size + 2 * padding - patch_size) // self.stride + 1, 1)
        self.num_patches = self.H * self.W
        self.proj = nn.Conv2d(
            in_chans, embed_dim, kernel_size=patch_size, stride=self.stride, padding=padding
        )
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        validate.image(
            x, self.proj.in_channels, dtype=self.proj.weight.dtype, device=self.proj.weight.device
        )
        if min(x.shape[2:]) + 2 * self.padding < self.patch_size:
            raise ValueError(
                f"input of {x.shape[2]}×{x.shape[3]} is smaller than the patch size "
                f"{self.patch_size}; use an input of at least "
                f"{self.patch_size - 2 * self.padding} px a side"
            )
        # Leftover rows and columns (a size that is not a multiple of the stride) are dropped
        # by the conv, as in the official code.
        x = self.proj(x)
        H, W = x.shape[2:]
        return self.norm(rearrange(x, "b c h w -> b (h w) c")), H, W


def OverlapPatchEmbed(
    img_size: int = 224,
    patch_size: int = 7,
    stride: int = 4,
    in_chans: int = 3,
    embed_dim: int = 768,
) -> PatchEmbed:
    """PVT v2's overlapping patch embedding: conv of kernel ``patch_size`` > ``stride``, zero
    padding."""
    patch_size = validate.kernel("patch_size", patch_size)
    return PatchEmbed(
        img_size=img_size,
        patch_size=patch_size,
        in_chans=in_chans,
        embed_dim=embed_dim,
        stride=stride,
        padding=patch_size // 2,
    )


class PyramidVisionTransformer(nn.Module):
    """PVT v1 and v2 (``version=2``): four stages, each halving the resolution
    (1/4, 1/8, 1/16, 1/32).

    v1: patch embedding 4 then 2, a learned position embedding per stage (bilinearly
    resized from that stage's grid for other image sizes; see the module's note on the
    official code), the class token only in
    the last stage, classifier on it. v2: overlapping patch embeddings (7/4 then 3/2),
    no position embedding, a depthwise conv in every FFN, a LayerNorm after every
    stage, classifier on the mean token. ``linear=True``: linear SRA in every block, pooling
    the keys to ``pool_size x pool_size`` (7, as in PVT v2, unless a small image asks for less).
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dims=(64, 128, 256, 512),
        num_heads=(1, 2, 4, 8),
        mlp_ratios=(4, 4, 4, 4),
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_layer=nn.LayerNorm,
        depths=(3, 4, 6, 3),
        sr_ratios=(8, 4, 2, 1),
        num_stages: int = 4,
        version: int = 1,
        linear: bool = False,
        pool_size: int = 7,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        linear = validate.flag("linear", linear)
        super().__init__()
        drop_rate = validate.probability("drop_rate", drop_rate)
        attn_drop_rate = validate.attention_dropout("attn_drop_rate", attn_drop_rate)
        validate.one_of("version", version, {1, 2})
        pool_size = validate.kernel("pool_size", pool_size)
        num_stages = validate.stages("num_stages", num_stages)
        validate.same_length(
            num_stages,
            embed_dims=embed_dims,
            num_heads=num_heads,
            mlp_ratios=mlp_ratios,
            depths=depths,
            sr_ratios=sr_ratios,
        )
        for i in range(num_stages):
            try:
                validate.depth(f"depths[{i}]", depths[i])
                validate.width(f"embed_dims[{i}]", embed_dims[i])
                validate.width(f"num_heads[{i}]", num_heads[i])
                validate.heads_divide(embed_dims[i], num_heads[i])
                validate.kernel(f"sr_ratios[{i}]", sr_ratios[i])
                if not mlp_ratios[i] > 0:
                    raise ValueError(f"mlp_ratio={validate.shown(mlp_ratios[i])} must be > 0")
                validate.hidden_width(f"mlp_ratios[{i}]", mlp_ratios[i], embed_dims[i])
                if int(embed_dims[i] * mlp_ratios[i]) < 1:
                    raise ValueError(
                        f"mlp_ratio={validate.shown(mlp_ratios[i])} gives dim * mlp_ratio < 1 "
                        "hidden features "
                        f"(dim={embed_dims[i]}); use mlp_ratio >= 1/{embed_dims[i]}"
                    )
            except ValueError as e:
                raise ValueError(f"stage {i + 1}: {e}") from None
        img_size = validate.image_side("img_size", img_size)
        patch_size = validate.kernel("patch_size", patch_size)
        in_chans = validate.width("in_chans", in_chans)
        num_classes = validate.classes("num_classes", num_classes)
        self.version, self.num_stages, self.num_classes, self.depths = (
            version,
            num_stages,
            num_classes,
            depths,
        )
        self.patch_size, self.sr_ratios, self.linear = patch_size, tuple(sr_ratios), linear
        dpr = drop_path_rates(drop_path_rate, depths)
        for i in range(num_stages):
            in_ch = in_chans if i == 0 else embed_dims[i - 1]
            # The size stage i is built for (>= 1: a tiny image is refused by the forward).
            size = img_size if i == 0 else max(img_size // (patch_size * 2 ** (i - 1)), 1)
            if version == 1:
                patch_embed = PatchEmbed(
                    img_size=size,
                    patch_size=patch_size if i == 0 else 2,
                    in_chans=in_ch,
                    embed_dim=embed_dims[i],
                )
            else:
                patch_embed = OverlapPatchEmbed(
                    img_size=size,
                    patch_size=7 if i == 0 else 3,
                    stride=patch_size if i == 0 else 2,
                    in_chans=in_ch,
                    embed_dim=embed_dims[i],
                )
            last = i == num_stages - 1
            prefix = 1 if (version == 1 and last) else 0
            block = nn.ModuleList(
                [
                    Block(
                        embed_dims[i],
                        num_heads[i],
                        mlp_ratio=mlp_ratios[i],
                        qkv_bias=qkv_bias,
                        qk_scale=qk_scale,
                        drop=drop_rate,
                        attn_drop=attn_drop_rate,
                        drop_path=rate,
                        norm_layer=norm_layer,
                        sr_ratio=sr_ratios[i],
                        linear=linear,
                        dwconv=version == 2,
                        num_prefix_tokens=prefix,
                        pool_size=pool_size,
                    )
                    for rate in dpr[i]
                ]
            )
            setattr(self, f"patch_embed{i + 1}", patch_embed)
            setattr(self, f"block{i + 1}", block)
            if version == 1:
                setattr(
                    self,
                    f"pos_embed{i + 1}",
                    nn.Parameter(torch.zeros(1, patch_embed.num_patches + prefix, embed_dims[i])),
                )
                setattr(
                    self,
                    f"pos_drop{i + 1}",
                    nn.Dropout(validate.probability("drop_rate", drop_rate)),
                )
            else:
                setattr(self, f"norm{i + 1}", norm_layer(embed_dims[i]))
        if version == 1:
            self.norm = norm_layer(embed_dims[-1])
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims[-1]))
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()
        if not registry.is_meta(self):
            self.apply(init_weights)
            for i in range(num_stages if version == 1 else 0):
                nn.init.trunc_normal_(getattr(self, f"pos_embed{i + 1}"), std=0.02)
            if version == 1:
                nn.init.trunc_normal_(self.cls_token, std=0.02)

    def _pos_embed(
        self, pos: torch.Tensor, patch_embed: PatchEmbed, H: int, W: int
    ) -> torch.Tensor:
        # Compare grids, not token counts, and each stage with its own grid (the official
        # code compares H*W with stage 1's count: see the module docstring).
        if (H, W) == (patch_embed.H, patch_embed.W):
            return pos
        grid = rearrange(pos, "1 (h w) c -> 1 c h w", h=patch_embed.H, w=patch_embed.W)
        return rearrange(F.interpolate(grid, size=(H, W), mode="bilinear"), "1 c h w -> 1 (h w) c")

    def forward_features(self, x: torch.Tensor, return_stages: bool = False):
        """Image ``(B, 3, H, W)`` -> pooled features ``(B, C4)``; with ``return_stages`` also
        the list of stage feature maps ``(B, C_i, H/2^(i+2), W/2^(i+2))``."""
        embed = self.patch_embed1.proj
        validate.image(x, embed.in_channels, dtype=embed.weight.dtype)
        B, x_in_shape = x.shape[0], x.shape[2:]
        stages = []
        for i in range(self.num_stages):
            patch_embed = getattr(self, f"patch_embed{i + 1}")
            x, H, W = patch_embed(x)
            if not self.linear and min(H, W) < self.sr_ratios[i]:
                raise ValueError(
                    f"stage {i + 1}: an input of {tuple(x_in_shape)} gives a {H}×{W} token grid, "
                    f"smaller than its sr_ratio={self.sr_ratios[i]}; use a larger image"
                )
            last = i == self.num_stages - 1
            if self.version == 1:
                pos = getattr(self, f"pos_embed{i + 1}")
                if last:
                    x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
                    pos = torch.cat(
                        (pos[:, :1], self._pos_embed(pos[:, 1:], patch_embed, H, W)), dim=1
                    )
                else:
                    pos = self._pos_embed(pos, patch_embed, H, W)
                x = getattr(self, f"pos_drop{i + 1}")(x + pos)
            for blk in getattr(self, f"block{i + 1}"):
                x = blk(x, H, W)
            if self.version == 2:
                x = getattr(self, f"norm{i + 1}")(x)
            if STATE.tracing:
                log_shapes(self, **{f"stage{i + 1}": (B, H, W, x.shape[-1])})
            if not last:
                x = rearrange(x, "b (h w) c -> b c h w", h=H, w=W).contiguous()
                stages.append(x)
        if self.version == 1:
            x = self.norm(x)
            stages.append(rearrange(x[:, 1:], "b (h w) c -> b c h w", h=H, w=W))
            pooled = x[:, 0]
        else:
            stages.append(rearrange(x, "b (h w) c -> b c h w", h=H, w=W))
            pooled = x.mean(dim=1)
        return (pooled, stages) if return_stages else pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


_V1 = dict(
    patch_size=4,
    embed_dims=(64, 128, 320, 512),
    num_heads=(1, 2, 5, 8),
    mlp_ratios=(8, 8, 4, 4),
    qkv_bias=True,
    norm_layer=partial(nn.LayerNorm, eps=1e-6),
    sr_ratios=(8, 4, 2, 1),
)
_V2 = dict(_V1, version=2)

#: Configurations of the PVT family (the PVT v1 and v2 papers' model tables and the official code).
CONFIGS: dict[str, dict] = {
    "pvt_tiny": dict(_V1, depths=(2, 2, 2, 2)),
    "pvt_small": dict(_V1, depths=(3, 4, 6, 3)),
    "pvt_medium": dict(_V1, depths=(3, 4, 18, 3)),
    "pvt_large": dict(_V1, depths=(3, 8, 27, 3)),
    "pvt_v2_b0": dict(_V2, embed_dims=(32, 64, 160, 256), depths=(2, 2, 2, 2)),
    "pvt_v2_b1": dict(_V2, depths=(2, 2, 2, 2)),
    "pvt_v2_b2": dict(_V2, depths=(3, 4, 6, 3)),
    "pvt_v2_b2_li": dict(_V2, depths=(3, 4, 6, 3), linear=True),
    "pvt_v2_b3": dict(_V2, depths=(3, 4, 18, 3)),
    "pvt_v2_b4": dict(_V2, depths=(3, 8, 27, 3)),
    "pvt_v2_b5": dict(_V2, depths=(3, 6, 40, 3), mlp_ratios=(4, 4, 4, 4)),
}


def state_dict_from_timm(timm_state: dict) -> dict:
    """Rename a timm ``pvt_v2_*`` state dict to this module's (= the official code's) names.

    timm groups blocks in ``stages.{i}`` with a ``downsample`` patch embedding and calls the
    FFN's depthwise conv ``mlp.dwconv``; the official code uses ``patch_embed{i+1}``,
    ``block{i+1}``, ``norm{i+1}`` and ``mlp.dwconv.dwconv``. Attention weights keep their names.
    """
    rules = [
        (r"^patch_embed\.", "patch_embed1."),
        (r"^stages\.(\d+)\.downsample\.", lambda m: f"patch_embed{int(m[1]) + 1}."),
        (r"^stages\.(\d+)\.blocks\.", lambda m: f"block{int(m[1]) + 1}."),
        (r"^stages\.(\d+)\.norm\.", lambda m: f"norm{int(m[1]) + 1}."),
        (r"\.mlp\.dwconv\.", ".mlp.dwconv.dwconv."),
    ]
    validate.state_dict("timm_state", timm_state, "timm.create_model('pvt_v2_b0')")
    out = {}
    for key, value in timm_state.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


#: Both papers' ImageNet table is their Table 2, of the same caption (PVT v1 in its arXiv v2, the
#: edition ``book/references.bib`` names; the ICCV edition numbers it Table 1).
_TABLE = "Table 2 'Image classification performance on the ImageNet validation set'"
_V1_SRC = f"PVT v1 (arXiv v2), {_TABLE}; top-1 also in the official model zoo"
_V2_SRC = f"PVT v2, {_TABLE}; top-1 also in the official model zoo"
#: Parameter counts (M) of the official model zoo (whai362/PVT, classification/README.md,
#: "PVTv2 on ImageNet-1K") where they differ from the paper's table: b0 (the table gives 3.4 M;
#: a maintainer's reply in whai362/PVT issue #60 calls that an error and gives 3.7 M) and b1
#: (the table gives 13.1 M; timm agrees with the README). Shown labelled as such, never as the
#: paper's.
README_PARAMS_M = {"pvt_v2_b0": 3.7, "pvt_v2_b1": 14.0}
#: The papers' own numbers, shown beside the book's counts (never used in a computation):
#: parameters (M), GFLOPs (= G multiply-adds) at 224², ImageNet-1k top-1 (%).
PAPER = {
    "pvt_tiny": registry.Paper(
        params_m=13.2, gflops=1.9, top1=75.1, cite="wang2021pvt", source=_V1_SRC
    ),
    "pvt_small": registry.Paper(
        params_m=24.5, gflops=3.8, top1=79.8, cite="wang2021pvt", source=_V1_SRC
    ),
    "pvt_medium": registry.Paper(
        params_m=44.2, gflops=6.7, top1=81.2, cite="wang2021pvt", source=_V1_SRC
    ),
    "pvt_large": registry.Paper(
        params_m=61.4, gflops=9.8, top1=81.7, cite="wang2021pvt", source=_V1_SRC
    ),
    "pvt_v2_b0": registry.Paper(
        params_m=3.4, gflops=0.6, top1=70.5, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b1": registry.Paper(
        params_m=13.1, gflops=2.1, top1=78.7, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b2": registry.Paper(
        params_m=25.4, gflops=4.0, top1=82.0, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b2_li": registry.Paper(
        params_m=22.6, gflops=3.9, top1=82.1, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b3": registry.Paper(
        params_m=45.2, gflops=6.9, top1=83.2, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b4": registry.Paper(
        params_m=62.6, gflops=10.1, top1=83.6, cite="wang2022pvtv2", source=_V2_SRC
    ),
    "pvt_v2_b5": registry.Paper(
        params_m=82.0, gflops=11.8, top1=83.8, cite="wang2022pvtv2", source=_V2_SRC
    ),
}

create, _FACTORIES = registry.register_family("pvt", PyramidVisionTransformer, CONFIGS, PAPER)
pvt_tiny, pvt_small, pvt_medium, pvt_large = (
    _FACTORIES[n] for n in ("pvt_tiny", "pvt_small", "pvt_medium", "pvt_large")
)
pvt_v2_b0, pvt_v2_b1, pvt_v2_b2, pvt_v2_b2_li, pvt_v2_b3, pvt_v2_b4, pvt_v2_b5 = (
    _FACTORIES[n]
    for n in (
        "pvt_v2_b0",
        "pvt_v2_b1",
        "pvt_v2_b2",
        "pvt_v2_b2_li",
        "pvt_v2_b3",
        "pvt_v2_b4",
        "pvt_v2_b5",
    )
)

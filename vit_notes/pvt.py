"""Pyramid Vision Transformer, v1 and v2, built from spatial-reduction attention.

* PVT v1: Wang et al., "Pyramid Vision Transformer: A Versatile Backbone for Dense
  Prediction without Convolutions", ICCV 2021 (Fig. 3, Eq. 2-3; Table 1 configs).
* PVT v2: Wang et al., "PVT v2: Improved Baselines with Pyramid Vision Transformer",
  CVMJ 2022 (Fig. 1 linear SRA, Fig. 2 overlapping patch embedding and convolutional FFN).

Parameter names follow the official code (whai362/PVT) so its checkpoints, and
timm's ``pvt_v2`` attention modules, load into these modules unchanged.
"""
from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from . import registry, validate
from .attention import attend
from .trace import STATE, log_shapes


class SpatialReductionAttention(nn.Module):
    """Spatial-reduction attention, SRA (PVT v1 Eq. 2-3); linear SRA with ``linear=True`` (PVT v2 Fig. 1).

    Queries come from all ``N = H*W`` tokens; keys and values from a smaller grid:
    a ``sr_ratio x sr_ratio`` conv of stride ``sr_ratio`` + LayerNorm shrinks the
    ``H x W`` grid to ``floor(H/sr_ratio) x floor(W/sr_ratio)`` (the official code's
    behaviour: leftover rows and columns are dropped), so the attention matrix is
    ``N x N/sr_ratio²``. Linear SRA instead average-pools to a fixed ``pool_size²``
    grid (1x1 conv, LayerNorm, GELU), so its cost grows linearly in ``N``.

    ``num_prefix_tokens``: tokens before the grid (PVT v1's class token in the last
    stage); allowed only without spatial reduction, as in the official code.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale: float | None = None,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, sr_ratio: int = 1, linear: bool = False,
                 pool_size: int = 7, num_prefix_tokens: int = 0):
        super().__init__()
        head_dim = validate.heads_divide(dim, num_heads)
        validate.positive_int("sr_ratio", sr_ratio)
        validate.positive_int("num_prefix_tokens", num_prefix_tokens, minimum=0)
        if num_prefix_tokens and (sr_ratio > 1 or linear):
            raise ValueError(f"num_prefix_tokens={num_prefix_tokens} needs sr_ratio=1 and linear=False: "
                             "a class token has no place on the reduced key grid")
        self.dim, self.num_heads, self.sr_ratio, self.linear = dim, num_heads, sr_ratio, linear
        self.num_prefix_tokens = num_prefix_tokens
        self.scale = qk_scale or head_dim ** -0.5

        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        if linear:
            self.pool_size = validate.positive_int("pool_size", pool_size)
            self.pool = nn.AdaptiveAvgPool2d(pool_size)
            self.sr = nn.Conv2d(dim, dim, kernel_size=1, stride=1)
            self.norm = nn.LayerNorm(dim)
            self.act = nn.GELU()
        elif sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def reduce(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        """The tokens keys and values are computed from: ``(B, N, C) -> (B, M, C)``."""
        if not self.linear and self.sr_ratio == 1:
            return x
        grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        if self.linear:
            grid = self.sr(self.pool(grid))
        else:
            if H < self.sr_ratio or W < self.sr_ratio:
                raise ValueError(f"the token grid {H}x{W} is smaller than sr_ratio={self.sr_ratio}; "
                                 f"use sr_ratio <= {min(H, W)} or a larger image")
            grid = self.sr(grid)
        x_ = self.norm(rearrange(grid, "b c h w -> b (h w) c"))
        return self.act(x_) if self.linear else x_

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        validate.tokens_match_grid(x, H, W, self.num_prefix_tokens)
        h = self.num_heads
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=h)
        x_ = self.reduce(x, H, W)
        kv = rearrange(self.kv(x_), "b m (two h d) -> two b h m d", two=2, h=h)
        k, v = kv.unbind(0)
        if STATE.tracing:
            log_shapes(self, q=q, **({"x_reduced": x_} if x_ is not x else {}), kv=kv)
        out = attend(self, q, k, v, scale=self.scale, dropout_p=self.attn_drop.p if self.training else 0.0)
        out = self.proj_drop(self.proj(rearrange(out, "b h n d -> b n (h d)")))
        if STATE.tracing:
            log_shapes(self, output=out)
        return out


class DWConv(nn.Module):
    """Depthwise 3x3 conv on the token grid (PVT v2's convolutional feed-forward, Fig. 2)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        return rearrange(self.dwconv(x), "b c h w -> b (h w) c")


class Mlp(nn.Module):
    """Feed-forward: fc1, GELU, fc2; with ``dwconv=True`` the PVT v2 form fc1, (ReLU), DWConv, GELU, fc2."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0, dwconv: bool = False,
                 linear: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.dwconv = DWConv(hidden_features) if dwconv else None
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)
        self.relu = nn.ReLU(inplace=True) if linear else None

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = self.fc1(x)
        if self.relu is not None:
            x = self.relu(x)
        if self.dwconv is not None:
            x = self.dwconv(x, H, W)
        x = self.drop(self.act(x))
        return self.drop(self.fc2(x))


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Block(nn.Module):
    """Pre-norm transformer encoder block with SRA: x + SRA(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False,
                 qk_scale: float | None = None, drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0,
                 norm_layer=nn.LayerNorm, sr_ratio: int = 1, linear: bool = False, dwconv: bool = False,
                 num_prefix_tokens: int = 0):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = SpatialReductionAttention(dim, num_heads, qkv_bias, qk_scale, attn_drop, drop, sr_ratio, linear,
                                              num_prefix_tokens=num_prefix_tokens)
        self.drop_path = DropPath(drop_path)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop, dwconv=dwconv, linear=linear)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        return x + self.drop_path(self.mlp(self.norm2(x), H, W))


class PatchEmbed(nn.Module):
    """Non-overlapping patch embedding (PVT v1): conv of kernel = stride = patch size, then LayerNorm."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768,
                 stride: int | None = None, padding: int = 0):
        super().__init__()
        self.patch_size = validate.positive_int("patch_size", patch_size)
        self.stride = stride or patch_size
        self.img_size = validate.positive_int("img_size", img_size)
        self.H = self.W = (img_size + 2 * padding - patch_size) // self.stride + 1
        self.num_patches = self.H * self.W
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=self.stride, padding=padding)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        if x.dim() != 4:
            raise ValueError(f"expected images of shape (B, C, H, W), got a tensor of shape {tuple(x.shape)}")
        if self.stride == self.patch_size and (x.shape[2] % self.stride or x.shape[3] % self.stride):
            raise ValueError(f"input of {x.shape[2]}x{x.shape[3]} is not divisible by the patch size "
                             f"{self.patch_size}; use a size that is a multiple of {self.stride}")
        x = self.proj(x)
        H, W = x.shape[2:]
        return self.norm(rearrange(x, "b c h w -> b (h w) c")), H, W


def OverlapPatchEmbed(img_size: int = 224, patch_size: int = 7, stride: int = 4, in_chans: int = 3,
                      embed_dim: int = 768) -> PatchEmbed:
    """PVT v2's overlapping patch embedding: conv of kernel ``patch_size`` > ``stride``, zero padding."""
    return PatchEmbed(img_size, patch_size, in_chans, embed_dim, stride=stride, padding=patch_size // 2)


class PyramidVisionTransformer(nn.Module):
    """PVT v1 and v2 (``version=2``): four stages, each halving the resolution (1/4, 1/8, 1/16, 1/32).

    v1: patch embedding 4 then 2, a learned position embedding per stage (bilinearly
    resized for other image sizes, as the official code does), the class token only in
    the last stage, classifier on it. v2: overlapping patch embeddings (7/4 then 3/2),
    no position embedding, a depthwise conv in every FFN, a LayerNorm after every
    stage, classifier on the mean token.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 4, in_chans: int = 3, num_classes: int = 1000,
                 embed_dims=(64, 128, 256, 512), num_heads=(1, 2, 4, 8), mlp_ratios=(4, 4, 4, 4),
                 qkv_bias: bool = False, qk_scale: float | None = None, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0, norm_layer=nn.LayerNorm,
                 depths=(3, 4, 6, 3), sr_ratios=(8, 4, 2, 1), num_stages: int = 4, version: int = 1,
                 linear: bool = False):
        super().__init__()
        validate.one_of("version", version, {1, 2})
        validate.positive_int("num_stages", num_stages)
        for name, seq in dict(embed_dims=embed_dims, num_heads=num_heads, mlp_ratios=mlp_ratios, depths=depths,
                              sr_ratios=sr_ratios).items():
            if len(seq) != num_stages:
                raise ValueError(f"{name} has {len(seq)} entries but num_stages={num_stages}")
        for i in range(num_stages):
            validate.heads_divide(embed_dims[i], num_heads[i])
        stride = patch_size * 2 ** (num_stages - 1)
        if img_size % stride:
            raise ValueError(f"img_size={img_size} is not divisible by the total stride {stride} "
                             f"(patch_size {patch_size} x 2^{num_stages - 1}); use a multiple of {stride}")
        self.version, self.num_stages, self.num_classes, self.depths = version, num_stages, num_classes, depths
        self.patch_size = patch_size
        total = sum(depths)
        dpr = [drop_path_rate * j / max(total - 1, 1) for j in range(total)]  # stochastic-depth decay rule
        cur = 0
        for i in range(num_stages):
            in_ch = in_chans if i == 0 else embed_dims[i - 1]
            size = img_size if i == 0 else img_size // (patch_size * 2 ** (i - 1))
            if version == 1:
                patch_embed = PatchEmbed(size, patch_size if i == 0 else 2, in_ch, embed_dims[i])
            else:
                patch_embed = OverlapPatchEmbed(size, 7 if i == 0 else 3, patch_size if i == 0 else 2, in_ch,
                                                embed_dims[i])
            last = i == num_stages - 1
            prefix = 1 if (version == 1 and last) else 0
            block = nn.ModuleList([
                Block(embed_dims[i], num_heads[i], mlp_ratios[i], qkv_bias, qk_scale, drop_rate, attn_drop_rate,
                      dpr[cur + j], norm_layer, sr_ratios[i], linear=linear, dwconv=version == 2,
                      num_prefix_tokens=prefix)
                for j in range(depths[i])])
            cur += depths[i]
            setattr(self, f"patch_embed{i + 1}", patch_embed)
            setattr(self, f"block{i + 1}", block)
            if version == 1:
                setattr(self, f"pos_embed{i + 1}", nn.Parameter(torch.zeros(1, patch_embed.num_patches + prefix,
                                                                            embed_dims[i])))
                setattr(self, f"pos_drop{i + 1}", nn.Dropout(drop_rate))
            else:
                setattr(self, f"norm{i + 1}", norm_layer(embed_dims[i]))
        if version == 1:
            self.norm = norm_layer(embed_dims[-1])
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims[-1]))
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()
        if not registry.is_meta(self):
            self.apply(self._init_weights)
            for i in range(num_stages if version == 1 else 0):
                nn.init.trunc_normal_(getattr(self, f"pos_embed{i + 1}"), std=0.02)
            if version == 1:
                nn.init.trunc_normal_(self.cls_token, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # The official initialisation: truncated normal for linears, fan-out normal for convs.
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def _pos_embed(self, pos: torch.Tensor, patch_embed: PatchEmbed, H: int, W: int) -> torch.Tensor:
        if H * W == patch_embed.num_patches:
            return pos
        grid = rearrange(pos, "1 (h w) c -> 1 c h w", h=patch_embed.H, w=patch_embed.W)
        return rearrange(F.interpolate(grid, size=(H, W), mode="bilinear"), "1 c h w -> 1 (h w) c")

    def forward_features(self, x: torch.Tensor, return_stages: bool = False):
        """Image ``(B, 3, H, W)`` -> pooled features ``(B, C4)``; with ``return_stages`` also
        the list of stage feature maps ``(B, C_i, H/2^(i+2), W/2^(i+2))``."""
        if x.dim() != 4:
            raise ValueError(f"expected images of shape (B, C, H, W), got a tensor of shape {tuple(x.shape)}")
        stride = self.patch_size * 2 ** (self.num_stages - 1)
        if x.shape[2] % stride or x.shape[3] % stride:
            raise ValueError(f"image size {x.shape[2]}x{x.shape[3]} is not divisible by the total stride "
                             f"{stride}; use a multiple of {stride}")
        B = x.shape[0]
        stages = []
        for i in range(self.num_stages):
            patch_embed = getattr(self, f"patch_embed{i + 1}")
            x, H, W = patch_embed(x)
            last = i == self.num_stages - 1
            if self.version == 1:
                pos = getattr(self, f"pos_embed{i + 1}")
                if last:
                    x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
                    pos = torch.cat((pos[:, :1], self._pos_embed(pos[:, 1:], patch_embed, H, W)), dim=1)
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


_V1 = dict(patch_size=4, embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4),
           qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), sr_ratios=(8, 4, 2, 1))
_V2 = dict(_V1, version=2)

#: Configurations of the PVT family (PVT v1 Table 1; PVT v2 Table 1 and the official code).
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


create, _FACTORIES = registry.family(PyramidVisionTransformer, CONFIGS)
pvt_tiny, pvt_small, pvt_medium, pvt_large = (_FACTORIES[n] for n in ("pvt_tiny", "pvt_small", "pvt_medium",
                                                                      "pvt_large"))
pvt_v2_b0, pvt_v2_b1, pvt_v2_b2, pvt_v2_b2_li, pvt_v2_b3, pvt_v2_b4, pvt_v2_b5 = (
    _FACTORIES[n] for n in ("pvt_v2_b0", "pvt_v2_b1", "pvt_v2_b2", "pvt_v2_b2_li", "pvt_v2_b3", "pvt_v2_b4",
                            "pvt_v2_b5"))


def state_dict_from_timm(timm_state: dict) -> dict:
    """Rename a timm ``pvt_v2_*`` state dict to this module's (= the official code's) names.

    timm groups blocks in ``stages.{i}`` with a ``downsample`` patch embedding and calls the
    FFN's depthwise conv ``mlp.dwconv``; the official code uses ``patch_embed{i+1}``,
    ``block{i+1}``, ``norm{i+1}`` and ``mlp.dwconv.dwconv``. Attention weights keep their names.
    """
    import re

    rules = [(r"^patch_embed\.", "patch_embed1."),
             (r"^stages\.(\d+)\.downsample\.", lambda m: f"patch_embed{int(m[1]) + 1}."),
             (r"^stages\.(\d+)\.blocks\.", lambda m: f"block{int(m[1]) + 1}."),
             (r"^stages\.(\d+)\.norm\.", lambda m: f"norm{int(m[1]) + 1}."),
             (r"\.mlp\.dwconv\.", ".mlp.dwconv.dwconv.")]
    out = {}
    for key, value in timm_state.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


#: The papers' own numbers, for the family table to be compared against (not used in any
#: computation): parameters in millions and GFLOPs (= G multiply-adds) at 224².
#: PVT v1 Table 1 (ICCV 2021); PVT v2 Table 1 (CVMJ 2022).
PAPER = {
    "pvt_tiny": (13.2, 1.9), "pvt_small": (24.5, 3.8), "pvt_medium": (44.2, 6.7), "pvt_large": (61.4, 9.8),
    "pvt_v2_b0": (3.4, 0.6), "pvt_v2_b1": (14.0, 2.1), "pvt_v2_b2": (25.4, 4.0), "pvt_v2_b2_li": (22.6, 3.9),
    "pvt_v2_b3": (45.2, 6.9), "pvt_v2_b4": (62.6, 10.1), "pvt_v2_b5": (82.0, 11.8),
}

"""Shunted Transformer: keys and values at several scales inside one attention layer.

Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation", CVPR 2022. The
paper's body text was not read: the modules follow the official code. The equations of
:mod:`vit_notes.shunted.paper` use the paper's symbols and follow the official code.

PVT's spatial-reduction attention (:mod:`vit_notes.pvt`) gives every head the same
coarse key grid. Shunted self-attention merges the keys' and values' tokens at a rate of each
head's own (``r_i``); the official code splits the heads in two groups with rates
``r`` and ``r/2``, a coarse key grid and a finer one in the same layer. The paper's aim, in its
abstract: to "represent larger object features while keeping certain tokens to preserve
fine-grained features". Where the code departs from the equations is listed in
:mod:`vit_notes.shunted.paper`.

Parameter names follow the official code (OliverRensu/Shunted-Transformer, ``SSA.py``)
so its checkpoints load into these modules unchanged.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import torch
from einops import rearrange
from torch import nn

from .. import registry, validate
from ..attention import attend
from ..layers import DropPath, DWConv, drop_path_rates, init_weights, reduced_grid
from ..pvt.model import OverlapPatchEmbed
from ..trace import STATE, log_shapes


def kv_grids(H: int, W: int, sr_ratio: int) -> tuple[tuple[int, int], ...]:
    """The key/value grids of a shunted layer on an ``H x W`` token grid.

    ``sr_ratio > 1``: ``((H//r, W//r), (H//(r/2), W//(r/2)))``, one per head group (a conv
    of kernel = stride drops leftover rows and columns, as in the official code);
    ``sr_ratio == 1``: ``((H, W),)``, plain attention.
    """
    H, W = validate.size("H", H), validate.size("W", W)
    r = check_sr_ratio(sr_ratio)
    if r == 1:
        return ((H, W),)
    return reduced_grid(H, W, r), reduced_grid(H, W, r // 2)


def check_sr_ratio(sr_ratio) -> int:
    """``sr_ratio`` must be 1 or an even integer (the second head group uses ``sr_ratio // 2``)."""
    r = validate.kernel("sr_ratio", sr_ratio)
    if r > 1 and r % 2:
        raise ValueError(
            f"sr_ratio={r} does not halve to an integer: the second head group reduces by "
            f"sr_ratio/2 = {r / 2}; use 1 or an even sr_ratio such as {r - 1} or {r + 1}"
        )
    return r


def check_head_groups(num_heads: int, sr_ratio: int, dim: int | None = None) -> None:
    """``sr_ratio > 1`` splits the heads into two equal groups, so ``num_heads`` must be even."""
    num_heads = validate.width("num_heads", num_heads)
    sr_ratio = check_sr_ratio(sr_ratio)
    if dim is not None:
        dim = validate.width("dim", dim)
    if sr_ratio > 1 and num_heads % 2:
        options = (
            f" (divisors of dim={dim}: {[d for d in validate.divisors(dim) if d % 2 == 0]})"
            if dim
            else ""
        )
        raise ValueError(
            f"num_heads={num_heads} is odd but sr_ratio={sr_ratio} > 1 splits the heads into "
            f"two equal groups; use an even num_heads{options} or sr_ratio=1"
        )


def shunted_weights(dim: int, sr_ratio: int) -> int:
    """The weights of a :class:`ShuntedAttention` of ``dim`` channels: q, output and the two
    key/value projections (``4 dim²``), the two reduction convs (``dim² (r² + (r/2)²)``) and
    the depthwise local convs."""
    if sr_ratio > 1:
        return 4 * dim * dim + dim * dim * (sr_ratio**2 + (sr_ratio // 2) ** 2) + 9 * dim
    return 4 * dim * dim + 9 * dim


class ShuntedAttention(nn.Module):
    """Shunted self-attention, SSA (Ren et al. 2022): the official ``Attention`` of ``SSA.py``.

    ``sr_ratio = r > 1``: queries come from all ``N = H*W`` tokens. The heads split in two
    equal groups. Group ``i`` (``i = 1, 2``) sees keys and values computed from the grid
    shrunk by ``r_i`` (``r_1 = r``, ``r_2 = r/2``): a conv of kernel = stride ``r_i``
    (``sr1``/``sr2``), LayerNorm (``norm1``/``norm2``), GELU (``act``), and a linear
    ``kv_i: C -> C`` giving K and V for the ``h/2`` heads of the group. The conv, LayerNorm
    and GELU are MTA's token merge (``Merge(X, r_i)`` in the chapter's equations). Local
    enhancement (LE), MTA's other part: ``DWConv3x3(V_i)`` on V's reduced grid
    (``local_conv1``/``local_conv2``, ``C/2`` channels each); ``V_i + LE(V_i)`` replaces ``V_i``
    in the weighted sum. The two
    groups' outputs, ``C/2`` channels each, are concatenated and projected (``proj``).

    ``sr_ratio = 1``: plain multi-head attention (``kv: C -> 2C``) plus a depthwise 3x3 conv
    of V on the full grid (``local_conv``) added to the attention output, as the official code
    does. The chapter's equations, written from stages 1-3 of the official code, add LE to V
    before the weighted sum, as the question in issue 14 quotes the paper ("local enhancing
    component of MTA for value V").

    Call as ``attn(x, H, W)`` with ``x`` of shape ``(B, H*W, C)``. Under
    :func:`~vit_notes.trace.record_attention` the maps are stored per group as
    ``<layer>.attn1`` (coarse) and ``<layer>.attn2`` (fine); ``<layer>`` alone when ``r = 1``.
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
    ):
        super().__init__()
        head_dim = validate.heads_divide(dim, num_heads)
        sr_ratio = check_sr_ratio(sr_ratio)
        check_head_groups(num_heads, sr_ratio, dim)
        validate.weights_fit("dim", dim, lambda d: shunted_weights(d, sr_ratio), "the layer")
        self.dim, self.num_heads, self.sr_ratio = dim, num_heads, sr_ratio
        # None: the default 1/√d. Any other number is honoured, 0 too (uniform attention).
        self.scale = (
            head_dim**-0.5
            if qk_scale is None
            else validate.number("qk_scale", qk_scale, low=-1e6, high=1e6)
        )

        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(validate.attention_dropout("attn_drop", attn_drop))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(validate.probability("proj_drop", proj_drop))
        if sr_ratio > 1:
            self.act = nn.GELU()
            self.sr1 = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm1 = nn.LayerNorm(dim)
            self.sr2 = nn.Conv2d(dim, dim, kernel_size=sr_ratio // 2, stride=sr_ratio // 2)
            self.norm2 = nn.LayerNorm(dim)
            self.kv1 = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv2 = nn.Linear(dim, dim, bias=qkv_bias)
            half = dim // 2
            self.local_conv1 = nn.Conv2d(
                half, half, kernel_size=3, padding=1, stride=1, groups=half
            )
            self.local_conv2 = nn.Conv2d(
                half, half, kernel_size=3, padding=1, stride=1, groups=half
            )
        else:
            self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
            self.local_conv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, stride=1, groups=dim)

    def reduce(self, x: torch.Tensor, H: int, W: int) -> tuple[tuple[torch.Tensor, int, int], ...]:
        """MTA's token merge, ``Merge(X, r_i)``: ``(B, N, C)`` -> one ``(tokens, h_i, w_i)`` per
        head group, ``tokens`` of shape ``(B, h_i*w_i, C)`` after conv, LayerNorm and GELU."""
        kv_grids(H, W, self.sr_ratio)  # raises for a grid smaller than sr_ratio
        grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        out = []
        for sr, norm in ((self.sr1, self.norm1), (self.sr2, self.norm2)):
            g = sr(grid)
            h, w = g.shape[-2:]
            out.append((self.act(norm(rearrange(g, "b c h w -> b (h w) c"))), h, w))
        return tuple(out)

    def _group(
        self,
        q: torch.Tensor,
        x_: torch.Tensor,
        h: int,
        w: int,
        kv: nn.Linear,
        local_conv: nn.Conv2d,
        tag: str,
    ) -> torch.Tensor:
        """One head group: K, V from the reduced tokens, local enhancement of V (LE), attention."""
        kv_ = rearrange(kv(x_), "b m (two h d) -> two b h m d", two=2, h=self.num_heads // 2)
        k, v = kv_.unbind(0)
        v_local = rearrange(
            local_conv(rearrange(v, "b h (y x) d -> b (h d) y x", y=h, x=w)),
            "b (h d) y x -> b h (y x) d",
            h=self.num_heads // 2,
        )
        if STATE.tracing:
            log_shapes(
                self,
                **{
                    f"kv{tag[-1]}": kv_,
                    f"v{tag[-1]}_grid": (v.shape[0], v.shape[1], h, w, v.shape[-1]),
                },
            )
        out = attend(
            self,
            q,
            k,
            v + v_local,
            scale=self.scale,
            kv_grid=(h, w),
            dropout_p=self.attn_drop.p if self.training else 0.0,
            tag=tag,
        )
        return rearrange(out, "b h n d -> b n (h d)")

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        validate.tokens_match_grid(x, H, W, dtype=self.q.weight.dtype, device=self.q.weight.device)
        if x.shape[-1] != self.dim:
            raise ValueError(
                f"x has {x.shape[-1]} channels but this layer was built for dim={self.dim}"
            )
        h = self.num_heads
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=h)
        if STATE.tracing:
            log_shapes(self, q=q)
        if self.sr_ratio > 1:
            (x1, h1, w1), (x2, h2, w2) = self.reduce(x, H, W)
            if STATE.tracing:
                log_shapes(self, x1_reduced=x1, x2_reduced=x2)
            out = torch.cat(
                [
                    self._group(q[:, : h // 2], x1, h1, w1, self.kv1, self.local_conv1, "attn1"),
                    self._group(q[:, h // 2 :], x2, h2, w2, self.kv2, self.local_conv2, "attn2"),
                ],
                dim=-1,
            )
        else:
            kv = rearrange(self.kv(x), "b m (two h d) -> two b h m d", two=2, h=h)
            k, v = kv.unbind(0)
            if STATE.tracing:
                log_shapes(self, kv=kv)
            out = attend(
                self,
                q,
                k,
                v,
                scale=self.scale,
                kv_grid=(H, W),
                dropout_p=self.attn_drop.p if self.training else 0.0,
            )
            local = self.local_conv(rearrange(v, "b h (y x) d -> b (h d) y x", y=H, x=W))
            out = rearrange(out, "b h n d -> b n (h d)") + rearrange(local, "b c y x -> b (y x) c")
        out = self.proj_drop(self.proj(out))
        if STATE.tracing:
            log_shapes(self, output=out)
        return out


class DetailSpecificMlp(nn.Module):
    """The feed-forward of a block, the official ``Mlp``: ``fc2(act(h + DWConv3x3(h)))``,
    ``h = fc1(x)``.

    Unlike PVT v2's convolutional FFN, the depthwise conv is a residual branch: the
    pointwise features pass through unchanged and local detail is added on top.
    """

    def __init__(self, in_features: int, hidden_features: int | None = None, drop: float = 0.0):
        super().__init__()
        in_features, hidden_features = validate.feed_forward(
            in_features, in_features if hidden_features is None else hidden_features
        )
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.dwconv = DWConv(hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(validate.probability("drop", drop))

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        validate.feature_tokens(x, self.fc1.weight, H, W)
        x = self.fc1(x)
        x = self.drop(self.act(x + self.dwconv(x, H, W)))
        return self.drop(self.fc2(x))


class Block(nn.Module):
    """Pre-norm Shunted block: x + SSA(LN(x)), then x + detail-specific FFN(LN(x))."""

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
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        super().__init__()
        validate.heads_divide(dim, num_heads)
        validate.hidden_width("mlp_ratio", mlp_ratio, dim)
        self.norm1 = norm_layer(dim)
        self.attn = ShuntedAttention(
            dim,
            num_heads,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop=attn_drop,
            proj_drop=drop,
            sr_ratio=sr_ratio,
        )
        self.drop_path = DropPath(drop_path)
        self.norm2 = norm_layer(dim)
        self.mlp = DetailSpecificMlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        return x + self.drop_path(self.mlp(self.norm2(x), H, W))


class ConvStem(nn.Module):
    """The convolutional stem, stage 1's patch embedding (the official ``Head``).

    Conv 7x7 stride 2 (no bias) + BatchNorm + ReLU, then ``num_conv`` x (conv 3x3 + BatchNorm +
    ReLU), then a conv of kernel 2 stride 2 and LayerNorm: ``(B, 3, H, W)`` -> tokens of
    the ``H/4 x W/4`` grid. Returns ``(tokens, H/4, W/4)``.
    """

    def __init__(self, num_conv: int = 0, in_chans: int = 3, embed_dim: int = 64):
        super().__init__()
        self.num_conv = validate.positive_int(
            "num_conv",
            num_conv,
            minimum=0,
            maximum=validate.MAX_DEPTH,
            why="official stems have at most 2 extra convs",
        )
        self.in_chans = validate.width("in_chans", in_chans)
        embed_dim = validate.width("embed_dim", embed_dim)
        validate.weights_fit(
            "embed_dim",
            embed_dim,
            lambda e: 49 * self.in_chans * e + (9 * self.num_conv + 4) * e * e,
            f"the stem (a 7x7 conv from {self.in_chans} channels, {self.num_conv} 3x3 convs "
            "and a 2x2 conv)",
        )
        layers = [
            nn.Conv2d(in_chans, embed_dim, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(embed_dim),
            nn.ReLU(True),
        ]
        for _ in range(num_conv):
            layers += [
                nn.Conv2d(embed_dim, embed_dim, kernel_size=3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(embed_dim),
                nn.ReLU(True),
            ]
        layers.append(nn.Conv2d(embed_dim, embed_dim, kernel_size=2, stride=2))
        self.conv = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        validate.image(
            x, self.in_chans, dtype=self.norm.weight.dtype, device=self.norm.weight.device
        )
        if min(x.shape[2:]) < 4:
            raise ValueError(
                f"image of {x.shape[2]}x{x.shape[3]} is too small for the stem (stride 4); "
                "use at least 4x4"
            )
        x = self.conv(x)
        H, W = x.shape[2:]
        return self.norm(rearrange(x, "b c h w -> b (h w) c")), H, W


class ShuntedTransformer(nn.Module):
    """Shunted Transformer (Ren et al. 2022, as the official SSA.py builds it):
    four stages at 1/4, 1/8, 1/16, 1/32.

    Stage 1 embeds with the convolutional stem (:class:`ConvStem`), stages 2-4 with an
    overlapping patch embedding (conv 3x3 stride 2, LayerNorm). Every block is shunted
    self-attention + detail-specific FFN; each stage ends in a LayerNorm; the classifier
    reads the mean token of the last stage (no class token).
    """

    def __init__(
        self,
        img_size: int = 224,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dims=(64, 128, 256, 512),
        num_heads=(2, 4, 8, 16),
        mlp_ratios=(8, 8, 4, 4),
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_layer=nn.LayerNorm,
        depths=(1, 2, 4, 1),
        sr_ratios=(8, 4, 2, 1),
        num_stages: int = 4,
        num_conv: int = 0,
    ):
        norm_layer = validate.layer_factory("norm_layer", norm_layer)
        qkv_bias = validate.flag("qkv_bias", qkv_bias)
        super().__init__()
        drop_rate = validate.probability("drop_rate", drop_rate)
        attn_drop_rate = validate.attention_dropout("attn_drop_rate", attn_drop_rate)
        num_stages = validate.stages("num_stages", num_stages)
        img_size = validate.image_side("img_size", img_size)
        num_classes = validate.classes("num_classes", num_classes)
        validate.same_length(
            num_stages,
            embed_dims=embed_dims,
            num_heads=num_heads,
            mlp_ratios=mlp_ratios,
            depths=depths,
            sr_ratios=sr_ratios,
        )
        for i in range(num_stages):
            # Build-time checks of every stage's attention config, with the stage named.
            try:
                validate.depth(f"depths[{i}]", depths[i])
                validate.width(f"embed_dims[{i}]", embed_dims[i])
                validate.width(f"num_heads[{i}]", num_heads[i])
                validate.heads_divide(embed_dims[i], num_heads[i])
                validate.kernel(f"sr_ratios[{i}]", sr_ratios[i])
                check_head_groups(num_heads[i], check_sr_ratio(sr_ratios[i]), embed_dims[i])
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
        self.num_stages, self.num_classes, self.depths = num_stages, num_classes, tuple(depths)
        self.embed_dims, self.sr_ratios = tuple(embed_dims), tuple(sr_ratios)
        dpr = drop_path_rates(drop_path_rate, depths)
        for i in range(num_stages):
            if i == 0:
                patch_embed = ConvStem(num_conv, in_chans, embed_dims[0])
            else:
                patch_embed = OverlapPatchEmbed(
                    img_size=max(img_size // 2 ** (i + 1), 1),
                    patch_size=3,
                    stride=2,
                    in_chans=embed_dims[i - 1],
                    embed_dim=embed_dims[i],
                )
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
                    )
                    for rate in dpr[i]
                ]
            )
            setattr(self, f"patch_embed{i + 1}", patch_embed)
            setattr(self, f"block{i + 1}", block)
            setattr(self, f"norm{i + 1}", norm_layer(embed_dims[i]))
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()
        if not registry.is_meta(self):
            self.apply(init_weights)  # the same official initialisation as PVT

    def forward_features(self, x: torch.Tensor, return_stages: bool = False):
        """Image ``(B, 3, H, W)`` -> pooled features ``(B, C4)``; with ``return_stages`` also the
        list of stage feature maps ``(B, C_i, H_i, W_i)``, ``H_i`` about ``H/2^(i+2)``."""
        validate.image(x)  # channels and dtype: checked by the stem
        B = x.shape[0]
        stages = []
        for i in range(self.num_stages):
            x, H, W = getattr(self, f"patch_embed{i + 1}")(x)
            if min(H, W) < self.sr_ratios[i]:
                raise ValueError(
                    f"stage {i + 1}: the token grid {H}x{W} is smaller than sr_ratio="
                    f"{self.sr_ratios[i]}; use a larger image (e.g. a multiple of 32, >= 64)"
                )
            for blk in getattr(self, f"block{i + 1}"):
                x = blk(x, H, W)
            x = getattr(self, f"norm{i + 1}")(x)
            if STATE.tracing:
                log_shapes(self, **{f"stage{i + 1}": (B, H, W, x.shape[-1])})
            grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W).contiguous()
            stages.append(grid)
            if i != self.num_stages - 1:
                x = grid
        pooled = x.mean(dim=1)
        return (pooled, stages) if return_stages else pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


_COMMON = dict(
    embed_dims=(64, 128, 256, 512),
    num_heads=(2, 4, 8, 16),
    mlp_ratios=(8, 8, 4, 4),
    qkv_bias=True,
    norm_layer=partial(nn.LayerNorm, eps=1e-6),
    sr_ratios=(8, 4, 2, 1),
)

#: Configurations of the Shunted family (Ren et al. 2022), as the official code's SSA.py
#: builds them.
CONFIGS: dict[str, dict] = {
    "shunted_t": dict(_COMMON, depths=(1, 2, 4, 1), num_conv=0),
    "shunted_s": dict(_COMMON, depths=(2, 4, 12, 1), num_conv=1),
    "shunted_b": dict(_COMMON, depths=(3, 4, 24, 2), num_conv=2),
}

_SRC = (
    "params and top-1: the official README's results list; GFLOPs at 224²: the paper's "
    "ImageNet-1K comparison table"
)


def _paper(params_m: float, gflops: float, top1: float) -> registry.Paper:
    return registry.Paper(
        params_m=params_m,
        gflops=gflops,
        top1=top1,
        cite="ren2022shunted",
        source=_SRC,
        readme=("params_m", "top1"),
    )


#: The paper's numbers, shown beside the book's counts (never used in a computation):
#: parameters (M) and ImageNet-1k top-1 (%) from the results list in the official repository's
#: README, which gives no FLOPs, and GFLOPs at 224² from the paper's ImageNet-1K comparison
#: table. That one FLOP there is one multiply-add is our reading: the book's counts come
#: within a few percent above them (the chapter glues by how much), where two FLOPs per
#: multiply-add would put them near half.
PAPER = {
    "shunted_t": _paper(params_m=11.5, gflops=2.1, top1=79.8),
    "shunted_s": _paper(params_m=22.4, gflops=4.9, top1=82.9),
    "shunted_b": _paper(params_m=39.6, gflops=8.1, top1=84.0),
}
#: What running the official code gives (OliverRensu/Shunted-Transformer ``SSA.py``, commit
#: 6861101): each model's parameter count, and ``shunted_t()``'s state_dict keys and shapes.
OFFICIAL_FILE = Path(__file__).with_name("official_shunted_t.json")
_OFFICIAL = json.loads(OFFICIAL_FILE.read_text())
#: Parameters (M) counted by running the official ``SSA.py`` (:data:`OFFICIAL_FILE`).
CODE_PARAMS = {name: n / 1e6 for name, n in _OFFICIAL["params"].items()}


def official_state_dict() -> dict[str, torch.Tensor]:
    """A state_dict with the keys and shapes of the official ``shunted_t()`` (zeros), as
    recorded in :data:`OFFICIAL_FILE`: ``shunted_t().load_state_dict(..., strict=True)``
    accepts it, so the official checkpoint's layout loads without a download."""
    return {k: torch.zeros(shape) for k, shape in _OFFICIAL["state_dict"].items()}


create, _FACTORIES = registry.register_family("shunted", ShuntedTransformer, CONFIGS, PAPER)
shunted_t, shunted_s, shunted_b = (_FACTORIES[n] for n in ("shunted_t", "shunted_s", "shunted_b"))

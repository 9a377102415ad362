"""One backbone for every variant of the redesigned study (issue 23): only the attention changes.

:class:`Backbone` is a plain single-stage transformer: a patch embedding (conv of kernel = stride
= ``patch``, LayerNorm), a fixed 2-D sine-cosine position embedding (half of the channels for the
row, half for the column, no parameters), ``depth`` pre-norm blocks ``x + attn(LN(x))``,
``x + FFN(LN(x))`` with PVT's feed-forward (:class:`~vit_notes.pvt.model.Mlp`, fc1, GELU, fc2),
then LayerNorm, the mean over tokens and a linear classifier. Every block's attention layer comes
from :data:`ATTENTION`, by name, and is the only thing that differs between variants.

Options shared by every variant, for the study's pilots (vit_notes.learned.study lists what
each did): ``pos`` (the embedding's frequency spacing, :func:`sincos_2d`), ``readout`` (the
mean or the per-channel maximum over tokens) and ``init_std`` (std of every linear layer's
initial weights, shared parts and attention alike; 0.02 is the official initialisation).
The defaults are the settings of the recorded runs.

The attention layers are the package's own where one fits:

* ``full``: :class:`~vit_notes.pvt.model.SpatialReductionAttention` with ``sr_ratio=1``.
* ``sra2``, ``sra4``, ``sra8``: the same class with ``sr_ratio=R``, PVT's strided-conv reduction
  (a conv of kernel = stride = R, LayerNorm).
* ``avg2``, ``avg4``, ``avg8``: :class:`AvgPoolSRA`, SRA whose reduction is an R×R average
  pool and a LayerNorm (no weights in the reduction but the LayerNorm's).
* ``linear2``: linear SRA (PVT v2): average pool to a 2×2 key grid, 1×1 conv, LayerNorm, GELU.
* ``shunted4``, ``shunted8``: :class:`~vit_notes.shunted.model.ShuntedAttention` with
  ``sr_ratio=r`` (half of the heads see keys reduced by r, half by r/2), with local enhancement.
* ``shunted4_nole``, ``shunted8_nole``: :class:`ShuntedNoLE`, the same without local enhancement.
* ``pool``: the one-key baseline, linear SRA pooled to a 1×1 grid: every query gets weight 1 on
  the single key, so the layer broadcasts one pooled vector to every token. It cannot select.

Initialisation: the shared parts are built and initialised first, then the attention layers,
so two variants built from one seed start with the same stem, feed-forwards, norms and classifier,
bit for bit (tests/test_study_backbone.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import validate
from ..attention import attend
from ..layers import init_weights
from ..pvt.model import Mlp, SpatialReductionAttention
from ..shunted.model import ShuntedAttention


class AvgPoolSRA(SpatialReductionAttention):
    """SRA with a parameter-free reduction: an R×R average pool of stride R, then LayerNorm.

    Same queries, keys, values and projection as :class:`SpatialReductionAttention` with
    ``sr_ratio=R``; only ``sr`` (the strided conv, R²·C² weights) is replaced by the pool."""

    def __init__(self, dim: int, num_heads: int = 8, sr_ratio: int = 2, **kwargs):
        super().__init__(dim, num_heads, sr_ratio=1, **kwargs)
        self.sr_ratio = validate.positive_int("sr_ratio", sr_ratio, minimum=2)
        self.norm = nn.LayerNorm(dim)

    def reduce(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        self.kv_grid(H, W)  # a grid smaller than the pool: a clear error
        grid = F.avg_pool2d(grid, self.sr_ratio)
        return self.norm(rearrange(grid, "b c h w -> b (h w) c"))


class ShuntedNoLE(ShuntedAttention):
    """Shunted self-attention without local enhancement: each head group attends to its own
    reduced keys and values, and V is used as it is (no depthwise conv added)."""

    def __init__(self, dim: int, num_heads: int = 8, sr_ratio: int = 2, **kwargs):
        super().__init__(dim, num_heads, sr_ratio=sr_ratio, **kwargs)
        if self.sr_ratio < 2:
            raise ValueError(f"sr_ratio={sr_ratio}: ShuntedNoLE needs two scales, sr_ratio >= 2")
        # Registered as None: no weights, and the parent's forward passes None to _group.
        self.local_conv1 = self.local_conv2 = None

    def _group(self, q, x_, h, w, kv, local_conv, tag):
        kv_ = rearrange(kv(x_), "b m (two h d) -> two b h m d", two=2, h=self.num_heads // 2)
        k, v = kv_.unbind(0)
        out = attend(
            self,
            q,
            k,
            v,
            scale=self.scale,
            kv_grid=(h, w),
            dropout_p=self.attn_drop.p if self.training else 0.0,
            tag=tag,
        )
        return rearrange(out, "b h n d -> b n (h d)")


def _sra(dim: int, heads: int, **kw) -> nn.Module:
    return SpatialReductionAttention(dim, heads, qkv_bias=True, **kw)


def _avg(dim: int, heads: int, sr_ratio: int) -> nn.Module:
    return AvgPoolSRA(dim, heads, sr_ratio, qkv_bias=True)


def _shunted(dim: int, heads: int, sr_ratio: int, le: bool = True) -> nn.Module:
    kind = ShuntedAttention if le else ShuntedNoLE
    return kind(dim, heads, qkv_bias=True, sr_ratio=sr_ratio)


#: The attention variants by name: each a function ``(dim, heads) -> layer``.
ATTENTION: dict[str, Callable[[int, int], nn.Module]] = {
    "full": partial(_sra, sr_ratio=1),
    **{f"sra{r}": partial(_sra, sr_ratio=r) for r in (2, 4, 8)},
    **{f"avg{r}": partial(_avg, sr_ratio=r) for r in (2, 4, 8)},
    "linear2": partial(_sra, linear=True, pool_size=2),
    **{f"shunted{r}": partial(_shunted, sr_ratio=r) for r in (4, 8)},
    **{f"shunted{r}_nole": partial(_shunted, sr_ratio=r, le=False) for r in (4, 8)},
    "pool": partial(_sra, linear=True, pool_size=1),
}


#: How the sine-cosine embedding spaces its frequencies (:func:`sincos_2d`).
POS_SPACINGS = ("even", "geometric")


#: The most numbers (``H * W * dim``) :func:`sincos_2d` builds: 2**28 float32s are 1 GiB.
MAX_EMBED = 2**28


def sincos_2d(H: int, W: int, dim: int, spacing: str = "geometric") -> torch.Tensor:
    """A fixed 2-D sine-cosine position embedding ``(H*W, dim)``: the first half of the channels
    encodes the row, the second half the column (``dim`` a multiple of 4), each with the sine and
    cosine of ``q = dim/4`` frequencies.

    ``spacing="geometric"`` (the default, what every recorded run used): frequencies
    ``(pi/2) / 100^(j/q)``, a geometric series as in the Transformer's embedding. Its low
    frequencies are nearly alike: on 16 rows at ``dim=32`` the row halves span about 9 useful
    directions, not 16, and neighbouring rows have dot product 6.5 of 8, so no bilinear form
    (one attention score) tells "same row" from "next row" sharply.

    ``spacing="even"``: frequencies ``pi (j + 1/2) / q``, ``j = 0 .. q-1``, evenly spaced up to
    half a turn per row. The row halves of any two of ``2q`` rows are then orthogonal (dot
    product 0, and ``q`` with itself), so one bilinear form reads "same row" exactly; a grid of
    more than ``2q`` rows or columns is refused (rows ``2q`` apart would be negatives).

    ``H`` and ``W`` are at most :data:`~vit_notes.validate.MAX_IMAGE` each, and the embedding
    holds at most :data:`MAX_EMBED` numbers (``H * W * dim``)."""
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    dim = validate.width("dim", dim, minimum=4)
    if H * W * dim > MAX_EMBED:
        raise ValueError(
            f"H={H}, W={W} and dim={dim} make an embedding of {H * W * dim:,} numbers, more "
            f"than the {MAX_EMBED:,} allowed: use a smaller grid or dim"
        )
    if dim % 4:
        raise ValueError(f"dim={dim}: the 2-D sine-cosine embedding needs a multiple of 4")
    validate.one_of("spacing", spacing, POS_SPACINGS)
    quarter = dim // 4
    j = torch.arange(quarter, dtype=torch.float32)
    if spacing == "even":
        if max(H, W) > 2 * quarter:
            raise ValueError(
                f"dim={dim}: evenly spaced frequencies tell apart at most dim/2 = {2 * quarter} "
                f"rows or columns, got a {H}x{W} grid; use a larger dim or spacing='geometric'"
            )
        freq = torch.pi * (j + 0.5) / quarter
    else:
        freq = torch.pi / 2 / (100.0 ** (j / quarter))

    def one(n):
        a = torch.arange(n, dtype=torch.float32)[:, None] * freq[None]
        return torch.cat([a.sin(), a.cos()], dim=1)  # (n, dim/2)

    rows, cols = one(H), one(W)
    return torch.cat([rows[:, None].expand(H, W, -1), cols[None].expand(H, W, -1)], dim=-1).reshape(
        H * W, dim
    )


#: How the tokens become one vector for the classifier: their mean, or their maximum per channel.
READOUTS = ("mean", "max")


class Block(nn.Module):
    """Pre-norm block: ``x + attn(LN(x), H, W)``, then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn: nn.Module | None = None  # set by Backbone, after the shared parts
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), H, W)
        return x + self.mlp(self.norm2(x), H, W)


class Backbone(nn.Module):
    """The study's shared backbone with attention ``attention`` (a name in :data:`ATTENTION`).

    ``img_size`` px images, ``patch`` px patches (a ``img_size/patch`` token grid: 16 × 16 at the
    defaults, one token per cell of :mod:`.pairs`, so R = 2, 4, 8 give 8 × 8, 4 × 4 and 2 × 2
    key grids), ``dim``
    channels, ``depth`` blocks of ``heads`` heads, ``mlp_ratio`` hidden width of the
    feed-forward, ``num_classes`` outputs. ``embed_norm=False`` drops the LayerNorm after the
    patch embedding (which scales a dark background patch's noise up to a mark's loudness).
    ``pos``: :data:`POS_SPACINGS`; ``readout``: :data:`READOUTS`; ``init_std``: the linears'
    initial std (module docstring)."""

    def __init__(
        self,
        attention: str = "full",
        img_size: int = 48,
        patch: int = 3,
        dim: int = 32,
        depth: int = 2,
        heads: int = 2,
        mlp_ratio: float = 2.0,
        num_classes: int = 2,
        embed_norm: bool = True,
        pos: str = "geometric",
        readout: str = "mean",
        init_std: float = 0.02,
    ):
        super().__init__()
        validate.one_of("attention", attention, ATTENTION)
        img_size = validate.positive_int("img_size", img_size)
        patch = validate.positive_int("patch", patch)
        if img_size % patch:
            raise ValueError(f"img_size={img_size} must be a multiple of patch={patch}")
        self.attention, self.grid = attention, img_size // patch
        self.depth = validate.positive_int("depth", depth)
        validate.heads_divide(dim, heads)
        num_classes = validate.positive_int("num_classes", num_classes, minimum=2)
        validate.one_of("readout", readout, READOUTS)
        self.readout = readout
        init_std = validate.number("init_std", init_std, low=0.0, low_open=True)

        def init(m: nn.Module) -> None:  # the official init; linears at init_std if asked
            init_weights(m)
            if isinstance(m, nn.Linear) and init_std != 0.02:
                nn.init.trunc_normal_(m.weight, std=init_std, a=-2 * init_std, b=2 * init_std)

        # Shared parts first, so that their initial weights do not depend on the attention.
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
        self.embed_norm = nn.LayerNorm(dim) if embed_norm else nn.Identity()
        self.register_buffer(
            "pos_embed", sincos_2d(self.grid, self.grid, dim, pos), persistent=False
        )
        self.blocks = nn.ModuleList(Block(dim, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.apply(init)
        for blk in self.blocks:
            blk.attn = ATTENTION[attention](dim, heads)
            blk.attn.apply(init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        validate.image(
            x, 3, dtype=self.patch_embed.weight.dtype, device=self.patch_embed.weight.device
        )
        x = self.patch_embed(x)
        H, W = x.shape[-2:]
        if (H, W) != (self.grid, self.grid):
            raise ValueError(
                f"input of {x.shape[-2] * self.patch_embed.stride[0]} px gives a {H}x{W} token "
                f"grid; this model was built for {self.grid}x{self.grid}"
            )
        x = self.embed_norm(rearrange(x, "b c h w -> b (h w) c")) + self.pos_embed
        for blk in self.blocks:
            x = blk(x, H, W)
        x = self.norm(x)
        return self.head(x.mean(1) if self.readout == "mean" else x.amax(1))


def build(attention: str, seed: int = 0, **kwargs) -> Backbone:
    """:class:`Backbone` with ``attention``, its weights drawn from ``seed``."""
    seed = validate.positive_int("seed", seed, minimum=0)
    with torch.random.fork_rng(devices=[]):  # the caller's own draws are left as they were
        torch.manual_seed(seed)
        return Backbone(attention, **kwargs)

"""Layers and rules that more than one family uses: stochastic depth and its per-block rate
rule, the depthwise conv on a token grid, the official weight initialisation, the grid
that a strided reduction leaves (PVT's SRA, Shunted's two head groups), and
:func:`keeps_global_rng`, for code that seeds its own layers without resetting the reader's
random draws."""

from __future__ import annotations

import functools
import inspect
import math

import torch
from einops import rearrange
from torch import nn

from . import validate


def keeps_global_rng(fn):
    """Decorate a function that seeds torch's global generator for its own draws (a table's
    layers, a checker's cases): the caller's generator is as it was when the function returns
    or raises, so that calling it does not reset the reader's own random draws. A generator
    function keeps its draws apart between items too: code run between two items (a student's
    function, say) neither sees its stream nor changes the next item's draws."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def items(*args, **kwargs):
            return _draws_apart(fn(*args, **kwargs))

        return items

    @functools.wraps(fn)
    def call(*args, **kwargs):
        with torch.random.fork_rng(devices=[]):
            return fn(*args, **kwargs)

    return call


def _draws_apart(gen):
    state = None
    while True:
        caller = torch.random.get_rng_state()
        if state is not None:
            torch.random.set_rng_state(state)
        try:
            item = next(gen)
        except StopIteration:
            return
        finally:
            state = torch.random.get_rng_state()
            torch.random.set_rng_state(caller)
        yield item


def reduced_grid(H: int, W: int, ratio: int) -> tuple[int, int]:
    """The grid a conv of kernel = stride = ``ratio`` leaves of an ``H x W`` token grid:
    ``floor(H/R) x floor(W/R)``. The conv has no padding, so leftover rows and columns are
    dropped, as in the official PVT and Shunted code. A grid smaller than ``ratio`` is refused."""
    H, W = validate.size("H", H), validate.size("W", W)
    ratio = validate.size("sr_ratio", ratio)
    if H < ratio or W < ratio:
        raise ValueError(
            f"the token grid {H}x{W} is smaller than sr_ratio={ratio}; "
            f"use sr_ratio <= {min(H, W)} or a larger image"
        )
    return H // ratio, W // ratio


def drop_path_rates(rate: float, depths) -> list[list[float]]:
    """Stochastic-depth rates per block, stage by stage: rising linearly from 0 at the first
    block to ``rate`` at the last (the rule of DeiT, PVT, Shunted and timm's CoAtNet)."""
    rate = validate.number("drop_path_rate", rate, low=0.0, high=1.0, high_open=True)
    depths = [
        validate.depth(f"depths[{i}]", d)
        for i, d in enumerate(
            validate.nonempty_sequence(
                "depths",
                list(depths) if validate._ordered(depths) else depths,
                limit=validate.MAX_STAGES,
            )
        )
    ]
    total = sum(depths)
    flat = [rate * j / max(total - 1, 1) for j in range(total)]
    out, cur = [], 0
    for d in depths:
        out.append(flat[cur : cur + d])
        cur += d
    return out


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = validate.number("drop_path", p, low=0.0, high=1.0, high_open=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class DWConv(nn.Module):
    """Depthwise 3x3 conv on the token grid (PVT v2's convolutional feed-forward;
    Shunted's detail-specific feed-forward): ``(B, H*W, C) -> (B, H*W, C)``."""

    def __init__(self, dim: int):
        super().__init__()
        dim = validate.width("dim", dim)
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, bias=True, groups=dim)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        return rearrange(self.dwconv(x), "b c h w -> b (h w) c")


def init_weights(m: nn.Module, convs: bool = True) -> None:
    """The official initialisation of PVT, Shunted and timm's CoAtNet: truncated normal
    (std 0.02) for linears, fan-out normal for convs, ones and zeros for LayerNorms. Swin's
    leaves convolutions at PyTorch's default (``convs=False``).

    It sets one module: call ``model.apply(init_weights)`` to set every layer of a model."""
    validate.instance(
        "m", m, nn.Module, "pass one layer; to set a whole model, call model.apply(init_weights)"
    )
    convs = validate.flag("convs", convs)
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif convs and isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        if m.bias is not None:
            nn.init.zeros_(m.bias)

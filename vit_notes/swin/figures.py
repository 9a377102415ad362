"""The Swin chapter's figures and the computations behind them: one query's attention in two
consecutive blocks on the photo (a colour-token toy), the receptive field after ``k`` blocks,
a schematic of the windows, the shifted windows and the mask, and the cost curves.

Every figure follows the book's standard (:mod:`vit_notes.plotting`) and carries alt text.
"""

from __future__ import annotations

import copy
import textwrap

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import torch
import torch.nn.functional as F
from torch import nn

from .. import counting, photo, registry, validate
from ..counting import significant as sig
from ..explorer import Bars, Control, Explorer, MapPanel, layer_cost_bars
from ..layers import keeps_global_rng
from ..plotting import MAP_CMAP, mark_query, new_figure, set_alt, show_photo, styled
from ..trace import record_attention
from .cost import effective_window, msa_cost, window_attention_cost
from .model import (
    CONFIGS,
    GridWindowAttention,
    SwinTransformerBlock,
    WindowAttention,
    accepted_sizes,
    check_shift,
    check_window,
    shift_regions,
    stage_grids,
    window_partition,
)
from .paper import VARIANTS

#: The toy's inverse temperature: a logit is ``TOY_LOGIT_SCALE`` times the dot product of two
#: standardised colour histograms (64 entries), so at most ``64 * TOY_LOGIT_SCALE``. The one
#: value every design's toy shares (``registry.TOY_LOGIT_SCALE``).
TOY_LOGIT_SCALE = registry.TOY_LOGIT_SCALE


def toy_window_attention(dim: int, window_size: int, logit_scale: float = TOY_LOGIT_SCALE):
    """A :class:`WindowAttention` whose similarities mean something on colour tokens: one head,
    ``q``, ``k``, ``v`` and ``proj`` identities, the relative position bias zero, and the
    logits ``logit_scale · q·k`` (an inverse temperature we chose). Untrained: a toy."""
    logit_scale = validate.number("logit_scale", logit_scale, low=-1e6, high=1e6)
    attn = WindowAttention(dim, window_size, 1, qk_scale=logit_scale).eval()
    eye = torch.eye(attn.dim)  # the plain int the layer checked
    with torch.no_grad():
        attn.qkv.weight.copy_(torch.cat([eye, eye, eye]))
        attn.qkv.bias.zero_()
        attn.proj.weight.copy_(eye)
        attn.proj.bias.zero_()
        attn.relative_position_bias_table.zero_()
    return attn


def window_of(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """``(H, W)``: the index of the window that each token of the grid attends in, for a
    block with ``shift_size`` (windows of the rolled grid, drawn at the tokens' own places)."""
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    check_window(H, W, window_size)
    s = check_shift(shift_size, window_size)
    window_size = int(window_size)
    rows = (torch.arange(H) - s) % H // window_size
    cols = (torch.arange(W) - s) % W // window_size
    return rows[:, None] * (W // window_size) + cols[None, :]


def attention_groups(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """``(H, W)`` labels: two tokens attend to each other in a block with ``shift_size``
    exactly when their labels are equal (same window of the rolled grid and, where the shift
    wrapped tokens around the border, the same region of :func:`shift_regions`)."""
    win = window_of(H, W, window_size, shift_size)
    s = check_shift(shift_size, window_size)
    if s == 0:
        return win
    regions = torch.roll(shift_regions(H, W, window_size, s), (s, s), (0, 1))
    return win * 9 + regions


#: The most token-steps (blocks (blocks + 1) / 2 x H x W) :func:`receptive_fields` walks:
#: 64 blocks on a 64x64 grid, or 4 blocks on a 1,024x1,024 one.
MAX_FIELD_WORK = 2**24


def receptive_fields(
    H: int, W: int, window_size: int, query: int, blocks: int, shift_size: int | None = None
) -> list[torch.Tensor]:
    """The tokens that query ``query``'s output depends on after 1, 2, ..., ``blocks``
    consecutive blocks (regular windows, then shifted by ``shift_size``, default
    ``window_size // 2``, alternating): a list of ``(H, W)`` boolean grids. The walks take
    ``blocks (blocks + 1) / 2`` steps over the ``H x W`` grid: at most :data:`MAX_FIELD_WORK`
    token-steps in all."""
    blocks = validate.positive_int("blocks", blocks, maximum=64, why="each block walks the grid")
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    work = blocks * (blocks + 1) // 2 * H * W
    if work > MAX_FIELD_WORK:
        raise ValueError(
            f"blocks={blocks} on an H={H} x W={W} grid walk {work:,} token-steps, more than the "
            f"{MAX_FIELD_WORK:,} allowed: use fewer blocks or a smaller grid (the book's figures "
            "use 4 blocks on a 56x56 grid)"
        )
    check_window(H, W, window_size)
    shift = int(window_size) // 2 if shift_size is None else check_shift(shift_size, window_size)
    query = validate.positive_int("query", query, minimum=0, maximum=H * W)
    if query >= H * W:
        raise ValueError(f"query={query} is outside the {H}x{W} grid's {H * W} tokens")
    # each grid's labels renumbered 0, 1, ...: a group's tokens are then found by table look-up
    by_parity = [
        attention_groups(H, W, window_size, s).flatten().unique(return_inverse=True)[1]
        for s in (0, shift)
    ]
    out = []
    for k in range(1, blocks + 1):
        # walk back from the output through blocks k, k-1, ..., 1 (block j shifted if j odd)
        new = torch.zeros(H * W, dtype=torch.bool)
        new[query] = True
        for j in reversed(range(k)):
            groups = by_parity[j % 2]
            reached = torch.zeros(H * W, dtype=torch.bool)
            reached[groups[new]] = True
            new = reached[groups]
        out.append(new.reshape(H, W))
    return out


GRADIENT_DTYPES = (torch.float32, torch.float64)


def input_gradient(blocks, x: torch.Tensor, query: int, dtype=torch.float64) -> torch.Tensor:
    """``(N,)``: for each input token of ``x`` ``(1, N, C)``, the size (summed absolute value
    over channels) of the gradient of query ``query``'s output after ``blocks``, applied in
    turn. The blocks and ``x`` are copied to ``dtype`` first: float64 by default, since in
    float32 a gradient through the weights of about ``e^-100`` that the ``-100`` mask leaves
    underflows to zero, so float32 counts fewer tokens, and which ones depends on ``x``."""
    blocks = validate.nonempty_sequence("blocks", blocks)
    for b in blocks:
        validate.instance("blocks", b, torch.nn.Module, "pass a list of SwinTransformerBlock")
    validate.tensor("x", x)
    if x.dim() != 3 or x.shape[0] != 1:
        raise ValueError(f"x must be (1, N, C), one image of N tokens; got {tuple(x.shape)}")
    validate.one_of("dtype", dtype, GRADIENT_DTYPES)
    width = getattr(blocks[0], "dim", x.shape[-1])
    if x.shape[-1] != width:
        raise ValueError(f"x has {x.shape[-1]} channels but the blocks take dim={width}")
    query = validate.positive_int("query", query, minimum=0, maximum=x.shape[1] - 1)
    x = x.detach().to(dtype).requires_grad_(True)
    y = x
    for b in blocks:
        y = copy.deepcopy(b).to(dtype)(y)
    (grad,) = torch.autograd.grad(y[0, query].sum(), x)
    return grad[0].abs().sum(-1)


def toy_block_maps(
    img: torch.Tensor, query_rc, window_size: int = 7, logit_scale: float = TOY_LOGIT_SCALE
) -> dict[str, torch.Tensor]:
    """The toy's maps of one query on the photo's stride-4 colour tokens, each ``(H*W,)`` over
    the grid: ``"block1"`` (W-MSA), ``"block2_shift"`` (SW-MSA on block 1's output),
    ``"block2_noshift"`` (W-MSA again), and ``"two_shift"``, ``"two_noshift"``: the two
    blocks composed: the query's row of block 2 times block 1's attention matrix (the query's
    weight on each input token through both blocks).
    Between the blocks, each token is standardised (a LayerNorm without its affine, as
    ``norm1`` before the attention). No residual, no MLP: a toy."""
    window_size = validate.image_side("window_size", window_size)
    tokens, (H, W) = photo.colour_tokens(img)
    q = photo.query_index((H, W), *validate.fraction_pair("query_rc", query_rc))
    C = tokens.shape[-1]
    shift = window_size // 2
    full1 = full_map(tokens, H, W, window_size, 0, logit_scale)
    with torch.no_grad():
        x1 = full1 @ tokens[0]  # block 1's output, (N, C)
        x1 = F.layer_norm(x1, (C,))[None]
    full2s = full_map(x1, H, W, window_size, shift, logit_scale)
    full2n = full_map(x1, H, W, window_size, 0, logit_scale)
    return {
        "block1": full1[q],
        "block2_shift": full2s[q],
        "block2_noshift": full2n[q],
        "two_shift": (full2s @ full1)[q],
        "two_noshift": (full2n @ full1)[q],
        "grid": (H, W),
        "query": q,
    }


#: The most tokens :func:`full_map` takes: its ``(N, N)`` matrix then holds 16.7 M weights.
MAX_FULL_MAP = 4096


@torch.no_grad()
def full_map(
    tokens: torch.Tensor,
    H: int,
    W: int,
    window_size: int,
    shift_size: int,
    logit_scale: float = TOY_LOGIT_SCALE,
) -> torch.Tensor:
    """The toy layer's attention as one ``(N, N)`` matrix over the grid's tokens in their own
    places: row ``i`` holds query ``i``'s weights, zero outside its (shifted) window. Read off
    the maps that :func:`~vit_notes.record_attention` keeps of a :class:`GridWindowAttention`
    built with :func:`toy_window_attention`'s weights."""
    H, W = validate.image_side("H", H), validate.image_side("W", W)
    if H * W > MAX_FULL_MAP:
        raise ValueError(
            f"H={H}, W={W}: the full map is (H·W)² = {(H * W) ** 2:,} weights; use a grid of at "
            f"most {MAX_FULL_MAP:,} tokens (the explorer's is 56x56 = 3,136)"
        )
    validate.tensor("tokens", tokens, dtype=torch.float32, what="a float tensor (1, H*W, C)")
    if tokens.device.type != "cpu":
        raise ValueError(f"tokens is on the {tokens.device} device: give CPU tokens")
    if tokens.dim() != 3 or tokens.shape[:2] != (1, H * W) or not tokens.shape[2]:
        raise ValueError(
            f"tokens must be (1, H*W, C) = (1, {H * W}, C), one image of the {H}x{W} grid, got "
            f"a tensor of shape {tuple(tokens.shape)}"
        )
    layer = GridWindowAttention(
        tokens.shape[-1], (H, W), 1, window_size=window_size, shift_size=shift_size
    ).eval()
    layer.attn.load_state_dict(
        toy_window_attention(tokens.shape[-1], window_size, logit_scale).state_dict()
    )
    layer.attn.scale = logit_scale
    with record_attention(layer, root="toy") as maps:
        layer(tokens, H, W)
    windows = maps.last()[:, 0]  # (nW, M², M²)
    M, s = layer.window_size, layer.shift_size
    # where each window position sits on the original grid
    index = torch.arange(H * W).reshape(1, H, W, 1)
    index = torch.roll(index, (-s, -s), (1, 2))
    where = window_partition(index, M).flatten(1)  # (nW, M²)
    full = torch.zeros(H * W, H * W)
    rows = where[:, :, None].expand(-1, -1, M * M)
    cols = where[:, None, :].expand(-1, M * M, -1)
    full[rows.reshape(-1), cols.reshape(-1)] = windows.reshape(-1)
    return full


def _window_lines(ax, H: int, W: int, M: int, s: int, px: float, color: str, style="-") -> None:
    """The borders of a block's windows on the photo (``px`` pixels per token)."""
    for k in range(0, H + 1):
        y = (k * M + s) % H if s else k * M
        if k * M > H:
            break
        ax.axhline(y * px, color=color, lw=0.8, ls=style)
    for k in range(0, W + 1):
        x = (k * M + s) % W if s else k * M
        if k * M > W:
            break
        ax.axvline(x * px, color=color, lw=0.8, ls=style)


@styled
def plot_two_blocks(img: torch.Tensor, maps: dict, query_rc, window_size: int = 7):
    """Four panels on one colour scale, with a colour bar: block 1's map (regular windows),
    block 2's without and with the shift, and the two blocks composed with the shift (block
    2's row times block 1's matrix), each with its block's window borders: white for the
    regular windows, lime for the shifted ones (dotted where both are drawn). The query keeps
    :func:`~vit_notes.plotting.mark_query`'s cyan box and dashed cross, a colour no window uses."""
    img = validate.photo("img", img)
    maps = validate.nonempty_dict("maps", maps, "toy_block_maps")
    if not {"grid", "block1", "block2_noshift", "block2_shift", "two_shift"} <= set(maps):
        raise ValueError("maps must hold the entries toy_block_maps returns; pass its result")
    H, W = validate.grid("maps['grid']", maps["grid"])
    for key in ("block1", "block2_noshift", "block2_shift", "two_shift"):
        validate.tensor(f"maps[{key!r}]", maps[key], what="a row of attention weights")
        if maps[key].numel() != H * W:
            raise ValueError(f"maps[{key!r}] holds {maps[key].numel()} weights for {H}x{W} keys")
    window_size = validate.image_side("window_size", window_size)
    check_window(H, W, window_size)
    if img.shape[-2] % H or img.shape[-1] % W:
        raise ValueError(
            f"img is {img.shape[-2]}x{img.shape[-1]} px but maps['grid'] is {H}x{W}: pass the "
            "image the maps were made from"
        )
    px = img.shape[-1] / W
    s = window_size // 2
    panels = [
        ("block 1, W-MSA", maps["block1"], 0),
        ("block 2 without the shift", maps["block2_noshift"], 0),
        ("block 2, SW-MSA (shift 3)", maps["block2_shift"], s),
        ("blocks 1 and 2 (SW-MSA) together", maps["two_shift"], None),
    ]
    fig, axes = new_figure(2, 2, height=6.9, width=6.4)
    top = max(float(row.max()) for _, row, _ in panels)  # one scale for all four maps
    outside = []
    for ax, (title, row, shift) in zip(axes.flat, panels, strict=True):
        show_photo(ax, img)
        im = ax.imshow(
            row.reshape(H, W).numpy(),
            cmap=MAP_CMAP,
            alpha=0.75,
            extent=(0, img.shape[-1], img.shape[-2], 0),
            interpolation="nearest",
            vmin=0.0,
            vmax=top,
        )
        if shift is None:
            _window_lines(ax, H, W, window_size, 0, px, "white", "-")
            _window_lines(ax, H, W, window_size, s, px, "lime", ":")
        else:
            _window_lines(ax, H, W, window_size, shift, px, "lime" if shift else "white")
        mark_query(ax, img, query_rc, patch=int(px))
        ax.set_title(f"{title}\npeak {float(row.max()):.2f}")
        outside.append(
            float(row.reshape(H, W)[~own_window(H, W, window_size, maps["query"])].sum())
        )
    cbar = fig.colorbar(im, ax=axes, shrink=0.9, pad=0.02)
    cbar.set_label("toy attention weight (one scale)")
    fig.suptitle("Colour-token toy: one query's attention")
    set_alt(
        fig,
        "One query's attention in a colour-token toy, on the photo, four panels on one colour "
        f"scale from 0 to {top:.2f}. Block 1 "
        "(regular windows) and block 2 without the shift keep all weight inside the query's "
        f"7×7-token window (weight outside: {outside[0]:.2f} and {outside[1]:.2f}). Block 2 "
        f"with the shift puts {outside[2]:.2f} of its weight outside that window, and block 1 "
        f"with the shifted block 2, together, {outside[3]:.2f}.",
    )
    return fig


def own_window(H: int, W: int, window_size: int, query: int) -> torch.Tensor:
    """``(H, W)`` boolean: the tokens of query ``query``'s regular (unshifted) window."""
    win = window_of(H, W, window_size, 0)
    query = validate.positive_int("query", query, minimum=0, maximum=win.numel() - 1)
    return win == win.flatten()[query]


@styled
def plot_receptive_fields(img: torch.Tensor, fields: list[torch.Tensor], query_rc, ks=(1, 2, 4)):
    """The tokens that the query's output depends on after ``k`` blocks, for each ``k`` of
    ``ks``, drawn over the photo. The title says that the blocks share one grid, while
    Swin-T's stage 1 has only its first ``layers[0]`` blocks."""
    img = validate.photo("img", img)
    fields = validate.nonempty_sequence("fields", fields, limit=64)
    for i, field in enumerate(fields):
        validate.instance(f"fields[{i}]", field, torch.Tensor, "pass what receptive_fields returns")
        if field.dim() != 2 or field.shape != fields[0].shape or not field.numel():
            raise ValueError(
                f"fields[{i}] must be an (H, W) grid like fields[0], as receptive_fields returns, "
                f"got a tensor of shape {tuple(field.shape)}"
            )
    ks = validate.nonempty_sequence("ks", ks, limit=3)
    ks = [validate.positive_int("ks", k, maximum=len(fields)) for k in ks]
    fig, axes = new_figure(1, len(ks), height=2.9)
    H, W = fields[0].shape
    sizes = []
    for ax, k in zip(axes[0], ks, strict=True):
        field = fields[k - 1]
        show_photo(ax, img)
        shade = torch.where(field, 0.0, 0.75).numpy()
        ax.imshow(
            shade,
            cmap="gray_r",
            alpha=shade,
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(0, img.shape[-1], img.shape[-2], 0),
        )
        mark_query(ax, img, query_rc, patch=img.shape[-1] // W)
        sizes.append(int(field.sum()))
        ax.set_title(f"after {k} block{'s' if k > 1 else ''}: {sizes[-1]} tokens")
    depth = VARIANTS["swin_t"].layers[0]
    title = (
        f"Blocks stacked on one {H}×{W} grid. Swin-T's stage 1 has {depth}, then the grid halves."
    )
    fig.suptitle(title)
    set_alt(
        fig,
        "The photo, darkened except where the query's output depends on the input tokens, "
        f"after {', '.join(str(k) for k in ks)} blocks: "
        + ", ".join(f"{n} tokens" for n in sizes)
        + f". {title}",
    )
    return fig


@styled
def draw_shift_schematic(block):
    """Three grids drawn from ``block``'s configuration (a :class:`SwinTransformerBlock` or
    :class:`GridWindowAttention` with a shift): the regular windows of block ``l``; the
    shifted windows of block ``l+1`` at the tokens' own places, one colour for each set of
    tokens that attend to each other (:func:`attention_groups`: the paper's shifted windows,
    some smaller than ``M×M``); and the grid after the cyclic shift, where the mask keeps two
    regions in one window apart. A token keeps its colour and its region's number in the
    middle and right panels; the left panel's windows are grey."""
    validate.instance("block", block, (SwinTransformerBlock, GridWindowAttention),
                      "build one, e.g. GridWindowAttention(16, (8, 8), 2, 4, 2)")  # fmt: skip
    H, W = block.input_resolution
    M, s = block.window_size, block.shift_size
    if s == 0:
        raise ValueError("draw_shift_schematic needs a block with shift_size > 0")
    fig, axes = new_figure(1, 3, height=3.0)
    regular = window_of(H, W, M, 0)
    groups = attention_groups(H, W, M, s)
    # number the token sets 0, 1, ... (one per shifted window, or per region of a masked one)
    _, sets = torch.unique(groups, return_inverse=True)
    sizes = torch.bincount(sets.flatten())
    n_shifted, n_small = len(sizes), int((sizes < M * M).sum())
    rolled_regions = shift_regions(H, W, M, s)
    regions_here = torch.roll(rolled_regions, (s, s), (0, 1))  # at the tokens' own places
    rolled_sets = torch.roll(sets, (-s, -s), (0, 1))  # the same sets, on the rolled grid
    mask = block.attn_mask  # (nW, M², M²)
    masked_windows = int((mask != 0).flatten(1).any(1).sum())
    # one colour per token set, the same in the middle and right panels (tab20's dark hues);
    # the left panel's windows in greys, so that no colour means two things
    dark = plt.get_cmap("tab20")
    greys = plt.get_cmap("Greys")
    panels = [
        (
            f"block l: {regular.max() + 1} windows {M}×{M}",
            greys(0.25 + 0.3 * ((regular // (W // M) + regular % (W // M)) % 2).numpy()),
            None,
        ),
        (
            f"block l+1: {n_shifted} windows, shifted by {s}",
            dark((sets * 2 % 20).numpy()),
            regions_here,
        ),
        (
            f"rolled by -{s}: {masked_windows} windows masked",
            dark((rolled_sets * 2 % 20).numpy()),
            rolled_regions,
        ),
    ]
    for j, (ax, (title, colours, numbers)) in enumerate(zip(axes[0], panels, strict=True)):
        ax.imshow(colours, interpolation="nearest", extent=(0, W, H, 0))
        for k in range(H + 1):
            ax.axhline(k, color="white", lw=0.4)
        for k in range(W + 1):
            ax.axvline(k, color="white", lw=0.4)
        if j == 2:  # the regular windows of the rolled grid
            for k in range(0, H + 1, M):
                ax.axhline(k, color="black", lw=2)
            for k in range(0, W + 1, M):
                ax.axvline(k, color="black", lw=2)
        if numbers is not None:
            for r in range(H):
                for c in range(W):
                    ax.text(
                        c + 0.5,
                        r + 0.5,
                        str(int(numbers[r, c])),
                        ha="center",
                        va="center",
                        fontsize=9,
                        color="white",
                    )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title)
    set_alt(
        fig,
        f"Three {H}×{W} token grids. Left: {int(regular.max()) + 1} regular {M}×{M} windows, "
        f"in greys. Middle: the {n_shifted} windows of the next block, shifted by {s} tokens, "
        f"each in its own colour and numbered by region; {n_small} of them are smaller than "
        f"{M}×{M}. Right: the grid rolled by the shift, each token keeping its colour and "
        f"number; {masked_windows} windows hold tokens of several regions, which the mask "
        "keeps apart.",
    )
    return fig


def cost_curves(
    sides=(224, 448, 672, 896, 1120),
    windows=(1, 2, 4, 7, 8, 14, 28, 56),
    window_side: int = 224,
    dim: int = 96,
    num_heads: int = 3,
    window_size: int = 7,
) -> list[dict]:
    """Stage 1's attention layer (``C = dim``, ``num_heads``; a 4×4 patch: grid = side / 4) at
    each image side of ``sides`` (global and window ``window_size``) and at each window of
    ``windows`` on a ``window_side``² image: eqs. (1), (2) and the FLOP counter on the module,
    at every point. The counter runs the modules on the ``meta`` device, from shapes alone:
    on real tensors global attention's bias index alone holds ``(hw)²`` int64 entries, over
    a GiB from a 112×112 grid on. Every setting is checked before
    anything is counted: each window must tile its grid exactly (eq. (2) assumes it). Each
    row holds its ``heads``, so that a figure can name them."""
    sides = validate.nonempty_sequence("sides", sides, limit=100)
    windows = validate.nonempty_sequence("windows", windows, limit=100)
    dim, num_heads = validate.width("dim", dim), validate.width("num_heads", num_heads)
    validate.heads_divide(dim, num_heads)
    window_size = validate.image_side("window_size", window_size)
    sides = [validate.image_side(f"sides[{i}]", s) for i, s in enumerate(sides)]
    windows = [validate.image_side(f"windows[{i}]", m) for i, m in enumerate(windows)]
    window_side = validate.image_side("window_side", window_side)
    for i, side in enumerate(sides):
        _tiles(f"sides[{i}]={side}", side // 4, window_size, "window_size")
    for i, M in enumerate(windows):
        _tiles(f"window_side={window_side}", window_side // 4, M, f"windows[{i}]")
    rows = []

    def add(axis, value, kind, cost, module, x):
        counted = counting.count_macs(module, x)
        if counted != cost.macs:
            raise AssertionError(f"eq. and counter differ at {axis}={value}, {kind}")
        rows.append(
            dict(
                axis=axis,
                value=value,
                kind=kind,
                heads=num_heads,
                dim=dim,
                window_size=window_size,
                gmacs=cost.macs / 1e9,
                counted_gmacs=counted / 1e9,
                attn_mib=cost.attn_bytes / 2**20,
            )
        )

    meta = torch.device("meta")  # shapes alone: no memory, no compute
    for side in sides:
        g = side // 4
        n = (g // window_size) ** 2
        with meta:
            wa = WindowAttention(dim, window_size, num_heads).eval()
            x = torch.randn(n, window_size**2, dim)
        add("side", side, "window", window_attention_cost(g, g, dim, num_heads, window_size), wa, x)
        with meta:  # global attention: one window as large as the grid
            glob = WindowAttention(dim, g, num_heads).eval()
            x = torch.randn(1, g * g, dim)
        add("side", side, "global", msa_cost(g, g, dim, num_heads), glob, x)
    g = window_side // 4
    for M in windows:
        with meta:
            wa = WindowAttention(dim, M, num_heads).eval()
            x = torch.randn((g // M) ** 2, M * M, dim)
        add("window", M, "window", window_attention_cost(g, g, dim, num_heads, M), wa, x)
    return rows


def _tiles(where: str, g: int, M: int, name: str) -> None:
    """Raise unless windows of ``M`` tile the ``g x g`` grid exactly (``where`` gave the grid,
    ``name`` the window), as eq. (2) assumes."""
    if not g:
        raise ValueError(f"{where} is smaller than one 4-px patch")
    if g < M or g % M:
        raise ValueError(
            f"{name}={M} does not tile the {g}x{g} grid of {where} (its 4-px patches): use a "
            f"window that divides {g}: {validate.divisors(g)}"
        )


@styled
def _rows_setting(rows: list[dict], name: str, given, default: int, check) -> int:
    """The setting ``name`` the ``rows`` were counted with, for a figure's labels: the rows'
    own (one value in all), which a ``given`` value must equal; else ``given`` or ``default``."""
    given = None if given is None else check(name, given)
    counted = {r[name] for r in rows if name in r}
    if len(counted) > 1:
        raise ValueError(
            f"rows were counted with several {name}s, {sorted(counted)}: plot one {name}'s rows"
        )
    if counted:
        (value,) = counted
        if given is not None and given != value:
            raise ValueError(
                f"{name}={given}, but the rows were counted with {name}={value}: leave {name} "
                "out (the rows give it) or count the rows again with it"
            )
        return value
    return default if given is None else given


def plot_cost_curves(rows: list[dict], dim: int | None = None, window_size: int | None = None):
    """Four panels: multiply-adds and attention-map MiB of stage 1's attention against the
    image side (global and windowed) and against the window size. In the top row the lines
    are the paper's eqs. and the circles the counter; in the bottom row the lines are the
    maps' size, heads·hw·keys·4 bytes, which neither equation gives. The title gives
    ``C = dim`` and the heads the rows were counted with. ``dim`` and ``window_size`` are read
    from the rows (:func:`cost_curves` writes them into each); given, they must be the rows'.
    Rows without them (from elsewhere) are labelled with the given values, or 96 and 7."""
    rows = validate.rows(
        "rows",
        rows,
        keys=("axis", "kind"),
        needs={"axis": ("side", "window"), "kind": ("global", "window")},  # the four panels
    )
    dim = _rows_setting(rows, "dim", dim, 96, validate.width)
    window_size = _rows_setting(rows, "window_size", window_size, 7, validate.image_side)
    fig, axes = new_figure(2, 2, height=5.6)
    styles = {
        "global": ("tab:red", "global, eq. (1)"),
        "window": ("tab:blue", f"M = {window_size}, eq. (2)"),
    }
    map_labels = {
        "global": "global: map size, heads·(hw)²·4 bytes",
        "window": "windows: map size, heads·hw·M²·4 bytes",
    }
    for col, axis in enumerate(("side", "window")):
        for row_i, key in enumerate(("gmacs", "attn_mib")):
            ax = axes[row_i, col]
            kinds = ("global", "window") if axis == "side" else ("window",)
            for kind in kinds:
                pts = [r for r in rows if r["axis"] == axis and r["kind"] == kind]
                xs = [r["value"] for r in pts]
                color, label = styles[kind]
                if axis == "window":
                    label = "windows M × M, eq. (2)"
                if key == "attn_mib":  # no equation gives memory: the maps' size
                    label = map_labels[kind]
                ax.plot(xs, [r[key] for r in pts], "-", color=color, label=label)
                if key == "gmacs":  # the counter, at every point
                    ax.plot(
                        xs,
                        [r["counted_gmacs"] for r in pts],
                        "o",
                        mfc="none",
                        color=color,
                        label="counter" if kind == "window" else None,
                    )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ticks = sorted({r["value"] for r in rows if r["axis"] == axis})
            # 7 and 8 sit side by side on a log axis: label 7 only (8 keeps its tick)
            shown = [t for t in ticks if not (t == 8 and 7 in ticks)]
            ax.set_xticks(ticks, [str(t) if t in shown else "" for t in ticks])
            ax.xaxis.set_minor_locator(mticker.NullLocator())
            lo_y = min(r[key] for r in rows if r["axis"] == axis)
            hi_y = max(r[key] for r in rows if r["axis"] == axis)
            if hi_y / lo_y < 100:  # under two decades: label 0.2, 0.5, 1, 2 in plain numbers
                ax.yaxis.set_minor_locator(mticker.LogLocator(subs=(2.0, 5.0)))
                plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
                ax.yaxis.set_major_formatter(plain)
                ax.yaxis.set_minor_formatter(plain)
            ax.set_xlabel(
                "image side (px)" if axis == "side" else "window side M (tokens), 224² image"
            )
            ax.set_ylabel("GMACs" if key == "gmacs" else "attention maps (MiB)")
            ax.grid(True, which="major")
            if row_i == 1 and col == 0:  # room above global's line for the long labels
                ax.set_ylim(top=ax.get_ylim()[1] * 30)
            if row_i == 0 or col == 0:
                ax.legend(loc="upper left")
    # the heads the rows were counted with (cost_curves writes them into every row)
    heads = sorted({r["heads"] for r in rows if "heads" in r})
    heads_text = f", {heads[0]} heads" if len(heads) == 1 else ""
    fig.suptitle(f"Stage 1's attention layer (C = {dim}{heads_text}, 4×4 patches)")
    side_rows = {(r["kind"], r["value"]): r for r in rows if r["axis"] == "side"}
    sides = sorted({r["value"] for r in rows if r["axis"] == "side"})
    lo, hi = sides[0], sides[-1]
    set_alt(
        fig,
        "Four log-log panels. Against the image side from "
        f"{lo} to {hi} px, global attention grows from {sig(side_rows['global', lo]['gmacs'])} to "
        f"{sig(side_rows['global', hi]['gmacs'])} GMACs and window attention from "
        f"{sig(side_rows['window', lo]['gmacs'])} to {sig(side_rows['window', hi]['gmacs'])}; the "
        "maps' memory grows the same way. Against the window side at 224², both grow "
        "with the window. Circles (the counter) lie on the multiply-add lines (the paper's "
        "equations); the memory lines are the maps' size, heads times hw times keys times 4 bytes.",
    )
    return fig


# --- the explorer ---------------------------------------------------------------------------

#: The explorer's window sides M: each divides the 56×56 token grid of the 224² photo.
EXPLORER_WINDOWS = (4, 7, 8, 14)
#: The explorer's second block: the same windows again, or the windows shifted by ⌊M/2⌋.
EXPLORER_BLOCK2 = ("W-MSA", "SW-MSA")
#: The toy's inverse temperatures in the explorer. At 0 every key that a query may attend
#: weighs the same, so its map shows the window and the mask alone.
EXPLORER_SCALES = (0.0, 1 / 16, TOY_LOGIT_SCALE)
#: The explorer's photo side: the chapter's image, a 56×56 grid of stride-4 colour tokens.
EXPLORER_SIZE = 224
#: The explorer's stage-1 layer (Swin-T's): channels and heads.
EXPLORER_DIM, EXPLORER_HEADS = 96, 3


def explorer_maps(
    img: torch.Tensor, queries, window_size: int, block2: str, logit_scale: float
) -> list[tuple[str, torch.Tensor, tuple[int, int]]]:
    """The explorer's three maps of each query of ``queries`` ((row, col) fractions of the
    image) on the photo's stride-4 colour tokens, as :func:`toy_block_maps` builds them:
    block 1 (W-MSA), block 2 (``block2``: W-MSA again, or SW-MSA shifted by ``⌊M/2⌋``) and the
    two blocks composed (block 2's rows times block 1's matrix).
    ``[(title, rows (len(queries), H*W), grid)]``."""
    M = validate.image_side("window_size", window_size)
    validate.one_of("block2", block2, EXPLORER_BLOCK2)
    logit_scale = validate.number("logit_scale", logit_scale, low=0.0, high=1e6)
    queries = [validate.fraction_pair(f"queries[{i}]", q)
               for i, q in enumerate(validate.nonempty_sequence("queries", queries))]  # fmt: skip
    tokens, (H, W) = photo.colour_tokens(img)
    check_window(H, W, M)
    index = photo.query_at((H, W), queries)
    shift = M // 2 if block2 == "SW-MSA" else 0
    full1 = full_map(tokens, H, W, M, 0, logit_scale)
    with torch.no_grad():
        x1 = F.layer_norm(full1 @ tokens[0], (tokens.shape[-1],))[None]
    full2 = full_map(x1, H, W, M, shift, logit_scale)
    rows1, rows2 = full1[index], full2[index]
    second = f"block 2: SW-MSA, shift {shift}" if shift else "block 2: W-MSA again"
    return [
        (f"block 1: W-MSA, {M}×{M}", rows1, (H, W)),
        (second, rows2, (H, W)),
        ("blocks 1 and 2 together", rows2 @ full1, (H, W)),
    ]


def explorer_cost_chart(window_size: int, block2: str) -> Bars:
    """The explorer's cost panel: Swin-T's stage-1 attention layer (C = 96, 3 heads, 56×56
    tokens) as global MSA (eq. (1)) and as window attention with ``M = window_size``
    (eq. (2); SW-MSA costs the same), multiply-adds on a linear scale, each labelled with
    millions of multiply-adds (the word: M is the window side here), the attention maps'
    memory and how many times fewer multiply-adds than global."""
    validate.one_of("window_size", window_size, EXPLORER_WINDOWS)
    validate.one_of("block2", block2, EXPLORER_BLOCK2)
    g = EXPLORER_SIZE // 4
    window = f"{block2}, M = {window_size}"
    costs = {
        "global MSA": msa_cost(g, g, EXPLORER_DIM, EXPLORER_HEADS),
        window: window_attention_cost(g, g, EXPLORER_DIM, EXPLORER_HEADS, window_size),
    }
    return layer_cost_bars(
        f"Swin-T stage 1, {g}×{g}: bar = multiply-adds (millions); labels add the maps' memory",
        costs,
        {"global MSA": "tab:red", window: "tab:blue"},
        ratio_of="multiply-adds",
        millions="million",  # M is the window side on this page
    )


def swin_explorer() -> Explorer:
    """The chapter's explorer over the window side ``M``, the second block (the same windows
    or shifted ones), the toy's inverse temperature and the query: one query's map in block 1,
    in block 2 and through both, on the chapter's photo, with the layer's cost against global
    attention. At inverse temperature 0 the maps show the keys a query may attend: its
    window, less the keys the mask keeps apart. A live widget in a kernel, a precomputed twin
    on the page (:class:`~vit_notes.explorer.Explorer`)."""

    def maps(queries, window_size, block2, logit_scale):
        img = photo.load_photo(EXPLORER_SIZE)
        panels = explorer_maps(img, queries, window_size, block2, logit_scale)
        return [MapPanel(title, grid, rows, patch=4) for title, rows, grid in panels]

    def caption(window_size, block2, logit_scale):
        what = ": every key a query may attend weighs the same" if logit_scale == 0 else ""
        return (
            f"Colour-token toy: {EXPLORER_SIZE}² photo, {window_size}×{window_size} windows, "
            f"block 2 {block2}, "
            f"inverse temperature {logit_scale:g}{what}; query token: cyan box"
        )

    def alt(window_size, block2, logit_scale):
        return (
            f"Explorer, starting state: the {EXPLORER_SIZE}×{EXPLORER_SIZE} photo with the "
            f"query's token in a cyan box, three maps of its attention in a colour-token toy: "
            f"block 1 in its {window_size}×{window_size} window, block 2 ({block2}) and both "
            f"blocks together, inverse temperature {logit_scale:g}. Under them, the "
            "multiply-adds and attention-map memory of Swin-T's stage-1 layer, global against "
            "windowed"
        )

    return Explorer(
        key="explore-swin",
        title="Shifted windows, colour-token toy: window side, block 2, inverse temperature, query",
        controls=(
            Control("window_size", "window M", EXPLORER_WINDOWS, default=7),
            Control("block2", "block 2", EXPLORER_BLOCK2, default="SW-MSA"),
            Control("logit_scale", "inverse temperature", EXPLORER_SCALES, default=TOY_LOGIT_SCALE),
        ),
        maps=maps,
        bars=lambda window_size, block2, logit_scale: [explorer_cost_chart(window_size, block2)],
        caption=caption,
        alt=alt,
        query_grid=14,
        default_query=(6, 6),
        photo=lambda **_: photo.load_photo(EXPLORER_SIZE),
    )


# --- measured time ------------------------------------------------------------------------------

#: The attention layers :func:`swin_cost_table` times at each stage, in order: window
#: attention (block l), shifted-window attention (block l+1) and global attention.
TIMED_VARIANTS = ("W-MSA", "SW-MSA", "MSA")
#: Every layer gathers its bias B on every call: ``M⁴`` entries per head in a window layer,
#: ``(hw)²`` in global MSA. The figure's legend gives each series its size.
B_SIZES = {"W-MSA": "B: M⁴ entries", "SW-MSA": "B: M⁴ entries", "MSA": "B: (hw)² entries"}
#: Variants timed in the same rounds: SW-MSA with its roll and no mask, SW-MSA with its mask
#: and no roll (where the stage shifts), and global MSA's gather of B alone
#: (``attn.relative_position_bias()``, the call its forward makes). The two SW-MSA variants
#: are whole layers, so the variants' times do not add up to a layer's time.
SPLIT_VARIANTS = ("SW-MSA roll only", "SW-MSA mask only", "MSA bias gather")


class _BiasGather(nn.Module):
    """Times a layer's gather of B alone: called as a layer, it returns B."""

    def __init__(self, attn: nn.Module):
        super().__init__()
        self.attn = attn

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        return self.attn.relative_position_bias()


@keeps_global_rng
def swin_cost_table(
    size: int = 224,
    name: str = "swin_t",
    stages=(1, 2, 3, 4),
    timed: bool = True,
    min_run_time: float = 0.05,
    rounds: int = 5,
    split: bool = False,
) -> list[dict]:
    """Rows of {variant, stage, grid, dim, heads, window, shift, analytic/counted GMACs,
    attention-map MiB (float32, all heads, batch 1), ms} for the attention layer of each of
    ``stages`` of ``name`` at ``size``²: W-MSA, SW-MSA (shifted by ``⌊M/2⌋``) and global MSA
    (one window as large as the grid) on the stage's grid, each a :class:`GridWindowAttention`
    on one image. A grid no larger than the window is one window, unshifted: there the three
    are the same layer.

    Untimed, the layers are counted on the ``meta`` device. Timed, they run on the CPU with
    torch's current threads, in ``rounds`` rounds: each round times every layer in turn,
    stage 1's W-MSA first in the odd rounds and last in the even ones (the order alternates,
    so no layer is always timed before another). ``ms_rounds`` holds each round's median, in
    the rounds' order, ``ms`` the fastest (other work on a shared machine only adds time; a
    burst shorter than a round may slow one layer and not the next). Within a stage the
    layers share their weights: SW-MSA holds W-MSA's ``attn`` module, and global MSA its
    ``qkv`` and ``proj`` (its bias table is larger; where the grid is one window it holds
    W-MSA's ``attn`` too). So SW-MSA differs from W-MSA by the shift and the mask alone.
    Global MSA's forward includes gathering its ``(heads, hw, hw)`` bias B, which eq. (1)
    does not count.

    With ``split=True`` the rounds also time, after each stage's three layers, the variants of
    :data:`SPLIT_VARIANTS`: where the stage shifts, SW-MSA with the roll and no mask and with
    the mask and no roll (W-MSA's ``attn`` again), and at every stage global MSA's gather
    of B alone. Their rows count no multiply-adds of their own for the gather."""
    timed = validate.flag("timed", timed)
    min_run_time, rounds = validate.timing(min_run_time, rounds)
    split = validate.flag("split", split)
    validate.one_of("name", name, CONFIGS)
    cfg = CONFIGS[name]
    size = validate.size("size", size, minimum=4)
    stages = validate.nonempty_sequence("stages", stages)
    grids = stage_grids(size, cfg.get("patch_size", 4), len(cfg["depths"]))
    for s in stages:
        validate.positive_int("stages", s, maximum=len(grids))
        if grids[s - 1] < 1:  # patch merging halved the grid to nothing
            patch = cfg.get("patch_size", 4)
            raise ValueError(
                f"size={size} leaves stage {s} no tokens: use a size of at least "
                f"{patch * 2 ** (s - 1)} (the patch, {patch}, times 2 for each merge before it)"
            )
        window, g = cfg["window_size"], grids[s - 1]
        if g > window and g % window:  # refused here, in the name of size, not of the window
            sizes = accepted_sizes(cfg.get("patch_size", 4), window, len(cfg["depths"]))
            raise ValueError(
                f"size={size} gives stage {s} a {g}x{g} token grid, which {name}'s "
                f"{window}x{window} windows do not tile: use a size {name} accepts, such as "
                f"{', '.join(map(str, sizes[:6]))}"
            )
    torch.manual_seed(0)
    device = torch.device("cpu" if timed else "meta")
    rows, layers, inputs = [], [], []
    for stage in stages:
        g = grids[stage - 1]
        C, heads = cfg["embed_dim"] * 2 ** (stage - 1), cfg["num_heads"][stage - 1]
        M = effective_window(g, g, cfg["window_size"])
        x = torch.randn(1, g * g, C, device=device)
        stage_keys = dict(stage=stage, size=size, grid=g, dim=C, heads=heads)  # every row's
        for variant in TIMED_VARIANTS:
            window = g if variant == "MSA" else M
            shift = M // 2 if variant == "SW-MSA" and M < g else 0
            with device:
                layer = GridWindowAttention(C, (g, g), heads, window_size=window, shift_size=shift)
            layer.eval()
            if variant != "W-MSA":  # the stage's W-MSA weights: built first, shared
                first = layers[-1] if variant == "SW-MSA" else layers[-2]
                if layer.window_size == first.window_size:
                    layer.attn = first.attn
                else:
                    layer.attn.qkv, layer.attn.proj = first.attn.qkv, first.attn.proj
            cost = (
                msa_cost(g, g, C, heads)
                if variant == "MSA"
                else (window_attention_cost(g, g, C, heads, M))
            )
            rows.append(
                dict(
                    variant=variant,
                    **stage_keys,
                    window=layer.window_size,
                    shift=layer.shift_size,
                    analytic_gmacs=cost.macs / 1e9,
                    counted_gmacs=counting.count_macs(layer, x, g, g) / 1e9,
                    attn_mib=cost.attn_bytes / 2**20,
                )
            )
            layers.append(layer)
            inputs.append(x)
        if not split:
            continue
        w, sw, msa = layers[-3:]
        sw_row, msa_row = rows[-2], rows[-1]
        parts = {}
        if sw.shift_size:
            with device:
                roll = GridWindowAttention(C, (g, g), heads, window_size=M, shift_size=M // 2)
                masked = GridWindowAttention(C, (g, g), heads, window_size=M, shift_size=M // 2)
            roll.attn = masked.attn = w.attn
            roll.attn_mask = None  # the roll and the roll back, no mask
            masked.shift_size = 0  # the mask on unrolled windows, no roll
            parts["SW-MSA roll only"], parts["SW-MSA mask only"] = roll.eval(), masked.eval()
        parts["MSA bias gather"] = _BiasGather(msa.attn).eval()
        for variant, layer in parts.items():
            gather = variant == "MSA bias gather"
            macs = 0 if gather else counting.count_macs(layer, x, g, g)
            rows.append(
                dict(
                    variant=variant,
                    **stage_keys,
                    window=msa.window_size if gather else layer.window_size,
                    shift=0 if gather else M // 2,
                    analytic_gmacs=0.0 if gather else sw_row["analytic_gmacs"],
                    counted_gmacs=macs / 1e9,
                    attn_mib=(msa_row if gather else sw_row)["attn_mib"],
                )
            )
            layers.append(layer)
            inputs.append(x)
    order = list(zip(rows, layers, inputs))
    for k in range(rounds if timed else 0):
        for row, layer, x in order if k % 2 == 0 else order[::-1]:
            m = counting.time_forward(layer, x, row["grid"], row["grid"], min_run_time=min_run_time)
            row.setdefault("ms_rounds", []).append(m.median * 1e3)
            row["ms"] = min(row["ms_rounds"])
    return rows


def round_ratios(
    rows: list[dict], variant: str, reference: str = "W-MSA"
) -> dict[int, list[float]]:
    """Per stage, ``variant``'s time over ``reference``'s in each round (within a round the
    layers are timed in turn, so each ratio compares two timings of one round):
    ``{stage: [ratio per round]}``."""
    rows = validate.rows("rows", rows, keys=("variant", "stage", "ms_rounds"))
    validate.one_of("variant", variant, TIMED_VARIANTS + SPLIT_VARIANTS)
    validate.one_of("reference", reference, TIMED_VARIANTS + SPLIT_VARIANTS)
    by = {(r["variant"], r["stage"]): r["ms_rounds"] for r in rows}
    return {
        stage: [a / b for a, b in zip(by[variant, stage], by[reference, stage], strict=True)]
        for (v, stage) in by
        if v == variant and (reference, stage) in by
    }


def print_round_ratios(rows: list[dict], machine: dict | None = None, width: int = 88) -> None:
    """Print, round by round, the ratios the chapter reads from :func:`swin_cost_table`'s timed
    rows (``split=True``). Each divides a layer by its neighbour, the layer timed right before
    or after it: per stage SW-MSA's time over W-MSA's and global MSA's over SW-MSA's; at the
    last stage SW-MSA's over global MSA's; where the stage shifts, the mask-only variant's
    over the roll-only one's. Layers with others timed between them are not divided, except in
    the last line: at stage 1 global MSA's gather of B over its forward. With ``machine`` (a
    recording's, :attr:`Measurement.machine <vit_notes.measured.Measurement.machine>`), a
    first line names it and the load average before and after the run. Each ratio has three
    decimals, and each line counts its ratios above 1. Lines longer than ``width`` wrap."""
    rows = validate.rows("rows", rows, keys=("variant", "stage", "ms_rounds"))
    width = validate.positive_int("width", width)
    lines = []
    if machine is not None:
        if not isinstance(machine, dict):
            raise validate.InputTypeError(
                f"machine must be a recording's machine (a dict), got {type(machine).__name__}"
            )
        load = rows[0].get("load_avg", (float("nan"),) * 2)  # before, after
        lines.append(
            f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, timed on "
            f"{machine.get('torch_threads', '?')} thread, load average {load[0]:.1f} to "
            f"{load[1]:.1f}"
        )

    def add(stage, name, rs):
        # three decimals, so that a ratio just above 1 reads as above 1; the count is the
        # chapter's sign test's: any ratio above 1, however small, is a slower round
        above = sum(r > 1 for r in rs)
        line = f"stage {stage}: {name} in each round ({above} of {len(rs)} above 1): " + ", ".join(
            f"{r:.3f}" for r in rs
        )
        lines.extend(textwrap.wrap(line, width, subsequent_indent="  "))

    variants = {r["variant"] for r in rows}
    # the order within a stage is W-MSA, SW-MSA, global MSA: each divided by the one before;
    # bare "MSA" is global attention here (Table 5's "MSA" is any attention layer)
    for v, ref in (("SW-MSA", "W-MSA"), ("MSA", "SW-MSA")):
        if {v, ref} <= variants:
            name = f"{'global MSA' if v == 'MSA' else v} / {ref}"
            for stage, rs in round_ratios(rows, v, ref).items():
                add(stage, name, rs)
    # the last stage: SW-MSA and global MSA are the same layer there
    pair = round_ratios(rows, "SW-MSA", "MSA") if {"SW-MSA", "MSA"} <= variants else {}
    if pair:
        last = max(pair)
        add(last, "SW-MSA / global MSA", pair[last])
    # the two SW-MSA variants against each other: timed one after the other
    roll_v, mask_v = SPLIT_VARIANTS[:2]
    if {roll_v, mask_v} <= variants:
        for stage, rs in round_ratios(rows, mask_v, roll_v).items():
            add(stage, "SW-MSA mask only / roll only", rs)
    # global MSA's gather of B, timed alone in the same rounds
    share = round_ratios(rows, "MSA bias gather", "MSA") if "MSA bias gather" in variants else {}
    if 1 in share:
        lines += ["", "stage 1: global MSA's gather of B / its forward, each round:"]
        lines.append("  " + ", ".join(f"{x:.2f}" for x in share[1]))
    print("\n".join(lines))


@styled
def plot_measured_times(rows: list[dict], caption: str = ""):
    """Three panels from :func:`swin_cost_table`'s timed rows: the time of each layer per stage
    (the fastest round, a bar up to the slowest, as the legend says; log scale); then only
    ratios of neighbours, two layers timed one right after the other. The middle panel, on a
    linear axis: per stage SW-MSA's time over W-MSA's, round by round (a dot per round, a short
    tick at the median), beside the last stage's SW-MSA over global MSA: there the grid is one
    window, so neither shifts (their points are marked), and both hold W-MSA's weights: its
    ratios show the timing spread. The right panel: global MSA's time over SW-MSA's, its
    neighbour, at every stage (log scale)."""
    rows = validate.rows(
        "rows",
        rows,
        keys=("variant", "stage", "ms", "ms_rounds"),
        needs={"variant": TIMED_VARIANTS},
    )
    caption = validate.figure_text("caption", caption, allow_empty=True)
    rows = [r for r in rows if r["variant"] in TIMED_VARIANTS]  # the variants: in print
    fig, axes = new_figure(1, 3, height=4.2)
    colours = {"W-MSA": "tab:blue", "SW-MSA": "tab:green", "MSA": "tab:red"}
    stages = sorted({r["stage"] for r in rows})
    ax = axes[0, 0]
    names = {"W-MSA": "W-MSA", "SW-MSA": "SW-MSA", "MSA": "global MSA"}
    labels = {v: f"{names[v]}\n{B_SIZES[v]}" for v in TIMED_VARIANTS}
    for k, variant in enumerate(TIMED_VARIANTS):
        pts = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["stage"])
        xs = [r["stage"] + (k - 1) * 0.12 for r in pts]
        lo = [r["ms"] for r in pts]
        hi = [max(r["ms_rounds"]) for r in pts]
        ax.errorbar(
            xs, lo, yerr=[[0] * len(lo), [h - v for h, v in zip(hi, lo)]], fmt="o",
            color=colours[variant], label=labels[variant], capsize=2,
        )  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(stages, [str(s) for s in stages])
    ax.set_xlabel("stage")
    ax.set_ylabel("ms per image")
    # under the panels: in the left panel a legend would hide stage 1's global MSA
    fig.legend(
        loc="outside lower center", ncols=3,
        title="left: dot = fastest round, bar = up to slowest; each layer gathers B per head "
        "on every call",
    )  # fmt: skip
    ax.grid(True, which="major")
    # only neighbours: within a stage the layers are timed in the order W-MSA, SW-MSA,
    # global MSA, so SW-MSA / W-MSA and global MSA / SW-MSA are pairs timed one right after
    # the other; global MSA / W-MSA has SW-MSA between them and is not drawn
    sw, msa = round_ratios(rows, "SW-MSA"), round_ratios(rows, "MSA", "SW-MSA")
    pair = round_ratios(rows, "SW-MSA", "MSA")
    last = stages[-1]
    win = {r["variant"]: (r.get("window"), r.get("shift")) for r in rows if r["stage"] == last}
    same = win.get("MSA") == win.get("W-MSA") and None not in win.get("MSA", (None,))
    # linear panel: SW-MSA / W-MSA at every stage, and the last stage's SW-MSA / global MSA:
    # one window, no shift, W-MSA's weights in both, timed one after the other (the control)
    ax = axes[0, 1]
    shifts = {r["stage"]: r.get("shift") for r in rows if r["variant"] == "SW-MSA"}
    near = [
        (stage, rs, "SW-MSA" if shifts.get(stage) != 0 else "SW-MSA, no shift", 0.0)
        for stage, rs in sorted(sw.items())
    ]
    if last in pair:
        near.append((last, pair[last], "control", 0.3))
    summary, right, shown = [], [], []
    for stage, rs, variant, dx in near:
        x = stage + dx
        label, colour, marker = f"{variant} / W-MSA", colours.get(variant, "tab:green"), "o"
        name = f"{variant} / W-MSA"
        if variant == "SW-MSA, no shift":  # one window: the block does not shift
            label = f"SW-MSA / W-MSA,\nstage {stage}: no shift"
            marker, name = "s", "SW-MSA / W-MSA, one window with no shift,"
        if variant == "control":  # SW-MSA over global MSA, its neighbour
            label, colour = f"SW-MSA / global MSA,\nstage {stage}", colours["MSA"]
            name = "SW-MSA / global MSA"
            if same:
                label = f"SW-MSA / global MSA,\nstage {stage}: no shift,\nW-MSA's weights"
                name = "SW-MSA / global MSA, one window with W-MSA's weights and no shift,"
        ax.plot([x] * len(rs), rs, marker, mfc="none", color=colour, alpha=0.7,
                label=label if variant not in shown else None)  # fmt: skip
        shown.append(variant)
        mid = float(torch.tensor(rs).median())
        ax.plot([x - 0.15, x + 0.15], [mid, mid], color=colour, lw=2)
        summary.append(f"{name} at stage {stage}: {min(rs):.2f} to {max(rs):.2f}, median {mid:.2f}")
    values = [r for _, rs, _, _ in near for r in rs]
    # room above the highest round for the legend
    low, high = min(0.9, min(values) - 0.05), max(values)
    ax.set_ylim(low, high + 1.3 * (high - low))
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(stages, [str(s) for s in stages])
    ax.set_xlabel("stage")
    ax.set_ylabel("time / neighbour's, each round")
    ax.legend(loc="upper center", title="tick: median", handlelength=1, borderpad=0.3)
    ax.grid(True, axis="y")
    ax = axes[0, 2]
    for stage, rs in sorted(msa.items()):
        ax.plot([stage] * len(rs), rs, "o", mfc="none", color=colours["MSA"], alpha=0.7)
        right.append(f"stage {stage}: {min(rs):.2f} to {max(rs):.2f}")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    # 1, 2, 5, 10, 20, 50 in plain numbers: stage 1's tens can be read off the axis
    ax.yaxis.set_minor_locator(mticker.LogLocator(subs=(2.0, 5.0)))
    plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xticks(stages, [str(s) for s in stages])
    ax.set_xlabel("stage")
    ax.set_ylabel("time / SW-MSA's, each round")
    # a title, not a legend: a legend would cover stage 1's points, the panel's highest
    ax.set_title("global MSA / SW-MSA")
    ax.grid(True, which="major")
    if caption:
        fig.suptitle(caption)
    set_alt(
        fig,
        "Three panels. Left: the measured time of W-MSA, SW-MSA and global MSA at each stage "
        "of Swin-T, log scale; every layer gathers its bias B on every call, M⁴ entries per "
        "head for W-MSA and SW-MSA, (hw)² for global MSA; a dot is the fastest round and its "
        "bar runs up to the slowest round: "
        + "; ".join(
            f"stage {s}: " + ", ".join(
                f"{r['variant']} {sig(r['ms'])} ms" for r in rows if r["stage"] == s
            )
            for s in stages
        )
        + ". Middle and right: each round's ratio of two layers timed one right after the "
        "other. Middle, on a linear axis: SW-MSA's time over W-MSA's at every stage, with "
        f"stage {last}'s SW-MSA over global MSA beside it"
        + (
            f": at stage {last} the grid is one window, so neither SW-MSA nor global MSA "
            "shifts, and both hold W-MSA's weights: its ratios show the timing "
            "spread" if same else ""
        )
        + ". The ratios: " + "; ".join(summary)
        + ". Right, on a log axis: global MSA's time over SW-MSA's at every stage: "
        + "; ".join(right) + ".",
    )  # fmt: skip
    return fig

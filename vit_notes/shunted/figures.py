"""The Shunted chapter's pictures: a schematic of shunted self-attention drawn from a layer's own
configuration, one query's attention in the coarse and the fine head group (colour tokens and
hand-set weights: a toy), beside PVT's SRA at the ratio whose multiply-adds are nearest to the
shunted layer's, a table of those maps, the cost of one stage-1 layer against ``sr_ratio``
(counted, and measured by ``bench/shunted_cost.py``), and the classroom explorer.

Every figure carries its alt text (:func:`~vit_notes.plotting.set_alt`), written from what it
shows.

Every figure follows the book's standard (:mod:`vit_notes.plotting`): drawn inside
:func:`~vit_notes.plotting.styled` with :func:`~vit_notes.plotting.new_figure`, at most as wide
as the text column, at most three panels in a row, no text under 9 pt; compared maps share one
colour scale and a colour bar, and the query is marked with an outlined box and a crosshair."""

from __future__ import annotations

import ast
import copy
import dataclasses
import io
import re
import statistics

import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, LogFormatter, NullLocator, ScalarFormatter

from .. import photo, registry, validate
from ..counting import count_macs, significant, time_forward
from ..explorer import Bars, Control, Explorer, MapPanel, _percent_apart, layer_cost_bars
from ..layers import keeps_global_rng, reduced_grid
from ..plotting import (
    MARK_OUTSIDE_BELOW,
    MIN_FONT_PT,
    arrow,
    box,
    new_figure,
    overlay_map,
    schematic_axes,
    set_alt,
    styled,
)
from ..pvt.cost import sra_cost

# The explorer offers PVT's image sizes: the same photo, the same page budget.
from ..pvt.figures import EXPLORER_SIZES, identity_sra
from ..pvt.model import SpatialReductionAttention
from ..trace import query_rows, trace_shapes
from .cost import shunted_cost, shunted_kv_tokens, sra_ratio_at_nearest_cost
from .model import CONFIGS, ShuntedAttention, check_sr_ratio, kv_grids


@torch.no_grad()
def identity_shunted(
    channels: int,
    sr_ratio: int,
    num_heads: int = 2,
    logit_scale: float = registry.TOY_LOGIT_SCALE,
    shift: float = 6.0,
):
    """A :class:`~vit_notes.shunted.model.ShuntedAttention` with hand-set weights, for tokens
    made by :func:`repeat_for_heads` (``dim = num_heads · channels``).

    ``q`` and ``proj`` are identities; ``kv1``/``kv2`` give each head of a group its own copy
    of the (reduced) token as key and as value; ``sr1``/``sr2`` average each reduction tile, so a
    reduced key is the mean histogram of the tokens it covers; the local-enhancement convs
    are zero. The norms standardise and add ``shift`` so that the GELU after them is (almost
    exactly) the identity: a constant added to every key component leaves the logits of a
    standardised query unchanged. The two head groups then differ only in their key grid.
    ``logit_scale`` multiplies the logits in place of ``d_h ** -0.5``: an inverse temperature
    we chose. A larger one sharpens every map without moving its peak, by an amount that
    depends on the map's logits.
    """

    channels = validate.width("channels", channels)
    h = validate.width("num_heads", num_heads)
    logit_scale = validate.number("logit_scale", logit_scale, low=0, low_open=True, high=1e3)
    shift = validate.number("shift", shift, low=-1e3, high=1e3)
    dim = validate.width("num_heads x channels (the layer's dim)", h * channels)
    attn = ShuntedAttention(
        dim, num_heads=h, qkv_bias=True, qk_scale=logit_scale, sr_ratio=sr_ratio
    )
    eye = torch.eye(dim)
    for lin in (attn.q, attn.proj):
        lin.weight.copy_(eye)
        lin.bias.zero_()
    if sr_ratio == 1:
        attn.kv.weight.copy_(torch.cat([eye, eye]))
        attn.kv.bias.zero_()
        attn.local_conv.weight.zero_()
        attn.local_conv.bias.zero_()
        return attn.eval()
    half = dim // 2
    for g, (kv, sr, norm, local) in enumerate(
        (
            (attn.kv1, attn.sr1, attn.norm1, attn.local_conv1),
            (attn.kv2, attn.sr2, attn.norm2, attn.local_conv2),
        )
    ):
        # rows (k|v, head j of the group, c) read the input channels of head g·h/2 + j
        group_cols = eye[g * half : (g + 1) * half]
        kv.weight.copy_(torch.cat([group_cols, group_cols]))
        kv.bias.zero_()
        k = sr.kernel_size[0]
        sr.weight.zero_()
        sr.weight[range(dim), range(dim)] = 1.0 / (k * k)
        sr.bias.zero_()
        norm.weight.fill_(1.0)
        norm.bias.fill_(shift)
        local.weight.zero_()
        local.bias.zero_()
    return attn.eval()


def _toy_weights(layer: ShuntedAttention) -> str:
    """What the toy's weights are, for an alt text or a test: read from ``layer``
    (an :func:`identity_shunted`), so that the text cannot drift from the weights. ``q`` and
    ``proj`` are identities, each ``kv`` copies its heads' channels into K and V, the
    reductions average their tiles, and the LayerNorm bias and the logit scale are read."""
    parts = ["identity q and proj, kv copies each head's channels to K and V"]
    if layer.sr_ratio > 1:
        parts.append("reductions average their tiles")
        parts.append(f"LayerNorm bias {float(layer.norm1.bias[0].detach()):g}")
    parts += ["zero LE", f"logit scale {float(layer.scale):g}"]
    return "hand-set weights: " + ", ".join(parts)


class _ToyMaps(dict):
    """What :func:`shunted_query_maps` returns, ``{sr_ratio: {group: (row, grid)}}``, with the
    toy's weights in words (:func:`_toy_weights`, read from its layer at the largest
    ``sr_ratio``), so that a figure can say what the toy is."""

    def __init__(self, maps: dict, weights: str):
        super().__init__(maps)
        self.weights = weights


SHUNTED_COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "Shunted": "tab:purple"}


def _ratios(sr_ratios) -> list[int]:
    """A non-empty list of shunted ``sr_ratios`` (1 or even, :func:`check_sr_ratio`), each
    building a layer: at most :data:`~vit_notes.validate.MAX_SETTINGS`."""
    sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=validate.MAX_SETTINGS)
    return [check_sr_ratio(r) for r in sr_ratios]


@torch.no_grad()
def shunted_query_maps(
    img: torch.Tensor,
    sr_ratios=(2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    num_heads: int = 2,
    logit_scale: float = registry.TOY_LOGIT_SCALE,
) -> dict[int, dict[str, tuple[torch.Tensor, tuple[int, int]]]]:
    """For each ``sr_ratio``: one query's attention in the coarse and the fine head group of a
    shunted layer with hand-set weights on colour tokens (:func:`identity_shunted`, whose
    ``logit_scale`` multiplies the logits).

    Returns ``{sr_ratio: {"coarse": (row, grid), "fine": (row, grid)}}`` (``{"plain": ...}`` for 1),
    a dict that also keeps the toy's weights in words (``.weights``, :func:`_toy_weights`).
    """
    sr_ratios = _ratios(sr_ratios)
    logit_scale = validate.number("logit_scale", logit_scale, low=0, low_open=True, high=1e3)
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    x = photo.repeat_for_heads(tokens, num_heads)
    q = photo.query_at((H, W), query_rc)
    out, layers = {}, {}
    for r in sr_ratios:
        layer = layers[r] = identity_shunted(
            tokens.shape[-1], r, num_heads, logit_scale=logit_scale
        )
        rows = query_rows(layer, x, H, W, query=q)
        out[r] = dict(zip(("coarse", "fine") if r > 1 else ("plain",), rows))
    return _ToyMaps(out, _toy_weights(layers[max(layers)]))


class _NearestCostMaps(dict):
    """What :func:`sra_nearest_cost_maps` returns, ``{sr_ratio: (sra_ratio, row, grid)}``, with
    the shunted layer whose multiply-adds the SRA ratios were matched to (``dim`` channels,
    ``num_heads`` heads), so that a figure can say which layer that was."""

    def __init__(self, maps: dict, dim: int, num_heads: int, norm_bias=None, logit_scale=None):
        super().__init__(maps)
        self.dim, self.num_heads = dim, num_heads
        # the SRA toy's LayerNorm bias (None where no R reduces) and logit scale, as read
        self.norm_bias, self.logit_scale = norm_bias, logit_scale


def _sra_weights(sra: dict, maps: dict) -> str:
    """How the SRA toy's weights differ from the shunted toy's, for the alt text: its LayerNorm
    bias, and its logit scale where that is not the shunted toy's (both read from the layers
    :func:`sra_nearest_cost_maps` built)."""
    parts = []
    if getattr(sra, "norm_bias", None) is not None:
        parts.append(f"LayerNorm bias {sra.norm_bias:g}")
    scale = getattr(sra, "logit_scale", None)
    if scale is not None and f"logit scale {scale:g}" not in getattr(maps, "weights", ""):
        parts.append(f"logit scale {scale:g}")
    return f", the same toy but {' and '.join(parts)}," if parts else ""


def _matched_layer(sra: dict) -> str:
    """The shunted layer whose multiply-adds the SRA column was matched to, for a title: by
    name where it is Shunted-T's stage-1 layer (:data:`~vit_notes.shunted.model.CONFIGS`)."""
    dim, heads = getattr(sra, "dim", None), getattr(sra, "num_heads", None)
    if dim is None:  # a plain dict: the layer is not known
        return "the shunted layer's"
    tiny = CONFIGS["shunted_t"]
    if (dim, heads) == (tiny["embed_dims"][0], tiny["num_heads"][0]):
        return f"Shunted-T's stage-1 layer (C = {dim})"
    return f"a shunted layer with C = {dim} and {heads} heads"


@torch.no_grad()
def sra_nearest_cost_maps(
    img: torch.Tensor,
    sr_ratios=(2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    dim: int = 64,
    num_heads: int = 2,
    logit_scale: float = registry.TOY_LOGIT_SCALE,
) -> dict[int, tuple[int, torch.Tensor, tuple[int, int]]]:
    """For each shunted ``sr_ratio``: the PVT SRA ratio whose multiply-adds are nearest to the
    shunted layer's (:func:`~vit_notes.shunted.cost.sra_ratio_at_nearest_cost`, for a
    ``dim``-channel, ``num_heads``-head layer on the photo's token grid), and the same query's
    map through PVT's toy SRA at that ratio (:func:`~vit_notes.pvt.identity_sra`: identity
    projections with zero biases, a reduction that averages its tiles, LayerNorm weight 1 and
    bias 0), whose logits ``logit_scale`` multiplies (as in :func:`shunted_query_maps`).
    Returns ``{sr_ratio: (sra_ratio, row, grid)}``, a dict that also keeps ``dim`` and
    ``num_heads``: :func:`plot_shunted_maps` names the layer the ratios were matched to. The
    toy's own width (two copies of the colour histogram) is not ``dim``: the ratios match the
    cost of a ``dim``-channel layer, not of the toy."""
    sr_ratios = _ratios(sr_ratios)
    logit_scale = validate.number("logit_scale", logit_scale, low=0, low_open=True, high=1e3)
    dim, num_heads = validate.width("dim", dim), validate.width("num_heads", num_heads)
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    q = photo.query_at((H, W), query_rc)
    out, norm_bias = {}, None
    for r in sr_ratios:
        r_sra = sra_ratio_at_nearest_cost(H, W, dim, num_heads, r)
        sra = identity_sra(tokens.shape[-1], r_sra, scale=logit_scale)
        if hasattr(sra, "norm"):  # R > 1: a reduction and its LayerNorm
            norm_bias = float(sra.norm.bias[0].detach())
        ((row, grid),) = query_rows(sra, tokens, H, W, query=q)
        out[r] = (r_sra, row, grid)
    return _NearestCostMaps(out, dim, num_heads, norm_bias, float(sra.scale))


def _peak_note(peaks: list[float]) -> str:
    """The figure's warning when the peaks of maps on one scale differ tenfold or more. It
    prints the factor, the highest peak over the lowest. The ends get three significant digits
    and the factor is taken from the printed ends, so a reader who divides them gets it: 0.010
    and 0.70 would print a 71× that their quotient, 70, does not give."""
    lo, hi = min(peaks), max(peaks)
    if lo > 0 and hi / lo >= 10:
        lo_txt, hi_txt = f"{lo:#.3g}", f"{hi:#.3g}"
        factor = f"{float(hi_txt) / float(lo_txt):.0f}×"
        return f"peaks range from {lo_txt} to {hi_txt} ({factor}): faint maps are spread, not empty"
    return ""


def _weights(name: str, row) -> torch.Tensor:
    """One query's attention weights: a non-empty float tensor of finite values (its entries
    in any shape, read flat), detached."""
    validate.tensor(name, row, what="a tensor of attention weights")
    if not row.numel() or row.device.type == "meta":
        raise ValueError(f"{name} holds no weights: give one query's row of a map")
    row = row.detach().flatten()
    if not bool(torch.isfinite(row).all()):
        raise ValueError(f"{name} holds NaN or infinite weights")
    return row


def _entries(name: str, maps, source: str) -> None:
    """Each entry of a maps dict as :func:`shunted_query_maps` returns it:
    ``{sr_ratio: {group: (row, (h, w))}}``."""
    validate.nonempty_dict(name, maps, source)
    for r, groups in maps.items():
        where = f"{name}[{validate.shown(r)}]"
        validate.kernel(f"{name}'s keys (sr_ratio)", r)
        validate.nonempty_dict(where, groups, source)
        for group, entry in groups.items():
            validate.one_of(f"{where}'s groups", group, ("coarse", "fine", "plain"))
            if not validate._ordered(entry) or len(entry) != 2:
                raise validate.InputTypeError(
                    f"{where}[{group!r}] must be (weights, (h, w)), got {validate.shown(entry)}"
                )
            row = _weights(f"{where}[{group!r}]'s weights", entry[0])
            h, w = validate.grid(f"{where}[{group!r}]'s grid", entry[1])
            if row.numel() != h * w:
                raise ValueError(f"{where}[{group!r}] holds {row.numel()} weights for {h}x{w} keys")


def _sra_entries(sra, maps) -> None:
    """``sra`` as :func:`sra_nearest_cost_maps` returns it, one entry per ratio of ``maps``:
    ``{sr_ratio: (sra_ratio, row, (h, w))}``."""
    validate.nonempty_dict("sra", sra, "sra_nearest_cost_maps (or None)")
    for r in maps:
        if r not in sra:
            raise ValueError(f"sra has no entry for sr_ratio={r} of maps: pass the sra maps of "
                             "the same ratios")  # fmt: skip
        entry = sra[r]
        if not validate._ordered(entry) or len(entry) != 3:
            raise validate.InputTypeError(
                f"sra[{r}] must be (sra_ratio, weights, (h, w)), got {validate.shown(entry)}"
            )
        validate.kernel(f"sra[{r}]'s ratio", entry[0])
        row = _weights(f"sra[{r}]'s weights", entry[1])
        h, w = validate.grid(f"sra[{r}]'s grid", entry[2])
        if row.numel() != h * w:
            raise ValueError(f"sra[{r}] holds {row.numel()} weights for {h}x{w} keys")


def effective_keys(row: torch.Tensor) -> float:
    """How many keys a map's weight is spread over: ``exp`` of its entropy (1 for a map that
    puts all its weight on one key, ``N_k`` for a uniform map over ``N_k`` keys)."""
    row = _weights("row", row).double()
    if (row < 0).any() or abs(float(row.sum()) - 1) > 1e-3:
        raise ValueError(
            f"row must be one query's attention weights (>= 0, summing to 1), got weights "
            f"summing to {float(row.sum()):.4g}"
        )
    return float(torch.exp(-(row * row.clamp_min(1e-300).log()).sum()))


def on_own_tile(row: torch.Tensor, grid: tuple[int, int], rate: int, query: int, W: int) -> bool:
    """Whether a map's largest weight is on the key whose reduction tile holds the query: token
    ``query`` of a grid ``W`` tokens wide, keys on ``grid``, each the merge of a ``rate x rate``
    reduction tile (leftover rows and columns belong to no key)."""
    row = _weights("row", row)
    h, w = validate.grid("grid", grid)
    if row.numel() != h * w:
        raise ValueError(f"row holds {row.numel()} weights but grid={h}x{w} has {h * w} keys")
    rate = validate.kernel("rate", rate)
    W = validate.size("W", W)
    if W // rate != w:
        raise ValueError(
            f"W={W} tokens at rate={rate} give {W // rate} key columns, but grid={h}x{w} has "
            f"{w}: pass the width of the token grid the keys were reduced from"
        )
    rows = h * rate + rate - 1  # the most token rows that reduce to h key rows
    query = validate.positive_int(
        "query", query, minimum=0, maximum=rows * W - 1,
        why=f"the last token of a grid of at most {rows} rows of W={W} tokens",
    )  # fmt: skip
    qy, qx = divmod(query, W)
    ky, kx = divmod(int(row.argmax()), w)
    return (qy // rate, qx // rate) == (ky, kx)


def coarse_peaks(img: torch.Tensor, queries, sr_ratio: int = 8, num_heads: int = 2) -> list[dict]:
    """For each of ``queries`` (row, col fractions, e.g. :func:`~vit_notes.photo.nearby_queries`):
    the coarse group's map at ``sr_ratio`` (:func:`shunted_query_maps`, the toy), its largest
    weight (``peak``), the key that holds it (``peak_key``), the key whose reduction tile holds the
    query (``own_key``), that key's weight (``own_weight``) and whether the peak is on it
    (``on_own``, :func:`on_own_tile`). One forward of the toy layer."""
    queries = [validate.fraction_pair(f"queries[{i}]", q)
               for i, q in enumerate(validate.nonempty_sequence("queries", queries))]  # fmt: skip
    r = validate.kernel("sr_ratio", sr_ratio, minimum=2)
    img = validate.photo("img", img)
    (rows, grid) = shunted_query_maps(img, (r,), queries, num_heads=num_heads)[r]["coarse"]
    _, (H, W) = photo.colour_tokens(img)
    out = []
    for row, q, token in zip(rows, queries, photo.query_at((H, W), queries)):
        qy, qx = divmod(token, W)
        own = (qy // r) * grid[1] + qx // r
        out.append(
            dict(
                query=q,
                peak=float(row.max()),
                peak_key=int(row.argmax()),
                own_key=own,
                own_weight=float(row[own]),
                on_own=on_own_tile(row, grid, r, token, W),
            )
        )
    return out


def query_map_rows(maps: dict, sra: dict | None, query_rc, H: int, W: int) -> list[dict]:
    """One row per map of :func:`plot_shunted_maps`: its ``sr_ratio``, which map, its key grid,
    its peak weight, the keys its weight is spread over (:func:`effective_keys`) and whether
    the peak is on the query's own reduction tile (:func:`on_own_tile`); ``H x W`` is the token grid
    the maps were computed on, ``sra`` as for :func:`plot_shunted_maps`."""
    _entries("maps", maps, "shunted_query_maps")
    if sra is not None:
        _sra_entries(sra, maps)
    H, W = validate.size("H", H), validate.size("W", W)
    query = photo.query_at((H, W), validate.fraction_pair("query_rc", query_rc))
    rows = []
    for r, groups in maps.items():
        rates = {"coarse": r, "fine": r // 2, "plain": 1}
        entries = [(name, row, grid, rates[name]) for name, (row, grid) in groups.items()]
        if sra:
            r_sra, row, grid = sra[r]
            entries.append((f"SRA R={r_sra}", row, grid, r_sra))
        for name, row, grid, rate in entries:
            rows.append(
                dict(
                    sr_ratio=r,
                    map=name,
                    keys=f"{grid[0]}x{grid[1]}",
                    peak=float(row.max()),
                    spread=effective_keys(row),
                    own_tile="yes" if on_own_tile(row, grid, rate, query, W) else "no",
                )
            )
    return rows


@styled
def plot_shunted_maps(
    img: torch.Tensor, maps: dict, query_rc, sra: dict | None = None, patch: int = 4
):
    """One row per ``sr_ratio``: the coarse group's map, the fine group's map and, given ``sra``
    (from :func:`sra_nearest_cost_maps`), PVT's SRA at the ratio whose layer does the number of
    multiply-adds nearest to the shunted layer's. The maps are the colour-token toy's
    (:func:`shunted_query_maps`, hand-set weights): the title and the alt text say so, and
    name the layer the SRA ratios were matched to. The alt text gives the weights as read
    from the toy's layers. The title stays short: the chapter's prose gives them too.

    Every map is drawn over the photo on **one** colour scale (one colour bar), with the query
    marked on each: a box around the query token's own ``patch``×``patch`` pixels (the
    ``patch`` the maps were made with, :func:`shunted_query_maps`) and a crosshair. A patch
    under :data:`~vit_notes.plotting.MARK_OUTSIDE_BELOW` px would hide under the box's stroke,
    so there the box is drawn one patch outside it. Each title
    gives the map's peak, and the figure says so when the peaks differ tenfold or more."""
    img = validate.photo("img", img)
    patch = validate.kernel("patch", patch)
    _entries("maps", maps, "shunted_query_maps")
    if sra is not None:
        _sra_entries(sra, maps)
    validate.fraction_pair("query_rc", query_rc)
    outside = patch < MARK_OUTSIDE_BELOW  # the query's pixels stay visible inside the box
    ncols = 3 if sra else 2
    nrows = len(maps)
    # one line of title (two, with SRA's), and the peaks' note
    height = 2.3 * nrows + (0.45 if sra else 0.25) + 0.4
    fig, axes = new_figure(nrows, ncols, height=height, given=f"maps has {nrows:,} entries")
    peaks = [float(row.max()) for groups in maps.values() for row, _ in groups.values()]
    if sra:
        peaks += [float(sra[r][1].max()) for r in maps]
    vmax = max(peaks)
    im = None
    described = []
    for ax_row, (r, groups) in zip(axes, maps.items()):
        panels = []
        for name, (row, grid) in groups.items():
            rate = {"coarse": r, "fine": r // 2, "plain": 1}[name]
            panels.append((f"{name} ÷{rate}: {grid[0]}×{grid[1]}", row, grid))
        if len(groups) == 1:
            panels.append(None)  # sr_ratio 1: one group, no fine map
        if sra:
            r_sra, row, grid = sra[r]
            panels.append((f"SRA R={r_sra}: {grid[0]}×{grid[1]}", row, grid))
        for ax, panel in zip(ax_row, panels):
            if panel is None:
                ax.set_visible(False)
                continue
            title, row, grid = panel
            im = overlay_map(
                ax, img, row, grid, vmax=vmax, query_rc=query_rc, patch=patch, outside=outside
            )
            ax.set_title(f"{title}, peak {float(row.max()):.2f}")
            described.append(f"{title.split(':')[0]} peak {float(row.max()):.2f}")
        ax_row[0].set_ylabel(f"sr_ratio = {r}")
    cbar = fig.colorbar(im, ax=axes, shrink=0.8, pad=0.02, aspect=30)
    cbar.set_label("attention weight (one scale)")
    weights = getattr(maps, "weights", "hand-set weights")  # a plain dict: not known
    # a short title: the toy's weights in full are in the alt text and the chapter's prose
    lines = ["Colour-token toy, hand-set weights: coarse group (÷r), fine group (÷r/2)"]
    if sra:
        lines.append(f"SRA (÷R) at the MACs nearest {_matched_layer(sra)}")
    lines[-1] += "; query token: cyan box"
    note = _peak_note(peaks)
    fig.suptitle("\n".join(t for t in (*lines, note) if t))
    alt = (
        f"One query's attention weights over the photo in a colour-token toy with {weights}. "
        f"One row per sr_ratio ({', '.join(str(r) for r in maps)}), on one colour "
        "scale: " + "; ".join(described) + "."
    )
    if sra:
        alt += (
            f" The SRA column{_sra_weights(sra, maps)} is at the ratio R whose multiply-adds "
            f"are nearest {_matched_layer(sra)}."
        )
    set_alt(fig, alt)
    return fig


#: The two head groups' colours in the schematic: coarse (÷r) and fine (÷r/2).
GROUP_COLOURS = {"coarse": "tab:blue", "fine": "tab:orange", "plain": "tab:purple"}

_SHAPE_LINE = re.compile(r"^\S+ (\w+_shape): (\(.*\))$")


@torch.no_grad()
def traced_shapes(attn: ShuntedAttention, H: int = 56, W: int = 56, batch: int = 1) -> dict:
    """What :func:`~vit_notes.trace.trace_shapes` prints for ``attn`` on a ``batch x (H·W) x
    dim`` input, as ``{"q_shape": "(1, 2, 3136, 32)", ...}``. Run on a copy of the layer on
    the ``meta`` device: shapes only, nothing computed."""
    validate.instance("attn", attn, ShuntedAttention)
    side = dict(maximum=validate.MAX_IMAGE, why="a token grid; shapes only, but bounded")
    H, W = validate.positive_int("H", H, **side), validate.positive_int("W", W, **side)
    batch = validate.batch("batch", batch)
    layer = copy.deepcopy(attn).to("meta").eval()
    buf = io.StringIO()
    with trace_shapes(layer, root="ssa", stream=buf):
        layer(torch.empty(batch, H * W, attn.dim, device="meta"), H, W)
    shapes = {}
    for line in buf.getvalue().splitlines():
        m = _SHAPE_LINE.match(line)
        if m:
            shapes[m.group(1)] = m.group(2)
    return shapes


def _token_grid(ax, centre, side_in, grid, colour, ax_scale) -> tuple[float, float, float, float]:
    """A ``grid`` of tokens at ``centre`` (data units), its longer side ``side_in`` inches, ruled
    into its cells (thin rules when dense). Returns its (x0, y0, w, h) in data units."""
    sx, sy = ax_scale
    rows, cols = grid
    w, h = side_in * cols / max(grid) / sx, side_in * rows / max(grid) / sy
    x0, y0 = centre[0] - w / 2, centre[1] - h / 2
    box(ax, (x0, y0), (w, h), color=colour, alpha=0.18)
    lw = 0.5 if max(rows, cols) <= 16 else 0.25
    for r in range(1, rows):
        ax.plot([x0, x0 + w], [y0 + h * r / rows] * 2, color=colour, lw=lw, alpha=0.8)
    for c in range(1, cols):
        ax.plot([x0 + w * c / cols] * 2, [y0, y0 + h], color=colour, lw=lw, alpha=0.8)
    return x0, y0, w, h


def _label(ax, xy, text, gid=None, **kw):
    kw = dict(ha="center", va="center", fontsize=MIN_FONT_PT) | kw
    return ax.text(*xy, text, gid=gid, **kw)


def _heads(lo: int, hi: int) -> str:
    return f"head {lo}" if lo == hi else f"heads {lo}–{hi}"


@styled
def draw_shunted_schematic(
    attn: ShuntedAttention | None = None, H: int = 56, W: int = 56, batch: int = 1
):
    """Shunted self-attention as boxes and arrows, drawn from ``attn``'s own configuration
    (default: stage 1 of Shunted-T, ``ShuntedAttention(64, 2, qkv_bias=True, sr_ratio=8)``)
    on an ``H x W`` token grid: queries from every token, split into two head groups; group 1
    takes keys and values from the grid reduced by ``r``, group 2 by ``r/2``
    (:func:`~vit_notes.shunted.model.kv_grids`); local enhancement adds a depthwise 3×3 conv
    of V to V; the groups' outputs are concatenated and projected.

    Every tensor is labelled with the name and shape that
    :func:`~vit_notes.trace.trace_shapes` prints for this layer (:func:`traced_shapes`); each
    such label carries that name (``"q_shape"``, ``"kv1_shape"``, ...) as its ``gid``. A
    group's attention box names the map ``attn1`` with its traced shape, then the map's
    product with V, ``(B, heads of the group, N, head_dim)``, which the trace does not print. With
    ``sr_ratio`` 1 the layer is one group of plain attention, and the conv of V is added to
    its output."""
    attn = ShuntedAttention(64, 2, qkv_bias=True, sr_ratio=8) if attn is None else attn
    validate.instance("attn", attn, ShuntedAttention)
    shapes = traced_shapes(attn, H, W, batch)
    r, C, h = attn.sr_ratio, attn.dim, attn.num_heads
    grids = kv_grids(H, W, r)
    two = r > 1
    width, height = 7.5, 6.3
    fig, axes = new_figure(1, 1, height=height, width=width)
    fig.set_layout_engine("none")  # fixed axes: boxes drawn square stay square
    ax = axes[0, 0]
    ax.set_position([0.01, 0.01, 0.98, 0.92])
    schematic_axes(ax)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    scale = (width * 0.98 / 10, height * 0.92 / 10)  # inches per data unit
    groups = "two head groups, two key grids" if two else "sr_ratio 1: one group, all keys"
    fig.suptitle(f"Shunted self-attention on a {H}×{W} token grid: {groups}", y=0.985)

    def shape(name):  # the label trace_shapes prints for the tensor
        return f"{name}: {shapes[name]}"

    # The input: every token of the H x W grid.
    x0, y0, w0, h0 = _token_grid(ax, (5, 8.95), 0.75, (H, W), "0.35", scale)
    _label(
        ax,
        (x0 + w0 + 0.15, 9.3),
        f"x: ({batch}, {H * W}, {C})\n{H}×{W} tokens, C = {C}\n{h} heads, r = sr_ratio = {r}",
        ha="left",
    )

    # The queries: every token, split by heads into the groups.
    names = ("coarse", "fine") if two else ("plain",)
    half = h // 2 if two else h
    qw, qh, qy = 2.2, 0.6, 5.9
    qx = 5 - qw / 2
    arrow(ax, (5, y0), (5, qy + qh + 0.45))
    _label(ax, (5.1, (y0 + qy + qh + 0.45) / 2 + 0.1), "q: Linear C→C", ha="left")
    _label(ax, (5, qy + qh + 0.25), shape("q_shape"), gid="q_shape")
    part = qw / len(names)
    for g, name in enumerate(names):
        box(ax, (qx + g * part, qy), (part, qh), color=GROUP_COLOURS[name], alpha=0.3)
        _label(ax, (qx + (g + 0.5) * part, qy + qh / 2), _heads(g * half, (g + 1) * half - 1))

    # Each group's column: its key grid, K and V, local enhancement, attention.
    bw = 3.1  # width of a group's boxes
    out_w, out_y = 2.6, 1.0
    for g, (name, grid) in enumerate(zip(names, grids), start=1):
        gx = 1.65 if g == 1 else 8.35
        inner = 1 if g == 1 else -1  # towards the middle of the figure
        colour = GROUP_COLOURS[name]
        tag = str(g) if two else ""
        ky, ly, ay = 3.95, 2.55, out_y
        if two:  # the key grid: the same image, in fewer tokens
            rate = r if g == 1 else r // 2
            corner = (x0 if g == 1 else x0 + w0, y0)
            gx0, gy0, gw, gh = _token_grid(ax, (gx, 6.6), 0.75, grid, colour, scale)
            arrow(ax, corner, (gx + 0.3 * inner, gy0 + gh), color=colour)
            _label(
                ax,
                (gx + 1.25 * inner, 7.95),
                f"sr{g} (conv {rate}×{rate}, stride {rate}),\nnorm{g}, act (GELU)",
                ha="right" if g == 1 else "left",
                va="bottom",
            )
            _label(
                ax,
                (gx, gy0 - 0.12),
                f"{name}: {grid[0]}×{grid[1]} keys\n" + shape(f"x{g}_reduced_shape"),
                gid=f"x{g}_reduced_shape",
                va="top",
            )
            arrow(ax, (gx, gy0 - 0.85), (gx, ky + 0.4), color=colour)
            kv_text = f"kv{g} (Linear C→C): K, V\n"
        else:
            arrow(ax, (x0, y0), (gx, ky + 0.4), color=colour)
            kv_text = "kv (Linear C→2C): K, V\n"
        box(ax, (gx - bw / 2, ky - 0.4), (bw, 0.8), color=colour, alpha=0.2)
        _label(ax, (gx, ky), kv_text + shape(f"kv{tag}_shape"), gid=f"kv{tag}_shape")
        # local enhancement of V; when r = 1, of the whole V, added to the attention output
        lx = gx if two else 10 - gx
        box(ax, (lx - bw / 2, ly - 0.4), (bw, 0.8), color=colour, alpha=0.08)
        if two:
            le = "V + LE(V), LE = DWConv3×3\n" + shape(f"v{g}_grid_shape")
            _label(ax, (gx, ly), le, gid=f"v{g}_grid_shape")
            arrow(ax, (gx, ky - 0.4), (gx, ly + 0.4), color=colour)
        else:
            _label(ax, (lx, ly), f"local_conv: DWConv3×3(V)\non the {H}×{W} grid")
            arrow(ax, (gx + bw / 2, ky), (lx - 0.6, ly + 0.4), color=colour)
            arrow(ax, (lx, ly - 0.4), (5 + out_w / 2 - 0.3, out_y + 0.65), color=colour)
        # attention over this group's keys, with this group's queries
        # two tensors, each with its own shape: the map, then its product with V
        ah = 0.6  # half the box's height
        box(ax, (gx - bw / 2, ay - ah), (bw, 2 * ah), color=colour, alpha=0.3)
        amap = ast.literal_eval(shapes[f"attn{tag}_shape"])  # the printed tuple
        product = (*amap[:3], C // h)  # (B, heads in the group, N, d)
        what = (
            f"attn{tag} = softmax(Q{tag} K{tag}ᵀ · scale)\n"
            + shape(f"attn{tag}_shape")
            + f"\nattn{tag} · V{tag}: {product}"
        )
        _label(ax, (gx, ay), what, gid=f"attn{tag}_shape")
        arrow(ax, (gx, (ly if two else ky) - 0.4), (gx, ay + ah), color=colour)
        qs = qx + (g - 0.5) * part
        arrow(ax, (qs, qy), (gx + (bw / 2 - 0.15) * inner, ay + ah), color=colour)
        arrow(ax, (gx + bw / 2 * inner, ay), (5 - out_w / 2 * inner, ay), color=colour)

    # Concatenate the groups' C/2 channels (or add the conv of V), project: the output.
    box(ax, (5 - out_w / 2, out_y - 0.65), (out_w, 1.3), color="0.35", alpha=0.15)
    step = "concat the groups'\nC/2 channels; proj\n" if two else "add local_conv; proj\n"
    _label(ax, (5, out_y), step + shape("output_shape"), gid="output_shape")
    if two:
        what = (
            f"the queries of all {H * W} tokens split into two head groups; the coarse group "
            f"attends over {grids[0][0]}×{grids[0][1]} keys from a ÷{r} reduction of the grid, "
            f"the fine group over {grids[1][0]}×{grids[1][1]} keys from a ÷{r // 2} reduction; "
            "each reduction is a convolution (sr1, sr2), then a LayerNorm (norm1, norm2), then "
            "a GELU (act); "
            "each adds a depthwise 3×3 convolution of its values to them; the two groups' "
            "outputs are concatenated and projected"
        )
    else:
        what = (
            f"sr_ratio 1: all {h} heads attend over all {H * W} tokens, and a depthwise 3×3 "
            "convolution of the values is added to the attention output before the projection"
        )
    set_alt(fig, f"Schematic of shunted self-attention on a {H}×{W} token grid, C = {C}: {what}.")
    return fig


@keeps_global_rng
@torch.no_grad()
def shunted_cost_table(
    size: int = 224,
    sr_ratios=(2, 4, 8),
    dim: int = 64,
    num_heads: int = 2,
    patch: int = 4,
    timed: bool = True,
    min_run_time: float = 0.05,
    num_threads: int | None = None,
    rounds: int = 5,
) -> list[dict]:
    """Rows of {variant, size, dim, num_heads, sr_ratio, tokens, kv_tokens, head_keys,
    analytic/counted GMACs, attention-map MiB (float32, all heads, batch 1), ms}
    for one stage-1 layer (``size/patch`` grid, so equal query-token counts) of shunted
    attention and of PVT's SRA at each ``sr_ratio``.

    Untimed, the layers are counted on the ``meta`` device (shapes only, no compute). Timed,
    they run on the CPU with ``num_threads`` threads (default: torch's current setting; changing
    it inside a notebook kernel has hung or killed the kernel here, so leave it unless needed).
    Each layer is timed in ``rounds`` rounds, taking turns with the others: ``ms_rounds`` holds
    each round's median and ``ms`` the fastest, since other work on a shared machine only ever
    adds time. Taking turns spreads a burst of it over the layers rather than over every round
    of one layer; it does not cancel it (:func:`timing_outliers` reads the rounds).

    ``kv_tokens`` is every key of the layer (Shunted: ``N_k1 + N_k2``, summed over its two head
    groups); ``head_keys`` the keys one head attends to, as text: SRA's ``N_k``, and Shunted's
    ``"N_k1 or N_k2"`` (a head of the coarse group sees ``N_k1``, one of the fine group
    ``N_k2``)."""

    timed = validate.flag("timed", timed)
    min_run_time, rounds = validate.timing(min_run_time, rounds)
    patch = validate.kernel("patch", patch)
    size = validate.size("size", size, minimum=patch)
    sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=validate.MAX_SETTINGS)
    if num_threads is not None:
        num_threads = validate.positive_int("num_threads", num_threads, maximum=1024)
    dim, num_heads = validate.width("dim", dim), validate.width("num_heads", num_heads)
    torch.manual_seed(0)
    H = W = size // patch
    device = torch.device("cpu" if timed else "meta")
    x = torch.randn(1, H * W, dim, device=device)
    rows, layers = [], []
    for r in sr_ratios:
        for variant in ("Shunted", "SRA"):
            with device:
                if variant == "Shunted":
                    layer = ShuntedAttention(dim, num_heads, qkv_bias=True, sr_ratio=r)
                    c = shunted_cost(H, W, dim, num_heads, r)
                else:
                    layer = SpatialReductionAttention(dim, num_heads, qkv_bias=True, sr_ratio=r)
                    c = sra_cost(H, W, dim, num_heads, r)
            layer.eval()
            row = dict(
                variant=variant,
                size=size,
                dim=dim,
                num_heads=num_heads,
                sr_ratio=r,
                tokens=c.tokens,
                kv_tokens=c.kv_tokens,
                head_keys=(
                    " or ".join(str(m) for m in shunted_kv_tokens(H, W, r))
                    if variant == "Shunted"
                    else str(c.kv_tokens)
                ),
                analytic_gmacs=c.macs / 1e9,
                counted_gmacs=count_macs(layer, x, H, W) / 1e9,
                attn_mib=c.attn_bytes / 2**20,
            )
            rows.append(row)
            layers.append(layer)
    for _ in range(rounds if timed else 0):
        for row, layer in zip(rows, layers):
            m = time_forward(layer, x, H, W, min_run_time=min_run_time, num_threads=num_threads)
            row.setdefault("ms_rounds", []).append(m.median * 1e3)
            row["ms"] = min(row["ms_rounds"])
    return rows


@keeps_global_rng
@torch.no_grad()
def reduction_conv_table(
    size: int = 112,
    sr_ratios=(2, 4, 8),
    dim: int = 64,
    patch: int = 4,
    timed: bool = True,
    min_run_time: float = 0.05,
    rounds: int = 5,
) -> list[dict]:
    """The reduction convolution alone (``dim -> dim``, kernel and stride ``r``, as SRA's ``sr``
    and the coarse group's ``sr1``) on the ``size/patch`` grid, one row per ``r``: its keys, its
    multiply-adds (``(H/r)(W/r)·C²·r²``, the same ``H·W·C²`` for every ``r`` that divides the
    grid) and, timed, each round's median ms (``ms_rounds``, rounds taking turns) and the
    fastest (``ms``). Changing ``r`` here changes only the kernel and the output grid."""
    timed = validate.flag("timed", timed)
    min_run_time, rounds = validate.timing(min_run_time, rounds)
    patch = validate.kernel("patch", patch)
    size = validate.size("size", size, minimum=patch)
    sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=validate.MAX_SETTINGS)
    dim = validate.width("dim", dim)
    torch.manual_seed(0)
    H = W = size // patch
    x = torch.randn(1, dim, H, W)
    rows, convs = [], []
    for r in [validate.kernel("sr_ratios", r) for r in sr_ratios]:
        h, w = reduced_grid(H, W, r)
        conv = torch.nn.Conv2d(dim, dim, kernel_size=r, stride=r).eval()
        rows.append(
            dict(
                part="reduction conv",
                size=size,
                dim=dim,
                sr_ratio=r,
                keys=h * w,
                gmacs=h * w * dim * dim * r * r / 1e9,
            )
        )
        convs.append(conv)
    for _ in range(rounds if timed else 0):
        for row, conv in zip(rows, convs):
            m = time_forward(conv, x, min_run_time=min_run_time)
            row.setdefault("ms_rounds", []).append(m.median * 1e3)
            row["ms"] = min(row["ms_rounds"])
    return rows


#: How much slower than the counts predict a timed point may be before the figure rings it
#: (1.0: not at all; a layer with fewer multiply-adds is never slower).
NOISE_TOLERANCE = 1.0


def _limit(a: dict, b: dict) -> float:
    """How many times ``b``'s time ``a`` may take: time may grow at most as fast as the
    multiply-adds (fixed costs make it grow slower), never when they shrink."""
    return max(1.0, a["counted_gmacs"] / b["counted_gmacs"]) * NOISE_TOLERANCE


def _unexplained(a: dict, b: dict, ms_a: float, ms_b: float) -> bool:
    """Whether ``a`` taking ``ms_a`` is slower than ``b`` taking ``ms_b`` explains
    (:func:`_limit`)."""
    return ms_a / ms_b > _limit(a, b)


def timing_margins(rows: list[dict]) -> list[dict]:
    """Every ordered pair of timed rows of the same variant on the same grid, as the rings of
    :func:`plot_shunted_cost` judge them: ``row`` against ``other``, ``limit`` (how many times
    ``other``'s time the counts let ``row`` take), ``fastest`` (the ratio of their fastest
    rounds ``ms``, the points drawn) and ``rounds`` (the ratio within each round of
    ``ms_rounds``; the rounds took turns, so round k of both ran at about the same time).
    A ratio above ``limit`` is slower than the multiply-adds predict."""
    rows = validate.rows("rows", rows, keys=("variant",))
    out = []
    for a in rows:
        if "ms" not in a:
            continue
        for b in rows:
            if b is a or "ms" not in b:
                continue
            if any(b.get(k) != a.get(k) for k in ("variant", "size", "tokens")):
                continue
            rounds = zip(a.get("ms_rounds", [a["ms"]]), b.get("ms_rounds", [b["ms"]]))
            out.append(
                dict(
                    row=a,
                    other=b,
                    limit=_limit(a, b),
                    fastest=a["ms"] / b["ms"],
                    rounds=[ta / tb for ta, tb in rounds],
                )
            )
    return out


def timing_outliers(rows: list[dict]) -> dict[str, list[dict]]:
    """The timed rows that the counts do not explain, in two kinds. Whether a row is one is
    decided on the points the figure draws, the fastest rounds ``ms``: slower than another row
    of the same variant on the same grid by more than the multiply-adds predict
    (:func:`timing_margins`). The rounds ``ms_rounds`` only choose the kind:

    ``"noise"``: not so in every round, or timed once: timing noise, other work on a shared
    machine, not a property of the layer. ``"systematic"``: so in every one of two or more
    rounds: a real cost that multiply-adds do not count (a kernel that runs slower per
    multiply-add than another, say). A row slower than predicted in some rounds but not on its
    fastest round is neither."""
    out = {"noise": [], "systematic": []}
    pairs = timing_margins(rows)
    for a in rows:
        over = [p for p in pairs if p["row"] is a and p["fastest"] > p["limit"]]
        if not over:
            continue
        n = min(len(p["rounds"]) for p in over)
        always = n > 1 and all(any(p["rounds"][k] > p["limit"] for p in over) for k in range(n))
        out["systematic" if always else "noise"].append(a)
    return out


def round_ratios(rows: list[dict]) -> dict[int, dict]:
    """Per ``sr_ratio`` timed for both layers, the shunted layer's time over SRA's within each
    round of ``ms_rounds`` (the rounds took turns, so round k of both ran at about the same
    time): ``{sr_ratio: {"rounds": [ratio per round], "median": ..., "macs": Shunted's
    multiply-adds over SRA's}}``. This is the ratio the chapter reads, not the ratio of the
    fastest rounds, which may be different rounds."""
    rows = validate.rows("rows", rows, keys=("variant", "sr_ratio", "ms_rounds", "counted_gmacs"))
    by = {(r["variant"], r["sr_ratio"]): r for r in rows}
    out = {}
    for (variant, r), s in sorted(by.items(), key=lambda kv: kv[0][1]):
        if variant != "Shunted" or ("SRA", r) not in by:
            continue
        p = by["SRA", r]
        ratios = [a / b for a, b in zip(s["ms_rounds"], p["ms_rounds"], strict=True)]
        out[r] = dict(
            rounds=ratios,
            median=statistics.median(ratios),
            macs=s["counted_gmacs"] / p["counted_gmacs"],
        )
    return out


class _PlainLogFormatter(LogFormatter):
    """Log-axis tick labels as plain numbers (``0.02``, ``200``), not ``2e-02``."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


def _sr_axis(ax, ratios) -> None:
    """``sr_ratio`` on a log-2 axis with its values as ticks; the y axis log, ticks in plain
    numbers (``0.02``, not ``2×10⁻²``)."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(ratios))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("sr_ratio (log scale)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_PlainLogFormatter())
    ax.yaxis.set_minor_formatter(_PlainLogFormatter(minor_thresholds=(1, 0.4)))
    ax.grid(alpha=0.3, which="both")


#: How far the measured panel moves each variant's points off its sr_ratio (a factor: the
#: axis is logarithmic), so that the rounds' bars of the two layers stand side by side.
_DODGE = {"Shunted": 1.04, "SRA": 1 / 1.04}


@styled
def plot_shunted_cost(rows: list[dict], title: str):
    """Cost of one layer against ``sr_ratio``, one message per panel: the multiply-adds (formula
    lines, counter circles: they agree) and, when the rows are timed, the measured latency of
    each layer's fastest round. When both layers were timed in several rounds, a third panel
    gives the shunted layer's time over SRA's within each round (:func:`round_ratios`): a dot
    per round, a bar at the median, a cross at the multiply-add ratio.

    Both axes are logarithmic and labelled so. A timed point slower than its multiply-adds
    predict (:func:`timing_outliers`) is ringed and explained on the figure: in red when it is
    timing noise on a shared machine (not so in every round), in black when it is so in every
    round (a cost the counts miss)."""
    title = validate.figure_text("title", title, allow_empty=True)
    rows = validate.rows("rows", rows, keys=("variant", "sr_ratio", "analytic_gmacs"))
    timed = "ms" in rows[0]
    paired = (
        round_ratios(rows) if timed and all(len(r.get("ms_rounds", [])) > 1 for r in rows) else {}
    )
    fig, axes = new_figure(1, 1 + timed + bool(paired), height=3.9)
    variants = [v for v in ("Shunted", "SRA") if any(r["variant"] == v for r in rows)]
    ratios = [r["sr_ratio"] for r in rows]
    ax = axes[0, 0]
    for variant in variants:
        sel = [r for r in rows if r["variant"] == variant]
        xs = [r["sr_ratio"] for r in sel]
        kw = dict(color=SHUNTED_COLOURS[variant])
        ax.plot(xs, [r["analytic_gmacs"] for r in sel], "-", **kw)
        ax.plot(xs, [r["counted_gmacs"] for r in sel], "o", mfc="none", ms=9, **kw)
    _sr_axis(ax, ratios)
    ax.set_ylabel("GMACs (log scale)")
    ax.set_title("multiply-adds: formula = counter")
    if timed:
        ax = axes[0, 1]
        for variant in variants:
            sel = [r for r in rows if r["variant"] == variant]
            # side by side, so that the two layers' bars do not hide each other
            xs = [r["sr_ratio"] * _DODGE[variant] for r in sel]
            ms = [r["ms"] for r in sel]
            ax.plot(xs, ms, ":s", color=SHUNTED_COLOURS[variant])
            # The rounds' spread: each round's median, from the fastest to the slowest.
            lo = [m - min(r.get("ms_rounds", [m])) for m, r in zip(ms, sel)]
            hi = [max(r.get("ms_rounds", [m])) - m for m, r in zip(ms, sel)]
            ax.errorbar(xs, ms, yerr=[lo, hi], fmt="none", capsize=3, lw=1,
                        color=SHUNTED_COLOURS[variant])  # fmt: skip
        _sr_axis(ax, ratios)
        ax.set_ylabel("CPU latency, ms (log scale)")
        n = max(len(r.get("ms_rounds", [])) for r in rows)
        ax.set_title(
            f"each layer's fastest of {n} rounds\n(bar: up to the slowest round)"
            if n > 1
            else "measured: median of runs"
        )
        odd = timing_outliers(rows)
        rings = {
            "noise": (
                "tab:red",
                "slower than its MACs predict in some rounds only: timing noise (shared machine)",
            ),
            "systematic": (
                "black",
                "slower than its MACs predict in every round: a cost the counts miss",
            ),
        }
        for kind, (colour, label) in rings.items():
            if odd[kind]:
                ax.plot(
                    [r["sr_ratio"] * _DODGE[r["variant"]] for r in odd[kind]],
                    [r["ms"] for r in odd[kind]],
                    "o",
                    ms=16,
                    mfc="none",
                    mec=colour,
                    mew=1.5,
                    label=label,
                )
        handles, _ = ax.get_legend_handles_labels()
        if handles:  # what the rings mean, under the panels
            fig.legend(handles=handles, loc="outside lower center", ncol=1)
    if paired:
        ax = axes[0, 2]
        for r, p in paired.items():
            ax.plot([r] * len(p["rounds"]), p["rounds"], "o", mfc="none", color="0.35", alpha=0.8)
            ax.plot([r / 1.15, r * 1.15], [p["median"]] * 2, color="black", lw=2)
            ax.plot([r], [p["macs"]], "x", color=SHUNTED_COLOURS["Shunted"], ms=10, mew=2)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(sorted(paired)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(min(paired) / 1.6, max(paired) * 1.6)
        ax.set_xlabel("sr_ratio (log scale)")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_ylabel("Shunted time / SRA's, in one round")
        ax.set_title("Shunted / SRA, each round\n(line: median; ×: MACs)")
        ax.grid(True, axis="y")
    # The key, in the counts' panel (its curves fall, so its upper right is free); the
    # measured panel uses the same colours.
    key = [Line2D([], [], color=SHUNTED_COLOURS[v], lw=3, label=v) for v in variants]
    key += [
        Line2D([], [], color="0.3", label="formula"),
        Line2D([], [], color="0.3", marker="o", mfc="none", ms=9, ls="none", label="counter"),
    ]
    axes[0, 0].legend(handles=key, loc="upper right")
    fig.suptitle(title)
    ratios_text = ", ".join(str(r) for r in sorted(set(ratios)))
    parts = []
    for variant in variants:
        sel = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["sr_ratio"])
        macs = ", ".join(f"{r['counted_gmacs']:.3g}" for r in sel)
        text = f"{variant} {macs} GMACs"
        if timed:
            text += " and " + ", ".join(
                f"{r['ms']:.3g} ms (slowest round {max(r.get('ms_rounds', [r['ms']])):.3g})"
                for r in sel
            )
        parts.append(text)
    set_alt(
        fig,
        f"{title}. At sr_ratio {ratios_text}: "
        + "; ".join(parts)
        + ". Formula and counter agree"
        + (
            "; the second panel is each layer's measured latency in its fastest round, with a "
            "bar up to the slowest."
            if timed
            else "."
        )
        + (
            " The third panel is the shunted layer's time over SRA's within each round: "
            + "; ".join(
                f"at sr_ratio {r} {min(p['rounds']):.2f} to {max(p['rounds']):.2f}, median "
                f"{p['median']:.2f}, against {p['macs']:.2f} times the multiply-adds"
                for r, p in paired.items()
            )
            + "."
            if paired
            else ""
        ),
    )
    return fig


def shunted_cost_chart(size: int, num_heads: int, sr_ratio: int) -> Bars:
    """The explorer's cost panel: one stage-1 layer (C=64, ``size/4`` tokens a side) of plain
    attention, PVT's SRA and shunted attention at ``sr_ratio``, multiply-adds on a linear scale
    (the title says so), labelled with MMACs, the attention maps' memory and how many times
    fewer multiply-adds than plain attention, named as such ("(22× fewer MACs)")."""
    H = W = validate.size("size", size, minimum=4) // 4
    costs = {
        "plain": sra_cost(H, W, 64, num_heads, 1),
        "SRA": sra_cost(H, W, 64, num_heads, sr_ratio),
        "Shunted": shunted_cost(H, W, 64, num_heads, sr_ratio),
    }
    bars = layer_cost_bars(
        f"one stage-1 layer, C=64, sr_ratio {sr_ratio}: bar length = multiply-adds (M); "
        "brackets against plain",
        costs,
        SHUNTED_COLOURS,
        ratio_of="MACs",
    )
    # The chapter's exercise asks about memory: the bracket gives its ratio to plain too.
    plain = costs["plain"].attn_bytes

    def memory(c) -> str:
        if c.attn_bytes == plain:
            return "as much memory"
        ratio = plain / c.attn_bytes
        if significant(ratio, 2) == "1.0" or significant(1 / ratio, 2) == "1.0":
            return f"{_percent_apart(c.attn_bytes, plain, 'more', 'less')} memory"
        if ratio > 1:
            return f"{significant(ratio, 2)}× less memory"
        return f"{significant(1 / ratio, 2)}× more memory"

    texts = [bars.texts[0]] + [
        f"{t[:-1]}; {memory(c)})" if t.endswith(")") else t
        for t, c in zip(bars.texts[1:], list(costs.values())[1:])
    ]
    return dataclasses.replace(bars, texts=tuple(texts))


def shunted_explorer() -> Explorer:
    """The chapter's explorer over ``sr_ratio``, heads, image size and the query: the coarse
    and the fine group's map of the query on one colour scale, and the cost of one stage-1
    layer against SRA and plain attention. A live widget in a kernel, a precomputed twin on
    the page (:class:`~vit_notes.explorer.Explorer`)."""

    def _explorer_toy(sr_ratio, num_heads):
        # the toy's weights as the maps' layer has them (the channels do not change them)
        return _toy_weights(identity_shunted(4, sr_ratio, num_heads))

    def maps(queries, sr_ratio, num_heads, size):
        img = photo.load_photo(size)
        groups = shunted_query_maps(img, (sr_ratio,), queries, num_heads=num_heads)[sr_ratio]
        rates = {"coarse": sr_ratio, "fine": sr_ratio // 2, "plain": 1}
        return [
            MapPanel(
                f"{name} ÷{rates[name]}: {grid[0]}×{grid[1]} keys",
                grid,
                rows,
                patch=4,
                # a 4×4-px patch hides under the box's stroke: the box goes one patch outside
                outside=4 < MARK_OUTSIDE_BELOW,
            )
            for name, (rows, grid) in groups.items()
        ]

    def caption(sr_ratio, num_heads, size):
        groups = (
            "one group, all keys" if sr_ratio == 1 else f"groups ÷{sr_ratio} and ÷{sr_ratio // 2}"
        )
        # short: the toy's weights in full are in the alt text and the chapter's prose
        return (
            f"Colour-token toy, hand-set weights. {size}×{size} photo, {num_heads} heads: "
            f"{groups}. Query token: in the cyan box"
        )

    def alt(sr_ratio, num_heads, size):
        side = size // 4
        grids = " and ".join(
            f"the {name} group's map over {h}×{w} keys"
            for name, (h, w) in zip(("coarse", "fine"), kv_grids(side, side, sr_ratio))
        )
        return (
            f"Explorer, starting state: the {size}×{size} photo with the query token inside "
            f"a cyan box, one token from its edge, {grids} of a colour-token toy with "
            f"{_explorer_toy(sr_ratio, num_heads)}, at sr_ratio {sr_ratio} and "
            f"{num_heads} heads. Under them, one stage-1 "
            "layer's multiply-adds and attention-map memory (KiB or MiB) for plain attention, "
            "SRA and Shunted"
        )

    return Explorer(
        key="explore-shunted",
        title="Shunted self-attention: sr_ratio, heads, image size, query",
        controls=(
            Control("sr_ratio", "sr_ratio", (1, 2, 4, 8), default=8),
            Control("num_heads", "heads", (2, 4, 8), default=2),
            Control("size", "image size", EXPLORER_SIZES, default=224),
        ),
        maps=maps,
        bars=lambda sr_ratio, num_heads, size: [shunted_cost_chart(size, num_heads, sr_ratio)],
        caption=caption,
        alt=alt,
        query_grid=10,
        default_query=(3, 5),
        photo=lambda size, **_: photo.load_photo(size),
    )

"""The PVT chapter's pictures: a schematic of spatial-reduction attention drawn from a layer's
own configuration, one query's attention on the photo as ``sr_ratio`` grows (colour tokens and
hand-set weights, :func:`identity_sra`: a toy whose maps mean "same colour"), the cost of one
stage-1 layer against ``sr_ratio`` and image size, and the classroom explorer (one
description: a live widget in a kernel, a page twin on the site).

Every figure is drawn in the book's style (:func:`vit_notes.plotting.styled`): at most the text
column's width, no text under 9 pt, at most three panels in a row."""

from __future__ import annotations

import math
import textwrap

import matplotlib.ticker as mticker
import torch
from matplotlib.lines import Line2D

from .. import photo, registry, validate
from ..counting import count_macs, format_bytes, significant, time_forward
from ..explorer import Bars, Control, Explorer, MapPanel, layer_cost_bars
from ..layers import keeps_global_rng
from ..plotting import (
    MIN_FONT_PT,
    TEXT_WIDTH_IN,
    arrow,
    box,
    new_figure,
    schematic_axes,
    set_alt,
    styled,
)
from ..trace import query_rows
from .cost import sra_cost
from .model import CONFIGS, SpatialReductionAttention


def _article(n: int) -> str:
    """The article before the number ``n`` read aloud: an 8, an 11, an 18, an 80, a 2."""
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


@torch.no_grad()
def identity_sra(
    dim: int,
    sr_ratio: int,
    scale: float = registry.TOY_LOGIT_SCALE,
    linear: bool = False,
    num_heads: int = 1,
):
    """A :class:`~vit_notes.pvt.SpatialReductionAttention` with hand-set weights (not all of
    them identities; :func:`_toy_weights` says which, read from the layer).

    ``q``, ``k``, ``v`` and ``proj`` are identities with zero biases. The reduction conv averages
    each ``sr_ratio x sr_ratio`` reduction tile (weight ``1/sr_ratio²`` from a channel to itself,
    zero bias), so a reduced key is the mean of the tokens it covers. With ``linear``, the pool
    averages and the 1×1 conv is the identity. The LayerNorm keeps its initial weight 1 and
    bias 0: the plain standardisation. The logits are ``scale · q·k``, in place of the
    module's ``1/√d_h``: ``scale`` multiplies the logits, so it is an inverse temperature
    (softmax(z / T) with T = 1/scale), and a larger ``scale`` sharpens the softmax. With several
    heads, each head compares its own slice of the palette.
    """
    linear = validate.flag("linear", linear)
    attn = SpatialReductionAttention(
        dim,
        num_heads=num_heads,
        qkv_bias=True,
        qk_scale=scale,
        sr_ratio=sr_ratio,
        linear=linear,
    )
    eye = torch.eye(dim)
    attn.q.weight.copy_(eye)
    attn.q.bias.zero_()
    attn.kv.weight.copy_(torch.cat([eye, eye]))
    attn.kv.bias.zero_()
    attn.proj.weight.copy_(eye)
    attn.proj.bias.zero_()
    if hasattr(attn, "sr"):
        k = attn.sr.kernel_size[0]
        attn.sr.weight.zero_()
        attn.sr.weight[range(dim), range(dim)] = 1.0 / (k * k)
        attn.sr.bias.zero_()
    return attn.eval()


def _one(name: str, values) -> str:
    """``values`` (floats read from layers) as one number, ``:g``; several: an error."""
    found = sorted({float(v) for v in values})
    if len(found) != 1:
        raise ValueError(f"the toy layers' {name} differ: {found}")
    return f"{found[0]:g}"


@torch.no_grad()
def _toy_weights(*layers: SpatialReductionAttention) -> str:
    """What the toy's weights are, for a title, a caption or an alt text, read from ``layers``
    (:func:`identity_sra`'s, one per map), so that the text cannot drift from the weights: the
    identity projections and zero biases (checked), what the reductions do (checked), the
    LayerNorm's weight and bias where a layer has one, and the logit scale."""
    parts = []
    for layer in layers:
        eye = torch.eye(layer.dim)
        ok = torch.equal(layer.q.weight, eye) and torch.equal(layer.proj.weight, eye)
        ok = ok and torch.equal(layer.kv.weight, torch.cat([eye, eye]))
        biases = [layer.q.bias, layer.kv.bias, layer.proj.bias]
        if hasattr(layer, "sr"):
            k = layer.sr.kernel_size[0]
            mean = torch.zeros_like(layer.sr.weight)
            mean[range(layer.dim), range(layer.dim)] = 1.0 / (k * k)
            ok = ok and torch.equal(layer.sr.weight, mean)
            biases.append(layer.sr.bias)
        if not ok or any(b is None or b.any() for b in biases):
            raise ValueError("not a toy layer: build it with identity_sra")
    parts.append("identity q, k, v and proj, zero biases")
    if any(hasattr(layer, "sr") and not layer.linear for layer in layers):
        parts.append("reductions average their tiles")
    linear = [layer for layer in layers if layer.linear]
    if linear:
        side = _one("pool sizes", [layer.pool_size for layer in linear])
        parts.append(f"linear SRA average-pools to {side}×{side}, identity 1×1 conv")
    norms = [layer.norm for layer in layers if hasattr(layer, "norm")]
    if norms:
        weight = _one("LayerNorm weights", torch.cat([n.weight for n in norms]))
        bias = _one("LayerNorm biases", torch.cat([n.bias for n in norms]))
        parts.append(f"LayerNorm weight {weight}, bias {bias}")
    parts.append(f"logit scale {_one('logit scales', [layer.scale for layer in layers])}")
    return "hand-set weights: " + ", ".join(parts)


class _ToyMaps(dict):
    """What :func:`sra_query_maps` returns, ``{sr_ratio: (attn_row, key_grid)}``, with the
    toy's weights in words (``.weights``, :func:`_toy_weights`, read from its layers), so that
    a figure can say what the toy is."""

    def __init__(self, maps: dict, weights: str):
        super().__init__(maps)
        self.weights = weights


VARIANTS = ("plain", "SRA", "linear SRA")


def _timed_once(variant: str, x: str) -> bool:
    """Plain attention and linear SRA have no ``sr_ratio``: against it, one timing each."""
    return x == "sr_ratio" and variant != "SRA"


COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "linear SRA": "tab:green"}
#: The columns a table of :func:`sra_cost_table` is read against.
AXES = ("size", "sr_ratio")


@torch.no_grad()
def sra_query_maps(
    img: torch.Tensor,
    sr_ratios=(1, 2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    num_heads: int = 1,
    linear: bool = False,
    scale: float = registry.TOY_LOGIT_SCALE,
) -> dict[int, tuple[torch.Tensor, tuple[int, int]]]:
    """For each ``sr_ratio``: the attention of one query over the (reduced) key grid, head 0.

    Uses colour tokens and the toy's hand-set weights (:func:`identity_sra`, its logit
    ``scale``) so the maps show colour similarity; returns ``{sr_ratio: (attn_row, key_grid)}``,
    a dict that also keeps the toy's weights in words (``.weights``, :func:`_toy_weights`).
    """
    linear = validate.flag("linear", linear)
    sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=validate.MAX_SETTINGS)
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    q = photo.query_at((H, W), query_rc)
    sr_ratios = [validate.kernel(f"sr_ratios[{i}]", r) for i, r in enumerate(sr_ratios)]
    out, layers = {}, []
    for r in sr_ratios:
        layer = identity_sra(tokens.shape[-1], r, scale=scale, linear=linear, num_heads=num_heads)
        layers.append(layer)
        (out[r],) = query_rows(layer, tokens, H, W, query=q)  # one row only, not the N x N_k map
    return _ToyMaps(out, _toy_weights(*layers))


def query_peaks(img: torch.Tensor, queries, sr_ratios=(1, 8), mass: float = 0.9) -> list[dict]:
    """For each of ``queries`` (row, col fractions, e.g. :func:`~vit_notes.photo.nearby_queries`):
    its map's largest weight at each of ``sr_ratios`` (``peaks``), how many keys hold ``mass``
    of its weight (``keys``) and the key grid (``grids``), from :func:`sra_query_maps` (the toy:
    colour tokens, hand-set weights, head 0). One forward of the toy layer per ``sr_ratio``."""
    queries = [validate.fraction_pair(f"queries[{i}]", q)
               for i, q in enumerate(validate.nonempty_sequence("queries", queries))]  # fmt: skip
    sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=validate.MAX_SETTINGS)
    mass = validate.number("mass", mass, low=0.0, high=1.0, low_open=True)
    maps = sra_query_maps(img, tuple(sr_ratios), queries)
    out = []
    for i, q in enumerate(queries):
        peaks, keys, grids = {}, {}, {}
        for r, (rows, grid) in maps.items():
            row = rows[i]
            held = row.sort(descending=True).values.cumsum(0)
            peaks[r] = float(row.max())
            keys[r] = int((held < mass).sum()) + 1  # the fewest keys that hold the mass
            grids[r] = tuple(grid)
        out.append(dict(query=tuple(q), peaks=peaks, keys=keys, grids=grids))
    return out


def _sra(dim, heads, variant, r):
    return SpatialReductionAttention(
        dim,
        heads,
        qkv_bias=True,
        sr_ratio=r if variant == "SRA" else 1,
        linear=variant == "linear SRA",
    ).eval()


@keeps_global_rng
@torch.no_grad()
def sra_cost_table(
    sizes=(224,),
    sr_ratios=(8,),
    dim: int = 64,
    num_heads: int = 1,
    patch: int = 4,
    timed: bool = True,
    min_run_time: float = 0.05,
    rounds: int = 3,
    points=None,
) -> list[dict]:
    """Rows of {variant, size, sr_ratio, tokens, kv_tokens, analytic/counted GMACs, attention
    map MiB (float32, all heads, one image), ms} for one stage-1 attention layer (tokens on a
    ``size/patch`` grid) of each variant.

    Plain and linear attention do not depend on ``sr_ratio`` (and SRA with ``sr_ratio`` 1 is
    plain attention): each distinct layer is counted and timed once and its row repeated.
    Timed, each distinct layer runs in ``rounds`` rounds that take turns with the others:
    ``ms_rounds`` holds each round's median and ``ms`` the fastest, so a burst of other work on
    the machine is spread over several layers' runs rather than falling on every run of one.
    It is not cancelled: within one round a burst can slow one layer more than another
    (:func:`timing_surprises` reads the rounds). Timing keeps torch's thread count: switching
    it inside a notebook kernel has hung kernels here.

    ``points``: ``(size, sr_ratio)`` pairs to use instead of every size with every ratio, so
    that two sweeps sharing a setting time it once and show one time for it.
    """
    timed = validate.flag("timed", timed)
    min_run_time, rounds = validate.timing(min_run_time, rounds)
    patch = validate.kernel("patch", patch)
    if points is None:
        many = validate.MAX_SETTINGS
        sizes = validate.nonempty_sequence("sizes", sizes, limit=many)
        sr_ratios = validate.nonempty_sequence("sr_ratios", sr_ratios, limit=many)
        points = [(size, r) for size in sizes for r in sr_ratios]
    pairs = []
    points = validate.nonempty_sequence("points", points, limit=validate.MAX_SETTINGS**2)
    for i, point in enumerate(points):
        if not validate._ordered(point) or len(point) != 2:
            raise validate.InputTypeError(
                f"points[{i}] must be a pair (size, sr_ratio), got {validate.shown(point)}"
            )
        size = validate.size("size", point[0], minimum=patch)
        pairs.append((size, validate.kernel("sr_ratio", point[1])))
    torch.manual_seed(0)
    rows, seen, layers = [], {}, {}
    for size, r in pairs:
        H = W = size // patch
        for variant in VARIANTS:
            r_eff = r if variant == "SRA" else 1
            key = (
                "plain" if (variant, r_eff) == ("SRA", 1) else variant,
                size,
                r_eff,
            )  # SRA, R=1 is plain
            if key not in seen:
                c = sra_cost(H, W, dim, num_heads, r_eff, linear=variant == "linear SRA")
                with torch.device("meta"):  # counting needs shapes only: no compute
                    layer = _sra(dim, num_heads, variant, r_eff)
                counted = count_macs(layer, torch.empty(1, H * W, dim, device="meta"), H, W)
                seen[key] = dict(
                    tokens=c.tokens,
                    kv_tokens=c.kv_tokens,
                    analytic_gmacs=c.macs / 1e9,
                    counted_gmacs=counted / 1e9,
                    attn_mib=c.attn_bytes / 2**20,
                )
                if timed:
                    layers[key] = (_sra(dim, num_heads, variant, r_eff), H, W)
            rows.append(dict(variant=variant, size=size, sr_ratio=r, _key=key))
    inputs = {}
    for _ in range(rounds if timed else 0):
        for key, (layer, H, W) in layers.items():
            x = inputs.setdefault((H, W), torch.randn(1, H * W, dim))
            m = time_forward(layer, x, H, W, min_run_time=min_run_time)
            seen[key].setdefault("ms_rounds", []).append(m.median * 1e3)
            seen[key]["ms"] = min(seen[key]["ms_rounds"])
    out = []
    for row in rows:
        data = seen[row.pop("_key")]
        out.append({**row, **{k: list(v) if isinstance(v, list) else v for k, v in data.items()}})
    return out


#: A timed point is called noise when it took more than this factor longer than a point of its
#: variant that does at least as much work: a couple of percent, a quiet machine's jitter.
NOISE_TOLERANCE = 1.02
#: ... or when it grew more than this factor beyond its extra work (looser: caches make large
#: layers a little slower per multiply-add, which is no noise).
GROWTH_TOLERANCE = 1.25

_X_LABELS = {"sr_ratio": "sr_ratio", "size": "image size (px)"}


def timing_surprises(
    rows: list[dict], x: str, tol: float = NOISE_TOLERANCE, growth_tol: float = GROWTH_TOLERANCE
) -> list[dict]:
    """The timed points that are slower than the counts predict, one per (variant, ``x``).

    Within one variant the counts predict the order of the times: a layer that does ``g``
    times the multiply-adds of another takes between 1 and about ``g`` times as long (fixed
    costs, such as launching the kernels, only pull the ratio towards 1). A point that took
    more than ``tol`` times as long as one doing at least its work, or more than
    ``growth_tol`` times what its extra work explains, is a surprise the counts do not
    explain. ``always`` says whether it was so in every one of two or more rounds
    (``ms_rounds``): then it is a cost the counts miss on the machine as recorded, not noise.
    Otherwise only a rerun can tell whether it is noise; nothing here reruns. Points *faster* than
    proportional (``g`` times the work in well under ``g`` times the time) are not surprises.
    Returns ``[{variant, x, ms, ref_x, ref_ms, ms_ratio, gmacs_ratio, excess, always}]``,
    largest excess first.
    """

    def surprise(a_ms, b_ms, work):
        took = b_ms / a_ms
        if took > growth_tol * work:  # b: more time than its extra work explains
            return "b", took / work
        if took < 1 / tol:  # a: more time for no more work
            return "a", 1 / took
        return None, 0.0

    validate.one_of("x", x, AXES)
    tol = validate.number("tol", tol, low=1.0)
    growth_tol = validate.number("growth_tol", growth_tol, low=1.0)
    rows = validate.rows("rows", rows, keys=(x, "variant", "counted_gmacs"))
    found: dict[tuple, dict] = {}
    for variant in VARIANTS:
        sel = [r for r in rows if r["variant"] == variant and "ms" in r]
        for a in sel:
            for b in sel:
                if a is b or b["counted_gmacs"] < a["counted_gmacs"]:
                    continue
                work = b["counted_gmacs"] / a["counted_gmacs"]
                which, excess = surprise(a["ms"], b["ms"], work)
                if which is None:
                    continue
                slow, ref = (b, a) if which == "b" else (a, b)
                pairs = list(zip(a.get("ms_rounds", [a["ms"]]), b.get("ms_rounds", [b["ms"]])))
                always = len(pairs) > 1 and all(
                    surprise(ta, tb, work)[0] == which for ta, tb in pairs
                )
                key = (variant, slow[x])
                if key not in found or excess > found[key]["excess"]:
                    found[key] = dict(
                        variant=variant,
                        x=slow[x],
                        ms=slow["ms"],
                        ref_x=ref[x],
                        ref_ms=ref["ms"],
                        ms_ratio=slow["ms"] / ref["ms"],
                        gmacs_ratio=slow["counted_gmacs"] / ref["counted_gmacs"],
                        excess=excess,
                        always=always,
                    )
    return sorted(found.values(), key=lambda s: -s["excess"])


def fixed_cost_pairs(rows: list[dict], x: str, work: float = 2.0, lag: float = 4.0) -> list[dict]:
    """Pairs of variants at the same ``x`` whose times do not follow their multiply-adds: one
    does at least ``work`` times the other's, yet takes no longer, or less than ``1/lag`` of
    the proportional time (``g`` times the multiply-adds in under ``g/lag`` times the time).
    The counts cannot say why: a fixed cost per call and a kernel that is faster per
    multiply-add on larger products would each do it. ``[{x, more, less, gmacs_ratio,
    ms_ratio}]``, the largest shortfall first."""
    validate.one_of("x", x, AXES)
    work = validate.number("work", work, low=1.0)
    lag = validate.number("lag", lag, low=1.0)
    rows = validate.rows("rows", rows, keys=(x, "variant", "counted_gmacs"))
    found = []
    for value in sorted({r[x] for r in rows if "ms" in r}):
        at = {r["variant"]: r for r in rows if r[x] == value and "ms" in r}
        for more in at.values():
            for less in at.values():
                g = more["counted_gmacs"] / less["counted_gmacs"]
                took = more["ms"] / less["ms"]
                if g >= work and took <= max(1.0, g / lag):
                    found.append(
                        dict(
                            x=value,
                            more=more["variant"],
                            less=less["variant"],
                            gmacs_ratio=g,
                            ms_ratio=took,
                        )
                    )
    return sorted(found, key=lambda f: -f["gmacs_ratio"] / f["ms_ratio"])


def growth_order(rows: list[dict], x: str) -> list[tuple[str, str]]:
    """Pairs ``(more, less)`` of variants whose time grew more from the smallest ``x`` to the
    largest than the other's in every one of two or more rounds (``ms_rounds``): the order the
    rounds support, with no ratio. Variants timed once against ``x`` (no ``sr_ratio``) are
    left out. ``[]`` when no pair keeps its order in every round."""
    validate.one_of("x", x, AXES)
    rows = validate.rows("rows", rows, keys=(x, "variant"))
    timed = [r for r in rows if len(r.get("ms_rounds", [])) > 1]
    if not timed:
        return []
    lo, hi = min(r[x] for r in timed), max(r[x] for r in timed)
    growth = {}
    for variant in VARIANTS:
        at = {r[x]: r["ms_rounds"] for r in timed if r["variant"] == variant}
        if lo != hi and lo in at and hi in at and not _timed_once(variant, x):
            growth[variant] = [b / a for a, b in zip(at[lo], at[hi])]
    return [
        (more, less)
        for more in growth
        for less in growth
        if more != less and all(g > h for g, h in zip(growth[more], growth[less]))
    ]


def _time_ratio(rows: list[dict], x: str, slow: tuple, ref: tuple) -> str:
    """ "<ratio>× the time" of the row ``slow`` = (variant, x value) over the row ``ref``; when
    there are several rounds, its range within each round, not the fastest rounds' ratio: the
    rounds of a loaded machine support no single number. Two significant figures."""

    def rounds(variant, value):
        r = next(r for r in rows if r["variant"] == variant and r[x] == value and "ms" in r)
        return r.get("ms_rounds", [r["ms"]])

    a_rounds, b_rounds = rounds(*ref), rounds(*slow)
    per = sorted(b / a for a, b in zip(a_rounds, b_rounds))
    if len(per) == 1:
        return f"{significant(per[0], 2)}× the time"
    return (
        f"{significant(per[0], 2)}× to {significant(per[-1], 2)}× the time within each of "
        f"{len(per)} rounds"
    )


def _timing_note(rows: list[dict], x: str, surprises: list[dict]) -> str:
    name = "sr_ratio" if x == "sr_ratio" else "size"
    notes = []
    n = max((len(r.get("ms_rounds", [])) for r in rows), default=0)
    for always, what in (
        (True, f"in every one of {n} rounds: a cost the counts miss, not noise."),
        (False, "in some rounds only: only a rerun can tell whether it is noise."),
    ):
        group = [s for s in surprises if s["always"] == always]
        if group:
            s = group[0]
            v = s["variant"]
            more = f" {len(group) - 1} more ringed so." if len(group) > 1 else ""
            colour = "Black" if always else "Red"
            notes.append(
                f"{colour} ring: slower than the counts predict ({s['variant']} at {name} "
                f"{s['x']}: {_time_ratio(rows, x, (v, s['x']), (v, s['ref_x']))}"
                f" of {name} {s['ref_x']} for {s['gmacs_ratio']:.2f}× the multiply-adds), "
                f"{what}{more}"
            )
    pairs = fixed_cost_pairs(rows, x)
    if pairs:
        f = pairs[0]
        notes.append(
            f"At {name} {f['x']}, {f['more']} does {f['gmacs_ratio']:.0f}× the "
            f"multiply-adds of {f['less']} in "
            f"{_time_ratio(rows, x, (f['more'], f['x']), (f['less'], f['x']))}. The counts "
            "cannot tell a fixed cost per call from a kernel that is faster per multiply-add "
            "on larger products."
        )
    order = growth_order(rows, x)
    lo, hi = min(r[x] for r in rows if "ms" in r), max(r[x] for r in rows if "ms" in r)
    for more in dict.fromkeys(m for m, _ in order):
        less = " and ".join(f"{b}'s" for m, b in order if m == more)
        notes.append(
            f"In each of {n} rounds, {more}'s time grew more from {name} {lo} to {hi} than {less}."
        )
    if x == "sr_ratio":
        notes.append(
            "Plain and linear SRA have no sr_ratio: "
            + (f"timed in all {n} rounds, " if n > 1 else "")
            + "drawn flat, one bar."
        )
        if any(r["variant"] == "SRA" and r[x] == 1 for r in rows):
            notes[-1] += " SRA at sr_ratio 1 is plain attention: same timing, diamond."
    return "\n\n".join(notes)


class _PlainLogFormatter(mticker.LogFormatter):
    """Log-axis labels as plain numbers (0.01, 0.1, 1; 60, 80 within a decade)."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


@styled
def plot_cost(rows: list[dict], x: str, title: str):
    """The cost of each variant against ``x`` ("sr_ratio" or "size"), one message per panel:
    multiply-adds (the formula as lines, the FLOP counter as circles), attention-matrix
    memory and, if the rows are timed, the measured latency, with a notes panel holding the
    legend and, decided from the data (:func:`timing_surprises`), whether a timed point is
    slower than its count predicts: ringed in black when it was so in every round (a cost the
    counts miss), in red when only in some (a rerun would tell whether it is noise)."""
    validate.one_of("x", x, AXES)
    title = validate.figure_text("title", title, allow_empty=True)
    rows = validate.rows(
        "rows",
        rows,
        keys=(x, "variant", "analytic_gmacs", "attn_mib"),
        needs={"variant": VARIANTS},  # the panels and the alt text compare all three
    )
    timed = "ms" in rows[0]
    if timed:
        fig, axes = new_figure(2, 2, height=5.6)
        ax_macs, ax_mem, ax_ms, ax_notes = axes.flat
    else:
        fig, axes = new_figure(1, 2, height=3.1)
        (ax_macs, ax_mem), ax_ms, ax_notes = axes[0], None, None
    xs_all = sorted({r[x] for r in rows})
    for variant in VARIANTS:
        sel = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r[x])
        xs = [r[x] for r in sel]
        kw = dict(color=COLOURS[variant])
        ax_macs.plot(xs, [r["analytic_gmacs"] for r in sel], "-", lw=1.5, **kw)
        ax_macs.plot(xs, [r["counted_gmacs"] for r in sel], "o", mfc="none", ms=6, **kw)
        ax_mem.plot(xs, [r["attn_mib"] for r in sel], "-o", ms=4, **kw)
        if timed:
            # timed once (no sr_ratio): a flat line without dots, one bar at the left
            once = _timed_once(variant, x)
            # SRA at sr_ratio 1 is plain attention: plain's timing, an open diamond (not the
            # counter's open circle) and no bar
            own = [i for i, r in enumerate(sel) if once or x != "sr_ratio" or r[x] > 1]
            ax_ms.plot(xs, [r["ms"] for r in sel], "-" if once else "-o", ms=4, markevery=own, **kw)
            for i in sorted(set(range(len(sel))) - set(own)):
                ax_ms.plot(xs[i], sel[i]["ms"], "D", ms=5, mfc="white", **kw)
            bars = sel[:1] if once else [sel[i] for i in own]
            xb = [r[x] for r in bars]
            # The rounds' spread: each round's median, from the fastest to the slowest.
            lo = [r["ms"] - min(r.get("ms_rounds", [r["ms"]])) for r in bars]
            hi = [max(r.get("ms_rounds", [r["ms"]])) - r["ms"] for r in bars]
            ax_ms.errorbar(xb, [r["ms"] for r in bars], yerr=[lo, hi], fmt="none",
                           capsize=3, lw=1, **kw)  # fmt: skip
    panels = [
        (ax_macs, "multiply-adds: formula = counter", "GMACs (log scale)"),
        (ax_mem, "attention matrix: N × N_k floats", "MiB, float32 (log scale)"),
    ]
    if timed:
        n = max(len(r.get("ms_rounds", [])) for r in rows)
        label = (
            f"measured CPU latency: best of {n} rounds, bar to the slowest"
            if n > 1
            else "measured CPU latency"
        )
        panels.append((ax_ms, label, "ms (log scale)"))
    for ax, message, ylabel in panels:
        ax.set_title(message)
        ax.set_xlabel(_X_LABELS[x])
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_PlainLogFormatter())
        ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))
        ax.set_xticks(xs_all)
        ax.grid(alpha=0.3, which="major")
    handles = [Line2D([], [], color=COLOURS[v], marker="o", ms=4, label=v) for v in VARIANTS] + [
        Line2D([], [], color="grey", lw=1.5, label="formula (GMACs)"),
        Line2D([], [], color="grey", ls="", marker="o", mfc="none", ms=6, label="counter (GMACs)"),
    ]
    if not timed:
        by_rows = [handles[i] for i in (0, 3, 1, 4, 2)]  # legends fill column by column
        fig.legend(handles=by_rows, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(title)
        return set_alt(fig, _cost_alt(rows, x, title))
    surprises = timing_surprises(rows, x)
    for s in surprises:
        ring = "black" if s["always"] else "tab:red"
        ax_ms.plot([s["x"]], [s["ms"]], "o", ms=14, mfc="none", mec=ring, mew=1.5, zorder=5)
    ax_notes.set_axis_off()
    ax_notes.legend(handles=handles, loc="upper left", ncols=2, frameon=False)
    ax_notes.text(
        0.02,
        0.48,
        "\n".join(
            textwrap.fill(p, 44, break_on_hyphens=False)
            for p in _timing_note(rows, x, surprises).split("\n")
        ),
        transform=ax_notes.transAxes,
        va="top",
        fontsize=MIN_FONT_PT,
    )
    fig.suptitle(title)
    return set_alt(fig, _cost_alt(rows, x, title))


def _cost_alt(rows: list[dict], x: str, title: str) -> str:
    """The alt text of :func:`plot_cost`: the title's lines as sentences, then one sentence per
    variant with its multiply-adds, map size and, if timed, its time: the fastest of the rounds
    and the slowest (numbers as :func:`~vit_notes.counting.significant` writes them)."""
    lines = [line.strip().rstrip(".") for line in title.split("\n") if line.strip()]
    head = ". ".join(line[:1].upper() + line[1:] for line in lines)
    xs = ", ".join(str(v) for v in sorted({r[x] for r in rows}))
    n = max(len(r.get("ms_rounds", [])) for r in rows)
    sentences = [f"{head}.", f"The values are at {_X_LABELS[x]} {xs}, in that order."]
    if "ms" in rows[0] and n > 1:
        sentences.append(f"Each time runs from the fastest of {n} rounds to the slowest.")

    def nums(values):
        out = [v if isinstance(v, str) else significant(v) for v in values]
        return out[0] if len(out) == 1 else ", ".join(out[:-1]) + " and " + out[-1]

    def ms(r):
        slow = max(r.get("ms_rounds", [r["ms"]]))
        return significant(r["ms"]) + (f" to {significant(slow)}" if n > 1 else "")

    for variant in VARIANTS:
        sel = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r[x])
        name = variant[:1].upper() + variant[1:]
        sentences.append(f"{name}: {nums([r['counted_gmacs'] for r in sel])} GMACs.")
        sentences.append(f"Its attention maps take {nums([r['attn_mib'] for r in sel])} MiB.")
        if "ms" in sel[0] and _timed_once(variant, x):
            sentences.append(f"It has no {x}: one time for all, {ms(sel[0])} ms.")
        elif "ms" in sel[0]:
            sentences.append(f"It took {nums([ms(r) for r in sel])} ms.")
    return " ".join(sentences + ["Formula and counter agree."])


#: The explorer's image sizes: every state is precomputed for the page, and a page holds at
#: most 3 MB (the maps of 448² at ``sr_ratio`` 1 alone would be 12544 keys per query).
EXPLORER_SIZES = (112, 160, 224)


def cost_chart(size: int, num_heads: int, sr_ratio: int) -> Bars:
    """The explorer's cost panel: one stage-1 layer (C=64, ``size/4`` tokens a side) of each
    variant, its multiply-adds as a bar (linear scale) labelled with MMACs, the attention
    maps' memory and how many times fewer multiply-adds than plain attention, named as such
    ("(22× fewer MACs)": the ratio follows the map's size, so it says which cost it counts)."""
    H = W = validate.size("size", size, minimum=4) // 4
    costs = {
        v: sra_cost(H, W, 64, num_heads, sr_ratio if v == "SRA" else 1, linear=v == "linear SRA")
        for v in VARIANTS
    }
    return layer_cost_bars(
        f"one stage-1 layer, C=64, {size}×{size}: MMACs, attention maps, against plain",
        costs,
        COLOURS,
        ratio_of="MACs",
    )


def sra_explorer() -> Explorer:
    """The chapter's explorer over ``sr_ratio``, heads, image size and the query: the query's
    map under plain attention (every token a key) beside SRA's on the reduced key grid, both
    of the toy layer (head 0, colour tokens) on one colour scale, and the layer's cost against
    plain and linear attention. Shown by a notebook: the live widget in a kernel, the
    precomputed page twin on the site (:class:`~vit_notes.explorer.Explorer`)."""

    def maps(queries, sr_ratio, num_heads, size):
        img = photo.load_photo(size)
        # sr_ratio 1 is plain attention: the reference, stored once for every sr_ratio
        both = sra_query_maps(img, (1, sr_ratio), queries, num_heads=num_heads)
        (plain, plain_grid), (rows, grid) = both[1], both[sr_ratio]
        return [
            MapPanel(f"plain, head 0: {plain_grid[0]}×{plain_grid[1]} keys", plain_grid, plain),
            MapPanel(f"SRA R={sr_ratio}, head 0: {grid[0]}×{grid[1]} keys", grid, rows),
        ]

    def _explorer_toy(sr_ratio, num_heads):
        # the toy's weights as the maps' layers have them (plain and SRA; the photo's size
        # does not change them)
        layers = [identity_sra(64, r, num_heads=num_heads) for r in sorted({1, sr_ratio})]
        return _toy_weights(*layers)

    def caption(sr_ratio, num_heads, size):
        H = W = size // 4
        M = sra_cost(H, W, 64, num_heads, sr_ratio).kv_tokens
        heads = f"{num_heads} head" + ("s" if num_heads > 1 else "")
        return (
            f"{size}×{size} photo, {H * W} queries, {heads}. SRA: {M} keys. "
            f"Query: cyan box. Toy: colour tokens, {_explorer_toy(sr_ratio, num_heads)}."
        )

    grid, start = 10, (3, 5)  # the query positions, and the starting one

    def alt(sr_ratio, num_heads, size):
        query = ((start[0] + 0.5) / grid, (start[1] + 0.5) / grid)
        img = photo.load_photo(size)
        both = sra_query_maps(img, (1, sr_ratio), [query], num_heads=num_heads)
        (plain, pg), (rows, g) = both[1], both[sr_ratio]
        H = W = size // 4
        costs = [
            (
                v,
                sra_cost(
                    H, W, 64, num_heads, sr_ratio if v == "SRA" else 1, linear=v == "linear SRA"
                ),
            )
            for v in VARIANTS
        ]
        bars = ", ".join(
            f"{v} {significant(c.macs / 1e6)} million and {format_bytes(c.attn_bytes)}"
            for v, c in costs
        )
        heads = f"{num_heads} head" + ("s" if num_heads > 1 else "")

        def peak(row):
            return significant(float(row.max()), 2)

        return (
            f"Explorer, starting state: the {size}×{size} photo with the query "
            f"({query[0]:.2f}, {query[1]:.2f}) in a cyan box, on the face. Two maps show its "
            f"attention in the colour-token toy ({_explorer_toy(sr_ratio, num_heads)}) with "
            f"{heads}, head 0, on one colour scale. "
            f"Plain attention has {pg[0]}×{pg[1]} keys and a largest weight of {peak(plain)}. "
            f"SRA at sr_ratio {sr_ratio} has {g[0]}×{g[1]} keys and a largest weight of "
            f"{peak(rows)}. A uniform map would give each key "
            f"{significant(1 / (pg[0] * pg[1]), 2)} and {significant(1 / (g[0] * g[1]), 2)}. "
            f"Under them, bars give one stage-1 layer's multiply-adds and "
            f"attention maps: {bars}."
        )

    return Explorer(
        key="explore-sra",
        title="Spatial-reduction attention: sr_ratio, heads, image size, query",
        controls=(
            Control("sr_ratio", "sr_ratio", (1, 2, 4, 8), default=8),
            Control("num_heads", "heads", (1, 2, 4, 8), default=1),
            Control("size", "image size", EXPLORER_SIZES, default=224),
        ),
        maps=maps,
        bars=lambda sr_ratio, num_heads, size: [cost_chart(size, num_heads, sr_ratio)],
        caption=caption,
        alt=alt,
        query_grid=grid,
        default_query=start,
        photo=lambda size, **_: photo.load_photo(size),
    )


def sra_shapes(
    attn: SpatialReductionAttention, H: int, W: int, batch: int = 1
) -> dict[str, tuple[int, ...]]:
    """The shapes ``trace_shapes`` prints for ``attn`` on an ``H x W`` grid, worked out from the
    layer's configuration alone (``dim``, ``num_heads``, ``sr_ratio``, ``linear``,
    ``pool_size`` through its ``kv_grid``): ``{"q": (B, heads, N, d), "x_reduced": (B, N_k, C)
    (only where the keys are reduced), "kv": (2, B, heads, N_k, d), "attn": (B, heads, N, N_k),
    "output": (B, N, C)}``."""
    validate.instance("attn", attn, SpatialReductionAttention)
    H, W = validate.size("H", H), validate.size("W", W)
    batch = validate.batch("batch", batch)
    C, heads = attn.dim, attn.num_heads
    d = C // heads
    N = H * W + attn.num_prefix_tokens
    reduces = attn.linear or attn.sr_ratio > 1
    M = math.prod(attn.kv_grid(H, W)) if reduces else N
    shapes: dict[str, tuple[int, ...]] = {"q": (batch, heads, N, d)}
    if reduces:
        shapes["x_reduced"] = (batch, M, C)
    shapes.update(kv=(2, batch, heads, M, d), attn=(batch, heads, N, M), output=(batch, N, C))
    return shapes


def _stage1_sra() -> SpatialReductionAttention:
    """Stage 1 of ``pvt_tiny``, built from its configuration (on the meta device: no weights)."""
    cfg = CONFIGS["pvt_tiny"]
    with torch.device("meta"):
        return SpatialReductionAttention(
            cfg["embed_dims"][0],
            cfg["num_heads"][0],
            qkv_bias=cfg["qkv_bias"],
            sr_ratio=cfg["sr_ratios"][0],
        )


def _shape_label(name: str, shapes: dict) -> str:
    return f"{name}_shape: {shapes[name]}"


@styled
def draw_sra_schematic(
    attn: SpatialReductionAttention | None = None,
    H: int = 56,
    W: int = 56,
    batch: int = 1,
    title: str | None = None,
):
    """SRA as a picture, drawn from ``attn``'s own configuration (default: stage 1 of
    ``pvt_tiny``, C=64, 1 head, ``sr_ratio`` 8) on an ``H x W`` token grid: the queries from
    every token, the reduction of the grid to the key grid (``attn.kv_grid``), ``k`` and ``v``
    from the reduced tokens, the ``N x N_k`` attention matrix and the output, each labelled with
    the shape :func:`~vit_notes.trace_shapes` prints for it (:func:`sra_shapes`)."""
    attn = _stage1_sra() if attn is None else attn
    if title is not None:
        title = validate.figure_text("title", title, allow_empty=True)
    shapes = sra_shapes(attn, H, W, batch)
    C, heads, R = attn.dim, attn.num_heads, attn.sr_ratio
    _, _, N, d = shapes["q"]
    M = shapes["kv"][3]
    reduces = "x_reduced" in shapes
    shaded = None  # the lower-left corner of the one window drawn token by token
    kh, kw = attn.kv_grid(H, W) if reduces else (H, W)
    q_col, kv_col, grid_col, attn_col = "tab:blue", "tab:orange", "tab:grey", "tab:purple"

    bottom, height = 0.4, 4.1
    fig, axes = new_figure(1, 1, height=height)
    ax = axes[0, 0]
    schematic_axes(ax)
    ax.set_xlim(0, TEXT_WIDTH_IN)
    ax.set_ylim(bottom, bottom + height)

    # The token grid; ruled into the windows that become one key each, where they tile it.
    side = 1.3
    gw, gh = side * W / max(H, W), side * H / max(H, W)
    gx, gy = 0.8 - gw / 2, 2.35 - gh / 2
    box(ax, (gx, gy), (gw, gh), color=grid_col, alpha=0.15)
    if reduces and max(kh, kw) <= 16:
        wh, ww = (H / kh, W / kw) if attn.linear else (R, R)
        if not attn.linear or (H % kh == 0 and W % kw == 0):
            cw, ch = gw * kw * ww / W, gh * kh * wh / H  # what the windows cover (floor)
            box(ax, (gx, gy + gh - ch), (cw, ch), color=kv_col, cells=(kh, kw), alpha=0.0)
            if not attn.linear and R <= 16:
                # One window's R×R tokens, ruled finely and shaded: they become one key, the
                # key shaded in x_reduced (the bottom-right window of what the windows cover).
                one = (gx + cw - cw / kw, gy + gh - ch)
                box(ax, one, (cw / kw, ch / kh), color=kv_col, cells=(R, R), alpha=0.6)
                shaded = one
    ax.text(
        0.05,
        gy + gh + 0.08,
        f"x: {H}×{W} tokens\n(B, N, C) = {(batch, N, C)}",
        ha="left",
        va="bottom",
    )

    # Queries: from every token.
    qx, qy, qw, qh = 2.45, 3.7, 1.5, 0.3
    box(ax, (qx, qy), (qw, qh), "q", color=q_col)
    arrow(ax, (gx + gw, gy + gh * 0.6), (qx, qy + qh / 2))
    ax.text(2.05, 3.15, "Linear C→C,\nsplit heads", ha="left", va="center", color=q_col)
    ax.text(
        qx + qw / 2,
        qy + qh + 0.06,
        _shape_label("q", shapes) + "\n(B, heads, N, d)",
        ha="center",
        va="bottom",
    )

    # Keys and values: from the reduced grid.
    kx, kvw, kvh = 3.95, 0.55, 0.28
    ky, vy = 1.3, 0.98
    if reduces:
        rs = 0.6
        rw, rh = rs * kw / max(kh, kw), rs * kh / max(kh, kw)
        rx, ry = 2.1 - rw / 2, 1.35 - rh / 2
        box(ax, (rx, ry), (rw, rh), color=kv_col, cells=(kh, kw) if max(kh, kw) <= 16 else None)
        if shaded is not None:  # the shaded window's key: the bottom-right one
            box(ax, (rx + rw - rw / kw, ry), (rw / kw, rh / kh), color=kv_col, alpha=0.6)
            start = (gx + gw * kw * R / W, shaded[1] + gh * R / H / 2)
            arrow(ax, start, (rx, ry + rh / kh / 2))  # into the shaded key's row
        else:
            arrow(ax, (gx + gw, gy + 0.15), (rx, ry + rh / 2))
        how = (
            f"avg-pool to {kh}×{kw},\n1×1 conv, LN, GELU"
            if attn.linear
            else f"conv {R}×{R}, stride {R}:\n{R}×{R} = {R * R} tokens\n"
            "(shaded) → 1 key.\nLayerNorm"
            if shaded is not None
            else f"conv {R}×{R}, stride {R}:\none key per\nreduction tile,\nLayerNorm"
        )
        ax.text(gx - 0.15, gy - 0.06, how, ha="left", va="top", color=kv_col)
        ax.text(
            rx + rw / 2,
            ry - 0.08,
            _shape_label("x_reduced", shapes) + f"\n(B, N_k, C), N_k = {kh}×{kw}",
            ha="center",
            va="top",
        )
        src = (rx + rw, ry + rh / 2)
    else:
        ax.text(
            gx - 0.05,
            gy - 0.08,
            f"sr_ratio={R}: no reduction,\nkeys from all N tokens",
            ha="left",
            va="top",
            color=kv_col,
        )
        src = (gx + gw, gy + 0.15)
    box(ax, (kx, ky), (kvw, kvh), "k", color=kv_col)
    box(ax, (kx, vy), (kvw, kvh), "v", color=kv_col)
    arrow(ax, src, (kx, (vy + ky + kvh) / 2))
    ax.text(
        (src[0] + kx) / 2,
        max(src[1], ky) + 0.12,
        "Linear C→2C,\nsplit k, v, heads",
        ha="center",
        va="bottom",
        color=kv_col,
    )
    ax.text(
        kx + kvw / 2,
        vy - 0.08,
        _shape_label("kv", shapes) + "\n(2, B, heads, N_k, d)",
        ha="center",
        va="top",
    )

    # The attention matrix: N rows (queries) by N_k columns (keys), per head.
    scaled = "q kᵀ/√d" if math.isclose(attn.scale, d**-0.5) else f"q kᵀ · {attn.scale:g}"
    ax0, ay0, aw, ah = 4.9, 2.1, 2.45, 1.2
    box(ax, (ax0, ay0), (aw, ah), color=attn_col, alpha=0.15)
    ax.text(
        ax0 + aw / 2,
        ay0 + ah / 2,
        _shape_label("attn", shapes) + f"\nsoftmax({scaled}), per head:\n{N} queries × {M} keys",
        ha="center",
        va="center",
    )
    arrow(ax, (qx + qw, qy + qh / 2), (ax0 + 0.5, ay0 + ah))
    arrow(ax, (kx + kvw, ky + kvh / 2), (ax0 + 0.5, ay0))

    # The output: attn · v, heads merged, proj.
    ow, oh = 1.3, 0.3
    ox, oy = 6.5 - ow / 2, 1.05
    box(ax, (ox, oy), (ow, oh), "output", color=q_col)
    arrow(ax, (ox + ow / 2, ay0), (ox + ow / 2, oy + oh))
    arrow(ax, (kx + kvw, vy + kvh / 2), (ox, oy + oh / 2))
    ax.text(ox + ow / 2 + 0.1, (ay0 + oy + oh) / 2, "attn · v,\nproj", ha="left", va="center")
    ax.text(
        ox + ow / 2,
        oy - 0.08,
        _shape_label("output", shapes) + "\n(B, N, C)",
        ha="center",
        va="top",
    )

    kind = f"linear SRA, pool_size={kh}" if attn.linear else f"SRA, sr_ratio={R}"
    s = "s" if heads > 1 else ""
    saving = f"attention {N}×{M}, not {N}×{N}" if M < N else f"attention {N}×{N}: no saving"
    ax.set_title(
        title
        or f"{kind}: C={C}, {heads} head{s} of d={d}, on {H}×{W} tokens\n"
        f"queries from all {N} tokens, keys and values from {M}: {saving}"
    )
    how = (
        f": the grid average-pooled to {kh}×{kw}, then a 1×1 convolution, a LayerNorm and a GELU"
        if attn.linear
        else f": {_article(R)} {R}×{R} convolution of stride {R}, then a LayerNorm"
        if R > 1
        else ", used as they are"
    )
    return set_alt(
        fig,
        f"Schematic of {kind} on a {H}×{W} token grid, C = {C}, {heads} head{s}. "
        f"The queries come from all {N:,} tokens. "
        f"The keys and values come from {M:,} tokens{how}. "
        f"The attention map is {N:,}×{M:,}. "
        f"The weighted values, heads merged and projected, give the output: "
        f"{N:,} tokens, {C} channels.",
    )

"""Checkers for the PVT chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F
from einops import rearrange

from .. import validate
from ..checking import (
    TWO_FLOPS,
    Step,
    answers_any,
    as_int,
    check_choice,
    check_count,
    check_forward,
    check_prediction,
    softmax_rows,
    token_layer_cases,
)
from ..counting import format_bytes
from ..layers import reduced_grid
from .cost import sra_cost
from .model import SpatialReductionAttention


def _one_per_value(mistakes: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Known mistakes with their values; where several give the same value, one entry that
    names them all (a checker answers with the first match)."""
    why: dict[int, list[str]] = {}
    for wrong, text in mistakes:
        why.setdefault(wrong, []).append(text)
    return [
        (wrong, texts[0] if len(texts) == 1 else "either " + ", or ".join(texts))
        for wrong, texts in why.items()
    ]


@answers_any
def check_kv_tokens(answer, H: int = 28, W: int = 28, sr_ratio: int = 4) -> bool:
    """How many key/value tokens does SRA keep on an ``H x W`` grid with ``sr_ratio``?"""
    h, w = reduced_grid(H, W, sr_ratio)
    H, W, sr_ratio = int(H), int(W), int(sr_ratio)  # checked: NumPy's would overflow below
    right = h * w
    return check_count(
        answer,
        right,
        "tokens",
        f"{H}×{W} tokens shrink to {h}×{w} = {right} keys and values",
        mistakes=_one_per_value(
            [
                (
                    H * W // sr_ratio,
                    f"{H * W // sr_ratio} divides N by sr_ratio once. The conv shrinks both height "
                    f"and width, so N shrinks by sr_ratio² = {sr_ratio**2}",
                ),
                (
                    H * W,
                    f"{H * W} is N, the number of queries: the keys come from the reduced grid",
                ),
                (
                    -(-H // sr_ratio) * -(-W // sr_ratio),
                    "the strided conv has no padding: leftover rows and columns are dropped "
                    "(floor)",
                ),
                (h, f"{h} is one side of the reduced grid. Count its tokens: both sides"),
                (
                    2 * right,
                    f"{2 * right} counts the reduced tokens twice. Keys and values are two "
                    "projections of the same tokens: count them once",
                ),
            ]
        ),
        hint="the reduced grid is floor(H/sr_ratio) × floor(W/sr_ratio)",
    )


@answers_any
def check_sra_macs(
    answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 1, sr_ratio: int = 8
) -> bool:
    """Multiply-adds of one SRA layer (all four linear maps, the reduction conv when
    ``sr_ratio > 1``, both attention products)."""
    c = sra_cost(H, W, dim, num_heads, sr_ratio)
    # Python ints from here on: a NumPy integer (np.uint8) overflows in the products below
    H, W, dim, num_heads, sr_ratio = (int(v) for v in (H, W, dim, num_heads, sr_ratio))
    N, Nk, C, R = c.tokens, c.kv_tokens, dim, sr_ratio
    # One term per operation, so that a count short of one names every operation of that
    # size: where R divides the grid, N = N_k·R², so q, proj and the reduction conv each cost N·C².
    terms = {
        "q (N·C²)": N * C * C,
        "proj (N·C²)": N * C * C,
        "the reduction conv (N_k·C²·R²)": Nk * C * C * R * R,
        "k (N_k·C²)": Nk * C * C,
        "v (N_k·C²)": Nk * C * C,
        "q·kᵀ (N·N_k·C)": N * Nk * C,
        "attn·v (N·N_k·C)": N * Nk * C,
    }
    if R == 1:  # at R = 1 there is no reduction conv (sra_cost)
        del terms["the reduction conv (N_k·C²·R²)"]
    d = C // num_heads
    mistakes = [
        (
            c.macs - 2 * N * Nk * C + 2 * N * N * C,
            "the attention products use N_k reduced keys, not all N tokens",
        ),
        (2 * c.macs, TWO_FLOPS),
    ]
    if R > 1:  # at R = 1, N_k = N: k and v over all N tokens is the right count
        mistakes.append(
            (
                c.macs - 2 * Nk * C * C + 2 * N * C * C,
                "k and v are computed from the N_k reduced tokens, not all N: 2·N_k·C², not 2·N·C²",
            )
        )
        mistakes.append(
            (
                c.macs - Nk * C * C * R * R + Nk * C * C * R,
                "the conv's kernel has R×R taps per input channel: N_k·C²·R², not N_k·C²·R",
            )
        )
        mistakes.append(
            (
                c.macs - Nk * C * C * (R * R - 1),
                "you counted the conv as N_k·C², a 1×1 conv. Its kernel is R×R: each key "
                "costs C²·R², so the term is N_k·C²·R²",
            )
        )
        mistakes.append(
            (
                c.macs - Nk * C * C * R * R + N * C * C * R * R,
                "you counted the conv as N·C²·R², PVT v2's eq. (1) term hwc²R²: R² too large. "
                "The conv runs once per key, not per token: N_k·C²·R² (section 5)",
            )
        )
    if num_heads > 1:
        mistakes.append(
            (
                c.macs - 2 * N * Nk * C + 2 * N * Nk * d,
                f"you counted the attention products of one head (2·N·N_k·d, d = C/heads = {d}): "
                f"each of the {num_heads} heads does them, 2·N·N_k·C in all",
            )
        )
        mistakes.append(
            (
                c.macs - 2 * N * Nk * C + 2 * N * Nk * C * num_heads,
                f"you counted the attention products once per head over all C channels "
                f"(2·N·N_k·C each): each head works on d = C/heads = {d} of them, so the "
                f"{num_heads} heads together cost 2·N·N_k·C",
            )
        )
        # with 2 heads, one head's two products (2·N·N_k·d) cost as much as one product of
        # all heads (N·N_k·C): the same count may leave out one of the terms of that size
        same = [name for name, term in terms.items() if term == N * Nk * C]
        if 2 * d == C and same:
            mistakes.append(
                (
                    c.macs - N * Nk * C,
                    f"you left out a term of N·N_k·C: {' or '.join(same)}",
                )
            )
    return check_count(
        answer,
        c.macs,
        "multiply-adds",
        f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)",
        mistakes=_one_per_value(mistakes),
        terms=terms,
        hint="add up q, the conv, k and v, both attention products and proj",
    )


SRA_STEPS = {
    "q": Step("B heads N d", "the queries, split into heads, not yet scaled"),
    "x_reduced": Step(
        "B N_k C",
        "the tokens keys and values come from: Reshape, W^S, then LayerNorm",
        order="your keys are the right ones in another order: list the reduced grid row by "
        "row, '(gh gw)', as the module does",
    ),
    "k": Step("B heads N_k d", "the keys"),
    "v": Step("B heads N_k d", "the values"),
    "attn": Step("B heads N N_k", "the attention map, softmax(q kᵀ · scale)", softmax_rows),
    "out": Step("B N C", "the output, after proj"),
}

SRA_MISTAKES = {
    "prescaled_q": "this q is already multiplied by attn.scale. Return the step q before any "
    "scale, as the exercise asks. After that you may scale q instead of the logits, once",
    "no_reduction": "these are all N tokens: keys and values come from the reduced grid "
    "(Reshape(x, R) W^S, then attn.norm)",
    "padded": "these keys cover a grid padded to a multiple of R. The conv has no padding: "
    "it drops the leftover rows and columns (floor), so Reshape must drop them too",
    "tile_order": "your tiles hold their numbers in (c r1 r2) order and W^S's rows are in "
    "(r1 r2 c), or the other way round. F.unfold and weight.flatten(1) give (c r1 r2): read "
    "the tiles and the weight in one order",
    "weight_order": "W^S's rows are in (c r1 r2) order and your tiles hold their numbers in "
    "(r1 r2 c), or the other way round. F.unfold and weight.flatten(1) give (c r1 r2): read "
    "the tiles and the weight in one order",
    # one slip whatever the layout: (c r2 r1) tiles against (c r1 r2) rows give the same
    # numbers as (r2 r1 c) against (r1 r2 c), so the message names the relation, not orders
    "tile_transposed": "the two axes inside a tile are swapped between your tiles and W^S's "
    "rows: one holds a tile's numbers as (r1 r2), the other as (r2 r1), with the channel c in "
    "the same place in both. F.unfold and weight.flatten(1) give (c r1 r2): read the tiles and "
    "the weight in one order",
    "no_norm": "this is Reshape(x, R) W^S without the LayerNorm (attn.norm) after it",
    "swapped_kv": "k and v are swapped: kv's 2C output channels hold K first, then V",
    "no_scale": "the map is softmax(q kᵀ) without the scale dim_head**-0.5 (attn.scale)",
    "double_scale": "the map is softmax(q kᵀ · scale²): the scale was applied twice, to q "
    "before the product and to the logits. Apply attn.scale once",
    "full_width_scale": "the map is softmax(q kᵀ / √C) with C the full channel width. "
    "Eq. (4) divides by √d_head, with d_head = C/heads: use attn.scale, dim_head**-0.5",
    "softmax_queries": "the softmax runs over the queries (dim=-2). It runs over the keys",
    "no_proj": "this is the heads' output before the projection: apply attn.proj",
}

#: How the exercise asks for the reduction: the paper's Reshape(x, R), then W^S.
PAPER_SR = (
    "write SR(x) as the paper does: cut the grid into R×R tiles (Reshape), then multiply them "
    "by W^S, attn.sr.weight as an (R·R·C, C) matrix, and add attn.sr.bias"
)

#: The parts the checker switches off: the layer's forward and its reduction conv's, so that
#: the reduction is written as the paper writes it, Reshape(x, R) then W^S.
SRA_REFUSE = {
    "": "call the layer's parts (q, kv, proj, norm, and sr's weight and bias), not the layer "
    "itself: the checker switched off SpatialReductionAttention's forward",
    "sr": f"attn.sr's forward is switched off: {PAPER_SR}",
}


def refuse_convolution(name: str) -> str | None:
    """The message a convolution function (``conv2d``, ``convolution``, ``conv2d.default``
    of ``torch.ops.aten``, ...) raises while a student's SRA runs, ``None`` for any other:
    ``F.conv2d(grid, attn.sr.weight, attn.sr.bias, stride=R)`` is the module's conv again,
    not the paper's Reshape then W^S."""
    name = validate.text("name", name, allow_empty=True)
    base = name.split(".")[0].lstrip("_")
    if "conv" not in base or base.startswith("convert"):
        return None
    return (
        f"{name} is a convolution, and convolutions are switched off while your function "
        f"runs: {PAPER_SR}"
    )


def _sra_refuse(attn: SpatialReductionAttention) -> dict[str, str]:
    """:data:`SRA_REFUSE` for ``attn``: at sr_ratio 1 the layer has no ``sr`` to switch off."""
    return {path: text for path, text in SRA_REFUSE.items() if not path or hasattr(attn, path)}


def _paper_reduction(attn, x, H: int, W: int, mistake: str | None = None) -> torch.Tensor:
    """``Reshape(x, R) W^S`` before the LayerNorm, the paper's form of the strided conv, as a
    student writes it: right (the conv's floor: the rows and columns left over are dropped),
    or with the slip ``mistake`` (``"padded"``, ``"tile_order"``, ``"weight_order"``,
    ``"tile_transposed"``)."""
    R = attn.sr_ratio
    reduced_grid(H, W, R)  # a grid smaller than the conv: a clear error, as the module's
    grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
    if mistake == "padded":  # zeros to the next multiple of R
        grid = F.pad(grid, (0, -W % R, 0, -H % R))
    else:
        grid = grid[:, :, : H // R * R, : W // R * R]
    tile = {"tile_order": "(c r1 r2)", "tile_transposed": "(r2 r1 c)"}.get(mistake, "(r1 r2 c)")
    rows = "(c r1 r2)" if mistake == "weight_order" else "(r1 r2 c)"
    tiles = rearrange(grid, f"b c (h r1) (w r2) -> b (h w) {tile}", r1=R, r2=R)
    w_s = rearrange(attn.sr.weight, f"o c r1 r2 -> {rows} o")
    return tiles @ w_s + attn.sr.bias


def sra_steps(
    attn: SpatialReductionAttention, x: torch.Tensor, H: int, W: int, mistake: str | None = None
) -> dict[str, torch.Tensor]:
    """The intermediates of ``attn(x, H, W)`` (:data:`SRA_STEPS`), from the module's own
    ``q``, ``kv``, ``norm`` and ``proj``, with the reduction in the paper's form, Reshape then
    W^S from ``sr``'s weight and bias (linear SRA: the module's ``reduce``); with ``mistake``
    (a key of :data:`SRA_MISTAKES`) as a student who made it would compute them. Tested equal
    to the module (reduced tokens, map and output), so it runs on the copy a student's
    function gets, whose ``sr`` refuses its forward."""
    validate.instance("attn", attn, SpatialReductionAttention)  # before reading its attributes
    validate.layer_tokens(attn, SpatialReductionAttention, x, H, W, attn.num_prefix_tokens)
    if mistake is not None:
        validate.one_of("mistake", mistake, SRA_MISTAKES)
    h = attn.num_heads
    q = rearrange(attn.q(x), "b n (h d) -> b h n d", h=h)
    if mistake == "no_reduction" or (attn.sr_ratio == 1 and not attn.linear):
        x_ = x
    elif attn.linear:
        x_ = attn.reduce(x, H, W)
    elif mistake == "no_norm":
        x_ = _paper_reduction(attn, x, H, W)
    else:
        x_ = attn.norm(_paper_reduction(attn, x, H, W, mistake))
    k, v = rearrange(attn.kv(x_), "b m (two h d) -> two b h m d", two=2, h=h)
    if mistake == "swapped_kv":
        k, v = v, k
    scale = {
        "no_scale": 1.0,
        "double_scale": attn.scale**2,
        "full_width_scale": attn.dim**-0.5,
    }.get(mistake, attn.scale)
    a = ((q @ k.transpose(-2, -1)) * scale).softmax(-2 if mistake == "softmax_queries" else -1)
    out = rearrange(a @ v, "b h n d -> b n (h d)")
    out = out if mistake == "no_proj" else attn.proj(out)
    if mistake == "prescaled_q":  # scaled once, before the product: only q differs
        q = q * attn.scale
    return {"q": q, "x_reduced": x_, "k": k, "v": v, "attn": a, "out": out}


def _no_reduction_hint(error: Exception) -> str:
    """The hint for a solution that calls ``attn.sr`` or ``attn.norm`` on a layer without them,
    or that cuts the grid into R×R reduction tiles where R does not divide it."""
    if isinstance(error, NotImplementedError):  # a part the checker switched off says why
        return ""
    if type(error).__name__ == "EinopsError" or (
        isinstance(error, RuntimeError) and "shape" in str(error)
    ):
        return (
            "a shape error. Where sr_ratio does not divide H or W, R×R reduction tiles do not "
            "cover the grid. The conv floors: it drops the leftover rows and columns. Keep "
            "the first floor(H/R)·R rows and floor(W/R)·R columns, then cut the tiles"
        )
    if not isinstance(error, AttributeError):
        return ""
    name = getattr(error, "name", None) or str(error).rsplit(" ", 1)[-1].strip("'\"")
    if name not in ("sr", "norm"):
        return ""
    return (
        "at sr_ratio 1 the layer has no sr or norm: keys and values come from x itself "
        "(section 5: at R = 1 there is no conv and N_k = N)"
    )


def _sra_cases(configs):
    return token_layer_cases(
        lambda dim, heads, r: SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=r),
        configs,
    )


def check_sra_forward(
    fn,
    configs=(
        (56, 56, 64, 1, 8),
        (28, 28, 128, 2, 4),
        (14, 14, 320, 5, 2),
        (7, 7, 64, 2, 1),
        (30, 22, 64, 2, 4),
    ),
) -> bool:
    """``fn(attn, x, H, W)`` must compute ``attn(x, H, W)`` from the weights of a
    ``SpatialReductionAttention`` for every config ``(H, W, dim, heads, sr_ratio)``, returning
    every one of its steps (:data:`SRA_STEPS`: ``q``, ``x_reduced``, ``k``, ``v``, ``attn``,
    ``out``) in a dict: the output alone, or a step left out, fails and is told which. The
    module ``fn`` gets has its forward switched off, and so has its reduction conv ``sr``
    (:data:`SRA_REFUSE`): ``return attn(x, H, W)`` fails and is told to call the parts
    (:func:`~vit_notes.checking.check_forward`), and the reduction is written as the paper's
    Reshape then W^S, from ``sr``'s weight and bias. While ``fn`` runs, every convolution
    function refuses too (:func:`refuse_convolution`): ``F.conv2d`` with ``sr``'s weight is
    the conv again, not the paper's reduction. So does ``F.scaled_dot_product_attention``,
    which computes the two products the exercise asks to write out. Names the first config
    and step that differ, and how, with the slip it matches (:data:`SRA_MISTAKES`)."""
    return check_forward(
        fn,
        _sra_cases(configs),
        sra_steps,
        SRA_STEPS,
        "SpatialReductionAttention",
        mistakes=SRA_MISTAKES,
        on_error=_no_reduction_hint,
        refuse=_sra_refuse,
        refuse_calls=_refuse_sra_shortcuts,
    )


def _refuse_sra_shortcuts(name: str) -> str | None:
    """:func:`refuse_convolution`, and the fused attention kernel too: the exercise asks for the
    two attention products written out, and ``F.scaled_dot_product_attention`` computes both."""
    message = refuse_convolution(name)
    if message is None and "scaled_dot_product" in validate.text("name", name, allow_empty=True):
        message = (
            f"{name} computes both attention products for you, and it is switched off while "
            "your function runs: write q·kᵀ times the scale, the softmax and the product with v"
        )
    return message


#: How close a rounding or cut-off of the exact factor must be (Exercise 4)
_FACTOR_TOL = 0.02


@answers_any
def check_explorer_prediction(answer, size: int = 224, start: int = 8, end: int = 2) -> bool:
    """Predict: moving the explorer's ``sr_ratio`` slider from ``start`` to ``end`` (image
    ``size``², stage 1), by what factor does the SRA layer's attention matrix (its memory) grow?

    The queries stay; the keys go from one floored key grid to the other
    (:func:`~vit_notes.layers.reduced_grid`), so the factor is the ratio of the two key counts.
    It is ``(start/end)²`` only where both ratios divide the grid's side: at 112² (a 28×28
    grid) ``sr_ratio`` 8 leaves 3×3 keys, not 3.5×3.5. Only a right answer is told the
    slider's readings, which show the factor."""
    H = W = validate.size("size", size, minimum=4) // 4
    start, end = validate.size("start", start), validate.size("end", end)
    for name, r in (("start", start), ("end", end)):
        if r > H:
            raise ValueError(
                f"{name}={r} is larger than the {H}×{W} token grid of a {size}² image; "
                f"use an sr_ratio <= {H}"
            )
    a, b = (sra_cost(H, W, 64, 1, r) for r in (start, end))
    ga, gb = reduced_grid(H, W, start), reduced_grid(H, W, end)
    right = b.attn_bytes / a.attn_bytes  # = b.kv_tokens / a.kv_tokens: the queries stay
    exact = Fraction(b.kv_tokens, a.kv_tokens)
    side = start / end
    naive = side**2
    shown = f"{right:g}" if exact.denominator == 1 else f"{exact} ≈ {right:.4g}"
    grids = f"the key grid goes from {'×'.join(map(str, ga))} to {'×'.join(map(str, gb))}"
    if math.isclose(naive, right):
        rule = f"the queries stay and {grids}: (R/R')² = {side:g}²"
    else:
        rule = (
            f"the queries stay and {grids}, {b.kv_tokens} keys over {a.kv_tokens}. The "
            f"conv floors each side, floor({H}/R), so (R/R')² = {naive:g} does not hold here"
        )
    then = (
        f"Now set the explorer's image size to {size} and move its sr_ratio slider from "
        f"{start} to {end}: the SRA bar's attention map goes from {format_bytes(a.attn_bytes)} "
        f"to {format_bytes(b.attn_bytes)}, and the key grid in the map's title from "
        f"{'×'.join(map(str, ga))} to {'×'.join(map(str, gb))}"
    )
    mistakes = []
    if not math.isclose(naive, right):
        mistakes.append(
            (
                naive,
                f"{naive:g} is (R/R')², which holds only where both ratios divide the grid's "
                f"side. At {size}² the stage-1 grid is {H} tokens a side, and the conv floors: "
                f"each key grid's side is floor({H}/R). Count the keys of both grids",
            )
        )
    ceil_a, ceil_b = (-(-H // r) * -(-W // r) for r in (start, end))
    if not math.isclose(ceil_b / ceil_a, right):
        mistakes.append(
            (
                ceil_b / ceil_a,
                "you rounded a key grid's side up: the strided conv has no padding, so "
                "leftover rows and columns are dropped (floor)",
            )
        )
    for wrong, why in (
        (
            gb[0] / ga[0],
            f"{Fraction(gb[0], ga[0])}× is the growth of each side of the key grid. The grid "
            "has two sides, and the matrix has one column per key",
        ),
        (
            side,
            f"that is R/R' = {side:g}, the ratio of the two sr_ratios. The matrix has one "
            "column per key: count the keys of both grids",
        ),
        (1 / right, "that is the factor the other way: a smaller sr_ratio keeps more keys"),
        (right**2, "the queries do not change: only the keys (one side of the matrix) grow"),
        (  # a factor below 1 has no whole part to cut off: right itself, skipped below
            math.floor(right) if right >= 1 else right,
            f"{math.floor(right)} cuts the factor off at its whole part, more than "
            f"{_FACTOR_TOL:.0%} below it. The factor is exact: give it, or a rounding or "
            f"cut-off of it within {_FACTOR_TOL:.0%}",
        ),
    ):
        if not math.isclose(wrong, right) and all(not math.isclose(wrong, w) for w, _ in mistakes):
            mistakes.append((wrong, why))
    return check_prediction(
        answer,
        right,
        "the factor",
        then,
        correct=f"the attention matrix grows {shown}×: {rule}",
        rel_tol=_FACTOR_TOL,
        inexact="the factor is exact: work it out from the two key grids and give it, or a "
        f"rounding or cut-off of it within {_FACTOR_TOL:.0%}. Nothing here is read off a "
        "figure",
        then_wrong="Try again before you move the slider",
        mistakes=mistakes,
    )


def _sr_weights(r: int, dim: int = 64) -> int:
    """The weights of SRA's reduction conv: an ``r x r`` kernel from ``dim`` to ``dim`` channels."""
    return r * r * dim * dim


@answers_any
def check_sr_choice(answer, size: int = 512, budget_mib: float = 24.0, num_heads: int = 1) -> bool:
    """Design judgement: the ``sr_ratio`` (1, 2, 4, 8, 16 or 32) of a stage-1 SRA layer at
    ``size``² (stride 4, C=64) whose attention matrix (float32, one image) fits ``budget_mib``
    MiB while keeping the keys as fine as possible."""
    # every option, sr_ratio 32 too, needs a grid of at least 32 tokens a side
    H = W = validate.size("size", size, minimum=4 * 32) // 4
    budget_mib = validate.number("budget_mib", budget_mib, low=0.0, low_open=True)
    num_heads = validate.width("num_heads", num_heads)
    costs = {r: sra_cost(H, W, 64, num_heads, r) for r in (1, 2, 4, 8, 16, 32)}
    fits = [r for r, c in costs.items() if c.attn_bytes / 2**20 <= budget_mib]
    if not fits:
        raise ValueError(
            f"budget_mib={budget_mib:g} at size={size}: no sr_ratio's map fits (the smallest, at "
            f"sr_ratio 32, takes {costs[32].attn_bytes / 2**20:,.3g} MiB), so the exercise has "
            "no answer; raise the budget"
        )
    best = min(fits)

    def why(r):
        c = costs[r]
        h, w = reduced_grid(H, W, r)
        mib = c.attn_bytes / 2**20
        tile = (
            "one per token, no reduction tile"
            if r == 1
            else f"each reduction tile {4 * r} pixels wide"
        )
        head = f"sr_ratio {r}: {h}×{w} keys, {tile}. The map takes {mib:,.1f} MiB"
        if mib > budget_mib:
            return f"{head}, {mib / budget_mib:.1f}× the {budget_mib:g} MiB budget"
        if r != best:
            return (
                f"{head}, inside the budget, but sr_ratio {best} fits too with "
                f"{costs[best].kv_tokens // c.kv_tokens}× the keys: these keys are coarser "
                "than the budget forces, for a saving you do not need"
            )
        return (
            f"{head}, the finest keys that fit. The trade-off: a smaller ratio keeps finer "
            f"keys, but the matrix grows with R⁻²: {costs[r // 2].attn_bytes / 2**20:,.0f} MiB "
            f"at {r // 2}. A larger one saves memory, but each key summarises a wider "
            "reduction tile, and the reduction conv's R²C² weights grow fourfold: "
            f"{_sr_weights(r):,} at {r}, {_sr_weights(2 * r):,} at {2 * r}. "
            f"PVT v2's linear SRA, as in its B2-Li, keeps 7×7 keys at any size. It would take "
            f"{sra_cost(H, W, 64, num_heads, linear=True).attn_bytes / 2**20:.1f} MiB here, "
            f"with one key per about {4 * H / 7:.0f} px of the image (neighbouring pooling "
            "regions overlap at their edges when 7 does not divide the grid)"
            if r > 1
            else f"{head}: full attention fits"
        )

    options = {r: why(r) for r in costs}
    return check_choice(answer, options, best, "the sr_ratio", parse=as_int)

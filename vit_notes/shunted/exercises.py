"""Checkers for the Shunted chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import torch
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
    describe,
    softmax_rows,
    token_layer_cases,
    verdict,
)
from ..pvt.cost import sra_cost
from .cost import shunted_cost, shunted_kv_tokens
from .figures import shunted_cost_chart
from .model import ShuntedAttention


@answers_any
def check_shunted_kv_tokens(answer, H: int = 56, W: int = 56, sr_ratio: int = 8) -> bool:
    """How many keys does each head group of a shunted layer see? Answer ``(coarse, fine)``."""
    right = shunted_kv_tokens(H, W, sr_ratio)
    if sr_ratio == 1:
        raise ValueError("sr_ratio=1 has a single head group. Ask about an even sr_ratio > 1")
    if isinstance(answer, (str, bytes)):  # "35" would be read digit by digit
        return verdict(
            False,
            f"give two whole numbers, (coarse group, fine group), not text: got {describe(answer)}",
        )
    if isinstance(answer, (set, frozenset, dict)):  # no order: {165, 35} iterates as 35, 165
        return verdict(
            False,
            f"a {type(answer).__name__} has no order, so it cannot say which group is which: "
            "give the pair in order, as a tuple (coarse group, fine group)",
        )
    shown = describe(answer)  # before reading it: an iterator's repr changes as it is read
    try:  # three items at most: a pair, or enough to tell it is not one (an endless
        # iterable, range(10**9), would run this loop past the checker's guard)
        got = tuple(as_int(a) for a in itertools.islice(iter(answer), 3))
    except Exception:  # not a pair of anything: any answer gets a message
        got = ()
    if len(got) != 2 or None in got:
        return verdict(False, f"give two whole numbers, (coarse group, fine group), got {shown}")
    r, half = sr_ratio, sr_ratio // 2
    if got == right:
        return verdict(
            True,
            f"the coarse group sees {H // r}×{W // r} = {right[0]} keys, the fine group "
            f"{H // half}×{W // half} = {right[1]}. No head sees all {right[0] + right[1]}: "
            "each head attends over its own group's keys",
        )
    if got == right[::-1]:
        return verdict(
            False, "swapped: the first group (sr1, kernel and stride sr_ratio) is the coarse one"
        )
    fine_grid = f"⌊{H}/{half}⌋×⌊{W}/{half}⌋"  # not its value: that would be the answer
    exact = H % r < half and W % r < half  # the fine grid is twice the coarse one per side
    rule = (
        f"only where H mod r < r/2 and W mod r < r/2 (r = sr_ratio = {r}). Here "
        f"{H} mod {r} = {H % r} and {W} mod {r} = {W % r}, against r/2 = {half}"
    )
    if got[0] == right[0] and got[1] == right[0] * 2:
        return verdict(
            False,
            "the fine grid halves the stride along both H and W, so it has "
            f"{'' if exact else 'about '}4× (not 2×) the keys of the coarse one. Floored on its "
            f"own: {fine_grid}" + ("" if exact else f". It is 4× exactly {rule}"),
        )
    if got[0] == right[0] and got[1] == right[0] * 4:  # only reached where 4× is not exact
        return verdict(
            False,
            f"4× the coarse keys holds {rule}. Where the leftover reaches r/2, the fine grid "
            "fits one more row or column of reduction tiles into it. The fine group reduces by "
            f"sr_ratio/2 = {half}: {fine_grid}",
        )
    if got[0] == right[0]:
        return verdict(
            False,
            f"the coarse group is right. The fine group reduces by sr_ratio/2 = {half}: "
            f"⌊{H}/{half}⌋×⌊{W}/{half}⌋",
        )
    if got[1] == right[1]:
        return verdict(
            False,
            f"the fine group is right. The coarse group reduces by sr_ratio = {r}: "
            f"⌊{H}/{r}⌋×⌊{W}/{r}⌋",
        )
    return verdict(
        False,
        f"{got} is not it: group i sees ⌊H/r_i⌋×⌊W/r_i⌋ keys with r_1 = sr_ratio, r_2 = sr_ratio/2",
    )


@answers_any
def check_shunted_macs(
    answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 2, sr_ratio: int = 8
) -> bool:
    """Multiply-adds of one shunted layer: q, both reduction convs, kv1 and kv2, the two local
    convs, both groups' attention products and proj."""
    c = shunted_cost(H, W, dim, num_heads, sr_ratio)
    # Python ints from here on: a NumPy integer (np.uint8) overflows in the products below
    H, W, dim, num_heads, sr_ratio = (int(v) for v in (H, W, dim, num_heads, sr_ratio))
    N, C, r, Nk = c.tokens, dim, sr_ratio, c.kv_tokens
    right = f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)"
    if sr_ratio == 1:
        terms1 = {
            "q (N·C²)": N * C * C,
            "proj (N·C²)": N * C * C,
            "kv (2·N·C²)": 2 * N * C * C,
            "q·kᵀ and attn·v (2·N²·C)": 2 * N * N * C,
            "the depthwise conv of V (9·N·C)": 9 * N * C,
        }
        return check_count(
            answer,
            c.macs,
            "multiply-adds",
            right,
            mistakes=[(2 * c.macs, TWO_FLOPS), *_counted_twice(c.macs, terms1)],
            terms=terms1,
            hint="with sr_ratio 1 add q, kv, both attention products, the depthwise conv of V "
            "and proj",
        )
    Nk1, Nk2 = shunted_kv_tokens(H, W, sr_ratio)
    # One term per operation, so that a count short of one names every operation of that size:
    # where r divides the grid, q, proj and each reduction conv all cost N·C².
    terms = {
        "q (N·C²)": N * C * C,
        "proj (N·C²)": N * C * C,
        "the coarse reduction conv (N_k1·C²·r²)": Nk1 * C * C * r * r,
        "the fine reduction conv (N_k2·C²·(r/2)²)": Nk2 * C * C * (r // 2) ** 2,
        "kv1 and kv2 ((N_k1 + N_k2)·C²)": Nk * C * C,
        "the local-enhancement convs (9·(N_k1 + N_k2)·C/2)": 9 * Nk * (C // 2),
        "q·kᵀ and attn·v of both groups (N·(N_k1 + N_k2)·C)": N * Nk * C,
    }
    return check_count(
        answer,
        c.macs,
        "multiply-adds",
        right,
        mistakes=[
            (
                c.macs + N * Nk * C,
                "each group has only h/2 heads, C/2 channels: its two products cost "
                "N·N_kg·C, not 2·N·N_kg·C, where N_kg is that group's keys",
            ),
            (
                c.macs + Nk * C * C,
                "kv1 and kv2 map C to C (K and V for half the heads each), not C to 2C",
            ),
            (
                c.macs + 9 * Nk * (C // 2),
                "each local conv acts on C/2 channels, one group's values: 9·N_k,g·C/2, "
                "not 9·N_k,g·C",
            ),
            (2 * c.macs, TWO_FLOPS),
            *_counted_twice(c.macs, terms),
        ],
        terms=terms,
        hint="add up q, both convs, kv1, kv2, the local convs, both groups' attention "
        "products and proj",
    )


def _counted_twice(total: int, terms: dict[str, int]) -> list[tuple[int, str]]:
    """One mistake per size of term: ``total`` plus that term, a term counted twice. Where
    several terms have that size, the count alone cannot tell which: each is named. The
    term's size is not said: it would give the answer away."""
    sizes: dict[int, list[str]] = {}
    for name, term in terms.items():
        sizes.setdefault(term, []).append(name)
    out = []
    for term, names in sizes.items():
        if len(names) == 1:
            out.append((total + term, f"counts {names[0]} twice"))
        else:
            out.append(
                (
                    total + term,
                    f"counts one term twice, and {len(names)} terms have the size of the "
                    f"extra: {'; '.join(names)}. Check each",
                )
            )
    return out


SHUNTED_STEPS = {
    "q": Step("B heads N d", "the queries of all heads"),
    "x1": Step("B N_k1 C", "group 1's tokens: conv sr1, norm1, GELU"),
    "k1": Step("B heads/2 N_k1 d", "group 1's keys"),
    "v1": Step("B heads/2 N_k1 d", "group 1's values, V + local_conv1(V)"),
    "attn1": Step("B heads/2 N N_k1", "group 1's map: its query heads over its keys", softmax_rows),
    "x2": Step("B N_k2 C", "group 2's tokens: conv sr2, norm2, GELU"),
    "k2": Step("B heads/2 N_k2 d", "group 2's keys"),
    "v2": Step("B heads/2 N_k2 d", "group 2's values, V + local_conv2(V)"),
    "attn2": Step("B heads/2 N N_k2", "group 2's map", softmax_rows),
    "k": Step("B heads N d", "the keys at sr_ratio 1, of every token"),
    "v": Step("B heads N d", "the values at sr_ratio 1, before the local conv"),
    "attn": Step("B heads N N", "the attention map at sr_ratio 1", softmax_rows),
    "out": Step("B N C", "the output, after proj"),
}

SHUNTED_MISTAKES = {
    "no_act": "these are the tokens after the conv and LayerNorm but without the GELU "
    "(attn.act) that follows them",
    "kv_split": "K and V are split the wrong way: kv's output holds K of every head, then V "
    "of every head: 'b m (two h d)'",
    "no_le": "these are V without local enhancement: add local_conv(V), computed on V's "
    "reduced grid, to V before the weighted sum",
    "le_on_v": "with sr_ratio 1 the local conv of V is added to the attention's output, not to V",
    "v_after_le": "return v before the local convolution: the exercise asks for V as kv gives it",
    "v_before_le": "these are V before local enhancement. Where sr_ratio > 1 the exercise asks "
    "for v1 and v2 after it: V + local_conv(V), computed on V's reduced grid. Only at "
    "sr_ratio 1 is v the value before the local conv",
    # one mistake per group: a student who swapped both groups' queries is told group 1's
    # first, and one who gave both groups the same half is told the group that is wrong
    "q1_second_half": "group 1's map uses the second half of the queries, q[:, heads // 2:]. "
    "Group 1, the coarse group, takes the first half: q[:, :heads // 2]",
    "q2_first_half": "group 2's map uses the first half of the queries, q[:, :heads // 2]. "
    "Group 2, the fine group, takes the second half: q[:, heads // 2:]",
    "no_scale": "the map is softmax(q kᵀ) without the scale dim_head**-0.5 (attn.scale)",
}


def _local(v, conv, y, heads):
    grid = rearrange(v, "b h (y x) d -> b (h d) y x", y=y)
    return rearrange(conv(grid), "b (h d) y x -> b h (y x) d", h=heads)


def _attend(q, k, v, scale):
    a = ((q @ k.transpose(-2, -1)) * scale).softmax(-1)
    return a, rearrange(a @ v, "b h n d -> b n (h d)")


def shunted_steps(
    attn: ShuntedAttention, x: torch.Tensor, H: int, W: int, mistake: str | None = None
) -> dict[str, torch.Tensor]:
    """The intermediates of ``attn(x, H, W)`` (:data:`SHUNTED_STEPS`: per group for
    ``sr_ratio > 1``, ``k``, ``v``, ``attn`` for ``sr_ratio`` 1), from the module's own layers;
    with ``mistake`` (a key of :data:`SHUNTED_MISTAKES`) as a student who made it would
    compute them. Tested equal to the module (maps and output)."""
    validate.layer_tokens(attn, ShuntedAttention, x, H, W)
    if mistake is not None:
        validate.one_of("mistake", mistake, SHUNTED_MISTAKES)
    h = attn.num_heads
    scale = 1.0 if mistake == "no_scale" else attn.scale
    split = (
        "b m (h two d) -> two b h m d" if mistake == "kv_split" else "b m (two h d) -> two b h m d"
    )
    q = rearrange(attn.q(x), "b n (h d) -> b h n d", h=h)
    steps = {"q": q}
    if attn.sr_ratio == 1:
        k, v = rearrange(attn.kv(x), split, two=2, h=h)
        local = _local(v, attn.local_conv, H, h)
        a, out = _attend(q, k, v + local if mistake == "le_on_v" else v, scale)
        if mistake != "le_on_v":
            out = out + rearrange(local, "b h n d -> b n (h d)")
        steps.update(k=k, v=v + local if mistake in ("le_on_v", "v_after_le") else v, attn=a)
        return {**steps, "out": attn.proj(out)}
    grid = rearrange(x, "b (h w) c -> b c h w", h=H)
    outs = []
    groups = (
        (1, attn.sr1, attn.norm1, attn.kv1, attn.local_conv1),
        (2, attn.sr2, attn.norm2, attn.kv2, attn.local_conv2),
    )
    for g, sr, norm, kv, local_conv in groups:
        y = sr(grid)
        tokens = norm(rearrange(y, "b c h w -> b (h w) c"))
        tokens = tokens if mistake == "no_act" else attn.act(tokens)
        k, v = rearrange(kv(tokens), split, two=2, h=h // 2)
        v_kv = v  # V as kv gives it
        if mistake != "no_le":
            v = v + _local(v, local_conv, y.shape[2], h // 2)
        wrong_half = mistake == ("q1_second_half" if g == 1 else "q2_first_half")
        first = (g == 1) != wrong_half  # the first half of the queries
        a, out = _attend(q[:, : h // 2] if first else q[:, h // 2 :], k, v, scale)
        # v_before_le: the step returned is V before LE, the output is still computed with it
        v_step = v_kv if mistake == "v_before_le" else v
        steps.update({f"x{g}": tokens, f"k{g}": k, f"v{g}": v_step, f"attn{g}": a})
        outs.append(out)
    return {**steps, "out": attn.proj(torch.cat(outs, dim=-1))}


def _shunted_cases(configs):
    return token_layer_cases(
        lambda dim, heads, r: ShuntedAttention(dim, heads, qkv_bias=True, sr_ratio=r), configs
    )


def check_shunted_forward(
    fn,
    configs=(
        (56, 56, 64, 2, 8),
        (28, 28, 128, 4, 4),
        (14, 14, 256, 8, 2),
        (7, 7, 64, 2, 1),
        (30, 22, 64, 2, 4),
    ),
) -> bool:
    """``fn(attn, x, H, W)`` must compute ``attn(x, H, W)`` of a ``ShuntedAttention`` from its
    weights for every config ``(H, W, dim, heads, sr_ratio)``, returning its steps
    (:data:`SHUNTED_STEPS`: those the configuration has) in a dict. Names the first config and
    step that differ, and how. A function that returns only the output, or leaves out a step
    the configuration has, fails and is told which; one that calls ``attn(x, H, W)`` fails
    too: the module it gets has its forward switched off
    (:func:`~vit_notes.checking.check_forward`)."""
    return check_forward(
        fn,
        _shunted_cases(configs),
        shunted_steps,
        SHUNTED_STEPS,
        "ShuntedAttention",
        mistakes=SHUNTED_MISTAKES,
    )


def _one_figure(right: float) -> list[float]:
    """``right`` rounded (a half up) and cut off at one significant figure, each only where it
    lies outside :func:`~vit_notes.checking.check_prediction`'s default 2 % of ``right``:
    answers that are too coarse for an exact ratio."""
    if not right > 0 or not math.isfinite(right):
        return []
    unit = 10.0 ** math.floor(math.log10(right))
    out = []
    for value in (math.floor(right / unit + 0.5) * unit, math.floor(right / unit) * unit):
        value = float(f"{value:.1g}")
        if value > 0 and value not in out and abs(value - right) > 0.02 * right:
            out.append(value)
    return out


@answers_any
def check_explorer_prediction(
    answer, size: int = 112, sr_ratio: int = 8, num_heads: int = 4
) -> bool:
    """Predict: with the explorer at ``size``², ``num_heads`` heads and its ``sr_ratio`` slider
    at ``sr_ratio``, the Shunted bar's attention memory (KiB or MiB) divided by the SRA bar's.
    Where ``sr_ratio`` does not divide the grid the key grids are floored, and the 5/2 rule may
    no longer hold. The inverse, SRA's divided by Shunted's, is named as inverted. Right is
    the exact fraction, or a decimal rounded or cut off from it at two or more significant
    figures (the exercise's prompt says so). A one-figure rounding is told it is too coarse."""
    H = W = validate.size("size", size, minimum=4) // 4
    sh, sra = shunted_cost(H, W, 64, num_heads, sr_ratio), sra_cost(H, W, 64, num_heads, sr_ratio)
    right = sh.attn_bytes / sra.attn_bytes
    # quote the bars as the explorer draws them: the same function builds their text

    bars = shunted_cost_chart(size, num_heads, sr_ratio)
    drawn = dict(zip(bars.labels, bars.texts))
    m1, m2 = shunted_kv_tokens(H, W, sr_ratio) if sr_ratio > 1 else (H * W, H * W)
    if m2 == 4 * m1 and sr_ratio > 1:  # the rule holds here: point at a grid where it does not
        b1, b2 = shunted_kv_tokens(28, 28, 8)
        elsewhere = (
            f"At 112² and sr_ratio 8, where 28 mod 8 = 4 reaches r/2, the ratio is "
            f"{Fraction(b1 + b2, 2 * b1)} instead"
        )
        # the exercise's floored case, copied to a grid where the rule holds
        copied = [
            (
                (b1 + b2) / (2 * b1),
                f"that is the ratio at 112² and sr_ratio 8, where 28 mod 8 reaches r/2. "
                f"Here {H} mod {sr_ratio} = {H % sr_ratio} is under r/2 = {sr_ratio // 2}, "
                "so section 5's rule holds",
            )
        ]
    else:
        elsewhere = "At 224² and sr_ratio 8, where 8 divides the 56-token side, the ratio is 5/2"
        copied = []
    units = {"KiB" in drawn[name].split(" (")[0] for name in ("SRA", "Shunted")}
    one_unit = ", in one unit (1 MiB = 1024 KiB)" if len(units) > 1 else ""
    then = (
        f"Now set the explorer to {size}², {num_heads} heads and its sr_ratio slider to "
        f'{sr_ratio}: the bars read "SRA {drawn["SRA"]}" and "Shunted {drawn["Shunted"]}". '
        "The bracket compares each layer with plain attention, not with SRA: compare the "
        f"memory labels{one_unit}. {elsewhere}"
    )
    # a wrong answer is not told the labels: their ratio is the answer, rounded
    then_wrong = (
        f"Now set the explorer to {size}², {num_heads} heads and its sr_ratio slider to "
        f"{sr_ratio}, and compare the memory labels of the SRA and Shunted bars{one_unit}. "
        f"The bracket compares each layer with plain attention, not with SRA. {elsewhere}"
    )
    if sr_ratio == 1:
        return check_prediction(
            answer,
            right,
            "the ratio",
            then,
            correct=f"{right:g}×: with sr_ratio 1 the shunted layer has one group of all heads "
            "over all N keys, as SRA at R = 1. Its depthwise convolution of V stores no map",
            then_wrong=then_wrong,
        )
    c1, c2 = (f"⌊{H}/{k}⌋×⌊{W}/{k}⌋" for k in (sr_ratio, sr_ratio // 2))
    holds = m2 == 4 * m1
    correct = (
        f"{right:.3g}×: on the {H}×{W} grid the coarse group sees {c1} = {m1} keys and the fine "
        f"group {c2} = {m2}{' = 4 × ' + str(m1) if holds else ''}. SRA gives every head the "
        f"coarse group's {m1}. So the ratio is ({m1} + {m2}) / (2·{m1}) = {right:.3g}. "
        f"The {num_heads} heads cancel: they multiply both bars' memory"
    )
    floored = [
        (
            2.5,
            "5/2 holds where the fine grid is exactly twice the coarse one per side. "
            f"Here the grids are floored, to {c1} = {m1} coarse and {c2} = {m2} fine keys, "
            f"and {m2} is not 4 × {m1}",
        )
    ]
    mistakes = [
        *(copied if holds else floored),
        (
            (m1 + m2) / m1,
            "that counts every head on both key sets. Each group has half of the heads",
        ),
        (m2 / (2 * m1), "that is the fine group alone. Add the coarse group's half"),
        (m2 / m1, "that is the fine group's keys against the coarse group's, for half the heads"),
        (0.5, "the coarse group alone costs half of SRA's. Add the fine group's half"),
        (
            1 / right,
            "that is inverted: SRA's memory divided by Shunted's. The question asks for "
            "Shunted's divided by SRA's",
        ),
        # the ratio rounded or cut off at one significant figure (2.5: 3 or 2), last, so
        # that a named slip near it wins
        *(
            (
                coarse,
                "too coarse: that is the ratio to one significant figure. Give the fraction, "
                "or a decimal to two or more significant figures",
            )
            for coarse in _one_figure(right)
        ),
    ]
    # every near miss gets this: it names no single slip and no number the answer follows from
    inexact = (
        "not exact. The ratio is one of whole key counts: work it out from the keys that each "
        "group and SRA attend over, and give that ratio, or a rounding of it to two or more "
        "significant figures"
    )
    return check_prediction(
        answer,
        right,
        "the ratio",
        then,
        correct=correct,
        mistakes=mistakes,
        inexact=inexact,
        then_wrong=then_wrong,
    )


@answers_any
def check_ratio_choice(
    answer, H: int = 56, W: int = 56, num_heads: int = 2, sra_ratio: int = 4
) -> bool:
    """Design judgement: the ``sr_ratio`` of a Shunted layer that replaces an SRA layer with
    ``sra_ratio`` on an ``H x W`` grid, whose attention maps take no more memory than SRA's and
    whose fine group's keys are at least as fine as SRA's."""
    sra_ratio = validate.kernel("sra_ratio", sra_ratio)
    # every candidate ratio, 16 too, reduces the grid: it needs 16 tokens a side (and SRA's)
    least = max(16, sra_ratio)
    H, W = validate.size("H", H), validate.size("W", W)
    for name, side in (("H", H), ("W", W)):
        if side < least:
            raise ValueError(
                f"{name}={side} is too small a grid side for this exercise: its candidate "
                f"sr_ratios, up to 16, and SRA's sra_ratio={sra_ratio} each need at least "
                f"{least} tokens a side; use {name} >= {least}"
            )
    sra = sra_cost(H, W, 64, num_heads, sra_ratio)
    sra_keys = sra.kv_tokens  # every head of SRA attends over these
    options = {}
    good = []
    for r in (2, 4, 8, 16):
        c = shunted_cost(H, W, 64, num_heads, r)
        coarse, fine = (f"{H // k}×{W // k}" for k in (r, r // 2))
        head = (
            f"sr_ratio {r}: groups ÷{r} and ÷{r // 2} ({coarse} and {fine} keys), maps "
            f"{c.attn_bytes / 2**20:.2f} MiB against SRA's {sra.attn_bytes / 2**20:.2f} MiB"
        )
        if c.attn_bytes > sra.attn_bytes:
            options[r] = (
                f"{head}. That is {c.attn_bytes / sra.attn_bytes:.2f}× SRA's memory, over the "
                "budget"
            )
        elif r // 2 > sra_ratio:
            options[r] = (
                f"{head}. It is cheaper. But even the fine group's reduction tiles "
                f"({r // 2}×{r // 2} tokens) are larger than SRA's ÷{sra_ratio} tiles"
            )
        else:
            good.append(r)
            m1, m2 = shunted_kv_tokens(H, W, r)
            keeps = "keeps SRA's" if r // 2 == sra_ratio else "is finer than SRA's"
            options[r] = (
                f"{head}. The fine group {keeps} ÷{sra_ratio} grid for half the heads. The other "
                f"half gets a coarse ÷{r} grid. We read the abstract as meaning that grid for "
                f"larger objects. The maps take {c.attn_bytes / sra.attn_bytes:.3g}× SRA's "
                f"memory: ½·{m1}/{sra_keys} + ½·{m2}/{sra_keys} = "
                f"{Fraction(m1 + m2, 2 * sra_keys)}. The price: half the heads now see only the "
                f"coarse ÷{r} grid, where SRA gave every head the ÷{sra_ratio} one"
            )
    return check_choice(answer, options, good[0] if good else None, "the sr_ratio", parse=as_int)

"""Checkers for the Swin chapter's exercises: they accept any answer and say what is wrong."""

from __future__ import annotations

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
    softmax_rows,
)
from ..layers import keeps_global_rng
from .cost import effective_window, window_attention_cost
from .figures import EXPLORER_SIZE, EXPLORER_WINDOWS, window_of
from .model import (
    MASK_VALUE,
    GridWindowAttention,
    accepted_sizes,
    check_shift,
    check_window,
    shift_regions,
    stage_grids,
    window_partition,
)


@answers_any
def check_window_macs(
    answer, H: int = 56, W: int = 56, dim: int = 96, num_heads: int = 3, window_size: int = 7
) -> bool:
    """Multiply-adds of one (S)W-MSA layer on an ``H x W`` grid with ``M x M`` windows: the
    four projections and, inside every window, ``q kᵀ`` and ``attn v`` (eq. (2))."""
    c = window_attention_cost(H, W, dim, num_heads, window_size)
    H, W, dim = validate.size("H", H), validate.size("W", W), validate.width("dim", dim)
    num_heads = validate.width("num_heads", num_heads)
    window_size = effective_window(H, W, window_size)
    N, C, M = H * W, dim, window_size
    right = f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} million)"
    return check_count(
        answer,
        c.macs,
        "multiply-adds",
        f"{right}: 4hwC² = {4 * N * C * C:,} for the projections and 2M²hwC = "
        f"{2 * M * M * N * C:,} for the products in the {N // (M * M)} windows. The shift adds "
        "none: it rolls the grid, and the mask is an addition",
        mistakes=[
            (2 * c.macs, TWO_FLOPS),
            (
                4 * N * C * C + 2 * N * N * C,
                "that is eq. (1), global attention: inside a window each query meets M² keys, "
                "not all hw",
            ),
            (
                4 * N * C * C + 2 * M * M * N * C // num_heads,
                "the heads split the C channels: all heads together cost 2M²hwC, not 2M²hwC/heads",
            ),
            (
                3 * N * C * C + 2 * M * M * N * C,
                "qkv gives q, k and v (3hwC²), and proj adds hwC² more",
            ),
        ],
        terms={
            "qkv (3hwC²)": 3 * N * C * C,
            "proj (hwC²)": N * C * C,
            "q·kᵀ in the windows (M²hwC)": M * M * N * C,
            "attn·v in the windows (M²hwC)": M * M * N * C,
        },
        hint="add qkv, proj, and q·kᵀ and attn·v with M² keys per query",
    )


def _side_fits(name: str, side: int, window_name: str, window: int) -> None:
    """Refuse an image ``side`` that is not a whole number of 4-pixel patches, or whose
    stage-1 token grid the ``window`` does not tile, naming the side and the window."""
    grid = side // 4
    if side % 4 == 0 and (grid <= window or grid % window == 0):
        return
    step = 4 * window
    lower = side // step * step
    such = f"{lower} or {lower + step}" if lower else f"{step}"
    fix = f"use a {name} that is a multiple of {step} ({window} tokens of 4 pixels), such as {such}"
    if side % 4:
        raise ValueError(f"{name}={side} is not a whole number of 4-pixel patches: {fix}")
    raise ValueError(
        f"{name}={side} gives a {grid}x{grid} token grid, which {window_name}={window} does "
        f"not tile: {fix}, or a {window_name} that divides {grid}"
    )


@answers_any
def check_memory_prediction(
    answer, side: int = 448, base: int = 224, window_size: int = 7, base_window: int | None = None
) -> bool:
    """Predict: stage 1's attention maps at ``side``² with windows ``window_size`` take how many
    times the memory they take at ``base``² with windows ``base_window`` (``window_size`` if not
    given)? Each query keeps ``M²`` weights: the maps grow with the tokens and with ``M²``."""
    side = validate.size("side", side, minimum=4)
    base = validate.size("base", base, minimum=4)
    window_size = validate.size("window_size", window_size)
    _side_fits("side", side, "window_size", window_size)
    if base_window is None:
        _side_fits("base", base, "window_size", window_size)
        base_window = window_size
    else:  # a slip here is named as base_window's, not as the window_size it is checked as
        _side_fits("base", base, "base_window", validate.size("base_window", base_window))
        base_window = validate.positive_int(
            "base_window", base_window, minimum=1, maximum=base // 4,
            why=f"a window fits in the {base // 4}x{base // 4} token grid of a {base}² image",
        )  # fmt: skip
        if (base // 4) % base_window:
            raise ValueError(
                f"base_window={base_window} does not divide the {base // 4}x{base // 4} token "
                f"grid of a {base}² image"
            )
    big = window_attention_cost(side // 4, side // 4, 96, 3, window_size)
    small = window_attention_cost(base // 4, base // 4, 96, 3, base_window)
    right = big.attn_bytes / small.attn_bytes
    tokens = (side // 4) ** 2 / (base // 4) ** 2  # the token grids', as the costs count them
    M, M0 = window_size, base_window
    if M == M0:
        then = (
            f"Now look at the lower left panel of the cost figure: from {base} to {side} px the "
            "window line rises by the factor of the tokens, the global line by its square"
        )
        correct = (
            f"{right:g}×: {tokens:g}× the tokens, each with the same M² = {M**2} keys in its window"
        )
        inexact = (
            "the ratio is exact, not read off a figure: the same M² keys per query, and more "
            "queries. Work out how many more, and give that ratio or a rounding of it"
        )
        mistakes = [
            (tokens**2, "that is global attention's growth, N². A window keeps M² keys per query"),
            (side / base, "that is the growth of the side; the tokens grow with its square"),
            (1.0, "the number of keys per query stays M², but there are more queries"),
        ]
    else:
        keys = M**2 / M0**2
        then = (
            f"Now read two factors off the cost figure. The lower left panel's window line, from "
            f"{base} to {side} px, rises by the factor of the tokens. The lower right "
            f"panel's window line, from M = {M0} to M = {M}, rises by the factor of the keys. "
            f"Their product is the answer. Compare the global line from {base} to {side} px"
        )
        correct = (
            f"{right:g}×: {tokens:g}× the tokens, each with M² = {M**2} keys in its window "
            f"instead of {M0**2}, {keys:g}× as many"
        )
        inexact = (
            "the ratio is exact, not read off a figure: work out the growth of the queries and "
            "of the keys of each, multiply, and give that ratio or a rounding of it"
        )
        if abs(tokens - keys) < 1e-9 * keys:  # one value, two halves of the answer: name both
            one_factor = [
                (
                    tokens,
                    "that counts only one of the two factors: there are more queries, and "
                    f"each keeps more keys too, since the window grew from M = {M0} to M = {M}",
                )
            ]
        else:
            one_factor = [
                (
                    tokens,
                    f"that is the growth of the tokens alone. The window grew from M = {M0} to "
                    f"M = {M}, so each query keeps more keys too",
                ),
                (
                    keys,
                    "that is the growth of the keys per query alone. The image grew from "
                    f"{base}² to {side}², so there are more queries too",
                ),
            ]
        named = one_factor + [
            (
                tokens * M / M0,
                f"the window's side grew {M / M0:g}-fold, but a query keeps M² keys. The keys "
                "grow with the square of the side",
            ),
            (
                side / base,
                "that is the growth of the image's side. The tokens grow with its square",
            ),
            (tokens**2, "that is global attention's growth, N²"),
            (1.0, "the maps grow with the queries and with the keys of each"),
        ]
        seen: set[float] = set()
        mistakes = []
        for value, why in named:  # never call the right value, or one value twice, a mistake
            if abs(value - right) > 1e-9 * right and value not in seen:
                seen.add(value)
                mistakes.append((value, why))
    return check_prediction(
        answer,
        right,
        "the ratio of the maps' memory",
        then,
        correct=correct,
        inexact=inexact,
        mistakes=mistakes,
    )


@answers_any
def check_window_choice(answer, side: int = 1024, dim: int = 96) -> bool:
    """Judgement: the window side for a dense task at ``side``² (4×4 patches, four stages):
    the largest window that tiles every stage's grid without padding and keeps stage 1's
    attention products (``2M²hwC``) no larger than its projections (``4hwC²``)."""
    side = validate.image_side("side", side)
    if side < 32:
        raise ValueError(f"side={side}: four stages of 4x4 patches need an image of 32 px or more")
    dim = validate.width("dim", dim)
    grids = stage_grids(side, 4, 4)
    options, good = {}, []
    for M in (7, 8, 12, 16, 32):
        tiles = all(g % M == 0 or g <= M for g in grids)
        products, projections = 2 * M * M, 4 * dim
        head = f"M = {M}: stage grids {', '.join(f'{g}×{g}' for g in grids)}"
        if not tiles:
            bad = [g for g in grids if g % M and g > M]
            options[M] = (
                f"{head}. {M} does not divide {', '.join(str(g) for g in bad)}: the paper's "
                "windows tile the grid, so this needs padding (timm pads; the official "
                f"classification code and this package refuse: at M = {M} they accept "
                f"{', '.join(str(s) for s in accepted_sizes(4, M, 4, up_to=1200)[:4])}, ...)"
            )
        elif products > projections:
            options[M] = (
                f"{head}: it tiles every grid, but the products 2M²hwC are "
                f"{products / projections:.2f}× the projections 4hwC² at C = {dim}. Each block "
                f"reaches {M} tokens per side, at a cost that grows with M²"
            )
        else:
            good.append(M)
            options[M] = (
                f"{head}: it tiles every grid, and the products 2M²hwC are "
                f"{products / projections:.2f}× the projections. The price: a block sees "
                f"{M}×{M} tokens ({4 * M}×{4 * M} px at stage 1 of a {side}² image), so a "
                f"large object needs more blocks, or later stages, to be seen whole"
            )
    right = max(good) if good else None
    if right is not None:
        options[right] = options[right] + " (the largest window within both limits)"
    for M in good:
        if M != right:
            options[M] = options[M] + f". A larger window, {right}, is still within both limits"
    return check_choice(answer, options, right, "the window side M", parse=as_int)


@answers_any
def check_explorer_prediction(answer, window_size: int = 7, query=(13, 13)) -> bool:
    """Predict: in the explorer, with windows ``window_size`` and block 2 shifted (SW-MSA), how
    many keys may the query at cell ``query`` (row, col) of its 14 × 14 query grid attend in
    block 2? The keys of its shifted window: its window of the rolled grid, less the keys that
    the mask keeps in another region."""
    validate.one_of("window_size", window_size, EXPLORER_WINDOWS)
    query = validate.cell("query", query, 14, 14)
    g, M = EXPLORER_SIZE // 4, window_size
    s = M // 2
    r, c = (int((v + 0.5) / 14 * g) for v in query)
    win = window_of(g, g, M, s)
    regions = torch.roll(shift_regions(g, g, M, s), (s, s), (0, 1))  # at the tokens' places
    same_window = win == win[r, c]
    rows_band = same_window & (regions // 3 == regions[r, c] // 3)
    cols_band = same_window & (regions % 3 == regions[r, c] % 3)
    keys = same_window & (regions == regions[r, c])
    right = int(keys.sum())
    rows, cols = int(keys.any(1).sum()), int(keys.any(0).sum())
    then = (
        f"Now set the explorer's window M to {M}, block 2 to SW-MSA and the inverse temperature "
        f"to 0, and put the query in cell ({query[0]}, {query[1]}), token ({r}, {c}). At "
        "inverse temperature 0 every key the query may attend weighs the same, so block 2's "
        "map covers exactly those keys and its peak reads 1 over their number"
    )
    if right == M * M:
        correct = (
            f"{right}: the query's shifted window is a whole {M}×{M} window, so the mask keeps "
            "nothing apart and all its keys count"
        )
    else:
        correct = (
            f"{right} = {rows}×{cols}: the query's shifted window is cut short by the grid's "
            "border. The cyclic shift puts tokens from the far side into its window of the "
            "rolled grid, and the mask keeps the query to its own region of that window"
        )
    n_rows_band, n_cols_band = int(rows_band.sum()), int(cols_band.sum())
    if n_rows_band == n_cols_band:  # one count, two mistakes: name both
        bands = [
            (
                n_rows_band,
                "that masks the wrapped rows or the wrapped columns, not both. A key must "
                "share both the query's row band and its column band",
            )
        ]
    else:
        bands = [
            (
                n_rows_band,
                "that masks the rows from the far side only: the columns "
                "wrapped around the border are masked too",
            ),
            (
                n_cols_band,
                "that masks the columns from the far side only: the rows "
                "wrapped around the border are masked too",
            ),
        ]
    mistakes = [
        (
            M * M,
            "that is the whole window of the rolled grid. Near the border that window holds "
            "tokens from the far side of the grid, and the mask keeps the query from them",
        ),
        *bands,
        (
            int(same_window.sum()) - right,
            "that counts the keys the mask removes; the query attends to the others",
        ),
    ]
    return check_count(
        answer,
        right,
        "keys",
        f"{correct}. {then}",
        mistakes=[(w, f"{why}. {then}") for w, why in mistakes if w != right],
        hint=f"find the query's window after the shift by {s} and the part of it that does "
        "not come from the other side of the grid",
    )


SWIN_STEPS = {
    "shifted": Step(
        "batch H W C",
        "the grid rolled by -shift_size: the cyclic shift",
        axes=("image", "row", "column", "channel"),
        order="the tokens are in the wrong places: roll the grid by -shift_size along both "
        "axes, torch.roll(x, (-s, -s), (1, 2)). A grid not rolled, or rolled by another "
        "amount, fails here",
    ),
    "windows": Step(
        "windows M² C",
        "the windows, (batch · H/M · W/M, M², C), image by image",
        axes=("window", "token", "channel"),
        order="cut the windows image by image, then row of windows, then column, "
        "'(b nh nw)', and take the tokens row by row inside a window, '(m1 m2)'",
    ),
    "bias": Step(
        "heads M² M²",
        "B: the bias table's row for each offset i - j",
        axes=("head", "query", "key"),
    ),
    "mask": Step(
        "nW M² M²",
        "the mask: 0 within a region, -100, -inf or True across two regions",
        axes=("window", "query", "key"),
    ),
    "attn": Step(
        "windows heads M² M²",
        "the map: softmax(q kᵀ · scale + B + mask)",
        softmax_rows,
        axes=("window", "head", "query", "key"),
    ),
    "out": Step(
        "batch N C",
        "the output on the grid, rolled back by +shift_size",
        axes=("image", "token", "channel"),
        order="the tokens' outputs sit in the wrong places: put the windows back as they were "
        "cut, '(b nh nw) (m1 m2) -> b (nh m1) (nw m2)', roll the grid back by +shift_size "
        "along both axes, and flatten it row by row, '(h w)'",
    ),
}

SWIN_MISTAKES = {
    "no_roll": "the grid is not rolled: the cyclic shift rolls it by -shift_size "
    "(torch.roll(x, (-s, -s), (1, 2))) before the windows are cut, and the shift back by "
    "+shift_size",
    "wrong_amount": "the grid is rolled by another amount than shift_size: the cyclic shift "
    "rolls by -shift_size (torch.roll(x, (-s, -s), (1, 2))) and the shift back by +shift_size",
    "roll_forward": "the grid is rolled by +shift_size: the cyclic shift rolls by -shift_size "
    "(torch.roll(x, (-s, -s), (1, 2))) and the shift back by +shift_size",
    "back_wrong_way": "the output is rolled back the wrong way, by -shift_size: the shift back "
    "undoes the cyclic shift, so it rolls by +shift_size (torch.roll(out, (s, s), (1, 2)))",
    "rows_only": "the grid is rolled along one axis only, H (dim 1): the cyclic shift rolls "
    "both axes, torch.roll(x, (-s, -s), (1, 2)), and so does the shift back",
    "columns_only": "the grid is rolled along one axis only, W (dim 2): the cyclic shift rolls "
    "both axes, torch.roll(x, (-s, -s), (1, 2)), and so does the shift back",
    "no_shift_back": "the windows are put back but the grid is not rolled back by +shift_size: "
    "every token's output sits shift_size places up and left of its token",
    "open_mask": "the mask lets tokens that the shift wrapped around the border attend to each "
    "other: add -100 where query and key lie in different regions (shift_regions)",
    "bias_j_minus_i": "the bias is indexed with j - i, the transpose of B: relative_position_index "
    "holds the offset query minus key, i - j",
}


def swin_steps(
    layer: GridWindowAttention, x: torch.Tensor, H: int, W: int, mistake: str | None = None
) -> dict[str, torch.Tensor]:
    """The intermediates of ``layer(x, H, W)`` (:data:`SWIN_STEPS`), from the layer's own weights;
    with ``mistake`` (a key of :data:`SWIN_MISTAKES`) as a student who made it would compute
    them. Tested equal to the module."""
    validate.instance("layer", layer, GridWindowAttention)
    validate.tokens_match_grid(
        x, H, W, dtype=layer.attn.qkv.weight.dtype, device=layer.attn.qkv.weight.device
    )
    validate.built_grid("layer", layer.input_resolution, H, W)
    if x.shape[-1] != layer.attn.dim:
        raise ValueError(
            f"x has {x.shape[-1]} channels but layer was built for dim={layer.attn.dim}: give "
            f"tokens of {layer.attn.dim} channels"
        )
    if mistake is not None:
        validate.one_of("mistake", mistake, SWIN_MISTAKES)
    attn, M, s = layer.attn, layer.window_size, layer.shift_size
    h = attn.num_heads
    grid = rearrange(x, "b (h w) c -> b h w c", h=H)
    sign = 1 if mistake == "roll_forward" else -1
    dims = {"rows_only": (1,), "columns_only": (2,)}.get(mistake, (1, 2))
    if s and mistake == "no_roll":
        dims = ()
    if s and mistake == "wrong_amount":
        s_rolled = 1 if s != 1 else 2  # a roll by one place, or by two where the shift is one
    else:
        s_rolled = s
    shifted = torch.roll(grid, (sign * s_rolled,) * len(dims), dims) if s and dims else grid
    windows = rearrange(window_partition(shifted, M), "n m1 m2 c -> n (m1 m2) c")
    bias = attn.relative_position_bias()
    if mistake == "bias_j_minus_i":
        bias = bias.transpose(-2, -1)
    steps = {"shifted": shifted, "windows": windows, "bias": bias}
    logits_extra = bias[None]
    if s:
        mask = layer.attn_mask
        if mistake == "open_mask":
            mask = torch.zeros_like(mask)
        steps["mask"] = mask
        nW = mask.shape[0]
        logits_extra = (bias[None, None] + mask[None, :, None]).reshape(-1, h, M * M, M * M)
        logits_extra = logits_extra.repeat(windows.shape[0] // nW, 1, 1, 1)
    q, k, v = rearrange(attn.qkv(windows), "n t (three h d) -> three n h t d", three=3, h=h)
    a = (q @ k.transpose(-2, -1) * attn.scale + logits_extra).softmax(-1)
    steps["attn"] = a
    out = attn.proj(rearrange(a @ v, "n h t d -> n t (h d)"))
    out = rearrange(out, "(b nh nw) (m1 m2) c -> b (nh m1) (nw m2) c", nh=H // M, nw=W // M, m1=M)
    if s and dims and mistake != "no_shift_back":
        back = sign * s_rolled if mistake == "back_wrong_way" else -sign * s_rolled
        out = torch.roll(out, (back,) * len(dims), dims)
    steps["out"] = rearrange(out, "b h w c -> b (h w) c")
    return steps


def swin_cases(configs):
    """For each ``(H, W, dim, heads, window_size, shift_size)``: a label, a
    :class:`GridWindowAttention` with every parameter nudged (seeded) and two images of
    random tokens. Every configuration is checked here, before the first case is built."""
    if isinstance(configs, (list, tuple)) and not configs:
        return iter(())  # check_forward says that no configuration was given
    checked, total = [], 0
    fields = ("H", "W", "dim", "heads", "window_size", "shift_size")
    for i, config, (H, W, dim, heads) in validate.layer_configs(configs, fields):
        M = validate.image_side(f"configs[{i}] window_size", config[4])
        check_window(H, W, min(M, H, W))
        keys = min(M, H) * min(M, W)  # each query sees one window
        bias = heads * (2 * min(M, H) - 1) * (2 * min(M, W) - 1) + keys * keys
        total = validate.forward_work(
            i,
            config,
            max(heads * H * W * keys, H * W * dim),
            total,
            weights=validate.layer_weights(dim, tables=bias),
        )
        checked.append((H, W, dim, heads, M, check_shift(config[5], M)))
    return _swin_cases(checked)


@keeps_global_rng
def _swin_cases(configs):
    torch.manual_seed(0)
    for H, W, dim, heads, M, s in configs:
        layer = GridWindowAttention(dim, (H, W), heads, window_size=M, shift_size=s).eval()
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.05 * torch.randn_like(p))
            # a bias far from symmetric, so that B and its transpose differ
            layer.attn.relative_position_bias_table.normal_(0, 1.0)
        x = torch.randn(2, H * W, dim)
        yield (
            f"H={H}, W={W}, dim={dim}, heads={heads}, window_size={M}, shift_size={s}",
            layer,
            (x, H, W),
        )


#: The submodules whose forward the checker switches off in the copy a student's function gets
#: (:func:`~vit_notes.checking.steps_only`): the layer, and its window attention, since the
#: exercise writes the attention products out.
REFUSE = {
    "": "call the layer's parts, not the layer itself: roll, cut windows, then use "
    "layer.attn's qkv, scale, relative_position_bias() and proj, and layer.attn_mask",
    "attn": "write the attention products out, not layer.attn(windows, mask): use attn.qkv, "
    "attn.scale, attn.relative_position_bias() and attn.proj",
}


def as_official_mask(steps):
    """``steps`` with its ``mask`` written as the official code stores it (0, or
    :data:`MASK_VALUE` across two regions), where the student's mask says the same thing in
    another form: ``-inf`` (the official docstring's "0/-inf") or any value at most
    :data:`MASK_VALUE` for the blocked pairs, or a boolean mask (``True`` for the blocked
    pairs, or for the allowed ones: a token may always attend to itself, so the diagonal tells
    which). Anything else is returned as it is, for the checker to judge."""
    try:
        if not isinstance(steps, dict) or not isinstance(steps.get("mask"), torch.Tensor):
            return steps
        mask = steps["mask"].detach()
        if mask.dim() < 2 or mask.shape[-1] != mask.shape[-2] or mask.numel() == 0:
            return steps
        if mask.dtype == torch.bool:
            diagonal = mask.diagonal(dim1=-2, dim2=-1)
            if diagonal.all():
                apart = ~mask
            elif not diagonal.any():
                apart = mask
            else:
                return steps
        elif mask.is_floating_point():
            apart = mask != 0
            if not apart.any() or not bool((mask[apart] <= MASK_VALUE).all()):
                return steps
        else:
            return steps
        official = torch.zeros(mask.shape).masked_fill(apart, MASK_VALUE)
        return dict(steps, mask=official)
    except Exception:  # a value no rewriting can read: the checker says what it is
        return steps


def check_swin_forward(
    fn,
    configs=(
        (8, 8, 16, 2, 4, 2),
        (14, 14, 24, 3, 7, 3),
        (12, 8, 16, 2, 4, 0),
        (12, 16, 32, 4, 4, 1),
    ),
) -> bool:
    """``fn(layer, x, H, W)`` must compute ``layer(x, H, W)`` of a ``GridWindowAttention`` from
    its weights for every config ``(H, W, dim, heads, window_size, shift_size)``, returning its
    steps (:data:`SWIN_STEPS`: ``mask`` where the layer shifts) in a dict: the output alone,
    or a step left out, fails and is told which. The layer ``fn`` gets has its forward and its
    window attention's switched off (:data:`REFUSE`). Names the first config and step that
    differ, and how. A mask of ``-inf`` or booleans counts as the official ``-100``
    (:func:`as_official_mask`)."""

    def student(*args, **kwargs):
        return as_official_mask(fn(*args, **kwargs))

    return check_forward(
        student if callable(fn) else fn,
        swin_cases(configs),
        swin_steps,
        SWIN_STEPS,
        "GridWindowAttention",
        mistakes=SWIN_MISTAKES,
        refuse=REFUSE,
    )

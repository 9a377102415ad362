"""What CoAtNet's blocks cost, counted by hand: MBConv, relative attention, the transformer
block and the whole network per stage; equal to the FLOP counter and the parameter count
(tested)."""

from __future__ import annotations

import inspect

from .. import validate
from ..counting import AttentionCost, BlockCost
from .model import (
    CONFIGS,
    CoAtNet,
    check_expand_ratio,
    check_mbconv_ratios,
    make_divisible,
    parse_layout,
)
from .paper import ablation  # the paper's facts; nothing there is computed


def _grid_after(H: int, W: int, stride: int) -> tuple[int, int]:
    validate.one_of("stride", stride, {1, 2})
    H, W = validate.size("H", H), validate.size("W", W)
    if stride == 2 and (H % 2 or W % 2):
        raise ValueError(f"a stride-2 block needs an even grid, got {H}x{W}")
    return H // int(stride), W // int(stride)


def relative_attention_cost(
    H: int, W: int, dim: int, num_heads: int, dim_out: int | None = None
) -> AttentionCost:
    """Multiply-adds of :class:`~vit_notes.coatnet.model.RelativeAttention` on an ``H x W`` grid.

    ``N = HW``, width ``C`` of q, k, v (``dim_out``): the qkv 1x1 conv costs ``3·N·dim·C``,
    ``q kᵀ`` and ``attn v`` ``2N²C`` (CoAtNet's quadratic term: every position attends to every
    other), the projection ``NC²``. Gathering and adding the relative bias ``w_{i−j}`` costs no
    multiply-adds, only the ``heads x N x N`` bias tensor in memory.
    """
    dim = validate.width("dim", dim)
    dim_out = dim if dim_out is None else validate.width("dim_out", dim_out)
    num_heads = validate.width("num_heads", num_heads)
    validate.heads_divide(dim_out, num_heads)
    N = validate.size("H", H) * validate.size("W", W)
    attn = 2 * N * N * dim_out
    macs = 3 * N * dim * dim_out + attn + N * dim_out * dim_out
    return AttentionCost.of(macs, attn, N, N, num_heads)


def mbconv_cost(
    H: int,
    W: int,
    in_chs: int,
    out_chs: int,
    stride: int = 1,
    expand_ratio: float = 4.0,
    se_ratio: float = 0.25,
    stride_mode: str = "1x1",
) -> BlockCost:
    """Multiply-adds and parameters of :class:`~vit_notes.coatnet.model.MBConv` on an
    ``H x W`` input.

    ``M = mid`` channels (``expand_ratio·out_chs``), ``N'`` output positions: expand 1x1
    ``in·M`` per position (at the input resolution with ``stride_mode="dw"``, at the output one
    with ``"1x1"``), depthwise 3x3 ``9M·N'`` (the fixed local kernel: linear in ``N``), SE
    ``2·M·M_se`` once, project ``M·out·N'``, shortcut 1x1 ``in·out·N'`` when the width changes.
    """
    validate.one_of("stride_mode", stride_mode, {"1x1", "dw"})
    in_chs = validate.width("in_chs", in_chs)
    out_chs = validate.width("out_chs", out_chs)
    H, W = validate.size("H", H), validate.size("W", W)
    expand_ratio, se_ratio = check_mbconv_ratios(out_chs, expand_ratio, se_ratio)
    Ho, Wo = _grid_after(H, W, stride)
    N, No = H * W, Ho * Wo
    mid, rd = make_divisible(out_chs * expand_ratio), int(se_ratio * out_chs)
    has_short = stride == 2 or in_chs != out_chs
    short_conv = in_chs != out_chs and has_short
    macs = (
        in_chs * mid * (No if stride_mode == "1x1" else N)
        + 9 * mid * No
        + 2 * mid * rd
        + mid * out_chs * No
        + (in_chs * out_chs * No if short_conv else 0)
    )
    params = (
        2 * in_chs
        + in_chs * mid
        + 2 * mid
        + 9 * mid
        + 2 * mid
        + (mid * rd + rd)
        + (rd * mid + mid)
        + (mid * out_chs + out_chs)
        + ((in_chs * out_chs + out_chs) if short_conv else 0)
    )
    return BlockCost(macs=macs, params=params)


def transformer_block_cost(
    H: int,
    W: int,
    dim: int,
    dim_out: int | None = None,
    stride: int = 1,
    dim_head: int = 32,
    expand_ratio: float = 4.0,
) -> BlockCost:
    """Multiply-adds and parameters of :class:`~vit_notes.coatnet.model.TransformerBlock` on an
    ``H x W`` input: :func:`relative_attention_cost` on the (pooled) output grid, the FFN
    ``2·C·4C`` per position, the shortcut 1x1 conv when the width changes, the relative table
    ``(2H'−1)(2W'−1)`` per head."""
    dim = validate.width("dim", dim)
    dim_out = dim if dim_out is None else validate.width("dim_out", dim_out)
    Ho, Wo = _grid_after(H, W, stride)
    dim_head = validate.width("dim_head", dim_head)
    if dim_out % dim_head:
        raise ValueError(
            f"dim_out={dim_out} (the block's width) is not divisible by the head size "
            f"dim_head={dim_head}"
        )
    expand_ratio = check_expand_ratio(dim_out, expand_ratio)
    heads, N, hidden = dim_out // dim_head, Ho * Wo, int(dim_out * expand_ratio)
    a = relative_attention_cost(Ho, Wo, dim, heads, dim_out)
    short = dim * dim_out * N if dim != dim_out else 0
    macs = a.macs + 2 * N * dim_out * hidden + short
    params = (
        2 * dim
        + 3 * dim_out * (dim + 1)
        + (2 * Ho - 1) * (2 * Wo - 1) * heads
        + dim_out * (dim_out + 1)
        + 2 * dim_out
        + hidden * (dim_out + 1)
        + dim_out * (hidden + 1)
        + ((dim * dim_out + dim_out) if dim != dim_out else 0)
    )
    return BlockCost(
        macs=macs,
        params=params,
        attn_macs=a.attn_macs,
        attn_elements=a.attn_elements,
        attn_bytes=a.attn_bytes,
    )


def _times(block: BlockCost, n: int) -> BlockCost:
    """``n`` blocks alike in sequence: counts times ``n``, the largest map unchanged."""
    return BlockCost(
        macs=block.macs * n,
        params=block.params * n,
        attn_macs=block.attn_macs * n,
        attn_elements=block.attn_elements,
        attn_bytes=block.attn_bytes,
    )


def coatnet_cost(
    name_or_config="coatnet_0", img_size: int = 224, **overrides
) -> dict[str, BlockCost]:
    """Analytic cost of a whole :class:`~vit_notes.coatnet.model.CoAtNet`, per stage, without
    building it.

    ``name_or_config``: a name from :data:`vit_notes.coatnet.model.CONFIGS` or a config dict;
    ``overrides`` as for :func:`vit_notes.coatnet.model.create` (``layout``,
    ``stride_mode``, ...). Returns ``{"S0": stem, "S1".."S4": stages, "head": classifier,
    "total": sum}``; equal to :func:`count_macs` (with the attention products counted) and
    :func:`count_params` (tested).
    """
    if not isinstance(name_or_config, dict):
        validate.one_of("name_or_config", name_or_config, CONFIGS)
        name_or_config = CONFIGS[name_or_config]
    options = set(inspect.signature(CoAtNet).parameters)
    for where, given in (("name_or_config", name_or_config), ("overrides", overrides)):
        unknown = [k for k in given if k not in options]
        if unknown:
            raise ValueError(
                f"{where}: {validate.shown(unknown, 80)} are not options of CoAtNet; see "
                "vit_notes.coatnet.CoAtNet"
            )
    for rate in ("drop_rate", "drop_path_rate"):  # no cost, but a slip all the same
        if rate in overrides:
            validate.probability(rate, overrides[rate])
    missing = [k for k in ("depths", "embed_dims", "stem_width") if k not in name_or_config]
    if missing:
        raise ValueError(
            f"name_or_config lacks {missing}: give a model's name or a config dict as "
            "vit_notes.coatnet.model.CONFIGS holds them"
        )
    cfg = {
        **dict(
            in_chans=3,
            num_classes=1000,
            layout="C-C-T-T",
            dim_head=32,
            expand_ratio=4.0,
            se_ratio=0.25,
            stride_mode="1x1",
            head_hidden_size=None,
        ),
        **name_or_config,
        **overrides,
    }
    depths, dims, D0 = cfg["depths"], cfg["embed_dims"], cfg["stem_width"]
    validate.sequence("embed_dims", dims)
    validate.sequence("depths", depths)
    if len(dims) != len(depths):
        raise ValueError(f"embed_dims has {len(dims)} entries but depths has {len(depths)}")
    validate.stages("depths (its length, the number of stages)", len(depths))
    layout = parse_layout(cfg["layout"], len(depths))
    stride = 2 ** (len(depths) + 1)
    img_size = validate.image_side("img_size", img_size)
    if img_size % stride:
        raise ValueError(f"img_size={img_size} is not divisible by the total stride {stride}")
    # The checks CoAtNet makes of the values no block cost sees (as CoAtNet names them).
    # With CoAtNet's bounds, and as Python ints (NumPy's overflow silently in the products).
    cfg["in_chans"] = validate.width("in_chans", cfg["in_chans"])
    validate.width("stem_width", D0)
    for i, d in enumerate(depths):
        validate.depth(f"depths[{i}]", d)
    for i, d in enumerate(dims):
        validate.width(f"embed_dims[{i}]", d)
    cfg["num_classes"] = validate.classes("num_classes", cfg["num_classes"])
    if cfg["head_hidden_size"] is not None:
        cfg["head_hidden_size"] = validate.width(
            "head_hidden_size", cfg["head_hidden_size"], minimum=0
        )
    # Python ints from here on (NumPy's overflow silently), whatever the config holds.
    img_size, D0 = validate.size("img_size", img_size), int(D0)
    depths, dims = tuple(int(d) for d in depths), tuple(int(d) for d in dims)
    H = img_size // 2
    out = {
        "S0": BlockCost(
            macs=(cfg["in_chans"] + D0) * D0 * 9 * H * H,
            params=cfg["in_chans"] * D0 * 9 + 2 * D0 + D0 * D0 * 9,
        )
    }
    in_chs = D0
    for i, (t, d, L) in enumerate(zip(layout, dims, depths)):
        # The first block strides and widens; the other L - 1 are alike: one cost, L - 1 times
        # (so that a deep stage costs no time to count).
        total = BlockCost(0, 0)
        for j, s, c in ((0, 2, in_chs), (1, 1, d))[: min(L, 2)]:
            if t == "C":
                block = mbconv_cost(
                    H, H, c, d, s, cfg["expand_ratio"], cfg["se_ratio"], cfg["stride_mode"]
                )
            else:
                block = transformer_block_cost(H, H, c, d, s, cfg["dim_head"], cfg["expand_ratio"])
            total = total + (block if j == 0 else _times(block, L - 1))
            H //= s
        out[f"S{i + 1}"], in_chs = total, d
    D, hid, K = dims[-1], cfg["head_hidden_size"], cfg["num_classes"]
    hid = D if hid is None else hid
    feat = hid or D
    out["head"] = BlockCost(
        macs=(D * hid if hid else 0) + feat * K,
        params=2 * D + ((D + 1) * hid if hid else 0) + ((feat + 1) * K if K else 0),
    )
    tot = BlockCost(0, 0)
    for v in out.values():
        tot = tot + v
    out["total"] = tot
    return out


def ablation_costs(
    title: str, img_size: int = 224, sizes: dict[str, int] | None = None
) -> list[dict]:
    """What each variant of one of the paper's ablation tables costs, counted by this book:
    one row per (model, variant) that :class:`~vit_notes.coatnet.model.CoAtNet` can build
    (:attr:`~vit_notes.coatnet.paper.Variant.overrides` not ``None``), with ``img_size`` (the
    image side it is counted at), ``params_m``, ``gmacs``, the S2 and S3 GMACs, the number of
    heads of the first transformer stage and its largest attention map (``map_mib``, float32,
    one image).

    Every row is counted at ``img_size``², except the rows of a model named in ``sizes``
    (``{"coatnet_3": 384}``), counted at that model's size: a table may give one model's
    results at another size than the rest (Table 8 gives CoAtNet-3 only at 384²).

    The paper's tables say what each variant changes; these counts show what else changes
    with it (a table that holds the number of blocks fixed changes the multiply-adds)."""
    img_size = validate.image_side("img_size", img_size)
    t = ablation(title)
    sizes = {} if sizes is None else dict(validate.instance("sizes", sizes, dict))
    for m, side in sizes.items():
        validate.one_of("a model in sizes", m, CONFIGS)
        sizes[m] = validate.image_side(f"sizes[{m!r}]", side)
    models = [m for m in CONFIGS if any(m == k[1] for v in t.variants for k in v.results)]
    rows = []
    for m in models:
        side = sizes.get(m, img_size)
        for v in t.variants:
            if v.overrides is None or not any(m == k[1] for k in v.results):
                continue
            c = coatnet_cost(m, img_size=side, **v.overrides)
            cfg = {**CONFIGS[m], **v.overrides}
            rows.append(
                dict(
                    model=m,
                    variant=v.name,
                    img_size=side,
                    params_m=c["total"].params / 1e6,
                    gmacs=c["total"].macs / 1e9,
                    s2_gmacs=c["S2"].macs / 1e9,
                    s3_gmacs=c["S3"].macs / 1e9,
                    s3_heads=cfg["embed_dims"][2] // cfg.get("dim_head", 32),
                    map_mib=c["total"].attn_bytes / 2**20,
                )
            )
    return rows


def shortfall_fit(rows, x: str = "entries", rounding: float = 0.05) -> dict:
    """Fit each row's shortfall, the paper's FLOPs minus this book's GMACs
    (``paper - gmacs``), as ``k * row[x]``: least squares through zero over ``rows``.

    ``rows`` are dicts with ``paper``, ``gmacs`` and ``x`` (section 10's Table 4 rows).
    ``rounding`` is half the last digit the paper prints: each shortfall is known only to
    within it. Returns ``k``, ``worst`` (the largest misfit) and ``rows``: each input row
    with ``shortfall``, ``fit``, ``residual`` (shortfall minus fit), ``beyond`` and
    ``share`` (the fit's share of the shortfall). ``beyond`` says the misfit exceeds the
    rounding. Only there is the residual's sign known, and with it the share's side of 1.
    """
    x = validate.text("x", x)
    rows = validate.rows("rows", rows, ("paper", "gmacs", x))
    rounding = validate.number("rounding", rounding, low=0, low_open=True)
    for i, r in enumerate(rows):
        for key in ("paper", "gmacs", x):
            if key not in r:
                raise ValueError(f"row {i} lacks {key!r}: every row needs paper, gmacs and {x!r}")
    short = [
        validate.number(f"row {i}'s 'paper'", r["paper"])
        - validate.number(f"row {i}'s 'gmacs'", r["gmacs"])
        for i, r in enumerate(rows)
    ]
    col = [validate.number(f"row {i}'s {x!r}", r[x]) for i, r in enumerate(rows)]
    norm = sum(c * c for c in col)
    if norm == 0:
        raise ValueError(f"every row's {x!r} is 0: there is nothing to fit the shortfall to")
    k = sum(c * s for c, s in zip(col, short)) / norm
    out = []
    for r, c, s in zip(rows, col, short):
        fit = k * c
        out.append(
            {
                **r,
                "shortfall": s,
                "fit": fit,
                "residual": s - fit,
                "beyond": abs(s - fit) > rounding,
                "share": fit / s if s else float("nan"),
            }
        )
    return dict(k=k, worst=max(abs(r["residual"]) for r in out), rows=out)

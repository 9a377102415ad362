"""Stage 4's local enhancement: the official code adds LE(V) to the attention output, where
stages 1-3 add it to V. The chapter builds both placements for one layer. This module repeats
that build for models under several seeds and for random tokens, and measures how far apart
the two placements land and why.
"""

from __future__ import annotations

import torch
from einops import rearrange

from .. import validate
from ..layers import keeps_global_rng
from .model import ShuntedAttention, ShuntedTransformer, shunted_t

_HEADS = "b n (h d) -> b h n d"
_JOINED = "b h n d -> b n (h d)"


def stage4_input(net: ShuntedTransformer, img: torch.Tensor) -> torch.Tensor:
    """The photo's tokens as they enter the first attention layer of stage 4."""
    validate.instance("net", net, ShuntedTransformer, "build one with shunted_t()")
    img = validate.photo("img", img)
    seen = []
    attn = net.block4[0].attn
    hook = attn.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            net.forward_features(img[None])
    finally:
        hook.remove()
    return seen[0]


def le_placements(attn, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Stage 4's layer (``sr_ratio`` 1) step by step, with LE placed both ways.

    ``code_way`` adds LE(V) to the output, as the official code's stage 4 does.
    ``recon_way`` adds it to V, as stages 1-3 do. ``weights`` are the softmax rows W and
    ``values`` are V and ``local`` is LE(V), per head.
    """
    validate.instance("attn", attn, ShuntedAttention, "pass a stage-4 layer's attn")
    validate.tensor("x", x, dtype=attn.q.weight.dtype, device=attn.q.weight.device)
    if x.dim() != 3 or not x.shape[1] or x.shape[-1] != attn.dim:
        raise ValueError(
            f"x must be tokens (B, N, {attn.dim}) for this layer, got a tensor of shape "
            f"{tuple(x.shape)}"
        )
    heads = attn.num_heads
    side = round(x.shape[1] ** 0.5)
    if side * side != x.shape[1]:
        raise ValueError(f"x holds {x.shape[1]} tokens: give a square token grid")
    with torch.no_grad():
        k, v = rearrange(attn.kv(x), "b m (two h d) -> two b h m d", two=2, h=heads)
        q = rearrange(attn.q(x), _HEADS, h=heads)
        w = ((q @ k.transpose(-2, -1)) * attn.scale).softmax(-1)
        v_img = rearrange(v, "b h (y x) d -> b (h d) y x", y=side)
        local = rearrange(attn.local_conv(v_img), "b (h d) y x -> b h (y x) d", h=heads)
        code_way = attn.proj(rearrange(w @ v + local, _JOINED))
        recon_way = attn.proj(rearrange(w @ (v + local), _JOINED))
    return dict(weights=w, values=v, local=local, code_way=code_way, recon_way=recon_way)


def placement_metrics(attn, x: torch.Tensor) -> dict[str, float]:
    """How far the two placements land apart, and the terms that explain it.

    ``apart``: the two outputs' difference in the output's norm. ``spread``: the keys a row
    of W spreads over (the exponential of its entropy), averaged over the rows of every
    head. ``spread_min`` and ``spread_max``: the same count for the lowest and the highest
    single row. ``kept``: the norm of W·LE(V) over that of LE(V). ``mean_part``: LE(V)'s
    mean over the keys, in the norm of LE(V). ``le_norm``: the norm of proj's weights
    applied to LE(V) alone, over the output's norm. ``attn_norm``: the same for the
    attention term W·V. The output is these two terms plus proj's bias, so the two ratios
    are not shares of one whole. ``cosine``: the cosine of the angle between the two terms,
    flattened: the ratios add up to more than 1 unless the terms point the same way.
    """
    p = le_placements(attn, x)
    w, local, code_way = p["weights"], p["local"], p["code_way"]
    with torch.no_grad():
        # the two differ by proj's weights applied to W·LE(V) - LE(V)
        le_alone = torch.nn.functional.linear(rearrange(local, _JOINED), attn.proj.weight)
        # the output's other term: proj's weights on the attention's weighted sum W·V
        wv_alone = torch.nn.functional.linear(rearrange(w @ p["values"], _JOINED), attn.proj.weight)
        keys = w.shape[-1]
        # the part of LE(V) that is the same for every key: its mean
        mean_le = local.mean(-2, keepdim=True)
        # each row's count of keys: the exponential of its entropy
        row_keys = torch.exp(-(w * w.log()).sum(-1))
        return dict(
            apart=float((p["recon_way"] - code_way).norm() / code_way.norm()),
            spread=float(row_keys.mean()),
            spread_min=float(row_keys.min()),
            spread_max=float(row_keys.max()),
            kept=float((w @ local).norm() / local.norm()),
            mean_part=float(mean_le.norm() * keys**0.5 / local.norm()),
            le_norm=float(le_alone.norm() / code_way.norm()),
            attn_norm=float(wv_alone.norm() / code_way.norm()),
            cosine=float(
                torch.nn.functional.cosine_similarity(le_alone.flatten(), wv_alone.flatten(), 0)
            ),
            keys=keys,
        )


@keeps_global_rng
def le_placement_study(img: torch.Tensor, seeds=(0, 1, 2)) -> tuple[list[dict], dict]:
    """The placements' metrics on the photo's stage-4 tokens, one untrained Shunted-T per
    seed, each measured on its own first stage-4 layer. Then the first seed's layer on
    random Gaussian tokens, drawn after ``torch.manual_seed(seeds[0])``: no image, no
    spatial structure. Returns the photo's runs, one per seed, and the random run. The
    caller's own random draws are left as they were.
    """
    img = validate.photo("img", img)
    seeds = validate.nonempty_sequence("seeds", seeds, limit=16)
    seeds = [validate.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    photo_runs, layers = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        net = shunted_t().eval()
        layers.append(net.block4[0].attn)
        x = stage4_input(net, img)
        photo_runs.append(placement_metrics(layers[-1], x))
    torch.manual_seed(seeds[0])
    noise = placement_metrics(layers[0], torch.randn(x.shape))
    return photo_runs, noise


def le_placement_table(photo_runs: list[dict], noise: dict, seeds) -> str:
    """The study's legend and table, one row per run: ``photo_runs`` and ``noise`` as
    :func:`le_placement_study` returns them, ``seeds`` the seeds it was given (one per run)."""
    photo_runs = validate.nonempty_sequence("photo_runs", photo_runs)
    validate.nonempty_dict("noise", noise, "le_placement_study")
    seeds = validate.nonempty_sequence("seeds", seeds)
    seeds = [validate.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if len(seeds) != len(photo_runs):
        raise ValueError(
            f"photo_runs has {len(photo_runs)} runs but seeds has {len(seeds)}: pass the seeds "
            "that le_placement_study was given, one per run"
        )
    # the table's columns, in order
    cols = ("apart", "spread", "kept", "le_norm", "attn_norm", "mean_part")
    for i, run in enumerate(photo_runs):
        validate.rows(f"photo_runs[{i}]", [run], cols)
    validate.rows("noise", [noise], (*cols, "keys"))
    lines = [
        "output gap: how much adding LE to V, not to the output, changes the output, in its norm",
        f"keys per row: exp of a row of W's entropy, the keys it spreads over of {noise['keys']},"
        " mean over rows",
        "LE(V) kept: the norm of W·LE(V) over that of LE(V)",
        "LE term: the norm of proj's weights applied to LE(V) alone, over the output's norm",
        "attention term: the same for the attention term W·V",
        "LE(V) mean: LE(V)'s mean over the keys, in the norm of LE(V)",
    ]
    names = ("output gap", "keys per row", "LE(V) kept", "LE term", "attention term", "LE(V) mean")
    widths = [max(8, len(n)) for n in names]
    lines.append(
        f"{'tokens':>7s} {'seed':>4s}" + "".join(f"  {n:>{w}s}" for n, w in zip(names, widths))
    )
    runs = [*(("photo", s, r) for s, r in zip(seeds, photo_runs)), ("random", seeds[0], noise)]
    for label, seed, run in runs:
        cells = "".join(
            f"  {run[c]:>{w}{'.1f' if c == 'spread' else '.1%'}}" for c, w in zip(cols, widths)
        )
        lines.append(f"{label:>7s} {seed:>4d}{cells}")
    return "\n".join(lines)

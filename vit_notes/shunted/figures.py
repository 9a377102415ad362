"""The Shunted chapter's pictures: one query's attention in the coarse and the fine head group
(colour tokens and identity weights: a toy), beside PVT's SRA at about the same cost, the cost
of one stage-1 layer against ``sr_ratio``, and the classroom explorer with its static twin."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import photo, validate
from ..counting import count_macs, time_forward
from ..plotting import attention_explorer, cost_bars, overlay_map, show_photo
from ..pvt.cost import sra_cost
from ..pvt.figures import identity_sra
from ..pvt.model import SpatialReductionAttention
from ..trace import query_rows
from .cost import shunted_cost, sra_ratio_at_equal_cost
from .model import ShuntedAttention


@torch.no_grad()
def identity_shunted(
    channels: int, sr_ratio: int, num_heads: int = 2, temperature: float = 0.25, shift: float = 6.0
):
    """A :class:`~vit_notes.shunted.model.ShuntedAttention` with identity weights, for tokens
    made by :func:`repeat_for_heads` (``dim = num_heads · channels``).

    ``q`` and ``proj`` are identities; ``kv1``/``kv2`` give each head of a group its own copy
    of the (reduced) token as key and as value; ``sr1``/``sr2`` average each window, so a
    reduced key is the mean histogram of the tokens it covers; the local-enhancement convs
    are zero. The norms standardise and add ``shift`` so that the GELU after them is (almost
    exactly) the identity: a constant added to every key component leaves the logits of a
    standardised query unchanged. The two head groups then differ only in their key grid.
    """

    validate.positive_int("channels", channels)
    h = validate.positive_int("num_heads", num_heads)
    dim = h * channels
    attn = ShuntedAttention(
        dim, num_heads=h, qkv_bias=True, qk_scale=temperature, sr_ratio=sr_ratio
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


SHUNTED_COLOURS = {"plain": "tab:red", "SRA": "tab:blue", "Shunted": "tab:purple"}


@torch.no_grad()
def shunted_query_maps(
    img: torch.Tensor, sr_ratios=(2, 4, 8), query_rc=(0.3, 0.5), patch: int = 4, num_heads: int = 2
) -> dict[int, dict[str, tuple[torch.Tensor, tuple[int, int]]]]:
    """For each ``sr_ratio``: one query's attention in the coarse and the fine head group of a
    shunted layer with identity weights on colour tokens (:func:`identity_shunted`).

    Returns ``{sr_ratio: {"coarse": (row, grid), "fine": (row, grid)}}`` (``{"plain": ...}`` for 1).
    """
    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    x = photo.repeat_for_heads(tokens, num_heads)
    q = photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        rows = query_rows(identity_shunted(tokens.shape[-1], r, num_heads), x, H, W, query=q)
        out[r] = dict(zip(("coarse", "fine") if r > 1 else ("plain",), rows))
    return out


@torch.no_grad()
def sra_equal_cost_maps(
    img: torch.Tensor,
    sr_ratios=(2, 4, 8),
    query_rc=(0.3, 0.5),
    patch: int = 4,
    dim: int = 64,
    num_heads: int = 2,
) -> dict[int, tuple[int, torch.Tensor, tuple[int, int]]]:
    """For each shunted ``sr_ratio``: PVT's SRA at the same cost (``sra_ratio_at_equal_cost``
    for a ``dim``-channel, ``num_heads``-head layer on the photo's token grid), and the same
    query's map through it. Returns ``{sr_ratio: (sra_ratio, row, grid)}``."""

    tokens, (H, W) = photo.colour_tokens(img, patch=patch)
    q = photo.query_index((H, W), *query_rc)
    out = {}
    for r in sr_ratios:
        r_sra = sra_ratio_at_equal_cost(H, W, dim, num_heads, r)
        ((row, grid),) = query_rows(identity_sra(tokens.shape[-1], r_sra), tokens, H, W, query=q)
        out[r] = (r_sra, row, grid)
    return out


def plot_shunted_maps(img: torch.Tensor, maps: dict, query_rc, sra: dict | None = None):
    """One row per ``sr_ratio``: the photo with the query, the coarse group's map, the fine
    group's map and, given ``sra`` (from :func:`sra_equal_cost_maps`), PVT's SRA at the same
    cost."""
    cols = 4 if sra else 3
    # Small panels: a grid of photos is the heaviest thing on a chapter page.
    fig, axes = plt.subplots(len(maps), cols, figsize=(2.4 * cols, 2.5 * len(maps)), squeeze=False)
    for ax_row, (r, groups) in zip(axes, maps.items()):
        show_photo(ax_row[0], img, query_rc, f"sr_ratio={r}: query ★")
        for ax, (name, (row, grid)) in zip(ax_row[1:3], groups.items()):
            rate = {"coarse": r, "fine": r // 2, "plain": 1}[name]
            overlay_map(ax, img, row, grid, f"{name} group (÷{rate}): {grid[0]}×{grid[1]} keys")
        if len(groups) == 1:
            ax_row[2].axis("off")
        if sra:
            r_sra, row, grid = sra[r]
            overlay_map(
                ax_row[3], img, row, grid, f"PVT SRA, same cost (R={r_sra}): {grid[0]}×{grid[1]}"
            )
    for ax in axes.flat:
        ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


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
) -> list[dict]:
    """Rows of {variant, sr_ratio, tokens, kv_tokens, analytic/counted GMACs, attention MB, ms}
    for one stage-1 layer (``size/patch`` grid, so equal query-token counts) of shunted
    attention and of PVT's SRA at each ``sr_ratio``.

    Untimed, the layers are counted on the ``meta`` device (shapes only, no compute). Timed,
    they run on the CPU with ``num_threads`` threads (default: torch's current setting; changing
    it inside a notebook kernel has hung or killed the kernel here, so leave it unless needed)."""

    torch.manual_seed(0)
    H = W = size // patch
    device = torch.device("cpu" if timed else "meta")
    x = torch.randn(1, H * W, dim, device=device)
    rows = []
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
                sr_ratio=r,
                tokens=c.tokens,
                kv_tokens=c.kv_tokens,
                analytic_gmacs=c.macs / 1e9,
                counted_gmacs=count_macs(layer, x, H, W) / 1e9,
                attn_mb=c.attn_bytes / 2**20,
            )
            if timed:
                row["ms"] = (
                    time_forward(
                        layer, x, H, W, min_run_time=min_run_time, num_threads=num_threads
                    ).median
                    * 1e3
                )
            rows.append(row)
    return rows


def plot_shunted_cost(rows: list[dict], title: str):
    """GMACs against ``sr_ratio`` (analytic lines, counted circles) and, on a second axis,
    the measured latency (dotted squares) when the rows have it: everything on one plot."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    twin = ax.twinx() if "ms" in rows[0] else None
    for variant in ("Shunted", "SRA"):
        sel = [r for r in rows if r["variant"] == variant]
        xs = [r["sr_ratio"] for r in sel]
        kw = dict(color=SHUNTED_COLOURS[variant])
        ax.plot(xs, [r["analytic_gmacs"] for r in sel], "-", label=f"{variant}: formula", **kw)
        ax.plot(
            xs,
            [r["counted_gmacs"] for r in sel],
            "o",
            mfc="none",
            ms=9,
            label=f"{variant}: counter",
            **kw,
        )
        if twin is not None:
            twin.plot(xs, [r["ms"] for r in sel], ":s", label=f"{variant}: measured ms", **kw)
    ax.set_xlabel("sr_ratio (Shunted: coarse group; the fine group uses sr_ratio/2)")
    ax.set_ylabel("GMACs (1 multiply-add = 1)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        twin.set_ylabel("CPU latency, ms (measured)")
        twin.set_yscale("log")
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def draw_shunted_explorer(
    sr_ratio: int = 8,
    num_heads: int = 2,
    size: int = 224,
    query_row: float = 0.3,
    query_col: float = 0.5,
    img: torch.Tensor | None = None,
):
    """What the Shunted explorer draws: the photo with the query, the coarse and the fine group's
    map of it, and the analytic cost of one stage-1 layer (C=64) against SRA and plain attention."""

    img = photo.load_photo(size) if img is None or img.shape[-1] != size else img
    groups = shunted_query_maps(img, (sr_ratio,), (query_row, query_col), num_heads=num_heads)[
        sr_ratio
    ]
    H = W = size // 4
    costs = {
        "plain": sra_cost(H, W, 64, num_heads, 1),
        "SRA": sra_cost(H, W, 64, num_heads, sr_ratio),
        "Shunted": shunted_cost(H, W, 64, num_heads, sr_ratio),
    }
    fig, axes = plt.subplots(1, 4, figsize=(12.5, 3.1))
    show_photo(axes[0], img, (query_row, query_col), f"{size}×{size}: {H * W} query tokens")
    for ax, (name, (row, grid)) in zip(axes[1:3], groups.items()):
        rate = {"coarse": sr_ratio, "fine": sr_ratio // 2, "plain": 1}[name]
        overlay_map(
            ax, img, row, grid, f"{name} (÷{rate}), heads={num_heads}: {grid[0]}×{grid[1]} keys"
        )
    if len(groups) == 1:
        axes[2].axis("off")
        axes[2].text(0.5, 0.5, "sr_ratio=1: one group,\nall keys", ha="center", va="center")
    cost_bars(
        axes[3],
        costs,
        SHUNTED_COLOURS,
        f"MMACs of one stage-1 layer (C=64, sr_ratio {sr_ratio}); + attention MB",
    )
    fig.tight_layout()
    return fig


def shunted_explorer():
    """ipywidgets explorer over (sr_ratio, heads, image size, query position) for shunted
    attention."""
    return attention_explorer(lambda **kw: draw_shunted_explorer(**kw), heads=[2, 4, 8])

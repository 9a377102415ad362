"""Answer checkers for the chapters' exercises.

Each ``check_...`` function prints one line that says whether the answer is right and,
if not, exactly what is wrong (a shape, a value, a missing term of a cost), and
returns ``True``/``False`` so a notebook can assert on it.
"""
from __future__ import annotations

import torch

from .cost import sra_cost


def _verdict(ok: bool, message: str) -> bool:
    print(("✅ correct: " if ok else "❌ not yet: ") + message)
    return ok


def _as_int(name: str, answer) -> int | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return int(value) if value == int(value) else None


# --- PVT ---------------------------------------------------------------------------

def check_kv_tokens(answer, H: int = 28, W: int = 28, sr_ratio: int = 4) -> bool:
    """How many key/value tokens does SRA keep on an ``H x W`` grid with ``sr_ratio``?"""
    right = (H // sr_ratio) * (W // sr_ratio)
    value = _as_int("answer", answer)
    if value is None:
        return _verdict(False, f"give a whole number of tokens, got {answer!r}")
    if value == right:
        return _verdict(True, f"{H}×{W} tokens shrink to {H // sr_ratio}×{W // sr_ratio} = {right} keys and values")
    if value == H * W // sr_ratio:
        return _verdict(False, f"{value} divides N by sr_ratio once; the conv shrinks both height and width, "
                               f"so N shrinks by sr_ratio² = {sr_ratio ** 2}")
    if value == H * W:
        return _verdict(False, f"{value} is N, the number of queries: the keys come from the reduced grid")
    if value == -(-H // sr_ratio) * -(-W // sr_ratio):
        return _verdict(False, "the strided conv has no padding: leftover rows and columns are dropped (floor)")
    return _verdict(False, f"{value} is not the number of reduced tokens; the reduced grid is "
                           f"floor(H/sr_ratio) × floor(W/sr_ratio)")


def check_sra_macs(answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 1, sr_ratio: int = 8) -> bool:
    """Multiply-adds of one SRA layer (all four linear maps, the reduction conv, both attention products)."""
    c = sra_cost(H, W, dim, num_heads, sr_ratio)
    value = _as_int("answer", answer)
    if value is None:
        return _verdict(False, f"give a whole number of multiply-adds, got {answer!r}")
    if value == c.macs:
        return _verdict(True, f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)")
    N, M, C, R = c.tokens, c.kv_tokens, dim, sr_ratio
    terms = {"q and proj (2·N·C²)": 2 * N * C * C, "the reduction conv (M·C²·R²)": M * C * C * R * R,
             "the kv projection (2·M·C²)": 2 * M * C * C, "q·kᵀ and attn·v (2·N·M·C)": 2 * N * M * C}
    for name, term in terms.items():
        if value == c.macs - term:
            return _verdict(False, f"{value:,} leaves out {name} = {term:,}")
    if value == c.macs - terms["q·kᵀ and attn·v (2·N·M·C)"] + 2 * N * N * C:
        return _verdict(False, "the attention products use M reduced keys, not all N tokens")
    if value == 2 * c.macs:
        return _verdict(False, "that counts 2 FLOPs per multiply-add; the papers count one")
    off = value / c.macs
    return _verdict(False, f"{value:,} is {off:.2f}× the right count; add up q, the conv, kv, both attention "
                           "products and proj")


def check_sra_forward(fn, configs=((56, 56, 64, 1, 8), (28, 28, 128, 2, 4), (14, 14, 320, 5, 2), (7, 7, 64, 2, 1),
                                   (30, 22, 64, 2, 4))) -> bool:
    """``fn(attn, x, H, W)`` must reproduce ``attn(x, H, W)`` from ``attn``'s weights for every config
    ``(H, W, dim, heads, sr_ratio)``. Reports the first config whose shape or values differ."""
    from .pvt import SpatialReductionAttention

    torch.manual_seed(0)
    for H, W, dim, heads, r in configs:
        attn = SpatialReductionAttention(dim, heads, qkv_bias=True, sr_ratio=r).eval()
        x = torch.randn(2, H * W, dim)
        with torch.no_grad():
            want = attn(x, H, W)
            try:
                got = fn(attn, x, H, W)
            except Exception as e:  # the student's code: report what broke and where
                return _verdict(False, f"H={H}, W={W}, dim={dim}, heads={heads}, sr_ratio={r}: "
                                       f"{type(e).__name__}: {e}")
        where = f"H={H}, W={W}, dim={dim}, heads={heads}, sr_ratio={r}"
        if not isinstance(got, torch.Tensor):
            return _verdict(False, f"{where}: return a tensor, got {type(got).__name__}")
        if got.shape != want.shape:
            return _verdict(False, f"{where}: shape {tuple(got.shape)}, expected {tuple(want.shape)} = (B, N, C)")
        err = (got - want).abs().max().item()
        if err > 1e-4:
            return _verdict(False, f"{where}: right shape, values differ by up to {err:.3g}; check the head split, "
                                   "the scale dim_head**-0.5, the norm after the conv and the order of k and v")
    return _verdict(True, f"matches SpatialReductionAttention on {len(configs)} configurations")

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


def _as_int(answer) -> int | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return int(value) if value == int(value) else None


def _parse_count(answer, unit: str) -> int | None:
    """The answer as a whole number, or None after telling the student that it must be one."""
    value = _as_int(answer)
    if value is None:
        _verdict(False, f"give a whole number of {unit}, got {answer!r}")
    return value


_TWO_FLOPS = "that counts 2 FLOPs per multiply-add; the papers count one"


def _diagnose_sum(value: int, total: int, terms: dict[str, int], mistakes: list[tuple[int, str]],
                  fallback: str) -> bool:
    """Say what a wrong count of a sum of ``terms`` got wrong: a term left out, then the first known
    mistake ``(wrong value, why)`` it equals, else ``fallback``."""
    for name, term in terms.items():
        if value == total - term:
            return _verdict(False, f"{value:,} leaves out {name} = {term:,}")
    for wrong, why in mistakes:
        if value == wrong:
            return _verdict(False, why)
    return _verdict(False, fallback)


# --- PVT ---------------------------------------------------------------------------

def check_kv_tokens(answer, H: int = 28, W: int = 28, sr_ratio: int = 4) -> bool:
    """How many key/value tokens does SRA keep on an ``H x W`` grid with ``sr_ratio``?"""
    right = (H // sr_ratio) * (W // sr_ratio)
    value = _parse_count(answer, "tokens")
    if value is None:
        return False
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
    value = _parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == c.macs:
        return _verdict(True, f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)")
    N, M, C, R = c.tokens, c.kv_tokens, dim, sr_ratio
    terms = {"q and proj (2·N·C²)": 2 * N * C * C, "the reduction conv (M·C²·R²)": M * C * C * R * R,
             "the kv projection (2·M·C²)": 2 * M * C * C, "q·kᵀ and attn·v (2·N·M·C)": 2 * N * M * C}
    mistakes = [(c.macs - 2 * N * M * C + 2 * N * N * C, "the attention products use M reduced keys, not all N tokens"),
                (2 * c.macs, _TWO_FLOPS)]
    return _diagnose_sum(value, c.macs, terms, mistakes,
                         f"{value:,} is {value / c.macs:.2f}× the right count; add up q, the conv, kv, both "
                         "attention products and proj")


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


# --- CoAtNet ------------------------------------------------------------------------

def check_rel_table_size(answer, H: int = 14, W: int = 14, num_heads: int = 12) -> bool:
    """How many learned scalars does one relative-attention layer's bias table hold?"""
    right = (2 * H - 1) * (2 * W - 1) * num_heads
    value = _parse_count(answer, "entries")
    if value is None:
        return False
    if value == right:
        return _verdict(True, f"(2·{H}−1)(2·{W}−1) = {(2 * H - 1) * (2 * W - 1)} offsets × {num_heads} heads "
                              f"= {right} scalars")
    if value == (2 * H - 1) * (2 * W - 1):
        return _verdict(False, f"{value} is the table of one head; each of the {num_heads} heads has its own")
    if value in ((H * W) ** 2 * num_heads, (H * W) ** 2):
        return _verdict(False, f"{value} is the size of the gathered bias (N×N per head); the table stores one "
                               "scalar per relative offset i − j, and many pairs share an offset")
    if value in ((2 * H + 1) * (2 * W + 1) * num_heads, 4 * H * W * num_heads):
        return _verdict(False, f"offsets along a side run from −({H}−1) to +({H}−1): that is 2·{H}−1 values")
    return _verdict(False, f"{value} is not it; count the possible offsets (Δy, Δx) on a {H}×{W} grid, per head")


def check_relative_index(fn, grids=((1, 1), (2, 3), (4, 4), (5, 2), (7, 7))) -> bool:
    """``fn(H, W)`` must return the ``(HW, HW)`` integer index of the offset ``i − j`` into a table of
    ``(2H−1)(2W−1)`` entries laid out row-major over (Δy + H − 1, Δx + W − 1)."""
    from .coatnet import relative_position_index

    for H, W in grids:
        want = relative_position_index(H, W)
        try:
            got = fn(H, W)
        except Exception as e:  # the student's code: report what broke and where
            return _verdict(False, f"H={H}, W={W}: {type(e).__name__}: {e}")
        if not isinstance(got, torch.Tensor):
            return _verdict(False, f"H={H}, W={W}: return a tensor, got {type(got).__name__}")
        if tuple(got.shape) != tuple(want.shape):
            return _verdict(False, f"H={H}, W={W}: shape {tuple(got.shape)}, expected (N, N) = {tuple(want.shape)}")
        if torch.equal(got.long(), want):
            continue
        if torch.equal(got.long(), want.t()):
            return _verdict(False, f"H={H}, W={W}: you computed j − i; the paper's bias is w_(i−j) (query minus key)")
        if got.min() < 0:
            return _verdict(False, f"H={H}, W={W}: negative entries; shift Δy by H − 1 and Δx by W − 1")
        return _verdict(False, f"H={H}, W={W}: {int((got.long() != want).sum())} entries differ; the index is "
                               "(Δy + H − 1)·(2W − 1) + (Δx + W − 1) with Δ = position of query i − position of key j")
    return _verdict(True, f"matches on {len(grids)} grids, including non-square ones")


def check_attention_macs(answer, H: int = 14, W: int = 14, dim: int = 384) -> bool:
    """Multiply-adds of the two attention products (``q kᵀ`` and ``attn v``) of one full relative-attention
    layer on an ``H x W`` grid with width ``dim`` (all heads together)."""
    N = H * W
    right = 2 * N * N * dim
    value = _parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == right:
        return _verdict(True, f"2·N²·C = 2·{N}²·{dim} = {right:,} ({right / 1e6:.1f} M): the heads split C, "
                              "so their number does not appear")
    if value == N * N * dim:
        return _verdict(False, f"{value:,} is one of the two products; add attn·v (the same size again)")
    if value == 2 * right:
        return _verdict(False, _TWO_FLOPS)
    if value == 2 * N * dim * dim:
        return _verdict(False, f"{value:,} has C² where the attention products have N²: q kᵀ is N×d by d×N per head")
    if value % right == 0:
        return _verdict(False, f"{value:,} is {value // right}× too many; did you multiply by the heads? Each head "
                               "works on d = C/heads channels, so heads·d = C")
    return _verdict(False, f"{value:,} is not it; q kᵀ costs N·N·C and attn·v another N·N·C")


# --- Shunted Transformer -------------------------------------------------------------

def check_shunted_kv_tokens(answer, H: int = 56, W: int = 56, sr_ratio: int = 8) -> bool:
    """How many keys does each head group of a shunted layer see? Answer ``(coarse, fine)``."""
    from .cost import shunted_kv_tokens

    right = shunted_kv_tokens(H, W, sr_ratio)
    if sr_ratio == 1:
        raise ValueError("sr_ratio=1 has a single head group; ask about an even sr_ratio > 1")
    try:
        got = tuple(_as_int(a) for a in answer)
    except TypeError:
        got = ()
    if len(got) != 2 or None in got:
        return _verdict(False, f"give two whole numbers, (coarse group, fine group), got {answer!r}")
    r, half = sr_ratio, sr_ratio // 2
    if got == right:
        return _verdict(True, f"the coarse group sees {H // r}×{W // r} = {right[0]} keys, the fine group "
                              f"{H // half}×{W // half} = {right[1]}: {right[0] + right[1]} keys in one layer")
    if got == right[::-1]:
        return _verdict(False, "swapped: the first group (sr1, kernel and stride sr_ratio) is the coarse one")
    if got[0] == right[0] and got[1] == right[0] * 2:
        return _verdict(False, f"the fine grid halves the stride on both sides, so it has 4× (not 2×) the keys "
                               f"of the coarse one: {right[1]}")
    if got[0] == right[0]:
        return _verdict(False, f"the coarse group is right; the fine group reduces by sr_ratio/2 = {half}: "
                               f"⌊{H}/{half}⌋×⌊{W}/{half}⌋")
    if got[1] == right[1]:
        return _verdict(False, f"the fine group is right; the coarse group reduces by sr_ratio = {r}: "
                               f"⌊{H}/{r}⌋×⌊{W}/{r}⌋")
    return _verdict(False, f"{got} is not it: group i sees ⌊H/r_i⌋×⌊W/r_i⌋ keys with r_1 = sr_ratio, "
                           "r_2 = sr_ratio/2")


def check_shunted_macs(answer, H: int = 56, W: int = 56, dim: int = 64, num_heads: int = 2,
                       sr_ratio: int = 8) -> bool:
    """Multiply-adds of one shunted layer: q, both reduction convs, kv1 and kv2, the two local
    convs, both groups' attention products and proj."""
    from .cost import shunted_cost, shunted_kv_tokens

    c = shunted_cost(H, W, dim, num_heads, sr_ratio)
    value = _parse_count(answer, "multiply-adds")
    if value is None:
        return False
    if value == c.macs:
        return _verdict(True, f"{c.macs:,} multiply-adds ({c.macs / 1e6:.1f} M)")
    if sr_ratio == 1:
        return _verdict(False, f"{value:,} is {value / c.macs:.2f}× the right count; with sr_ratio 1 add q, kv (2NC²), "
                               "both attention products (2N²C), the depthwise conv of V (9NC) and proj")
    N, C, r, M = c.tokens, dim, sr_ratio, c.kv_tokens
    M1, M2 = shunted_kv_tokens(H, W, sr_ratio)
    terms = {"q and proj (2·N·C²)": 2 * N * C * C,
             "the coarse reduction conv (M1·C²·r²)": M1 * C * C * r * r,
             "the fine reduction conv (M2·C²·(r/2)²)": M2 * C * C * (r // 2) ** 2,
             "kv1 and kv2 ((M1 + M2)·C²)": M * C * C,
             "the local-enhancement convs (9·(M1 + M2)·C/2)": 9 * M * (C // 2),
             "q·kᵀ and attn·v of both groups (N·(M1 + M2)·C)": N * M * C}
    mistakes = [(c.macs + N * M * C, "each group has only h/2 heads, C/2 channels: its two products cost "
                                     "N·M_i·C, not 2·N·M_i·C"),
                (c.macs + M * C * C, "kv1 and kv2 map C to C (K and V for half the heads each), not C to 2C"),
                (2 * c.macs, _TWO_FLOPS)]
    return _diagnose_sum(value, c.macs, terms, mistakes,
                         f"{value:,} is {value / c.macs:.2f}× the right count; add up q, both convs, kv1, kv2, "
                         "the local convs, both groups' attention products and proj")


def check_shunted_forward(fn, configs=((56, 56, 64, 2, 8), (28, 28, 128, 4, 4), (14, 14, 256, 8, 2),
                                       (7, 7, 64, 2, 1), (30, 22, 64, 2, 4))) -> bool:
    """``fn(attn, x, H, W)`` must reproduce ``attn(x, H, W)`` of a ``ShuntedAttention`` from its weights
    for every config ``(H, W, dim, heads, sr_ratio)``. Reports the first config that differs."""
    from .shunted import ShuntedAttention

    torch.manual_seed(0)
    for H, W, dim, heads, r in configs:
        attn = ShuntedAttention(dim, heads, qkv_bias=True, sr_ratio=r).eval()
        with torch.no_grad():
            for p in attn.parameters():  # non-trivial biases and norms, so no term can hide
                p.add_(0.05 * torch.randn_like(p))
        x = torch.randn(2, H * W, dim)
        where = f"H={H}, W={W}, dim={dim}, heads={heads}, sr_ratio={r}"
        with torch.no_grad():
            want = attn(x, H, W)
            try:
                got = fn(attn, x, H, W)
            except Exception as e:  # the student's code: report what broke and where
                return _verdict(False, f"{where}: {type(e).__name__}: {e}")
        if not isinstance(got, torch.Tensor):
            return _verdict(False, f"{where}: return a tensor, got {type(got).__name__}")
        if got.shape != want.shape:
            return _verdict(False, f"{where}: shape {tuple(got.shape)}, expected {tuple(want.shape)} = (B, N, C)")
        err = (got - want).abs().max().item()
        if err > 1e-4:
            hint = ("the local conv of V is added to the output, not to V" if r == 1 else
                    "check which heads go to which group, the norm and GELU after each conv, and that the "
                    "local conv of V is added to V on its reduced grid")
            return _verdict(False, f"{where}: right shape, values differ by up to {err:.3g}; {hint}")
    return _verdict(True, f"matches ShuntedAttention on {len(configs)} configurations")

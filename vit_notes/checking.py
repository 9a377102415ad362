"""The machinery of the chapters' exercise checkers (the checkers live in each chapter).

Each ``check_...`` function prints one line that says whether the answer is right and,
if not, exactly what is wrong (a shape, a value, a missing term of a cost), and
returns ``True``/``False`` so a notebook can assert on it. Any answer gets a message.
"""

from __future__ import annotations

import numbers
import textwrap
from collections.abc import Callable

import torch
from torch import nn

#: Printed lines wrap here, so that a checker's message fits the page without scrolling
#: (80, under the 90 of other output: its marks and symbols are wider than a letter).
LINE_WIDTH = 80


def verdict(ok: bool, message: str) -> bool:
    """Print the checker's message (wrapped at :data:`LINE_WIDTH`) and return ``ok``."""
    text = ("✅ correct: " if ok else "❌ not yet: ") + message
    print(textwrap.fill(text, LINE_WIDTH, subsequent_indent="   ", break_on_hyphens=False))
    return ok


def as_int(answer) -> int | None:
    """``answer`` as a whole number (``12``, ``12.0``, ``"12"``, a one-element tensor), else
    ``None`` (text, ``None``, ``True``, NaN, infinity, a fraction, a list)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Integral):
        return int(answer)  # exact, however large
    if isinstance(answer, str) and answer.strip().lstrip("+-").isdigit():
        return int(answer)
    try:
        value = float(answer)
    except (TypeError, ValueError, OverflowError):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value == int(value) else None


def parse_count(answer, unit: str) -> int | None:
    """The answer as a whole number, or None after telling the student that it must be one."""
    value = as_int(answer)
    if value is None:
        verdict(False, f"give a whole number of {unit}, got {answer!r}")
    return value


TWO_FLOPS = "that counts 2 FLOPs per multiply-add; the papers count one"


def diagnose_sum(
    value: int, total: int, terms: dict[str, int], mistakes: list[tuple[int, str]], fallback: str
) -> bool:
    """Say what a wrong count of a sum of ``terms`` got wrong: a term left out, then the first known
    mistake ``(wrong value, why)`` it equals, else ``fallback``."""
    for name, term in terms.items():
        if value == total - term:
            return verdict(False, f"{value:,} leaves out {name} = {term:,}")
    for wrong, why in mistakes:
        if value == wrong:
            return verdict(False, why)
    return verdict(False, fallback)


def check_forward(
    fn: Callable,
    build: Callable[[int, int, int], nn.Module],
    configs,
    name: str,
    hint: Callable[[int], str],
) -> bool:
    """``fn(attn, x, H, W)`` must reproduce ``attn(x, H, W)`` from ``attn``'s weights for every
    config ``(H, W, dim, heads, sr_ratio)``, ``attn = build(dim, heads, sr_ratio)``. Reports the
    first config whose result is not a tensor, has the wrong shape or wrong values
    (``hint(sr_ratio)`` says what to look at), or where ``fn`` raised."""
    torch.manual_seed(0)
    for H, W, dim, heads, r in configs:
        where = f"H={H}, W={W}, dim={dim}, heads={heads}, sr_ratio={r}"
        attn = build(dim, heads, r).eval()
        x = torch.randn(2, H * W, dim)
        with torch.no_grad():
            want = attn(x, H, W)
            try:
                got = fn(attn, x, H, W)
            except Exception as e:  # the student's code: report what broke and where
                return verdict(False, f"{where}: {type(e).__name__}: {e}")
        if not isinstance(got, torch.Tensor):
            return verdict(False, f"{where}: return a tensor, got {type(got).__name__}")
        if got.shape != want.shape:
            return verdict(
                False,
                f"{where}: shape {tuple(got.shape)}, expected {tuple(want.shape)} = (B, N, C)",
            )
        err = (got.float() - want).abs().max().item()
        if not err <= 1e-4:  # NaN fails too
            return verdict(
                False, f"{where}: right shape, values differ by up to {err:.3g}; {hint(r)}"
            )
    return verdict(True, f"matches {name} on {len(configs)} configurations")

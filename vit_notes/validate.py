"""Argument checks shared by every module: bad input gets a ``ValueError`` that names
the bad value and says what is allowed, instead of a shape error from deep inside torch."""

from __future__ import annotations

import numbers


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def heads_divide(dim: int, num_heads: int) -> int:
    """Check that ``num_heads`` splits ``dim`` evenly; return the head size."""
    positive_int("dim", dim)
    positive_int("num_heads", num_heads)
    if dim % num_heads:
        raise ValueError(
            f"dim={dim} is not divisible by num_heads={num_heads}; "
            f"choose num_heads from the divisors of {dim}: {divisors(dim)}"
        )
    return dim // num_heads


def tokens_match_grid(x, H: int, W: int, extra: int = 0) -> None:
    """Check that a ``(B, N, C)`` token tensor holds ``H * W`` (+ ``extra``) tokens."""
    if x.dim() != 3:
        raise ValueError(
            f"expected tokens of shape (B, N, C), got a tensor of shape {tuple(x.shape)}"
        )
    positive_int("H", H)
    positive_int("W", W)
    if x.shape[1] != H * W + extra:
        plus = f" + {extra} prefix token(s)" if extra else ""
        raise ValueError(
            f"x has N={x.shape[1]} tokens but H={H}, W={W} gives H*W{plus} = {H * W + extra}; "
            "pass the height and width of the token grid that x was flattened from"
        )


def one_of(name: str, value, allowed) -> None:
    """Raise unless ``value`` is one of ``allowed``, listing them. ``True`` and ``2.0`` equal
    ``1`` and ``2`` but are not integer choices; an unhashable value is simply not allowed."""
    try:
        ok = value in allowed
    except TypeError:
        ok = False
    if isinstance(value, (bool, float)) and not any(type(a) is type(value) for a in allowed):
        ok = False
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {sorted(allowed)}")


def same_length(num_stages: int, **sequences) -> None:
    """Check that every per-stage list has ``num_stages`` entries."""
    for name, seq in sequences.items():
        sequence(name, seq)
        if len(seq) != num_stages:
            raise ValueError(f"{name} has {len(seq)} entries but num_stages={num_stages}")


def sequence(name: str, value) -> None:
    """Check that ``value`` is a sequence (a per-stage list or tuple), not a single number."""
    if isinstance(value, str) or not hasattr(value, "__len__"):
        raise ValueError(
            f"{name} must be a list or tuple with one entry per stage, got {value!r} "
            f"({type(value).__name__})"
        )


def nonempty(x) -> None:
    """Check that a map ``(..., H, W)`` has at least one row and one column."""
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(
            f"expected a map of at least 1x1, got {x.shape[-2]}x{x.shape[-1]} "
            f"(a tensor of shape {tuple(x.shape)})"
        )


def image(x, channels: int | None = None) -> None:
    """Check that ``x`` is a batch of images ``(B, C, H, W)`` (with ``channels`` channels)."""
    want = "C" if channels is None else str(channels)
    if x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(
            f"expected images of shape (B, {want}, H, W), got a tensor of shape {tuple(x.shape)}"
        )


def divisors(n: int) -> list[int]:
    """The divisors of ``n``, to suggest a valid head count."""
    return [d for d in range(1, n + 1) if n % d == 0]

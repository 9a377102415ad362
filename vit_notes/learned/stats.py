"""Intervals over training seeds, for the study chapter's comparisons.

A model trained from a few seeds gives a few accuracies. :func:`mean_interval` is the 95%
Student-t interval of their mean. :func:`paired_difference` compares two models trained
from the same seeds: a seed fixes the training images and their order (:func:`.train.train`),
so the runs can be paired by seed, and the interval is the t-interval of the per-seed
differences. Pairing narrows it only where the runs from one seed move together.
:func:`unpaired_difference` ignores the seeds: Welch's interval of the difference of means.
With three seeds the t factor is large (4.30), so the intervals are wide: a difference they
hold zero in is "within noise", not "no difference". :func:`seeds_needed` estimates how many
seeds a difference would need, if the spread of a few seeds held (:func:`t_quantile` gives
Student's t beyond the table); :func:`share_resolved` how often that many seeds would
leave out zero if the runs scatter as assumed, and :func:`sd_range` how uncertain the spread
of a few seeds is. :func:`mcnemar` compares two models scored on the same test
images, image by image.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import ValuesView
from dataclasses import dataclass

import numpy as np
import torch

from .. import validate
from .models import MODELS  # the families (models.py does not import this module)

#: Student's t, 0.975 quantile, by degrees of freedom (1 to 10): a 95% two-sided interval.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571,
        6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}  # fmt: skip


#: The most runs an :class:`Interval` may count (the study has at most a few dozen).
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` runs with its 95% interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int

    def __post_init__(self):
        for name in ("mean", "low", "high"):
            value = validate.number(name, getattr(self, name))
            object.__setattr__(self, name, value)
        if self.low > self.high:
            raise ValueError(f"low={self.low!r} is above high={self.high!r}: give low <= high")
        if not self.low <= self.mean <= self.high:
            raise ValueError(
                f"mean={self.mean!r} is outside [low, high] = [{self.low!r}, {self.high!r}]: "
                "an interval holds its mean"
            )
        n = validate.positive_int("n", self.n, maximum=MAX_RUNS, why="the runs of a study")
        object.__setattr__(self, "n", n)

    @property
    def holds_zero(self) -> bool:
        """Whether 0 lies in the interval: a difference within noise."""
        return self.low <= 0.0 <= self.high

    def __str__(self) -> str:
        return f"{self.mean:+.1%} [{self.low:+.1%}, {self.high:+.1%}]"

    def points(self) -> str:
        """A difference of two accuracies in percentage points, with its interval's ends:
        ``"+2.0 [-1.5, +5.4] points"``."""
        ends = ", ".join(f"{100 * v:+.1f}" for v in (self.low, self.high))
        return f"{100 * self.mean:+.1f} [{ends}] points"


def mean_interval(values, count: int = 1) -> Interval:
    """The mean of ``values`` (two to eleven runs) and its 95% t-interval; with ``count`` above
    1, the interval Bonferroni-corrected over ``count`` differences (:func:`corrected_quantile`)."""
    count = _count(count)
    if isinstance(values, ValuesView):  # a dict's values, as the results file holds runs
        values = list(values)
    xs = [validate.number(f"values[{i}]", v)
          for i, v in enumerate(validate.nonempty_sequence("values", values))]  # fmt: skip
    n = len(xs)
    if not 2 <= n <= max(T975) + 1:
        raise ValueError(f"values: give 2 to {max(T975) + 1} runs, got {n}")
    try:
        mean = sum(xs) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        half = corrected_quantile(n - 1, count) * sd / math.sqrt(n)
        finite = math.isfinite(mean) and math.isfinite(half)  # an Interval holds no NaN
        out = Interval(mean=mean, low=mean - half, high=mean + half, n=n) if finite else None
    except OverflowError:
        out = None
    if out is None or not all(map(math.isfinite, (out.mean, out.low, out.high))):
        raise _overflows("values", xs)
    return out


def _overflows(name: str, xs) -> ValueError:
    return ValueError(
        f"{name}: {validate.shown(xs)} are too large in magnitude: their mean or spread "
        "overflows a float; rescale them (accuracies are at most 1)"
    )


def _runs(name: str, runs) -> dict:
    """``runs`` (seed -> accuracy) checked: a dict of finite numbers, returned as floats."""
    if not isinstance(runs, dict):
        raise validate.InputTypeError(
            f"{name}: a dict of seed -> accuracy, got {type(runs).__name__}"
        )
    return {s: validate.number(f"{name}[{validate.shown(s)}]", v) for s, v in runs.items()}


def paired_difference(runs_a: dict, runs_b: dict, count: int = 1) -> Interval:
    """``b`` minus ``a``, seed by seed, over the seeds both were trained from (``runs``: seed
    -> accuracy), with its 95% t-interval (``count``: Bonferroni-corrected over that many)."""
    runs_a, runs_b = _runs("runs_a", runs_a), _runs("runs_b", runs_b)
    seeds = sorted(set(runs_a) & set(runs_b), key=str)
    if len(seeds) < 2:
        raise ValueError(
            f"runs_a and runs_b share {len(seeds)} seed(s) ({seeds}); a paired interval needs 2"
        )
    return mean_interval([runs_b[s] - runs_a[s] for s in seeds], count)


def unpaired_difference(runs_a: dict, runs_b: dict, count: int = 1) -> Interval:
    """``b`` minus ``a`` as two independent samples (``runs``: seed -> accuracy, two or more
    each), the seeds ignored: the difference of the means with Welch's 95% t-interval, its
    degrees of freedom rounded down (a slightly wider interval); ``count``: Bonferroni-corrected
    over that many differences."""
    count = _count(count)
    try:
        out = _unpaired(runs_a, runs_b, count)
    except OverflowError:
        out = None
    if out is None or not all(map(math.isfinite, (out.mean, out.low, out.high))):
        raise _overflows("runs_a and runs_b", [runs_a, runs_b])
    return out


def _unpaired(runs_a: dict, runs_b: dict, count: int = 1) -> Interval | None:
    stats = []
    for name, runs in (("runs_a", runs_a), ("runs_b", runs_b)):
        xs = list(_runs(name, runs).values())
        if len(xs) < 2:
            raise ValueError(f"{name}: give 2 or more runs, got {len(xs)}")
        mean = sum(xs) / len(xs)
        var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
        stats.append((mean, var / len(xs), len(xs)))
    (mean_a, se2_a, n_a), (mean_b, se2_b, n_b) = stats
    se2 = se2_a + se2_b
    diff = mean_b - mean_a
    if not (math.isfinite(diff) and math.isfinite(se2)):
        return None  # too large for a float: the caller says so (an Interval holds no NaN)
    if se2 == 0:
        return Interval(mean=diff, low=diff, high=diff, n=n_a + n_b)
    df = se2**2 / (se2_a**2 / (n_a - 1) + se2_b**2 / (n_b - 1))
    half = corrected_quantile(max(1, math.floor(df)), count) * math.sqrt(se2)
    return Interval(mean=diff, low=diff - half, high=diff + half, n=n_a + n_b)


#: The error rate of one interval before correction: a 95% interval.
ALPHA = 0.05

#: The most differences a Bonferroni count may hold.
_MAX_COUNT = 10**6


def _count(count) -> int:
    return validate.positive_int("count", count, maximum=_MAX_COUNT, why="differences on a page")


def corrected_quantile(df: int, count: int = 1) -> float:
    """The t quantile of the study's verdicts: Student's t for ``df`` degrees of freedom at
    ``1 - ALPHA / (2 count)``, a two-sided interval Bonferroni-corrected over ``count``
    differences (``count=1``: the plain 95% interval). The chapter's verdicts, its checkers and
    its power and seed-count estimates all take their quantile from here."""
    count = _count(count)
    return t_quantile(df, 1 - ALPHA / (2 * count))


def n_differences(results: dict) -> int:
    """How many differences the study chapter gives verdicts on, its Bonferroni count, read
    from ``results`` (the study's results file): every pair of the PVT models trained from
    several seeds, paired by seed; each of them against pvt_full again unpaired; and every pair
    of pvt_full and the other families' models with several seeds, unpaired, on the whole test
    set and again at 3 px. The chapter and its checkers both read the count from here."""
    if not isinstance(results, dict) or not isinstance(results.get("models"), dict):
        raise validate.InputTypeError(
            "results: the study's results, a dict with a 'models' dict, got "
            f"{type(results).__name__}"
        )
    rows = results["models"]
    seeded = [
        n for n, r in rows.items()
        if n in MODELS and isinstance(r, dict) and len(r.get("seeds", {})) >= 2
    ]  # fmt: skip
    pvt = [n for n in seeded if MODELS[n].family == "PVT"]
    across = (["pvt_full"] if "pvt_full" in pvt else []) + [
        n for n in seeded if MODELS[n].family != "PVT"
    ]
    pairs = math.comb(len(pvt), 2) + max(0, len(pvt) - 1) + 2 * math.comb(len(across), 2)
    return max(1, pairs)


def corrected_difference(runs_a: dict, runs_b: dict, count: int, paired: bool) -> Interval:
    """``b`` minus ``a`` with the interval the study chapter's verdicts use: paired by seed
    (:func:`paired_difference`, within a family) or unpaired (:func:`unpaired_difference`,
    across families), Bonferroni-corrected over ``count`` differences (:func:`n_differences`).
    The page says "higher" or "lower" only where this interval leaves out zero."""
    count = _count(count)
    if paired:
        return paired_difference(runs_a, runs_b, count)
    return unpaired_difference(runs_a, runs_b, count)


def says(interval: Interval) -> str:
    """What the page's rule says of a difference's interval: "higher" where it lies above zero,
    "lower" where below, "cannot tell" where it holds zero."""
    if not isinstance(interval, Interval):
        raise validate.InputTypeError(f"interval: an Interval, got {type(interval).__name__}")
    return "higher" if interval.low > 0 else "lower" if interval.high < 0 else "cannot tell"


def t_quantile(df: int, p: float = 0.975) -> float:
    """Student's t quantile for ``df`` degrees of freedom: :data:`T975` where it has it; else
    the ``t`` whose upper tail ``0.5 I_x(df/2, 1/2)`` (``x = df / (df + t²)``, the regularised
    incomplete beta function by its continued fraction) is ``1 - p``, by bisection. The tail is
    computed as a tail, so that ``p`` close to 1 keeps its digits (``df=1, p=0.9999``: 3183.1).
    Above :data:`_BETA_DF` degrees of freedom, the Cornish-Fisher series about the normal
    quantile, whose next term is below 1e-9 there."""
    df = validate.positive_int("df", df, maximum=_MAX_DF, why="t is the normal far below that")
    p = validate.number("p", p, low=0.5, high=1.0, low_open=True, high_open=True)
    if p == 0.975 and df in T975:
        return T975[df]
    if df > _BETA_DF:
        z = _normal_quantile(p)
        return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    return _t_numeric(df, p)


#: The most degrees of freedom :func:`t_quantile` takes (a float's range holds far more).
_MAX_DF = 10**18
#: Above this many degrees of freedom :func:`t_quantile` uses the Cornish-Fisher series (the
#: continued fraction then takes about sqrt(df) terms).
_BETA_DF = 10**5


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz),
    converging for ``x < (a + 1) / (a + b + 2)``."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _t_tail(df: int, t: float) -> float:
    """``P(T > t)`` for ``t >= 0``: ``0.5 I_x(df/2, 1/2)`` with ``x = df / (df + t²)``."""
    if t <= 0:
        return 0.5
    a, b = df / 2, 0.5
    ratio = t * t / df
    log_x, log_y = -math.log1p(ratio), math.log(ratio) - math.log1p(ratio)
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    front = math.exp(a * log_x + b * log_y - log_beta)
    x = math.exp(log_x)
    if x < (a + 1) / (a + b + 2):
        return 0.5 * front * _beta_fraction(x, a, b) / a
    return 0.5 * (1.0 - front * _beta_fraction(-math.expm1(log_x), b, a) / b)


def _bisect_tail(tail, q: float) -> float:
    """The ``t >= 0`` where the decreasing ``tail`` falls to ``q``: double an upper bound
    until it is passed, then bisect to a relative width of 1e-13."""
    lo, hi = 0.0, 1.0
    while tail(hi) > q:
        lo, hi = hi, 2 * hi
    while hi - lo > 1e-13 * hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(mid) > q else (lo, mid)
    return (lo + hi) / 2


def _normal_quantile(p: float) -> float:
    """The standard normal quantile, from its upper tail ``erfc(z / sqrt 2) / 2``."""
    return _bisect_tail(lambda z: 0.5 * math.erfc(z / math.sqrt(2)), 1.0 - p)


def _t_numeric(df: int, p: float) -> float:
    return _bisect_tail(lambda t: _t_tail(df, t), 1.0 - p)


def seeds_needed(sd: float, difference: float, limit: int = 10_000, count: int = 1) -> int:
    """How many paired seeds it would take for the 95% t-interval of a mean difference, or
    with ``count`` above 1 the interval corrected over that many (:func:`corrected_quantile`),
    to leave out zero, if the per-seed differences kept standard deviation ``sd`` and mean
    ``difference``: the least n >= 2 with t(n - 1) * sd / sqrt(n) < |difference| (the left side
    falls as n grows, so a bisection finds it). A rough estimate: ``sd`` from a few seeds is
    itself uncertain, and more seeds would move the mean."""
    spread = validate.number("sd", sd, low=0.0, high=math.inf, high_open=True)
    d = abs(validate.number("difference", difference, low=-math.inf, high=math.inf,
                            low_open=True, high_open=True))  # fmt: skip
    if d == 0:
        raise ValueError("difference=0: no number of seeds resolves a zero difference")
    limit = validate.positive_int("limit", limit, minimum=2)
    count = _count(count)

    def resolves(n: int) -> bool:
        return corrected_quantile(n - 1, count) * spread / math.sqrt(n) < d

    if not resolves(limit):
        raise ValueError(f"sd={sd!r}, difference={difference!r}: more than limit={limit} seeds")
    lo, hi = 1, limit  # resolves(hi) holds; lo is below the least n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if mid >= 2 and resolves(mid) else (mid, hi)
    return hi


#: The most seeds :func:`share_resolved` simulates, and the most numbers it draws at once
#: (float64: 800 MB).
_MAX_SEEDS = 10_000
_MAX_DRAWS = 10**8


def share_resolved(
    difference: float, sd: float, n: int, draws: int = 200_000, seed: int = 0, count: int = 1
):
    """How often the 95% t-interval of ``n`` paired differences (corrected over ``count``,
    :func:`corrected_quantile`) leaves out zero, if each
    per-seed difference were drawn from N(``difference``, ``sd``²): the share of ``draws``
    simulated studies (seeded, so the same every call). :func:`seeds_needed` asks when the
    interval *would* leave out zero at exactly the assumed mean and spread; this asks how often
    it does when the runs scatter."""
    mu = validate.number("difference", difference, low=-math.inf, high=math.inf,
                         low_open=True, high_open=True)  # fmt: skip
    spread = validate.number("sd", sd, low=0.0, high=math.inf, low_open=True, high_open=True)
    n = validate.positive_int("n", n, minimum=2, maximum=_MAX_SEEDS, why="seeds_needed's limit")
    draws = validate.positive_int(
        "draws", draws, maximum=_MAX_DRAWS // n, why=f"draws x n at most {_MAX_DRAWS:,} numbers"
    )
    count = _count(count)
    gen = torch.Generator().manual_seed(validate.seed("seed", seed))
    x = mu + spread * torch.randn(draws, n, generator=gen, dtype=torch.float64)
    half = corrected_quantile(n - 1, count) * x.std(dim=1) / math.sqrt(n)
    return ((x.mean(dim=1).abs() > half).double().mean()).item()


def seeds_for_power(
    sd: float, difference: float, power: float = 0.8, draws: int = 20_000, count: int = 1
) -> int:
    """The least number of paired seeds at which the 95% t-interval (corrected over ``count``,
    :func:`corrected_quantile`) leaves out zero in at least
    ``power`` of simulated studies (:func:`share_resolved`, ``draws`` each), if each per-seed
    difference were drawn from N(``difference``, ``sd``²). :func:`seeds_needed` gives about a
    coin flip; this searches above it, doubling and then bisecting."""
    power = validate.number("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
    lo = seeds_needed(sd, difference, count=count)  # resolves at the mean: about half the time
    if sd == 0:  # no scatter: every study resolves at that count
        return lo

    def enough(n: int) -> bool:
        return share_resolved(difference, sd, n, draws=draws, count=count) >= power

    if enough(lo):
        return lo
    hi = 2 * lo
    while not enough(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def sd_range(df: int, level: float = 0.95) -> tuple[float, float]:
    """How far a standard deviation estimated with ``df`` degrees of freedom can be from the
    true one: the ``level`` interval of sigma / s, from the chi-square distribution,
    [sqrt(df / q_high), sqrt(df / q_low)] (quantiles by bisection on
    ``torch.special.gammainc``)."""
    df = validate.positive_int("df", df)
    level = validate.number("level", level, low=0.0, high=1.0, low_open=True, high_open=True)

    def tails(x: float) -> tuple[float, float]:
        half = torch.tensor([df / 2, x / 2], dtype=torch.float64)
        return (
            torch.special.gammainc(half[0], half[1]).item(),
            torch.special.gammaincc(half[0], half[1]).item(),
        )

    tail = (1 - level) / 2
    # each tail from its own side (the upper from gammaincc), so that a level close to 1 keeps
    # its digits; bisected on a log scale, so that a quantile far below 1 does too
    low = _log_bisect(lambda x: tails(x)[0] < tail)
    high = _log_bisect(lambda x: tails(x)[1] > tail)
    return math.sqrt(df / high), math.sqrt(df / low)


def _log_bisect(below) -> float:
    """The ``x > 0`` where the predicate ``below`` (true below ``x``, false above) changes:
    bracketed by doubling or halving from 1, then bisected on a log scale to a relative
    width of 1e-13."""
    lo, hi = 1.0, 1.0
    if below(1.0):
        while below(hi) and hi < 1e300:
            lo, hi = hi, 2 * hi
    else:
        while not below(lo) and lo > 1e-300:
            lo, hi = lo / 2, lo
    while hi - lo > 1e-13 * hi:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if below(mid) else (lo, mid)
    return math.sqrt(lo * hi)


@dataclass(frozen=True)
class Paired:
    """Two models scored on the same images: ``only_a`` images only model a gets right,
    ``only_b`` only model b; ``z`` = (only_b - only_a) / sqrt(only_a + only_b), McNemar's
    statistic with its sign; ``p`` the exact two-sided binomial p-value of the split."""

    only_a: int
    only_b: int
    z: float
    p: float


def mcnemar(right_a, right_b) -> Paired:
    """McNemar's paired comparison of two models on the same images: ``right_a`` and
    ``right_b``, one truth value per image (right or wrong), in the same order. Only the images
    on which they disagree count; under no difference each of them is equally likely to be
    either model's."""
    a, b = _truths("right_a", right_a), _truths("right_b", right_b)
    if len(a) != len(b) or not a:
        raise ValueError(
            f"right_a and right_b: one value per image, the same images; got {len(a)} and {len(b)}"
        )
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    n = only_a + only_b
    if n == 0:
        return Paired(only_a=0, only_b=0, z=0.0, p=1.0)
    return Paired(only_a=only_a, only_b=only_b, z=(only_b - only_a) / math.sqrt(n),
                  p=min(1.0, 2 * _binomial_half_tail(n, min(only_a, only_b))))  # fmt: skip


#: Up to this many disagreements :func:`mcnemar` sums the binomial terms exactly; above it,
#: the regularised incomplete beta function gives the tail in time that grows as sqrt(n).
_EXACT_SPLITS = 2000


def _binomial_half_tail(n: int, k: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, ``k <= n / 2``."""
    if n <= _EXACT_SPLITS:
        return sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    if 2 * k + 1 >= n:  # k is the middle (or next to it): the tail holds half or more
        return 0.5 if 2 * k + 1 == n else 0.5 + math.exp(
            math.lgamma(n + 1) - 2 * math.lgamma(k + 1) - n * math.log(2)) / 2  # fmt: skip
    # P(X <= k) = I_{1/2}(n - k, k + 1), whose continued fraction converges here (k + 1 < n - k)
    a, b = n - k, k + 1
    log_front = -(a + b) * math.log(2) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    return math.exp(log_front) * _beta_fraction(0.5, a, b) / a


def _truths(name: str, values) -> list[bool]:
    """One truth value per image: a list, tuple, NumPy array or tensor of bools (or 0 and 1)."""
    if isinstance(values, (torch.Tensor, np.ndarray)):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise validate.InputTypeError(
            f"{name} must be a list of truth values (True/False, one per image), got "
            f"{validate.shown(values)} ({type(values).__name__})"
        )
    out = []
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, numbers.Integral) and v in (0, 1)):
            out.append(bool(v))
        else:
            raise ValueError(
                f"{name}[{i}] must be True or False (or 1 or 0), got {validate.shown(v)} "
                f"({type(v).__name__})"
            )
    return out

"""Intervals over training seeds, for the study chapter's comparisons.

A model trained from a few seeds gives a few accuracies. :func:`mean_interval` is the 95%
Student-t interval of their mean. :func:`paired_difference` compares two models trained
from the same seeds: a seed fixes the training images and their order (:func:`.train.train`),
so the runs pair up, and the interval is the t-interval of the per-seed differences.
With three seeds the t factor is large (4.30), so the intervals are wide: a difference they
hold zero in is "within noise", not "no difference".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Student's t, 0.975 quantile, by degrees of freedom (1 to 10): a 95% two-sided interval.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571,
        6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}  # fmt: skip


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` runs with its 95% interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def holds_zero(self) -> bool:
        """Whether 0 lies in the interval: a difference within noise."""
        return self.low <= 0.0 <= self.high

    def __str__(self) -> str:
        return f"{self.mean:+.1%} [{self.low:+.1%}, {self.high:+.1%}]"


def mean_interval(values) -> Interval:
    """The mean of ``values`` (two to eleven runs) and its 95% t-interval."""
    xs = [float(v) for v in values]
    n = len(xs)
    if not 2 <= n <= max(T975) + 1:
        raise ValueError(f"values: give 2 to {max(T975) + 1} runs, got {n}")
    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = T975[n - 1] * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n)


def paired_difference(runs_a: dict, runs_b: dict) -> Interval:
    """``b`` minus ``a``, seed by seed, over the seeds both were trained from (``runs``: seed
    -> accuracy), with its 95% t-interval."""
    for name, runs in (("runs_a", runs_a), ("runs_b", runs_b)):
        if not isinstance(runs, dict):
            raise TypeError(f"{name}: a dict of seed -> accuracy, got {type(runs).__name__}")
    seeds = sorted(set(runs_a) & set(runs_b), key=str)
    if len(seeds) < 2:
        raise ValueError(
            f"runs_a and runs_b share {len(seeds)} seed(s) ({seeds}); a paired interval needs 2"
        )
    return mean_interval([runs_b[s] - runs_a[s] for s in seeds])

"""Checkers for the study chapter's exercises: they accept any answer and say what is wrong.

Where the right answer is a result of the study (a prediction, a design choice), the checker
reads it from the shipped results (:func:`.reproduce.load_results`), never from a number typed
here; the tests pass results of their own to reach every diagnosis.
"""

from __future__ import annotations

import math
import numbers

import torch

from .. import validate
from ..checking import StudentError, as_int, call_student, describe, verdict
from .data import SHAPES, num_classes
from .figures import query_token
from .models import STUDY, build
from .shipped import load_results
from .stats import paired_difference


def as_fraction(answer) -> float | None:
    """``answer`` as a fraction in [0, 1]: a number (``0.25``), a percentage (``25``, ``"25%"``)
    or a one-element tensor; ``None`` for anything else (text, NaN, a list, a huge number)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, str):
        text = answer.strip()
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%").strip())
        except ValueError:
            return None
        value = value / 100 if percent else value
    elif isinstance(answer, torch.Tensor) and answer.numel() == 1:
        value = float(answer)
    elif isinstance(answer, numbers.Real):
        try:
            value = float(answer)
        except OverflowError:
            return None
    else:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    if value > 1:
        value = value / 100 if value <= 100 else math.nan  # a percentage, or nonsense
    return None if math.isnan(value) else value


def check_chance_level(answer, task: str = "majority") -> bool:
    """What accuracy does a model that only guesses reach on ``task`` (in expectation)?"""
    value = as_fraction(answer)
    if value is None:
        return verdict(
            False,
            f"give a fraction such as 0.1 or a percentage such as '10%', got {describe(answer)}",
        )
    k = num_classes(task)
    right = 1 / k
    if math.isclose(value, right, abs_tol=0.005):
        return verdict(
            True,
            f"{right:.0%}: each label is drawn uniformly from {k} classes, so a guess is right "
            f"one time in {k} on average",
        )
    if task == "majority" and math.isclose(value, 1 / 2, abs_tol=0.005):
        return verdict(
            False, "50% is chance for the pairwise question (two classes, same or not); "
            f"here the label is one of the {len(SHAPES)} shapes",
        )  # fmt: skip
    if task == "majority" and math.isclose(value, 1 / 3, abs_tol=0.005):
        return verdict(
            False,
            "there are three marks, but the label is a shape, one of "
            f"{len(SHAPES)}; guessing a mark is not guessing a class",
        )
    if math.isclose(value, 1 - right, abs_tol=0.005):
        return verdict(False, f"{value:.0%} is how often a guess is wrong, not right")
    return verdict(
        False, f"{value:.1%} is not it: with k equally frequent classes, a guess is right 1/k of "
        "the time; count the classes of this task",
    )  # fmt: skip


_WORDS = {
    "lower": ("lower", "worse", "less", "below", "drops", "loses"),
    "same": ("same", "about the same", "within noise", "similar"),
    "higher": ("higher", "better", "more", "above", "gains"),
}

# Words that claim equality: a difference within noise does not show it. ("similar" claims
# less, and counts as "same".)
_EQUAL = ("equal", "no difference", "unchanged", "identical")


def _word(answer) -> str | None:
    if not isinstance(answer, str):
        return None
    text = answer.strip().lower()
    for word, synonyms in _WORDS.items():
        if text in synonyms:
            return word
    return None


def compare(results: dict, a: str, b: str) -> tuple[str, float, float]:
    """How model ``b`` scores against model ``a`` in ``results``: ``("lower" | "same" |
    "higher", difference, half-width)``. Where both were trained from several seeds, the
    difference is the mean of the per-seed differences (a seed fixes the training images, so
    the runs pair up) and the half-width that of its 95% t-interval (:mod:`.stats`); otherwise
    the difference is between the test-set means and the half-width is two standard deviations
    of ``a``'s test seeds. A difference whose interval holds zero counts as the same: within
    noise."""
    ra, rb = results["models"][a], results["models"][b]
    if "seeds" in ra and "seeds" in rb:
        d = paired_difference(ra["seeds"], rb["seeds"])
        diff, spread = d.mean, d.high - d.mean
    else:
        diff = rb["mean"] - ra["mean"]
        spread = 2 * torch.tensor(ra["accuracy"], dtype=torch.float64).std().item()
    return ("same" if abs(diff) <= spread else "higher" if diff > 0 else "lower"), diff, spread


def check_prediction(
    answer, model: str = "pvt_sra8", baseline: str = "pvt_full", results: dict | None = None
) -> bool:
    """Predict, then look: does ``model`` score ``"lower"``, the ``"same"`` or ``"higher"``
    than ``baseline`` on the study's test sets? "same" means within noise: the 95% interval of
    the difference holds zero."""
    validate.one_of("model", model, STUDY)
    validate.one_of("baseline", baseline, STUDY)
    if isinstance(answer, str) and answer.strip().lower() in _EQUAL:
        return verdict(
            False, f"{answer.strip()!r} claims equality, and an interval that holds zero does "
            "not show that: answer 'same' (within noise), 'lower' or 'higher'",
        )  # fmt: skip
    word = _word(answer)
    if word is None:
        return verdict(False, f"answer 'lower', 'same' or 'higher', got {describe(answer)}")
    results = load_results() if results is None else results
    truth, diff, spread = compare(results, baseline, model)
    a, b = STUDY[baseline].label, STUDY[model].label
    runs = "seeds" in results["models"][model] and "seeds" in results["models"][baseline]
    if runs:
        d = paired_difference(
            results["models"][baseline]["seeds"], results["models"][model]["seeds"]
        )
        numbers_ = (
            f"over training runs from {d.n} seeds, {b} scores {100 * d.mean:+.1f} points "
            f"against {a}, and the 95% interval runs from {100 * d.low:+.1f} to "
            f"{100 * d.high:+.1f} points"
        )
    else:
        numbers_ = (
            f"over test sets, {b} scores {100 * diff:+.1f} points against {a}, and two "
            f"standard deviations of {a}'s test sets are {100 * spread:.1f} points"
        )
    if truth == "same":
        numbers_ += ": within noise"
    if word == truth:
        return verdict(True, f"{truth}: {numbers_}")
    return verdict(
        False, f"the study says {truth!r}: {numbers_}. Where did your intuition come from?"
    )


def check_query_token(fn) -> bool:
    """``fn(corner, detail)`` must give the flat index of the stage-1 token (8×8 grid, 4 px per
    token, row by row) that holds a mark's centre pixel ``corner + (detail - 1) // 2``."""

    if not callable(fn):
        return verdict(False, f"give a function fn(corner, detail), got {describe(fn)}")
    cases = [((0, 0), 3), ((5, 20), 3), ((12, 2), 9), ((23, 23), 9), ((2, 27), 4), ((17, 9), 6)]
    for corner, detail in cases:
        want = query_token(corner, detail)
        where = f"corner={corner}, detail={detail}"
        try:
            got = call_student(fn, corner, detail)
        except StudentError as e:
            return verdict(False, f"{where}: {e}")
        if isinstance(got, (tuple, list)) and len(got) == 2:
            pair = ", ".join(describe(v) for v in got)
            return verdict(
                False, f"{where}: you returned (row, col) = ({pair}); flatten it, row * 8 + col"
            )
        value = as_int(got)
        if value is None:
            return verdict(
                False, f"{where}: return a whole number (a token index), got {describe(got)}"
            )
        if value == want:
            continue
        r, c = (v + (detail - 1) // 2 for v in corner)
        if value == (c // 4) * 8 + r // 4:
            return verdict(False, f"{where}: {value} swaps row and column: index = row * 8 + col")
        if value == (corner[0] // 4) * 8 + corner[1] // 4:
            return verdict(
                False, f"{where}: {value} is the token of the mark's top-left corner; use its "
                "centre pixel, corner + (detail - 1) // 2",
            )  # fmt: skip
        if value == r * 32 + c:
            return verdict(False, f"{where}: {value} indexes pixels; a token is 4×4 pixels")
        return verdict(False, f"{where}: expected token {want}, got {describe(value)}")
    return verdict(True, f"right on {len(cases)} marks, at the edges of the image too")


def check_test_size(answer, n: int = 2000) -> bool:
    """How many test images per seed would halve the spread of the accuracy over seeds, measured
    with ``n`` images per seed?"""
    n = validate.positive_int("n", n)
    value = as_int(answer)
    if value is None:
        return verdict(False, f"give a whole number of images, got {describe(answer)}")
    if abs(value) >= 10**24:
        return verdict(False, f"{describe(value)} is far too many images: solve for n")
    if value == 4 * n:
        return verdict(
            True, f"{4 * n:,}: the spread of a mean of n right-or-wrong answers shrinks like "
            "1/sqrt(n), so halving it takes four times the images",
        )  # fmt: skip
    if value == 2 * n:
        return verdict(
            False, f"{value:,} doubles the images, which shrinks the spread by sqrt(2), not 2"
        )
    if value == n // 2:
        return verdict(False, f"{value:,} is fewer images: the spread grows as n shrinks")
    if value == n * n:
        return verdict(
            False, f"{value:,} = n² would halve a spread that shrinks like 1/log(n); it shrinks "
            "like 1/sqrt(n), so multiply n by 2² = 4",
        )  # fmt: skip
    return verdict(
        False, f"{value:,} is not it: the spread of an accuracy over n images is about "
        "sqrt(p(1-p)/n); solve for the n that halves it",
    )  # fmt: skip


def _runs(row: dict, detail: int | None) -> dict:
    """A model's training runs, seed -> accuracy: on the whole test set, or at ``detail`` px."""
    if detail is None:
        return {s: float(v) for s, v in row.get("seeds", {}).items()}
    return {s: float(v[str(detail)]) for s, v in row.get("seeds_by_detail", {}).items()}


def _sd(runs: dict) -> float:
    mean = sum(runs.values()) / len(runs)
    return math.sqrt(sum((v - mean) ** 2 for v in runs.values()) / (len(runs) - 1))


def run_spread(results: dict, detail: int | None = None) -> float:
    """The largest standard deviation between training runs of one model in ``results``: over
    the models trained from two or more seeds (``"seeds"``: seed -> accuracy on the whole test
    set), 0 where none was. With ``detail``, the same at that mark size, over the models whose
    runs were scored there (``"seeds_by_detail"``)."""
    if detail is not None:
        detail = validate.positive_int("detail", detail)
    sds = [_sd(r) for r in (_runs(row, detail) for row in results["models"].values()) if len(r) > 1]
    return max(sds, default=0.0)


def check_choice(
    answer, budget_mmacs: float | None = None, detail: int = 3, results: dict | None = None
) -> bool:
    """Design judgement: which of the study's models would you ship to recognise marks of
    ``detail`` px, spending at most ``budget_mmacs`` multiply-adds per image (default: what
    PVT with full attention costs)? Answer a model's name (:data:`.models.STUDY`).

    Right: any model within budget that the study does not rank below another model within
    budget at ``detail`` px. A ranking needs both models' training runs from the same seeds
    scored at ``detail`` px (``"seeds_by_detail"``) and a paired 95% interval of the
    difference (:func:`.stats.paired_difference`) that leaves out zero. Where a model is one
    run at ``detail`` px, the message gives its gap to the nearest rival (the best within
    budget, or for the best the next), and the standard deviation between runs below which
    the gap would be two standard deviations of a difference of two runs, beside the largest
    such spread measured at ``detail`` px (:func:`run_spread`). It names every model accepted."""
    detail = validate.positive_int("detail", detail)
    if budget_mmacs is not None:
        validate.number("budget_mmacs", budget_mmacs, low=0.0, low_open=True)
    names = [n for n in STUDY]
    if not isinstance(answer, str) or answer.strip() not in names:
        return verdict(False, f"answer one of the study's models, {names}, got {describe(answer)}")
    results = load_results() if results is None else results
    rows = {n: results["models"][n] for n in names if n in results["models"]}
    budget = rows["pvt_full"]["macs"] / 1e6 if budget_mmacs is None else budget_mmacs
    name = answer.strip()
    if rows[name]["macs"] / 1e6 > budget:
        return verdict(
            False, f"{name} costs {rows[name]['macs']:,.0f} multiply-adds per image, over the "
            f"budget of {budget * 1e6:,.0f}",
        )  # fmt: skip
    affordable = {n: r for n, r in rows.items() if r["macs"] / 1e6 <= budget}
    at = {n: r["by_detail"][str(detail)] for n, r in affordable.items()}

    def beaten_by(m: str) -> dict:  # the models within budget that rank above m, paired
        out = {}
        for o in affordable:
            a, b = _runs(affordable[o], detail), _runs(affordable[m], detail)
            if o != m and len(set(a) & set(b)) > 1:
                d = paired_difference(a, b)  # m minus o, seed by seed
                if d.high < 0:
                    out[o] = d
        return out

    accepted = [m for m in affordable if not beaten_by(m)]
    fits = "Every model within budget that the study does not rank lower passes: "
    fits += ", ".join(accepted)
    above = beaten_by(name)
    if above:
        o, d = next(iter(above.items()))
        return verdict(
            False, f"{name} is within budget, but at {detail} px, over runs from {d.n} seeds, "
            f"it scores {d.points()} against {o}: the interval leaves out zero. {fits}",
        )  # fmt: skip
    mine = at[name]
    head = (
        f"{name}: {rows[name]['macs']:,.0f} multiply-adds, within the budget of "
        f"{budget * 1e6:,.0f}, and {mine:.1%} at {detail} px"
    )
    order = sorted(at, key=at.get, reverse=True)
    rival = order[0] if order[0] != name else (order[1] if len(order) > 1 else None)
    if rival is None:
        return verdict(True, f"{head}. It is the only model within budget")
    gap = abs(at[rival] - mine)
    pair = [m for m in (name, rival) if len(_runs(affordable[m], detail)) < 2]
    if not pair:  # both scored from several seeds there, and no ranking: within noise
        d = paired_difference(_runs(affordable[rival], detail), _runs(affordable[name], detail))
        return verdict(
            True, f"{head}. Against {rival}, over runs from {d.n} seeds: {d.points()}, within "
            f"noise. {fits}",
        )  # fmt: skip
    side = "above" if mine >= at[rival] else "below"
    flip = gap / (2 * math.sqrt(2))  # one run's sd at which the gap is two sd of a difference
    measured = {
        m: _sd(r)
        for m, r in ((m, _runs(row, detail)) for m, row in results["models"].items())
        if len(r) > 1
    }
    if measured:
        widest = max(measured, key=measured.get)
        known = (
            f"The largest measured there, between runs of {widest}, is "
            f"{100 * measured[widest]:.1f} points"
        )
    else:
        known = f"No model's runs were scored at {detail} px"
    return verdict(
        True, f"{head} in one training run, {100 * gap:.1f} points {side} {rival} "
        f"({at[rival]:.1%}). No second run of {' or '.join(pair)} was scored at {detail} px, so "
        f"the study has no interval for that gap and cannot rank them. The gap exceeds two "
        f"standard deviations of a difference of two runs only while one run's standard "
        f"deviation at {detail} px is under {100 * flip:.1f} points. {known}. {fits}",
    )  # fmt: skip


#: The operations the multiply-add counter counts (:func:`vit_notes.counting.count_macs`):
#: matrix products and convolutions. Everything else a forward pass runs, it leaves out.
_COUNTED = ("mm", "bmm", "addmm", "baddbmm", "convolution", "_convolution")


@torch.no_grad()
def uncounted_values(name: str, size: int = 32) -> int:
    """How many values the operations that the multiply-add counter leaves out (norms,
    activations, pooling, additions, the softmax) touch in one forward pass of the study's
    model ``name`` on one ``size``² image: per operation, its largest input or output, and for
    fused attention, its attention map's entries. Views cost nothing and are skipped."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    validate.one_of("name", name, list(STUDY))
    size = validate.positive_int("size", size)
    counted = {getattr(torch.ops.aten, op) for op in _COUNTED}

    class Tally(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func.is_view or func.overloadpacket in counted:
                return out
            flat = tree_flatten((args, kwargs, out))[0]
            sizes = [t.numel() for t in flat if isinstance(t, torch.Tensor)]
            if "scaled_dot_product" in str(func.overloadpacket):  # the softmax's map
                q, k = args[0], args[1]
                sizes.append(q.numel() // q.shape[-1] * k.shape[-2])
            Tally.total += max(sizes, default=0)
            return out

    model = build(name).eval()
    with Tally():
        model(torch.zeros(1, 3, size, size))
    return Tally.total

"""Checkers for the study chapter's exercises: they accept any answer and say what is wrong.

Where the right answer is a result of the study (a prediction, a design choice), the checker
reads it from the shipped results (:func:`.reproduce.load_results`), never from a number typed
here; the tests pass results of their own to reach every diagnosis.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re

import torch

from .. import validate
from ..checking import (
    StudentError,
    _bounded,
    _exact_str,
    _scalar,
    answers_any,
    as_int,
    call_student,
    describe,
    option_named,
    verdict,
)
from .data import SHAPES, num_classes
from .figures import query_token
from .models import MODELS, STUDY
from .shipped import check_results, load_results
from .stats import corrected_difference, n_differences, says

#: A fraction typed as text: ``"1/4"``, ``"1 / 4"``, ``"1 in 4"``, ``"1 out of 4"``.
_RATIO = re.compile(r"(\d+(?:\.\d+)?)\s*(?:/|in|out of)\s*(\d+(?:\.\d+)?)")


def _real(answer) -> float | None:
    """A real-number answer as a float, its own ``__float__`` run under the checkers' timer;
    ``None`` for anything else, an overflow or a method that raises or hangs."""
    if not isinstance(answer, numbers.Real):
        return None
    try:
        return _bounded(float, answer, None)
    except OverflowError:
        return None


def as_fraction(answer) -> float | None:
    """``answer`` as a fraction in [0, 1]: a number (``0.25``, ``Fraction(1, 4)``), a fraction
    as text (``"1/4"``, ``"1 in 4"``), a percentage with its sign (``"25%"``) or a one-element
    tensor; ``None`` for anything else: other text, NaN, a list, or a number above 1 without a
    percent sign (``25`` is not a fraction, and :func:`check_chance_level` says how to write
    25%)."""
    answer = _scalar(answer)  # a one-element tensor or array as its number
    if isinstance(answer, bool):
        return None
    if isinstance(answer, str):
        text = answer.strip()
        ratio = _RATIO.fullmatch(text.lower())
        if ratio:  # "1/4", "1 in 4", "one in four" is not read: digits only
            top, bottom = float(ratio.group(1)), float(ratio.group(2))
            return top / bottom if bottom > 0 and top <= bottom else None
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%").strip())
        except ValueError:
            return None
        value = value / 100 if percent else value
    else:
        value = _real(answer)
        if value is None:
            return None
    if not math.isfinite(value) or value < 0 or value > 1:
        return None  # a bare 25 is not read as 25%: the reader writes "25%"
    return value


def _bare_over_one(answer) -> float | None:
    """The number ``answer`` gives where it is a plain number above 1 with no percent sign
    (``25``, ``"25"``, ``torch.tensor(25.)``): not a fraction, and perhaps a percentage
    written without its sign. ``None`` for anything else."""
    answer = _scalar(answer)
    if isinstance(answer, bool):
        return None
    if isinstance(answer, str):
        text = answer.strip()
        if text.endswith("%") or _RATIO.fullmatch(text.lower()):
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    else:
        value = _real(answer)
        if value is None:
            return None
    return value if math.isfinite(value) and value > 1 else None


@answers_any
def check_chance_level(answer, task: str = "majority") -> bool:
    """What accuracy does a model that only guesses reach on ``task`` (in expectation)?"""
    value = as_fraction(answer)
    if value is None:
        over = _bare_over_one(answer)
        if over is not None and over <= 100:  # perhaps a percentage without its sign
            return verdict(
                False,
                f"a fraction must lie in [0, 1], got {describe(answer)}. For a percentage, "
                f"write it as text with its sign: '{over:g}%'",
            )
        if over is not None:
            return verdict(
                False,
                f"a fraction must lie in [0, 1], and a percentage is at most '100%', got "
                f"{describe(answer)}",
            )
        return verdict(
            False,
            "give a fraction such as 0.1 or '1/10', or a percentage such as '10%', got "
            f"{describe(answer)}",
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
    # the answer as the reader gave it, to its own digits: "0.25%" is quoted as 0.25%, not 0.2%
    return verdict(
        False, f"{100 * value:g}% is not it: with k equally frequent classes, a guess is right "
        "1/k of the time; count the classes of this task",
    )  # fmt: skip


_WORDS = {
    "lower": ("lower", "worse", "less", "below", "drops", "loses", "it scores lower"),
    "same": ("within noise", "within the noise", "same within noise", "the same within noise",
             "no detectable difference", "not detectably different", "indistinguishable"),
    "higher": ("higher", "better", "more", "above", "gains", "it scores higher"),
}  # fmt: skip


def _plain(answer: str) -> str:
    """``answer`` lower-cased, its quotes and end punctuation and a leading "the" dropped,
    runs of spaces and brackets read as one space: "The same." and "same (within noise)"
    read as "same" and "same within noise"."""
    text = _exact_str(answer).strip().lower().replace("’", "'").strip("'\"`.!? ")
    text = re.sub(r"[\s()\[\],;:]+", " ", text).strip()
    return text[4:] if text.startswith("the ") else text


# Words that say the two score alike: a difference within noise does not show that, so they
# are refused, "same" as much as "equal". "Within noise" and "no detectable difference" say
# what the interval shows, and read as "cannot tell".
_EQUAL = ("same", "about the same", "roughly the same", "it scores the same", "similar",
          "equal", "equally", "equally well", "no difference", "not different", "unchanged",
          "identical")  # fmt: skip

#: Where an answer's first clause ends: a bracket, a comma, a colon, a semicolon, a dash
#: between spaces or the word "because" ("cannot tell (within noise)", "lower, because ...",
#: "cannot tell - why", "cannot tell because there is one run").
_CLAUSE = re.compile(r"\s*[(\[,;:]|\s[-–—]+\s|\s+because\b", re.IGNORECASE)

#: Words that give a direction: a first clause that names one direction and a rest that names
#: the other, or that says the study cannot tell, names two options.
_DIRECTION = {"higher": ("higher", "better", "above"), "lower": ("lower", "worse", "below")}


def _read(answer, read) -> str | None:
    """The option ``read(plain text)`` finds in ``answer``: in the whole answer, else in its
    first clause, where the rest is a reason ("cannot tell (within noise)"); ``None`` where
    neither names one, or where the rest names another direction ("higher, or lower")."""
    if not isinstance(answer, str):
        return None
    answer = _exact_str(answer)
    whole = read(_plain(answer))
    if whole is not None:
        return whole
    cut = _CLAUSE.search(answer.strip())
    if cut is None or cut.start() == 0:
        return None
    first = read(_plain(answer.strip()[: cut.start()]))
    rest = set(re.findall(r"[a-z']+", answer.strip()[cut.start() :].lower()))
    if first in _UNORDERED and _unordered_clash(answer.strip()[cut.start() :]):
        return None
    if first in _DIRECTION:
        other = {w for d, ws in _DIRECTION.items() if d != first for w in ws}
        if rest & (other | {"tell", "same", "noise"}):
            return None
    return first


#: First clauses that say the study cannot order the two ("cannot tell", "within noise").
_UNORDERED = ("cannot tell", "same")

#: Phrases that say an interval leaves zero out: a reason that contradicts "cannot tell".
_EXCLUDES_ZERO = (
    "leaves out zero", "leaves out 0", "leaves zero out", "leaves 0 out", "excludes zero",
    "excludes 0", "does not hold zero", "doesn't hold zero", "does not include zero",
    "doesn't include zero", "does not contain zero", "doesn't contain zero", "misses zero",
    "clear of zero", "above zero", "below zero", "above 0", "below 0",
)  # fmt: skip

#: Words that negate a reason's direction ("cannot tell (neither is higher)").
_NEGATIONS = {"not", "no", "neither", "nor", "isn't", "doesn't", "nothing", "never"}


#: Words of a reason that count runs or seeds ("4 of 5 seeds higher"): such a reason reports
#: what the runs did, which a "cannot tell" may do, not a verdict of the study.
_RUN_WORDS = {"seed", "seeds", "run", "runs"}


#: Words of a reason that describe the mean ("higher on average", "the mean is higher"): a
#: mean inside an interval that holds zero is a fact about the runs, not a verdict; so is a
#: reason that says the difference is within noise.
_MEAN_WORDS = {"average", "mean", "means", "averages"}


def _counts_runs(reason: str, words: set) -> bool:
    """Whether ``reason`` counts runs ("4 of 5 seeds higher", "higher in 4 runs")."""
    return bool(words & _RUN_WORDS) or re.search(r"\d+\s+(?:of|out of)\s+\d+", reason) is not None


#: Nouns of a cost or a count: a direction word beside one ("a lower cost", "the cost is
#: lower", "fewer keys") describes that cost, not how the two models score.
_COST_NOUNS = (
    r"costs?|compute|multiply[- ]adds?|macs|flops|memory|time|times|latency|parameters?|"
    r"params|keys?|price|bytes"
)

#: A direction word before a cost noun, at most one word apart ("a lower attention cost"),
#: or after one ("the cost is lower").
_COST_PHRASE = re.compile(
    rf"\b(?:higher|lower|better|worse|above|below)\s+(?:[a-z'-]+\s+)?(?:{_COST_NOUNS})\b"
    rf"|\b(?:{_COST_NOUNS})\s+(?:is\s+|are\s+|was\s+|were\s+)?(?:higher|lower|better|worse)\b"
)


def _unordered_clash(reason: str) -> tuple[str, str] | str | None:
    """What the reason of a "cannot tell" says that contradicts it: ``"zero"`` where it says
    the interval leaves zero out; ``(word, direction)`` where it names one direction and only
    one without negating it, ``word`` as the reason spells it ("worse") and ``direction`` the
    option it says ("lower"); else ``None``. "cannot tell (higher or lower)" names both and
    passes. A direction that describes a cost or a count ("one key, but a lower cost") is no
    verdict on the scores, and neither is a count of runs ("4 of 5 seeds higher")."""
    text = f" {_plain(reason)} "
    if any(f" {p} " in text for p in _EXCLUDES_ZERO):
        return "zero"
    lowered = reason.lower().replace("’", "'")
    words = set(re.findall(r"[a-z']+", lowered))
    if _counts_runs(reason, words):  # "4 of 5 seeds higher": a fact about runs, no verdict
        return None
    if words & _MEAN_WORDS or _says_noise(reason):  # "higher on average, within noise"
        return None
    scored = set(re.findall(r"[a-z']+", _COST_PHRASE.sub(" ", lowered)))
    named = [(d, sorted(scored & set(ws))) for d, ws in _DIRECTION.items() if scored & set(ws)]
    if len(named) == 1 and not words & _NEGATIONS:
        direction, spelt = named[0]
        return spelt[0], direction
    return None


def _equality(answer) -> str | None:
    """The words of ``answer`` that say the two models score alike (:data:`_EQUAL`), in the
    whole answer or its first clause; ``None`` if it says no such thing."""
    if not isinstance(answer, str) or _says_noise(answer):  # "same (within noise)" says why
        return None
    text = _exact_str(answer).strip()
    cut = _CLAUSE.search(text)
    for part in (text, text[: cut.start()] if cut and cut.start() else ""):
        if part and _plain(part) in _EQUAL:
            return part.strip()
    return None


def _alike_without_interval(model: str, baseline: str, a: dict, b: dict, where: str) -> str:
    """The message for an answer that says the two score alike ("same", "equal") where their
    runs ``a`` and ``b`` (seed -> accuracy) share fewer than two seeds: no interval exists, so
    the message names none."""
    single = [n for n, r in ((model, a), (baseline, b)) if len(r) < 2]
    if len(single) == 1:
        scored = f"{single[0]} was scored {where} in one run"
    elif single:
        scored = f"each was scored {where} in one run"
    else:
        scored = f"their runs {where} share fewer than two training seeds"
    return (
        f"no interval over training runs exists here ({scored}), so the study cannot show "
        "them alike or apart: answer 'cannot tell'"
    )


#: Phrases that claim the difference lies within noise. Other uses of "noise" ("no noise
#: estimate", "the noise is unmeasured") do not claim that, and are not refused for it.
_NOISE_CLAIMS = (
    "within noise", "within the noise", "in the noise", "inside the noise",
    "no detectable difference", "not detectably different", "indistinguishable",
)  # fmt: skip


def _says_noise(answer) -> bool:
    """Whether ``answer`` claims the difference lies within noise (:data:`_NOISE_CLAIMS`)."""
    text = _plain(answer) if isinstance(answer, str) else ""
    return any(w in text for w in _NOISE_CLAIMS)


def _equal_message(answer, options: str) -> str:
    return (
        f"{_equality(answer)!r} says the two score alike, and an interval that holds zero does "
        f"not show that. If you mean that the study cannot tell them apart, answer "
        f"'cannot tell'; the options are {options}"
    )


def _word(plain: str) -> str | None:
    for word, synonyms in _WORDS.items():
        if plain in synonyms or f"the {plain}" in synonyms:
            return word
    return "cannot tell" if _judgement_plain(plain) == "cannot tell" else None


def compare(results: dict, a: str, b: str) -> tuple[str, float, float]:
    """How model ``b`` scores against model ``a`` in ``results``: ``("lower" | "same" |
    "higher", difference, half-width)``. Where both were trained from several seeds, the
    difference is the mean of the per-seed differences (a seed fixes the training images, and
    the runs are paired by seed) and the half-width that of its t-interval corrected over the
    page's count of differences (:func:`.stats.corrected_difference`); otherwise the
    difference is between the test-set means and the half-width
    is two standard deviations of ``a``'s test seeds. A difference whose interval holds zero
    counts as the same: within noise."""
    check_results(results)
    for name, model in (("a", a), ("b", b)):
        validate.one_of(name, model, results["models"])
    ra, rb = results["models"][a], results["models"][b]
    if "seeds" in ra and "seeds" in rb:
        d = corrected_difference(ra["seeds"], rb["seeds"], n_differences(results), paired=True)
        diff, spread = d.mean, d.high - d.mean
    else:
        diff = rb["mean"] - ra["mean"]
        spread = 2 * torch.tensor(ra["accuracy"], dtype=torch.float64).std().item()
    return ("same" if abs(diff) <= spread else "higher" if diff > 0 else "lower"), diff, spread


@answers_any
def check_prediction(
    answer, model: str = "pvt_sra8", baseline: str = "pvt_full", results: dict | None = None
) -> bool:
    """Predict, then look: does ``model`` score ``"lower"`` or ``"higher"`` than ``baseline``
    on the study's test sets, or can the study ``"cannot tell"``? The answers are those of
    :func:`check_higher`: "cannot tell" where the interval of the difference over training
    runs, paired by seed and corrected over the page's count of differences, holds zero
    ("within noise" reads as it there), and where either model
    has runs from fewer than two of the same seeds, so that there is no such interval (a
    test-set error bar says nothing about a second training run; "within noise" is then
    refused, as there is no noise estimate to be within). Words that say the two score alike
    ("same", "equal") are refused: where there is no interval, because none exists, and
    otherwise because an interval that holds zero does not show that. An option
    followed by a reason reads as the option: "cannot tell (within noise)"."""
    validate.one_of("model", model, STUDY)
    validate.one_of("baseline", baseline, STUDY)
    options = "'lower', 'higher' or 'cannot tell'"
    if _says_no(answer):
        return verdict(False, _NO)
    results = load_results() if results is None else check_results(results)
    a_runs, b_runs = _runs(results, model, None), _runs(results, baseline, None)
    paired = len(set(a_runs) & set(b_runs)) >= 2
    if _equality(answer) and not paired:  # no interval: say so, do not name one
        where = "on the whole test set"
        return verdict(False, _alike_without_interval(model, baseline, a_runs, b_runs, where))
    if _equality(answer):
        return verdict(False, _equal_message(answer, options))
    if _shrugs(answer):  # not a prediction: "predict, then look" needs one
        return verdict(False, f"commit to a prediction: {options}")
    word = _read(answer, _word)
    if word is None and _clash(answer, _word):
        return verdict(False, _clash(answer, _word))
    if word is None:
        return verdict(
            False, f"answer {options}, the option alone or followed by a reason in brackets, "
            f"got {describe(answer)}",
        )  # fmt: skip
    if paired and word in ("cannot tell", "same"):  # a false cause: the interval exists
        n = len(set(a_runs) & set(b_runs))
        slip = _wrong_cause(answer, f"{n} paired runs on the whole test set", _word)
        if slip:
            return verdict(False, slip)
    if not paired:  # no interval over training runs
        facts, why = _no_interval(model, baseline, a_runs, b_runs, "on the whole test set")
        if word in ("cannot tell", "same") and _says_noise(answer):
            return verdict(False, _not_noise(facts, why))
        if word == "cannot tell":
            return verdict(True, f"cannot tell: {facts}. {why}.")
        return verdict(False, f"the study's answer is 'cannot tell': {facts}. {why}.")
    if word == "same":  # within noise: an interval that holds zero cannot tell them apart
        word = "cannot tell"
    a, b = STUDY[baseline].label, STUDY[model].label
    count = n_differences(results)  # the page's Bonferroni count, as the page reads it
    d = corrected_difference(b_runs, a_runs, count, paired=True)
    truth = says(d)
    numbers_ = (
        f"over training runs from {d.n} seeds, {b} scores {100 * d.mean:+.1f} points "
        f"against {a}, and the interval corrected over the page's {count} differences runs "
        f"from {100 * d.low:+.1f} to {100 * d.high:+.1f} points"
    )
    if truth == "cannot tell":  # the interval holds zero
        numbers_ += ": within noise"
    if word == truth:
        return verdict(True, f"{truth}: {numbers_}")
    return verdict(
        False, f"the study says {truth!r}: {numbers_}. Where did your intuition come from?"
    )


def _token_index(got) -> int | str:
    """``got`` as a token index: an int (numpy's too) or a one-element integer tensor. Text, a
    float (even ``5.0``) and a bool are not one: ``divmod(token, 8)`` needs a whole number.
    Any other value gets the student's message instead, which names a text, bool or float slip."""
    tensor = isinstance(got, torch.Tensor)
    if isinstance(got, bool) or (tensor and got.dtype == torch.bool):
        slip = ", which is a bool, not a token index"
    elif isinstance(got, numbers.Integral):
        return int(got)
    elif isinstance(got, float) or (tensor and got.is_floating_point()):
        slip = ", which is a float: use // for whole-number division, or int()"
    elif tensor and got.numel() == 1 and not got.is_complex():
        return int(got.item())
    elif isinstance(got, str):
        slip = ", which is text: return the int itself, not a string"
    else:
        slip = ""
    return f"return a whole number (a token index), got {describe(got)}{slip}"


def _read_token(got) -> tuple[str, int | str]:
    """What :func:`check_query_token` reads of a student's returned value (under their timer,
    since its methods are theirs): ``("pair", text)`` for a (row, col) pair, else ``("value",
    index or message)`` (:func:`_token_index`)."""
    if isinstance(got, (tuple, list)) and len(got) == 2:
        return "pair", ", ".join(describe(v) for v in got)
    return "value", _token_index(got)


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
            kind, value = call_student(fn, corner, detail, read=_read_token)
        except StudentError as e:
            return verdict(False, f"{where}: {e}")
        if kind == "pair":
            return verdict(
                False, f"{where}: you returned (row, col) = ({value}); flatten it, row * 8 + col"
            )
        if isinstance(value, str):  # not a token index: the message
            return verdict(False, f"{where}: {value}")
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
        r2, c2 = (v + detail // 2 for v in corner)  # the off-by-one centre of an even side
        if value == (r2 // 4) * 8 + c2 // 4:
            return verdict(
                False, f"{where}: for an even side the centre pixel is corner + (detail - 1) "
                f"// 2, not corner + detail // 2; your {value} is the token of pixel ({r2}, {c2})",
            )  # fmt: skip
        return verdict(False, f"{where}: expected token {want}, got {describe(value)}")
    return verdict(True, f"right on {len(cases)} marks, at the edges of the image too")


@answers_any
def check_test_size(answer, n: int = 2000) -> bool:
    """How many test images per seed would halve the spread of the accuracy over seeds, measured
    with ``n`` images per seed?"""
    n = validate.positive_int("n", n, maximum=10**9, why="images per seed in a test set")
    value = as_int(answer)
    if value is None:
        return verdict(False, f"give a whole number of images, got {describe(answer)}")
    if value <= 0 and value != n // 2:
        return verdict(False, f"a number of images is positive, got {describe(value)}")
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


def _scores(row: dict, detail: int | None) -> dict:
    """A model's training runs, seed -> accuracy: on the whole test set (``"seeds"``), or at
    ``detail`` px (``"seeds_by_detail"``); a model with neither has one run, seed 0."""
    if detail is None:
        return {s: float(v) for s, v in row.get("seeds", {}).items()} or {"0": float(row["mean"])}
    runs = {s: float(v[str(detail)]) for s, v in row.get("seeds_by_detail", {}).items()}
    return runs or {"0": float(row["by_detail"][str(detail)])}


def _row(results: dict, name: str) -> dict:
    """``results["models"][name]``, else a ``ValueError`` that names ``results`` and the model
    (a partial reproduction's results may lack it)."""
    row = results["models"].get(name)
    if not isinstance(row, dict):
        held = ", ".join(repr(n) for n in results["models"])
        raise ValueError(
            f"results has no model {name!r} (its 'models' hold {held}): pass results that "
            "include it, or leave results out for the shipped ones"
        )
    return row


def _runs(results: dict, name: str, detail: int | None) -> dict:
    """:func:`_scores` of ``results``'s model ``name``, else a ``ValueError`` that names
    ``results``, the model and the field it lacks."""
    row = _row(results, name)
    try:
        return _scores(row, detail)
    except KeyError as e:
        lack = f"the field {e.args[0]!r}" if e.args else "a field"
    except (TypeError, ValueError, AttributeError, IndexError):
        lack = "fields of the right kind"
    where = "" if detail is None else f" for {detail}-pixel marks"
    raise ValueError(
        f"results['models'][{name!r}] lacks {lack}{where} (it has {list(row)}): pass results "
        "as the study writes them, or leave results out for the shipped ones"
    )


def _no_interval(model: str, baseline: str, a: dict, b: dict, where: str) -> tuple[str, str]:
    """The facts and the reason of a "cannot tell" with no interval over training runs:
    ``a`` and ``b``, the runs (seed -> accuracy) of ``model`` and ``baseline``, share fewer
    than two seeds. Where they share one seed, the gap is the one at that seed (a mean of
    several runs against one run would mix in the runs of the other seeds); a model's other
    runs are given as its own range."""
    shared = sorted(set(a) & set(b), key=str)
    if shared:
        (s,) = shared
        facts = (
            f"{where}, {model} scores {a[s]:.1%} and {baseline} {b[s]:.1%} in their runs from "
            f"training seed {s}, a gap of {100 * (a[s] - b[s]):+.1f} points, the only matched "
            "comparison"
        )
    else:
        facts = (
            f"{where}, {model} and {baseline} have no training seed in common, so no gap "
            "between them is matched"
        )
    for name, runs in ((model, a), (baseline, b)):
        if len(runs) > 1:
            facts += (
                f". {name}'s own {len(runs)} runs there range from {min(runs.values()):.1%} "
                f"to {max(runs.values()):.1%}"
            )
    single = [n for n, r in ((model, a), (baseline, b)) if len(r) < 2]
    if single:
        why = (
            f"{single[0] if len(single) == 1 else 'Each'} was scored there in one "
            "training run only, so there is no interval over training runs. A test-set "
            "error bar says nothing about a second run"
        )
    else:
        why = "Their runs share fewer than two training seeds, so they cannot be paired"
    return facts, why


#: The judgement's answers, in their plain meaning: what the study shows about ``model``.
ANSWERS = ("higher", "lower", "cannot tell")

#: Other ways to type each answer ("yes": yes, it shows ``model`` higher).
_JUDGEMENTS = {
    "higher": ("yes", "yes higher", "it scores higher", "above", "better"),
    "lower": ("it scores lower", "below", "worse"),
    "cannot tell": ("cannot", "can't", "can't tell", "cant tell", "can not tell", "cannot say",
                    "can't say",
                    "don't know", "dont know", "not sure", "unknown", "unclear", "undecided",
                    "inconclusive", "no interval", "not enough runs", "within noise",
                    "it cannot tell", "the study cannot tell"),
}  # fmt: skip


def _judgement_plain(text: str) -> str | None:
    """The answer of :data:`ANSWERS` that the plain text ``text`` (:func:`_plain`) means."""
    for option, others in _JUDGEMENTS.items():
        if text == option or text in others:
            return option
    # Only a whole option counts: a part of one ("no", "c", "tell") names nothing, and a bare
    # "no" gets the message of :func:`_says_no`.
    named = option_named(text, ANSWERS)
    return named if named is not None and _key(named) == _key(text) else None


def _key(text: str) -> str:
    """``text`` as :func:`.checking.option_named` compares it: lower case, no spaces, dashes
    or underscores."""
    return re.sub(r"[\s_\-]", "", text.lower())


#: Answers that make no prediction: "predict, then look" asks for one of the options.
_SHRUGS = ("don't know", "dont know", "i don't know", "i dont know", "not sure", "unknown",
           "unclear", "undecided", "no idea")  # fmt: skip

#: Reasons that say there is no interval over training runs (refused where there is one).
_NO_INTERVAL_CLAIMS = ("no interval", "not enough runs", "one run", "single run", "one seed",
                       "no runs", "too few runs")  # fmt: skip


def _shrugs(answer) -> bool:
    """Whether ``answer`` declines to predict ("don't know", "not sure", :data:`_SHRUGS`)."""
    return isinstance(answer, str) and _plain(answer) in _SHRUGS


def _says_no_interval(answer) -> bool:
    """Whether ``answer`` or its reason says there is no interval (:data:`_NO_INTERVAL_CLAIMS`)."""
    if not isinstance(answer, str):
        return False
    text = f" {_plain(answer)} "
    return any(f" {claim} " in text for claim in _NO_INTERVAL_CLAIMS)


def _says_no(answer) -> bool:
    """Whether ``answer`` is a bare "no", which can mean "lower" or "cannot tell"."""
    return isinstance(answer, str) and _plain(answer) in ("no", "not higher", "it does not")


#: What a bare "no" gets: it names two options.
_NO = (
    "'no' can mean 'lower' (the interval lies below zero) or 'cannot tell' (no interval, or "
    "one that holds zero); answer which"
)


def _clash(answer, read) -> str | None:
    """Where ``answer``'s first clause names a direction and its reason names another option
    ("higher (within noise)", "lower, or higher"), or its first clause says "cannot tell" and
    its reason names one direction or an interval that leaves zero out ("cannot tell
    (lower)"): the message that says so; else ``None``."""
    if not isinstance(answer, str):
        return None
    text = _exact_str(answer).strip()
    cut = _CLAUSE.search(text)
    if cut is None or cut.start() == 0:
        return None
    head = text[: cut.start()].strip()
    first = read(_plain(head))
    if first in _UNORDERED:
        slip = _unordered_clash(text[cut.start() :])
        if slip == "zero":
            return (
                f"{head!r} says the study cannot order the two, but the reason says the "
                "interval leaves zero out, which would order them: choose one"
            )
        if slip is not None:
            word, direction = slip
            named = repr(word) if word == direction else f"{word!r}, which says {direction!r}"
            return (
                f"{head!r} says the study cannot order the two, but the reason names "
                f"{named}: choose one"
            )
        return None
    if first not in _DIRECTION:
        return None
    rest = set(re.findall(r"[a-z']+", text[cut.start() :].lower()))
    if rest & {"tell", "same", "noise"}:
        return (
            f"{head!r} names a direction, but the reason says the interval holds zero (within "
            "noise, or cannot tell): choose one"
        )
    other = next(d for d in _DIRECTION if d != first)
    if rest & set(_DIRECTION[other]):
        return f"{head!r} names one direction and the reason names {other!r}: choose one"
    return None


def _judgement(answer) -> str | None:
    """The answer of :data:`ANSWERS` that ``answer`` means, alone or followed by a reason
    ("cannot tell (no interval)"), or ``None``."""
    return _read(answer, _judgement_plain)


def _not_noise(facts: str, why: str) -> str:
    """The message for "within noise" where there is no interval over training runs."""
    return (
        f"the study's answer is 'cannot tell', but not because of noise: {facts}. {why}. "
        "Without an interval over training runs there is no noise estimate to be within"
    )


#: Phrases that say an interval over the runs holds zero, or lean on error bars. Where no
#: interval exists they give a reason that is false; "no interval" does not match them.
_INTERVAL_CLAIMS = (
    "holds zero", "holds 0", "includes zero", "includes 0", "contains zero", "contains 0",
    "covers zero", "covers 0", "crosses zero", "crosses 0", "spans zero", "spans 0",
    "straddles zero", "straddles 0", "interval overlaps", "intervals overlap",
)  # fmt: skip
_ERROR_BAR_CLAIMS = ("error bar", "errorbar", "error-bar")


def _claimed_interval(answer) -> str | None:
    """Which false reason ``answer`` gives where no interval exists: ``"interval"`` (one that
    holds zero), ``"error bars"``, or ``None``."""
    text = _plain(answer) if isinstance(answer, str) else ""
    if any(w in text for w in _ERROR_BAR_CLAIMS):
        return "error bars"
    if any(w in text for w in _INTERVAL_CLAIMS):
        return "interval"
    return None


def _not_interval(claim: str, facts: str, why: str) -> str:
    """The message for a reason that names an interval or error bars where none exists."""
    slip = {
        "interval": "not because an interval holds zero, since none exists here",
        "error bars": "not because of the error bars, which measure the test images of one "
        "run, not a second training run",
    }[claim]
    return f"the study's answer is 'cannot tell', but {slip}: {facts}. {why}"


#: Words of a reason that name the interval or the noise it measures: the only reasons a
#: "cannot tell" may give where an interval over training runs exists.
_INTERVAL_WORDS = {"interval", "intervals", "noise", "noisy", "zero", "overlap", "overlaps",
                   "overlapping", "seeds", "spread", "spreads"}  # fmt: skip


def _reason(answer, read) -> str:
    """The reason that follows ``answer``'s option ("cannot tell (within noise)" -> "(within
    noise)"), or ``""`` where the answer is an option alone (``read`` reads the option)."""
    text = _exact_str(answer).strip()
    if read(_plain(text)) is not None:
        return ""
    cut = _CLAUSE.search(text)
    return "" if cut is None or cut.start() == 0 else text[cut.start() :]


def _bare_reason(reason: str) -> str:
    """``reason`` without the bracket, comma, dash or "because" that opens it."""
    text = re.sub(r"^\s*(?:because\b|[(\[,;:]|[-–—]+)\s*", "", reason, flags=re.IGNORECASE)
    return text.rstrip(" )].")


def _names_interval(reason: str) -> bool:
    """Whether ``reason`` names the interval or the noise (:data:`_INTERVAL_WORDS`), or the
    mean it sits around ("higher on average, within noise"); an empty reason passes."""
    words = set(re.findall(r"[a-z0-9']+", reason.lower()))
    if not words:
        return True
    named = words & (_INTERVAL_WORDS | _MEAN_WORDS)
    return bool(named) or _says_noise(reason) or _claimed_interval(reason) == "interval"


def _wrong_cause(answer, runs_there: str, read=None) -> str | None:
    """Where an interval over training runs exists (``runs_there`` says over which runs) and
    ``answer``'s reason names a cause that is false there, the message that names the slip:
    "no interval" or "one run" (there is one), the error bars (they measure the test images
    of one run), or any reason that does not name the interval or the noise ("the area is
    equal"). A true reason ("within noise", "higher on average") gives ``None``. ``read``
    reads the option (:func:`_judgement_plain` where ``None``)."""
    if _says_no_interval(answer):
        return (
            f"there is an interval: {runs_there}. The reason 'no interval' or 'one run' is "
            "not the study's; say what the interval shows"
        )
    if _claimed_interval(answer) == "error bars":
        return (
            "error bars over test sets say nothing about a second training run: the reason is "
            f"the interval over training runs ({runs_there}); say what it shows"
        )
    reason = _reason(answer, _judgement_plain if read is None else read)
    if not _names_interval(reason):
        return (
            f"the reason for 'cannot tell' must be the interval holding zero ({runs_there}), "
            f"and {_bare_reason(reason)!r} is not that reason; say what the interval shows"
        )
    return None


@answers_any
def check_higher(
    answer,
    model: str = "pvt_sra8",
    baseline: str = "pvt_full",
    detail: int | None = 3,
    results: dict | None = None,
) -> bool:
    """Judgement: what does the study show about ``model`` against ``baseline`` on marks of
    ``detail`` px (``None``: the whole test set)? Answer ``"higher"``, ``"lower"`` or
    ``"cannot tell"`` (``"yes"`` reads as "higher"; a bare ``"no"`` is asked to say which of
    the other two it means).

    The rule of the chapter's section 4: within a family, where both models have runs from two
    or more of the same training seeds scored there, the t-interval of the per-seed
    differences; across families, where a seed shares the images but not the starting weights,
    Welch's unpaired interval over two or more runs each. Either is Bonferroni-corrected over
    the page's count of differences (:func:`.stats.corrected_difference`,
    :func:`.stats.n_differences`), as the page's own verdicts are. "higher" if it lies above
    zero, "lower" if below, "cannot tell" if it holds zero. Where the interval exists, a
    "cannot tell" whose reason names a false cause is refused: "no interval" or "one run"
    (there is one), the error bars (they measure the test images of one run) and any reason
    that names neither the interval nor the noise ("the area is equal"); a true reason
    ("higher on average, within noise") is accepted. Where either model has a single run
    there, or runs of one
    family share fewer than two seeds, there is no such interval: "cannot tell", and a reason that
    assumes one is refused there: "within noise" (there is no noise estimate to be within),
    "the interval holds zero" (there is none) and "within the error bars" (they measure the
    test images, not a second run). The message gives the gap at the one seed the two share,
    where they share one, not a mean of several runs against one. Words that say the two score
    alike ("same", "equal") are refused: where there is no interval, because none exists, and
    otherwise because an interval that holds zero does not show that. An option followed by a
    reason reads as the option: "cannot tell (no interval)", "cannot tell (4 of 5 seeds
    higher)" (a count of runs reports them, it does not order the models). Each message gives
    the numbers and says why, except a wrong option where no interval exists: that one names
    the cause and leaves the numbers to the reader."""
    validate.one_of("model", model, MODELS)
    validate.one_of("baseline", baseline, MODELS)
    if model == baseline:
        raise ValueError(f"model and baseline are both {model!r}: name two different models")
    results = load_results() if results is None else check_results(results)
    rows = {n: _row(results, n) for n in (model, baseline)}
    if detail is not None:
        detail = validate.positive_int("detail", detail, maximum=validate.MAX_IMAGE)
        for n, r in rows.items():
            if not isinstance(r.get("by_detail"), dict) or not r["by_detail"]:
                raise ValueError(
                    f"results['models'][{n!r}] lacks the field 'by_detail' (it has {list(r)}): "
                    "pass results as the study writes them, or use detail=None"
                )
        try:
            sides = sorted(int(d) for d in rows[model]["by_detail"])
        except (TypeError, ValueError):
            raise ValueError(
                f"results['models'][{model!r}]['by_detail'] is keyed by mark sides in pixels, "
                f"got {validate.shown(list(rows[model]['by_detail']))}"
            ) from None
        if any(str(detail) not in r["by_detail"] for r in rows.values()):
            raise ValueError(f"detail={detail}: the results score mark sides {sides}, or None")
    where = "on the whole test set" if detail is None else f"on {detail}-pixel marks"
    question = f"how does {model} score against {baseline} {where}"
    allowed = ", ".join(repr(o) for o in ANSWERS)
    if _says_no(answer):
        return verdict(False, f"{question}: {_NO}")
    a, b = _runs(results, model, detail), _runs(results, baseline, detail)
    shared = set(a) & set(b)
    # Within a family a seed fixes the starting weights too, so runs pair by seed. Across
    # families a seed shares only the images: there the unpaired interval (section 4's rule).
    across = MODELS[model].family != MODELS[baseline].family
    has_interval = min(len(a), len(b)) >= 2 if across else len(shared) >= 2
    if _equality(answer) and not has_interval:  # no interval: say so, do not name one
        return verdict(
            False, f"{question}: {_alike_without_interval(model, baseline, a, b, where)}"
        )
    if _equality(answer):
        return verdict(False, f"{question}: {_equal_message(answer, allowed)}")
    choice = _judgement(answer)
    if choice is None and _clash(answer, _judgement_plain):
        return verdict(False, f"{question}: {_clash(answer, _judgement_plain)}")
    if choice is None:
        return verdict(
            False, f"{question}: choose one of {allowed}, the option alone or followed by a "
            f"reason in brackets; got {describe(answer)}",
        )  # fmt: skip
    if has_interval:
        count = n_differences(results)  # the page's Bonferroni count, as the page reads it
        d = corrected_difference(b, a, count, paired=not across)  # model minus baseline
        corrected = f"t-interval corrected over the page's {count} differences"
        if across:  # the seeds ignored
            facts = (
                f"{where}, over {len(a)} runs of {model} and {len(b)} of {baseline}, unpaired "
                "(they are of different families, so a seed shares the images, not the "
                f"starting weights), {model} minus {baseline} is {d.points()} (Welch "
                f"{corrected})"
            )
            runs_there = f"{len(a)} runs of {model} and {len(b)} of {baseline} {where}"
        else:  # seed by seed
            facts = (
                f"{where}, over runs from {d.n} training seeds paired by seed, {model} minus "
                f"{baseline} is {d.points()} ({corrected})"
            )
            runs_there = f"{d.n} paired runs {where}"
        right = says(d)
        why = {
            "higher": "The corrected interval lies above zero",
            "lower": "The corrected interval lies below zero",
            "cannot tell": "The corrected interval holds zero, so the difference is within noise",
        }[right]
        slip = _wrong_cause(answer, runs_there) if choice == "cannot tell" else None
        if slip:
            return verdict(False, f"{question}: {slip}")
    else:
        right = "cannot tell"
        facts, why = _no_interval(model, baseline, a, b, where)
        if choice == right and _says_noise(answer):  # no interval: no noise to be within
            return verdict(False, _not_noise(facts, why))
        claimed = _claimed_interval(answer) if choice == right else None
        if claimed:  # nor one to hold zero
            return verdict(False, _not_interval(claimed, facts, why))
        if choice != right:  # the cause, not the numbers the reader is asked to find
            field = "seeds" if detail is None else "seeds_by_detail"
            return verdict(
                False, f"the study's answer is 'cannot tell': {where} there is no interval "
                "over training runs to say 'higher' or 'lower'. Look at which runs of each "
                f"model the results score there ({field!r})",
            )  # fmt: skip
    if choice == right:
        return verdict(True, f"{right}: {facts}. {why}.")
    return verdict(False, f"the study's answer is {right!r}: {facts}. {why}.")


def _seed_list(seeds) -> str:
    """``[1]`` -> "seed 1", ``[1, 2]`` -> "seeds 1 and 2", ``[]`` -> "no seed"; a huge seed is
    told by its digits (``str`` refuses more than 4,300 of them)."""
    names = [validate.shown(s) for s in seeds]
    if not names:
        return "no seed"
    if len(names) == 1:
        return f"seed {names[0]}"
    return f"seeds {', '.join(names[:-1])} and {names[-1]}"


def _first_items(answer) -> list | None:
    """The entries of a list, tuple or set, or ``None`` past :data:`validate.MAX_ITEMS` (an
    endless one included)."""
    items = list(itertools.islice(iter(answer), validate.MAX_ITEMS + 1))
    return items if len(items) <= validate.MAX_ITEMS else None


@answers_any
def check_runs_to_pair(
    answer,
    model: str = "pvt_full",
    control: str = "pvt_none",
    detail: int = 3,
    results: dict | None = None,
) -> bool:
    """Judgement: which training runs of ``model``, named by seed, would have to be scored at
    ``detail`` px so that each run of ``control`` scored there has a partner from the same seed
    (the pairing of the chapter's section 4)? Answer the seeds as a list of whole numbers, like
    ``[3, 4]``, or ``[]`` for none.

    The right answer is read from the results: the seeds of ``control``'s runs scored at
    ``detail`` px, less those of ``model``'s. A seed already scored, a seed the control has no
    run from, a missing seed and an answer that is not a list of whole numbers each get their
    own message."""
    validate.one_of("model", model, MODELS)
    validate.one_of("control", control, MODELS)
    if model == control:
        raise ValueError(f"model and control are both {model!r}: name two different models")
    detail = validate.positive_int(
        "detail", detail, maximum=validate.MAX_IMAGE, why="a mark side in px"
    )
    results = load_results() if results is None else check_results(results)
    rows = {n: results["models"][n] for n in (model, control)}
    if any(str(detail) not in r["by_detail"] for r in rows.values()):
        sides = sorted(int(d) for d in rows[model]["by_detail"])
        raise ValueError(f"detail={detail}: the results score mark sides {sides}")
    have = {int(s) for s in _scores(rows[model], detail)}
    want = {int(s) for s in _scores(rows[control], detail)}
    right = sorted(want - have)
    where = f"at {detail} px"
    items = (  # the answer's own __iter__ or __len__ runs under the checkers' timer
        _bounded(_first_items, answer, None) if isinstance(answer, (list, tuple, set)) else None
    )
    seeds = None if items is None else [as_int(v) for v in items]
    if seeds is None or any(s is None for s in seeds):
        return verdict(
            False, f"answer the training seeds as a list of whole numbers, like [3, 4], or [] "
            f"for none; got {describe(answer)}",
        )  # fmt: skip
    given = set(seeds)
    done = sorted(given & have)
    if done:
        return verdict(
            False, f"{model} is already scored {where} in its run from "
            f"{_seed_list(done)}: that pair exists, and section 5's figure shows it",
        )  # fmt: skip
    alone = sorted(given - want)
    if alone:
        return verdict(
            False, f"{control} has no run from {_seed_list(alone)} scored "
            f"{where}, so a {model} run from it would have no partner to pair with",
        )  # fmt: skip
    missing = sorted(want - given - have)
    if missing:
        return verdict(
            False, f"{control} also has a run from {'' if len(missing) == 1 else 'each of '}"
            f"{_seed_list(missing)} scored "
            f"{where}, left without a partner: name every seed the control's runs need",
        )  # fmt: skip
    if not right:  # [] is the answer: every run of the control there has its partner
        runs = f"each of {control}'s {len(want)} runs" if len(want) > 1 else f"{control}'s run"
        return verdict(
            True, f"none: {runs} scored {where} already has a partner, "
            f"{model}'s run from the same seed",
        )  # fmt: skip
    return verdict(
        True, f"{model}'s runs from {_seed_list(right)}, scored {where}, would "
        f"pair with each of {control}'s {len(want)} runs there, seed by seed",
    )  # fmt: skip

"""A wrong number's message never gives the answer away (the rule at the top of
``vit_notes/checking.py``), for the numeric checker of every chapter's exercise.

For wrong values drawn by hypothesis, the message, with the reader's own value taken out,
holds neither the right value, nor value/right or right/value, nor |value − right|, in any
format the package prints (``checking._number``, ``:.3g``). And two wrong values on the same
side, in the same band (``checking.band``), that match no named slip get the same message
apart from the echoed value: nothing else in it depends on the value, so nothing in it can be
inverted. The page's JavaScript twin gives the same words (tests/browser/test_answers.py).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vit_notes import checking, compare
from vit_notes.checking import _number, band, page_spec
from vit_notes.learned import exercises as learned

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from vit_notes_site import checker_call  # noqa: E402

#: Numbers the bands themselves print ("1%", "10%", "2×", "10×"): not a leak when they recur.
BAND_NUMBERS = {"1", "2", "10"}
NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?(?:e[+-][0-9]+)?")


@dataclass
class Case:
    name: str
    fn: object
    kwargs: dict
    right: float
    whole: bool  # answers are whole numbers (a count)
    texts: list[str] = field(default_factory=list)  # the checker's fixed texts (hint, then)


def _cases() -> list[Case]:
    """Every count and prediction the chapters' attempt cells check, and the numeric
    checkers with logic of their own (compare's growth, learned's test size)."""
    found: dict[str, Case] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            call = checker_call("".join(cell["source"]))
            if call is None:
                continue
            module, name, kwargs = call
            fn = getattr(importlib.import_module(f"vit_notes.{module}"), name)
            spec = page_spec(fn, **kwargs)
            if spec is None or spec["kind"] not in ("count", "prediction"):
                continue
            whole = spec["kind"] == "count"
            right = int(spec["right"]) if whole else float(spec["right"])
            texts = [str(spec.get(k) or "") for k in ("hint", "then", "then_wrong", "inexact")]
            key = json.dumps([module, name, kwargs], sort_keys=True)
            found[key] = Case(f"{module}.{name}", fn, kwargs, right, whole, texts)
    cases = list(found.values())
    kw = {"layer": "Shunted, R=8 and 4", "start": 224, "end": 672}
    a, b = (compare.layers()[kw["layer"]].cost(s // 4, s // 4, 64, 2) for s in (224, 672))
    then = "Section 3 works it out from 224² to 448²"
    cases.append(Case("compare.check_growth", compare.check_growth, kw, b.attn_macs / a.attn_macs,
                      False, [then]))  # fmt: skip
    cases.append(Case("learned.check_test_size", learned.check_test_size, {}, 8000, True))
    return cases


CASES = _cases()


def test_every_chapter_with_a_numeric_exercise_is_covered():
    chapters = {c.name.split(".")[0] for c in CASES}
    assert {"swin", "pvt", "shunted", "coatnet", "compare", "learned"} <= chapters


def _message(case: Case, value) -> tuple[bool, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ok = case.fn(value, **case.kwargs)
    text = " ".join(out.getvalue().split())
    return ok, text.removeprefix("❌ not yet: ")


def _forms(x) -> set[str]:
    """``x`` as the package prints a number."""
    forms = {_number(x), f"{x:.3g}"}
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        forms.add(_number(int(x)))
    return forms


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def _values(case: Case):
    r = case.right
    if case.whole:
        r = int(r)
        return st.one_of(
            st.integers(1, 100 * r),
            st.integers(max(1, r - r // 4), r + r // 4),  # near misses
        )
    return st.one_of(
        st.floats(r / 100, 100 * r, allow_nan=False),
        st.floats(r * 0.75, r * 1.25, allow_nan=False),  # near misses
    )


def _template(case: Case, value, text: str) -> str:
    """The message with the reader's own value taken out."""
    shown = f"{value:,}" if isinstance(value, int) else _number(value)
    return text.replace(shown, "<value>", 1)  # the echo comes first


def _leaks(case: Case, value, template: str) -> list[str]:
    """What in ``template`` gives the answer away: the answer itself, or a ratio or
    difference of the reader's value to it (a number that the checker's fixed texts and the
    bands do not print anyway)."""
    right = case.right
    numbers = _numbers(template)
    fixed = BAND_NUMBERS.union(*(_numbers(t) for t in case.texts))
    leaks = [f"the answer {s}" for s in _forms(right) if s in numbers and s not in BAND_NUMBERS]
    derived = {
        "value/right": value / right,
        "right/value": right / value,
        "|value - right|": abs(value - right),
    }
    for what, x in derived.items():
        leaks += [f"{what} {s}" for s in _forms(x) if s in numbers and s not in fixed]
    return leaks


@pytest.mark.parametrize("case", CASES, ids=[f"{c.name}{c.kwargs}" for c in CASES])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_a_wrong_value_is_never_told_the_answer(case, data):
    value = data.draw(_values(case))
    ok, text = _message(case, value)
    assume(not ok)
    assert not _leaks(case, value, _template(case, value, text)), text


def _plain(case: Case, text: str) -> bool:
    """A message that names no slip: only the side and band (or, with ``then_wrong``, only
    too large or small, or for learned's test size, "is not it"). A value within the
    tolerance of an exact prediction is told ``inexact``, as a slip of its own."""
    inexact = case.texts[3] if len(case.texts) > 3 else ""
    if inexact and inexact in text:
        return False
    return any(
        phrase in text
        for phrase in ("is too high, ", "is too low, ", "is too large.", "is too small.",
                       "is not it:", "×is too high", "× is too high", "× is too low")
    ) and "rounded to" not in text  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[f"{c.name}{c.kwargs}" for c in CASES])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_two_values_in_one_band_get_one_message(case, data):
    a = data.draw(_values(case))
    if case.whole:  # a second value near the first: mostly in the same band
        b = data.draw(st.integers(max(1, a - a // 50 - 1), a + a // 50 + 1))
    else:
        b = data.draw(st.floats(a * 0.98, a * 1.02, allow_nan=False))
    assume(band(a, case.right) == band(b, case.right))
    assume(float(a).is_integer() == float(b).is_integer())  # "a count is whole" is a slip
    (ok_a, text_a), (ok_b, text_b) = _message(case, a), _message(case, b)
    assume(not ok_a and not ok_b and _plain(case, text_a) and _plain(case, text_b))
    assert _template(case, a, text_a) == _template(case, b, text_b)


@pytest.mark.parametrize(
    "value,right",
    [(64, 16.0), (9, 16), (16.5, 16.0), (2_085_715_968, 2_321_743_872), (10**30, 7)],
)
def test_the_reviewers_examples_print_no_ratio_or_difference(value, right):
    text = checking.how_far(value, right)
    assert "×" not in text.split(",", 1)[0]  # the side comes first, then only a band
    assert (
        not (_forms(value / right) | _forms(abs(value - right)))
        & _numbers(text.replace(_number(value), "")) - BAND_NUMBERS
    )


@pytest.mark.parametrize("case", [c for c in CASES if c.whole], ids=lambda c: c.name)
def test_a_left_out_term_is_named_without_its_size(case):
    spec = page_spec(case.fn, **case.kwargs)
    if spec is None or not spec["terms"]:
        pytest.skip("no terms of a sum")
    right = int(spec["right"])
    for _name, size in spec["terms"]:
        value = right - int(size)
        ok, text = _message(case, value)
        assert not ok, text  # a named mistake may come first: then it names that slip
        numbers = _numbers(_template(case, value, text))
        assert not _forms(int(size)) & numbers - BAND_NUMBERS, text

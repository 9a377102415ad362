"""Every checker answers every input with a message (issue 19): each test is a student's slip.

A checker prints one verdict and returns ``True``/``False``; it never raises on the student's
answer or function, whatever they are: a number too long for ``str`` (``10**5000``, or typed
as text), an object whose ``repr`` raises, a function that raises an exception whose ``str``
raises, hangs, returns garbage, or changes what it is handed in place. A checker given no
configurations to try raises (it cannot say "correct" about nothing).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import itertools
import math
import pkgutil
import re
import sys
import time
from contextlib import redirect_stdout

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vit_notes
import vit_notes.compare
from vit_notes import checking
from vit_notes.coatnet import exercises as coatnet_ex
from vit_notes.coatnet import relative_position_index
from vit_notes.pvt import exercises as pvt_ex


def _checkers() -> list:
    """Every ``check_*`` of every chapter's ``exercises`` module and of ``vit_notes.compare``,
    found by walking the package: a chapter added later is swept without editing this file."""
    # find_spec, not a caught ModuleNotFoundError: a broken import inside an exercises module
    # must fail this file, not drop that chapter from the sweep.
    chapters = [m.name for m in pkgutil.iter_modules(vit_notes.__path__) if m.ispkg]
    names = [f"vit_notes.{c}.exercises" for c in chapters]
    modules = [vit_notes.compare]
    modules += [importlib.import_module(n) for n in names if importlib.util.find_spec(n)]
    return [
        obj
        for module in modules
        for attr, obj in vars(module).items()
        if attr.startswith("check_")
        and inspect.isfunction(obj)
        and obj.__module__ == module.__name__
    ]


def _first_parameter(check) -> str:
    return next(iter(inspect.signature(check).parameters))


CHECKERS = _checkers()


def _good():
    from vit_notes import learned, pvt, shunted, swin

    return {
        "check_sra_forward": pvt.sra_steps,
        "check_shunted_forward": shunted.shunted_steps,
        "check_swin_forward": swin.swin_steps,
        "check_relative_attention": coatnet_ex.relative_attention_steps,
        "check_relative_index": relative_position_index,
        "check_query_token": learned.query_token,
    }


#: A right student function for each function checker: the package's own steps.
GOOD = _good()
#: Every checker that takes an answer (a number, a word, a choice).
ANSWER_CHECKERS = [c for c in CHECKERS if _first_parameter(c) == "answer"]
#: Every checker that runs a student's function.
FUNCTION_CHECKERS = [c for c in CHECKERS if _first_parameter(c) == "fn"]


def test_every_checker_is_swept():
    # A checker whose first parameter is neither would escape both sweeps silently.
    odd = [c.__qualname__ for c in CHECKERS if _first_parameter(c) not in ("answer", "fn")]
    assert not odd, f"checkers that take neither an answer nor a function: {odd}"
    chapters = {c.__module__.split(".")[1] for c in CHECKERS}
    assert {"pvt", "coatnet", "shunted", "swin", "learned", "compare"} <= chapters, chapters


HUGE = 10**5000


def huge_text() -> str:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return str(HUGE)
    finally:
        sys.set_int_max_str_digits(old)


class Unprintable:
    """An answer whose repr and str raise (a half-written class of the student's)."""

    def __repr__(self):
        raise RuntimeError("no repr")

    __str__ = __repr__


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no str")


def answered(check, *args, **kwargs) -> str:
    """Run ``check``; it must return a bool and print one verdict. Returns what it printed."""
    out = io.StringIO()
    with redirect_stdout(out):
        ok = check(*args, **kwargs)
    assert isinstance(ok, bool), f"{check.__name__} returned {ok!r}"
    text = out.getvalue()
    assert text.startswith(("✅", "❌")), f"{check.__name__} printed {text!r}"
    return text


def name(check) -> str:
    return f"{check.__module__.split('.')[1]}.{check.__name__}"


@pytest.mark.parametrize("check", ANSWER_CHECKERS, ids=name)
@pytest.mark.parametrize(
    "answer",
    [HUGE, -HUGE, "huge text", "1" * 5000 + ".5", "1" * 5000 + "k", "7/" + "1" * 5000],
    ids=["10**5000", "-10**5000", "10**5000 as text", "long decimal", "long with k", "fraction"],
)
def test_a_number_too_long_to_print_gets_a_message(check, answer):
    # The slip: a student multiplies instead of adding, or pastes a runaway number.
    answer = huge_text() if answer == "huge text" else answer
    text = answered(check, answer)
    assert "❌" in text
    assert len(text) < 2000  # described, not printed digit by digit


@pytest.mark.parametrize("check", ANSWER_CHECKERS, ids=name)
def test_an_answer_whose_repr_raises_gets_a_message(check):
    assert "❌" in answered(check, Unprintable())


def test_huge_numbers_are_described_by_their_digits():
    assert checking.describe(HUGE) == "a 5001-digit number"
    assert checking.digits(10**5000 - 1) == 5000
    assert checking.digits(0) == 1 and checking.digits(-999) == 3
    assert checking.as_int(huge_text()) == HUGE  # typed as text, still exact


@pytest.mark.parametrize("check", ANSWER_CHECKERS, ids=name)
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    answer=st.one_of(
        st.integers(),
        st.integers(min_value=10**300, max_value=10**6000),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.from_regex(r"[+-]?\d{1,6000}[kMG%]?", fullmatch=True),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=3),
        st.builds(torch.tensor, st.floats(allow_nan=True, width=32)),
        st.just(Unprintable()),
    )
)
def test_any_answer_gets_one_verdict(check, answer):
    answered(check, answer)


# --- student functions -------------------------------------------------------------------------


def raises_unprintable(*args):
    raise UnprintableError()


def returns_unprintable(*args):
    return Unprintable()


def returns_complex(*args):
    return {"out": torch.zeros(2, 2, dtype=torch.complex64)}


def returns_meta(*args):
    return torch.empty(2, 3, device="meta")


def calls_exit(*args):
    raise SystemExit(1)  # ``exit()`` or ``sys.exit()`` left in a student's function


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
@pytest.mark.parametrize(
    "fn",
    [raises_unprintable, returns_unprintable, returns_complex, returns_meta, 5, None, calls_exit],
    ids=["raises, unprintable", "returns unprintable", "complex", "meta tensor", "int", "None",
         "exit()"],
)  # fmt: skip
def test_a_broken_student_function_gets_a_message(check, fn):
    # exit() inside the function once ended the checker with SystemExit and no verdict
    assert "❌" in answered(check, fn)


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
def test_the_readers_interrupt_is_not_swallowed(check):
    # Stopping the cell (KeyboardInterrupt) stops the checker: it is not a student's mistake.
    def interrupted(*args):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check(interrupted)


@pytest.mark.parametrize("check", CHECKERS, ids=name)
def test_a_checker_leaves_the_readers_random_draws_alone(check):
    # The slip: torch.manual_seed(1) at the top of the notebook, a checker, then torch.rand:
    # the function checkers seeded the global generator for their cases, so the reader's
    # next draws were seed 0's. A checker draws apart (issue 19: global state restored).
    torch.manual_seed(1)
    want = torch.rand(4)
    torch.manual_seed(1)
    first = _first_parameter(check)
    with redirect_stdout(io.StringIO()):
        check(GOOD[check.__name__] if first == "fn" and check.__name__ in GOOD else None)
    assert torch.equal(torch.rand(4), want), check.__name__


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
def test_a_student_function_that_hangs_is_stopped(check, monkeypatch):
    # The slip: ``while i < n:`` without ``i += 1``; even ``except Exception`` cannot keep it.
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 0.3)

    def hangs(*args):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass

    start = time.monotonic()
    text = answered(check, hangs)
    assert "was stopped" in text
    assert time.monotonic() - start < 20


def test_the_timer_is_put_back_after_a_check():
    import signal

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    before = signal.getsignal(signal.SIGALRM)
    answered(coatnet_ex.check_relative_index, relative_position_index)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize(
    "check",
    [c for c in FUNCTION_CHECKERS if len(inspect.signature(c).parameters) > 1],
    ids=name,
)
def test_no_configurations_is_an_error_not_correct(check):
    # The slip: ``check(my_fn, configs=[])`` while trying one case at a time.
    with pytest.raises(ValueError, match="at least one"):
        check(raises_unprintable, ())


def test_changing_the_cached_index_cannot_fool_the_checker():
    # The slip (or the cheat): take the package's index and edit it in place. The checker
    # and the cache hand out copies: the edit is wrong, and the next caller sees the truth.
    right = relative_position_index(3, 3).clone()

    def edits_in_place(H, W):
        idx = relative_position_index(H, W)
        idx.zero_()
        return idx

    assert "❌" in answered(coatnet_ex.check_relative_index, edits_in_place)
    assert torch.equal(relative_position_index(3, 3), right)
    assert "✅" in answered(coatnet_ex.check_relative_index, relative_position_index)


@pytest.mark.parametrize(
    "fn",
    [
        raises_unprintable,
        returns_unprintable,
        returns_meta,
        lambda H, W: torch.full((H * W, H * W), 2**62, dtype=torch.long),
        lambda H, W: torch.full((H * W, H * W), -(2**62), dtype=torch.long),
        lambda H, W: torch.zeros(H * W, H * W, dtype=torch.uint8),
        lambda H, W: torch.zeros(H * W, H * W, dtype=torch.complex64),
        lambda H, W: torch.zeros(H * W, H * W, dtype=torch.long).as_strided((H * W, H * W), (0, 0)),
        lambda H, W: relative_position_index(H, W)[None],
    ],
    ids=[
        "raises",
        "unprintable",
        "meta",
        "huge",
        "very negative",
        "uint8",
        "complex",
        "zero strides",
        "one dim too many",
    ],
)
def test_the_index_with_a_row_per_dx_answers_garbage_with_a_message(fn):
    # review r24 E1: Exercise 2 checks the layout with a row per Δx
    assert "❌" in answered(coatnet_ex.check_relative_index, fn, layout="dx_rows")


def test_a_student_who_edits_the_layer_in_place_cannot_change_the_reference():
    # The slip: ``attn.scale = 1.0`` or ``x.mul_(2)`` inside the student's forward. They get
    # copies, so the reference (computed before) and the mistakes (computed after) stay right.
    from vit_notes.pvt.exercises import sra_steps

    def vandal(attn, x, H, W):
        out = sra_steps(attn, x, H, W)
        attn.scale = 0.0
        with torch.no_grad():
            for p in attn.parameters():
                p.zero_()
        x.mul_(0)
        return out

    assert "✅" in answered(pvt_ex.check_sra_forward, vandal, configs=((8, 8, 16, 2, 2),))


@pytest.mark.parametrize("check", ANSWER_CHECKERS, ids=name)
def test_an_answer_with_no_values_gets_a_message(check):
    # The slip: the answer computed on the meta device (shapes only), as the cost tables do;
    # check_chance_level raised "Tensor.item() cannot be called on meta tensors".
    answered(check, torch.empty(1, device="meta"))


def test_a_fraction_with_a_huge_denominator_is_a_small_number():
    value = checking.as_number("1/" + "1" * 5000)
    assert value is not None and math.isclose(value, 0.0, abs_tol=1e-300)


# Audit 7 (N3, N6): each test is the student's slip the audit found.


@pytest.mark.parametrize(
    "answer", [[10**5000], (10**5000,), [-(10**5000)], ["1" * 5000], [10**5000, 10**5000 + 1]]
)
def test_seventh_audit_a_huge_seed_inside_the_list_gets_a_message(capsys, answer):
    from vit_notes.learned.exercises import check_runs_to_pair

    assert check_runs_to_pair(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ not yet: ") and "-digit number" in out


@pytest.mark.parametrize("answer", [itertools.count(), range(10**9), iter(range(10**9))])
def test_seventh_audit_an_endless_answer_is_read_no_further_than_a_pair(capsys, answer):
    from vit_notes import shunted

    start = time.monotonic()
    assert shunted.check_shunted_kv_tokens(answer) is False
    assert time.monotonic() - start < 2
    assert "give two whole numbers" in capsys.readouterr().out


# -- audit 11


def test_learned_checkers_read_an_answer_under_the_timer():
    from vit_notes.learned import check_chance_level, exercises

    class RaisingFloat(float):  # a float subclass whose own __float__ fails
        def __float__(self):
            raise RuntimeError("boom")

    class Spin(float):  # ... or never returns
        def __float__(self):
            while True:
                pass

    class Endless(list):  # a list subclass that never stops yielding
        def __iter__(self):
            while True:
                yield 1

    with redirect_stdout(io.StringIO()):
        for answer in (RaisingFloat(0.25), Spin(0.25)):
            start = time.perf_counter()
            assert check_chance_level(answer) is False
            assert time.perf_counter() - start < 10
        start = time.perf_counter()
        assert exercises.check_runs_to_pair(Endless([1])) is False
        assert time.perf_counter() - start < 10


@pytest.mark.parametrize(
    "call",
    [
        # a budget no option meets: the settings leave the exercise without an answer
        lambda: vit_notes.pvt.check_sr_choice(2, budget_mib=1e-9),
        lambda: vit_notes.compare.check_layer_choice("PVT SRA, R=8", budget_mib=1e-9),
    ],
)
def test_choice_checkers_refuse_a_budget_nothing_meets(call):
    with pytest.raises(ValueError, match=r"budget_mib=1e-09 at size=\d+: no .* raise the budget"):
        call()


def test_check_ratio_choice_refuses_a_grid_too_small_in_the_name_of_h():
    from vit_notes import shunted

    with pytest.raises(ValueError, match=r"H=12 is too small .* use H >= 16"):
        shunted.check_ratio_choice(2, H=12, W=12)


@pytest.mark.parametrize(
    "path, bad",
    [
        (("seeds_by_detail",), "x"),
        (("seeds_by_detail", "0", "3"), float("nan")),
        (("seeds", "0"), float("nan")),
        (("seeds", "0"), "0.9"),  # an accuracy typed as text
    ],
    ids=["by-detail-text", "by-detail-nan", "seed-nan", "seed-text"],
)
def test_learned_checkers_name_the_results_field_they_refuse(path, bad):
    import copy

    from vit_notes import learned
    from vit_notes.learned import exercises

    results = copy.deepcopy(learned.load_results())
    field = results["models"]["pvt_sra8"]
    for key in path[:-1]:
        field = field[key]
    field[path[-1]] = bad
    where = "results['models']['pvt_sra8']" + "".join(f"[{k!r}]" for k in path)
    for call in (
        lambda: exercises.check_runs_to_pair([3, 4], model="pvt_sra8", results=results),
        lambda: learned.check_higher("yes", results=results),
        lambda: learned.check_prediction("higher", results=results),
    ):
        with pytest.raises(ValueError, match=re.escape(where) + ".*leave results out"):
            call()

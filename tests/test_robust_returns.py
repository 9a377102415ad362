"""The seventh robustness audit's findings (issue 19, review robust-r6), each test a student's
slip: what a student's function returns is read under their timer, their function cannot
switch the timer off, every global setting they change is put back, answers whose class
hides behind ``__class__`` are answered, and the package refuses by name what it cannot hold.

Every test that runs student code is bounded: the checker's timer is set short, and every loop
of the student's ends by itself after :data:`WAIT` seconds, so that a regression fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import io
import random
import re
import signal
import sys
import time
import unicodedata
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from test_robust_checkers import ANSWER_CHECKERS, FUNCTION_CHECKERS, GOOD
from torch.utils._python_dispatch import TorchDispatchMode

import vit_notes.compare  # noqa: F401  (the comparison chapter's checkers)
from vit_notes import checking, coatnet, learned, pvt, shunted, swin

#: ``signal``'s functions as the suite found them.
SIGNAL = {"signal": signal.signal, "setitimer": getattr(signal, "setitimer", None)}

#: How long a student's loop in these tests runs at most (the checker must stop it far sooner).
WAIT = 20.0


def name(check) -> str:
    return check.__name__


@pytest.fixture(autouse=True)
def _short_timer(monkeypatch):
    # long enough for the right steps on a busy machine, far shorter than WAIT
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 5.0)
    monkeypatch.setattr(checking, "ANSWER_SECONDS", 0.5)


def answered(call, *args) -> tuple[object, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        result = call(*args)
    return result, out.getvalue()


def returning(check, wrap):
    """A student's function for ``check`` that returns ``wrap`` of the right answer."""
    good = GOOD[check.__name__]
    return lambda *args: wrap(good(*args))


class Theirs(BaseException):
    """The student's own exception class, derived from BaseException by mistake."""


def _wait():
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        pass


class RaisingSteps(dict):
    """The slip: a dict subclass of the student's whose lookup raises their own exception."""

    def __contains__(self, key):
        raise Theirs("lookup")


class WaitingSteps(dict):
    """The slip: a dict subclass whose lookup waits on something that never comes."""

    def __contains__(self, key):
        _wait()
        return True


class RaisingTensor(torch.Tensor):
    """A tensor subclass of the student's whose ``detach`` and ``==`` raise."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("detach", "eq", "__eq__"):
            raise Theirs("tensor")
        return super().__torch_function__(func, types, args, kwargs or {})


class WaitingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("detach", "eq", "__eq__"):
            _wait()
        return super().__torch_function__(func, types, args, kwargs or {})


class Liar(torch.Tensor):
    """The cheat of r5's W3: a subclass whose ``allclose`` says yes to anything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.allclose:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def _as(cls):
    def wrap(value):
        if isinstance(value, dict):
            return {k: v.as_subclass(cls) for k, v in value.items()}
        return torch.as_tensor(value).as_subclass(cls)

    return wrap


DICT_CHECKERS = [c for c in FUNCTION_CHECKERS if c.__name__.endswith(("forward", "attention"))]


# --- N1, N2: what the student's function returns -----------------------------------------


@pytest.mark.parametrize("check", DICT_CHECKERS, ids=name)
def test_a_dict_whose_lookup_raises_their_own_base_exception_gets_a_verdict(check):
    ok, text = answered(check, returning(check, RaisingSteps))
    assert ok is False
    assert "could not be read" in text and "Theirs: lookup" in text


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
def test_a_tensor_subclass_that_raises_on_detach_gets_a_verdict(check):
    ok, text = answered(check, returning(check, _as(RaisingTensor)))
    assert text.startswith(("✅", "❌"))  # its values are read past its own methods


def test_a_dict_whose_lookup_never_returns_is_stopped():
    check = pvt.exercises.check_sra_forward
    start = time.monotonic()
    ok, text = answered(check, returning(check, WaitingSteps))
    assert ok is False and "did not answer" in text
    assert time.monotonic() - start < WAIT / 2


def test_a_tensor_subclass_whose_detach_never_returns_is_read_past_it():
    check = coatnet.exercises.check_relative_index
    start = time.monotonic()
    ok, text = answered(check, returning(check, _as(WaitingTensor)))
    assert ok is True, text
    assert time.monotonic() - start < WAIT / 2


@pytest.mark.parametrize(
    "check",
    [c for c in FUNCTION_CHECKERS if c.__name__ != "check_query_token"],
    ids=name,
)
def test_a_subclass_that_says_allclose_to_anything_is_not_correct(check):
    zeros = _as(Liar)

    def cheat(*args):
        right = GOOD[check.__name__](*args)
        if isinstance(right, dict):
            return zeros({k: torch.zeros_like(v) for k, v in right.items()})
        return zeros(torch.zeros_like(right))

    ok, text = answered(check, cheat)
    assert ok is False, text


# --- N3: an object whose __class__ property raises or never returns ----------------------


class Sneaky:
    @property
    def __class__(self):
        raise RuntimeError("cls")


class Stuck:
    @property
    def __class__(self):
        _wait()
        return Stuck


@pytest.mark.parametrize("check", ANSWER_CHECKERS, ids=name)
def test_an_answer_whose_class_property_raises_gets_a_message(check):
    ok, text = answered(check, Sneaky())
    assert ok is False and "own __class__" in text


def test_an_answer_whose_class_property_never_returns_gets_a_message():
    start = time.monotonic()
    ok, text = answered(pvt.check_sra_macs, Stuck())
    assert ok is False and "own __class__" in text
    assert time.monotonic() - start < WAIT / 2


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
def test_a_returned_object_whose_class_property_raises_gets_a_verdict(check):
    ok, text = answered(check, lambda *args: Sneaky())
    assert ok is False and "could not be read" in text


def test_a_returned_object_whose_class_property_never_returns_is_stopped():
    start = time.monotonic()
    ok, text = answered(learned.check_query_token, lambda *args: Stuck())
    assert ok is False and "did not answer" in text
    assert time.monotonic() - start < WAIT / 2


# --- N4: a student's function cannot switch the timer off --------------------------------


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no interval timers")
@pytest.mark.parametrize(
    "switch_off",
    [
        lambda: signal.setitimer(signal.ITIMER_REAL, 0),
        lambda: signal.signal(signal.SIGALRM, signal.SIG_IGN),
        lambda: signal.alarm(0),
        lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}),
    ],
    ids=["setitimer", "signal", "alarm", "sigmask"],
)
def test_a_function_that_switches_the_timer_off_is_still_stopped(switch_off):
    # The slip: code copied from a timing recipe that sets its own alarm, then a long loop.
    handler = signal.getsignal(signal.SIGALRM)

    def fn(H, W):
        switch_off()
        _wait()

    start = time.monotonic()
    try:
        ok, text = answered(coatnet.exercises.check_relative_index, fn)
    finally:  # so that a regression cannot leave the suite without its timer
        SIGNAL["signal"](signal.SIGALRM, handler)
        checking._SET_TIMER(signal.ITIMER_REAL, 0)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    assert ok is False and "SIGALRM" in text
    assert time.monotonic() - start < WAIT / 2
    assert signal.setitimer is SIGNAL["setitimer"] and signal.signal is SIGNAL["signal"]


def test_other_signals_and_timers_still_work_inside_a_checked_function():
    def fn(H, W):
        old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, old)
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        return coatnet.relative_position_index(H, W)

    ok, text = answered(coatnet.exercises.check_relative_index, fn)
    assert ok is True, text


# --- N5 to N8: global settings the student's function changes are put back ---------------


def _settings():
    return (
        torch.get_rng_state(),
        np.random.get_state()[1].copy(),
        random.getstate(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_anomaly_enabled(),
        sys.getrecursionlimit(),
        torch._C._len_torch_dispatch_stack(),
        sys.gettrace(),
    )


def _same(a, b) -> bool:
    return (
        torch.equal(a[0], b[0])
        and bool((a[1] == b[1]).all())
        and a[2:] == b[2:]
    )  # fmt: skip


class Passing(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _changes_everything(*args):
    # The slips: seeding for a reproducible try, debugging switches, a recursion limit set
    # for a recursive helper, a dispatch mode entered to log ops and never left
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    torch.use_deterministic_algorithms(True)
    torch.autograd.set_detect_anomaly(True)
    sys.setrecursionlimit(200)
    Passing().__enter__()
    raise ValueError("not done yet")


@pytest.mark.parametrize("check", FUNCTION_CHECKERS, ids=name)
def test_every_setting_a_student_function_changes_is_put_back(check, monkeypatch):
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 30.0)  # deterministic mode's first call
    before = _settings()
    ok, text = answered(check, _changes_everything)
    after = _settings()
    assert ok is False and "not done yet" in text
    assert _same(before, after), (before[3:], after[3:])


def test_a_trace_function_is_put_back_with_the_timer_off(monkeypatch):
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 0)
    before = sys.gettrace()

    def fn(H, W):
        sys.settrace(lambda *a: None)
        raise ValueError("x")

    ok, _ = answered(coatnet.exercises.check_relative_index, fn)
    assert ok is False
    assert sys.gettrace() is before


def test_a_recursion_limit_does_not_reach_the_checkers_message(monkeypatch):
    # the checker's own handling ran under the student's limit of 60 and failed far away
    def fn(H, W):
        sys.setrecursionlimit(max(60, len(_frames()) + 5))
        raise ValueError("x")

    ok, text = answered(coatnet.exercises.check_relative_index, fn)
    assert ok is False and "ValueError: x" in text


def _frames() -> list:
    f, out = sys._getframe(), []
    while f is not None:
        out.append(f)
        f = f.f_back
    return out


# --- N9: a file of the wrong kind ------------------------------------------------------


def test_loading_weights_from_a_text_file_names_the_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(ValueError, match=r"path=.*holds no study weights.*leave the default"):
        learned.load("pvt_full", path=path)
    with pytest.raises(ValueError, match=r"path=.*holds no results JSON.*leave the default"):
        learned.load_results(path)


def test_loading_results_from_other_json_names_the_path(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r"path=.*not the study's results"):
        learned.load_results(path)


def test_loading_weights_from_another_torch_file_names_the_path(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"x": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match=r"path=.*holds no weights for 'pvt_full'"):
        learned.load("pvt_full", path=path)


# --- N10: widths whose weights cannot be held ------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: pvt.identity_sra(32768, 1),
        lambda: swin.toy_window_attention(32768, 64),
        lambda: coatnet.identity_relative_attention(32768, (7, 7)),
        lambda: pvt.SpatialReductionAttention(32768, num_heads=1, sr_ratio=64),
        lambda: pvt.SpatialReductionAttention(1024, num_heads=1, sr_ratio=64),
        lambda: swin.WindowAttention(32768, (7, 7), 1),
    ],
    ids=["identity_sra", "toy_window", "identity_relative", "sra", "sra kernel", "window"],
)
def test_a_width_whose_weights_cannot_be_held_is_refused_by_name(call):
    # The slip: the width of the image (or of the whole model's tokens) passed as dim
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"dim=\d+ gives the layer .* use dim <= "):
        call()
    assert time.monotonic() - start < 1.0  # refused before anything is allocated


def test_the_official_widths_still_build():
    assert swin.WindowAttention(1536, (7, 7), 48).qkv.in_features == 1536
    assert pvt.SpatialReductionAttention(64, num_heads=1, sr_ratio=8).dim == 64


# --- N11: result records that could not be printed ----------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: learned.Interval(mean=0.5, low=0.4, high=0.6, n=10**5000),
        lambda: learned.Interval(mean=10**5000, low=0.0, high=1.0, n=1),
        lambda: learned.Interval(mean=2.0, low=0.0, high=1.0, n=3),
        lambda: learned.TrainLog(losses=[10**5000], seconds=1, settings={}),
    ],
    ids=["huge n", "huge mean", "mean outside", "huge loss"],
)
def test_a_record_it_could_not_print_is_refused(call):
    with pytest.raises(ValueError, match=r"^(n|mean|losses\[0\])"):
        call()


def test_a_train_log_keeps_nan_and_leaves_the_callers_list_alone():
    losses = [1, float("nan")]
    log = learned.TrainLog(losses=losses, seconds=1.0, settings={})
    assert losses == [1, losses[1]] and type(losses[0]) is int
    assert repr(log) and str(log)


# --- N12, N14: explorers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def swin_explorer():
    return swin.swin_explorer()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ex, s: ex.state_key(None), "state must be a dict"),
        (lambda ex, s: ex.figures(s, parts=None), "parts must be"),
        (lambda ex, s: ex.state_maps({**s, "zzz": 1}), "'zzz', which is no control"),
        (lambda ex, s: ex.query_cell((10**5000, 0)), "query row=a 5001-digit number"),
        (lambda ex, s: ex.caption(**{**s, "window_size": -1}), "window_size=-1: choose one"),
        (lambda ex, s: ex.caption(**{**s, "logit_scale": None}), "logit_scale=None: choose"),
        (lambda ex, s: ex.bars(**{**s, "block2": "yes"}), "block2='yes': choose"),
    ],
    ids=["key None", "parts None", "unknown control", "huge query", "caption -1",
         "caption None", "bars text"],
)  # fmt: skip
def test_an_explorer_checks_a_state_against_its_controls(swin_explorer, call, match):
    with pytest.raises((TypeError, ValueError), match=re.escape(match)):
        call(swin_explorer, swin_explorer.default_state())


def test_the_shunted_caption_refuses_what_its_controls_do_not_offer():
    ex = shunted.shunted_explorer()
    with pytest.raises(ValueError, match="sr_ratio=None"):
        ex.caption(sr_ratio=None, num_heads=2, size=224)
    with pytest.raises(ValueError, match="size=-1"):
        ex.caption(sr_ratio=8, num_heads=2, size=-1)


def test_the_learned_explorer_hands_out_copies_of_its_test_images():
    # The slip: ``img = ex.photo(**s); img.fill_(0.5)`` to try a plain image
    ex = learned.learned_explorer(images=2)
    state = ex.default_state()
    ex.photo(**state).fill_(0.5)
    assert not bool((ex.photo(**state) == 0.5).all())
    with pytest.raises(ValueError, match="image=-1: choose one of"):
        ex.photo(**{**state, "image": -1})  # it wrapped to the last image
    with pytest.raises(ValueError, match="image=-1: choose one of"):
        ex.caption(**{**state, "image": -1})


# --- N13: another script's digits, on the page as in the kernel ------------------------------


def test_the_pages_digit_table_is_pythons():
    script = (Path(__file__).parents[1] / "_static" / "vit_notes_answers.js").read_text()
    table = re.search(r"const DIGIT_ZEROS = \[(.*?)\];", script, re.S)[1]
    page = [int(z, 16) for z in re.findall(r"0x([0-9a-f]+)", table)]
    python = [
        cp
        for cp in range(128, sys.maxunicode + 1)
        if chr(cp).isdecimal() and unicodedata.decimal(chr(cp)) == 0
    ]
    assert page == python


@pytest.mark.parametrize("answer", ["٥٨٦٠٥٥٦٨", "５８６０５５６８", "٥٨,٦٠٥,٥٦٨", "٥٨.٦٠٥٥٦٨M"])
def test_a_count_in_another_scripts_digits_is_read(answer):
    ok, text = answered(pvt.check_sra_macs, answer)
    assert ok is True, text


def test_a_function_stopped_by_the_timer_leaves_signals_functions_as_they_were():
    def fn(H, W):
        _wait()

    ok, text = answered(coatnet.exercises.check_relative_index, fn)
    assert ok is False and "was stopped" in text
    assert signal.setitimer is SIGNAL["setitimer"] and signal.signal is SIGNAL["signal"]

"""The machinery of the chapters' exercise checkers (the checkers live in each chapter).

Each ``check_...`` function prints one message that says whether the answer is right and,
if not, what is wrong (a shape, a layout, a named slip, a missing term of a cost, the side
and band of a miss), and returns ``True``/``False`` so a notebook can assert on it. Any answer
gets a message, never a traceback: text, ``None``, NaN, infinity, a tensor, a NumPy value,
a huge number, a list.

Four kinds of checker share it:

* counts (:func:`check_count`): exact whole numbers, with known mistakes, missing terms of a
  sum (:func:`diagnose_sum`, which names every candidate when two terms are equal) and near
  misses (:func:`near_miss`);
* predictions (:func:`check_prediction`): a number read off an explorer, within a tolerance;
* judgements (:func:`check_choice`): one option of a few, each with its trade-off;
* forward passes (:func:`check_forward`): the student's intermediates compared with the
  package's, step by step, naming the first wrong step and how (:func:`compare_step`); the
  student's function gets a copy of the module whose forward refuses (:func:`steps_only`),
  and every step is required.

The rule for a wrong number: a message must not give the answer away. A prediction stops
being one if a single wrong try lets the reader work out the answer from their own value.
So a message for a WRONG number may say:

* which named slip it matches ("leaves out proj", "counts one of the two factors");
* the side: too high or too low;
* a coarse band (:func:`band`) that cannot be inverted, one of :data:`BANDS`: within 1%,
  within 10%, more than 10% off but less than 2×, 2× to 10× off, more than 10× off.

It must not print an exact ratio to the answer, an exact difference from it, the size of a
left-out term, or anything else from which the answer follows by arithmetic on the reader's
own value. A slip's name stays; its size goes. Three kinds of message are exempt: "it is the
answer rounded to N significant figures: give it exactly" (the reader already has those
digits), messages about the format or type of an answer, and messages for a RIGHT answer,
which explain it fully. A judgement (:func:`check_choice`) may name the right option after a
wrong choice: a choice is not a computation. The page's JavaScript twin
(``_static/vit_notes_answers.js``) follows the same rule, word for word.
"""

from __future__ import annotations

import _signal
import contextlib
import contextvars
import copy
import decimal
import functools
import gc
import itertools
import math
import numbers
import random
import re
import signal
import sys
import textwrap
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from . import validate
from .layers import keeps_global_rng
from .validate import digits

#: Printed lines wrap here, so that a checker's message fits the page without scrolling
#: (80, under the 90 of other output: its marks and symbols are wider than a letter).
LINE_WIDTH = 80

TWO_FLOPS = "that counts 2 FLOPs per multiply-add; the exercise counts each multiply-add once"

#: A count this close to the right one (relative) is called a near miss.
NEAR = 0.1


#: Seconds a student's function may run per call before a checker stops it and says so (where
#: a timer can interrupt it: the main thread of a Unix process, as in a Jupyter kernel).
STUDENT_SECONDS = 30.0


class StudentError(Exception):
    """A student's function raised, or ran past :data:`STUDENT_SECONDS`: ``str(e)`` says
    which, in words a message can use; ``original`` is the student's exception (or ``None``)."""

    def __init__(self, message: str, original: BaseException | None = None):
        super().__init__(message)
        self.original = original


class _TimeUp(BaseException):
    """Raised inside a student's function by the checker's timer (a ``BaseException``, so that
    the student's own ``except Exception`` cannot swallow it)."""


def _copy(value):
    """A copy to hand a student's function: tensors cloned, modules deep-copied, so that
    nothing the student changes in place reaches the checker's reference or a cache."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (torch.nn.Module, list, dict, np.ndarray)):
        return copy.deepcopy(value)
    return value


def _torch_state() -> tuple:
    """The global settings a student's function may change: the default dtype, the number of
    threads, grad mode, the depths of the torch function and dispatch mode stacks, the trace
    function, the recursion limit, deterministic and anomaly mode, and the random number
    generators of torch, NumPy and Python."""
    modes = len(torch.overrides._get_current_function_mode_stack())
    flags = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.is_anomaly_enabled(),
        torch.is_anomaly_check_nan_enabled(),
    )
    rngs = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    return (
        torch.get_default_dtype(),
        torch.get_num_threads(),
        torch.is_grad_enabled(),
        modes,
        torch._C._len_torch_dispatch_stack(),
        sys.gettrace(),
        sys.getrecursionlimit(),
        flags,
        rngs,
    )


def _restore_torch_state(state: tuple) -> None:
    """Put back what :func:`_torch_state` saw: a mode the student's code (or a checker's mode
    entered inside the timed call) left on either stack is popped, and a random generator
    the student seeded or drew from is put back where it was."""
    dtype, threads, grad, modes, dispatch, trace, limit, flags, rngs = state
    sys.settrace(trace)  # first: the student's trace function must not see the rest
    while torch._C._len_torch_dispatch_stack() > dispatch:
        torch._C._pop_torch_dispatch_stack(None)
    while len(torch.overrides._get_current_function_mode_stack()) > modes:
        torch._C._pop_torch_function_stack()
    if sys.getrecursionlimit() != limit:
        sys.setrecursionlimit(limit)
    if torch.get_default_dtype() != dtype:
        torch.set_default_dtype(dtype)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    torch.set_grad_enabled(grad)
    deterministic, warn_only, anomaly, check_nan = flags
    if torch.are_deterministic_algorithms_enabled() != deterministic or (
        torch.is_deterministic_algorithms_warn_only_enabled() != warn_only
    ):
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    if torch.is_anomaly_enabled() != anomaly or torch.is_anomaly_check_nan_enabled() != check_nan:
        torch.autograd.set_detect_anomaly(anomaly, check_nan)
    torch_rng, numpy_rng, python_rng = rngs
    torch.set_rng_state(torch_rng)
    np.random.set_state(numpy_rng)
    random.setstate(python_rng)


def _caught(e: BaseException) -> bool:
    """Whether a student's exception becomes a message: anything but a ``KeyboardInterrupt``
    (the reader stopping the cell), a ``BaseException`` subclass of the student's own too."""
    return not isinstance(e, KeyboardInterrupt)


def call_student(fn: Callable, *args, seconds: float | None = None, read: Callable | None = None):
    """``fn(*copies of args)``, the way every checker runs a student's code: the arguments are
    copies (:func:`_copy`), and a call that raises (anything but a ``KeyboardInterrupt``) or
    runs longer than ``seconds`` (default :data:`STUDENT_SECONDS`) becomes a
    :class:`StudentError` that says so. ``read``, if given, turns what ``fn`` returns into
    plain values inside the same timer (a returned dict's or tensor's own methods are the
    student's code too): what it raises or a time-out there is told as what was returned. The
    global settings of :func:`_torch_state` (dtype, threads, grad mode, both torch mode
    stacks, the trace function, the recursion limit, deterministic and anomaly mode, the
    random generators) are put back on every way out. While ``fn`` runs, ``signal``'s
    functions refuse to switch off the timer (:func:`_guard_timer`). Known limits: loops
    nested two or more deep that each swallow every exception with a bare ``except:`` can
    outlast the timer (CPython clears the trace hook after it raises), and so can a function
    that stops the timer through ``signal``'s functions imported by name before the call."""
    if not callable(fn):
        raise StudentError(f"give a function, got {describe(fn)}")
    seconds = STUDENT_SECONDS if seconds is None else seconds
    args = tuple(_copy(a) for a in args)
    state = _torch_state()
    try:
        return _run_timed(fn, args, seconds, read, state)
    finally:
        _restore_torch_state(state)


class _Unreadable(Exception):
    """What a student's function returned raised ``original`` while the checker read it."""

    def __init__(self, original: BaseException):
        super().__init__()
        self.original = original


def _read_result(fn: Callable, args: tuple, read: Callable | None, state: tuple | None):
    """``read(fn(*args))`` (or ``fn(*args)``), inside the timer of :func:`_run_timed`. The
    settings ``state`` (:func:`_torch_state`) are put back as soon as ``fn`` is done, so that
    neither ``read`` nor the checker's handling runs under the student's (a recursion limit
    of 100, say). An exception that ``read`` meets is wrapped in :class:`_Unreadable`; the
    timer's own passes."""
    try:
        result = fn(*args)
    except BaseException as e:
        # not after the timer's exception: until the flag is cleared, every call raises it
        if state is not None and not isinstance(e, _TimeUp):
            _restore_torch_state(state)
        raise
    if state is not None:
        _restore_torch_state(state)
    if read is None:
        return result
    _PHASE[0] = "read"
    bounding, _BOUNDING[0] = _BOUNDING[0], True  # a description inside: under this timer
    try:
        return read(result)
    except _TimeUp:
        raise
    except BaseException as e:
        if not _caught(e):
            raise
        raise _Unreadable(e) from None
    finally:
        _BOUNDING[0] = bounding


_PHASE = ["call"]  # what the timed call is doing: calling the function, or reading its result

#: The timer's own ``_signal.signal`` and ``signal.setitimer``: while student code runs, the
#: modules' are guarded (:func:`_guard_timer`), and a timer started inside (an answer read
#: under its own timer) must not meet the guard.
_SET_HANDLER, _SET_TIMER = _signal.signal, getattr(signal, "setitimer", None)


def _refusal_error(message: str) -> RuntimeError:
    """A ``RuntimeError`` whose message :func:`error_text` prints whole."""
    error = RuntimeError(message)
    error.whole = True
    return error


def _timer_guard(name: str, original: Callable) -> Callable:
    """``original`` (``signal``'s function ``name``), refusing to touch SIGALRM or the real
    timer: a ``RuntimeError`` that says so."""

    def guarded(*args, **kwargs):
        first = args[0] if args else None
        touches = {
            "signal": lambda: first == signal.SIGALRM,
            "setitimer": lambda: first == signal.ITIMER_REAL,
            "alarm": lambda: True,
            "pthread_sigmask": lambda: (
                first != signal.SIG_UNBLOCK and len(args) > 1 and signal.SIGALRM in set(args[1])
            ),
        }[name]
        if touches():
            raise _refusal_error(
                f"signal.{name} was asked to change SIGALRM or the real timer, which the "
                "checker's time limit uses; a checked function must not change them"
            )
        return original(*args, **kwargs)

    return guarded


_GUARDED = ("signal", "setitimer", "alarm", "pthread_sigmask")


def _guard_timer() -> list:
    """Make ``signal.signal``, ``setitimer``, ``alarm`` and ``pthread_sigmask`` (and the
    ``_signal`` module's, which ``signal.signal`` calls) refuse to touch SIGALRM or the real
    timer; every other signal and timer works. Returns what :func:`_unguard_timer` puts back.
    Plain functions, not a context manager: nothing of it may run while the timer's trace
    hook makes every call raise."""
    modules = [m for m in (signal, sys.modules.get("_signal")) if m is not None]
    saved = [(m, n, m.__dict__[n]) for m in modules for n in _GUARDED if n in m.__dict__]
    for m, name, original in saved:
        setattr(m, name, _timer_guard(name, original))
    return saved


def _unguard_timer(saved: list) -> None:
    for m, name, original in saved:
        setattr(m, name, original)


def _run_timed(
    fn: Callable,
    args: tuple,
    seconds: float,
    read: Callable | None = None,
    state: tuple | None = None,
):
    """``read(fn(*args))`` under the timer of :func:`call_student` (which see); no copies."""
    timed = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    outer_phase = _PHASE[0]
    _PHASE[0] = "call"
    if not timed:
        try:
            return _read_result(fn, args, read, state)
        except BaseException as e:  # the student's code: report what broke
            if not _caught(e):
                raise
            raise StudentError(_raised(e), e) from None
        finally:
            _PHASE[0] = outer_phase

    here = sys._getframe()
    old_trace = sys.gettrace()
    running = [True]
    collecting = [False]  # whether stop() switched off the garbage collector
    setitimer, set_handler = _SET_TIMER, _SET_HANDLER

    def halt(frame, event, arg):
        # once the time is up, every line of the student's code raises again: a bare
        # ``except:`` that swallowed the timer's exception raises it from its own body
        if not running[0] or frame.f_code is stop.__code__:
            return None
        if event in ("call", "line"):  # not "exception": its handler must be reached first
            raise _TimeUp
        return halt

    def stop(signum, frame):
        # the timer repeats every 0.1 s until the function returns; each time, the student's
        # frames (those below this call) are also made to raise on their next line
        if not running[0]:
            return
        if gc.isenabled():  # a collection's callbacks would meet the hook below and raise
            gc.disable()
            collecting[0] = True
        sys.settrace(halt)
        while frame is not None and frame is not here:
            frame.f_trace = halt
            frame.f_trace_lines = True
            frame = frame.f_back
        raise _TimeUp

    def disarm():
        running[0] = False
        setitimer(signal.ITIMER_REAL, 0)
        sys.settrace(old_trace)
        if collecting[0]:
            collecting[0] = False
            gc.enable()

    old_handler = set_handler(signal.SIGALRM, stop)
    old_timer = setitimer(signal.ITIMER_REAL, seconds, 0.1)
    guarded = _guard_timer()
    try:
        try:
            return _read_result(fn, args, read, state)
        finally:
            # Clear the flag before calling disarm(), not inside it only: while it is set the
            # trace hook raises on every call, including the call to disarm() itself, so the
            # timer would keep firing and its restored default handler would kill the process.
            running[0] = False
            disarm()
            _unguard_timer(guarded)  # before the handlers below, which may time an answer
    except _TimeUp:
        running[0] = False
        if _PHASE[0] == "read":
            raise StudentError(
                f"what your function returned did not answer within {seconds:g} s (its own "
                "methods ran on and were stopped); return a plain dict, tensor or number"
            ) from None
        raise StudentError(
            f"your function ran for more than {seconds:g} s and was stopped; look for a loop "
            "that does not end, or loop over whole tensors instead of single entries"
        ) from None
    except BaseException as e:  # the student's code: report what broke
        running[0] = False
        if not _caught(e):
            raise
        raise StudentError(_raised(e), e) from None
    finally:
        disarm()
        _unguard_timer(guarded)
        set_handler(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:  # someone else's timer was running: put it back
            setitimer(signal.ITIMER_REAL, *old_timer)
        _PHASE[0] = outer_phase


def _raised(e: BaseException) -> str:
    """What a student's function raised, for a message. ``exit()`` or ``sys.exit()`` inside it
    (a ``SystemExit``) is reported too, rather than ending the checker with no verdict; a
    ``KeyboardInterrupt`` (the reader stopping the cell) is not caught."""
    if isinstance(e, _Unreadable):
        return (
            f"what your function returned could not be read: its own methods raised "
            f"{error_text(e.original)}; return a plain dict, tensor or number"
        )
    if isinstance(e, SystemExit):
        return "your function called exit() (SystemExit); return the result instead"
    return f"your function raised {error_text(e)}"


# --- one description for the page and the kernel -----------------------------------------
#
# A chapter's count, prediction and choice checkers end in :func:`check_count`,
# :func:`check_prediction` or :func:`check_choice`. What they pass there is the exercise's
# whole description: :func:`page_spec` records it, and the site's answer box
# (``_static/vit_notes_answers.js``) checks a typed answer from it with the same messages.

_RECORDING: contextvars.ContextVar[bool] = contextvars.ContextVar("recording", default=False)


class _Recorded(Exception):
    def __init__(self, spec: dict | None):
        super().__init__()
        self.spec = spec


def _record(spec: dict | None):
    if _RECORDING.get():
        raise _Recorded(spec)


def _json_number(value):
    """An int as text (the page reads it as a BigInt, exact however large: through
    ``Decimal``, since ``str`` refuses more than 4,300 digits); a float as is."""
    return format(Decimal(value), "f") if isinstance(value, int) else float(value)


def _json_key(option):
    """A choice's option: a name as is, a whole number as a JSON number."""
    return option if isinstance(option, str) else int(option)


def _parse_name(parse) -> dict | None:
    """How the page reads a choice: ``as_int``, or :func:`option_named` over given names."""
    if parse is as_int:
        return {"kind": "int"}
    if isinstance(parse, functools.partial) and parse.func is option_named and not parse.args:
        return {"kind": "name", "names": list(parse.keywords["names"])}
    return None


def page_spec(checker: Callable, **kwargs) -> dict | None:
    """The description that ``checker(answer, **kwargs)`` checks a typed answer against, as
    JSON-ready data, or ``None`` where the checker has logic of its own (a page cannot check
    it: the reader runs it in a kernel). Prints nothing."""
    token = _RECORDING.set(True)
    try:
        checker(None, **kwargs)
    except _Recorded as done:
        return done.spec
    finally:
        _RECORDING.reset(token)
    return None  # pragma: no cover - every checker ends in a verdict


def verdict(ok: bool, message: str) -> bool:
    """Print the checker's message (wrapped at :data:`LINE_WIDTH`) and return ``ok``."""
    _record(None)  # a verdict of the checker's own: not a description the page can use
    text = ("✅ correct: " if ok else "❌ not yet: ") + message
    print(textwrap.fill(text, LINE_WIDTH, subsequent_indent="   ", break_on_hyphens=False))
    return ok


#: Seconds an answer's own methods (its ``__repr__``, ``__float__``, ``__index__``, ``__eq__``)
#: may run while a checker reads or describes it (at most :data:`STUDENT_SECONDS` too); past
#: that the checker stops them, as it stops a student's function, and says what it can.
ANSWER_SECONDS = 2.0

#: Exact types whose methods are Python's own: read without a timer.
_PLAIN = (int, float, str, bool, type(None))


def _bounded(fn: Callable, value, fallback):
    """``fn(value)``, where ``fn`` may call ``value``'s own methods: under the timer of
    :func:`call_student` (:data:`ANSWER_SECONDS`), ``fallback`` if that runs past it or raises."""
    if type(value) in _PLAIN or _BOUNDING[0]:  # inside another: its timer bounds this one
        return fn(value)
    seconds = ANSWER_SECONDS if STUDENT_SECONDS <= 0 else min(STUDENT_SECONDS, ANSWER_SECONDS)
    _BOUNDING[0] = True
    try:
        return _run_timed(fn, (value,), seconds)
    except StudentError:
        return fallback
    finally:
        _BOUNDING[0] = False


_BOUNDING = [False]  # whether a call of _bounded is running (they do not nest)


class _HiddenClass:
    """A stand-in for an answer whose class defines its own ``__class__`` (a property that
    raises, never returns or lies): ``isinstance`` would run it. It prints as that."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"a {self.name} (its own __class__)"


def _honest(answer):
    """``answer``, or a :class:`_HiddenClass` stand-in where a class of its type defines
    ``__class__``: read from the type's own dicts, so nothing of the answer's runs."""
    kind = type(answer)
    if any("__class__" in vars(k) for k in kind.__mro__ if k is not object):
        return _HiddenClass(_type_name(answer))
    return answer


def answers_any(checker: Callable) -> Callable:
    """An answer checker ``checker(answer, ...)`` that reads any answer: one whose class
    hides behind its own ``__class__`` (where ``isinstance`` would raise or never return) is
    told as such, not a traceback."""

    @functools.wraps(checker)
    def checked(answer, *args, **kwargs):
        return checker(_honest(answer), *args, **kwargs)

    return checked


def describe(answer, limit: int = 40) -> str:
    """A short description of any answer, for a message: its repr cut to ``limit`` characters,
    the shape of a tensor or array, the number of digits of a huge number, or its type where
    its repr raises or does not return within :data:`ANSWER_SECONDS`. Never raises."""
    stuck = f"a {_type_name(answer)} (its repr did not return)"
    return _bounded(functools.partial(_describe, limit=limit), answer, stuck)


def _describe(answer, limit: int) -> str:
    try:
        if isinstance(answer, numbers.Integral) and not isinstance(answer, bool):
            if abs(int(answer)) >= 10**limit:
                return f"a {digits(answer)}-digit number"
        shape = getattr(answer, "shape", None)
        if shape is not None and hasattr(answer, "dtype") and len(tuple(shape)) > 0:
            return f"a {type(answer).__name__} of shape {tuple(shape)}"
        text = repr(answer)
        if not isinstance(text, str):
            raise TypeError
    except Exception:  # a broken __repr__ (or shape) still gets a message
        return f"a {_type_name(answer)} (its repr raised an error)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(obj) -> str:
    try:
        return str(type(obj).__name__)
    except Exception:
        return "object"


def error_text(e: BaseException, limit: int = 200) -> str:
    """``'TypeError: what it says'`` for an exception raised by a student's code; never raises,
    even when the exception's ``str`` does. A message over ``limit`` characters is cut, unless
    the checker raised it (:func:`refusal`)."""
    text = _bounded(_message_of, e, None)
    if text is None:
        text = "(its message could not be printed)"
    whole = getattr(e, "whole", False) is True  # a checker's own refusal: it says what to do
    text = text if whole or len(text) <= limit else text[: limit - 3] + "..."
    return f"{_type_name(e)}: {text}" if text else _type_name(e)


def _message_of(e: BaseException) -> str | None:
    """``str(e)``, or ``None`` where it raises or is not text."""
    try:
        text = str(e)
    except Exception:
        return None
    return text if isinstance(text, str) else None


_SUFFIX = {"k": 3, "K": 3, "M": 6, "G": 9}  # the power of ten each suffix stands for
_DECIMAL = re.compile(r"([+-]?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?")
# a number followed by letters that are not a suffix the parser reads ("254.8m")
_WORD_SUFFIX = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?([A-Za-z]+)")


def _decimal_digits(m: re.Match, power: int) -> tuple[str, int]:
    """The decimal that ``m`` reads (a match of :data:`_DECIMAL` with a digit), times
    ``10**power``, exactly: its digits with no zero at either end, and the power of ten they
    are multiplied by. ``"0.2500"`` and 3 give ``("25", 1)``; zero gives no digits. The
    exponent must fit a float (at most six digits). Another script's digits were read as ASCII
    ones by :func:`_plain_text`. The page's twin is ``decimalDigits``."""
    digits = (m[2] + m[3]).lstrip("0")
    stripped = digits.rstrip("0")
    return stripped, int(m[4] or 0) - len(m[3]) + power + len(digits) - len(stripped)


def _scaled(text: str, power: int):
    """``text`` (a decimal) times ``10**power``, computed exactly: ``"0.2548"`` and 9 give
    254,800,000, where float arithmetic gives 254800000.00000003. A whole value below 2**63
    comes back as ``int``, any other as the nearest float; not a decimal: ``None``."""
    m = _DECIMAL.fullmatch(text)
    if not m or not (m[2] or m[3]):
        return None
    if len(m[4] or "") > 6:  # an exponent beyond any float: the float product (0 or inf)
        return float(text) * 10.0**power
    stripped, exp10 = _decimal_digits(m, power)
    if not stripped:
        return 0
    if exp10 >= 0 and len(stripped) + exp10 <= 19:
        value = int(m[1] + stripped) * 10**exp10
        return value if abs(value) < 2**63 else float(value)
    return float(f"{m[1]}{stripped}e{exp10}")


#: A comma that separates no thousands, not followed by exactly three digits ("3,22" with a
#: decimal comma, "2,5k"). The page's twin is ``LONE_COMMA``.
_LONE_COMMA = re.compile(r",(?![0-9]{3}(?![0-9]))")


def _plain_text(text: str) -> str:
    """Typed text as the parser reads it: stripped, without the digit separators ``_``,
    ``,`` and spaces (``" 1_000, 000 k"`` is ``"1000000k"``), and with any script's decimal
    digits as ASCII ones (``"٤٩"`` is ``"49"``: the one place they are read). A comma is read
    as a separator only before exactly three digits: any other comma stays, so ``"3,22"`` is
    not read as 322. The page's twin is ``plainText`` in ``_static/vit_notes_answers.js``."""
    text = _exact_str(text).strip()
    if not text.isascii():
        text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    text = text.replace("_", "").replace(" ", "")
    return text if _LONE_COMMA.search(text) else text.replace(",", "")


def unknown_suffix(answer) -> str | None:
    """For text such as ``"254.8m"`` or ``"254.8 million"``: the letters after the number,
    which no suffix of the parser matches; else ``None``."""
    if not isinstance(answer, str):
        return None
    m = _WORD_SUFFIX.fullmatch(_plain_text(answer))
    return m[1] if m and m[1] not in _SUFFIX else None


def format_note(answer) -> str | None:
    """Why typed text is not read as a number, where the slip is a known one: a suffix the
    parser does not read (``"254.8m"``), or a decimal comma (``"3,22"``); else ``None``."""
    if not isinstance(answer, str):
        return None
    suffix = unknown_suffix(answer)
    if suffix:
        return f"the suffixes read are k, M and G, not {suffix!r}"
    if _LONE_COMMA.search(_plain_text(answer)):
        return "a comma only separates thousands, as in 3,136: write a decimal with a point"
    return None


#: Float types narrower than Python's float, and the NumPy type that prints each one's values
#: (bfloat16's values are float32 values).
_NARROW = {
    torch.float32: np.float32,
    torch.float16: np.float16,
    torch.bfloat16: np.float32,
    np.dtype(np.float32): np.float32,
    np.dtype(np.float16): np.float16,
}


def _exact_str(text: str) -> str:
    """``text`` as a plain ``str``: a subclass's overridden methods are not called."""
    return text if type(text) is str else str.__str__(text)


def _scalar(answer):
    """A one-element tensor or array, or a NumPy scalar, as a Python number; else ``answer``.

    A float32 or float16 fraction comes back as the shortest decimal that its own type prints,
    the number the reader wrote or sees: ``np.float32(21.78)`` and ``torch.tensor(21.78)`` are
    21.78, not 21.780000686645508, whose digits no reader typed. A whole float32 or float16
    comes back exactly: ``torch.tensor(80121664.)`` is 80121664, a count summed in float32,
    though its shortest decimal, 8.012166e+07, is 80121660. A ``str`` subclass comes back
    as a plain ``str`` (its own methods, which the readers call, might raise)."""
    if isinstance(answer, str):
        return _exact_str(answer)
    if isinstance(answer, torch.Tensor) or type(answer).__module__ == "numpy":
        size = answer.numel() if isinstance(answer, torch.Tensor) else getattr(answer, "size", 1)
        if size == 1:
            try:
                value = answer.item()
            except Exception:  # an object array, say: not a number
                return answer
            try:
                narrow = _NARROW.get(answer.dtype)
            except TypeError:  # a dtype that cannot be looked up: not a narrow float
                narrow = None
            if narrow is not None and isinstance(value, float) and math.isfinite(value):
                # a whole number is exact: a count summed in float32 keeps its last digits
                return value if value.is_integer() else float(str(narrow(value)))
            return value
    return answer


def _parse_text(text: str):
    text = _plain_text(text).replace("×", "*")
    if text[-1:] in _SUFFIX and text[:-1]:
        return _scaled(text[:-1], _SUFFIX[text[-1]])  # exact: "0.2548G" is 254,800,000
    if re.fullmatch(r"[+-]?\d+", text):
        return _exact_int(text)  # exact, however long
    if re.fullmatch(r"[+-]?\d+/\d+", text):
        num, den = text.split("/")
        sign = -1.0 if num[:1] == "-" else 1.0
        value = _ratio_text(num.lstrip("+-"), den)
        return None if value is None else sign * value
    try:
        value = float(text)
    except (ValueError, OverflowError):
        return None
    return value


#: Typed numbers longer than this many digits are not converted (the conversion takes time
#: that grows with the square of the length): a stand-in of the same sign and length is used.
_TYPED_DIGITS = 20_000


class _ManyDigits(int):
    """A stand-in for a typed whole number of more than :data:`_TYPED_DIGITS` digits:
    ``±10**_TYPED_DIGITS`` (far too large for any count), carrying the typed length in
    ``typed_digits`` for messages."""

    typed_digits: int


def _exact_int(text: str) -> int:
    """``int(text)`` for a string of digits of any length (``int`` refuses more than 4,300
    digits; a ``Decimal`` does not). Beyond :data:`_TYPED_DIGITS` digits, a stand-in."""
    if len(text) < 4000:
        return int(text)
    sign = -1 if text[:1] == "-" else 1
    body = text.lstrip("+-").lstrip("0")
    if len(body) > _TYPED_DIGITS:
        value = _ManyDigits(sign * 10**_TYPED_DIGITS)
        value.typed_digits = len(body)
        return value
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):  # pragma: no cover - the caller matched digits
        return 0


def _ratio_text(num: str, den: str) -> float | None:
    """``num/den`` (digit strings) as a float, else ``None``: exact where both are short,
    from their leading 40 digits and lengths where one is too long to convert."""
    num, den = num.lstrip("0") or "0", den.lstrip("0") or "0"
    if den == "0":
        return None
    if max(len(num), len(den)) <= _TYPED_DIGITS:
        try:
            return float(Fraction(_exact_int(num), _exact_int(den)))
        except OverflowError:
            return None
    context = decimal.Context(prec=50, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    value = context.divide(
        Decimal(f"{num[:40]}E{len(num) - min(len(num), 40)}"),
        Decimal(f"{den[:40]}E{len(den) - min(len(den), 40)}"),
    )
    value = float(value)
    return value if math.isfinite(value) else None


def as_number(answer) -> int | float | None:
    """``answer`` as a finite real number, else ``None``.

    Whole numbers come back as ``int`` (exact, however large); ``12``, ``12.0``, ``"12"``,
    ``"3,136"``, ``"3.1e3"``, ``"58.6M"``, ``"5/2"``, a one-element tensor or a NumPy value all
    parse; text, ``None``, ``True``, NaN, infinity and lists do not, nor does an object whose
    own ``__float__`` or ``__index__`` runs past :data:`ANSWER_SECONDS`."""
    return _bounded(_as_number, answer, None)


def _as_number(answer) -> int | float | None:
    answer = _scalar(answer)
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Integral):
        return int(answer)
    if isinstance(answer, str):
        value = _parse_text(answer) if answer.strip() else None
    else:
        try:
            value = float(answer)
        except Exception:  # a list, a several-element tensor, text: not one number
            return None
    if value is None or isinstance(value, int):
        return value
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def as_int(answer) -> int | None:
    """``answer`` as a whole number (``12``, ``12.0``, ``"12"``, a one-element tensor), else
    ``None`` (text, ``None``, ``True``, NaN, infinity, a fraction, a list)."""
    value = as_number(answer)
    return value if isinstance(value, int) else None


def parse_count(answer, unit: str) -> int | None:
    """The answer as a whole number, or None after telling the student that it must be one."""
    value = as_int(answer)
    if value is None and format_note(answer):
        verdict(False, f"give a whole number of {unit}: {format_note(answer)}")
    elif value is None:
        verdict(False, f"give a whole number of {unit}, got {describe(answer)}")
    return value


def ratio(a, b) -> float:
    """``a / b`` as a float that never raises: infinity for a quotient too large for a float."""
    try:
        return a / b
    except OverflowError:
        return math.inf if (a > 0) == (b > 0) else -math.inf
    except ZeroDivisionError:
        return math.inf if a else 1.0


def _number(value) -> str:
    if isinstance(value, int):
        if abs(value) >= 10**24:
            return f"a {digits(value)}-digit number"
        return f"{value:,}"
    text = f"{value:,.6g}"
    if (
        isinstance(value, float)
        and not value.is_integer()
        and float(text.replace(",", "")) == round(value)
    ):
        return f"{value:,}"  # 49.00000000001, not "49": a fraction must not print as a whole number
    return text


def _typed_fraction(answer) -> bool:
    """Whether ``answer`` is text of an exact decimal that is not whole (``"49.00000000001"``,
    ``"58605.5680000000000001k"``), read exactly: a float would round it to a whole number."""
    if not isinstance(answer, str):
        return False
    text = _plain_text(answer)
    power = _SUFFIX.get(text[-1:], 0) if text[:-1] else 0
    text = text[:-1] if power else text
    m = _DECIMAL.fullmatch(text)
    if not m or not (m[2] or m[3]) or len(m[4] or "") > 6:
        return False
    stripped, exp10 = _decimal_digits(m, power)
    return bool(stripped) and exp10 < 0  # a digit after the point that is not a zero


def rel_error(value, right) -> float:
    """``|value − right| / |right|``, infinity where that is too large for a float."""
    try:
        return abs(value - right) / abs(right) if right else (0.0 if value == right else math.inf)
    except OverflowError:
        return math.inf


#: The units a count may be given in by mistake (123 for 123 M multiply-adds): their power
#: of ten and their name.
_UNIT_WORDS = ((3, "thousands"), (6, "millions"), (9, "billions"))


def _unit_slip(value, right) -> str | None:
    """``"millions"`` where ``value`` is ``right`` in millions to within 0.5% (three figures),
    and so for thousands and billions; a unit is named only where the answer is at least a
    tenth of one. The page's twin is ``unitSlip`` in ``_static/vit_notes_answers.js``."""
    try:
        if not (0 < value < right):
            return None
        for k, name in _UNIT_WORDS:
            if right >= 10 ** (k - 1) and rel_error(float(value) * 10.0**k, float(right)) <= 0.005:
                return name
    except OverflowError:
        return None
    return None


#: The bands a wrong number's message may name (the rule at the top of this module), from
#: the closest: a relative error up to 1% or 10%, then a factor (the larger of the value and
#: the answer over the smaller) under 2, from 2 to 10, or over 10.
BANDS = (
    "within 1% of the answer",
    "within 10% of the answer",
    "more than 10% off but less than 2×",
    "2× to 10× off",
    "more than 10× off",
)


def _beyond(big, small, k: int) -> bool:
    """Whether ``big > k * small`` (both at least 0), exactly for whole numbers."""
    if isinstance(big, int) and isinstance(small, int):
        return big > k * small
    return ratio(big, small) > k


def band(value, right) -> str:
    """``'too high|low, {band}'``: the side of a wrong ``value`` and its band of
    :data:`BANDS`. Neither can be inverted to the answer (the rule at the top of this
    module). A value of the other sign than ``right`` is told so instead of a band."""
    side = "too high" if value > right else "too low"
    if value and right and (value < 0) != (right < 0):
        return f"{side}, and of the wrong sign"
    rel = rel_error(value, right)
    if rel <= 0.01:
        return f"{side}, {BANDS[0]}"
    if rel <= NEAR:
        return f"{side}, {BANDS[1]}"
    big, small = (abs(value), abs(right)) if abs(value) > abs(right) else (abs(right), abs(value))
    if _beyond(big, small, 10):
        return f"{side}, {BANDS[4]}"
    if _beyond(big, small, 2) or big == 2 * small:
        return f"{side}, {BANDS[3]}"
    return f"{side}, {BANDS[2]}"


def how_far(value, right) -> str:
    """``'{value} is too high|low, {band}'``: the reader's own value, its side and its band
    (:func:`band`); never the difference or the ratio, which would give the answer away."""
    return f"{_number(value)} is {band(value, right)}"


def last_digit(value) -> float:
    """The place value of the last digit of ``value`` as written: 1 for a whole number,
    0.001 for 21.777 (the digits of its shortest ``repr``, as the page's box reads them). A
    NumPy integer is a whole number too (``repr(float(...))`` would write ``1000.0``)."""
    if isinstance(value, numbers.Integral):
        return 1.0
    return 10.0 ** decimal.Decimal(repr(float(value))).as_tuple().exponent


def within_digits(value, right) -> bool:
    """Whether ``value`` is ``right`` rounded or cut off at ``value``'s own last digit:
    rounded, at most half a unit of that digit away (21.78 and 22 for 196/9); cut off, toward
    zero by less than one unit (21.7 and 21.777). The margin of 1e-9 units keeps a float's
    rounding from passing 15.9 for 16, or 3.23 for 29/9."""
    unit = last_digit(value) * (1 - 1e-9)
    cut = abs(value) <= abs(right) and abs(right) - abs(value) < unit
    return abs(value - right) <= unit / 2 or (cut and value * right >= 0)


def rounded(value, right) -> int | None:
    """The number of significant figures (2 to 7) to which ``value`` is ``right`` rounded,
    or ``None`` (also where either is too large for a float: no such rounding is written)."""
    try:
        return next(
            (d for d in range(2, 8) if float(f"{right:.{d}g}") == float(value)),
            None,
        )
    except OverflowError:
        return None


def round_to_step(right: int, step: int) -> int:
    """``right`` rounded to the nearest multiple of ``step`` (a half rounds up); ``step`` is
    a whole number >= 1."""
    step = validate.positive_int("step", step)
    return (right + step // 2) // step * step


def step_roundings(right: int, step: int) -> list[int]:
    """``right`` rounded to the nearest ``step`` and to each finer step a tenth as large,
    down to 1, while the step stays whole (100,000; 10,000; ...; 1): every rounding a
    question that allows "to the nearest ``step``" should accept, since a finer rounding of
    the exact count is closer to it. A step that is not a multiple of 10 has no finer one."""
    out, s = [], int(step)
    while s >= 1:
        out.append(round_to_step(right, s))
        if s % 10:
            break
        s //= 10
    return list(dict.fromkeys(out))


def near_miss(value, right, unit: str, near: float = NEAR, step: int = 0) -> str | None:
    """If ``value`` is within ``near`` (relative) of ``right`` but not equal: a message that
    says it is close, its side and band (:func:`how_far`) and, for a rounded answer, to how
    many significant figures it agrees. With ``step`` (the question also allows the count rounded
    to the nearest ``step`` or finer), a whole-number miss is told to give it exactly or
    so rounded."""
    if value == right or not rel_error(value, right) <= near:
        return None
    text = f"close: {how_far(value, right)}"
    exactly = f"give it exactly, or rounded to the nearest {step:,} or finer" if step else ""
    digits = rounded(value, right)
    if digits is not None:
        text += f"; it is the answer rounded to {digits} significant figures: "
        text += exactly or "give it exactly"
    elif isinstance(value, float) and not value.is_integer():  # an int is whole, however long
        text += f"; a count of {unit} is a whole number"
    elif exactly:
        text += f"; {exactly}"
    return text


def missing_terms(value: int, total: int, terms: dict[str, int]) -> str | None:
    """If ``value`` is ``total`` less one or two of ``terms``: say which, by name only (the
    size of a left-out term would give the answer away). When several choices (one term, or
    two together) have the missing size, the count alone cannot tell them apart: say so and
    name each."""
    missing = total - value
    single = [name for name, term in terms.items() if term == missing]
    pairs = [
        f"{a} and {b}"
        for (a, ta), (b, tb) in itertools.combinations(terms.items(), 2)
        if ta + tb == missing
    ]
    if len(single) == 1 and not pairs:
        return f"{_number(value)} leaves out {single[0]}"
    if single and not pairs:
        return (
            f"{_number(value)} leaves out one term, and {len(single)} terms have the size it "
            f"lacks: {'; '.join(single)}. The count alone cannot tell which one you left out: "
            "check each"
        )
    if single:
        return (
            f"{_number(value)} leaves out one term or two together, and several choices have "
            f"the size it lacks: either {', or '.join(single + pairs)}. The count alone cannot "
            "tell which you left out: check each"
        )
    if pairs:
        which = pairs[0] if len(pairs) == 1 else "either " + ", or ".join(pairs)
        return f"{_number(value)} leaves out two terms: {which}"
    return None


def diagnose_sum(
    value: int, total: int, terms: dict[str, int], mistakes: list[tuple[int, str]], fallback: str
) -> bool:
    """Say what a wrong count of a sum of ``terms`` got wrong: the term(s) left out
    (:func:`missing_terms`), then the first known mistake ``(wrong value, why)`` it equals,
    else ``fallback``."""
    missing = missing_terms(value, total, terms)
    if missing:
        return verdict(False, missing)
    for wrong, why in mistakes:
        if value == wrong:
            return verdict(False, why)
    return verdict(False, fallback)


def _whole_parts(value: int, right: int, n: int) -> int | None:
    """``k`` where ``value`` is ``k`` of the ``n`` equal parts of ``right``, for a whole ``k``
    from 2 to ``4n`` other than ``n``; else ``None``."""
    n = int(n)
    if n < 1 or right % n:
        return None
    part = right // n
    if part <= 0 or value % part:
        return None
    k = value // part
    return k if 2 <= k <= 4 * n and k != n else None


def check_count(
    answer,
    right: int,
    unit: str,
    correct: str,
    *,
    mistakes: Iterable[tuple[int, str]] = (),
    terms: dict[str, int] | None = None,
    hint: str = "",
    step: int = 0,
    parts: tuple[int, str] | None = None,
) -> bool:
    """Check a whole-number answer against ``right``: a known mistake ``(wrong value, why)``,
    one or two of ``terms`` (the parts of the sum) left out, a near miss, or its side and band
    (``hint`` says where to look). ``step``: where the question also allows the count rounded
    to the nearest ``step`` (100,000, say), that rounding is right too, and so is a finer one
    (to 10,000, ..., 1: :func:`step_roundings`), but no other value near it; a near miss is
    told how to round (default 0: only the exact count). ``parts``: ``(n, why)`` where
    ``right`` is ``n`` equal parts (one per head, say). A whole answer of ``k`` such parts,
    for ``k`` from 2 to ``4n`` other than ``n``, is ``k/n`` of the right count: an integer
    multiple or fraction of it when ``n`` or ``k`` divides the other. It is told ``why`` with
    ``{k}`` replaced by ``k``. Known mistakes are tried first. Any other wrong count is told
    only its side and band (:func:`how_far`), never how far in numbers."""
    step = validate.positive_int("step", step, minimum=0, maximum=10**18, why="a rounding step")
    _record(
        {
            "kind": "count",
            "right": _json_number(right),
            "unit": unit,
            "correct": correct,
            "mistakes": [[_json_number(w), why] for w, why in mistakes],
            "terms": [[name, _json_number(t)] for name, t in (terms or {}).items()],
            "hint": hint,
            "step": _json_number(int(step)),
            "parts": None if parts is None else [_json_number(int(parts[0])), parts[1]],
        }
    )
    value = as_number(answer)
    if value is None and format_note(answer):
        return verdict(False, f"give a whole number of {unit}: {format_note(answer)}")
    if value is None:
        return verdict(False, f"give a whole number of {unit}, got {describe(answer)}")
    not_whole = f"a number of {unit} is whole, got "
    if _typed_fraction(answer) and not (isinstance(value, float) and not value.is_integer()):
        # a fraction too fine for a float, which reads it as a whole number
        return verdict(False, not_whole + describe(answer))
    if value == right or (step and value in step_roundings(right, step)):
        return verdict(True, correct)
    if isinstance(value, int):
        for wrong, why in mistakes:
            if value == wrong:
                return verdict(False, why)
        k = _whole_parts(value, right, parts[0]) if parts else None
        if k is not None:
            return verdict(False, parts[1].replace("{k}", str(k)))
        missing = missing_terms(value, right, terms) if terms else None
        if missing:
            return verdict(False, missing)
    unit_slip = _unit_slip(value, right)
    if unit_slip:
        return verdict(
            False,
            f"{_number(value)} looks like the count in {unit_slip}: "
            f"give the number of {unit} itself",
        )
    close = near_miss(value, right, unit, step=step)
    if close:
        return verdict(False, close)
    if value <= 0:
        return verdict(False, f"a number of {unit} is positive, got {_number(value)}")
    if isinstance(value, float) and not value.is_integer():
        return verdict(False, not_whole + _number(value))
    text = how_far(value, right)
    return verdict(False, f"{text}; {hint}" if hint else text)


#: The signs a factor may end in: "27×", as the pages write one, or "27x", as it is typed.
TIMES_SIGNS = ("x", "X", "×")


def factor_text(answer) -> str | None:
    """For text such as ``"27×"`` or ``" 27 x "``: the text before the times sign, spaces
    stripped (``"27"``); else ``None``. :func:`check_prediction` reads it as the number."""
    if not isinstance(answer, str):
        return None
    text = _exact_str(answer).strip()
    return text[:-1].strip() if text[-1:] in TIMES_SIGNS else None


def check_prediction(
    answer,
    right: float,
    what: str,
    then: str,
    *,
    correct: str = "",
    mistakes: Iterable[tuple[float, str]] = (),
    rel_tol: float = 0.02,
    inexact: str = "",
    then_wrong: str | None = None,
) -> bool:
    """A prediction of ``what`` (a number, ``right``), to be checked on an explorer afterwards.

    Within ``rel_tol`` (relative) is right, since a value read off a figure is rounded (then
    ``correct`` says why); a known mistake ``(its value, why)`` is named; any other wrong
    value is told its side and band (:func:`how_far`). Every message ends with ``then``, the
    slider to move to see it. Where ``then`` shows the answer, pass ``then_wrong``: a wrong
    answer then ends with it instead, and an answer that is neither right nor a known mistake
    is told only too large or too small.

    Where the answer is an exact number a reader can work out (not read off a figure), pass
    ``inexact``: then within ``rel_tol`` only ``right`` (to 1e-6, relative), or ``right``
    rounded or cut off at the answer's own last digit (:func:`within_digits`), is right.
    Any other value there is told it is close, its side and band, and ``inexact`` (say where
    the exact value comes from, not what it is).

    A text answer that ends in ``x``, ``X`` or ``×`` (spaces around it allowed) reads as the
    number before it: ``"27×"`` and ``" 27 x "`` are 27, a factor written as the pages write
    one (:func:`factor_text`)."""
    _record(
        {
            "kind": "prediction",
            "right": float(right),
            "right_g": f"{right:g}",
            "what": what,
            "then": then,
            "correct": correct,
            "mistakes": [[float(w), why] for w, why in mistakes],
            "rel_tol": float(rel_tol),
            "inexact": inexact,
            "then_wrong": then_wrong,
        }
    )
    right_then, then = then, then if then_wrong is None else then_wrong
    value = as_number(answer)
    if value is None:
        value = as_number(factor_text(answer))
    if value is None and format_note(answer):
        note = format_note(answer)
        return verdict(False, f"write your prediction of {what} as a number: {note}")
    if value is None:
        return verdict(
            False, f"write your prediction of {what} as a number, got {describe(answer)}"
        )

    def close(a, b):
        return rel_error(a, b) <= rel_tol

    if close(value, right):
        exact = rel_error(value, right) <= 1e-6 or rounded(value, right)
        if inexact and not (exact or within_digits(value, right)):
            return verdict(False, f"close: {how_far(value, right)}; {inexact}. {then}")
        return verdict(True, f"{correct or f'{right:g}'}. {right_then}")
    for wrong, why in mistakes:
        if close(value, wrong):
            return verdict(False, f"{why}. {then}")
    if then_wrong is not None:
        way = "large" if value > right else "small"
        return verdict(False, f"{_number(value)} is too {way}. {then}")
    close_to = "close: " if rel_error(value, right) <= NEAR else ""
    return verdict(False, f"{close_to}{how_far(value, right)}. {then}")


def check_choice(
    answer,
    options: dict,
    right,
    question: str,
    *,
    parse: Callable = lambda a: a,
) -> bool:
    """A design judgement: ``answer`` (read with ``parse``) must be one of ``options``, which
    maps each option to why it is or is not the one; the right option's text explains the
    trade-off."""
    reader = _parse_name(parse)
    _record(
        reader
        and {
            "kind": "choice",
            "parse": reader,
            "options": [[_json_key(o), text] for o, text in options.items()],
            "right": None if right is None else _json_key(right),
            "allowed": ", ".join(repr(o) for o in options),
            "question": question,
        }
    )

    def read(answer):
        try:
            choice = parse(answer)
            # the option itself, not the answer: an answer whose == lies is no option
            key = next((o for o in options if type(o) is type(choice) and o == choice), None)
            return key, key is not None
        except Exception:  # any answer gets a message (an unhashable one too)
            return None, False

    choice, known = _bounded(read, answer, (None, False))  # a hash or == that never returns
    if not known:
        allowed = ", ".join(repr(o) for o in options)
        return verdict(False, f"{question}: choose one of {allowed}; got {describe(answer)}")
    return verdict(choice == right, options[choice])


def option_named(answer, names: Iterable[str]) -> str | None:
    """The one of ``names`` that ``answer`` names: equal ignoring case and spaces, else the
    only name that contains it; ``None`` if none or several do."""
    if not isinstance(answer, str):
        return None

    def key(s):
        return re.sub(r"[\s_\-]", "", s.lower())

    names = list(names)
    exact = [n for n in names if key(n) == key(answer)]
    if exact:
        return exact[0]
    partial = [n for n in names if key(answer) and key(answer) in key(n)]
    return partial[0] if len(partial) == 1 else None


# --- forward passes, step by step ---------------------------------------------------------


#: What :func:`compare_step` says of a step whose values are right but in the wrong order,
#: unless the step has its own ``order``.
WRONG_ORDER = (
    "some axis was split or merged the wrong way "
    "(e.g. the channels into heads: the head is the outer factor, '(h d)')"
)


@dataclass(frozen=True)
class Step:
    """One intermediate of a forward pass: its dimensions (``"B heads N d"``), what it is, an
    optional extra diagnosis ``check(got) -> message or None`` for wrong values, and optional
    ``axes``: a name per dimension for the position of a wrong entry ("window 1, query 0,
    key 2"), where two dimensions share a size label such as ``M²``, and an optional ``order``:
    what to say when the values are right but in the wrong order (default
    :data:`WRONG_ORDER`), for a step where a split or merged axis is not the likely slip."""

    dims: str
    what: str
    check: Callable[[torch.Tensor], str | None] | None = None
    axes: tuple[str, ...] = ()
    order: str = ""

    def __post_init__(self):
        if self.axes and len(self.axes) != len(self.dims.split()):
            raise ValueError(
                f"axes={self.axes!r}: give one name per dimension of {self.dims!r}, "
                f"{len(self.dims.split())} in all"
            )


def softmax_rows(got: torch.Tensor) -> str | None:
    """An attention map's rows must each sum to 1 (the softmax runs over the keys)."""
    sums = got.sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        if torch.allclose(got.sum(-2), torch.ones_like(got.sum(-2)), atol=1e-3):
            return "its columns sum to 1, its rows do not: the softmax runs over the keys (dim=-1)"
        return "its rows do not sum to 1: the map is a softmax over the keys (the last dim)"
    return None


ATOL = 1e-4


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=ATOL)


class _Shown:
    """A stand-in for a value a student's code returned that is not a tensor: what
    :func:`describe` said of it, read under the student's timer."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def plain_value(value, arrays: bool = True):
    """``value`` (from a student's code) with none of its own methods left to run: a tensor
    (a subclass's too, read past its ``__torch_function__``) or, with ``arrays``, a NumPy
    array as a plain tensor copy; ``None`` as is; anything else as a stand-in that prints its
    description. Call it under the student's timer (``call_student``'s ``read``): it runs
    their methods."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            return value.as_subclass(torch.Tensor).detach().clone()
    if arrays and type(value).__module__ == "numpy" and hasattr(value, "shape"):
        try:
            return torch.as_tensor(np.array(value))
        except Exception:  # an object array, say: not numbers
            pass
    return _Shown(_describe(value, 40))


def _read_steps(keys: list[str]) -> Callable:
    """What :func:`check_forward` reads of a student's returned value, as plain data (run
    under their timer): ``("output", text)`` for a tensor or array alone, ``("other", text)``
    for anything but a dict, ``("keys", None)`` where its keys cannot be read, ``("lost",
    keys)`` for missing steps, ``("key", key)`` where one step's value cannot be read, and
    ``("steps", {key: plain value})`` (:func:`plain_value`)."""

    def read(got):
        if isinstance(got, torch.Tensor) or type(got).__module__ == "numpy":
            return "output", None
        if not isinstance(got, dict):
            return "other", _describe(got, 40)
        try:
            lost = [key for key in keys if key not in got]
        except Exception:  # a dict subclass whose lookup raises
            return "keys", None
        if lost:
            return "lost", lost
        steps = {}
        for key in keys:
            try:
                steps[key] = plain_value(got[key])
            except Exception:  # a dict subclass whose lookup raises
                return "key", key
        return "steps", steps

    return read


def _as_tensor(got):
    if type(got).__module__ == "numpy" and hasattr(got, "shape"):
        got = torch.as_tensor(got)
    if not isinstance(got, torch.Tensor) or got.is_complex() or got.device.type == "meta":
        raise TypeError
    return got.detach().cpu().to(torch.float64)


def _layout(got: torch.Tensor, want: torch.Tensor, labels: list[str]) -> str | None:
    """If some permutation of ``got``'s dims, then a reshape, equals ``want``: say how."""
    if got.numel() != want.numel() or got.dim() > 6:
        return None
    expected = f"({', '.join(labels)}) = {tuple(want.shape)}"
    for p in itertools.permutations(range(got.dim())):
        moved = got.permute(p)
        if moved.shape == want.shape:
            if list(p) != list(range(got.dim())) and _close(moved, want):
                yours = [""] * got.dim()
                for j, src in enumerate(p):
                    yours[src] = labels[j]
                return (
                    f"the right values in the wrong layout: your dims are ({', '.join(yours)}), "
                    f"expected {expected}; .permute{tuple(p)} fixes it"
                )
        elif _close(moved.reshape(want.shape), want):
            fix = (
                f".reshape{tuple(want.shape)}"
                if list(p) == list(range(got.dim()))
                else f".permute{tuple(p)}.reshape{tuple(want.shape)}"
            )
            return (
                f"the right values in the wrong layout: shape {tuple(got.shape)}, expected "
                f"{expected}; {fix} fixes it"
            )
    # split first, then permute: e.g. heads merged into channels, (B, N, C) for (B, h, N, d)
    for p in itertools.permutations(range(want.dim())):
        moved = want.permute(p)
        if moved.shape != got.shape and _close(moved.reshape(got.shape), got):
            back = tuple(sorted(range(want.dim()), key=lambda j: p[j]))
            return (
                f"the right values in the wrong layout: shape {tuple(got.shape)}, expected "
                f"{expected}; .reshape{tuple(moved.shape)}.permute{back} fixes it"
            )
    return None


def _where(index: tuple[int, ...], labels: list[str], axes: tuple[str, ...] = ()) -> str:
    if axes and len(axes) == len(index):
        return ", ".join(f"{n} {i}" for n, i in zip(axes, index, strict=True))
    if len(labels) != len(index):
        return str(index)
    return ", ".join(f"{n}={i}" for n, i in zip(labels, index, strict=True))


def compare_step(
    got, want: torch.Tensor, step: Step, mistakes: dict[str, torch.Tensor]
) -> str | None:
    """``None`` if ``got`` equals ``want``; else what is wrong, checked in this order: not
    computed, not a tensor, a known mistake of ``mistakes`` (its description -> its value), the
    shape, the layout (a permutation and/or reshape of the right values), the order of the
    values, the values (how far, where, and ``step.check``)."""
    labels = step.dims.split()
    expected = f"({', '.join(labels)}) = {tuple(want.shape)}"
    if got is None:
        return f"not computed yet (None); expected {expected}"
    try:
        got = _as_tensor(got)
    except (TypeError, RuntimeError):
        return f"give a tensor, got {describe(got)}"
    want = want.detach().to(torch.float64)
    if got.numel() == want.numel() and _close(got.reshape(want.shape), want):
        if got.squeeze().shape == want.squeeze().shape:
            return None  # only dims of size 1 differ: the same tensor
    for why, alt in mistakes.items():
        alt = alt.detach().to(torch.float64)
        if (
            not _close(alt, want)
            and got.numel() == alt.numel()
            and _close(got.reshape(alt.shape), alt)
        ):
            return why
    if got.numel() != want.numel():
        text = f"shape {tuple(got.shape)}, expected {expected}"
        if got.dim() == want.dim():
            off = [
                f"{n}: {w} expected, got {g}"
                for n, w, g in zip(labels, want.shape, got.shape, strict=False)
                if w != g
            ]
            text += " (" + "; ".join(off) + ")"
        like = [why for why, alt in mistakes.items() if tuple(alt.shape) == tuple(got.shape)]
        if like:
            text += f". That is the shape you get when {like[0]}"
        return text
    layout = _layout(got, want, labels)
    if layout:
        return layout
    if got.shape != want.shape:
        return f"shape {tuple(got.shape)}, expected {expected}, and the values differ"
    if not torch.isfinite(got).all():
        bad = int((~torch.isfinite(got)).sum())
        return f"{bad} of {got.numel()} entries are NaN or infinite"
    if _close(got.flatten().sort().values, want.flatten().sort().values):
        return f"the right values in the wrong order: {step.order or WRONG_ORDER}"
    err = (got - want).abs()
    i = int(err.argmax())
    index = tuple(int(k) for k in np.unravel_index(i, tuple(got.shape)))
    off = int((err > ATOL + 1e-4 * want.abs()).sum())
    text = (
        f"right shape, wrong values: {off} of {got.numel()} entries differ, by up to "
        f"{err.max().item():.3g} (at {_where(index, labels, step.axes)}: {got[index].item():.4g}, "
        f"expected {want[index].item():.4g})"
    )
    extra = step.check(got) if step.check else None
    return f"{text}; {extra}" if extra else text


#: The most entries a token checker's configuration may ask of one image's attention map (and
#: of its tokens): 2**24 floats, 64 MiB (the default configurations ask at most 2**18).
_MAX_MAP = 2**24


def _token_configs(configs) -> list[tuple[int, int, int, int, int]]:
    """``configs`` checked: a non-empty list of ``(H, W, dim, heads, sr_ratio)``."""
    if isinstance(configs, (list, tuple)) and not configs:
        return []  # check_forward says that no configuration was given
    out, total = [], 0
    fields = ("H", "W", "dim", "heads", "sr_ratio")
    for i, config, (H, W, dim, heads) in validate.layer_configs(configs, fields):
        r = validate.kernel(f"configs[{i}] sr_ratio", config[4])
        tokens, keys = H * W, max(1, H // r) * max(1, W // r)
        total = validate.forward_work(
            i,
            config,
            max(heads * tokens * keys, tokens * dim),
            total,
            weights=validate.layer_weights(dim, kernel=r if r > 1 else 0),
        )
        if heads * tokens * keys > _MAX_MAP or tokens * dim > _MAX_MAP:
            raise ValueError(
                f"configs[{i}] = {validate.shown(tuple(config))} asks for an attention map of "
                f"heads x N x N_k = {heads} x {tokens:,} x {keys:,} entries (and {tokens:,} x "
                f"{dim} token entries) per image; the checker allows at most {_MAX_MAP:,} of "
                "each: use a smaller grid, fewer heads or a larger sr_ratio"
            )
        out.append((H, W, dim, heads, r))
    return out


@keeps_global_rng
def token_layer_cases(make: Callable, configs: Iterable) -> Iterable:
    """The configurations a token-grid attention checker tries: for each ``(H, W, dim, heads,
    sr_ratio)``, a label, the layer ``make(dim, heads, sr_ratio)`` with every parameter nudged
    off its initial value (non-trivial biases and norms, so that no forgotten term can hide),
    and its inputs ``(x, H, W)``, two images of random tokens. Seeded: the same every call.
    Every configuration is checked before the first case is built, so that a slip in a
    teacher's list gets an error that names the entry."""
    configs = _token_configs(configs)
    torch.manual_seed(0)
    for H, W, dim, heads, r in configs:
        layer = make(dim, heads, r).eval()
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.05 * torch.randn_like(p))
        x = torch.randn(2, H * W, dim)
        yield f"H={H}, W={W}, dim={dim}, heads={heads}, sr_ratio={r}", layer, (x, H, W)


#: The parts of a layer that are not steps of its own (nothing to call): left out of the list
#: that :func:`steps_only` prints.
_NOT_PARTS = (torch.nn.Dropout, torch.nn.Identity)

_REFUSING: dict[tuple[type, str], type] = {}


def refusal(message: str) -> NotImplementedError:
    """The ``NotImplementedError`` a part the checker switched off raises: its message says
    what to do instead, so :func:`error_text` prints it whole."""
    error = NotImplementedError(message)
    error.whole = True
    return error


def _refusing_class(cls: type, message: str) -> type:
    """A subclass of ``cls`` whose ``forward`` raises ``NotImplementedError(message)`` (one per
    class and message, so that a checker does not make a new class every call)."""
    key = (cls, message)
    if key not in _REFUSING:

        def forward(self, *args, **kwargs):
            raise refusal(message)

        _REFUSING[key] = type(
            cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__}
        )
    return _REFUSING[key]


def parts_of(module: torch.nn.Module) -> list[str]:
    """The names of ``module``'s own submodules a student calls to rebuild its forward (its
    layers and norms; not its dropouts or identities)."""
    return [n for n, m in module.named_children() if not isinstance(m, _NOT_PARTS)]


def call_the_parts(module: torch.nn.Module, name: str) -> str:
    """The default refusal: ``'call the layer's parts (q, kv, proj, sr, norm), not the layer
    itself: the checker switched off SpatialReductionAttention's forward'``."""
    parts = ", ".join(parts_of(module))
    return (
        f"call the layer's parts ({parts}), not the layer itself: the checker switched off "
        f"{name}'s forward"
    )


def steps_only(module: torch.nn.Module, refuse: dict[str, str]) -> torch.nn.Module:
    """A deep copy of ``module`` in which the forward of each submodule named in ``refuse`` (its
    path in ``module``; ``""`` is the module itself) raises ``NotImplementedError`` with that
    message. Its weights, its other submodules and its methods work as before, and
    ``isinstance`` still holds: a student's function that rebuilds the forward from the parts
    runs; one that calls the module fails, and is told why. ``module`` itself is untouched."""
    guarded = copy.deepcopy(module)
    for path, message in refuse.items():
        sub = guarded.get_submodule(path)
        sub.__class__ = _refusing_class(type(sub), message)
    return guarded


class _RefusingCalls(TorchFunctionMode):
    """While active, a torch function for which ``refuse(name)`` gives a message raises
    ``NotImplementedError`` with it; every other call runs as before. A mode, not a patched
    attribute: ``F.conv2d``, ``torch.conv2d``, a ``conv2d`` imported earlier, an ``nn.Conv2d``
    and ``torch.ops.aten.convolution`` all pass through it."""

    def __init__(self, refuse: Callable[[str], str | None]):
        super().__init__()
        self.refuse = refuse

    def __torch_function__(self, func, types, args=(), kwargs=None):
        message = self.refuse(getattr(func, "__name__", "") or "")
        if message:
            raise refusal(message)
        return func(*args, **(kwargs or {}))


def refusing_calls(refuse: Callable[[str], str | None] | None):
    """A context in which the torch functions ``refuse`` names (it maps a function's name,
    such as ``"conv2d"``, to the message it raises, or to ``None``) refuse to run. Leaving it,
    by a return, an exception or a checker's timer, switches them back on."""
    return _RefusingCalls(refuse) if refuse is not None else contextlib.nullcontext()


def _steps_list(keys: list[str]) -> str:
    rest = [k for k in keys if k != "out"]
    return f"{', '.join(rest)} and out" if rest else "out"


def _fit_output(alts: dict, got: dict, want: dict, steps: dict[str, Step]) -> dict:
    """The mistakes of ``alts`` that may be named: a right ``"out"`` rules out every mistake
    that changes the output, so a right output is never diagnosed as wrong."""
    if "out" not in want:
        return alts
    try:
        right = compare_step(got.get("out"), want["out"], steps["out"], {}) is None
    except Exception:  # an output no comparison can read is not right
        right = False
    if not right:
        return alts
    want_out = want["out"].detach().to(torch.float64)
    return {m: s for m, s in alts.items() if _close(s["out"].detach().to(torch.float64), want_out)}


def check_forward(
    fn: Callable,
    cases: Iterable[tuple[str, object, tuple]],
    reference: Callable,
    steps: dict[str, Step],
    name: str,
    *,
    mistakes: dict[str, str] | None = None,
    on_error: Callable[[Exception], str] | None = None,
    refuse: dict[str, str] | Callable[[torch.nn.Module], dict[str, str]] | None = None,
    refuse_calls: Callable[[str], str | None] | None = None,
) -> bool:
    """Run the student's ``fn(module, *args)`` on every case ``(label, module, args)`` and
    compare what it returns with ``reference(module, *args)``, step by step.

    ``fn`` gets a copy of the module whose forward refuses to run (:func:`steps_only`): the
    exercise is to rebuild that forward from the module's parts, so ``return attn(x, H, W)``
    fails and is told so. ``refuse`` maps each submodule path to switch off (``""``, the
    module) to the message it raises; by default the module alone, with
    :func:`call_the_parts`. ``refuse`` may also be a function of the case's module that
    returns that dict, for parts that only some cases' modules have. ``fn`` returns a dict of
    every step the reference computes for the case, under the names of ``steps`` (in the
    order of the forward pass; ``"out"`` is the output): the output alone, or a dict that
    leaves a step out, is "not yet", and is told which steps are missing. The first step that
    differs is named with what is wrong (:func:`compare_step`). ``mistakes`` maps a mistake's
    key to its description; ``reference(module, *args, mistake=key)`` computes the steps as
    that mistake would, so that a step equal to one is named; with a right output, only a
    mistake that keeps it. ``on_error(exception)`` adds a hint when ``fn`` raises.
    ``refuse_calls`` maps a torch function's name to the message it raises while ``fn`` runs
    (:func:`refusing_calls`), or to ``None``: a function the exercise asks to write out, such
    as a convolution, fails and is told so however it is called."""
    if not callable(fn):
        return verdict(False, f"give a function, got {describe(fn)}")
    mistakes = mistakes or {}
    checked: list[str] = []
    cases = list(cases)
    if not cases:
        raise ValueError(
            f"configs is empty: no configurations to check {name} on; give at least one, or "
            "leave the default"
        )
    for label, module, args in cases:
        spec = refuse(module) if callable(refuse) else refuse
        guarded = steps_only(module, spec or {"": call_the_parts(module, name)})
        with torch.no_grad():
            want = reference(module, *args)
            try:
                with refusing_calls(refuse_calls):  # lifted again on every way out
                    kind, got = call_student(  # copies: the reference stays intact
                        fn, guarded, *args, read=_read_steps(list(want))
                    )
            except StudentError as e:
                hint = on_error(e.original) if on_error and e.original is not None else ""
                text = f"{label}: {e}"
                return verdict(False, f"{text}; {hint}" if hint else text)
        every = _steps_list(list(want))
        if kind == "output":
            return verdict(
                False,
                f"{label}: you returned only the output. The exercise asks for every step: "
                f"return a dict with {every}",
            )
        if kind == "other":
            return verdict(False, f"{label}: return a dict of your steps ({every}); got {got}")
        if kind == "keys":
            return verdict(
                False,
                f"{label}: your dict's keys could not be read; return a plain dict of {every}",
            )
        if kind == "key":
            return verdict(
                False, f"{label}: your dict's {got} could not be read; return a plain dict"
            )
        if kind == "lost":
            which = (
                f"the step {got[0]} is missing"
                if len(got) == 1
                else f"the steps {', '.join(got)} are missing"
            )
            return verdict(
                False,
                f"{label}: {which}. The exercise asks for every step: return a dict with {every}",
            )
        alts = None
        for key, value in want.items():
            mine = got[key]  # a plain value (plain_value): nothing of the student's runs
            step = steps[key]
            try:
                # the known mistakes are computed only for a step that differs (each is a
                # forward pass of its own): a right step is right whatever they give
                problem = compare_step(mine, value, step, {})
                if problem and mistakes:
                    if alts is None:
                        with torch.no_grad():
                            alts = {m: reference(module, *args, mistake=m) for m in mistakes}
                        alts = _fit_output(alts, got, want, steps)
                    wrong = {
                        why: alts[m][key] for m, why in mistakes.items() if key in alts.get(m, {})
                    }
                    problem = compare_step(mine, value, step, wrong)
            except Exception:  # a value no comparison can read: say what it is
                problem = f"could not compare it with the expected tensor: got {describe(mine)}"
            checked += [key] if key not in checked else []
            if problem:
                return verdict(
                    False, f"{label}: the first wrong step is {key} ({step.what}): {problem}"
                )
    steps_text = ", ".join(checked)
    return verdict(
        True, f"matches {name} on {len(cases)} configurations, checked step by step: {steps_text}"
    )

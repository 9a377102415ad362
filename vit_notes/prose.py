"""Numbers the prose quotes: every result a chapter states in its text is glued from the
cell that computes it (myst-nb's ``glue``), so the sentence cannot drift from the output.

In a notebook::

    from vit_notes import glue
    glue("peak_r8", row.max())          # a tensor, a NumPy scalar, an int or a float

and in the Markdown: ``{glue:text}`peak_r8:.3f```. The site renders the formatted value;
the plain copies in ``live/`` carry it as plain text (``book/_ext/live_copies.py`` reads
the stored outputs). In a kernel without myst-nb (Colab, Binder) ``glue`` does nothing:
the number is printed or plotted by the cell itself.
"""

from __future__ import annotations

import ast
import decimal
import math
import numbers
import re

from . import validate

_KEY = re.compile(r"^[A-Za-z_][\w-]*$")
#: The most digits a glued whole number may have (``str`` refuses more than 4,300).
_GLUE_DIGITS = 4300


def plain_value(value):
    """``value`` as a Python ``int``, ``float`` or ``str`` (what the glue role formats):
    a one-element tensor or NumPy scalar becomes its number."""
    if isinstance(value, bool):
        raise TypeError(f"glue a number or a string, got the bool {value!r}")
    if hasattr(value, "numel") and hasattr(value, "item"):  # a torch tensor
        if value.numel() != 1:
            raise ValueError(f"glue one number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    elif hasattr(value, "item") and getattr(value, "shape", None) == ():  # a NumPy scalar
        value = value.item()
    if isinstance(value, numbers.Integral):
        value = int(value)
        if abs(value) >= 10**_GLUE_DIGITS:
            raise ValueError(
                f"value is {validate.shown(value)}, too large to glue: a glued number prints, "
                f"and Python prints at most {_GLUE_DIGITS:,} digits"
            )
        return value
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"glue a finite number, got {value}")
        return value
    if isinstance(value, str):
        return value
    raise TypeError(
        f"glue a number (int, float, a one-element tensor) or a string, got {type(value).__name__}"
    )


def round_up(value, places: int) -> float:
    """``value`` rounded up to ``places`` decimals: a bound that stays a bound when the
    glue role prints it (``.1f`` is ``places=1``, ``.1%`` is ``places=3``). Rounding to
    nearest would print 2.1 for 2.141, and "within 2.1" would be false."""
    value = plain_value(value)
    if isinstance(value, str):
        raise TypeError(f"round_up takes a number, got the string {value!r}")
    if isinstance(places, bool) or not isinstance(places, numbers.Integral) or places < 0:
        raise ValueError(f"places is a whole number of decimals >= 0, got {validate.shown(places)}")
    validate.positive_int(
        "places", places, minimum=0, maximum=400, why="a float has no digits past 1e-324"
    )
    validate.number("value", value)  # an int past a float's range
    step = decimal.Decimal(1).scaleb(-int(places))
    exact = decimal.Decimal(repr(float(value)))  # the decimal the float prints as
    # enough digits for 1e308 to 400 places (the default context holds 28)
    context = decimal.Context(prec=800, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    return float(exact.quantize(step, rounding=decimal.ROUND_CEILING, context=context))


class _PlainText(str):
    """A glued string whose ``text/plain`` is the string itself, without Python's quotes."""

    def __repr__(self) -> str:
        return str.__str__(self)


def _prints_as_itself(text: str) -> bool:
    """Whether the glue role shows ``text`` as it is when stored without quotes. The role
    reads the stored text as a Python literal first: "(0.35, 0.50)" would print as the
    tuple (0.35, 0.5), so such a string keeps its quotes."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return True
    return str(value) == text


def glue(name: str, value) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`name:fmt``` in this notebook's
    Markdown, without showing it (the cell prints what the reader should see)."""
    if not isinstance(name, str) or not _KEY.match(name):
        raise ValueError(
            "a glue name is letters, digits, '_' and '-', starting with a letter; got "
            f"name={validate.shown(name)}"
        )
    value = plain_value(value)
    if isinstance(value, str) and _prints_as_itself(value):
        value = _PlainText(value)  # stored as the text itself, not its repr with quotes
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a reader's kernel: nothing renders glued values there
        return
    myst_glue(name, value, display=False)

"""Exercises answered on the page give the Python checkers' verdicts (issue 22).

The site's answer box (``_static/vit_notes_answers.js``) checks a typed answer against the
description that ``vit_notes.checking.page_spec`` records from the chapter's own checker
call (the one in the exercise's attempt cell). Here both get the same typed answers: the
right one, every known mistake, each term of a sum left out, near misses, rounded values,
text, nothing, huge numbers; their messages must be equal, word for word. Needs only
Chromium, not a built site.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import random
import sys
from pathlib import Path

import pytest

from vit_notes import pvt
from vit_notes.checking import page_spec, step_roundings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from vit_notes_site import answer_spec, chapter_checkers, checker_call  # noqa: E402

SCRIPT = ROOT / "_static" / "vit_notes_answers.js"

#: What students type that is not the answer (each tried on every exercise).
SLIPS = [
    "", "   ", "abc", "it's", 'say "x"', "None", "nan", "inf", "-inf", "1e400", "0", "-5",
    "12.5", "5/2", "1/0", "3/4", "1_000", "1,234", "1 234", "×", "7M", "2.5k", "0x10",
    "1" + "0" * 30, "9" * 60, "x" * 60, "\u200b", "é", "\t8", "8.0", "+8", ".5", "5.",
    "7m", "7 million", "2.5e3k", "1e-3k", "1e30G", "1e9999999G", "0.1G", "2x", "1e", "-0.0k",
    "27x", "27×", " 27 x ", "27X", "x", " × ", "27xx", "3,22", "2,5k", "1,000,000",
    "49.00000000001", "0.9999999", "-2.0000000001", "1e-3", "1.5e-1k",
    "\u0664\u0669", "\uff14\uff19", "\u0664\u0669.\u0660", "\u0967\u0968k", "\U0001d7d6",
]  # fmt: skip


def in_script(text: str, zero: int) -> str:
    """``text`` with its ASCII digits written in the script whose zero is ``zero``."""
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


def _g(x: float) -> str:
    return repr(float(x))


def answers_for(spec: dict) -> list[str]:
    """Typed answers that reach every branch of the description's checker."""
    texts = list(SLIPS)
    if spec["kind"] == "count":
        right = int(spec["right"])
        terms = [int(t) for _, t in spec["terms"]]
        texts += [str(right), f"{right:,}", str(right + 1), str(right - 1), str(-right)]
        # another script's digits (Arabic-Indic, full-width, Devanagari): read as on the kernel
        texts += [in_script(str(right), 0x660), in_script(f"{right:,}", 0xFF10)]
        texts += [in_script(f"{right}.5", 0x966), in_script(f"{right}.{'0' * 30}1", 0x660)]
        texts += [str(right * 2), str(right // 2), str(right * 1000), f"{right}.5"]
        texts += [str(int(w)) for w, _ in spec["mistakes"]]
        texts += [str(right - t) for t in terms]
        texts += [str(right - a - b) for i, a in enumerate(terms) for b in terms[i + 1 :]]
        texts += [f"{right:.{d}g}" for d in range(2, 6)]
        texts += [f"{right / 1e6:.1f}M", f"{right / 1e3:.0f}k", str(int(right * 1.05))]
        texts += [f"{right / 1e9:.4g}G", f"{right / 1e6:.1f}m", f"{right / 1e6:.1f} million"]
        # the edges of checking.BANDS: 1%, 10%, 2× and 10× off, on both sides, and either side
        # of each edge
        for edge in (right // 100, right // 10, right, 9 * right):
            texts += [str(right + edge + d) for d in (-1, 0, 1)]
        for edge in (right // 100, right // 10, right // 2, 9 * right // 10):
            texts += [str(right - edge + d) for d in (-1, 0, 1)]
        texts += [str(right * 10 + 1), str(right * 10), f"{right * 2}.5"]
        # fractions a float reads as whole (sixth audit W2), and one printed in full
        texts += [f"{right}.00000000001", f"{right / 1e3}0000000000001k", f"{right}.3"]
        texts += [f"{right}.{'0' * 30}1", f"{right / 1e3}{'0' * 30}1k"]  # past a Decimal's 28
        # the count in thousands, millions or billions (review PVT r44 E1), and near those
        for k in (3, 6, 9):
            texts += [f"{right / 10**k:.3g}", f"{right / 10**k:.6g}", f"{right / 10**k * 1.01:.4g}"]
            texts += [str(round(right / 10**k))]
        if int(spec["step"]):  # each rounding the question allows, finer ones, and near them
            near = step_roundings(right, int(spec["step"]))
            texts += [str(r + d) for r in near for d in (0, 1, -1, 10**3, 6 * 10**3)]
            texts += [f"{right / 1e6:.{d}f}M" for d in range(1, 7)]
    elif spec["kind"] == "prediction":
        right = spec["right"]
        texts += [_g(right), _g(right * 1.01), _g(right * 1.03), _g(right * 1.2), _g(right * 2)]
        texts += [_g(right * 0.8), _g(1 / right), _g(-right), f"{right:g}", f"{right:.3g}"]
        # the edges of checking.BANDS, on both sides
        texts += [_g(right * k) for k in (1.05, 1.1, 1.11, 1.9, 2.0, 2.1, 9.9, 10.0, 10.5, 30.0)]
        texts += [_g(right * k) for k in (0.95, 0.9, 0.89, 0.51, 0.5, 0.49, 0.11, 0.1, 0.09, 0)]
        texts += [_g(w) for w, _ in spec["mistakes"]] + [_g(w * 1.01) for w, _ in spec["mistakes"]]
    else:
        for option, _ in spec["options"]:
            text = str(option)
            texts += [text, text.lower(), text.replace("-", ""), f" {text} ", text[:3], text[-2:]]
        texts += ["C-C", "ctt", "T", "9", "64", "2.0"]
    return texts


def python_verdict(fn, text: str, kwargs: dict) -> str:
    """What the Python checker prints for ``text``, its line breaks undone."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(text, **kwargs)
    return " ".join(out.getvalue().split())


CHECKERS = chapter_checkers(ROOT)


def test_the_chapters_have_answer_boxes():
    """Counts, predictions and choices of every cost chapter reach the page."""
    kinds = {(call[0], spec["kind"]) for call, spec in CHECKERS}
    for chapter in ("pvt", "coatnet", "shunted"):
        for kind in ("count", "prediction", "choice"):
            assert (chapter, kind) in kinds, f"no {kind} exercise of {chapter} on the page"


def test_an_attempt_cell_names_its_checker():
    """The site's reading of an attempt cell: the call, its literal arguments, its spec."""
    source = "my_answer = None\npassed = pvt.check_sra_macs(\n    my_answer, H=56, sr_ratio=8\n)"
    assert checker_call(source) == ("pvt", "check_sra_macs", {"H": 56, "sr_ratio": 8})
    assert answer_spec(source)["right"] == str(58_605_568)
    assert checker_call("pvt.check_sra_macs(my_answer, H=size)") is None  # not a literal
    assert checker_call("print(1)") is None and checker_call("def (") is None
    assert answer_spec("pvt.check_sra_forward(my_forward)") is None  # a kernel's checker


@pytest.fixture(scope="module")
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(SCRIPT))
    yield page
    context.close()
    assert not errors, errors


@pytest.mark.parametrize(
    "call,spec", CHECKERS, ids=[f"{c[0]}.{c[1]}{c[2] or ''}" for c, _ in CHECKERS]
)
def test_page_and_kernel_agree(page, call, spec):
    module, name, kwargs = call
    fn = getattr(importlib.import_module(f"vit_notes.{module}"), name)
    texts = answers_for(spec)
    js = page.evaluate(
        "([spec, texts]) => texts.map(t => window.vnCheckAnswer(spec, t).text)", [spec, texts]
    )
    differ = [
        f"{t!r}\n   python: {want}\n   page:   {' '.join(got.split())}"
        for t, got, want in zip(texts, js, (python_verdict(fn, t, kwargs) for t in texts))
        if " ".join(got.split()) != want
    ]
    assert not differ, f"{len(differ)} of {len(texts)} differ:\n" + "\n".join(differ[:10])
    rights = [t for t, got in zip(texts, js) if got.startswith("✅")]
    assert rights, "no answer was right: the cases do not reach the right answer"


def _floats() -> list[float]:
    """Floats where Python's rounding is easy to get wrong: exact ties (k/8, k/1024),
    powers of ten, values that round up to the next decade, tiny and huge ones."""
    rng = random.Random(0)
    xs = [k / 8 for k in range(-40, 41)] + [k / 1024 for k in range(1, 300, 7)]
    xs += [10.0**e for e in range(-8, 25)] + [9.9999995 * 10.0**e for e in range(-6, 9)]
    xs += [0.3125, 0.03125, 2.5, 1234565.0, 123456.5, 0.0, -0.0, 1e-310, 1.7e308, 5e-5]
    xs += [rng.uniform(-1e3, 1e3) for _ in range(300)]
    xs += [rng.lognormvariate(0, 12) for _ in range(300)]
    return xs


def test_numbers_print_as_python_prints_them(page):
    """``{x:,.6g}``, ``{x:.3g}``, ``{x:g}`` and ``{x:.2%}``: the page's formats."""
    xs = _floats()
    got = page.evaluate(
        """xs => xs.map(x => { const c = window.vnCheckAnswer;
            return [c.formatG(x, 6, true), c.formatG(x, 3), c.formatG(x, 6), c.percent(x)]; })""",
        xs,
    )
    want = [[f"{x:,.6g}", f"{x:.3g}", f"{x:g}", f"{x:.2%}"] for x in xs]
    differ = [(x, g, w) for x, g, w in zip(xs, got, want) if g != w]
    assert not differ, differ[:10]


def test_page_names_a_conv_counted_as_one_by_one(page):
    """Review r32 E1: Exercise 2's layer with the reduction conv counted as a 1×1 conv
    (N_k·C² for N_k·C²·R²): the page names that slip in the kernel's words."""
    kwargs = {"H": 40, "W": 40, "dim": 128, "num_heads": 2, "sr_ratio": 4}
    spec = page_spec(pvt.check_sra_macs, **kwargs)
    text = "98,304,000"  # 122,880,000 - 100·128²·15
    got = page.evaluate("([spec, t]) => window.vnCheckAnswer(spec, t).text", [spec, text])
    want = python_verdict(pvt.check_sra_macs, text, kwargs)
    assert " ".join(got.split()) == want
    assert "you counted the conv as N_k·C², a 1×1 conv" in want

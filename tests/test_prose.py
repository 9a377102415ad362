"""Numbers in the chapters' prose come from the computation.

A result stated in a Markdown cell (a count, ratio, percentage, size, time, accuracy) is
inserted from the notebook's own values with myst-nb's glue (``{glue:text}`key:fmt```,
``vit_notes.glue`` in a code cell), or it is a paper's number printed by a cell from the
registry. Settings the reader chooses may be typed: "R = 8", "224²", "2 heads", "a 3×3
conv", "stage 1". The rule, applied to every chapter's Markdown after code spans, code
blocks, MyST roles (citations, links, glued values) and link targets are removed:

* a decimal number (0.953, 1.53) is a result;
* a percentage (94%, ``12\\%``) is a result;
* a number with a thousands separator (3,136; ``25{,}690{,}112``) or of four or more digits
  (3136) is a result, except a year (1990-2039) and an image side squared (1024²);
* a factor (16×, 2.5x, 256 times) is a result, where the sign is not between two sizes
  ("7×7" is a grid, "16× as many keys" a result);
* a number with a unit of cost (MB, MiB, ms, s, M, G, GMACs, MMACs, FLOPs, parameters)
  is a result.

Small integers otherwise (a grid side, a count of heads, an exercise's setting) may be
typed. Each chapter's test file lists its few exceptions, each with its reason
(``PROSE_ALLOWED`` in tests/test_<chapter>.py).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def allowed(chapter: str) -> dict[str, str]:
    """``{exact text: why it may be typed}`` for one chapter: ``PROSE_ALLOWED`` in its own test
    file, tests/test_<chapter>.py (read, not imported; a chapter without one allows nothing).
    Keep it short."""
    path = Path(__file__).with_name(f"test_{chapter}.py")
    if not path.is_file():
        return {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if getattr(target, "id", None) == "PROSE_ALLOWED":
            return ast.literal_eval(node.value)
    return {}


#: Chapters whose prose still types results by hand: each is expected to fail, strictly,
#: so that a chapter leaves this set as soon as its prose is glued.
PENDING: set[str] = set()

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_DIRECTIVE_OPTION = re.compile(r"^:[\w-]+:.*$", re.M)
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_CODE = re.compile(r"`[^`\n]+`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)

_NUM = r"\d+(?:\.\d+)?"
_UNITS = (
    r"MiB|KiB|GiB|MB|KB|kB|GB|ms|µs|s|sec|seconds|M|G|K|GMACs|MMACs|MACs|GFLOPs|MFLOPs|FLOPs"
    r"|parameters|params"
)
RULES = [
    ("a decimal number", re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)")),
    ("a percentage", re.compile(rf"(?<![\w.]){_NUM}\s*\\?%")),
    ("a thousands separator", re.compile(r"(?<![\w.])\d{1,3}(?:(?:,|\{,\})\d{3})+\b")),
    (
        "a number of four or more digits",
        re.compile(r"(?<![\w.,}])(?!(?:19[9]\d|20[0-3]\d)\b)\d{4,}\b(?!\s*(?:²|\^2|\^\{2\}))"),
    ),
    (
        "a factor",
        # not between two sizes: "7×7", "16x16", "$R \\times R$" are grids
        re.compile(
            rf"(?<![\w.^×*]){_NUM}\s*(?:×|\\times|x|times)(?=\s|$|[,.;:)])"
            r"(?!\s*(?:\d|\$|\{|[A-Za-z]\b))"
        ),
    ),
    ("a number with a unit of cost", re.compile(rf"(?<![\w.]){_NUM}\s*(?:{_UNITS})\b")),
]


def prose(text: str) -> str:
    """The Markdown's prose: code, roles, directive options and link targets removed."""
    for pattern in (_HTML_COMMENT, _FENCE, _DIRECTIVE_OPTION, _ROLE, _CODE, _LINK_TARGET):
        text = pattern.sub(" ", text)
    return text


def typed_results(text: str, allowed: dict[str, str] | None = None) -> list[str]:
    """Every number in ``text`` that the rule calls a result, with its rule and context."""
    body = prose(text)
    for exact in allowed or {}:
        body = body.replace(exact, " ")
    found = []
    for name, pattern in RULES:
        for m in pattern.finditer(body):
            context = body[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
            found.append(f"{name} {m.group(0)!r}: ...{context.strip()}...")
    return found


def markdown(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            id=p.stem,
            marks=[pytest.mark.xfail(strict=True, reason="prose not glued yet")]
            if p.stem in PENDING
            else [],
        )
        for p in NOTEBOOKS
    ],
)
def test_no_result_typed_by_hand(path):
    found = typed_results(markdown(path), allowed(path.stem) or None)
    assert not found, (
        f"{path.name}: results typed into the prose; glue them from the cell that computes "
        "them (vit_notes.glue, then {glue:text}`key:fmt`):\n  " + "\n  ".join(found)
    )


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("the largest weight is 0.953 at R = 8", "a decimal number"),
        ("holds 94% of the weight", "a percentage"),
        ("$12\\%$ of the layer", "a percentage"),
        ("3,136 tokens", "a thousands separator"),
        ("$2NC^2 = 25{,}690{,}112$", "a thousands separator"),
        ("a matrix of 9834496 entries", "a number of four or more digits"),
        ("SRA is 16× cheaper", "a factor"),
        ("takes 2.5x as long", "a factor"),
        ("256 times the attention matrix", "a factor"),
        ("the map takes 24 MB", "a number with a unit of cost"),
        ("37.5 MiB in float32", "a decimal number"),
        ("3.67 M parameters", "a decimal number"),
        ("it ran in 30 s", "a number with a unit of cost"),
    ],
)
def test_the_rule_finds_a_typed_result(text, rule):
    found = typed_results(text)
    assert any(f.startswith(rule) for f in found), (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "with `sr_ratio` $R = 8$ at stage 1 the 56×56 key grid becomes 7×7",
        "a 224×224 image cut into 16×16 patches, 2 heads, a 3×3 conv",
        "at 512² and 1024² every stage",
        "Wang et al. (CVPR 2022) and {cite}`wang2021pvt`",
        "the value is {glue:text}`peak_r8:.3f` at R = 8",
        "`torch.testing.assert_close(x, y, rtol=1e-4)` and `0.953`",
        "```python\nx = 0.25 * 1000\n```",
        "see [the docs](https://example.org/v1.2.3/page)",
        "PVT v2 and Exercise 4, section 5",
        "$$2NC^2 + MC^2R^2 + 2MC^2 + 2NMC$$",
        "$R \\times R$ windows and $R^2$ times fewer keys",
    ],
)
def test_the_rule_lets_settings_pass(text):
    assert typed_results(text) == []

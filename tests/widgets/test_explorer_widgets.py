"""Every explorer's live widget takes every value of every control from Python, in a real
kernel, with whichever ipywidgets is installed: 8 in the project's environment, 7.7 (what
Colab ships) in the one scripts/test-ipywidgets7 makes. No browser: the kernel runs each
chapter's explorer app (book/_ext/live_copies.py --app), finds each explorer's anywidget,
checks that its payload is the page's, sets each control's every value and the query from
Python, and counts the state messages sent to the frontend (whose redraw, in explorer.js,
tests/browser/test_frontends.py sees).

Run by scripts/test (full lane), not by --quick: a kernel per chapter takes a while.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import live_copies  # noqa: E402

CHAPTERS = [
    p.stem
    for p in live_copies.chapters(ROOT)
    if live_copies.explorer_cells(json.loads(p.read_text(encoding="utf-8")))
]

MOVE = """\
import json

import anywidget
import ipywidgets as w
from ipywidgets.widgets import widget

_all = getattr(widget, "_instances", None) or w.Widget.widgets
_explorers = [
    x for x in list(_all.values())
    if isinstance(x, anywidget.AnyWidget) and x.has_trait("state") and x.has_trait("payload")
]
_result = {"ipywidgets": w.__version__, "anywidget": anywidget.__version__, "moves": [],
           "same_payload": []}
for x in _explorers:
    e = x._explorer
    _result["same_payload"].append(x.payload == e.payload())
    sent = []
    _real = x.send_state
    x.send_state = lambda key=None, _s=sent, _r=_real: (_s.append(key), _r(key))[1]
    moves = [(c.name, v) for c in e.controls for v in c.values if v != x.state[c.name]]
    if "query" in x.state:
        g = e.query_grid
        moves += [("query", [g - 1, g - 1]), ("query", [0, g - 1])]
    for name, v in moves:
        n = len(sent)
        x.state = {**x.state, name: v}
        _result["moves"].append([f"{e.key}.{name}={v}", x.state[name] == v and len(sent) > n])
    x.send_state = _real
print(json.dumps(_result))
"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_control_value_reaches_the_live_explorer(chapter, tmp_path):
    nb = nbformat.from_dict(live_copies.app(chapter, ROOT))
    for c in nb.cells:  # nbclient runs a source string, not nbformat's list of lines
        c.source = live_copies.source_text(c)
    nb.cells.append(nbformat.v4.new_code_cell(MOVE))
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o for c in nb.cells for o in c.get("outputs", [])
        if o.output_type == "error" or o.get("name") == "stderr"
    ]  # fmt: skip
    assert not errors, errors
    result = json.loads(nb.cells[-1].outputs[-1]["text"])
    moves = result["moves"]
    assert moves, f"{chapter}: no explorer widget with controls found"
    assert all(result["same_payload"]), f"{chapter}: a widget's payload is not the page's"
    assert all(ok for _, ok in moves), (
        f"{chapter} with ipywidgets {result['ipywidgets']}, anywidget {result['anywidget']}: "
        f"not set or not sent: {[name for name, ok in moves if not ok]}"
    )

"""Every explorer's every control redraws its figure, in a real kernel, with whichever
ipywidgets is installed: 8 in the project's environment, 7.7 (what Colab ships) in the
one scripts/test-ipywidgets7 makes. No browser: the kernel runs each chapter's explorer
app (book/_ext/live_copies.py --app), moves each control from Python, and counts the
images the explorer shows (published figures, or an Image widget's bytes).

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

HOOK = """\
from IPython import get_ipython

_shown = []
_pub = get_ipython().display_pub
_publish = _pub.publish


def _counting_publish(data, *args, **kwargs):
    if "image/png" in data or "image/svg+xml" in data:
        _shown.append(1)
    return _publish(data, *args, **kwargs)


_pub.publish = _counting_publish
"""

MOVE = """\
import json

import ipywidgets as w
from ipywidgets.widgets import widget, widget_bool, widget_float, widget_int
from ipywidgets.widgets import widget_selection

_all = getattr(widget, "_instances", None) or w.Widget.widgets
_kinds = (widget_int._Int, widget_float._Float, widget_selection._Selection,
          widget_bool._Bool)
_controls = [x for x in list(_all.values()) if isinstance(x, _kinds)]
_images = [x for x in list(_all.values()) if isinstance(x, w.Image)]
_result = {"ipywidgets": w.__version__, "moves": []}
for c in _controls:
    n, before = len(_shown), [bytes(i.value) for i in _images]
    if isinstance(c, widget_selection._Selection):
        c.index = (c.index + 1) % len(c.options)
    elif isinstance(c, widget_bool._Bool):
        c.value = not c.value
    else:
        c.value = c.max if c.value != c.max else c.min
    redrawn = len(_shown) > n or [bytes(i.value) for i in _images] != before
    _result["moves"].append([c.description, redrawn])
print(json.dumps(_result))
"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_control_redraws(chapter, tmp_path):
    nb = nbformat.from_dict(live_copies.app(chapter, ROOT))
    for c in nb.cells:  # nbclient runs a source string, not nbformat's list of lines
        c.source = live_copies.source_text(c)
    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][0]
    nb.cells.insert(setup, nbformat.v4.new_code_cell(HOOK))
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
    assert moves, f"{chapter}: no controls found"
    assert all(ok for _, ok in moves), (
        f"{chapter} with ipywidgets {result['ipywidgets']}: no redraw for "
        f"{[name for name, ok in moves if not ok]}"
    )

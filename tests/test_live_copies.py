"""The chapters' plain-Jupyter copies (live/*.ipynb, written by book/_ext/live_copies.py):
fresh, free of MyST, with every solution closed and out of "Run All"'s reach."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import live_copies as lc  # noqa: E402

CHAPTERS = lc.chapters(ROOT)
per_chapter = pytest.mark.parametrize("src", CHAPTERS, ids=[p.stem for p in CHAPTERS])
MYST = re.compile(
    r"(?<![\w`])\{[\w:-]+\}`|^\s*(`{3,}|~{3,}|:{3,})\{|^:(label|class|name):|solution-(start|end)"
    r"|^\([\w:.-]+\)=\s*$",
    re.M,
)


def live(src: Path) -> dict:
    return json.loads((ROOT / lc.live_path(src.relative_to(ROOT))).read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    return lc.source_text(cell)


def gated_solutions(nb: dict) -> tuple[int, list[str]]:
    """(number of solutions, sources of the code cells inside them) of a source chapter."""
    count, inside, code = 0, False, []
    for cell in nb["cells"]:
        src = text(cell)
        if cell["cell_type"] == "markdown":
            for m in re.finditer(r"\{(solution-start|solution-end|solution)\}", src):
                if m.group(1) == "solution-start":
                    inside = True
                    count += 1
                elif m.group(1) == "solution":
                    count += 1
                else:
                    inside = False
        elif inside:
            code.append(src)
    return count, code


def test_every_copy_is_fresh():
    stale = lc.write_all(ROOT, check=True)
    assert not stale, (
        f"stale live copies: {stale}; after editing a chapter run "
        "python book/_ext/live_copies.py (scripts/execute-notebooks runs it too)"
    )


@per_chapter
def test_no_myst_markup_is_left(src):
    for i, cell in enumerate(live(src)["cells"]):
        if cell["cell_type"] == "markdown":
            m = MYST.search(text(cell))
            assert not m, f"{src.name} copy, cell {i}: raw MyST {m.group(0)!r}"


@per_chapter
def test_solutions_are_closed_and_never_run(src):
    source = json.loads(src.read_text(encoding="utf-8"))
    n_solutions, solution_code = gated_solutions(source)
    copy = live(src)
    # a folded note (an admonition with :class: dropdown) is a <details> block too
    details = [text(c) for c in copy["cells"] if "<summary>Solution" in text(c)]
    assert len(details) == n_solutions
    assert not any("<details open" in text(c) for c in copy["cells"])
    for d in details:
        assert d.startswith("<details>\n<summary>Solution") and d.endswith("</details>")
        assert "<details open" not in d
    code_cells = [text(c) for c in copy["cells"] if c["cell_type"] == "code"]
    for code in solution_code:  # in a <details> block, as Markdown; never a code cell
        assert code.strip() not in code_cells
        assert any(code.strip() in d for d in details)
    # Every other code cell is there, in order, unchanged, without stored outputs.
    want = [
        text(c)
        for c in source["cells"]
        if c["cell_type"] == "code" and text(c) not in solution_code
    ]
    assert code_cells == want
    for c in copy["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None
            assert not set(c["metadata"].get("tags", [])) & lc.BUILD_TAGS


def test_exercises_keep_their_titles_numbered_as_on_the_site():
    """Numbered from 1 in each chapter, as on the site (book/_ext/vit_notes_site.py)."""
    for doc in lc.toc_files(ROOT):
        if not doc.startswith(lc.SOURCE_DIR + "/"):
            continue
        headings = [
            h
            for c in live(ROOT / f"{doc}.ipynb")["cells"]
            for h in re.findall(r"^### Exercise (\d+) \((.+)\)$", text(c), re.M)
        ]
        sources = [
            title
            for c in json.loads((ROOT / f"{doc}.ipynb").read_text(encoding="utf-8"))["cells"]
            for title in re.findall(r"^`{3,}\{exercise\}\s*(.+)$", text(c), re.M)
        ]
        assert [t for _, t in headings] == sources, doc
        assert [int(n) for n, _ in headings] == list(range(1, len(sources) + 1)), doc


@per_chapter
def test_citations_read_as_author_year_with_a_link(src):
    bib = lc.bibliography(ROOT)
    source = "\n".join(text(c) for c in json.loads(src.read_text(encoding="utf-8"))["cells"])
    keys = {k.strip() for g in re.findall(r"\{cite\}`([^`]*)`", source) for k in g.split(",")}
    copy = "\n".join(text(c) for c in live(src)["cells"])
    for key in keys:
        e = bib[key]
        assert e["url"].startswith("https://"), f"{key} has no link in references.bib"
        assert f"[{e['short']}]({e['url']})" in copy
        assert e["full"] in copy  # listed in full in the copy's References section


# --- the converter on small inputs --------------------------------------------------------


def convert_text(md: str, tmp_path: Path, *more_cells: dict) -> list[dict]:
    src = tmp_path / "ch.ipynb"
    nb = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": md}, *more_cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    src.write_text(json.dumps(nb), encoding="utf-8")
    bib = {
        "k": {"short": "Doe et al., 2020", "author": "Doe et al.", "year": "2020",
              "full": "Jane Doe (2020). T.", "url": "https://example.org/k"}
    }  # fmt: skip
    return lc.convert(src, ROOT, bib=bib, numbers={"ex-a": 7})["cells"]


def test_admonitions_and_roles(tmp_path):
    cells = convert_text(
        "See {cite:t}`k` and {cite}`k`.\n\n```{note}\nMind {math}`x^2`.\n```\n\n"
        "```python\nkeep = '{cite}`k`'\n```",
        tmp_path,
    )
    md = text(cells[0])
    assert "See [Doe et al. (2020)](https://example.org/k) and" in md
    assert "([Doe et al., 2020](https://example.org/k))." in md
    assert "> **Note**\n>\n> Mind $x^2$." in md
    assert "keep = '{cite}`k`'" in md  # code blocks are left alone
    assert text(cells[-1]).startswith("## References\n\n* Jane Doe (2020). T.")


def test_solution_directive_and_gated_solution(tmp_path):
    code = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "print(1)"}
    cells = convert_text(
        "```{exercise} Count\n:label: ex-a\n\nHow many?\n```\n\n"
        "```{solution} ex-a\n:class: dropdown\n\nFour.\n```\n\n"
        "````{solution-start} ex-a\n:class: dropdown\n````\nWhy:",
        tmp_path,
        code,
        {"cell_type": "markdown", "metadata": {}, "source": "````{solution-end}\n````\nAfter."},
    )
    texts = [text(c) for c in cells]
    assert texts[0] == "### Exercise 7 (Count)\n\nHow many?"
    assert (
        texts[1]
        == "<details>\n<summary>Solution to Exercise 7 (Count)</summary>\n\nFour.\n\n</details>"
    )
    assert texts[2] == (
        "<details>\n<summary>Solution to Exercise 7 (Count)</summary>\n\n"
        "Why:\n\n```python\nprint(1)\n```\n\n</details>"
    )
    assert texts[3] == "After."
    assert all(c["cell_type"] == "markdown" for c in cells)


def glue_output(name: str, text: str) -> dict:
    prefix = "application/papermill.record/"
    return {
        "output_type": "display_data",
        "data": {prefix + "text/plain": text},
        "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}},
    }


def test_glued_values_become_plain_text(tmp_path):
    code = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [glue_output("peak", "0.95312"), glue_output("n", "3136")],
        "source": "glue('peak', peak)",
    }
    cells = convert_text(
        "A weight of {glue:text}`peak:.3f` over {glue:text}`n:,d` tokens ({glue}`n`).",
        tmp_path,
        code,
    )
    assert text(cells[0]) == "A weight of 0.953 over 3,136 tokens (3136)."
    assert cells[1]["outputs"] == []
    with pytest.raises(lc.MystError, match="has no value stored"):
        convert_text("{glue:text}`missing:.1f`", tmp_path, code)


@pytest.mark.parametrize(
    "md, message",
    [
        ("```{figure} x.png\n```", "directive {figure}"),
        ("{numref}`fig-1`", "role {numref}"),
        ("{cite}`nobody`", "not in references.bib"),
        ("````{solution-start} ex-a\n````", "has no solution-end"),
        ("````{solution-end}\n````", "without a solution-start"),
        ("```{note}\nunclosed", "unclosed fence"),
    ],
)
def test_unknown_or_broken_myst_is_an_error(tmp_path, md, message):
    with pytest.raises(lc.MystError, match=re.escape(message)):
        convert_text(md, tmp_path)


# --- the explorer app (scripts/present) -----------------------------------------------------


def test_app_holds_the_explorers_and_their_set_up():
    nb = lc.app("pvt", ROOT)
    tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
    widgets = [nb["cells"][i] for i in lc.explorer_cells(nb)]
    assert widgets and all("skip-execution" not in t for t in tags)
    assert not any("static-twin" in t for t in tags)
    code = "\n".join(text(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert "from vit_notes import" in code and "sra_explorer()" in code


def test_app_names_the_chapters_when_asked_for_a_missing_one():
    with pytest.raises(ValueError, match=r"no chapter 'nope': the chapters are .*pvt"):
        lc.app("nope", ROOT)


@per_chapter
def test_links_to_other_chapters_open_beside_and_on_colab(src):
    """A link to another chapter opens its copy beside this one (JupyterLab, VS Code, Binder)
    and, next to it, on Colab: a chapter that Colab opened, or saved to Drive, has no copy
    beside it."""
    md = "\n".join(text(c) for c in live(src)["cells"] if c["cell_type"] == "markdown")
    colab = lc.colab_opener(ROOT)
    for m in re.finditer(r"\]\(([\w-]+\.ipynb)\)(.{0,200})", md):
        name, after = m.groups()
        assert (ROOT / lc.LIVE_DIR / name).exists(), f"{src.name}: {name} is not a live copy"
        assert after.startswith(f" ([Colab]({colab(f'{lc.LIVE_DIR}/{name}')}))"), (
            f"{src.name}: the link to {name} has no Colab link beside it"
        )

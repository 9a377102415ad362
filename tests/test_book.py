"""The book's sources: configs, table of contents, and the conventions every chapter
notebook follows (a Colab install cell, a citation of its paper).

Notebooks are found with a glob, so these tests hold whichever chapters exist yet.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
import re
import struct
import sys
from pathlib import Path

import pytest
import yaml

import vit_notes
from vit_notes import plotting, registry

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import vit_notes_site  # noqa: E402  (the chapter-table directive's rendering)
from live_copies import toc_files  # noqa: E402  (the book's one reading of _toc.yml)

CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
COLAB_GUARD = re.compile(r"""if\s+["']google\.colab["']\s+in\s+sys\.modules\s*:""")


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def repo_url() -> str:
    return load_yaml("_config.yml")["repository"]["url"].rstrip("/")


def bib_keys() -> set[str]:
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", text))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def first_code_cell(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells, "the notebook has no code cell"
    return cells[0]


# --- configs -------------------------------------------------------------------------


def test_student_config_is_the_main_config_with_solutions_hidden():
    main, student = load_yaml("_config.yml"), load_yaml("_config_student.yml")
    assert main["sphinx"]["config"].get("hide_solutions", False) is False
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert main["execute"]["execute_notebooks"] == "force"
    assert student["execute"]["execute_notebooks"] in ("force", "off")
    for cfg in (main, student):
        cfg["sphinx"]["config"].pop("hide_solutions", None)
        cfg["execute"].pop("execute_notebooks")
        cfg.pop("title")
    assert student == main, (
        "_config_student.yml must equal _config.yml except for `title`, `execute_notebooks` and "
        "`sphinx.config.hide_solutions: true` (jupyter-book --config replaces _config.yml)"
    )


def test_repository_url_and_launch_buttons():
    cfg = load_yaml("_config.yml")
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo_url()), (
        "the Colab button needs a GitHub repository URL"
    )
    assert cfg["launch_buttons"]["binderhub_url"].startswith("https://")
    assert cfg["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    assert cfg["execute"]["execute_notebooks"] == "force"


def test_every_toc_entry_exists():
    for entry in toc_files():
        candidates = [ROOT / entry] + [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, which does not exist"


def test_every_notebook_is_in_the_toc():
    # only_build_toc_files: true would otherwise leave a new chapter silently out of the site.
    listed = {Path(f).with_suffix("").as_posix() for f in toc_files()}
    for nb in NOTEBOOKS:
        assert nb.relative_to(ROOT).with_suffix("").as_posix() in listed, (
            f"{nb.name} is missing from _toc.yml"
        )


def test_every_page_citation_is_in_the_bibliography():
    keys = bib_keys()
    for page in sorted((ROOT / "book").glob("*.md")):
        for group in CITE.findall(page.read_text(encoding="utf-8")):
            for key in (k.strip() for k in group.split(",")):
                assert key in keys, (
                    f"{page.name} cites {key!r}, which is not in book/references.bib"
                )


# --- chapter notebooks ------------------------------------------------------------------

needs_notebooks = pytest.mark.skipif(not NOTEBOOKS, reason="no chapter notebook yet")
per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


def _installs(node) -> bool:
    """Whether this code (IPython magics already turned into Python) runs a pip install:
    %pip / !pip magics, or subprocess/os calls with pip and install in their arguments."""
    text = ast.unparse(node)
    return "pip" in text and "install" in text


def _is_colab_guard(node) -> bool:
    return (
        isinstance(node, ast.If)
        and re.fullmatch(r"""['"]google\.colab['"] in sys\.modules""", ast.unparse(node.test))
        is not None
    )


@needs_notebooks
@per_notebook
def test_first_code_cell_installs_the_package_on_colab_only(path):
    # Read, never run: the cell is parsed (magics turned into Python by IPython) and its
    # statements inspected, so nothing is installed and the network is not needed.
    from IPython.core.inputtransformer2 import TransformerManager

    cell = first_code_cell(read_nb(path))
    source = cell_source(cell)
    tags = set(cell.get("metadata", {}).get("tags", []))
    assert not tags & {"remove-cell", "remove-input"}, (
        f"{path.name}: the install cell must stay visible"
    )

    tree = ast.parse(TransformerManager().transform_cell(source))
    guards = [n for n in tree.body if _is_colab_guard(n)]
    assert guards, f'{path.name}: the first code cell must hold `if "google.colab" in sys.modules:`'
    outside = [n for n in tree.body if n not in guards] + [o for g in guards for o in g.orelse]
    assert not any(_installs(n) for n in outside), (
        f"{path.name}: the cell must install nothing off Colab"
    )
    inside = [b for g in guards for b in g.body]
    assert any(_installs(b) for b in inside), (
        f"{path.name}: on Colab the cell must pip-install the package"
    )

    urls = [
        u.removesuffix(".git").rstrip("/")
        for u in re.findall(r"git\+(https://[^\s\"'@#]+)", source)
    ]
    assert urls, f"{path.name}: the install cell must pip-install git+<repository url>"
    assert set(urls) == {repo_url()}, (
        f"{path.name}: installs from {urls}, but _config.yml's repository.url is {repo_url()}"
    )


@needs_notebooks
@per_notebook
def test_chapter_cites_its_paper(path):
    nb = read_nb(path)
    cited = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for group in CITE.findall(cell_source(cell)):
                cited.update(k.strip() for k in group.split(","))
    assert cited, (
        f"{path.name} cites no paper (use {{cite}}`key` with a key from book/references.bib)"
    )
    assert cited <= bib_keys(), (
        f"{path.name} cites keys not in book/references.bib: {cited - bib_keys()}"
    )
    # A chapter named after a registered family cites the papers of every model it registers.
    papers = {
        vit_notes.model_info(n).paper.cite
        for n in vit_notes.list_models()
        if vit_notes.model_info(n).family == path.stem
    }
    assert papers <= cited, f"{path.name} must cite {sorted(papers - cited)}"


#: Families whose package has landed before their chapter (strict both ways: a family leaves
#: this set when notebooks/<name>.ipynb lands).
PENDING_CHAPTERS: set[str] = set()


def test_every_registered_family_has_its_chapter():
    families = {vit_notes.model_info(n).family for n in vit_notes.list_models()}
    chapters = {p.stem for p in NOTEBOOKS}
    assert families - PENDING_CHAPTERS <= chapters, (
        "each chapter subpackage needs notebooks/<name>.ipynb"
    )
    assert PENDING_CHAPTERS <= families - chapters, "remove a landed chapter from PENDING_CHAPTERS"


# --- what the pages show: figures and text that fit the column (the figure standard) --------

CODE_COLS, OUTPUT_COLS = 80, 90


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", raw[16:24])


@needs_notebooks
@per_notebook
def test_every_stored_figure_follows_the_style(path):
    """Each figure a chapter shows was drawn in the book's style (plotting.book_style: twice
    the resolution, its natural CSS width in the output's metadata) and at most as wide as
    the text column, so the site shows it at its natural size."""
    column_px = plotting.TEXT_WIDTH_IN * plotting.DPI
    problems = []
    for i, cell in enumerate(read_nb(path)["cells"]):
        for out in cell.get("outputs", []):
            if "image/png" not in out.get("data", {}):
                continue
            px_w, px_h = _png_size(out["data"]["image/png"])
            meta = out.get("metadata", {}).get("image/png", {})
            if "width" not in meta:
                problems.append(f"cell {i}: a {px_w}x{px_h} figure drawn outside the book style")
                continue
            if abs(px_w - 2 * meta["width"]) > 2:
                problems.append(f"cell {i}: {px_w} px stored for {meta['width']} CSS px, not 2x")
            if meta["width"] > column_px + 2:  # bbox_inches="tight" may trim, never widen
                problems.append(f"cell {i}: {meta['width']} CSS px wide, column {column_px:.0f}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@needs_notebooks
@per_notebook
def test_code_and_printed_lines_fit_the_column(path):
    """Code cells wrap at 80 characters and printed lines at 90 (wider tables split), so
    that nothing scrolls sideways on the site at a laptop's width."""
    problems = []
    for i, cell in enumerate(read_nb(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in cell_source(cell).splitlines():
            if len(line) > CODE_COLS:
                problems.append(f"cell {i}: code line of {len(line)} chars: {line[:60]}...")
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            if "image/png" in out.get("data", {}):
                continue
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                if len(line) > OUTPUT_COLS:
                    problems.append(f"cell {i}: output line of {len(line)} chars: {line[:60]}...")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# --- Colab: install what it lacks, never upgrade what its frontend runs on ----------------


@needs_notebooks
@per_notebook
def test_colab_install_keeps_colabs_ipywidgets(path):
    """Colab's widget frontend needs the ipywidgets it ships (7.7); upgrading it in a running
    runtime breaks the sliders. The install cell pins the installed version, and skips
    the install when the package is already there."""
    source = cell_source(first_code_cell(read_nb(path)))
    assert "ipywidgets=={version('ipywidgets')}" in source, (
        f"{path.name}: the Colab install must pin ipywidgets to the version installed"
    )
    assert 'find_spec("vit_notes") is None' in source


def test_requirements_accept_colabs_ipywidgets():
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = pyproject["project"]["optional-dependencies"]["notebooks"] + [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    widgets = [Requirement(r) for r in wanted if Requirement(r).name == "ipywidgets"]
    assert len(widgets) == 2
    for req in widgets:
        for version in ("7.7.1", "8.1.5"):
            assert req.specifier.contains(version), f"{req} refuses ipywidgets {version}"


def test_every_reference_links_to_its_paper():
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=@)", text.strip())
    for entry in entries:
        key = re.match(r"@\w+\s*\{\s*([^,\s]+)", entry).group(1)
        assert re.search(r"\b(url|doi)\s*=\s*\{https?://|\bdoi\s*=", entry), (
            f"{key} in book/references.bib has no url (the notebook copies link each citation)"
        )


# --- exercises ---------------------------------------------------------------------------------

EXERCISE = re.compile(r"```\{exercise\} (?P<title>[^\n]+)\n:label: (?P<label>[\w-]+)")
#: Each design chapter (one the comparison lines up, found in the registry, so a new design
#: chapter needs no line here) has at least four exercises, one of them "Predict, then slide"
#: on its explorer, and a "Judgement". The comparison chapter has two, no slider exercise. The
#: study chapter is outside this rule: its exercises read its shipped runs, in cells of their own.
DESIGN_CHAPTERS = {d.family for d in registry.designs()}
MINIMUM = {**dict.fromkeys(DESIGN_CHAPTERS, 4), "compare": 2}


def exercises(path: Path) -> list[dict]:
    """Each exercise of a chapter: its title, label, the attempt cell's and the gated
    solution's code cells (with their stored outputs)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found, current, in_solution = [], None, False
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if "{solution-end}" in text:
                # code after a solution belongs to no exercise (a closing check, say)
                in_solution, current = False, None
            for m in EXERCISE.finditer(text):
                current = dict(m.groupdict(), attempt=[], solution=[], gated=False)
                found.append(current)
            if "{solution-start}" in text:
                assert current and f"{{solution-start}} {current['label']}" in text, text
                in_solution, current["gated"] = True, True
        elif current is not None and cell["cell_type"] == "code":
            current["solution" if in_solution else "attempt"].append(cell)
    return found


def _printed(cell) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


@pytest.mark.parametrize("chapter", sorted(MINIMUM))
def test_each_chapter_has_its_exercises_gated_with_checkers_that_say_not_yet(chapter):
    found = exercises(ROOT / "notebooks" / f"{chapter}.ipynb")
    assert len(found) >= MINIMUM[chapter], [e["title"] for e in found]
    if chapter in DESIGN_CHAPTERS:  # each design chapter's explorer has its slider exercise
        assert any(e["title"].startswith("Predict, then slide") for e in found)
    assert any(e["title"].startswith("Judgement") for e in found)
    for e in found:
        assert e["gated"] and e["solution"], f"{e['label']}: no gated solution"
        # the attempt, unanswered, prints the checker's message (never an answer or a traceback)
        (attempt,) = e["attempt"]
        assert _printed(attempt).startswith("❌ not yet: "), (e["label"], _printed(attempt))
        assert not any(o.get("output_type") == "error" for o in attempt.get("outputs", []))
        assert "✅ correct: " in _printed(e["solution"][-1]), e["label"]


def test_teachers_page_names_only_exercises_that_exist():
    page = " ".join((ROOT / "book" / "teachers.md").read_text(encoding="utf-8").split())
    page += " ".join(vit_notes_site.chapter_table("predictions", ROOT).split())
    titles = {e["title"] for path in NOTEBOOKS for e in exercises(path)}
    named = re.findall(r"\*((?:Predict)[^*]+)\*", page)
    assert len(named) >= 4 and set(named) <= titles, set(named) - titles
    for label in re.findall(r"\{numref\}`[^`<]*<([^>`]+)>`", page):
        assert any(e["label"] == label for p in NOTEBOOKS for e in exercises(p)), label


# --- the chapters' rows on the book's pages come from their registration ---------------------

#: Page -> the chapter-table kinds it must render (book/_ext/vit_notes_site.py): a chapter
#: adds its rows by registering its Teaching, never by editing these pages.
CHAPTER_TABLES = {
    "intro.md": ["intro"],
    "notation.md": ["glossary"],
    "teachers.md": ["explorers", "predictions", "judgements", "query-grids"],
}


@pytest.mark.parametrize("page", sorted(CHAPTER_TABLES))
def test_pages_render_the_chapters_rows_from_the_registry(page):
    text = (ROOT / "book" / page).read_text(encoding="utf-8")
    kinds = re.findall(r"^```\{chapter-table\}\s+(\S+)\s*$", text, re.M)
    assert kinds == CHAPTER_TABLES[page], f"{page} lost a chapter-table directive: {kinds}"
    assert set(kinds) <= set(vit_notes_site.CHAPTER_TABLE_KINDS)
    for family in (d.family for d in registry.chapters()):
        # no hand-written row for a registered chapter beside the directive
        title = vit_notes_site.chapter_title(ROOT, f"notebooks/{family}")
        assert f"| {title} |" not in text, f"{page}: a hand-written row for {family}"


def test_every_registered_chapter_has_its_teaching_metadata():
    keys = bib_keys()
    for d in registry.chapters():
        t = d.teaching
        assert t is not None, f"{d.family}: register its registry.Teaching"
        labels = {
            e["label"]: e["title"] for e in exercises(ROOT / "notebooks" / f"{d.family}.ipynb")
        }
        assert t.predict in labels, f"{d.family}: no exercise {t.predict!r}"
        assert vit_notes_site.is_prediction(labels[t.predict]), (t.predict, labels[t.predict])
        if t.slider:
            assert labels[t.predict].startswith("Predict, then slide"), labels[t.predict]
        assert labels.get(t.judgement, "").startswith("Judgement"), t.judgement
        assert t.name and t.explorer_section and t.explorer_controls and t.question
        assert set(t.cites) <= keys, f"{d.family} cites {set(t.cites) - keys}"
        if d.compared:  # a design chapter: a row of the intro table and a slider exercise
            assert t.idea and t.cites and t.slider, d.family
        assert not t.idea.endswith("."), "a table cell: no full stop"
        assert not t.question.endswith("."), "the line adds its full stop"


def test_chapter_tables_render_every_registered_chapter_in_toc_order():
    toc = [Path(f).stem for f in toc_files() if f.startswith("notebooks/")]
    order = [f for f in toc if f in {d.family for d in registry.chapters()}]
    judgements = vit_notes_site.chapter_table("judgements", ROOT)
    at = [judgements.index(d.teaching.judgement) for f in order for d in registry.chapters()
          if d.family == f]  # fmt: skip
    assert at == sorted(at), "the rows follow _toc.yml"
    intro = vit_notes_site.chapter_table("intro", ROOT)
    for d in registry.designs():
        assert f"</notebooks/{d.family}>" in intro and d.teaching.idea in intro, d.family
    with pytest.raises(ValueError, match="choose from"):
        vit_notes_site.chapter_table("nonsense", ROOT)


# --- the glossary: shared terms on the notation page, each design's own in its registration ----

#: The shared glossary's sections (book/notation.md): their anchors (#attention, ...) stay.
SHARED_GLOSSARY = ["Attention", "Tokens and grids", "Networks", "Costs and the book"]


def shared_glossary() -> dict[str, list[tuple[str, ...]]]:
    """The notation page's shared glossary tables: section title -> rows (the cells of each)."""
    text = (ROOT / "book" / "notation.md").read_text(encoding="utf-8")
    glossary = text[text.index("\n## Glossary\n") :]
    sections: dict[str, list[tuple[str, ...]]] = {}
    for title, body in re.findall(r"^### (.+)\n((?:(?!^#).*\n?)*)", glossary, re.M):
        table = [line for line in body.splitlines() if line.startswith("|")]
        assert tuple(table[:2]) == vit_notes_site.GLOSSARY_HEADER, title
        sections[title] = [
            tuple(c.strip() for c in row.strip("|").split(" | ")) for row in table[2:]
        ]
    return sections


def term_names(english: str) -> set[str]:
    """The names a glossary row goes by: "window attention (W-MSA)" -> the whole, "window
    attention" and "w-msa"."""
    m = re.fullmatch(r"(.+?) \((.+)\)", english)
    return {name.lower() for name in (english, *(m.groups() if m else ()))}


def test_the_notation_page_keeps_its_shared_glossary_then_the_chapters_sections():
    text = (ROOT / "book" / "notation.md").read_text(encoding="utf-8")
    assert list(shared_glossary()) == SHARED_GLOSSARY, "the shared sections and their anchors"
    glossary = text[text.index("\n## Glossary\n") :]
    assert glossary.count("\n## ") == 1, "the glossary is the page's last section"
    last_table = glossary.rindex("\n| ")
    directive = glossary.index("```{chapter-table} glossary")
    assert last_table < directive, "the chapters' sections follow the shared tables"
    assert not re.search(r"^#", glossary[directive:], re.M), "nothing after the chapters'"
    assert all(len(row) == 3 for rows in shared_glossary().values() for row in rows)


def test_each_glossary_term_is_in_one_place():
    """A term several chapters use is in the shared tables; a term one design alone uses is
    in its registration (Teaching.glossary); never in both, nor in two designs."""
    where: dict[str, str] = {}
    for section, rows in shared_glossary().items():
        for english, *_ in rows:
            for name in term_names(english):
                assert name not in where, f"{english!r} twice: {section} and {where[name]}"
                where[name] = f"the shared table {section}"
    for d in registry.chapters():
        for row in d.teaching.glossary:
            vit_notes_site.glossary_row(d.family, row)  # three cells that fit a table
            for name in term_names(row[0]):
                assert name not in where, f"{row[0]!r} is in {d.family}'s and {where[name]}"
                where[name] = f"{d.family}'s glossary"


def test_the_glossary_renders_each_design_with_terms_in_toc_order(monkeypatch):
    chapters = vit_notes_site.registered_chapters(ROOT)
    text = vit_notes_site.chapter_table("glossary", ROOT)
    with_terms = [d for _, d in chapters if d.teaching.glossary]
    assert len(with_terms) >= 4, "the design chapters register their terms"
    assert re.findall(r"^### (.+)$", text, re.M) == [d.title for d in with_terms]
    assert text.count("\n".join(vit_notes_site.GLOSSARY_HEADER)) == len(with_terms)
    for d in with_terms:
        for row in d.teaching.glossary:
            assert f"| {' | '.join(row)} |" in text, (d.family, row[0])
    # a registered design without terms: no section, the others unchanged
    first = with_terms[0]
    bare = dataclasses.replace(first, teaching=dataclasses.replace(first.teaching, glossary=()))
    monkeypatch.setitem(registry._DESIGNS, first.family, bare)
    without = vit_notes_site.chapter_table("glossary", ROOT)
    assert f"### {first.title}\n" not in without
    assert re.findall(r"^### (.+)$", without, re.M) == [d.title for d in with_terms[1:]]
    # a row that would break its table is refused
    broken = (("a | b", "甲", "a term"),)
    bad = dataclasses.replace(first, teaching=dataclasses.replace(first.teaching, glossary=broken))
    monkeypatch.setitem(registry._DESIGNS, first.family, bad)
    with pytest.raises(ValueError, match="glossary cell"):
        vit_notes_site.chapter_table("glossary", ROOT)


def test_each_registered_explorer_is_shown_by_its_chapter_and_no_other_is_called():
    """The registry lists every explorer (``Design.explorers``; the tests that open each
    explorer on the site read it): each is called in its own chapter's code, and a chapter
    calls no explorer the registry does not list."""
    owner = {f.__name__: d.family for d in registry.chapters() for f in d.explorers}
    owner[registry.designs_explorer.__name__] = "compare"
    assert len(owner) == len(registry.explorers()), "two explorers share a name"
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        called = set(re.findall(r"\b(\w+_explorer)\(", code))
        assert called <= set(owner), f"{path.name} calls {called - set(owner)}, not registered"
        mine = {name for name, chapter in owner.items() if chapter == path.stem}
        assert mine <= called, f"{path.name} never shows {mine - called}"


# A titled admonition is {admonition}: MyST's {note}, {tip}, ... take no title, and one written
# on the first line beside an options block is a warning that fails the -W build (nbval and the
# notebook tests do not see it).
_UNTITLED = "note|tip|hint|important|warning|caution|attention|danger|error|seealso"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_untitled_admonition_is_given_a_title_beside_options(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    bad = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            pattern = rf"^`{{3,}}\{{(?:{_UNTITLED})\}}[ \t]+\S.*\n:[a-z-]+:"
            bad += [f"cell {i}: {m.group(0)!r}" for m in re.finditer(pattern, src, re.M)]
    assert not bad, f"use {{admonition}} Title for a titled note: {bad}"

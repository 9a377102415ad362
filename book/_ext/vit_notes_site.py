"""Small fixes to the HTML that jupyter-book 1.x emits, found by tests/browser.

* Some extensions' inline scripts (sphinx-thebe's ``const THEBE_JS_URL = ...``,
  sphinx-togglebutton's selector) are written into every page twice; the second
  ``const`` declaration throws "Identifier 'THEBE_JS_URL' has already been declared".
  Keep the first copy of each identical script.
* sphinx-exercise's ``hide_solutions`` (the student edition) drops a ``{solution}`` block
  but not a gated solution (``solution-start`` ... ``solution-end``): the build fails on
  the orphaned end node, and the cells between would show the answer anyway. When
  ``hide_solutions`` is on, everything from a ``solution-start`` to its
  ``solution-end`` is removed, code cells included.
* Explorers: an explorer's output carries its page twin (shown) and its live widget (ranked
  out by ``nb_mime_priority_overrides``); the widgets' recorded state is dropped from the page.
* Launch buttons (Binder, Colab, ...) open a chapter's plain-Jupyter copy,
  ``live/<chapter>.ipynb`` (written by ``book/_ext/live_copies.py``), not the MyST source
  that the site is built from: sphinx-book-theme builds every launch URL from the page's
  source path, so each URL's ``notebooks/<chapter>.ipynb`` is rewritten here. The download
  button gives the same copy (copied into the site as ``live/<chapter>.ipynb``), not the
  MyST source.

The page as readers meet it (issue 22; tests/browser/test_site.py checks each point):

* Exercises are numbered from 1 in each chapter (sphinx-exercise counts through the whole
  book); ``live_copies.exercise_numbers`` numbers the live copies the same way.
* An exercise's attempt cell (the code cells right after the exercise) shows no stored
  output: that output is the checker's answer to the unanswered ``None``, a failure the
  reader did not make. Where the checker is a count, a prediction or a choice
  (``vit_notes.checking.page_spec``), an answer box checks a typed answer on the page with
  the checker's messages (``_static/vit_notes_answers.js``); elsewhere a note says where the
  checker runs. A prediction's solution
  (an exercise titled "Predict...") stays locked until the reader commits a prediction
  (``_static/vit_notes.js``).
* A figure's alt text comes from its PNG output's metadata (``vit_notes.plotting.set_alt``;
  myst-nb passes on only width and height). A figure without one gets a placeholder that
  names its section, never its file path (``tests/test_site_pages.py`` lists the chapters
  still without alt texts).
* Every line of a code or output block is its own element, so that on a narrow screen a long
  line wraps under a hanging indent with a marker (``_static/vit_notes.css``) instead of
  scrolling sideways, and nothing is cut.
* A generated table too wide for a phone (the teachers' page's prediction exercises, four
  columns: ``STACKED_KINDS``) reads as stacked cards there, each cell under its column's
  header (``stack_on_phones``, ``_static/vit_notes.css``); at a laptop's width it is a table.
* The Colab install cell (tagged ``colab-install``) is left out of the search index.
* Every kernel the build starts refuses to time or train (``build_guard.py``).
"""

from __future__ import annotations

import ast
import functools
import html
import importlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective


class _gate(nodes.Element):
    """Marks where a hidden gated solution starts or ends; removed before writing."""


class _HiddenSolutionStart(SphinxDirective):
    has_content = True
    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = True
    option_spec = {"label": lambda x: x, "class": lambda x: x, "hidden": lambda x: x}

    def run(self):
        return [_gate(kind="start", label=self.arguments[0])]


class _HiddenSolutionEnd(SphinxDirective):
    has_content = False

    def run(self):
        return [_gate(kind="end")]


class _RemoveHiddenSolutions(SphinxTransform):
    default_priority = 1  # before sphinx-exercise's own checks of gated directives

    def apply(self):
        for start in list(
            self.document.findall(lambda n: isinstance(n, _gate) and n["kind"] == "start")
        ):
            parent = start.parent
            if parent is None:
                continue
            i = parent.index(start)
            j = next(
                (
                    k
                    for k in range(i + 1, len(parent))
                    if isinstance(parent[k], _gate) and parent[k]["kind"] == "end"
                ),
                None,
            )
            if j is None:
                raise self.document.reporter.severe(
                    f"solution-start {start['label']!r}: "
                    "no solution-end after it in the same section"
                )
            del parent[i : j + 1]
        for _stray in list(self.document.findall(_gate)):
            raise self.document.reporter.severe("solution-end without a solution-start before it")


def _hide_gated_solutions(app, config):
    if config.hide_solutions:
        app.add_directive("solution-start", _HiddenSolutionStart, override=True)
        app.add_directive("solution-end", _HiddenSolutionEnd, override=True)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # An inline script is registered twice, once with filename None and once with
        # "" (sphinx.application.add_js_file feeds both the registry and the builder),
        # so Sphinx's own de-duplication misses it.
        key = (
            getattr(js, "filename", str(js)) or "",
            tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())),
        )
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def _launch_live_copies(app, pagename, templatename, context, doctree):
    """Point the launch buttons of a chapter page at its live copy, when one exists."""
    from live_copies import SOURCE_DIR, live_path

    source = f"{SOURCE_DIR}/{Path(pagename).name}.ipynb"
    if not pagename.startswith(SOURCE_DIR + "/"):
        return
    live = live_path(source)
    if not (Path(app.srcdir) / live).is_file():
        raise RuntimeError(f"{source} has no live copy {live}: run python book/_ext/live_copies.py")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url")
            if url and source in url:
                button["url"] = url.replace(source, live)


def _drop_widget_state(app, pagename, templatename, context, doctree):
    """The explorers' widgets, recorded when the notebook ran, need a kernel and widget
    JavaScript the site does not load (it shows each explorer's page twin): leave their
    state, PNGs and all, out of the page."""
    docs = getattr(app.env, "nb_metadata", {})
    if pagename in docs:
        docs[pagename].get("js_files", {}).pop("ipywidgets_state", None)


# --- exercises: numbered per chapter, no pre-run verdicts, predictions locked ----------------


def _renumber_exercises(app, env):
    """Number each page's exercises from 1. Sphinx numbers an enumerable node within its
    section number, and the chapters have none, so sphinx-exercise's count runs through the
    whole book (the second chapter opened at Exercise 6). Runs after Sphinx has assigned
    the numbers (``env-get-updated``); sphinx-exercise reads them from here for its titles,
    the solutions' titles and references."""
    changed = []
    for docname, figtypes in env.toc_fignumbers.items():
        numbers = figtypes.get("exercise")
        if not numbers:
            continue
        ordered = sorted(numbers, key=lambda key: numbers[key])
        renumbered = {key: (k + 1,) for k, key in enumerate(ordered)}
        if renumbered != numbers:
            figtypes["exercise"] = renumbered
            changed.append(docname)
    return changed


def _source(cell) -> str:
    """A code cell's source, as the notebook holds it."""
    for child in cell.children:
        if child.get("nb_element") == "cell_code_source":
            return child.astext()
    return ""


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def exercise_title(node) -> str:
    """An exercise's own title ("Predict, then slide: ..."), without "Exercise N"."""
    from sphinx_exercise.nodes import exercise_subtitle

    sub = next(iter(node.findall(exercise_subtitle)), None)
    return sub.astext().strip() if sub is not None else ""


def is_prediction(title: str) -> bool:
    """The book's prediction exercises are titled "Predict..." (tests/test_book.py)."""
    return title.lower().startswith("predict")


ATTEMPT_NOTE = (
    '<p class="vn-attempt-note">Write your answer in this cell and run it in a live copy '
    "of the chapter (the launch button at the top of the page): the checker answers "
    "under it.</p>"
)


ANSWER_NOTE = (
    '<p class="vn-attempt-note">Check your answer here, or write it in this cell and run it '
    "in a live copy of the chapter (the launch button at the top of the page).</p>"
)


def checker_call(source: str) -> tuple[str, str, dict] | None:
    """The chapter checker an attempt cell calls, ``("pvt", "check_sra_macs", {"H": 56})``:
    a call ``module.check_...(answer, name=literal, ...)`` on a vit_notes subpackage, else
    ``None``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for call in ast.walk(tree):
        func = getattr(call, "func", None)
        if not (
            isinstance(call, ast.Call)
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr.startswith("check_")
            and len(call.args) == 1
        ):
            continue
        try:
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        except ValueError:
            return None
        if len(kwargs) == len(call.keywords) and importlib.util.find_spec(
            f"vit_notes.{func.value.id}"
        ):
            return func.value.id, func.attr, kwargs
    return None


def answer_spec(source: str) -> dict | None:
    """What the page checks a typed answer against (``vit_notes.checking.page_spec``) for
    the checker an attempt cell calls, or ``None`` when the page cannot check it."""
    from vit_notes.checking import page_spec  # torch: loaded only by pages with exercises

    call = checker_call(source)
    if call is None:
        return None
    module, name, kwargs = call
    return page_spec(getattr(importlib.import_module(f"vit_notes.{module}"), name), **kwargs)


def chapter_checkers(root: Path) -> list[tuple[tuple[str, str, dict], dict]]:
    """Every distinct (module, checker, keyword arguments) the chapters' code cells call,
    with the description the page gets for it; checkers the page cannot check are left out.
    The tests of the page's answer boxes and of the no-answer rule both read this list."""
    found: dict[str, tuple] = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            call, spec = checker_call(source), answer_spec(source)
            if call is not None and spec is not None:
                found[json.dumps(list(call), sort_keys=True)] = (call, spec)
    return list(found.values())


def _spec_attr(spec: dict) -> str:
    return html.escape(json.dumps(spec, ensure_ascii=False, separators=(",", ":")), quote=True)


def _answer_form(label: str, spec: dict) -> str:
    field = f"vn-answer-{label}"
    return (
        f'<form class="vn-answer" data-spec="{_spec_attr(spec)}" hidden>'
        f'<label for="{html.escape(field)}">Your answer</label> '
        f'<input id="{html.escape(field)}" name="answer" type="text" autocomplete="off"'
        ' spellcheck="false"> <button type="submit">Check</button>'
        '<p class="vn-answer-verdict" aria-live="polite"></p></form>'
    )


def _commit_form(label: str, solution_id: str, spec: dict | None = None) -> str:
    field = f"vn-prediction-{label}"
    checked = f' data-spec="{_spec_attr(spec)}"' if spec else ""
    return (
        f'<form class="vn-commit" data-solution="{html.escape(solution_id)}"{checked} hidden>'
        f'<label for="{html.escape(field)}">Your prediction</label> '
        f'<input id="{html.escape(field)}" name="prediction" type="text" autocomplete="off"'
        ' required> <button type="submit">Commit, then show the solution</button>'
        '<p class="vn-commit-status" aria-live="polite">The solution stays closed until you '
        "commit a prediction.</p>"
        + ('<p class="vn-answer-verdict" aria-live="polite"></p>' if spec else "")
        + "</form>"
    )


class _ExerciseAttempts(SphinxTransform):
    """The code cells right after an exercise are its attempt: drop their stored output
    (the checker's verdict on the unanswered ``None``) and say where the checker runs. A
    prediction's solution gets a commit form in front of it and the class ``vn-locked``."""

    default_priority = 500  # after sphinx-exercise merges gated solutions (10)

    def apply(self):
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

        kinds = (exercise_enumerable_node, exercise_node)
        for ex in list(self.document.findall(lambda n: isinstance(n, kinds))):
            parent = ex.parent
            i = parent.index(ex) + 1
            attempts = []
            while i < len(parent) and _is_code_cell(parent[i]):
                attempts.append(parent[i])
                i += 1
            if not attempts:
                continue
            for cell in attempts:
                for out in [c for c in cell.children if c.get("nb_element") == "cell_code_output"]:
                    cell.remove(out)
            solution = parent[i] if i < len(parent) else None
            if not (
                isinstance(solution, solution_node)
                and solution.get("target_label") == ex.get("label")
            ):
                solution = None
            spec = next(filter(None, (answer_spec(_source(cell)) for cell in attempts)), None)
            label = ex.get("label", "")
            if solution is not None and is_prediction(exercise_title(ex)):
                solution["classes"].append("vn-locked")
                extra = _commit_form(label, solution["ids"][0], spec)
            elif spec is not None:
                extra = _answer_form(label, spec) + ANSWER_NOTE
            else:
                extra = ATTEMPT_NOTE
            attempts[-1].append(nodes.raw("", extra, format="html"))


# --- figures: alt text from the output's metadata ---------------------------------------------


def _alt_from_metadata(render_image):
    """myst-nb's ``render_image``, also taking ``alt`` from the output's metadata (myst-nb
    takes only width and height from there)."""

    @functools.wraps(render_image)
    def render(self, data):
        result = render_image(self, data)
        alt = data.output_metadata.get(data.mime_type, {}).get("alt")
        if isinstance(alt, str) and alt.strip():
            for node in result:
                if isinstance(node, nodes.image):
                    node["alt"] = " ".join(alt.split())
        return result

    render._vit_notes_alt = True
    return render


def _in_cell_output(node) -> bool:
    while node is not None:
        if isinstance(node, nodes.container) and node.get("nb_element") == "cell_code_output":
            return True
        node = node.parent
    return False


def missing_alt(section: str) -> str:
    """The alt text of a figure whose chapter has not given it one yet (never its path)."""
    return f"A figure of the section “{section}”, not described yet."


class _FigureAlt(SphinxTransform):
    """A cell's figure without alt text would get its file path as alt text (docutils'
    default): name its section instead."""

    default_priority = 500

    def apply(self):
        for image in self.document.findall(nodes.image):
            if image.get("alt") or not _in_cell_output(image):
                continue
            parent, section = image.parent, None
            while parent is not None and section is None:
                if isinstance(parent, nodes.section) and parent.children:
                    if isinstance(parent[0], nodes.title):
                        section = parent[0].astext()
                parent = parent.parent
            image["alt"] = missing_alt(section or self.env.docname)


# --- search: the Colab install cell is no part of a page's text ------------------------------

#: Classes of elements the search index skips (Sphinx 7 has no such option).
NO_SEARCH = frozenset({"tag_colab-install"})


def _skip_in_search(dispatch_visit):
    @functools.wraps(dispatch_visit)
    def visit(self, node):
        if isinstance(node, nodes.Element) and NO_SEARCH & set(node.get("classes", [])):
            raise nodes.SkipNode
        return dispatch_visit(self, node)

    visit._vit_notes_search = True
    return visit


# --- code and output blocks: one element per line --------------------------------------------

_HIGHLIGHT_PRE = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre>)', re.S)
_TOKEN = re.compile(r"<span\b[^>]*>|</span>|<[^>]*>|[^<]+")
_TAG = re.compile(r"<[^>]*>")


def split_lines(inner: str) -> list[str]:
    """The lines of a highlighted ``<pre>``'s HTML, each with its open ``<span>``s closed
    at its end and reopened at the next line's start (a token can span lines)."""
    lines, current, stack = [], [], []
    for token in _TOKEN.findall(inner):
        if token.startswith("<span"):
            stack.append(token)
            current.append(token)
        elif token == "</span>":
            if stack:
                stack.pop()
            current.append(token)
        elif token.startswith("<"):
            current.append(token)
        else:
            for k, part in enumerate(token.split("\n")):
                if k:
                    lines.append("".join(current + ["</span>"] * len(stack)))
                    current = list(stack)
                current.append(part)
    lines.append("".join(current))
    return lines


def wrap_code_lines(body: str) -> str:
    """Every line of every highlighted block as ``<span class="vn-line">``, carrying its
    indentation (``--vn-i``) for the hanging indent of its wrapped continuation."""

    def one(m):
        lines = split_lines(m.group(2))
        trailing = lines and _TAG.sub("", lines[-1]) == ""
        if trailing:
            lines = lines[:-1]
        out = []
        for line in lines:
            text = html.unescape(_TAG.sub("", line))
            indent = len(text) - len(text.lstrip(" "))
            style = f' style="--vn-i:{indent}"' if indent else ""
            out.append(f'<span class="vn-line"{style}>{line}</span>')
        return m.group(1) + "\n".join(out) + ("\n" if trailing else "") + m.group(3)

    return _HIGHLIGHT_PRE.sub(one, body)


def fix_citation_roles(body: str) -> str:
    """docutils writes the bibliography as ``role="list"`` holding ``role="doc-biblioentry"``
    entries, which ARIA does not allow (a list holds list items; axe-core: critical): each
    entry becomes a list item."""
    return re.sub(
        r'(<div class="citation"[^>]*?) role="doc-biblioentry"', r'\1 role="listitem"', body
    )


def _wrap_code(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = fix_citation_roles(wrap_code_lines(context["body"]))


# --- the download button: the live copy ------------------------------------------------------


def _download_live_copy(app, pagename, templatename, context, doctree):
    """A chapter's download button gives its live copy (copied into the site by
    ``_copy_live_copies``), not the MyST source, which shows ``{exercise}`` raw in Jupyter."""
    from live_copies import SOURCE_DIR, live_path

    if not pagename.startswith(SOURCE_DIR + "/"):
        return
    live = live_path(f"{pagename}.ipynb")
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        kept = []
        for button in group.get("buttons", []):
            if button.get("label") == "download-notebook-button":
                continue  # a second .ipynb entry (myst-nb's text notebooks): one is enough
            if button.get("label") == "download-source-button":
                button["url"] = context["pathto"](live, 1)
                button["text"] = ".ipynb"
                button["tooltip"] = "Download the notebook (the plain Jupyter copy)"
            kept.append(button)
        group["buttons"] = kept


def _copy_live_copies(app, exception):
    from live_copies import chapters, live_path

    if exception is not None or app.builder.format != "html":
        return
    root = Path(app.srcdir)
    for src in chapters(root):
        live = live_path(src.relative_to(root))
        target = Path(app.outdir) / live
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / live, target)


# --- the chapters' rows on the intro and teachers' pages, from the registry ----------------

#: The kinds of ``chapter-table`` and what each renders.
CHAPTER_TABLE_KINDS = {
    "intro": "the intro page's table of design chapters: title, papers, idea",
    "explorers": "one line per chapter: where its explorer is, what its controls are",
    "predictions": "the prediction round's table (slider exercises), then the others",
    "judgements": "one line per chapter: its judgement exercise and its question",
    "query-grids": "one sentence: the grid each explorer's queries lie on",
    "glossary": "the notation page's glossary, after its shared tables: a section per chapter "
    "(its title), a table of the terms its design alone uses (none when it registers none)",
}

#: The kinds whose tables a phone shows as stacked cards (:func:`stack_on_phones`): four
#: columns of sentences do not fit 390 px side by side.
STACKED_KINDS = ("predictions",)

#: The header of every glossary table, the shared ones of book/notation.md and the chapters'.
GLOSSARY_HEADER = ("| English | 中文 | meaning |", "|---|---|---|")

#: How the teachers' page names the comparison chapter's explorer (not a registered chapter).
COMPARISON = "the comparison"


def registered_chapters(root: Path) -> list[tuple[str, object]]:
    """``(docname, Design)`` of every registered chapter (``vit_notes.registry.chapters``),
    in ``_toc.yml``'s order; a registered chapter missing from the table of contents, or
    without its :class:`~vit_notes.registry.Teaching`, is an error."""
    from live_copies import SOURCE_DIR, toc_files

    from vit_notes import registry

    by_family = {d.family: d for d in registry.chapters()}
    docs = {Path(f).with_suffix("").as_posix(): f for f in toc_files(root)}
    out = []
    for doc in docs:
        family = Path(doc).name
        if Path(doc).parent.as_posix() == SOURCE_DIR and family in by_family:
            out.append((doc, by_family.pop(family)))
    if by_family:
        raise ValueError(f"registered chapters not in _toc.yml: {sorted(by_family)}")
    lacking = [d.family for _, d in out if d.teaching is None]
    if lacking:
        raise ValueError(
            f"registered chapters without their Teaching (registry.Design.teaching): {lacking}"
        )
    return out


def exercise_titles(root: Path, doc: str) -> dict[str, str]:
    """Label -> title of every exercise of a page (``ex-pvt-predict`` -> ``Predict, then
    slide: from sr_ratio 8 to 2``)."""
    from live_copies import _blocks, _page, _page_text

    path = _page(root, doc)
    return {
        b[3]["label"]: b[2]
        for b in _blocks(_page_text(path))
        if b[0] == "directive" and b[1] == "exercise" and b[3].get("label")
    }


def chapter_title(root: Path, doc: str) -> str:
    """A chapter's name for a table: its notebook's first heading, before any colon
    ("Swin Transformer: attention inside shifted windows" -> "Swin Transformer")."""
    from live_copies import _page, _title

    return _title(_page(root, doc)).split(":")[0].strip()


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _exercise(root: Path, doc: str, label: str, titled: bool = True) -> str:
    titles = exercise_titles(root, doc)
    if label not in titles:
        raise ValueError(f"{doc} has no exercise labelled {label!r}")
    ref = f"{{numref}}`Exercise %s <{label}>`"
    return f"{ref}, *{titles[label]}*" if titled else ref


def _an(n: int) -> str:
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def chapter_table(kind: str, root: Path, extra: list[str] = ()) -> str:
    """The MyST of one ``chapter-table`` (:data:`CHAPTER_TABLE_KINDS`), from every registered
    chapter's :class:`~vit_notes.registry.Teaching` in ``_toc.yml``'s order; ``extra``: the
    directive's own lines, hand-written rows or items that follow the generated ones (the
    comparison chapter's, which registers no design)."""
    chapters = registered_chapters(root)
    lines: list[str] = []
    if kind == "intro":
        lines += ["| chapter | paper | the idea |", "|---|---|---|"]
        for doc, d in chapters:
            t = d.teaching
            if t.idea:
                papers = ", ".join(f"{{cite:t}}`{key}`" for key in t.cites)
                title = chapter_title(root, doc)
                lines.append(f"| {{doc}}`{title} </{doc}>` | {papers} | {t.idea} |")
        lines += list(extra)
    elif kind == "explorers":
        for _, d in chapters:
            t = d.teaching
            lines.append(f"* {_capital(t.name)} ({t.explorer_section}): {t.explorer_controls}")
        lines += list(extra)
    elif kind == "predictions":
        lines += [
            "| chapter | exercise | the slider | the prediction |",
            "|---|---|---|---|",
        ]
        after = []
        for doc, d in chapters:
            t = d.teaching
            ex = _exercise(root, doc, t.predict)
            if t.slider:
                lines.append(f"| {t.name} | {ex} | {t.slider} | {t.prediction} |")
            else:
                after.append(f"{_capital(t.name)}'s {ex}, {t.prediction}.")
        lines += list(extra)
        lines += [line for a in after for line in ("", a)]
    elif kind == "judgements":
        for doc, d in chapters:
            t = d.teaching
            ex = _exercise(root, doc, t.judgement, titled=False)
            lines.append(f"* {_capital(t.name)}'s {ex}: {t.question}.")
        lines += list(extra)
    elif kind == "query-grids":
        from vit_notes import registry

        grids: dict[int, list[str]] = {}
        named = [(d.teaching.name, f) for _, d in chapters for f in d.explorers]
        for name, factory in named + [(COMPARISON, registry.designs_explorer)]:
            g = factory().query_grid
            if g and f"{name}'s" not in grids.get(g, []):
                grids.setdefault(g, []).append(f"{name}'s")
        parts = [
            f"{' and '.join(names)} {'queries lie ' if k == 0 else ''}on {_an(g)} {g}×{g} grid"
            for k, (g, names) in enumerate(grids.items())
        ]
        lines.append(_capital(", ".join(parts)) + ".")
        lines += list(extra)
    elif kind == "glossary":
        for doc, d in chapters:
            rows = [glossary_row(d.family, row) for row in d.teaching.glossary]
            if rows:
                lead = (
                    f"Terms of the {{doc}}`{chapter_title(root, doc)} </{doc}>` chapter's design."
                )
                lines += ["", f"### {d.title}", "", lead, "", *GLOSSARY_HEADER, *rows]
        lines += list(extra)
    else:
        raise ValueError(f"chapter-table {kind!r}: choose from {sorted(CHAPTER_TABLE_KINDS)}")
    return "\n".join(lines)


def glossary_row(family: str, row: tuple[str, str, str]) -> str:
    """One row of a chapter's glossary table, ``| English | 中文 | meaning |``: three cells,
    none empty, none holding a ``|`` or a line break (either would break the table)."""
    if len(row) != 3 or not all(isinstance(c, str) and c.strip() for c in row):
        raise ValueError(f"{family}: a glossary row is (English, 中文, meaning), got {row!r}")
    bad = [c for c in row if "|" in c or "\n" in c]
    if bad:
        raise ValueError(f"{family}: a glossary cell holds a '|' or a line break: {bad[0]!r}")
    return f"| {' | '.join(c.strip() for c in row)} |"


#: The class of a table read as cards on a phone (``_static/vit_notes.css``): below its
#: breakpoint each row is a card and each cell starts with its column's header.
STACKED = "vn-stacked"


def stack_on_phones(table: nodes.table) -> nodes.table:
    """Mark ``table`` to be read as stacked cards on a phone (:data:`STACKED`): each body
    cell starts with its column's header (a ``span.vn-cell-label``, shown on a phone only),
    so that a card's cells keep their names once the header row is out of sight."""
    table["classes"].append(STACKED)
    heads = []
    for thead in table.findall(nodes.thead):
        heads = [entry.astext().strip() for entry in thead.findall(nodes.entry)]
    for tbody in table.findall(nodes.tbody):
        for row in tbody.findall(nodes.row):
            for head, entry in zip(heads, row.findall(nodes.entry)):
                label = nodes.inline(head, head, classes=["vn-cell-label"])
                para = next(iter(entry.findall(nodes.paragraph)), None)
                if para is None:
                    entry.insert(0, nodes.paragraph("", "", label))
                else:
                    para.insert(0, label)
    return table


class _ChapterTable(SphinxDirective):
    """````{chapter-table} KIND```` (:data:`CHAPTER_TABLE_KINDS`): the rows every registered
    chapter contributes to a page, rendered as MyST from its registration
    (:func:`chapter_table`); the directive's content follows them (hand-written rows).

    The ``glossary`` kind renders headings: its sections join the page's own (MyST files a
    nested parse's ``###`` section under the enclosing ``##`` one), so they stand beside the
    shared tables' sections, in the page's contents and with anchors of their own."""

    has_content = True
    required_arguments = 1

    def run(self):
        from docutils.statemachine import StringList

        root = Path(self.env.srcdir)
        try:
            text = chapter_table(self.arguments[0], root, list(self.content))
        except ValueError as e:
            raise self.error(f"chapter-table: {e}") from None
        for doc, d in registered_chapters(root):
            self.env.note_dependency(str(root / f"{doc}.ipynb"))
            # its registration (Teaching): the rows come from there
            self.env.note_dependency(importlib.import_module(f"vit_notes.{d.family}").__file__)
        box = nodes.container()
        self.state.nested_parse(
            StringList(text.split("\n"), source=self.env.docname),
            self.content_offset,
            box,
            match_titles=self.arguments[0] == "glossary",
        )
        if self.arguments[0] in STACKED_KINDS:
            for table in box.findall(nodes.table):
                stack_on_phones(table)
        return box.children


# --- the build: no kernel times or trains --------------------------------------------------------


def _guard_kernels(app):
    """Every kernel this build starts runs build_guard.install() before its first cell."""
    import build_guard

    folder = Path(app.outdir).parent / "build-guard"
    shutil.rmtree(folder, ignore_errors=True)
    os.environ.update(build_guard.kernel_environment(folder))


def _page_being_executed(app, docname, source):
    # myst-nb starts the page's kernel while it parses the page, right after this event.
    import build_guard

    os.environ[build_guard.ENV_DOC] = docname


def setup(app):
    from myst_nb.core.render import NbElementRenderer
    from sphinx.search import WordCollector

    if not getattr(NbElementRenderer.render_image, "_vit_notes_alt", False):
        NbElementRenderer.render_image = _alt_from_metadata(NbElementRenderer.render_image)
    if not getattr(WordCollector.dispatch_visit, "_vit_notes_search", False):
        WordCollector.dispatch_visit = _skip_in_search(WordCollector.dispatch_visit)
    app.connect("builder-inited", _guard_kernels)
    app.connect("source-read", _page_being_executed)
    app.connect("env-get-updated", _renumber_exercises, priority=900)  # after Sphinx's count
    app.add_directive("chapter-table", _ChapterTable)
    app.add_transform(_ExerciseAttempts)
    app.add_transform(_FigureAlt)
    app.connect("html-page-context", _drop_widget_state, priority=100)  # before myst-nb's
    app.add_node(_gate)
    app.add_transform(_RemoveHiddenSolutions)
    app.connect("config-inited", _hide_gated_solutions)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # After sphinx-book-theme's add_launch_buttons (priority 501) has built the URLs.
    app.connect("html-page-context", _launch_live_copies, priority=600)
    app.connect("html-page-context", _download_live_copy, priority=600)
    app.connect("html-page-context", _wrap_code, priority=900)
    app.connect("build-finished", _copy_live_copies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

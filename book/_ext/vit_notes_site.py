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
  source path, so each URL's ``notebooks/<chapter>.ipynb`` is rewritten here.
"""

from __future__ import annotations

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


def setup(app):
    app.connect("html-page-context", _drop_widget_state, priority=100)  # before myst-nb's
    app.add_node(_gate)
    app.add_transform(_RemoveHiddenSolutions)
    app.connect("config-inited", _hide_gated_solutions)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # After sphinx-book-theme's add_launch_buttons (priority 501) has built the URLs.
    app.connect("html-page-context", _launch_live_copies, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Small fixes to the HTML that jupyter-book 1.x emits, found by tests/browser.

* Some extensions' inline scripts (sphinx-thebe's ``const THEBE_JS_URL = ...``,
  sphinx-togglebutton's selector) are written into every page twice; the second
  ``const`` declaration throws "Identifier 'THEBE_JS_URL' has already been declared".
  Keep the first copy of each identical script.
"""
from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # An inline script is registered twice, once with filename None and once with
        # "" (sphinx.application.add_js_file feeds both the registry and the builder),
        # so Sphinx's own de-duplication misses it.
        key = (getattr(js, "filename", str(js)) or "",
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

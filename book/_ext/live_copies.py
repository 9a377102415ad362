"""Plain-Jupyter copies of the chapters (``live/<chapter>.ipynb``): what the launch buttons,
JupyterLab, Colab, VS Code and Voila open.

The chapters in ``notebooks/`` are the one source: they are written for the book, in MyST
(``{cite}``, ``{doc}``, ``{exercise}``, gated ``solution-start`` ... ``solution-end`` with
code cells inside). A plain frontend shows that markup raw, and "Run All" runs every
solution. Each copy written here is the same chapter with:

* citations as "(Wang et al., 2021)" linked to the paper, and the chapter's references
  listed in full at its end (from ``book/references.bib``);
* ``{doc}`` links to the other chapters' copies, or to the page on GitHub;
* each exercise as a heading numbered as on the site ("Exercise 4 (The size of the
  table)"), and each solution, prose and code, inside a closed ``<details>`` block
  (Markdown, so no "Run All" runs it; the student opens it to read or copy the code);
* glued numbers (``{glue:text}`key:fmt```) as plain text, formatted from the value the
  chapter's stored outputs hold, as the site renders them;
* admonitions as quotes; no stored outputs; the build's own tags dropped
  (``skip-execution``, so Voila and nbclient run the explorers; ``nbval-*``); cells tagged
  ``hide-input`` folded (``jupyter.source_hidden``), as on the site.

Any MyST role or directive this module does not know is an error, so a new construct in
a chapter cannot reach a copy raw. The copies are committed (Colab opens notebooks from
the repository); ``tests/test_live_copies.py`` fails when one is stale.

    python book/_ext/live_copies.py                  write every chapter's copy
    python book/_ext/live_copies.py --check          exit 1 if a copy is stale
    python book/_ext/live_copies.py --app pvt OUT    the chapter's explorers alone, as a
                                                     notebook for Voila (scripts/present)
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = "notebooks"
LIVE_DIR = "live"

#: Tags that only the book's build and tests read; a live copy drops them (Voila and
#: nbclient honour ``skip-execution``, which would leave the explorers unrun).
BUILD_TAGS = {"skip-execution", "nbval-skip", "nbval-ignore-output", "nbval-raises-exception"}
FOLD_TAGS = {"hide-input", "remove-input"}
#: A chapter tags each explorer's cell (the live explorer widget) with one of these.
EXPLORER_TAGS = {"explorer", "widget"}
ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}

_DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*?)\s*$")
_CODE_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?!.*\{)")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*$")
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


class MystError(ValueError):
    """A chapter uses MyST that the converter does not know: extend it, do not ship raw markup."""


def source_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def live_path(source: str | Path) -> str:
    """The repository path of a chapter's live copy: notebooks/pvt.ipynb -> live/pvt.ipynb."""
    return f"{LIVE_DIR}/{Path(source).name}"


# --- the book around a chapter: toc order, bibliography, page titles ------------------------


def toc_files(root: Path = ROOT) -> list[str]:
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def _page(root: Path, docname: str) -> Path | None:
    for ext in ("", ".ipynb", ".md"):
        p = root / f"{docname}{ext}"
        if p.is_file():
            return p
    return None


def _page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n\n".join(source_text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _title(path: Path) -> str:
    m = re.search(r"^#\s+(.+?)\s*$", _page_text(path), re.M)
    return m.group(1) if m else path.stem


def exercise_numbers(root: Path = ROOT) -> dict[str, int]:
    """Label -> number of every exercise, numbered from 1 in each page, as the site numbers
    them (``vit_notes_site`` renumbers sphinx-exercise's book-wide count per page)."""
    numbers: dict[str, int] = {}
    for doc in toc_files(root):
        path = _page(root, doc)
        if path is None:
            continue
        n = 0
        for block in _blocks(_page_text(path)):
            if block[0] == "directive" and block[1] == "exercise":
                n += 1
                numbers[block[3].get("label") or f"{path.stem}-{n}"] = n
    return numbers


def bibliography(root: Path = ROOT) -> dict[str, dict]:
    """Key -> {short, full, url} for every entry of book/references.bib (pybtex, which
    sphinxcontrib-bibtex installs, parses it)."""
    from pybtex.database import parse_file

    def plain(text: str) -> str:
        from pybtex.richtext import Text

        return str(Text.from_latex(text)) if "\\" in text or "{" in text else text

    entries = {}
    for key, e in parse_file(str(root / "book" / "references.bib")).entries.items():
        people = e.persons.get("author", [])
        last = [plain(" ".join(p.last_names)) for p in people]
        names = [plain(" ".join(p.first_names + p.middle_names + p.last_names)) for p in people]
        year = e.fields.get("year", "n.d.")
        short = (
            last[0]
            if len(last) == 1
            else f"{last[0]} and {last[1]}"
            if len(last) == 2
            else f"{last[0]} et al."
        )
        venue = e.fields.get("booktitle") or e.fields.get("journal") or ""
        url = e.fields.get("url") or (
            f"https://doi.org/{e.fields['doi']}" if "doi" in e.fields else ""
        )
        title = plain(e.fields.get("title", key))
        full = f"{', '.join(names)} ({year}). {title}." + (f" *{plain(venue)}*." if venue else "")
        entries[key] = {"short": f"{short}, {year}", "author": short, "year": year,
                        "full": full, "url": url}  # fmt: skip
    return entries


# --- MyST to CommonMark ---------------------------------------------------------------------


def _blocks(text: str):
    """Split MyST text into ("text", str) and ("directive", name, arg, options, body) blocks.
    Plain code fences pass through as text, unread."""
    lines = text.split("\n")
    i, buf = 0, []
    while i < len(lines):
        line = lines[i]
        m = _DIRECTIVE.match(line)
        plain = _CODE_FENCE.match(line)
        if m or plain:
            fence = (m or plain).group("fence")
            j = next(
                (k for k in range(i + 1, len(lines)) if lines[k].strip() == fence),
                None,
            )
            if j is None:
                raise MystError(f"unclosed fence {line!r}")
            if plain:
                buf.extend(lines[i : j + 1])
                i = j + 1
                continue
            if buf:
                yield ("text", "\n".join(buf))
                buf = []
            body = lines[i + 1 : j]
            options: dict[str, str] = {}
            if body and body[0].strip() == "---":  # a YAML option block
                end = body.index("---", 1)
                import yaml

                options = {
                    k: str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()
                }
                body = body[end + 1 :]
            else:
                while body and re.match(r"^:[\w-]+:", body[0]):
                    key, _, value = body.pop(0)[1:].partition(":")
                    options[key] = value.strip()
            yield ("directive", m.group("name"), m.group("arg"), options, "\n".join(body).strip())
            i = j + 1
            continue
        buf.append(line)
        i += 1
    if buf:
        yield ("text", "\n".join(buf))


class Converter:
    """Turns one chapter's MyST into CommonMark, remembering what it cited."""

    def __init__(self, root: Path, source: Path, bib: dict, numbers: dict[str, int], repo: str):
        self.root, self.source, self.bib, self.numbers, self.repo = (
            root,
            source,
            bib,
            numbers,
            repo,
        )
        self.cited: list[str] = []
        self.exercise_titles: dict[str, str] = {}
        #: key -> the text/plain of each value the chapter glued (its stored outputs)
        self.glued: dict[str, str] = {}

    # roles
    def _cite(self, role: str, keys: str) -> str:
        parts = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in self.bib:
                raise MystError(f"{self.source.name}: {{cite}}`{key}` is not in references.bib")
            if key not in self.cited:
                self.cited.append(key)
            e = self.bib[key]
            text = f"{e['author']} ({e['year']})" if role == "cite:t" else e["short"]
            parts.append(f"[{text}]({e['url']})" if e["url"] else text)
        return "; ".join(parts) if role == "cite:t" else f"({'; '.join(parts)})"

    def _doc(self, text: str) -> str:
        m = _TITLED.match(text)
        title, target = (m.group("title"), m.group("target")) if m else (None, text)
        page = _page(self.root, (self.source.parent / target).resolve().as_posix())
        if page is None:
            page = _page(self.root, target.lstrip("/"))
        if page is None:
            raise MystError(f"{self.source.name}: {{doc}}`{text}` names no page")
        title = title or _title(page)
        if "{bibliography}" in _page_text(page):  # its counterpart: this copy's own list
            return f"[{title}](#References)"
        rel = page.relative_to(self.root).as_posix()
        if page.suffix == ".ipynb":
            # Another chapter: its live copy, beside this one (JupyterLab, VS Code, Binder),
            # and on Colab, where a chapter saved to Drive has no copy beside it.
            here = f"[{title}]({Path(live_path(rel)).name})"
            return f"{here} ([Colab]({self.colab(live_path(rel))}))" if self.colab else here
        return f"[{title}]({self.repo}/blob/{self.branch}/{rel})"

    def _glue(self, text: str) -> str:
        from myst_nb.core.variables import format_plain_text

        key, _, fmt = text.partition(":")
        if "::" in text or key not in self.glued:
            raise MystError(
                f"{self.source.name}: {{glue}}`{text}` has no value stored in this chapter "
                "(glue it in a code cell, then execute the notebook)"
            )
        return format_plain_text(self.glued[key], fmt)

    branch = "main"
    #: ``path -> URL`` that opens the repository's notebook at ``path`` on Colab (None: the
    #: repository is not on GitHub, so Colab cannot open it).
    colab = None

    def roles(self, text: str) -> str:
        def sub(m):
            role, body = m.group("role"), m.group("text")
            if role in ("cite", "cite:p", "cite:ps", "cite:t", "cite:ts"):
                return self._cite(role.rstrip("s") if role != "cite:ps" else "cite:p", body)
            if role == "doc":
                return self._doc(body)
            if role == "math":
                return f"${body}$"
            if role in ("glue", "glue:", "glue:any", "glue:text"):
                return self._glue(body)
            if role in ("ref", "numref", "eq") and _TITLED.match(body):
                return _TITLED.match(body).group("title")
            raise MystError(f"{self.source.name}: no plain form for the role {{{role}}}`{body}`")

        out = []
        for kind, chunk in _split_code(text):
            out.append(
                chunk if kind == "code" else _TARGET_LINE.sub(_anchor, _ROLE.sub(sub, chunk))
            )
        return "".join(out)

    def markdown(self, text: str) -> list[tuple]:
        """("md", text), ("start", label), ("end",) pieces of one Markdown cell."""
        pieces: list[tuple] = []
        for block in _blocks(text):
            if block[0] == "text":
                pieces.append(("md", self.roles(block[1])))
                continue
            _, name, arg, options, body = block
            if name == "exercise":
                label = options.get("label", "")
                n = self.numbers.get(label)
                self.exercise_titles[label] = f"Exercise {n}" + (f" ({arg})" if arg else "")
                pieces.append(("md", f"### {self.exercise_titles[label]}\n\n{self.roles(body)}"))
            elif name == "solution-start":
                pieces.append(("start", arg.strip()))
                if body:
                    pieces.append(("md", self.roles(body)))
            elif name == "solution-end":
                pieces.append(("end",))
            elif name == "solution":
                pieces += [("start", arg.strip()), ("md", self.roles(body)), ("end",)]
            elif name in ADMONITIONS or name == "admonition":
                title = arg if name == "admonition" else ADMONITIONS[name]
                inner = self.roles(body)
                if "dropdown" in options.get("class", ""):
                    pieces.append(("md", _details(title, inner)))
                else:
                    quoted = "\n".join(f"> {ln}".rstrip() for ln in inner.split("\n"))
                    pieces.append(("md", f"> **{title}**\n>\n{quoted}"))
            elif name == "math":
                pieces.append(("md", f"$$\n{body}\n$$"))
            else:
                raise MystError(f"{self.source.name}: no plain form for the directive {{{name}}}")
        return pieces

    def solution_title(self, label: str) -> str:
        exercise = self.exercise_titles.get(label)
        return f"Solution to {exercise}" if exercise else "Solution"


_TARGET_LINE = re.compile(r"^\((?P<label>[\w:.-]+)\)=[ \t]*$", re.M)


def _anchor(m) -> str:
    return f'<a id="{m.group("label")}"></a>'


def _split_code(text: str):
    """Markdown text as ("code", ...) fenced blocks and inline code spans, left alone, and
    ("text", ...) between them."""
    pattern = re.compile(r"(^(`{3,}|~{3,}).*?^\2[ \t]*$|`[^`\n]+`)", re.M | re.S)
    pos = 0
    for m in pattern.finditer(text):
        # A role's `...` is its own code span: keep it with its {role} prefix.
        if m.group(0).startswith("`") and not m.group(2) and text[: m.start()].endswith("}"):
            continue
        yield ("text", text[pos : m.start()])
        yield ("code", m.group(0))
        pos = m.end()
    yield ("text", text[pos:])


def _details(summary: str, body: str) -> str:
    # The blank lines let the Markdown inside render (JupyterLab, Colab, VS Code, GitHub).
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def _clean_code_cell(cell: dict) -> dict:
    out = {
        "cell_type": "code",
        "execution_count": None,
        "id": cell.get("id"),
        "metadata": copy.deepcopy(cell.get("metadata", {})),
        "outputs": [],
        "source": _lines(source_text(cell)),
    }
    tags = [t for t in out["metadata"].get("tags", []) if t not in BUILD_TAGS]
    out["metadata"].pop("execution", None)
    if tags:
        out["metadata"]["tags"] = tags
    else:
        out["metadata"].pop("tags", None)
    if FOLD_TAGS & set(tags):
        out["metadata"].setdefault("jupyter", {})["source_hidden"] = True
    if out["id"] is None:
        out.pop("id")
    return out


def _lines(text: str) -> list[str]:
    """A cell's source as nbformat stores it: a list of lines, each but the last with its \\n."""
    return text.splitlines(keepends=True)


def _md_cell(text: str, cell_id: str | None) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}
    if cell_id:
        cell["id"] = cell_id
    return cell


def _repo_url(root: Path) -> tuple[str, str]:
    import yaml

    repo = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]
    return repo["url"].rstrip("/").removesuffix(".git"), repo.get("branch", "main")


def colab_opener(root: Path = ROOT):
    """``path -> URL`` opening the repository's notebook at ``path`` on Colab (the launch
    buttons' Colab address, ``_config.yml``), or None where the repository is not on GitHub."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo, branch = _repo_url(root)
    colab = config.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    owner_repo = repo.removeprefix("https://github.com/")
    if not colab or owner_repo == repo:
        return None
    return lambda path: f"{colab}/github/{owner_repo}/blob/{branch}/{path}"


def glued_values(nb: dict) -> dict[str, str]:
    """Key -> text/plain of every value the notebook's stored outputs glue (myst-nb)."""
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                text = out.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain")
                if text is not None:
                    values[meta["name"]] = "".join(text) if isinstance(text, list) else text
    return values


def convert(source: Path, root: Path = ROOT, *, bib=None, numbers=None) -> dict:
    """The live copy of the chapter notebook ``source``, as a notebook dict."""
    nb = json.loads(Path(source).read_text(encoding="utf-8"))
    repo, branch = _repo_url(root)
    conv = Converter(
        root,
        Path(source).resolve(),
        bibliography(root) if bib is None else bib,
        exercise_numbers(root) if numbers is None else numbers,
        repo,
    )
    conv.branch = branch
    conv.colab = colab_opener(root)
    conv.glued = glued_values(nb)
    cells: list[dict] = []
    solution: list[str] | None = None
    label = ""
    for cell in nb["cells"]:
        cid = cell.get("id")
        if cell["cell_type"] == "code":
            if solution is not None:
                solution.append(f"```python\n{source_text(cell).strip()}\n```")
            else:
                cells.append(_clean_code_cell(cell))
            continue
        if cell["cell_type"] != "markdown":
            cells.append(copy.deepcopy(cell))
            continue
        groups: list[list[str]] = [[]]  # a new cell starts at each solution's edge
        for piece in conv.markdown(source_text(cell)):
            if piece[0] == "start":
                if solution is not None:
                    raise MystError(f"{source.name}: solution-start {piece[1]} inside a solution")
                groups.append([])
                solution, label = [], piece[1]
            elif piece[0] == "end":
                if solution is None:
                    raise MystError(f"{source.name}: solution-end without a solution-start")
                body = "\n\n".join(s.strip("\n") for s in solution if s.strip())
                groups[-1].append(_details(conv.solution_title(label), body))
                groups.append([])
                solution = None
            elif solution is not None:
                solution.append(piece[1])
            else:
                groups[-1].append(piece[1])
        texts = ["\n\n".join(t.strip("\n") for t in g if t.strip()) for g in groups]
        for k, joined in enumerate(t for t in texts if t):
            cells.append(_md_cell(joined, f"{cid}-{k}" if cid and k else cid))
    if solution is not None:
        raise MystError(f"{source.name}: solution-start {label} has no solution-end")
    if conv.cited:
        refs = "\n".join(
            f"* {conv.bib[k]['full']}" + (f" <{conv.bib[k]['url']}>" if conv.bib[k]["url"] else "")
            for k in conv.cited
        )
        cells.append(_md_cell(f"## References\n\n{refs}", "live-references"))
    src = Path(source).resolve()
    rel = src.relative_to(root).as_posix() if src.is_relative_to(root) else src.name
    meta = copy.deepcopy(nb.get("metadata", {}))
    meta["vit_notes"] = {
        "generated_from": rel,
        "by": "python book/_ext/live_copies.py (edit the source, then rerun it)",
    }
    return {
        "cells": cells,
        "metadata": meta,
        "nbformat": 4,
        "nbformat_minor": nb.get("nbformat_minor", 5),
    }


def dumps(nb: dict) -> str:
    # As nbformat writes a notebook, so that opening and saving a copy changes nothing.
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / SOURCE_DIR).glob("*.ipynb"))


def write_all(root: Path = ROOT, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every chapter's live copy; returns the stale or
    written paths, and (when writing) removes copies whose chapter is gone."""
    bib, numbers = bibliography(root), exercise_numbers(root)
    live = root / LIVE_DIR
    changed = []
    wanted = set()
    for src in chapters(root):
        dest = root / live_path(src.relative_to(root))
        wanted.add(dest.name)
        text = dumps(convert(src, root, bib=bib, numbers=numbers))
        if not dest.is_file() or dest.read_text(encoding="utf-8") != text:
            changed.append(dest.relative_to(root).as_posix())
            if not check:
                dest.parent.mkdir(exist_ok=True)
                dest.write_text(text, encoding="utf-8")
    for extra in sorted(live.glob("*.ipynb")) if live.is_dir() else []:
        if extra.name not in wanted:
            changed.append(extra.relative_to(root).as_posix())
            if not check:
                extra.unlink()
    return changed


# --- the explorers alone, for Voila ---------------------------------------------------------


def explorer_cells(nb: dict) -> list[int]:
    """Indices of the cells that show an explorer (tagged ``explorer`` or ``widget``)."""
    return [
        i
        for i, c in enumerate(nb["cells"])
        if EXPLORER_TAGS & set(c.get("metadata", {}).get("tags", []))
    ]


def app(chapter: str, root: Path = ROOT) -> dict:
    """A notebook holding a chapter's explorers alone, for Voila (scripts/present): the
    chapter's title, its set-up cells (the code before its first section), and each
    explorer (cells tagged ``explorer``) with the Markdown cell that introduces it."""
    src = root / SOURCE_DIR / f"{chapter}.ipynb"
    if not src.is_file():
        have = ", ".join(p.stem for p in chapters(root))
        raise ValueError(f"no chapter {chapter!r}: the chapters are {have}")
    nb = convert(src, root)
    cells = nb["cells"]
    first_section = next(
        (
            i
            for i, c in enumerate(cells)
            if c["cell_type"] == "markdown" and re.match(r"##\s", source_text(c))
        ),
        len(cells),
    )
    title = re.search(r"^#\s+(.+)$", source_text(cells[0]), re.M)
    keep = [
        _md_cell(f"# {title.group(1) if title else chapter} (explorers)", "app-title"),
        *[c for c in cells[:first_section] if c["cell_type"] == "code"],
    ]
    widgets = explorer_cells(nb)
    if not widgets:
        raise ValueError(f"the chapter {chapter!r} has no explorer (no cell tagged `explorer`)")
    for i in widgets:
        if i > 0 and cells[i - 1]["cell_type"] == "markdown":
            keep.append(cells[i - 1])
        keep.append(cells[i])
    nb["cells"] = keep
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a copy is stale")
    ap.add_argument("--app", nargs=2, metavar=("CHAPTER", "OUT"), help="write the explorer app")
    args = ap.parse_args(argv)
    if args.app:
        chapter, out = args.app
        try:
            nb = app(chapter)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(dumps(nb), encoding="utf-8")
        return 0
    changed = write_all(check=args.check)
    if args.check and changed:
        print(
            "stale live copies (run: python book/_ext/live_copies.py): " + ", ".join(changed),
            file=sys.stderr,
        )
        return 1
    for path in changed:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

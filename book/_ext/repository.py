"""The repository's address, set in one place: ``repository.url`` in ``_config.yml``.

Every launch button (Binder, Colab), the repository button and the live copies' links to
Colab are built from it when the book builds. Two copies of it exist because the files that
hold them are read without the config: ``_config_student.yml`` (jupyter-book's ``--config``
replaces ``_config.yml``) and each chapter's Colab install cell, which runs on Colab with
nothing but the notebook; the how-to page's ``git clone`` command quotes it too.
``tests/test_book.py`` and ``tests/test_site_pages.py`` fail while a copy differs;

    bash scripts/set-repository https://github.com/OWNER/REPO

writes the address into all of them (this module) and rewrites the live copies.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ("_config.yml", "_config_student.yml")
GITHUB = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
#: The repository: block's url line of a config (its first ``url:`` after ``repository:``).
_CONFIG_URL = re.compile(r"(^repository:\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+url:[ \t]*)(\S+)", re.M)
#: The install cell's address: ``git+https://github.com/OWNER/REPO``.
_CELL_URL = re.compile(r"(git\+)https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def configured(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``, without a trailing slash or ``.git``."""
    import yaml

    cfg = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    return cfg["repository"]["url"].rstrip("/").removesuffix(".git")


def set_repository(url: str, root: Path = ROOT) -> list[str]:
    """Write ``url`` into both configs, every chapter's Colab install cell and the book's
    pages (``git clone`` on the how-to page); returns the files changed. Raises ValueError
    for an address that is not a GitHub repository's."""
    url = url.rstrip("/").removesuffix(".git")
    if not GITHUB.fullmatch(url):
        raise ValueError(
            f"the repository address must be https://github.com/OWNER/REPO, got {url!r} "
            "(Colab opens notebooks from GitHub)"
        )
    root = Path(root)
    old = configured(root)
    changed = []
    for page in sorted((root / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = re.sub(re.escape(old) + r"(?![\w.-])", url, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page.relative_to(root).as_posix())
    for name in CONFIGS:
        path = root / name
        text = path.read_text(encoding="utf-8")
        new, n = _CONFIG_URL.subn(lambda m: m.group(1) + url, text, count=1)
        if n != 1:
            raise ValueError(f"{name} has no repository: url: line")
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        cell = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
        if cell is None:
            continue
        source = "".join(cell["source"])
        new_source = _CELL_URL.sub(lambda m: m.group(1) + url, source)
        if new_source != source:
            cell["source"] = new_source.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path.relative_to(root).as_posix())
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: bash scripts/set-repository https://github.com/OWNER/REPO\n"
              f"(now: {configured()})", file=sys.stderr)  # fmt: skip
        return 2
    try:
        for path in set_repository(argv[0]):
            print(f"wrote {path}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The page as readers meet it, checked from the sources (no build needed): figures' alt
texts, the Colab install cell, exercise numbers, code lines that wrap, one repository
address, the publishing workflow. tests/browser/test_site.py checks the built pages.
"""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import live_copies  # noqa: E402
import repository  # noqa: E402
import vit_notes_site as site  # noqa: E402

per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


# --- every figure says what it shows ---------------------------------------------------------

#: Chapters whose figures do not all carry alt text yet (vit_notes.plotting.set_alt): each
#: is expected to fail, strictly, so that a chapter leaves this set once its figures do.
PENDING_ALT: set[str] = set()
_PATHLIKE = re.compile(r"(^|[\s/])[\w.-]+\.(png|jpe?g|svg|gif)\b|_images/|^\.\./", re.I)


def alt_problems(nb_cells: list[dict]) -> list[str]:
    """Stored figures (PNG outputs) without an alt text that says something."""
    problems = []
    for i, cell in enumerate(nb_cells):
        for out in cell.get("outputs", []):
            if "image/png" not in out.get("data", {}):
                continue
            alt = out.get("metadata", {}).get("image/png", {}).get("alt")
            if not isinstance(alt, str) or not alt.strip():
                problems.append(f"cell {i}: a figure without alt text (plotting.set_alt)")
            elif _PATHLIKE.search(alt):
                problems.append(f"cell {i}: the alt text is a file path: {alt!r}")
            elif len(alt.split()) < 5:
                problems.append(f"cell {i}: the alt text says too little: {alt!r}")
    return problems


def test_alt_rule():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()

    def fig(meta):
        return {"outputs": [{"data": {"image/png": png}, "metadata": {"image/png": meta}}]}

    good = "Four attention maps of one query: the coarser the keys, the blurrier the map."
    assert alt_problems([fig({"width": 700, "alt": good})]) == []
    assert len(alt_problems([fig({"width": 700})])) == 1
    assert "file path" in alt_problems([fig({"alt": "../_images/434c.png"})])[0]
    assert "too little" in alt_problems([fig({"alt": "A figure"})])[0]


@per_notebook
def test_every_stored_figure_has_alt_text(path, request):
    if path.stem in PENDING_ALT:
        request.applymarker(pytest.mark.xfail(strict=True, reason="alt texts pending"))
    problems = alt_problems(cells(path))
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_pending_alt_chapters_exist():
    assert PENDING_ALT <= {p.stem for p in NOTEBOOKS}


def test_a_figure_without_alt_text_is_never_named_by_its_path():
    alt = site.missing_alt("4. What coarser keys see, on a real photo")
    assert "coarser keys" in alt and not _PATHLIKE.search(alt)


# --- the Colab install cell: short, folded, after the opening, out of search ------------------


@per_notebook
def test_colab_cell_is_short_and_folded_after_the_opening(path):
    nb_cells = cells(path)
    assert nb_cells[0]["cell_type"] == "markdown" and source(nb_cells[0]).startswith("# ")
    cell = nb_cells[1]
    assert cell["cell_type"] == "code" and "google.colab" in source(cell), (
        f"{path.name}: the Colab install cell must follow the chapter's opening"
    )
    tags = set(cell.get("metadata", {}).get("tags", []))
    assert {"hide-input", "colab-install"} <= tags, (
        f"{path.name}: the install cell is folded (hide-input) and tagged colab-install "
        "(kept out of the search index and snippets)"
    )
    lines = source(cell).splitlines()
    assert len(lines) <= 12, f"{path.name}: the install cell has {len(lines)} lines"
    assert not cell.get("outputs"), f"{path.name}: the install cell prints nothing off Colab"


def test_the_search_index_skips_the_colab_cell():
    assert {f"tag_{t}" for t in ("colab-install",)} <= site.NO_SEARCH


# --- exercises numbered per chapter ------------------------------------------------------------


def test_live_copies_number_exercises_per_chapter():
    numbers = live_copies.exercise_numbers(ROOT)
    for path in NOTEBOOKS:
        live = json.loads((ROOT / live_copies.live_path(path.name)).read_text(encoding="utf-8"))
        found = [
            int(m.group(1))
            for c in live["cells"]
            if c["cell_type"] == "markdown"
            for m in re.finditer(r"^### Exercise (\d+)\b", source(c), re.M)
        ]
        labels = [
            m.group(1)
            for c in cells(path)
            if c["cell_type"] == "markdown"
            for m in re.finditer(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", source(c))
        ]
        assert found == list(range(1, len(found) + 1)), (path.name, found)
        assert [numbers[label] for label in labels] == found, path.name


class _Env:
    def __init__(self, fignumbers):
        self.toc_fignumbers = fignumbers


def test_the_site_numbers_exercises_per_page():
    env = _Env(
        {
            "notebooks/pvt": {"exercise": {"a": (1,), "b": (2,)}, "figure": {"f": (1,)}},
            "notebooks/coatnet": {"exercise": {"d": (4,), "c": (3,), "e": (5,)}},
            "book/intro": {"figure": {"g": (2,)}},
        }
    )
    changed = site._renumber_exercises(None, env)
    assert changed == ["notebooks/coatnet"]
    assert env.toc_fignumbers["notebooks/coatnet"]["exercise"] == {"c": (1,), "d": (2,), "e": (3,)}
    assert env.toc_fignumbers["notebooks/pvt"]["exercise"] == {"a": (1,), "b": (2,)}
    assert env.toc_fignumbers["book/intro"] == {"figure": {"g": (2,)}}


def test_predictions_are_the_exercises_titled_predict():
    assert site.is_prediction("Predict, then slide: from sr_ratio 8 to 2")
    assert site.is_prediction("Predict: the quadratic term at 512²")
    assert not site.is_prediction("Keys at stage 2")


# --- code and output lines: one element each, text unchanged ---------------------------------

_SAMPLE = (
    '<div class="highlight"><pre><span></span><span class="k">def</span> <span class="nf">f'
    '</span>():\n    <span class="s2">"""a doc\nstring"""</span>\n    <span class="k">return'
    '</span> <span class="mi">1</span> &lt; 2\n</pre></div>'
)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


def test_every_line_of_a_block_is_its_own_element_with_the_same_text():
    out = site.wrap_code_lines(_SAMPLE)
    assert _text(out) == _text(_SAMPLE)
    pre = re.search(r"<pre>(.*)</pre>", out, re.S).group(1)
    lines = pre.split("\n")
    assert lines[-1] == ""  # the block's final newline stays
    assert all(line.startswith('<span class="vn-line"') for line in lines[:-1]), lines
    assert len(lines) - 1 == _text(_SAMPLE).count("\n")
    # each line's tags balance: the docstring's span is closed and reopened
    for line in lines[:-1]:
        assert line.count("<span") == line.count("</span>"), line
    assert '--vn-i:4"' in lines[1] and "--vn-i" not in lines[0]


def test_bibliography_entries_are_list_items():
    body = (
        '<div role="list" class="citation-list">\n'
        '<div class="citation" id="id4" role="doc-biblioentry">'
    )
    assert site.fix_citation_roles(body) == body.replace("doc-biblioentry", "listitem")


def test_blocks_outside_highlight_are_left_alone():
    text = '<pre class="other">a\nb</pre><div class="math">\\[x\\]</div>'
    assert site.wrap_code_lines(text) == text


# --- one repository address, set in one place -------------------------------------------------


def test_the_configs_name_the_repository_once():
    url = repository.configured(ROOT)
    for name in repository.CONFIGS:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert repository.GITHUB.findall(text) == [url], name
    assert (
        yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["html_use_index"]
        is False
    ), "no empty general index page"


def test_set_repository_writes_every_copy(tmp_path):
    for name in repository.CONFIGS:
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"))
    (tmp_path / "book").mkdir()
    for page in (ROOT / "book").glob("*.md"):
        (tmp_path / "book" / page.name).write_text(page.read_text(encoding="utf-8"))
    (tmp_path / "notebooks").mkdir()
    for path in NOTEBOOKS:
        (tmp_path / "notebooks" / path.name).write_text(path.read_text(encoding="utf-8"))
    fork = "https://github.com/someone/vit-notes-fork"
    changed = repository.set_repository(fork, tmp_path)
    assert set(changed) == set(repository.CONFIGS) | {f"notebooks/{p.name}" for p in NOTEBOOKS} | {
        "book/how-to-use.md"
    }
    assert f"git clone {fork}\n" in (tmp_path / "book" / "how-to-use.md").read_text()
    assert repository.configured(tmp_path) == fork
    for path in NOTEBOOKS:
        cell = cells(tmp_path / "notebooks" / path.name)[1]
        assert f"git+{fork}" in source(cell)
    # and back: the files are as they were
    repository.set_repository(repository.configured(ROOT), tmp_path)
    for path in NOTEBOOKS:
        assert (tmp_path / "notebooks" / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        )
    with pytest.raises(ValueError, match="OWNER/REPO"):
        repository.set_repository("https://gitlab.com/a/b", tmp_path)


# --- publishing: the GitHub Pages workflow ----------------------------------------------------

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_workflows_follow_githubs_schema():
    """check-jsonschema with GitHub's workflow schema (vendored in the package, offline)."""
    assert WORKFLOWS, "no workflow in .github/workflows"
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(p) for p in WORKFLOWS],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_scripts_parse(path):
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    for job in flow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                done = subprocess.run(
                    ["bash", "-n"], input=step["run"], capture_output=True, text=True
                )
                assert done.returncode == 0, (step.get("name"), done.stderr)


def test_the_pages_workflow_builds_and_publishes_this_repository():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    steps = flow["jobs"]["build"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    uses = [s.get("uses", "").split("@")[0] for s in steps + flow["jobs"]["deploy"]["steps"]]
    assert "bash scripts/book" in runs
    assert "GITHUB_REPOSITORY" in runs and "_config.yml" in runs  # the address is checked
    assert {"actions/upload-pages-artifact", "actions/deploy-pages"} <= set(uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"
    # the awk in the check reads the address the build uses
    awk = re.search(r"awk '([^']+)' _config.yml", runs).group(1)
    got = subprocess.run(["awk", awk, str(ROOT / "_config.yml")], capture_output=True, text=True)
    assert got.stdout.strip() == repository.configured(ROOT)


def test_readme_says_how_to_publish():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Publishing the site" in readme
    for needle in (".github/workflows/pages.yml", "scripts/set-repository", "repository.url"):
        assert needle in readme, needle

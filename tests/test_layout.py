"""The package's layout rules: one room per chapter, shared modules flat beside them.

A shared module never imports a chapter; a chapter imports only earlier chapters (book order,
from the registry); no module imports a sibling inside a function; every chapter registers
its models and its design for the comparison chapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vit_notes
from vit_notes import registry

PACKAGE = Path(vit_notes.__file__).parent
ORDER = {d.family: d.order for d in registry.chapters()}
MODULES = sorted(PACKAGE.rglob("*.py"))


def _relative_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            yield node


def _targets(node: ast.ImportFrom, chapter: str | None) -> set[str]:
    """The top-level names of vit_notes that a relative import reaches."""
    if node.level == 1 and chapter:  # inside the chapter's own subpackage
        return set()
    head = (node.module or "").split(".")[0]
    return {head} if head else {a.name for a in node.names}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_rooms(path):
    parts = path.relative_to(PACKAGE).parts
    chapter = parts[0] if len(parts) > 1 else None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _relative_imports(tree):
        for target in _targets(node, chapter) & set(ORDER):
            assert chapter is not None, f"shared module {path.name} imports chapter {target}"
            assert ORDER[target] < ORDER[chapter], f"{chapter} imports a later chapter, {target}"
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = [n for n in ast.walk(fn) if isinstance(n, ast.ImportFrom) and n.level]
            assert not inner, f"{path.name}: {fn.name} imports a sibling inside a function"


def test_every_chapter_subpackage_registers_a_design():
    chapters = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert chapters == set(ORDER), "every chapter registers a Design (and nothing else does)"
    families = {vit_notes.model_info(n).family for n in vit_notes.list_models()}
    assert families <= chapters  # a chapter may study models without registering a family
    compared = {d.family for d in registry.designs()}
    assert compared <= families, "the comparison chapter lines up only designs with models"


def test_registry_creates_every_model_by_name_with_its_paper_facts():
    names = vit_notes.list_models()
    assert names[:4] == ["pvt_tiny", "pvt_small", "pvt_medium", "pvt_large"]  # book order
    assert len(names) == len(set(names)) == 22
    for name in names:
        info = vit_notes.model_info(name)
        assert info.paper.params_m > 0 and info.paper.cite
        assert info.paper.gflops is None or info.paper.gflops > 0  # None: not given at 224²
    with pytest.raises(ValueError, match="name='pvt_huge' is not allowed"):
        vit_notes.create("pvt_huge")
    with pytest.raises(ValueError, match="typo=1 is not an option of PyramidVisionTransformer"):
        vit_notes.create("pvt_tiny", typo=1)
    with pytest.raises(ValueError, match=r"\['typo'\] are not options of CoAtNet"):
        vit_notes.coatnet.coatnet_cost("coatnet_0", typo=1)
    with pytest.raises(ValueError, match="family='vit' is not allowed"):
        vit_notes.list_models("vit")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_family(
            "other", object, {"pvt_tiny": {}}, {"pvt_tiny": vit_notes.model_info("pvt_tiny").paper}
        )


def test_version_is_written_once():
    assert vit_notes.__version__ == vit_notes._version.__version__
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and "vit_notes._version.__version__" in pyproject


def test_every_data_file_ships_under_one_package_data_rule():
    """pyproject.toml's package data is one rule for the whole package (globs over every
    subpackage): a chapter's data file (its official code's layout, a measurement, weights)
    ships with no line of its own. Every non-Python file under vit_notes/ but the explorers'
    script (MANIFEST.in) must match it."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    rules = pyproject["tool"]["setuptools"]["package-data"]
    assert list(rules) == ["vit_notes"], f"one rule, for the package: {sorted(rules)}"
    shipped = {p for pattern in rules["vit_notes"] for p in PACKAGE.glob(pattern)}
    data = {
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".js") and "__pycache__" not in p.parts
    }
    assert data <= shipped, sorted(str(p.relative_to(PACKAGE)) for p in data - shipped)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_constructors_take_keywords_past_three_arguments(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) > 3:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert not name[:1].isupper(), (
                f"{path.name}:{node.lineno}: {name}(...) with {len(node.args)} positional arguments"
            )

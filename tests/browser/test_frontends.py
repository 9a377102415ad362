"""The chapters where students run them: JupyterLab 4 and Voila, in headless Chromium.

JupyterLab (installed from requirements-dev.txt) serves a temporary copy of live/ on
127.0.0.1; each chapter is opened and run with Run All Cells, as a student would, then
checked for: every code cell ran; no error or stderr output anywhere (explorers' outputs
included); no solution ran (solutions are closed <details> blocks with their code, and no
checker said "correct"); no raw MyST in the rendered Markdown; every control of every
explorer redraws its figure; the live explorers' state in the kernel is what the page shows,
and a state set from Python is drawn; nothing requested off 127.0.0.1. Voila serves one chapter the
way book/teachers.md says (bash scripts/present pvt) and a slider move must redraw.
Both servers are stopped, with their kernels, and the tests check that nothing is left.

Screenshots go to _build/screenshots/ (lab__<chapter>.png, voila__pvt.png). Without
chromium or the packages the tests skip, unless VIT_NOTES_BROWSER_TEST=1 (scripts/test).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import frontends as fe
import pytest

REQUIRED = os.environ.get("VIT_NOTES_BROWSER_TEST") == "1"
SHOTS = fe.ROOT / "_build" / "screenshots"
CHAPTERS = sorted(p.name for p in (fe.ROOT / fe.live_copies.LIVE_DIR).glob("*.ipynb"))
RUN_ALL_TIMEOUT_S = 600
VOILA_ICONS_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"


def _missing() -> str | None:
    if not os.access(fe.CHROMIUM, os.X_OK):
        return f"{fe.CHROMIUM} is missing: run bash scripts/browser-deps.sh"
    for mod in ("playwright", "jupyterlab", "voila"):
        if importlib.util.find_spec(mod) is None:
            return f"the {mod} package is missing: run source scripts/env.sh"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        pytest.fail(why) if REQUIRED else pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = fe.launch_browser(pw)
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    server, token, served = fe.start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server, token, served
    finally:
        server.stop()
    assert not server.alive(), f"JupyterLab left processes running: {server.alive()}"


def solutions_in(name: str) -> int:
    nb = json.loads((fe.ROOT / fe.live_copies.LIVE_DIR / name).read_text(encoding="utf-8"))
    return sum(
        "".join(c["source"]).startswith("<details>")
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )


def explorer_problems(page, report: dict) -> tuple[list[str], dict]:
    """Move every control of every explorer once; each move must change the figure."""
    problems, times = [], {}
    for i in fe.widget_cells(report):
        root = page.locator(f'[data-vit-cell="{i}"]')
        root.scroll_into_view_if_needed()
        controls = fe.controls(root)
        if not controls:
            problems.append(f"cell {i}: an explorer without controls")
        for c in controls:
            try:
                times[f"{i}:{c['label']}"] = fe.redraw(page, root, c, "End", timeout_s=60)
            except Exception as e:  # noqa: BLE001 (reported with the control's name)
                problems.append(f"cell {i}: moving {c['label']!r} did not redraw: {e}")
    return problems, times


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_all_in_jupyterlab(lab, browser, name):
    server, token, _ = lab
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked = fe.local_only(context, server.url)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    problems: list[str] = []
    try:
        fe.open_notebook(page, server, token, name)
        fe.run_all(page, RUN_ALL_TIMEOUT_S)
        report = fe.notebook_report(page)
        for c in report["cells"]:
            if c["type"] != "code":
                continue
            if c["count"] is None:
                problems.append(f"cell {c['i']} did not run")
            for o in c["outputs"]:
                if o["type"] == "error" or o["name"] == "stderr":
                    problems.append(f"cell {c['i']}: {o['type']} {o['text'][:300]!r}")
                if "✅ correct" in o["text"]:
                    problems.append(f"cell {c['i']}: a checker passed, so a solution ran")
        problems += [f"stderr shown: {t!r}" for t in report["stderr"]]
        problems += [f"raw MyST shown: {t[:120]!r}" for t in report["raw"]]
        if len(report["details"]) != solutions_in(name):
            problems.append(
                f"{len(report['details'])} solution blocks shown, {solutions_in(name)} in the copy"
            )
        for d in report["details"]:
            if d["open"] or not d["summary"].startswith("Solution to Exercise"):
                problems.append(f"solution block {d['summary']!r} is open or untitled")
        moved, _ = explorer_problems(page, report)
        problems += moved
        problems += fe.state_problems(page)
        fe.wait_idle(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"lab__{Path(name).stem}.png"))
        fe.shut_down_kernels(page)
    finally:
        context.close()
    problems += [f"uncaught exception in the page: {e}" for e in page_errors]
    problems += [f"request off 127.0.0.1 (blocked): {u}" for u in blocked]
    assert not problems, f"{name} in JupyterLab:\n  " + "\n  ".join(problems)


def test_present_serves_working_explorers_in_voila(browser, tmp_path):
    server = fe.start_present(tmp_path, "pvt")
    problems: list[str] = []
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        blocked = fe.local_only(context, server.url.rstrip("/"))
        page = context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        page.goto(server.url, wait_until="load", timeout=300_000)
        page.locator(".vn-explorer .vn-control input[type=range]").first.wait_for(timeout=300_000)
        root = page.locator("body")
        controls = fe.controls(root)
        if len(controls) < 2:
            problems.append(f"Voila shows {len(controls)} controls")
        for c in controls[:2]:
            try:
                fe.redraw(page, root, c, "End", timeout_s=60)
            except Exception as e:  # noqa: BLE001
                problems.append(f"moving {c['label']!r} did not redraw: {e}")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "voila__pvt.png"), full_page=True)
        context.close()
        problems += [f"uncaught exception in the page: {e}" for e in page_errors]
        # Voila's lab template links Font Awesome from a CDN (voila/templates/lab/
        # index.html.j2); the explorers show no icon, so blocked it changes nothing and
        # a classroom without a network sees the same app.
        problems += [
            f"request off 127.0.0.1 (blocked): {u}"
            for u in blocked
            if not u.startswith(VOILA_ICONS_CDN)
        ]
    finally:
        server.stop()
    assert not server.alive(), f"Voila left processes running: {server.alive()}"
    assert not problems, "Voila:\n  " + "\n  ".join(problems) + "\n" + server.tail(1500)

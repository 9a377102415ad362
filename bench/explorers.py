"""The explorers' budgets on the built site (issue 11), printed, not asserted:

* each chapter page's weight: its HTML (explorer data included) plus its images, and
  everything it loads (budget: the first at most 3 MB);
* how long a state switch takes to draw in headless Chromium, from the input event to the
  drawn canvases and bars (``data-ms`` that vit_notes/static/explorer.js records; budget:
  under 50 ms), over every value of every control and a few queries;
* when each explorer's first picture stands, in ms from the page's navigation
  (``data-first-ms``; budget: about 0.5 s), on the laptop and with the CPU slowed 4 times
  (Chromium's CPU throttling, a stand-in for a phone; the site is served locally, so no
  network time is in it).

    bash scripts/book && python bench/explorers.py

The clean build's time (budget: under 5 minutes) is what ``bash scripts/book`` prints.
"""

from __future__ import annotations

import functools
import http.server
import os
import statistics
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


#: Resolves once the explorer has drawn more than ``n`` times.
_WAIT_DRAWN = """(r, n) => new Promise(ok => {
    const f = () => (+r.dataset.drawn > n ? ok() : requestAnimationFrame(f)); f(); })"""


def _switches(page, root) -> list[float]:
    """Step every control through its values, then click three queries: each draw's ms."""
    times = []

    def step(action):
        before = int(root.get_attribute("data-drawn"))
        action()
        root.evaluate(_WAIT_DRAWN, before)
        times.append(float(root.get_attribute("data-ms")))

    for control in root.locator("input[data-control]").all():
        control.focus()
        if control.input_value() != "0":
            step(lambda c=control: c.press("Home"))
        for _ in range(int(control.get_attribute("max"))):
            step(lambda c=control: c.press("ArrowRight"))
    canvas = root.locator(".vn-map canvas")
    if canvas.count():
        box = canvas.first.bounding_box()
        for fx, fy in ((0.2, 0.2), (0.5, 0.7), (0.8, 0.4)):
            step(
                lambda fx=fx, fy=fy: canvas.first.click(
                    position={"x": box["width"] * fx, "y": box["height"] * fy}
                )
            )
    return times


def _first_pictures(browser, url: str, rate: float) -> dict[str, float]:
    """Each explorer's ``data-first-ms`` on a fresh page with the CPU slowed ``rate`` times."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})
    page.goto(url, wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.vn-explorer')].every(e => e.dataset.firstMs)"
    )
    firsts = {
        root.get_attribute("id"): float(root.get_attribute("data-first-ms"))
        for root in page.locator(".vn-explorer").all()
    }
    page.close()
    return firsts


def main():
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    pages = sorted(p.relative_to(SITE).as_posix() for p in (SITE / "notebooks").glob("*.html"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        print(
            f"{'page':28s} {'HTML+images':>12s} {'all loaded':>11s}"
            "  explorer: draws, median / max ms"
        )
        for rel in pages:
            loaded: dict[str, str] = {}
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "response",
                lambda r, loaded=loaded: (
                    r.url.startswith(base)
                    and loaded.setdefault(unquote(urlsplit(r.url).path), r.request.resource_type)
                ),
            )
            page.goto(base + rel, wait_until="networkidle")

            def size(path):
                f = SITE / path.lstrip("/")
                return f.stat().st_size if f.is_file() else 0

            html_images = (SITE / rel).stat().st_size + sum(
                size(p) for p, kind in loaded.items() if kind == "image"
            )
            everything = sum(size(p) for p in loaded)
            line = f"{rel:28s} {html_images / 2**20:9.2f} MB {everything / 2**20:8.2f} MB"
            page.wait_for_function(
                "() => [...document.querySelectorAll('.vn-explorer')].every(e => e.dataset.drawn)"
            )
            for root in page.locator(".vn-explorer").all():
                t = _switches(page, root)
                line += (
                    f"  {root.get_attribute('id')}: {len(t)}, "
                    f"{statistics.median(t):.1f} / {max(t):.1f}"
                )
            print(line)
            page.close()
        print(f"\n{'page':28s}  first picture, ms after navigation: laptop / CPU slowed 4x")
        for rel in pages:
            firsts = [_first_pictures(browser, base + rel, rate) for rate in (1, 4)]
            cells = [f"{key}: {firsts[0][key]:.0f} / {firsts[1][key]:.0f}" for key in firsts[0]]
            print(f"{rel:28s}  " + ", ".join(cells))
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()

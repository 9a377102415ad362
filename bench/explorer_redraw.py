"""Explorer redraw time as a student feels it: in JupyterLab 4, in headless Chromium, from a
slider's key event to the live widget's new drawing (explorer.js, the page's renderer, which
the anywidget runs: its draw count changes once the maps and bars are drawn), both in the
page's clock. The kernel takes no part in a move: it only hears the new state.

Starts JupyterLab on 127.0.0.1 on a temporary copy of live/ (tests/browser/frontends.py),
runs each chapter that has an explorer, then moves every control of every explorer one
step at a time (a slider's arrow key: one step of a drag), ``--moves`` times each, back
and forth, and prints each control's median and slowest redraw and the overall figures
against the budget (median < 150 ms, slowest < 400 ms). Stops the server and its kernels.

    python bench/explorer_redraw.py [--moves 6] [pvt.ipynb ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
import frontends as fe  # noqa: E402

MEDIAN_BUDGET_MS, MAX_BUDGET_MS = 150, 400


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moves", type=int, default=6, help="moves per control (default 6)")
    ap.add_argument("chapters", nargs="*", help="live copies to open (default: all)")
    args = ap.parse_args()
    names = args.chapters or sorted(p.name for p in (fe.ROOT / "live").glob("*.ipynb"))
    from playwright.sync_api import sync_playwright

    every: list[float] = []
    tmp = Path(tempfile.mkdtemp(prefix="vit-redraw-"))
    server, token, _ = fe.start_lab(tmp)
    try:
        with sync_playwright() as pw:
            browser = fe.launch_browser(pw)
            for name in names:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                fe.local_only(context, server.url)
                page = context.new_page()
                fe.open_notebook(page, server, token, name)
                start = time.perf_counter()
                fe.run_all(page, 600)
                report = fe.notebook_report(page)
                cells = fe.widget_cells(report)
                secs = time.perf_counter() - start
                print(f"{name}: ran in {secs:.0f} s, {len(cells)} explorer(s)")
                for i in cells:
                    root = page.locator(f'[data-vit-cell="{i}"]')
                    root.scroll_into_view_if_needed()
                    for c in fe.controls(root):
                        times = []
                        for k in range(args.moves):
                            key = "ArrowRight" if (k // 2) % 2 == 0 else "ArrowLeft"
                            times.append(fe.redraw(page, root, c, key, timeout_s=60))
                        every += times
                        print(
                            f"  {c['label']:12s} median {statistics.median(times):6.0f} ms, "
                            f"slowest {max(times):6.0f} ms  ({len(times)} moves)"
                        )
                fe.shut_down_kernels(page)
                context.close()
            browser.close()
    finally:
        server.stop()
    if not every:
        print("no explorer found")
        return 1
    med, worst = statistics.median(every), max(every)
    ok = med < MEDIAN_BUDGET_MS and worst < MAX_BUDGET_MS
    print(
        f"all {len(every)} moves: median {med:.0f} ms (budget {MEDIAN_BUDGET_MS}), "
        f"slowest {worst:.0f} ms (budget {MAX_BUDGET_MS})  [{'ok' if ok else 'OVER BUDGET'}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

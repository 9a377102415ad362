"""Execution time and kernel memory of every chapter, as a student runs it.

Each chapter's live copy (live/*.ipynb: what JupyterLab, Colab and Voila open, explorers
included) runs in a fresh kernel (nbclient). The kernel first runs the bare imports that
every chapter shares (torch, timm, matplotlib, ipywidgets, einops, vit_notes), then the
chapter. Printed per chapter: wall time; the kernel's resident memory after the bare
imports; what the chapter adds to it (held at the end, and at the peak, sampled every
50 ms). Budgets: < 30 s (issues #2, #3, #5) and < 300 MB added over the bare imports
(issue #12) on the 2-core machine.
The study chapter (learned.ipynb), which trains a model live, has 60 s.

    python bench/notebook_budget.py [--source] [live/pvt.ipynb ...]

``--source`` runs the book's notebooks (notebooks/*.ipynb) instead, as the build does
(explorer cells, tagged skip-execution there, are not run).
"""

import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

BARE_IMPORTS = (
    "import einops, ipywidgets, matplotlib.pyplot, timm, torch, torchvision\nimport vit_notes"
)
ADDED_BUDGET_MB = 300


def rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))


def run(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(BARE_IMPORTS))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    peak, stop = [0], threading.Event()
    with client.setup_kernel():
        pid = client.km.provisioner.pid
        client.execute_cell(nb.cells[0], 0)
        time.sleep(0.5)
        bare = rss(pid)

        def sample():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], rss(pid))
                except psutil.Error:
                    pass
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        start = time.perf_counter()
        for i, cell in enumerate(nb.cells[1:], start=1):
            client.execute_cell(cell, i)
        elapsed = time.perf_counter() - start
        time.sleep(0.5)
        held = rss(pid)
        stop.set()
    mb = 2**20
    return {
        "secs": elapsed,
        "bare_mb": bare / mb,
        "added_mb": (held - bare) / mb,
        "peak_added_mb": (max(peak[0], held) - bare) / mb,
    }


#: Seconds a chapter may take; chapters not listed have DEFAULT_BUDGET_S.
BUDGET_S = {"learned": 60}
DEFAULT_BUDGET_S = 30


def main():
    args = sys.argv[1:]
    source = "--source" in args
    args = [a for a in args if a != "--source"]
    folder = "notebooks" if source else "live"
    paths = [Path(p) for p in args] or sorted(Path(folder).glob("*.ipynb"))
    for p in paths:
        r = run(p)
        budget = BUDGET_S.get(p.stem, DEFAULT_BUDGET_S)
        ok = r["secs"] < budget and r["added_mb"] < ADDED_BUDGET_MB
        print(
            f"{p}: {r['secs']:5.1f} s; kernel {r['bare_mb']:5.0f} MB after the bare imports, "
            f"chapter adds {r['added_mb']:4.0f} MB (peak {r['peak_added_mb']:4.0f} MB)  "
            f"[{'ok' if ok else 'OVER BUDGET'}]"
        )


if __name__ == "__main__":
    main()

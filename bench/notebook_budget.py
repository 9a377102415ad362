"""Execution time and peak memory of every chapter notebook, as the test run executes them.

Runs each notebook in a fresh kernel (nbclient), samples the kernel's resident memory,
and prints wall time and peak RSS. Budget (issues #2, #3, #5): < 30 s and < 2 GiB each
on the 2-core CI machine; the study chapter (learned.ipynb), which trains a model live,
< 60 s.

    python bench/notebook_budget.py [notebooks/pvt.ipynb ...]
"""

import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "notebooks"}}
    )
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                try:
                    proc = psutil.Process(pid)
                    rss = proc.memory_info().rss + sum(
                        c.memory_info().rss for c in proc.children(recursive=True)
                    )
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    stop.set()
    return elapsed, peak[0] / 2**30


#: Seconds a chapter may take; chapters not listed have DEFAULT_BUDGET_S.
BUDGET_S = {"learned": 60}
DEFAULT_BUDGET_S = 30


def main():
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    for p in paths:
        secs, gib = run(p)
        budget = BUDGET_S.get(p.stem, DEFAULT_BUDGET_S)
        verdict = "ok" if secs < budget and gib < 2 else "OVER BUDGET"
        print(
            f"{p}: {secs:5.1f} s (kernel start included; budget {budget} s), "
            f"peak kernel memory {gib:.2f} GiB  [{verdict}]"
        )


if __name__ == "__main__":
    main()

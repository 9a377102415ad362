"""Drive the chapters in the frontends students use: JupyterLab 4 and Voila, on 127.0.0.1,
in Debian's chromium through Playwright. Used by tests/browser/test_frontends.py and by
bench/explorer_redraw.py.

Each server is started in its own process group with a throw-away home for its settings
and workspaces, serves a temporary copy of live/ (so that running cells never writes into
the repository), and is stopped with everything it started (see :class:`Server`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import live_copies  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
#: JupyterLab's notebook setting: every cell in the page (the default windowing leaves
#: cells out of view unrendered, so their outputs could not be checked).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No "get notified about Jupyter news?" toast over the notebook, and no request out.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server subprocess in its own session; ``stop()`` ends it and every process it
    started (kernels included), each by its id."""

    def __init__(self, argv: list[str], url: str, env: dict, cwd: Path, log: Path):
        self.url, self.log = url, log
        self._log = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self._seen: dict[int, psutil.Process] = {}

    def wait_ready(self, probe: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=5):
                    return
            except urllib.error.HTTPError as e:  # it answers: up (a redirect to log in, say)
                if e.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"server not up in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_bytes()[-n:].decode(errors="replace")

    def _remember_children(self) -> None:
        try:
            for c in psutil.Process(self.proc.pid).children(recursive=True):
                self._seen[c.pid] = c
        except psutil.Error:
            pass

    def stop(self) -> None:
        self._remember_children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for child in self._seen.values():  # anything left behind, by id
            try:
                if child.is_running():
                    child.kill()
            except psutil.Error:
                pass
        self._log.close()

    def alive(self) -> list[int]:
        """Ids of this server's processes still running (for the tests' last check)."""
        procs = [self.proc.pid, *self._seen]
        return [p for p in procs if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def _home(tmp: Path) -> dict:
    """An environment whose Jupyter settings, workspaces and runtime files live in ``tmp``."""
    env = dict(os.environ)
    settings = tmp / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        pkg, name = plugin.rsplit("/", 1)
        f = settings / pkg / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        # The kernel imports this checkout's package, as the site's build does.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def start_lab(tmp: Path) -> tuple[Server, str, Path]:
    """JupyterLab 4 serving a copy of live/ from ``tmp``; returns (server, base url with
    token query, the served folder)."""
    served = tmp / "chapters"
    shutil.copytree(ROOT / live_copies.LIVE_DIR, served)
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={served}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI and these machines run as root
        argv.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    server = Server(argv, base, _home(tmp), served, tmp / "jupyterlab.log")
    server.wait_ready(f"{base}/api/status?token={token}", timeout=120)
    return server, token, served


def start_present(tmp: Path, chapter: str) -> Server:
    """``bash scripts/present CHAPTER`` (Voila), the way the teachers' page says."""
    port = free_port()
    env = _home(tmp)
    server = Server(
        ["bash", str(ROOT / "scripts" / "present"), chapter, "--port", str(port)],
        f"http://127.0.0.1:{port}/",
        env,
        ROOT,
        tmp / "voila.log",
    )
    server.wait_ready(f"http://127.0.0.1:{port}/api/status", timeout=180)
    return server


def launch_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium(required: bool):
    """Headless Chromium for a test module, or the test skipped (failed when ``required``)
    with the command that installs what is missing."""
    import pytest

    why = None
    if not os.access(CHROMIUM, os.X_OK):
        why = f"{CHROMIUM} is missing: run bash scripts/browser-deps.sh"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            why = "the playwright package is missing: run bash scripts/browser-deps.sh"
    if why:
        pytest.fail(why) if required else pytest.skip(why)
    with sync_playwright() as pw:
        b = launch_browser(pw)
        try:
            yield b
        finally:
            b.close()


def local_only(context, base: str) -> list[str]:
    """Block every request that leaves 127.0.0.1; returns the list of blocked URLs."""
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return blocked


# --- JupyterLab ---------------------------------------------------------------------------


def open_notebook(page, server: Server, token: str, name: str, timeout_s: float = 120) -> None:
    page.goto(f"{server.url}/lab/tree/{name}?token={token}", wait_until="load")
    page.wait_for_function(
        """name => {
            const app = window.jupyterapp;
            const w = app && app.shell.currentWidget;
            return w && w.context && w.context.path === name && w.content
                && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
        }""",
        arg=name,
        timeout=timeout_s * 1000,
    )
    page.evaluate("""async () => {
        const w = window.jupyterapp.shell.currentWidget;
        await w.context.ready;
        await w.sessionContext.ready;
        // Mark every cell's node with its index, for the locators below.
        w.content.widgets.forEach((c, i) => c.node.setAttribute('data-vit-cell', String(i)));
    }""")


def run_all(page, timeout_s: float) -> float:
    """Run every cell (Run -> Run All Cells) and wait for the last; returns seconds."""
    start = time.perf_counter()
    page.evaluate(
        """async t => {
            const app = window.jupyterapp;
            const run = app.commands.execute('notebook:run-all-cells');
            const late = new Promise((_, no) => setTimeout(() => no(new Error('timeout')), t));
            await Promise.race([run, late]);
            const w = app.shell.currentWidget;
            while (w.sessionContext.session.kernel.status !== 'idle') {
                await new Promise(ok => setTimeout(ok, 100));
            }
        }""",
        timeout_s * 1000,
    )
    return time.perf_counter() - start


def wait_idle(page, timeout_s: float = 120) -> None:
    """Wait until the notebook's kernel has nothing left to do (a redraw in flight, say)."""
    page.wait_for_function(
        """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status
            === 'idle'""",
        timeout=timeout_s * 1000,
    )
    page.wait_for_timeout(300)


def shut_down_kernels(page) -> None:
    """Every kernel of this JupyterLab, so that each chapter starts alone."""
    page.evaluate("() => window.jupyterapp.serviceManager.sessions.shutdownAll()")


REPORT_JS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const cells = [];
    w.content.widgets.forEach((c, i) => {
        const m = c.model;
        const out = m.type === 'code' ? m.outputs.toJSON() : [];
        cells.push({
            i, type: m.type, tags: m.getMetadata('tags') || [],
            count: m.type === 'code' ? m.executionCount : null,
            source: m.sharedModel.getSource(),
            outputs: out.map(o => ({
                type: o.output_type, name: o.name || '',
                text: [].concat(o.text || []).join('')
                    + (o.ename ? `${o.ename}: ${o.evalue}` : '')
                    + [].concat((o.data || {})['text/plain'] || []).join(''),
            })),
        });
    });
    const root = w.content.node;
    const stderr = [...root.querySelectorAll(
        '[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.textContent.slice(0, 300));
    const details = [...root.querySelectorAll('.jp-MarkdownOutput details')].map(d => ({
        open: d.open, summary: (d.querySelector('summary') || {}).textContent || '',
        code: d.querySelectorAll('pre').length,
    }));
    const raw = [...root.querySelectorAll('.jp-MarkdownOutput')]
        .map(e => e.textContent).filter(t => /\\{(cite|doc|exercise|solution)|:label:/.test(t));
    return {cells, stderr, details, raw};
}"""


def notebook_report(page) -> dict:
    return page.evaluate(REPORT_JS)


# --- explorers: controls, moves, redraws ----------------------------------------------------

#: Marks the images and explorers shown now, then records the time (performance.now()) at
#: which a new or changed image appears under ``root``, or an explorer (explorer.js, the
#: page's and the live widget's renderer) finishes a new draw (its ``data-drawn`` count);
#: the move's time is taken at its first keydown/pointerdown/change event (capture phase),
#: so both ends are the page's clock.
ARM_JS = """root => {
    const key = i => i.src.length + ':' + i.src.slice(-64);
    root.querySelectorAll('img').forEach(i => { i.dataset.vitSeen = key(i); });
    const explorers = () => [...root.querySelectorAll('.vn-explorer')];
    explorers().forEach(e => { e.dataset.vitSeenDrawn = e.dataset.drawn || ''; });
    const start = () => { if (window.__vit.t0 === null) window.__vit.t0 = performance.now(); };
    const rearm = () => {
        window.__vit.t0 = null;
        for (const ev of ['keydown', 'pointerdown', 'change', 'click']) {
            document.addEventListener(ev, start, {capture: true, once: true});
        }
    };
    window.__vit = {t0: null, t1: null, rearm};
    rearm();
    const isNew = () => [...root.querySelectorAll('img')].some(i =>
        i.naturalWidth > 0 && i.dataset.vitSeen !== key(i))
        || explorers().some(e => (e.dataset.drawn || '') !== e.dataset.vitSeenDrawn);
    const seen = () => {
        if (window.__vit.t1 === null && isNew()) {
            window.__vit.t1 = performance.now();
            obs.disconnect();
        }
    };
    const obs = new MutationObserver(seen);
    obs.observe(root, {subtree: true, childList: true, attributes: true,
                       attributeFilter: ['src', 'data-drawn']});
    // An image whose bytes arrive after its element: check again once it has loaded.
    root.addEventListener('load', seen, {capture: true});
}"""


def controls(root) -> list[dict]:
    """The explorer's controls under ``root`` (a locator): the explorers' own range inputs
    (explorer.js: the live widget's and the page's), and any ipywidgets sliders, dropdowns,
    toggles."""
    found = []
    ranges = root.locator(".vn-explorer .vn-control")
    for i in range(ranges.count()):
        r = ranges.nth(i)
        label = r.locator("label").first.inner_text().strip()
        found.append({"kind": "range", "label": label, "loc": r})
    sliders = root.locator(".widget-slider, .widget-hslider")
    for i in range(sliders.count()):
        s = sliders.nth(i)
        label = s.locator(".widget-label").first.inner_text().strip()
        found.append({"kind": "slider", "label": label, "loc": s})
    drops = root.locator(".widget-dropdown")
    for i in range(drops.count()):
        d = drops.nth(i)
        label = d.locator(".widget-label").first.inner_text().strip()
        found.append({"kind": "dropdown", "label": label, "loc": d})
    toggles = root.locator(".widget-toggle-buttons")
    for i in range(toggles.count()):
        t = toggles.nth(i)
        found.append({"kind": "toggle", "label": t.inner_text().strip()[:20], "loc": t})
    return found


def _readout(control) -> str:
    loc = control["loc"]
    if control["kind"] == "range":
        return loc.locator("output").first.inner_text().strip()
    if control["kind"] == "slider":
        return loc.locator(".widget-readout").first.inner_text().strip()
    if control["kind"] == "dropdown":
        return loc.locator("select").input_value()
    return loc.locator(".mod-active").inner_text().strip()


OPPOSITE = {"End": "Home", "ArrowRight": "ArrowLeft", "PageUp": "PageDown"}
OPPOSITE.update({v: k for k, v in OPPOSITE.items()})


def move(page, control, key: str = "End") -> str:
    """One move of ``control`` to a new value (a key press on a range input or a slider's
    handle, the next option of a dropdown or toggle); returns the new value's text."""
    loc, before = control["loc"], _readout(control)
    if control["kind"] in ("range", "slider"):
        handle = loc.locator("input[type=range], .noUi-handle, .ui-slider-handle").first
        handle.focus()
        for k in (key, OPPOSITE[key]):
            if k != key:  # the first key moved nothing (the handle was at that end)
                page.evaluate("() => window.__vit && window.__vit.rearm()")
            page.keyboard.press(k)
            page.wait_for_timeout(50)
            if _readout(control) != before:
                break
    elif control["kind"] == "dropdown":
        select = loc.locator("select")
        options = select.locator("option").all_inner_texts()
        at = options.index(before) if before in options else -1
        select.select_option(label=options[(at + 1) % len(options)])
    else:
        buttons = loc.locator("button")
        n = buttons.count()
        classes = [buttons.nth(i).get_attribute("class") or "" for i in range(n)]
        at = next((i for i, c in enumerate(classes) if "mod-active" in c), -1)
        buttons.nth((at + 1) % n).click()
    after = _readout(control)
    if after == before:
        raise AssertionError(f"{control['label']}: the move did not change the value ({before})")
    return after


def redraw(page, root, control, key: str = "End", timeout_s: float = 20) -> float:
    """Move ``control`` once and wait for the figure under ``root`` to change; returns the
    redraw time in ms (the move's first event to the new image, in the page's clock)."""
    root.evaluate(ARM_JS)
    move(page, control, key)
    page.wait_for_function("() => window.__vit.t1 !== null", timeout=timeout_s * 1000)
    t = page.evaluate("() => window.__vit")
    return t["t1"] - t["t0"]


def widget_cells(report: dict) -> list[int]:
    return [c["i"] for c in report["cells"] if live_copies.EXPLORER_TAGS & set(c["tags"])]


# --- the live explorers' state: the page's settings in the kernel, the kernel's on the page --

#: Run ``code`` in the notebook's kernel; resolves with what it printed.
KERNEL_RUN_JS = """async code => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    let text = '';
    const future = k.requestExecute({code, silent: false, store_history: false});
    future.onIOPub = msg => {
        if (msg.header.msg_type === 'stream') text += msg.content.text;
        if (msg.header.msg_type === 'error') text += msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    return text;
}"""

#: Each live explorer's state in the kernel, by its key, with the values as the page shows
#: them (str, as Explorer.payload writes them), and the query as (row, col) counted from 0.
KERNEL_STATES = """\
import json as _vit_json

import anywidget as _vit_any
import ipywidgets as _vit_w
from ipywidgets.widgets import widget as _vit_wm

_vit_all = getattr(_vit_wm, "_instances", None) or _vit_w.Widget.widgets
print(_vit_json.dumps({
    x._explorer.key: {k: (v if k == "query" else str(v)) for k, v in x.state.items()}
    for x in list(_vit_all.values())
    if isinstance(x, _vit_any.AnyWidget) and x.has_trait("state") and x.has_trait("payload")
}))
"""

#: Each explorer on the page, by its key: its controls' readouts by name, and its query.
PAGE_STATES_JS = """root => {
    const out = {};
    root.querySelectorAll('.vn-explorer').forEach(e => {
        const s = {};
        e.querySelectorAll('.vn-control input[data-control]').forEach(i => {
            const name = i.dataset.control, text = i.parentNode.querySelector('output').textContent;
            if (name.startsWith('query-')) {
                s.query = s.query || [null, null];
                s.query[name === 'query-row' ? 0 : 1] = +i.value;
            } else s[name] = text;
        });
        out[e.dataset.explorer] = s;
    });
    return out;
}"""


def kernel_run(page, code: str) -> str:
    return page.evaluate(KERNEL_RUN_JS, code)


#: The open notebook's node (JupyterLab keeps earlier notebooks open in other tabs).
CURRENT = "window.jupyterapp.shell.currentWidget.content.node"


def state_problems(page) -> list[str]:
    """The live explorers' state in the kernel must be what the open notebook shows (the
    reader's moves reached the kernel); then a state set from Python must be drawn there."""
    import json as _json

    problems = []
    shown_js = f"() => ({PAGE_STATES_JS})({CURRENT})"
    wait_idle(page)
    text = kernel_run(page, KERNEL_STATES)
    try:
        kernel = _json.loads(text)
    except ValueError:
        return [f"the kernel's explorer states could not be read: {text[:300]!r}"]
    shown = page.evaluate(shown_js)
    if not kernel:
        problems.append("no live explorer (anywidget) found in the kernel")
    for key, state in kernel.items():
        if shown.get(key) != state:
            problems.append(f"{key}: the kernel has {state}, the page shows {shown.get(key)}")
            continue
        # A state set from Python: the query to the grid's first cell, drawn on the page.
        if "query" in state and state["query"] != [0, 0]:
            page.evaluate(f"() => ({ARM_JS})({CURRENT})")
            out = kernel_run(
                page,
                "for _x in list(_vit_all.values()):\n"
                "    if getattr(_x, '_explorer', None) is not None "
                f"and _x._explorer.key == {key!r}:\n"
                "        _x.state = {'query': [0, 0]}\n",
            )
            try:
                page.wait_for_function("() => window.__vit.t1 !== null", timeout=30_000)
            except Exception as e:  # noqa: BLE001 (reported with the explorer's key)
                problems.append(f"{key}: a state set from Python was not drawn ({out!r}): {e}")
                continue
            after = page.evaluate(shown_js).get(key, {})
            if after.get("query") != [0, 0]:
                problems.append(f"{key}: set from Python to query [0, 0], the page shows {after}")
    return problems

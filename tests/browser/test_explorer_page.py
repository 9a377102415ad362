"""The page explorer (vit_notes/static/explorer.js) on a small page of its own, in headless
Chromium: no book build needed. The page holds two toy explorers as the package writes them
(:meth:`vit_notes.explorer.Explorer.html`, a fallback picture of another height than the
drawn explorer included) around a section, served from 127.0.0.1.

Checked: links hold (the first draw writes nothing into the address, a section link stays
where it points, a reader's change goes into the query string with replaceState, a reload
restores only an explorer whose state the address holds, Back leaves the page); phones (a
tap moves the query, a swipe scrolls the page); dark mode (the explorer follows the theme
and the system's setting with readable contrast, axe-core); linear bars.

Without chromium or playwright the tests skip, unless VIT_NOTES_BROWSER_TEST=1.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import random
import re
import threading
import time
import zlib

import pytest
import torch

from vit_notes import explorer

REQUIRED = os.environ.get("VIT_NOTES_BROWSER_TEST") == "1"
PHONE = {"width": 390, "height": 844}
_DRAWN = "() => [...document.querySelectorAll('.vn-explorer')].every(e => e.dataset.drawn)"
_WAIT_DRAWN = """([id, n]) => new Promise(ok => { const r = document.getElementById(id);
    const f = () => (+r.dataset.drawn > n ? ok() : requestAnimationFrame(f)); f(); })"""


def toy_explorer(key: str) -> explorer.Explorer:
    """Two controls, maps over a 6 x 6 query grid (depending on ``a``), two bar charts of
    which one holds a 22x saving on a linear scale."""

    def maps(queries, a, b):
        g = torch.Generator().manual_seed(a)
        rows = torch.rand(len(queries), 16, generator=g) ** (2 * a)
        return [explorer.MapPanel(f"a={a}", (4, 4), rows / rows.sum(-1, keepdim=True))]

    def bars(a, b):
        return [
            explorer.Bars("cost", ("plain attention", "reduced"), (22.0 * b, 1.0 * b),
                          (f"{22 * b}.5 M, 37.5 MiB", f"{b} M, 600 KiB (22× fewer)"),
                          ("tab:blue", "tab:orange")),
        ]  # fmt: skip

    return explorer.Explorer(
        key=key,
        title=f"toy explorer {key}",
        controls=(explorer.Control("a", "a", (1, 2, 3), 1), explorer.Control("b", "b", (1, 3), 3)),
        maps=maps,
        bars=bars,
        caption=lambda a, b: f"a={a}, b={b}; query: cyan box",
        query_grid=6,
        default_query=(2, 3),
        photo=lambda **_: torch.linspace(0, 1, 3 * 32 * 32).reshape(3, 32, 32),
    )


def _fallback(height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, height), "white").save(out, format="png")
    return out.getvalue()


def _text(n: int) -> str:
    words = "Attention over a reduced key grid costs less; the map is coarser. " * 6
    return "".join(f"<p>{words}</p>" for _ in range(n))


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Explorers</title>
<link rel="icon" href="data:,">
<style>html{{overflow-anchor:none}}
body{{max-width:760px;margin:0 auto;padding:0 8px;font:16px/1.5 sans-serif}}
html[data-theme=dark] body{{background:#121212;color:#ddd}}</style></head>
<body><main><h1>Two explorers</h1>{intro}{first}
<section id="below"><h2>A section below the first explorer</h2>{middle}</section>
{second}<section id="end"><h2>The end</h2>{end}</section></main></body></html>"""


# html{overflow-anchor:none}: no scroll anchoring, as in browsers without it (Safari before
# 18), so that the explorer itself must keep a section link in place on its first draw.


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("explorer-page")
    # The fallback pictures are much taller than the drawn explorers: a first draw that
    # did not keep the section in place would move it by hundreds of pixels.
    page = PAGE.format(
        intro=_text(2),
        first=toy_explorer("explore-one").html(fallback=_fallback(1400)),
        middle=_text(4),
        second=toy_explorer("explore-two").html(fallback=_fallback(1400)),
        end=_text(12),
    )
    (root / "page.html").write_text(page, encoding="utf-8")
    # late.html: the first explorer's photo arrives a second late, so that it draws (and
    # changes its height) after the second one has opened the page at itself.
    first = toy_explorer("explore-one").html(fallback=_fallback(1400))
    uri = re.search(r'"photo": ?"(data:[^"]+)"', first).group(1)
    (root / "slow-photo.jpg").write_bytes(base64.b64decode(uri.split(",", 1)[1]))
    (root / "late.html").write_text(
        page.replace(first, first.replace(uri, "slow-photo.jpg")), encoding="utf-8"
    )
    (root / "other.html").write_text(
        '<!doctype html><html lang="en"><title>other</title><link rel="icon" href="data:,">'
        '<a href="page.html">page</a></html>',
        encoding="utf-8",
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/slow-"):
                time.sleep(1.0)
            super().do_GET()

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def new_page(chromium):
    contexts, errors = [], []

    def make(**options):
        context = chromium.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
        return page

    yield make
    for c in contexts:
        c.close()
    assert not errors, errors


def _open(page, url: str):
    page.goto(url, wait_until="load")
    page.wait_for_function(_DRAWN, timeout=10_000)
    page.evaluate("() => new Promise(ok => requestAnimationFrame(() => setTimeout(ok, 50)))")


def _state(page, key: str) -> dict:
    return page.evaluate(
        """id => { const r = document.getElementById(id);
            return {state: r.dataset.state, drawn: +r.dataset.drawn,
                    row: +r.querySelector('[data-control=query-row]').value,
                    col: +r.querySelector('[data-control=query-col]').value}; }""",
        key,
    )


def _top(page, element_id: str) -> float:
    return page.evaluate(f"document.getElementById('{element_id}').getBoundingClientRect().top")


def _press(page, key: str, control: str, press: str):
    before = _state(page, key)["drawn"]
    page.locator(f"#{key} [data-control={control}]").focus()
    page.keyboard.press(press)
    page.evaluate(_WAIT_DRAWN, [key, before])


# --- links hold ------------------------------------------------------------------------------


def test_a_section_link_holds_while_the_explorers_draw(new_page, site):
    page = new_page()
    page.goto(site + "other.html")
    _open(page, site + "page.html#below")
    assert page.url == site + "page.html#below", "the first draw wrote into the address"
    assert abs(_top(page, "below")) <= 2, f"the section moved to {_top(page, 'below')} px"
    entries = page.evaluate("history.length")

    # A reader's change: into the query string, the section link kept, no new entry.
    _press(page, "explore-two", "b", "ArrowLeft")
    page.wait_for_function("() => location.search.includes('explore-two.b=1')")
    assert page.url.endswith("#below") and "explore-one" not in page.url, page.url
    assert page.evaluate("history.length") == entries

    # A reload restores that explorer alone, at the section.
    page.reload(wait_until="load")
    page.wait_for_function(_DRAWN)
    assert _state(page, "explore-two")["state"] == "1|1"
    assert _state(page, "explore-one")["state"] == "1|3"
    assert page.url.endswith("#below")

    # Back leaves the page, as on any page.
    page.go_back(wait_until="load")
    assert page.url == site + "other.html"


def test_a_page_without_a_section_stays_at_the_top_and_the_address_clean(new_page, site):
    page = new_page()
    _open(page, site + "page.html")
    assert page.url == site + "page.html"
    assert page.evaluate("window.scrollY") == 0


def test_a_link_with_an_explorers_state_opens_it(new_page, site):
    page = new_page()
    _open(page, site + "page.html?explore-two.a=3&explore-two.row=5&explore-two.col=0")
    got = _state(page, "explore-two")
    assert (got["state"], got["row"], got["col"]) == ("3|3", 5, 0)
    assert _state(page, "explore-one")["state"] == "1|3"
    assert abs(_top(page, "explore-two")) <= 2, "the link did not open at its explorer"
    # A setting left out keeps its default; so does the query.
    page = new_page()
    _open(page, site + "page.html?explore-two.a=2")
    got = _state(page, "explore-two")
    assert (got["state"], got["row"], got["col"]) == ("2|3", 2, 3)
    # The older form, #<id>?..., still opens (links shared before).
    page = new_page()
    _open(page, site + "page.html#explore-one?a=2&b=1&query=0,4")
    got = _state(page, "explore-one")
    assert (got["state"], got["row"], got["col"]) == ("2|1", 0, 4)


def test_a_link_to_an_explorer_holds_while_one_above_it_draws_later(new_page, site):
    page = new_page()
    _open(page, site + "late.html?explore-two.a=3")
    assert _state(page, "explore-two")["state"] == "3|3"
    assert abs(_top(page, "explore-two")) <= 2, f"moved to {_top(page, 'explore-two')} px"


def test_moves_of_the_query_write_the_address(new_page, site):
    page = new_page()
    _open(page, site + "page.html")
    canvas = page.locator("#explore-one .vn-map canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    before = _state(page, "explore-one")["drawn"]
    canvas.click(position={"x": box["width"] * 0.95, "y": box["height"] * 0.05})
    page.evaluate(_WAIT_DRAWN, ["explore-one", before])
    got = _state(page, "explore-one")
    assert (got["row"], got["col"]) == (0, 5)
    page.wait_for_function("() => location.search.includes('explore-one.col=5')")
    assert "explore-one.row=0" in page.url and "#" not in page.url


# --- phones ------------------------------------------------------------------------------


def test_on_a_phone_a_tap_moves_the_query_and_a_swipe_scrolls(new_page, site):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    _open(page, site + "page.html")
    canvas = page.locator("#explore-one .vn-map canvas")
    assert "pan-y" in canvas.evaluate("c => getComputedStyle(c).touchAction")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    before = _state(page, "explore-one")
    page.touchscreen.tap(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.95)
    page.evaluate(_WAIT_DRAWN, ["explore-one", before["drawn"]])
    got = _state(page, "explore-one")
    assert (got["row"], got["col"]) == (5, 0)

    # A swipe up over the map: the page scrolls, the query stays.
    y0 = page.evaluate("window.scrollY")
    cdp = page.context.new_cdp_session(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.8
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, 11):
        point = {"x": x + k, "y": y - 25 * k}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(300)
    after = _state(page, "explore-one")
    assert page.evaluate("window.scrollY") > y0 + 50, "the swipe did not scroll the page"
    assert (after["row"], after["col"], after["drawn"]) == (5, 0, got["drawn"])

    # A touch that travels (a sideways swipe, which pan-y leaves to the page) moves nothing.
    moved = canvas.evaluate("""c => { const b = c.getBoundingClientRect();
        const ev = (type, x) => c.dispatchEvent(new PointerEvent(type, {pointerType: 'touch',
            pointerId: 7, bubbles: true, clientX: b.left + x, clientY: b.top + 10}));
        ev('pointerdown', 10); ev('pointermove', 60); ev('pointerup', 120);
        return c.closest('.vn-explorer').dataset.drawn; }""")
    page.wait_for_timeout(100)
    assert int(moved) == _state(page, "explore-one")["drawn"] == got["drawn"]


# --- dark mode --------------------------------------------------------------------------------


def _luminance(rgb: str) -> float:
    parts = [float(v) for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [(c / 255 / 12.92) if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_COLOURS = """() => { const r = document.querySelector('.vn-explorer');
    const c = s => getComputedStyle(r.querySelector(s)).color;
    return {bg: getComputedStyle(r).backgroundColor, title: c('.vn-title'),
            caption: c('.vn-caption'), label: c('label'), bar: c('.vn-bar-text'),
            map: c('.vn-map figcaption'), scheme: getComputedStyle(r).colorScheme}; }"""


@pytest.mark.parametrize("how", ["system", "theme", "light theme, dark system"])
def test_dark_mode(new_page, site, how):
    system = "light" if how == "theme" else "dark"
    page = new_page(color_scheme=system)
    _open(page, site + "page.html")
    if how != "system":  # pydata-sphinx-theme's toggle sets html[data-theme]
        theme = "dark" if how == "theme" else "light"
        page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
    got = page.evaluate(_COLOURS)
    dark = how != "light theme, dark system"
    assert (_luminance(got["bg"]) < 0.05) == dark, got
    assert got["scheme"] == ("dark" if dark else "light"), got
    for part in ("title", "caption", "label", "bar", "map"):
        assert _contrast(got[part], got["bg"]) >= 4.5, (part, got)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_explorers_pass_the_accessibility_audit(new_page, site, scheme):
    pytest.importorskip("axe_playwright_python")
    from axe_playwright_python.sync_playwright import Axe

    page = new_page(color_scheme=scheme)
    _open(page, site + "page.html")
    options = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}  # fmt: skip
    results = Axe().run(page, context={"include": [[".vn-explorer"]]}, options=options)
    bad = [
        f"{v['impact']} {v['id']}: {v['help']} ({v['nodes'][0]['target']})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


# --- bars -------------------------------------------------------------------------------------


def test_bars_are_linear(new_page, site):
    """A 22x saving is drawn 22 times shorter."""
    page = new_page()
    _open(page, site + "page.html")
    widths = page.evaluate(
        "() => [...document.querySelectorAll('#explore-one .vn-bar')]"
        ".map(b => b.getBoundingClientRect().width)"
    )
    assert widths[0] / widths[1] == pytest.approx(22, rel=0.03), widths


def test_bar_texts_fit_on_a_phone(new_page, site):
    """At 390 px every bar's text ends inside its chart, and the bars stay linear."""
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    _open(page, site + "page.html")
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('.vn-bar-text')].map(t => {
            const chart = t.closest('.vn-chart').getBoundingClientRect();
            const r = t.getBoundingClientRect();
            return [t.textContent, Math.round(r.right - Math.min(chart.right, innerWidth))];
        }).filter(([, over]) => over > 0)"""
    )
    assert not overflow, overflow
    widths = page.evaluate(
        "() => [...document.querySelectorAll('#explore-one .vn-bar')]"
        ".map(b => b.getBoundingClientRect().width)"
    )
    assert widths[0] / widths[1] == pytest.approx(22, rel=0.05), widths


def test_first_picture_is_recorded(new_page, site):
    """Each explorer records when its first picture stood (bench/explorers.py reads it)."""
    page = new_page()
    _open(page, site + "page.html")
    firsts = page.evaluate(
        "() => [...document.querySelectorAll('.vn-explorer')].map(e => +e.dataset.firstMs)"
    )
    assert len(firsts) == 2 and all(t > 0 for t in firsts), firsts
    assert page.evaluate(f"() => {max(firsts)} <= performance.now()")


def test_in_a_notebook_the_address_is_left_alone(new_page, site):
    """In JupyterLab or the classic notebook the address belongs to the app."""
    page = new_page()
    page.add_init_script("window.Jupyter = {}")
    _open(page, site + "page.html")
    _press(page, "explore-one", "a", "End")
    page.wait_for_timeout(400)
    assert _state(page, "explore-one")["state"] == "3|3" and page.url == site + "page.html"


def _deflate_cases() -> list[tuple[str, str]]:
    """(zlib stream, its input), base64: stored, fixed-Huffman and dynamic-Huffman blocks,
    long matches at far distances, an empty input, and an input of several blocks."""
    rng = random.Random(0)
    skewed = bytes(min(255, int(rng.expovariate(0.05))) for _ in range(150_000))
    inputs = [
        b"",
        b"a short map",
        bytes(rng.randrange(256) for _ in range(70_000)),  # incompressible: stored blocks
        b"0123456789abcdef" * 4000 + skewed[:3000] * 10,
        skewed,
    ]
    cases = [(zlib.compress(data, level), data) for data in inputs for level in (0, 1, 6, 9)]
    block_types = {(stream[2] >> 1) & 3 for stream, _ in cases}
    assert block_types == {0, 1, 2}, block_types  # every kind of block is decoded below
    return [(base64.b64encode(s).decode(), base64.b64encode(d).decode()) for s, d in cases]


def test_the_first_pictures_inflate_gives_back_zlibs_input(new_page):
    """explorer.js inflates the first picture's maps itself (inflateNow): the browser's
    DecompressionStream gives its result back only after the page's load, up to seconds
    after the explorer could draw (issue 22, bench/explorers.py). Its output is zlib's input,
    byte for byte, for every kind of block."""
    js = explorer.EXPLORER_JS.read_text(encoding="utf-8")
    functions = js[js.index("  function bytes(") : js.index("  function el(")]
    page = new_page()
    page.set_content("<!doctype html><title>inflate</title>")
    results = page.evaluate(
        """([functions, cases]) => {
            const [bytes, inflateNow] = new Function(functions + "return [bytes, inflateNow];")();
            return cases.map(([stream, data]) => {
                const out = inflateNow(stream), want = bytes(data);
                return out.length === want.length && out.every((v, i) => v === want[i]);
            }); }""",
        [functions, _deflate_cases()],
    )
    assert results and all(results), results

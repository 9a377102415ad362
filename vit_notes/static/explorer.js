// The explorers of ViT Notes, drawn in the browser: one renderer for the page and the kernel.
// Every state was computed in Python (vit_notes.explorer.Explorer.payload); this file only
// draws: the maps of the chosen query over the photo (inferno, alpha 0.7, one colour scale),
// the query box, and the bar charts. Nothing is fetched.
//
// Two callers, one drawing (setup):
// - the page's kernel-free twin (Explorer.html): this file runs as an inline script and draws
//   every <div class="vn-explorer"> from the <script class="vn-data"> beside it;
// - the live widget in a kernel (Explorer.widget, an anywidget): static/explorer_widget.js
//   calls setup(root, live) with the payload the kernel put in the model; the reader's moves
//   go to live.changed, and the kernel's states come in through the returned apply().
//
// The address (the page's twin only: a live widget's state is the kernel's): a reader's
// change of a control or of the query is written into the page's query string
// (?explore-sra.sr_ratio=2&explore-sra.row=3&explore-sra.col=5), replacing the
// history entry (never a new one, so Back leaves the page as on any page) and keeping the
// fragment: a section link (#what-it-costs) stays. The first draw writes nothing. A reload
// restores an explorer only from its own parameters (or from the older #<id>?... form).
// A first draw keeps the section the page was opened at in place, however much the
// explorer grows or shrinks above it.
//
// Phones: a swipe over a map scrolls the page (touch-action: pan-y), a tap moves the query;
// a mouse moves it on a press and drags it. Dark mode: the explorer follows the page's theme
// (pydata-sphinx-theme's html[data-theme], JupyterLab's body[data-jp-theme-light]) or, on a
// page without one, the system's setting; the maps keep the photo's light card.
(function () {
  "use strict";
  const ALPHA = 0.7; // the maps' opacity over the photo, as in plotting.overlay_map
  const TAP_SLOP = 10; // px a touch may travel and still be a tap
  // At most one address change per this many ms, the last one always written: browsers refuse
  // faster ones (Safari: 100 in 30 s, Chromium: 200 in 10 s) during a long drag.
  const SAVE_MS = 350;
  const DARK = `--vn-fg:#e6edf3;--vn-muted:#c9d1d9;--vn-bg:#1b1f24;--vn-border:#4a525c;
  --vn-focus:#6cb6ff;color-scheme:dark`;
  const CSS = `
.vn-explorer{--vn-fg:#1f2328;--vn-muted:#3d444d;--vn-bg:#fff;--vn-border:#c8ccd1;--vn-focus:#0b62a4;
  color-scheme:light;color:var(--vn-fg);background:var(--vn-bg);accent-color:var(--vn-focus);
  border:1px solid var(--vn-border);border-radius:6px;padding:.6em;margin:.5em 0;max-width:750px;
  font-size:14px;line-height:1.35}
html[data-theme="dark"] .vn-explorer,body[data-jp-theme-light="false"] .vn-explorer{${DARK}}
@media (prefers-color-scheme:dark){
  html:not([data-theme]) body:not([data-jp-theme-light]) .vn-explorer{${DARK}}}
.vn-explorer :is(.vn-title,label,output,figcaption,span){color:var(--vn-fg)}
.vn-explorer .vn-caption{color:var(--vn-muted)}
.vn-title{font-weight:600;margin-bottom:.3em}
.vn-controls{display:flex;flex-wrap:wrap;gap:.2em 1.2em}
.vn-control{display:flex;align-items:center;gap:.4em;min-width:220px;flex:1 1 220px}
.vn-control label{min-width:6.5em}
.vn-control input{flex:1;min-width:80px}
.vn-control output{min-width:4.5em;font-variant-numeric:tabular-nums}
.vn-caption{margin:.4em 0;font-size:13px}
.vn-maps{display:grid;gap:.5em;grid-template-columns:repeat(var(--vn-cols,3),minmax(0,240px))}
@media (max-width:480px){.vn-maps{grid-template-columns:repeat(min(var(--vn-cols,3),2),minmax(0,1fr))}}
.vn-map{margin:0}
.vn-map canvas{width:100%;height:auto;display:block;cursor:crosshair;touch-action:pan-y pinch-zoom}
.vn-map canvas:focus{outline:3px solid var(--vn-focus)}
.vn-control input:focus-visible{outline:2px solid var(--vn-focus);outline-offset:2px}
.vn-map figcaption{font-size:12.5px;text-align:center}
.vn-scale{display:flex;align-items:center;gap:.4em;font-size:12.5px;margin:.3em 0;flex-wrap:wrap}
.vn-scale canvas{width:180px;height:12px;image-rendering:pixelated}
.vn-bars{display:flex;flex-wrap:wrap;gap:.3em 1.5em;container-type:inline-size}
.vn-chart{margin:.3em 0;flex:1 1 300px;min-width:0;font-size:12.5px;display:grid;
 grid-template-columns:auto minmax(25%,1fr) auto;column-gap:.4em;row-gap:2px;align-items:center}
.vn-chart figcaption{font-weight:600;margin-bottom:.2em;grid-column:1/-1}
.vn-bar-row{display:contents}
.vn-bar-label{text-align:right}
.vn-bar-track{display:flex;align-items:center;min-width:0;position:relative;align-self:stretch}
.vn-bar{display:inline-block;height:14px;min-width:0;flex:none}
.vn-bar.vn-selected{outline:2px solid var(--vn-fg)}
.vn-bar-text{font-variant-numeric:tabular-nums}
.vn-interval{position:absolute;top:50%;height:10px;margin-top:-5px;pointer-events:none}
.vn-interval>span{position:absolute;background:var(--vn-fg);box-shadow:0 0 0 1px var(--vn-bg)}
.vn-interval>.vn-whisker{left:0;right:0;top:4px;height:2px}
.vn-interval>.vn-cap{top:0;bottom:0;width:2px}
.vn-interval>.vn-cap:first-child{left:-1px}.vn-interval>.vn-cap:last-child{right:-1px}
.vn-axis{position:relative;height:1.5em;border-top:1px solid var(--vn-fg);margin-top:2px}
.vn-tick{position:absolute;top:0;width:1px;height:4px;margin-left:-.5px;background:var(--vn-fg)}
.vn-tick-label{position:absolute;top:5px;left:0;transform:translateX(-50%);font-size:12px;
 font-variant-numeric:tabular-nums;white-space:nowrap}
.vn-tick-label.vn-crowded{visibility:hidden}
.vn-axis-label{grid-column:2/-1;font-size:12px}
.vn-explorer :is(.vn-tick-label,.vn-axis-label){color:var(--vn-muted)}
@container (max-width:440px){
 .vn-chart{grid-template-columns:minmax(0,1fr) auto}
 .vn-bar-label,.vn-axis-label{grid-column:1/-1;text-align:left}
}
.vn-fallback{max-width:100%;height:auto}`;
  if (!document.getElementById("vn-explorer-css")) {
    document.head.appendChild(Object.assign(document.createElement("style"),
      { id: "vn-explorer-css", textContent: CSS }));
  }

  function bytes(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  async function inflate(b64) {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // The first picture's maps are inflated here, at once: DecompressionStream's result comes
  // back only after the page has loaded (0.5 to 1.5 s late, 4 times that on a slow CPU), so
  // the first picture would wait for the page's last image and MathJax (bench/explorers.py).
  // A zlib stream (RFC 1950/1951), decoded as zlib's puff.c does.
  const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
    99, 115, 131, 163, 195, 227, 258];
  const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
    12, 12, 13, 13];
  const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  function huffman(lengths) { // canonical codes: the count per length, the symbols in order
    const count = new Uint16Array(16), offs = new Uint16Array(16);
    const symbol = new Uint16Array(lengths.length);
    for (const l of lengths) count[l]++;
    count[0] = 0;
    for (let l = 1; l < 16; l++) offs[l] = offs[l - 1] + count[l - 1];
    lengths.forEach((l, s) => { if (l) symbol[offs[l]++] = s; });
    return { count, symbol };
  }
  const FIXED = [ // the fixed codes: literals and lengths, distances
    huffman(Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8))),
    huffman(new Array(30).fill(5))];
  function inflateNow(b64) {
    const src = bytes(b64);
    let pos = 2, acc = 0, nbits = 0, n = 0; // past the zlib header
    let out = new Uint8Array(4 * src.length + 1024);
    const get = (k) => {
      while (nbits < k) {
        if (pos >= src.length) throw new Error("truncated deflate data");
        acc |= src[pos++] << nbits; nbits += 8;
      }
      const v = acc & ((1 << k) - 1);
      acc >>>= k; nbits -= k;
      return v;
    };
    const room = (k) => {
      if (n + k <= out.length) return;
      const grown = new Uint8Array(Math.max(2 * out.length, n + k));
      grown.set(out.subarray(0, n));
      out = grown;
    };
    const decode = (h) => {
      let code = 0, first = 0, index = 0;
      for (let len = 1; len < 16; len++) {
        code |= get(1);
        const c = h.count[len];
        if (code - c < first) return h.symbol[index + code - first];
        index += c; first = (first + c) << 1; code <<= 1;
      }
      throw new Error("bad deflate data");
    };
    for (let last = 0; !last;) {
      last = get(1);
      const type = get(2);
      if (type === 0) { // stored: from the next byte, LEN and NLEN, then LEN bytes
        acc = 0; nbits = 0;
        const len = src[pos] | (src[pos + 1] << 8);
        pos += 4;
        room(len);
        out.set(src.subarray(pos, pos + len), n);
        n += len; pos += len;
        continue;
      }
      let lit, dist;
      if (type === 1) [lit, dist] = FIXED;
      else if (type === 2) {
        const nlit = get(5) + 257, ndist = get(5) + 1, ncode = get(4) + 4;
        const cl = new Uint8Array(19);
        for (let i = 0; i < ncode; i++) cl[ORDER[i]] = get(3);
        const codes = huffman(cl);
        const lens = new Uint8Array(nlit + ndist);
        for (let i = 0; i < nlit + ndist;) {
          const s = decode(codes);
          if (s < 16) { lens[i++] = s; continue; }
          const rep = s === 16 ? 3 + get(2) : s === 17 ? 3 + get(3) : 11 + get(7);
          lens.fill(s === 16 ? lens[i - 1] : 0, i, i + rep);
          i += rep;
        }
        lit = huffman(lens.subarray(0, nlit));
        dist = huffman(lens.subarray(nlit));
      } else throw new Error("bad deflate data");
      for (;;) {
        const s = decode(lit);
        if (s < 256) { room(1); out[n++] = s; continue; }
        if (s === 256) break;
        const len = LBASE[s - 257] + get(LEXT[s - 257]);
        const d = decode(dist);
        const back = DBASE[d] + get(DEXT[d]);
        room(len);
        for (let k = 0; k < len; k++, n++) out[n] = out[n - back];
      }
    }
    return out.subarray(0, n);
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  // The explorer a link with its state opened the page at: other explorers' first draws,
  // which may come later and change their height, keep it in place as they keep a section.
  let opened = null;

  function fragment() { // the address's fragment, decoded ("" if malformed)
    try {
      return decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      return "";
    }
  }

  function fmt(v) {
    return v >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
  }

  // root: the <div class="vn-explorer"> to draw into. live (the widget; absent on the page):
  // spec, the payload; uid, a prefix for the elements' ids unique on the page; state, each
  // control's value index; query, (row, col) or null; changed(state, query), called on each
  // move of the reader's. Returns { apply(state, query) }, which draws a state set elsewhere.
  function setup(root, live) {
    if (root.dataset.ready) return null;
    root.dataset.ready = "1";
    const spec = live ? live.spec : JSON.parse(root.querySelector("script.vn-data").textContent);
    const id = spec.id;
    const uid = live ? live.uid : id; // the elements' ids
    const lut = bytes(spec.cmap);
    const blobs = new Map(); // blob index -> Promise<Uint8Array>
    const state = live && live.state ? live.state.slice() : spec.controls.map((c) => c.default);
    const query = !spec.query ? null
      : live && live.query ? live.query.slice() : spec.query.default.slice();
    const grid = spec.query ? spec.query.grid : 0;
    let photo = null;
    let drawn = 0; // draws so far (the tests wait on it)

    // -- the controls: a labelled range input per control (arrow keys move it)
    const controls = el("div", { class: "vn-controls" });
    const inputs = [];
    function slider(name, label, n, value, text) {
      const input = el("input", {
        type: "range", min: 0, max: n - 1, step: 1, value: value,
        id: `${uid}-${name}`, "data-control": name,
      });
      const out = el("output", { for: input.id });
      const row = el("div", { class: "vn-control" }, [
        el("label", { for: input.id, text: label }), input, out,
      ]);
      const show = () => {
        out.textContent = text(+input.value);
        input.setAttribute("aria-valuetext", out.textContent);
      };
      show();
      input.addEventListener("input", show);
      controls.appendChild(row);
      return { input, show };
    }
    spec.controls.forEach((c, i) => {
      const s = slider(c.name, c.label, c.values.length, state[i], (v) => c.values[v]);
      s.input.addEventListener("input", () => { state[i] = +s.input.value; update(true); });
      inputs.push(s);
    });
    let qInputs = [];
    if (query) {
      qInputs = ["row", "col"].map((axis, a) => {
        const s = slider(`query-${axis}`, `query ${axis === "row" ? "row" : "column"}`, grid,
          query[a], (v) => `${v + 1} of ${grid}`);
        s.input.addEventListener("input", () => { query[a] = +s.input.value; update(true); });
        return s;
      });
    }

    // -- the maps: a canvas per panel, focusable; click, drag or arrow keys move the query
    const caption = el("p", { class: "vn-caption", "aria-live": "polite" });
    const maps = el("div", { class: "vn-maps" });
    const scale = el("div", { class: "vn-scale" });
    const bars = el("div", { class: "vn-bars" });
    const fallback = root.querySelector(".vn-fallback");
    if (fallback) fallback.remove();
    keepSection(() => root.append(
      el("div", { class: "vn-title", text: spec.title }), controls, caption, maps, scale, bars));

    function setQuery(r, c) { // a reader's move of the query
      query[0] = Math.max(0, Math.min(grid - 1, r));
      query[1] = Math.max(0, Math.min(grid - 1, c));
      qInputs.forEach((s, a) => { s.input.value = query[a]; s.show(); });
      update(true);
    }
    function pick(canvas, ev) {
      const box = canvas.getBoundingClientRect();
      setQuery(Math.floor(((ev.clientY - box.top) / box.height) * grid),
        Math.floor(((ev.clientX - box.left) / box.width) * grid));
    }
    function panelCanvas(title) {
      const canvas = el("canvas", {
        width: 448, height: 448, tabindex: 0, role: "img",
        "aria-label": `${title}: click or use the arrow keys to move the query`,
      });
      // A mouse or pen: a press moves the query, a drag moves it along. A touch: only a tap
      // (released within TAP_SLOP px) moves it; a swipe scrolls the page (touch-action).
      let touch = null;
      canvas.addEventListener("pointerdown", (ev) => {
        if (ev.pointerType === "touch") {
          touch = { id: ev.pointerId, x: ev.clientX, y: ev.clientY };
          return;
        }
        canvas.setPointerCapture(ev.pointerId);
        pick(canvas, ev);
      });
      canvas.addEventListener("pointermove", (ev) => {
        if (ev.pointerType !== "touch" && ev.buttons) pick(canvas, ev);
      });
      canvas.addEventListener("pointerup", (ev) => {
        if (ev.pointerType !== "touch" || !touch || touch.id !== ev.pointerId) return;
        const travel = Math.hypot(ev.clientX - touch.x, ev.clientY - touch.y);
        touch = null;
        if (travel <= TAP_SLOP) pick(canvas, ev);
      });
      canvas.addEventListener("pointercancel", () => { touch = null; }); // the page scrolled
      canvas.addEventListener("keydown", (ev) => {
        const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[ev.key];
        if (!step) return;
        ev.preventDefault();
        setQuery(query[0] + step[0], query[1] + step[1]);
      });
      return canvas;
    }

    function drawMap(canvas, levels, panel, q, vmax) {
      const ctx = canvas.getContext("2d");
      const W = canvas.width, H = canvas.height;
      ctx.imageSmoothingEnabled = true;
      if (photo) ctx.drawImage(photo, 0, 0, W, H);
      const [gh, gw] = panel.grid;
      const n = gh * gw;
      const peak = panel.peaks[q];
      const cells = new ImageData(gw, gh);
      for (let k = 0; k < n; k++) {
        const v = (levels[q * n + k] / 255) * peak / vmax;
        const j = Math.min(255, Math.max(0, Math.round(v * 255))) * 3;
        cells.data.set([lut[j], lut[j + 1], lut[j + 2], Math.round(ALPHA * 255)], 4 * k);
      }
      const off = new OffscreenCanvas(gw, gh);
      off.getContext("2d").putImageData(cells, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, 0, 0, W, H);
      // the keys the query sees, where it sees only part of the grid (seen: its window's
      // key-grid cells, top, left, bottom, right, as plotting.seen_box finds them): white,
      // drawn half its black stroke outside the window, as plotting.mark_seen draws it, so
      // that it covers none of the window's keys (the query's own token can sit on its edge)
      const box = panel.seen && panel.seen[q];
      if (box) {
        const [t, l, b, r] = box;
        const pad = 3; // half the black stroke's width
        const bx = (l * W) / gw - pad, by = (t * H) / gh - pad;
        const bw = ((r - l) * W) / gw + 2 * pad, bh = ((b - t) * H) / gh + 2 * pad;
        ctx.strokeStyle = "black"; ctx.lineWidth = 2 * pad; ctx.strokeRect(bx, by, bw, bh);
        ctx.strokeStyle = "white"; ctx.lineWidth = pad; ctx.strokeRect(bx, by, bw, bh);
      }
      // the query: an outlined cyan box and a dashed crosshair. The box is the patch of the
      // panel's query token (qcells: its query tokens per side, found as
      // photo.query_index finds them), or 1/14 of the image centred on the query.
      const fr = (query[0] + 0.5) / grid, fc = (query[1] + 0.5) / grid;
      let x0, y0, side, sideY;
      if (panel.qcells) {
        const [qh, qw] = panel.qcells;
        sideY = H / qh; side = W / qw;
        y0 = Math.floor(fr * qh) * sideY; x0 = Math.floor(fc * qw) * side;
      } else {
        side = W / 14; sideY = H / 14;
        x0 = fc * W - side / 2; y0 = fr * H - sideY / 2;
      }
      if (panel.qoutside) { // a ring one patch outside a patch smaller than its stroke
        x0 -= side; y0 -= sideY; side *= 3; sideY *= 3;
      }
      const cx = x0 + side / 2, cy = y0 + sideY / 2;
      ctx.setLineDash([6, 6]);
      ctx.strokeStyle = "cyan";
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      ctx.moveTo(0, cy); ctx.lineTo(x0, cy); ctx.moveTo(x0 + side, cy); ctx.lineTo(W, cy);
      ctx.moveTo(cx, 0); ctx.lineTo(cx, y0); ctx.moveTo(cx, y0 + sideY); ctx.lineTo(cx, H);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = "black"; ctx.lineWidth = 7; ctx.strokeRect(x0, y0, side, sideY);
      ctx.strokeStyle = "cyan"; ctx.lineWidth = 4; ctx.strokeRect(x0, y0, side, sideY);
    }

    function drawScale(vmax) {
      scale.replaceChildren();
      const bar = el("canvas", { width: 256, height: 1, "aria-hidden": "true" });
      const ctx = bar.getContext("2d");
      const row = new ImageData(256, 1);
      for (let i = 0; i < 256; i++) row.data.set([lut[3 * i], lut[3 * i + 1], lut[3 * i + 2], 255], 4 * i);
      ctx.putImageData(row, 0, 0);
      scale.append(el("span", { text: "0" }), bar, el("span", { class: "vn-vmax", text: fmt(vmax) }),
        el("span", { class: "vn-scale-label", text: "attention weight (one scale)" }));
    }

    // An axis too narrow for every tick's label (a phone) labels every second tick, or every
    // third...: the ticks all stay. Again whenever the axis changes width.
    const axes = new ResizeObserver((entries) => entries.forEach((e) => unCrowd(e.target)));
    function unCrowd(axis) {
      const labels = [...axis.querySelectorAll(".vn-tick-label")];
      labels.forEach((l) => l.classList.remove("vn-crowded"));
      const boxes = labels.map((l) => l.getBoundingClientRect());
      if (!boxes.length || !boxes[0].width) return; // not laid out (hidden)
      let step = 1;
      const clear = (k) => boxes[k].left >= boxes[k - step].right + 6;
      while (step < labels.length - 1) {
        let fits = true;
        for (let k = step; k < labels.length; k += step) fits = fits && clear(k);
        if (fits) break;
        step++;
      }
      labels.forEach((l, k) => l.classList.toggle("vn-crowded", k % step !== 0));
    }

    // A chart: a bar per label, its text in a column of its own (on a phone the label sits above
    // its bar, so the track keeps most of the width); where the chart has them,
    // each bar's interval (low, high: an error bar over a bar paled as in the figure) and the
    // value axis (axis: its domain, ticks and labels, vit_notes.explorer.bar_axis, which the
    // matplotlib figure draws too).
    function drawBars(charts) {
      axes.disconnect();
      bars.replaceChildren();
      for (const chart of charts) {
        const shown = chart.values.filter((v) => v > 0);
        const lo = Math.min(...shown), hi = Math.max(...shown);
        const axis = chart.axis;
        const length = (v) => { // percent of the track
          if (axis) {
            const [a, b] = axis.domain;
            if (axis.log && !(v > 0)) return 0;
            const f = axis.log ? Math.log(v / a) / Math.log(b / a) : (v - a) / (b - a);
            return Math.max(0, Math.min(1, f)) * 100;
          }
          if (!(v > 0)) return 0;
          if (!chart.log) return (v / hi) * 100; // the texts have a column
          return (Math.log(v / (lo / 10)) / Math.log((hi * 300) / (lo / 10))) * 100;
        };
        const pct = (v) => `${length(v).toFixed(2)}%`;
        const interval = (i) => {
          if (!chart.low || !(chart.values[i] > 0)) return [];
          const left = length(chart.low[i]), right = length(chart.high[i]);
          return [el("span", {
            class: "vn-interval", "aria-hidden": "true",
            style: `left:${left.toFixed(2)}%;width:${(right - left).toFixed(2)}%`,
          }, [el("span", { class: "vn-cap" }), el("span", { class: "vn-whisker" }),
            el("span", { class: "vn-cap" })])];
        };
        const rows = chart.labels.map((label, i) => el("div", { class: "vn-bar-row" }, [
          el("span", { class: "vn-bar-label", text: label }),
          el("span", { class: "vn-bar-track" }, [
            el("span", {
              class: "vn-bar" + (i === chart.selected ? " vn-selected" : ""),
              style: `width:${pct(chart.values[i])};background:${chart.colours[i]}`,
            }),
            ...interval(i),
          ]),
          // In a column of its own, so that the longest text never pushes past a phone's edge.
          el("span", { class: "vn-bar-text", text: chart.texts[i] }),
        ]));
        const axisRow = axis && el("span", { class: "vn-axis" }, axis.ticks.map((t, k) =>
          el("span", { class: "vn-tick", style: `left:${pct(t)}` },
            [el("span", { class: "vn-tick-label", text: axis.tick_labels[k] })])));
        if (axis) {
          // Placeholders as labels: on a phone a label takes a row of its own (above).
          rows.push(el("span", { class: "vn-bar-label" }), axisRow, el("span"),
            el("span", { class: "vn-bar-label" }),
            el("span", { class: "vn-axis-label", text: axis.label }));
        }
        bars.append(el("figure", { class: "vn-chart" },
          [el("figcaption", { text: chart.title }), ...rows]));
        if (axis) {
          unCrowd(axisRow);
          axes.observe(axisRow);
        }
      }
    }
    function blob(i, now) { // the levels, or a promise of them; now: inflated at once
      if (!blobs.has(i)) blobs.set(i, now ? inflateNow(spec.blobs[i]) : inflate(spec.blobs[i]));
      return blobs.get(i);
    }
    const stateKey = () => state.map((v, i) => spec.controls[i].values[v]).join("|");

    let pending = 0;
    let touched = false; // has the reader changed a control or the query?
    async function update(byReader) {
      const t0 = performance.now();
      const ticket = ++pending;
      if (byReader) touched = true;
      if (byReader && live) live.changed(state.slice(), query && query.slice());
      const key = stateKey();
      const s = spec.states[key];
      const levels = await Promise.all(s.maps.map((m) => blob(m.blob, !drawn)));
      if (ticket !== pending) return; // a later move came in while this one decoded
      if (touched) draw(s, levels);
      else keepSection(() => draw(s, levels));
      root.dataset.ms = (performance.now() - t0).toFixed(1); // what bench/explorers.py reads
      root.dataset.drawn = ++drawn;
      // When the first picture stood, in ms from the page's navigation (bench/explorers.py).
      if (drawn === 1) root.dataset.firstMs = performance.now().toFixed(1);
      root.dataset.state = key;
      if (touched && !live) saveSoon();
    }

    function draw(s, levels) {
      caption.textContent = s.caption;
      if (s.maps.length) {
        const q = query[0] * grid + query[1];
        const vmax = Math.max(...s.maps.map((m) => m.peaks[q]));
        if (maps.children.length !== s.maps.length) {
          // The book's figure standard: at most three maps in a row, four as two rows of two.
          const n = s.maps.length;
          maps.style.setProperty("--vn-cols", String(n === 4 ? 2 : Math.min(n, 3)));
          maps.replaceChildren(...s.maps.map((m) => el("figure", { class: "vn-map" }, [
            panelCanvas(m.title), el("figcaption")])));
        }
        s.maps.forEach((m, i) => {
          const fig = maps.children[i];
          fig.querySelector("figcaption").textContent = `${m.title}, peak ${fmt(m.peaks[q])}`;
          fig.querySelector("canvas").setAttribute("aria-label",
            `${m.title}: query at row ${query[0]}, column ${query[1]} of ${grid}, counted from 0; ` +
            "click or use the arrow keys to move it");
          drawMap(fig.querySelector("canvas"), levels[i], m, q, vmax);
        });
        drawScale(vmax);
      }
      drawBars(s.bars);
    }

    // -- the state in the address: ?<id>.<control>=<value>&<id>.row=<r>&<id>.col=<c>
    const prefix = id + ".";
    const inNotebook = !!(window.Jupyter || document.querySelector(".jp-LabShell, .jp-Notebook"));
    let lastSave = -Infinity, saveTimer = 0;
    function saveSoon() { // at most one write per SAVE_MS, the last move always written
      clearTimeout(saveTimer);
      const wait = lastSave + SAVE_MS - performance.now();
      if (wait <= 0) saveState();
      else saveTimer = setTimeout(saveState, wait);
    }
    function saveState() {
      lastSave = performance.now();
      if (inNotebook) return; // JupyterLab's or the notebook's address is the app's, not ours
      try {
        const url = new URL(location.href);
        spec.controls.forEach((c, i) => url.searchParams.set(prefix + c.name, c.values[state[i]]));
        if (query) {
          url.searchParams.set(prefix + "row", query[0]);
          url.searchParams.set(prefix + "col", query[1]);
        }
        if (oldHash()) url.hash = ""; // the older form of this explorer's state
        if (url.href !== location.href) history.replaceState(history.state, "", url.href);
      } catch (e) { /* a sandboxed frame: the state just is not kept */ }
    }
    function oldHash() { // #<id>?sr_ratio=2&size=224&query=3,5 (links written before)
      const hash = fragment();
      return hash.startsWith(id + "?") ? hash.slice(id.length + 1) : null;
    }
    function setControl(name, value) { // a name or value not offered is left out
      const i = spec.controls.findIndex((c) => c.name === name);
      if (i < 0 || !spec.controls[i].values.includes(value)) return;
      state[i] = spec.controls[i].values.indexOf(value);
      inputs[i].input.value = state[i];
      inputs[i].show();
    }
    function setCell(r, c) {
      if (!query || !(r >= 0 && r < grid && c >= 0 && c < grid)) return;
      query[0] = r; query[1] = c;
      qInputs.forEach((s, a) => { s.input.value = query[a]; s.show(); });
    }
    function loadState() { // true if the address holds this explorer's state
      const params = new URLSearchParams(location.search);
      let found = false;
      for (const [name, value] of params) {
        if (!name.startsWith(prefix)) continue;
        found = true;
        setControl(name.slice(prefix.length), value);
      }
      const [r, c] = ["row", "col"].map((a) => params.get(prefix + a));
      if (r !== null && c !== null) setCell(Number(r), Number(c)); // else the default query
      const old = oldHash();
      if (old !== null) {
        found = true;
        for (const part of old.split("&")) {
          const [name, value] = part.split("=");
          if (name === "query") setCell(...value.split(",").map(Number));
          else setControl(name, value);
        }
      }
      return found;
    }

    // A draw not asked for by the reader (the first) must not move the section the page was
    // opened at (#some-section, outside this explorer): the page scrolls by what it shifted.
    function keepSection(mutate) {
      const name = fragment();
      const target = (name && document.getElementById(name)) || opened;
      if (!target || root.contains(target)) return mutate();
      const before = target.getBoundingClientRect().top;
      mutate();
      const shift = target.getBoundingClientRect().top - before;
      if (Math.abs(shift) >= 0.5) window.scrollBy(0, shift);
    }

    // A state set elsewhere (the kernel): drawn, not sent back, not written to the address.
    function apply(values, q) {
      const same = values.every((v, i) => v === state[i])
        && (!query || !q || (q[0] === query[0] && q[1] === query[1]));
      if (same) return;
      values.forEach((v, i) => {
        if (v >= 0 && v < spec.controls[i].values.length) {
          state[i] = v;
          inputs[i].input.value = v;
          inputs[i].show();
        }
      });
      if (q) setCell(q[0], q[1]);
      update(false);
    }

    // In a notebook the explorer's keys are its own: JupyterLab's shortcuts (the arrows move
    // between cells) must not take a slider's or a map's arrow key.
    if (live) {
      root.addEventListener("keydown", (ev) => {
        if (ev.target.matches("input, canvas")) ev.stopPropagation();
      });
    }

    const restored = live ? false : loadState();
    // A link with this explorer's state (and no section) opens at the explorer; a reload or
    // Back leaves the scrolling to the browser, which restores where the reader was.
    const nav = (performance.getEntriesByType("navigation")[0] || {}).type || "navigate";
    const jump = restored && nav === "navigate" && (!location.hash || oldHash() !== null);
    // The jump waits for the page's end: while it is still parsed, the page may be too short
    // to bring the explorer to the top.
    const start = () => update(false).then(() => {
      if (!jump) return;
      opened = root;
      if (document.readyState === "complete") root.scrollIntoView();
      else addEventListener("load", () => root.scrollIntoView(), { once: true });
    });
    // The first state's maps are inflated while the photo decodes.
    for (const m of spec.states[stateKey()].maps) blob(m.blob, true);
    if (spec.photo) {
      photo = new Image();
      photo.onload = start;
      photo.src = spec.photo;
    } else start();
    return { apply };
  }

  // The page's inline script draws the page's explorers; the widget's module (no
  // currentScript) draws only what it is given.
  if (document.currentScript) document.querySelectorAll(".vn-explorer").forEach((r) => setup(r));
  return { setup };
})();

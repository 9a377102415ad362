// The kernel-free explorer of ViT Notes (vit_notes.plotting.Explorer writes it into the page).
// Every state was computed in Python; this file only draws: the maps of the chosen query over
// the photo (inferno, alpha 0.7, one colour scale), the query box, and the bar charts.
// Nothing is fetched: the data sit in the <script class="vn-data"> beside this script.
(function () {
  "use strict";
  const ALPHA = 0.7; // the maps' opacity over the photo, as in plotting.overlay_map
  const CSS = `
.vn-explorer{border:1px solid #ccc;border-radius:6px;padding:.6em;margin:.5em 0;max-width:750px;
  font-size:14px;line-height:1.35}
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
.vn-map canvas{width:100%;height:auto;display:block;cursor:crosshair;touch-action:none}
.vn-map canvas:focus{outline:3px solid #1f77b4}
.vn-map figcaption{font-size:12.5px;text-align:center}
.vn-scale{display:flex;align-items:center;gap:.4em;font-size:12.5px;margin:.3em 0;flex-wrap:wrap}
.vn-scale canvas{width:180px;height:12px;image-rendering:pixelated}
.vn-bars{display:flex;flex-wrap:wrap;gap:.3em 1.5em}
.vn-chart{margin:.3em 0;flex:1 1 300px;font-size:12.5px}
.vn-chart figcaption{font-weight:600;margin-bottom:.2em}
.vn-bar-row{display:flex;align-items:center;gap:.4em;margin:2px 0}
.vn-bar-label{min-width:5.5em;text-align:right}
.vn-bar-track{flex:1;display:flex;align-items:center;gap:.3em;min-width:0}
.vn-bar{display:inline-block;height:14px;min-width:0;flex:none}
.vn-bar.vn-selected{outline:2px solid black}
.vn-bar-text{white-space:nowrap;font-variant-numeric:tabular-nums}
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

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  function fmt(v) {
    return v >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
  }

  function setup(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    const spec = JSON.parse(root.querySelector("script.vn-data").textContent);
    const id = spec.id;
    const lut = bytes(spec.cmap);
    const blobs = new Map(); // blob index -> Promise<Uint8Array>
    const state = spec.controls.map((c) => c.default);
    const query = spec.query ? spec.query.default.slice() : null;
    const grid = spec.query ? spec.query.grid : 0;
    let photo = null;
    let drawn = 0; // draws so far (the tests wait on it)

    // -- the controls: a labelled range input per control (arrow keys move it)
    const controls = el("div", { class: "vn-controls" });
    const inputs = [];
    function slider(name, label, n, value, text) {
      const input = el("input", {
        type: "range", min: 0, max: n - 1, step: 1, value: value,
        id: `${id}-${name}`, "data-control": name,
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
      const s = slider(c.name, c.label, c.values.length, c.default, (v) => c.values[v]);
      s.input.addEventListener("input", () => { state[i] = +s.input.value; update(); });
      inputs.push(s);
    });
    let qInputs = [];
    if (query) {
      qInputs = ["row", "col"].map((axis, a) => {
        const s = slider(`query-${axis}`, `query ${axis === "row" ? "row" : "column"}`, grid,
          query[a], (v) => `${v + 1} of ${grid}`);
        s.input.addEventListener("input", () => { query[a] = +s.input.value; update(); });
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
    root.append(el("div", { class: "vn-title", text: spec.title }), controls, caption, maps, scale, bars);

    function setQuery(r, c) {
      query[0] = Math.max(0, Math.min(grid - 1, r));
      query[1] = Math.max(0, Math.min(grid - 1, c));
      qInputs.forEach((s, a) => { s.input.value = query[a]; s.show(); });
      update();
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
      canvas.addEventListener("pointerdown", (ev) => { canvas.setPointerCapture(ev.pointerId); pick(canvas, ev); });
      canvas.addEventListener("pointermove", (ev) => { if (ev.buttons) pick(canvas, ev); });
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
      // the query: an outlined cyan box (1/14 of the image) and a dashed crosshair
      const side = W / 14;
      const cx = ((query[1] + 0.5) / grid) * W, cy = ((query[0] + 0.5) / grid) * H;
      const x0 = cx - side / 2, y0 = cy - side / 2;
      ctx.setLineDash([6, 6]);
      ctx.strokeStyle = "cyan";
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      ctx.moveTo(0, cy); ctx.lineTo(x0, cy); ctx.moveTo(x0 + side, cy); ctx.lineTo(W, cy);
      ctx.moveTo(cx, 0); ctx.lineTo(cx, y0); ctx.moveTo(cx, y0 + side); ctx.lineTo(cx, H);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = "black"; ctx.lineWidth = 7; ctx.strokeRect(x0, y0, side, side);
      ctx.strokeStyle = "cyan"; ctx.lineWidth = 4; ctx.strokeRect(x0, y0, side, side);
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

    function drawBars(charts) {
      bars.replaceChildren();
      for (const chart of charts) {
        const shown = chart.values.filter((v) => v > 0);
        const lo = Math.min(...shown), hi = Math.max(...shown);
        const length = (v) => {
          if (!(v > 0)) return 0;
          if (!chart.log) return (v / hi) * 60; // percent of the track; the rest for the text
          return (Math.log(v / (lo / 10)) / Math.log((hi * 300) / (lo / 10))) * 100;
        };
        const rows = chart.labels.map((label, i) => el("div", { class: "vn-bar-row" }, [
          el("span", { class: "vn-bar-label", text: label }),
          el("span", { class: "vn-bar-track" }, [
            el("span", {
              class: "vn-bar" + (i === chart.selected ? " vn-selected" : ""),
              style: `width:${length(chart.values[i]).toFixed(2)}%;background:${chart.colours[i]}`,
            }),
            el("span", { class: "vn-bar-text", text: chart.texts[i] }),
          ]),
        ]));
        bars.append(el("figure", { class: "vn-chart" }, [el("figcaption", { text: chart.title }), ...rows]));
      }
    }

    function blob(i) {
      if (!blobs.has(i)) blobs.set(i, inflate(spec.blobs[i]));
      return blobs.get(i);
    }

    let pending = 0;
    async function update() {
      const t0 = performance.now();
      const ticket = ++pending;
      const key = state.map((v, i) => spec.controls[i].values[v]).join("|");
      const s = spec.states[key];
      const levels = await Promise.all(s.maps.map((m) => blob(m.blob)));
      if (ticket !== pending) return; // a later move came in while this one decoded
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
            `${m.title}: query at row ${query[0] + 1}, column ${query[1] + 1} of ${grid}; ` +
            "click or use the arrow keys to move it");
          drawMap(fig.querySelector("canvas"), levels[i], m, q, vmax);
        });
        drawScale(vmax);
      }
      drawBars(s.bars);
      root.dataset.ms = (performance.now() - t0).toFixed(1); // what bench/explorers.py reads
      root.dataset.drawn = ++drawn;
      root.dataset.state = key;
      saveHash();
    }

    // -- the state in the URL fragment: #<id>?sr_ratio=2&size=224&query=3,5
    function saveHash() {
      const params = spec.controls.map((c, i) => `${c.name}=${encodeURIComponent(c.values[state[i]])}`);
      if (query) params.push(`query=${query[0]},${query[1]}`);
      try {
        history.replaceState(history.state, "", `#${id}?${params.join("&")}`);
      } catch (e) { /* a sandboxed frame: the state just is not kept */ }
    }
    function loadHash() {
      const hash = decodeURIComponent(location.hash.slice(1));
      if (!hash.startsWith(id + "?")) return false;
      for (const part of hash.slice(id.length + 1).split("&")) {
        const [name, value] = part.split("=");
        const i = spec.controls.findIndex((c) => c.name === name);
        if (i >= 0 && spec.controls[i].values.includes(value)) {
          state[i] = spec.controls[i].values.indexOf(value);
          inputs[i].input.value = state[i];
          inputs[i].show();
        } else if (name === "query" && query) {
          const [r, c] = value.split(",").map(Number);
          if (r >= 0 && r < grid && c >= 0 && c < grid) {
            query[0] = r; query[1] = c;
            qInputs.forEach((s, a) => { s.input.value = query[a]; s.show(); });
          }
        }
      }
      return true;
    }

    const restored = loadHash();
    const start = () => update().then(() => { if (restored) root.scrollIntoView(); });
    if (spec.photo) {
      photo = new Image();
      photo.onload = start;
      photo.src = spec.photo;
    } else start();
  }

  document.querySelectorAll(".vn-explorer").forEach(setup);
})();

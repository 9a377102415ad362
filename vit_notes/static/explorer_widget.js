// The live explorer in a kernel (vit_notes.explorer.Explorer.widget, an anywidget): the
// page's renderer (explorer.js, prepended to this module as `vnExplorer` by the package)
// draws, in the same DOM as on the page, the payload the kernel computed (the model's
// "payload"). A reader's move is written to the model's "state" (control name -> value, and
// "query": [row, col]), which the kernel reads; a state the kernel sets is drawn.
let views = 0; // views drawn by this module, for ids unique on the page

function render({ model, el }) {
  const spec = model.get("payload");
  const values = model.get("_values"); // per control, its values as the kernel gives them
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  // control name -> value (the model's) to each control's value index, and back
  const indices = (s) => spec.controls.map((c, i) => {
    const k = values[i].findIndex((v) => same(v, (s || {})[c.name]));
    return k < 0 ? c.default : k;
  });
  const toState = (idx, q) => {
    const out = {};
    spec.controls.forEach((c, i) => { out[c.name] = values[i][idx[i]]; });
    if (q) out.query = q;
    return out;
  };
  const root = document.createElement("div");
  root.className = "vn-explorer";
  root.dataset.explorer = spec.id;
  el.appendChild(root);
  const start = model.get("state") || {};
  const view = vnExplorer.setup(root, {
    spec,
    uid: `${spec.id}-live${++views}`,
    state: indices(start),
    query: start.query || null,
    changed(idx, q) {
      model.set("state", toState(idx, q));
      model.save_changes();
    },
  });
  const onChange = () => {
    const s = model.get("state") || {};
    view.apply(indices(s), s.query || null);
  };
  model.on("change:state", onChange);
  return () => model.off("change:state", onChange);
}

export default { render };

/* ViT Notes: the page as readers meet it (tests/browser/test_site.py checks each part).
   Jupyter Book loads every .js file of _static on every page. No network, no library.

   * A skip link to the page's first explorer, beside the theme's "Skip to main content":
     from the page's top, Tab, Tab, Enter puts the focus on the explorer's first control.
   * Copy buttons show when the keyboard focuses them (the theme shows them on hover only).
   * Figures open enlarged on a tap or a click (a dialog, Escape or Close to leave): on a
     phone a figure shrinks to the column, and the enlarged view shows its text at 9 px or
     more, scrolling inside the dialog, never the page.
   * A prediction's solution stays closed until the reader commits a prediction
     (book/_ext/vit_notes_site.py writes the form; without JavaScript the solution is an
     ordinary dropdown).
   * Search snippets: no Colab install cell, no explorer, and math as plain text, not LaTeX.
   * The download button saves the chapter's notebook rather than opening it. */
(() => {
  "use strict";
  document.documentElement.classList.add("vn-js");

  const ready = (f) =>
    document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", f) : f();

  const FOCUSABLE = "input, select, textarea, button, a[href], [tabindex]:not([tabindex='-1'])";

  /* --- a skip link to the first explorer ------------------------------------------- */
  function skipToExplorer() {
    const explorer = document.querySelector(".vn-explorer[id]");
    const bar = document.getElementById("pst-skip-link");
    if (!explorer || !bar || bar.querySelector(".vn-skip-explorer")) return;
    const link = document.createElement("a");
    link.className = "vn-skip-explorer";
    link.href = "#" + explorer.id;
    link.textContent = "Skip to the explorer";
    link.addEventListener("click", (event) => {
      // Focus the explorer's first control without writing its id into the address.
      event.preventDefault();
      const target = explorer.querySelector(FOCUSABLE);
      if (target) {
        target.focus({preventScroll: true});
      } else {
        explorer.setAttribute("tabindex", "-1");
        explorer.focus({preventScroll: true});
      }
      explorer.scrollIntoView({block: "start"});
    });
    bar.append(" ", link);
  }

  /* --- figures: tap or click to enlarge ---------------------------------------------- */
  let dialog = null;
  function zoomDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "vn-zoom-dialog";
    dialog.setAttribute("aria-label", "Enlarged figure");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "vn-zoom-close";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    const scroller = document.createElement("div");
    scroller.className = "vn-zoom-scroll";
    scroller.append(document.createElement("img"));
    dialog.append(close, scroller);
    // A click on the backdrop (outside the dialog's box) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      if (dialog._opener) dialog._opener.focus({preventScroll: true});
    });
    document.body.append(dialog);
    return dialog;
  }

  function enlarge(img, opener) {
    const d = zoomDialog();
    const big = d.querySelector("img");
    const natural = parseFloat(img.style.width) || img.naturalWidth / 2;
    // At least the figure's natural size (its text at 9 px or more); on a wide screen,
    // up to the stored resolution (twice the natural size) that the viewport allows.
    const width = Math.max(natural, Math.min(window.innerWidth - 48, 2 * natural));
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    big.style.width = width + "px";
    big.style.height = "auto";
    d._opener = opener;
    d.showModal();
    d.querySelector(".vn-zoom-scroll").scrollTo(0, 0);
  }

  function zoomableFigures() {
    // Sphinx links each figure to its PNG (a resized image); the link opens the dialog
    // instead, and without JavaScript it still opens the PNG itself.
    document.querySelectorAll("div.cell_output img").forEach((img) => {
      if (img.closest(".vn-explorer")) return;
      let link = img.closest("a");
      if (!link) {
        link = document.createElement("a");
        link.href = img.currentSrc || img.src;
        img.replaceWith(link);
        link.append(img);
      }
      link.classList.add("vn-zoom");
      link.setAttribute("aria-label", "Enlarge the figure: " + (img.alt || ""));
      link.setAttribute("aria-haspopup", "dialog");
      link.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey) return;  // a new tab: the PNG
        event.preventDefault();
        enlarge(img, link);
      });
    });
  }

  /* --- predictions: committed before the solution opens ---------------------------- */
  function predictions() {
    document.querySelectorAll("form.vn-commit").forEach((form) => {
      const solution = document.getElementById(form.dataset.solution);
      if (!solution) return;
      form.hidden = false;
      const status = form.querySelector(".vn-commit-status");
      const input = form.querySelector("input");
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) {
          status.textContent = "Write a prediction first: the solution opens after it.";
          input.focus();
          return;
        }
        solution.classList.remove("vn-locked");
        status.textContent = `Your prediction: ${value}. The solution is open below.`;
        // sphinx-togglebutton folds the admonition itself (class toggle-hidden).
        const toggle = solution.querySelector(".toggle-button");
        if (toggle && solution.classList.contains("toggle-hidden")) toggle.click();
        input.readOnly = true;
        form.querySelector("button").disabled = true;
      });
    });
  }

  /* --- search snippets: page text without plumbing or LaTeX ------------------------- */
  const TEX_SYMBOLS = {
    "\\times": "×", "\\cdot": "·", "\\le": "≤", "\\leq": "≤", "\\ge": "≥", "\\geq": "≥",
    "\\approx": "≈", "\\neq": "≠", "\\sqrt": "√", "\\top": "ᵀ", "\\to": "→",
    "\\rightarrow": "→", "\\infty": "∞", "\\sum": "Σ", "\\ldots": "…", "\\dots": "…",
    "\\alpha": "α", "\\beta": "β", "\\gamma": "γ", "\\lambda": "λ", "\\sigma": "σ",
    "\\softmax": "softmax", "\\in": "∈", "\\mid": "|", "\\quad": " ", "\\qquad": " ",
    "\\,": " ", "\\;": " ", "\\:": " ", "\\ ": " ", "\\{": "{", "\\}": "}", "\\%": "%",
  };
  const SUPERSCRIPTS = {"2": "²", "3": "³", "4": "⁴", "T": "ᵀ", "-1": "⁻¹"};

  function texToText(tex) {
    let t = tex.trim().replace(/^\\[([]|\\[)\]]$/g, "");
    for (let i = 0; i < 3; i++) {  // nested groups, from the inside out
      t = t.replace(/\\(?:mathrm|text|textrm|mathbf|mathit|operatorname|mathcal|boldsymbol)\s*\{([^{}]*)\}/g, "$1");
      t = t.replace(/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)");
    }
    t = t.replace(/\\[dt]?frac\s*(\w)\s*(\w)/g, "$1/$2");
    t = t.replace(/\^\s*\{?\\top\}?/g, "ᵀ");
    t = t.replace(/\^\{?(2|3|4|T|-1)\}?/g, (_, s) => SUPERSCRIPTS[s]);
    t = t.replace(/\\[A-Za-z]+|\\[^A-Za-z]/g, (m) => TEX_SYMBOLS[m] ?? "");
    t = t.replace(/\\left|\\right/g, "").replace(/[{}]/g, "").replace(/&/g, " ");
    return t.replace(/\s+/g, " ").trim();
  }
  window.vnTexToText = texToText;  // for tests/browser

  function searchSnippets() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search._vnPatched) return;
    const original = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(
        ".tag_colab-install, .vn-explorer, .vn-commit, .vn-attempt-note, " +
        "#pst-skip-link, .toggle-button, summary"
      ).forEach((e) => e.remove());
      doc.querySelectorAll("span.math, div.math").forEach((e) => {
        e.textContent = " " + texToText(e.textContent) + " ";
      });
      return original(doc.documentElement.outerHTML, anchor);
    };
    Search._vnPatched = true;
  }

  /* --- the download button saves the notebook ------------------------------------ */
  function downloadNotebook() {
    document.querySelectorAll("a.btn-download-source-button[href$='.ipynb']").forEach((a) => {
      a.setAttribute("download", a.getAttribute("href").split("/").pop());
      a.removeAttribute("target");
    });
  }

  ready(() => {
    skipToExplorer();
    zoomableFigures();
    predictions();
    searchSnippets();
    downloadNotebook();
  });
})();

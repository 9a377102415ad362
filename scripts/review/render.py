"""Render one chapter as plain text for a reviewer who has no kernel and no browser.

    python scripts/review/render.py notebooks/pvt.ipynb /tmp/review/pvt

writes ``pvt.txt`` (every cell in order, numbered as in the notebook: Markdown with its glued
numbers, citations and exercise numbers substituted as the live copies show them, code with
its tags, and each stored output) and one PNG per figure beside it. ``scripts/review/brief.md``
is the brief the reviewer gets with it.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import live_copies  # noqa: E402


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def render(source: Path, outdir: Path) -> Path:
    nb = json.loads(source.read_text(encoding="utf-8"))
    conv = live_copies.Converter(
        ROOT,
        source.resolve(),
        live_copies.bibliography(ROOT),
        live_copies.exercise_numbers(ROOT),
        live_copies._repo_url(ROOT)[0],  # the address the live copies link, from _config.yml
    )
    conv.glued = live_copies.glued_values(nb)
    outdir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for i, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        head = f"===== cell {i} ({cell['cell_type']}{', tags: ' + ', '.join(tags) if tags else ''})"
        lines.append(head)
        if cell["cell_type"] == "markdown":
            for piece in conv.markdown(_text(cell["source"])):
                if piece[0] == "md":
                    lines.append(piece[1])
                elif piece[0] == "start":
                    lines.append(f"--- solution {piece[1]} (closed on the page) ---")
                else:
                    lines.append("--- end of solution ---")
            continue
        lines.append(_text(cell["source"]))
        for k, out in enumerate(cell.get("outputs", [])):
            if out.get("metadata", {}).get("scrapbook"):
                continue  # a glued value: it appears in the prose
            if out["output_type"] == "stream":
                lines.append(f"--- output ({out['name']}) ---\n{_text(out['text'])}")
                continue
            data = out.get("data", {})
            if "image/png" in data:
                png = outdir / f"cell{i}-{k}.png"
                png.write_bytes(base64.b64decode(_text(data["image/png"])))
                lines.append(f"--- figure: {png.name} ---")
                if "text/plain" in data:
                    lines.append(_text(data["text/plain"])[:2000])
            elif "text/plain" in data:
                lines.append(f"--- output ---\n{_text(data['text/plain'])}")
            elif "text/markdown" in data:
                lines.append(f"--- output (markdown) ---\n{_text(data['text/markdown'])}")
            elif out["output_type"] == "error":
                lines.append(f"--- error ---\n{out.get('ename')}: {out.get('evalue')}")
    if conv.cited:  # the reference list the site and the live copies add at the end
        lines.append("===== References (added by the book, as on the page)")
        for k in conv.cited:
            entry = conv.bib[k]
            lines.append(f"* {entry['full']}" + (f" <{entry['url']}>" if entry["url"] else ""))
    path = outdir / f"{source.stem}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/review/render.py notebooks/<chapter>.ipynb <outdir>")
    print(render(Path(sys.argv[1]), Path(sys.argv[2])))

"""**Pairs**, the study's task that needs selection (issue 23): small marks on a grid of cells,
labelled 1 when some row holds two marks of the same kind (colour, or shape).

The image is a ``grid x grid`` array of square cells of ``cell`` px (``size = grid * cell``);
the study's backbone cuts it into patches of one cell, so every cell is one token. At the
defaults (16 x 16 cells of 3 px, a 48-px image) SRA with R = 2, 4, 8 leaves 8 x 8, 4 x 4 and
2 x 2 key grids, and no reduction conv covers the whole grid. Each mark is one of
:data:`SHAPES` (3×3 templates, 5 of 9 cells set) drawn at ``detail`` px inside one cell, in one
of :data:`~.data.COLOURS`. An image has ``marks = 3 + distractors`` marks, drawn in two steps.

1. **Where** (blind to the label): ``marks`` distinct cells, uniformly, redrawn until some row
   holds two of them and the kinds can be given out (step 2). Then the **core**: a pair A, B
   drawn uniformly from the marks that share a row ``r``, and a mark C drawn uniformly from the
   marks in other rows (its row ``r'``).
2. **What**: two kinds ``s != t``. Label 1: A and B get ``s``, C gets ``t``. Label 0: A gets
   ``s``, B gets ``t``, C gets ``s``: the label-1 core with the kinds of B and C swapped. Every
   other mark (a distractor) gets a kind drawn uniformly from those that leave its (kind, row)
   bin unused; the bins ``{s, t} x {r, r'}`` count as used in both classes.

Both steps draw the same random numbers whatever the label (``_place`` never reads the label
before its last line), so an image of label 0 and one of label 1 drawn from one generator state
have the same cells, the same distractors and the same kinds up to the swap. Hence:

* **Position carries no label information**: the cells are drawn before the label is used
  (tests/test_study_pairs.py checks it both ways: the same cells for both labels, and a
  classifier of the occupancy map trained on thousands of images at chance).
* **The kinds alone carry none**: the multiset of kinds is the same for both labels.
* **A single mark carries none**: each mark's (kind, cell) has one distribution in both classes.

The label is :func:`has_pair` of the marks: 1 when two marks share kind and row, that is when
the marks fill ``marks - 1`` of the ``kinds x grid`` (kind, row) bins instead of ``marks``.
Labels are balanced: ``make_pairs`` gives exactly ``n // 2`` images of label 1.

**Why a pooled summary cannot solve it** (a proof for one model class, our reading beyond it).
Write ``h`` for the image's histogram of (kind, row) bins, ``B = kinds * grid`` entries (96 at
the defaults). The label is ``[number of filled bins < marks]``. A model that relates tokens only
through a pooled summary ``m = sum_i phi(token_i)`` of width ``d`` and reads it out bilinearly,
``sum_i a(token_i) . m`` (one round of Deep Sets with a bilinear readout), computes the quadratic
form ``sum_ij a(token_i) . phi(token_j)`` of rank at most ``d`` in the bins. Whether two marks
share a bin is ``sum_b h_b (h_b - 1) / 2``, a quadratic form of rank ``B`` (the identity on the
bins), so for ``B > d`` no such model computes it: some pair of images of different labels gets
the same output. The study's pooling baseline (``pool`` in :mod:`.backbone`: every block adds
one broadcast vector, a function of the mean of the tokens) has nonlinear readouts, so the
rank argument does not bind it exactly. Our reading: it must tell from ``depth``
summaries of ``d`` numbers, each a fixed per-token map summed over the tokens, whether any of
``B`` bins holds two of the ``marks`` marks. Real-valued summaries could encode the whole
histogram in principle, so what stops it is width, precision and training, and no argument
here settles how far. That is why the claim is tested, not assumed: the pooling baseline is
trained as the others are (``python -m vit_notes.learned.study``), and a linear classifier of
pooled per-token features (tests/test_study_pairs.py) stays at chance.

**Why attention can**: a query of kind ``s`` in row ``r`` scores the keys that match both (a
bilinear form in two patch embeddings compares colours, one in two position embeddings compares
rows), and the query's output says whether one matched. A key grid reduced by ``R`` mixes
``R x R`` cells into one key, which must then keep which kind sits in which of its ``R`` rows:
this is where SRA should lose as ``R`` grows (the study's question).

``match="colour"`` (the default) makes the colour what two marks share (``kinds`` of
:data:`~.data.COLOURS`) and draws shapes freely: a patch embedding reads a colour linearly.
``match="shape"`` makes it the 3×3 shape and draws colours freely (harder to learn).

Knobs: ``detail`` (side of a mark in px, an int or a range ``(lo, hi)`` drawn per image, 3 to
``cell``), ``distractors`` (marks besides the core), ``kinds`` (how many colours or shapes are
used), ``match``, ``grid`` and ``cell`` (the image size is their product), and ``noise``.
Everything is drawn from ``seed`` with NumPy's PCG64: the same settings and seed give the same
images, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import validate
from .data import COLOURS, MAX_IMAGES

#: The marks' shapes: 3×3 templates with 5 of 9 cells set each (no two alike, rotations differ).
SHAPES: dict[str, tuple[str, str, str]] = {
    "plus": (".#.", "###", ".#."),
    "cross": ("#.#", ".#.", "#.#"),
    "tee": ("###", ".#.", ".#."),
    "ell": ("#..", "#..", "###"),
    "up": (".#.", ".#.", "###"),
    "jay": ("..#", "..#", "###"),
    "zed": ("##.", ".#.", ".##"),
    "ess": (".##", ".#.", "##."),
}
#: What makes two marks alike (the ``match`` knob), and how many kinds each allows: the shape
#: (a 3×3 pattern; colours are then drawn freely) or the colour (shapes are then drawn freely).
MATCH = {"shape": len(SHAPES), "colour": len(COLOURS)}
#: Marks that decide the label (marks 0, 1, 2 of every image); the rest are distractors.
CORE = 3
#: The defaults: a 16 × 16 grid of 3-px cells (a 48-px image), marks matched by colour.
GRID, CELL, DETAIL, DISTRACTORS, KINDS, MATCH_BY = 16, 3, 3, 5, 6, "colour"
#: The smallest mark: one pixel per template cell.
MIN_DETAIL = 3
#: Training images come from seeds at or above this one; test sets use small seeds.
TRAIN_SEEDS = 1_000_000
#: Redraws of one image's cells before giving up (each is rare at sensible settings).
TRIES = 1000
#: The most cells a side of the grid may have, and the largest image side (px) drawn.
MAX_GRID = 256
MAX_SIDE = 1024
#: The most pixels one call draws, summed over its images (each pixel is 3 float32s: 2**27 of
#: them are 1.5 GiB). The study's largest set, 6,000 images of 48 px, is 13.8 million.
MAX_PIXELS = 2**27


def render_shape(shape: int, side: int) -> np.ndarray:
    """Shape number ``shape`` (index into :data:`SHAPES`) as a ``side x side`` mask of 0 and 1:
    its 3×3 template with each template cell about ``side/3`` pixels (nearest neighbour)."""
    validate.one_of("shape", shape, set(range(len(SHAPES))))
    side = validate.positive_int("side", side, minimum=MIN_DETAIL, maximum=MAX_SIDE)
    cells = np.arange(side) * 3 // side
    t = np.array([[c == "#" for c in row] for row in list(SHAPES.values())[shape]])
    return t[np.ix_(cells, cells)].astype(np.float32)


def has_pair(shapes, rows) -> int:
    """The label: 1 when two marks have the same shape and the same row, else 0.

    ``shapes`` and ``rows``: one entry per mark (sequences of ints of one length)."""
    shapes, rows = np.asarray(shapes), np.asarray(rows)
    if shapes.shape != rows.shape or shapes.ndim != 1:
        raise ValueError(
            f"shapes and rows must be 1-D and of one length, got shapes of shape {shapes.shape} "
            f"and rows of shape {rows.shape}"
        )
    bins = set(zip(shapes.tolist(), rows.tolist(), strict=True))
    return int(len(bins) < len(shapes))


def _detail_range(detail, cell: int) -> tuple[int, int]:
    if isinstance(detail, (tuple, list)):
        if len(detail) != 2:
            raise ValueError(f"detail={detail!r}: give one side in pixels or a range (lo, hi)")
        lo, hi = detail
    else:
        lo = hi = detail
    for v in (lo, hi):
        validate.positive_int("detail", v, minimum=MIN_DETAIL)
        if v > cell:
            raise ValueError(
                f"detail={detail!r}: a mark lies inside one cell of cell={cell} px, so detail "
                f"must be between {MIN_DETAIL} and {cell}"
            )
    if lo > hi:
        raise ValueError(f"detail={detail!r}: the range (lo, hi) needs lo <= hi")
    return int(lo), int(hi)


@dataclass
class Pairs(torch.utils.data.Dataset):
    """``n`` images of the Pairs task with their labels and how they were drawn.

    ``images`` ``(n, 3, size, size)`` float32 in [0, 1]; ``labels`` ``(n,)``; per mark
    ``(n, marks)``: ``shapes`` (:data:`SHAPES` numbers), ``rows``, ``cols`` (cell coordinates),
    ``colours`` (:data:`~.data.COLOURS` numbers), ``kinds`` (what the marks match by: the
    shapes or the colours, as ``settings["match"]`` says); ``detail`` ``(n,)`` each image's
    mark side in px. Marks 0, 1, 2 are the core (module docstring). ``settings``: the knobs
    it was drawn with. Indexing gives ``(image, label)``, as a ``DataLoader`` expects.
    """

    images: torch.Tensor
    labels: torch.Tensor
    shapes: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    colours: torch.Tensor
    kinds: torch.Tensor
    detail: torch.Tensor
    seed: int
    settings: dict

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def check_settings(
    grid: int = GRID,
    cell: int = CELL,
    detail=DETAIL,
    distractors: int = DISTRACTORS,
    kinds: int = KINDS,
    noise: float = 0.05,
    match: str = MATCH_BY,
) -> dict:
    """The knobs, checked, as a dict (``detail`` as ``(lo, hi)``).

    Refuses, with a ValueError naming the knob: a grid under 2 cells, fewer than 2 kinds or more
    than ``match`` allows, and more marks than the grid's rows can hold with one mark per
    (kind, row) bin (the core's two rows hold at most ``kinds - 1`` marks each)."""
    grid = validate.positive_int("grid", grid, minimum=2, maximum=MAX_GRID)
    cell = validate.positive_int("cell", cell, minimum=MIN_DETAIL, maximum=validate.MAX_KERNEL)
    if grid * cell > MAX_SIDE:
        raise ValueError(
            f"grid={grid} cells of cell={cell} px make a {grid * cell}-px image, larger than "
            f"the {MAX_SIDE:,} px allowed: use fewer or smaller cells"
        )
    lo, hi = _detail_range(detail, cell)
    distractors = validate.positive_int("distractors", distractors, minimum=0)
    validate.one_of("match", match, MATCH)
    kinds = validate.positive_int("kinds", kinds, minimum=2, maximum=MATCH[match])
    noise = validate.number("noise", noise, low=0.0, high=1.0)
    room = 2 * (min(kinds, grid) - 1) + (grid - 2) * min(kinds, grid)
    if CORE + distractors > min(room, grid * grid) // 2:
        raise ValueError(
            f"distractors={distractors}: with kinds={kinds} and grid={grid} at most "
            f"{min(room, grid * grid) // 2 - CORE} distractors fit (half of the marks the rows "
            "can hold, one per (kind, row) bin, so that a draw succeeds quickly)"
        )
    return dict(
        grid=grid, cell=cell, detail=(lo, hi), distractors=distractors, kinds=kinds,
        noise=noise, match=match,
    )  # fmt: skip


def _place(rng, label: int, s: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's marks: kinds, rows, cols (core A, B, C first, then the distractors).

    Every random number is drawn before ``label`` is read (module docstring): the same
    generator state gives the same cells and distractors for both labels."""
    grid, kinds, marks = s["grid"], s["kinds"], CORE + s["distractors"]
    for _ in range(TRIES):
        cells = rng.choice(grid * grid, marks, replace=False)
        rows, cols = cells // grid, cells % grid
        same = [(i, j) for i in range(marks) for j in range(i + 1, marks) if rows[i] == rows[j]]
        if not same:
            continue
        a, b = same[rng.integers(len(same))]
        if rng.random() < 0.5:
            a, b = b, a
        others = [k for k in range(marks) if rows[k] != rows[a]]
        if not others:
            continue
        c = others[rng.integers(len(others))]
        sh, tt = (int(k) for k in rng.choice(kinds, 2, replace=False))
        used = {(k, int(rows[x])) for k in (sh, tt) for x in (a, c)}
        rest = [k for k in range(marks) if k not in (a, b, c)]
        extra, ok = [], True
        for k in rest:
            free = [q for q in range(kinds) if (q, int(rows[k])) not in used]
            if not free:
                ok = False
                break
            q = free[rng.integers(len(free))]
            used.add((q, int(rows[k])))
            extra.append(q)
        if not ok:
            continue
        order = [a, b, c, *rest]
        core = [sh, sh, tt] if label else [sh, tt, sh]  # the label is read here, last
        return np.array(core + extra), rows[order], cols[order]
    raise ValueError(
        f"distractors={s['distractors']}: no image found in {TRIES} draws on grid={grid} with "
        f"kinds={kinds}; use fewer distractors or more kinds"
    )


def make_pairs(
    n: int,
    seed: int,
    grid: int = GRID,
    cell: int = CELL,
    detail=DETAIL,
    distractors: int = DISTRACTORS,
    kinds: int = KINDS,
    noise: float = 0.05,
    match: str = MATCH_BY,
) -> Pairs:
    """``n`` images of the Pairs task (module docstring), drawn from ``seed``: exactly
    ``n // 2`` of label 1, in a random order. Same settings and seed, same images."""
    n = validate.positive_int("n", n, maximum=MAX_IMAGES, why="each image is held in memory")
    seed = validate.positive_int("seed", seed, minimum=0)
    s = check_settings(grid, cell, detail, distractors, kinds, noise, match)
    grid, cell, (lo, hi) = s["grid"], s["cell"], s["detail"]
    size, marks = grid * cell, CORE + s["distractors"]
    if n * size * size > MAX_PIXELS:
        raise ValueError(
            f"n={n} images of {size}x{size} px (grid={grid} x cell={cell}) are "
            f"{n * size * size:,} pixels, more than the {MAX_PIXELS:,} held at once: draw "
            f"at most {max(1, MAX_PIXELS // (size * size)):,} images, or smaller ones"
        )
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) < n // 2).astype(np.int64)
    sides = rng.integers(lo, hi + 1, n)
    # The free attribute: colours when marks match by shape, shapes when they match by colour.
    free = rng.integers(0, len(COLOURS) if match == "shape" else len(SHAPES), (n, marks))
    images = s["noise"] * rng.standard_normal((n, size, size, 3), dtype=np.float32)
    shapes = np.zeros((n, marks), dtype=np.int64)
    rows, cols = np.zeros_like(shapes), np.zeros_like(shapes)
    masks = {
        (k, d): render_shape(k, d)[..., None] for k in range(len(SHAPES)) for d in range(lo, hi + 1)
    }
    kinds_ = np.zeros((n, marks), dtype=np.int64)
    for i in range(n):
        kinds_[i], rows[i], cols[i] = _place(rng, int(labels[i]), s)
    shapes, colours = (kinds_, free) if match == "shape" else (free, kinds_)
    for i in range(n):
        d = int(sides[i])
        offsets = rng.integers(0, cell - d + 1, (marks, 2))  # where in its cell the mark sits
        for j in range(marks):
            y = rows[i, j] * cell + offsets[j, 0]
            x = cols[i, j] * cell + offsets[j, 1]
            m = masks[(int(shapes[i, j]), d)]
            patch = images[i, y : y + d, x : x + d]
            patch[:] = patch * (1 - m) + m * COLOURS[colours[i, j]]
    return Pairs(
        images=torch.from_numpy(images.clip(0, 1)).permute(0, 3, 1, 2).contiguous(),
        labels=torch.from_numpy(labels.astype(np.int64)),
        shapes=torch.from_numpy(shapes),
        rows=torch.from_numpy(rows),
        cols=torch.from_numpy(cols),
        colours=torch.from_numpy(colours.astype(np.int64)),
        kinds=torch.from_numpy(kinds_),
        detail=torch.from_numpy(sides.astype(np.int64)),
        seed=seed,
        settings=dict(s, detail=[lo, hi], size=size),
    )

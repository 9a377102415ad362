"""**Pairs**, the study's task that needs selection (issue 23): small shapes on a grid of cells,
labelled 1 when some row holds two marks of the same shape.

The image is a ``grid x grid`` array of square cells of ``cell`` px (``size = grid * cell``).
Each mark is one of :data:`SHAPES` (3×3 templates, 5 of 9 cells set each, so every shape covers
the same area at the sides 3, 6, 9), drawn at ``detail`` px inside one cell, in a colour drawn
independently of its shape. Every image has ``3 + distractors`` marks in distinct cells:

* a **core** of three marks: marks 0 and 1 lie in one row ``r``, at least ``gap`` columns apart
  (``grid // 2`` by default), mark 2 lies in another row ``r'``. For label 1 marks 0 and 1 have
  one shape ``s`` and mark 2 another, ``t``. For label 0 marks 0 and 2 have shape ``s`` and
  mark 1 has ``t``. The label-0 core is the label-1 core with the shapes of marks 1 and 2
  swapped.
* ``distractors`` further marks, each in a (shape, row) pair that no other mark of the image
  has, and never of shape ``s`` or ``t`` in row ``r`` or ``r'``. So they never make a second
  pair, and their distribution does not depend on the label.

The label is :func:`has_pair` of the marks: 1 when two marks share shape and row.

Why a pooled summary should fail here (our reading, until the pilot in
``bench/study_pilot.py`` shows it):

1. The shapes alone have the same distribution in both classes (``{s, s, t}`` plus the same
   distractors), and so do the positions alone (two marks far apart in one row, one in another,
   plus the same distractors). Any statistic of the shapes without their rows, or of the rows
   without their shapes, is useless: a count of each shape over the image (what solves the Marks
   task) scores at chance by construction.
2. What decides the label is the joint histogram of (shape, row) pairs: ``kinds x grid`` bins
   (8 x 8 = 64 at the defaults), of which ``3 + distractors`` are filled, one twice when the
   label is 1. The Deep Sets argument says that a sum of per-token features followed by an MLP
   can represent any function of the set of tokens, this one too: give each bin its own channel,
   sum, and ask whether any channel reads 2. That needs one channel per bin. A model whose only
   route between tokens is one pooled vector of width ``dim`` must squeeze 64 bins into ``dim``
   channels (32 or 64 in the pilot). Squeezed codes of the bins overlap, and the overlaps of
   every pair of marks add up, so a collision is read through a noise that grows with the number
   of marks: ``distractors`` is the knob that drowns it. Two layers of pooling do not help much:
   the second can let each mark read the pooled summary and check its own bin, but it reads it
   through the same overlapping codes.
3. Attention does it with one head: a query of shape ``s`` in row ``r`` scores the keys that
   match both (a bilinear form in two patch embeddings can compare pixel patterns, and one in
   two position embeddings can compare rows), and the mark's output says whether one matched.
   The mean over tokens then says whether any mark found its partner.
4. The partner is a small detail far away: the mark is ``detail`` px (3 px: one pixel per
   template cell), and it lies at least ``gap`` cells from its partner. A key grid reduced by
   R mixes R×R cells into one key, so the key must keep which shape sits in which of its R
   rows. This is where SRA should lose as ``detail`` shrinks or R grows (the issue's question).

What the pilot has shown so far (bench/study_pilot.py, one CPU thread, seed 0 unless said):
at the defaults below (8×8 grid, shapes, 4 distractors) and on 8×8 grids matched by colour,
full attention stayed at chance (loss 0.693 throughout 2,000 steps, dim 32). On a 4×4 grid of
3-px cells, matched by colour, with no distractors, full attention left chance: 0.82 after
6,000 steps at dim 32, 0.92 after 3,000 steps at dim 64 with 4 heads. Seeds 1 and 2 of that
last setting stayed at chance (0.498, 0.507), as did the pooling baseline (0.493, 0.504 at
seeds 0 and 1): leaving chance is a matter of the seed at this budget. At 6,000 steps (24
epochs) seeds 1 and 2 scored 0.994 and 0.998, the pooling baseline 0.521 (seed 0, chance
0.521): in this toy, attention learned it and pooling did not, and full attention sits at the
ceiling. That grid has only 4 × 4 = 16 (colour, row) bins, fewer than the width, so points 1-2
above do not rule pooling out there: pooling at chance on it is a fact of training at this
budget, not of capacity. With 3 distractors (seed 1, 24 epochs) full attention scored 0.584
and pooling 0.479. Single seeds: no interval yet.

``match="colour"`` makes the colour what two marks share (``kinds`` colours of
:data:`~.data.COLOURS`) and draws the shapes freely: the same task with a detail that a patch
embedding reads off linearly, the easier setting to learn.

Knobs: ``detail`` (side of a mark in px, an int or a range ``(lo, hi)`` drawn per image, 3 to
``cell``), ``distractors`` (marks besides the core), ``kinds`` (how many of :data:`SHAPES` are
used), ``match``, ``grid`` and ``cell`` (the image size is their product), ``gap`` and ``noise``.
Everything is drawn from ``seed`` with NumPy's PCG64: the same settings and seed give the same
images, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import validate
from .data import COLOURS

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
#: The defaults (the pilot's setting; see bench/study_pilot.py).
GRID, CELL, DETAIL, DISTRACTORS, KINDS = 8, 4, 3, 4, 8
#: The smallest mark: one pixel per template cell.
MIN_DETAIL = 3
#: Training images come from seeds at or above this one; test sets use small seeds.
TRAIN_SEEDS = 1_000_000


def render_shape(shape: int, side: int) -> np.ndarray:
    """Shape number ``shape`` (index into :data:`SHAPES`) as a ``side x side`` mask of 0 and 1:
    its 3×3 template with each template cell about ``side/3`` pixels (nearest neighbour)."""
    validate.one_of("shape", shape, set(range(len(SHAPES))))
    side = validate.positive_int("side", side, minimum=MIN_DETAIL)
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
    gap: int | None = None,
    noise: float = 0.05,
    match: str = "shape",
) -> dict:
    """The knobs, checked, as a dict (``detail`` as ``(lo, hi)``, ``gap`` filled in).

    Refuses, with a ValueError naming the knob: a grid under 2 cells, fewer than 2 kinds or more
    than :data:`SHAPES` has, a ``gap`` the grid cannot give, and more distractors than the
    (shape, row) pairs and cells left free can hold."""
    grid = validate.positive_int("grid", grid, minimum=2)
    cell = validate.positive_int("cell", cell, minimum=MIN_DETAIL)
    lo, hi = _detail_range(detail, cell)
    distractors = validate.positive_int("distractors", distractors, minimum=0)
    validate.one_of("match", match, MATCH)
    kinds = validate.positive_int("kinds", kinds, minimum=2, maximum=MATCH[match])
    gap = grid // 2 if gap is None else validate.positive_int("gap", gap)
    if gap > grid - 1:
        raise ValueError(
            f"gap={gap}: two marks of one row are at most grid - 1 = {grid - 1} columns apart"
        )
    noise = validate.number("noise", noise, low=0.0, high=1.0)
    # Distractors avoid 4 (shape, row) pairs and use one pair each; they also need free cells.
    bins = kinds * grid - 4
    cells = grid * grid - CORE
    if distractors > min(bins, cells):
        raise ValueError(
            f"distractors={distractors}: with kinds={kinds} and grid={grid} at most "
            f"{min(bins, cells)} distractors fit (each needs its own (shape, row) pair and cell)"
        )
    return dict(
        grid=grid, cell=cell, detail=(lo, hi), distractors=distractors, kinds=kinds, gap=gap,
        noise=noise,
    )  # fmt: skip


def _place(rng, label: int, s: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's marks: shapes, rows, cols (core first, then distractors)."""
    grid, kinds = s["grid"], s["kinds"]
    sh, tt = rng.choice(kinds, 2, replace=False)
    r, r2 = rng.choice(grid, 2, replace=False)
    while True:  # two columns at least gap apart (grid >= gap + 1, so this ends quickly)
        c0, c1 = rng.integers(0, grid, 2)
        if abs(int(c0) - int(c1)) >= s["gap"]:
            break
    c2 = rng.integers(0, grid)
    shapes = [sh, sh, tt] if label else [sh, tt, sh]
    rows, cols = [r, r, r2], [c0, c1, c2]
    used_cells = {(r, c0), (r, c1), (r2, c2)}
    used_bins = {(sh, r), (sh, r2), (tt, r), (tt, r2)}  # the same four for either label
    full_rows = set()
    added, tries = 0, 0
    while added < s["distractors"] and tries < 100 * (s["distractors"] + 1):
        tries += 1  # uniform over the (shape, row) pairs still free, by rejection
        k, y = int(rng.integers(0, kinds)), int(rng.integers(0, grid))
        if (k, y) in used_bins or y in full_rows:
            continue
        open_cols = [x for x in range(grid) if (y, x) not in used_cells]
        if not open_cols:
            full_rows.add(y)
            continue
        x = open_cols[rng.integers(0, len(open_cols))]
        shapes.append(k)
        rows.append(y)
        cols.append(x)
        used_cells.add((y, x))
        used_bins.add((k, y))
        added += 1
    if added < s["distractors"]:
        raise ValueError(
            f"distractors={s['distractors']}: only {added} fit on this image "
            f"(grid={grid}, kinds={kinds}); use fewer distractors or a larger grid"
        )
    return np.array(shapes), np.array(rows), np.array(cols)


def make_pairs(
    n: int,
    seed: int,
    grid: int = GRID,
    cell: int = CELL,
    detail=DETAIL,
    distractors: int = DISTRACTORS,
    kinds: int = KINDS,
    gap: int | None = None,
    noise: float = 0.05,
    match: str = "shape",
) -> Pairs:
    """``n`` images of the Pairs task (module docstring), drawn from ``seed``; label 1 for half
    of them on average, drawn per image. Same settings and seed, same images."""
    n = validate.positive_int("n", n)
    seed = validate.positive_int("seed", seed, minimum=0)
    s = check_settings(grid, cell, detail, distractors, kinds, gap, noise, match)
    grid, cell, (lo, hi) = s["grid"], s["cell"], s["detail"]
    size, marks = grid * cell, CORE + s["distractors"]
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
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

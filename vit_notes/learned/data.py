"""The study's dataset, generated on the spot: **Marks**, small shapes scattered on a dark, noisy
image, labelled by how their shapes relate across the image.

Nothing is downloaded: :func:`make_dataset` draws ``n`` images from a seed, at any size. The
same ``n`` and seed give the same images, bit for bit. Image ``i`` depends on ``n`` as well
(each draw is a length-``n`` vector from one generator), so ``make_dataset(6, s)`` is not the
first six images of ``make_dataset(12, s)``. Every shape covers 5 of the 9 cells of its 3×3
template, and each mark's colour is drawn independently of its shape. Scaled by nearest
neighbour, the shapes cover the same number of pixels at sides 3, 6 and 9, so there a mark's
total area, and its mean colour over its whole box, say nothing about its shape. At sides 4, 5,
7 and 8 the areas differ, a cue to the shape. At every side, how a mark's pixels split across
the 4-px tokens depends on its shape and its offset.

Two questions (``task``):

* ``"majority"`` (the study's): three marks, two of them share a shape, the third has another;
  the label is the shared shape (4 classes, each drawn with probability 1/4). Counting each
  shape over the image would give the label, so by our reading the task needs no selection
  (untested: no model without mixing across tokens was trained on it). From the marks' areas
  alone, without their layout, a classifier reaches :func:`area_floor`.
* ``"same"``: two marks at least half the image apart; the label is 1 when they have the same
  shape, else 0 (chance 50%). The pairwise question, kept because the chapter reports that the
  two models trained on it answer "same" to every test image.

One knob: ``detail``, the side of a mark in pixels (an int, or a range ``(lo, hi)`` that draws
a side per image). At 3 px each template cell is one pixel, and the mark is smaller than one
token of every model's first attention layer: PVT's stride-4 convolution makes 4-px tokens,
Shunted's stem starts with a stride-2 convolution and reaches 4-px tokens, and CoAtNet's stem
(stride 2) and MBConv stage lead to 8-px tokens.

Seeds: the training function draws its images from seeds at or above :data:`TRAIN_SEEDS`, the
test sets from small seeds (0, 1, 2, ...), so a test image is never a training image.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from .. import validate

#: The shapes, as 3×3 templates with 5 of 9 cells set each. Scaled by nearest neighbour, the
#: shapes cover equal areas only at sides 3, 6 and 9 (see test_every_shape_covers_the_same_area).
SHAPES: dict[str, tuple[str, str, str]] = {
    "plus": (".#.", "###", ".#."),
    "cross": ("#.#", ".#.", "#.#"),
    "tee": ("###", ".#.", ".#."),
    "ell": ("#..", "#..", "###"),
}
#: Mark colours: bright and saturated, drawn independently of the shape.
COLOURS = np.array(
    [
        [1.00, 0.25, 0.20],
        [0.20, 0.85, 0.25],
        [0.25, 0.45, 1.00],
        [1.00, 0.85, 0.15],
        [0.95, 0.30, 0.95],
        [0.20, 0.90, 0.95],
    ],
    dtype=np.float32,
)
TASKS = {"majority": 3, "same": 2}  # task -> marks per image
#: Training images come from seeds at or above this one; test sets use small seeds.
TRAIN_SEEDS = 1_000_000
#: The image side the study uses (pixels).
IMG_SIZE = 32
#: The detail knob's range (side of a mark in pixels) for images of :data:`IMG_SIZE`.
MIN_DETAIL, MAX_DETAIL = 3, 9
#: The study's training range of the knob.
DETAIL = (MIN_DETAIL, MAX_DETAIL)


def num_classes(task: str = "majority") -> int:
    validate.one_of("task", task, TASKS)
    return len(SHAPES) if task == "majority" else 2


def render_shape(shape: int, side: int) -> np.ndarray:
    """Shape number ``shape`` (index into :data:`SHAPES`) as a ``side x side`` mask of 0 and 1:
    its 3×3 template with each cell about ``side/3`` pixels (nearest neighbour)."""
    validate.one_of("shape", shape, set(range(len(SHAPES))))
    side = validate.positive_int("side", side, minimum=MIN_DETAIL, maximum=MAX_SIZE)
    cells = np.arange(side) * 3 // side
    t = np.array([[c == "#" for c in row] for row in list(SHAPES.values())[shape]])
    return t[np.ix_(cells, cells)].astype(np.float32)


def area_floor(detail: int) -> float:
    """The best accuracy a classifier reaches on the ``"majority"`` task from the marks' pixel
    areas alone, at mark side ``detail``: it sees the three areas, in any order, and nothing of
    the shapes' layout, the colours or the places. Exact, from the task's draw (the label
    uniform over the shapes, the odd shape uniform over the others) and :func:`render_shape`:
    for each set of three areas, the most likely label given it. Where every shape covers the
    same area (sides 3, 6 and 9) it is chance, ``1 / len(SHAPES)``."""
    side = validate.positive_int("detail", detail, minimum=MIN_DETAIL)
    k = len(SHAPES)
    area = [int(render_shape(s, side).sum()) for s in range(k)]
    joint: dict[tuple, Fraction] = {}  # (the three areas, sorted; label) -> probability
    for label in range(k):
        for other in range(k):
            if other != label:
                seen = tuple(sorted((area[label], area[label], area[other])))
                joint[seen, label] = joint.get((seen, label), 0) + Fraction(1, k * (k - 1))
    best: dict[tuple, Fraction] = {}
    for (seen, _), p in joint.items():
        best[seen] = max(best.get(seen, Fraction(0)), p)
    return float(sum(best.values()))


#: The most images :func:`make_dataset` draws at once (a 32-px image is 12 KiB: 100,000 of them
#: are 1.2 GB), and the largest side it draws them at.
MAX_IMAGES = 100_000
MAX_SIZE = 512


def detail_range(detail, size: int = IMG_SIZE) -> tuple[int, int]:
    """``detail`` (one side in pixels, or ``(lo, hi)``) as a checked range ``(lo, hi)``."""
    if isinstance(detail, (tuple, list)):
        if len(detail) != 2:
            raise ValueError(
                f"detail={validate.shown(detail)}: give one side in pixels or a range (lo, hi)"
            )
        lo, hi = detail
    else:
        lo = hi = detail
    top = max(MAX_DETAIL, size * MAX_DETAIL // IMG_SIZE)
    for v in (lo, hi):
        validate.positive_int("detail", v, minimum=MIN_DETAIL)
        if v > top:
            raise ValueError(
                f"detail={validate.shown(detail)}: on a {size}-px image a mark is at most {top} "
                "px a side"
            )
    if lo > hi:
        raise ValueError(f"detail={detail!r}: the range (lo, hi) needs lo <= hi")
    return int(lo), int(hi)


@dataclass
class Marks(torch.utils.data.Dataset):
    """``n`` images with their labels and how they were drawn.

    ``images`` ``(n, 3, size, size)`` float32 in [0, 1]; ``labels`` ``(n,)``; ``shapes``
    ``(n, marks)`` each mark's shape number (:data:`SHAPES`); ``colours`` ``(n, marks)`` colour
    numbers (:data:`COLOURS`); ``corners`` ``(n, marks, 2)`` each mark's top-left pixel
    (row, col); ``detail`` ``(n,)`` each image's mark side in pixels. For ``"majority"`` the
    first two marks are the pair that shares the label's shape. Indexing gives
    ``(image, label)``, as a ``DataLoader`` expects.
    """

    images: torch.Tensor
    labels: torch.Tensor
    shapes: torch.Tensor
    colours: torch.Tensor
    corners: torch.Tensor
    detail: torch.Tensor
    seed: int
    task: str

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]

    def centres(self) -> torch.Tensor:
        """Each mark's centre as a fraction of the image, ``(n, marks, 2)`` (row, col)."""
        side = self.images.shape[-1]
        return (self.corners + self.detail[:, None, None] / 2) / side


def _check_marks(name: str, data) -> Marks:
    """``data`` as a consistent :class:`Marks` (what :func:`make_dataset` returns, or a copy
    with fields replaced): a task of :data:`TASKS`, tensors of one length, images
    ``(n, 3, side, side)``, whole-number labels among the task's classes. Else an error naming
    the field."""
    validate.instance(name, data, Marks, "pass what make_dataset returns")
    validate.one_of(f"{name}.task", data.task, TASKS)
    n = None
    for field in ("images", "labels", "shapes", "colours", "corners", "detail"):
        value = getattr(data, field)
        validate.instance(f"{name}.{field}", value, torch.Tensor)
        if value.dim() < 1:
            raise ValueError(f"{name}.{field} is a 0-d tensor: give one entry per image")
        if n is None:
            n = len(value)
        elif len(value) != n:
            raise ValueError(
                f"{name}.{field} has {len(value)} entries but {name}.images has {n}: the fields "
                "must hold one entry per image (replace them together)"
            )
    if data.images.dim() != 4 or data.images.shape[1] != 3:
        raise ValueError(
            f"{name}.images has shape {tuple(data.images.shape)}: give (n, 3, side, side) images"
        )
    labels, classes = data.labels, num_classes(data.task)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise validate.InputTypeError(
            f"{name}.labels has dtype {labels.dtype}: give whole-number class labels"
        )
    if n and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(
            f"{name}.labels runs from {int(labels.min())} to {int(labels.max())}, but the "
            f"{data.task!r} task has classes 0 to {classes - 1}"
        )
    return data


def _spread(task: str, size: int, d: int) -> int:
    """The least Chebyshev distance between two marks' corners."""
    return size // 2 if task == "same" else d + 2


#: Tries to place one image's marks before :func:`make_dataset` gives up (settings that leave
#: room are placed in a few tries; the room itself is checked first, :func:`_check_room`).
MAX_TRIES = 10_000


def _check_room(task: str, size: int, d: int, marks: int) -> None:
    """Refuse, up front, a ``size`` and mark side ``d`` on which ``marks`` marks cannot lie
    far enough apart: corners range over a square of side ``size - d``, and at most
    ``(⌊(size - d) / gap⌋ + 1)²`` corners fit in it at Chebyshev distance ``gap``."""
    gap = _spread(task, size, d)
    fit = ((size - d) // gap + 1) ** 2
    if fit < marks:
        raise ValueError(
            f"size={size}, detail={d}, task={task!r}: {marks} marks of {d} px, at least {gap} px "
            f"apart, do not fit on a {size}-px image (at most {fit}); use a larger size or a "
            "smaller detail"
        )


def make_dataset(
    n: int,
    seed: int,
    detail=DETAIL,
    size: int = IMG_SIZE,
    task: str = "majority",
    noise: float = 0.05,
) -> Marks:
    """``n`` images of the Marks task, drawn from ``seed`` (the same ``n`` and seed give the
    same images; another ``n`` gives other images, image ``i`` included).

    Each image: a dark background with Gaussian pixel noise (std ``noise``) and marks of side
    ``detail`` px (an int, or a range ``(lo, hi)`` drawing a side per image) in random colours,
    never touching (``"same"``: at least ``size/2`` apart). ``"majority"``: three marks, two of
    one shape and one of another, label = the shared shape, uniform over the four shapes.
    ``"same"``: two marks, label 1 (same shape) for half of the images, drawn per image.
    """
    n = validate.positive_int("n", n, maximum=MAX_IMAGES, why="each image is held in memory")
    seed = validate.seed("seed", seed)
    validate.one_of("task", task, TASKS)
    size = validate.positive_int("size", size, minimum=16, maximum=MAX_SIZE)
    lo, hi = detail_range(detail, size)
    noise = validate.number("noise", noise, low=0.0, high=1.0)
    k, marks = len(SHAPES), TASKS[task]
    _check_room(task, size, hi, marks)
    rng = np.random.default_rng(seed)
    first = rng.integers(0, k, n)
    other = (first + rng.integers(1, k, n)) % k  # another shape, uniformly
    if task == "majority":
        labels = first
        shapes = np.stack([first, first, other], axis=1)
    else:
        labels = rng.integers(0, 2, n)
        shapes = np.stack([first, np.where(labels == 1, first, other)], axis=1)
    colours = rng.integers(0, len(COLOURS), (n, marks))
    sides = rng.integers(lo, hi + 1, n)
    images = noise * rng.standard_normal((n, size, size, 3), dtype=np.float32)
    corners = np.zeros((n, marks, 2), dtype=np.int64)
    masks = {(s, d): render_shape(s, d)[..., None] for s in range(k) for d in range(lo, hi + 1)}
    pairs = [(a, b) for a in range(marks) for b in range(a + 1, marks)]
    for i in range(n):
        d = int(sides[i])
        gap = _spread(task, size, d)
        for _ in range(MAX_TRIES):  # all corners at once, until every pair is far enough apart
            pos = rng.integers(0, size - d + 1, (marks, 2))
            if all(np.abs(pos[a] - pos[b]).max() >= gap for a, b in pairs):
                break
        else:
            raise ValueError(
                f"could not place {marks} marks of {d} px on a {size}-px image in {MAX_TRIES:,} "
                f"tries (image {i}): use a larger size or a smaller detail"
            )
        for j, (r, c) in enumerate(pos):
            m = masks[(int(shapes[i, j]), d)]
            patch = images[i, r : r + d, c : c + d]
            patch[:] = patch * (1 - m) + m * COLOURS[colours[i, j]]
        corners[i] = pos
    return Marks(
        images=torch.from_numpy(images.clip(0, 1)).permute(0, 3, 1, 2).contiguous(),
        labels=torch.from_numpy(labels.astype(np.int64)),
        shapes=torch.from_numpy(shapes.astype(np.int64)),
        colours=torch.from_numpy(colours.astype(np.int64)),
        corners=torch.from_numpy(corners),
        detail=torch.from_numpy(sides.astype(np.int64)),
        seed=seed,
        task=task,
    )

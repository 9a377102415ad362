"""The Pairs task of the redesigned study (issue 23): determinism, labels, knobs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vit_notes.learned import pairs
from vit_notes.learned.data import COLOURS
from vit_notes.learned.pairs import SHAPES, has_pair, make_pairs, render_shape


def test_same_seed_same_images_other_seed_other_images():
    a, b = make_pairs(40, 7), make_pairs(40, 7)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    for name in ("shapes", "rows", "cols", "colours", "detail"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(make_pairs(40, 8).images, a.images)


@pytest.mark.parametrize(
    "shapes, rows, label",
    [
        ([0, 0], [3, 3], 1),  # same shape, same row
        ([0, 0], [3, 4], 0),  # same shape, other rows
        ([0, 1], [3, 3], 0),  # same row, other shapes
        ([2, 5, 2, 5], [1, 2, 2, 1], 0),  # every shape twice, every row twice, no pair
        ([2, 5, 2, 5], [1, 2, 2, 2], 1),  # 5 twice in row 2
        ([4], [0], 0),
    ],
)
def test_has_pair_on_hand_built_cases(shapes, rows, label):
    assert has_pair(shapes, rows) == label


def test_has_pair_refuses_lengths_that_differ():
    with pytest.raises(ValueError, match="one length"):
        has_pair([0, 1], [0])


def test_labels_follow_the_rule_and_the_core():
    d = make_pairs(300, 3, distractors=5)
    for i in range(len(d)):
        s, r = d.shapes[i].numpy(), d.rows[i].numpy()
        assert has_pair(s, r) == d.labels[i]
        assert r[0] == r[1] != r[2]  # the core: marks 0 and 1 share a row, mark 2 is elsewhere
        assert abs(int(d.cols[i, 0]) - int(d.cols[i, 1])) >= d.settings["gap"]
        if d.labels[i]:
            assert s[0] == s[1] != s[2]
        else:
            assert s[0] == s[2] != s[1]
        cells = set(zip(r.tolist(), d.cols[i].tolist(), strict=True))
        assert len(cells) == len(r)  # one mark per cell
    assert 0.4 < d.labels.float().mean() < 0.6


def test_matching_by_colour_labels_by_colour():
    d = make_pairs(200, 4, match="colour", kinds=5, distractors=3)
    assert torch.equal(d.kinds, d.colours)
    for i in range(len(d)):
        assert has_pair(d.colours[i].numpy(), d.rows[i].numpy()) == d.labels[i]
    assert set(d.colours.flatten().tolist()) <= set(range(5))
    assert torch.equal(make_pairs(200, 4).kinds, make_pairs(200, 4).shapes)


def test_shapes_alone_and_rows_alone_carry_no_label():
    """The core's shapes are {s, s, t} and its rows {r, r, r'} in both classes: the counts of
    each shape and of each row have one distribution whatever the label (checked on the core,
    where the classes differ, as sorted counts)."""
    d = make_pairs(400, 5)
    for i in range(len(d)):
        s, r = d.shapes[i, :3].tolist(), d.rows[i, :3].tolist()
        assert sorted(np.unique(s, return_counts=True)[1]) == [1, 2]
        assert sorted(np.unique(r, return_counts=True)[1]) == [1, 2]


def test_distractors_never_use_the_cores_shapes_in_its_rows():
    d = make_pairs(200, 11, distractors=6)
    for i in range(len(d)):
        core = {(int(s), int(r)) for s in d.shapes[i, :3] for r in d.rows[i, :3]}
        extra = set(zip(d.shapes[i, 3:].tolist(), d.rows[i, 3:].tolist(), strict=True))
        assert not core & extra


def test_pixels_show_each_mark_in_its_cell():
    d = make_pairs(5, 2, grid=6, cell=5, detail=5, noise=0.0)
    for i in range(len(d)):
        img = d.images[i].permute(1, 2, 0).numpy()
        for j in range(d.shapes.shape[1]):
            y, x = int(d.rows[i, j]) * 5, int(d.cols[i, j]) * 5
            mask = render_shape(int(d.shapes[i, j]), 5)[..., None]
            colour = COLOURS[int(d.colours[i, j])]
            assert np.allclose(img[y : y + 5, x : x + 5], mask * colour)
    assert d.images.shape == (5, 3, 30, 30)


def test_any_size_and_a_detail_range():
    d = make_pairs(20, 0, grid=12, cell=6, detail=(3, 6), distractors=10)
    assert d.images.shape == (20, 3, 72, 72)
    assert set(d.detail.tolist()) <= {3, 4, 5, 6}
    assert d.shapes.shape == (20, 13)


def test_every_shape_covers_the_same_area_at_side_3():
    areas = {render_shape(k, 3).sum() for k in range(len(SHAPES))}
    assert areas == {5.0}
    masks = {render_shape(k, 3).tobytes() for k in range(len(SHAPES))}
    assert len(masks) == len(SHAPES)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(detail=2), "detail"),
        (dict(detail=5), "detail"),  # larger than the 4-px cell
        (dict(detail=(4, 3)), "lo <= hi"),
        (dict(detail=(3, 4, 5)), "range"),
        (dict(grid=1), "grid"),
        (dict(kinds=1), "kinds"),
        (dict(kinds=len(SHAPES) + 1), "kinds"),
        (dict(distractors=-1), "distractors"),
        (dict(grid=3, kinds=2, distractors=3), "distractors"),
        (dict(gap=8), "gap"),
        (dict(noise=2.0), "noise"),
        (dict(match="size"), "match"),
        (dict(match="colour", kinds=7), "kinds"),
    ],
)
def test_bad_knobs_are_value_errors_naming_the_knob(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pairs(4, 0, **kwargs)


def test_bad_n_and_seed():
    with pytest.raises(ValueError, match="n"):
        make_pairs(0, 0)
    with pytest.raises(ValueError, match="seed"):
        make_pairs(4, -1)
    with pytest.raises(TypeError, match="distractors"):
        make_pairs(4, 0, distractors=2.5)


def test_defaults_are_the_modules_constants():
    d = make_pairs(3, 0)
    assert d.images.shape[-1] == pairs.GRID * pairs.CELL
    assert d.shapes.shape[1] == pairs.CORE + pairs.DISTRACTORS

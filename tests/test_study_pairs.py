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
        s, r = d.kinds[i].numpy(), d.rows[i].numpy()
        assert has_pair(s, r) == d.labels[i]
        assert r[0] == r[1] != r[2]  # the core: marks 0 and 1 share a row, mark 2 is elsewhere
        if d.labels[i]:
            assert s[0] == s[1] != s[2]
        else:
            assert s[0] == s[2] != s[1]
        cells = set(zip(r.tolist(), d.cols[i].tolist(), strict=True))
        assert len(cells) == len(r)  # one mark per cell


@pytest.mark.parametrize("n", [1, 2, 7, 300, 2000])
def test_labels_are_balanced(n):
    """Exactly n // 2 images of label 1 (the test set's chance is 0.5), in a shuffled order."""
    labels = make_pairs(n, 0).labels
    assert int(labels.sum()) == n // 2
    if n >= 300:
        assert 0.3 < labels[: n // 2].float().mean() < 0.7  # not sorted by label


def test_the_cells_and_distractors_are_drawn_blind_to_the_label():
    """From one generator state, labels 0 and 1 give the same cells and the same distractors;
    the kinds differ only by the swap of marks 1 and 2 (core B and C)."""
    s = pairs.check_settings()
    for state in range(200):
        k0, r0, c0 = pairs._place(np.random.default_rng(state), 0, s)
        k1, r1, c1 = pairs._place(np.random.default_rng(state), 1, s)
        assert np.array_equal(r0, r1) and np.array_equal(c0, c1)
        assert np.array_equal(k0[3:], k1[3:])
        assert (k0[0], k0[1], k0[2]) == (k1[0], k1[2], k1[1])
        assert has_pair(k1, r1) == 1 and has_pair(k0, r0) == 0


def _features(d, which: str) -> torch.Tensor:
    """Per-image features from where and what the marks are (not the pixels)."""
    n, grid, kinds = len(d), d.settings["grid"], d.settings["kinds"]
    one = torch.zeros(n, grid * grid)
    one.scatter_(1, d.rows * grid + d.cols, 1.0)
    if which == "cells":  # where the marks are: the occupancy map
        return one
    if which == "bins":  # the (kind, row) bins filled: the label is a linear function of them
        return torch.zeros(n, kinds * grid).scatter_(1, d.kinds * grid + d.rows, 1.0)

    # "pooled": sums of per-mark features (kind, row, column one-hots, kind x column), and the
    # occupancy map: a first-order summary, as wide as the backbone (and wider)
    def hist(idx, size):
        return torch.zeros(n, size).scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float))

    return torch.cat(
        [one, hist(d.kinds, kinds), hist(d.rows, grid), hist(d.cols, grid),
         hist(d.kinds * grid + d.cols, kinds * grid)], dim=1,
    )  # fmt: skip


def _linear_accuracy(train, test, which: str) -> float:
    torch.manual_seed(0)
    x, y = _features(train, which), train.labels
    xt, yt = _features(test, which), test.labels
    mu, sd = x.mean(0), x.std(0) + 1e-6
    model = torch.nn.Linear(x.shape[1], 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        loss = torch.nn.functional.cross_entropy(model((x - mu) / sd), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (model((xt - mu) / sd).argmax(1) == yt).float().mean().item()


def test_position_only_and_pooled_summaries_stay_at_chance():
    """A linear classifier of the occupancy map, or of first-order pooled features, trained on
    6,000 images, scores within noise of 0.5 on 2,000 balanced test images (sd 0.011); the same
    trainer on the filled (kind, row) bins solves the task, so the trainer is able to."""
    train, test = make_pairs(6000, pairs.TRAIN_SEEDS), make_pairs(2000, 0)
    assert abs(_linear_accuracy(train, test, "cells") - 0.5) < 0.04
    assert abs(_linear_accuracy(train, test, "pooled") - 0.5) < 0.04
    assert _linear_accuracy(train, test, "bins") > 0.95


def test_matching_by_colour_labels_by_colour():
    d = make_pairs(200, 4, match="colour", kinds=5, distractors=3)
    assert pairs.MATCH_BY == "colour" and torch.equal(
        make_pairs(20, 4).kinds, make_pairs(20, 4).colours
    )
    assert torch.equal(d.kinds, d.colours)
    for i in range(len(d)):
        assert has_pair(d.colours[i].numpy(), d.rows[i].numpy()) == d.labels[i]
    assert set(d.colours.flatten().tolist()) <= set(range(5))
    shaped = make_pairs(200, 4, match="shape")
    assert torch.equal(shaped.kinds, shaped.shapes)


def test_shapes_alone_and_rows_alone_carry_no_label():
    """The core's shapes are {s, s, t} and its rows {r, r, r'} in both classes: the counts of
    each shape and of each row have one distribution whatever the label (checked on the core,
    where the classes differ, as sorted counts)."""
    d = make_pairs(400, 5)
    for i in range(len(d)):
        s, r = d.kinds[i, :3].tolist(), d.rows[i, :3].tolist()
        assert sorted(np.unique(s, return_counts=True)[1]) == [1, 2]
        assert sorted(np.unique(r, return_counts=True)[1]) == [1, 2]


def test_distractors_never_use_the_cores_shapes_in_its_rows():
    d = make_pairs(200, 11, distractors=6)
    for i in range(len(d)):
        core = {(int(s), int(r)) for s in d.kinds[i, :3] for r in d.rows[i, :3]}
        extra = set(zip(d.kinds[i, 3:].tolist(), d.rows[i, 3:].tolist(), strict=True))
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
        (dict(detail=5), "detail"),  # larger than the 3-px cell
        (dict(cell=4, detail=(4, 3)), "lo <= hi"),
        (dict(detail=(3, 4, 5)), "range"),
        (dict(grid=1), "grid"),
        (dict(kinds=1), "kinds"),
        (dict(kinds=len(SHAPES) + 1), "kinds"),
        (dict(distractors=-1), "distractors"),
        (dict(grid=3, kinds=2, distractors=3), "distractors"),
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

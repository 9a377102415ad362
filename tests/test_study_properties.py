"""The study's public functions over odd inputs (issue 19), by hypothesis: each input gives the
documented result or a ValueError/TypeError naming the argument, in bounded time.

- ``pairs.make_pairs``: any knobs; accepted ones give balanced labels that equal ``has_pair`` of
  the marks drawn (never a hang: ``check_settings`` refuses what cannot be drawn quickly).
- ``backbone.build``: any variant and size; accepted ones give finite logits of the stated shape.
- ``study.parse_seeds``: any text; accepted text gives distinct seeds >= 0.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from vit_notes.learned import backbone, pairs, study

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"vit-notes-hypothesis-{os.getuid()}")

SWEEP = settings(
    max_examples=40,
    deadline=10_000,  # ms: a draw that takes longer is a hang, not a slow case
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

odd_int = st.one_of(
    st.integers(-3, 24), st.just(True), st.floats(-2, 30), st.text(max_size=3), st.none()
)


@SWEEP
@given(
    n=st.one_of(st.integers(-2, 6), st.just(2.5), st.just("4")),
    seed=st.one_of(st.integers(-1, 2**63), st.just(None)),
    grid=odd_int,
    cell=odd_int,
    detail=st.one_of(odd_int, st.tuples(st.integers(-1, 8), st.integers(-1, 8))),
    distractors=odd_int,
    kinds=odd_int,
    noise=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2)),
    match=st.sampled_from(["colour", "shape", "color", "", 3]),
)
def test_make_pairs_gives_the_task_or_names_the_knob(
    n, seed, grid, cell, detail, distractors, kinds, noise, match
):
    try:
        d = pairs.make_pairs(
            n, seed, grid=grid, cell=cell, detail=detail, distractors=distractors,
            kinds=kinds, noise=noise, match=match,
        )  # fmt: skip
    except (ValueError, TypeError) as err:
        message = str(err)
        assert "=" in message or "must" in message, message  # names what it refused
        return
    size = d.settings["grid"] * d.settings["cell"]
    assert d.images.shape == (n, 3, size, size) and d.images.dtype == torch.float32
    assert torch.isfinite(d.images).all()
    assert int(d.labels.sum()) == n // 2  # balanced, as documented
    for i in range(n):
        assert pairs.has_pair(d.kinds[i].tolist(), d.rows[i].tolist()) == int(d.labels[i])
    lo, hi = d.settings["detail"]
    assert ((d.detail >= lo) & (d.detail <= hi)).all()


@SWEEP
@given(
    attention=st.sampled_from([*backbone.ATTENTION, "sra3", "Full", ""]),
    img_size=st.integers(-1, 40),
    patch=st.integers(-1, 6),
    dim=st.integers(-2, 40),
    heads=st.integers(-1, 5),
    depth=st.integers(-1, 2),
    batch=st.integers(1, 2),
)
def test_build_gives_logits_or_names_the_setting(
    attention, img_size, patch, dim, heads, depth, batch
):
    try:
        model = backbone.build(
            attention, img_size=img_size, patch=patch, dim=dim, heads=heads, depth=depth
        )
    except (ValueError, TypeError) as err:
        assert "=" in str(err) or "must" in str(err), str(err)
        return
    try:
        out = model(torch.rand(batch, 3, img_size, img_size))
    except (ValueError, TypeError) as err:
        # A model that was built must take images of the size it was built for.
        pytest.fail(f"{attention} at img_size={img_size}, patch={patch} built but refused: {err}")
    assert out.shape == (batch, 2) and torch.isfinite(out).all()


@SWEEP
@given(text=st.one_of(st.text(max_size=12), st.from_regex(r"\d{1,3}(-\d{1,3})?(,\d{1,3})*")))
def test_parse_seeds_gives_seeds_or_says_the_form(text):
    try:
        seeds = study.parse_seeds(text)
    except ValueError as err:
        assert "0-4" in str(err), str(err)
        return
    assert seeds and all(isinstance(s, int) and s >= 0 for s in seeds)
    assert len(set(seeds)) == len(seeds)

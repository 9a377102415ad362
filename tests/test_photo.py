"""The chapters' photo and its colour tokens."""

import pytest
import torch

from vit_notes import photo


def test_photo_is_deterministic_and_shaped():
    img = photo.load_photo(224)
    assert img.shape == (3, 224, 224) and 0 <= img.min() and img.max() <= 1
    torch.testing.assert_close(img, photo.load_photo(224))
    tokens, grid = photo.colour_tokens(img)
    assert tokens.shape == (1, 3136, 64) and grid == (56, 56)
    with pytest.raises(ValueError, match="not divisible by patch=5"):
        photo.colour_tokens(img, patch=5)
    with pytest.raises(ValueError, match=r"row must be a number >= 0 and < 1, got 1.0"):
        photo.query_index(grid, 1.0, 0.5)


def test_nearby_queries_are_a_stated_grid_around_the_query():
    near = photo.nearby_queries((0.3, 0.5), step=0.05, n=3)
    assert len(near) == 9 and near[4] == (0.3, 0.5)  # the query itself at the centre
    assert near[0] == (0.25, 0.45) and near[-1] == (0.35, 0.55)  # rounded: 0.3 + 0.05 = 0.35
    assert photo.nearby_queries((0.5, 0.5), n=1) == [(0.5, 0.5)]
    with pytest.raises(ValueError, match="outside the image"):
        photo.nearby_queries((0.02, 0.5), step=0.05)
    with pytest.raises(ValueError, match="step"):
        photo.nearby_queries((0.3, 0.5), step=0)
    with pytest.raises(ValueError, match="query_rc"):
        photo.nearby_queries(0.3)

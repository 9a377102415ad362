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
    with pytest.raises(ValueError, match="row=1.0 must be a fraction"):
        photo.query_index(grid, 1.0, 0.5)

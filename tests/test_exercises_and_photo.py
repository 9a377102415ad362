"""The exercise checkers tell right from wrong, and say what is wrong; the photo features."""
import pytest
import torch

from vit_notes import exercises, photo, record_attention
from vit_notes.cost import sra_cost


@pytest.mark.parametrize("answer,ok,says", [
    (49, True, "7×7 = 49"), ("49", True, "49"), (196, False, "sr_ratio² = 16"), (784, False, "number of queries"),
    (None, False, "whole number"), (50, False, "floor(H/sr_ratio)"),
])
def test_check_kv_tokens(capsys, answer, ok, says):
    assert exercises.check_kv_tokens(answer, 28, 28, 4) is ok
    assert says in capsys.readouterr().out


def test_check_kv_tokens_names_ceil_mistake(capsys):
    assert not exercises.check_kv_tokens(64, 30, 30, 4)
    assert "floor" in capsys.readouterr().out


def test_check_sra_macs_names_the_missing_term(capsys):
    c = sra_cost(56, 56, 64, 1, 8)
    assert exercises.check_sra_macs(c.macs)
    assert not exercises.check_sra_macs(c.macs - 2 * c.tokens * c.kv_tokens * 64)
    assert "q·kᵀ and attn·v" in capsys.readouterr().out
    assert not exercises.check_sra_macs(c.macs - 2 * c.kv_tokens * 64 * 64)
    assert "kv projection" in capsys.readouterr().out
    assert not exercises.check_sra_macs(2 * c.macs)
    assert "2 FLOPs per multiply-add" in capsys.readouterr().out


def test_check_sra_forward(capsys):
    assert exercises.check_sra_forward(lambda a, x, H, W: a(x, H, W))
    assert not exercises.check_sra_forward(lambda a, x, H, W: x[:, :1])
    assert "shape (2, 1, 64), expected (2, 3136, 64)" in capsys.readouterr().out
    assert not exercises.check_sra_forward(lambda a, x, H, W: x)
    assert "values differ" in capsys.readouterr().out
    assert not exercises.check_sra_forward(lambda a, x, H, W: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


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


def test_colour_maps_mean_something():
    # A query on the face must prefer other face patches to the dark uniform: the whole
    # point of the colour tokens (random weights would give no such preference).
    img = photo.load_photo(224)
    tokens, (H, W) = photo.colour_tokens(img)
    face, uniform = photo.query_index((H, W), 0.35, 0.5), photo.query_index((H, W), 0.85, 0.3)
    layer = photo.identity_sra(64, 1)
    with record_attention() as maps, torch.no_grad():
        layer(tokens, H, W)
    row = maps.last()[0, 0, face]
    assert row[face] > 20 * row[uniform]
    # identity projections: with sr_ratio 8 the keys are exactly the window means, standardised
    layer8 = photo.identity_sra(64, 8)
    with torch.no_grad():
        keys = layer8.reduce(tokens, H, W)
    mean = tokens.reshape(1, 7, 8, 7, 8, 64).mean((2, 4)).reshape(1, 49, 64)
    torch.testing.assert_close(keys, torch.nn.functional.layer_norm(mean, (64,)), atol=1e-4, rtol=1e-4)

"""The redesigned study's shared backbone (issue 23): variants differ only in attention."""

from __future__ import annotations

import pytest
import torch

from vit_notes.counting import count_macs, count_params
from vit_notes.learned.backbone import (
    ATTENTION,
    POS_SPACINGS,
    AvgPoolSRA,
    Backbone,
    ShuntedNoLE,
    build,
    sincos_2d,
)
from vit_notes.shunted.model import ShuntedAttention


def shared(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer outside the attention layers."""
    state = model.state_dict()
    return {k: v for k, v in state.items() if ".attn." not in k}


def attention_params(model: Backbone) -> int:
    return sum(count_params(b.attn) for b in model.blocks)


@pytest.mark.parametrize("other", ["pool", "sra4", "avg2", "shunted4_nole", "linear2"])
def test_two_variants_differ_only_in_attention(other):
    a, b = build("full", seed=3), build(other, seed=3)
    sa, sb = shared(a), shared(b)
    assert list(sa) == list(sb)  # the same names, in the same order
    assert {k: v.shape for k, v in sa.items()} == {k: v.shape for k, v in sb.items()}
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # and the same initial weights
    assert count_params(a) - attention_params(a) == count_params(b) - attention_params(b)
    # The modules outside the attention are the same types in the same places.
    kinds = [(n, type(m).__name__) for n, m in a.named_modules() if ".attn" not in n and n != ""]
    assert kinds == [
        (n, type(m).__name__) for n, m in b.named_modules() if ".attn" not in n and n != ""
    ]
    assert not any(".attn" in k for k in shared(a))


def test_costs_of_every_variant():
    """Parameters and multiply-adds of each variant (printed: ``pytest -s``); the shared parts
    are the same, so the differences are the attention layers'."""
    x = torch.rand(1, 3, 48, 48)
    for name in ATTENTION:
        m = build(name).eval()
        print(f"{name:>14}: {count_params(m):>8,} params, {count_macs(m, x):>10,} MACs")


def test_every_variant_runs_and_uses_its_own_layer():
    x = torch.rand(2, 3, 48, 48)
    for name in ATTENTION:
        m = build(name)
        assert m(x).shape == (2, 2)
        assert m.attention == name
    assert isinstance(build("avg4").blocks[0].attn, AvgPoolSRA)
    assert isinstance(build("shunted8_nole").blocks[0].attn, ShuntedNoLE)
    assert type(build("shunted8").blocks[0].attn) is ShuntedAttention


def test_the_pooling_baseline_broadcasts_one_vector():
    """One key: every query's output is the same vector."""
    m = build("pool").eval()
    attn = m.blocks[0].attn
    x = torch.randn(2, 64, 32)
    out = attn(x, 8, 8)
    assert torch.allclose(out, out[:, :1].expand_as(out), atol=1e-6)


def test_average_pooling_reduction_has_no_conv_and_no_local_enhancement_is_gone():
    avg = build("avg2").blocks[0].attn
    assert not hasattr(avg, "sr") and avg.kv_grid(8, 8) == (4, 4)
    nole, le = build("shunted4_nole").blocks[0].attn, build("shunted4").blocks[0].attn
    assert count_params(le) - count_params(nole) == 2 * (16 * 9 + 16)  # two depthwise 3x3 convs
    assert all("local_conv" not in k for k in nole.state_dict())


def test_same_seed_same_model():
    a, b = build("sra2", seed=5), build("sra2", seed=5)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_position_embedding_rows_and_columns():
    pe = sincos_2d(4, 4, 8).reshape(4, 4, 8)
    assert torch.equal(pe[0, :, :4], pe[0, :1, :4].expand(4, 4))  # row half: same along a row
    assert torch.equal(pe[:, 0, 4:], pe[:1, 0, 4:].expand(4, 4))  # column half: same down a column
    with pytest.raises(ValueError, match="multiple of 4"):
        sincos_2d(4, 4, 6)


def test_evenly_spaced_rows_are_orthogonal_and_geometric_ones_are_not():
    """Even spacing: the row halves of 16 rows at dim 32 are orthogonal, so one bilinear form
    reads "same row" exactly. Geometric spacing: neighbouring rows are nearly alike and the 16
    rows span fewer than 16 useful directions (the diagnosis in vit_notes.learned.study)."""
    rows = {s: sincos_2d(16, 16, 32, s).reshape(16, 16, 32)[:, 0, :16] for s in POS_SPACINGS}
    gram = rows["even"] @ rows["even"].T
    assert torch.allclose(gram, 8 * torch.eye(16), atol=1e-4)
    geo = rows["geometric"]
    assert (geo[0] @ geo[1]).item() > 6.0  # of 8 with itself
    assert torch.linalg.matrix_rank(geo, atol=1e-2) < 12
    with pytest.raises(ValueError, match="at most dim/2 = 16"):
        sincos_2d(17, 17, 32, "even")
    assert sincos_2d(17, 17, 32).shape == (17 * 17, 32)
    with pytest.raises(ValueError, match="spacing"):
        sincos_2d(4, 4, 8, "linear")


def test_readout_and_init_std():
    """``readout="max"`` takes each channel's largest token; ``init_std`` scales the linears'
    initial weights alike in the shared parts and the attention."""
    x = torch.rand(2, 3, 48, 48)
    a, b = build("full", 0), build("full", 0, readout="max")
    with torch.no_grad():
        tokens = a.embed_norm(a.patch_embed(x).flatten(2).transpose(1, 2)) + a.pos_embed
        feats = a.norm(a.blocks[1](a.blocks[0](tokens, 16, 16), 16, 16))
        assert torch.allclose(b(x), b.head(feats.amax(1)), atol=1e-6)
        assert torch.allclose(a(x), a.head(feats.mean(1)), atol=1e-6)
    wide = build("sra4", 0, init_std=0.1)
    assert 0.07 < wide.head.weight.std() < 0.12 and 0.07 < wide.blocks[0].attn.q.weight.std() < 0.12
    assert 0.01 < build("sra4", 0).blocks[0].attn.q.weight.std() < 0.03


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(attention="window"), "attention"),
        (dict(img_size=50), "multiple"),
        (dict(dim=30, heads=4), "head"),
        (dict(depth=0), "depth"),
        (dict(readout="sum"), "readout"),
        (dict(pos="learned"), "spacing"),
        (dict(init_std=0.0), "init_std"),
        (dict(dim=16, heads=2, pos="even"), "at most dim/2"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Backbone(**kwargs)


def test_wrong_image_size_is_refused():
    with pytest.raises(ValueError, match="built for 16x16"):
        build("full")(torch.rand(1, 3, 96, 96))


def key_grid(model: Backbone) -> list[tuple[int, int]]:
    """The key grid(s) of the first block's attention on the model's token grid."""
    attn, g = model.blocks[0].attn, model.grid
    if isinstance(attn, ShuntedAttention):
        r = attn.sr_ratio
        return [(g // r, g // r), (2 * g // r, 2 * g // r)]
    if getattr(attn, "linear", False):
        p = attn.pool.output_size
        p = p if isinstance(p, int) else p[0]
        return [(p, p)]
    return [attn.kv_grid(g, g)]


def test_the_default_grid_gives_distinct_key_grids():
    """16 x 16 tokens: R = 2, 4, 8 leave 8 x 8, 4 x 4, 2 x 2 keys (conv or pool alike), the
    pooling baseline one key, and no reduction conv's kernel covers the whole grid."""
    grids = {name: key_grid(build(name)) for name in ATTENTION}
    assert build("full").grid == 16 and grids["full"] == [(16, 16)]
    for r, side in ((2, 8), (4, 4), (8, 2)):
        assert grids[f"sra{r}"] == grids[f"avg{r}"] == [(side, side)]
    assert grids["shunted4"] == grids["shunted4_nole"] == [(4, 4), (8, 8)]
    assert grids["shunted8"] == grids["shunted8_nole"] == [(2, 2), (4, 4)]
    assert grids["pool"] == [(1, 1)] and grids["linear2"] == [(2, 2)]
    for name in ATTENTION:
        for m in build(name).blocks[0].attn.modules():
            if isinstance(m, torch.nn.Conv2d):
                assert m.kernel_size[0] < 16, (name, m)

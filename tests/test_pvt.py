"""PVT: spatial-reduction attention and the v1/v2 models."""

import pytest
import torch
from einops import rearrange

from vit_notes import counting, photo, pvt, record_attention
from vit_notes.counting import count_params


def naive_sra(attn: pvt.SpatialReductionAttention, x, H, W):
    """Reference written with loops over heads and explicit reshapes (the notes' version)."""
    B, N, C = x.shape
    h, d = attn.num_heads, C // attn.num_heads
    q = attn.q(x)
    if attn.linear:
        g = x.permute(0, 2, 1).reshape(B, C, H, W)
        x_ = attn.act(attn.norm(attn.sr(attn.pool(g)).reshape(B, C, -1).permute(0, 2, 1)))
    elif attn.sr_ratio > 1:
        g = x.permute(0, 2, 1).reshape(B, C, H, W)
        x_ = attn.norm(attn.sr(g).reshape(B, C, -1).permute(0, 2, 1))
    else:
        x_ = x
    kv = attn.kv(x_)
    k, v = kv[..., :C], kv[..., C:]
    outs = []
    for i in range(h):
        qi, ki, vi = (t[..., i * d : (i + 1) * d] for t in (q, k, v))
        w = torch.softmax(qi @ ki.transpose(1, 2) * attn.scale, dim=-1)
        outs.append(w @ vi)
    return attn.proj(torch.cat(outs, dim=-1))


CONFIGS = [  # (H, W, dim, heads, sr_ratio, linear)
    (56, 56, 64, 1, 8, False),
    (28, 28, 128, 2, 4, False),
    (14, 14, 320, 5, 2, False),
    (7, 7, 512, 8, 1, False),
    (12, 20, 32, 4, 4, False),
    (30, 30, 64, 2, 8, False),
    (9, 7, 16, 2, 3, False),
    (56, 56, 32, 1, 8, True),
    (14, 21, 64, 2, 1, True),
    (5, 5, 16, 1, 1, True),
]


@pytest.mark.parametrize("H,W,dim,heads,sr,linear", CONFIGS)
def test_sra_shapes_reference_and_paths(H, W, dim, heads, sr, linear):
    torch.manual_seed(0)
    attn = pvt.SpatialReductionAttention(
        dim, heads, qkv_bias=True, sr_ratio=sr, linear=linear
    ).eval()
    x = torch.randn(2, H * W, dim)
    with torch.no_grad():
        fused = attn(x, H, W)
        with record_attention(attn, root="a") as maps:
            explicit = attn(x, H, W)
        ref = naive_sra(attn, x, H, W)
    assert fused.shape == (2, H * W, dim)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(explicit, fused)
    M = 49 if linear else (H // sr) * (W // sr)
    assert maps["a"].shape == (2, heads, H * W, M)
    torch.testing.assert_close(maps["a"].sum(-1), torch.ones(2, heads, H * W))


def test_non_divisible_grid_floors_like_the_official_code():
    attn = pvt.SpatialReductionAttention(16, 2, sr_ratio=4).eval()
    with record_attention() as maps, torch.no_grad():
        attn(torch.randn(1, 30 * 23, 16), 30, 23)
    assert maps.last().shape[-1] == (30 // 4) * (23 // 4)


def test_dropout_train_mode_runs_and_eval_is_deterministic():
    attn = pvt.SpatialReductionAttention(32, 2, sr_ratio=2, attn_drop=0.5, proj_drop=0.1)
    x = torch.randn(1, 64, 32)
    attn.train()
    assert attn(x, 8, 8).shape == x.shape
    with record_attention():
        assert attn(x, 8, 8).shape == x.shape
    attn.eval()
    torch.testing.assert_close(attn(x, 8, 8), attn(x, 8, 8))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dim=64, num_heads=3), "dim=64 is not divisible by num_heads=3"),
        (dict(dim=64, num_heads=0), "num_heads must be an integer >= 1"),
        (dict(dim=64, sr_ratio=0), "sr_ratio must be an integer >= 1, got 0"),
        (dict(dim=64, sr_ratio=2.5), r"sr_ratio must be an integer >= 1, got 2.5"),
        (dict(dim=64, sr_ratio=True), "sr_ratio must be an integer"),
        (dict(dim=64, sr_ratio=2, num_prefix_tokens=1), "num_prefix_tokens=1 needs sr_ratio=1"),
    ],
)
def test_bad_configuration_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pvt.SpatialReductionAttention(**kwargs)


def test_token_count_must_match_grid():
    attn = pvt.SpatialReductionAttention(32, 2, sr_ratio=2)
    with pytest.raises(ValueError, match=r"x has N=63 tokens but H=8, W=8 gives H\*W = 64"):
        attn(torch.randn(1, 63, 32), 8, 8)
    with pytest.raises(ValueError, match=r"tokens of shape \(B, N, C\)"):
        attn(torch.randn(63, 32), 8, 8)
    with pytest.raises(ValueError, match="smaller than sr_ratio=8"):
        pvt.SpatialReductionAttention(32, 2, sr_ratio=8)(torch.randn(1, 16, 32), 4, 4)


def test_images_too_small_for_a_stage_are_refused_by_name():
    model = pvt.pvt_v2_b0().eval()
    with pytest.raises(
        ValueError, match=r"stage 1: .* 6x6 token grid, smaller than its sr_ratio=8"
    ):
        model(torch.randn(1, 3, 24, 24))
    with pytest.raises(ValueError, match="input of 3x3 is smaller than the patch size 4"):
        pvt.PatchEmbed(32, 4, 3, 8)(torch.randn(1, 3, 3, 3))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 3, H, W\)"):
        model(torch.randn(1, 1, 64, 64))


def test_unknown_variant_and_mismatched_lists():
    with pytest.raises(ValueError, match="name='pvt_huge' is not allowed"):
        pvt.create("pvt_huge")
    with pytest.raises(ValueError, match="depths has 3 entries but num_stages=4"):
        pvt.PyramidVisionTransformer(depths=(1, 1, 1))
    with pytest.raises(ValueError, match="dim=320 is not divisible by num_heads=3"):
        pvt.create("pvt_tiny", num_heads=(1, 2, 3, 8))


# Official code's counts (reference_facts): v1 equals the paper's table within 1%.
PARAMS = {
    "pvt_tiny": 13.2,
    "pvt_small": 24.5,
    "pvt_medium": 44.2,
    "pvt_large": 61.4,
    "pvt_v2_b0": 3.67,
    "pvt_v2_b1": 14.01,
    "pvt_v2_b2": 25.36,
    "pvt_v2_b2_li": 22.55,
    "pvt_v2_b3": 45.2,
    "pvt_v2_b4": 62.6,
    "pvt_v2_b5": 82.0,
}


@pytest.mark.parametrize("name", list(PARAMS))
def test_parameter_counts_match_the_papers(name):
    with torch.device("meta"):
        model = getattr(pvt, name)()
    assert count_params(model) / 1e6 == pytest.approx(PARAMS[name], rel=0.01)


@pytest.mark.parametrize("name", ["pvt_tiny", "pvt_v2_b0", "pvt_v2_b2_li"])
def test_models_run_and_return_pyramid(name):
    torch.manual_seed(0)
    model = pvt.create(name, num_classes=10).eval()
    x = torch.randn(2, 3, 128, 160)  # non-square, not the training size: v1 resizes pos embeddings
    with torch.no_grad():
        pooled, stages = model.forward_features(x, return_stages=True)
        logits = model(x)
    dims = pvt.CONFIGS[name].get("embed_dims")
    assert logits.shape == (2, 10)
    assert [tuple(s.shape) for s in stages] == [
        (2, dims[i], 128 // 4 // 2**i, 160 // 4 // 2**i) for i in range(4)
    ]
    assert pooled.shape == (2, dims[-1])


def test_timm_attention_weights_load_and_outputs_match():
    timm_pvt = pytest.importorskip("timm.models.pvt_v2")
    torch.manual_seed(0)
    x = torch.randn(2, 14 * 14, 64)
    for sr, linear in [(1, False), (2, False), (4, False), (1, True)]:
        theirs = timm_pvt.Attention(
            64, num_heads=4, sr_ratio=sr, linear_attn=linear, qkv_bias=True
        ).eval()
        ours = pvt.SpatialReductionAttention(
            64, 4, qkv_bias=True, sr_ratio=sr, linear=linear
        ).eval()
        assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
        ours.load_state_dict(theirs.state_dict())
        with torch.no_grad():
            torch.testing.assert_close(ours(x, 14, 14), theirs(x, (14, 14)))


def test_timm_whole_model_weights_map_onto_ours():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    theirs = timm.create_model("pvt_v2_b0", pretrained=False, num_classes=7).eval()
    ours = pvt.pvt_v2_b0(num_classes=7).eval()
    ours.load_state_dict(pvt.state_dict_from_timm(theirs.state_dict()), strict=True)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_official_v1_parameter_names():
    names = set(pvt.pvt_tiny().state_dict())
    for key in [
        "patch_embed1.proj.weight",
        "pos_embed1",
        "block1.0.attn.q.weight",
        "block1.0.attn.kv.weight",
        "block1.0.attn.sr.weight",
        "block1.0.attn.norm.weight",
        "block1.0.attn.proj.weight",
        "block4.0.attn.q.weight",
        "cls_token",
        "norm.weight",
        "head.weight",
        "pos_embed4",
    ]:
        assert key in names
    assert "block4.0.attn.sr.weight" not in names  # sr_ratio 1 at stage 4
    assert pvt.pvt_tiny().pos_embed4.shape == (1, 7 * 7 + 1, 512)


def test_rearrange_matches_permute_reshape():
    # The notes' spelling and the package's one agree (the notebook shows both).
    x = torch.randn(2, 10, 12)
    torch.testing.assert_close(
        rearrange(x, "b n (h d) -> b h n d", h=3), x.reshape(2, 10, 3, 4).permute(0, 2, 1, 3)
    )


GRID = [
    (H, W, dim, heads, sr, linear)
    for H, W in [(56, 56), (28, 28), (14, 14), (30, 22), (7, 7)]
    for dim, heads in [(64, 1), (128, 2), (96, 4)]
    for sr, linear in [(1, False), (2, False), (4, False), (7, False), (1, True)]
    if sr <= min(H, W)
]


@pytest.mark.parametrize("H,W,dim,heads,sr,linear", GRID)
def test_sra_formula_equals_the_counter(H, W, dim, heads, sr, linear):
    attn = pvt.SpatialReductionAttention(
        dim, heads, qkv_bias=True, sr_ratio=sr, linear=linear
    ).eval()
    counted = counting.count_macs(attn, torch.randn(1, H * W, dim), H, W)
    assert pvt.sra_cost(H, W, dim, heads, sr, linear).macs == pytest.approx(counted, rel=0.01)


def test_attention_memory_and_tokens():
    c = pvt.sra_cost(56, 56, 64, 2, 8)
    assert (c.tokens, c.kv_tokens) == (3136, 49)
    assert c.attn_elements == 2 * 3136 * 49 and c.attn_bytes == 4 * c.attn_elements
    assert pvt.sra_cost(56, 56, 64, 2, 1).attn_macs == 64 * pvt.sra_cost(56, 56, 64, 2, 8).attn_macs


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(H=0, W=4, dim=8, num_heads=1), "H must be an integer >= 1, got 0"),
        (dict(H=4, W=4, dim=8, num_heads=3), "dim=8 is not divisible by num_heads=3"),
        (dict(H=4, W=4, dim=8, num_heads=1, sr_ratio=8), "smaller than sr_ratio=8"),
        (dict(H=4, W=4, dim=8, num_heads=1, sr_ratio=1.5), "sr_ratio must be an integer"),
    ],
)
def test_sra_cost_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pvt.sra_cost(**kwargs)


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (49, True, "7×7 = 49"),
        ("49", True, "49"),
        (196, False, "sr_ratio² = 16"),
        (784, False, "number of queries"),
        (None, False, "whole number"),
        (50, False, "floor(H/sr_ratio)"),
    ],
)
def test_check_kv_tokens(capsys, answer, ok, says):
    assert pvt.check_kv_tokens(answer, 28, 28, 4) is ok
    assert says in capsys.readouterr().out


def test_check_kv_tokens_names_ceil_mistake(capsys):
    assert not pvt.check_kv_tokens(64, 30, 30, 4)
    assert "floor" in capsys.readouterr().out


def test_check_sra_macs_names_the_missing_term(capsys):
    c = pvt.sra_cost(56, 56, 64, 1, 8)
    assert pvt.check_sra_macs(c.macs)
    assert not pvt.check_sra_macs(c.macs - 2 * c.tokens * c.kv_tokens * 64)
    assert "q·kᵀ and attn·v" in capsys.readouterr().out
    assert not pvt.check_sra_macs(c.macs - 2 * c.kv_tokens * 64 * 64)
    assert "kv projection" in capsys.readouterr().out
    assert not pvt.check_sra_macs(2 * c.macs)
    assert "2 FLOPs per multiply-add" in capsys.readouterr().out


def test_check_sra_forward(capsys):
    assert pvt.check_sra_forward(lambda a, x, H, W: a(x, H, W))
    assert not pvt.check_sra_forward(lambda a, x, H, W: x[:, :1])
    assert "shape (2, 1, 64), expected (2, 3136, 64)" in capsys.readouterr().out
    assert not pvt.check_sra_forward(lambda a, x, H, W: x)
    assert "values differ" in capsys.readouterr().out
    assert not pvt.check_sra_forward(lambda a, x, H, W: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_colour_maps_mean_something():
    # A query on the face must prefer other face patches to the dark uniform: the whole
    # point of the colour tokens (random weights would give no such preference).
    img = photo.load_photo(224)
    tokens, (H, W) = photo.colour_tokens(img)
    face, uniform = photo.query_index((H, W), 0.35, 0.5), photo.query_index((H, W), 0.85, 0.3)
    layer = pvt.identity_sra(64, 1)
    with record_attention() as maps, torch.no_grad():
        layer(tokens, H, W)
    row = maps.last()[0, 0, face]
    assert row[face] > 20 * row[uniform]
    # identity projections: with sr_ratio 8 the keys are exactly the window means, standardised
    layer8 = pvt.identity_sra(64, 8)
    with torch.no_grad():
        keys = layer8.reduce(tokens, H, W)
    mean = tokens.reshape(1, 7, 8, 7, 8, 64).mean((2, 4)).reshape(1, 49, 64)
    torch.testing.assert_close(
        keys, torch.nn.functional.layer_norm(mean, (64,)), atol=1e-4, rtol=1e-4
    )


def test_sra_explorer_builds_and_redraws_on_every_slider(monkeypatch):
    drawn = []
    real = pvt.draw_sra_explorer
    monkeypatch.setattr(
        pvt.figures, "draw_sra_explorer", lambda **kw: drawn.append(kw) or real(**kw)
    )
    ui = pvt.sra_explorer()
    sliders = {c.description: c for box in ui.children[:2] for c in box.children}
    assert set(sliders) == {"sr_ratio", "heads", "image size", "query row", "query col"}
    sliders["sr_ratio"].value = 2
    sliders["heads"].value = 4
    sliders["image size"].value = 112
    sliders["query row"].value = 0.9
    assert drawn[0] == dict(sr_ratio=8, num_heads=1, size=224, query_row=0.3, query_col=0.5)
    assert drawn[-1] == dict(sr_ratio=2, num_heads=4, size=112, query_row=0.9, query_col=0.5)


def test_static_twin_draws_map_and_cost():
    fig = pvt.draw_sra_explorer(sr_ratio=4, num_heads=2, size=160, query_row=0.5, query_col=0.5)
    assert len(fig.axes) >= 3
    assert "keys" in fig.axes[1].get_title()


def test_query_maps_coarsen_with_sr_ratio():
    maps = pvt.sra_query_maps(photo.load_photo(128), (1, 2, 4, 8), (0.3, 0.5))
    assert [grid for _, grid in maps.values()] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert all(abs(float(row.sum()) - 1) < 1e-5 for row, _ in maps.values())

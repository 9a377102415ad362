"""PVT: spatial-reduction attention and the v1/v2 models."""

import inspect
import io
import re

import numpy as np
import pytest
import slips
import torch
import torch.nn.functional as F
from einops import rearrange
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from vit_notes import counting, photo, plotting, pvt, record_attention, trace_shapes
from vit_notes.checking import page_spec
from vit_notes.counting import count_params, significant
from vit_notes.layers import reduced_grid
from vit_notes.pvt import paper
from vit_notes.pvt.exercises import SRA_STEPS

#: Text this chapter's prose may type by hand (tests/test_prose.py): exact text -> why.
PROSE_ALLOWED: dict[str, str] = {
    "§3.2": "a section number of the paper, not a result",
    "§3.3": "a section number of the paper, not a result",
    "§3.4": "a section number of the paper, not a result",
    "§3.5": "a section number of the paper, not a result",
    "§4.1": "a section number of the paper, not a result",
}


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
        ValueError, match=r"stage 1: .* 6×6 token grid, smaller than its sr_ratio=8"
    ):
        model(torch.randn(1, 3, 24, 24))
    with pytest.raises(ValueError, match="input of 3×3 is smaller than the patch size 4"):
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
        (50, False, "close: 50 is too high, within 10% of the answer"),
        (7, False, "one side of the reduced grid"),
        (48.7, False, "a count of tokens is a whole number"),
        ([49], False, "give a whole number of tokens, got [49]"),
        (float("nan"), False, "give a whole number"),
    ],
)
def test_check_kv_tokens(capsys, answer, ok, says):
    assert pvt.check_kv_tokens(answer, 28, 28, 4) is ok
    assert says in capsys.readouterr().out


def test_check_kv_tokens_names_ceil_mistake(capsys):
    assert not pvt.check_kv_tokens(64, 30, 30, 4)
    assert "floor" in capsys.readouterr().out


def test_check_kv_tokens_names_the_double_count(capsys):
    assert not pvt.check_kv_tokens(98, 28, 28, 4)  # 49 keys + 49 values
    assert "count them once" in capsys.readouterr().out


def test_check_kv_tokens_names_every_mistake_of_one_value(capsys):
    # 8x8, sr_ratio 2: N / sr_ratio = 32 = twice the 16 reduced tokens
    assert not pvt.check_kv_tokens(32, 8, 8, 2)
    out = " ".join(capsys.readouterr().out.split())
    assert "divides N by sr_ratio once" in out and "count them once" in out


def test_check_sra_macs_names_k_and_v_over_all_tokens(capsys):
    c = pvt.sra_cost(56, 56, 64, 1, 8)
    N, M, C = c.tokens, c.kv_tokens, 64
    assert not pvt.check_sra_macs(c.macs - 2 * M * C * C + 2 * N * C * C)
    assert "not 2·N·C²" in " ".join(capsys.readouterr().out.split())


def test_check_sra_macs_names_the_missing_term(capsys):
    c = pvt.sra_cost(56, 56, 64, 1, 8)
    assert pvt.check_sra_macs(c.macs)
    assert not pvt.check_sra_macs(c.macs - 2 * c.tokens * c.kv_tokens * 64)
    assert "q·kᵀ (N·N_k·C) and attn·v (N·N_k·C)" in capsys.readouterr().out
    assert not pvt.check_sra_macs(c.macs - 2 * c.kv_tokens * 64 * 64)
    assert "k (N_k·C²) and v (N_k·C²)" in capsys.readouterr().out
    # one of k and v, or one of the two products: both candidates named
    assert not pvt.check_sra_macs(c.macs - c.kv_tokens * 64 * 64)
    assert "k (N_k·C²); v (N_k·C²)" in " ".join(capsys.readouterr().out.split())
    assert not pvt.check_sra_macs(c.macs - c.tokens * c.kv_tokens * 64)
    assert "q·kᵀ (N·N_k·C); attn·v (N·N_k·C)" in " ".join(capsys.readouterr().out.split())
    # PVT v2's eq. (1) conv term, hwc²R², in place of N_k·C²·R²
    assert not pvt.check_sra_macs(c.macs - c.tokens * 64 * 64 + c.tokens * 64 * 64 * 64)
    assert "eq. (1)" in capsys.readouterr().out
    assert not pvt.check_sra_macs(2 * c.macs)
    assert "2 FLOPs per multiply-add" in capsys.readouterr().out


def test_check_sra_macs_names_every_term_of_the_missing_size(capsys):
    """At stage 1, N = M·R²: q, proj and the reduction conv each cost N·C², so an answer
    without proj is named as any of the three, not as the conv alone."""
    c = pvt.sra_cost(56, 56, 64, 1, 8)
    assert not pvt.check_sra_macs(c.macs - 56 * 56 * 64 * 64)
    out = " ".join(capsys.readouterr().out.split())
    assert "3 terms have the size it lacks" in out
    assert all(t in out for t in ("q (N·C²)", "proj (N·C²)", "the reduction conv"))


def test_check_sra_macs_at_r1_has_no_reduction_conv(capsys):
    """At sr_ratio 1 there is no conv (sra_cost, the official code): the exact count passes,
    and an answer short of q names q and proj, not a conv that is not there."""
    c = pvt.sra_cost(56, 56, 64, 1, 1)
    assert c.macs == 2 * c.tokens * 64 * 64 + 2 * c.tokens * 64 * 64 + 2 * c.tokens**2 * 64
    assert pvt.check_sra_macs(c.macs, sr_ratio=1)
    assert not pvt.check_sra_macs(c.macs - 56 * 56 * 64 * 64, sr_ratio=1)
    out = " ".join(capsys.readouterr().out.split())
    assert "reduction conv" not in out


def test_check_sra_macs_tells_a_per_head_count(capsys):
    c = pvt.sra_cost(56, 56, 64, 2, 8)
    per_head = c.macs - 2 * c.tokens * c.kv_tokens * 64 + 2 * c.tokens * c.kv_tokens * 32
    assert not pvt.check_sra_macs(per_head, num_heads=2)
    assert "attention products of one head" in " ".join(capsys.readouterr().out.split())


def test_check_sra_macs_tells_products_counted_per_head_over_all_channels(capsys):
    """Exercise 2's commonest slip: each head's products over all C channels, not its d."""
    c = pvt.sra_cost(40, 40, 128, 2, 4)
    slip = c.macs - 2 * c.tokens * c.kv_tokens * 128 + 2 * 2 * c.tokens * c.kv_tokens * 128
    assert slip == 163_840_000  # the reviewer's count, from the exercise's settings
    assert not pvt.check_sra_macs(slip, H=40, W=40, dim=128, num_heads=2, sr_ratio=4)
    assert "once per head over all C channels" in " ".join(capsys.readouterr().out.split())


def test_check_sra_macs_with_two_heads_names_both_slips_of_that_size(capsys):
    """With 2 heads, one head's two products cost as much as one product of all heads: the
    count cannot tell a per-head count from a product left out, so both are named."""
    c = pvt.sra_cost(40, 40, 128, 2, 4)
    wrong = c.macs - c.tokens * c.kv_tokens * 128
    assert not pvt.check_sra_macs(wrong, H=40, W=40, dim=128, num_heads=2, sr_ratio=4)
    out = " ".join(capsys.readouterr().out.split())
    assert "attention products of one head" in out
    assert "left out a term of N·N_k·C" in out and "q·kᵀ (N·N_k·C) or attn·v" in out


def test_check_sra_macs_names_a_conv_counted_as_one_by_one(capsys):
    """Review r32 E1: the reduction conv counted like linear SRA's 1×1 conv, N_k·C² instead of
    N_k·C²·R², is named as that slip (not sent to look for a missing term), and the page's
    description carries the same words."""
    kwargs = dict(H=40, W=40, dim=128, num_heads=2, sr_ratio=4)  # Exercise 2's layer
    c = pvt.sra_cost(40, 40, 128, 2, 4)
    wrong = c.macs - c.kv_tokens * 128 * 128 * (4 * 4 - 1)
    assert (c.macs, wrong) == (122_880_000, 98_304_000)
    assert not pvt.check_sra_macs(wrong, **kwargs)
    out = " ".join(capsys.readouterr().out.split())
    why = (
        "you counted the conv as N_k·C², a 1×1 conv. Its kernel is R×R: each key costs "
        "C²·R², so the term is N_k·C²·R²"
    )
    assert out == "❌ not yet: " + why
    assert [str(wrong), why] in [
        [str(w), t] for w, t in page_spec(pvt.check_sra_macs, **kwargs)["mistakes"]
    ]
    for sr in (2, 8):  # the same slip at other ratios, the default layer's included
        c = pvt.sra_cost(56, 56, 64, 1, sr)
        assert not pvt.check_sra_macs(c.macs - c.kv_tokens * 64 * 64 * (sr * sr - 1), sr_ratio=sr)
        assert "a 1×1 conv" in capsys.readouterr().out


def test_the_unfloored_count_can_be_whole_off_a_square_grid():
    """Review r32 F1: where R does not divide a side, the conv keeps ⌊H/R⌋⌊W/R⌋ tokens, not
    HW/R². On a square grid HW/R² is then never whole, on other grids it may be (6×8, R = 4)."""
    assert reduced_grid(6, 8, 4) == (1, 2) and pvt.sra_cost(6, 8, 64, 1, 4).kv_tokens == 2
    assert 6 * 8 % 4**2 == 0 and 6 * 8 // 4**2 == 3
    for R in range(2, 9):
        for H in range(R, 80):
            if H % R:
                assert H * H % (R * R)  # square: R² divides H² only if R divides H
    assert "⌊H_i/R_i⌋⌊W_i/R_i⌋ tokens" in paper.describe_differences(width=1000)


def test_check_sra_forward_tiles_that_do_not_cover_the_grid_are_told_the_floor(capsys):
    """Reshape into R×R tiles, the paper's route, fails where R does not divide the grid
    (30×22, sr_ratio 4): the message says that the conv floors."""

    def tiles(attn, x, H, W):
        R = attn.sr_ratio
        grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
        if R > 1:
            rearrange(grid, "b c (h r1) (w r2) -> b (h w) (r1 r2 c)", r1=R, r2=R)
        return student_sra(attn, x, H, W)

    assert not pvt.check_sra_forward(tiles)
    out = " ".join(capsys.readouterr().out.split())
    assert "H=30, W=22" in out and "The conv floors" in out


def student_sra(attn, x, H, W, slip=None):
    """A student's SRA, written the way the exercise asks (the reduction as the paper's
    Reshape, then W^S from attn.sr's weight and bias), with one of the slips students make."""
    h, R = attn.num_heads, attn.sr_ratio
    q = rearrange(attn.q(x), "b n (h d) -> b h n d", h=h)
    x_ = x
    if R > 1 and slip != "no reduction":
        grid = x.transpose(1, 2).reshape(x.shape[0], -1, H, W)
        if slip == "zero padding":  # covers the grid, but the conv has no padding
            grid = F.pad(grid, (0, -W % R, 0, -H % R))
        else:
            grid = grid[:, :, : H // R * R, : W // R * R]  # the conv's floor
        if slip == "F.unfold tiles":  # (c r1 r2) order, against the weight's (r1 r2 c)
            tiles = F.unfold(grid, R, stride=R).transpose(1, 2)
        elif slip == "in-tile transpose":  # (r2 r1 c) tiles, against the weight's (r1 r2 c)
            tiles = rearrange(grid, "b c (h r1) (w r2) -> b (h w) (r2 r1 c)", r1=R, r2=R)
        elif str(slip).startswith("channel-first in-tile transpose"):  # (c r2 r1) tiles
            tiles = rearrange(grid, "b c (h r1) (w r2) -> b (h w) (c r2 r1)", r1=R, r2=R)
        elif slip == "keys column by column":  # the reduced grid listed (w h), not (h w)
            tiles = rearrange(grid, "b c (h r1) (w r2) -> b (w h) (r1 r2 c)", r1=R, r2=R)
        else:
            tiles = rearrange(grid, "b c (h r1) (w r2) -> b (h w) (r1 r2 c)", r1=R, r2=R)
        if slip in ("weight.flatten(1)", "channel-first in-tile transpose, weight.flatten(1)"):
            w_s = attn.sr.weight.flatten(1).T  # (c r1 r2) order
        elif slip == "channel-first in-tile transpose":  # review r37 E1's answer
            w_s = rearrange(attn.sr.weight, "o c r1 r2 -> (c r1 r2) o")
        else:
            w_s = rearrange(attn.sr.weight, "o c r1 r2 -> (r1 r2 c) o")
        x_ = tiles @ w_s + attn.sr.bias
        if slip != "no norm":
            x_ = attn.norm(x_)
    kv = attn.kv(x_).reshape(x.shape[0], -1, 2, h, attn.dim // h).permute(2, 0, 3, 1, 4)
    k, v = (kv[1], kv[0]) if slip == "k and v swapped" else (kv[0], kv[1])
    scale = attn.scale
    if slip == "1/sqrt(C)":  # the full channel width, not the head's
        scale = x.shape[-1] ** -0.5
    if slip in ("q pre-scaled, logits too", "q pre-scaled once"):
        q = q * attn.scale  # scaled before the product, and returned so
        scale = attn.scale if slip == "q pre-scaled, logits too" else 1.0
    q_used = q
    if slip == "scaled twice, q kept":  # q returned as asked, then scaled in the product too
        q_used = q * attn.scale
    logits = q_used @ k.transpose(-2, -1)
    a = (logits if slip == "no scale" else logits * scale).softmax(
        dim=-2 if slip == "softmax over queries" else -1
    )
    out = (a @ v).transpose(1, 2).reshape(x.shape)
    out = out if slip == "no proj" else attn.proj(out)
    if slip == "(B, C, H, W) output":
        out = out.transpose(1, 2).reshape(x.shape[0], -1, H, W)
    if slip == "transposed heads":  # kept as (B, N, heads, d)
        q = rearrange(attn.q(x), "b n (h d) -> b n h d", h=h)
    return {"q": q, "x_reduced": x_, "k": k, "v": v, "attn": a, "out": out}


def test_student_sra_written_right_passes_step_by_step(capsys):
    assert pvt.check_sra_forward(student_sra)
    assert "checked step by step: q, x_reduced, k, v, attn, out" in capsys.readouterr().out


def test_sra_forward_calling_the_reduction_conv_is_told_to_write_the_papers_reshape(capsys):
    # review r23 E1: the exercise asks for SR(x) as the paper writes it, Reshape then W^S,
    # which the page prints only where R divides the grid. The slip: calling attn.sr.
    def conv(attn, x, H, W):
        if attn.sr_ratio > 1:
            attn.sr(x.transpose(1, 2).reshape(x.shape[0], -1, H, W))
        return student_sra(attn, x, H, W)

    assert not pvt.check_sra_forward(conv)
    out = " ".join(capsys.readouterr().out.split())
    assert "attn.sr's forward is switched off: write SR(x) as the paper does" in out
    assert "attn.sr.weight as an (R·R·C, C) matrix, and add attn.sr.bias" in out
    assert "..." not in out  # the whole message, not cut off


def sra_by_convolution(route):
    """A student's SRA that gets SR(x) from a convolution with attn.sr's weight and bias, by
    ``route``, not from the paper's Reshape then W^S: review r24 E1's slip. The rest is right."""
    from torch.nn.functional import conv2d  # bound before the checker runs

    def conv(attn, grid, R):
        w, b = attn.sr.weight, attn.sr.bias
        if route == "F.conv2d":  # the review's answer, which passed round 24's checker
            return F.conv2d(grid, w, b, stride=R)
        if route == "torch.conv2d":
            return torch.conv2d(grid, w, b, stride=R)
        if route == "conv2d imported early":
            return conv2d(grid, w, b, stride=R)
        if route == "a new nn.Conv2d":
            layer = torch.nn.Conv2d(grid.shape[1], w.shape[0], R, stride=R)
            layer.load_state_dict({"weight": w, "bias": b})
            return layer(grid)
        if route == "aten.convolution":
            return torch.ops.aten.convolution(grid, w, b, [R, R], [0, 0], [1, 1], False, [0, 0], 1)
        raise ValueError(route)

    def sra(attn, x, H, W):
        steps = student_sra(attn, x, H, W)
        if attn.sr_ratio > 1:
            grid = rearrange(x, "b (h w) c -> b c h w", h=H, w=W)
            reduced = conv(attn, grid, attn.sr_ratio)
            steps["x_reduced"] = attn.norm(rearrange(reduced, "b c h w -> b (h w) c"))
        return steps

    return sra


CONV_ROUTES = [
    "F.conv2d",
    "torch.conv2d",
    "conv2d imported early",
    "a new nn.Conv2d",
    "aten.convolution",
]


@pytest.mark.parametrize("route", CONV_ROUTES)
def test_sra_forward_a_convolution_for_the_reduction_is_told_to_write_the_papers(capsys, route):
    # review r24 E1: F.conv2d(grid, attn.sr.weight, attn.sr.bias, stride=R) is the conv
    # again, with no Reshape and no W^S. Every convolution refuses while the student's runs.
    assert not pvt.check_sra_forward(sra_by_convolution(route))
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("❌") and "sr_ratio=8: your function raised NotImplementedError" in out
    assert "is a convolution, and convolutions are switched off while your function runs" in out
    assert (
        "write SR(x) as the paper does: cut the grid into R×R tiles (Reshape), then multiply "
        "them by W^S, attn.sr.weight as an (R·R·C, C) matrix, and add attn.sr.bias" in out
    )
    assert "..." not in out  # the whole message, not cut off


def test_sra_forward_the_fused_attention_kernel_is_told_to_write_the_products(capsys):
    # review r49 E1: the exercise asks for the two attention products written out, and
    # F.scaled_dot_product_attention computes both: a student's `out` from it was "correct"
    def fused(attn, x, H, W):
        steps = student_sra(attn, x, H, W)
        fused_out = F.scaled_dot_product_attention(
            steps["q"], steps["k"], steps["v"], scale=attn.scale
        )
        steps["out"] = attn.proj(rearrange(fused_out, "b h n d -> b n (h d)"))
        return steps

    assert not pvt.check_sra_forward(fused)
    out = " ".join(capsys.readouterr().out.split())
    assert "scaled_dot_product_attention computes both attention products for you" in out
    assert "write q·kᵀ times the scale, the softmax and the product with v" in out


def test_sra_forward_the_convolutions_work_again_on_every_way_out(capsys, monkeypatch):
    """After a right answer, a refused conv, a student error and a timeout, every route to a
    convolution runs again, and no torch function mode is left on."""
    from vit_notes import checking

    def conv_runs():
        x, w = torch.ones(1, 2, 4, 4), torch.ones(3, 2, 2, 2)
        for route in (F.conv2d, torch.conv2d):
            assert route(x, w, stride=2).sum().item() == 3 * 4 * 8
        assert torch.nn.Conv2d(2, 3, 2, stride=2)(x).shape == (1, 3, 2, 2)
        assert not torch.overrides._is_torch_function_mode_enabled()

    def stuck(attn, x, H, W):
        while True:
            pass

    assert pvt.check_sra_forward(student_sra)
    conv_runs()
    assert not pvt.check_sra_forward(sra_by_convolution("F.conv2d"))
    conv_runs()
    assert not pvt.check_sra_forward(lambda a, x, H, W: 1 / 0)
    conv_runs()
    monkeypatch.setattr(checking, "STUDENT_SECONDS", 0.2)
    assert not pvt.check_sra_forward(stuck, configs=((8, 8, 16, 2, 2),))
    assert "was stopped" in capsys.readouterr().out
    conv_runs()


def test_refuse_convolution_names_every_convolution_and_nothing_else():
    from vit_notes.pvt.exercises import refuse_convolution

    for name in (
        "conv2d",
        "conv1d",
        "convolution",
        "_convolution",
        "conv2d.default",
        "conv_transpose2d",
        "mkldnn_convolution",
        "cudnn_convolution",
    ):
        assert "switched off" in refuse_convolution(name), name
    for name in (
        "matmul",
        "linear",
        "unfold",
        "layer_norm",
        "einsum",
        "__get__",
        "",
        "_convert_indices_from_coo_to_csr",
    ):
        assert refuse_convolution(name) is None, name


@pytest.mark.parametrize(
    "answer",
    [
        lambda a, x, H, W: a(x, H, W),
        lambda a, x, H, W: dict(out=a(x, H, W)),
        lambda a, x, H, W: {**student_sra(a, x, H, W), "out": a(x, H, W)},
    ],
    ids=["attn(x, H, W)", "dict(out=attn(x, H, W))", "steps, then attn(x, H, W)"],
)
def test_sra_forward_calling_the_module_fails(capsys, answer):
    # The slip: the exercise rebuilds attn(x, H, W) from its parts, and the answer calls attn.
    assert not pvt.check_sra_forward(answer)
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("❌") and "call the layer's parts (q, kv, proj, norm, and sr's" in out


def test_sra_forward_output_alone_or_a_step_left_out_fails(capsys):
    # The slips: the right output with none of the steps; the steps with one left out.
    assert not pvt.check_sra_forward(lambda a, x, H, W: student_sra(a, x, H, W)["out"])
    out = " ".join(capsys.readouterr().out.split())
    assert "you returned only the output" in out and "q, x_reduced, k, v, attn and out" in out

    def no_keys(a, x, H, W):
        steps = student_sra(a, x, H, W)
        del steps["k"], steps["x_reduced"]
        return steps

    assert not pvt.check_sra_forward(no_keys)
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("❌") and "the steps x_reduced, k are missing" in out


@pytest.mark.parametrize(
    "slip,says",
    [
        (
            "no reduction",
            "x_reduced (the tokens keys and values come from: Reshape, W^S, then LayerNorm): "
            "these are all N tokens",
        ),
        ("no norm", "this is Reshape(x, R) W^S without the LayerNorm (attn.norm)"),
        (
            "zero padding",
            "H=30, W=22, dim=64, heads=2, sr_ratio=4: the first wrong step is x_reduced "
            "(the tokens keys and values come from: Reshape, W^S, then LayerNorm): these keys "
            "cover a grid padded to a multiple of R. The conv has no padding",
        ),
        (
            "F.unfold tiles",
            "x_reduced (the tokens keys and values come from: Reshape, W^S, then LayerNorm): "
            "your tiles hold their numbers in (c r1 r2) order and W^S's rows are in (r1 r2 c), "
            "or the other way round",
        ),
        (
            "weight.flatten(1)",
            "x_reduced (the tokens keys and values come from: Reshape, W^S, then LayerNorm): "
            "your tiles hold their numbers in (c r1 r2) order and W^S's rows are in (r1 r2 c), "
            "or the other way round",
        ),
        (
            "in-tile transpose",
            "x_reduced (the tokens keys and values come from: Reshape, W^S, then LayerNorm): "
            "the two axes inside a tile are swapped between your tiles and W^S's rows: one "
            "holds a tile's numbers as (r1 r2), the other as (r2 r1)",
        ),
        (
            "keys column by column",
            "the first wrong step is x_reduced (the tokens keys and values come from: Reshape, "
            "W^S, then LayerNorm): the right values in the wrong order: your keys are the right "
            "ones in another order: list the reduced grid row by row, '(gh gw)', as the module "
            "does",
        ),
        ("k and v swapped", "first wrong step is k (the keys): k and v are swapped"),
        (
            "no scale",
            "first wrong step is attn (the attention map, softmax(q kᵀ · scale)): "
            "the map is softmax(q kᵀ) without the scale",
        ),
        (
            "q pre-scaled, logits too",
            "first wrong step is q (the queries, split into heads, not yet scaled): this q is "
            "already multiplied by attn.scale. Return the step q before any scale, as the "
            "exercise asks. After that you may scale q instead of the logits, once",
        ),
        (
            "q pre-scaled once",
            "first wrong step is q (the queries, split into heads, not yet scaled): this q is "
            "already multiplied by attn.scale. Return the step q before any scale",
        ),
        (
            "scaled twice, q kept",
            "first wrong step is attn (the attention map, softmax(q kᵀ · scale)): the map is "
            "softmax(q kᵀ · scale²): the scale was applied twice",
        ),
        (
            "1/sqrt(C)",
            "H=28, W=28, dim=128, heads=2, sr_ratio=4: the first wrong step is attn (the "
            "attention map, softmax(q kᵀ · scale)): the map is softmax(q kᵀ / √C) with C the "
            "full channel width. Eq. (4) divides by √d_head, with d_head = C/heads",
        ),
        ("softmax over queries", "the softmax runs over the queries"),
        (
            "no proj",
            "first wrong step is out (the output, after proj): this is the heads' "
            "output before the projection",
        ),
        ("(B, C, H, W) output", ".permute(0, 2, 3, 1).reshape(2, 3136, 64) fixes it"),
    ],
)
def test_sra_forward_names_the_first_wrong_step_and_the_slip(capsys, slip, says):
    assert not pvt.check_sra_forward(lambda a, x, H, W: student_sra(a, x, H, W, slip))
    assert says in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "slip",
    ["channel-first in-tile transpose", "channel-first in-tile transpose, weight.flatten(1)"],
)
def test_sra_forward_channel_first_in_tile_transpose_names_no_order_the_answer_lacks(capsys, slip):
    # review r37 E1: tiles read (c r2 r1) against W^S's rows read (c r1 r2), by rearrange or by
    # weight.flatten(1). The message named (r2 r1 c) and (r1 r2 c), orders this answer never
    # wrote: it names the swapped pair and says the channel sits in one place in both.
    assert not pvt.check_sra_forward(lambda a, x, H, W: student_sra(a, x, H, W, slip))
    out = " ".join(capsys.readouterr().out.split())
    assert "the first wrong step is x_reduced" in out
    assert (
        "the two axes inside a tile are swapped between your tiles and W^S's rows: one holds a "
        "tile's numbers as (r1 r2), the other as (r2 r1), with the channel c in the same place "
        "in both. F.unfold and weight.flatten(1) give (c r1 r2): read the tiles and the weight "
        "in one order" in out
    )
    assert "(r2 r1 c)" not in out and "(r1 r2 c)" not in out


def test_sra_forward_transposed_heads_and_tokens_is_a_layout(capsys):
    assert not pvt.check_sra_forward(
        lambda a, x, H, W: student_sra(a, x, H, W, "transposed heads"), ((28, 28, 128, 2, 4),)
    )
    out = " ".join(capsys.readouterr().out.split())
    assert "first wrong step is q" in out and "your dims are (B, N, heads, d)" in out


def test_sra_forward_wrong_shape_and_unanswered_and_broken(capsys):
    assert not pvt.check_sra_forward(
        lambda a, x, H, W: {**student_sra(a, x, H, W), "out": x[:, :1]}
    )
    assert "shape (2, 1, 64), expected (B, N, C) = (2, 3136, 64)" in capsys.readouterr().out
    assert not pvt.check_sra_forward(lambda a, x, H, W: dict.fromkeys(SRA_STEPS))
    out = " ".join(capsys.readouterr().out.split())
    assert "step is q (the queries, split into heads, not yet scaled): not computed yet" in out
    assert not pvt.check_sra_forward(lambda a, x, H, W: 1 / 0)
    assert "raised ZeroDivisionError" in capsys.readouterr().out
    assert not pvt.check_sra_forward(None)
    assert "give a function, got None" in capsys.readouterr().out


def test_sra_steps_equal_the_module_map_and_output():
    from vit_notes import record_attention

    configs = inspect.signature(pvt.check_sra_forward).parameters["configs"].default
    for _, attn, (x, H, W) in pvt.exercises._sra_cases(configs):
        steps = pvt.sra_steps(attn, x, H, W)  # the reduction as the paper's Reshape, W^S
        with torch.no_grad(), record_attention(attn) as maps:
            out = attn(x, H, W)
            reduced = attn.reduce(x, H, W)  # the module's strided conv
        torch.testing.assert_close(steps["x_reduced"], reduced, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(steps["out"], out, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(steps["attn"], maps.last(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "answer,says",
    [
        (
            58_600_000,
            "close: 58,600,000 is too low, within 1% of the answer; it is the "
            "answer rounded to 3 significant figures",
        ),
        ("58.6M", "rounded to 3 significant figures"),
        (
            58_605_568 - 12_845_056,
            "3 terms have the size it lacks: q (N·C²); proj (N·C²); the reduction conv",
        ),
        (
            58_605_568 - 200_704 - 9_834_496,
            "leaves out two terms: either k (N_k·C²) and q·kᵀ (N·N_k·C)",
        ),
        (58_605_568 - 12_845_056 + 12_845_056 // 8, "N_k·C²·R², not N_k·C²·R"),
        (10**400, "a 401-digit number is too high, more than 10× off"),
    ],
)
def test_sra_macs_near_misses_and_slips(capsys, answer, says):
    assert not pvt.check_sra_macs(answer)
    assert says in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (16, True, "grows 16×"),
        ("16.0", True, "image size to 224 and move its sr_ratio slider from 8 to 2"),
        (4, False, "4× is the growth of each side of the key grid"),
        (1 / 16, False, "the factor the other way"),
        (256, False, "the queries do not change"),
        (15, False, "15 is too small. Try again before you move the slider"),
        (15.8, False, "close: 15.8 is too low, within 10% of the answer; the factor is exact"),
        (15.9, False, "the factor is exact: work it out from the two key grids"),
        (100, False, "100 is too large. Try again before you move the slider"),
        (None, False, "write your prediction of the factor as a number, got None"),
    ],
)
def test_explorer_prediction(capsys, answer, ok, says):
    assert pvt.check_explorer_prediction(answer) is ok
    out = " ".join(capsys.readouterr().out.split())
    assert says in out
    # only a right answer is told the slider's readings, which show the factor
    assert ("move its sr_ratio slider" in out) is ok
    assert ok or not any(s in out for s in ("16", "KiB", "MiB", "28×28"))


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        # 28×28 tokens: sr_ratio 8 floors to 3×3 = 9 keys, sr_ratio 2 leaves 14×14 = 196
        ("196/9", True, "grows 196/9 ≈ 21.78×"),
        (21.78, True, "from 3×3 to 14×14, 196 keys over 9"),
        (196 / 9, True, "(R/R')² = 16 does not hold here"),
        (16, False, "16 is (R/R')², which holds only where both ratios divide"),
        (12.25, False, "you rounded a key grid's side up"),
        (14 / 3, False, "14/3× is the growth of each side of the key grid"),
        (4, False, "that is R/R' = 4"),
        (9 / 196, False, "the factor the other way"),
        ((196 / 9) ** 2, False, "the queries do not change"),
        # the answer rounded or cut off at its own last digit: every one is right
        (22, True, "grows 196/9 ≈ 21.78×"),
        (21.8, True, "grows 196/9 ≈ 21.78×"),
        (21.777, True, "grows 196/9 ≈ 21.78×"),
        ("21.777", True, "grows 196/9 ≈ 21.78×"),
        (21.7, True, "grows 196/9 ≈ 21.78×"),
        # review r23 E2: a float32 answer is read at its own precision, as torch prints it
        (np.float32(21.78), True, "grows 196/9 ≈ 21.78×"),
        (torch.tensor(21.78), True, "grows 196/9 ≈ 21.78×"),
        (torch.tensor(196.0) / 9, True, "grows 196/9 ≈ 21.78×"),
        (torch.tensor([21.78], dtype=torch.float16), True, "grows 196/9 ≈ 21.78×"),
        (np.float32(21.5), False, "close: 21.5 is too low, within 10% of the answer"),
        (21.5, False, "close: 21.5 is too low, within 10% of the answer"),
        (21.7771, False, "close: 21.7771 is too low, within 1% of the answer"),
        (30, False, "30 is too large"),
        # review r48: the factor cut off at its whole part is named, not only "too small"
        (21, False, "21 cuts the factor off at its whole part, more than 2% below it"),
        (22, True, "grows 196/9 ≈ 21.78×"),
        # review r50 E1: the messages say what is right: a rounding or a cut-off
        (21.7, True, "grows 196/9 ≈ 21.78×"),
        (21.9, False, "a rounding or cut-off of it within 2%"),
        ("many", False, "write your prediction of the factor as a number"),
    ],
)
def test_explorer_prediction_floors_at_112(capsys, answer, ok, says):
    assert pvt.check_explorer_prediction(answer, size=112, start=8, end=2) is ok
    out = " ".join(capsys.readouterr().out.split())
    assert says in out
    assert ("from 27.6 KiB to 600 KiB" in out) is ok
    assert "4²" not in out  # the rule of a divided grid is not named where it fails


@pytest.mark.parametrize(
    "size,start,end,right,rule",
    [
        (160, 8, 4, 4, "from 5×5 to 10×10: (R/R')² = 2²"),  # 40×40: both divide
        (112, 8, 4, 49 / 9, "49/9 ≈ 5.444×"),  # 28×28: 3×3 to 7×7
        (160, 8, 1, 64, "from 5×5 to 40×40: (R/R')² = 8²"),
        (112, 4, 2, 4, "from 7×7 to 14×14: (R/R')² = 2²"),
    ],
)
def test_explorer_prediction_at_every_explorer_size(capsys, size, start, end, right, rule):
    assert pvt.check_explorer_prediction(right, size=size, start=start, end=end)
    assert rule in " ".join(capsys.readouterr().out.split())
    grids = [pvt.sra_cost(size // 4, size // 4, 64, 1, r).kv_tokens for r in (start, end)]
    assert grids[1] / grids[0] == pytest.approx(right)


@pytest.mark.parametrize("bad", [dict(start=0), dict(end="2"), dict(start=64, size=112)])
def test_explorer_prediction_refuses_bad_settings(bad):
    with pytest.raises((ValueError, TypeError), match="start|end"):
        pvt.check_explorer_prediction(16, **bad)


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (
            8,
            True,
            "16×16 keys, each reduction tile 32 pixels wide. The map takes 16.0 MiB, the "
            "finest keys",
        ),
        ("8", True, "PVT v2's linear SRA, as in its B2-Li"),
        (8, True, "R²C² weights grow fourfold: 262,144 at 8, 1,048,576 at 16"),
        (4, False, "64.0 MiB, 2.7× the 24 MiB budget"),
        (16, False, "inside the budget, but sr_ratio 8 fits too with 4× the keys"),
        (5, False, "choose one of 1, 2, 4, 8, 16, 32; got 5"),
        ([8], False, "choose one of"),
    ],
)
def test_sr_ratio_judgement(capsys, answer, ok, says):
    assert pvt.check_sr_choice(answer) is ok
    assert says in " ".join(capsys.readouterr().out.split())


def test_the_toy_says_what_its_weights_are():
    """The toy's maps carry its weights in words, read from its layers: not "identity weights"
    alone, since the reductions average, the LayerNorm and the logit scale are set too (r54's
    finding on Shunted, the same toy here). The explorer's caption and alt text say them."""
    from vit_notes.pvt.figures import _toy_weights

    img = photo.load_photo(64)
    sra = (
        "hand-set weights: identity q, k, v and proj, zero biases, reductions average their "
        "tiles, LayerNorm weight 1, bias 0, logit scale 0.25"
    )
    assert pvt.sra_query_maps(img, (1, 2, 4, 8)).weights == sra
    # no reduction, no LayerNorm: nothing said of them
    plain = pvt.sra_query_maps(img, (1,)).weights
    assert plain == "hand-set weights: identity q, k, v and proj, zero biases, logit scale 0.25"
    linear = pvt.sra_query_maps(img, (1,), linear=True).weights
    assert "linear SRA average-pools to 7×7, identity 1×1 conv" in linear
    assert "reductions average" not in linear
    # read, not typed: another scale, another LayerNorm
    assert pvt.sra_query_maps(img, (8,), scale=0.5).weights.endswith("logit scale 0.5")
    layer = pvt.identity_sra(64, 8)
    with torch.no_grad():
        layer.norm.bias.fill_(2.0)
    assert "LayerNorm weight 1, bias 2," in _toy_weights(layer)
    # a layer that is not the toy is refused, not described as one
    with torch.no_grad():
        layer.sr.weight.mul_(2)
    with pytest.raises(ValueError, match="not a toy layer"):
        _toy_weights(layer)
    with pytest.raises(ValueError, match="logit scales differ"):
        _toy_weights(pvt.identity_sra(64, 1), pvt.identity_sra(64, 2, scale=0.5))
    e = pvt.sra_explorer()
    state = e.default_state()
    assert f"Toy: colour tokens, {sra}." in e.caption(**state)
    assert f"colour-token toy ({sra}) with" in e.alt(**state)
    assert "identity weights" not in e.caption(**state) + e.alt(**state)
    assert plain in e.caption(**{**state, "sr_ratio": 1})


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


def test_sra_explorer_shows_the_packages_maps_and_costs():
    e = pvt.sra_explorer()
    assert [c.label for c in e.controls] == ["sr_ratio", "heads", "image size"]
    state = dict(sr_ratio=4, num_heads=2, size=160)
    plain, panel = e.state_maps(state)  # the plain-attention reference, then SRA
    assert panel.grid == (10, 10) and panel.rows.shape == (100, 100)  # every query of 10x10
    assert plain.grid == (40, 40) and plain.rows.shape == (100, 1600)
    assert "plain" in plain.title and "R=4" in panel.title
    img = photo.load_photo(160)
    for i in (0, 37, 99):
        maps = pvt.sra_query_maps(img, (1, 4), e.query_positions()[i], num_heads=2)
        torch.testing.assert_close(plain.rows[i], maps[1][0])
        torch.testing.assert_close(panel.rows[i], maps[4][0])
    # at sr_ratio 1 SRA is plain attention: the page stores that map once
    same = e.state_maps(dict(state, sr_ratio=1))
    torch.testing.assert_close(same[0].rows, same[1].rows)
    (chart,) = e.bars(**state)
    plain = pvt.sra_cost(40, 40, 64, 2, 1)
    sra = pvt.sra_cost(40, 40, 64, 2, 4)
    assert chart.texts[0] == f"{plain.macs / 1e6:,.0f} M, {plain.attn_bytes / 2**20:.1f} MiB"
    # the ratio says which cost it is: it follows the map's memory, 256× less here
    assert chart.texts[1].endswith(f"({plain.macs / sra.macs:.2g}× fewer MACs)")
    assert chart.values[1] == sra.macs and not chart.log  # linear: the ratio drawn as it is
    caption = e.caption(**state)
    assert "1600 queries, 2 heads. SRA: 100 keys." in caption and ";" not in caption


# --- The chapter's figures follow the book's standard -----------------------------------------


def clipped_text(fig) -> list[str]:
    """Drawn texts that reach past the figure's edge (figure_problems does not look at that)."""
    fig.canvas.draw()
    renderer, edge = fig.canvas.get_renderer(), fig.bbox.padded(1)
    # Left out: hidden axes, and tick and axis labels (constrained layout keeps them inside;
    # matplotlib also keeps labels for ticks outside the view, which are never drawn).
    hidden = set()
    for ax in fig.axes:
        hidden |= set(ax.xaxis.findobj(Text)) | set(ax.yaxis.findobj(Text))
        if not ax.get_visible():
            hidden |= set(ax.findobj(Text))
    clipped = []
    for t in fig.findobj(Text):
        if t in hidden or not (t.get_visible() and t.get_text().strip()):
            continue
        box = t.get_window_extent(renderer)
        if not (
            edge.x0 <= box.x0 and box.x1 <= edge.x1 and edge.y0 <= box.y0 and box.y1 <= edge.y1
        ):
            clipped.append(t.get_text())
    return clipped


def fake_timings(bump: dict | None = None) -> list[dict]:
    """Counted rows against sr_ratio with made-up latencies that follow the counts (a fixed
    0.5 ms plus 20 ms per GMAC), each multiplied by ``bump[(variant, sr_ratio)]``."""
    rows = pvt.sra_cost_table(sizes=(64,), sr_ratios=(1, 2, 4, 8), timed=False)
    for r in rows:
        r["ms"] = (0.5 + 20 * r["counted_gmacs"]) * (bump or {}).get(
            (r["variant"], r["sr_ratio"]), 1
        )
    return rows


def test_every_figure_of_the_chapter_follows_the_standard():
    img, query = photo.load_photo(96), (0.3, 0.5)
    timed = fake_timings({("SRA", 4): 2.0})  # with a ringed point and its note
    counted = pvt.sra_cost_table(sizes=(64, 96), sr_ratios=(4,), timed=False)
    figures = {
        "schematic": pvt.draw_sra_schematic(),
        "linear schematic": pvt.draw_sra_schematic(
            pvt.SpatialReductionAttention(32, 2, linear=True), 24, 24
        ),
        "cost, timed": pvt.plot_cost(timed, "sr_ratio", "one layer at 64x64"),
        "cost, quiet": pvt.plot_cost(fake_timings(), "sr_ratio", "one layer at 64x64"),
        "cost, counted": pvt.plot_cost(counted, "size", "one layer, sr_ratio 4"),
        "query maps": plotting.plot_query_maps(
            img, pvt.sra_query_maps(img, (1, 2, 4, 8), query), query
        ),
    }
    e = pvt.sra_explorer()
    explorer = e.figures(dict(sr_ratio=2, num_heads=2, size=112), (9, 0))
    figures.update({f"explorer {i}": fig for i, fig in enumerate(explorer)})
    # the starting state, whose caption and peaks' note take the most lines
    start = e.figures(e.default_state())
    figures.update({f"explorer start {i}": fig for i, fig in enumerate(start)})
    for name, fig in figures.items():
        assert plotting.figure_problems(fig) == [], name
        assert clipped_text(fig) == [], name
    assert len(figures["query maps"].axes) == 5  # four maps on one scale, one colour bar


def rows_at(rows, variant, sr_ratio):
    return next(r for r in rows if (r["variant"], r["sr_ratio"]) == (variant, sr_ratio))


def notes_of(fig) -> str:
    return " ".join(t.get_text() for t in fig.axes[3].texts).replace("\n", " ")


def test_cost_plot_says_when_a_timed_point_is_noise():
    quiet = pvt.plot_cost(fake_timings(), "sr_ratio", "t")
    quiet_note = notes_of(quiet)
    # no ring, no note about noise or tolerances: nothing the rounds cannot support
    assert "noise" not in quiet_note and "%" not in quiet_note and "ring" not in quiet_note
    assert all("log scale" in ax.get_ylabel() for ax in quiet.axes[:3])

    # SRA at sr_ratio 4 made slower than at sr_ratio 2, which does more work; timed once,
    # so nothing says it would repeat: noise, ringed in red
    rows = fake_timings({("SRA", 4): 2.0})
    (surprise,) = pvt.timing_surprises(rows, "sr_ratio")
    assert (surprise["variant"], surprise["x"], surprise["ref_x"]) == ("SRA", 4, 2)
    assert not surprise["always"]
    fig = pvt.plot_cost(rows, "sr_ratio", "t")
    assert "SRA at sr_ratio 4" in notes_of(fig)
    assert "only a rerun can tell whether it is noise" in notes_of(fig)
    ringed = [
        ln
        for ln in fig.axes[2].lines
        if ln.get_markeredgecolor() == "tab:red" and ln.get_markersize() == 14
    ]
    assert [tuple(ln.get_xdata()) for ln in ringed] == [(4,)]

    # SRA at sr_ratio 2 three times slower: slower than sr_ratio 1 (plain, more work) and
    # more than its extra work over sr_ratio 4 and 8 explains; one surprise, the worst kept
    (surprise,) = pvt.timing_surprises(fake_timings({("SRA", 2): 3.0}), "sr_ratio")
    assert (surprise["x"], surprise["ref_x"]) == (2, 1)


def test_a_point_slower_in_every_round_is_a_cost_not_noise():
    rows = fake_timings({("SRA", 4): 2.0})
    for r in rows:  # three rounds, each as slow as the fastest
        r["ms_rounds"] = [r["ms"], r["ms"] * 1.01, r["ms"] * 1.02]
    (surprise,) = pvt.timing_surprises(rows, "sr_ratio")
    assert surprise["always"]
    fig = pvt.plot_cost(rows, "sr_ratio", "t")
    assert "a cost the counts miss, not noise" in notes_of(fig)
    # the time ratio within each round: SRA at 4 over 2, the same in all three rounds
    ratio = rows_at(rows, "SRA", 4)["ms"] / rows_at(rows, "SRA", 2)["ms"]
    # to two significant figures: the rounds of a loaded machine support no more
    r2 = counting.significant(ratio, 2)
    assert f"{r2}× to {r2}× the time within each of 3 rounds" in notes_of(fig)
    assert "fastest" not in notes_of(fig)  # no ratio of single rounds
    ringed = [ln for ln in fig.axes[2].lines if ln.get_markeredgecolor() == "black"]
    assert [tuple(ln.get_xdata()) for ln in ringed] == [(4,)]
    # one round only as slow: noise
    for r in rows:
        if (r["variant"], r["sr_ratio"]) == ("SRA", 4):
            r["ms_rounds"] = [r["ms"], r["ms"] / 2, r["ms"] / 2]
    (surprise,) = pvt.timing_surprises(rows, "sr_ratio")
    assert not surprise["always"]


def test_cost_plot_says_only_the_order_that_holds_in_every_round():
    # against the image size: plain attention's time grows most in each of three rounds
    rows = pvt.sra_cost_table(sizes=(64, 96, 128), sr_ratios=(4,), timed=False)
    for r in rows:
        base = 0.5 + 20 * r["counted_gmacs"]
        r["ms_rounds"] = [base, base * 1.5, base * 0.9]
        r["ms"] = min(r["ms_rounds"])
    order = pvt.growth_order(rows, "size")
    assert ("plain", "SRA") in order and ("plain", "linear SRA") in order
    note = notes_of(pvt.plot_cost(rows, "size", "t"))
    assert "In each of 3 rounds, plain's time grew more from size 64 to 128 than" in note
    assert "×" not in note.split("In each of 3 rounds")[-1]  # the order, no ratio
    # one round where SRA grows more than plain: that pair is not said
    for r in rows:
        if r["variant"] == "SRA" and r["size"] == 128:
            r["ms_rounds"][1] *= 1000
    assert ("plain", "SRA") not in pvt.growth_order(rows, "size")
    assert ("SRA", "plain") not in pvt.growth_order(rows, "size")
    # one round, or a variant timed once against sr_ratio: no order is said
    assert pvt.growth_order(fake_timings(), "sr_ratio") == []
    swept = fake_timings()
    for r in swept:
        r["ms_rounds"] = [r["ms"], r["ms"] * 1.1]
    assert pvt.growth_order(swept, "sr_ratio") == []  # plain and linear SRA have no sr_ratio


def test_cost_plot_draws_a_layer_without_sr_ratio_once():
    # plain attention and linear SRA were timed once: a flat line, no dots, one bar
    rows = fake_timings()
    fig = pvt.plot_cost(rows, "sr_ratio", "t")
    ax_ms = fig.axes[2]
    for variant in pvt.VARIANTS:
        colour = pvt.figures.COLOURS[variant]
        (line,) = [
            ln for ln in ax_ms.lines if (ln.get_color(), ln.get_linestyle()) == (colour, "-")
        ]
        assert (line.get_marker() in ("None", "", None)) is (variant != "SRA")
        bars = [c for c in ax_ms.collections if tuple(c.get_color()[0][:3]) == to_rgb(colour)]
        # SRA at sr_ratio 1 is plain attention: no bar of its own over plain's
        assert sum(len(c.get_segments()) for c in bars) == (3 if variant == "SRA" else 1)
    # ... and an open diamond at plain's time, not a measurement of its own: not the open
    # circle that the legend gives the counter; the notes panel says what it is
    (dot,) = [ln for ln in ax_ms.lines if (ln.get_linestyle(), ln.get_marker()) == ("None", "D")]
    assert not [ln for ln in ax_ms.lines if (ln.get_linestyle(), ln.get_marker()) == ("None", "o")]
    assert dot.get_markerfacecolor() == "white"
    assert "SRA at sr_ratio 1 is plain attention: same timing, diamond." in notes_of(fig)
    assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (1, rows_at(rows, "plain", 1)["ms"])
    # timed in every round like the others, not once: the note says so
    assert "no sr_ratio: drawn flat, one bar" in notes_of(fig)  # fake rows: no rounds
    for r in rows:
        r["ms_rounds"] = [r["ms"]] * 5
    assert "no sr_ratio: timed in all 5 rounds, drawn flat, one bar" in notes_of(
        pvt.plot_cost(rows, "sr_ratio", "t")
    )
    assert "timed once" not in notes_of(fig)
    assert "SRA at sr_ratio 1 is plain attention: same timing" in notes_of(fig)
    alt = plotting.alt_text(fig)
    assert "timed once" not in alt
    for variant, name in (("plain", "Plain: "), ("linear SRA", "Linear SRA: ")):
        ms = rows_at(rows, variant, 1)["ms"]
        own = alt.split(name)[-1]
        assert f"It has no sr_ratio: one time for all, {significant(ms)} ms." in own
    # against the image size every layer is timed at every point
    sizes = pvt.sra_cost_table(sizes=(64, 96), sr_ratios=(4,), timed=False)
    for r in sizes:
        r["ms"] = 1.0 + r["counted_gmacs"]
    assert "timed once" not in notes_of(pvt.plot_cost(sizes, "size", "t"))


def test_cost_alt_gives_each_time_as_its_rounds_spread_in_short_sentences():
    # the alt text says a time is the fastest of the rounds, and gives the slowest too: one
    # sentence per fact, no semicolons, no exponent form, the title's lines as sentences
    rows = fake_timings()
    for r in rows:
        r["ms_rounds"] = [r["ms"], r["ms"] * 2.05, r["ms"] * 1.5]
    for r in rows:
        r["ms"] *= 1000  # thousands of ms: the exponent form the old text wrote
        r["ms_rounds"] = [v * 1000 for v in r["ms_rounds"]]
    alt = plotting.alt_text(pvt.plot_cost(rows, "sr_ratio", "a title\ntimed under load"))
    assert alt.startswith("A title. Timed under load. ")
    assert "Each time runs from the fastest of 3 rounds to the slowest." in alt
    assert ";" not in alt and not re.search(r"\de[+-]\d", alt)
    plain = rows_at(rows, "plain", 1)
    assert (
        "Plain: " in alt
        and f"one time for all, {significant(plain['ms'])} to "
        f"{significant(max(plain['ms_rounds']))} ms."
        in alt
    )
    sra = sorted((r for r in rows if r["variant"] == "SRA"), key=lambda r: r["sr_ratio"])
    took = ", ".join(
        f"{significant(r['ms'])} to {significant(max(r['ms_rounds']))}" for r in sra[:-1]
    )
    assert f"It took {took} and " in alt
    sentences = [x for x in re.split(r"(?<=\.) (?=[A-Z])", alt)]
    assert max(len(x.split()) for x in sentences) <= 25, sentences


def test_schematic_alt_is_short_sentences():
    alt = plotting.alt_text(pvt.draw_sra_schematic())
    assert ";" not in alt
    assert "The queries come from all 3,136 tokens." in alt
    assert "The keys and values come from 49 tokens: an 8×8 convolution of stride 8" in alt
    assert "The attention map is 3,136×49." in alt
    linear = plotting.alt_text(
        pvt.draw_sra_schematic(attn=pvt.figures._sra(64, 1, "linear SRA", 1))
    )
    assert ";" not in linear and "average-pooled to 7×7" in linear


def test_sra_explorer_alt_says_what_its_starting_picture_shows():
    # not the title: the photo, the query, both maps' keys and largest weight, the bars
    e = pvt.sra_explorer()
    alt = e.fallback_alt()
    assert not alt.startswith(e.title)
    state = e.default_state()
    query = e.query_positions()[e.query_cell(e.default_query)]
    assert f"query ({query[0]:.2f}, {query[1]:.2f}) in a cyan box" in alt
    maps = pvt.sra_query_maps(
        photo.load_photo(state["size"]), (1, state["sr_ratio"]), query,
        num_heads=state["num_heads"],
    )  # fmt: skip
    plain, sra = (significant(float(maps[r][0].max()), 2) for r in (1, state["sr_ratio"]))
    assert f"Plain attention has 56×56 keys and a largest weight of {plain}." in alt
    assert f"SRA at sr_ratio 8 has 7×7 keys and a largest weight of {sra}." in alt
    for bar in pvt.cost_chart(state["size"], state["num_heads"], state["sr_ratio"]).texts:
        mmacs, size = bar.split(" (")[0].split(", ")
        assert f"{mmacs.removesuffix(' M')} million and {size}" in alt


def test_cost_plot_names_fixed_costs_where_more_work_is_not_slower():
    assert pvt.fixed_cost_pairs(fake_timings(), "sr_ratio") == []
    rows = fake_timings({("linear SRA", s): 30 for s in (1, 2, 4, 8)})
    first = pvt.fixed_cost_pairs(rows, "sr_ratio")[0]
    assert (first["more"], first["less"]) == ("plain", "linear SRA")
    assert pvt.timing_surprises(rows, "sr_ratio") == []  # each variant alone follows its counts
    assert "fixed cost" in notes_of(pvt.plot_cost(rows, "sr_ratio", "t"))


def traced_shapes(attn, H, W, batch):
    """What trace_shapes prints for ``attn`` on an ``H x W`` grid: {"kv_shape": "(...)"}."""
    buf = io.StringIO()
    x = torch.zeros(batch, H * W + attn.num_prefix_tokens, attn.dim)
    with trace_shapes(attn, root="sra", stream=buf), torch.no_grad():
        attn(x, H, W)
    return dict(re.findall(r"^sra (\w+_shape): (\(.*\))$", buf.getvalue(), re.M))


def drawn_shapes(fig):
    text = "\n".join(t.get_text() for t in fig.findobj(Text))
    return dict(re.findall(r"(\w+_shape): (\([\d, ]+\))", text))


SCHEMATIC_LAYERS = [  # (dim, heads, sr_ratio, linear, prefix tokens, H, W, batch)
    (64, 2, 8, True, 0, 56, 56, 1),
    (512, 8, 1, False, 0, 7, 7, 1),
    (64, 2, 4, False, 0, 30, 23, 2),
    (64, 2, 1, False, 1, 7, 7, 1),
    (32, 1, 2, True, 0, 9, 5, 3),
]


@pytest.mark.parametrize("dim,heads,sr,linear,prefix,H,W,batch", SCHEMATIC_LAYERS)
def test_schematic_labels_are_what_trace_shapes_prints(dim, heads, sr, linear, prefix, H, W, batch):
    attn = pvt.SpatialReductionAttention(
        dim, heads, sr_ratio=sr, linear=linear, num_prefix_tokens=prefix
    ).eval()
    printed = traced_shapes(attn, H, W, batch)
    assert drawn_shapes(pvt.draw_sra_schematic(attn, H, W, batch=batch)) == printed
    assert {f"{k}_shape": str(v) for k, v in pvt.sra_shapes(attn, H, W, batch).items()} == printed


def test_default_schematic_is_stage_1_of_pvt_tiny():
    model = pvt.create("pvt_tiny", depths=(1, 1, 1, 1)).eval()
    printed = traced_shapes(model.block1[0].attn, 56, 56, 1)
    assert printed["kv_shape"] == "(2, 1, 1, 49, 64)"
    fig = pvt.draw_sra_schematic()
    assert drawn_shapes(fig) == printed
    assert "3136×49, not 3136×3136" in fig.axes[0].get_title()


def test_query_peaks_are_each_querys_maps():
    img = photo.load_photo(128)
    near = photo.nearby_queries((0.3, 0.5), n=2)
    peaks = pvt.query_peaks(img, near, (1, 8), mass=0.9)
    assert [p["query"] for p in peaks] == near
    for p in peaks:
        maps = pvt.sra_query_maps(img, (1, 8), p["query"])
        for r, (row, grid) in maps.items():
            assert p["peaks"][r] == pytest.approx(float(row.max()), abs=1e-6)
            assert p["grids"][r] == grid
            top = row.sort(descending=True).values
            # the fewest keys that hold 90%: one fewer holds less
            assert top[: p["keys"][r]].sum() >= 0.9 - 1e-6
            assert top[: p["keys"][r] - 1].sum() < 0.9
    with pytest.raises(ValueError, match="mass"):
        pvt.query_peaks(img, near, mass=0)


def test_query_maps_coarsen_with_sr_ratio():
    maps = pvt.sra_query_maps(photo.load_photo(128), (1, 2, 4, 8), (0.3, 0.5))
    assert [grid for _, grid in maps.values()] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert all(abs(float(row.sum()) - 1) < 1e-5 for row, _ in maps.values())


def test_query_maps_take_the_logit_scale():
    img = photo.load_photo(128)
    own = pvt.SpatialReductionAttention(64, num_heads=1).scale  # 1/sqrt(64), eq. (4)
    toy = pvt.sra_query_maps(img, (8,), (0.3, 0.5))[8][0]
    layer = pvt.sra_query_maps(img, (8,), (0.3, 0.5), scale=own)[8][0]
    assert own == 0.125 and pvt.identity_sra(64, 8).scale == 0.25
    assert layer.max() < toy.max()  # a smaller scale, a softer softmax
    with pytest.raises(ValueError, match="qk_scale"):
        pvt.sra_query_maps(img, (8,), (0.3, 0.5), scale=float("nan"))


# --- Input sizes: whatever the official code and timm accept, with their outputs ---------------
# v2 is checked against timm (the official v2 code behaves the same: overlapping patch
# embeddings k7 s4 p3 then k3 s2 p1, grids ceil(H/4) then ceil(./2), no position embedding).

V2_SIZES = [(224, 224), (160, 96), (100, 132), (65, 77), (33, 200), (29, 29), (29, 200)]


@pytest.fixture(scope="module", params=["pvt_v2_b0", "pvt_v2_b2_li_small"])
def timm_v2_pair(request):
    """(timm model, ours) with timm's weights copied through ``state_dict_from_timm``."""
    timm_pvt = pytest.importorskip("timm.models.pvt_v2")
    torch.manual_seed(0)
    if request.param == "pvt_v2_b0":
        theirs = timm_pvt.pvt_v2_b0(pretrained=False, num_classes=10)
        ours = pvt.pvt_v2_b0(num_classes=10)
    else:  # pvt_v2_b2_li shrunk, the same arguments on both sides
        small = dict(embed_dims=(32, 64, 160, 256), depths=(1, 1, 1, 1), num_classes=10)
        theirs = timm_pvt.PyramidVisionTransformerV2(num_heads=(1, 2, 5, 8), linear=True, **small)
        ours = pvt.create("pvt_v2_b2_li", **small)
    ours.load_state_dict(pvt.state_dict_from_timm(theirs.state_dict()), strict=True)
    return request.param, theirs.eval(), ours.eval()


def ceil_div(a, b):
    return -(-a // b)


@pytest.mark.parametrize("size", V2_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_v2_equals_timm_at_any_input_size(timm_v2_pair, size):
    _, theirs, ours = timm_v2_pair
    torch.manual_seed(1)
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        logits, (final, maps) = theirs(x), theirs.forward_intermediates(x)
        pooled, stages = ours.forward_features(x, return_stages=True)
        torch.testing.assert_close(ours(x), logits)
        torch.testing.assert_close(pooled, theirs.forward_head(final, pre_logits=True))
    h, w = ceil_div(size[0], 4), ceil_div(size[1], 4)
    for i, (s, m) in enumerate(zip(stages, maps, strict=True)):
        dim = getattr(ours, f"patch_embed{i + 1}").proj.out_channels
        assert s.shape == m.shape == (1, dim, h, w)
        torch.testing.assert_close(s, m)
        h, w = ceil_div(h, 2), ceil_div(w, 2)


def test_v2_smallest_input_and_too_small_inputs(timm_v2_pair):
    name, theirs, ours = timm_v2_pair
    if name != "pvt_v2_b0":  # linear SRA pools to 7x7 from any grid: even 1x1 images run
        for size in [(1, 1), (3, 5), (28, 28)]:
            x = torch.randn(1, 3, *size)
            with torch.no_grad():
                torch.testing.assert_close(ours(x), theirs(x))
        return
    # SRA: stage 1's grid ceil(H/4) must hold sr_ratio=8, so 29 px is the least (in V2_SIZES).
    for size in [(28, 28), (200, 28), (28, 29)]:
        x = torch.randn(1, 3, *size)
        with pytest.raises(RuntimeError), torch.no_grad():
            theirs(x)
        grid = f"{ceil_div(size[0], 4)}×{ceil_div(size[1], 4)}"
        with pytest.raises(ValueError, match=rf"stage 1: .* {grid} token grid, .* sr_ratio=8"):
            ours(x)


def test_v2_a_later_stage_too_small_is_named():
    timm_pvt = pytest.importorskip("timm.models.pvt_v2")
    args = dict(embed_dims=(8, 16, 24, 32), num_heads=(1, 2, 3, 4), depths=(1, 1, 1, 1))
    theirs = timm_pvt.PyramidVisionTransformerV2(sr_ratios=(1, 1, 1, 4), **args).eval()
    ours = pvt.create("pvt_v2_b0", sr_ratios=(1, 1, 1, 4), **args).eval()
    ours.load_state_dict(pvt.state_dict_from_timm(theirs.state_dict()), strict=True)
    x = torch.randn(1, 3, 100, 97)  # grids 25x25, 13x13, 7x7, 4x4: the least for sr_ratio 4
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
    x = torch.randn(1, 3, 100, 96)  # stage 4: 4x3
    with pytest.raises(RuntimeError), torch.no_grad():
        theirs(x)
    with pytest.raises(ValueError, match=r"stage 4: .* 4×3 token grid, smaller than .*=4"):
        ours(x)


# v1 has no timm model. The official forward, as far as it concerns input sizes, written afresh
# (not the official code): stage i is built for ``img_size // 2**(i + 1)`` px (stage 1:
# ``img_size``) with patch 2 (stage 1: 4) and keeps a position table for that grid; the input's
# grid is floored (``H // patch``); the table is resized bilinearly (align_corners=False) from
# the stage's own built grid to the input's; the class token joins in the last stage only, and
# its table entry is kept as it is. The official decision to resize is corrected (see below).


def v1_pos_embed(pos, built, H, W):
    if (H, W) == (built, built):
        return pos
    table = pos.reshape(1, built, built, -1).permute(0, 3, 1, 2)
    table = torch.nn.functional.interpolate(
        table, size=(H, W), mode="bilinear", align_corners=False
    )
    return table.flatten(2).transpose(1, 2)


def v1_reference_forward(model, x, img_size=224):
    """Drive ``model``'s own layers stage by stage: (class-token features, last feature map)."""
    B = x.shape[0]
    for i in range(4):
        p = 4 if i == 0 else 2
        built = (img_size if i == 0 else img_size // 2 ** (i + 1)) // p
        H, W = x.shape[2] // p, x.shape[3] // p
        embed = getattr(model, f"patch_embed{i + 1}")
        x = embed.norm(embed.proj(x).flatten(2).transpose(1, 2))
        pos = getattr(model, f"pos_embed{i + 1}")
        if i == 3:
            x = torch.cat((model.cls_token.expand(B, -1, -1), x), dim=1)
            pos = torch.cat((pos[:, :1], v1_pos_embed(pos[:, 1:], built, H, W)), dim=1)
        else:
            pos = v1_pos_embed(pos, built, H, W)
        x = x + pos
        for blk in getattr(model, f"block{i + 1}"):
            x = blk(x, H, W)
        if i < 3:
            x = x.transpose(1, 2).reshape(B, -1, H, W)
    x = model.norm(x)
    return x[:, 0], x[:, 1:].transpose(1, 2).reshape(B, -1, H, W)


# The official code resizes unless ``H * W == self.patch_embed1.num_patches`` (stage 1's count,
# 56 * 56 = 3136 at 224), at every stage. Where that is not the grid test above it goes wrong:
#   448x448, stage 2: grid 448 // 4 // 2 = 56, 56 * 56 == 3136 -> "no resize", so the stage's
#       28 * 28 = 784-entry table meets 3136 tokens and ``x + pos_embed`` raises (784 vs 3136);
#   196x256, stage 1: grid 49x64, 49 * 64 == 3136 -> the 56x56 table is added unresized, read
#       row by row as a 49x64 grid (no error, wrong positions).
# At 224, 160x96 and 100x132 the two rules agree (a resize to the same grid is the identity).
V1_SIZES = [(224, 224), (448, 448), (160, 96), (100, 132), (196, 256), (32, 57)]


def official_v1_keeps_table(H, W, img_size=224):
    return H * W == (img_size // 4) ** 2


def test_official_v1_rule_misfires_where_documented():
    assert official_v1_keeps_table(448 // 4 // 2, 448 // 4 // 2)  # stage 2 of 448²: 56x56
    assert (224 // 8) ** 2 != (448 // 8) ** 2  # ... but the stage's table is 28x28
    assert official_v1_keeps_table(196 // 4, 256 // 4)  # stage 1 of 196x256: 49x64
    for H, W in [(224, 224), (160, 96), (100, 132)]:
        for i in range(4):
            grid = (H // 4 // 2**i, W // 4 // 2**i)
            assert official_v1_keeps_table(*grid) == (grid == (56, 56))


@pytest.fixture(scope="module")
def tiny_v1():
    torch.manual_seed(0)
    model = pvt.create(
        "pvt_tiny", depths=(1, 1, 1, 1), embed_dims=(16, 32, 40, 64), num_classes=10
    ).eval()
    with torch.no_grad():  # tables of unit scale, so that a wrong resize shows in the output
        for i in range(4):
            getattr(model, f"pos_embed{i + 1}").normal_()
    return model


@pytest.mark.parametrize("size", V1_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_v1_resizes_position_embeddings_like_the_official_code(tiny_v1, size):
    torch.manual_seed(1)
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        pooled, stages = tiny_v1.forward_features(x, return_stages=True)
        logits = tiny_v1(x)
        ref_pooled, ref_last = v1_reference_forward(tiny_v1, x)
    torch.testing.assert_close(pooled, ref_pooled)
    torch.testing.assert_close(stages[-1], ref_last)
    torch.testing.assert_close(logits, tiny_v1.head(ref_pooled))
    assert [s.shape[2:] for s in stages] == [
        (size[0] // 4 // 2**i, size[1] // 4 // 2**i) for i in range(4)
    ]


def test_v1_built_size_adds_position_embeddings_unresized(tiny_v1, monkeypatch):
    resized = []
    real = torch.nn.functional.interpolate
    monkeypatch.setattr(
        torch.nn.functional, "interpolate", lambda *a, **kw: resized.append(a) or real(*a, **kw)
    )
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        pooled = tiny_v1.forward_features(x)
        assert resized == []
        assert torch.equal(pooled, v1_reference_forward(tiny_v1, x)[0])
        for i, grid in enumerate([56, 28, 14, 7]):
            pos = getattr(tiny_v1, f"pos_embed{i + 1}")
            pos = pos[:, 1:] if i == 3 else pos
            embed = getattr(tiny_v1, f"patch_embed{i + 1}")
            assert tiny_v1._pos_embed(pos, embed, grid, grid) is pos
        tiny_v1(torch.randn(1, 3, 160, 96))
    assert len(resized) == 4  # elsewhere every stage resizes


def test_v1_too_small_input_is_refused_by_name(tiny_v1):
    # floor(H/4) must hold sr_ratio=8: 32 px is the least (32x57 above); the official code fails
    # in the reduction conv.
    with pytest.raises(ValueError, match=r"stage 1: .* 7×16 token grid, smaller than .*=8"):
        tiny_v1(torch.randn(1, 3, 31, 64))


@pytest.mark.parametrize(
    "H,W,sr,linear",
    [(25, 33, 8, False), (25, 33, 4, False), (13, 9, 4, False), (25, 33, 1, True), (3, 5, 1, True)],
)
def test_sra_cost_equals_the_counter_on_odd_grids(H, W, sr, linear):
    attn = pvt.SpatialReductionAttention(64, 2, qkv_bias=True, sr_ratio=sr, linear=linear).eval()
    counted = counting.count_macs(attn, torch.randn(1, H * W, 64), H, W)  # FLOPs / 2
    cost = pvt.sra_cost(H, W, 64, 2, sr, linear)
    assert cost.kv_tokens == (49 if linear else (H // sr) * (W // sr))
    assert cost.macs == counted


def test_check_sra_forward_points_sr_ratio_1_at_its_missing_sr(capsys):
    """A solution that always calls attn.sr and attn.norm is told that sr_ratio 1 has neither."""

    def always_reduces(attn, x, H, W):
        grid = x.transpose(1, 2).reshape(x.shape[0], -1, H, W)
        return attn.norm(attn.sr(grid))

    assert not pvt.check_sra_forward(always_reduces, configs=((7, 7, 64, 2, 1),))
    out = " ".join(capsys.readouterr().out.split())
    assert "at sr_ratio 1 the layer has no sr or norm" in out


# --- bad inputs: one slip per public function of the chapter (tests/test_robust_api.py) ---

_SLIP_SRA = slips.Later(lambda: pvt.SpatialReductionAttention(8, 2, sr_ratio=2))

#: ``'package.name' -> (args, kwargs, argument the message must name)``: the student slip.
API_SLIPS: dict[str, tuple] = {
    "vit_notes.pvt.exercises.refuse_convolution": ((3,), {}, "name"),
    "vit_notes.pvt.Block": ((), dict(dim=8, num_heads=3), "num_heads"),
    "vit_notes.pvt.Mlp": ((), dict(in_features="8", hidden_features=16), "in_features"),
    "vit_notes.pvt.OverlapPatchEmbed": ((), dict(img_size="224"), "img_size"),
    "vit_notes.pvt.PatchEmbed": ((), dict(patch_size=0), "patch_size"),
    "vit_notes.pvt.PyramidVisionTransformer": ((), dict(img_size=-1), "img_size"),
    "vit_notes.pvt.SpatialReductionAttention": ((), dict(dim=8, num_heads=2, sr_ratio=0),
                                                "sr_ratio"),
    "vit_notes.pvt.check_explorer_prediction": ((4,), dict(size="224"), "size"),
    "vit_notes.pvt.check_kv_tokens": ((49,), dict(H=0), "H"),
    "vit_notes.pvt.check_sr_choice": ((8,), dict(size=-1), "size"),
    "vit_notes.pvt.check_sra_forward": ((slips.forward,), dict(configs=()), "configs"),
    "vit_notes.pvt.check_sra_macs": ((1,), dict(H="56"), "H"),
    "vit_notes.pvt.cost_chart": ((0, 1, 8), {}, "size"),
    "vit_notes.pvt.draw_sra_schematic": ((), dict(attn="sra"), "attn"),
    "vit_notes.pvt.fixed_cost_pairs": (("rows", "size"), {}, "rows"),
    "vit_notes.pvt.growth_order": (("rows", "size"), {}, "rows"),
    "vit_notes.pvt.identity_sra": ((0, 2), {}, "dim"),
    "vit_notes.pvt.plot_cost": (([], "size", "title"), {}, "rows"),
    "vit_notes.pvt.query_peaks": ((slips.img, []), {}, "queries"),
    "vit_notes.pvt.sra_cost": ((0, 56, 64, 1), {}, "H"),
    "vit_notes.pvt.sra_cost_table": ((), dict(sizes=(0,), timed=False), "size"),
    "vit_notes.pvt.sra_query_maps": ((slips.np_img,), {}, "img"),
    "vit_notes.pvt.sra_shapes": (("sra", 4, 4), {}, "attn"),
    "vit_notes.pvt.sra_steps": ((_SLIP_SRA, torch.rand(1, 16, 8).numpy(), 4, 4), {}, "x"),
    "vit_notes.pvt.state_dict_from_timm": (("weights.pth",), {}, "timm_state"),
    "vit_notes.pvt.timing_surprises": (("rows", "size"), {}, "rows"),
}  # fmt: skip

#: Public callables with no bad-input test, and why.
API_NO_SLIP: dict[str, str] = {
    "vit_notes.pvt.sra_explorer": "takes no arguments",
}


def _slip_rows():
    return pvt.sra_cost_table(sizes=(64,), sr_ratios=(2,), dim=8, timed=False)


#: ``'package.name' -> [(args, kwargs, argument, the slip), ...]``: further slips, each once
#: answered by Python or torch from inside the package, or not at all (issue 19's fuzz).
API_MORE_SLIPS: dict[str, list[tuple]] = {
    "vit_notes.pvt.Block": [
        ((16, 2), dict(norm_layer="LayerNorm"), "norm_layer",
         "the norm's name for its class: 'str' object is not callable"),
        ((16, 2), dict(mlp_ratio=1e-9), "mlp_ratio", "a ratio that leaves no hidden channel: "
         "the error named hidden_features"),
        ((16, 2), dict(qkv_bias="False"), "qkv_bias", "'False' as text built q with a bias"),
    ],
    "vit_notes.pvt.OverlapPatchEmbed": [
        ((), dict(patch_size="7"), "patch_size", "the patch as text: str // int"),
    ],
    "vit_notes.pvt.check_sr_choice": [
        ((8,), dict(budget_mib="24"), "budget_mib", "the budget as text: '<=' not supported"),
        ((8,), dict(size=64), "size", "a size too small for sr_ratio 32: the error named sr_ratio"),
    ],
    "vit_notes.pvt.check_sra_forward": [
        ((slips.forward,), dict(configs=[(8, 8, 16, 2)]), "configs",
         "a config without its sr_ratio: not enough values to unpack"),
        ((slips.forward,), dict(configs=[(8, 8, 16, 3, 2)]), "dim",
         "heads that do not divide dim: the error came from the first case built"),
    ],
    "vit_notes.pvt.check_kv_tokens": [
        ((49,), dict(H=10**5000), "H", "its message raised"),
    ],
    "vit_notes.pvt.fixed_cost_pairs": [
        ((slips.Later(_slip_rows), ["size"]), {}, "x", "a list for the column: unhashable"),
        ((slips.Later(_slip_rows), "size"), dict(work="2"), "work", "text: '>=' not supported"),
    ],
    "vit_notes.pvt.growth_order": [
        ((slips.Later(_slip_rows), "sizes"), {}, "x", "a column the rows lack"),
    ],
    "vit_notes.pvt.plot_cost": [
        ((slips.Later(_slip_rows), "size", 3), {}, "title", "a number for the title"),
    ],
    "vit_notes.pvt.query_peaks": [
        ((slips.img, [0.3, 0.5]), {}, "queries", "one query for the list: int is not iterable"),
    ],
    "vit_notes.pvt.sra_cost_table": [
        ((), dict(sizes=(64,), sr_ratios=(2,), dim=8, timed="False"), "timed",
         "'False' as text timed the table"),
        ((), dict(sizes=(64,), sr_ratios=(2,), dim=8, timed=False, rounds=0), "rounds",
         "no rounds: accepted silently when untimed"),
    ],
    "vit_notes.pvt.sra_query_maps": [
        ((slips.img,), dict(sr_ratios=[]), "sr_ratios", "no ratios: an empty dict, silently"),
        ((slips.img,), dict(sr_ratios={1, 2}), "sr_ratios", "a set: arbitrary order"),
        ((slips.img,), dict(scale=float("inf")), "scale", "an infinite scale: NaN maps"),
        ((slips.Later(lambda: slips.img.make().to("meta")),), {}, "img",
         "an image on the meta device: cannot copy out of meta tensor"),
    ],
    "vit_notes.pvt.sra_shapes": [
        ((_SLIP_SRA, 4, 4), dict(batch=np.int32(2**30)), "batch",
         "a NumPy batch returned NumPy shapes, unbounded"),
    ],
    "vit_notes.pvt.draw_sra_schematic": [
        ((), dict(title=10**5000), "title", "a number for the title: matplotlib's str() raised"),
    ],
    "vit_notes.pvt.sra_steps": [
        ((_SLIP_SRA, torch.rand(1, 16, 6), 4, 4), {}, "x",
         "tokens of 6 channels for a dim-8 layer: torch's matmul error"),
        ((_SLIP_SRA, torch.rand(1, 16, 8), 4, 4), dict(mistake="no such slip"), "mistake",
         "an unknown mistake: computed as no mistake"),
    ],
    "vit_notes.pvt.state_dict_from_timm": [
        (({"a": 1},), {}, "timm_state", "a dict of numbers: returned as a state dict"),
    ],
    "vit_notes.pvt.timing_surprises": [
        ((slips.Later(_slip_rows), "size"), dict(tol=float("nan")), "tol", "NaN: no surprises"),
    ],
}  # fmt: skip


def test_check_sr_choice_at_ratio_1_names_no_reduction_tile(capsys):
    """At sr_ratio 1 nothing is reduced: the message has no reduction tile to size."""
    assert not pvt.check_sr_choice(1, size=512, budget_mib=24)
    out = " ".join(capsys.readouterr().out.split())
    assert "one per token, no reduction tile" in out and "4 pixels wide" not in out


def _chapter_cells() -> list[dict]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "pvt.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_chapters_glue_calls_are_in_folded_cells():
    # review r26 S1: glue is plumbing for the prose, the solutions' visible cells do not call it
    visible = [
        "".join(c["source"])
        for c in _chapter_cells()
        if c["cell_type"] == "code" and "hide-input" not in c["metadata"].get("tags", [])
    ]
    assert visible and not [s for s in visible if "glue(" in s]


def test_derived_grids_and_areas_are_glued_not_typed():
    # review r26 S2: the 224² key grid, stage 4's grid and the R = 8 key's pixels are results
    text = "\n".join("".join(c["source"]) for c in _chapter_cells() if c["cell_type"] == "markdown")
    for typed in ("from the 7×7 reduced grid", "pool of the 7×7 grid", "32×32-pixel"):
        assert typed not in text
    for key in ("pvt_key_side_224", "pvt_li_stage4_side", "pvt_face_r8_key_px"):
        assert f"{{glue:text}}`{key}`" in text


def test_the_judgement_solution_uses_the_attempts_budget():
    # review r42 S2: the solution types the budget once, and it is the attempt cell's literal
    # (the page's answer form reads the literal: book/_ext/vit_notes_site.checker_call)
    import ast

    sources = ["".join(c["source"]) for c in _chapter_cells() if c["cell_type"] == "code"]
    (attempt,) = [s for s in sources if "pvt.check_sr_choice(my_choice" in s]
    (solution,) = [s for s in sources if re.search(r"^budget_mib = ", s, re.M)]
    (call,) = [
        n
        for n in ast.walk(ast.parse(attempt))
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "check_sr_choice"
    ]
    budget = {k.arg: ast.literal_eval(k.value) for k in call.keywords}["budget_mib"]
    line = re.search(r"^budget_mib = (.+?)(  #.*)?$", solution, re.M)
    assert ast.literal_eval(line.group(1)) == budget
    # typed once: the assignment above is the only 24 in the cell
    assert "<= budget_mib" in solution and solution.count("24") == 1

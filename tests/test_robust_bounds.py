"""Size bounds of every constructor (issue 19): a huge integer typed into a model or a layer
(``dim=10**5000``, ``depth=10**9``, ``num_heads=2**70``, ``img_size=10**12``) gets a
``ValueError`` at once that names the argument, describes the value (its digits when it is
huge) and gives the allowed range, instead of an error from inside torch or a build that never
ends. Every official configuration stays inside the bounds (:mod:`vit_notes.validate`).
"""

from __future__ import annotations

import inspect
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vit_notes import layers, registry, validate
from vit_notes.coatnet import CoAtNet, MBConv, RelativeAttention, TransformerBlock
from vit_notes.coatnet import model as coatnet_model
from vit_notes.pvt import PatchEmbed, PyramidVisionTransformer, SpatialReductionAttention
from vit_notes.pvt import model as pvt_model
from vit_notes.shunted import ShuntedAttention, ShuntedTransformer
from vit_notes.shunted import model as shunted_model

HUGE = [10**5000, 10**12, 2**70, 10**9]

#: Each constructor with small arguments that build, and the size arguments a student may
#: type too large: ``(class, good kwargs, size names)``.
SMALL_PYRAMID = dict(
    img_size=64, embed_dims=(8, 16), num_heads=(2, 2), depths=(1, 1), mlp_ratios=(2, 2),
    sr_ratios=(2, 1), num_stages=2, num_classes=3,
)  # fmt: skip
SMALL_COATNET = dict(
    img_size=64, embed_dims=(8, 16, 32, 32), depths=(1, 1, 1, 1), stem_width=8, num_classes=3
)
CONSTRUCTORS = [
    (SpatialReductionAttention, dict(dim=8, num_heads=2, sr_ratio=2),
     ["dim", "num_heads", "sr_ratio", "pool_size", "num_prefix_tokens"]),
    (pvt_model.Mlp, dict(in_features=8, hidden_features=16), ["in_features", "hidden_features"]),
    (pvt_model.Block, dict(dim=8, num_heads=2), ["dim", "num_heads", "mlp_ratio", "sr_ratio"]),
    (PatchEmbed, dict(img_size=32, patch_size=4, embed_dim=8),
     ["img_size", "patch_size", "in_chans", "embed_dim", "stride", "padding"]),
    (PyramidVisionTransformer, SMALL_PYRAMID,
     ["img_size", "patch_size", "in_chans", "num_classes", "num_stages", "pool_size"]),
    (ShuntedAttention, dict(dim=8, num_heads=2, sr_ratio=2), ["dim", "num_heads", "sr_ratio"]),
    (shunted_model.DetailSpecificMlp, dict(in_features=8, hidden_features=16),
     ["in_features", "hidden_features"]),
    (shunted_model.Block, dict(dim=8, num_heads=2), ["dim", "num_heads", "mlp_ratio"]),
    (shunted_model.ConvStem, dict(embed_dim=8), ["num_conv", "in_chans", "embed_dim"]),
    (ShuntedTransformer, SMALL_PYRAMID,
     ["img_size", "in_chans", "num_classes", "num_stages", "num_conv"]),
    (MBConv, dict(in_chs=8, out_chs=8), ["in_chs", "out_chs", "expand_ratio"]),
    (RelativeAttention, dict(dim=8, num_heads=2, grid_size=(2, 2)),
     ["dim", "dim_out", "num_heads", "grid_size"]),
    (TransformerBlock, dict(dim=32, grid_size=(2, 2)),
     ["dim", "dim_out", "dim_head", "grid_size", "expand_ratio"]),
    (coatnet_model.RelativePositionBias, dict(grid_size=(2, 2), num_heads=2),
     ["grid_size", "num_heads"]),
    (coatnet_model.SqueezeExcite, dict(channels=8, rd_channels=2), ["channels", "rd_channels"]),
    (coatnet_model.Downsample2d, dict(dim=8, dim_out=16), ["dim", "dim_out"]),
    (coatnet_model.ConvMlp, dict(dim=8, hidden=16), ["dim", "hidden"]),
    (coatnet_model.Stem, dict(in_chans=3, out_chs=8), ["in_chans", "out_chs"]),
    (coatnet_model.LayerNorm2d, dict(num_channels=8), ["num_channels"]),
    (coatnet_model.BatchNormAct2d, dict(num_features=8), ["num_features"]),
    (coatnet_model.ClassifierHead, dict(dim=8, num_classes=3),
     ["dim", "num_classes", "hidden_size"]),
    (coatnet_model.Stage, dict(in_chs=8, out_chs=8, depth=1, block_type="C", grid_size=(2, 2)),
     ["in_chs", "out_chs", "depth"]),
    (CoAtNet, SMALL_COATNET,
     ["img_size", "in_chans", "num_classes", "stem_width", "dim_head", "head_hidden_size"]),
    (layers.DWConv, dict(dim=8), ["dim"]),
]  # fmt: skip
CASES = [(cls, kwargs, name) for cls, kwargs, names in CONSTRUCTORS for name in names]


def _id(case) -> str:
    cls, _, name = case
    return f"{cls.__name__}-{name}"


def refused_at_once(build, name: str, value) -> str:
    """Call ``build()``, expect a ValueError that names ``name`` within a second; its text."""
    start = time.monotonic()
    with pytest.raises(ValueError) as e:
        build()
    assert time.monotonic() - start < 1, f"{name}: took {time.monotonic() - start:.1f} s"
    text = str(e.value)
    assert name in text, text
    if isinstance(value, int) and value >= 10**40:
        assert f"{validate.digits(value)}-digit number" in text, text  # described, not printed
    return text


def test_every_constructor_with_a_size_is_listed():
    # A new layer with a size argument must join CONSTRUCTORS: this fails until it does.
    modules = [pvt_model, shunted_model, coatnet_model, layers]
    listed = {cls for cls, _, _ in CONSTRUCTORS}
    missing = [
        f"{m.__name__}.{name}"
        for m in modules
        for name, obj in vars(m).items()
        if isinstance(obj, type)
        and issubclass(obj, torch.nn.Module)
        and obj.__module__ == m.__name__
        and obj not in listed
        and obj is not layers.DropPath  # its only argument is a rate
    ]
    assert not missing, missing


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_a_huge_size_is_refused_at_once_naming_the_argument_and_the_range(case):
    # The slip: ``SpatialReductionAttention(dim=10**5000)``, an extra zero or an exponent typed
    # by mistake. torch would fail deep inside (or allocate until the machine stops).
    cls, kwargs, name = case
    for value in HUGE:
        text = refused_at_once(lambda v=value: cls(**{**kwargs, name: v}), name, value)
        assert "too large" in text or "more than" in text or "at most" in text, text


@pytest.mark.parametrize(
    "family, name",
    [(PyramidVisionTransformer, "depths"), (PyramidVisionTransformer, "embed_dims"),
     (PyramidVisionTransformer, "num_heads"), (PyramidVisionTransformer, "sr_ratios"),
     (PyramidVisionTransformer, "mlp_ratios"), (ShuntedTransformer, "depths"),
     (ShuntedTransformer, "embed_dims"), (ShuntedTransformer, "num_heads"),
     (ShuntedTransformer, "mlp_ratios"), (CoAtNet, "depths"), (CoAtNet, "embed_dims")],
    ids=lambda v: getattr(v, "__name__", v),
)  # fmt: skip
@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(value=st.sampled_from([*HUGE, float("inf"), 1e300]))
def test_a_huge_per_stage_entry_is_refused_naming_it(family, name, value):
    # The slip: ``depths=(2, 2, 10**9, 2)`` in a model's per-stage lists.
    small = SMALL_COATNET if family is CoAtNet else SMALL_PYRAMID
    params = inspect.signature(family).parameters
    kwargs = {k: v for k, v in small.items() if k in params}
    entries = list(kwargs[name])
    entries[-1] = value
    last = f"{name}[{len(entries) - 1}]"
    text = refused_at_once(lambda: family(**{**kwargs, name: tuple(entries)}), last, value)
    assert "integer" in text or "too large" in text or "more than" in text, text


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(value=st.integers(min_value=validate.MAX_CHANNELS + 1, max_value=10**6000))
def test_any_width_above_the_bound_is_refused_and_described(value):
    text = refused_at_once(lambda: SpatialReductionAttention(dim=value, num_heads=1), "dim", value)
    assert f"{validate.MAX_CHANNELS:,}" in text


def test_the_bounds_admit_the_edge_values():
    assert validate.width("dim", validate.MAX_CHANNELS) == validate.MAX_CHANNELS
    assert validate.depth("depth", validate.MAX_DEPTH) == validate.MAX_DEPTH
    assert validate.image_side("img_size", validate.MAX_IMAGE) == validate.MAX_IMAGE
    assert validate.kernel("sr_ratio", validate.MAX_KERNEL) == validate.MAX_KERNEL
    assert validate.classes("num_classes", validate.MAX_CLASSES) == validate.MAX_CLASSES
    assert validate.stages("num_stages", validate.MAX_STAGES) == validate.MAX_STAGES


def test_a_deep_stage_below_the_bound_still_builds_quickly():
    start = time.monotonic()
    model = PyramidVisionTransformer(**{**SMALL_PYRAMID, "depths": (1, 50)})
    assert len(model.block2) == 50 and time.monotonic() - start < 10


def test_coatnet_refuses_an_image_whose_attention_grid_is_too_large():
    # The slip: ``CoAtNet(img_size=4096)``: stage S3's 256x256 grid would need a 65,536² index.
    with pytest.raises(ValueError, match=r"img_size=4096.*S3"):
        CoAtNet(img_size=4096)
    with pytest.raises(ValueError, match="positions"):
        coatnet_model.relative_position_index(65, 64)


@pytest.mark.parametrize("name", registry.list_models())
def test_every_official_configuration_is_inside_the_bounds(name):
    with torch.device("meta"):
        model = registry.create(name)
    assert registry.is_meta(model)
    img = getattr(model, "img_size", 224)
    for side in img if isinstance(img, tuple) else (img,):
        assert side <= validate.MAX_IMAGE


@pytest.mark.parametrize("name", ["coatnet_4"])
def test_coatnet_at_its_largest_official_size_is_inside_the_bounds(name):
    with torch.device("meta"):
        registry.create(name, img_size=512)


# -- audit 11: every layer that allocates width x width weights is bounded before allocating


@pytest.mark.parametrize(
    "build",
    [
        # a student widens Shunted's attention, or asks for a large reduction at a modest width
        lambda: ShuntedAttention(448, 8, sr_ratio=64),
        lambda: ShuntedAttention(16384, 8, sr_ratio=2),
        lambda: shunted_model.ConvStem(2, 3, 32768),
        lambda: shunted_model.DetailSpecificMlp(32768, 32768),
        lambda: pvt_model.Mlp(32768, 32768),
        # a widest-block experiment: the attention fits, the 4x feed-forward does not
        lambda: pvt_model.Block(8192, 8),
        lambda: TransformerBlock(8192, 8192, grid_size=(2, 2)),
    ],
)
def test_wide_layers_are_refused_before_allocating(build):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"weights.*more than the 268,435,456 allowed: use"):
        build()
    assert time.perf_counter() - start < 2


def test_swin_wide_layers_are_refused_before_allocating():
    from vit_notes import swin
    from vit_notes.shunted import identity_shunted

    for build in (
        lambda: swin.PatchMerging((8, 8), 32768),
        lambda: swin.Mlp(32768, 32768),
        lambda: swin.SwinTransformerBlock(8192, (4, 4), 8, 4),
        lambda: identity_shunted(112, 16, num_heads=12),
    ):
        with pytest.raises(ValueError, match="more than the 268,435,456 allowed"):
            build()


@given(st.integers(1, 4096), st.sampled_from([1, 2, 4, 8]))
@settings(max_examples=40, deadline=None)
def test_shunted_weights_bound_names_a_width_that_fits(dim, sr_ratio):
    count = lambda d: shunted_model.shunted_weights(d, sr_ratio)  # noqa: E731
    try:
        validate.weights_fit("dim", dim, count, "the layer")
    except ValueError as e:
        largest = int(str(e).rsplit("<= ", 1)[1].replace(",", ""))
        assert count(largest) <= validate.MAX_LAYER_WEIGHTS < count(largest + 1)


def test_a_huge_query_index_is_refused_with_a_message():
    import vit_notes

    # a slip of the exponent: 10**5000 instead of 10**3
    with pytest.raises(ValueError, match="query=a 5001-digit number is too large"):
        with vit_notes.record_attention(query=10**5000):
            pass

"""Chapter 1, PVT: spatial-reduction attention and the four-stage pyramid (PVT v1 and v2).

:mod:`.model` the modules and the family, :mod:`.cost` the analytic cost of one layer,
:mod:`.figures` the chapter's pictures and explorer, :mod:`.exercises` its checkers.
"""

from .. import registry
from .cost import sra_cost
from .exercises import (
    _sra_cases,
    check_explorer_prediction,
    check_kv_tokens,
    check_sr_choice,
    check_sra_forward,
    check_sra_macs,
    sra_steps,
)
from .figures import (
    COLOURS,
    GROWTH_TOLERANCE,
    NOISE_TOLERANCE,
    VARIANTS,
    cost_chart,
    draw_sra_schematic,
    fixed_cost_pairs,
    growth_order,
    identity_sra,
    plot_cost,
    query_peaks,
    sra_cost_table,
    sra_explorer,
    sra_query_maps,
    sra_shapes,
    timing_surprises,
)
from .model import (
    CONFIGS,
    PAPER,
    Block,
    Mlp,
    OverlapPatchEmbed,
    PatchEmbed,
    PyramidVisionTransformer,
    SpatialReductionAttention,
    create,
    pvt_large,
    pvt_medium,
    pvt_small,
    pvt_tiny,
    pvt_v2_b0,
    pvt_v2_b1,
    pvt_v2_b2,
    pvt_v2_b2_li,
    pvt_v2_b3,
    pvt_v2_b4,
    pvt_v2_b5,
    state_dict_from_timm,
)


def _query_panels(img, query_rc):
    ((row, grid),) = sra_query_maps(img, (8,), query_rc).values()
    return [("PVT SRA, R=8", row, grid)]


def _sra_layer(sr_ratio: int = 1, linear: bool = False) -> registry.AttentionLayer:
    return registry.AttentionLayer(
        cost=lambda H, W, C, heads: sra_cost(H, W, C, heads, sr_ratio, linear=linear),
        build=lambda H, W, C, heads: SpatialReductionAttention(
            C, heads, qkv_bias=True, sr_ratio=sr_ratio, linear=linear
        ),
    )


registry.register_design(
    registry.Design(
        family="pvt",
        title="PVT",
        order=1,
        layers={
            "full attention": _sra_layer(),
            "PVT SRA, R=8": _sra_layer(8),
            "PVT B2-Li linear SRA": _sra_layer(linear=True),
        },
        query_panels=_query_panels,
        schematic=draw_sra_schematic,
        explorers=(sra_explorer,),
        teaching=registry.Teaching(
            name="PVT",
            cites=("wang2021pvt", "wang2022pvtv2"),
            idea="shrink the keys and values, not the queries: *spatial-reduction attention*",
            explorer_section="section 6",
            explorer_controls=(
                "`sr_ratio`, heads, the image size (112, 160 or 224 px) and the query, "
                "picked on the photo."
            ),
            predict="ex-pvt-predict",
            slider="image size 112², then `sr_ratio` 8 → 2",
            prediction="the growth of the attention matrix",
            judgement="ex-pvt-judgement",
            question="which `sr_ratio` for a 512² detector",
            glossary=(
                (
                    "spatial-reduction attention (SRA)",
                    "SRA（空间缩减注意力）",
                    "attention whose keys and values come from the token grid reduced by $R$ (PVT)",
                ),
                (
                    "linear SRA",
                    "linear SRA（线性空间缩减注意力）",
                    (
                        r"SRA whose keys and values are average-pooled to a fixed $7 \times 7$ "
                        r"grid, so its products grow linearly with $N$ (PVT v2)"
                    ),
                ),
            ),
        ),
        forward=registry.ForwardExercise(
            check=check_sra_forward,
            steps=sra_steps,
            cases=_sra_cases,
            configs=((8, 8, 16, 2, 2), (4, 6, 16, 2, 1)),
        ),
        samples=registry.Samples(
            model=lambda: PyramidVisionTransformer(
                img_size=64,
                embed_dims=(8, 16, 16, 16),
                num_heads=(1, 1, 1, 1),
                depths=(1, 1, 1, 1),
                num_classes=3,
            ),
            layers={
                "SRA": (
                    lambda: SpatialReductionAttention(8, 2, sr_ratio=2),
                    lambda x: (x, 4, 4),
                    (1, 16, 8),
                ),
                "PatchEmbed": (
                    lambda: PatchEmbed(img_size=16, patch_size=4, embed_dim=8),
                    lambda x: (x,),
                    (1, 3, 16, 16),
                ),
            },
            constructors={
                SpatialReductionAttention: dict(dim=8, num_heads=2),
                PatchEmbed: dict(img_size=32, patch_size=4, embed_dim=8),
            },
            rates=("drop_rate", "attn_drop_rate", "drop_path_rate"),
            flags=(
                (PyramidVisionTransformer, "qkv_bias"),
                (PyramidVisionTransformer, "linear"),
                (SpatialReductionAttention, "linear"),
            ),
            overrides=dict(embed_dims=(8, 8, 8, 8), num_heads=(1, 1, 2, 2), depths=(1, 1, 1, 1)),
        ),
    )
)

__all__ = [
    "Block",
    "COLOURS",
    "CONFIGS",
    "GROWTH_TOLERANCE",
    "Mlp",
    "NOISE_TOLERANCE",
    "OverlapPatchEmbed",
    "PAPER",
    "PatchEmbed",
    "PyramidVisionTransformer",
    "SpatialReductionAttention",
    "VARIANTS",
    "check_explorer_prediction",
    "check_kv_tokens",
    "check_sr_choice",
    "check_sra_forward",
    "check_sra_macs",
    "create",
    "cost_chart",
    "draw_sra_schematic",
    "fixed_cost_pairs",
    "growth_order",
    "identity_sra",
    "plot_cost",
    "pvt_large",
    "pvt_medium",
    "pvt_small",
    "pvt_tiny",
    "pvt_v2_b0",
    "pvt_v2_b1",
    "pvt_v2_b2",
    "pvt_v2_b2_li",
    "pvt_v2_b3",
    "pvt_v2_b4",
    "pvt_v2_b5",
    "query_peaks",
    "sra_cost",
    "sra_cost_table",
    "sra_explorer",
    "sra_query_maps",
    "sra_shapes",
    "sra_steps",
    "state_dict_from_timm",
    "timing_surprises",
]

"""Chapter 3, Shunted Transformer: head groups that see keys and values at two ratios, plus
local enhancement. Builds on :mod:`vit_notes.pvt` (its patch embedding, its SRA for contrast).

:mod:`.model` the modules and the family, :mod:`.cost` the analytic cost of one layer,
:mod:`.figures` the chapter's pictures and explorer, :mod:`.exercises` its checkers,
:mod:`.paper` what the paper says, the chapter's equations (written from the official
code's stages 1-3), and where the code's stage 4 differs from them, :mod:`.placement` how far
stage 4's placement of the local enhancement lands from stages 1-3's.
"""

from .. import registry
from . import paper
from .cost import shunted_cost, shunted_kv_tokens, sra_ratio_at_nearest_cost
from .exercises import (
    _shunted_cases,
    check_explorer_prediction,
    check_ratio_choice,
    check_shunted_forward,
    check_shunted_kv_tokens,
    check_shunted_macs,
    shunted_steps,
)
from .figures import (
    SHUNTED_COLOURS,
    coarse_peaks,
    draw_shunted_schematic,
    effective_keys,
    identity_shunted,
    on_own_tile,
    plot_shunted_cost,
    plot_shunted_maps,
    query_map_rows,
    reduction_conv_table,
    round_ratios,
    shunted_cost_chart,
    shunted_cost_table,
    shunted_explorer,
    shunted_query_maps,
    sra_nearest_cost_maps,
    timing_margins,
    timing_outliers,
    traced_shapes,
)
from .model import (
    CODE_PARAMS,
    CONFIGS,
    OFFICIAL_FILE,
    PAPER,
    ConvStem,
    DetailSpecificMlp,
    ShuntedAttention,
    ShuntedTransformer,
    check_head_groups,
    check_sr_ratio,
    create,
    kv_grids,
    official_state_dict,
    shunted_b,
    shunted_s,
    shunted_t,
)
from .placement import (
    le_placement_study,
    le_placement_table,
    le_placements,
    placement_metrics,
    stage4_input,
)


def _query_panels(img, query_rc):
    groups = shunted_query_maps(img, (8,), query_rc)[8]
    return [("Shunted coarse, R=8", *groups["coarse"]), ("Shunted fine, R=4", *groups["fine"])]


registry.register_design(
    registry.Design(
        family="shunted",
        title="Shunted",
        order=3,
        layers={
            "Shunted, R=8 and 4": registry.AttentionLayer(
                cost=lambda H, W, C, heads: shunted_cost(H, W, C, heads, 8),
                build=lambda H, W, C, heads: ShuntedAttention(C, heads, qkv_bias=True, sr_ratio=8),
                # coarse group, fine group: each head sees its own group's key grid
                key_groups=lambda H, W, C, heads: tuple(
                    (h * w, H // h) for h, w in kv_grids(H, W, 8)
                ),
            )
        },
        query_panels=_query_panels,
        schematic=draw_shunted_schematic,
        explorers=(shunted_explorer,),
        teaching=registry.Teaching(
            name="Shunted",
            cites=("ren2022shunted",),
            idea=(
                "shrink the keys and values at two rates at once, one per half of the heads, "
                "in every stage but the last"
            ),
            explorer_section="section 4",
            explorer_controls=(
                "`sr_ratio`, heads, the image size (112, 160 or 224 px) and the query, "
                "picked on the photo."
            ),
            predict="ex-shunted-predict",
            slider="112², 4 heads, `sr_ratio` 8",
            prediction="Shunted's map memory as a multiple of SRA's",
            judgement="ex-shunted-judgement",
            question="which ratio pair replaces an SRA layer",
            glossary=(
                (
                    "shunted self-attention (SSA)",
                    "SSA（分流自注意力）",
                    "attention whose head groups see keys at different reduction ratios (Shunted)",
                ),
                (
                    "multi-scale token aggregation (MTA)",
                    "MTA（多尺度 token 聚合）",
                    (
                        "merging tokens at several scales inside one attention layer to make "
                        "multi-scale keys and values, with a local enhancement of the values "
                        "(Shunted)"
                    ),
                ),
                (
                    "head group",
                    "头组",
                    "a set of heads that share one key grid (Shunted: two groups, one per ratio)",
                ),
                (
                    "local enhancement",
                    "局部增强",
                    (
                        "a depthwise 3×3 convolution of $V$ on its key grid, added to $V$ before "
                        "the weighted sum; without reduction, added to the attention output "
                        "(Shunted)"
                    ),
                ),
                (
                    "detail-specific feed-forward",
                    "细节特定前馈网络",
                    "a feed-forward layer with a depthwise convolution branch inside (Shunted)",
                ),
            ),
        ),
        forward=registry.ForwardExercise(
            check=check_shunted_forward,
            steps=shunted_steps,
            cases=_shunted_cases,
            configs=((8, 8, 32, 2, 4), (3, 3, 16, 2, 1)),
            attn_step="attn1",
        ),
        samples=registry.Samples(
            model=lambda: ShuntedTransformer(
                img_size=64,
                embed_dims=(8, 16, 16, 16),
                num_heads=(2, 2, 2, 2),
                depths=(1, 1, 1, 1),
                num_classes=3,
            ),
            layers={
                "Shunted": (
                    lambda: ShuntedAttention(8, 2, sr_ratio=2),
                    lambda x: (x, 4, 4),
                    (1, 16, 8),
                ),
            },
            constructors={ShuntedAttention: dict(dim=8, num_heads=2)},
            rates=("drop_rate",),
            flags=((ShuntedTransformer, "qkv_bias"),),
            overrides=dict(embed_dims=(8, 8, 8, 8), num_heads=(2, 2, 2, 2), depths=(1, 1, 1, 1)),
        ),
    )
)

__all__ = [
    "CODE_PARAMS",
    "CONFIGS",
    "OFFICIAL_FILE",
    "ConvStem",
    "DetailSpecificMlp",
    "PAPER",
    "SHUNTED_COLOURS",
    "ShuntedAttention",
    "ShuntedTransformer",
    "check_explorer_prediction",
    "check_head_groups",
    "check_ratio_choice",
    "check_shunted_forward",
    "check_shunted_kv_tokens",
    "check_shunted_macs",
    "check_sr_ratio",
    "coarse_peaks",
    "create",
    "shunted_cost_chart",
    "draw_shunted_schematic",
    "effective_keys",
    "identity_shunted",
    "kv_grids",
    "on_own_tile",
    "paper",
    "plot_shunted_cost",
    "plot_shunted_maps",
    "query_map_rows",
    "reduction_conv_table",
    "round_ratios",
    "shunted_b",
    "shunted_cost",
    "shunted_cost_table",
    "shunted_explorer",
    "shunted_steps",
    "shunted_kv_tokens",
    "shunted_query_maps",
    "shunted_s",
    "official_state_dict",
    "shunted_t",
    "sra_nearest_cost_maps",
    "sra_ratio_at_nearest_cost",
    "timing_margins",
    "timing_outliers",
    "traced_shapes",
    "le_placement_study",
    "le_placement_table",
    "le_placements",
    "placement_metrics",
    "stage4_input",
]

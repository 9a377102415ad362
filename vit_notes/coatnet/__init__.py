"""Chapter 2, CoAtNet: MBConv stages, then transformer stages with relative attention (C-C-T-T).

:mod:`.model` the modules and the family, :mod:`.cost` the analytic cost of every block,
:mod:`.figures` the chapter's pictures and layout explorer, :mod:`.exercises` its checkers,
:mod:`.paper` what the paper reports (its claims, layout study and ablations).
"""

from .. import registry
from . import paper
from .cost import (
    ablation_costs,
    coatnet_cost,
    mbconv_cost,
    relative_attention_cost,
    shortfall_fit,
    transformer_block_cost,
)
from .exercises import (
    _relative_cases,
    check_attention_macs,
    check_layout_choice,
    check_layout_prediction,
    check_rel_table_size,
    check_relative_attention,
    check_relative_index,
    relative_attention_steps,
)
from .figures import (
    BLOCK_COLOURS,
    LAYOUTS,
    coatnet_stages,
    conv_vs_attention_rows,
    draw_coatnet_schematic,
    identity_relative_attention,
    layout_charts,
    layout_explorer,
    learned_style_table,
    plot_bias_table,
    plot_conv_vs_attention,
    plot_matrices,
    plot_relative_query_maps,
    relative_query_maps,
)
from .model import (
    BLOCK_TYPES,
    CONFIGS,
    PAPER,
    CoAtNet,
    MBConv,
    RelativeAttention,
    RelativePositionBias,
    TransformerBlock,
    coatnet_0,
    coatnet_1,
    coatnet_2,
    coatnet_3,
    coatnet_4,
    create,
    load_timm_state_dict,
    make_divisible,
    parse_layout,
    relative_position_index,
)


def _query_panels(img, query_rc):
    row, grid = relative_query_maps(img, learned_style_table((14, 14))[0], query_rc, patch=16)[
        "content + bias"
    ]
    return [("CoAtNet relative, stride 16", row, grid)]


registry.register_design(
    registry.Design(
        family="coatnet",
        title="CoAtNet",
        order=2,
        layers={
            "CoAtNet relative": registry.AttentionLayer(
                cost=lambda H, W, C, heads: relative_attention_cost(H, W, C, heads),
                build=lambda H, W, C, heads: RelativeAttention(
                    C, num_heads=heads, grid_size=(H, W)
                ),
                tokens=False,
            )
        },
        query_panels=_query_panels,
        schematic=draw_coatnet_schematic,
        explorers=(layout_explorer,),
        teaching=registry.Teaching(
            name="CoAtNet",
            cites=("dai2021coatnet",),
            idea="convolutions first, attention later, with a learned bias per relative offset",
            explorer_section="section 8, beside the paper's layout study",
            explorer_controls=(
                "pick a layout and an image size. The per-stage GMACs, one block's attention "
                "map per stage and the four layouts' totals redraw."
            ),
            predict="ex-coatnet-predict",
            slider="the explorer of section 8: image size 224 → 512, C-C-T-T",
            prediction="the growth of the largest attention map, in MiB",
            judgement="ex-coatnet-judgement",
            question="which layout fits a budget",
            glossary=(
                (
                    "relative attention",
                    "相对注意力",
                    (
                        "attention whose logits add a learned bias $w_{i-j}$ that depends only on "
                        "the offset between two positions (CoAtNet)"
                    ),
                ),
                (
                    "relative position bias",
                    "相对位置偏置",
                    (
                        r"the table of those biases: $(2H-1)(2W-1)$ entries per head on CoAtNet's "
                        r"$H \times W$ grid; Swin learns one per block for its 7×7 windows, "
                        r"$13 \times 13$ entries per head"
                    ),
                ),
                (
                    "MBConv (inverted bottleneck)",
                    "MBConv（倒置瓶颈块）",
                    (
                        "expand the channels with a 1×1 conv, filter with a depthwise conv, "
                        "project back (CoAtNet's S1, S2)"
                    ),
                ),
                (
                    "squeeze-and-excitation (SE)",
                    "SE（挤压-激励）",
                    "channel reweighting from a globally pooled summary",
                ),
                (
                    "layout",
                    "布局",
                    "which block type each stage of CoAtNet uses, such as C-C-T-T",
                ),
            ),
        ),
        forward=registry.ForwardExercise(
            check=check_relative_attention,
            steps=relative_attention_steps,
            cases=_relative_cases,
            configs=((3, 4, 16, 2),),
        ),
        samples=registry.Samples(
            model=lambda: CoAtNet(
                img_size=64,
                embed_dims=(8, 16, 32, 32),
                depths=(1, 1, 1, 1),
                stem_width=8,
                num_classes=3,
            ),
            layers={
                "RelativeAttention": (
                    lambda: RelativeAttention(8, num_heads=2, grid_size=(4, 4)),
                    lambda x: (x,),
                    (1, 8, 4, 4),
                ),
                "MBConv": (lambda: MBConv(8, 8), lambda x: (x,), (1, 8, 4, 4)),
                "TransformerBlock": (
                    lambda: TransformerBlock(32, grid_size=(4, 4)),
                    lambda x: (x,),
                    (1, 32, 4, 4),
                ),
            },
            constructors={
                RelativeAttention: dict(dim=8, num_heads=2, grid_size=(2, 2)),
                MBConv: dict(in_chs=8, out_chs=8),
                TransformerBlock: dict(dim=32, grid_size=(2, 2)),
            },
            rates=("drop_rate", "expand_ratio"),
            overrides=dict(
                stem_width=8, embed_dims=(8, 8, 16, 16), depths=(1, 1, 1, 1), dim_head=8
            ),
        ),
    )
)

__all__ = [
    "ablation_costs",
    "paper",
    "BLOCK_COLOURS",
    "BLOCK_TYPES",
    "CONFIGS",
    "CoAtNet",
    "LAYOUTS",
    "MBConv",
    "PAPER",
    "RelativeAttention",
    "RelativePositionBias",
    "TransformerBlock",
    "check_attention_macs",
    "check_layout_choice",
    "check_layout_prediction",
    "check_rel_table_size",
    "check_relative_attention",
    "check_relative_index",
    "relative_attention_steps",
    "coatnet_0",
    "coatnet_1",
    "coatnet_2",
    "coatnet_3",
    "coatnet_4",
    "coatnet_cost",
    "coatnet_stages",
    "conv_vs_attention_rows",
    "create",
    "draw_coatnet_schematic",
    "layout_charts",
    "identity_relative_attention",
    "layout_explorer",
    "learned_style_table",
    "load_timm_state_dict",
    "make_divisible",
    "mbconv_cost",
    "parse_layout",
    "plot_bias_table",
    "plot_conv_vs_attention",
    "plot_matrices",
    "plot_relative_query_maps",
    "relative_attention_cost",
    "relative_position_index",
    "relative_query_maps",
    "shortfall_fit",
    "transformer_block_cost",
]

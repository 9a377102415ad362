"""Chapter 5, Swin Transformer: attention inside local windows, shifted between consecutive
blocks so that information crosses the windows (Liu et al. 2021).

:mod:`.model` the modules and the family, :mod:`.cost` the paper's cost formulas,
:mod:`.figures` the chapter's pictures (a colour-token toy, receptive fields, the schematic,
the cost curves), :mod:`.exercises` its checkers, :mod:`.paper` what the paper says
(equations, variants, its table, where the official code fills in). Not yet in the comparison
line-up (``compared=False``): joining it needs a new recording of the line-up's timings
(``python bench/compare_cost.py``) and the comparison chapter's re-execution.
"""

from .. import registry
from . import paper
from .cost import effective_window, msa_cost, swin_block_cost, window_attention_cost
from .exercises import (
    check_memory_prediction,
    check_swin_forward,
    check_window_choice,
    check_window_macs,
    swin_steps,
)
from .figures import (
    attention_groups,
    cost_curves,
    draw_shift_schematic,
    full_map,
    own_window,
    plot_cost_curves,
    plot_receptive_fields,
    plot_two_blocks,
    receptive_fields,
    toy_block_maps,
    toy_window_attention,
    window_of,
)
from .model import (
    CODE_PARAMS,
    CONFIGS,
    MASK_VALUE,
    OFFICIAL_FILE,
    BasicLayer,
    GridWindowAttention,
    Mlp,
    PatchEmbed,
    PatchMerging,
    SwinTransformer,
    SwinTransformerBlock,
    WindowAttention,
    accepted_sizes,
    check_img_size,
    check_shift,
    check_window,
    create,
    official_state_dict,
    relative_position_index,
    shift_mask,
    shift_regions,
    shifted_window_attention,
    size_problem,
    stage_grids,
    state_dict_from_official,
    state_dict_from_timm,
    swin_b,
    swin_s,
    swin_t,
    window_partition,
    window_reverse,
)

registry.register_design(
    registry.Design(
        family="swin",
        title="Swin",
        order=5,
        layers={
            "Swin, M=7": registry.AttentionLayer(
                cost=lambda H, W, C, heads: window_attention_cost(H, W, C, heads, 7),
                build=lambda H, W, C, heads: GridWindowAttention(C, (H, W), heads),
            )
        },
        compared=False,
    )
)

__all__ = [
    "BasicLayer",
    "GridWindowAttention",
    "CODE_PARAMS",
    "CONFIGS",
    "MASK_VALUE",
    "Mlp",
    "OFFICIAL_FILE",
    "PatchEmbed",
    "PatchMerging",
    "SwinTransformer",
    "SwinTransformerBlock",
    "WindowAttention",
    "accepted_sizes",
    "attention_groups",
    "check_img_size",
    "check_memory_prediction",
    "check_swin_forward",
    "check_window_choice",
    "check_window_macs",
    "cost_curves",
    "draw_shift_schematic",
    "full_map",
    "own_window",
    "plot_cost_curves",
    "plot_receptive_fields",
    "plot_two_blocks",
    "receptive_fields",
    "swin_steps",
    "toy_block_maps",
    "toy_window_attention",
    "window_of",
    "check_shift",
    "check_window",
    "create",
    "effective_window",
    "msa_cost",
    "official_state_dict",
    "paper",
    "relative_position_index",
    "shift_mask",
    "shift_regions",
    "shifted_window_attention",
    "size_problem",
    "stage_grids",
    "state_dict_from_official",
    "state_dict_from_timm",
    "swin_b",
    "swin_block_cost",
    "swin_s",
    "swin_t",
    "window_attention_cost",
    "window_partition",
    "window_reverse",
]

"""Chapter 5, Swin Transformer: attention inside local windows, shifted between consecutive
blocks so that information crosses the windows (Liu et al. 2021).

:mod:`.model` the modules and the family, :mod:`.cost` the paper's cost formulas,
:mod:`.figures` the chapter's pictures (a colour-token toy, receptive fields, the schematic,
the cost curves, the measured times) and its explorer, :mod:`.exercises` its checkers,
:mod:`.paper` what the paper says (equations, variants, its tables, its claims, where the
official code fills in). In the comparison line-up: its layer, its schematic and block 1's toy
map (``_query_panels``) are registered with the design.
"""

from .. import photo, registry
from . import paper
from .cost import effective_window, msa_cost, swin_block_cost, window_attention_cost
from .exercises import (
    check_explorer_prediction,
    check_memory_prediction,
    check_swin_forward,
    check_window_choice,
    check_window_macs,
    swin_cases,
    swin_steps,
)
from .figures import (
    EXPLORER_BLOCK2,
    EXPLORER_SCALES,
    EXPLORER_SIZE,
    EXPLORER_WINDOWS,
    SPLIT_VARIANTS,
    TIMED_VARIANTS,
    attention_groups,
    cost_curves,
    draw_shift_schematic,
    explorer_cost_chart,
    explorer_maps,
    full_map,
    input_gradient,
    own_window,
    plot_cost_curves,
    plot_measured_times,
    plot_receptive_fields,
    plot_two_blocks,
    print_round_ratios,
    receptive_fields,
    round_ratios,
    swin_cost_table,
    swin_explorer,
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


def _query_panels(img, query_rc):
    """Block 1's window attention (W-MSA, 7×7 windows) of the colour-token toy, as the chapter's
    section 5 draws it: one row per query (one row alone for one query)."""
    single = len(query_rc) == 2 and all(isinstance(v, (int, float)) for v in query_rc)
    queries = [tuple(query_rc)] if single else list(query_rc)
    tokens, (H, W) = photo.colour_tokens(img)
    rows = full_map(tokens, H, W, 7, 0)[photo.query_at((H, W), queries)]
    return [("Swin W-MSA, 7×7 windows", rows[0] if single else rows, (H, W))]


#: A Swin small enough for the input-contract tests: 64² images, three stages, 4×4 windows.
_TINY = dict(
    img_size=64, embed_dim=8, depths=(2, 2, 2), num_heads=(1, 2, 2), window_size=4, num_classes=3
)


def _schematic():
    """The chapter's picture of the windows, the shifted windows and the mask, drawn from a
    layer on an 8×8 grid with 4×4 windows shifted by 2 (the chapter's section 3)."""
    return draw_shift_schematic(GridWindowAttention(16, (8, 8), 2, window_size=4, shift_size=2))


registry.register_design(
    registry.Design(
        family="swin",
        title="Swin",
        order=5,
        layers={
            "Swin, 7×7 windows": registry.AttentionLayer(
                cost=lambda H, W, C, heads: window_attention_cost(H, W, C, heads, 7),
                build=lambda H, W, C, heads: GridWindowAttention(C, (H, W), heads),
                # a query sees the single tokens of its own window
                key_groups=lambda H, W, C, heads: (
                    (window_attention_cost(H, W, C, heads, 7).kv_tokens, 1),
                ),
            )
        },
        query_panels=_query_panels,
        schematic=_schematic,
        explorers=(swin_explorer,),
        teaching=registry.Teaching(
            name="Swin",
            cites=("liu2021swin",),
            idea=(
                "keep every key, but attend only inside local windows that shift between "
                "consecutive blocks"
            ),
            explorer_section="section 5",
            explorer_controls=(
                "the window side, block 2 shifted or not, the toy's inverse temperature and "
                "the query. At inverse temperature 0 the maps show the keys a query may attend."
            ),
            predict="ex-swin-slide",
            slider=(
                "window 7, block 2 SW-MSA, inverse temperature 0, the query in the "
                "bottom-right corner"
            ),
            prediction="the keys block 2 lets a corner query attend",
            judgement="ex-swin-judgement",
            question="which window for a dense task at 1024²",
            glossary=(
                (
                    "window (attention window)",
                    "窗口（注意力窗口）",
                    (
                        r"Swin's square block of tokens, $M \times M$ with $M = 7$ in every Swin "
                        r"model of the book: a query attends only to the tokens of its own window; "
                        r"every token stays a key"
                    ),
                ),
                (
                    "shifted window",
                    "移位窗口",
                    (
                        "a window of the next block, moved by half a window's side, rounded down, "
                        "along both axes (Swin)"
                    ),
                ),
                (
                    "window attention (W-MSA)",
                    "W-MSA（窗口多头自注意力）",
                    (
                        "multi-head self-attention inside each window: a query sees only the "
                        "tokens of its own window (Swin)"
                    ),
                ),
                (
                    "shifted window attention (SW-MSA)",
                    "SW-MSA（移位窗口多头自注意力）",
                    (
                        "W-MSA with the windows shifted by half a window's side, rounded down, in "
                        "every second block where the grid is larger than one window, so that "
                        "neighbouring windows exchange information (Swin)"
                    ),
                ),
                (
                    "cyclic shift",
                    "循环移位",
                    (
                        "rolling the grid by the shift (`torch.roll`) so that the shifted windows "
                        "are again whole windows; the tokens that wrap around share a window with "
                        "tokens that are not their neighbours (Swin)"
                    ),
                ),
                (
                    "attention mask",
                    "注意力掩码",
                    (
                        "a large negative number added to the logits of the query–key pairs that "
                        "must not attend, so that their weights become negligible (exactly zero "
                        "with −inf); Swin's keeps apart the tokens that the cyclic shift brought "
                        "together"
                    ),
                ),
            ),
        ),
        forward=registry.ForwardExercise(
            check=check_swin_forward,
            steps=swin_steps,
            cases=swin_cases,
            configs=((8, 8, 16, 2, 4, 2),),
        ),
        samples=registry.Samples(
            model=lambda: SwinTransformer(**_TINY),
            layers={
                "WindowAttention": (
                    lambda: WindowAttention(8, 4, 2),
                    lambda x: (x,),
                    (2, 16, 8),
                ),
                "SwinTransformerBlock": (
                    lambda: SwinTransformerBlock(8, (8, 8), 2, window_size=4, shift_size=2),
                    lambda x: (x,),
                    (1, 64, 8),
                ),
                "PatchMerging": (lambda: PatchMerging((4, 4), 8), lambda x: (x,), (1, 16, 8)),
                "SwinPatchEmbed": (
                    lambda: PatchEmbed(img_size=16, patch_size=4, embed_dim=8),
                    lambda x: (x,),
                    (1, 3, 16, 16),
                ),
            },
            constructors={
                WindowAttention: dict(dim=8, window_size=4, num_heads=2),
                SwinTransformerBlock: dict(
                    dim=8, input_resolution=(8, 8), num_heads=2, window_size=4
                ),
                PatchEmbed: dict(img_size=32, patch_size=4, embed_dim=8),
                SwinTransformer: _TINY,
            },
            rates=("drop_rate", "attn_drop_rate", "drop_path_rate", "mlp_ratio"),
            flags=(
                (SwinTransformer, "qkv_bias"),
                (SwinTransformer, "ape"),
                (SwinTransformer, "patch_norm"),
            ),
            # channels 1, 2, 4, 8 (doubling per stage); 4x4 windows tile 64² (grids 16, 8, 4, 2)
            overrides=dict(embed_dim=1, num_heads=(1, 1, 1, 1), depths=(1, 1, 1, 1), window_size=4),
        ),
    )
)

__all__ = [
    "BasicLayer",
    "EXPLORER_BLOCK2",
    "EXPLORER_SCALES",
    "EXPLORER_SIZE",
    "EXPLORER_WINDOWS",
    "SPLIT_VARIANTS",
    "TIMED_VARIANTS",
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
    "check_explorer_prediction",
    "check_img_size",
    "check_memory_prediction",
    "check_swin_forward",
    "check_window_choice",
    "check_window_macs",
    "cost_curves",
    "draw_shift_schematic",
    "explorer_cost_chart",
    "explorer_maps",
    "full_map",
    "input_gradient",
    "own_window",
    "plot_cost_curves",
    "plot_measured_times",
    "plot_receptive_fields",
    "plot_two_blocks",
    "print_round_ratios",
    "receptive_fields",
    "round_ratios",
    "swin_cost_table",
    "swin_explorer",
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

"""What the CoAtNet paper reports, stored once and printed by the chapter: its layout study and
its ablation tables, each with what it changes, what it holds fixed and what the paper concludes
(short passages, each with the section it comes from).

Dai, Liu, Le and Tan, "CoAtNet: Marrying Convolution and Attention for All Data Sizes",
NeurIPS 2021 (arXiv:2106.04803v2). Tables are named by their number in arXiv v2 and their
caption. Nothing here is computed: these are the paper's numbers, never used in a
computation of the book (the book's own counts of the same variants are in
:func:`vit_notes.coatnet.cost.ablation_costs`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .. import validate
from ..counting import format_table

#: The arXiv version whose table numbers are used below.
VERSION = "arXiv:2106.04803v2"


@dataclass(frozen=True)
class Passage:
    """A claim as the paper words it: ``text`` (a short quotation) from ``section`` (the
    section's title, or the appendix paragraph's)."""

    section: str
    text: str

    def __str__(self) -> str:
        return f'"{self.text}" (section "{self.section}")'


#: The paper's claims that the book quotes, by a short key: the conclusions that the ablation
#: tables below quote, and why S1 has no attention (the comparison chapter quotes it).
CLAIMS: dict[str, Passage] = {
    "aim": Passage(
        "Abstract",
        "while Transformers tend to have larger model capacity, their generalization can be"
        " worse than convolutional networks due to the lack of the right inductive bias",
    ),
    "s1_no_attention": Passage(
        "Vertical Layout Design",
        "S1 always employs MBConv blocks with squeeze-excitation (SE), as the spatial size is too"
        " large for global attention",
    ),
    "rel_attn_generalizes": Passage(
        "Ablation Studies",
        "the main advantage of relative attention in visual processing is not in higher"
        " capacity but in better generalization",
    ),
    "strided_dconv": Passage(
        "Appendix A.1, Down-Sampling",
        "using stride-2 depthwise convolution is helpful but slower when model is small but not"
        " so much when model scales",
    ),
}


# --- the layout study (section "Vertical Layout Design", Figure 1 and Table 2) ----------------

#: The five variants the study compares: what each is, stage by stage.
LAYOUT_VARIANTS: dict[str, str] = {
    "ViT_REL": "ViT stem with an aggressive stride (the paper's example: 16x16), then L"
    " transformer blocks with relative attention",
    "C-C-C-C": "S0 conv stem, S1-S4 MBConv",
    "C-C-C-T": "S0 conv stem, S1-S3 MBConv, S4 transformer",
    "C-C-T-T": "S0 conv stem, S1-S2 MBConv, S3-S4 transformer",
    "C-T-T-T": "S0 conv stem, S1 MBConv, S2-S4 transformer",
}

#: What the study holds fixed across the five variants, as the paper states it.
LAYOUT_HELD_FIXED = (
    "comparable model size (Figure 1: 'similar parameter size and computational cost'); "
    "training on ImageNet-1K for 300 epochs and on JFT for 3 epochs, 'without any "
    "regularization or augmentation'"
)

#: The orderings the paper reads off Figure 1 (it prints no numbers for this study).
LAYOUT_RANKINGS: dict[str, str] = {
    "generalization (ImageNet-1K)": "C-C-C-C ≈ C-C-C-T ≥ C-C-T-T > C-T-T-T ≫ ViT_REL",
    "capacity (JFT)": "C-C-T-T ≈ C-T-T-T > ViT_REL > C-C-C-T > C-C-C-C",
}

#: Table 2 "Transferability test results": the two JFT-pre-trained variants fine-tuned on
#: ImageNet-1K for 30 epochs. Metric -> (C-C-T-T, C-T-T-T).
TRANSFER: dict[str, tuple[float, float]] = {
    "pre-training precision@1 (JFT)": (34.40, 34.36),
    "transfer accuracy 224x224": (82.39, 81.78),
    "transfer accuracy 384x384": (84.23, 84.02),
}


# --- the ablations (section "Ablation Studies" and the appendix) -------------------------------


@dataclass(frozen=True)
class Variant:
    """One row of an ablation table: ``name`` as the paper labels it, ``changes`` (what differs
    from the table's baseline, ``"-"`` for the baseline), ``results``: ``(setting, model,
    metric) -> value`` (top-1 %, or the pre-training precision@1), and ``overrides``: the
    variant as options of :class:`~vit_notes.coatnet.model.CoAtNet` (``None``: the book's
    model cannot build it)."""

    name: str
    changes: str
    results: dict
    overrides: dict | None = None


@dataclass(frozen=True)
class AblationTable:
    """One of the paper's ablation tables: its ``title`` (number and caption in arXiv v2),
    the ``section`` that discusses it, what the table ``holds_fixed`` across its rows (what
    the paper states, with the book's assumptions marked "we assume"), its
    ``variants`` (the first is the baseline) and what the paper ``concludes`` from it (one
    passage or more)."""

    title: str
    section: str
    holds_fixed: str
    variants: tuple[Variant, ...]
    concludes: tuple[Passage, ...]


_IN1K, _21K = "IN-1K", "IN-21K ⇒ IN-1K"

ABLATIONS: tuple[AblationTable, ...] = (
    AblationTable(
        title="Table 6: Ablation on relative attention",
        section="Ablation Studies",
        holds_fixed="the rest of the model. The paper does not name the model. On IN-1K its"
        " numbers equal CoAtNet-2's. On IN-21K they equal CoAtNet-3's P@1 in Table 7 and its"
        " baseline in Table 8. So we assume those are the models (our reading). Table 4 gives"
        " CoAtNet-3 87.6 at 384², not 87.9: see below the tables",
        variants=(
            Variant(
                name="with rel-attn",
                changes="-",
                results={
                    (_IN1K, "not named", "top-1 224²"): 84.1,
                    (_IN1K, "not named", "top-1 384²"): 85.7,
                    (_21K, "not named", "pre-train P@1 224²"): 53.0,
                    (_21K, "not named", "fine-tune top-1 384²"): 87.9,
                },
            ),
            Variant(
                name="without rel-attn",
                changes="standard attention instead of relative attention (the paper does not"
                " say what position information it uses)",
                results={
                    (_IN1K, "not named", "top-1 224²"): 83.8,
                    (_IN1K, "not named", "top-1 384²"): 85.3,
                    (_21K, "not named", "pre-train P@1 224²"): 52.8,
                    (_21K, "not named", "fine-tune top-1 384²"): 87.4,
                },
            ),
        ),
        concludes=(CLAIMS["rel_attn_generalizes"],),
    ),
    AblationTable(
        title="Table 7: Ablation on architecture layout",
        section="Ablation Studies",
        holds_fixed="the total number of blocks in S2 and S3 (20), as the paper states. The"
        " paper names V0 as CoAtNet-2 (on ImageNet-1K) and CoAtNet-3 (pre-trained on"
        " ImageNet-21K) and gives only the layouts; we assume the widths stay those of V0. It"
        " names no image size. V0's ImageNet-1K top-1 equals CoAtNet-2's Table 4 entry at"
        " 224², so we take that size to be the one (our reading)",
        variants=(
            Variant(
                name="V0 [2, 2, 6, 14, 2]",
                changes="-",
                results={
                    (_IN1K, "coatnet_2", "top-1"): 84.1,
                    (_21K, "coatnet_3", "pre-train P@1"): 53.0,
                    (_21K, "coatnet_3", "fine-tune top-1"): 87.6,
                },
                overrides={},
            ),
            Variant(
                name="V1 [2, 2, 2, 18, 2]",
                changes="4 blocks moved from S2 (MBConv) to S3 (transformer)",
                results={
                    (_IN1K, "coatnet_2", "top-1"): 83.4,
                    (_21K, "coatnet_3", "pre-train P@1"): 53.0,
                    (_21K, "coatnet_3", "fine-tune top-1"): 87.4,
                },
                overrides={"depths": (2, 2, 18, 2)},
            ),
            Variant(
                name="V2 [2, 2, 8, 12, 2]",
                changes="2 blocks moved from S3 (transformer) to S2 (MBConv)",
                results={(_IN1K, "coatnet_2", "top-1"): 84.0},
                overrides={"depths": (2, 8, 12, 2)},
            ),
        ),
        concludes=(
            Passage(
                "Ablation Studies",
                "having more Transformer blocks in S3 generally leads to better performance"
                " until the number of MBConv blocks in S2 is too small to generalize well",
            ),
        ),
    ),
    AblationTable(
        title="Table 8: Ablation on head size and normalization type",
        section="Ablation Studies",
        holds_fixed="the paper names the model of each setting (CoAtNet-2, CoAtNet-3) and one"
        " change per row; we assume the widths, depths and layout stay those of that model",
        variants=(
            Variant(
                name="baseline",
                changes="-",
                results={
                    (_IN1K, "coatnet_2", "top-1 224²"): 84.1,
                    (_21K, "coatnet_3", "fine-tune top-1 384²"): 87.9,
                },
                overrides={},
            ),
            Variant(
                name="head size 32 → 64",
                changes="64 channels per attention head: half as many heads",
                results={(_IN1K, "coatnet_2", "top-1 224²"): 83.9},
                overrides={"dim_head": 64},
            ),
            Variant(
                name="norm BN → LN",
                changes="LayerNorm instead of BatchNorm in the MBConv blocks",
                results={
                    (_IN1K, "coatnet_2", "top-1 224²"): 84.1,
                    (_21K, "coatnet_3", "fine-tune top-1 384²"): 87.8,
                },
            ),
        ),
        concludes=(
            Passage(
                "Ablation Studies",
                "increasing head size from 32 to 64 can slightly hurt performance, though it"
                " actually improves the TPU speed by a significant amount",
            ),
            Passage(
                "Ablation Studies",
                "BatchNorm and LayerNorm have almost the same performance, while BatchNorm is"
                " 10 - 20% faster on TPU depending on the per-core batch size",
            ),
        ),
    ),
    AblationTable(
        title="Table 9: The effect of performing down-sampling in first Conv v.s. the"
        " Depthwise Conv",
        section="Appendix A.1, Down-Sampling",
        holds_fixed="everything but where the first MBConv block of a stage strides",
        variants=(
            Variant(
                name="stride in first conv",
                changes="-",
                results={
                    (_IN1K, "coatnet_0", "top-1 224²"): 81.6,
                    (_IN1K, "coatnet_1", "top-1 224²"): 83.3,
                    (_IN1K, "coatnet_2", "top-1 224²"): 84.1,
                },
                overrides={"stride_mode": "1x1"},
            ),
            Variant(
                name="strided DConv",
                changes="the stride in the depthwise 3x3 conv instead",
                results={
                    (_IN1K, "coatnet_0", "top-1 224²"): 82.0,
                    (_IN1K, "coatnet_1", "top-1 224²"): 83.5,
                    (_IN1K, "coatnet_2", "top-1 224²"): 84.1,
                },
                overrides={"stride_mode": "dw"},
            ),
        ),
        concludes=(CLAIMS["strided_dconv"],),
    ),
)

#: Table 9's cost columns: model -> {variant: (params M, GFLOPs at 224²)}.
DOWNSAMPLING_COST: dict[str, dict[str, tuple[float, float]]] = {
    "coatnet_0": {"stride in first conv": (25, 4.2), "strided DConv": (25, 4.6)},
    "coatnet_1": {"stride in first conv": (42, 8.4), "strided DConv": (42, 8.8)},
    "coatnet_2": {"stride in first conv": (75, 15.7), "strided DConv": (75, 16.6)},
}

#: CoAtNet-3 pre-trained on ImageNet-21K and fine-tuned on ImageNet-1K: image size -> top-1
#: (%), from Table 4 "Model performance on ImageNet" (21K+1K column). Table 14 repeats the
#: 384² and 512² entries. The 224² entry is in Table 4 only, not in Table 14.
COATNET_3_21K: dict[int, float] = {224: 87.6, 384: 87.6, 512: 87.9}

#: CoAtNet-2 trained on ImageNet-1K only: image size -> top-1 (%), from Table 4 "Model
#: performance on ImageNet" (1K only column).
COATNET_2_1K: dict[int, float] = {224: 84.1, 384: 85.7}

#: CoAtNet-4 is reported only after ImageNet-21K or JFT pre-training, at 384² and 512². Table
#: 4 ("Model performance on ImageNet") gives it at 384²: (params M, GFLOPs).
COATNET_4_AT_384 = (275, 189.5)

#: Every CoAtNet row's FLOPs in Table 4 ("Model performance on ImageNet"): (model, eval size)
#: -> GFLOPs. The PT-RA rows repeat CoAtNet-4's; CoAtNet-4 has no 224² row.
TABLE4_GFLOPS: dict[tuple[str, int], float] = {
    ("coatnet_0", 224): 4.2,
    ("coatnet_1", 224): 8.4,
    ("coatnet_2", 224): 15.7,
    ("coatnet_3", 224): 34.7,
    ("coatnet_0", 384): 13.4,
    ("coatnet_1", 384): 27.4,
    ("coatnet_2", 384): 49.8,
    ("coatnet_3", 384): 107.4,
    ("coatnet_4", 384): 189.5,
    ("coatnet_2", 512): 96.7,
    ("coatnet_3", 512): 203.1,
    ("coatnet_4", 512): 360.9,
}

#: CoAtNet-4 pre-trained on ImageNet-21K and fine-tuned on ImageNet-1K, at 384²: top-1 (%),
#: from Table 4 "Model performance on ImageNet" (21K+1K column), also Table 14.
COATNET_4_21K_384 = 87.9


def ablation(title: str) -> AblationTable:
    """The ablation table whose title starts with ``title`` (``"Table 7"``)."""
    title = validate.text("title", title)
    for t in ABLATIONS:
        if t.title.startswith(title):
            return t
    have = [t.title.split(":")[0] for t in ABLATIONS]
    raise ValueError(
        f"title={validate.shown(title)} names no ablation table; the paper's ablation tables "
        f"are {have}"
    )


def ablation_rows(title: str) -> list[dict]:
    """One dict per (variant, setting, model, metric) of an ablation table, for
    :func:`vit_notes.counting.format_table`: ``variant``, ``setting``, ``model``,
    ``metric`` and the paper's ``value``."""
    return [
        dict(variant=v.name, setting=s, model=m, metric=k, value=value)
        for v in ablation(title).variants
        for (s, m, k), value in v.results.items()
    ]


def _wrapped(label: str, text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text, width, initial_indent=f"{label}: ", subsequent_indent=" " * (len(label) + 2)
    )


def describe_ablation(title: str, width: int = 88) -> str:
    """One ablation table as text (lines of at most ``width`` characters): its title and
    section, what it holds fixed, what each variant changes, the paper's numbers and what
    the paper concludes."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    t = ablation(title)
    lines = textwrap.wrap(f"{t.title} ({VERSION}, section {t.section!r})", width)
    lines += _wrapped("holds fixed", t.holds_fixed, width)
    for v in t.variants[1:]:
        lines += _wrapped(f"{v.name} changes", v.changes, width)
    table = format_table(
        ablation_rows(title),
        dict(variant="variant", setting="setting", model="model", metric="metric", value="paper"),
        floatfmt=".1f",
    )
    lines += [""] + table.splitlines() + [""]
    for passage in t.concludes:
        lines += _wrapped("the paper concludes", str(passage), width)
    return "\n".join(lines)


def describe_layout_study(width: int = 88) -> str:
    """The layout study (section "Vertical Layout Design") as text: the five variants, what
    the study holds fixed, the two orderings it reads off its Figure 1 and Table 2."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    lines = [f"The layout study ({VERSION}, section 'Vertical Layout Design')"]
    for name, what in LAYOUT_VARIANTS.items():
        lines += textwrap.wrap(
            what, width, initial_indent=f"  {name:8s} ", subsequent_indent=" " * 11
        )
    lines += _wrapped("holds fixed", LAYOUT_HELD_FIXED, width)
    lines += ["orderings read off Figure 1 (no numbers printed):"]
    lines += [f"  {k:29s} {v}" for k, v in LAYOUT_RANKINGS.items()]
    rows = [dict(metric=k, cctt=a, cttt=b) for k, (a, b) in TRANSFER.items()]
    table = format_table(rows, dict(metric="Table 2", cctt="C-C-T-T", cttt="C-T-T-T"))
    return "\n".join(lines + [""] + table.splitlines())

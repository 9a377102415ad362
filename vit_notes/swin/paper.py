"""What the Swin paper says, stored once so that the chapter prints it instead of retyping it.

Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021
(arXiv:2103.14030; ``liu2021swin`` in ``book/references.bib``).

``EQUATIONS``: the paper's eqs. (1)-(4) in its notation. ``SYMBOLS``: which tensor of
:mod:`vit_notes.swin.model` each symbol is. ``VARIANTS``: §3.3 "Architecture Variants".
``TABLE``: each variant's parameters, FLOPs and ImageNet-1K top-1 at 224², from the paper's
Table 1(a). ``CLAIMS``: the abstract's words that the comparison repeats. ``TABLE5_MS``:
Table 5's "MSA in a stage (ms)" on a V100, without shifting and with Swin's cyclic shift,
``TABLE5_FPS`` its "Arch. (FPS)", ``TABLE1_THROUGHPUT`` Table 1(a)'s throughput.
``CODE_DIFFERENCES``: where the official code, which this package equals, does something the
equations leave open.

What this rests on: the equations, section titles, Table 1(a) and Table 5 were checked
against the paper's text (arXiv v2). Table 1(a) prints 29M parameters for Swin-T; the
official code counts 28,288,354 (:data:`vit_notes.swin.CODE_PARAMS`), which its README
rounds to 28M. Swin-S and Swin-B (50M/8.7G, 88M/15.4G) agree with the code. The README's
top-1 for Swin-T and Swin-S (81.2, 83.2) come from a later training run than Table 1's
(81.3, 83.0).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import registry
from ..facts import Claim

#: The paper, as cited in the book.
CITE = "liu2021swin"
ARXIV = "2103.14030"
REPO = "https://github.com/microsoft/Swin-Transformer"
#: The sections the package cites, by number and title.
SECTIONS = {
    "architecture": '§3.1 "Overall Architecture"',
    "ablation": '§4.4 "Ablation Study"',
    "windows": '§3.2 "Shifted Window based Self-Attention"',
    "batch": '§3.2, paragraph "Efficient batch computation for shifted configuration"',
    "variants": '§3.3 "Architecture Variants"',
}


@dataclass(frozen=True)
class Equation:
    """One equation: its LaTeX in the paper's notation, and where it is."""

    latex: str
    where: str


EQUATIONS = {
    "msa": Equation(r"\Omega(\mathrm{MSA}) = 4hwC^2 + 2(hw)^2C", "eq. (1), §3.2, global attention"),
    "wmsa": Equation(
        r"\Omega(\mathrm{W\text{-}MSA}) = 4hwC^2 + 2M^2hwC",
        "eq. (2), §3.2, attention inside M×M windows",
    ),
    "block": Equation(
        r"\begin{aligned}"
        r"\hat{z}^{l} &= \mathrm{W\text{-}MSA}(\mathrm{LN}(z^{l-1})) + z^{l-1}\\"
        r"z^{l} &= \mathrm{MLP}(\mathrm{LN}(\hat{z}^{l})) + \hat{z}^{l}\\"
        r"\hat{z}^{l+1} &= \mathrm{SW\text{-}MSA}(\mathrm{LN}(z^{l})) + z^{l}\\"
        r"z^{l+1} &= \mathrm{MLP}(\mathrm{LN}(\hat{z}^{l+1})) + \hat{z}^{l+1}"
        r"\end{aligned}",
        "eq. (3), §3.2, two consecutive Swin Transformer blocks",
    ),
    "bias": Equation(
        r"\mathrm{Attention}(Q, K, V) = \mathrm{SoftMax}(QK^{T}/\sqrt{d} + B)V",
        "eq. (4), §3.2, relative position bias",
    ),
}


@dataclass(frozen=True)
class Symbol:
    """A symbol of the equations and the tensor or setting it is in the code."""

    symbol: str
    paper: str
    code: str


SYMBOLS = (
    Symbol("h, w", "the token grid's height and width", "input_resolution"),
    Symbol("C", "channels", "dim"),
    Symbol("M", "the window's side, in tokens (7)", "window_size"),
    Symbol(
        "⌊M/2⌋",
        "the shift of every second block (none where the grid is one window)",
        "shift_size = window_size // 2",
    ),
    Symbol(
        "B",
        "the relative position bias, M²×M² per head",
        "relative_position_bias_table[relative_position_index]",
    ),
    Symbol(
        "B̂",
        "the learned (2M-1)×(2M-1) table that B is taken from",
        "relative_position_bias_table, (2M-1)² rows, one column per head",
    ),
    Symbol("Q, K, V", "queries, keys, values of one window", "qkv(x), split in three"),
    Symbol("d", "the query/key dimension of a head (32 in every variant)", "dim // num_heads"),
)


@dataclass(frozen=True)
class Variant:
    """§3.3: the channels of stage 1 and the number of blocks per stage."""

    C: int
    layers: tuple[int, int, int, int]


#: §3.3 "Architecture Variants": window M = 7, head dimension d = 32, MLP ratio α = 4 in all.
VARIANTS = {
    "swin_t": Variant(C=96, layers=(2, 2, 6, 2)),
    "swin_s": Variant(C=96, layers=(2, 2, 18, 2)),
    "swin_b": Variant(C=128, layers=(2, 2, 18, 2)),
}
WINDOW, HEAD_DIM, MLP_RATIO = 7, 32, 4.0

_TABLE = "Swin Transformer, Table 1(a), ImageNet-1K trained, 224²"
#: The paper's numbers (never used in a computation, only shown beside the book's counts).
TABLE = {
    "swin_t": registry.Paper(params_m=29, gflops=4.5, top1=81.3, cite=CITE, source=_TABLE),
    "swin_s": registry.Paper(params_m=50, gflops=8.7, top1=83.0, cite=CITE, source=_TABLE),
    "swin_b": registry.Paper(params_m=88, gflops=15.4, top1=83.5, cite=CITE, source=_TABLE),
}

#: The paper's claims that the comparison chapter repeats, in its own words (checked against
#: the paper's text, arXiv v2).
CLAIMS = (
    Claim(
        "linear cost",
        "This hierarchical architecture has the flexibility to model at various scales and has "
        "linear computational complexity with respect to image size",
        "abstract",
    ),
    Claim(
        "what the shifted windows do",
        "The shifted windowing scheme brings greater efficiency by limiting self-attention "
        "computation to non-overlapping local windows while also allowing for cross-window "
        "connection",
        "abstract",
    ),
)

#: Table 5 of §4.4 "Ablation Study" ("Real speed of different self-attention computation
#: methods and implementations on a V100 GPU"), the two rows of this package's method: the
#: time of "MSA in a stage" (ms) at stages S1-S4. The table does not say which model or image
#: size these columns time, nor whether a stage's time is one attention layer or all of them.
#: The paragraph that presents the table is "Different self-attention methods": "The real
#: speed of different self-attention computation methods and implementations are compared in
#: Table 5." The paragraph "Shifted windows" points to it: "The latency overhead by shifted
#: window is also small, as shown in Table 5." Table 4's caption: "w/o shifting: all
#: self-attention modules adopt regular window partitioning".
#: Shown beside the book's own timing; only its ratios are computed.
TABLE5_SOURCE = 'Table 5, §4.4 "Ablation Study", "Different self-attention methods", V100 GPU'
TABLE5_MS = {
    "window (w/o shifting)": (2.8, 1.7, 1.2, 0.9),
    "shifted window (cyclic)": (3.0, 1.9, 1.3, 1.0),
}
#: The same rows' "Arch. (FPS)" columns: images per second of Swin-T, Swin-S and Swin-B. The
#: cyclic row equals Table 1(a)'s throughput at 224² (:data:`TABLE1_THROUGHPUT`) rounded, so
#: we read these columns as the whole model at 224².
TABLE5_FPS = {
    "window (w/o shifting)": (770, 444, 280),
    "shifted window (cyclic)": (755, 437, 278),
}
#: Table 1(a)'s "throughput (image / s)" at 224², on a V100 GPU.
TABLE1_THROUGHPUT = {"swin_t": 755.2, "swin_s": 436.9, "swin_b": 278.1}

#: Where the official code (which this package equals, tested) fills in what the equations
#: leave open.
CODE_DIFFERENCES = (
    "The mask adds -100 to the logits of token pairs that the cyclic shift brought together, "
    "not -inf: such a key gets at most e^(Δ - 100) of the weight, Δ being its logit minus the "
    "largest logit of the query's own region (about 4e-44 where Δ is near 0).",
    "A stage whose grid is no larger than the window has one window and no shift: at 224² the "
    "last stage's 7×7 grid is one window in both of its blocks.",
    "Eq. (1) and (2) count the four projections (4hwC²) and q kᵀ and attn v (2·hw·M²·C); "
    "the relative bias, the mask and the softmax are not counted, as the FLOP counter does not.",
)

"""What the PVT papers say, stored once so that the chapter prints it instead of retyping it.

* PVT v1: Wang et al., "Pyramid Vision Transformer: A Versatile Backbone for Dense Prediction
  without Convolutions", arXiv:2102.12122v2, also ICCV 2021 (``wang2021pvt`` in
  ``book/references.bib``, which names v2: its section and table numbers are the ones cited),
  §3.3 "Transformer Encoder", eqs. (1)-(4).
* PVT v2: Wang et al., "PVT v2: Improved Baselines with Pyramid Vision Transformer", CVMJ 2022
  (arXiv:2106.13797; ``wang2022pvtv2``), §3.2 "Linear Spatial Reduction Attention",
  eqs. (1)-(2).

``EQUATIONS``: SRA as PVT v1 writes it, with ``SYMBOLS`` saying which tensor of
:class:`~vit_notes.pvt.model.SpatialReductionAttention` each symbol is. ``LINEAR_SRA``: PVT v2's
linear SRA. The paper describes it in words and by its cost; the equation here is the official
code's order of operations (whai362/PVT, ``pvt_v2.py``), written in v1's notation, and it is
marked as such. ``CLAIMS``: the papers' own words for the claims the chapter repeats.
``CODE_DIFFERENCES``: where the official code, which this package equals, departs from the
equations' letter.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .. import validate
from ..facts import Claim, Difference, Symbol

CITE_V1 = "wang2021pvt"
CITE_V2 = "wang2022pvtv2"
REPO = "https://github.com/whai362/PVT"
#: The sections that define the two layers, by their numbers and titles.
SRA_SECTION = '§3.3 "Transformer Encoder"'
LINEAR_SECTION = '§3.2 "Linear Spatial Reduction Attention"'
#: The pooling size of linear SRA, "set to 7" (PVT v2, §3.2; P_i = 7 at every stage of B2-Li).
POOL_SIZE = 7


@dataclass(frozen=True)
class Equation:
    """One equation: its LaTeX in the paper's notation, and where it is."""

    latex: str
    where: str


#: SRA of stage i in PVT v1's notation (§3.3 "Transformer Encoder", eqs. (1)-(4)).
EQUATIONS = (
    Equation(
        r"\mathrm{SRA}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_0, \ldots, "
        r"\mathrm{head}_{N_i})\, W^O",
        f"PVT v1, {SRA_SECTION}, eq. (1)",
    ),
    Equation(
        r"\mathrm{head}_j = \mathrm{Attention}(Q W_j^Q,\ \mathrm{SR}(K) W_j^K,\ "
        r"\mathrm{SR}(V) W_j^V)",
        f"PVT v1, {SRA_SECTION}, eq. (2)",
    ),
    Equation(
        r"\mathrm{SR}(\mathbf{x}) = \mathrm{Norm}(\mathrm{Reshape}(\mathbf{x}, R_i)\, W^S)",
        f"PVT v1, {SRA_SECTION}, eq. (3)",
    ),
    Equation(
        r"\mathrm{Attention}(\mathbf{q}, \mathbf{k}, \mathbf{v}) = "
        r"\mathrm{Softmax}\!\left(\frac{\mathbf{q}\mathbf{k}^{\top}}{\sqrt{d_{\mathrm{head}}}}"
        r"\right) \mathbf{v}",
        f"PVT v1, {SRA_SECTION}, eq. (4)",
    ),
)

#: Linear SRA's reduction, in v1's notation. Not the paper's equation: PVT v2 §3.2 says in
#: words that linear SRA "uses average pooling to reduce the spatial dimension (i.e., h×w) to a
#: fixed size (i.e., P×P) before the attention operation", with P = 7, and gives its cost as
#: eq. (2). The order pool, 1×1 conv (W^S), Norm, GELU is the official code's (``pvt_v2.py``,
#: ``Attention`` with ``linear=True``).
LINEAR_SRA = Equation(
    r"\mathrm{SR}_{\mathrm{linear}}(\mathbf{x}) = \mathrm{GELU}(\mathrm{Norm}("
    r"\mathrm{AvgPool}_{P}(\mathbf{x})\, W^S)),\quad P = 7",
    f"PVT v2, {LINEAR_SECTION} (in words); the order of operations from {REPO} pvt_v2.py",
)

#: Every symbol of :data:`EQUATIONS`, for one layer of stage i (``C = C_i`` channels,
#: ``N_i`` heads of ``d = C/N_i``, ``H×W`` tokens, ``R = R_i``, ``N_k = ⌊H/R⌋·⌊W/R⌋`` keys);
#: the chapter asserts each shape.
SYMBOLS = (
    Symbol("Q, K, V", "the layer's input sequence, three times", "x: (B, N, C), N = H·W"),
    Symbol("x", "an input sequence of H_i·W_i tokens of C_i channels", "x: (B, N, C)"),
    Symbol("R_i", "the reduction ratio of stage i", "sr_ratio"),
    Symbol(
        "Reshape(x, R_i)",
        "x as H_iW_i/R_i² rows of R_i²·C_i numbers. The code makes each row one R_i×R_i "
        "reduction tile",
        "rearrange(grid, 'b c (gh r1) (gw r2) -> b (gh gw) (r1 r2 c)'): (B, N_k, R²·C)",
    ),
    Symbol(
        "W^S",
        "a linear projection from R_i²·C_i to C_i",
        "sr.weight (C, C, R, R), read as an (R²·C, C) matrix, and sr.bias",
    ),
    Symbol("Norm", "layer normalisation", "norm (LayerNorm over C)"),
    Symbol("SR(x)", "the reduced sequence", "x_reduced = norm(sr(grid)): (B, N_k, C)"),
    Symbol("N_i", "the number of heads in stage i", "num_heads"),
    Symbol(
        "W_j^Q",
        "head j's query projection, C_i × d_head",
        "rows j·d .. (j+1)·d of q.weight, transposed: Linear stores (out, in), a d × C block",
    ),
    Symbol(
        "W_j^K, W_j^V",
        "head j's key and value projections, C_i × d_head",
        "rows j·d .. (j+1)·d of kv.weight (K), and the same rows plus C (V), each block transposed",
    ),
    Symbol(
        "d_head", "the dimension of a head, C_i / N_i", "d = C // num_heads, and scale = d ** -0.5"
    ),
    Symbol("head_j", "head j's output", "(B, N, d). The heads concatenated: (B, N, C)"),
    Symbol("W^O", "the output projection, C_i × C_i", "proj.weight transposed (and proj.bias)"),
)

#: The papers' own words for the claims the chapter repeats.
CLAIMS = (
    Claim(
        "what PVT is for",
        "the Pyramid Vision Transformer (PVT), which overcomes the difficulties of porting "
        "Transformer to various dense prediction tasks",
        "PVT v1, abstract",
    ),
    Claim(
        "what SRA does",
        "our SRA reduces the spatial scale of K and V before the attention operation (see "
        "Figure 4), which largely reduces the computational/memory overhead",
        f"PVT v1, {SRA_SECTION}",
    ),
    Claim(
        "what Reshape does",
        "an operation of reshaping the input sequence x to a sequence of size "
        "H_iW_i/R_i² × (R_i²C_i)",
        f"PVT v1, {SRA_SECTION}",
    ),
    Claim(
        "what W^S does",
        "a linear projection that reduces the dimension of the input sequence to C_i",
        f"PVT v1, {SRA_SECTION}",
    ),
    Claim(
        "PVT v2's three designs",
        "(1) linear complexity attention layer, (2) overlapping patch embedding, and "
        "(3) convolutional feed-forward network",
        "PVT v2, abstract",
    ),
    Claim(
        "what linear SRA is for",
        "PVT v2 reduces the computational complexity of PVT v1 to linear",
        "PVT v2, abstract",
    ),
    Claim(
        "what linear SRA does",
        "linear SRA uses average pooling to reduce the spatial dimension (i.e., h×w) to a "
        "fixed size (i.e., P×P) before the attention operation. So linear SRA enjoys linear "
        "computational and memory costs like a convolutional layer",
        f"PVT v2, {LINEAR_SECTION}",
    ),
    Claim(
        "the two costs",
        "Ω(SRA) = 2h²w²c/R² + hwc²R² (1), Ω(Linear SRA) = 2hwP²c (2), where R is the "
        "spatial reduction ratio of SRA [33]. P is the pooling size of linear SRA, which is "
        "set to 7",
        f"PVT v2, {LINEAR_SECTION}, eqs. (1)-(2)",
    ),
)

#: Where the official code, which :mod:`vit_notes.pvt` equals, departs from the equations'
#: letter. Each is checked in the chapter or in ``tests/test_pvt.py``.
CODE_DIFFERENCES = (
    Difference(
        topic="Reshape and W^S",
        paper="reshape the sequence x to H_iW_i/R_i² × (R_i²C_i), then a linear map W^S. "
        "It does not say which R_i² tokens form a row. Read literally, a row is R_i² "
        "consecutive tokens of the sequence. The sequence lists the grid row by row",
        code="one Conv2d (sr) of kernel and stride R_i on the H_i×W_i grid. Each row is one "
        "R_i×R_i reduction tile, and we follow the code. With rows made of reduction tiles, "
        "and where R_i divides H_i and W_i, the conv is the same function, its weight read "
        "as W^S. The chapter checks that the two are equal. Where R_i does not divide a side, "
        "the conv floors: it drops the leftover rows or columns. So it keeps "
        "⌊H_i/R_i⌋⌊W_i/R_i⌋ tokens, not the paper's H_iW_i/R_i². On a square grid the "
        "latter is not even a whole number",
        evidence=f"{REPO} classification/pvt.py, Attention.__init__ and forward",
    ),
    Difference(
        topic="SR(K) and SR(V)",
        paper="SR is written for K and for V",
        code="one SR of the input x. K and V are two projections of the same reduced tokens, "
        "computed by one Linear (kv) with 2C outputs",
        evidence=f"{REPO} classification/pvt.py, Attention.forward",
    ),
    Difference(
        topic="the heads' index",
        paper="Concat(head_0, ..., head_{N_i}) lists N_i + 1 heads",
        code="there are N_i heads, head_0 .. head_{N_i - 1}, and d_head = C_i / N_i",
        evidence=f"{REPO} classification/pvt.py, Attention.forward (num_heads)",
    ),
    Difference(
        topic="biases",
        paper="eqs. (1)-(3) have no bias terms",
        code="q and kv have biases (qkv_bias=True in every PVT configuration), and so do "
        "proj and sr. The chapter's equation "
        "cell adds b_Q, b_K, b_V and proj.bias to match the module",
        evidence=f"{REPO} classification/pvt.py, Attention.__init__ (qkv_bias) and "
        "pvt_tiny ... pvt_large (qkv_bias=True)",
    ),
    Difference(
        topic="linear SRA's reduction",
        paper="average pooling to a fixed size P×P before the attention operation, in all "
        "four stages of B2-Li (Table 1: P_1 = P_2 = P_3 = P_4 = 7, as the code builds it); "
        "§3.2 names no other step",
        code="AdaptiveAvgPool2d(7), then a 1×1 Conv2d (sr), a LayerNorm (norm) and a GELU "
        "(act). The conv, the LayerNorm and the GELU are the departure. "
        "linear=True also adds a ReLU after fc1 in every feed-forward. Only pvt_v2_b2_li "
        "is built with linear=True. B0 to B5 keep SRA",
        evidence=f"{REPO} classification/pvt_v2.py, Attention (linear=True) and "
        "pvt_v2_b0 ... pvt_v2_b5, pvt_v2_b2_li",
    ),
)


def _wrap(label: str, text: str, width: int) -> str:
    return textwrap.fill(
        text, width=width, initial_indent=f"  {label:<8}", subsequent_indent=" " * 10
    )


def describe_symbols(width: int = 88) -> str:
    """:data:`SYMBOLS` as lines of at most ``width`` characters, for a chapter to print."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    return "\n".join(
        f"{s.symbol}\n" + _wrap("paper:", s.paper, width) + "\n" + _wrap("code:", s.code, width)
        for s in SYMBOLS
    )


def describe_differences(width: int = 88) -> str:
    """:data:`CODE_DIFFERENCES` as lines of at most ``width`` characters."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    return "\n".join(
        f"{d.topic}\n"
        + "\n".join(
            _wrap(label, text, width)
            for label, text in (("paper:", d.paper), ("code:", d.code), ("see:", d.evidence))
        )
        for d in CODE_DIFFERENCES
    )


def describe_claims(width: int = 88) -> str:
    """:data:`CLAIMS` as quoted lines with where each was read."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    return "\n".join(
        f"{c.topic}\n" + _wrap("says:", f'"{c.quote}"', width) + "\n" + _wrap("in:", c.where, width)
        for c in CLAIMS
    )


def equations_latex() -> str:
    """The equations as one aligned LaTeX block."""
    return (
        "\\begin{aligned}\n"
        + " \\\\\n".join(f"& {e.latex}" for e in EQUATIONS)
        + "\n\\end{aligned}"
    )

"""What the Shunted paper says, stored once so that the chapter prints it instead of retyping it.

Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation", CVPR 2022
(``ren2022shunted`` in ``book/references.bib``). Only the paper's abstract was read for the
book, not its body text. Every entry therefore names what it rests on: the abstract, the
official repository (OliverRensu/Shunted-Transformer, ``SSA.py`` and its issue threads, some
of which quote the paper), or "our reading" where neither says it.

``EQUATIONS``: shunted self-attention head by head, written from the ``sr_ratio > 1`` branch
of the official ``SSA.py`` (stages 1-3; :data:`EQUATIONS_SOURCE`). Their operator is named by
the paper's term, multi-scale token aggregation (MTA), from its title (the abstract does not
use the term). The paper's own typesetting of the equations is not quoted here.
MTA and LE are the paper's names: the question in issue 14 quotes LE(.) and its definition, a
component of MTA, from the paper. LE is thus part of MTA. MTA means both parts: the token
merge, written ``Merge(X, r_i)`` (the convolution, LayerNorm and GELU of the code), and LE.
``r_i`` stands for the code's rate of a head's group and ``d_h`` for its ``head_dim``.
``SYMBOLS`` says which tensor of :class:`~vit_notes.shunted.model.ShuntedAttention` each symbol is.
``CLAIMS``: the paper's own words for the claims the chapter repeats.
``CODE_DIFFERENCES``: what the code makes of two of the equations' symbols, and where the
code's stage 4 (``sr_ratio`` 1) differs from stages 1-3, from which the equations were
written. ``ABLATIONS``: what the paper's ablation study of the token aggregation varies, as
far as the repository's issue 18 says.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .. import validate
from ..facts import Claim, Difference, Symbol

#: The paper, as cited in the book.
CITE = "ren2022shunted"
REPO = "https://github.com/OliverRensu/Shunted-Transformer"
#: What the equations rest on: they are written from stages 1-3 of the official code, with
#: the operator named by the paper's term. Two of their names, MTA and LE, are the paper's.
EQUATIONS_SOURCE = (
    "equations written from stages 1-3 of the official code (SSA.py, sr_ratio > 1) and "
    "checked against it. Their operator is named by the paper's term, multi-scale token "
    "aggregation (MTA), from its title. The paper's own typesetting of the "
    "equations is not quoted here. MTA and LE are the paper's names: the question in issue 14 "
    "of the official repository quotes LE(.) and its definition, a component of MTA, from the "
    "paper. Merge(X, r_i) writes the token merge, one of MTA's two parts. r_i stands for the "
    "rate of a head's group "
    "(sr_ratio or sr_ratio / 2), d_h for the code's head_dim. Stage 4 of the code "
    "(sr_ratio 1) differs from stages 1-3 (CODE_DIFFERENCES)"
)


@dataclass(frozen=True)
class Equation:
    """One of the equations in the chapter: its LaTeX, and what it rests on."""

    latex: str
    source: str


@dataclass(frozen=True)
class AblationRow:
    """One row of an ablation study: what it changes against the paper's model."""

    name: str
    changes: str


@dataclass(frozen=True)
class Ablation:
    """One of the paper's ablation studies: what it varies, its rows, what separates them as far
    as a source says, and what of the paper's table is not reproduced here (``not_here``)."""

    study: str
    section: str
    #: where the section's number and title come from
    section_source: str
    varies: str
    rows: tuple[AblationRow, ...]
    evidence: str
    not_here: str


#: Shunted self-attention, head by head (:data:`EQUATIONS_SOURCE`). The
#: index ``i`` runs over the heads, and ``r_i`` is head i's downsampling rate.
EQUATIONS = (
    Equation(r"Q_i = X W_i^Q", EQUATIONS_SOURCE),
    Equation(
        r"K_i,\ V_i = \mathrm{Merge}(X, r_i)\, W_i^K,\ \mathrm{Merge}(X, r_i)\, W_i^V",
        EQUATIONS_SOURCE,
    ),
    Equation(r"V_i = V_i + \mathrm{LE}(V_i)", EQUATIONS_SOURCE),
    Equation(
        r"h_i = \mathrm{Softmax}\!\left(\frac{Q_i K_i^{\top}}{\sqrt{d_h}}\right) V_i",
        EQUATIONS_SOURCE,
    ),
)

#: Every symbol of :data:`EQUATIONS`, for one stage-1 layer (``C`` channels, ``h`` heads,
#: ``d = C/h``, ``N = H·W`` tokens, ``sr_ratio = r``); the chapter asserts each shape.
SYMBOLS = (
    Symbol("X", "the layer's input tokens", "x: (B, N, C)"),
    Symbol(
        "i",
        "a head",
        "coarse group g = 1: heads 0 .. h/2-1. Fine group g = 2: heads h/2 .. h-1",
    ),
    Symbol(
        "r_i",
        "head i's downsampling rate",
        "r (sr1) in the coarse group, r/2 (sr2) in the fine",
    ),
    Symbol(
        "Merge(X, r_i)",
        "the token merge: each r_i × r_i tile of X becomes one token. It is one of MTA's two"
        " parts. The other, LE, is added to V after the merge",
        "act(norm_g(sr_g(X))), so sr1, norm1 in the coarse group, sr2, norm2 in the fine:"
        " (B, N_k,g, C), N_k,g keys of group g",
    ),
    Symbol(
        "W_i^Q",
        "head i's query projection",
        "q.weight[i·d:(i+1)·d], with the same slice of q.bias",
    ),
    Symbol(
        "W_i^K, W_i^V",
        "head i's key and value projections",
        "the rows of kv_g.weight that give head i's K and its V. kv_g is kv1 in the coarse"
        " group and kv2 in the fine. It maps C -> C: the K and V of the group's h/2 heads",
    ),
    Symbol("Q_i", "head i's queries", "q[:, i]: (B, N, d)"),
    Symbol(
        "K_i, V_i",
        "head i's keys and values",
        "k[:, j], v[:, j] of group g, where j = i - (g-1)·h/2 is head i's place in its group:"
        " (B, N_k,g, d)",
    ),
    Symbol(
        "LE(V_i)",
        "MTA's local enhancement of V by a depth-wise convolution",
        "local_conv_g (local_conv1 in the coarse group, local_conv2 in the fine) on V laid out"
        " on its reduced grid: (B, N_k,g, d) per head",
    ),
    Symbol(
        "d_h",
        "the dimension in the softmax's scale",
        "head_dim = d = C/h, and scale = d ** -0.5",
    ),
    Symbol(
        "h_i", "head i's output", "weights_i @ V_i: (B, N, d), concatenated over heads, then proj"
    ),
)

#: The paper's own words for the claims the chapter repeats.
CLAIMS = (
    Claim(
        "merging and keeping tokens",
        "it selectively merges tokens to represent larger object features while keeping certain "
        "tokens to preserve fine-grained features",
        "abstract",
    ),
    Claim(
        "what the design is for",
        "allows ViTs to model the attentions at hybrid scales per attention layer",
        "abstract",
    ),
)

#: What the official code, which :mod:`vit_notes.shunted` equals, makes of two of the
#: equations' symbols (how many rates, what the token merge is made of), and where its stage 4
#: (``sr_ratio`` 1) differs from stages 1-3, from which the equations were written. The
#: ``paper`` field holds the equations' side (printed as "equations:"). On the paper's side
#: there is only issue 14: its question says that the paper does not describe the last stage's
#: placement of LE in detail.
CODE_DIFFERENCES = (
    Difference(
        topic="how many rates",
        paper="r_i is head i's rate, one symbol per head",
        code="two groups of h/2 heads: rate r (sr1, kv1, local_conv1) and r/2 (sr2, kv2, "
        "local_conv2). A stage with sr_ratio 1 has one group of all h heads",
        evidence=f"{REPO} SSA.py, Attention.__init__",
    ),
    Difference(
        topic="what the token merge is made of",
        paper="Merge(X, r_i), the token merge at rate r_i, is one symbol",
        code="in stages 1-3 (sr_ratio > 1): a convolution of kernel and stride r_i, then a "
        "LayerNorm and a GELU. Stage 3's fine group has r_i = 1 and still gets all three: "
        "sr2 is a 1×1 convolution there",
        evidence=f"{REPO} SSA.py. Attention.__init__ builds sr2 with kernel 1 under "
        "sr_ratio 2. In the fine group Attention.forward applies sr2, norm2 and act. The "
        "coarse group gets sr1, norm1 and act",
    ),
    Difference(
        topic="the token merge with sr_ratio 1: stage 4 differs from stages 1-3",
        paper="K_i and V_i come from Merge(X, r_i), as in every head of stages 1-3",
        code="stage 4 (sr_ratio 1) has no token merge: K and V come from kv(X), with no "
        "convolution, LayerNorm or GELU. So Merge(X, 1) is X there, but not in stage 3's "
        "fine group. MTA's other part, LE, is still there (next row)",
        evidence=f"{REPO} SSA.py, Attention.__init__ (its else branch builds only kv and "
        "local_conv) and the else branch of Attention.forward",
    ),
    Difference(
        topic="LE with sr_ratio 1: stage 4 differs from stages 1-3",
        paper="V_i = V_i + LE(V_i) before the softmax-weighted sum, as in stages 1-3. The "
        "paper's side: the question in issue 14 (unclebuff) says that the paper does not "
        "describe the last stage's placement of LE in detail",
        code="stage 4 (sr_ratio 1) adds local_conv(V) to the attention output instead. In "
        "issue 14 the author answered that in the last stage the placement hardly changes the "
        "final performance",
        evidence=f"{REPO} SSA.py, the else branch of Attention.forward. Issue 14: the "
        "question quotes the paper, and the author, OliverRensu, answered on 2022-08-15. "
        "Issue 23 asks the same question",
    ),
)


#: The paper's ablation of the token aggregation (section 4.4 "Ablation Studies", as the
#: question in issue 18 names it), as far as issue 18 says. The paper's table was not consulted.
ABLATIONS = (
    Ablation(
        study="Token Aggregation Function",
        section="4.4 Ablation Studies",
        section_source="the question in issue 18",
        varies="how the tokens of the keys and values are merged (the token aggregation)",
        rows=(
            AblationRow("Linear", "in the author's reply, the reduction self.sr1 is a pooling"),
            AblationRow("Conv", "in the author's reply, the reduction self.sr1 is a convolution"),
            AblationRow(
                "the paper's MTA",
                "not stated in the reply. The questioner asked whether MTA differs from Conv "
                "by merging at several scales. The reply does not say",
            ),
        ),
        evidence=f"{REPO} issue 18 (the question and the reply, both 2022-10-08)",
        not_here="each row's ImageNet top-1 and the model it was trained in: the paper's "
        "table, not reproduced here",
    ),
)


def _wrap(label: str, text: str, width: int, pad: int = 8) -> str:
    return textwrap.fill(
        text, width=width, initial_indent=f"  {label:<{pad}}", subsequent_indent=" " * (pad + 2)
    )


def _hang(label: str, text: str, width: int) -> str:
    return textwrap.fill(
        f"{label} {text}", width=width, initial_indent="  ", subsequent_indent=" " * 4
    )


def describe_symbols(width: int = 88) -> str:
    """:data:`SYMBOLS` as lines of at most ``width`` characters, for a chapter to print. The
    equations' side is headed "equations": what the symbol is in them."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    return "\n".join(
        f"{s.symbol}\n" + _hang("equations:", s.paper, width) + "\n" + _hang("code:", s.code, width)
        for s in SYMBOLS
    )


def describe_differences(width: int = 88) -> str:
    """:data:`CODE_DIFFERENCES` as lines of at most ``width`` characters. The equations' side
    is headed "equations:"."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    rows = [
        (d.topic, (("equations:", d.paper), ("code:", d.code), ("see:", d.evidence)))
        for d in CODE_DIFFERENCES
    ]
    return "\n".join(
        f"{topic}\n" + "\n".join(_wrap(label, text, width, pad=11) for label, text in fields)
        for topic, fields in rows
    )


def describe_ablations(width: int = 88) -> str:
    """:data:`ABLATIONS` as lines of at most ``width`` characters."""
    width = validate.positive_int("width", width, minimum=20, maximum=1000, why="characters a line")
    out = []
    for a in ABLATIONS:
        out.append(a.study)
        out.append(_wrap("where:", f"section {a.section!r}, as {a.section_source} names it", width))
        out.append(_wrap("varies:", a.varies, width))
        out += [_wrap("row:", f"{row.name}: {row.changes}", width) for row in a.rows]
        out.append(_wrap("see:", a.evidence, width))
        out.append(_wrap("absent:", a.not_here, width))
    return "\n".join(out)


def equations_latex() -> str:
    """The equations as one aligned LaTeX block."""
    return (
        "\\begin{aligned}\n"
        + " \\\\\n".join(f"& {e.latex}" for e in EQUATIONS)
        + "\n\\end{aligned}"
    )

"""Records of what a paper says, shared by the chapters' ``paper`` modules
(:mod:`vit_notes.pvt.paper`, :mod:`vit_notes.shunted.paper`): a symbol of its equations, a
claim in its own words, and a place where the official code departs from it. Each chapter
stores its facts as these records, so that the chapter prints them instead of retyping them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Symbol:
    """A symbol of the equations: what the paper means by it (``paper``; for a paper whose body
    text was not consulted, our reconstruction, as its module says) and the tensor in the
    code."""

    symbol: str
    paper: str
    code: str


@dataclass(frozen=True)
class Claim:
    """A paper's words for a claim the chapter repeats, and where they are."""

    topic: str
    quote: str
    where: str


@dataclass(frozen=True)
class Difference:
    """Where the official code departs from the letter of the paper's equations or description,
    with the evidence."""

    topic: str
    paper: str
    code: str
    evidence: str

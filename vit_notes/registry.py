"""Every model of the book by name, with the papers' facts stored beside its configuration.

``vit_notes.create("pvt_tiny")`` builds any registered variant; ``vit_notes.list_models()``
lists them. Each chapter subpackage registers its family when it is imported (the package
imports every chapter subpackage), so a new chapter registers itself and nothing here changes.
Each chapter also registers its attention :class:`Design` for the comparison chapter: the
attention layers to compare on one token grid and one query's panels on the photo.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from . import photo, validate
from .explorer import Explorer, MapPanel
from .plotting import MARK_OUTSIDE_BELOW


@dataclass(frozen=True)
class Paper:
    """A variant's numbers as its paper reports them (never used in a computation, only shown
    beside the book's own counts): parameters (M), GFLOPs at 224² (= G multiply-adds) and
    ImageNet-1k top-1 (%) at 224² where the paper gives them (``None`` where it gives none),
    the bib key, where it says so, and which figures (``readme``: ``"params_m"``, ``"top1"``)
    come from the official repository's README instead of the paper's table."""

    params_m: float
    gflops: float | None
    top1: float | None
    cite: str
    source: str
    readme: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """One registered variant: its family (the chapter subpackage), class, configuration and
    paper facts."""

    name: str
    family: str
    model_cls: type
    config: dict
    paper: Paper

    def build(self, **overrides) -> nn.Module:
        allowed = inspect.signature(self.model_cls).parameters
        for key in overrides:
            if key not in allowed:
                raise ValueError(
                    f"{key}={overrides[key]!r} is not an option of {self.model_cls.__name__}; "
                    f"choose from {sorted(allowed)}"
                )
        return self.model_cls(**{**self.config, **overrides})


@dataclass(frozen=True)
class AttentionLayer:
    """One attention layer to compare on an ``H x W`` token grid with ``dim`` channels and
    ``heads`` heads: its analytic cost and its module. ``tokens``: called as
    ``layer(x (B, H*W, C), H, W)``; otherwise as ``layer(x (B, C, H, W))``.

    ``key_groups(H, W, C, heads)``: per head group, ``(keys one query sees, tokens a side
    that one key summarises)``, 1 for a key that is one token. ``None``: one group whose
    queries all see the cost's ``kv_tokens`` keys, each summarising ``(N/M)^½`` tokens a side
    (full attention, SRA, linear SRA); a layer whose queries see different keys (Swin's
    windows) or whose groups differ (Shunted) registers its own."""

    cost: Callable
    build: Callable
    tokens: bool = True
    key_groups: Callable | None = None

    def keys(self, H: int, W: int, C: int, heads: int) -> tuple[tuple[int, int], ...]:
        """Per head group: the keys one query sees and the tokens a side behind one key."""
        if self.key_groups is not None:
            return tuple(self.key_groups(H, W, C, heads))
        c = self.cost(H, W, C, heads)
        return ((c.kv_tokens, round((c.tokens / c.kv_tokens) ** 0.5)),)


@dataclass(frozen=True)
class Teaching:
    """What the book's pages say about a chapter, kept with the chapter so that a new chapter
    edits no page: ``book/_ext/vit_notes_site.py``'s ``chapter-table`` directive renders it
    on the intro page (the chapters table), the notation page (the glossary's chapter
    sections) and the teachers' page (the explorers, the prediction round, the judgement
    exercises, where the queries lie).

    ``name``: how the teachers' page names the chapter ("Swin", "the study chapter");
    ``cites``: the bib keys of its papers and ``idea``: its idea in one line, for the intro
    page's table (no row when ``idea`` is empty: a chapter that brings no design of its own);
    ``explorer_section``: where its explorer is ("section 5") and ``explorer_controls``:
    what the explorer's controls are; ``predict``: the label of its prediction exercise in
    the notebook, with ``slider`` (the settings the round moves the explorer to, empty for
    a prediction with no slider) and ``prediction`` (what is predicted, or, without a slider,
    what the prediction works against); ``judgement``: the label of its judgement exercise
    and ``question``: its question in short. The exercises' numbers and titles are read from
    the notebook, the chapter's title from its first heading.

    ``glossary``: the terms that this design alone uses, as ``(English, 中文, meaning)`` rows
    (``meaning`` is MyST: math and roles are fine, a ``|`` or a line break is not); the
    ``glossary`` kind renders them in the chapter's section of the notation page's
    glossary, after the shared tables (no section when empty). A term several chapters use
    stays in the shared tables of ``book/notation.md``, and no term is in both."""

    name: str
    explorer_section: str
    explorer_controls: str
    predict: str
    prediction: str
    judgement: str
    question: str
    slider: str = ""
    cites: tuple[str, ...] = ()
    idea: str = ""
    glossary: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ForwardExercise:
    """A chapter's forward exercise (the student rebuilds a layer's forward from its weights,
    every step), for the tests that hold every forward checker to one contract: ``check(fn,
    configs)`` the checker, ``steps(module, *args)`` the package's reference steps,
    ``cases(configs)`` the ``(config, module, args)`` it checks, ``configs`` small
    configurations to test with, ``attn_step`` the name of its attention-map step."""

    check: Callable
    steps: Callable
    cases: Callable
    configs: tuple
    attn_step: str = "attn"


@dataclass(frozen=True)
class Samples:
    """A chapter's smallest modules, for the tests of the input contract
    (:mod:`vit_notes.validate`; tests/test_robust_inputs.py): ``model()`` a tiny model taking
    ``(B, 3, 64, 64)`` images with 3 classes; ``layers``: name -> ``(make(), args(x), input
    shape)``, each called as ``make()(*args(x))`` on a float tensor of that shape;
    ``constructors``: class -> the keyword arguments of a small instance; ``rates``: the
    model's rate arguments (a float each); ``flags``: ``(class, argument)`` switches;
    ``overrides``: keyword arguments that make any of the family's registered variants tiny
    (``create(name, img_size=64, **overrides)``; tests/test_properties.py)."""

    model: Callable[[], nn.Module]
    layers: dict[str, tuple[Callable, Callable, tuple]] = field(default_factory=dict)
    constructors: dict[type, dict] = field(default_factory=dict)
    rates: tuple[str, ...] = ()
    flags: tuple[tuple[type, str], ...] = ()
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Design:
    """A chapter's attention design for the comparison chapter.

    ``order``: the chapter's place in the book; ``layers``: label -> :class:`AttentionLayer`;
    ``query_panels(img, query_rc)``: ``[(title, weights, key_grid), ...]``, one query's
    attention on an image through this design; ``schematic()``: the chapter's picture of its
    idea (a figure drawn from the module's own configuration). ``compared``: whether the
    comparison chapter lines it up (:func:`designs`); a chapter that studies the others'
    designs, rather than bringing its own, registers with ``compared=False`` and appears only
    in :func:`chapters`. ``explorers``: the chapter's explorer factories, each called with no
    argument (:func:`explorers` lines them up for the tests that open every explorer).
    ``teaching``: what the book's pages say about the chapter (:class:`Teaching`);
    ``forward``: its forward exercise (:class:`ForwardExercise`); ``samples``: its smallest
    modules (:class:`Samples`), for the tests that hold every chapter to one contract."""

    family: str
    title: str
    order: int
    layers: dict[str, AttentionLayer] = field(default_factory=dict)
    query_panels: Callable | None = None
    schematic: Callable | None = None
    compared: bool = True
    explorers: tuple[Callable, ...] = ()
    teaching: Teaching | None = None
    forward: ForwardExercise | None = None
    samples: Samples | None = None


_MODELS: dict[str, ModelInfo] = {}
_DESIGNS: dict[str, Design] = {}


def register_family(
    family: str, model_cls: type, configs: dict[str, dict], papers: dict[str, Paper]
) -> tuple[Callable, dict[str, Callable]]:
    """Register every variant of a family; return its ``create(name, **overrides)`` and one
    factory per name (``pvt_tiny(**overrides)``), each documenting its configuration."""
    if set(configs) != set(papers):
        raise ValueError(f"{family}: configs and papers name different variants")
    for name, config in configs.items():
        if name in _MODELS and _MODELS[name].model_cls is not model_cls:
            raise ValueError(
                f"{name!r} is registered twice, by {_MODELS[name].family} and {family}"
            )
        _MODELS[name] = ModelInfo(
            name=name, family=family, model_cls=model_cls, config=config, paper=papers[name]
        )

    def create_variant(name: str, **kwargs) -> nn.Module:
        validate.one_of("name", name, configs)
        return _MODELS[name].build(**kwargs)

    create_variant.__doc__ = (
        f"Build a {model_cls.__name__} variant by name ({', '.join(configs)}); "
        "kwargs override its configuration."
    )

    def factory(name: str) -> Callable:
        def build(**kwargs) -> nn.Module:
            return create_variant(name, **kwargs)

        p = papers[name]
        build.__name__ = build.__qualname__ = name
        build.__doc__ = (
            f"{name}: {configs[name]} (paper: {p.params_m} M params, "
            f"{'no' if p.gflops is None else p.gflops} GFLOPs at 224²; {p.source})"
        )
        return build

    return create_variant, {name: factory(name) for name in configs}


def register_design(design: Design) -> Design:
    _DESIGNS[design.family] = design
    return design


def create(name: str, **kwargs) -> nn.Module:
    """Build any registered model by name; ``kwargs`` override its configuration
    (``create("coatnet_0", layout="C-C-C-T", img_size=160)``)."""
    validate.one_of("name", name, _MODELS)
    return _MODELS[name].build(**kwargs)


def list_models(family: str | None = None) -> list[str]:
    """The registered model names in book order (chapter, then registration); one family's
    with ``family``."""
    if family is not None:
        validate.one_of("family", family, {m.family for m in _MODELS.values()})
    order = {d.family: d.order for d in _DESIGNS.values()}
    names = sorted(_MODELS, key=lambda n: order.get(_MODELS[n].family, len(order) + 1))
    return [n for n in names if family is None or _MODELS[n].family == family]


def model_info(name: str) -> ModelInfo:
    """The registered :class:`ModelInfo` of ``name``: family, class, config and paper facts.
    Its ``config`` is a copy: changing it changes no model that :func:`create` builds."""
    validate.one_of("name", name, _MODELS)
    info = _MODELS[name]
    # its values copied, but not its callables (a norm layer's partial): a copy of one would
    # compare unequal to the registry's own, and to every other model's
    config = {k: v if callable(v) else copy.deepcopy(v) for k, v in info.config.items()}
    return dataclasses.replace(info, config=config)


def smallest(family: str) -> str:
    """The family's variant with the fewest parameters (as its paper reports them)."""
    return min(list_models(family), key=lambda n: _MODELS[n].paper.params_m)


def smallest_per_paper() -> list[str]:
    """For each paper (bib key) in book order, its variant with the fewest parameters:
    the comparison chapter's line-up (PVT v1 and v2 are two papers of one family)."""
    best: dict[str, str] = {}
    for name in list_models():
        cite = _MODELS[name].paper.cite
        if cite not in best or _MODELS[name].paper.params_m < _MODELS[best[cite]].paper.params_m:
            best[cite] = name
    return list(best.values())


def chapters() -> list[Design]:
    """Every chapter subpackage's registration, in book order (the package's layout rules)."""
    return sorted(_DESIGNS.values(), key=lambda d: d.order)


def designs() -> list[Design]:
    """The attention designs the comparison chapter lines up, in book order."""
    return [d for d in chapters() if d.compared]


def explorers() -> list[Callable]:
    """Every explorer's factory in book order: each chapter's, then the comparison's
    (:func:`designs_explorer`)."""
    return [f for d in chapters() for f in d.explorers] + [designs_explorer]


#: Where :func:`query_patches` probes a design's maps: the face, the jacket, the background.
QUERY_PROBES = ((0.3, 0.5), (0.7, 0.4), (0.15, 0.15))


def query_patches(design: Design, img: torch.Tensor, probes=QUERY_PROBES) -> list[int]:
    """The side in pixels of the patch each of ``design``'s query panels stands for: the grid
    its query token lies on. Computed from the panels themselves, not declared: the largest
    ``p`` (dividing the image) such that two queries at opposite corners of the ``p × p`` square
    of pixels around each probe give the same weights, so lie in one token (a larger square
    holds two tokens, whose weights differ).

    ``design``: one of :func:`designs` (with query panels); ``img``: a photo as
    :func:`~vit_notes.photo.load_photo` gives it (every design answers the sizes in
    ``_DESIGN_SIZES``); ``probes``: a non-empty list of ``(row, col)`` fractions in [0, 1)."""
    validate.instance("design", design, Design, "pass one of registry.designs()")
    if design.query_panels is None:
        raise ValueError(
            f"design {design.family!r} has no query panels: pass one of registry.designs()"
        )
    img = validate.photo("img", img)
    probes = validate.nonempty_sequence("probes", probes, limit=64)
    probes = [validate.fraction_pair(f"probes[{i}]", q) for i, q in enumerate(probes)]
    h, w = img.shape[-2:]
    candidates = [p for p in (64, 32, 16, 8, 4, 2, 1) if h % p == 0 and w % p == 0]
    queries = []
    for p in candidates:
        for r, c in probes:
            y0, x0 = int(r * (h // p)) * p, int(c * (w // p)) * p
            queries += [((y0 + 0.5) / h, (x0 + 0.5) / w), ((y0 + p - 0.5) / h, (x0 + p - 0.5) / w)]
    out = []
    try:
        panels = design.query_panels(img, queries)
    except ValueError as err:  # the probes were checked above: the image's size is the slip
        raise ValueError(
            f"img of {h}x{w} px is not a size {design.family}'s panels answer ({err}); give a "
            f"photo of one of the sizes {list(_DESIGN_SIZES)}, e.g. photo.load_photo("
            f"{_DESIGN_SIZES[0]})"
        ) from err
    for _, rows, _ in panels:
        pairs = rows.reshape(len(candidates), len(probes), 2, -1)
        out.append(
            next(p for p, pp in zip(candidates, pairs) if all(torch.equal(a, b) for a, b in pp))
        )
    return out


def panel_title(title: str, rows: torch.Tensor, grid: tuple[int, int], sep: str = ": ") -> str:
    """A query panel's title with its keys: ``"PVT SRA, R=8: 7×7 keys"``, or, where a query
    sees only part of the key grid (its other weights are exactly zero, as outside a Swin
    window), how many of them: ``"Swin W-MSA, 7×7 windows: 49 of 56×56 keys"``. ``sep`` joins
    the two parts (``":\n"``: on two lines, as the explorer's three panels to a row need)."""
    grid = validate.grid("grid", grid)
    validate.instance("rows", rows, torch.Tensor, "give the query rows of attention weights")
    if rows.dim() < 1 or rows.numel() == 0 or rows.shape[-1] != grid[0] * grid[1]:
        raise ValueError(
            f"rows has shape {tuple(rows.shape)}, but grid {grid[0]}x{grid[1]} has "
            f"{grid[0] * grid[1]:,} keys; give rows of one weight per key"
        )
    if rows.is_floating_point() and bool(rows.isnan().any()):
        raise ValueError("rows holds NaN weights: give rows of attention weights with none")
    seen = int((rows.reshape(-1, rows.shape[-1]) != 0).sum(-1).max())
    keys = f"{grid[0]}×{grid[1]}"
    return (
        f"{title}{sep}{keys} keys"
        if seen == grid[0] * grid[1]
        else f"{title}{sep}{seen} of {keys} keys"
    )


#: What the comparison's query maps are: the design chapters' toy, not a trained model.
TOY = "colour tokens, identity projections"
#: The toy's inverse temperature, shared by every design's panels: a logit is
#: ``TOY_LOGIT_SCALE`` times the dot product of two standardised colour histograms, in place of
#: a trained layer's ``d_h ** -0.5``. A choice of the toy, not of any paper.
TOY_LOGIT_SCALE = 1 / 4


#: The photo sizes at which every design's query panels run (checked: tests/test_compare.py).
_DESIGN_SIZES = (224,)


def designs_explorer(size: int = 224):
    """The comparison chapter's explorer: a query picked on the photo (a 14 × 14 grid, one
    query per CoAtNet stride-16 token) answered by every registered design side by side
    (each chapter's ``query_panels``: PVT's SRA, CoAtNet's relative attention, Shunted's two
    head groups, Swin's window attention), on one colour scale
    (:class:`~vit_notes.explorer.Explorer`). ``size`` is checked here, not when the maps are
    drawn: every design answers a photo of the sizes in :data:`_DESIGN_SIZES` only."""
    size = validate.image_side("size", size)
    if size not in _DESIGN_SIZES:
        raise ValueError(
            f"size={size}: every design's panels run on a photo of "
            f"{' or '.join(str(s) for s in _DESIGN_SIZES)} px only (CoAtNet's relative-position "
            "table is 27×27, one entry per offset of its 14×14 grid at stride 16): give a "
            f"size that works, e.g. size={_DESIGN_SIZES[0]}"
        )

    def maps(queries):
        img = photo.load_photo(size)
        return [
            MapPanel(
                panel_title(title, rows, grid, sep=":\n"),
                grid,
                rows,
                patch=patch,
                window=True,
                # a 4×4-px patch hides under the box's stroke: the box goes one patch outside
                outside=patch is not None and patch < MARK_OUTSIDE_BELOW,
            )
            for d in designs()
            if d.query_panels is not None
            for (title, rows, grid), patch in zip(
                d.query_panels(img, queries), query_patches(d, img)
            )
        ]

    def alt():
        """The starting state's picture in words: the toy, the query, each panel's largest
        weight, and the panel whose weight sets the top of the shared colour scale."""
        i = explorer.query_cell(explorer.default_query)
        where = explorer.query_positions()[i]
        panels = explorer.state_maps(explorer.default_state())
        peaks = {p.title.split(":")[0]: float(p.rows[i].max()) for p in panels}
        top = max(panels, key=lambda p: float(p.rows[i].max()))
        own = int(top.rows[i].argmax()) == photo.query_at(top.grid, where)
        row, col = explorer.default_query
        g = explorer.query_grid
        return (
            f"The book's toy ({TOY}), not a trained model: one query at row {row} and column "
            f"{col} of the {g}×{g} query grid, counted from 0, through each design on one "
            "colour scale, with a cyan box on each panel's query patch and a white square on "
            "the window of keys a Swin query sees. The largest weight: "
            + ", ".join(f"“{t}”: {v:.2f}" for t, v in peaks.items())
            + f". “{top.title.split(':')[0]}” sets the top of the colour scale, "
            f"{float(top.rows[i].max()):.2f}" + (", on the query's own token." if own else ".")
        )

    explorer = Explorer(
        key="explore-designs",
        title="One query, every design: click the photo or use the arrow keys",
        controls=(),
        maps=maps,
        bars=lambda: [],
        caption=lambda: (
            f"{size}×{size} photo, one query through each design, in the book's toy ({TOY}), "
            "not a trained model. Cyan box: each panel's "
            f"query patch; a patch under {MARK_OUTSIDE_BELOW} px sits inside it, one patch from "
            "its edge. White square: the window of keys a Swin query sees"
        ),
        alt=alt,
        query_grid=14,
        default_query=(4, 7),
        photo=lambda: photo.load_photo(size),
    )
    return explorer


def is_meta(model: nn.Module) -> bool:
    """Whether ``model`` was built on the ``meta`` device (shapes only, as the family tables
    build it): such a model needs no weight initialisation, which would cost most of its build."""
    validate.instance("model", model, nn.Module, "pass a model or layer (an nn.Module)")
    first = next(model.parameters(), None)
    return first is not None and first.is_meta

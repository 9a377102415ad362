"""The comparison chapter's line-up, its recorded timings and its exercise checkers.

Everything here reads the designs from the registry (each chapter registers its
:class:`~vit_notes.registry.Design`), so this module imports no chapter, and a chapter that
registers a compared design joins every table, curve and checker of the comparison.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys

import torch
import torch.nn.functional as F
import torch.utils.benchmark as benchmark

from . import measured, validate
from .attention import explicit_attention
from .checking import (
    _exact_str,
    _number,
    answers_any,
    as_number,
    check_choice,
    describe,
    option_named,
    rel_error,
    verdict,
)
from .counting import AttentionCost, count_macs, release_memory, time_forward
from .layers import keeps_global_rng
from .registry import (
    AttentionLayer,
    create,
    designs,
    list_models,
    model_info,
    smallest_per_paper,
)

#: The results file of ``bench/compare_cost.py`` (:mod:`vit_notes.measured`).
TIMING = "compare_cost"
TIMING_COMMAND = "python bench/compare_cost.py"
#: The results file of ``bench/attention_memory.py``: one attention's peak memory and time on
#: the explicit path (the map stored) and the fused one (``scaled_dot_product_attention``).
MEMORY = "attention_memory"
MEMORY_COMMAND = "python bench/attention_memory.py"
#: The two paths :func:`measure_attention` runs.
PATHS = ("explicit", "fused")


def layers() -> dict[str, AttentionLayer]:
    """Every compared design's attention layers, label -> layer, in book order."""
    return {label: layer for d in designs() for label, layer in d.layers.items()}


def lineup() -> list[str]:
    """The comparison's models: for each paper of a compared design, its variant with the
    fewest parameters (as the paper reports them), in book order."""
    families = {d.family for d in designs()}
    return [n for n in smallest_per_paper() if model_info(n).family in families]


@keeps_global_rng
def time_lineup(
    names: list[str] | None = None,
    *,
    rounds: int = 5,
    min_run_time: float = 0.3,
    img_size: int = 224,
    threads: int | None = None,
) -> list[dict]:
    """Time one ``img_size``² image (batch 1, ``no_grad``, each model's default fused
    attention) through each model of ``names`` (default: :func:`lineup`).

    Every model is timed once per round, in turn, for ``rounds`` rounds, so that a model
    slower in every round is slower, not unlucky. Each row holds the model, its counted
    GMACs, the median of its rounds (``ms``) and every round's median (``ms_rounds``).

    ``threads``: torch's thread count while timing (the recording used 1); ``None`` keeps
    torch's current setting, by default every core."""
    names = lineup() if names is None else validate.nonempty_sequence("names", names, limit=100)
    for name in names:
        validate.one_of("names", name, list_models())
    min_run_time, rounds = validate.timing(min_run_time, rounds)
    img_size = validate.image_side("img_size", img_size)
    if threads is not None:
        threads = validate.positive_int("threads", threads, maximum=1024)
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return time_lineup(names, rounds=rounds, min_run_time=min_run_time, img_size=img_size)
        finally:
            torch.set_num_threads(before)
    x = torch.randn(1, 3, img_size, img_size)
    models = {}
    for name in names:
        torch.manual_seed(0)
        models[name] = create(name, img_size=img_size).eval()
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, model in models.items():
            m = time_forward(model, x, min_run_time=min_run_time)
            times[name].append(m.median * 1e3)
    rows = []
    for name, model in models.items():
        with torch.no_grad():
            macs = count_macs(model, x)
        rows.append(
            dict(
                model=name,
                family=model_info(name).family,
                img_size=img_size,
                gmacs=macs / 1e9,
                ms=statistics.median(times[name]),
                ms_rounds=times[name],
            )
        )
    return rows


def recorded_times(names: list[str], gmacs: dict[str, float]) -> measured.Measurement:
    """The recorded timings of ``names`` (:data:`TIMING`), checked against the models as they
    are now: every model recorded, with the multiply-adds counted now (``gmacs``)."""
    names = validate.nonempty_sequence("names", names, limit=100)
    validate.instance("gmacs", gmacs, dict, "name -> GMACs, counted now")
    for name in names:
        validate.instance("names", name, str, "give the models' names")
        if name not in gmacs:
            raise ValueError(f"gmacs has no count for {name!r}: count every model of names")
        validate.number(f"gmacs[{name!r}]", gmacs[name], low=0.0, low_open=True)
    m = measured.load(TIMING)
    have = {r["model"]: r for r in m.rows}
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(
            f"no recorded time for {missing} in {TIMING!r} (recorded: {sorted(have)}); "
            f"run {TIMING_COMMAND} and commit vit_notes/measurements/{TIMING}.json"
        )
    for name in names:
        then, now = have[name]["gmacs"], gmacs[name]
        if abs(then / now - 1) > 1e-6:
            raise ValueError(
                f"{name} was timed at {then:.4f} GMACs but counts {now:.4f} now: the model "
                f"changed since the recording; run {TIMING_COMMAND}"
            )
    return measured.Measurement(
        name=m.name,
        rows=[have[n] for n in names],
        command=m.command,
        date=m.date,
        machine=m.machine,
    )


def fixed_keys_limit(cost, size: int, budget_mib: float) -> float:
    """The image side (pixels, stride-4 grid) beyond which a layer with a fixed number of keys,
    whose ``cost`` at ``size``² is given, has maps over ``budget_mib`` MiB: its maps hold
    ``h·N·N_k`` floats with the keys a query sees, ``N_k``, fixed, so they grow in step with
    the tokens ``N``."""
    validate.instance("cost", cost, AttentionCost, "pass a layer's cost, e.g. layer.cost(...)")
    validate.image_side("size", size)
    budget_mib = validate.number("budget_mib", budget_mib, low=0.0, low_open=True)
    for field in ("macs", "attn_macs", "tokens", "kv_tokens", "attn_elements", "attn_bytes"):
        validate.positive_int(f"cost.{field}", getattr(cost, field), minimum=0)
    if not cost.attn_bytes or not cost.tokens:
        raise ValueError("cost holds no attention map: there is no limit to find")
    tokens = budget_mib * 2**20 / (cost.attn_bytes / cost.tokens)
    side = 4 * tokens**0.5
    if not math.isfinite(side):
        raise ValueError(
            f"budget_mib={validate.shown(budget_mib)} is too large: the image side it allows "
            "overflows a float; give a budget in MiB a machine could hold"
        )
    return side


def _quoted(label: str) -> str:
    """A layer's label in a sentence, in quotes: the labels hold commas ("PVT SRA, R=8"),
    which unquoted read as a list or a clause break."""
    return f"“{label}”"


def _fixed_keys_reach(labels: list[str], cost, size: int, budget_mib: float) -> str:
    """How far the layers ``labels``, which share a fixed number of keys and the maps'
    memory (``cost`` at ``size``²), reach before their maps pass ``budget_mib`` MiB."""
    limit = fixed_keys_limit(cost, size, budget_mib)
    return (
        f"In {' and '.join(map(_quoted, labels))}, a query sees {cost.kv_tokens:,} keys at "
        "every size. "
        f"The maps grow only in step with the tokens: {cost.attn_bytes / 2**20:,.0f} MiB "
        f"here, over {budget_mib:,g} MiB only beyond about {limit:,.0f}² pixels"
    )


def _fitting_loss(label: str, groups, best_groups, best: str, tokens: int) -> str:
    """What the layer ``label``, which fits the budget, gives up against ``best`` (one head
    group each): a query sees fewer keys, and each key covers more tokens (detail) or the keys
    cover only part of the ``tokens`` (the wide view)."""
    ((keys, side),), ((b_keys, b_side),) = groups, best_groups
    fewer = f"a query sees {b_keys / keys:.3g}× fewer keys than in {_quoted(best)}"
    label = _quoted(label)
    if side > b_side:
        return (
            f". {label} gives up detail: {fewer}, each {side}×{side} tokens against "
            f"{b_side}×{b_side}, {side / b_side:.3g}× coarser per side"
        )
    if keys * side**2 < tokens:
        return (
            f". {label} gives up the wide view: {fewer}, only {keys * side**2:,} of the "
            f"{tokens:,} tokens"
        )
    return f". {label} gives up keys: {fewer}"


@answers_any
def check_growth(
    answer,
    layer: str = "PVT SRA, R=8",
    start: int = 224,
    end: int = 448,
    C: int = 64,
    heads: int = 2,
) -> bool:
    """Predict: from ``start``² to ``end``², by what factor do the attention products
    (``q kᵀ`` and ``attn v``) of ``layer`` on the stride-4 grid grow?

    A wrong answer is told which slip it comes from, or whether it is too high or too low,
    never the right factor (the teachers' page runs it as a prediction round); only the
    right answer is told the figures."""
    validate.one_of("layer", layer, layers())
    start, end = validate.image_side("start", start), validate.image_side("end", end)
    C, heads = _layer_settings(C, heads)
    a, b = (layers()[layer].cost(s // 4, s // 4, C, heads) for s in (start, end))
    right = b.attn_macs / a.attn_macs
    tokens = b.tokens / a.tokens
    keys = b.kv_tokens / a.kv_tokens
    then = f"Section 3 works it out from {start}² to {2 * start}²"
    if isinstance(answer, str):  # "81x" or "81×", as the checker's messages write a factor
        answer = _exact_str(answer).strip().removesuffix("x").removesuffix("×").strip()
    value = as_number(answer)
    if value is None:
        return verdict(
            False, f"write your prediction of the factor as a number, got {describe(answer)}"
        )

    # a whole factor is asked for exactly (to 0.5 %); another, and a known slip, within 2 %
    exact = 0.005 if abs(right - round(right)) < 1e-9 else 0.02

    def close(x, y, tol=0.02):
        return rel_error(x, y) <= tol

    whole = b.macs / a.macs
    if close(value, right, exact):
        return verdict(
            True,
            f"{right:.3g}×: the tokens N grow {tokens:.3g}× and the keys a query sees, N_k, "
            f"{keys:.3g}×, so N·N_k grows {tokens:.3g} × {keys:.3g} = {tokens * keys:.3g}×. "
            f"The whole layer grows "
            f"{whole:.3g}×"
            + (
                ", less, since the rest of the layer grows at most in step with N"
                if whole < right * (1 - 1e-9)
                else ""
            )
            + (". Section 3 prints it for every layer" if end == 2 * start else ""),
        )
    mistakes = [
        (tokens, f"{tokens:.3g}× is the growth of the tokens N; the keys a query sees, N_k, "
         "grow too, and the products cost N·N_k"),
        (end / start, f"{end / start:.3g}× is the growth of the image's side, not of the tokens"),
        (whole, f"{whole:.3g}× is the whole layer's growth, whose other parts grow at most in "
         "step with N; the question is about the products"),
    ]  # fmt: skip
    if end != 2 * start:  # section 3 prints the growth to twice the side
        c = layers()[layer].cost(start // 2, start // 2, C, heads)
        printed = c.attn_macs / a.attn_macs
        mistakes.append(
            (printed, f"{printed:.3g}× is the growth to {2 * start}², which section 3 prints; "
             f"{end}² has more tokens")
        )  # fmt: skip
    for wrong, why in mistakes:
        if close(value, wrong):
            return verdict(False, f"{why}. {then}")
    side = "too high" if value > right else "too low"  # never how far: that tells the figure
    return verdict(
        False,
        f"{_number(value)}× is {side}. Work out how the tokens N and the keys a query sees, N_k, "
        f"each grow, and the products cost N·N_k. {then}",
    )


def _keys_text(groups) -> str:
    """A layer's keys as a query sees them, per head group where it has several."""

    def one(keys, side):
        behind = "one token" if side == 1 else f"{side}×{side} tokens"
        return f"{keys:,} keys ({behind} each)"

    if len(groups) == 1:
        return one(*groups[0])
    return "per head group " + " and ".join(one(*g) for g in groups)


def _runs_at(size: int, C: int, heads: int) -> bool:
    """Whether every compared layer runs on the stride-4 grid of a ``size``² image."""
    H = size // 4
    try:
        for layer in layers().values():
            layer.keys(H, H, C, heads)
            layer.cost(H, H, C, heads)
    except ValueError:
        return False
    return True


def _layer_size(size: int, C: int, heads: int) -> None:
    """Refuse, naming ``size``, an image side whose stride-4 grid some compared layer cannot
    run on (too small, or not divided by a window), with the nearest sides that work."""
    if _runs_at(size, C, heads):
        return
    ok = [s for s in range(4, validate.MAX_IMAGE + 1, 4) if _runs_at(s, C, heads)]
    near = [s for s in ok if s < size][-1:] + [s for s in ok if s > size][:1]
    raise ValueError(
        f"size={size}: the compared layers do not all run on its {size // 4}x{size // 4} "
        "stride-4 grid (each window must divide it); give a size that works, e.g. "
        + " or ".join(map(str, near))
        + (f" (from {ok[0]} to {ok[-1]}, {len(ok)} sizes)" if ok else "")
    )


def layer_keys(
    size: int = 896, budget_mib: float = 512.0, C: int = 64, heads: int = 2
) -> dict[str, dict]:
    """Each compared layer on the stride-4 grid of a ``size``² image: ``groups`` (per head
    group, the keys one query sees and the tokens a side behind each key,
    :meth:`~vit_notes.registry.AttentionLayer.keys`), ``most`` (the most keys a head sees),
    its attention maps' ``mib`` (float32, one image) and whether they ``fit`` the budget.
    The judgement exercise's checker and its solution both read this."""
    size = validate.image_side("size", size)
    budget_mib = validate.number("budget_mib", budget_mib, low=0.0, low_open=True)
    C, heads = _layer_settings(C, heads)
    _layer_size(size, C, heads)
    H = W = size // 4
    out = {}
    for label, layer in layers().items():
        groups = layer.keys(H, W, C, heads)
        mib = layer.cost(H, W, C, heads).attn_bytes / 2**20
        out[label] = dict(
            groups=groups, most=max(k for k, _ in groups), mib=mib, fits=mib <= budget_mib
        )
    return out


@answers_any
def check_layer_choice(
    answer, size: int = 896, budget_mib: float = 512.0, C: int = 64, heads: int = 2
) -> bool:
    """Design judgement: of the compared attention layers, the one for a stride-4 layer at
    ``size``² (C, heads) whose attention maps (float32, one image) fit ``budget_mib`` MiB and
    whose heads each see the most keys (:func:`layer_keys`). Keys are counted per head group,
    and "finer" is said per side, of the tokens behind one key."""
    size = validate.image_side("size", size)
    budget_mib = validate.number("budget_mib", budget_mib, low=0.0, low_open=True)
    C, heads = _layer_settings(C, heads)
    _layer_size(size, C, heads)
    H = W = size // 4
    costs = {label: layer.cost(H, W, C, heads) for label, layer in layers().items()}
    twice = {label: layer.cost(2 * H, 2 * W, C, heads) for label, layer in layers().items()}
    fixed = [k for k in costs if twice[k].kv_tokens == costs[k].kv_tokens]
    at = layer_keys(size, budget_mib, C, heads)
    fits = [k for k, v in at.items() if v["fits"]]
    if not fits:
        smallest = min(v["mib"] for v in at.values())
        raise ValueError(
            f"budget_mib={budget_mib:g} at size={size}: no layer's maps fit (the smallest take "
            f"{smallest:,.3g} MiB), so the exercise has no answer; raise the budget"
        )
    best = max(fits, key=lambda k: at[k]["most"])
    # each other layer that fits with a fixed number of keys: how far it reaches, and what
    # it gives up against the best one
    # layers with as many keys and maps of one size reach as far: one sentence for them
    alike: dict[tuple, list[str]] = {}
    for k in fixed:
        alike.setdefault((costs[k].kv_tokens, costs[k].attn_bytes), []).append(k)
    also = "".join(
        f". {_fixed_keys_reach(ks, costs[ks[0]], size, budget_mib)}" for ks in alike.values()
    ) + "".join(
        _fitting_loss(k, at[k]["groups"], at[best]["groups"], best, H * W)
        for k in fixed
        if k != best and at[k]["fits"] and len(at[k]["groups"]) == len(at[best]["groups"]) == 1
    )
    options = {}
    for label, v in at.items():
        head = f"{_quoted(label)} at {size}²: {_keys_text(v['groups'])}, maps {v['mib']:,.0f} MiB"
        if not v["fits"]:
            over = v["mib"] / budget_mib
            options[label] = f"{head}, {over:.3g}× the {budget_mib:,g} MiB budget"
        elif label != best:
            options[label] = (
                f"{head}: it fits, but {_quoted(best)} fits too, and there a query sees "
                f"{at[best]['most'] / v['most']:.3g}× as many keys "
                f"({at[best]['most']:,} against {v['most']:,})"
                + _per_side(v["groups"], at[best]["groups"], best, H * W)
            )
        else:
            options[label] = (
                f"{head}: the most keys a query sees that fit{_gives_up(best, at, budget_mib)}. "
                f"The trade-off: the keys of {_quoted(label)} grow with the tokens, so a larger "
                f"image runs out of budget{also}"
            )
    several = layers_named(answer, options)
    if layer_named(answer, options) is None and len(several) > 1:  # name them all
        listed = ", ".join(repr(n) for n in several)
        return verdict(
            False, f"the layer: {answer!r} names {len(several)} layers, {listed}: which one?"
        )
    return check_choice(answer, options, best, "the layer", parse=lambda a: layer_named(a, options))


def _per_side(groups, best_groups, best: str, tokens: int) -> str:
    """How the tokens behind one key compare per side with ``best``'s (one group each), and
    whether a query's keys cover only part of the ``tokens`` (a local view, as in a window)."""
    (keys, side), (_, best_side) = groups[0], best_groups[0]
    if len(groups) != 1 or len(best_groups) != 1 or side == best_side:
        return ""
    if side > best_side:
        return (
            f". And this layer's keys are {side / best_side:.3g}× coarser per side "
            f"({side}×{side} tokens against {best_side}×{best_side})"
        )
    one = "single tokens" if side == 1 else f"{side}×{side} tokens"
    local = (
        f". They cover only {keys * side**2:,} of the {tokens:,} tokens: a local view"
        if keys * side**2 < tokens
        else ""
    )
    return (
        f". This layer's keys are {best_side / side:.3g}× finer per side than those of "
        f"{_quoted(best)} "
        f"({one} against {best_side}×{best_side} tokens), but fewer{local}"
    )


def _gives_up(best: str, at: dict, budget_mib: float) -> str:
    """What the layer ``best`` gives up in detail: of the layers in which a head sees
    more keys, the one with the fewest, its head group with the most keys against ``best``'s
    (keys and tokens a side), or nothing if there is none."""
    more = [k for k, v in at.items() if v["most"] > at[best]["most"]]
    if not more:
        return ""
    near = min(more, key=lambda k: at[k]["most"])
    keys, side = max(at[near]["groups"])
    b_keys, b_side = max(at[best]["groups"])
    group = "a head of its group with the most keys" if len(at[near]["groups"]) > 1 else "a head"
    finer = (
        f", each {side}×{side} tokens against {b_side}×{b_side}: "
        f"{b_side / side:.3g}× finer per side"
        if side < b_side
        else ""
    )
    return (
        f". It gives up detail. In {_quoted(near)}, {group} sees "
        f"{keys / b_keys:.3g}× as many keys ({keys:,}){finer}. But its maps take "
        f"{at[near]['mib']:,.0f} MiB, over the {budget_mib:,g} MiB budget"
    )


def _layer_settings(C, heads) -> tuple[int, int]:
    """The compared layers' width and heads: integers, heads dividing ``C``."""
    C, heads = validate.width("C", C), validate.width("heads", heads)
    # named as this chapter names them, not as the inner layers do
    validate.heads_divide(C, heads, dim_name="C", heads_name="heads")
    return C, heads


def _names(names) -> list[str]:
    """The layers' labels: a non-empty list, tuple or dict (its keys) of strings."""
    if isinstance(names, dict):
        names = list(names)
    names = validate.nonempty_sequence("names", names, limit=1000)
    for name in names:
        validate.instance("names", name, str, "give the layers' labels")
    return names


def layer_named(answer, names) -> str | None:
    """The one of ``names`` (the layers' labels) that ``answer`` names, as
    :func:`~vit_notes.checking.option_named` reads it, but blind to punctuation too: "PVT SRA R=8"
    and "pvt sra, r = 8" name "PVT SRA, R=8", "swin 7x7" names "Swin, 7×7 windows". ``None`` if
    none or several do."""
    names = _names(names)
    if not isinstance(answer, str):
        return None
    by_plain = {_plain(n): n for n in names}
    found = option_named(_plain(answer), by_plain)
    return None if found is None else by_plain[found]


def layers_named(answer, names) -> list[str]:
    """Every one of ``names`` whose label contains ``answer``, read as :func:`layer_named`
    reads it ("SRA" is in two labels); ``[]`` for an answer that is not text."""
    names = _names(names)
    if not isinstance(answer, str) or not _plain(answer):
        return []
    return [n for n in names if _plain(answer) in _plain(n)]


def _plain(s: str) -> str:
    """``s`` as letters and digits only, lower case; "7x7" as "7×7"."""
    return re.sub(r"[\W_]", "", re.sub(r"(?<=\d)\s*x\s*(?=\d)", "×", _exact_str(s).lower()))


def _resident(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak since the last reset) of this process, bytes."""
    with open("/proc/self/status", encoding="ascii") as f:
        line = next(ln for ln in f if ln.startswith(field + ":"))
    return int(line.split()[1]) * 1024  # the kernel writes kB, meaning KiB


def _attention(path: str):
    if path == "explicit":
        return lambda q, k, v, scale: explicit_attention(q, k, v, scale)[0]
    return lambda q, k, v, scale: F.scaled_dot_product_attention(q, k, v, scale=scale)


def _measure_here(
    path: str, tokens: int, dim: int, heads: int, threads: int, min_run_time: float
) -> dict:
    """One attention on this process's own memory: call it in a fresh process only
    (:func:`measure_attention` does). Linux: it reads and resets ``/proc/self``."""
    torch.set_num_threads(threads)
    run = _attention(path)
    scale = dim**-0.5
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, heads, tokens, dim) for _ in range(3))
    with torch.no_grad():
        tiny = [t[:, :, :16] for t in (q, k, v)]
        run(*tiny, scale)  # the first call's one-time set-up (kernel choice, thread pool)
        del tiny
        release_memory()  # the heap's free pages back, so the peak is new pages only
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # reset the peak (VmHWM) to the resident memory now
        before = _resident("VmRSS")
        out = run(q, k, v, scale)
        peak = _resident("VmHWM") - before
        del out
        row = dict(path=path, tokens=tokens, dim=dim, heads=heads, threads=threads)
        row.update(peak_bytes=peak, map_bytes=4 * heads * tokens**2)
        if min_run_time > 0:
            timer = benchmark.Timer(
                stmt="run(q, k, v, scale)",
                globals=dict(run=run, q=q, k=k, v=v, scale=scale),
                num_threads=threads,
            )
            runs = list(timer.blocked_autorange(min_run_time=min_run_time).times)
            while len(runs) < 3:  # a slow call fills the time alone: three at least
                runs.append(timer.timeit(1).median)
            ms_runs = [t * 1e3 for t in runs]
            # an even number of runs: the mean of the two middle ones
            row.update(ms=statistics.median(ms_runs), ms_runs=ms_runs)
    return row


#: The most bytes one measurement of :func:`measure_attention` may ask for: its inputs and
#: output, and the explicit path's map (28,224 tokens, the book's largest, is a 3 GiB map).
_MAX_MEASURED_BYTES = 2**32


def measure_attention(
    path: str,
    tokens: int,
    *,
    dim: int = 64,
    heads: int = 1,
    threads: int = 1,
    min_run_time: float = 0.0,
) -> dict:
    """One attention of ``tokens`` queries and keys (batch 1, float32, ``no_grad``) on
    ``path``: ``"explicit"`` (:func:`~vit_notes.attention.explicit_attention`, which stores the
    map) or ``"fused"`` (:func:`torch.nn.functional.scaled_dot_product_attention`).

    It runs in a fresh Python process, so that no earlier tensor's freed memory serves this
    one. There it creates q, k and v, runs the path once on 16 tokens (the first call's set-up),
    hands freed heap pages back (:func:`~vit_notes.counting.release_memory`), resets the
    process's peak resident memory and runs the path once. ``peak_bytes`` is that peak above
    the resident memory just before the call: the output, every temporary, and the allocator's
    rounding, but not the inputs. ``map_bytes`` is the map's own size, ``4·heads·tokens²``.
    With ``min_run_time`` > 0 it then times the path (:class:`torch.utils.benchmark.Timer`,
    ``threads`` threads, three runs at least): ``ms`` (the median) and ``ms_runs``. Linux only:
    it reads the peak from ``/proc/self/status``."""
    validate.one_of("path", path, PATHS)
    tokens = validate.positive_int("tokens", tokens, maximum=2**16, why="the map is tokens²")
    dim, heads = validate.width("dim", dim), validate.width("heads", heads)
    threads = validate.positive_int("threads", threads, maximum=1024)
    min_run_time = validate.number("min_run_time", min_run_time, low=0.0, high=600.0)
    inputs, map_bytes = 16 * tokens * dim, 4 * heads * tokens**2  # q, k, v, out; the map
    if inputs > _MAX_MEASURED_BYTES:
        raise ValueError(
            f"tokens={tokens:,} with dim={dim:,}: q, k, v and the output hold {inputs:,} bytes, "
            f"more than the {_MAX_MEASURED_BYTES:,} (4 GiB) a measurement allows: use fewer "
            "tokens or a smaller dim"
        )
    if path == "explicit" and map_bytes > _MAX_MEASURED_BYTES:
        most = math.isqrt(_MAX_MEASURED_BYTES // (4 * heads))
        raise ValueError(
            f"tokens={tokens:,}: the explicit path stores a map of 4·heads·tokens² = "
            f"{map_bytes:,} bytes, more than the {_MAX_MEASURED_BYTES:,} (4 GiB) a measurement "
            f"allows: with heads={heads} use at most {most:,} tokens (the fused path stores no "
            "map)"
        )
    args = [path, tokens, dim, heads, threads, min_run_time]
    code = (
        "import json, sys; from vit_notes.compare import _measure_here; "
        "print(json.dumps(_measure_here(*json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {path} at {tokens} tokens failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def attention_memory() -> tuple[measured.Measurement, list[dict]]:
    """The recorded measurement of :data:`MEMORY` and one row per token count, in MiB and
    ms: ``tokens``, ``side`` (the image side whose stride-4 grid has them), ``map_mib``,
    ``explicit_mib``, ``fused_mib``, ``explicit_ms``, ``fused_ms`` (the medians of the runs,
    :func:`statistics.median`), every run's
    time, ``explicit_runs`` and ``fused_runs``, and ``head_dim``, the head size the recording
    ran (its ``dim`` over its ``heads``)."""
    m = measured.load(MEMORY)
    by = {(r["path"], r["tokens"]): r for r in m.rows}
    rows = []
    for n in sorted({r["tokens"] for r in m.rows}):
        missing = [p for p in PATHS if (p, n) not in by]
        if missing:
            raise ValueError(f"{MEMORY!r} has no {missing} row at {n} tokens; run {MEMORY_COMMAND}")
        e, f = by["explicit", n], by["fused", n]
        head_dims = {r["dim"] // r["heads"] for r in (e, f)}
        if len(head_dims) != 1:
            raise ValueError(f"{MEMORY!r} ran two head sizes at {n} tokens: {sorted(head_dims)}")
        rows.append(
            dict(
                tokens=n,
                side=4 * round(n**0.5),
                map_mib=e["map_bytes"] / 2**20,
                explicit_mib=e["peak_bytes"] / 2**20,
                fused_mib=f["peak_bytes"] / 2**20,
                # the median of the recorded runs, the mean of the two middle ones where
                # their number is even (a recording's own "ms" may predate that rule)
                explicit_ms=statistics.median(e["ms_runs"]),
                fused_ms=statistics.median(f["ms_runs"]),
                explicit_runs=e["ms_runs"],
                fused_runs=f["ms_runs"],
                head_dim=head_dims.pop(),
            )
        )
    return m, rows

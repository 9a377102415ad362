"""Every public function answers a bad input (issue 19): one student slip per function of the
package's public API (each subpackage's ``__all__``, the top level's, and every public function
of each chapter's ``figures.py``), each expected to raise a ``ValueError`` or ``TypeError``
whose message names the argument. :func:`test_every_public_function_has_a_bad_input_test`
walks the API and fails on a function that has neither a slip here nor a reason to have none.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import time

import numpy as np
import pytest
import torch

import vit_notes
from vit_notes import photo, registry
from vit_notes.coatnet import RelativeAttention
from vit_notes.learned import make_dataset
from vit_notes.pvt import SpatialReductionAttention
from vit_notes.shunted import ShuntedAttention
from vit_notes.swin import WindowAttention

#: Where the public API is listed: the top level's ``__all__`` and every chapter
#: subpackage's, found by walking the package (a new chapter is walked without a line here).
CHAPTERS = [m.name for m in pkgutil.iter_modules(vit_notes.__path__) if m.ispkg]
PACKAGES = ["vit_notes", *(f"vit_notes.{c}" for c in CHAPTERS)]
#: Each chapter's figure helpers, public whether exported or not.
FIGURES = [
    f"vit_notes.{c}.figures"
    for c in CHAPTERS
    if importlib.util.find_spec(f"vit_notes.{c}.figures") is not None
]


def public_functions() -> dict[str, object]:
    """``'package.name' -> callable`` for every public function and class of the API."""
    out = {}
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj) and not inspect.ismodule(obj):
                out[f"{pkg}.{name}"] = obj
    for fig in FIGURES:
        mod = importlib.import_module(fig)
        pkg = fig.rsplit(".", 1)[0]
        for name, obj in vars(mod).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != fig:
                continue
            if not any(obj is o for o in out.values()):
                out[f"{fig}.{name}"] = obj
    return out


class Later:
    """An argument built when its test runs, not at import (a model, the photo, a dataset)."""

    def __init__(self, make):
        self.make = make


_img = Later(lambda: photo.load_photo(32))
_sra = Later(lambda: SpatialReductionAttention(8, 2, sr_ratio=2))
_shunted = Later(lambda: ShuntedAttention(8, 2, sr_ratio=2))
_rel = Later(lambda: RelativeAttention(8, num_heads=2, grid_size=(2, 2)))
_np_img = Later(lambda: photo.load_photo(32).numpy())
_marks = Later(lambda: make_dataset(4, 0))
_win = Later(lambda: WindowAttention(16, 7, 2))
_img56 = Later(lambda: photo.load_photo(56))


def _forward(attn, x, H, W):
    return attn(x, H, W)


#: ``'package.name' -> (args, kwargs, argument the message must name)``: the student slip.
#: :class:`Later` arguments are built when the test runs.
SLIPS: dict[str, tuple] = {
    # top level
    "vit_notes.attend": ((_sra, "q", torch.rand(1, 1, 4, 8), torch.rand(1, 1, 4, 8)),
                         dict(scale=1.0), "q"),
    "vit_notes.create": (("pvt_tinyy",), {}, "name"),
    "vit_notes.explicit_attention": ((torch.rand(1, 4, 8), torch.rand(1, 4, 8).numpy(),
                                      torch.rand(1, 4, 8), 1.0), {}, "k"),
    "vit_notes.glue": ((3, 1.0), {}, "name"),
    "vit_notes.list_models": ((), dict(family="pvtt"), "family"),
    "vit_notes.model_info": (("pvt_tinyy",), {}, "name"),
    "vit_notes.record_attention": ((), dict(model="pvt_tiny"), "model"),
    "vit_notes.trace_shapes": ((), dict(model=3), "model"),
    # PVT
    "vit_notes.pvt.Block": ((), dict(dim=8, num_heads=3), "num_heads"),
    "vit_notes.pvt.Mlp": ((), dict(in_features="8", hidden_features=16), "in_features"),
    "vit_notes.pvt.OverlapPatchEmbed": ((), dict(img_size="224"), "img_size"),
    "vit_notes.pvt.PatchEmbed": ((), dict(patch_size=0), "patch_size"),
    "vit_notes.pvt.PyramidVisionTransformer": ((), dict(img_size=-1), "img_size"),
    "vit_notes.pvt.SpatialReductionAttention": ((), dict(dim=8, num_heads=2, sr_ratio=0),
                                                "sr_ratio"),
    "vit_notes.pvt.check_explorer_prediction": ((4,), dict(size="224"), "size"),
    "vit_notes.pvt.check_kv_tokens": ((49,), dict(H=0), "H"),
    "vit_notes.pvt.check_sr_choice": ((8,), dict(size=-1), "size"),
    "vit_notes.pvt.check_sra_forward": ((_forward,), dict(configs=()), "configs"),
    "vit_notes.pvt.check_sra_macs": ((1,), dict(H="56"), "H"),
    "vit_notes.pvt.cost_chart": ((0, 1, 8), {}, "size"),
    "vit_notes.pvt.draw_sra_schematic": ((), dict(attn="sra"), "attn"),
    "vit_notes.pvt.fixed_cost_pairs": (("rows", "size"), {}, "rows"),
    "vit_notes.pvt.growth_order": (("rows", "size"), {}, "rows"),
    "vit_notes.pvt.identity_sra": ((0, 2), {}, "dim"),
    "vit_notes.pvt.plot_cost": (([], "size", "title"), {}, "rows"),
    "vit_notes.pvt.query_peaks": ((_img, []), {}, "queries"),
    "vit_notes.pvt.sra_cost": ((0, 56, 64, 1), {}, "H"),
    "vit_notes.pvt.sra_cost_table": ((), dict(sizes=(0,), timed=False), "size"),
    "vit_notes.pvt.sra_query_maps": ((_np_img,), {}, "img"),
    "vit_notes.pvt.sra_shapes": (("sra", 4, 4), {}, "attn"),
    "vit_notes.pvt.sra_steps": ((_sra, torch.rand(1, 16, 8).numpy(), 4, 4), {}, "x"),
    "vit_notes.pvt.state_dict_from_timm": (("weights.pth",), {}, "timm_state"),
    "vit_notes.pvt.timing_surprises": (("rows", "size"), {}, "rows"),
    # CoAtNet
    "vit_notes.coatnet.ablation_costs": (("no such table",), {}, "title"),
    "vit_notes.coatnet.shortfall_fit": (([dict(paper=1.0, gmacs=0.9)],), {}, "entries"),
    "vit_notes.coatnet.CoAtNet": ((), dict(img_size=100), "img_size"),
    "vit_notes.coatnet.MBConv": ((0, 8), {}, "in_chs"),
    "vit_notes.coatnet.RelativeAttention": ((8,), dict(num_heads=3), "num_heads"),
    "vit_notes.coatnet.RelativePositionBias": (((0, 2), 2), {}, "grid_size"),
    "vit_notes.coatnet.TransformerBlock": ((32,), dict(dim_head=5), "dim_head"),
    "vit_notes.coatnet.check_attention_macs": ((1,), dict(H=0), "H"),
    "vit_notes.coatnet.check_layout_choice": (("C-C-T-T",), dict(size=0), "size"),
    "vit_notes.coatnet.check_layout_prediction": ((2,), dict(layout="C-Q"), "layout"),
    "vit_notes.coatnet.check_rel_table_size": ((1,), dict(num_heads=0), "num_heads"),
    "vit_notes.coatnet.check_relative_attention": ((_forward,), dict(configs=()), "configs"),
    "vit_notes.coatnet.check_relative_index": ((_forward,), dict(grids=()), "grids"),
    "vit_notes.coatnet.relative_attention_steps": ((_rel, torch.rand(1, 8, 2, 2).tolist()), {},
                                                   "x"),
    "vit_notes.coatnet.coatnet_cost": ((), dict(img_size=100), "img_size"),
    "vit_notes.coatnet.coatnet_stages": ((), dict(img_size=0), "img_size"),
    "vit_notes.coatnet.conv_vs_attention_rows": ((), dict(sizes=(0,)), "size"),
    "vit_notes.coatnet.draw_coatnet_schematic": ((), dict(img_size=100), "img_size"),
    "vit_notes.coatnet.layout_charts": ((), dict(layout="C-Q-T-T"), "layout"),
    "vit_notes.coatnet.identity_relative_attention": ((0, (2, 2)), {}, "dim"),
    "vit_notes.coatnet.layout_explorer": ((), dict(name="coatnet_9"), "name"),
    "vit_notes.coatnet.learned_style_table": ((), dict(grid=(0, 2)), "grid"),
    "vit_notes.coatnet.load_timm_state_dict": (("model", "timm_model"), {}, "model"),
    "vit_notes.coatnet.make_divisible": ((96,), dict(divisor=0), "divisor"),
    "vit_notes.coatnet.mbconv_cost": ((0, 56, 64, 64), {}, "H"),
    "vit_notes.coatnet.parse_layout": (("C-C-Q-T",), {}, "layout"),
    "vit_notes.coatnet.plot_bias_table": (("table", (0, 0)), {}, "table"),
    "vit_notes.coatnet.plot_conv_vs_attention": (([],), {}, "rows"),
    "vit_notes.coatnet.plot_matrices": (([],), {}, "groups"),
    "vit_notes.coatnet.plot_relative_query_maps": (("img", {}, (0.3, 0.5)), {}, "img"),
    "vit_notes.coatnet.relative_attention_cost": ((0, 14, 64, 2), {}, "H"),
    "vit_notes.coatnet.relative_position_index": ((0, 2), {}, "H"),
    "vit_notes.coatnet.relative_query_maps": ((_np_img, torch.zeros(27, 27)), {}, "img"),
    "vit_notes.coatnet.transformer_block_cost": ((0, 14, 64), {}, "H"),
    # Shunted
    "vit_notes.shunted.ConvStem": ((), dict(num_conv=-1), "num_conv"),
    "vit_notes.shunted.DetailSpecificMlp": ((0,), {}, "in_features"),
    "vit_notes.shunted.ShuntedAttention": ((8, 2), dict(sr_ratio=3), "sr_ratio"),
    "vit_notes.shunted.ShuntedTransformer": ((), dict(img_size="224"), "img_size"),
    "vit_notes.shunted.check_explorer_prediction": ((4,), dict(size=0), "size"),
    "vit_notes.shunted.check_head_groups": ((3, 8), {}, "num_heads"),
    "vit_notes.shunted.check_ratio_choice": ((4,), dict(H=0), "H"),
    "vit_notes.shunted.check_shunted_forward": ((_forward,), dict(configs=()), "configs"),
    "vit_notes.shunted.check_shunted_kv_tokens": ((49,), dict(sr_ratio=3), "sr_ratio"),
    "vit_notes.shunted.check_shunted_macs": ((1,), dict(dim="64"), "dim"),
    "vit_notes.shunted.coarse_peaks": ((_img, [(0.3, 0.5)]), dict(sr_ratio=1), "sr_ratio"),
    "vit_notes.shunted.check_sr_ratio": ((3,), {}, "sr_ratio"),
    "vit_notes.shunted.shunted_cost_chart": ((224, 2, 3), {}, "sr_ratio"),
    "vit_notes.shunted.draw_shunted_schematic": ((), dict(attn="ssa"), "attn"),
    "vit_notes.shunted.effective_keys": (([0.5, 0.5],), {}, "row"),
    "vit_notes.shunted.identity_shunted": ((0, 2), {}, "channels"),
    "vit_notes.shunted.kv_grids": ((56, 56, 3), {}, "sr_ratio"),
    "vit_notes.shunted.on_own_tile": (([0.25] * 4, (2, 2), 2, 0, 4), {}, "row"),
    "vit_notes.shunted.plot_shunted_cost": (([], "title"), {}, "rows"),
    "vit_notes.shunted.plot_shunted_maps": (("img", {}, (0.3, 0.5)), {}, "img"),
    "vit_notes.shunted.query_map_rows": (("maps", None, (0.3, 0.5), 4, 4), {}, "maps"),
    "vit_notes.shunted.round_ratios": (([{"variant": "SRA"}],), {}, "rows"),
    "vit_notes.shunted.reduction_conv_table": ((), dict(size=0, timed=False), "size"),
    "vit_notes.shunted.shunted_cost": ((56, 56, 64, 2, 3), {}, "sr_ratio"),
    "vit_notes.shunted.shunted_cost_table": ((), dict(size=0, timed=False), "size"),
    "vit_notes.shunted.shunted_steps": ((_shunted, torch.rand(1, 16, 8).half(), 4, 4), {}, "x"),
    "vit_notes.shunted.shunted_kv_tokens": ((56, 56, 3), {}, "sr_ratio"),
    "vit_notes.shunted.shunted_query_maps": ((_np_img,), {}, "img"),
    "vit_notes.shunted.sra_nearest_cost_maps": ((_np_img,), {}, "img"),
    "vit_notes.shunted.sra_ratio_at_nearest_cost": ((56, 56, 64, 2, 3), {}, "sr_ratio"),
    "vit_notes.shunted.timing_margins": (("rows",), {}, "rows"),
    "vit_notes.shunted.timing_outliers": (("rows",), {}, "rows"),
    "vit_notes.shunted.traced_shapes": (("ssa",), {}, "attn"),
    # the study
    "vit_notes.learned.learned_explorer": ((), dict(images=0), "images"),
    "vit_notes.learned.Progress": ((0,), {}, "total"),
    "vit_notes.learned.build": (("pvt_fulll",), {}, "name"),
    "vit_notes.learned.caption": (("results",), {}, "results"),
    "vit_notes.learned.check_chance_level": ((0.25,), dict(task="sam"), "task"),
    "vit_notes.learned.check_higher": (("yes",), dict(detail="3"), "detail"),
    "vit_notes.learned.check_prediction": (("higher",), dict(model="pvt_sra9"), "model"),
    "vit_notes.learned.check_test_size": ((100,), dict(n=0), "n"),
    "vit_notes.learned.evaluate": (("pvt_full",), {}, "model"),
    "vit_notes.learned.learned_query_maps": ((_img, (0.3, 0.5)), dict(names=["pvt_fulll"]),
                                             "names"),
    "vit_notes.learned.mean_interval": (([],), {}, "values"),
    "vit_notes.learned.paired_difference": (({0: 0.5}, {1: 0.5}), {}, "runs"),
    "vit_notes.learned.unpaired_difference": (({0: 0.5}, {1: 0.5}), {}, "runs"),
    "vit_notes.learned.load": (("pvt_fulll",), {}, "name"),
    "vit_notes.learned.load_results": ((), dict(path="no/such/results.json"), "path"),
    "vit_notes.learned.make_dataset": ((10, 0), dict(size=16, detail=9), "detail"),
    "vit_notes.learned.plot_accuracy_vs_cost": (({},), {}, "results"),
    "vit_notes.learned.plot_accuracy_vs_detail": (({},), {}, "results"),
    "vit_notes.learned.plot_losses": ((None, [], "pvt_full"), {}, "shipped"),
    "vit_notes.learned.predict": ((torch.nn.Flatten(), np.zeros((2, 3, 32, 32))), {}, "images"),
    "vit_notes.learned.query_token": (((0, 0), 0), {}, "detail"),
    "vit_notes.learned.render_shape": ((7, 8), {}, "shape"),
    "vit_notes.learned.show_examples": ((_marks,), dict(k=0), "k"),
    "vit_notes.learned.toy_query_maps": ((_img, (0.3, 0.5)), dict(ratios=(0,)), "ratio"),
    "vit_notes.learned.train": (("pvt_full",), {}, "model"),
    "vit_notes.learned.figures.query_rc": (((0, 0), 0), {}, "detail"),
    "vit_notes.learned.figures.with_levels": (([],), {}, "panels"),
    "vit_notes.learned.figures.mark_tokens": (((0, 0), 3), dict(grid=7), "grid"),
    "vit_notes.learned.figures.attention_on_marks": ((_marks,),
                                                     dict(count=0), "count"),
    # swin
    "vit_notes.swin.check_explorer_prediction": ((16,), dict(window_size=5), "window_size"),
    "vit_notes.swin.explorer_cost_chart": ((7, "shifted"), {}, "block2"),
    "vit_notes.swin.explorer_maps": ((_img56, [(0.5, 0.5)], 7, "SW-MSA", -1.0), {}, "logit_scale"),
    "vit_notes.swin.swin_cost_table": ((), dict(stages=(5,), timed=False), "stages"),
    "vit_notes.swin.round_ratios": (([{"variant": "W-MSA"}], "SW-MSA"), {}, "rows"),
    "vit_notes.swin.plot_measured_times": (({"rows": 1},), {}, "rows"),
    "vit_notes.swin.attention_groups": ((14, 14, 7, 7), {}, "shift_size"),
    "vit_notes.swin.cost_curves": ((), dict(sides=()), "sides"),
    "vit_notes.swin.draw_shift_schematic": (("block",), {}, "block"),
    "vit_notes.swin.full_map": ((torch.rand(1, 196, 8).numpy(), 14, 14, 7, 3), {}, "tokens"),
    "vit_notes.swin.own_window": ((14, 14, 7, 196), {}, "query"),
    "vit_notes.swin.input_gradient": (([], torch.rand(1, 196, 8), 0), {}, "blocks"),
    "vit_notes.swin.plot_cost_curves": (([],), {}, "rows"),
    "vit_notes.swin.plot_receptive_fields": ((_img56, []), dict(query_rc=(0.5, 0.5)), "fields"),
    "vit_notes.swin.plot_two_blocks": ((_img56, {}, (0.5, 0.5)), {}, "maps"),
    "vit_notes.swin.receptive_fields": ((14, 14, 7, 0, 0), {}, "blocks"),
    "vit_notes.swin.swin_steps": ((None, torch.rand(1, 196, 16), 14, 14), {}, "layer"),
    "vit_notes.swin.toy_block_maps": ((_img56, (1.5, 0.5)), {}, "row"),
    "vit_notes.swin.toy_window_attention": ((8, 7), dict(logit_scale=float("nan")), "logit_scale"),
    "vit_notes.swin.window_of": ((14, 14, 5, 0), {}, "window_size"),
    "vit_notes.swin.BasicLayer": ((16, (14, 14), 2, 3, 7), {}, "num_heads"),
    "vit_notes.swin.GridWindowAttention": ((16, (14, 14), 2), dict(window_size=5), "window_size"),
    "vit_notes.swin.Mlp": ((16, 0), {}, "hidden_features"),
    "vit_notes.swin.PatchEmbed": ((), dict(img_size=226), "img_size"),
    "vit_notes.swin.PatchMerging": (((7, 7), 16), {}, "input_resolution"),
    "vit_notes.swin.SwinTransformer": ((), dict(img_size=230), "img_size"),
    "vit_notes.swin.SwinTransformerBlock": ((16, (14, 14), 2), dict(shift_size=7), "shift_size"),
    "vit_notes.swin.WindowAttention": ((16, 7, 3), {}, "num_heads"),
    "vit_notes.swin.accepted_sizes": ((), dict(window_size=0), "window_size"),
    "vit_notes.swin.check_img_size": ((230, 4, 7, 4), {}, "img_size"),
    "vit_notes.swin.check_shift": ((7, 7), {}, "shift_size"),
    "vit_notes.swin.check_window": ((14, 14, 5), {}, "window_size"),
    "vit_notes.swin.effective_window": ((14, 14, 0), {}, "window_size"),
    "vit_notes.swin.msa_cost": ((14, 14, 16, 3), {}, "num_heads"),
    "vit_notes.swin.relative_position_index": ((0,), {}, "window_size"),
    "vit_notes.swin.shift_mask": ((14, 14, 7, 7), {}, "shift_size"),
    "vit_notes.swin.shift_regions": ((14, 14, 7, -1), {}, "shift_size"),
    "vit_notes.swin.shifted_window_attention": ((None, torch.rand(1, 14, 14, 16), _win, 7, 9,
                                                 None), {}, "shift_size"),
    "vit_notes.swin.size_problem": (("224", 4, 7, 4), {}, "img_size"),
    "vit_notes.swin.stage_grids": ((224,), dict(patch_size=0), "patch_size"),
    "vit_notes.swin.state_dict_from_official": (([1, 2],), {}, "official_state"),
    "vit_notes.swin.state_dict_from_timm": (({"x": 1},), {}, "timm_state"),
    "vit_notes.swin.swin_block_cost": ((14, 14, 16, 3), {}, "num_heads"),
    "vit_notes.swin.window_attention_cost": ((14, 14, 16, 2), dict(window_size=5), "window_size"),
    "vit_notes.swin.window_partition": ((torch.rand(1, 14, 14, 8), 5), {}, "window_size"),
    "vit_notes.swin.window_reverse": ((torch.rand(6, 7, 7, 8), 7, 14, 14), {}, "windows"),
}  # fmt: skip

#: Public callables with no bad-input test, and why.
NO_SLIP = {
    "vit_notes.pvt.sra_explorer": "takes no arguments",
    "vit_notes.shunted.shunted_explorer": "takes no arguments",
    "vit_notes.shunted.official_state_dict": "takes no arguments",
    "vit_notes.swin.official_state_dict": "takes no arguments",
    "vit_notes.swin.swin_explorer": "takes no arguments",
    "vit_notes.swin.check_memory_prediction": "a checker: every input answered with a message "
    "(tests/test_swin.py)",
    "vit_notes.swin.check_window_choice": "a checker: every input answered with a message "
    "(tests/test_swin.py)",
    "vit_notes.swin.check_window_macs": "a checker: every input answered with a message "
    "(tests/test_swin.py)",
    "vit_notes.swin.check_swin_forward": "a checker of a student function: every input "
    "answered with a message (tests/test_swin.py)",
    "vit_notes.learned.check_query_token": "a checker of a student function: every input "
    "answered with a message (tests/test_robust_checkers.py)",
    "vit_notes.learned.Marks": "a record of tensors that make_dataset fills in",
    "vit_notes.learned.Score": "a record that evaluate fills in",
    "vit_notes.learned.StudyModel": "a record of the study's fixed table",
    "vit_notes.learned.TrainLog": "a record that train fills in",
    "vit_notes.learned.Interval": "a record that mean_interval fills in",
}
#: The family factories (``pvt_tiny(...)`` ...): a bad keyword, the same slip for each.
FACTORY_SLIP = ((), dict(num_classes=-1), "num_classes")


def slip_for(name: str, fn) -> tuple | None:
    if name in SLIPS:
        return SLIPS[name]
    if name.rsplit(".", 1)[1] in registry.list_models():  # pvt_tiny(...), coatnet_0(...)
        return FACTORY_SLIP
    if name.endswith(".create"):
        return (("no_such_model",), {}, "name")
    return None


API = public_functions()


def test_every_public_function_has_a_bad_input_test():
    # Fails on a public function added without a slip in SLIPS (or a reason in NO_SLIP).
    untested = [n for n, fn in API.items() if slip_for(n, fn) is None and n not in NO_SLIP]
    assert not untested, f"public functions without a bad-input test: {untested}"
    stale = [n for n in [*SLIPS, *NO_SLIP] if n not in API]
    assert not stale, f"listed but not public: {stale}"


@pytest.mark.parametrize("name", [n for n, fn in API.items() if slip_for(n, fn) is not None])
def test_a_bad_input_names_the_argument(name):
    args, kwargs, arg = slip_for(name, API[name])
    args = [a.make() if isinstance(a, Later) else a for a in args]
    start = time.monotonic()
    with pytest.raises((ValueError, TypeError)) as e:
        result = API[name](*args, **kwargs)
        if hasattr(result, "__enter__"):  # a context manager checks on entry
            with result:
                pass
    assert time.monotonic() - start < 20
    assert arg in str(e.value), f"{name}: {type(e.value).__name__}: {e.value}"

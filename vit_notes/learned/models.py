"""The study's models: small pyramids of each family, built from the package's own classes with
keyword arguments (no model code here), sized to train on two CPU cores in well under a minute.

Every model sees 32×32 images. PVT's first convolution has stride 4 and makes the 8×8 token
grid of stage 1, as PVT does at 224² (56×56). Shunted's stem starts with a stride-2 convolution
(a 16×16 grid) and reaches the same 8×8 token grid at stride 4. In both, the second stage halves
the grid to 4×4. The PVT models differ in their attention's keys and values: ``sr_ratios``
(R at stage 1, R/2 at stage 2, PVT's rule of a key grid of the same size at every stage) or
linear SRA. pvt_linear also has the ReLU after fc1 in each feed-forward layer that PVT v2's
official code gives its linear-SRA models. So R = 2 leaves stage 2 at full attention (ratio 1),
while R = 4 and R = 8 reduce it too, with a reduction convolution of its own. Shunted gives half
of the heads ``r`` and half ``r/2``. CoAtNet, at this size, has a stride-2 stem, one MBConv stage
at stride 4 and relative attention at strides 8 and 16, so its first attention tokens form a 4×4
grid. Its layout is C-T-T, shortened from the paper's C-C-T-T, which would leave 2×2 and 1×1
grids here.

:data:`CONTROLS` holds the control that must score lower if this PVT, under the shared recipe,
needs its attention on the task: ``pvt_none`` is pvt_full with each block's attention (and the
LayerNorm before it) removed, built from the same seed, so every other weight starts as
pvt_full's. It tests the PVT family only. Its tokens still meet through the
convolutions: the 3×3 depthwise convolution in each feed-forward layer and the 3×3 stride-2
patch convolution before stage 2. It removes attention, not all mixing across tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .. import validate
from ..coatnet import CoAtNet
from ..layers import keeps_global_rng
from ..pvt import PyramidVisionTransformer
from ..shunted import ShuntedTransformer
from .data import IMG_SIZE, num_classes

#: The channel widths of the two stages, shared by every model.
DIMS = (24, 48)


#: What the study's two pyramids share: two stages of one block each, the same widths.
_PYRAMID = dict(
    img_size=IMG_SIZE,
    embed_dims=DIMS,
    mlp_ratios=(2, 2),
    qkv_bias=True,
    depths=(1, 1),
    num_stages=2,
)


def _pvt(sr_ratios=(1, 1), linear: bool = False, pool_size: int = 7) -> Callable:
    def build(classes: int) -> nn.Module:
        return PyramidVisionTransformer(
            num_classes=classes,
            num_heads=(1, 2),
            sr_ratios=sr_ratios,
            version=2,
            linear=linear,
            pool_size=pool_size,
            **_PYRAMID,
        )

    return build


def _shunted(sr_ratios) -> Callable:
    def build(classes: int) -> nn.Module:
        return ShuntedTransformer(
            num_classes=classes, num_heads=(2, 2), sr_ratios=sr_ratios, **_PYRAMID
        )

    return build


def _coatnet(classes: int) -> nn.Module:
    return CoAtNet(
        img_size=IMG_SIZE,
        num_classes=classes,
        stem_width=16,
        embed_dims=(DIMS[0], DIMS[1], DIMS[1]),
        depths=(1, 1, 1),
        layout="C-T-T",
        dim_head=DIMS[0],
        expand_ratio=2,
    )


class NoAttention(nn.Module):
    """Stands in for a PVT block's attention and adds nothing: the block's residual branch
    returns zeros, so ``x + attn(x)`` is ``x``."""

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        return torch.zeros_like(x)


def _pvt_none(classes: int) -> nn.Module:
    model = _pvt((1, 1))(classes)  # pvt_full's weights from the same seed, then no attention
    for stage in (model.block1, model.block2):
        for block in stage:
            block.attn, block.norm1 = NoAttention(), nn.Identity()
    return model


@dataclass(frozen=True)
class StudyModel:
    """One model of the study: its name, family, a short label for the plots, the key grids its
    attention sees at stage 1 (``keys``), and how to build it for a number of classes."""

    name: str
    family: str
    label: str
    keys: str
    build: Callable[[int], nn.Module]
    sr_ratio: int | None = None


#: Every model of the study, in the order of the plots.
STUDY: dict[str, StudyModel] = {
    m.name: m
    for m in (
        StudyModel(
            "pvt_full", "PVT", "PVT, full attention", keys="8×8", build=_pvt((1, 1)), sr_ratio=1
        ),
        StudyModel("pvt_sra2", "PVT", "PVT SRA, R=2", keys="4×4", build=_pvt((2, 1)), sr_ratio=2),
        StudyModel("pvt_sra4", "PVT", "PVT SRA, R=4", keys="2×2", build=_pvt((4, 2)), sr_ratio=4),
        StudyModel(
            "pvt_sra8",
            "PVT",
            "PVT SRA, R=8 (1 key: broadcast)",  # it selects nothing: the chapter's section 2
            keys="1×1",
            build=_pvt((8, 4)),
            sr_ratio=8,
        ),
        StudyModel(
            "pvt_linear",
            "PVT",
            "PVT linear SRA, feed-forward ReLU",
            keys="2×2",
            build=_pvt(linear=True, pool_size=2),
        ),
        StudyModel(
            "shunted_full", "Shunted", "Shunted, full attention", keys="8×8", build=_shunted((1, 1))
        ),
        StudyModel(
            "shunted_r4", "Shunted", "Shunted, r=4 and 2", keys="2×2 + 4×4", build=_shunted((4, 2))
        ),
        StudyModel(
            "shunted_r8", "Shunted", "Shunted, r=8 and 4", keys="1×1 + 2×2", build=_shunted((8, 4))
        ),
        StudyModel("coatnet", "CoAtNet", "CoAtNet, C-T-T", keys="none (MBConv)", build=_coatnet),
    )
}


#: Controls, trained and scored like the study's models, drawn in grey beside them in the plots
#: but not timed: the model that must score lower if this PVT needs its attention (it tests the
#: PVT family only; no Shunted or CoAtNet model has such a control).
CONTROLS: dict[str, StudyModel] = {
    "pvt_none": StudyModel("pvt_none", "PVT", "PVT, no attention", keys="none", build=_pvt_none),
}

#: Every model :func:`build` makes: the study's and the controls.
MODELS: dict[str, StudyModel] = {**STUDY, **CONTROLS}

#: Each family's full-attention model: :func:`build` starts every other model of the family from
#: its weights of the same seed, where the two share a tensor (CoAtNet has one model).
BASELINES = {"PVT": "pvt_full", "Shunted": "shunted_full"}


@keeps_global_rng
def build(name: str, seed: int = 0, task: str = "majority") -> nn.Module:
    """The study's model ``name`` (:data:`STUDY`, or a control of :data:`CONTROLS`), its weights
    initialised from ``seed`` (drawn apart: the caller's random generator is left as it was),
    with a classifier for ``task`` (4 classes for "majority", 2 for "same")."""
    validate.one_of("name", name, MODELS)
    seed = validate.seed("seed", seed)
    torch.manual_seed(seed)
    model = MODELS[name].build(num_classes(task))
    base = BASELINES.get(MODELS[name].family)
    if base is not None and base != name:
        # Start from the family's full-attention model of the same seed wherever the two have a
        # tensor of the same name and shape (stem, norms, q, kv, proj, feed-forward, classifier),
        # so that two models of one seed differ only in what their attention adds: a paired
        # comparison over seeds then pairs starting weights, not only the batch order.
        torch.manual_seed(seed)
        shared = MODELS[base].build(num_classes(task)).state_dict()
        own = model.state_dict()
        model.load_state_dict(
            {
                k: shared[k] if k in shared and shared[k].shape == v.shape else v
                for k, v in own.items()
            }  # fmt: skip
        )
    return model

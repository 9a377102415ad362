"""Every model on an accelerator: equal to timm there, to itself on the CPU, fused to explicit.

    python bench/device_check.py                 # cuda when present, else the CPU
    python bench/device_check.py --device cpu

For each model of the book, at 224² with random weights (seed 0): where timm has the model
(PVT v2, CoAtNet), timm's weights are copied into ours and both run on the device; every model
also runs on the CPU and, on the device, once on the fused path (``scaled_dot_product_attention``)
and once with the explicit map (:func:`vit_notes.record_attention`). TF32 is switched off, so
that float32 on the GPU is float32. Prints the largest absolute difference of each pair and
exits with status 1 if one exceeds the tolerance (``--atol``, scaled by the outputs' size).
This is a check, not a measurement: nothing here is timed.
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys

import torch

import vit_notes
from vit_notes import coatnet, pvt, record_attention

SIZE = 224


def _timm_pair(name: str):
    """(ours, timm's) with timm's weights copied into ours, or (ours, None)."""
    import timm

    torch.manual_seed(0)
    if name.startswith("pvt_v2"):
        theirs = timm.create_model(name, pretrained=False).eval()
        ours = vit_notes.create(name).eval()
        ours.load_state_dict(pvt.state_dict_from_timm(theirs.state_dict()), strict=True)
        return ours, theirs
    if name == "coatnet_0":
        # timm strides in the depthwise conv of a stage's first MBConv ("dw").
        theirs = timm.create_model("coatnet_0_224").eval()
        ours = coatnet.coatnet_0(stride_mode="dw").eval()
        coatnet.load_timm_state_dict(ours, theirs)
        return ours, theirs
    return vit_notes.create(name).eval(), None


@torch.no_grad()
def check(name: str, device: torch.device, atol: float) -> list[tuple[str, float, bool]]:
    ours, theirs = _timm_pair(name)
    x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    on_cpu = ours(x)
    ours_dev = copy.deepcopy(ours).to(device)
    xd = x.to(device)
    fused = ours_dev(xd)
    with record_attention(ours_dev):
        explicit = ours_dev(xd)
    scale = max(1.0, on_cpu.abs().max().item())
    rows = [
        ("device vs CPU", (fused.cpu() - on_cpu).abs().max().item()),
        ("fused vs explicit map", (fused - explicit).abs().max().item()),
    ]
    if theirs is not None:
        rows.insert(0, ("ours vs timm", (fused - theirs.to(device)(xd)).abs().max().item()))
    return [(what, d, d <= atol * scale) for what, d in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument(
        "--models",
        nargs="*",
        default=["pvt_tiny", "pvt_v2_b0", "pvt_v2_b2_li", "coatnet_0", "shunted_t"],
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(f"device: {device} ({what}), torch {torch.__version__}, inputs 2x3x{SIZE}x{SIZE}")
    ok = True
    for name in args.models:
        for pair, diff, good in check(name, device, args.atol):
            ok &= good
            print(f"{name:14s} {pair:22s} max |diff| {diff:.2e}  {'ok' if good else 'TOO LARGE'}")
    print("all equal within tolerance" if ok else "some differ beyond tolerance")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Argument checks shared by every module: bad input gets an error that names the argument,
what it got and what is allowed (with the one-line fix where there is one), instead of an
error from deep inside torch.

The input contract, the same for models, layers, cost functions and checkers:

* **Images and tokens** (:func:`tensor`, :func:`image`, :func:`tokens_match_grid`): a
  ``torch.Tensor`` of floating point, in the dtype of the module's weights (float32 unless the
  model was converted, e.g. ``model.double()``). Another float dtype (float64 from NumPy,
  float16) is *refused*, not cast: a silent cast would hide a precision change, and the fix is
  one call, ``x.float()``. uint8 images (PIL, ``torchvision.io``) are refused with the fix
  ``x.float() / 255``; bool and integer tensors with ``x.float()``; NumPy arrays with
  ``torch.from_numpy(x).float()``; nested lists with ``torch.tensor(x, dtype=torch.float32)``;
  a PIL image itself with ``torch.from_numpy(np.array(x)).permute(2, 0, 1).float() / 255``
  (:func:`pil_fix`).
* **Sizes, counts and ratios** (:func:`positive_int`, :func:`size`, :func:`number`): Python or
  NumPy integers (converted to Python ``int``, so that no count overflows), in a stated
  range; cost helpers refuse sides above :data:`MAX_SIDE` quickly. ``bool`` is not a number
  here. Text is refused with a ``TypeError`` that names the argument.
* **Constructor sizes** (:func:`width`, :func:`depth`, :func:`image_side`, :func:`kernel`,
  :func:`classes`, :func:`stages`): every size a model or layer is built with has an upper
  bound (:data:`MAX_CHANNELS`, :data:`MAX_DEPTH`, :data:`MAX_IMAGE`, :data:`MAX_KERNEL`,
  :data:`MAX_CLASSES`, :data:`MAX_STAGES`), so that a huge integer (``dim=10**5000``,
  ``depth=10**9``) gets a ``ValueError`` naming the argument, the value (its number of digits
  when it is huge) and the allowed range, instead of an error from inside torch or a loop
  that never ends. Each bound is several times the largest official configuration
  (tests/test_robust_bounds.py builds every one). The bounds are per argument: several large
  values together can still ask for more memory than the machine has.

* **Everything else** (issue 19's fuzz): lists of settings (:func:`nonempty_sequence`) are
  lists or tuples, not text, sets or generators, of at most :data:`MAX_ITEMS` entries
  (:data:`MAX_SETTINGS` where each builds a layer); pairs (:func:`grid`, :func:`pair`,
  :func:`cell`, :func:`fraction_pair`) are ordered pairs; numbers (:func:`number`) are finite
  unless a caller allows infinity; names and titles are text (:func:`text`); a photo for a
  figure is a float32 ``(3, H, W)`` CPU tensor of values in [0, 1] (:func:`photo`; a 0..255
  image is refused with the fix ``img / 255``); a tensor for a module is on its weights'
  device (:func:`tensor`'s ``device``); a figure's panel is a matplotlib ``Axes``
  (:func:`axes`), a point on it a pair of finite numbers (:func:`point`), a colour one
  matplotlib reads (:func:`colour`). Every message shows a value through :func:`shown`,
  which never raises, whatever the value (a 5,000-digit number, a broken repr), and leaves
  out a default repr's memory address.

A wrong *kind* of value raises :class:`InputTypeError`: a ``TypeError`` that is also a
``ValueError``, so that code written against the earlier ``ValueError`` still catches it. A
value of the right kind outside its range raises ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
import re
import sys

import numpy as np
import torch

#: The largest side (pixels or tokens) a cost helper accepts: far beyond any image a model
#: here can run (a 2^20-px side), small enough that every helper answers at once.
MAX_SIDE = 2**20

#: Channels of one layer (``dim``, ``embed_dim``, hidden widths; also ``num_heads``, since a
#: head has at least one channel). The widest official layer is CoAtNet-4's feed-forward, 4 x
#: 1536 = 6,144 channels; a ``Linear(dim, 3 * dim)`` at 2^15 already holds 3 x 2^30 weights
#: (12 GiB), more than a machine here can hold.
MAX_CHANNELS = 2**15
#: Weights of one attention layer (its q, k, v and output projections and its reduction conv,
#: :func:`layer_weights`): 2^28 entries, 1 GiB of float32. The widest official attention
#: layer (1,536 channels) holds 9.4 million; 2^15 channels would hold 2^32 (16 GiB).
MAX_LAYER_WEIGHTS = 2**28
#: Blocks in one stage. The deepest official stage is PVT v2-B5's third, 40 blocks (CoAtNet-4's
#: is 28); 1,000 is 25 times that and still builds in seconds at toy widths.
MAX_DEPTH = 1000
#: Stages of a pyramid. Every official model has 4 (CoAtNet's stem aside); each stage halves the
#: grid, so 8 stages of a 224-px image already end at a 1-token grid.
MAX_STAGES = 8
#: The image side (px) a model is built for. The largest official one is CoAtNet's 512 px
#: fine-tuning; at 4,096 px PVT v1's stage-1 position embedding is 1024² x 64 floats (256 MiB).
MAX_IMAGE = 4096
#: A patch, stride, padding or reduction ratio (a conv's kernel side). Official ones are at most
#: 8 (PVT's sr_ratio; ViT's patches are 16 and 32); a 64 x 64 kernel is already 4,096 weights
#: per input and output channel.
MAX_KERNEL = 64
#: Output classes. The largest official head is ImageNet-21k's 21,841 classes.
MAX_CLASSES = 100_000
#: The largest factor (in magnitude) that multiplies attention logits (a scale, an inverse
#: temperature, a sharpness): past it float32 logits overflow to infinity and the softmax
#: gives NaN. The usual scale is 1/sqrt(d), at most 1.
MAX_LOGIT_SCALE = 1e6


def digits(value: int) -> int:
    """The number of decimal digits of a whole number, without ``str`` (which refuses numbers
    of more than 4,300 digits). A stand-in for a longer typed number (see
    ``checking._exact_int``) gives the length that was typed."""
    typed = getattr(value, "typed_digits", None)
    if isinstance(typed, int):
        return typed
    value = abs(int(value))
    guess = max(1, int(value.bit_length() * 0.30102999566398120))
    while guess > 1 and value < 10 ** (guess - 1):
        guess -= 1
    while value >= 10**guess:
        guess += 1
    return guess


class InputTypeError(TypeError, ValueError):
    """A value of the wrong kind (text for a number, a NumPy array for a tensor, a uint8
    image): a ``TypeError``, and a ``ValueError`` too for code that catches that."""


def _kind(value) -> str:
    return type(value).__name__


#: The memory address that ends a default repr (``<... at 0x7f3a...>``): it says nothing to the
#: reader, differs each run, and would push the useful part past the cut.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>$")


def _pil_image(value) -> tuple[str, str] | None:
    """``(mode, description)`` of a PIL image (``"a PIL image (mode RGB, 32x32 px)"``), or
    ``None`` for anything else. Its repr would be cut before its size."""
    pil = sys.modules.get("PIL.Image")  # not imported: value cannot be a PIL image
    if pil is None or not isinstance(value, pil.Image):
        return None
    try:
        mode, (w, h) = str(value.mode)[:12], (int(value.size[0]), int(value.size[1]))
    except Exception:  # a broken or closed image: its kind is enough
        return "", "a PIL image"
    return mode, f"a PIL image (mode {mode}, {w}x{h} px)"


def _shown(value, limit: int = 40) -> str:
    """``repr(value)`` without a default repr's memory address, cut to ``limit`` characters (a
    PIL image described by its mode and size instead); never raises (a huge int, a broken
    repr)."""
    try:
        if isinstance(value, numbers.Integral) and abs(int(value)) >= 10**limit:
            return f"a {digits(value)}-digit number"
        pil = _pil_image(value)
        if pil is not None:
            return pil[1]
        text = _ADDRESS.sub(">", repr(value))
    except Exception:
        return f"a {_kind(value)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


shown = _shown  # for messages elsewhere in the package


def positive_int(
    name: str, value, *, minimum: int = 1, maximum: int | None = None, why: str = ""
) -> int:
    """Return ``value`` as a Python int, or raise if it is not an integer in
    ``[minimum, maximum]`` (``why``: the bound's reason, added to the message). NumPy integers
    are accepted (and converted, so that no count made from them overflows); text, floats and
    bools are a :class:`InputTypeError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = ""
        if isinstance(value, str):
            hint = f"; pass the number itself ({value.strip()}), not text"
        elif isinstance(value, float) and value.is_integer():
            hint = f"; pass {int(value)}, not {value!r}"
        raise InputTypeError(
            f"{name} must be an integer >= {minimum}, got {_shown(value)} ({_kind(value)}){hint}"
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_shown(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name}={_shown(value)} is too large: use an integer from {minimum} to at most "
            f"{maximum:,}" + (f" ({why})" if why else "")
        )
    return value


#: The largest seed a random generator takes (torch's and NumPy's accept 64-bit seeds).
MAX_SEED = 2**63 - 1


def seed(name: str, value) -> int:
    """A random seed: an integer in ``[0, MAX_SEED]``."""
    return positive_int(name, value, minimum=0, maximum=MAX_SEED, why="a 64-bit seed")


def timing(min_run_time, rounds) -> tuple[float, int]:
    """A timing's settings, checked up front (timed or not, so that a slip is refused before
    anything is built): ``min_run_time`` seconds in ``[0, 600]`` and ``rounds`` an integer in
    ``[1, 1000]``."""
    return (
        number("min_run_time", min_run_time, low=0.0, high=600.0),
        positive_int("rounds", rounds, maximum=1000, why="each round times every layer"),
    )


def width(name: str, value, *, minimum: int = 1) -> int:
    """A channel count (or head count) a layer is built with: an integer in
    ``[minimum, MAX_CHANNELS]`` (``minimum=0`` where 0 means "none")."""
    return positive_int(
        name,
        value,
        minimum=minimum,
        maximum=MAX_CHANNELS,
        why="the widest official layer has 6,144 channels",
    )


def depth(name: str, value) -> int:
    """Blocks in one stage: an integer in ``[1, MAX_DEPTH]``."""
    return positive_int(
        name, value, maximum=MAX_DEPTH, why="the deepest official stage has 40 blocks"
    )


def stages(name: str, value) -> int:
    """Stages of a pyramid: an integer in ``[1, MAX_STAGES]``."""
    return positive_int(name, value, maximum=MAX_STAGES, why="official pyramids have 4 stages")


def image_side(name: str, value) -> int:
    """The image side a model is built for: an integer in ``[1, MAX_IMAGE]``."""
    return positive_int(
        name, value, maximum=MAX_IMAGE, why="the largest official image is 512 px a side"
    )


def kernel(name: str, value, *, minimum: int = 1) -> int:
    """A patch size, stride, padding or reduction ratio: an integer in
    ``[minimum, MAX_KERNEL]``."""
    return positive_int(
        name, value, minimum=minimum, maximum=MAX_KERNEL, why="official ones are at most 16"
    )


def classes(name: str, value) -> int:
    """Output classes (0: no classifier): an integer in ``[0, MAX_CLASSES]``."""
    return positive_int(
        name, value, minimum=0, maximum=MAX_CLASSES, why="ImageNet-21k has 21,841 classes"
    )


def size(name: str, value, *, minimum: int = 1) -> int:
    """A side in pixels or tokens for a cost helper: an integer in ``[minimum, MAX_SIDE]``."""
    return positive_int(name, value, minimum=minimum, maximum=MAX_SIDE)


def number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a float in the stated range, or raise: text, ``None`` and bools are
    a :class:`InputTypeError`; NaN and values outside the range a ``ValueError``, and so are
    the infinities (and integers too large for a float, which would become one) unless
    ``finite=False``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = (
            f"; pass the number itself ({value.strip()}), not text"
            if isinstance(value, str)
            else ""
        )
        raise InputTypeError(f"{name} must be a number, got {_shown(value)} ({_kind(value)}){hint}")
    try:
        v = float(value)
    except OverflowError:
        v = math.inf if value > 0 else -math.inf
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if math.isnan(v) or not (lo_ok and hi_ok):
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high:g}")
        where = " and ".join(parts) if parts else "(not NaN)"
        raise ValueError(f"{name} must be a number {where}, got {_shown(value)}")
    if finite and math.isinf(v):
        raise ValueError(f"{name}={_shown(value)} is too large in magnitude: give a finite number")
    return v


def flag(name: str, value) -> bool:
    """An on/off switch: ``True`` or ``False`` (a NumPy bool is converted). Text such as
    ``"False"``, numbers and ``None`` are refused: ``bool("False")`` is ``True``, so taking
    their truth value would silently build the other model."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    hint = ""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        hint = f"; pass {value.strip().capitalize()}, not text"
    raise InputTypeError(
        f"{name} must be True or False, got {_shown(value)} ({_kind(value)}){hint}"
    )


def probability(name: str, value) -> float:
    """A dropout rate or other probability: a number in [0, 1] (:func:`number`)."""
    return number(name, value, low=0.0, high=1.0)


def attention_dropout(name: str, value) -> float:
    """A dropout rate that reaches the attention weights: a number in [0, 1).
    :func:`~vit_notes.attention.attend` refuses 1 (no weight would be kept), so a constructor
    refuses it first, under the name the student passed."""
    return number(name, value, low=0.0, high=1.0, high_open=True)


def tensor(
    name: str,
    x,
    *,
    dtype: torch.dtype | None = None,
    what: str = "a float tensor",
    device: torch.device | None = None,
):
    """Check that ``x`` is a floating-point ``torch.Tensor`` (of ``dtype``, the module's weights'
    dtype, and on ``device``, theirs, when given); else raise a :class:`InputTypeError` (a
    ``ValueError`` for the device) that says how to convert it."""
    if not isinstance(x, torch.Tensor):
        if type(x).__module__ == "numpy" and hasattr(x, "shape"):
            fix = f"torch.from_numpy({name}).float()"
            if str(getattr(x, "dtype", "")) == "uint8":
                fix = f"torch.from_numpy({name}).float() / 255"
            raise InputTypeError(
                f"{name} must be {what}, got a NumPy array of shape {tuple(x.shape)}; "
                f"convert it with {fix} (and move channels first if needed: .permute(2, 0, 1))"
            )
        if isinstance(x, (list, tuple)):
            raise InputTypeError(
                f"{name} must be {what}, got a {_kind(x)}; convert it with "
                f"torch.tensor({name}, dtype=torch.float32)"
            )
        pil_fix(name, x, what)
        raise InputTypeError(f"{name} must be {what}, got {_shown(x)} ({_kind(x)})")
    if x.dtype == torch.uint8:
        raise InputTypeError(
            f"{name} is a uint8 tensor (pixel values 0-255); the models take floats in [0, 1]: "
            f"use {name}.float() / 255"
        )
    if not x.is_floating_point():
        raise InputTypeError(
            f"{name} is a {x.dtype} tensor; the models take floats: use {name}.float()"
        )
    if dtype is not None and x.dtype != dtype:
        fix = {torch.float32: ".float()", torch.float64: ".double()", torch.float16: ".half()"}
        to = fix.get(dtype, f".to({dtype})")
        raise InputTypeError(
            f"{name} is {x.dtype} but the weights are {dtype}: use {name}{to} (it is not cast "
            "silently, since that changes the precision)"
        )
    if device is not None and x.device != torch.device(device):
        where = torch.device(device)
        meta = "meta" in (x.device.type, where.type)
        note = " (the meta device holds shapes only, no values)" if meta else ""
        raise ValueError(
            f"{name} is on the {x.device} device but the weights are on {where}: use "
            f"{name}.to('{where}'){note}"
        )
    return x


def pil_fix(name: str, x, what: str, *, batch: bool = False) -> None:
    """Refuse a PIL image where a tensor is expected, with the one line that converts it: the
    conversion :func:`~vit_notes.photo.load_photo` makes, to a float ``(3, H, W)`` tensor in
    [0, 1] (``batch``: a batch of one, ``(1, 3, H, W)``). Anything else passes."""
    pil = _pil_image(x)
    if pil is None:
        return
    mode, about = pil
    rgb = "" if mode == "RGB" else '.convert("RGB")'
    fix = f"torch.from_numpy(np.array({name}{rgb})).permute(2, 0, 1).float() / 255"
    if batch:
        fix = f"({fix})[None]"
    raise InputTypeError(f"{name} must be {what}, got {about}; convert it with {fix}")


def hidden_width(name: str, ratio, dim: int, *, built: bool = True) -> None:
    """Check that a ratio times a width (``mlp_ratio``, ``expand_ratio``) stays within
    :data:`MAX_CHANNELS` hidden channels and, where the feed-forward is ``built``, that its two
    ``dim x hidden`` weight matrices fit :data:`MAX_LAYER_WEIGHTS`; the lower bound is the
    caller's."""
    r = number(name, ratio, low=0.0, low_open=True)
    try:
        hidden = r * dim
    except OverflowError:  # a width too large for a float: far above the bound
        hidden = math.inf
    if hidden > MAX_CHANNELS:
        if not isinstance(dim, numbers.Integral) or dim > MAX_CHANNELS:
            raise ValueError(
                f"the width {_shown(dim)} that {name} multiplies is more than {MAX_CHANNELS:,} "
                "channels: use a smaller width"
            )
        raise ValueError(
            f"{name}={_shown(ratio)} gives {dim} x {name} = {hidden:.3g} hidden channels, more "
            f"than {MAX_CHANNELS:,}: use {name} <= {MAX_CHANNELS // dim} for a width of {dim} "
            "(official ratios are at most 8)"
        )
    if int(hidden) < 1:
        raise ValueError(
            f"{name}={_shown(ratio)} gives int({_shown(dim)} x {name}) = 0 hidden channels: "
            f"use {name} >= 1/{_shown(dim)}"
        )
    if built and 2 * dim * int(hidden) > MAX_LAYER_WEIGHTS:
        weights = 2 * dim * int(hidden)
        raise ValueError(
            f"{name}={_shown(ratio)} at width {dim} gives a feed-forward of {weights:,} weights "
            f"(two {dim}x{int(hidden)} linear layers), {weights * 4 / 2**30:,.0f} GiB of float32, "
            f"more than the {MAX_LAYER_WEIGHTS:,} allowed: use {name} <= "
            f"{MAX_LAYER_WEIGHTS / (2 * dim * dim):.3g} or a smaller width"
        )


def heads_divide(
    dim: int, num_heads: int, *, dim_name: str = "dim", heads_name: str = "num_heads"
) -> int:
    """Check that ``num_heads`` splits ``dim`` evenly; return the head size. The message uses
    the caller's names for the two (``dim_name``, ``heads_name``), such as ``C`` and ``heads``."""
    dim = width(dim_name, dim)
    num_heads = width(heads_name, num_heads)
    if dim % num_heads:
        raise ValueError(
            f"{dim_name}={dim} is not divisible by {heads_name}={num_heads}; "
            f"choose {heads_name} from the divisors of {dim}: {divisors(dim)}"
        )
    return dim // num_heads


def tokens_match_grid(x, H: int, W: int, extra: int = 0, *, dtype=None, device=None) -> None:
    """Check that a ``(B, N, C)`` float token tensor (of ``dtype``, when given: :func:`tensor`)
    holds ``H * W`` (+ ``extra``) tokens."""
    tensor("x", x, dtype=dtype, device=device, what="a float tensor of tokens (B, N, C)")
    if x.dim() != 3:
        raise ValueError(
            f"expected tokens of shape (B, N, C), got a tensor of shape {tuple(x.shape)}"
        )
    H, W = size("H", H), size("W", W)
    if x.shape[1] != H * W + extra:
        plus = f" + {extra} prefix token(s)" if extra else ""
        raise ValueError(
            f"x has N={x.shape[1]} tokens but H={H}, W={W} gives H*W{plus} = {H * W + extra}; "
            "pass the height and width of the token grid that x was flattened from"
        )


def attention_rows(name: str, row, keys: int) -> None:
    """Check ``row``, one query's attention weights over ``keys`` keys or several queries'
    rows (its last dimension the keys): finite, non-negative, each row summing to 1, as a
    softmax gives them. A count stated of them (a multiple of uniform) holds only then."""
    tensor(name, row, what="a tensor of attention weights")
    if not row.numel():
        raise ValueError(f"{name} holds no weights")
    if row.numel() != keys and (row.dim() < 2 or row.shape[-1] != keys):
        raise ValueError(
            f"{name} has shape {tuple(row.shape)}, but its key grid has {keys:,} keys: give "
            "one weight per key (a row, or one row per query in the last dimension)"
        )
    rows = row.detach().reshape(-1, keys).double()
    if not bool(torch.isfinite(rows).all()) or bool((rows < 0).any()):
        raise ValueError(
            f"{name} holds NaN, infinite or negative weights: give attention weights (a softmax)"
        )
    sums = rows.sum(-1)
    if not bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-3)):
        bad = float(sums[(sums - 1).abs().argmax()])
        raise ValueError(
            f"{name} has a row summing to {bad:.4g}, not 1: give attention weights, each "
            "query's row a softmax over the keys"
        )


def built_grid(what: str, built: tuple[int, int], H, W) -> None:
    """Refuse a token grid ``H x W`` other than the ``built`` one that a layer's mask and
    windows were made for (``what`` names the layer in the message)."""
    H, W = size("H", H), size("W", W)
    if (H, W) != tuple(built):
        raise ValueError(
            f"{what} was built for the {built[0]}x{built[1]} grid, got H={H}, W={W}: its "
            f"windows and shift mask fit that grid only; pass H={built[0]}, W={built[1]} or build "
            f"a layer with input_resolution=({H}, {W})"
        )


def feature_tokens(x, weight, H=None, W=None, *, leading: int | None = 2) -> None:
    """Check the input of a feed-forward (or a block) whose first layer has ``weight`` (a
    ``Linear``'s or a norm's: its last dimension is the channels): a float tensor of its dtype
    and device, ``(B, N, C)`` (``leading=None``: any leading dimensions), ``C`` its channels;
    with ``H`` and ``W``, ``N = H * W`` (:func:`tokens_match_grid`)."""
    what = "a float tensor of tokens (B, N, C)"
    tensor("x", x, dtype=weight.dtype, device=weight.device, what=what)
    if (x.dim() != leading + 1) if leading is not None else x.dim() < 1:
        raise ValueError(
            f"expected tokens of shape (B, N, C), got a tensor of shape {tuple(x.shape)}"
        )
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"x has {x.shape[-1]} channels but the layer was built for {weight.shape[-1]}: give "
            f"tokens of {weight.shape[-1]} channels"
        )
    if H is not None:
        tokens_match_grid(x, H, W, dtype=weight.dtype, device=weight.device)


def _same_kind(value, choice) -> bool:
    """Whether ``value`` is of ``choice``'s kind: a bool for a bool, an integer (Python or
    NumPy, not a bool) for an integer, a float (not an int) for a float, text for text, else
    the same type. ``1.0``, ``True`` or ``tensor(1)`` is not a control's ``1``."""
    if isinstance(choice, bool) or isinstance(value, bool):
        return isinstance(choice, bool) and isinstance(value, bool)
    if isinstance(choice, numbers.Integral):
        return isinstance(value, numbers.Integral)
    if isinstance(choice, float):
        return isinstance(value, float)
    if isinstance(choice, str):
        return isinstance(value, str)
    return type(value) is type(choice)


def offered(value, choices) -> bool:
    """Whether ``value`` is one of ``choices`` (a control's values) and of its kind
    (:func:`_same_kind`), so that it names the same state on the page; never raises."""
    for choice in choices:
        try:
            if _same_kind(value, choice) and bool(value == choice):
                return True
        except Exception:  # a broken ==, or one that is not one truth value
            continue
    return False


def one_of(name: str, value, allowed) -> None:
    """Raise unless ``value`` is one of ``allowed``, listing them. ``True`` and ``2.0`` equal
    ``1`` and ``2`` but are not integer choices; an unhashable value (or one whose ``==`` or
    hash raises) is simply not allowed."""
    try:
        ok = bool(value in allowed)
    except Exception:  # unhashable, or an object whose == or hash raises: not a choice
        ok = False
    if isinstance(value, (bool, float)) and not any(type(a) is type(value) for a in allowed):
        ok = False
    if not ok:
        try:
            choices = sorted(allowed)
        except TypeError:
            choices = sorted(allowed, key=repr)
        text = f"{name}={_shown(value)} is not allowed; choose one of {choices}"
        kinds = {type(a) for a in allowed}
        if not any(isinstance(value, k) and not isinstance(value, bool) for k in kinds):
            raise InputTypeError(f"{text} (got a {_kind(value)})")  # text for a number, say
        raise ValueError(text)


def same_length(num_stages: int, **sequences) -> None:
    """Check that every per-stage list has ``num_stages`` entries."""
    for name, seq in sequences.items():
        sequence(name, seq)
        if len(seq) != num_stages:
            raise ValueError(f"{name} has {len(seq)} entries but num_stages={num_stages}")


def sequence(name: str, value) -> None:
    """Check that ``value`` is a sequence (a per-stage list or tuple), not a single number (a
    0-d tensor or array has ``__len__`` but no length: it is refused too)."""
    try:
        sized = not isinstance(value, str) and len(value) >= 0
    except Exception:  # len() of a 0-d tensor or array raises a TypeError
        sized = False
    if not sized:
        got = f"{_shown(value)} ({_kind(value)})"
        if getattr(value, "ndim", None) == 0:  # one number in a tensor or array
            kind = "tensor" if isinstance(value, torch.Tensor) else "array"
            got = f"a 0-d {kind} ({_shown(value)}), one number: give a list"
        raise InputTypeError(f"{name} must be a list or tuple with one entry per stage, got {got}")


def nonempty(x) -> None:
    """Check that a map ``(..., H, W)`` has at least one row and one column."""
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(
            f"expected a map of at least 1x1, got {x.shape[-2]}x{x.shape[-1]} "
            f"(a tensor of shape {tuple(x.shape)})"
        )


def image(x, channels: int | None = None, *, dtype=None, name: str = "x", device=None) -> None:
    """Check that ``x`` is a batch of float images ``(B, C, H, W)`` (with ``channels``
    channels, of ``dtype`` when given: :func:`tensor`)."""
    want = "C" if channels is None else str(channels)
    what = f"a float tensor of images (B, {want}, H, W)"
    pil_fix(name, x, what, batch=True)
    tensor(name, x, dtype=dtype, device=device, what=what)
    if x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        one = x.dim() == 3 and (channels is None or x.shape[0] == channels)
        raise ValueError(
            f"expected images of shape (B, {want}, H, W), got a tensor of shape {tuple(x.shape)}"
            + (f"; for one image use {name}[None] (a batch of one)" if one else "")
        )


def instance(name: str, value, cls, fix: str = ""):
    """Return ``value`` if it is a ``cls`` (a class or a tuple of them); else raise a
    :class:`InputTypeError` naming ``name``, what it got and ``fix``."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise InputTypeError(
            f"{name} must be a {names}, got {_shown(value)} ({_kind(value)})"
            + (f"; {fix}" if fix else "")
        )
    return value


def _ordered(value) -> bool:
    """Whether ``value`` is an ordered sequence a pair or a list can be read from: a list, a
    tuple, a ``torch.Size`` or a one-dimensional NumPy array (not text, a set or a dict)."""
    if isinstance(value, (list, tuple, torch.Size)):
        return True
    return type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 1


def grid(name: str, value) -> tuple[int, int]:
    """A grid ``(H, W)``: a pair of sides, each in ``[1, MAX_IMAGE]``."""
    if not _ordered(value) or len(value) != 2:
        raise InputTypeError(
            f"{name} must be a pair (H, W) of integers, got {_shown(value)} ({_kind(value)})"
        )
    return image_side(f"{name}[0]", value[0]), image_side(f"{name}[1]", value[1])


def layer_configs(configs, fields: tuple[str, ...]):
    """A forward checker's configurations, each a tuple named by ``fields`` whose first four
    are ``(H, W, dim, heads)``: yields ``(i, config, (H, W, dim, heads))`` with those four
    checked (the rest is the caller's). ``configs`` is a non-empty list of at most 100; an
    empty list is the caller's to answer (``check_forward`` says no configuration was given)."""
    for i, config in enumerate(nonempty_sequence("configs", configs, limit=100)):
        if not _ordered(config) or len(config) != len(fields):
            raise InputTypeError(
                f"configs[{i}] must be ({', '.join(fields)}), got {_shown(config)}"
            )
        H, W = grid(f"configs[{i}][:2]", config[:2])
        dim = width(f"configs[{i}] dim", config[2])
        heads = width(f"configs[{i}] heads", config[3])
        heads_divide(dim, heads)
        yield i, config, (H, W, dim, heads)


#: The most entries a forward checker's configurations may ask for in all, summed over the
#: entries: per configuration its attention map (``heads x N x N_k``) or its tokens (``N x
#: dim``), whichever is more, plus the layer's weights and index tables (:func:`layer_weights`).
#: Each map is computed several times (the reference, the student's steps, and each known
#: mistake when a step differs), and every configuration's layer is built before the first
#: runs. The book's default configurations ask about 1,500,000.
MAX_FORWARD_WORK = 2**22


def layer_weights(dim: int, *, kernel: int = 0, tables: int = 0) -> int:
    """The entries of an attention layer built for ``dim`` channels: its q, k, v and output
    projections (``4 dim²``), a ``kernel x kernel`` reduction conv (``dim² kernel²``) where it
    has one, and ``tables`` entries of bias tables and position indices."""
    return 4 * dim * dim + dim * dim * kernel * kernel + tables


def attention_width(name: str, value, *, kernel: int = 0) -> int:
    """The width ``name`` of an attention layer (:func:`width`) whose weights
    (:func:`layer_weights`, with a ``kernel x kernel`` reduction conv where ``kernel`` > 0) fit
    :data:`MAX_LAYER_WEIGHTS`; the error names the largest width that fits."""
    dim = width(name, value)
    weights = layer_weights(dim, kernel=kernel)
    if weights > MAX_LAYER_WEIGHTS:
        largest = math.isqrt(MAX_LAYER_WEIGHTS // (4 + kernel * kernel))
        conv = f" and a {kernel}x{kernel} reduction conv" if kernel else ""
        raise ValueError(
            f"{name}={dim} gives the layer {weights:,} weights (four {dim}x{dim} projections"
            f"{conv}), {weights * 4 / 2**30:,.0f} GiB of float32, more than the "
            f"{MAX_LAYER_WEIGHTS:,} allowed: use {name} <= {largest:,} (the widest official "
            "attention layer has 1,536 channels)"
        )
    return dim


def weights_fit(name: str, value: int, count, what: str) -> int:
    """Refuse a width ``value`` of ``name`` (an int, already checked as a width) where
    ``count(value)``, the weights a layer built with it allocates, passes
    :data:`MAX_LAYER_WEIGHTS`, before anything is allocated; the message names ``what`` the
    weights are and the largest width that fits (``count`` must grow with the width)."""
    weights = count(value)
    if weights > MAX_LAYER_WEIGHTS:
        low, high = 0, value
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if count(mid) <= MAX_LAYER_WEIGHTS else (low, mid - 1)
        use = f"use {name} <= {low:,}" if low >= 1 else "use smaller settings"
        raise ValueError(
            f"{name}={value} gives {what} {weights:,} weights, {weights * 4 / 2**30:,.0f} GiB of "
            f"float32, more than the {MAX_LAYER_WEIGHTS:,} allowed: {use}"
        )
    return value


def feed_forward(in_features, hidden_features) -> tuple[int, int]:
    """The widths of a feed-forward ``Linear(in, hidden)``, ``Linear(hidden, in)``: each a
    :func:`width`, and their ``2 x in x hidden`` weights within :data:`MAX_LAYER_WEIGHTS`."""
    in_features = width("in_features", in_features)
    hidden_features = width("hidden_features", hidden_features)
    weights_fit(
        "hidden_features",
        hidden_features,
        lambda h: 2 * in_features * h,
        f"the feed-forward (two {in_features}x{hidden_features} linear layers)",
    )
    return in_features, hidden_features


def forward_work(i: int, config, entries: int, total: int, *, weights: int = 0) -> int:
    """``total`` plus configuration ``configs[i]``'s ``entries`` (its map or tokens) and
    ``weights`` (:func:`layer_weights`), or a ValueError naming it where the sum passes
    :data:`MAX_FORWARD_WORK`."""
    total += entries + weights
    if total > MAX_FORWARD_WORK:
        raise ValueError(
            f"configs[{i}] = {_shown(tuple(config))} brings the configurations to {total:,} "
            f"entries in all (attention maps or tokens, {entries:,} of them for this one, and "
            f"the layers' weights and tables, {weights:,} for this one), more than the "
            f"{MAX_FORWARD_WORK:,} the checker allows: each map is computed several times "
            "(the reference, your steps and each known mistake); use smaller grids, fewer "
            "channels, fewer heads, a smaller sr_ratio or fewer configurations"
        )
    return total


def layer_tokens(attn, cls, x, H: int, W: int, extra: int = 0) -> None:
    """Check a step-by-step replay's inputs: ``attn`` is a ``cls`` and ``x`` its ``(B, N, C)``
    tokens on an ``H x W`` grid (+ ``extra`` prefix tokens), of the layer's dtype, device and
    width ``attn.dim``."""
    instance("attn", attn, cls)
    tokens_match_grid(x, H, W, extra, dtype=attn.q.weight.dtype, device=attn.q.weight.device)
    if x.shape[-1] != attn.dim:
        raise ValueError(
            f"x has {x.shape[-1]} channels but attn was built for dim={attn.dim}: give tokens of "
            f"{attn.dim} channels"
        )


def pair(name: str, value, what: str = "(row, col)") -> tuple:
    """A pair ``what`` (a list or tuple of two entries), returned as a tuple; its entries are
    the caller's to check."""
    if not _ordered(value) or len(value) != 2:
        raise InputTypeError(f"{name} must be a pair {what}, got {_shown(value)} ({_kind(value)})")
    return tuple(value)


def cell(name: str, value, H: int, W: int) -> tuple[int, int]:
    """A cell ``(row, col)`` of an ``H x W`` grid: two integers, ``0 <= row < H`` and
    ``0 <= col < W`` (a negative index does not count from the end)."""
    out = []
    for axis, v, n in zip(("row", "column"), pair(name, value), (H, W)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InputTypeError(
                f"{name} must be a cell (row, col) of the {H}x{W} grid, two integers; its {axis} "
                f"is {_shown(v)} ({_kind(v)})"
            )
        if not 0 <= v < n:
            raise ValueError(
                f"{name} must be a cell (row, col) of the {H}x{W} grid: its {axis} {_shown(v)} is "
                f"not in [0, {n - 1}] (a negative index does not count from the end)"
            )
        out.append(int(v))
    return out[0], out[1]


def count_pair(name: str, value, *, maximum: int, what=("rows", "cols"), why: str = ""):
    """Two whole counts ``what`` (a ruling's rows and columns, say), each an integer in
    ``[1, maximum]`` (``why``: the bound's reason), returned as Python ints. The message names
    ``name``, the entry that is wrong, its value and the range."""
    allowed = f"two integers ({what[0]}, {what[1]}), each from 1 to {maximum:,}"
    allowed += f" ({why})" if why else ""
    out = []
    for axis, v in zip(what, pair(name, value, f"({what[0]}, {what[1]}) of integers")):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InputTypeError(f"{name} must be {allowed}, got {axis}={_shown(v)} ({_kind(v)})")
        if not 1 <= v <= maximum:
            raise ValueError(f"{name} must be {allowed}, got {axis}={_shown(v)}")
        out.append(int(v))
    return out[0], out[1]


def point(name: str, value, *, what: str = "(x, y)", low: float | None = None, high: float):
    """A point or extent ``what`` on a figure: a pair of finite numbers in ``[low, high]``
    (``low`` default ``-high``), returned as floats."""
    a, b = pair(name, value, f"{what} of numbers")
    low = -high if low is None else low
    return number(f"{name}[0]", a, low=low, high=high), number(f"{name}[1]", b, low=low, high=high)


def colour(name: str, value):
    """A colour matplotlib reads: a name (``"tab:blue"``), a hex code, a grey level as text
    (``"0.5"``) or an ``(r, g, b[, a])`` tuple in [0, 1]. Returned as given."""
    from matplotlib.colors import is_color_like

    try:
        ok = not isinstance(value, bool) and bool(is_color_like(value))
    except Exception:  # a huge int, a broken object: not a colour
        ok = False
    if not ok:
        text = (
            f"{name}={_shown(value)} is not a matplotlib colour: give a name such as "
            "'tab:blue', a hex code such as '#1f77b4', a grey level as text such as '0.5', "
            "or an (r, g, b) tuple of numbers in [0, 1]"
        )
        if isinstance(value, (str, tuple, list)):
            raise ValueError(text)
        raise InputTypeError(f"{text} (got a {_kind(value)})")
    return value


def axes(name: str, value):
    """A figure's panel: a matplotlib ``Axes`` (not ``None``, a Figure or an array of panels)."""
    from matplotlib.axes import Axes

    return instance(name, value, Axes, "pass one panel, e.g. ax from fig, ax = plt.subplots()")


def fraction_pair(name: str, value) -> tuple[float, float]:
    """A position ``(row, col)`` as fractions of an image, each in ``[0, 1)``."""
    row, col = pair(name, value, "(row, col) of fractions in [0, 1)")
    return (
        number(f"{name}[0] (the row)", row, low=0.0, high=1.0, high_open=True),
        number(f"{name}[1] (the column)", col, low=0.0, high=1.0, high_open=True),
    )


#: The most entries a list argument may hold (sizes, ratios, queries, configurations, ...):
#: each entry runs a computation, and the book's lists hold at most a few hundred.
MAX_ITEMS = 4096
#: The most ratios or sizes a list of them may hold where each builds and runs a layer.
MAX_SETTINGS = 64


def nonempty_sequence(name: str, value, *, limit: int = MAX_ITEMS) -> list:
    """A non-empty list or tuple (of sizes, ratios, ...) of at most ``limit`` entries,
    returned as a list. A set, a generator or text is refused: their order is not the
    caller's to rely on, or they can be read only once."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        raise InputTypeError(
            f"{name} must be a list or tuple, got {_shown(value)} ({_kind(value)})"
        )
    if not len(value):
        raise ValueError(f"{name} is empty: give at least one value")
    if len(value) > limit:
        raise ValueError(
            f"{name} has {len(value):,} entries, more than the {limit:,} allowed: each entry "
            "runs a computation; give fewer"
        )
    return list(value)


def text(name: str, value, *, allow_empty: bool = False) -> str:
    """A string (a title, a name, a column), else a :class:`InputTypeError`; an empty or
    blank one is a ``ValueError`` unless ``allow_empty``."""
    if not isinstance(value, str):
        raise InputTypeError(f"{name} must be a string, got {_shown(value)} ({_kind(value)})")
    if not allow_empty and not value.strip():
        raise ValueError(f"{name} is {_shown(value)}: give a non-empty string")
    return value


def figure_text(name: str, value, *, allow_empty: bool = False) -> str:
    """:func:`text` that a figure draws: where it holds a formula (``$...$``), the formula must
    parse as matplotlib's mathtext, or the figure would fail later, when it is drawn."""
    value = text(name, value, allow_empty=allow_empty)
    if "$" in value:
        from matplotlib import cbook
        from matplotlib.mathtext import MathTextParser

        # matplotlib draws each line of a text on its own, so each line is parsed alone (a
        # newline inside a formula would be drawn as a missing glyph)
        lines = [line for line in value.split("\n") if cbook.is_math_text(line)]
        try:
            for line in lines:
                MathTextParser("path").parse(line, 72)
        except Exception as e:  # a pyparsing error, told in its first lines
            where = " ".join(str(e).split())[:80]
            raise ValueError(
                f"{name}={_shown(value, 60)} has a formula that matplotlib cannot draw "
                f"({where}): finish the formula between the $ signs, or write \\$ for a "
                "dollar sign"
            ) from None
    return value


#: The most ``patch x patch`` tokens a photo may make for a query-map helper: a 512-px photo
#: in 4-px patches (the explorers' 224-px photo makes 3,136). Each map runs a layer over them
#: all, and the time grows with their square (about 2 s at this bound, 30 s at four times it).
MAX_PHOTO_TOKENS = 2**14


def photo(name: str, img, *, patch: int = 1, max_tokens: int | None = None):
    """An RGB image as the figures take it: a float tensor ``(3, H, W)`` on the CPU, with
    data (not the ``meta`` device), every value finite and in [0, 1] (a 0..255 image is refused
    with the fix ``img / 255``), at least ``patch`` pixels a side and,
    with ``max_tokens``, at most that many ``patch x patch`` tokens (checked before any value
    is read). Returned detached from any autograd graph (a figure draws values, not
    gradients)."""
    tensor(name, img, what="a float RGB image tensor (3, H, W)")
    if img.dim() != 3 or img.shape[0] != 3:
        one = img.dim() == 4 and img.shape[:2] == (1, 3)
        raise ValueError(
            f"{name} must be an RGB image of shape (3, H, W), got a tensor of shape "
            f"{tuple(img.shape)}" + (f"; for the one image of a batch use {name}[0]" if one else "")
        )
    if img.device.type == "meta":
        raise ValueError(
            f"{name} is on the meta device (shapes only, no values): give an image with values"
        )
    if img.device.type != "cpu":
        raise ValueError(
            f"{name} is on the {img.device.type} device; the figures draw from the CPU: "
            f"use {name}.cpu()"
        )
    if img.dtype != torch.float32:
        raise InputTypeError(
            f"{name} is {img.dtype}; the figures take float32 images in [0, 1], as "
            f"photo.load_photo gives them: use {name}.float()"
        )
    if img.shape[1] < patch or img.shape[2] < patch:
        raise ValueError(
            f"{name} is {img.shape[1]}x{img.shape[2]} px, smaller than one {patch}-px patch"
        )
    tokens = (img.shape[1] // patch) * (img.shape[2] // patch)
    if max_tokens is not None and tokens > max_tokens:
        raise ValueError(
            f"{name} is {img.shape[1]}x{img.shape[2]} px, {tokens:,} tokens of patch={patch} px; "
            f"the query maps take at most {max_tokens:,} tokens (a 512-px photo in 4-px "
            f"patches): resize {name} (photo.load_photo(size) gives one of any size) or use a "
            "larger patch"
        )
    img = img.detach()
    if not bool(torch.isfinite(img).all()):
        raise ValueError(f"{name} holds NaN or infinite values: give an image of finite values")
    low, high = (float(v) for v in torch.aminmax(img))
    if low < 0.0 or high > 1.0:
        if low >= -0.1 and high <= 1.1:  # a resize's overshoot, say
            fix = f"they are a little outside it: use {name}.clamp(0, 1)"
        elif low >= 0.0:
            fix = f"values above 1 look like 0..255 pixels: use {name} / 255"
        else:
            fix = (
                "values below 0 look like a normalised image: give the photo itself, as "
                "photo.load_photo gives it"
            )
        raise ValueError(
            f"{name} holds values from {low:g} to {high:g}; the figures take images in [0, 1], "
            f"as photo.load_photo gives them: {fix}"
        )
    return img


def nonempty_dict(name: str, value, source: str) -> dict:
    """A non-empty dict, as the function ``source`` returns it (maps of a figure, say)."""
    instance(name, value, dict, f"pass what {source} returns")
    if not value:
        raise ValueError(f"{name} is empty: pass what {source} returns")
    return value


def _table_number(where: str, v, *, positive: bool = False) -> None:
    """A table's number: a finite real (not a bool), greater than 0 where ``positive``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InputTypeError(f"{where} must be a number, got {_shown(v)} ({_kind(v)})")
    if not math.isfinite(float(v)) or (positive and not float(v) > 0):
        need = "a finite number > 0 (a time)" if positive else "a finite number"
        raise ValueError(
            f"{where} is {_shown(v)}: it must be {need}; pass the rows a table function of this "
            "chapter returns, or measure again"
        )


def rows(name: str, value, keys=(), *, needs: dict | None = None) -> list:
    """A table as the package's table functions return it: a non-empty list of dicts, each
    holding ``keys``, the numbers among them (those that are numbers in the first row) finite
    in every row, every timing (``ms``, where a row has one) a finite number > 0 and every
    ``ms_rounds`` a non-empty list of them; ``needs``: ``{key: values}`` that must each occur
    in some row (a table filtered to one variant lacks the others). Returns it as a list."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise InputTypeError(
            f"{name} must be a list of rows (dicts), as the table functions return, got "
            f"{_shown(value)} ({_kind(value)})"
        )
    if not value:
        raise ValueError(f"{name} is empty: give at least one row")
    bad = next((r for r in value if not isinstance(r, dict)), None)
    if bad is not None:
        raise InputTypeError(f"{name} must hold dicts, one per row, got a row {_shown(bad)}")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"{name} has {len(value):,} rows, more than the {MAX_ITEMS:,} allowed")
    numeric = [
        k for k in keys if k in value[0] and isinstance(value[0][k], numbers.Real)
    ]  # a bool is an int: a flag column is numeric, and checked as a number
    for i, row in enumerate(value):
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(
                f"{name}[{i}] lacks {missing}: pass the rows a table function of this chapter "
                f"returns (they have {', '.join(sorted(_shown(k) for k in row)[:8])})"
            )
        for k in numeric:
            if not isinstance(row[k], bool):
                _table_number(f"{name}[{i}][{k!r}]", row[k])
        if "ms" in row:
            _table_number(f"{name}[{i}]['ms']", row["ms"], positive=True)
        if "ms_rounds" in row:
            rounds = row["ms_rounds"]
            if not isinstance(rounds, (list, tuple)) or not rounds:
                raise ValueError(
                    f"{name}[{i}]['ms_rounds'] is {_shown(rounds)}: it must be a non-empty list "
                    "of each round's time; pass the rows a table function returns"
                )
            for j, t in enumerate(rounds):
                _table_number(f"{name}[{i}]['ms_rounds'][{j}]", t, positive=True)
    for key, wanted in (needs or {}).items():
        have = {row.get(key) for row in value}
        lacking = [w for w in wanted if w not in have]
        if lacking:
            raise ValueError(
                f"{name} has no row with {key} {', '.join(map(repr, lacking))}: this figure "
                f"compares {', '.join(map(repr, wanted))}; pass the whole table, not a part of it"
            )
    return list(value)


def layer_factory(name: str, value, *, allow_none: bool = False):
    """A layer class (or any callable that builds a layer from a width), such as
    ``nn.LayerNorm``; ``None`` where ``allow_none``."""
    if value is None and allow_none:
        return None
    if not callable(value) or isinstance(value, torch.nn.Module):
        raise InputTypeError(
            f"{name} must be a layer class such as torch.nn.LayerNorm (called with a width), "
            f"got {_shown(value)} ({_kind(value)})"
        )
    return value


def state_dict(name: str, state, source: str) -> dict:
    """A state_dict: a non-empty dict of tensors under string names (``source``: what to pass,
    for the message)."""
    nonempty_dict(name, state, f"{source}.state_dict()" if "(" in source else source)
    for k, v in state.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise InputTypeError(
                f"{name} must map parameter names to tensors, got {_shown(k)}: {_kind(v)}; "
                f"pass the state_dict of {source}"
            )
    return state


#: The largest batch a shapes-only helper (a schematic, a trace) takes.
MAX_BATCH = 2**20


def batch(name: str, value) -> int:
    """A batch size for a shapes-only helper: an integer in ``[1, MAX_BATCH]``."""
    return positive_int(name, value, maximum=MAX_BATCH, why="shapes only, but a bound all the same")


def divisors(n: int) -> list[int]:
    """The divisors of ``n``, to suggest a valid head count."""
    return [d for d in range(1, n + 1) if n % d == 0]

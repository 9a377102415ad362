"""The chapters' photo, and patch features whose similarities mean something.

The photo is Grace Hopper's portrait that ships inside matplotlib
(``mpl-data/sample_data/grace_hopper.jpg``), so nothing is downloaded.

Attention maps of an untrained network are noise. To get maps that mean something
without training, the chapters use *colour tokens*: each ``patch x patch`` patch
becomes a soft histogram of its pixels over a fixed palette of ``bins³`` colours,
normalised per token. With identity projections (q = k = v = token: each chapter's
``identity_*`` layer), a query attends to patches of similar colour, so a query on
the face lights up skin, one on the uniform lights up dark blue.
"""

from __future__ import annotations

import functools
import hashlib
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from matplotlib import cbook
from PIL import Image

from . import validate


def load_photo(size: int = 224) -> torch.Tensor:
    """Grace Hopper, centre-cropped to a square and resized: ``(3, size, size)`` in [0, 1]."""
    size = validate.positive_int(
        "size", size, minimum=8, maximum=4096, why="the photo is 4096 px at most, 48 MiB"
    )
    return _photo(size).clone()  # a copy: the cached one stays as loaded


@functools.lru_cache(maxsize=8)
def _photo(size: int) -> torch.Tensor:
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)
        top = (h - s) // 4  # keep the face: crop nearer the top than the centre
        im = im.crop(((w - s) // 2, top, (w - s) // 2 + s, top + s)).resize(
            (size, size), Image.BICUBIC
        )
        arr = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def palette(bins: int = 4) -> torch.Tensor:
    """The ``bins³`` colours of a regular RGB grid, ``(bins³, 3)`` in [0, 1]."""
    bins = validate.positive_int(
        "bins", bins, minimum=2, maximum=16, why="bins³ colours: 4,096 at 16"
    )
    levels = (torch.arange(bins, dtype=torch.float32) + 0.5) / bins
    return torch.cartesian_prod(levels, levels, levels)


def colour_tokens(img: torch.Tensor, patch: int = 4, bins: int = 4, sharpness: float = 60.0):
    """Tokens ``(1, N, bins³)`` and grid ``(H, W)`` of soft colour histograms of
    ``patch x patch`` patches.

    Each pixel votes for the palette colours with weights softmax(-sharpness·distance²);
    a token is its patch's mean vote, standardised (zero mean, unit variance per token)
    so dot products compare colour distributions. The last few images' tokens are kept
    (by content), so an explorer's moves do not compute them again.
    """
    patch = validate.kernel("patch", patch)
    img = validate.photo("img", img, patch=patch, max_tokens=validate.MAX_PHOTO_TOKENS)
    bins = validate.positive_int(
        "bins", bins, minimum=2, maximum=16, why="bins³ colours: 4,096 at 16"
    )
    sharpness = validate.number("sharpness", sharpness, low=0.0, high=validate.MAX_LOGIT_SCALE)
    if img.shape[1] % patch or img.shape[2] % patch:
        raise ValueError(
            f"image of {img.shape[1]}x{img.shape[2]} is not divisible by patch={patch}"
        )
    key = (
        hashlib.sha1(img.detach().cpu().contiguous().numpy().tobytes()).digest(),
        tuple(img.shape),
        patch,
        bins,
        float(sharpness),
    )
    if key not in _TOKENS:
        if len(_TOKENS) >= 8:
            _TOKENS.pop(next(iter(_TOKENS)))
        _TOKENS[key] = _colour_tokens(img, patch, bins, sharpness)
    tokens, grid = _TOKENS[key]
    return tokens.clone(), grid


_TOKENS: dict = {}


def _colour_tokens(img, patch, bins, sharpness):
    pal = palette(bins)
    pixels = rearrange(img, "c h w -> (h w) c")
    votes = torch.softmax(-sharpness * torch.cdist(pixels, pal) ** 2, dim=-1)
    votes = rearrange(votes, "(h w) k -> 1 k h w", h=img.shape[1])
    hist = F.avg_pool2d(votes, patch)
    H, W = hist.shape[2:]
    tokens = rearrange(hist, "1 k h w -> 1 (h w) k")
    tokens = (tokens - tokens.mean(-1, keepdim=True)) / (tokens.std(-1, keepdim=True) + 1e-6)
    return tokens, (H, W)


def query_index(grid: tuple[int, int], row: float, col: float) -> int:
    """Flat token index of the query at fractional position (``row``, ``col``) in [0, 1)."""
    H, W = validate.grid("grid", grid)
    row = validate.number("row", row, low=0.0, high=1.0, high_open=True)
    col = validate.number("col", col, low=0.0, high=1.0, high_open=True)
    return int(row * H) * W + int(col * W)


def _one_position(query_rc) -> bool:
    return (
        isinstance(query_rc, (tuple, list))
        and len(query_rc) == 2
        and all(isinstance(v, numbers.Real) for v in query_rc)
    )


def query_at(grid: tuple[int, int], query_rc) -> int | list[int]:
    """:func:`query_index` of one (row, col) fraction pair, or the list of them for a
    non-empty list of pairs (an explorer's grid of queries)."""
    if _one_position(query_rc):
        return query_index(grid, *validate.fraction_pair("query_rc", query_rc))
    if not isinstance(query_rc, (tuple, list)):
        raise validate.InputTypeError(
            f"query_rc must be a (row, col) pair of fractions in [0, 1), or a list of them, got "
            f"{validate.shown(query_rc)} ({type(query_rc).__name__})"
        )
    queries = validate.nonempty_sequence("query_rc", query_rc)
    return [query_index(grid, *validate.fraction_pair(f"query_rc[{i}]", rc))
            for i, rc in enumerate(queries)]  # fmt: skip


def nearby_queries(query_rc, step: float = 0.05, n: int = 3) -> list[tuple[float, float]]:
    """The ``n x n`` queries around ``query_rc`` (row, col fractions), ``step`` of the image
    apart, row by row, ``query_rc`` at the centre for an odd ``n``: a small, stated set of
    neighbours, to see whether one query's map is typical of its region. Each is rounded to 6
    decimals (0.3 + 0.05 is 0.35); a neighbour outside the image is refused."""
    if not isinstance(query_rc, (tuple, list)) or len(query_rc) != 2:
        raise ValueError(
            f"query_rc={validate.shown(query_rc)} must be one (row, col) pair of fractions"
        )
    row, col = (
        validate.number(name, v, low=0.0, high=1.0, high_open=True)
        for name, v in zip(("row", "col"), query_rc)
    )
    step = validate.number("step", step, low=0.0, low_open=True)
    n = validate.positive_int("n", n, maximum=100, why="n×n queries, 10,000 at 100")
    offsets = [(i - (n - 1) / 2) * step for i in range(n)]
    out = []
    for dr in offsets:
        for dc in offsets:
            r, c = round(row + dr, 6), round(col + dc, 6)
            for name, v in (("row", r), ("col", c)):
                if not 0.0 <= v < 1.0:
                    raise ValueError(
                        f"the neighbour at {name}={v:g} lies outside the image: use a smaller "
                        f"step than {step:g} or fewer than n={n} queries a side"
                    )
            out.append((r, c))
    return out


def repeat_for_heads(tokens: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, N, K)`` colour tokens -> ``(B, N, num_heads·K)``: one full copy per head, so that with
    identity projections every head compares whole colour histograms."""
    validate.tensor("tokens", tokens, what="a float tensor of colour tokens (B, N, K)")
    if tokens.dim() != 3:
        raise ValueError(
            f"tokens must be (B, N, K), as colour_tokens gives them with [None], got a tensor "
            f"of shape {tuple(tokens.shape)}"
        )
    num_heads = validate.width("num_heads", num_heads)
    return tokens.repeat(1, 1, num_heads)

"""Training and scoring the study's models: :func:`train` (seeded, deterministic on one machine,
with a progress bar) and :func:`evaluate` (accuracy on a fresh test set of any seed).

The recipe is the same for every model: AdamW, a one-cycle learning rate (warm-up from 1/25 of
the peak rate, then cosine decay; it also cycles AdamW's beta1 from 0.95 down to 0.85 at the
peak and back, see :data:`SCHEDULE`), batches of 64, fresh images every epoch (so no image is
seen twice and nothing is memorised), cross-entropy. Determinism: the weights come from
``seed`` (:func:`.models.build`), the images from seeds derived from it, the batch order from a
generator seeded by it, and PyTorch runs in deterministic mode. Two runs with the same seed on
the same machine, with the same number of threads, give the same weights bit for bit; another
machine or thread count may differ in the last bits, and after training in the last decimal of
the accuracy.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from .data import DETAIL, MAX_IMAGES, TRAIN_SEEDS, make_dataset, num_classes

#: The study's recipe: every shipped model was trained with these (see :mod:`.reproduce`).
RECIPE = dict(epochs=30, n=3000, batch_size=64, lr=3e-3, weight_decay=0.05)
#: The one-cycle schedule's warm-up: this share of the steps, then cosine decay to about zero.
WARMUP = 0.15
#: The one-cycle schedule as :func:`train` sets it: ``OneCycleLR``'s defaults, written out, except
#: the warm-up, :data:`WARMUP` where PyTorch's default ``pct_start`` is 0.3. The
#: rate starts at ``lr / div_factor``, rises to ``lr`` over :data:`WARMUP` of the steps, then
#: falls along a cosine to ``lr / div_factor / final_div_factor``. With ``cycle_momentum`` the
#: schedule also moves AdamW's beta1 the other way: from ``max_momentum`` down to
#: ``base_momentum`` at the peak rate, then back up.
SCHEDULE = dict(
    pct_start=WARMUP, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
    cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
)  # fmt: skip


def schedule(opt: torch.optim.Optimizer, lr: float, total_steps: int):
    """The learning-rate (and beta1) schedule of :func:`train`, on ``opt``: :data:`SCHEDULE`
    with peak rate ``lr`` over ``total_steps`` steps."""
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps, **SCHEDULE)


@dataclass
class TrainLog:
    """What a training run did: the mean loss of each epoch, its wall time (s) and settings."""

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        losses = validate.instance("losses", self.losses, list, "give a list of epoch losses")
        losses = list(losses)  # a copy: the caller's list stays as given
        for i, loss in enumerate(losses):
            if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
                raise validate.InputTypeError(
                    f"losses[{i}] must be a number (an epoch's mean loss), got "
                    f"{validate.shown(loss)} ({type(loss).__name__})"
                )
            try:
                losses[i] = float(loss)  # an int of 5,000 digits could not be printed
            except OverflowError:
                raise ValueError(
                    f"losses[{i}] = {validate.shown(loss)} is too large for a float: an epoch's "
                    "mean loss is a float (NaN or infinity where training diverged)"
                ) from None
        self.losses = losses
        self.seconds = validate.number("seconds", self.seconds, low=0.0)
        validate.instance("settings", self.settings, dict, "give the run's settings as a dict")


#: The most epochs :func:`train` runs (the recipe runs 30).
MAX_EPOCHS = 10_000


class Progress:
    """A one-line progress bar: redrawn in place in a notebook (one output, updated), with
    ``\\r`` in a terminal, and as one line per epoch in a log file."""

    def __init__(self, total: int, label: str = "", width: int = 24, enabled: bool = True):
        total = validate.positive_int("total", total, maximum=MAX_EPOCHS)
        width = validate.positive_int("width", width, maximum=200, why="one line of text")
        label = validate.text("label", label, allow_empty=True)
        enabled = validate.flag("enabled", enabled)
        self.total, self.label, self.width, self.enabled = total, label, width, enabled
        self.handle = None
        self.tty = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        if enabled:
            try:
                from IPython import get_ipython

                shell = get_ipython()
            except ImportError:
                shell = None
            if shell is not None and hasattr(shell, "kernel"):
                from IPython.display import Pretty, display

                self._pretty = Pretty
                self.handle = display(Pretty(self.text(0, "")), display_id=True)

    def _checked(self, done, note) -> tuple[int, str]:
        done = validate.positive_int(
            "done", done, minimum=0, maximum=self.total, why=f"the run has {self.total} steps"
        )
        return done, validate.text("note", note, allow_empty=True)

    def text(self, done: int, note: str) -> str:
        done, note = self._checked(done, note)
        filled = round(self.width * done / self.total)
        bar = "█" * filled + "·" * (self.width - filled)
        return f"{self.label} {bar} {done}/{self.total} {note}".strip()

    def update(self, done: int, note: str = "") -> None:
        done, note = self._checked(done, note)  # refused even where nothing is shown
        if not self.enabled:
            return
        line = self.text(done, note)
        if self.handle is not None:
            self.handle.update(self._pretty(line))
        elif self.tty:
            end = "\n" if done == self.total else ""
            print(f"\r{line}", end=end, flush=True)
        else:
            print(line, flush=True)


def train(
    model: nn.Module,
    seed: int = 0,
    epochs: int = RECIPE["epochs"],
    n: int = RECIPE["n"],
    batch_size: int = RECIPE["batch_size"],
    lr: float = RECIPE["lr"],
    weight_decay: float = RECIPE["weight_decay"],
    detail=DETAIL,
    task: str = "majority",
    progress: bool = True,
    label: str = "",
) -> TrainLog:
    """Train ``model`` in place on the Marks task, ``epochs`` epochs of ``n`` fresh images each,
    and return its :class:`TrainLog`.

    Seeded by ``seed``; deterministic on one machine with one thread count (it does not change
    the thread count: do that, if at all, before the first PyTorch call). ``progress`` draws a
    bar; ``label`` names the run on it.
    """
    seed = validate.seed("seed", seed)
    epochs = validate.positive_int("epochs", epochs, maximum=MAX_EPOCHS)
    n = validate.positive_int("n", n, maximum=MAX_IMAGES, why="each epoch's images are held")
    batch_size = validate.positive_int("batch_size", batch_size, maximum=MAX_IMAGES)
    lr = validate.number("lr", lr, low=0.0, low_open=True, high=10.0)  # the recipe's: 0.003
    weight_decay = validate.number("weight_decay", weight_decay, low=0.0, high=10.0)
    progress = validate.flag("progress", progress)
    label = validate.text("label", label, allow_empty=True)
    if not isinstance(model, nn.Module):
        raise validate.InputTypeError(
            f"model must be a torch.nn.Module, got {validate.shown(model)} "
            f"({type(model).__name__}); build one with models.build(name, task={task!r})"
        )
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than an epoch of n={n} images")
    steps_per_epoch = n // batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = schedule(opt, lr, epochs * steps_per_epoch)
    order = torch.Generator().manual_seed(seed)
    log = TrainLog(
        settings=dict(
            seed=seed, epochs=epochs, n=n, batch_size=batch_size, lr=lr,
            weight_decay=weight_decay, detail=list(detail) if isinstance(detail, tuple) else detail,
            task=task, threads=torch.get_num_threads(),
        )
    )  # fmt: skip
    bar = Progress(epochs, label, enabled=progress)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            data = make_dataset(n, TRAIN_SEEDS + 1000 * seed + epoch, detail=detail, task=task)
            if epoch == 0:  # before the first step: a model for another task is refused
                check_classes(model, task, data.images[:1])
            model.train()
            perm = torch.randperm(n, generator=order)
            total = 0.0
            for i in range(steps_per_epoch):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                loss = F.cross_entropy(model(data.images[idx]), data.labels[idx])
                if not math.isfinite(loss.item()):
                    raise FloatingPointError(f"the loss became {loss.item()} at epoch {epoch + 1}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item()
            log.losses.append(total / steps_per_epoch)
            elapsed = time.perf_counter() - start
            bar.update(epoch + 1, f"loss {log.losses[-1]:.3f}  {elapsed:.0f} s")
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        model.eval()
    log.seconds = time.perf_counter() - start
    return log


def check_classes(
    model: nn.Module, task: str, image: torch.Tensor, doing: str = "train it on its own task"
) -> None:
    """Raise unless ``model`` has one output per class of ``task`` (one forward pass of
    ``image``, in eval mode, without gradients): a 4-class model trained or scored on the
    2-class task would run without an error and give a meaningless loss or accuracy."""
    with torch.no_grad():
        classes = _scores(model.eval(), image, max(len(image), 1))[0].shape[-1]
    if classes != num_classes(task):
        raise ValueError(
            f"the model has {classes} outputs but task={task!r} has {num_classes(task)} classes; "
            f"{doing} (build it with task={task!r} to train one for this task)"
        )


def _scores(model: nn.Module, images: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """``model``'s outputs for ``images``, batch by batch; a module that does not take images
    (a Linear, say) raises torch's RuntimeError, answered here with what to build instead."""
    try:
        starts = range(0, len(images), batch_size) or [0]  # no images: one empty batch
        return [model(images[i : i + batch_size]) for i in starts]
    except RuntimeError as e:
        raise ValueError(
            f"model ({type(model).__name__}) could not classify images of shape "
            f"{tuple(images.shape)}: {validate.shown(str(e), 160)}; build one with "
            "models.build(name)"
        ) from None


@dataclass(frozen=True)
class Score:
    """Accuracy on one test set: overall, and per mark size (``by_detail``: px -> accuracy)."""

    accuracy: float
    by_detail: dict[int, float]
    n: int
    seed: int


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The model's class for each image (eval mode, no gradients)."""
    validate.instance("model", model, nn.Module, "build one with models.build(name)")
    validate.image(images, name="images")
    batch_size = validate.positive_int("batch_size", batch_size)
    model.eval()
    if not len(images):  # no images: no classes
        return torch.empty(0, dtype=torch.long)
    out = _scores(model, images, batch_size)
    if any(o.dim() != 2 for o in out):
        raise ValueError(
            f"model ({type(model).__name__}) must give (batch, classes) scores, got shape "
            f"{tuple(out[0].shape)}; build one with models.build(name)"
        )
    return torch.cat([o.argmax(1) for o in out])


def evaluate(
    model: nn.Module, seed: int = 0, n: int = 2000, detail=DETAIL, task: str = "majority"
) -> Score:
    """Score ``model`` on ``n`` fresh test images drawn from ``seed`` (small seeds never meet the
    training images: :data:`~.data.TRAIN_SEEDS`)."""
    validate.instance("model", model, nn.Module, "build one with models.build(name)")
    seed = validate.seed("seed", seed)
    if seed >= TRAIN_SEEDS:
        raise ValueError(
            f"seed={seed} is a training seed (>= {TRAIN_SEEDS:,}); test on a seed below it"
        )
    data = make_dataset(n, seed, detail=detail, task=task)
    check_classes(model, task, data.images[:1], doing="score it on its own task")
    right = (predict(model, data.images) == data.labels).float()
    by = {int(d): right[data.detail == d].mean().item() for d in data.detail.unique()}
    return Score(right.mean().item(), by_detail=by, n=n, seed=seed)

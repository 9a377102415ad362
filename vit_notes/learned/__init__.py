"""Chapter 4, a small study on an easy task: small models of each family trained in the book, their
accuracy beside their cost, and what this design can and cannot say about the attention.
Builds on :mod:`vit_notes.pvt`, :mod:`vit_notes.coatnet` and :mod:`vit_notes.shunted` (their
classes, with small configurations).

:mod:`.data` the Marks dataset (:func:`make_dataset`), :mod:`.models` the study's models,
:mod:`.train` training and scoring (:func:`train`, :func:`evaluate`), :mod:`.reproduce` the
command that trains every model and writes the shipped weights and results, :mod:`.shipped`
reading them (:func:`load`, :func:`load_results`, :func:`caption`), :mod:`.stats` intervals
over training seeds, :mod:`.figures`
the chapter's pictures, :mod:`.exercises` its checkers. For the redesign of issue 23 (not yet
in the chapter): :mod:`.pairs` the Pairs task, which needs selection, and :mod:`.backbone` one
backbone whose attention layer is the only switch, :mod:`.study` the multi-seed runner
(``python -m vit_notes.learned.study``; early pilot: ``bench/study_pilot.py``).

The study's models carry no paper facts, so they are not registered in the family registry;
the chapter registers its Design for the book's layout, not for the comparison chapter.
"""

from .. import registry
from .data import COLOURS, DETAIL, IMG_SIZE, SHAPES, TRAIN_SEEDS, Marks, make_dataset, render_shape
from .exercises import (
    check_chance_level,
    check_higher,
    check_prediction,
    check_query_token,
    check_test_size,
)
from .figures import (
    learned_explorer,
    learned_query_maps,
    plot_accuracy_vs_cost,
    plot_accuracy_vs_detail,
    plot_losses,
    query_token,
    show_examples,
    toy_query_maps,
)
from .models import CONTROLS, MODELS, STUDY, StudyModel, build
from .shipped import RESULTS, RETRAIN_TOLERANCE, WEIGHTS, caption, load, load_results
from .stats import Interval, mean_interval, paired_difference, unpaired_difference
from .train import RECIPE, SCHEDULE, WARMUP, Progress, Score, TrainLog, evaluate, predict, train


def _query_panels(img, query_rc):
    """The trained PVT models' stage-1 maps of one query, at each ratio (shipped weights)."""
    return learned_query_maps(img, query_rc)


registry.register_design(
    registry.Design(
        family="learned",
        title="Small models on an easy task",
        order=4,
        layers={},
        query_panels=_query_panels,
        compared=False,
        explorers=(learned_explorer,),
        teaching=registry.Teaching(
            name="the study chapter",
            explorer_section="section 6",
            explorer_controls="a test image, `sr_ratio` and the query.",
            predict="ex-learned-predict",
            prediction="works against its shipped results",
            judgement="ex-learned-judge",
            question=(
                "whether the shipped runs show the control without attention above or below "
                "pvt_full at 3 pixels"
            ),
        ),
    )
)

__all__ = [
    "learned_explorer",
    "COLOURS",
    "DETAIL",
    "IMG_SIZE",
    "Marks",
    "Progress",
    "RECIPE",
    "WARMUP",
    "SCHEDULE",
    "RESULTS",
    "RETRAIN_TOLERANCE",
    "SHAPES",
    "STUDY",
    "CONTROLS",
    "MODELS",
    "Score",
    "StudyModel",
    "TRAIN_SEEDS",
    "TrainLog",
    "WEIGHTS",
    "build",
    "caption",
    "check_chance_level",
    "check_higher",
    "check_prediction",
    "check_query_token",
    "check_test_size",
    "evaluate",
    "Interval",
    "learned_query_maps",
    "mean_interval",
    "paired_difference",
    "unpaired_difference",
    "load",
    "load_results",
    "make_dataset",
    "plot_accuracy_vs_cost",
    "plot_accuracy_vs_detail",
    "plot_losses",
    "predict",
    "query_token",
    "render_shape",
    "show_examples",
    "toy_query_maps",
    "train",
]

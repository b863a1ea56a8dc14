"""course_utils: the helper package of the batch205 course.

Every name a lesson imports is listed in ``__all__``, grouped by the lesson that first imports it;
the names no lesson imports form the last group, the tools. The API-contract tests
(``tests/test_packaging.py``) check that each name exists and carries a docstring, that every lesson
imports only these names, and that each sits in its lesson's group. Import from ``course_utils``
itself, not from its modules.
"""

import importlib

from .checks import (
    bisection_answers,
    bisection_ends,
    central_differences,
    check_adam_update,
    check_diagnosis,
    check_epsilon_breaking_batch_size,
    check_fading_gap_prediction,
    check_failing_batch_size_prediction,
    check_failing_batch_size_search,
    check_first_loss,
    check_fixed_setup,
    check_gradient_norm,
    check_logsumexp,
    check_matching_learning_rate,
    check_naive_cross_entropy,
    check_naive_gradient,
    check_small_batch_learning_rate,
    check_softmax,
    check_stable_loss_and_gradient,
    check_survivor_prediction,
    check_survivors,
)
from .data import (
    DataError,
    MnistData,
    fetch_mnist,
    full_mnist_present,
    load_mnist,
    read_idx,
)
from .diagnostics import (
    GapCurves,
    GradientTrace,
    StepTrace,
    batch_gradient_norm,
    gradient_norm,
    logit_gap,
    losses_by_gap,
    trace_gradients,
    trace_many,
    trace_steps,
)
from .fidelity import PYTORCH_RECORDS, TENSORFLOW_RECORDS, pytorch_record, tensorflow_record
from .lesson_settings import (
    CAPSTONE_SETUP,
    DIAGNOSES,
    EVIDENCE,
    GAP_TOLERANCE,
    MATCH_SUM,
    PREDICTION_LEARNING_RATE,
    SAFE_STEP,
    SMALL_BATCH,
    SMALL_BATCH_ACCURACY,
    SURVIVAL_SETTING,
)
from .linear import SUMMATIONS
from .model import (
    DTYPES,
    LOSSES,
    REDUCTIONS,
    FloatLimits,
    LossAndGradient,
    float_limits,
    loss_and_gradient,
    predict,
    softmax,
)
from .multirun import train_many
from .optimizers import (
    OPTIMIZERS,
    Adagrad,
    Adam,
    Ftrl,
    GradientDescent,
    Momentum,
    RMSProp,
    steady_step,
)
from .spread import Spread, accuracy_spreads
from .sweeps import (
    failing_batch_sizes,
    first_failing_batch_size,
    fix_grid,
    phase_grid,
    run_configs,
    scan_to_first_failure,
    smallest_failing_batch_size,
    sweep,
    sweep_together,
)
from .training import StepRecord, TrainConfig, TrainResult, batch_indices, run, train

# isort: split
# --- lesson 09: low precision ---
from .checks import check_float16_gap_prediction, check_scaled_weight_gradient
from .diagnostics import PrecisionTrace, trace_precision
from .model import dtype_sum, smallest_normal
from .training import GROWTH_INTERVAL, LossScaler

# The figures and the explorers are imported on first use: they load matplotlib and ipywidgets,
# which the command line and a graded student's worker (classroom.grade_worker) do not need.
_ON_FIRST_USE = {
    "plots": (
        "add_figure_legend",
        "format_outcome_table",
        "plot_accuracy_and_loss_by_variant",
        "plot_accuracy_by_variant",
        "plot_accuracy_vs_batch_size",
        "plot_batch_size_learning_rate",
        "plot_causal_chain",
        "plot_digits",
        "plot_failing_pattern",
        "plot_gradient_norms",
        "plot_gradient_trace",
        "plot_largest_logit_gap",
        "plot_logit_gap_traces",
        "plot_logit_gaps",
        "plot_loss_curves",
        "plot_loss_per_example",
        "plot_loss_vs_examples",
        "plot_optimizer_run",
        "plot_outcome_matrix",
        "plot_outcomes_by_batch_size",
        "plot_phase_diagrams",
        "plot_weight_images",
    ),
    "widgets": (
        "epsilon_explorer",
        "failure_explorer",
        "fix_explorer",
        "gradient_scaling_explorer",
        "logit_gap_explorer",
        "mean_reduction_explorer",
        "optimizer_explorer",
        "tutorial_explorer",
        "precision_explorer",
    ),
}


def __getattr__(name: str):
    for module, names in _ON_FIRST_USE.items():
        if name in names:
            value = getattr(importlib.import_module(f".{module}", __name__), name)
            globals()[name] = value  # once imported, an attribute like the others
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    # Grouped by the lesson that first imports each name (tests/test_packaging.py checks it).
    # lesson 01 (01-naive-tutorial): the tutorial rebuilt in numpy
    "load_mnist",
    "train",
    "batch_indices",
    "predict",
    "plot_digits",
    "plot_weight_images",
    "plot_loss_curves",
    "tutorial_explorer",
    "central_differences",
    "check_softmax",
    "check_naive_cross_entropy",
    "check_naive_gradient",
    # lesson 02 (02-the-failure): sweeps, the ragged band, NaN forensics
    "MnistData",
    "sweep",
    "failing_batch_sizes",
    "smallest_failing_batch_size",
    "scan_to_first_failure",
    "float_limits",
    "plot_accuracy_vs_batch_size",
    "plot_causal_chain",
    "plot_failing_pattern",
    "plot_largest_logit_gap",
    "failure_explorer",
    "check_first_loss",
    "check_failing_batch_size_search",
    "bisection_answers",
    # lesson 03 (03-gradient-scaling): the summed gradient grows with B
    "softmax",
    "trace_steps",
    "trace_many",
    "TrainConfig",
    "run_configs",
    "batch_gradient_norm",
    "phase_grid",
    "plot_gradient_norms",
    "plot_logit_gap_traces",
    "plot_outcomes_by_batch_size",
    "plot_batch_size_learning_rate",
    "gradient_scaling_explorer",
    "check_gradient_norm",
    "check_failing_batch_size_prediction",
    "PREDICTION_LEARNING_RATE",
    # lesson 04 (04-mean-reduction)
    "add_figure_legend",
    "plot_loss_vs_examples",
    "mean_reduction_explorer",
    "MATCH_SUM",
    "SMALL_BATCH",
    "SMALL_BATCH_ACCURACY",
    "check_matching_learning_rate",
    "check_small_batch_learning_rate",
    # lesson 05 (05-epsilon): epsilon and clipping
    "loss_and_gradient",
    "trace_gradients",
    "losses_by_gap",
    "plot_accuracy_by_variant",
    "plot_gradient_trace",
    "epsilon_explorer",
    "check_fading_gap_prediction",
    "check_epsilon_breaking_batch_size",
    "accuracy_spreads",
    # lesson 06 (06-stable-logits)
    "plot_loss_per_example",
    "plot_accuracy_and_loss_by_variant",
    "logit_gap_explorer",
    "check_logsumexp",
    "check_stable_loss_and_gradient",
    # lesson 07 (07-optimizers)
    "SAFE_STEP",
    "steady_step",
    "check_survivor_prediction",
    "OPTIMIZERS",
    "SURVIVAL_SETTING",
    "format_outcome_table",
    "plot_outcome_matrix",
    "plot_logit_gaps",
    "optimizer_explorer",
    "check_adam_update",
    "check_survivors",
    # lesson 08 (08-capstone): the fix matrix
    "CAPSTONE_SETUP",
    "DIAGNOSES",
    "EVIDENCE",
    "fix_grid",
    "plot_optimizer_run",
    "plot_phase_diagrams",
    "fix_explorer",
    "check_diagnosis",
    "check_fixed_setup",
    # lesson 09: low precision
    "DTYPES",
    "check_float16_gap_prediction",
    "check_scaled_weight_gradient",
    "dtype_sum",
    "precision_explorer",
    "smallest_normal",
    "sweep_together",
    "trace_precision",
    # lesson 10 (10-appendix): the proof, against TensorFlow, PyTorch and other summation orders
    "SUMMATIONS",
    "TENSORFLOW_RECORDS",
    "PYTORCH_RECORDS",
    "tensorflow_record",
    "pytorch_record",
    "train_many",
    # tools: used by no lesson; for scripts, tests, instructors and the curious
    "bisection_ends",
    "GAP_TOLERANCE",
    #   loss scaling as the training core does it, and what trace_precision returns
    "GROWTH_INTERVAL",
    "LossScaler",
    "PrecisionTrace",
    #   full MNIST on request (`python -m course_utils fetch-data`), and the IDX reader
    "fetch_mnist",
    "full_mnist_present",
    "read_idx",
    "DataError",
    #   a run's settings and their choices; a run from a TrainConfig (benchmarks, scripts)
    "LOSSES",
    "REDUCTIONS",
    "run",
    #   the records that the lessons' functions return (for help() and isinstance)
    "TrainResult",
    "StepRecord",
    "StepTrace",
    "GradientTrace",
    "GapCurves",
    "FloatLimits",
    "LossAndGradient",
    "Spread",
    #   what trace_steps measures per step
    "gradient_norm",
    "logit_gap",
    #   the optimizers as classes (lessons name them by their OPTIMIZERS keys)
    "GradientDescent",
    "Momentum",
    "Adagrad",
    "RMSProp",
    "Adam",
    "Ftrl",
    #   deprecated old names (issue 24), kept for learners' copies of older lessons: they warn
    "first_failing_batch_size",
]
__version__ = "0.1.0"

"""course_utils: the helper package of the batch205 course.

Every name a lesson imports is listed in ``__all__``; an API-contract test checks that each one
exists and carries a docstring. Import from ``course_utils`` itself, not from its modules.
"""

from .data import (
    MNIST_FILES,
    MNIST_MIRRORS,
    DataError,
    MnistData,
    data_dir,
    fetch_mnist,
    full_mnist_present,
    load_mnist,
    read_idx,
)
from .model import (
    DTYPES,
    LOSSES,
    REDUCTIONS,
    FloatLimits,
    LossAndGradient,
    float_limits,
    flush_subnormals,
    loss_and_gradient,
    predict,
    softmax,
)
from .optimizers import OPTIMIZERS, GradientDescent
from .sweep import failing_batch_sizes, phase_grid, smallest_failing_batch_size, sweep
from .training import StepRecord, TrainConfig, TrainResult, batch_indices, run, train

__all__ = [
    "DTYPES",
    "LOSSES",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "OPTIMIZERS",
    "REDUCTIONS",
    "DataError",
    "FloatLimits",
    "GradientDescent",
    "LossAndGradient",
    "MnistData",
    "StepRecord",
    "TrainConfig",
    "TrainResult",
    "batch_indices",
    "data_dir",
    "fetch_mnist",
    "float_limits",
    "flush_subnormals",
    "failing_batch_sizes",
    "full_mnist_present",
    "load_mnist",
    "loss_and_gradient",
    "phase_grid",
    "predict",
    "read_idx",
    "run",
    "smallest_failing_batch_size",
    "softmax",
    "sweep",
    "train",
]
__version__ = "0.1.0"

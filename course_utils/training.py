"""The training loop of the 2015 tutorial, in numpy, and the record of one run.

``train`` runs ``steps`` steps of TensorFlow-style ``next_batch``, loss, gradient and update. It
never raises on NaN: it records every loss, the first step at which something became non-finite
and what it was, and the final test accuracy (non-finite predictions count as wrong).

Introduced in lesson 01; the failure it records is the subject of lesson 02.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

import numpy as np
from threadpoolctl import threadpool_limits

from .data import MnistData
from .linear import SUMMATIONS, default_summation, logits_of, weight_gradients
from .model import (
    DEFAULT_EPSILON,
    DTYPES,
    LOSSES,
    REDUCTIONS,
    LossAndGradient,
    loss_and_gradient,
    predict,
    require_choice,
)
from .optimizers import OPTIMIZERS

# Stages of one step, in the order they are computed; ``first_nonfinite`` names one of them.
STAGES = ("logits", "loss", "gradient", "weights")


# How course_utils.multirun may share work between runs that differ in a setting. A setting with
# neither mark is safe by default: runs that differ in it are trained apart (in other groups).
PER_RUN = {"stacking": "per run"}  # one value per run inside a stack: the optimizer takes an array
PER_STACK = {"stacking": "per stack"}  # read by the step only: runs differing in it share batches


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (together with the data and its order).

    This is the one list of a run's settings and their defaults. The arguments of :func:`train`
    and :func:`~course_utils.sweep.sweep` are these fields with these defaults (spelled out there
    for tab completion; ``tests/test_config.py`` checks that they match), and the sweep table's
    columns, the run cache's key and the grouping of :mod:`~course_utils.multirun` are read from
    them. A string setting names its allowed values in ``choices`` (checked here; they size its
    sweep column).
    """

    batch_size: int = 100
    learning_rate: float = field(default=0.01, metadata=PER_RUN)
    steps: int = 1000
    loss: str = field(default="naive", metadata={"choices": LOSSES, **PER_STACK})
    reduction: str = field(default="sum", metadata={"choices": REDUCTIONS, **PER_STACK})
    dtype: str = field(default="float32", metadata={"choices": DTYPES})
    seed: int = 0
    epsilon: float = field(default=DEFAULT_EPSILON, metadata=PER_STACK)
    flush_subnormals: bool = field(default=True, metadata=PER_STACK)
    optimizer: str = field(default="gradient_descent", metadata={"choices": OPTIMIZERS, **PER_STACK})
    # The order in which the linear layer's float32 sums are added (course_utils.linear): the
    # BLAS's own, or in halves, to see how far another CPU's last bits move a run. None (the
    # default) becomes $BATCH205_SUMMATION or "blas" when the config is made.
    summation: str | None = field(default=None, metadata={"choices": SUMMATIONS})

    def __post_init__(self) -> None:
        if self.summation is None:
            object.__setattr__(self, "summation", default_summation())
        require_positive_int("batch_size", self.batch_size)
        require_positive_int("steps", self.steps)
        require_positive_real("learning_rate", self.learning_rate)
        require_positive_real("epsilon", self.epsilon)
        for setting in fields(self):
            if "choices" in setting.metadata:  # require_choice also turns np.float32 into "float32"
                value = require_choice(
                    setting.name, getattr(self, setting.name), setting.metadata["choices"]
                )
                object.__setattr__(self, setting.name, value)
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise TypeError(f"seed={self.seed!r} is not valid; it must be an integer")


SETTINGS = tuple(setting.name for setting in fields(TrainConfig))  # in their order


@dataclass(frozen=True, repr=False)
class TrainResult:
    """What one run produced. ``losses[k]`` is the loss of step ``k`` (0-based), before its update."""

    config: TrainConfig
    losses: np.ndarray
    first_nonfinite_step: int | None
    first_nonfinite: str | None
    test_accuracy: float
    weights: np.ndarray = field(compare=False)
    bias: np.ndarray = field(compare=False)
    data_name: str = ""

    @property
    def went_nonfinite(self) -> bool:
        """True if some value became NaN or infinite during training.

        Not "diverged": an overshooting run diverges, but a run that was learning can also go NaN
        from ``0 * log(0)`` once a probability underflows to 0 (lesson 08 tells the two apart).
        """
        return self.first_nonfinite_step is not None

    def __repr__(self) -> str:
        c = self.config
        outcome = (
            "all finite"
            if self.first_nonfinite_step is None
            else f"first non-finite {self.first_nonfinite} at step {self.first_nonfinite_step}"
        )
        return (
            f"TrainResult(batch_size={c.batch_size}, learning_rate={c.learning_rate}, "
            f"loss={c.loss!r}, reduction={c.reduction!r}, dtype={c.dtype!r}, steps={c.steps}: "
            f"test_accuracy={self.test_accuracy:.4f}, {outcome})"
        )


def require_positive_int(name: str, value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not valid; it must be a whole number >= 1")
    if value < 1:
        raise ValueError(f"{name}={value!r} is not valid; it must be >= 1")
    return int(value)


def require_positive_real(name: str, value) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not valid; it must be a positive finite number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} is not valid; it must be a positive finite number")
    return float(value)


def require_batch_fits(batch_size: int, num_examples: int) -> None:
    if batch_size > num_examples:
        raise ValueError(
            f"batch_size={batch_size} is not valid; it must be between 1 and the number of "
            f"training examples, {num_examples}"
        )


def batch_indices(num_examples: int, batch_size: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Indices of successive batches, as TensorFlow's 2015 ``DataSet.next_batch`` chose them.

    The first epoch runs through the data in stored order. When the next batch would run past the
    end, the tail is dropped, the order is reshuffled (seeded) and the batch starts from the top.

    Examples
    --------
    >>> batches = batch_indices(5, 2)
    >>> [next(batches).tolist() for _ in range(2)]
    [[0, 1], [2, 3]]
    """
    require_batch_fits(batch_size, num_examples)
    rng = np.random.default_rng(seed)
    order = np.arange(num_examples)
    start = 0
    while True:
        if start + batch_size > num_examples:
            # TensorFlow permuted its arrays in place, so shuffles compose: order = order[perm].
            order = order[rng.permutation(num_examples)]
            start = 0
        yield order[start : start + batch_size]
        start += batch_size


@dataclass(frozen=True)
class StepRecord:
    """What one training step computed, handed to an ``observe`` callback of :func:`train`.

    The arrays are the loop's own (``weights`` and ``bias`` after the update): copy what you keep.
    Introduced in lesson 02.
    """

    step: int
    batch: np.ndarray  # indices into the training set
    logits: np.ndarray
    probabilities: np.ndarray
    loss: np.floating
    grad_logits: np.ndarray
    grad_weights: np.ndarray
    grad_bias: np.ndarray
    weights: np.ndarray
    bias: np.ndarray


def train_step(
    x: np.ndarray,
    onehot: np.ndarray,
    params: list[np.ndarray],
    optimizer,
    state,
    config: TrainConfig,
    *,
    logits_of=logits_of,
    weight_gradients=weight_gradients,
) -> tuple[np.ndarray, LossAndGradient, list[np.ndarray]]:
    """One step on a batch: logits, loss and their gradient, parameter gradients, the update.

    ``params`` are ``[weights, bias]``, updated in place: of one run, shapes (784, 10) and (10,),
    or of a stack of runs that share ``config`` but for the learning rate (the optimizer's, one per
    run), shapes (runs, 784, 10) and (runs, 1, 10), as :mod:`~course_utils.multirun` trains them.
    ``logits_of`` and ``weight_gradients`` are the linear layer's (the stacked trainer passes ones
    with the same bits, faster for stacks). Returns ``(logits, loss and gradient, [dW, db])``.
    """
    weights, bias = params
    with np.errstate(over="ignore", invalid="ignore"):
        logits = logits_of(x, weights, bias, config.summation)
    result = loss_and_gradient(
        logits,
        onehot,
        loss=config.loss,
        reduction=config.reduction,
        epsilon=config.epsilon,
        flush=config.flush_subnormals,
    )
    with np.errstate(over="ignore", invalid="ignore"):
        grad_weights, grad_bias = weight_gradients(x, result.grad_logits, config.summation)
        grads = [grad_weights, grad_bias.reshape(bias.shape)]
        optimizer.update(params, grads, state)
    return logits, result, grads


def first_nonfinite_stage(logits, step_loss, grads, params) -> str | None:
    """The first of STAGES (in the order a step computes them) holding a NaN or infinity, or None."""
    if not np.isfinite(logits).all():
        return "logits"
    if not np.isfinite(step_loss).all():
        return "loss"
    if not all(np.isfinite(g).all() for g in grads):
        return "gradient"
    if not all(np.isfinite(p).all() for p in params):
        return "weights"
    return None


def inputs(data: MnistData, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training images, their one-hot labels and the test images, in ``dtype``."""
    dt = np.dtype(dtype)
    onehot = np.eye(10, dtype=dt)[data.train_labels]
    return data.train_images.astype(dt, copy=False), onehot, data.test_images.astype(dt, copy=False)


def finished(
    data: MnistData, config: TrainConfig, losses, first_step, first_stage, weights, bias, predictions
) -> TrainResult:
    """The record of a finished run, its arrays made read-only."""
    for array in (losses, weights, bias):
        array.flags.writeable = False
    return TrainResult(
        config=config,
        losses=losses,
        first_nonfinite_step=first_step,
        first_nonfinite=first_stage,
        test_accuracy=float(np.mean(predictions == data.test_labels)),
        weights=weights,
        bias=bias,
        data_name=data.name,
    )


def train(
    data: MnistData,
    *,
    batch_size: int = 100,
    learning_rate: float = 0.01,
    steps: int = 1000,
    loss: str = "naive",
    reduction: str = "sum",
    dtype: str = "float32",
    seed: int = 0,
    epsilon: float = DEFAULT_EPSILON,
    flush_subnormals: bool = True,
    optimizer: str = "gradient_descent",
    summation: str | None = None,
    observe: Callable[[StepRecord], None] | None = None,
) -> TrainResult:
    """Train softmax regression ``y = softmax(xW + b)`` from zero weights, as the 2015 tutorial did.

    The keyword arguments but ``observe`` are the fields of :class:`TrainConfig`, with its defaults.

    Parameters
    ----------
    data : MnistData
    batch_size, learning_rate, steps
        The tutorial used 100, 0.01 and 1000.
    loss : {"naive", "epsilon", "clipped", "stable"}
    reduction : {"sum", "mean"}
    dtype : {"float32", "float64"}
        All arithmetic happens in this type (TensorFlow's default is float32).
    seed : int
        Seeds the reshuffles between epochs; the same arguments give bit-identical results on
        one machine and BLAS build (other CPUs round float32 sums differently: see ``summation``).
    epsilon : float
        The constant inside the log of the ``epsilon`` loss; the lower clip of ``clipped``.
    flush_subnormals : bool
        Flush subnormal intermediates to zero as TensorFlow's CPU kernels do ("TensorFlow-
        compatible", the default); ``False`` shows numpy's IEEE behaviour.
    optimizer : str
        The update rule; plain ``"gradient_descent"`` as in the tutorial.
    summation : {"blas", "halves"} or None
        The order in which the 784-term sums of the logits and the batch sums of the gradients
        are added (:mod:`course_utils.linear`); ``None``: ``$BATCH205_SUMMATION`` or ``"blas"``.
    observe : callable(StepRecord) or None
        Called after every step with everything the step computed (for measurements such as the
        gradient norm or the largest logit gap per step). Not called after the run has stopped.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> result = train(load_mnist(), batch_size=205, steps=1)
    >>> round(float(result.losses[0]), 3)  # 205 * ln(10): every class at probability 0.1
    472.03
    """
    arguments = locals()  # the parameters by name; tests/test_config.py checks they are SETTINGS
    config = TrainConfig(**{name: arguments[name] for name in SETTINGS})
    return run(data, config, observe=observe)


def run(
    data: MnistData, config: TrainConfig, observe: Callable[[StepRecord], None] | None = None
) -> TrainResult:
    """Carry out one :class:`TrainConfig` on ``data`` (what :func:`train` calls)."""
    require_batch_fits(config.batch_size, len(data.train_labels))
    images, onehot, test_images = inputs(data, config.dtype)
    weights = np.zeros((784, 10), dtype=images.dtype)
    bias = np.zeros(10, dtype=images.dtype)
    params = [weights, bias]
    optimizer = OPTIMIZERS[config.optimizer](learning_rate=config.learning_rate)
    state = optimizer.init(params)
    losses = np.full(config.steps, np.nan, dtype=images.dtype)
    first_step, first_stage = None, None
    batches = batch_indices(len(data.train_labels), config.batch_size, config.seed)
    # One BLAS thread: float32 matmuls give other last bits with other thread counts, and the
    # stored notebook outputs must not depend on the machine's number of cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for step in range(config.steps):
            idx = next(batches)
            logits, result, grads = train_step(
                images[idx], onehot[idx], params, optimizer, state, config
            )
            losses[step] = result.loss
            if observe is not None:
                observe(
                    StepRecord(
                        step,
                        idx,
                        logits,
                        result.probabilities,
                        result.loss,
                        result.grad_logits,
                        grads[0],
                        grads[1],
                        weights,
                        bias,
                    )
                )
            if first_step is None:
                first_stage = first_nonfinite_stage(logits, result.loss, grads, params)
                if first_stage is not None:
                    first_step = step
            if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
                # NaN/inf weights make every later logit, and so every later loss, NaN:
                # the remaining entries of ``losses`` already hold NaN.
                break
        predictions = predict(
            test_images, weights, bias, flush=config.flush_subnormals, summation=config.summation
        )
    return finished(data, config, losses, first_step, first_stage, weights, bias, predictions)

"""The training loop of the 2015 tutorial, in numpy, and the record of one run.

``train`` runs ``steps`` steps of TensorFlow-style ``next_batch``, loss, gradient and update. It
never raises on NaN: it records every loss, the first step at which something became non-finite
and what it was, and the final test accuracy (non-finite predictions count as wrong).

**Precision.** ``dtype`` is the type of the model's arithmetic; ``mixed_precision=True`` (with
float16 or bfloat16) is mixed precision as PyTorch's autocast and Keras's ``mixed_float16`` do it.
Which operation runs in which dtype (a "product" is ``x @ W`` or ``x.T @ g``; "f32 acc." means its
multiply-adds in float32, the result rounded once to the dtype, :mod:`course_utils.linear`; sums
over the 10 classes and over the batch likewise accumulate in float32 for the low dtypes,
:func:`~course_utils.model.dtype_sum`):

================= =============== =============== ================ ================ ==============
run               weights, update products        bias add, softmax, loss (and its     weight
                                                  gradient of the  gradient), softmax  gradients
                                                  logits           backward
================= =============== =============== ================ ================ ==============
float32           float32         float32 (BLAS)  float32          float32          float32
float64           float64         float64 (BLAS)  float64          float64          float64
float16 pure      float16         float16, f32    float16          float16          float16
                                  acc.
bfloat16 pure     bfloat16        bfloat16, f32   bfloat16         bfloat16         bfloat16
                                  acc.
mixed float16     float32 master  float16 inputs  float16 (logits  float32 (logits   float16, cast
                                  (x, W cast),    rounded to       cast up), its     to float32 for
                                  f32 acc.        float16)         gradient cast     the update
                                                                   down to float16
mixed bfloat16    float32 master  as mixed        bfloat16         float32, cast     bfloat16, cast
                                  float16, in                      down to bfloat16  to float32
                                  bfloat16
================= =============== =============== ================ ================ ==============

The optimizer's arithmetic and its state are in the weights' dtype. Loss scaling
(``loss_scale``): the backward pass starts from the scale instead of 1 (in the dtype of the loss:
the low dtype in a pure run, float32 in a mixed one), and the weight gradients are divided by it
(in the weights' dtype) before the update. ``dynamic_loss_scale`` does what ``torch.amp.GradScaler``
does: a step whose gradients hold inf or NaN is skipped and the scale halved; after
:data:`GROWTH_INTERVAL` clean steps in a row it doubles (:class:`LossScaler`).

Introduced in lesson 01; the failure it records is the subject of lesson 02; precision, lesson 09.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace

import numpy as np
from threadpoolctl import ThreadpoolController

from .data import MnistData, require_data
from .linear import (
    LOW_PRECISION,
    SUMMATIONS,
    default_summation,
    logits_of,
    numpy_dtype,
    weight_gradients,
)
from .model import (
    DEFAULT_EPSILON,
    DTYPES,
    LOSSES,
    REDUCTIONS,
    LossAndGradient,
    _loss_and_gradient,
    predict,
)
from .optimizers import OPTIMIZERS
from .validate import (
    deprecated,
    require_bool,
    require_callable,
    require_choice,
    require_int,
    require_kind,
    require_positive_int,
    require_positive_real,
)

# Stages of one step, in the order they are computed; ``first_nonfinite_stage`` names one of them.
STAGES = ("logits", "loss", "gradient", "weights")


# How course_utils.multirun may share work between runs that differ in a setting. A setting with
# neither mark is safe by default: runs that differ in it are trained apart (in other groups).
PER_RUN = {"stacking": "per run"}  # one value per run inside a stack: the optimizer takes an array
PER_STACK = {"stacking": "per stack"}  # read by the step only: runs differing in it share batches


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (together with the data and its order).

    This is the one list of a run's settings and their defaults. The arguments of :func:`train`
    and :func:`~course_utils.sweeps.sweep` are these fields with these defaults (spelled out there
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
    # Mixed precision (lesson 09; only with a low dtype): float32 master weights and inputs, the
    # products in ``dtype``, the loss in float32. Unmarked: its runs' inputs differ in dtype.
    mixed_precision: bool = False
    # Loss scaling (lesson 09): the backward pass starts from loss_scale, gradients are divided by
    # it before the update (1.0: none); dynamic: loss_scale is the initial scale of a GradScaler.
    loss_scale: float = field(default=1.0, metadata=PER_STACK)
    # Read by the step only, but its skips are per run: runs with it never share a stack
    # (course_utils.multirun._stack_key).
    dynamic_loss_scale: bool = field(default=False, metadata=PER_STACK)
    # The order in which the linear layer's float32 sums are added (course_utils.linear): the
    # BLAS's own, or another, to see how far another CPU's last bits move a run. None (the
    # default) becomes $BATCH205_SUMMATION or "blas" when the config is made.
    summation: str | None = field(default=None, metadata={"choices": SUMMATIONS})

    def __post_init__(self) -> None:
        if self.summation is None:
            object.__setattr__(self, "summation", default_summation())
        require_positive_int("batch_size", self.batch_size)
        require_positive_int("steps", self.steps)
        require_positive_real("learning_rate", self.learning_rate)
        require_positive_real("epsilon", self.epsilon)
        object.__setattr__(self, "loss_scale", require_positive_real("loss_scale", self.loss_scale))
        for name in ("flush_subnormals", "mixed_precision", "dynamic_loss_scale"):
            require_bool(name, getattr(self, name))
        for setting in fields(self):
            if "choices" in setting.metadata:  # require_choice also turns np.float32 into "float32"
                value = require_choice(
                    setting.name, getattr(self, setting.name), setting.metadata["choices"]
                )
                object.__setattr__(self, setting.name, value)
        require_int("seed", self.seed, low=0)  # (numpy's generator takes no negative seed)
        numpy_dtype(self.dtype)  # (a bfloat16 run: numpy knows the name from here on)
        if self.mixed_precision and self.dtype not in LOW_PRECISION:
            raise ValueError(
                f"mixed_precision=True is not valid with dtype={self.dtype!r}; mixed precision runs "
                f"the products in a low-precision dtype: choose dtype='float16' or 'bfloat16'"
            )

    def __setstate__(self, state: dict) -> None:
        # A config unpickled in a worker process (spawned, or forked before any bfloat16 was asked
        # for) was not made by __post_init__ there: numpy must learn the name there too.
        self.__dict__.update(state)
        numpy_dtype(self.dtype)

    @property
    def weights_dtype(self) -> str:
        """The dtype of the weights, the inputs and the update: float32 master weights in mixed
        precision, else ``dtype``."""
        return "float32" if self.mixed_precision else self.dtype


SETTINGS = tuple(setting.name for setting in fields(TrainConfig))  # in their order

# torch.amp.GradScaler's defaults: the dynamic loss scale doubles after this many clean steps in a
# row (growth_interval), and halves at every step with inf/NaN gradients (backoff_factor 0.5).
GROWTH_INTERVAL = 2000


@dataclass
class LossScaler:
    """The loss scale of a run, static or dynamic (as ``torch.amp.GradScaler``), and its record.

    Introduced in lesson 09.
    """

    scale: float = 1.0
    dynamic: bool = False
    clean_steps: int = 0  # steps since the scale last changed or a step was skipped
    skipped_steps: int = 0
    skipped_last: bool = False  # whether the latest step was skipped

    def unscale_or_skip(self, grads: list[np.ndarray]) -> bool:
        """Divide ``grads`` by the scale, in place, in their own dtype; False if the step is skipped.

        Static scaling never skips (inf/NaN gradients then reach the weights, as without
        scaling). Dynamic scaling skips a step whose gradients hold inf or NaN, halving the scale,
        and doubles it after :data:`GROWTH_INTERVAL` clean steps.
        """
        if self.dynamic and not all(np.isfinite(g).all() for g in grads):
            self.scale /= 2
            self.clean_steps = 0
            self.skipped_steps += 1
            self.skipped_last = True
            return False
        self.skipped_last = False
        if self.scale != 1:
            for g in grads:
                np.divide(g, g.dtype.type(self.scale), out=g)
        if self.dynamic:
            self.clean_steps += 1
            if self.clean_steps == GROWTH_INTERVAL:
                self.scale *= 2
                self.clean_steps = 0
        return True


@dataclass(frozen=True, repr=False)
class TrainResult:
    """What one run produced. ``losses[k]`` is the loss of step ``k`` (0-based), before its update."""

    config: TrainConfig
    losses: np.ndarray
    first_nonfinite_step: int | None
    first_nonfinite_stage: str | None  # one of STAGES: what first held a NaN or infinity
    test_accuracy: float
    weights: np.ndarray = field(compare=False)
    bias: np.ndarray = field(compare=False)
    data_name: str = ""
    skipped_steps: int = 0  # steps skipped by dynamic loss scaling (their gradients held inf/NaN)

    @property
    def went_nonfinite(self) -> bool:
        """True if some value became NaN or infinite during training.

        Not "diverged": an overshooting run diverges, but a run that was learning can also go NaN
        from ``0 * log(0)`` once a probability underflows to 0 (lesson 08 tells the two apart).
        """
        return self.first_nonfinite_step is not None

    @property
    def first_nonfinite(self) -> str | None:
        """Deprecated name of :attr:`first_nonfinite_stage` (kept for learners' older copies)."""
        deprecated("TrainResult.first_nonfinite", "first_nonfinite_stage")
        return self.first_nonfinite_stage

    def __repr__(self) -> str:
        c = self.config
        outcome = (
            "all finite"
            if self.first_nonfinite_step is None
            else f"first non-finite {self.first_nonfinite_stage} at step {self.first_nonfinite_step}"
        )
        precision = ", mixed_precision=True" * c.mixed_precision
        if c.loss_scale != 1 or c.dynamic_loss_scale:
            precision += f", loss_scale={c.loss_scale:g}" + " (dynamic)" * c.dynamic_loss_scale
        skipped = f", {self.skipped_steps} steps skipped" if self.skipped_steps else ""
        return (
            f"TrainResult(batch_size={c.batch_size}, learning_rate={c.learning_rate}, "
            f"loss={c.loss!r}, reduction={c.reduction!r}, dtype={c.dtype!r}{precision}, "
            f"steps={c.steps}: test_accuracy={self.test_accuracy:.4f}, {outcome}{skipped})"
        )


@functools.cache
def _blas_libraries() -> ThreadpoolController:
    return ThreadpoolController()  # (finds the loaded BLAS libraries: a fifth of a millisecond)


def one_blas_thread():
    """A context in which the BLAS runs on one thread: float32 products give other last bits with
    other thread counts, and the stored notebook outputs must not depend on the machine's number
    of cores. (The BLAS libraries are looked up once per process, not at every run.)"""
    return _blas_libraries().limit(limits=1, user_api="blas")


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
    require_positive_int("num_examples", num_examples)
    require_positive_int("batch_size", batch_size)
    require_int("seed", seed, low=0)
    require_batch_fits(batch_size, num_examples)
    return _batches(num_examples, batch_size, seed)  # checked now, not at the first batch


def _batches(num_examples: int, batch_size: int, seed: int) -> Iterator[np.ndarray]:
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
    ``grad_logits`` is the gradient with respect to the logits as the backward products use it
    (times the loss scale; in mixed precision, cast to the low dtype), ``grad_weights`` and
    ``grad_bias`` are the gradients the update used (unscaled, in the weights' dtype).
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
    scaler: LossScaler | None = None,
) -> tuple[np.ndarray, LossAndGradient, list[np.ndarray]]:
    """One step on a batch: logits, loss and their gradient, parameter gradients, the update.

    Each operation runs in the dtype the module docstring's table gives. ``scaler`` holds the
    loss scale (made from ``config`` if None); a step it skips leaves ``params`` as they were.

    ``params`` are ``[weights, bias]``, updated in place: of one run, shapes (784, 10) and (10,),
    or of a stack of runs that share ``config`` but for the learning rate (the optimizer's, one per
    run), shapes (runs, 784, 10) and (runs, 1, 10), as :mod:`~course_utils.multirun` trains them.
    ``logits_of`` and ``weight_gradients`` are the linear layer's (the stacked trainer passes ones
    with the same bits, faster for stacks). Returns ``(logits, loss and gradient, [dW, db])``.
    The step's two halves are :func:`forward_step` and :func:`backward_step` (the stacked trainer
    takes the first half of every stack of a group before the second: one wide product each).
    """
    if scaler is None:
        scaler = LossScaler(config.loss_scale, config.dynamic_loss_scale)
    logits, result = forward_step(x, onehot, params, config, scaler, logits_of=logits_of)
    grads = backward_step(
        x, result, params, optimizer, state, config, scaler, weight_gradients=weight_gradients
    )
    return logits, result, grads


def forward_step(
    x: np.ndarray,
    onehot: np.ndarray,
    params: list[np.ndarray],
    config: TrainConfig,
    scaler: LossScaler,
    *,
    logits_of=logits_of,
) -> tuple[np.ndarray, LossAndGradient]:
    """The first half of :func:`train_step`: the logits, and the loss and its gradient."""
    weights, bias = params
    if config.mixed_precision:  # autocast: the product's operands cast to the low dtype (x is
        low = numpy_dtype(config.dtype)  # already rounded to it by inputs(), held in float32)
        weights, bias = weights.astype(low), bias.astype(low)
    with np.errstate(over="ignore", invalid="ignore"):
        logits = logits_of(x, weights, bias, config.summation)
    result = _loss_and_gradient(  # (its arguments were checked once, by TrainConfig)
        logits.astype(np.float32) if config.mixed_precision else logits,  # the loss in float32
        onehot,
        config.loss,
        config.reduction,
        config.epsilon,
        config.flush_subnormals,
        scaler.scale,
    )
    if config.mixed_precision:  # the backward of the cast up: the gradient cast down
        with np.errstate(over="ignore"):  # (a scaled gradient above 65504 is inf in float16)
            result = replace(result, grad_logits=result.grad_logits.astype(low))
    return logits, result


def backward_step(
    x: np.ndarray,
    result: LossAndGradient,
    params: list[np.ndarray],
    optimizer,
    state,
    config: TrainConfig,
    scaler: LossScaler,
    *,
    weight_gradients=weight_gradients,
) -> list[np.ndarray]:
    """The second half of :func:`train_step`: the parameters' gradients and the update (unless
    ``scaler`` skips the step). Returns ``[dW, db]``."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        grad_weights, grad_bias = weight_gradients(x, result.grad_logits, config.summation)
        grads = [grad_weights, grad_bias.reshape(params[1].shape)]
        if config.mixed_precision:  # to the master weights' float32, for the update
            grads = [g.astype(np.float32) for g in grads]
        if scaler.unscale_or_skip(grads):
            optimizer.update(params, grads, state)
    return grads


def all_finite(arrays) -> bool:
    """Whether every entry of every array is finite."""
    return all(np.isfinite(a).all() for a in arrays)


def find_nonfinite_stage(logits, step_loss, grads, params) -> str | None:
    """The first of STAGES (in the order a step computes them) holding a NaN or infinity, or None."""
    if not np.isfinite(logits).all():
        return "logits"
    if not np.isfinite(step_loss).all():
        return "loss"
    if not all_finite(grads):
        return "gradient"
    if not all_finite(params):
        return "weights"
    return None


def inputs(data: MnistData, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training images, their one-hot labels and the test images, for a run of ``config``.

    In the weights' dtype (:attr:`TrainConfig.weights_dtype`), except the images of a float16 or
    bfloat16 run (pure or mixed): those are rounded to that dtype and held in float32, the very
    values the low-precision products multiply (in float32, :mod:`course_utils.linear`), without
    a conversion of every batch at every step.
    """
    dt = numpy_dtype(config.weights_dtype)
    onehot = np.eye(10, dtype=dt)[data.train_labels]
    if config.dtype in LOW_PRECISION:
        low = numpy_dtype(config.dtype)
        train_images, test_images = (
            images.astype(low).astype(np.float32) for images in (data.train_images, data.test_images)
        )
        return train_images, onehot, test_images
    return data.train_images.astype(dt, copy=False), onehot, data.test_images.astype(dt, copy=False)


def predictions_of(config: TrainConfig, test_images, weights, bias) -> np.ndarray:
    """The predicted class of every test image (``-1`` where the logits are not finite)."""
    return predict(
        test_images,
        weights,
        bias,
        flush_subnormals=config.flush_subnormals,
        summation=config.summation,
        autocast=config.dtype if config.mixed_precision else None,
    )


def run_result(
    data: MnistData,
    config: TrainConfig,
    *,
    losses: np.ndarray,
    first_nonfinite_step: int | None,
    first_nonfinite_stage: str | None,
    weights: np.ndarray,
    bias: np.ndarray,
    predictions: np.ndarray,
    skipped_steps: int = 0,
) -> TrainResult:
    """The record of a finished run on ``data``, its arrays made read-only (``predictions``: the
    predicted class of every test image)."""
    for array in (losses, weights, bias):
        array.flags.writeable = False
    return TrainResult(
        config=config,
        losses=losses,
        first_nonfinite_step=first_nonfinite_step,
        first_nonfinite_stage=first_nonfinite_stage,
        test_accuracy=float(np.mean(predictions == data.test_labels)),
        weights=weights,
        bias=bias,
        data_name=data.name,
        skipped_steps=skipped_steps,
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
    mixed_precision: bool = False,
    loss_scale: float = 1.0,
    dynamic_loss_scale: bool = False,
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
    dtype : {"float32", "float64", "float16", "bfloat16"}
        All arithmetic happens in this type (TensorFlow's default is float32); float16 and
        bfloat16 (lesson 09) accumulate products and sums in float32 (the module docstring's
        table says which operation runs in which dtype).
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
    mixed_precision : bool
        Mixed precision as autocast does it (only with ``dtype`` float16 or bfloat16): float32
        master weights, the products in ``dtype``, softmax and loss in float32.
    loss_scale : float
        Multiply the loss by this before the backward pass and divide the gradients by it before
        the update (1.0: no scaling). With ``dynamic_loss_scale``, the initial scale.
    dynamic_loss_scale : bool
        Skip steps with inf/NaN gradients and halve the scale; double it after
        ``GROWTH_INTERVAL`` (2000) clean steps, as ``torch.amp.GradScaler``. The result counts
        the skipped steps (``skipped_steps``); a skipped step's gradients are not counted as a
        non-finite value.
    summation : {"blas", "reversed", "float64"} or None
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
    require_data(data)
    require_kind("config", config, "TrainConfig")
    if observe is not None:
        require_callable("observe", observe)
    require_batch_fits(config.batch_size, len(data.train_labels))
    images, onehot, test_images = inputs(data, config)
    weights = np.zeros((784, 10), dtype=config.weights_dtype)
    bias = np.zeros(10, dtype=config.weights_dtype)
    params = [weights, bias]
    optimizer = OPTIMIZERS[config.optimizer](learning_rate=config.learning_rate)
    state = optimizer.init(params)
    scaler = LossScaler(config.loss_scale, config.dynamic_loss_scale)
    losses = np.full(config.steps, np.nan, dtype=config.weights_dtype)
    first_step, first_stage = None, None
    batches = batch_indices(len(data.train_labels), config.batch_size, config.seed)
    with one_blas_thread():
        for step in range(config.steps):
            idx = next(batches)
            logits, result, grads = train_step(
                images[idx], onehot[idx], params, optimizer, state, config, scaler=scaler
            )
            losses[step] = result.loss
            grad_weights, grad_bias = grads
            if observe is not None:
                observe(
                    StepRecord(
                        step=step,
                        batch=idx,
                        logits=logits,
                        probabilities=result.probabilities,
                        loss=result.loss,
                        grad_logits=result.grad_logits,
                        grad_weights=grad_weights,
                        grad_bias=grad_bias,
                        weights=weights,
                        bias=bias,
                    )
                )
            if first_step is None:
                applied = [] if scaler.skipped_last else grads  # a skipped step's are not used
                first_stage = find_nonfinite_stage(logits, result.loss, applied, params)
                if first_stage is None:
                    continue  # (it found the weights finite too)
                first_step = step
            if not all_finite(params):
                # NaN/inf weights make every later logit, and so every later loss, NaN:
                # the remaining entries of ``losses`` already hold NaN.
                break
        predictions = predictions_of(config, test_images, weights, bias)
    return run_result(
        data,
        config,
        losses=losses,
        first_nonfinite_step=first_step,
        first_nonfinite_stage=first_stage,
        weights=weights,
        bias=bias,
        predictions=predictions,
        skipped_steps=scaler.skipped_steps,
    )

"""Measurements inside training runs, and of one example's loss: the quantities lessons plot.

Everything here is built on :func:`~course_utils.training.train` and its ``observe`` hook (no copy
of the training loop) or on the model's own :func:`~course_utils.model.loss_and_gradient`. The
results are small frozen records of plain numpy arrays, so lessons can plot and print them.

* Lessons 03 and 04: the **gradient norm** ``sqrt(|dL/dW|^2 + |dL/db|^2)`` (with a summed loss it
  grows in proportion to the batch size, with a mean loss it does not) and the **logit gap** of a
  batch, the largest ``max(z) - min(z)`` over its examples. Past float32's limit
  (``float_limits("float32").softmax_zero_gap``, which lessons 02 and 03 print) the softmax, flushed
  as TensorFlow computes it, gives the smallest class a probability of exactly 0, and the naive
  loss's ``0 * log(0)`` becomes ``nan`` (:func:`trace_steps`, :func:`batch_gradient_norm`).
* Lesson 05: how many examples of each step had a gradient row of exactly zero, and how many of
  those the model got wrong with certainty (:func:`trace_gradients`).
* Lesson 06: one example's naive, epsilon and stable loss and gradient against its logit gap, where
  each breaks in float32 (:func:`losses_by_gap`).

:func:`trace_many` runs several traces of one kind in worker processes, one per core: each trace is
a whole single run (its own process, its own ``train``), so its numbers are those of a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import MnistData, require_data
from .linear import logits_of, numpy_dtype, weight_gradients
from .model import DEFAULT_EPSILON, DTYPES, LOSSES, REDUCTIONS, loss_and_gradient, predict, softmax
from .multirun import default_workers, worker_data, worker_pool
from .training import StepRecord, TrainResult, require_batch_fits, train
from .validate import (
    old_keywords,
    require_array,
    require_bool,
    require_choice,
    require_items,
    require_positive_int,
    require_positive_real,
    require_real,
)

# --- lessons 03 and 04: gradient norms and logit gaps ---


def logit_gap(logits: np.ndarray) -> float:
    """The largest logit gap of a batch: ``max over examples of (max_j z_j - min_j z_j)``.

    Softmax subtracts each row's maximum, so the smallest probability of a row is
    ``exp(-(max - min)) / sum``: this gap decides whether some probability underflows to 0.
    Non-finite logits give ``nan``.

    Examples
    --------
    >>> import numpy as np
    >>> logit_gap(np.array([[1.0, -2.0, 0.5], [0.0, 10.0, 4.0]]))
    10.0

    Introduced in lesson 03.
    """
    z = require_array("logits", logits, ndim=2).astype(np.float64)
    if not np.isfinite(z).all():
        return float("nan")
    return float((z.max(axis=1) - z.min(axis=1)).max())


def gradient_norm(grad_weights: np.ndarray, grad_bias: np.ndarray) -> float:
    """Euclidean norm of the whole gradient, weights and bias together, computed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> gradient_norm(np.full((2, 2), 1.0), np.array([0.0, 3.0]))
    3.605551275463989

    Introduced in lesson 03.
    """
    w = require_array("grad_weights", grad_weights).astype(np.float64)
    b = require_array("grad_bias", grad_bias).astype(np.float64)
    return float(np.sqrt(np.sum(w * w) + np.sum(b * b)))


@dataclass(frozen=True, repr=False)
class StepTrace:
    """Per-step measurements of one run (entry ``k`` belongs to step ``k``, 0-based).

    ``logit_gap[k]`` is measured on the logits of step ``k``, i.e. after ``k`` updates;
    ``gradient_norm[k]`` is the norm of the gradient that step ``k`` applied. The arrays end at
    the step where the run stopped (the first step whose weights became non-finite).
    Introduced in lesson 03.
    """

    result: TrainResult
    loss: np.ndarray
    gradient_norm: np.ndarray
    logit_gap: np.ndarray

    @property
    def first_nonfinite_step(self) -> int | None:
        return self.result.first_nonfinite_step

    def __repr__(self) -> str:
        c = self.result.config
        return (
            f"StepTrace(batch_size={c.batch_size}, learning_rate={c.learning_rate}, "
            f"reduction={c.reduction!r}, dtype={c.dtype!r}: {len(self.loss)} steps, "
            f"first non-finite step {self.first_nonfinite_step})"
        )


def trace_steps(data: MnistData, **train_arguments) -> StepTrace:
    """Train as :func:`train` does and record loss, gradient norm and logit gap at every step.

    Parameters
    ----------
    data : MnistData
    **train_arguments
        Passed to :func:`train` (``batch_size``, ``learning_rate``, ``steps``, ``dtype``, ...).

    Returns
    -------
    StepTrace

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> trace = trace_steps(load_mnist(), batch_size=205, steps=10)
    >>> trace.first_nonfinite_step, float(trace.logit_gap[0])  # zero weights: equal logits
    (3, 0.0)

    Introduced in lesson 03.
    """
    losses, norms, gaps = [], [], []

    def observe(record: StepRecord) -> None:
        losses.append(float(record.loss))
        norms.append(gradient_norm(record.grad_weights, record.grad_bias))
        gaps.append(logit_gap(record.logits))

    result = train(data, observe=observe, **train_arguments)
    return StepTrace(
        result=result,
        loss=np.array(losses),
        gradient_norm=np.array(norms),
        logit_gap=np.array(gaps),
    )


def batch_gradient_norm(
    data: MnistData,
    batch_size: int,
    weights: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    *,
    reduction: str = "sum",
    dtype: str = "float32",
    loss: str = "naive",
) -> float:
    """Norm of the gradient on the first ``batch_size`` training examples, at fixed weights.

    This is the gradient that the first step of a run would apply if the weights were
    ``weights`` and ``bias`` (zeros, the tutorial's start, by default). Holding the weights fixed
    isolates the effect of the batch size: with ``reduction="sum"`` the norm grows in proportion
    to ``batch_size``, with ``"mean"`` it settles to a constant.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> data = load_mnist()
    >>> small, large = (batch_gradient_norm(data, b) for b in (100, 1000))
    >>> 5 < large / small < 10
    True

    Introduced in lesson 03.
    """
    require_data(data)
    require_positive_int("batch_size", batch_size)
    require_batch_fits(batch_size, len(data.train_labels))
    for name, value, shape in (("weights", weights, (784, 10)), ("bias", bias, (10,))):
        if value is not None and require_array(name, value).shape != shape:
            raise ValueError(f"{name} of shape {value.shape} is not valid; it must have shape {shape}")
    require_choice("reduction", reduction, REDUCTIONS)
    dt = numpy_dtype(require_choice("dtype", dtype, DTYPES))
    require_choice("loss", loss, LOSSES)
    x = data.train_images[:batch_size].astype(dt)
    onehot = np.eye(10, dtype=dt)[data.train_labels[:batch_size]]
    w = np.zeros((784, 10), dt) if weights is None else np.asarray(weights, dtype=dt)
    b = np.zeros(10, dt) if bias is None else np.asarray(bias, dtype=dt)
    with np.errstate(over="ignore", invalid="ignore"):
        result = loss_and_gradient(logits_of(x, w, b), onehot, loss=loss, reduction=reduction)
        return gradient_norm(*weight_gradients(x, result.grad_logits))


# --- lesson 05: vanished gradient rows ---


@dataclass(frozen=True, repr=False)
class GradientTrace:
    """Per-step record of vanished gradients in one run (see :func:`trace_gradients`).

    ``zero_rows[k]``: fraction of step k's examples whose gradient row is exactly zero.
    ``dead_rows[k]``: fraction whose gradient row is exactly zero *and* whose target probability
    is exactly 0, i.e. examples the model gets wrong with certainty and cannot learn from.
    ``accuracy_steps`` / ``accuracy``: test accuracy after those steps.
    ``never_predicted``: digit classes that the final model predicts for no test image.
    Introduced in lesson 05.
    """

    result: TrainResult
    zero_rows: np.ndarray
    dead_rows: np.ndarray
    accuracy_steps: np.ndarray
    accuracy: np.ndarray
    never_predicted: tuple[int, ...]

    def __repr__(self) -> str:
        return (
            f"GradientTrace({self.result!r}; mean zero_rows={self.zero_rows.mean():.3f}, "
            f"mean dead_rows={self.dead_rows.mean():.3f}, never_predicted={self.never_predicted})"
        )


def trace_gradients(data: MnistData, *, every: int = 10, **train_arguments) -> GradientTrace:
    """Run :func:`~course_utils.training.train` and record vanished gradient rows at every step.

    Parameters
    ----------
    data : MnistData
    every : int
        Measure the test accuracy after every ``every``-th step (and after the last one).
    **train_arguments
        Passed to ``train`` (``batch_size``, ``loss``, ``epsilon``, ``steps``, ...).

    Returns
    -------
    GradientTrace

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> trace = trace_gradients(load_mnist(), loss="epsilon", batch_size=100, steps=20)
    >>> len(trace.zero_rows), float(trace.dead_rows.max())
    (20, 0.0)

    Introduced in lesson 05.
    """
    require_data(data)
    require_positive_int("every", every)
    steps = train_arguments.get("steps", 1000)
    zero_rows, dead_rows, accuracy_steps, accuracy = [], [], [], []
    test_images = data.test_images.astype(train_arguments.get("dtype", "float32"), copy=False)

    def observe(record) -> None:
        zero = ~record.grad_logits.any(axis=1)
        target = data.train_labels[record.batch]
        target_probability = record.probabilities[np.arange(len(target)), target]
        zero_rows.append(zero.mean())
        dead_rows.append((zero & (target_probability == 0)).mean())
        if (record.step + 1) % every == 0 or record.step + 1 == steps:
            predictions = predict(test_images, record.weights, record.bias)
            accuracy_steps.append(record.step + 1)
            accuracy.append(np.mean(predictions == data.test_labels))

    result = train(data, observe=observe, **train_arguments)
    predictions = predict(test_images, result.weights, result.bias)
    counts = np.bincount(predictions[predictions >= 0], minlength=10)
    return GradientTrace(
        result=result,
        zero_rows=np.array(zero_rows, dtype=float),
        dead_rows=np.array(dead_rows, dtype=float),
        accuracy_steps=np.array(accuracy_steps, dtype=int),
        accuracy=np.array(accuracy, dtype=float),
        never_predicted=tuple(int(k) for k in np.flatnonzero(counts == 0)),
    )


# --- lesson 06: one example's losses against its logit gap ---


@dataclass(frozen=True)
class GapCurves:
    """One example's loss and target-class gradient under each loss, against the logit gap.

    The example has logits ``[gap, 0, ..., 0]`` and its target is class 1, so ``gap`` is
    ``max(z) - z_target`` and the target probability is about ``exp(-gap)``. Each ``*_loss`` is that
    example's loss and each ``*_gradient`` the target component of its gradient with respect to the
    logits (``p_target - 1`` for the stable loss); values are ``inf``/``nan`` where the arithmetic
    breaks, as the training core computes them.
    Introduced in lesson 06.
    """

    dtype: str
    flush_subnormals: bool
    epsilon: float
    gaps: np.ndarray
    probability: np.ndarray
    naive_loss: np.ndarray
    epsilon_loss: np.ndarray
    stable_loss: np.ndarray
    naive_gradient: np.ndarray
    epsilon_gradient: np.ndarray
    stable_gradient: np.ndarray


@old_keywords(flush="flush_subnormals")
def losses_by_gap(
    gaps, *, dtype: str = "float32", flush_subnormals: bool = True, epsilon: float = DEFAULT_EPSILON
) -> GapCurves:
    """Compute :class:`GapCurves` with the training core's own ``loss_and_gradient``.

    Examples
    --------
    >>> curves = losses_by_gap([10.0, 100.0])
    >>> curves.naive_loss.tolist(), curves.stable_loss.tolist()
    ([10.000408172607422, nan], [10.000408172607422, 100.0])

    Introduced in lesson 06.
    """
    require_items("gaps", gaps, require_real)
    dt = numpy_dtype(require_choice("dtype", dtype, DTYPES))
    require_bool("flush_subnormals", flush_subnormals)
    require_positive_real("epsilon", epsilon)
    gaps = np.asarray(gaps, dtype=dt)
    onehot = np.zeros((1, 10), dtype=dt)
    onehot[0, 1] = 1
    values = {name: [] for name in ("naive", "epsilon", "stable")}
    gradients = {name: [] for name in values}
    probability = []
    for gap in gaps:
        logits = np.zeros((1, 10), dtype=dt)
        logits[0, 0] = gap
        for name in values:
            result = loss_and_gradient(
                logits, onehot, loss=name, epsilon=epsilon, flush_subnormals=flush_subnormals
            )
            values[name].append(result.loss)
            gradients[name].append(result.grad_logits[0, 1])
        # The tutorial's probability: the core's softmax (the stable loss never forms it).
        probability.append(softmax(logits, flush_subnormals=flush_subnormals)[0, 1])
    return GapCurves(
        dtype=dt.name,
        flush_subnormals=flush_subnormals,
        epsilon=float(epsilon),
        gaps=gaps,
        probability=np.array(probability, dtype=dt),
        **{f"{name}_loss": np.array(v, dtype=dt) for name, v in values.items()},
        **{f"{name}_gradient": np.array(g, dtype=dt) for name, g in gradients.items()},
    )


# --- lesson 09: low precision ---


@dataclass(frozen=True, repr=False)
class PrecisionTrace:
    """What low precision does to one run's gradients and updates, step by step.

    ``zero_gradient_fraction[k]``: the share of the entries of step ``k``'s gradient with respect
    to the logits (as the backward products use it: scaled, and in mixed precision cast to the
    low dtype) that are exactly 0. ``lost_update_fraction[k]``: of the weights whose gradient at
    step ``k`` was not 0, the share that the update left unchanged (the step was rounded away
    against the weight's own size). Introduced in lesson 09.
    """

    result: TrainResult
    zero_gradient_fraction: np.ndarray
    lost_update_fraction: np.ndarray

    def __repr__(self) -> str:
        return (
            f"PrecisionTrace({self.result!r}: zero gradient entries "
            f"{self.zero_gradient_fraction.mean():.1%}, lost updates {self.lost_update_fraction.mean():.1%})"
        )


def trace_precision(data: MnistData, **train_arguments) -> PrecisionTrace:
    """Train as :func:`train` does and record, per step, the gradient entries that are 0 and the
    weight updates that rounding lost.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> trace = trace_precision(load_mnist(), batch_size=1000, steps=5, dtype="float16",
    ...                         loss="stable", reduction="mean", learning_rate=1.0)
    >>> bool(trace.zero_gradient_fraction.mean() > 0.3)  # (p - y) / 1000, flushed below 2**-14
    True

    Introduced in lesson 09.
    """
    zeros, lost = [], []
    before: list[np.ndarray] = []  # the weights before the step's update (zeros at step 0)

    def observe(record: StepRecord) -> None:
        zeros.append(float(np.mean(record.grad_logits == 0)))
        previous = before[0] if before else np.zeros_like(record.weights)
        pushed = record.grad_weights != 0
        lost.append(float(np.mean((record.weights == previous)[pushed])) if pushed.any() else 0.0)
        before[:] = [record.weights.copy()]

    result = train(data, observe=observe, **train_arguments)
    return PrecisionTrace(result, np.array(zeros), np.array(lost))


# --- several traces at once, in worker processes ---

TRACES = ("steps", "gradients", "precision")  # the kinds of trace_many: trace_<kind>


def _setting(name: str, setting) -> dict:
    if not isinstance(setting, dict):
        raise TypeError(f"{name}={setting!r} is not valid; it must be a dict of train() arguments")
    return setting


def _trace_task(kind: str, setting: dict):
    return _tracer(kind)(worker_data(), **setting)


def _rows_times_steps(setting: dict) -> int:
    """What a run costs, roughly (0 for settings the trace itself will reject)."""
    rows, steps = setting.get("batch_size", 100), setting.get("steps", 1000)
    return rows * steps if isinstance(rows, int) and isinstance(steps, int) else 0


def _tracer(kind: str):
    return {"steps": trace_steps, "gradients": trace_gradients, "precision": trace_precision}[kind]


def trace_many(data: MnistData, settings, *, trace: str = "steps", workers: int | None = None) -> list:
    """``[trace_<trace>(data, **setting) for setting in settings]``, traced in worker processes.

    Each trace is one whole run, traced in one process exactly as in a loop (a run's numbers do
    not depend on the process: one BLAS thread, the same operations), so the results are those
    of the loop, bit for bit; the runs of a loop are independent, and the workers trace them on
    every core at once.

    Parameters
    ----------
    data : MnistData
    settings : list of dict
        Keyword arguments of the trace (``batch_size``, ``loss``, ``steps``, ...), one per run.
    trace : {"steps", "gradients", "precision"}
        Which trace: :func:`trace_steps`, :func:`trace_gradients` or :func:`trace_precision`.
    workers : int or None
        Worker processes; ``None`` is one per core (``$BATCH205_WORKERS`` sets it), ``1`` traces
        here, in this process. The results do not depend on it.

    Returns
    -------
    list of StepTrace, GradientTrace or PrecisionTrace, in the order of ``settings``

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> traces = trace_many(load_mnist(), [dict(batch_size=b, steps=10) for b in (100, 205)])
    >>> [t.first_nonfinite_step for t in traces]
    [None, 3]

    Introduced in lesson 03.
    """
    require_data(data)
    settings = require_items("settings", settings, _setting)
    require_choice("trace", trace, TRACES)
    require_positive_int("workers", workers, optional=True)
    workers = min(default_workers() if workers is None else workers, len(settings))
    if workers == 1:
        return [_tracer(trace)(data, **setting) for setting in settings]
    pool = worker_pool(data, workers)  # (the training runs' pool, kept for the next call)
    # The longest runs first (batch rows × steps, train's defaults 100 and 1000), so that no long
    # run starts last while the other worker waits.
    order = sorted(range(len(settings)), key=lambda i: -_rows_times_steps(settings[i]))
    futures = {i: pool.submit(_trace_task, trace, settings[i]) for i in order}
    try:
        traces = [futures[i].result() for i in range(len(settings))]
    finally:
        for future in futures.values():
            future.cancel()
    for traced in traces:
        for array in (traced.result.losses, traced.result.weights, traced.result.bias):
            array.flags.writeable = False  # as a single run returns them
    return traces

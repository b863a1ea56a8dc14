"""Measurements inside training runs: gradient norms and logit gaps, step by step.

Everything here is built on :func:`~course_utils.training.train` and its ``observe`` hook (no copy
of the training loop) or on the model's own :func:`~course_utils.model.loss_and_gradient`. The
results are small frozen records of plain numpy arrays, so lessons can plot and print them.

Two quantities tell the story of lessons 03 and 04:

* the **gradient norm** ``sqrt(|dL/dW|^2 + |dL/db|^2)``: with a summed loss it grows in
  proportion to the batch size, with a mean loss it does not;
* the **logit gap** of a batch: the largest ``max(z) - min(z)`` over its examples. Once it passes
  about 87.3 in float32, ``exp`` of the smallest logit (after softmax subtracts the maximum) is
  below the smallest normal float, flushes to 0, and the naive ``log(p)`` becomes ``nan``.

Introduced in lesson 03.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import MnistData
from .linear import logits_of, weight_gradients
from .model import loss_and_gradient
from .sweep import SWEEP_DTYPE, sweep
from .training import StepRecord, TrainResult, train


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
    z = np.asarray(logits, dtype=np.float64)
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
    w = np.asarray(grad_weights, dtype=np.float64)
    b = np.asarray(grad_bias, dtype=np.float64)
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
    dt = np.dtype(dtype)
    x = data.train_images[:batch_size].astype(dt)
    onehot = np.eye(10, dtype=dt)[data.train_labels[:batch_size]]
    w = np.zeros((784, 10), dt) if weights is None else np.asarray(weights, dtype=dt)
    b = np.zeros(10, dt) if bias is None else np.asarray(bias, dtype=dt)
    with np.errstate(over="ignore", invalid="ignore"):
        result = loss_and_gradient(logits_of(x, w, b), onehot, loss=loss, reduction=reduction)
        return gradient_norm(*weight_gradients(x, result.grad_logits))


def first_failing_batch_size(
    data: MnistData, batch_sizes, *, chunk: int = 16, progress: bool | None = None, **sweep_arguments
) -> tuple[int | None, np.ndarray]:
    """Scan batch sizes in ascending order and stop at the first one whose run goes non-finite.

    The scan runs :func:`~course_utils.sweep.sweep` on ``chunk`` sizes at a time (cached on disk
    like every sweep), so it trains only the sizes up to the first failure, plus the rest of that
    chunk. Because the failing sizes form a ragged band, only a scan of *every* size below the
    answer can say it is the smallest; bisection cannot (lesson 02).

    Parameters
    ----------
    data : MnistData
    batch_sizes : iterable of int
        The sizes to try, in the order given (normally ascending).
    chunk : int
        How many sizes to run per ``sweep`` call.
    progress : bool or None
        Show one tqdm bar for the whole scan; ``None`` shows it for 8 or more sizes.
    **sweep_arguments
        One value each for ``learning_rate``, ``steps``, ``dtype``, ``reduction``, ...

    Returns
    -------
    (int or None, table)
        The first failing size (None if none failed) and the sweep table of the sizes run.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> found, table = first_failing_batch_size(load_mnist(), range(170, 200), steps=20, cache=False)
    >>> found, len(table)
    (174, 16)

    Introduced in lesson 03.
    """
    sizes = [int(b) for b in batch_sizes]
    if progress is None:
        progress = len(sizes) >= 8
    bar = None
    if progress:
        from tqdm.auto import tqdm

        # No total: the scan stops at the first failure, usually long before the last size.
        bar = tqdm(desc="batch-size scan", unit="run")
    tables = []
    found = None
    try:
        for start in range(0, len(sizes), chunk):
            table = sweep(
                data, batch_size=sizes[start : start + chunk], progress=False, **sweep_arguments
            )
            tables.append(table)
            if bar is not None:
                bar.update(len(table))
            if table["diverged"].any():
                found = int(table["batch_size"][table["diverged"]][0])
                break
    finally:
        if bar is not None:
            bar.close()
    return found, np.concatenate(tables) if tables else np.zeros(0, dtype=SWEEP_DTYPE)


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

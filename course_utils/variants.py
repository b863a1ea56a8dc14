"""What the NaN "fixes" do to each example's gradient: clipping, and a per-step gradient trace.

Two things lesson 05 needs that the training core does not provide:

* ``clipped_loss_and_gradient``: ``-sum(y * log(clip_by_value(p, epsilon, 1)))``, the other fix that
  2015-era TensorFlow code used, with the gradient TensorFlow's autodiff computes through
  ``clip_by_value``: the incoming gradient passes where ``epsilon <= p <= 1`` and is 0 where the
  clip was active. It reuses the core's ``softmax`` and ``flush_subnormals``, so everything except
  the clip is the naive loss's arithmetic.
* ``trace_gradients``: one :func:`~course_utils.training.train` run that records, step by step, how
  many examples had a gradient row of exactly zero and how many of those the model got wrong with
  certainty (target probability exactly 0), plus the test accuracy every few steps.
* ``losses_by_gap``: one example's naive, epsilon and stable loss and gradient against its logit
  gap, computed by the core's ``loss_and_gradient`` (where each breaks in float32).

Introduced in lesson 05 (clipping, the gradient trace) and 06 (losses by gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import MnistData
from .model import DEFAULT_EPSILON, LossAndGradient, loss_and_gradient, predict, softmax
from .training import TrainResult, train


def clipped_loss_and_gradient(
    logits: np.ndarray,
    onehot: np.ndarray,
    *,
    reduction: str = "sum",
    flush: bool = True,
    epsilon: float = DEFAULT_EPSILON,
) -> LossAndGradient:
    """``-sum(y * log(clip_by_value(p, epsilon, 1)))`` and its gradient as TensorFlow computes it.

    Parameters
    ----------
    logits : ndarray, shape (batch, classes)
    onehot : ndarray, same shape and dtype, one 1 per row
    reduction : {"sum", "mean"}
    flush : bool
        Flush subnormal intermediate results to zero, as TensorFlow's CPU kernels do.
    epsilon : float
        The clip's lower bound (``clip_value_min``); the upper bound is 1.

    Returns
    -------
    LossAndGradient
        The same record as :func:`~course_utils.model.loss_and_gradient`.

    Notes
    -----
    The forward value equals the ``epsilon`` loss's wherever ``p >= epsilon``; the gradient equals
    the naive loss's there (``-y/p`` then the softmax backward pass) and is exactly 0 for every
    probability below ``epsilon``, because TensorFlow's ``ClipByValue`` gradient is zero wherever the
    clip changed its input.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.float32([[0.0, 100.0]])  # class 0 has p = exp(-100): flushed to 0
    >>> result = clipped_loss_and_gradient(logits, np.float32([[1.0, 0.0]]))
    >>> round(float(result.loss), 2), result.grad_logits.tolist()
    (23.03, [[0.0, 0.0]])

    Introduced in lesson 05.
    """
    return loss_and_gradient(
        logits, onehot, loss="clipped", reduction=reduction, epsilon=epsilon, flush=flush
    )


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
    flush: bool
    epsilon: float
    gaps: np.ndarray
    probability: np.ndarray
    naive_loss: np.ndarray
    epsilon_loss: np.ndarray
    stable_loss: np.ndarray
    naive_gradient: np.ndarray
    epsilon_gradient: np.ndarray
    stable_gradient: np.ndarray


def losses_by_gap(
    gaps, *, dtype: str = "float32", flush: bool = True, epsilon: float = DEFAULT_EPSILON
) -> GapCurves:
    """Compute :class:`GapCurves` with the training core's own ``loss_and_gradient``.

    Examples
    --------
    >>> curves = losses_by_gap([10.0, 100.0])
    >>> curves.naive_loss.tolist(), curves.stable_loss.tolist()
    ([10.000408172607422, nan], [10.000408172607422, 100.0])

    Introduced in lesson 06.
    """
    from .model import loss_and_gradient

    dt = np.dtype(dtype)
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
            result = loss_and_gradient(logits, onehot, loss=name, epsilon=epsilon, flush=flush)
            values[name].append(result.loss)
            gradients[name].append(result.grad_logits[0, 1])
        # The tutorial's probability: the core's softmax (the stable loss never forms it).
        probability.append(softmax(logits, flush=flush)[0, 1])
    return GapCurves(
        dtype=dt.name,
        flush=flush,
        epsilon=float(epsilon),
        gaps=gaps,
        probability=np.array(probability, dtype=dt),
        **{f"{name}_loss": np.array(v, dtype=dt) for name, v in values.items()},
        **{f"{name}_gradient": np.array(g, dtype=dt) for name, g in gradients.items()},
    )

"""Softmax regression and its three cross-entropy losses, computed the way TensorFlow 1.x did.

Everything here is plain numpy in the dtype of its inputs. Two details decide *where* the naive
model breaks, so they are kept exactly:

* **Flush-to-zero.** TensorFlow's CPU kernels run with subnormal floats flushed to zero (the
  FTZ/DAZ bits of the x86 MXCSR register). numpy does not. ``flush_subnormals`` emulates it on the
  results that matter: ``exp`` in the softmax, the softmax itself, the naive ``log``-gradient and the
  softmax backward pass.
* **The unfused chain rule of the naive loss.** Autodiff through ``-sum(y * log(p))`` computes
  ``g_p = -y * (1/p)`` and then the softmax backward pass. With ``p == 0`` that gives ``-0 * inf =
  nan``, exactly as TensorFlow did. Simplifying it to ``p - y`` would hide the failure the course
  is about.

Introduced in lesson 01 (softmax, naive loss), 05 (epsilon) and 06 (stable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linear import logits_of

LOSSES = ("naive", "epsilon", "clipped", "stable")
REDUCTIONS = ("sum", "mean")
DTYPES = ("float32", "float64")
DEFAULT_EPSILON = 1e-10
ONEDNN_EXP_FLOOR = np.float32(2.0**-125)  # oneDNN's float32 exp gives 0 below this


def flush_subnormals(a: np.ndarray) -> np.ndarray:
    """Set subnormal entries of ``a`` to zero, in place, as a CPU with FTZ/DAZ would.

    Parameters
    ----------
    a : ndarray of float32 or float64

    Returns
    -------
    ndarray
        The same array, for chaining.

    Examples
    --------
    >>> import numpy as np
    >>> flush_subnormals(np.exp(np.float32([-88.0, -80.0]))).tolist()[0]
    0.0
    """
    a[np.abs(a) < np.finfo(a.dtype).tiny] = 0
    return a


def softmax(logits: np.ndarray, *, flush: bool = True) -> np.ndarray:
    """Softmax over the last axis (the classes), as TensorFlow's ``Softmax`` op computes it.

    The row maximum is subtracted before ``exp`` so that large logits cannot overflow; the
    result is ``exp(z - max) * (1 / sum)`` (TensorFlow multiplies by the reciprocal of the sum).
    With ``flush=True`` subnormal results become exactly 0, as on TensorFlow's CPU kernels, and
    in float32 so does every ``exp`` below ``2**-125`` (TensorFlow's x86 builds run this op on
    oneDNN, whose ``exp`` stops there): a class is given probability exactly 0 once its logit
    trails the largest by ``125 ln 2`` ≈ 86.64 (``float_limits().softmax_zero_gap``).

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.zeros((1, 10), np.float32))[0, 0]
    np.float32(0.1)
    """
    _, exps = _shifted_exp(logits, flush)
    if flush and exps.dtype == np.float32:
        # TensorFlow's float32 Softmax runs on oneDNN, whose exp returns 0 below 2**-125
        # (twice the smallest normal float): with this floor, all 251 batch sizes 150..400
        # fail or survive as in TensorFlow 2.21 (tools/compare_tensorflow.py); without it, one differed.
        exps[exps < ONEDNN_EXP_FLOOR] = 0
    return _normalised(exps, exps.sum(axis=-1, keepdims=True), flush)


def _shifted_exp(logits: np.ndarray, flush: bool) -> tuple[np.ndarray, np.ndarray]:
    """``z - max(z)`` per row and its ``exp`` (subnormals flushed): the first half of a softmax."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    if flush:
        flush_subnormals(exps)
    return shifted, exps


def _normalised(exps: np.ndarray, sums: np.ndarray, flush: bool) -> np.ndarray:
    """``exps / sums`` as TensorFlow computes it, ``exps * (1 / sums)``: the second half."""
    probabilities = exps * np.reciprocal(sums)
    if flush:
        flush_subnormals(probabilities)
    return probabilities


@dataclass(frozen=True)
class LossAndGradient:
    """The loss of one batch, the gradient with respect to the logits, and the probabilities."""

    loss: np.floating
    grad_logits: np.ndarray
    probabilities: np.ndarray


def loss_and_gradient(
    logits: np.ndarray,
    onehot: np.ndarray,
    *,
    loss: str = "naive",
    reduction: str = "sum",
    epsilon: float = DEFAULT_EPSILON,
    flush: bool = True,
) -> LossAndGradient:
    """Cross-entropy of a batch and its gradient with respect to the logits.

    Parameters
    ----------
    logits : ndarray, shape (batch, classes), or (runs, batch, classes) for a stack of runs
    onehot : ndarray, same dtype, shape (batch, classes) or that of ``logits``, one 1 per row
    loss : {"naive", "epsilon", "clipped", "stable"}
        ``naive``: ``-sum(y * log(p))``, the 2015 tutorial; ``epsilon``: ``-sum(y * log(p + eps))``;
        ``clipped``: ``-sum(y * log(clip_by_value(p, eps, 1)))``, the era's other workaround;
        ``stable``: ``sum(logsumexp(z) - z . y)``, as ``softmax_cross_entropy_with_logits``.
    reduction : {"sum", "mean"}
        Sum over the batch (the tutorial's ``reduce_sum``) or the mean of per-example losses.
    epsilon : float
        The constant added inside the log by the ``epsilon`` loss; the lower clip of ``clipped``.
    flush : bool
        Flush subnormal intermediate results to zero, as TensorFlow's CPU kernels do.

    Returns
    -------
    LossAndGradient
        ``loss`` is a scalar of the input dtype (one per run for a stack); it may be ``nan`` or
        ``inf``, never an exception.
    """
    dtype = logits.dtype
    batch = logits.shape[-2]
    # d(loss)/d(per-example loss): 1 for a sum, 1/B for a mean (tf.reduce_mean's gradient).
    scale = dtype.type(1) if reduction == "sum" else dtype.type(1) / dtype.type(batch)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if loss == "stable":
            # softmax_cross_entropy_with_logits: the softmax's two halves, keeping z - max and the
            # row sums for logsumexp(z) - max = log(sum). Not softmax() itself, for its oneDNN exp
            # floor: TensorFlow computes this loss in its own fused kernel
            # (SoftmaxCrossEntropyWithLogits, Eigen code), not in the oneDNN Softmax op that the
            # naive graph's tf.nn.softmax runs on, and tools/compare_tensorflow.py measured the
            # floor on that graph only. The floor could not change the loss: the exps it drops
            # are < 2**-125 against a row sum >= 1. It would only zero probabilities < 2**-125,
            # and so gradient entries that small (with a mean, flushed to 0 anyway).
            shifted, exps = _shifted_exp(logits, flush)
            sums = exps.sum(axis=-1, keepdims=True)
            per_example = (onehot * (np.log(sums) - shifted)).sum(axis=-1)
            probabilities = _normalised(exps, sums, flush)
            # The fused gradient: d/dz [logsumexp(z) - z.y] = p - y, finite for any logits.
            grad_logits = (probabilities - onehot) * scale
        else:
            probabilities = softmax(logits, flush=flush)
            if loss == "naive":
                inside_log = probabilities
            elif loss == "epsilon":
                inside_log = probabilities + dtype.type(epsilon)
            else:  # clipped: tf.clip_by_value(y, epsilon, 1)
                inside_log = np.clip(probabilities, dtype.type(epsilon), dtype.type(1))
            per_example = -(onehot * np.log(inside_log)).sum(axis=-1)
            # Autodiff, unfused, as TensorFlow runs it: Neg/Sum/Mul give -y*scale, Log gives
            # grad * (1/x); with p == 0 the non-target classes give -0 * inf = nan.
            grad_p = (onehot * -scale) * np.reciprocal(inside_log)
            if flush:
                flush_subnormals(grad_p)
            if loss == "clipped":
                # TensorFlow's ClipByValue gradient is 0 wherever the clip changed its input.
                grad_p[(probabilities < dtype.type(epsilon)) | (probabilities > dtype.type(1))] = 0
            # Softmax backward (TensorFlow's _SoftmaxGrad): (g - sum(g * p)) * p.
            grad_logits = (
                grad_p - (grad_p * probabilities).sum(axis=-1, keepdims=True)
            ) * probabilities
        if flush:
            flush_subnormals(grad_logits)
        total = per_example.sum(axis=-1, dtype=dtype)
        value = total if reduction == "sum" else total / dtype.type(batch)
    return LossAndGradient(loss=dtype.type(value), grad_logits=grad_logits, probabilities=probabilities)


def predict(
    images: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    *,
    flush: bool = True,
    summation: str = "blas",
) -> np.ndarray:
    """Predicted class per row, ``argmax(softmax(xW + b))`` as the tutorial's ``tf.argmax(y, 1)``.

    Rows whose logits are not finite get ``-1``, so that NaN predictions count as wrong. A stack
    of runs (``weights`` of shape (runs, 784, 10), ``bias`` (runs, 1, 10)) gives one row per run.
    ``summation`` is the order of the products' sums (:mod:`course_utils.linear`).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        logits = logits_of(images, weights, bias, summation)
        finite = np.isfinite(logits).all(axis=-1)
        predictions = softmax(logits, flush=flush).argmax(axis=-1)
    predictions[~finite] = -1
    return predictions


@dataclass(frozen=True)
class FloatLimits:
    """Logit gaps (``max(z) - z_j``) at which a float type stops representing softmax's output.

    Measured on this machine's ``numpy.exp`` by bisection, not typed in.
    Introduced in lesson 03.
    """

    dtype: str
    exp_underflow_gap_flushed: float  # exp(-gap) < smallest normal: 0 with flush-to-zero
    exp_underflow_gap_ieee: float  # exp(-gap) rounds to 0 even with subnormals
    reciprocal_overflow_gap: float  # p = exp(-gap) is so small that 1/p overflows to inf
    softmax_zero_gap: float  # softmax(...) gives a class exactly 0, TensorFlow-compatible


def _smallest_gap(dtype: np.dtype, broken) -> float:
    """Bisect for the smallest gap g (a value of ``dtype``) for which ``broken(g)`` is true."""
    lo, hi = dtype.type(1), dtype.type(1000)  # exp(-1) is fine, exp(-1000) is 0 in both types
    while True:
        mid = dtype.type((float(lo) + float(hi)) / 2)
        if mid in (lo, hi):
            return float(hi)
        lo, hi = (lo, mid) if broken(mid) else (mid, hi)


def float_limits(dtype: str = "float32") -> FloatLimits:
    """Measure the logit gaps that matter for softmax in ``dtype``.

    Examples
    --------
    >>> limits = float_limits("float32")
    >>> 86 < limits.softmax_zero_gap < limits.exp_underflow_gap_flushed < limits.reciprocal_overflow_gap < 89
    True
    """
    dt = np.dtype(require_choice("dtype", dtype, DTYPES))
    tiny = np.finfo(dt).tiny

    def exp_of(gap):
        with np.errstate(under="ignore"):
            return np.exp(-gap)

    def lone_class_probability(gap):  # softmax of [0, -gap]: the trailing class
        return softmax(np.array([[0, -gap]], dtype=dt))[0, 1]

    with np.errstate(over="ignore", divide="ignore"):
        return FloatLimits(
            dtype=dt.name,
            exp_underflow_gap_flushed=_smallest_gap(dt, lambda g: exp_of(g) < tiny),
            exp_underflow_gap_ieee=_smallest_gap(dt, lambda g: exp_of(g) == 0),
            reciprocal_overflow_gap=_smallest_gap(dt, lambda g: np.isinf(np.reciprocal(exp_of(g)))),
            softmax_zero_gap=_smallest_gap(dt, lambda g: lone_class_probability(g) == 0),
        )


def require_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise a ValueError naming all of them."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        value = np.dtype(value).name
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not valid; choose one of {choices}")
    return value

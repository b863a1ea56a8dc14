"""Softmax regression and its three cross-entropy losses, computed the way TensorFlow 1.x did.

Everything here is plain numpy in the dtype of its inputs (float32, float64, or the low-precision
float16 and bfloat16 of lesson 09, with ``bfloat16`` from ``ml_dtypes``; for those two, sums over the
classes and over the batch are accumulated in float32 and rounded once, as PyTorch's CPU reductions
do: :func:`dtype_sum`). Two details decide *where* the naive model breaks, so they are kept exactly:

* **Flush-to-zero.** TensorFlow's CPU kernels run with subnormal floats flushed to zero (the
  FTZ/DAZ bits of the x86 MXCSR register). numpy does not. ``flush_subnormals`` emulates it on the
  results that matter: ``exp`` in the softmax, the softmax itself, the naive ``log``-gradient and the
  softmax backward pass. In every dtype it flushes what is subnormal *in that dtype* (below
  ``smallest_normal``: 2**-126 in float32 and bfloat16, 2**-14 ≈ 6.1e-5 in float16): see
  :func:`flush_to_zero` for what hardware does per dtype.
* **The unfused chain rule of the naive loss.** Autodiff through ``-sum(y * log(p))`` computes
  ``g_p = -y * (1/p)`` and then the softmax backward pass. With ``p == 0`` that gives ``-0 * inf =
  nan``, exactly as TensorFlow did. Simplifying it to ``p - y`` would hide the failure the course
  is about.

Introduced in lesson 01 (softmax, naive loss), 05 (epsilon), 06 (stable) and 09 (float16, bfloat16).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._fast import class_max, class_sum
from .linear import LOW_PRECISION, SUMMATIONS, is_low_precision, logits_of, numpy_dtype
from .validate import (
    deprecated,
    old_keywords,
    require_array,
    require_bool,
    require_choice,
    require_int,
    require_positive_real,
)

LOSSES = ("naive", "epsilon", "clipped", "stable")
REDUCTIONS = ("sum", "mean")
DTYPES = ("float32", "float64", "float16", "bfloat16")
DEFAULT_EPSILON = 1e-10
ONEDNN_EXP_FLOOR = np.float32(2.0**-125)  # oneDNN's float32 exp gives 0 below this
# The smallest normal number of each dtype, looked up once: the training step flushes several
# arrays per step, and finfo costs more than the flush itself on a small batch (bfloat16's is
# added by _finfo, when ml_dtypes is imported).
_SMALLEST_NORMAL = {np.dtype(name): np.finfo(name).smallest_normal for name in DTYPES[:3]}


def _finfo(dtype: np.dtype):
    """The float limits of ``dtype``: numpy's finfo, or ml_dtypes' for bfloat16."""
    if dtype.name != "bfloat16":
        return np.finfo(dtype)
    import ml_dtypes

    info = ml_dtypes.finfo(dtype)
    _SMALLEST_NORMAL.setdefault(dtype, info.smallest_normal)
    return info


def _tiny(dtype: np.dtype) -> np.floating:
    """The smallest normal number of ``dtype`` (one of DTYPES), looked up."""
    tiny = _SMALLEST_NORMAL.get(dtype)
    return _finfo(dtype).smallest_normal if tiny is None else tiny


def smallest_normal(dtype) -> np.floating:
    """The smallest positive normal number of ``dtype`` (a name or numpy dtype), as that type.

    Examples
    --------
    >>> float(smallest_normal("float16")), float(smallest_normal("bfloat16")) == 2.0**-126
    (6.103515625e-05, True)
    """
    return _tiny(numpy_dtype(require_choice("dtype", dtype, DTYPES)))


def flush_to_zero(a: np.ndarray) -> np.ndarray:
    """Set subnormal entries of ``a`` to zero, in place, as a CPU with FTZ/DAZ would.

    What hardware does, per dtype (``flush_subnormals=True``, the course's default for every
    dtype, is this function applied to the results listed in the module docstring):

    * **float32, float64:** TensorFlow's CPU kernels run with FTZ/DAZ set (spec §4); numpy
      does not (``flush_subnormals=False``); PyTorch's CPU does with
      ``torch.set_flush_denormal(True)``.
    * **bfloat16:** its exponent range is float32's, and CPUs compute bfloat16 operations in
      float32 and round, so a CPU with FTZ (TensorFlow's; PyTorch's with
      ``torch.set_flush_denormal(True)``) flushes below 2**-126 as in float32; TPUs flush
      bfloat16 subnormals too.
    * **float16:** its subnormals (2**-24 to 2**-14) are normal float32 numbers, so a CPU's
      float32 FTZ does not touch them, and NVIDIA GPUs keep float16 subnormals (a plain
      ``torch.float16`` on CPU or GPU keeps them). The course's default flushes them anyway, so
      that one setting means one thing in every dtype ("what is subnormal in the dtype becomes
      0", the behaviour of hardware with float16 flush-to-zero such as Arm's FZ16 mode); lesson 09
      measures both, and ``flush_subnormals=False`` is the GPU-like float16.

    Parameters
    ----------
    a : ndarray of float32, float64, float16 or bfloat16

    Returns
    -------
    ndarray
        The same array, for chaining.

    Examples
    --------
    >>> import numpy as np
    >>> flush_to_zero(np.exp(np.float32([-88.0, -80.0]))).tolist()[0]
    0.0
    """
    a[np.abs(a) < smallest_normal(a.dtype)] = 0
    return a


def _flush(a: np.ndarray) -> np.ndarray:
    """:func:`flush_to_zero` without its checks, for the arrays of a step (of one of DTYPES)."""
    a[np.abs(a) < _tiny(a.dtype)] = 0
    return a


def _zero_below(a: np.ndarray, below) -> np.ndarray:
    """Set the entries of ``a`` below ``below`` to zero, in place. On an array of no negative
    entries (exps, probabilities) with ``below`` the smallest normal, this is :func:`_flush` in
    one pass fewer: ``a < tiny`` and ``|a| < tiny`` agree on every entry >= 0 (and on -0, NaN)."""
    a[a < below] = 0
    return a


def dtype_sum(a: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis)`` in ``a``'s dtype; float16 and bfloat16 accumulate in float32, rounded once.

    That is what PyTorch's CPU reductions do for the two low-precision types (numpy's own float16
    sum rounds after every addition; a sum of 205 losses of about 2.3 each would then lose several
    of them in bfloat16, whose numbers above 256 are 2 apart). float32 and float64 sum as numpy does.

    Examples
    --------
    >>> import numpy as np
    >>> losses = np.full(205, 2.3, dtype="bfloat16")
    >>> float(dtype_sum(losses)), float(np.add.reduce(losses))  # rounded once, or at every addition
    (470.0, 430.0)
    """
    require_array("a", a, dtypes=DTYPES)
    require_int("axis", axis)
    require_bool("keepdims", keepdims)
    return _dtype_sum(a, axis, keepdims)


def _dtype_sum(a: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """:func:`dtype_sum` without its checks (the training step's sums)."""
    if is_low_precision(a.dtype):
        return _dtype_sum(a.astype(np.float32), axis, keepdims).astype(a.dtype)
    if axis == -1:
        return class_sum(a, keepdims)
    return a.sum(axis=axis, keepdims=keepdims)


@old_keywords(flush="flush_subnormals")
def softmax(logits: np.ndarray, *, flush_subnormals: bool = True) -> np.ndarray:
    """Softmax over the last axis (the classes), as TensorFlow's ``Softmax`` op computes it.

    The row maximum is subtracted before ``exp`` so that large logits cannot overflow; the
    result is ``exp(z - max) * (1 / sum)`` (TensorFlow multiplies by the reciprocal of the sum).
    With ``flush_subnormals=True`` subnormal results become exactly 0, as on TensorFlow's CPU kernels, and
    in float32 so does every ``exp`` below ``2**-125`` (TensorFlow's x86 builds run this op on
    oneDNN, whose ``exp`` stops there): a class is given probability exactly 0 once its logit
    trails the largest by ``125 ln 2`` ≈ 86.64 (``float_limits().softmax_zero_gap``).

    Examples
    --------
    >>> import numpy as np
    >>> p = softmax(np.zeros((1, 10), np.float32))
    >>> print(p[0, 0], p.dtype)  # (print: numpy 1.x and 2.x write a scalar's repr differently)
    0.1 float32
    """
    require_array("logits", logits, dtypes=DTYPES)
    require_bool("flush_subnormals", flush_subnormals)
    return _softmax(logits, flush_subnormals)


def _softmax(logits: np.ndarray, flush_subnormals: bool) -> np.ndarray:
    """:func:`softmax` without its checks (the training step's)."""
    # TensorFlow's float32 Softmax runs on oneDNN, whose exp returns 0 below 2**-125 (twice the
    # smallest normal float): with this floor, all 251 batch sizes 150..400 fail or survive as in
    # TensorFlow 2.21 (tools/compare_tensorflow.py); without it, one differed. The floor is above
    # the smallest normal, so zeroing below it also flushes every subnormal exp.
    floor = ONEDNN_EXP_FLOOR if flush_subnormals and logits.dtype == np.float32 else None
    exps = _shifted_exp(logits, flush_subnormals, floor=floor, keep_shifted=False)[1]
    return _normalised(exps, _dtype_sum(exps, keepdims=True), flush_subnormals)


def _shifted_exp(
    logits: np.ndarray, flush_subnormals: bool, *, floor=None, keep_shifted: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """``z - max(z)`` per row and its ``exp`` (subnormals flushed, and with a ``floor`` every exp
    below it zeroed): the first half of a softmax. Without ``keep_shifted`` the exp is computed
    in the array of ``z - max(z)``, which is then not returned (None)."""
    shifted = logits - class_max(logits, keepdims=True)
    exps = np.exp(shifted, out=None if keep_shifted else shifted)
    if floor is not None:
        _zero_below(exps, floor)
    elif flush_subnormals:
        _zero_below(exps, _tiny(exps.dtype))  # (an exp is never negative)
    return (shifted if keep_shifted else None), exps


def _normalised(exps: np.ndarray, sums: np.ndarray, flush_subnormals: bool) -> np.ndarray:
    """``exps / sums`` as TensorFlow computes it, ``exps * (1 / sums)``: the second half. Computed
    in the array ``exps``, which becomes the probabilities."""
    probabilities = np.multiply(exps, np.reciprocal(sums), out=exps)
    if flush_subnormals:
        _zero_below(probabilities, _tiny(exps.dtype))  # (never negative)
    return probabilities


@dataclass(frozen=True)
class LossAndGradient:
    """The loss of one batch, the gradient with respect to the logits, and the probabilities."""

    loss: np.floating | np.ndarray  # one run's loss, or one per run for a stack
    grad_logits: np.ndarray
    probabilities: np.ndarray


@old_keywords(flush="flush_subnormals")
def loss_and_gradient(
    logits: np.ndarray,
    onehot: np.ndarray,
    *,
    loss: str = "naive",
    reduction: str = "sum",
    epsilon: float = DEFAULT_EPSILON,
    flush_subnormals: bool = True,
    loss_scale: float = 1.0,
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
    flush_subnormals : bool
        Flush subnormal intermediate results to zero, as TensorFlow's CPU kernels do.
    loss_scale : float
        Loss scaling (lesson 09): the gradient is that of ``loss_scale * loss``, the backward pass
        starting from ``loss_scale`` instead of 1, in the dtype of ``logits``; the loss returned
        is the unscaled one.

    Returns
    -------
    LossAndGradient
        ``loss`` is a scalar of the input dtype (one per run for a stack); it may be ``nan`` or
        ``inf``, never an exception; bad arguments raise a TypeError or ValueError naming them.
    """
    require_array("logits", logits, ndim=(2, 3), dtypes=DTYPES)
    require_array("onehot", onehot, ndim=(2, 3), dtypes=(logits.dtype.name,))
    if onehot.shape not in (logits.shape, logits.shape[-2:]):
        raise ValueError(
            f"onehot of shape {onehot.shape} does not fit logits of shape {logits.shape}; it must "
            "have one row per example and one column per class"
        )
    require_choice("loss", loss, LOSSES)
    require_choice("reduction", reduction, REDUCTIONS)
    require_positive_real("epsilon", epsilon)
    require_bool("flush_subnormals", flush_subnormals)
    require_positive_real("loss_scale", loss_scale)
    return _loss_and_gradient(logits, onehot, loss, reduction, epsilon, flush_subnormals, loss_scale)


def _loss_and_gradient(
    logits: np.ndarray,
    onehot: np.ndarray,
    loss: str,
    reduction: str,
    epsilon: float,
    flush_subnormals: bool,
    loss_scale: float,
) -> LossAndGradient:
    """:func:`loss_and_gradient` without its checks: the training step's, on arguments that a
    TrainConfig has checked once per run. Fewer temporaries: each array below is computed in the
    one it replaces where nothing else reads that one (the same operations on the same values)."""
    dtype = logits.dtype
    batch = logits.shape[-2]
    # d(loss_scale * loss)/d(per-example loss): the scale for a sum, scale/B for a mean
    # (tf.reduce_mean's gradient). The scale is 1 unless the loss is scaled.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        seed = dtype.type(loss_scale)  # (in float16 a scale above 65504 is inf)
        scale = seed if reduction == "sum" else seed / dtype.type(batch)
        if loss == "stable":
            # softmax_cross_entropy_with_logits: the softmax's two halves, keeping z - max and the
            # row sums for logsumexp(z) - max = log(sum). Not softmax() itself, for its oneDNN exp
            # floor: TensorFlow computes this loss in its own fused kernel
            # (SoftmaxCrossEntropyWithLogits, Eigen code), not in the oneDNN Softmax op that the
            # naive graph's tf.nn.softmax runs on, and tools/compare_tensorflow.py measured the
            # floor on that graph only. The floor could not change the loss: the exps it drops
            # are < 2**-125 against a row sum >= 1. It would only zero probabilities < 2**-125,
            # and so gradient entries that small (with a mean, flushed to 0 anyway).
            shifted, exps = _shifted_exp(logits, flush_subnormals)
            sums = _dtype_sum(exps, keepdims=True)
            log_sum_minus_shifted = np.subtract(np.log(sums), shifted, out=shifted)
            per_example = _dtype_sum(np.multiply(onehot, log_sum_minus_shifted, out=shifted))
            probabilities = _normalised(exps, sums, flush_subnormals)
            # The fused gradient: d/dz [logsumexp(z) - z.y] = p - y, finite for any logits.
            grad_logits = probabilities - onehot
            np.multiply(grad_logits, scale, out=grad_logits)
        else:
            probabilities = _softmax(logits, flush_subnormals)
            if loss == "naive":
                inside_log = probabilities
            elif loss == "epsilon":
                inside_log = probabilities + dtype.type(epsilon)
            else:  # clipped: tf.clip_by_value(y, epsilon, 1)
                # (as min(max(p, eps), 1): np.clip has no bfloat16 loop and would give float32)
                inside_log = np.minimum(np.maximum(probabilities, dtype.type(epsilon)), dtype.type(1))
            log_p = np.log(inside_log)
            per_example = -_dtype_sum(np.multiply(onehot, log_p, out=log_p))
            # Autodiff, unfused, as TensorFlow runs it: Neg/Sum/Mul give -y*scale, Log gives
            # grad * (1/x); with p == 0 the non-target classes give -0 * inf = nan.
            grad_p = np.reciprocal(inside_log)
            np.multiply(onehot * -scale, grad_p, out=grad_p)
            # Each entry is -0, -scale / inside_log (inside_log <= 1 + epsilon), inf or NaN: with a
            # scale this large none is subnormal, and the flush would change nothing.
            if flush_subnormals and not abs(float(scale)) >= 2 * float(_tiny(dtype)) * (1 + epsilon):
                _flush(grad_p)
            if loss == "clipped":
                # TensorFlow's ClipByValue gradient is 0 wherever the clip changed its input.
                grad_p[(probabilities < dtype.type(epsilon)) | (probabilities > dtype.type(1))] = 0
            # Softmax backward (TensorFlow's _SoftmaxGrad): (g - sum(g * p)) * p.
            dot = _dtype_sum(grad_p * probabilities, keepdims=True)
            grad_logits = np.subtract(grad_p, dot, out=grad_p)
            np.multiply(grad_logits, probabilities, out=grad_logits)
        if flush_subnormals:
            _flush(grad_logits)
        if is_low_precision(dtype):  # the batch's sum (and mean) in float32, rounded once
            total = per_example.astype(np.float32).sum(axis=-1)
            value = total if reduction == "sum" else total / np.float32(batch)
        else:
            total = per_example.sum(axis=-1, dtype=dtype)
            value = total if reduction == "sum" else total / dtype.type(batch)
        # Rounded to the input dtype with the shape kept: an array of one loss per run for a
        # stack (even a stack of one run), a scalar for one run. Not ``dtype.type(value)``: under
        # numpy 1.x, ``np.float64`` (a subclass of Python's float) turns an array of one element
        # into a scalar, and a stack of one float64 run lost its run axis (issue 27).
        value = np.asarray(value).astype(dtype, copy=False)[()]
    return LossAndGradient(loss=value, grad_logits=grad_logits, probabilities=probabilities)


@old_keywords(flush="flush_subnormals")
def predict(
    images: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    *,
    flush_subnormals: bool = True,
    summation: str = "blas",
    autocast: str | None = None,
) -> np.ndarray:
    """Predicted class per row, ``argmax(softmax(xW + b))`` as the tutorial's ``tf.argmax(y, 1)``.

    Rows whose logits are not finite get ``-1``, so that NaN predictions count as wrong. A stack
    of runs (``weights`` of shape (runs, 784, 10), ``bias`` (runs, 1, 10)) gives one row per run.
    ``summation`` is the order of the products' sums (:mod:`course_utils.linear`). ``autocast``
    (``"float16"`` or ``"bfloat16"``): mixed precision, the product's operands cast to that dtype
    and the logits cast back to float32 for the softmax (lesson 09).
    """
    require_array("images", images, ndim=2, dtypes=DTYPES)
    require_array("weights", weights, ndim=(2, 3), dtypes=DTYPES)
    require_array("bias", bias, ndim=(1, 2, 3), dtypes=DTYPES)
    if weights.shape[-2:] != (images.shape[1], bias.shape[-1]):
        raise ValueError(
            f"weights of shape {weights.shape} do not fit images of shape {images.shape} and bias "
            f"of shape {bias.shape}; they must be (pixels, classes), or (runs, pixels, classes)"
        )
    require_bool("flush_subnormals", flush_subnormals)
    require_choice("summation", summation, SUMMATIONS)
    if autocast is not None:
        require_choice("autocast", autocast, LOW_PRECISION)
    with np.errstate(invalid="ignore", over="ignore"):
        if autocast is not None:
            low = numpy_dtype(autocast)
            images, weights, bias = images.astype(low), weights.astype(low), bias.astype(low)
        logits = logits_of(images, weights, bias, summation)
        if autocast is not None:
            logits = logits.astype(np.float32)
        finite = np.isfinite(logits).all(axis=-1)
        predictions = softmax(logits, flush_subnormals=flush_subnormals).argmax(axis=-1)
    predictions[~finite] = -1
    return predictions


@dataclass(frozen=True)
class FloatLimits:
    """Logit gaps (``max(z) - z_j``) at which a float type stops representing softmax's output.

    Measured on this machine's ``numpy.exp`` by bisection, not typed in (for bfloat16, the
    ``ml_dtypes`` implementation's); the gaps are values of the dtype itself.
    Introduced in lesson 03; float16 and bfloat16 and the last two fields in lesson 09.
    """

    dtype: str
    exp_underflow_gap_flushed: float  # exp(-gap) < smallest normal: 0 with flush-to-zero
    exp_underflow_gap_ieee: float  # exp(-gap) rounds to 0 even with subnormals
    reciprocal_overflow_gap: float  # p = exp(-gap) is so small that 1/p overflows to inf
    softmax_zero_gap: float  # softmax(...) gives a class exactly 0, TensorFlow-compatible
    largest_finite: float  # the largest finite number of the dtype (beyond it: inf)
    machine_epsilon: float  # the gap between 1 and the next larger number: 1 + it/2 rounds to 1

    @property
    def epsilon(self) -> float:
        """Deprecated name of :attr:`machine_epsilon` (not the 1e-10 of the ``epsilon`` loss)."""
        deprecated("FloatLimits.epsilon", "machine_epsilon")
        return self.machine_epsilon


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

    ``softmax_zero_gap`` is with ``flush_subnormals=True`` (:func:`flush_to_zero` says what
    that means per dtype): in float32 oneDNN's exp floor (2**-125) decides it; in bfloat16, whose
    exponent range is float32's, the flush below 2**-126; in float16 the flush below 2**-14.
    Without flushing, the NaN of the naive loss comes at ``reciprocal_overflow_gap`` (``1/p``
    overflows) or, where that is larger, at ``exp_underflow_gap_ieee``.

    Examples
    --------
    >>> limits = float_limits("float32")
    >>> 86 < limits.softmax_zero_gap < limits.exp_underflow_gap_flushed < limits.reciprocal_overflow_gap < 89
    True
    >>> half = float_limits("float16")  # 2**-14 is exp(-9.70); 1/65504 is exp(-11.09)
    >>> round(half.softmax_zero_gap, 1), round(half.reciprocal_overflow_gap, 1), half.largest_finite
    (9.7, 11.1, 65504.0)
    >>> brain = float_limits("bfloat16")  # float32's range, 8 bits of precision
    >>> 86 < brain.softmax_zero_gap < 89, brain.largest_finite > 3e38, brain.machine_epsilon == 2.0**-7
    (True, True, True)
    """
    dt = numpy_dtype(require_choice("dtype", dtype, DTYPES))
    tiny = smallest_normal(dt)
    info = _finfo(dt)

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
            largest_finite=float(info.max),
            machine_epsilon=float(info.eps),
        )

"""Speed paths of the training step, each equal bit for bit to the plain code it replaces.

:mod:`~course_utils.multirun` trains a stack of K runs at once; its products of a batch with K
weight matrices can be computed as one wide product (batch × 784 times 784 × 10K), about twice as
fast as K products of the single run's shape. A BLAS may round a product differently depending on
its shape (OpenBLAS has a separate kernel for small products, used for 100 × 784 times 784 × 10
but not for 784 × 20), so the wide product is used only where :func:`wide_product_is_exact` has
checked, once per shape, that it gives the very same bits on this machine's BLAS (a BLAS's order of
arithmetic does not depend on the values, so one comparison on random numbers settles it).

The same holds for the sums and maxima over the 10 classes of every row of a batch (softmax, the
loss, the softmax backward pass): numpy reduces each row of 10 on its own, which costs more than
the products of a large stacked step. :func:`class_sum` and :func:`class_max` compute them column
by column over all rows at once, in the very order of numpy's own reduction, where
:func:`class_reductions_are_exact` has checked once per dtype that this numpy gives the same bits.

Part of the science layer (the training step uses it), not of the course's story: the lessons never
need this module.
"""

from __future__ import annotations

import functools

import numpy as np

from . import linear

PIXELS, CLASSES = 784, 10


class StepProducts:
    """The products of one step of a group of runs (one batch ``x``, every stack of the group):
    :func:`~course_utils.linear.logits_of` and :func:`~course_utils.linear.weight_gradients`, bit
    for bit, as one wide product where that is exact, and in another summation order with ``x``
    copied into that order once (:func:`~course_utils.linear.left_operand`: reversed, or in
    float64) for all the stacks and both products of the step, not once per stack and product.

    Given the group's ``weights`` (all its runs, at the step's start), the logits of every run of
    every stack come from one wide product, and after :meth:`prepare_backward` so do the weight
    gradients: the batch is read once for the whole group (the products of a large batch are
    bound by reading it), not once per stack. :meth:`for_rows` hands a stack its part.
    """

    def __init__(self, x: np.ndarray, weights: np.ndarray | None = None, summation: str = "blas"):
        self.x = x
        self._left: dict[str, np.ndarray] = {}
        self._forward = None  # (runs, batch, 10): x @ W of every run of the group, where exact
        self._backward = None  # (runs, 784, 10): x.T @ g of every run, where exact
        if weights is not None and _wide(summation, "forward", x, weights):
            left = self._left_operand("forward", summation)
            self._forward = _wide_forward(x, weights, summation, left)

    def prepare_backward(self, grad_logits: list[np.ndarray], summation: str) -> None:
        """The weight gradients of every run at once: ``grad_logits`` are the stacks' gradients
        with respect to their logits, (runs, batch, 10) each, in the order of the group's rows."""
        if len(grad_logits) > 1:  # (one stack: the stack's own product is the same wide one)
            stacked = np.concatenate(grad_logits)
            if _wide(summation, "backward", self.x, stacked):
                left = self._left_operand("backward", summation)
                self._backward = _wide_backward(self.x, stacked, summation, left)

    def for_rows(self, rows: slice) -> tuple:
        """``(logits_of, weight_gradients)`` for the stack in rows ``rows`` of the group: its part
        of the group's wide products where there are some, else the stack's own products."""

        def logits_of(x, weights, bias, summation: str) -> np.ndarray:
            wide = self._forward
            if wide is None or x is not self.x or weights.dtype != wide.dtype:
                return self.logits_of(x, weights, bias, summation)
            products = wide[rows]  # (a single run's layout, as below)
            return np.add(products, bias, out=np.empty(products.shape, x.dtype))

        def weight_gradients(x, grad_logits, summation: str) -> tuple[np.ndarray, np.ndarray]:
            wide = self._backward
            if wide is None or x is not self.x or grad_logits.dtype != wide.dtype:
                return self.weight_gradients(x, grad_logits, summation)
            return wide[rows], linear.batch_sum(grad_logits, summation)

        return logits_of, weight_gradients

    def _left_operand(self, direction: str, summation: str) -> np.ndarray | None:
        if summation == "blas" or linear.is_low_precision(self.x.dtype):
            return None  # (a low-precision product converts its operands itself)
        if direction not in self._left:
            if direction == "backward" and summation == "float64" and "forward" in self._left:
                # x.T in float64 is the forward's x in float64, transposed: the same values in
                # the same memory layout as converting x.T (astype keeps a transpose's order).
                left = np.swapaxes(self._left["forward"], -1, -2)
            else:
                a = self.x if direction == "forward" else np.swapaxes(self.x, -1, -2)
                left = linear.left_operand(a, summation)
            self._left[direction] = left
        return self._left[direction]

    def logits_of(self, x, weights, bias, summation: str) -> np.ndarray:
        """``x @ W + b`` for every run of a stack, C-contiguous (runs, batch, 10)."""
        left = self._left_operand("forward", summation) if x is self.x else None
        if _wide(summation, "forward", x, weights):
            # The sums over the batch in loss_and_gradient must see a single run's memory layout.
            products = _wide_forward(x, weights, summation, left)
            return np.add(products, bias, out=np.empty(products.shape, x.dtype))
        return linear.logits_of(x, weights, bias, summation, left=left)  # BLAS once per run

    def weight_gradients(self, x, grad_logits, summation: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x.T @ g, sum of g over the batch)`` for every run of a stack."""
        left = self._left_operand("backward", summation) if x is self.x else None
        if _wide(summation, "backward", x, grad_logits):
            product = _wide_backward(x, grad_logits, summation, left)
            return product, linear.batch_sum(grad_logits, summation)
        return linear.weight_gradients(x, grad_logits, summation, left=left)


def _wide(summation: str, direction: str, x: np.ndarray, stacked: np.ndarray) -> bool:
    return (
        linear.low_precision_of(x, stacked) is None  # those take linear's float32 products
        and stacked.ndim == 3
        and len(stacked) > 1
        and wide_product_is_exact(direction, len(x), len(stacked), x.dtype, summation)
    )


@functools.cache
def wide_product_is_exact(
    direction: str, batch: int, runs: int, dtype, summation: str = "blas"
) -> bool:
    """Whether one wide matrix product gives the same bits as one product per run, on this BLAS.

    ``direction`` is ``"forward"`` (batch × 784 times 784 × 10 per run: the logits) or
    ``"backward"`` (784 × batch times batch × 10 per run: the weight gradient), its inner sums in
    the order ``summation`` (:func:`~course_utils.linear.matmul`). Checked once per shape, dtype
    (a numpy dtype or its name) and order on random numbers, against the single run's product,
    with the memory layouts that the stacked trainer uses.
    """
    rng = np.random.default_rng(0)
    x = rng.random((batch, PIXELS)).astype(dtype)
    a = x if direction == "forward" else x.T
    left = linear.left_operand(a, summation)
    stacked = rng.standard_normal((runs, len(a.T), CLASSES)).astype(dtype)
    per_run = np.stack([linear.matmul(a, b, summation, left=left) for b in stacked])
    wide = (_wide_forward if direction == "forward" else _wide_backward)(x, stacked, summation, left)
    return per_run.tobytes() == np.ascontiguousarray(wide).tobytes()


def _wide_forward(x: np.ndarray, weights: np.ndarray, summation: str = "blas", left=None) -> np.ndarray:
    """``x @ weights[k]`` for every k as one product ``x @ [W_1 ... W_K]``: shape (K, batch, 10).
    ``left``: ``x`` in the order ``summation`` (:func:`~course_utils.linear.left_operand`)."""
    return _wide_product(x if left is None else left, weights, summation, x.dtype)


def _wide_backward(
    x: np.ndarray, grad_logits: np.ndarray, summation: str = "blas", left=None
) -> np.ndarray:
    """``x.T @ grad_logits[k]`` for every k as one product: shape (K, 784, 10), C-contiguous.
    ``left``: ``x.T`` in the order ``summation``."""
    product = _wide_product(x.T if left is None else left, grad_logits, summation, x.dtype)
    return np.ascontiguousarray(product)


def _wide_product(left: np.ndarray, stacked: np.ndarray, summation: str, dtype) -> np.ndarray:
    """``left @ stacked[k]`` for every k as one product, ``left`` already in the order
    ``summation`` and ``stacked`` put in it here (as :func:`~course_utils.linear.matmul` does with
    its right factor), rounded to ``dtype``: shape (K, rows of left, 10)."""
    runs, inner, columns = stacked.shape
    if summation == "reversed":
        stacked = stacked[:, ::-1, :]
    elif summation == "float64":
        stacked = stacked.astype(np.float64)
    wide = left @ stacked.transpose(1, 0, 2).reshape(inner, runs * columns)
    products = wide.reshape(len(left), runs, columns).transpose(1, 0, 2)
    return products.astype(dtype, copy=False)


# --- reductions over the class axis: the same bits as numpy's, column by column ---

# numpy sums a row of 8 to 128 numbers pairwise: eight running sums (one per position modulo 8, over
# whole blocks of 8), added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest one by
# one, the total added to the reduction's start value 0 (pairwise_sum in numpy's loops_utils.h).
PAIRWISE_MIN, PAIRWISE_MAX = 8, 128
# From how many rows the columns are faster than numpy's row-by-row reduction (measured on rows of
# 10 float32: about 400 rows for a sum, 100 for a maximum; at 4000 rows about 3 and 11 times faster).
SUM_COLUMNS_MIN_ROWS, MAX_COLUMNS_MIN_ROWS = 400, 100


def class_sum(a: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis=-1, keepdims=keepdims)``, bit for bit, for float32 and float64."""
    n = a.shape[-1]
    if not (
        PAIRWISE_MIN <= n <= PAIRWISE_MAX
        and a.size >= SUM_COLUMNS_MIN_ROWS * n
        and class_reductions_are_exact(a.dtype)
    ):
        return a.sum(axis=-1, keepdims=keepdims)
    return _pairwise_columns(a, keepdims)


def class_max(a: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """``a.max(axis=-1, keepdims=keepdims)``, bit for bit up to the sign of a zero maximum (see
    :func:`class_reductions_are_exact`), for float32 and float64."""
    n = a.shape[-1]
    if not (n >= 2 and a.size >= MAX_COLUMNS_MIN_ROWS * n and class_reductions_are_exact(a.dtype)):
        return a.max(axis=-1, keepdims=keepdims)
    return _running_max_columns(a, keepdims)


def _pairwise_columns(a: np.ndarray, keepdims: bool) -> np.ndarray:
    n = a.shape[-1]
    whole = n - n % 8
    r = [a[..., j] for j in range(8)]
    for start in range(8, whole, 8):
        r = [r[j] + a[..., start + j] for j in range(8)]
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for j in range(whole, n):
        total += a[..., j]
    total = np.add(a.dtype.type(0), total, out=total)
    return total[..., None] if keepdims else total


def _running_max_columns(a: np.ndarray, keepdims: bool) -> np.ndarray:
    # One copy with the class axis outermost, each class's entries of the rows side by side: numpy
    # reduces an outer axis one class after the other, each step over contiguous memory. (For sums
    # the copy costs more than it saves: they add the strided columns.)
    largest = np.ascontiguousarray(np.swapaxes(a, -1, -2)).max(axis=-2)
    return largest[..., None] if keepdims else largest


@functools.cache
def class_reductions_are_exact(dtype) -> bool:
    """Whether :func:`class_sum` and :func:`class_max` give numpy's own numbers on this numpy.

    Checked once per dtype (float32 and float64 only) on rows of 10 with what a training step can
    meet: numbers of every size, equal numbers, zeros of both signs, infinities and NaNs. "The same
    numbers": equal, NaN where numpy gives NaN, zeros of the same sign. Two things are not compared:
    the sign bit of a NaN (a NaN is no number: no later operation turns it into one, and where rows
    hold NaNs of both signs, which one a sum keeps depends on the order a compiler chose), and the
    sign of a zero maximum (``z - max(z)`` is then ±0, whose exp is 1 either way).
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        return False
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        scales = 10.0 ** rng.integers(-40, 40, (4000, 1))
        rows = (rng.standard_normal((4000, 10)) * scales).astype(dtype)
        rows[:200] = rng.integers(-2, 3, (200, 10))  # equal numbers
        rows[200:300] = np.where(rng.random((100, 10)) < 0.5, -0.0, 0.0)
        specials = np.array([np.inf, -np.inf, np.nan, -np.nan], dtype)
        where = rng.random((1000, 10)) < 0.2
        rows[300:1300][where] = rng.choice(specials, where.sum())
        sums_equal = _same(_pairwise_columns(rows, False), rows.sum(axis=-1))
        maxima_equal = _same(_running_max_columns(rows, False), rows.max(axis=-1), zero_sign=False)
    return sums_equal and maxima_equal


def _same(a: np.ndarray, b: np.ndarray, zero_sign: bool = True) -> bool:
    """The same numbers: equal, NaN where the other is NaN, zeros of the same sign (if ``zero_sign``)."""
    nan = np.isnan(a) & np.isnan(b)
    same = (a == b) | nan
    if zero_sign:
        same &= (np.signbit(a) == np.signbit(b)) | nan
    return bool(same.all())

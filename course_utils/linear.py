"""The linear layer ``x W + b`` and its gradients, in a choice of float32 summation orders.

Every logit is a sum of 784 products, and every weight gradient a sum over the batch. A BLAS
adds those terms in an order of its own, which depends on the CPU and the BLAS build (OpenBLAS
picks a kernel per CPU; Apple's numpy uses Accelerate): the same mathematics, other last bits.
In the overshooting regime such a last-bit difference grows until it moves an accuracy in the
third decimal, while outcomes (fails or trains), first losses and the failing pattern hold.

To see that on any one machine, without changing the BLAS (tests never set ``OPENBLAS_*``
variables), the course can add the terms in other orders:

* ``"blas"`` (the default): one BLAS product, in the BLAS's own order.
* ``"reversed"``: the same BLAS product of the terms taken last to first
  (``x[:, ::-1] @ W[::-1]`` for the logits, the batch reversed for ``x.T @ g`` and ``g.sum(0)``):
  another float32 order, which no BLAS kernel takes for the forward one.
* ``"float64"``: the products and sums in float64, rounded once to the run's dtype: in practice the
  correctly rounded result, which no float32-accumulating BLAS reproduces over a whole matrix.
  (For float64 runs it is the BLAS's own order: there is nothing wider to add in.)

An earlier "halves" order (the two half sums of each sum, added) was dropped: OpenBLAS's Nehalem
kernel gives exactly its bits. ``tests/test_linear.py`` checks, on the machine it runs on, that
each alternative order differs from the BLAS there for every product shape a run computes.

**Low precision** (float16, bfloat16; lesson 09). Their products are computed the way matrix units
of accelerators (tensor cores, TPUs) and PyTorch's CPU compute them: the inputs, exactly as they are,
multiplied and added in float32, and the result rounded once to the low dtype. (numpy's own float16
product would round after every addition, and is about 100 times slower than float32.) The bias
sum over the batch is accumulated in float32 likewise. If either operand is low precision the
product is rounded to that dtype.

``$BATCH205_SUMMATION`` chooses the default of every run (``tests/test_rounding_sensitivity.py``
re-executes the lessons in each of ``ALTERNATIVE_SUMMATIONS`` and requires every checked output to
be unchanged).

Introduced in lesson 02 (how far last bits move a run) and lesson 09 (low precision).
"""

from __future__ import annotations

import os

import numpy as np

SUMMATIONS = ("blas", "reversed", "float64")
ALTERNATIVE_SUMMATIONS = SUMMATIONS[1:]  # the orders that stand for another CPU's BLAS
LOW_PRECISION = ("float16", "bfloat16")  # accumulated in float32, rounded once
_FLOAT16 = np.dtype(np.float16)


def numpy_dtype(dtype) -> np.dtype:
    """``np.dtype(dtype)`` for a dtype or a name, "bfloat16" included.

    bfloat16 is ``ml_dtypes``' type, which numpy knows by name once ``ml_dtypes`` is imported. The
    course imports it here, when a bfloat16 is first asked for, not with the package: its import
    costs about a second (ml_dtypes 0.7), which lessons 01-08 never need.
    """
    if isinstance(dtype, str) and dtype == "bfloat16":
        import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy)
    return np.dtype(dtype)


def is_low_precision(dtype: np.dtype) -> bool:
    """Whether ``dtype`` (a numpy dtype) is float16 or bfloat16."""
    # (bfloat16 by its name, which needs no ml_dtypes: an array of it means ml_dtypes is imported;
    # numpy's own types have other kinds, so float32 and float64 are told apart without the name.)
    return dtype == _FLOAT16 or (dtype.kind == "V" and dtype.name == "bfloat16")


def low_precision_of(*arrays: np.ndarray) -> np.dtype | None:
    """The low-precision dtype among the operands of a product, or None."""
    return next((a.dtype for a in arrays if is_low_precision(a.dtype)), None)


def default_summation() -> str:
    """The summation order of runs that do not choose one: ``$BATCH205_SUMMATION`` or ``"blas"``."""
    setting = os.environ.get("BATCH205_SUMMATION") or "blas"
    if setting not in SUMMATIONS:
        choices = ", ".join(repr(s) for s in SUMMATIONS)
        raise ValueError(f"BATCH205_SUMMATION={setting!r} is not valid; choose one of {choices}")
    return setting


def matmul(
    a: np.ndarray, b: np.ndarray, summation: str = "blas", *, left: np.ndarray | None = None
) -> np.ndarray:
    """``a @ b`` (numpy's broadcasting ``matmul``), its inner sums added in the order ``summation``.

    ``left``: ``left_operand(a, summation)``, when the caller has it already (the stacked trainer
    makes it once per step for every stack; only for ``a`` and ``b`` of float32 or float64)."""
    low = low_precision_of(a, b)
    if low is not None:  # float32 accumulation, one rounding
        a, b = a.astype(np.float32, copy=False), b.astype(np.float32, copy=False)
        return matmul(a, b, summation).astype(low)
    if summation == "blas":
        return np.matmul(a, b)
    if left is None:
        left = left_operand(a, summation)
    if summation == "reversed":  # contiguous copies, so that the BLAS (not a strided loop) adds them
        return np.matmul(left, np.ascontiguousarray(b[..., ::-1, :]))
    wide = np.matmul(left, b.astype(np.float64))
    return wide.astype(np.result_type(a, b), copy=False)


def left_operand(a: np.ndarray, summation: str) -> np.ndarray:
    """The left factor of a product as ``matmul`` multiplies it in the order ``summation``: itself
    ("blas"), its terms last to first in a contiguous copy ("reversed"), in float64 ("float64")."""
    if summation == "blas":
        return a
    if summation == "reversed":
        return np.ascontiguousarray(a[..., ::-1])
    return a.astype(np.float64)


def batch_sum(g: np.ndarray, summation: str = "blas") -> np.ndarray:
    """``g.sum(axis=-2, keepdims=True)``: the bias gradient, summed over the batch axis."""
    if is_low_precision(g.dtype):  # float32 accumulation, one rounding
        return batch_sum(g.astype(np.float32), summation).astype(g.dtype)
    if summation == "blas":
        return g.sum(axis=-2, keepdims=True)
    if summation == "reversed":
        return np.ascontiguousarray(g[..., ::-1, :]).sum(axis=-2, keepdims=True)
    return g.astype(np.float64).sum(axis=-2, keepdims=True).astype(g.dtype, copy=False)


def logits_of(
    x: np.ndarray, weights: np.ndarray, bias: np.ndarray, summation: str = "blas", *, left=None
) -> np.ndarray:
    """``x @ W + b``: the logits of a batch (or of every run of a stack); ``left`` as in matmul."""
    return matmul(x, weights, summation, left=left) + bias


def weight_gradients(
    x: np.ndarray, grad_logits: np.ndarray, summation: str = "blas", *, left=None
) -> tuple[np.ndarray, np.ndarray]:
    """``(x.T @ g, sum of g over the batch)``: the gradients of W and b from those of the logits;
    ``left``: ``left_operand(x.T, summation)``, if the caller has it."""
    product = matmul(np.swapaxes(x, -1, -2), grad_logits, summation, left=left)
    return product, batch_sum(grad_logits, summation)

"""Speed paths of the stacked trainer, each equal bit for bit to the plain code it replaces.

:mod:`~course_utils.multirun` trains a stack of K runs at once; its products of a batch with K
weight matrices can be computed as one wide product (batch × 784 times 784 × 10K), about twice as
fast as K products of the single run's shape. A BLAS may round a product differently depending on
its shape (OpenBLAS has a separate kernel for small products, used for 100 × 784 times 784 × 10
but not for 784 × 20), so the wide product is used only where :func:`wide_product_is_exact` has
checked, once per shape, that it gives the very same bits on this machine's BLAS (a BLAS's order of
arithmetic does not depend on the values, so one comparison on random numbers settles it).

Not part of the course's story: the lessons never need this module.
"""

from __future__ import annotations

import functools

import numpy as np

from . import linear

PIXELS, CLASSES = 784, 10


def logits_of(x: np.ndarray, weights: np.ndarray, bias: np.ndarray, summation: str) -> np.ndarray:
    """:func:`~course_utils.linear.logits_of`, bit for bit, C-contiguous (runs, batch, 10)."""
    if _wide(summation, "forward", x, weights):
        # The sums over the batch in loss_and_gradient must see a single run's memory layout.
        products = _wide_forward(x, weights)
        return np.add(products, bias, out=np.empty(products.shape, x.dtype))
    return linear.logits_of(x, weights, bias, summation)  # BLAS once per run, as a single run


def weight_gradients(
    x: np.ndarray, grad_logits: np.ndarray, summation: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~course_utils.linear.weight_gradients`, bit for bit."""
    if _wide(summation, "backward", x, grad_logits):
        return _wide_backward(x, grad_logits), linear.batch_sum(grad_logits, summation)
    return linear.weight_gradients(x, grad_logits, summation)


def _wide(summation: str, direction: str, x: np.ndarray, stacked: np.ndarray) -> bool:
    return (
        summation == "blas"
        and linear.low_precision_of(x, stacked) is None  # those take linear's float32 products
        and stacked.ndim == 3
        and len(stacked) > 1
        and wide_product_is_exact(direction, len(x), len(stacked), x.dtype)
    )


@functools.cache
def wide_product_is_exact(direction: str, batch: int, runs: int, dtype) -> bool:
    """Whether one wide matrix product gives the same bits as one product per run, on this BLAS.

    ``direction`` is ``"forward"`` (batch × 784 times 784 × 10 per run: the logits) or
    ``"backward"`` (784 × batch times batch × 10 per run: the weight gradient). Checked once per
    shape (``dtype`` is a numpy dtype or its name) on random numbers, with the memory layouts that
    the stacked trainer uses.
    """
    rng = np.random.default_rng(0)
    x = rng.random((batch, PIXELS)).astype(dtype)
    if direction == "forward":
        weights = rng.standard_normal((runs, PIXELS, CLASSES)).astype(dtype)
        per_run = np.stack([x @ w for w in weights])
        return per_run.tobytes() == _wide_forward(x, weights).tobytes()
    grads = rng.standard_normal((runs, batch, CLASSES)).astype(dtype)
    per_run = np.stack([x.T @ g for g in grads])
    return per_run.tobytes() == np.ascontiguousarray(_wide_backward(x, grads)).tobytes()


def _wide_forward(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``x @ weights[k]`` for every k as one product ``x @ [W_1 ... W_K]``: shape (K, batch, 10)."""
    runs = len(weights)
    wide = x @ weights.transpose(1, 0, 2).reshape(PIXELS, runs * CLASSES)
    return wide.reshape(len(x), runs, CLASSES).transpose(1, 0, 2)


def _wide_backward(x: np.ndarray, grad_logits: np.ndarray) -> np.ndarray:
    """``x.T @ grad_logits[k]`` for every k as one product: shape (K, 784, 10), C-contiguous."""
    runs, batch, _ = grad_logits.shape
    wide = x.T @ grad_logits.transpose(1, 0, 2).reshape(batch, runs * CLASSES)
    return np.ascontiguousarray(wide.reshape(PIXELS, runs, CLASSES).transpose(1, 0, 2))

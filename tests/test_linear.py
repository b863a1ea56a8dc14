"""The linear layer in several float32 summation orders: the same mathematics, other last bits."""

import numpy as np
import pytest

from course_utils import TrainConfig, load_mnist, run, train
from course_utils.linear import (
    ALTERNATIVE_SUMMATIONS,
    SUMMATIONS,
    batch_sum,
    default_summation,
    matmul,
)
from course_utils.multirun import train_many


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


# The products a run computes, at the tutorial's batch size, at the edge and far past it:
# (batch × 784) @ (784 × 10) for the logits, (784 × batch) @ (batch × 10) for the weight gradient.
BATCH_SIZES = (100, 205, 1000)


def _operands(batch_size):
    rng = np.random.default_rng(batch_size)
    x = rng.random((batch_size, 784), dtype=np.float32)
    w = rng.standard_normal((784, 10)).astype(np.float32)
    g = rng.standard_normal((batch_size, 10)).astype(np.float32)
    return x, w, g


def _products_equal_to_the_blas(summation):
    """The products of a run for which ``summation`` gives the BLAS's bits exactly, on this machine."""
    same = []
    for b in BATCH_SIZES:
        x, w, g = _operands(b)
        pairs = {
            f"logits B={b}": (matmul(x, w, summation), x @ w),
            f"weight gradient B={b}": (matmul(x.T, g, summation), x.T @ g),
            f"bias gradient B={b}": (batch_sum(g, summation), g.sum(axis=-2, keepdims=True)),
        }
        same += [name for name, (ours, blas) in pairs.items() if np.array_equal(ours, blas)]
    return same


@pytest.mark.parametrize("summation", ALTERNATIVE_SUMMATIONS)
def test_each_alternative_order_differs_from_this_machines_blas(summation):
    # Otherwise the rounding-sensitivity test, which runs the lessons in these orders, would test
    # nothing on this machine (OpenBLAS's Nehalem kernel adds a 784-long sum exactly as two halves
    # would: the course's first alternative order, "halves", was dropped for that).
    assert _products_equal_to_the_blas(summation) == []


def test_the_check_of_difference_catches_an_order_equal_to_the_blas():
    assert len(_products_equal_to_the_blas("blas")) == 3 * len(BATCH_SIZES)


@pytest.mark.parametrize("summation", SUMMATIONS)
def test_every_order_computes_the_same_products(summation):
    for b in BATCH_SIZES:
        x, w, g = _operands(b)
        exact = x.astype(np.float64) @ w.astype(np.float64)
        assert matmul(x, w, summation).dtype == np.float32
        assert np.allclose(matmul(x, w, summation), exact, rtol=0, atol=1e-3)
        exact_gradient = x.T.astype(np.float64) @ g.astype(np.float64)
        assert np.allclose(matmul(x.T, g, summation), exact_gradient, rtol=0, atol=1e-3)


def test_float64_order_rounds_the_exact_sum_once():
    x, w, _ = _operands(205)
    exact = x.astype(np.float64) @ w.astype(np.float64)
    assert np.array_equal(matmul(x, w, "float64"), exact.astype(np.float32))


def test_the_orders_add_a_batch_sum_first_to_last_last_to_first_or_exactly():
    # One column whose float32 sum depends on the order: 1e8 + 1 rounds back to 1e8.
    g = np.array([[1e8], [1.0], [-1e8]], dtype=np.float32)
    sums = {s: float(batch_sum(g, s)[0, 0]) for s in SUMMATIONS}
    assert sums == {"blas": 0.0, "reversed": 0.0, "float64": 1.0}
    g = np.array([[1.0], [1e8], [-1e8]], dtype=np.float32)
    assert float(batch_sum(g, "reversed")[0, 0]) == 1.0 and float(batch_sum(g, "blas")[0, 0]) == 0.0
    stack = np.arange(12, dtype=np.float32).reshape(2, 3, 2)  # two runs, batch 3, two classes
    for s in SUMMATIONS:
        assert batch_sum(stack, s).tolist() == [[[6.0, 9.0]], [[24.0, 27.0]]]


def test_the_environment_chooses_the_default_order(monkeypatch):
    monkeypatch.delenv("BATCH205_SUMMATION", raising=False)
    assert default_summation() == "blas" and TrainConfig().summation == "blas"
    monkeypatch.setenv("BATCH205_SUMMATION", "reversed")
    assert default_summation() == "reversed" and TrainConfig().summation == "reversed"
    monkeypatch.setenv("BATCH205_SUMMATION", "halves")
    with pytest.raises(ValueError, match=r"BATCH205_SUMMATION='halves'.*'blas', 'reversed', 'float64'"):
        default_summation()


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError, match=r"summation='kahan' is not valid.*'blas', 'reversed'"):
        TrainConfig(summation="kahan")
    assert SUMMATIONS == ("blas", *ALTERNATIVE_SUMMATIONS)


@pytest.mark.parametrize("summation", ALTERNATIVE_SUMMATIONS)
def test_another_order_moves_last_bits_not_the_first_loss_or_the_outcome(data, summation):
    blas, other = train(data, batch_size=205), train(data, batch_size=205, summation=summation)
    assert abs(float(other.losses[0]) - 472.0297) < 1e-3
    assert blas.first_nonfinite_step == other.first_nonfinite_step == 3
    assert np.allclose(blas.losses[:3], other.losses[:3], rtol=1e-5)
    # Other last bits: the weights after a few steps at the tutorial's batch size differ.
    blas, other = train(data, steps=5), train(data, steps=5, summation=summation)
    assert blas.weights.tobytes() != other.weights.tobytes()
    assert np.allclose(blas.weights, other.weights, rtol=1e-4, atol=1e-6)


def test_many_runs_in_any_order_equal_single_runs_in_that_order(data):
    configs = [
        TrainConfig(batch_size=b, learning_rate=lr, summation=s, steps=60)
        for b in (174, 209)
        for lr in (0.01, 0.005)
        for s in SUMMATIONS
    ]
    for many, config in zip(train_many(data, configs, workers=1), configs, strict=True):
        single = run(data, config)
        assert many.config.summation == config.summation
        assert many.losses.tobytes() == single.losses.tobytes(), config
        assert many.weights.tobytes() == single.weights.tobytes(), config
        assert many.test_accuracy == single.test_accuracy, config

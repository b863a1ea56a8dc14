"""Clipping as TensorFlow differentiated it (the core's ``loss="clipped"``), the per-step gradient
trace, and the loss-by-gap curves (``course_utils.diagnostics``)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from course_utils import (
    batch_indices,
    float_limits,
    load_mnist,
    loss_and_gradient,
    losses_by_gap,
    predict,
    softmax,
    trace_gradients,
    train,
)


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def clipped_loss_and_gradient(logits, onehot, **options):
    """``-sum(y * log(clip_by_value(p, epsilon, 1)))`` and its gradient, as lesson 05 computes it."""
    return loss_and_gradient(logits, onehot, loss="clipped", **options)


def batch(seed, size, spread, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=spread, size=(size, 10)).astype(dtype)
    onehot = np.eye(10, dtype=dtype)[rng.integers(0, 10, size)]
    return logits, onehot


def test_clipped_equals_naive_where_no_probability_is_clipped():
    logits, onehot = batch(1, 6, 2.0)
    for reduction in ("sum", "mean"):
        clipped = clipped_loss_and_gradient(logits, onehot, reduction=reduction)
        naive = loss_and_gradient(logits, onehot, loss="naive", reduction=reduction)
        np.testing.assert_allclose(clipped.loss, naive.loss, rtol=1e-12)
        np.testing.assert_allclose(clipped.grad_logits, naive.grad_logits, rtol=1e-12, atol=1e-15)


def test_clipped_gradient_matches_finite_differences_where_nothing_is_clipped():
    logits, onehot = batch(2, 3, 1.0)
    analytic = clipped_loss_and_gradient(logits, onehot).grad_logits
    numeric = np.zeros_like(logits)
    h = 1e-6
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (
            clipped_loss_and_gradient(up, onehot).loss - clipped_loss_and_gradient(down, onehot).loss
        ) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_clipping_gives_no_gradient_below_the_bound_where_epsilon_gives_a_weak_one():
    logits = np.zeros((2, 10), np.float32)
    logits[0, 0] = 30.0  # target p ~ 1e-13: clipped (below 1e-10) but not zero
    logits[1, 0] = 100.0  # target p flushed to exactly 0
    onehot = np.eye(10, dtype=np.float32)[[1, 1]]
    clipped = clipped_loss_and_gradient(logits, onehot)
    epsilon = loss_and_gradient(logits, onehot, loss="epsilon")
    assert np.all(clipped.grad_logits == 0)
    assert epsilon.grad_logits[0, 1] < 0 and np.all(epsilon.grad_logits[1] == 0)
    # The forward values agree: both losses are capped at -log(1e-10).
    np.testing.assert_allclose(clipped.loss, 2 * -np.log(np.float32(1e-10)), rtol=1e-6)
    assert np.isfinite(clipped.loss) and clipped.grad_logits.dtype == np.float32


def test_clip_gradient_passes_at_the_bound_itself_as_tensorflows_clip_by_value():
    # ClipByValue's gradient is zero only where x < lo or x > hi; x == lo keeps its gradient.
    logits = np.log(np.array([[0.25, 0.75]]))
    onehot = np.array([[1.0, 0.0]])
    p = float(softmax(logits)[0, 0])
    at_bound = clipped_loss_and_gradient(logits, onehot, epsilon=p)
    above = clipped_loss_and_gradient(logits, onehot, epsilon=float(np.nextafter(p, 1.0)))
    assert at_bound.grad_logits[0, 0] != 0
    assert np.all(above.grad_logits == 0)


def test_a_loop_of_batch_indices_and_a_loss_function_reproduces_train(data):
    # The lesson trains the clipped loss with such a loop; with the core's loss it must equal train().
    weights, bias = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    onehot = np.eye(10, dtype=np.float32)[data.train_labels]
    batches = batch_indices(len(data.train_labels), 300)
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(40):
            idx = next(batches)
            x = data.train_images[idx]
            grad = loss_and_gradient(x @ weights + bias, onehot[idx], loss="epsilon").grad_logits
            weights -= (x.T @ grad) * np.float32(0.01)
            bias -= grad.sum(axis=0) * np.float32(0.01)
    reference = train(data, batch_size=300, loss="epsilon", steps=40)
    assert np.array_equal(weights, reference.weights) and np.array_equal(bias, reference.bias)


def test_trace_records_every_step_and_ends_with_the_runs_accuracy(data):
    trace = trace_gradients(data, loss="epsilon", batch_size=100, steps=25, every=10)
    assert len(trace.zero_rows) == len(trace.dead_rows) == 25
    assert trace.accuracy_steps.tolist() == [10, 20, 25]
    assert trace.accuracy[-1] == trace.result.test_accuracy
    assert np.all(trace.dead_rows <= trace.zero_rows)
    assert "GradientTrace(" in repr(trace)


def test_epsilon_at_large_batch_leaves_examples_without_gradient_and_stable_does_not(data):
    epsilon = trace_gradients(data, loss="epsilon", batch_size=1000, steps=15)
    stable = trace_gradients(data, loss="stable", batch_size=1000, steps=15)
    assert not epsilon.result.went_nonfinite and not stable.result.went_nonfinite
    assert epsilon.dead_rows.max() > 0.05
    assert stable.dead_rows.max() == 0  # p - y is -1 at a target with p = 0, never 0


def test_an_epsilon_below_one_over_flt_max_brings_the_nan_back(data):
    trace = trace_gradients(data, loss="epsilon", epsilon=1e-40, batch_size=400, steps=10)
    assert trace.result.went_nonfinite and trace.result.first_nonfinite_stage == "gradient"


def test_never_predicted_lists_classes_missing_from_the_test_predictions(data):
    trace = trace_gradients(data, loss="epsilon", batch_size=1000, steps=30)
    predictions = predict(data.test_images, trace.result.weights, trace.result.bias)
    missing = tuple(k for k in range(10) if not np.any(predictions == k))
    assert trace.never_predicted == missing


def test_naive_breaks_at_float32s_limits_and_stable_never(data):
    limits = float_limits("float32")
    gaps = np.arange(80.0, 110.0, 0.05)
    flushed = losses_by_gap(gaps, flush_subnormals=True)
    ieee = losses_by_gap(gaps, flush_subnormals=False)
    first = lambda values: gaps[np.argmax(~np.isfinite(values))]  # noqa: E731
    assert abs(first(flushed.naive_gradient) - limits.softmax_zero_gap) < 0.1
    assert abs(gaps[np.argmax(flushed.probability == 0)] - limits.softmax_zero_gap) < 0.1
    assert abs(first(ieee.naive_gradient) - limits.reciprocal_overflow_gap) < 0.1
    assert abs(first(ieee.naive_loss) - limits.exp_underflow_gap_ieee) < 0.1
    for curves in (flushed, ieee):
        assert np.isfinite(curves.stable_loss).all() and np.isfinite(curves.epsilon_gradient).all()
        np.testing.assert_allclose(curves.stable_gradient, -1, atol=1e-6)
    expected = gaps + np.log1p(9 * np.exp(-gaps))
    np.testing.assert_allclose(flushed.stable_loss, expected, rtol=1e-6)
    assert np.all(flushed.epsilon_loss <= -np.log(np.float32(1e-10)) * (1 + 1e-6))

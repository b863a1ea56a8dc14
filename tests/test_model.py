"""The losses and their gradients, against float64 finite differences and TensorFlow's semantics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import float_limits, loss_and_gradient, softmax
from course_utils.linear import numpy_dtype
from course_utils.model import flush_to_zero


def batch(seed, batch_size, spread):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=spread, size=(batch_size, 10))
    onehot = np.eye(10)[rng.integers(0, 10, batch_size)]
    return logits, onehot


def finite_difference(logits, onehot, h=1e-6, **kwargs):
    grad = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (
            loss_and_gradient(up, onehot, **kwargs).loss
            - loss_and_gradient(down, onehot, **kwargs).loss
        ) / (2 * h)
    return grad


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    batch_size=st.integers(1, 6),
    spread=st.floats(0.1, 5.0),
    loss=st.sampled_from(["naive", "epsilon", "clipped", "stable"]),
    reduction=st.sampled_from(["sum", "mean"]),
)
def test_gradient_matches_central_finite_differences_in_float64(
    seed, batch_size, spread, loss, reduction
):
    logits, onehot = batch(seed, batch_size, spread)
    analytic = loss_and_gradient(logits, onehot, loss=loss, reduction=reduction).grad_logits
    numeric = finite_difference(logits, onehot, loss=loss, reduction=reduction)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_all_three_losses_agree_when_nothing_underflows(reduction):
    logits, onehot = batch(1, 8, 2.0)
    values = [
        loss_and_gradient(logits, onehot, loss=k, reduction=reduction) for k in ("naive", "stable")
    ]
    np.testing.assert_allclose(values[0].loss, values[1].loss, rtol=1e-12)
    np.testing.assert_allclose(values[0].grad_logits, values[1].grad_logits, atol=1e-12)
    eps = loss_and_gradient(logits, onehot, loss="epsilon", reduction=reduction, epsilon=1e-10)
    np.testing.assert_allclose(eps.loss, values[1].loss, rtol=1e-7)


def test_mean_is_sum_divided_by_batch_size():
    logits, onehot = batch(2, 7, 1.0)
    total = loss_and_gradient(logits, onehot, reduction="sum")
    mean = loss_and_gradient(logits, onehot, reduction="mean")
    assert mean.loss == pytest.approx(total.loss / 7, rel=1e-14)
    np.testing.assert_allclose(mean.grad_logits * 7, total.grad_logits, rtol=1e-13)


def gap_logits(gap, dtype="float32"):
    """One example: the target class at 0, class 1 at -gap, the others far below (sum of exps ~ 1)."""
    logits = np.full((1, 10), -30.0, dtype=dtype)
    logits[0, 0], logits[0, 1] = 0.0, -gap
    return logits, np.eye(10, dtype=dtype)[[0]]


def test_naive_gradient_is_nan_when_probability_underflows_and_stable_stays_finite():
    logits, onehot = gap_logits(120.0)
    assert softmax(logits)[0, 1] == 0
    naive = loss_and_gradient(logits, onehot, loss="naive")
    stable = loss_and_gradient(logits, onehot, loss="stable")
    assert np.isnan(naive.grad_logits).all()
    assert np.isnan(naive.loss)
    assert np.isfinite(stable.grad_logits).all() and np.isfinite(stable.loss)


def test_flush_to_zero_makes_exp_minus_88_exactly_zero_in_float32():
    with np.errstate(under="ignore"):
        ieee = np.exp(np.float32([-88.0]))
    assert 0 < ieee[0] < np.finfo(np.float32).tiny  # numpy keeps the subnormal
    assert flush_to_zero(ieee.copy())[0] == 0.0


def test_naive_gradient_at_gap_88_is_nan_with_flushing_and_finite_without():
    logits, onehot = gap_logits(88.0)
    assert np.isnan(loss_and_gradient(logits, onehot, flush_subnormals=True).grad_logits).any()
    assert np.isfinite(loss_and_gradient(logits, onehot, flush_subnormals=False).grad_logits).all()


def test_without_flushing_the_naive_gradient_breaks_once_the_gap_passes_the_reciprocal_limit():
    limit = float_limits("float32").reciprocal_overflow_gap
    assert limit == pytest.approx(88.72, abs=0.01)
    below, _ = gap_logits(limit - 0.05)
    above, onehot = gap_logits(limit + 0.05)
    assert np.isfinite(loss_and_gradient(below, onehot, flush_subnormals=False).grad_logits).all()
    assert np.isnan(loss_and_gradient(above, onehot, flush_subnormals=False).grad_logits).any()


def test_float32_limits_are_the_documented_gaps():
    limits = float_limits("float32")
    assert limits.exp_underflow_gap_flushed == pytest.approx(
        -np.log(np.finfo(np.float32).tiny), abs=1e-4
    )
    assert limits.exp_underflow_gap_ieee == pytest.approx(150 * np.log(2), abs=1e-3)
    assert limits.reciprocal_overflow_gap == pytest.approx(np.log(np.finfo(np.float32).max), abs=1e-4)


def test_softmax_subtracts_the_max_so_huge_logits_do_not_overflow():
    p = softmax(np.float32([[1000.0, 999.0, -1000.0]]))
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0, rel=1e-6)


def test_arithmetic_stays_in_the_input_dtype():
    for dtype in ("float32", "float64"):
        logits, onehot = gap_logits(3.0, dtype)
        for loss in ("naive", "epsilon", "clipped", "stable"):
            result = loss_and_gradient(logits, onehot, loss=loss)
            assert result.loss.dtype == dtype and result.grad_logits.dtype == dtype


def test_float32_softmax_gives_zero_below_onednns_exp_floor_as_tensorflow_does():
    # TensorFlow 2.21's float32 softmax (oneDNN) returns exactly 0 for a class 86.7 below the
    # largest logit, although exp(-86.7) = 2.2e-38 is a normal float.
    logits = np.float32([[0.0, -86.7]])
    assert softmax(logits, flush_subnormals=True)[0, 1] == 0
    assert softmax(logits, flush_subnormals=False)[0, 1] > np.finfo(np.float32).tiny
    assert softmax(np.float32([[0.0, -86.6]]), flush_subnormals=True)[0, 1] > 0
    assert float_limits("float32").softmax_zero_gap == pytest.approx(125 * np.log(2), abs=1e-3)
    assert softmax(np.float64([[0.0, -86.7]]), flush_subnormals=True)[0, 1] > 0  # float64 runs on Eigen


def test_clipped_loss_is_finite_and_silences_the_example_whose_probability_underflowed():
    logits, onehot = gap_logits(120.0)  # class 1 has p = 0 exactly
    onehot = np.eye(10, dtype="float32")[[1]]  # ... and it is the target
    clipped = loss_and_gradient(logits, onehot, loss="clipped", epsilon=1e-10)
    assert clipped.loss == pytest.approx(-np.log(1e-10), rel=1e-6)
    assert (clipped.grad_logits == 0).all()  # ClipByValue passes no gradient where it clipped


def test_the_stable_loss_has_no_onednn_exp_floor_and_the_floor_could_not_change_its_loss():
    # TensorFlow's fused softmax_cross_entropy_with_logits is not its oneDNN Softmax op.
    logits, onehot = np.float32([[0.0, -86.7]]), np.float32([[1.0, 0.0]])
    stable = loss_and_gradient(logits, onehot, loss="stable")
    assert softmax(logits)[0, 1] == 0 < stable.probabilities[0, 1] < np.float32(2.0**-125)
    floored_sum = np.float32(1) + np.float32(0)  # the row sum with the floor's zero
    assert stable.loss == np.log(floored_sum) - logits[0, 0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("runs", [None, 1, 3])
def test_a_stacks_loss_is_an_array_with_one_value_per_run_even_for_one_run(dtype, runs):
    """One run's loss is a scalar of its dtype; a stack's (logits of shape (runs, batch, classes))
    is an array of that dtype with one loss per run, each the loss of that run alone. Issue 27:
    numpy 1.x's ``np.float64(x)`` makes a scalar of an array of one element, so a stack of one
    float64 run lost its run axis and multirun's record of a NaN raised IndexError."""
    dtype = numpy_dtype(dtype)  # (numpy knows "bfloat16" once ml_dtypes is imported)
    rng = np.random.default_rng(27)
    shape = (5, 10) if runs is None else (runs, 5, 10)
    logits = rng.normal(scale=3.0, size=shape).astype(dtype)
    onehot = np.eye(10, dtype=dtype)[rng.integers(0, 10, shape[:-1])]
    for loss, reduction in [("naive", "sum"), ("stable", "mean")]:
        result = loss_and_gradient(logits, onehot, loss=loss, reduction=reduction)
        if runs is None:
            assert isinstance(result.loss, np.generic) and not isinstance(result.loss, np.ndarray)
            assert result.loss.dtype == dtype
            continue
        assert isinstance(result.loss, np.ndarray), type(result.loss)
        assert result.loss.shape == (runs,) and result.loss.dtype == dtype
        for j in range(runs):  # each run's loss, bit for bit, is that of the run alone
            alone = loss_and_gradient(logits[j], onehot[j], loss=loss, reduction=reduction).loss
            assert result.loss[j].tobytes() == alone.tobytes()

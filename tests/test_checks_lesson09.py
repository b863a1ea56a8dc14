"""Lesson 09's checks fail wrong answers with a hint and pass the course's solutions."""

import math

import numpy as np
import pytest

from course_utils import check_scaled_weight_gradient, check_underflow_gap, smallest_normal
from course_utils.checks import CheckFailed


def underflow_gap(dtype):  # the course's solution
    return -math.log(float(smallest_normal(dtype)))


def scaled_weight_gradient(images, grad_logits, loss_scale):  # the course's solution
    low = (grad_logits * np.float32(loss_scale)).astype(np.float16)
    product = (images.T @ low.astype(np.float32)).astype(np.float16)
    return product.astype(np.float32) / np.float32(loss_scale)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_solutions_pass(hidden, capsys):
    check_underflow_gap(underflow_gap, hidden=hidden)
    check_scaled_weight_gradient(scaled_weight_gradient, hidden=hidden)
    assert capsys.readouterr().out.count("✓") == (0 if hidden else 2)  # hidden: silent


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda dtype: math.log(float(smallest_normal(dtype))), "without the minus sign"),
        (lambda dtype: 11.09, "1/p overflows"),
        (lambda dtype: 17.33, "subnormals"),
        (lambda dtype: 9.0, "expected about 9.7041"),
        (lambda dtype: "9.7", "should be a number"),
    ],
)
def test_wrong_underflow_gaps_fail_with_a_hint(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_underflow_gap(wrong)


def test_an_underflow_gap_right_for_float16_only_fails_the_hidden_test():
    with pytest.raises(CheckFailed, match="bfloat16"):
        check_underflow_gap(lambda dtype: 14 * math.log(2), hidden=True)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, g, s: scaled_weight_gradient(x, g, 1.0), "without loss scaling"),
        (lambda x, g, s: x.T @ (g * s).astype(np.float16).astype(np.float32), "differs at index"),
        (lambda x, g, s: scaled_weight_gradient(x, g, s).astype(np.float64), "dtype float64"),
        (lambda x, g, s: scaled_weight_gradient(x, g, s).T, "shape"),
        (lambda x, g, s: scaled_weight_gradient(x, g, s).tolist(), "numpy array"),
    ],
)
def test_wrong_scaled_gradients_fail_with_a_hint(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_scaled_weight_gradient(wrong)


def test_unsolved_exercises_are_not_done_in_the_visible_check_and_fail_hidden(capsys):
    def stub(*args):
        raise NotImplementedError()

    check_underflow_gap(stub)
    assert "exercise (a) not done yet" in capsys.readouterr().err
    with pytest.raises(CheckFailed):
        check_scaled_weight_gradient(stub, hidden=True)

"""Lesson 09's checks fail wrong answers with a hint and pass the course's solutions."""

import math

import numpy as np
import pytest

from course_utils import (
    GAP_TOLERANCE,
    check_float16_gap_prediction,
    check_scaled_weight_gradient,
    float_limits,
    smallest_normal,
)
from course_utils.checks import CheckFailed

FLOAT16_GAP = -math.log(float(smallest_normal("float16")))  # the course's prediction


def scaled_weight_gradient(images, grad_logits, loss_scale):  # the course's solution
    low = (grad_logits * np.float32(loss_scale)).astype(np.float16)
    product = (images.T @ low.astype(np.float32)).astype(np.float16)
    return product.astype(np.float32) / np.float32(loss_scale)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_solutions_pass(hidden, capsys):
    check_float16_gap_prediction(FLOAT16_GAP, hidden=hidden)
    check_scaled_weight_gradient(scaled_weight_gradient, hidden=hidden)
    assert capsys.readouterr().out.count("✓") == (0 if hidden else 2)  # hidden: silent


def test_the_tolerance_holds_the_prediction_and_excludes_its_neighbours():
    measured = float_limits("float16").softmax_zero_gap
    assert abs(FLOAT16_GAP - measured) <= GAP_TOLERANCE
    assert abs(measured - 10) > GAP_TOLERANCE  # a rounded "about 10" is not enough
    check_float16_gap_prediction(np.float32(measured + 0.9 * GAP_TOLERANCE))
    with pytest.raises(CheckFailed, match="measured line is 9.71"):
        check_float16_gap_prediction(measured + 1.1 * GAP_TOLERANCE)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (-FLOAT16_GAP, "minus the gap"),
        (14, "base 2"),
        (14 * math.log10(2), "base 10"),
        (math.log(65504.0), "1/p overflows"),
        (86.64, "float32's line"),
        (10.0, "measured line is 9.71"),
        ("9.7", "should be a number"),
        (np.array(9.704), "should be a number"),
        (True, "should be a number"),
    ],
)
def test_wrong_gap_predictions_fail_with_a_hint(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_float16_gap_prediction(wrong)


def test_an_object_equal_to_everything_is_not_a_prediction():
    class Always:
        def __eq__(self, other):
            return True

        def __float__(self):
            return FLOAT16_GAP

    with pytest.raises(CheckFailed, match="should be a number"):
        check_float16_gap_prediction(Always(), hidden=True)


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

    check_float16_gap_prediction(None)
    check_scaled_weight_gradient(stub)
    err = capsys.readouterr().err
    assert "exercise (a) not done yet" in err and "exercise (b) not done yet" in err
    with pytest.raises(CheckFailed):
        check_float16_gap_prediction(None, hidden=True)
    with pytest.raises(CheckFailed):
        check_scaled_weight_gradient(stub, hidden=True)

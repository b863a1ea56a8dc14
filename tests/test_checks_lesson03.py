"""Lesson 03's checks: the norm of a summed gradient, and the predicted smallest failing batch size."""

import re

import numpy as np
import pytest

from course_utils import (
    PREDICTION_LEARNING_RATE,
    check_failing_batch_size_prediction,
    check_gradient_norm,
    load_mnist,
    scan_to_first_failure,
    softmax,
)
from course_utils.checks import PREDICTION_TOLERANCE, SCAN_STEPS, CheckFailed


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


def gradient_parts(images, onehot, weights, bias):
    grad_logits = softmax(images @ weights + bias) - onehot
    w, b = images.T @ grad_logits, grad_logits.sum(axis=0)
    return np.sum(w.astype(np.float64) ** 2), np.sum(b.astype(np.float64) ** 2), len(images)


def correct_norm(*args):
    w2, b2, _ = gradient_parts(*args)
    return float(np.sqrt(w2 + b2))


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("hidden", [False, True])
def test_correct_gradient_norm_passes_quietly(hidden, capfd):
    check_gradient_norm(correct_norm, hidden=hidden)
    out, err = capfd.readouterr()
    assert (out == "" if hidden else out.startswith("✓")) and err == ""


def test_numpy_scalar_answers_are_accepted():
    check_gradient_norm(lambda *args: np.float64(correct_norm(*args)))


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda *a: correct_norm(*a) / gradient_parts(*a)[2], "mean"),
        (lambda *a: float(np.sqrt(gradient_parts(*a)[0])), "bias"),
        (lambda *a: correct_norm(*a) ** 2, "expected"),
        (lambda *a: np.array([correct_norm(*a)]), "should be a number"),
        (lambda *a: AlwaysEqualFloat(0.0), "should be a number"),
        (lambda *a: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_wrong_gradient_norms_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_gradient_norm(answer)
    assert capfd.readouterr().err == ""


def test_unimplemented_answer_is_not_done_yet_on_stderr_and_fails_the_hidden_test(capfd):
    def my_gradient_norm(*args):
        raise NotImplementedError()

    assert check_gradient_norm(my_gradient_norm) is None
    assert "exercise (a) not done yet: my_gradient_norm is not implemented" in capfd.readouterr().err
    with pytest.raises(CheckFailed, match=friendly("not implemented")):
        check_gradient_norm(my_gradient_norm, hidden=True)


def measured(learning_rate):
    data = load_mnist("auto")
    start = int(np.ceil(1.0 / learning_rate))
    found, _ = scan_to_first_failure(
        data, range(start, 4001), learning_rate=learning_rate, steps=SCAN_STEPS, progress_bar=False
    )
    return found


def test_the_exact_measured_size_passes_visible_and_hidden_and_prints_the_comparison(capfd):
    truth = measured(PREDICTION_LEARNING_RATE)
    check_failing_batch_size_prediction(truth)
    check_failing_batch_size_prediction(np.int64(truth), hidden=True)
    out, err = capfd.readouterr()
    assert (
        out.count("✓") == 1 and f"measured {truth}" in out and err == ""
    )  # the hidden check passes silently


def test_the_prediction_from_section_4s_constant_product_passes():
    products = [lr * measured(lr) for lr in (0.02, 0.01, 0.005)]
    c = float(np.mean(products))
    check_failing_batch_size_prediction(int(round(c / PREDICTION_LEARNING_RATE)), hidden=True)


def test_predictions_outside_the_tolerance_fail_saying_which_way(capfd):
    truth = measured(PREDICTION_LEARNING_RATE)
    too_small = int(truth * (1 - PREDICTION_TOLERANCE)) - 2
    with pytest.raises(CheckFailed, match=friendly("too small")):
        check_failing_batch_size_prediction(too_small)
    with pytest.raises(CheckFailed, match=friendly("too large")):
        check_failing_batch_size_prediction(int(truth * (1 + PREDICTION_TOLERANCE)) + 2, hidden=True)
    assert capfd.readouterr().err == ""


def test_a_prediction_that_ignores_the_learning_rate_fails():
    b_star_at_the_tutorials_rate = measured(0.01)
    with pytest.raises(CheckFailed, match=friendly("does not change with the learning rate")):
        check_failing_batch_size_prediction(b_star_at_the_tutorials_rate)


def test_an_untouched_answer_is_not_done_yet_on_stderr_and_fails_the_hidden_test(capfd):
    assert check_failing_batch_size_prediction(None) is None
    out, err = capfd.readouterr()
    assert out == "" and err.startswith(
        "exercise (b) not done yet: predicted_smallest_failing_batch_size"
    )
    with pytest.raises(CheckFailed):
        check_failing_batch_size_prediction(None, hidden=True)


@pytest.mark.parametrize("answer", [250.0, AlwaysEqualInt(250), "250", [250]])
def test_non_integer_predictions_fail_before_any_scan(answer, capfd):
    with pytest.raises(CheckFailed, match=friendly("whole number")):
        check_failing_batch_size_prediction(answer)
    with pytest.raises(CheckFailed, match=friendly("whole number")):
        check_failing_batch_size_prediction(answer, hidden=True)
    assert capfd.readouterr().err == ""

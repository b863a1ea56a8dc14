"""Lesson 05's checks: right answers pass, typical mistakes fail with a useful message, quietly."""

import numpy as np
import pytest

from course_utils import (
    check_epsilon_breaking_batch_size,
    check_epsilon_loss_and_gradient,
    load_mnist,
    softmax,
    sweep,
)
from course_utils.checks import EPSILON_SEARCH_CANDIDATES, EPSILON_SEARCH_STEPS, CheckFailed


def epsilon_answer(logits, onehot, epsilon=1e-10):
    eps = logits.dtype.type(epsilon)
    p = softmax(logits)
    grad_p = -onehot / (p + eps)
    return -(onehot * np.log(p + eps)).sum(), p * (grad_p - (grad_p * p).sum(axis=1, keepdims=True))


def naive_answer(logits, onehot, epsilon=1e-10):
    p = softmax(logits)
    grad_p = -onehot / p
    return -(onehot * np.log(p)).sum(), p * (grad_p - (grad_p * p).sum(axis=1, keepdims=True))


def fused_answer(logits, onehot, epsilon=1e-10):
    p = softmax(logits)
    return -(onehot * np.log(p + logits.dtype.type(epsilon))).sum(), p - onehot


def mean_answer(logits, onehot, epsilon=1e-10):
    loss, grad = epsilon_answer(logits, onehot, epsilon)
    return loss / len(logits), grad / len(logits)


def float64_answer(logits, onehot, epsilon=1e-10):
    loss, grad = epsilon_answer(logits.astype(np.float64), onehot.astype(np.float64), epsilon)
    return loss, grad


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True


def always_equal_answer(logits, onehot, epsilon=1e-10):
    return np.float32(0.0), np.zeros_like(logits).view(AlwaysEqual)


def test_the_solution_passes_visible_and_hidden_without_stderr(capfd):
    check_epsilon_loss_and_gradient(epsilon_answer)
    check_epsilon_loss_and_gradient(epsilon_answer, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


@pytest.mark.parametrize(
    "answer, message",
    [
        (naive_answer, "returned the loss nan"),
        (fused_answer, "p - y"),
        (mean_answer, "mean loss"),
        (float64_answer, "dtype float64"),
        (always_equal_answer, "numpy array"),
        (lambda logits, onehot, epsilon: 1.0, "pair (loss, grad_logits)"),
    ],
)
def test_typical_mistakes_fail_with_a_hint_and_no_stderr(answer, message, capfd):
    with pytest.raises(CheckFailed, match="Hint:") as failure:
        check_epsilon_loss_and_gradient(answer)
    assert message in str(failure.value)
    assert capfd.readouterr().err == ""


def test_the_hidden_check_also_tries_float64_and_a_large_epsilon():
    def float32_only(logits, onehot, epsilon=1e-10):
        return epsilon_answer(logits.astype(np.float32), onehot.astype(np.float32), epsilon)

    def epsilon_ignored(logits, onehot, epsilon=1e-10):
        return epsilon_answer(logits, onehot, 1e-10)

    for answer in (float32_only, epsilon_ignored):
        check_epsilon_loss_and_gradient(answer)  # the visible cases cannot tell
        with pytest.raises(CheckFailed, match="Hint:"):
            check_epsilon_loss_and_gradient(answer, hidden=True)


@pytest.fixture(scope="module")
def smallest_losing_size():
    """The answer, measured here the way the exercise asks (runs land in the session's cache)."""
    data = load_mnist("auto")
    for size in EPSILON_SEARCH_CANDIDATES:
        table = sweep(data, batch_size=size, loss=["epsilon", "stable"], steps=EPSILON_SEARCH_STEPS)
        accuracy = dict(zip(table["loss"].tolist(), table["test_accuracy"].tolist(), strict=True))
        if accuracy["stable"] - accuracy["epsilon"] > 0.05:
            return size
    pytest.fail("no candidate loses 5 points: the exercise has no answer on this data")


def test_the_measured_batch_size_passes_visible_and_hidden(smallest_losing_size, capfd):
    check_epsilon_breaking_batch_size(smallest_losing_size)
    check_epsilon_breaking_batch_size(np.int64(smallest_losing_size), hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


def test_the_candidate_before_and_after_fail(smallest_losing_size):
    index = EPSILON_SEARCH_CANDIDATES.index(smallest_losing_size)
    if index > 0:
        with pytest.raises(CheckFailed, match="loses only"):
            check_epsilon_breaking_batch_size(EPSILON_SEARCH_CANDIDATES[index - 1])
    if index + 1 < len(EPSILON_SEARCH_CANDIDATES):
        with pytest.raises(CheckFailed, match="is not the first"):
            check_epsilon_breaking_batch_size(EPSILON_SEARCH_CANDIDATES[index + 1])


@pytest.mark.parametrize("answer", [351, 350.0, "350", True])
def test_answers_that_are_not_candidate_integers_fail_before_any_training(answer):
    with pytest.raises(CheckFailed, match="Hint:"):
        check_epsilon_breaking_batch_size(answer)

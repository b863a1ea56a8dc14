"""Lesson 04's checks: the first mean-loss step derived, and a bisection for the failing lr_mean."""

import re

import numpy as np
import pytest

from course_utils import (
    batch_indices,
    check_failing_learning_rate_search,
    check_first_step_logits,
    failing_learning_rate_answers,
    load_mnist,
    stand_ins,
    train,
)
from course_utils.checks import CheckFailed


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


def by_a_training_step(images, onehot, learning_rate):
    """The first step written as gradient descent, not in closed form: must agree."""
    grad = (np.full_like(onehot, 0.1) - onehot) / len(images)
    weights, bias = -learning_rate * images.T @ grad, -learning_rate * grad.sum(axis=0)
    return images @ weights + bias


def summed_loss_step(images, onehot, learning_rate):
    return len(images) * by_a_training_step(images, onehot, learning_rate)


def without_bias(images, onehot, learning_rate):
    return learning_rate / len(images) * (images @ images.T) @ (onehot - 0.1)


def climbs(images, onehot, learning_rate):
    return -by_a_training_step(images, onehot, learning_rate)


def squared_batch(images, onehot, learning_rate):
    return by_a_training_step(images, onehot, learning_rate) / len(images)


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("answer", [stand_ins.first_step_logits, by_a_training_step])
def test_the_first_step_in_closed_form_or_as_a_step_passes_visible_and_hidden(answer, capfd):
    check_first_step_logits(answer)
    check_first_step_logits(answer, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


def test_the_closed_form_is_the_logits_train_computes_after_one_step():
    data = load_mnist("auto")
    run = train(data, batch_size=100, learning_rate=1.0, reduction="mean", steps=1, dtype="float64")
    first = next(batch_indices(len(data.train_labels), 100))
    images = data.train_images[first].astype(np.float64)
    onehot = np.eye(10)[data.train_labels[first]]
    logits = images @ run.weights + run.bias
    assert np.allclose(stand_ins.first_step_logits(images, onehot, 1.0), logits, rtol=1e-9)


@pytest.mark.parametrize(
    "answer, words",
    [
        (summed_loss_step, "100 times the mean loss's step: the step of the summed loss"),
        (without_bias, "the bias moves too"),
        (climbs, "against the gradient"),
        (squared_batch, "differs at index"),
        (lambda x, y, lr: np.zeros((len(x), 10), np.float32).view(AlwaysEqual), "numpy array"),
        (lambda x, y, lr: by_a_training_step(x, y, lr).T, "has shape (10, 100)"),
    ],
)
def test_wrong_first_steps_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_first_step_logits(answer)
    assert capfd.readouterr().err == ""


def test_the_summed_step_fails_the_hidden_check_at_its_own_batch_sizes(capfd):
    with pytest.raises(CheckFailed, match=friendly("17 times the mean loss's step")):
        check_first_step_logits(summed_loss_step, hidden=True)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_bisection_passes_quietly(hidden, capfd):
    check_failing_learning_rate_search(stand_ins.find_failing_learning_rate, hidden=hidden)
    out, err = capfd.readouterr()
    assert (out == "" if hidden else out.startswith("✓")) and err == ""


def test_every_answer_of_a_correct_bisection_fails_one_hundredth_above_a_run_that_trains():
    data = load_mnist("auto")
    answers = failing_learning_rate_answers(data, 100, 100, 400)
    assert answers and all(100 < a <= 400 for a in answers)
    for a in answers:
        below, at = (
            train(
                data, batch_size=100, learning_rate=h / 100, reduction="mean", steps=50
            ).went_nonfinite
            for h in (a - 1, a)
        )
        assert at and not below


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda data, b, works, fails: 172, "fails too"),  # lesson 03's lr·B* = 1.72, typed in
        (lambda data, b, works, fails: 1.72, "should be a whole number"),
        (lambda data, b, works, fails: fails + 1, "outside the bracket"),
        (lambda data, b, works, fails: works + 1, "stays finite"),
        (lambda data, b, works, fails: fails, "fails too"),
    ],
)
def test_wrong_searches_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_failing_learning_rate_search(answer)
    assert capfd.readouterr().err == ""


def test_the_visible_answer_typed_in_fails_the_hidden_check(capfd):
    data = load_mnist("auto")
    visible = stand_ins.find_failing_learning_rate(data, 100, 100, 400)
    check_failing_learning_rate_search(lambda *args: visible)
    with pytest.raises(CheckFailed):
        check_failing_learning_rate_search(lambda *args: visible, hidden=True)

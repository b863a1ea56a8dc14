"""Lesson 04's checks: the mean-loss learning rate that matches the summed loss (predict, then
measure), and a learning rate that makes batches of 10 train."""

import re

import numpy as np
import pytest

from course_utils import (
    MATCH_SUM,
    SMALL_BATCH,
    SMALL_BATCH_ACCURACY,
    check_matching_learning_rate,
    check_small_batch_learning_rate,
    load_mnist,
    stand_ins,
    train,
)
from course_utils.checks import STAND_IN_MARK, CheckFailed

LR_SUM, B = MATCH_SUM["learning_rate"], MATCH_SUM["batch_size"]


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


@pytest.mark.parametrize("answer", [LR_SUM * B, 1.5, np.float64(1.5), np.float32(1.5), 3 / 2])
def test_lr_sum_times_b_passes_visible_and_hidden_and_is_handed_on(answer, capfd):
    assert check_matching_learning_rate(answer) is answer
    check_matching_learning_rate(answer, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


def test_the_matching_learning_rate_really_gives_the_same_training():
    summed = train(load_mnist("auto"), batch_size=B, learning_rate=LR_SUM, steps=20, dtype="float64")
    mean = train(
        load_mnist("auto"), batch_size=B, learning_rate=LR_SUM * B, reduction="mean", steps=20,
        dtype="float64",
    )  # fmt: skip
    assert np.allclose(summed.weights, mean.weights, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "answer, words",
    [
        (LR_SUM, "learning rate unchanged"),
        (LR_SUM / B, "lr_sum / B"),
        (LR_SUM * B * 1.001, "another training"),
        (LR_SUM * B * B, "another training"),
        (-LR_SUM * B, "another training"),
        (AlwaysEqualFloat(0.0), "should be a number"),
        ("1.5", "should be a number"),
        (True, "should be a number"),
    ],
)
def test_wrong_learning_rates_fail_visible_and_hidden_with_a_hint(answer, words, capfd):
    for hidden in (False, True):
        with pytest.raises(CheckFailed, match=friendly(words)):
            check_matching_learning_rate(answer, hidden=hidden)
    assert capfd.readouterr().err == ""


def test_an_untouched_answer_is_not_done_and_the_course_answer_stands_in(capfd):
    handed = check_matching_learning_rate(None)
    assert getattr(handed, STAND_IN_MARK) and float(handed) == LR_SUM * B
    assert "exercise (a) not done yet: my_lr_mean is still None" in capfd.readouterr().err
    for answer in (None, handed):  # nor is the course's answer, handed back, taken for the learner's
        with pytest.raises(CheckFailed):
            check_matching_learning_rate(answer, hidden=True)


def test_the_stand_in_is_the_matching_learning_rate():
    assert stand_ins.lr_mean_matching_sum() == LR_SUM * B


@pytest.mark.parametrize("answer", [0.1, 0.05, np.float64(0.2)])
def test_learning_rates_that_train_tiny_batches_pass_visible_and_hidden(answer, capfd):
    check_small_batch_learning_rate(answer)
    check_small_batch_learning_rate(answer, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


def test_the_threshold_is_met_with_a_margin_at_the_solution_and_missed_at_the_lessons_rates():
    data = load_mnist("auto")
    run = {lr: train(data, learning_rate=lr, **SMALL_BATCH) for lr in (0.1, 0.5, 1.0)}
    assert run[0.1].test_accuracy >= SMALL_BATCH_ACCURACY + 0.01
    assert run[0.5].test_accuracy < SMALL_BATCH_ACCURACY and run[1.0].went_nonfinite


@pytest.mark.parametrize(
    "answer, words",
    [
        (1.0, "went NaN"),
        (0.5, "below 0.88"),
        (1e-4, "below 0.88"),
        (0.0, "not a positive learning rate"),
        (float("inf"), "not a positive learning rate"),
        (float("nan"), "not a positive learning rate"),
        (AlwaysEqualFloat(0.1), "should be a number"),
        ("0.1", "should be a number"),
    ],
)
def test_wrong_small_batch_learning_rates_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_small_batch_learning_rate(answer)
    assert capfd.readouterr().err == ""


def test_an_untouched_small_batch_answer_is_not_done_yet(capfd):
    assert check_small_batch_learning_rate(None) is None
    assert "exercise (b) not done yet: my_small_batch_lr is still None" in capfd.readouterr().err
    with pytest.raises(CheckFailed):
        check_small_batch_learning_rate(None, hidden=True)

"""Lesson 04's checks: converting a learning rate between reductions, and one lr for two batch sizes."""

import re

import pytest

from course_utils import check_batch_size_free_setting, check_lr_mean_from_sum
from course_utils.checks import CheckFailed


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


@pytest.mark.parametrize("hidden", [False, True])
def test_correct_conversion_passes_quietly(hidden, capfd):
    check_lr_mean_from_sum(lambda lr_sum, batch_size: lr_sum * batch_size, hidden=hidden)
    out, err = capfd.readouterr()
    assert out.startswith("✓") and err == ""


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda lr, b: lr / b, "wrong way round"),
        (lambda lr, b: lr, "expected"),
        (lambda lr, b: AlwaysEqualFloat(lr * b), "should be a number"),
        (lambda lr, b: [lr * b], "should be a number"),
    ],
)
def test_wrong_conversions_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_lr_mean_from_sum(answer)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("hidden", [False, True])
def test_mean_reduction_at_a_moderate_learning_rate_passes_quietly(hidden, capfd):
    check_batch_size_free_setting("mean", 0.5, hidden=hidden)
    out, err = capfd.readouterr()
    assert out.startswith("✓") and err == ""


@pytest.mark.parametrize(
    "reduction, learning_rate, words",
    [
        ("sum", 0.0005, "switch the reduction"),
        ("avg", 0.5, "'sum' or 'mean'"),
        ("mean", "0.5", "should be a number"),
        ("mean", AlwaysEqualFloat(0.5), "should be a number"),
        ("mean", -1.0, "not a usable learning rate"),
        ("mean", 3.0, "went non-finite"),
        ("mean", 0.002, "below 0.85"),
    ],
)
def test_bad_settings_fail_with_a_hint(reduction, learning_rate, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_batch_size_free_setting(reduction, learning_rate)
    assert capfd.readouterr().err == ""

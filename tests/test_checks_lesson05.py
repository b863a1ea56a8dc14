"""Lesson 05's checks: right answers pass, typical mistakes fail with a useful message, quietly."""

import numpy as np
import pytest

from course_utils import (
    check_epsilon_breaking_batch_size,
    check_fading_gap_prediction,
    load_mnist,
    sweep,
)
from course_utils.checks import (
    EPSILON_SEARCH_CANDIDATES,
    EPSILON_SEARCH_STEPS,
    CheckFailed,
    _fading_gap,
)

# The prediction the lesson derives: for p << eps the pull is about p/eps; 1 % at p = 0.01 eps.
PREDICTED = float(-np.log(0.01 * 1e-10))


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_the_derived_prediction_passes_visible_and_hidden_without_stderr(capfd):
    check_fading_gap_prediction(PREDICTED)
    check_fading_gap_prediction(np.float32(PREDICTED), hidden=True)
    check_fading_gap_prediction(int(round(PREDICTED)))  # a whole number within the tolerance
    out, err = capfd.readouterr()
    assert out.count("✓") == 2 and err == ""  # the hidden check passes silently


def test_the_tolerance_is_the_lessons_and_centred_on_the_measured_gap():
    truth = _fading_gap(0.01)
    assert abs(truth - PREDICTED) < 0.05  # the derivation is right to a few hundredths
    check_fading_gap_prediction(truth + 0.49)
    for wrong in (truth + 0.51, truth - 0.51):
        with pytest.raises(CheckFailed, match="±0.5 accepted"):
            check_fading_gap_prediction(wrong, hidden=True)


@pytest.mark.parametrize(
    "answer, message",
    [
        (23.03, "where the pull has only halved"),  # p = eps
        (86.64, "exactly 0 in float32"),  # the underflow limit
        (PREDICTED / np.log(10), "natural log"),  # log10 instead of ln
        (30.0, "at a gap smaller than that"),  # the table's nearest row
        (25.0, "at a gap larger than that"),
        ("27.6", "should be a number"),
        (AlwaysEqual(PREDICTED), "should be a number"),
        (np.array([PREDICTED]), "should be a number"),
    ],
)
def test_wrong_predictions_fail_with_a_hint_and_no_stderr(answer, message, capfd):
    for hidden in (False, True):
        with pytest.raises(CheckFailed, match="Hint:") as failure:
            check_fading_gap_prediction(answer, hidden=hidden)
        assert message in str(failure.value)
    assert capfd.readouterr().err == ""


def test_an_untouched_answer_is_one_line_not_done_and_fails_the_hidden_test(capfd):
    assert check_fading_gap_prediction(None) is None
    err = capfd.readouterr().err
    assert (
        err.startswith("exercise 1 not done yet: my_fading_gap is still None") and err.count("\n") == 1
    )
    with pytest.raises(CheckFailed, match="still None"):
        check_fading_gap_prediction(None, hidden=True)


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

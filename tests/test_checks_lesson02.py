"""Lesson 02's checks: the bisection search and the first loss value."""

import re

import numpy as np
import pytest

from course_utils import (
    bisection_answers,
    check_failing_batch_size_search,
    check_first_loss,
    load_mnist,
    scan_to_first_failure,
    train,
)
from course_utils.checks import CheckFailed


def bisection(data, works, fails, round_up=False):
    while fails - works > 1:
        middle = (works + fails + round_up) // 2
        if train(data, batch_size=middle).went_nonfinite:
            fails = middle
        else:
            works = middle
    return fails


def first_loss_answer(batch_size):
    return -np.log(np.full(batch_size, np.float32(0.1))).sum()


def first_loss_loop(batch_size):
    # A plain float32 loop rounds differently from numpy's pairwise sum, but it is still B·ln 10.
    total = np.float32(0)
    for _ in range(batch_size):
        total += -np.log(np.float32(0.1))
    return total


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_bisection_passes_and_prints_one_line(capfd):
    check_failing_batch_size_search(bisection)
    out, err = capfd.readouterr()
    assert out.startswith("✓") and err == ""


def bisection_rounding_up(data, works, fails):
    return bisection(data, works, fails, round_up=True)


def scan_upwards(data, works, fails):
    """A search that finds a boundary, but not by bisection: the first failing size above works
    (the course's scan: cached and on every core, where a loop of ``train`` takes minutes)."""
    return scan_to_first_failure(data, range(works + 1, fails + 1), progress_bar=False)[0]


def test_bisection_answers_are_the_ends_of_both_roundings_and_each_is_a_boundary():
    data = load_mnist("auto")
    answers = bisection_answers(data, 100, 400)
    assert bisection(data, 100, 400) in answers
    assert bisection_rounding_up(data, 100, 400) in answers
    for found in answers:
        assert train(data, batch_size=found).went_nonfinite
        assert not train(data, batch_size=found - 1).went_nonfinite


@pytest.mark.parametrize("hidden", [False, True])
def test_a_bisection_rounding_the_midpoint_up_passes_too(hidden, capfd):
    check_failing_batch_size_search(bisection_rounding_up, hidden=hidden)
    out, err = capfd.readouterr()
    assert (out == "" if hidden else out.startswith("✓")) and err == ""


def test_a_boundary_that_no_bisection_from_the_bracket_reaches_is_rejected(capfd):
    data = load_mnist("auto")
    found = scan_upwards(data, 100, 400)
    assert found not in bisection_answers(data, 100, 400)  # the ragged band has several edges
    with pytest.raises(CheckFailed, match=friendly("no bisection between 100 and 400")):
        check_failing_batch_size_search(scan_upwards)
    assert capfd.readouterr().err == ""


def test_a_size_that_trains_is_rejected():
    data = load_mnist("auto")

    def one_too_small(data_, works, fails):
        return bisection(data, works, fails) - 1

    with pytest.raises(CheckFailed, match=friendly("stays finite")):
        check_failing_batch_size_search(one_too_small)


def test_a_failing_size_that_is_not_a_boundary_is_rejected():
    # 400 fails, and so does 399 (the bracket's failing end is deep in the failing region).
    with pytest.raises(CheckFailed, match=friendly("fails too")):
        check_failing_batch_size_search(lambda data, works, fails: fails)


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda data, works, fails: float(fails), "whole number"),
        (lambda data, works, fails: AlwaysEqualInt(fails), "whole number"),
        (lambda data, works, fails: works, "outside the bracket"),
        (lambda data, works, fails: fails + 1, "outside the bracket"),
    ],
)
def test_wrong_kinds_of_answers_fail_before_any_training(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_failing_batch_size_search(answer)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("answer", [first_loss_answer, first_loss_loop])
def test_first_loss_answers_in_float32_pass(answer, hidden, capfd):
    check_first_loss(answer, hidden=hidden)
    out, err = capfd.readouterr()
    assert (out == "" if hidden else out.startswith("✓")) and err == ""


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda B: B * np.log(10), "np.float32"),
        (lambda B: float(B * np.log(10)), "np.float32"),
        (lambda B: -np.log(np.float32(0.1)), "loss of one example"),
        (lambda B: np.float32(B), "log10"),
        (lambda B: np.float32(B * np.log(2)), "first loss is"),
        (lambda B: AlwaysEqualInt(B), "np.float32"),
    ],
)
def test_first_loss_mistakes_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_first_loss(answer)
    assert capfd.readouterr().err == ""

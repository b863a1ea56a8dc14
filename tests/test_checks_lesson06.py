"""Lesson 06's checks: right answers pass, typical mistakes fail with a useful message, quietly."""

import numpy as np
import pytest

from course_utils import check_logsumexp, check_stable_loss_and_gradient, softmax
from course_utils.checks import CheckFailed


def logsumexp_answer(logits):
    m = logits.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]


def literal_logsumexp(logits):
    return np.log(np.exp(logits).sum(axis=1))


def keepdims_logsumexp(logits):
    m = logits.max(axis=1, keepdims=True)
    return m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True))


def float64_logsumexp(logits):
    return logsumexp_answer(logits.astype(np.float64))


def stable_answer(logits, onehot):
    lse = logsumexp_answer(logits)
    return (lse - (logits * onehot).sum(axis=1)).sum(), np.exp(logits - lse[:, None]) - onehot


def log_softmax_answer(logits, onehot):
    p = softmax(logits, flush_subnormals=False)
    return -(onehot * np.log(p)).sum(), p - onehot


def mean_answer(logits, onehot):
    loss, grad = stable_answer(logits, onehot)
    return loss / len(logits), grad


def wrong_sign_gradient(logits, onehot):
    loss, grad = stable_answer(logits, onehot)
    return loss, -grad


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True


def test_the_solutions_pass_visible_and_hidden_without_stderr(capfd):
    for hidden in (False, True):
        check_logsumexp(logsumexp_answer, hidden=hidden)
        check_stable_loss_and_gradient(stable_answer, hidden=hidden)
    out, err = capfd.readouterr()
    assert out.count("✓") == 2 and err == ""  # the hidden checks pass silently


@pytest.mark.parametrize(
    "answer, message",
    [
        (literal_logsumexp, "row maximum"),
        (keepdims_logsumexp, "one value per row"),
        (float64_logsumexp, "dtype float64"),
        (lambda logits: logsumexp_answer(logits).view(AlwaysEqual), "numpy array"),
        (lambda logits: logits.max(axis=1), "differs"),
    ],
)
def test_logsumexp_mistakes_fail_with_a_hint_and_no_stderr(answer, message, capfd):
    with pytest.raises(CheckFailed, match="Hint:") as failure:
        check_logsumexp(answer)
    assert message in str(failure.value)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "answer, message",
    [
        (log_softmax_answer, "±1000"),
        (mean_answer, "mean loss"),
        (wrong_sign_gradient, "in float64 differs"),
        (lambda z, y: (np.float64(0.0), np.zeros_like(z).view(AlwaysEqual)), "numpy array"),
        (lambda z, y: [0.0, z], "pair (loss, grad_logits)"),
    ],
)
def test_stable_loss_mistakes_fail_with_a_hint_and_no_stderr(answer, message, capfd):
    with pytest.raises(CheckFailed, match="Hint:") as failure:
        check_stable_loss_and_gradient(answer)
    assert message in str(failure.value)
    assert capfd.readouterr().err == ""


def test_a_not_implemented_answer_is_not_done_yet_on_stderr_and_fails_the_hidden_test(capfd):
    def my_logsumexp(logits):
        raise NotImplementedError()

    check_logsumexp(my_logsumexp)
    assert capfd.readouterr().err.startswith("exercise 1 not done yet: my_logsumexp")
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_logsumexp(my_logsumexp, hidden=True)

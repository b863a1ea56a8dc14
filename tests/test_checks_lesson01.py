"""Lesson 01's checks: right answers pass, typical mistakes fail with a useful message, quietly."""

import re

import numpy as np
import pytest

from course_utils import (
    central_differences,
    check_naive_cross_entropy,
    check_naive_gradient,
    check_softmax,
)
from course_utils.checks import CheckFailed


def softmax_answer(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def softmax_without_max(logits):
    exps = np.exp(logits)
    return exps / exps.sum(axis=1, keepdims=True)


def softmax_wrong_axis(logits):
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=0, keepdims=True)


def softmax_float64(logits):
    return softmax_answer(logits.astype(np.float64))


def softmax_in_place(logits):
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits.copy()


def cross_entropy_answer(probabilities, onehot):
    return -np.sum(onehot * np.log(probabilities))


def cross_entropy_mean(probabilities, onehot):
    return cross_entropy_answer(probabilities, onehot) / len(onehot)


def cross_entropy_target_only(probabilities, onehot):
    # Mathematically the same, but never computes 0 * log(0): finite where TensorFlow gave nan.
    return -np.log(probabilities[onehot == 1]).sum()


def gradient_answer(logits, onehot):
    p = softmax_answer(logits)
    g_p = -onehot / p
    return p * (g_p - (g_p * p).sum(axis=1, keepdims=True))


def gradient_fused(logits, onehot):
    return softmax_answer(logits) - onehot


def gradient_mean(logits, onehot):
    return gradient_answer(logits, onehot) / len(logits)


def gradient_sign_flipped(logits, onehot):
    return -gradient_answer(logits, onehot)


def friendly(words):
    """A failure message naming the problem (``words``, in the message or its hint) and a hint."""
    return f"(?s)(?=.*{re.escape(words)})(?=.*\\nHint: )"


class AlwaysEqual(np.ndarray):
    """An array-like answer that claims to equal anything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class AlwaysEqualNumber(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass_quietly(hidden, capfd):
    check_softmax(softmax_answer, hidden=hidden)
    check_naive_cross_entropy(cross_entropy_answer, hidden=hidden)
    check_naive_gradient(gradient_answer, hidden=hidden)
    out, err = capfd.readouterr()
    assert out.count("✓") == (0 if hidden else 3)  # a hidden check passes silently
    assert err == ""


@pytest.mark.parametrize(
    "answer, words",
    [
        (softmax_without_max, "subtract each row's maximum"),
        (softmax_wrong_axis, "differs"),
        (softmax_float64, "dtype float64, expected float32"),
        (softmax_in_place, "changed its input"),
        (lambda logits: softmax_answer(logits).tolist(), "numpy array"),
        (lambda logits: softmax_answer(logits).view(AlwaysEqual), "numpy array"),
        (lambda logits: softmax_answer(logits)[:, :-1], "shape"),
    ],
)
def test_softmax_mistakes_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_softmax(answer)
    assert capfd.readouterr().err == ""


def test_an_unimplemented_answer_is_not_done_yet_one_line_on_stderr_strict_when_hidden(capfd):
    def my_softmax(logits):
        raise NotImplementedError()

    check_softmax(my_softmax)  # Run All goes on
    out, err = capfd.readouterr()
    assert out == "" and err.startswith("exercise 1 not done yet: my_softmax is not implemented")
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_softmax(my_softmax, hidden=True)


@pytest.mark.parametrize(
    "answer, words",
    [
        (cross_entropy_mean, "mean over the batch"),
        (lambda p, y: -cross_entropy_answer(p, y), "sign is flipped"),
        (cross_entropy_target_only, "returns nan there"),
        (lambda p, y: -(y * np.log(p)).sum(axis=1), "should be a number"),
        (lambda p, y: AlwaysEqualNumber(cross_entropy_answer(p, y)), "should be a number"),
        (lambda p, y: -np.sum(y * np.log2(p)), "expected"),
    ],
)
def test_cross_entropy_mistakes_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_naive_cross_entropy(answer)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "answer, words",
    [
        (gradient_fused, "underflow to exactly 0"),
        (gradient_mean, "differs"),
        (gradient_sign_flipped, "differs"),
        (lambda z, y: gradient_answer(z.astype(np.float64), y.astype(np.float64)), "dtype"),
        (lambda z, y: gradient_answer(z, y).view(AlwaysEqual), "numpy array"),
    ],
)
def test_gradient_mistakes_fail_with_a_hint(answer, words, capfd):
    with pytest.raises(CheckFailed, match=friendly(words)):
        check_naive_gradient(answer)
    assert capfd.readouterr().err == ""


def test_the_fused_gradient_passes_the_finite_difference_part_but_not_the_nan_part():
    # p - y is the right gradient wherever every probability is representable: the check must
    # reject it only for the row whose probabilities underflow, and say so.
    with pytest.raises(CheckFailed) as failure:
        check_naive_gradient(gradient_fused)
    assert "-y / p" in str(failure.value)


def test_a_patched_course_softmax_does_not_change_the_expected_values(monkeypatch):
    import course_utils.model

    monkeypatch.setattr(
        course_utils.model, "softmax", lambda z, flush_subnormals=True: np.zeros_like(z)
    )
    check_softmax(softmax_answer)
    with pytest.raises(CheckFailed):
        check_softmax(lambda z: np.zeros_like(z))


def test_central_differences_recover_a_known_gradient():
    z = np.array([[0.5, -1.0, 2.0]])
    numerical = central_differences(lambda v: float((v**3).sum()), z)
    assert np.allclose(numerical, 3 * z**2, rtol=1e-8)
    assert numerical.dtype == np.float64

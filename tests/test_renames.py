"""The old names of issue 24's renames (RENAMES.md) still work, silently, until the lessons adopt
the new ones: the very same function or value, no warning printed into a notebook."""

import warnings

import numpy as np
import pytest

import course_utils
from course_utils import (
    float_limits,
    load_mnist,
    loss_and_gradient,
    losses_by_gap,
    predict,
    softmax,
    sweep,
    train,
)
from course_utils.validate import old_keywords


@pytest.fixture(autouse=True)
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a deprecation warning would fail the test
        yield


LOGITS = np.float32([[0.0, -100.0, 3.0], [1.0, 2.0, 90.0]])
ONEHOT = np.float32([[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("flush", [True, False])
def test_flush_is_the_old_name_of_flush_subnormals(flush):
    assert np.array_equal(softmax(LOGITS, flush=flush), softmax(LOGITS, flush_subnormals=flush))
    old = loss_and_gradient(LOGITS, ONEHOT, flush=flush)
    new = loss_and_gradient(LOGITS, ONEHOT, flush_subnormals=flush)
    assert np.array_equal(old.grad_logits, new.grad_logits, equal_nan=True)
    images, weights, bias = np.ones((2, 3), np.float32), np.eye(3, dtype=np.float32), np.zeros(3)
    bias = bias.astype(np.float32)
    assert np.array_equal(
        predict(images, weights, bias, flush=flush),
        predict(images, weights, bias, flush_subnormals=flush),
    )
    gaps = [10.0, 100.0]
    old_curves = losses_by_gap(gaps, flush=flush)
    assert old_curves.flush_subnormals is flush
    assert np.array_equal(
        old_curves.naive_gradient,
        losses_by_gap(gaps, flush_subnormals=flush).naive_gradient,
        equal_nan=True,
    )


def test_an_old_and_a_new_name_together_are_refused():
    with pytest.raises(TypeError, match="flush is the old name of flush_subnormals"):
        softmax(LOGITS, flush=True, flush_subnormals=False)


def test_an_old_keyword_keeps_the_new_signature():
    @old_keywords(before="after")
    def f(*, after=1):
        """Doc."""
        return after

    assert f(before=2) == 2 and f(after=3) == 3 and f.__doc__ == "Doc."
    assert list(__import__("inspect").signature(f).parameters) == ["after"]


def test_old_attribute_names():
    limits = float_limits("bfloat16")
    assert limits.epsilon == limits.machine_epsilon == 2.0**-7
    result = train(load_mnist(), batch_size=2000, learning_rate=1.0, steps=3)
    assert result.first_nonfinite == result.first_nonfinite_stage is not None


def test_old_function_and_keyword_names():
    assert course_utils.first_failing_batch_size is course_utils.scan_to_first_failure
    data = load_mnist()
    old = sweep(data, batch_size=[10], steps=2, cache=False, progress=False)
    new = sweep(data, batch_size=[10], steps=2, cache=False, progress_bar=False)
    assert np.array_equal(old, new)

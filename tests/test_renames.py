"""The old names of issue 24's renames (RENAMES.md) still work for a learner's copy of an older
lesson: the very same result, with a DeprecationWarning that names the new one. The new names, which
the lessons use, warn nothing."""

import json
import re
import warnings
from pathlib import Path

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

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def old_names_warn_and_new_names_do_not():
    """Every old name used in a test warns (DeprecationWarning naming its new name, at the caller's
    line); any other warning, or one from a new name, fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        assert warning.category is DeprecationWarning, warning
        assert "is now called" in str(warning.message) and warning.filename == __file__, warning


def deprecations(old_call):
    with pytest.warns(DeprecationWarning, match="is now called") as record:
        result = old_call()
    assert all(w.filename == __file__ for w in record), "warned at the caller's line"
    return result


LOGITS = np.float32([[0.0, -100.0, 3.0], [1.0, 2.0, 90.0]])
ONEHOT = np.float32([[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("flush", [True, False])
def test_flush_is_the_old_name_of_flush_subnormals(flush):
    old = deprecations(lambda: softmax(LOGITS, flush=flush))
    assert np.array_equal(old, softmax(LOGITS, flush_subnormals=flush))
    old = deprecations(lambda: loss_and_gradient(LOGITS, ONEHOT, flush=flush))
    new = loss_and_gradient(LOGITS, ONEHOT, flush_subnormals=flush)
    assert np.array_equal(old.grad_logits, new.grad_logits, equal_nan=True)
    images, weights, bias = np.ones((2, 3), np.float32), np.eye(3, dtype=np.float32), np.zeros(3)
    bias = bias.astype(np.float32)
    assert np.array_equal(
        deprecations(lambda: predict(images, weights, bias, flush=flush)),
        predict(images, weights, bias, flush_subnormals=flush),
    )
    gaps = [10.0, 100.0]
    old_curves = deprecations(lambda: losses_by_gap(gaps, flush=flush))
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

    assert deprecations(lambda: f(before=2)) == 2 and f(after=3) == 3 and f.__doc__ == "Doc."
    assert list(__import__("inspect").signature(f).parameters) == ["after"]


def test_old_attribute_names():
    limits = float_limits("bfloat16")
    assert deprecations(lambda: limits.epsilon) == limits.machine_epsilon == 2.0**-7
    result = train(load_mnist(), batch_size=2000, learning_rate=1.0, steps=3)
    old = deprecations(lambda: result.first_nonfinite)
    assert old == result.first_nonfinite_stage is not None


def test_old_function_and_keyword_names():
    data = load_mnist()
    old = deprecations(
        lambda: course_utils.first_failing_batch_size(data, [10, 2000], steps=3, cache=False)
    )
    new = course_utils.scan_to_first_failure(data, [10, 2000], steps=3, cache=False)
    assert old[0] == new[0] == 2000
    assert old[1].tobytes() == new[1].tobytes()  # the same table, bit for bit (NaN losses too)
    old = deprecations(lambda: sweep(data, batch_size=[10], steps=2, cache=False, progress=False))
    new = sweep(data, batch_size=[10], steps=2, cache=False, progress_bar=False)
    assert np.array_equal(old, new)


OLD_NAMES = re.compile(
    r"\bflush=|\.epsilon\b|\.first_nonfinite\b(?!_)|\bfirst_failing_batch_size\b|\bprogress="
)


def test_no_lesson_uses_an_old_name():
    used = [
        f"{path.parent.name}: {line.strip()}"
        for path in sorted(ROOT.glob("lessons/*/*.ipynb"))
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if OLD_NAMES.search(line)
    ]
    assert not used, "lessons use deprecated names (RENAMES.md):\n" + "\n".join(used)

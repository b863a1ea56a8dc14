"""The speed paths of course_utils._fast give numpy's own numbers (the wide products are tested in
test_multirun.py): the class-axis sums and maxima, column by column."""

import numpy as np
import pytest

from course_utils import _fast


def rows_of(shape, dtype, seed=0):
    """Rows of 10 with numbers of every size, zeros of both signs, infinities and NaNs."""
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30, shape[:-1] + (1,))).astype(
            dtype
        )
        special = rng.random(shape) < 0.02
        a[special] = rng.choice(np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype), special.sum())
    return a


def same_numbers(a, b):
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(
        np.signbit(a) | np.isnan(a), np.signbit(b) | np.isnan(b)
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(50, 10), (700, 10), (4000, 10), (6, 250, 10), (3, 2, 120, 10)])
def test_class_sums_and_maxima_are_numpys(dtype, shape):
    a = rows_of(shape, dtype)
    with np.errstate(all="ignore"):
        for keepdims in (False, True):
            assert same_numbers(_fast.class_sum(a, keepdims), a.sum(axis=-1, keepdims=keepdims))
            mine, numpys = _fast.class_max(a, keepdims), a.max(axis=-1, keepdims=keepdims)
            assert np.array_equal(mine, numpys, equal_nan=True)  # (a zero maximum's sign aside)


def test_the_columns_are_used_on_this_numpy():
    # numpy 1.26 and 2.4 (the oldest and newest the course is tested with) reduce in this order;
    # a numpy that did not would still get right numbers, through its own reductions.
    assert _fast.class_reductions_are_exact("float32") and _fast.class_reductions_are_exact("float64")
    assert not _fast.class_reductions_are_exact("float16")  # (summed in float32 by the model)


def test_the_check_sees_another_order(monkeypatch):
    def sequential(a, keepdims):  # left to right: the same sum in exact arithmetic, not in float32
        total = a[..., 0].copy()
        for j in range(1, a.shape[-1]):
            total += a[..., j]
        return total[..., None] if keepdims else total

    monkeypatch.setattr(_fast, "_pairwise_columns", sequential)
    assert not _fast.class_reductions_are_exact.__wrapped__("float32")

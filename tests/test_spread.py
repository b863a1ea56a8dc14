"""A spread is the accuracies of real runs over seeds and summation orders, summarised honestly."""

import numpy as np
import pytest

from course_utils import Spread, accuracy_spreads, load_mnist, train
from course_utils.linear import SUMMATIONS


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


@pytest.fixture(scope="module")
def spreads(data):
    settings = [dict(batch_size=300, steps=40), dict(batch_size=1000, steps=40, loss="epsilon")]
    return accuracy_spreads(data, settings, seeds=(0, 3))


def test_each_entry_is_the_accuracy_of_that_seed_and_summation_order(data, spreads):
    spread = spreads[1]
    assert spread.accuracies.shape == spread.nonfinite.shape == (2, len(SUMMATIONS))
    for i, seed in enumerate(spread.seeds):
        for j, summation in enumerate(spread.summations):
            single = train(data, seed=seed, summation=summation, **spread.setting)
            assert spread.accuracies[i, j] == single.test_accuracy
            assert spread.nonfinite[i, j] == single.went_nonfinite


def test_median_and_range_summarise_the_runs(spreads):
    for spread in spreads:
        values = spread.accuracies.ravel()
        assert spread.runs == 2 * len(SUMMATIONS) and spread.summations == SUMMATIONS
        assert (spread.median, spread.low, spread.high) == (
            float(np.median(values)),
            values.min(),
            values.max(),
        )
        assert str(spread) == f"{spread.median:.3f} [{spread.low:.3f}–{spread.high:.3f}]"


def test_a_run_that_went_nan_is_counted_and_scores_zero(spreads):
    naive_at_300 = spreads[0]  # the tutorial's setting fails at B = 300 within a few steps
    assert naive_at_300.nonfinite.all() and naive_at_300.high == 0.0
    assert f"{naive_at_300.runs} non-finite" in repr(naive_at_300) and isinstance(naive_at_300, Spread)


def test_a_spread_needs_seeds_and_orders(data):
    with pytest.raises(ValueError, match=r"seeds=\(\) is not valid; it must hold at least one value"):
        accuracy_spreads(data, [dict(batch_size=100)], seeds=())
    with pytest.raises(ValueError, match=r"summations\[0\]='fast' is not valid"):
        accuracy_spreads(data, [dict(batch_size=100, steps=2)], summations=("fast",))

"""The linear layer in two float32 summation orders: the same mathematics, other last bits."""

import numpy as np
import pytest

from course_utils import TrainConfig, load_mnist, run, train
from course_utils.linear import SUMMATIONS, batch_sum, default_summation, matmul
from course_utils.multirun import train_many


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_halves_compute_the_same_product_in_another_order():
    rng = np.random.default_rng(1)
    x = rng.random((205, 784), dtype=np.float32)
    w = rng.standard_normal((784, 10)).astype(np.float32)
    exact = x.astype(np.float64) @ w.astype(np.float64)
    blas, halves = matmul(x, w, "blas"), matmul(x, w, "halves")
    assert np.array_equal(blas, x @ w)
    assert np.allclose(halves, exact, rtol=0, atol=1e-3) and np.allclose(blas, exact, rtol=0, atol=1e-3)
    assert not np.array_equal(blas, halves)  # otherwise the robustness test would test nothing


def test_halves_of_the_batch_sum_add_two_half_sums():
    g = np.arange(12, dtype=np.float32).reshape(2, 3, 2)  # two runs, batch 3, two classes
    assert batch_sum(g, "halves").tolist() == [[[6.0, 9.0]], [[24.0, 27.0]]]
    assert np.array_equal(batch_sum(g, "blas"), g.sum(axis=-2, keepdims=True))


def test_the_environment_chooses_the_default_order(monkeypatch):
    monkeypatch.delenv("BATCH205_SUMMATION", raising=False)
    assert default_summation() == "blas" and TrainConfig().summation == "blas"
    monkeypatch.setenv("BATCH205_SUMMATION", "halves")
    assert default_summation() == "halves" and TrainConfig().summation == "halves"
    monkeypatch.setenv("BATCH205_SUMMATION", "pairwise")
    with pytest.raises(ValueError, match=r"BATCH205_SUMMATION='pairwise'.*'blas', 'halves'"):
        default_summation()


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError, match=r"summation='kahan' is not valid.*'blas', 'halves'"):
        TrainConfig(summation="kahan")
    assert SUMMATIONS == ("blas", "halves")


def test_another_order_moves_last_bits_not_the_first_loss_or_the_outcome(data):
    runs = {s: train(data, batch_size=205, summation=s) for s in SUMMATIONS}
    blas, halves = runs["blas"], runs["halves"]
    assert abs(float(halves.losses[0]) - 472.0297) < 1e-3
    assert blas.first_nonfinite_step == halves.first_nonfinite_step == 3
    assert blas.losses[:3].tobytes() != halves.losses[:3].tobytes()  # other bits from step 1 on
    assert np.allclose(blas.losses[:3], halves.losses[:3], rtol=1e-5)


def test_many_runs_in_halves_equal_single_runs_in_halves(data):
    configs = [
        TrainConfig(batch_size=b, learning_rate=lr, summation="halves", steps=60)
        for b in (174, 209)
        for lr in (0.01, 0.005)
    ] + [TrainConfig(batch_size=209, summation="blas", steps=60)]
    for many, config in zip(train_many(data, configs, workers=1), configs, strict=True):
        single = run(data, config)
        assert many.config.summation == config.summation
        assert many.losses.tobytes() == single.losses.tobytes(), config
        assert many.weights.tobytes() == single.weights.tobytes(), config
        assert many.test_accuracy == single.test_accuracy, config

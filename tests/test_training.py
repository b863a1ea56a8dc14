"""The training loop: the tutorial's numbers, TensorFlow's batching, determinism and bad input."""

import math

import numpy as np
import pytest

from course_utils import TrainConfig, batch_indices, load_mnist, train


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_first_loss_at_batch_205_is_205_ln_10(data):
    result = train(data, batch_size=205, steps=1)
    assert float(result.losses[0]) == pytest.approx(472.0297, abs=1e-3)
    assert float(result.losses[0]) == pytest.approx(205 * math.log(10), abs=1e-3)


def test_tutorial_settings_reach_85_percent_on_the_sample(data):
    result = train(data)
    assert result.test_accuracy >= 0.85
    assert not result.went_nonfinite and np.isfinite(result.losses).all()


def test_identical_runs_are_bit_identical(data):
    a = train(data, batch_size=150, steps=120, seed=3)
    b = train(data, batch_size=150, steps=120, seed=3)
    assert a.losses.tobytes() == b.losses.tobytes()
    assert a.weights.tobytes() == b.weights.tobytes() and a.bias.tobytes() == b.bias.tobytes()


def test_seed_changes_only_the_order_after_the_first_epoch(data):
    a = train(data, batch_size=1000, steps=6, seed=0, loss="stable", reduction="mean")
    b = train(data, batch_size=1000, steps=6, seed=1, loss="stable", reduction="mean")
    assert a.losses[:4].tobytes() == b.losses[:4].tobytes()  # epoch 1: stored order, 4 batches
    assert a.losses[4:].tobytes() != b.losses[4:].tobytes()


def test_batches_follow_tensorflows_next_batch():
    batches = batch_indices(10, 4, seed=7)
    first, second, third, fourth = (next(batches) for _ in range(4))
    assert first.tolist() == [0, 1, 2, 3] and second.tolist() == [4, 5, 6, 7]
    # items 8 and 9 (the tail) are dropped; the reshuffled order starts from its top
    order = np.arange(10)[np.random.default_rng(7).permutation(10)]
    assert third.tolist() == order[:4].tolist() and fourth.tolist() == order[4:8].tolist()
    fifth = next(batches)  # next reshuffle composes with the previous order, as TF's in-place one did
    rng = np.random.default_rng(7)
    rng.permutation(10)
    assert fifth.tolist() == order[rng.permutation(10)][:4].tolist()


def test_a_diverging_run_records_nan_without_raising(data):
    result = train(data, batch_size=1000, learning_rate=0.05, steps=50)
    assert result.went_nonfinite
    step = result.first_nonfinite_step
    assert result.first_nonfinite_stage in ("loss", "gradient", "weights", "logits")
    assert np.isfinite(result.losses[:step]).all()
    assert np.isnan(result.losses[step + 1 :]).all()
    assert result.test_accuracy == 0.0  # NaN predictions count as wrong
    assert "first non-finite" in repr(result)


@pytest.mark.parametrize("loss", ["epsilon", "clipped", "stable"])
def test_epsilon_clipped_and_stable_losses_never_produce_nan_where_naive_does(data, loss):
    assert train(data, batch_size=1000, steps=30).went_nonfinite
    assert not train(data, batch_size=1000, steps=30, loss=loss).went_nonfinite


def test_float64_keeps_arithmetic_in_float64(data):
    result = train(data, dtype="float64", steps=5)
    assert result.losses.dtype == np.float64 and result.weights.dtype == np.float64


def test_results_are_read_only(data):
    result = train(data, steps=2)
    with pytest.raises(ValueError):
        result.weights[0, 0] = 1.0


BAD_INPUTS = [
    ({"batch_size": 0}, ValueError, "batch_size=0"),
    ({"batch_size": -3}, ValueError, "batch_size=-3"),
    ({"batch_size": 2.5}, TypeError, "whole number"),
    ({"batch_size": True}, TypeError, "batch_size=True"),
    ({"batch_size": 4001}, ValueError, "between 1 and the number of training examples, 4000"),
    ({"learning_rate": 0}, ValueError, "learning_rate=0"),
    ({"learning_rate": -0.01}, ValueError, "positive finite"),
    ({"learning_rate": float("nan")}, ValueError, "learning_rate=nan"),
    ({"learning_rate": float("inf")}, ValueError, "learning_rate=inf"),
    ({"learning_rate": "0.01"}, TypeError, "learning_rate='0.01'"),
    ({"steps": 0}, ValueError, "steps=0"),
    ({"loss": "naïve"}, ValueError, "'naive', 'epsilon', 'clipped', 'stable'"),
    ({"reduction": "avg"}, ValueError, "'sum', 'mean'"),
    ({"dtype": "int8"}, ValueError, "'float32', 'float64', 'float16', 'bfloat16'"),
    ({"mixed_precision": True}, ValueError, "mixed_precision=True is not valid with dtype='float32'"),
    ({"loss_scale": 0.0}, ValueError, "loss_scale=0.0"),
    ({"dynamic_loss_scale": "yes"}, TypeError, "dynamic_loss_scale='yes'"),
    ({"epsilon": 0.0}, ValueError, "epsilon=0.0"),
    ({"optimizer": "sgd"}, ValueError, "'gradient_descent'"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_INPUTS)
def test_bad_input_names_the_argument_and_what_is_allowed(data, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        train(data, **{"steps": 1, **kwargs})


def test_numpy_scalars_are_accepted(data):
    assert TrainConfig(batch_size=np.int64(10), learning_rate=np.float32(0.01)).batch_size == 10
    assert train(data, batch_size=np.int64(100), steps=1, dtype=np.float32).config.dtype == "float32"


def test_observe_sees_every_step_until_the_run_stops(data):
    seen = []
    result = train(data, batch_size=300, steps=40, observe=lambda r: seen.append((r.step, r.loss)))
    assert result.first_nonfinite_step >= 2
    assert [s for s, _ in seen] == list(range(result.first_nonfinite_step + 1))
    observed = np.array([v for _, v in seen], dtype=np.float32)
    assert observed.tobytes() == result.losses[: len(seen)].tobytes()


def test_a_run_and_a_group_of_runs_use_one_blas_thread(data, monkeypatch):
    """Other thread counts give float32 products other last bits (stored outputs must not depend
    on the machine's number of cores): every step, single or stacked, runs on one BLAS thread."""
    from threadpoolctl import threadpool_info

    from course_utils import multirun

    seen = set()

    def record_blas_threads(*args, **kwargs) -> None:
        seen.update(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    train(data, steps=2, observe=record_blas_threads)
    assert seen == {1}
    seen.clear()
    forward_step = multirun.forward_step  # what the stacked trainer's steps call

    def recording_forward_step(*args, **kwargs):
        record_blas_threads()
        return forward_step(*args, **kwargs)

    monkeypatch.setattr(multirun, "forward_step", recording_forward_step)
    configs = [TrainConfig(steps=2, learning_rate=rate) for rate in (0.1, 0.01)]
    multirun.train_many(data, configs, workers=1)
    assert seen == {1}

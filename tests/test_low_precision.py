"""float16 and bfloat16, pure and mixed precision, loss scaling: each operation in its documented dtype."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from course_utils import TrainConfig, float_limits, load_mnist, train, training
from course_utils.linear import ALTERNATIVE_SUMMATIONS, batch_sum, matmul
from course_utils.model import dtype_sum, flush_to_zero, loss_and_gradient, softmax
from course_utils.training import LossScaler


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def rng_arrays(dtype, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_products_accumulate_in_float32_and_round_once(dtype):
    a, b = rng_arrays(dtype, (300, 784), (784, 10))
    expected = (a.astype(np.float32) @ b.astype(np.float32)).astype(dtype)
    got = matmul(a, b)
    assert got.dtype == np.dtype(dtype)
    assert got.tobytes() == expected.tobytes()
    eps = float(ml_dtypes.finfo(dtype).eps)  # the step from 1 to the next number
    for summation in ALTERNATIVE_SUMMATIONS:  # other orders: also float32 or wider, rounded once
        other = matmul(a, b, summation)
        assert other.dtype == np.dtype(dtype)
        ours, blas = other.astype(np.float32), got.astype(np.float32)
        assert np.all(np.abs(ours - blas) <= eps * np.maximum(np.abs(blas), 1))  # one step at most
    g = rng_arrays(dtype, (300, 10))[0]
    assert batch_sum(g).tobytes() == g.astype(np.float32).sum(0, keepdims=True).astype(dtype).tobytes()


def test_numpys_own_float16_product_rounds_after_every_addition_and_differs():
    a, b = rng_arrays("float16", (200, 784), (784, 10))
    assert (a @ b).tobytes() != matmul(a, b).tobytes()


def test_reductions_over_classes_and_batch_accumulate_in_float32():
    losses = np.full(205, 2.3, dtype="bfloat16")
    assert float(dtype_sum(losses)) == float(
        np.float32(losses.astype(np.float32).sum()).astype("bfloat16")
    )
    assert float(np.add.reduce(losses)) < float(dtype_sum(losses)) - 20  # bfloat16 additions stall


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_pure_low_precision_keeps_every_array_of_the_model_in_its_dtype(dtype):
    logits, onehot = rng_arrays(dtype, (50, 10), (50, 10))
    onehot = np.eye(10, dtype=dtype)[np.arange(50) % 10]
    for loss in ("naive", "epsilon", "clipped", "stable"):
        result = loss_and_gradient(logits, onehot, loss=loss, reduction="mean")
        assert result.loss.dtype == np.dtype(dtype)
        assert result.grad_logits.dtype == result.probabilities.dtype == np.dtype(dtype)
    assert softmax(logits).dtype == np.dtype(dtype)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_run_keeps_weights_logits_and_gradients_in_the_documented_dtypes(data, dtype, mixed):
    seen = []
    result = train(
        data, batch_size=100, steps=30, dtype=dtype, mixed_precision=mixed, loss="stable",
        reduction="mean", learning_rate=1.0, observe=seen.append,
    )  # fmt: skip
    master = "float32" if mixed else dtype
    assert result.weights.dtype == result.bias.dtype == result.losses.dtype == np.dtype(master)
    step = seen[-1]
    assert step.logits.dtype == step.grad_logits.dtype == np.dtype(dtype)  # products' operands
    assert step.probabilities.dtype == np.dtype("float32" if mixed else dtype)  # softmax
    assert step.grad_weights.dtype == np.dtype(master)  # the update's
    assert not result.went_nonfinite and result.test_accuracy > 0.5


def test_mixed_precision_needs_a_low_precision_dtype():
    with pytest.raises(
        ValueError, match="mixed_precision=True is not valid with dtype='float32'.*float16"
    ):
        TrainConfig(mixed_precision=True)
    with pytest.raises(TypeError, match="mixed_precision=1 is not valid; it must be True or False"):
        TrainConfig(dtype="float16", mixed_precision=1)
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="loss_scale=.* positive finite number"):
            TrainConfig(loss_scale=bad)


def test_a_power_of_two_loss_scale_changes_nothing_in_float32_where_nothing_underflows(data):
    plain = train(data, batch_size=100, steps=40, loss="stable", reduction="mean", learning_rate=1.0)
    scaled = train(
        data, batch_size=100, steps=40, loss="stable", reduction="mean", learning_rate=1.0,
        loss_scale=1024.0, flush_subnormals=False,
    )  # fmt: skip
    unflushed = train(
        data, batch_size=100, steps=40, loss="stable", reduction="mean", learning_rate=1.0,
        flush_subnormals=False,
    )  # fmt: skip
    assert scaled.losses.tobytes() == unflushed.losses.tobytes()
    assert scaled.weights.tobytes() == unflushed.weights.tobytes()
    assert plain.test_accuracy == scaled.test_accuracy


def test_loss_scaling_recovers_gradients_that_underflow_in_float16(data):
    def zero_fraction(**scaling):
        seen = []
        train(
            data, batch_size=1000, steps=30, dtype="float16", mixed_precision=True, loss="stable",
            reduction="mean", learning_rate=1.0, observe=seen.append, **scaling,
        )  # fmt: skip
        return float(np.mean(seen[-1].grad_logits == 0))

    # float32's gradient (p - y) / 1000 has no zero; cast to float16, the entries below 2**-25
    # round to 0. Scaled by 1024 first, few do.
    unscaled, scaled = zero_fraction(), zero_fraction(loss_scale=1024.0)
    assert unscaled > 0.02
    assert scaled < unscaled / 10


def test_dynamic_loss_scaling_skips_overflowing_steps_and_halves_the_scale(data):
    result = train(
        data, batch_size=100, steps=30, dtype="float16", mixed_precision=True, loss="stable",
        reduction="mean", learning_rate=1.0, loss_scale=2.0**30, dynamic_loss_scale=True,
    )  # fmt: skip
    # float16 holds numbers up to 65504: the gradient times 2**30 overflows until the scale fits.
    assert 5 <= result.skipped_steps < 30
    assert not result.went_nonfinite and result.test_accuracy > 0.5
    static = train(
        data, batch_size=100, steps=30, dtype="float16", mixed_precision=True, loss="stable",
        reduction="mean", learning_rate=1.0, loss_scale=2.0**30,
    )  # fmt: skip
    assert (
        static.went_nonfinite
        and static.first_nonfinite_stage == "gradient"
        and static.skipped_steps == 0
    )


def test_the_dynamic_scale_grows_after_the_growth_interval_of_clean_steps(monkeypatch):
    monkeypatch.setattr(training, "GROWTH_INTERVAL", 3)
    scaler = LossScaler(8.0, dynamic=True)
    grads = [np.ones(2, np.float32)]
    for _ in range(3):
        assert scaler.unscale_or_skip([g.copy() for g in grads])
    assert scaler.scale == 16.0 and scaler.skipped_steps == 0
    assert not scaler.unscale_or_skip([np.array([1.0, np.inf], np.float32)])
    assert scaler.scale == 8.0 and scaler.skipped_steps == 1 and scaler.clean_steps == 0
    unscaled = [np.full(2, 8.0, np.float32)]
    scaler.unscale_or_skip(unscaled)
    assert unscaled[0].tolist() == [1.0, 1.0]
    assert training.GROWTH_INTERVAL == 3 and LossScaler().scale == 1.0


def test_growth_interval_is_torchs_default():
    assert training.GROWTH_INTERVAL == 2000


@pytest.mark.parametrize(
    "dtype, smallest_normal, largest",
    [("float16", 2.0**-14, 65504.0), ("bfloat16", 2.0**-126, float(np.finfo(np.float32).max))],
)
def test_float_limits_of_the_low_precision_types_are_the_gaps_their_ranges_give(
    dtype, smallest_normal, largest
):
    limits = float_limits(dtype)
    spacing = 2.0**-6 if dtype == "float16" else 0.5  # of the dtype's numbers near the gaps
    assert abs(limits.exp_underflow_gap_flushed + math.log(smallest_normal)) <= spacing
    assert limits.softmax_zero_gap == limits.exp_underflow_gap_flushed  # no oneDNN floor
    assert limits.reciprocal_overflow_gap <= math.log(limits.largest_finite) + spacing
    assert limits.reciprocal_overflow_gap >= math.log(limits.largest_finite) - spacing
    assert limits.largest_finite == pytest.approx(largest, rel=2**-7)
    assert limits.exp_underflow_gap_flushed < limits.exp_underflow_gap_ieee


def test_bfloat16_has_float32s_range_and_8_bits_of_precision():
    f32, bf16, f16 = float_limits("float32"), float_limits("bfloat16"), float_limits("float16")
    assert abs(bf16.exp_underflow_gap_flushed - f32.exp_underflow_gap_flushed) < 0.5
    assert (
        bf16.machine_epsilon == 2.0**-7
        and f16.machine_epsilon == 2.0**-10
        and f32.machine_epsilon == 2.0**-23
    )
    assert f16.softmax_zero_gap < 10 < 80 < bf16.softmax_zero_gap


def test_flushing_is_below_each_dtypes_own_smallest_normal():
    half = flush_to_zero(np.array([1e-5, 7e-5], np.float16))
    assert half.tolist() == [0.0, float(np.float16(7e-5))]
    brain = flush_to_zero(np.array([1e-39, 2e-38], "bfloat16"))
    assert float(brain[0]) == 0.0 and float(brain[1]) > 0


def test_the_naive_tutorial_fails_in_float16_where_float32_trains(data):
    assert not train(data, batch_size=100, steps=50).went_nonfinite
    assert train(data, batch_size=100, steps=50, dtype="float16").went_nonfinite
    assert not train(
        data, batch_size=100, steps=50, dtype="float16", mixed_precision=True
    ).went_nonfinite

"""The optimizers of lesson 07: TensorFlow 1.x's update rules, element-wise, in the params' dtype.

Expected values are worked out by hand from the formulas of TensorFlow's kernels (in float64 Python
arithmetic, one coordinate at a time), never taken from a run of the code under test.
"""

import math

import numpy as np
import pytest

from course_utils import (
    OPTIMIZERS,
    Adagrad,
    Adam,
    Ftrl,
    GradientDescent,
    Momentum,
    RMSProp,
    TrainResult,
    load_mnist,
    steady_step,
    sweep,
    train,
)

W0 = [0.5, -1.0, 0.0]
G1 = [0.2, -3.0, 0.0]
G2 = [-0.1, 1.0, 2.0]


def two_steps(optimizer, dtype="float32"):
    w = np.array(W0, dtype=dtype)
    state = optimizer.init([w])
    seen = []
    for g in (G1, G2):
        optimizer.update([w], [np.array(g, dtype=dtype)], state)
        seen.append(w.copy())
    return seen


def momentum_by_hand(lr, mu):
    w1, w2 = [], []
    for w, g1, g2 in zip(W0, G1, G2, strict=True):
        a1 = g1
        a2 = mu * a1 + g2
        w1.append(w - lr * a1)
        w2.append(w - lr * a1 - lr * a2)
    return w1, w2


def adagrad_by_hand(lr, init):
    w1, w2 = [], []
    for w, g1, g2 in zip(W0, G1, G2, strict=True):
        a1 = init + g1**2
        a2 = a1 + g2**2
        w1.append(w - lr * g1 / math.sqrt(a1))
        w2.append(w1[-1] - lr * g2 / math.sqrt(a2))
    return w1, w2


def rmsprop_by_hand(lr, decay, eps=1e-10):
    w1, w2 = [], []
    for w, g1, g2 in zip(W0, G1, G2, strict=True):
        ms1 = decay * 1.0 + (1 - decay) * g1**2  # TensorFlow 1.x starts ms at one
        ms2 = decay * ms1 + (1 - decay) * g2**2
        w1.append(w - lr * g1 / math.sqrt(ms1 + eps))
        w2.append(w1[-1] - lr * g2 / math.sqrt(ms2 + eps))
    return w1, w2


def adam_by_hand(lr, b1=0.9, b2=0.999, eps=1e-8):
    w1, w2 = [], []
    for w, g1, g2 in zip(W0, G1, G2, strict=True):
        m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
        m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
        lr1 = lr * math.sqrt(1 - b2) / (1 - b1)
        lr2 = lr * math.sqrt(1 - b2**2) / (1 - b1**2)
        w1.append(w - lr1 * m1 / (math.sqrt(v1) + eps))
        w2.append(w1[-1] - lr2 * m2 / (math.sqrt(v2) + eps))
    return w1, w2


def ftrl_by_hand(lr, init=0.1):
    w1, w2 = [], []
    for w, g1, g2 in zip(W0, G1, G2, strict=True):
        a0, a1, a2 = init, init + g1**2, init + g1**2 + g2**2
        lin1 = g1 - (math.sqrt(a1) - math.sqrt(a0)) / lr * w
        x1 = -lin1 / (math.sqrt(a1) / lr) if lin1 != 0 else 0.0
        lin2 = lin1 + g2 - (math.sqrt(a2) - math.sqrt(a1)) / lr * x1
        x2 = -lin2 / (math.sqrt(a2) / lr) if lin2 != 0 else 0.0
        w1.append(x1)
        w2.append(x2)
    return w1, w2


CASES = {
    "gradient_descent": (
        GradientDescent(0.1),
        (
            [w - 0.1 * g for w, g in zip(W0, G1, strict=True)],
            [w - 0.1 * (g + h) for w, g, h in zip(W0, G1, G2, strict=True)],
        ),
    ),
    "momentum": (Momentum(0.1, momentum=0.9), momentum_by_hand(0.1, 0.9)),
    "adagrad": (Adagrad(0.1), adagrad_by_hand(0.1, 0.1)),
    "rmsprop decay 0.1": (RMSProp(0.01, decay=0.1), rmsprop_by_hand(0.01, 0.1)),
    "rmsprop decay 0.9": (RMSProp(0.01), rmsprop_by_hand(0.01, 0.9)),
    "adam": (Adam(0.001), adam_by_hand(0.001)),
    "ftrl": (Ftrl(0.5), ftrl_by_hand(0.5)),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_first_two_steps_follow_tensorflows_formulas(name, dtype):
    optimizer, expected = CASES[name]
    got = two_steps(optimizer, dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for step in range(2):
        assert got[step].dtype == np.dtype(dtype)
        np.testing.assert_allclose(
            got[step], expected[step], rtol=rtol, atol=1e-7, err_msg=f"step {step + 1}"
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_registered_optimizer_keeps_the_dtype_of_params_and_state(name, dtype):
    optimizer = OPTIMIZERS[name](learning_rate=0.01)
    params = [np.ones((3, 2), dtype), np.ones(2, dtype)]
    state = optimizer.init(params)
    grads = [np.full((3, 2), 0.5, dtype), np.full(2, -0.5, dtype)]
    optimizer.update(params, grads, state)
    assert all(p.dtype == np.dtype(dtype) for p in params)
    slots = [a for v in (state or {}).values() for a in (v if isinstance(v, list) else [v])]
    assert all(np.asarray(a).dtype == np.dtype(dtype) for a in slots)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_is_element_wise_so_stacked_runs_match_separate_runs(name):
    # A sweep may stack R runs along a leading axis; each run must update as if it were alone.
    rng = np.random.default_rng(0)
    stacked = [
        rng.normal(size=(3, 4, 2)).astype(np.float32),
        rng.normal(size=(3, 2)).astype(np.float32),
    ]
    grads = [[rng.normal(size=p.shape).astype(np.float32) for p in stacked] for _ in range(3)]
    separate = [[p[r].copy() for p in stacked] for r in range(3)]
    optimizer = OPTIMIZERS[name](learning_rate=0.01)
    state = optimizer.init(stacked)
    states = [optimizer.init(params) for params in separate]
    for step_grads in grads:
        optimizer.update(stacked, step_grads, state)
        for r in range(3):
            optimizer.update(separate[r], [g[r] for g in step_grads], states[r])
    for r in range(3):
        for p, q in zip(stacked, separate[r], strict=True):
            assert p[r].tobytes() == q.tobytes()


def test_adam_first_step_moves_every_coordinate_by_the_learning_rate_whatever_the_gradient():
    w = np.zeros(4, np.float32)
    optimizer = Adam(0.001)
    optimizer.update([w], [np.float32([1e4, 1.0, -1e-3, -50.0])], optimizer.init([w]))
    # within 0.1 %: epsilon (1e-8) only matters next to sqrt(v) = 0.03 |g| for tiny gradients
    np.testing.assert_allclose(w, [-0.001, -0.001, 0.001, 0.001], rtol=1e-3)


def test_rmsprop_with_small_decay_steps_by_about_the_learning_rate_times_the_sign():
    w = np.zeros(3, np.float32)
    optimizer = RMSProp(0.01, decay=0.1)
    state = optimizer.init([w])
    for _ in range(10):  # after some steps ms has forgotten its initial 1 and is about grad²
        w[:] = 0
        optimizer.update([w], [np.float32([1e3, 1e-3, -1.0])], state)
    np.testing.assert_allclose(w, [-0.01, -0.01, 0.01], rtol=1e-3)


def test_ftrl_sets_a_weight_whose_linear_term_is_nan_to_zero_as_tensorflow_does():
    w = np.ones(2, np.float32)
    optimizer = Ftrl(0.01)
    state = optimizer.init([w])
    optimizer.update([w], [np.float32([np.nan, 1.0])], state)
    assert w[0] == 0.0 and np.isnan(state["linear"][0][0]) and np.isfinite(w[1])


def test_the_answers_settings_are_registered_under_documented_names():
    assert OPTIMIZERS["momentum"](learning_rate=0.01) == Momentum(0.01, momentum=0.9)
    assert OPTIMIZERS["rmsprop"](learning_rate=0.01) == RMSProp(0.01, decay=0.1)
    assert OPTIMIZERS["rmsprop_decay0.9"](learning_rate=0.01) == RMSProp(0.01, decay=0.9)
    assert OPTIMIZERS["adagrad"](learning_rate=0.01) == Adagrad(0.01, initial_accumulator_value=0.1)
    assert OPTIMIZERS["adam"](learning_rate=0.001) == Adam(0.001, 0.9, 0.999, 1e-8)
    assert OPTIMIZERS["ftrl"](learning_rate=0.01) == Ftrl(0.01, -0.5, 0.1, 0.0, 0.0)
    assert all(len(name) <= 24 for name in OPTIMIZERS)  # fits the sweep table's column


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_train_runs_with_every_optimizer_and_records_the_run(data, name):
    result = train(data, batch_size=100, steps=20, optimizer=name)
    assert isinstance(result, TrainResult) and result.config.optimizer == name
    assert len(result.losses) == 20 and result.losses.dtype == np.float32
    assert 0.0 <= result.test_accuracy <= 1.0


def test_adaptive_optimizers_survive_where_gradient_descent_goes_nan(data):
    assert train(data, batch_size=400, steps=40).went_nonfinite
    for name, lr in [("adam", 0.001), ("adagrad", 0.01), ("ftrl", 0.01)]:
        result = train(data, batch_size=400, steps=40, optimizer=name, learning_rate=lr)
        assert not result.went_nonfinite, name


def test_momentum_09_goes_nan_within_ten_steps_even_at_batch_100(data):
    # Measured with TensorFlow 2.21 on this subset (COURSE_SPEC §3 item 7).
    result = train(data, batch_size=100, steps=30, optimizer="momentum")
    assert result.went_nonfinite and result.first_nonfinite_step < 10


@pytest.mark.parametrize("bad", ["Adam", "sgd", "", None, 3])
def test_an_unknown_optimizer_name_is_rejected_with_the_valid_names(data, bad):
    with pytest.raises(ValueError, match="optimizer=.*choose one of .*'adam'.*'ftrl'"):
        train(data, steps=1, optimizer=bad)
    with pytest.raises(ValueError, match="optimizer="):
        sweep(data, steps=1, optimizer=["adam", bad], cache=False)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_stack_of_runs_may_have_one_learning_rate_per_run(name):
    # How the vectorised sweep uses the seam: learning_rate of shape (runs, 1, 1), bias (runs, 1, 10).
    rng = np.random.default_rng(1)
    rates = np.array([0.001, 0.01, 0.1]).reshape(-1, 1, 1)
    stacked = [
        rng.normal(size=(3, 4, 2)).astype(np.float32),
        rng.normal(size=(3, 1, 2)).astype(np.float32),
    ]
    separate = [[p[r].copy() for p in stacked] for r in range(3)]
    optimizer = OPTIMIZERS[name](learning_rate=rates)
    singles = [OPTIMIZERS[name](learning_rate=float(rate)) for rate in rates.ravel()]
    state = optimizer.init(stacked)
    states = [single.init(params) for single, params in zip(singles, separate, strict=True)]
    for _ in range(3):
        grads = [rng.normal(size=p.shape).astype(np.float32) for p in stacked]
        optimizer.update(stacked, grads, state)
        for r in range(3):
            singles[r].update(separate[r], [g[r] for g in grads], states[r])
    for r in range(3):
        for p, q in zip(stacked, separate[r], strict=True):
            assert p[r].tobytes() == q.tobytes()


STEADY = 1000  # equal gradients, as in lesson 07's prediction


@pytest.mark.parametrize("g", [1e-3, 0.02, 0.2, 3.0])
def test_steady_step_follows_each_rule_in_closed_form_after_many_equal_gradients(g):
    # The sums of section 1's rules with a constant gradient g, written out by hand.
    closed_form = {
        "gradient_descent": g,
        "momentum": g * (1 - 0.9**STEADY) / (1 - 0.9),
        "adagrad": g / math.sqrt(0.1 + STEADY * g * g),
        "ftrl": g / math.sqrt(0.1 + STEADY * g * g),  # Ftrl without l1/l2 is Adagrad
    }
    for name, expected in closed_form.items():
        assert float(steady_step(name, g)) == pytest.approx(expected, rel=1e-6), name
    for name in ("rmsprop", "rmsprop_decay0.9", "adam"):  # their averages forget the start
        assert float(steady_step(name, g)) == pytest.approx(1.0, rel=1e-3), name


def test_steady_step_is_element_wise_and_rejects_bad_input():
    steps = steady_step("momentum", [0.01, 0.1])
    assert steps.shape == (2,) and steps.tolist() == pytest.approx([0.1, 1.0], rel=1e-6)
    with pytest.raises(
        ValueError, match="optimizer='sgd' is not valid; choose one of 'gradient_descent'"
    ):
        steady_step("sgd", 0.1)
    with pytest.raises(ValueError, match="steps=0 is not valid; it must be >= 1"):
        steady_step("adam", 0.1, steps=0)

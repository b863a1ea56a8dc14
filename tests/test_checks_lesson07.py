"""Lesson 07's checks: right answers pass, typical mistakes fail with a useful message, quietly."""

import math

import numpy as np
import pytest

from course_utils import check_adam_update, check_survivor_prediction, check_survivors, stand_ins
from course_utils.checks import CheckFailed


def adam_answer(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    return param - lr_t * new_m / (np.sqrt(new_v) + epsilon), new_m, new_v


def no_bias_correction(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    return param - lr * new_m / (np.sqrt(new_v) + epsilon), new_m, new_v


def climbs(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_param, new_m, new_v = adam_answer(param, grad, m, v, t, lr, beta1, beta2, epsilon)
    return 2 * param - new_param, new_m, new_v


def float64_scalar(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    lr_t = (
        lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    )  # a float64 scalar: float32 arrays become float64
    return param - lr_t * new_m / (np.sqrt(new_v) + epsilon), new_m, new_v


def swapped_betas(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_m = (1 - beta1) * m + beta1 * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    return param - lr_t * new_m / (np.sqrt(new_v) + epsilon), new_m, new_v


def t_off_by_one(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    return adam_answer(param, grad, m, v, t + 1, lr, beta1, beta2, epsilon)


def updates_in_place(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    new_param, new_m, new_v = adam_answer(param, grad, m, v, t, lr, beta1, beta2, epsilon)
    param[...] = new_param


def not_implemented(*args):
    raise NotImplementedError()


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True


def always_equal(param, grad, m, v, t, *rest):
    return tuple(np.zeros_like(param).view(AlwaysEqual) for _ in range(3))


def test_the_solution_passes_visible_and_hidden_without_stderr(capfd):
    check_adam_update(adam_answer)
    check_adam_update(adam_answer, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (no_bias_correction, "bias correction is missing"),
        (climbs, "wrong sign"),
        (float64_scalar, "float64"),
        (swapped_betas, "new_m after the first step"),
        (t_off_by_one, "new_param after the first step"),
        (updates_in_place, "three arrays"),
        (always_equal, "AlwaysEqual"),
    ],
)
def test_typical_mistakes_fail_with_a_helpful_message_and_no_stderr(answer, message, capfd):
    for hidden in (False, True):
        with pytest.raises(CheckFailed, match=message) as failure:
            check_adam_update(answer, hidden=hidden)
        assert "Hint:" in str(failure.value)
    assert capfd.readouterr().err == ""


def test_not_implemented_is_not_done_yet_in_the_visible_check_and_fails_the_hidden_one(capfd):
    check_adam_update(not_implemented)
    assert capfd.readouterr().err.startswith("exercise (a) not done yet: not_implemented is not")
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_adam_update(not_implemented, hidden=True)


SURVIVORS = {"gradient_descent", "momentum", "adagrad", "ftrl"}  # what section 2's reasoning predicts


class AnyName(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


def test_the_measured_survivors_pass_and_the_check_measures_them_itself(capfd):
    check_survivors(SURVIVORS)
    check_survivors(sorted(SURVIVORS), hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (SURVIVORS - {"momentum"}, "1 optimizer"),
        (SURVIVORS | {"adam"}, "1 of your names went NaN"),
        (SURVIVORS | {"sgd"}, "not an optimizer name"),
        ({AnyName("adam")}, "contain names"),
        ("gradient_descent", "set of optimizer names"),
    ],
)
def test_wrong_survivor_sets_fail_without_giving_the_answer_away(answer, message, capfd):
    with pytest.raises(CheckFailed, match=message) as failure:
        check_survivors(answer)
    assert "adam went" not in str(failure.value)
    assert capfd.readouterr().err == ""


def copied_survivors(gradient):
    """The measured survivors typed in: right at the lesson's gradient size, not a prediction."""
    return set(SURVIVORS)


def momentum_as_gradient_descent(gradient):
    """Forgets that momentum's velocity adds up the equal gradients (a step of g, not 10 g)."""
    return {"adagrad", "ftrl"} | ({"gradient_descent", "momentum"} if gradient < 0.5 else set())


def adaptive_survive(gradient):
    """Takes every adaptive optimizer for safe, RMSProp and Adam included."""
    return {"adagrad", "ftrl", "rmsprop", "rmsprop_decay0.9", "adam"}


def test_the_prediction_from_the_update_rules_passes_visible_and_hidden_quietly(capfd):
    check_survivor_prediction(stand_ins.predict_survivors)
    check_survivor_prediction(stand_ins.predict_survivors, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 1 and err == ""  # the hidden check passes silently


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (copied_survivors, r"predict_survivors\(0\.(2|08)\) is wrong about momentum"),
        (momentum_as_gradient_descent, "wrong about momentum"),
        (adaptive_survive, "wrong about adam, gradient_descent, momentum, rmsprop"),
        (lambda g: {"adam", "sgd"}, "not an optimizer name"),
        (lambda g: "adagrad", "set of optimizer names"),
        (lambda g: {AnyName("adam")}, "contain names"),
    ],
)
def test_wrong_predictions_fail_visible_and_hidden_with_a_hint(answer, message, capfd):
    for hidden in (False, True):
        with pytest.raises(CheckFailed, match=message) as failure:
            check_survivor_prediction(answer, hidden=hidden)
        assert "Hint:" in str(failure.value)
    assert capfd.readouterr().err == ""


def test_a_prediction_wrong_only_for_large_gradients_fails_the_hidden_check():
    def gradient_descent_always(gradient):
        return {"adagrad", "ftrl", "gradient_descent"} | ({"momentum"} if gradient < 0.05 else set())

    check_survivor_prediction(gradient_descent_always)
    with pytest.raises(CheckFailed, match=r"predict_survivors\(0.7\) is wrong about gradient_descent"):
        check_survivor_prediction(gradient_descent_always, hidden=True)

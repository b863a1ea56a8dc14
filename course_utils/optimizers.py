"""Update rules: how a gradient becomes a change of the weights.

The training loop only calls ``optimizer.init(params)`` once and ``optimizer.update(params, grads,
state)`` every step; each optimizer keeps whatever it needs (momentum, running averages) in the
state it returns from ``init`` and changes ``params`` (and its state) in place.

Each rule follows TensorFlow 1.x: the Python optimizer class for the initial values of its slots
and the CPU kernel in ``tensorflow/core/kernels/training_ops.cc`` for the formula, written in the
same order of operations so that float32 rounds the same way. All arithmetic happens in the dtype
of the parameters. Every rule is element-wise (no reduction over an array, no assumption about its
shape), so the same ``update`` works on a stack of runs with a leading run axis, and
``learning_rate`` may be an array that broadcasts against the parameters (one value per run, as
``course_utils.multirun`` uses it).

The names accepted as ``optimizer=`` by ``train`` and ``sweep`` (:data:`OPTIMIZERS`), with the
settings of the answers to the 2015 question:

==================== ================================================================
``gradient_descent`` ``GradientDescentOptimizer(lr)``: the tutorial
``momentum``         ``MomentumOptimizer(lr, momentum=0.9)``
``adagrad``          ``AdagradOptimizer(lr)``: accumulator starts at 0.1
``rmsprop``          ``RMSPropOptimizer(lr, decay=0.1)``: the answer's setting
``rmsprop_decay0.9`` ``RMSPropOptimizer(lr)``: TensorFlow's default decay 0.9
``adam``             ``AdamOptimizer(lr)``: beta1 0.9, beta2 0.999, epsilon 1e-8
``ftrl``             ``FtrlOptimizer(lr)``: power -0.5, accumulator 0.1, no l1/l2
==================== ================================================================

Adam's default learning rate in TensorFlow is 0.001, so "Adam with its defaults" is
``train(..., optimizer="adam", learning_rate=0.001)``; the others were used with 0.01.

Introduced in lesson 01 (gradient descent) and lesson 07 (the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from .validate import require_choice, require_positive_int, require_positive_real


def _like(params: list[np.ndarray], value: float) -> list[np.ndarray]:
    """One slot per parameter, same shape and dtype, filled with ``value``."""
    return [np.full_like(p, value) for p in params]


@dataclass(frozen=True)
class GradientDescent:
    """``var -= grad * learning_rate``, as TensorFlow's ApplyGradientDescent kernel computes it."""

    learning_rate: float

    def init(self, params: list[np.ndarray]) -> None:
        return None

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: None) -> None:
        for param, grad in zip(params, grads, strict=True):
            param -= grad * param.dtype.type(self.learning_rate)


@dataclass(frozen=True)
class Momentum:
    """Heavy-ball momentum, TensorFlow's ``MomentumOptimizer`` (ApplyMomentum kernel).

    ``accum = accum * momentum + grad``; ``var -= accum * learning_rate``. The accumulator starts
    at zero, so a steady gradient builds up to ``1 / (1 - momentum)`` times (10 times for 0.9) the
    plain gradient-descent step.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros(1, np.float32)
    >>> opt = Momentum(learning_rate=0.1, momentum=0.9)
    >>> state = opt.init([w])
    >>> for _ in range(2):
    ...     opt.update([w], [np.ones(1, np.float32)], state)
    >>> round(float(w[0]), 6)  # -0.1 (step 1) then -0.19 (step 2)
    -0.29

    Introduced in lesson 07.
    """

    learning_rate: float
    momentum: float = 0.9

    def init(self, params: list[np.ndarray]) -> dict:
        return {"accum": _like(params, 0)}

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: dict) -> None:
        for param, grad, accum in zip(params, grads, state["accum"], strict=True):
            t = param.dtype.type
            accum *= t(self.momentum)
            accum += grad
            param -= accum * t(self.learning_rate)


@dataclass(frozen=True)
class Adagrad:
    """Adagrad, TensorFlow's ``AdagradOptimizer`` (ApplyAdagrad kernel).

    ``accum += grad²``; ``var -= grad * learning_rate / sqrt(accum)``. The accumulator starts at
    ``initial_accumulator_value`` (0.1 in TensorFlow), so the first step of a coordinate with a
    large gradient is about ``learning_rate`` in size, whatever the gradient's scale.

    Introduced in lesson 07.
    """

    learning_rate: float
    initial_accumulator_value: float = 0.1

    def init(self, params: list[np.ndarray]) -> dict:
        return {"accum": _like(params, self.initial_accumulator_value)}

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: dict) -> None:
        for param, grad, accum in zip(params, grads, state["accum"], strict=True):
            t = param.dtype.type
            accum += grad * grad
            # TensorFlow multiplies by rsqrt(accum); 1 / sqrt is the same up to the last bit.
            param -= grad * t(self.learning_rate) * (t(1) / np.sqrt(accum))


@dataclass(frozen=True)
class RMSProp:
    """RMSProp, TensorFlow 1.x's ``RMSPropOptimizer`` (ApplyRMSProp kernel).

    ``ms += (grad² - ms) * (1 - decay)`` (that is ``ms = decay * ms + (1 - decay) * grad²``);
    ``mom = mom * momentum + grad * learning_rate / sqrt(ms + epsilon)``; ``var -= mom``.
    TensorFlow 1.x starts ``ms`` at ONES (not zeros) and ``mom`` at zeros. With a small ``decay``
    ``ms`` forgets almost at once and is about ``grad²``, so each coordinate moves by about
    ``learning_rate`` in the direction of ``-sign(grad)``, however small its gradient.

    Introduced in lesson 07.
    """

    learning_rate: float
    decay: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-10

    def init(self, params: list[np.ndarray]) -> dict:
        return {"ms": _like(params, 1), "mom": _like(params, 0)}

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: dict) -> None:
        for param, grad, ms, mom in zip(params, grads, state["ms"], state["mom"], strict=True):
            t = param.dtype.type
            ms += (grad * grad - ms) * (t(1) - t(self.decay))
            mom *= t(self.momentum)
            mom += grad * t(self.learning_rate) / np.sqrt(ms + t(self.epsilon))
            param -= mom


@dataclass(frozen=True)
class Adam:
    """Adam, TensorFlow's ``AdamOptimizer`` (ApplyAdam kernel).

    At step ``t`` (1, 2, ...): ``lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)``;
    ``m += (grad - m) * (1 - beta1)``; ``v += (grad² - v) * (1 - beta2)``;
    ``var -= m * lr_t / (sqrt(v) + epsilon)``. ``m`` and ``v`` start at zero; as in TensorFlow,
    ``beta1^t`` and ``beta2^t`` are kept as running products in the state (``beta1_power``,
    ``beta2_power``), multiplied by ``beta1`` and ``beta2`` after every update. The first step
    moves every coordinate with a non-zero gradient by almost exactly ``learning_rate``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros(2, np.float32)
    >>> opt = Adam(learning_rate=0.001)
    >>> state = opt.init([w])
    >>> opt.update([w], [np.float32([1000.0, -0.5])], state)
    >>> [round(float(x), 6) for x in w]
    [-0.001, 0.001]

    Introduced in lesson 07.
    """

    learning_rate: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8

    def init(self, params: list[np.ndarray]) -> dict:
        t = params[0].dtype.type
        return {
            "m": _like(params, 0),
            "v": _like(params, 0),
            "beta1_power": t(self.beta1),
            "beta2_power": t(self.beta2),
        }

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: dict) -> None:
        t = params[0].dtype.type
        b1, b2 = t(self.beta1), t(self.beta2)
        alpha = (
            t(self.learning_rate) * np.sqrt(t(1) - state["beta2_power"]) / (t(1) - state["beta1_power"])
        )
        for param, grad, m, v in zip(params, grads, state["m"], state["v"], strict=True):
            m += (grad - m) * (t(1) - b1)
            v += (grad * grad - v) * (t(1) - b2)
            param -= m * alpha / (np.sqrt(v) + t(self.epsilon))
        state["beta1_power"] = state["beta1_power"] * b1
        state["beta2_power"] = state["beta2_power"] * b2


@dataclass(frozen=True)
class Ftrl:
    """FTRL-proximal, TensorFlow 1.x's ``FtrlOptimizer`` (ApplyFtrl kernel).

    With ``new_accum = accum + grad²`` and ``power = -learning_rate_power`` (0.5 by default):
    ``linear += grad - (new_accum^power - accum^power) / learning_rate * var``; then
    ``var = (l1 * sign(linear) - linear) / (new_accum^power / learning_rate + 2 * l2)`` where
    ``|linear| > l1`` and 0 elsewhere; ``accum = new_accum``. ``accum`` starts at
    ``initial_accumulator_value`` (0.1), ``linear`` at zero. The weight is recomputed from the
    accumulated gradients instead of being nudged, and ``|linear| > l1`` is false for NaN, so, as
    in TensorFlow, a weight whose ``linear`` has become NaN is set to 0 rather than to NaN.

    Introduced in lesson 07.
    """

    learning_rate: float
    learning_rate_power: float = -0.5
    initial_accumulator_value: float = 0.1
    l1: float = 0.0
    l2: float = 0.0

    def init(self, params: list[np.ndarray]) -> dict:
        return {"accum": _like(params, self.initial_accumulator_value), "linear": _like(params, 0)}

    def _power(self, a: np.ndarray) -> np.ndarray:
        if self.learning_rate_power == -0.5:  # TensorFlow's special case: sqrt, not pow
            return np.sqrt(a)
        return a ** a.dtype.type(-self.learning_rate_power)

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: dict) -> None:
        for param, grad, accum, linear in zip(
            params, grads, state["accum"], state["linear"], strict=True
        ):
            t = param.dtype.type
            lr, l1, l2 = t(self.learning_rate), t(self.l1), t(self.l2)
            new_accum = accum + grad * grad
            linear += grad - (self._power(new_accum) - self._power(accum)) / lr * param
            pre_shrink = (l1 * np.sign(linear) - linear) / (self._power(new_accum) / lr + t(2) * l2)
            param[...] = np.where(np.abs(linear) > l1, pre_shrink, t(0))
            accum[...] = new_accum


OPTIMIZERS = {
    "gradient_descent": GradientDescent,
    "momentum": partial(Momentum, momentum=0.9),
    "adagrad": Adagrad,
    "rmsprop": partial(RMSProp, decay=0.1),
    "rmsprop_decay0.9": partial(RMSProp, decay=0.9),
    "adam": Adam,
    "ftrl": Ftrl,
}
"""Name (the ``optimizer=`` of ``train``/``sweep``) → callable taking ``learning_rate=``."""


def steady_step(
    optimizer: str, gradient, *, steps: int = 1000, learning_rate: float = 0.1
) -> np.ndarray:
    """The step an optimizer takes after ``steps`` equal gradients, in units of its learning rate.

    Runs the optimizer's own update rule (float64) from a weight of 0 on the same ``gradient``
    every step and returns ``|last change of the weight| / learning_rate``, element-wise. It is a
    bound on how far a weight can move per step when the gradient keeps its size and sign: plain
    gradient descent moves by ``g``, momentum builds up to ``g / (1 - 0.9)``, Adagrad and Ftrl
    shrink to at most ``1 / sqrt(steps)``, RMSProp and Adam approach 1 whatever ``g`` is.

    Examples
    --------
    >>> [round(float(steady_step(name, 0.02)), 3) for name in ("gradient_descent", "momentum", "adam")]
    [0.02, 0.2, 1.0]

    Introduced in lesson 07.
    """
    require_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    require_positive_int("steps", steps)
    require_positive_real("learning_rate", learning_rate)
    if isinstance(gradient, (str, bytes)) or np.asarray(gradient).dtype.kind not in "iuf":
        raise TypeError(
            f"gradient={gradient!r} is not valid; it must be a number or an array of numbers"
        )
    grad = np.array(gradient, dtype=np.float64)
    rule = OPTIMIZERS[optimizer](learning_rate=learning_rate)
    weight = np.zeros_like(grad)
    state = rule.init([weight])
    for _ in range(steps):
        before = weight.copy()
        rule.update([weight], [grad.copy()], state)
    return np.abs(weight - before) / learning_rate

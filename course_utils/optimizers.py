"""Update rules: how a gradient becomes a change of the weights.

The training loop only calls ``optimizer.init(params)`` once and ``optimizer.update(params, grads,
state)`` every step; each optimizer keeps whatever state it needs (momentum, running averages) in
the state it returns from ``init``. Plain gradient descent, the tutorial's
``GradientDescentOptimizer``, is the only one needed before lesson 07.

Introduced in lesson 01 (gradient descent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GradientDescent:
    """``var -= grad * learning_rate``, as TensorFlow's ApplyGradientDescent kernel computes it."""

    learning_rate: float

    def init(self, params: list[np.ndarray]) -> None:
        return None

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], state: None) -> None:
        for param, grad in zip(params, grads, strict=True):
            param -= grad * param.dtype.type(self.learning_rate)


OPTIMIZERS = {"gradient_descent": GradientDescent}

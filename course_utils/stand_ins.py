"""The course's own answers to the exercises whose answers later cells of a lesson use.

In the learner edition an exercise may not be done yet when the learner runs the whole lesson
(*Run All*). Its visible check then hands back one of these instead of the learner's stub (see
:func:`course_utils.checks.exercise`), so that the cells after it still run and show the lesson's
measurements; the check says so. Each function computes what the instructor's solution computes,
with the course's own modules where one exists.

Only the exercises whose answer is used further down have a stand-in here; the others need none.
"""

from __future__ import annotations

import numpy as np

from .data import load_mnist
from .lesson_settings import CAPSTONE_SETUP, MATCH_SUM, SAFE_STEP, SURVIVAL_SETTING
from .model import loss_and_gradient
from .model import softmax as course_softmax
from .optimizers import OPTIMIZERS, steady_step
from .sweeps import sweep
from .training import train

# --- lesson 01 ---


def softmax(logits):
    """Row-wise softmax with the row maximum subtracted (exercise 1 of lesson 01)."""
    return course_softmax(logits, flush_subnormals=False)


def naive_cross_entropy(probabilities, onehot):
    """``-sum(y * log(p))`` over the whole batch, nan where TensorFlow had it (lesson 01, ex. 2)."""
    return -np.sum(onehot * np.log(probabilities))


def naive_gradient(logits, onehot):
    """The naive loss's gradient by the chain rule autodiff runs: ``-y/p``, then softmax's rule."""
    return loss_and_gradient(
        logits, onehot, loss="naive", reduction="sum", flush_subnormals=False
    ).grad_logits


# --- lesson 02 ---


def first_loss(batch_size):
    """The first loss of the tutorial at batch size ``B``: ``B`` times ``-log(float32(0.1))``."""
    return -np.log(np.full(batch_size, np.float32(0.1))).sum()


def find_failing_batch_size(data, works, fails):
    """Bisection between a batch size that trains and one that fails; returns a failing ``B``."""
    while fails - works > 1:
        middle = (works + fails) // 2
        if train(data, batch_size=middle).went_nonfinite:
            fails = middle
        else:
            works = middle
    return fails


# --- lesson 04 ---


def lr_mean_matching_sum():
    """The mean-loss learning rate that trains like ``MATCH_SUM``'s summed loss: lr_sum · B."""
    return MATCH_SUM["learning_rate"] * MATCH_SUM["batch_size"]


def logsumexp(logits):
    """Row-wise ``log(sum(exp(z)))`` with the row maximum taken out first (shape ``(batch,)``)."""
    m = logits.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]


# --- lesson 07 ---


def adam_update(param, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One Adam step as TensorFlow's ApplyAdam computes it; returns ``(param, m, v)``."""
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    lr_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)  # a Python float keeps float32 float32
    return param - lr_t * new_m / (np.sqrt(new_v) + epsilon), new_m, new_v


def predict_survivors(gradient) -> set:
    """The optimizers whose step after 1000 equal gradients ``gradient`` stays below ``SAFE_STEP``
    learning rates (lesson 07, exercise (b)), from the course's update rules."""
    return {name for name in OPTIMIZERS if float(steady_step(name, gradient)) < SAFE_STEP}


def survivors() -> set:
    """The optimizers that stay finite in lesson 07's survival setting (measured with ``sweep``)."""
    data = load_mnist("auto")
    table = sweep(data, optimizer=list(OPTIMIZERS), progress_bar=False, **SURVIVAL_SETTING)
    return {str(row["optimizer"]) for row in table if not row["went_nonfinite"]}


# --- lesson 08 ---


def fixed_setup() -> dict:
    """Lesson 08's colleague's setup with the cause of its NaN removed (the stable loss)."""
    return {**CAPSTONE_SETUP, "loss": "stable"}

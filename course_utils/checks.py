"""Friendly checks for the exercises: say what is wrong and give a hint, never just "assert failed".

Every check raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader counts the cell as
failed) with a message a learner can act on, and prints one line when all is well.

The checks are written to survive a hostile or confused notebook (spec §6): they check exact
types before values, convert answers with ``float()`` and ``ndarray.tolist()`` (which a student
cannot monkeypatch), and compare in plain Python instead of with ``numpy.allclose``. They never
write to stderr: numpy warnings are silenced inside them, because nbgrader gives 0 points to a
test cell with any stderr output. Hidden tests reload this module with ``importlib.reload`` so that
a redefined check in the student's notebook cannot stand in for it.

Introduced in lesson 01.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why and gives a hint."""


def reference(module: str = "model"):
    """A freshly reloaded ``course_utils.<module>``, for computing expected answers.

    Reloading re-executes the module's source, which undoes anything a notebook may have
    patched onto it (``course_utils.model.softmax = lambda z: ...``).
    """
    return importlib.reload(importlib.import_module(f"course_utils.{module}"))


def fail(what: str, hint: str) -> None:
    raise CheckFailed(f"{what}\nHint: {hint}")


def ok(message: str) -> None:
    print(f"✓ {message}")


def call_quietly(function, *args, **kwargs):
    """Call a learner's function with numpy warnings silenced; report exceptions as check failures."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            fail(
                f"{getattr(function, '__name__', 'your function')} is not implemented yet.",
                "replace `raise NotImplementedError()` with your code.",
            )
        except CheckFailed:
            raise
        except Exception as error:  # the learner's bug, shown as a message, not a traceback
            fail(
                f"calling {getattr(function, '__name__', 'your function')} raised "
                f"{type(error).__name__}: {error}",
                "run the cell above on a small example and read the error.",
            )


def as_float(name: str, value, *, hint: str = "return a plain number.") -> float:
    """``value`` as a Python float, accepting Python and numpy real scalars only (exact types)."""
    if type(value) not in (float, int, np.float32, np.float64, np.int64, np.int32):
        fail(f"{name} should be a number, got {type(value).__name__}.", hint)
    return float(value)


def assert_array_close(name, got, expected, *, rtol=1e-5, atol=1e-7, dtype=None, hint="") -> None:
    """Check type, shape, dtype, finiteness and values of an array answer, element by element.

    ``expected`` is computed by the caller independently of the learner's namespace.
    """
    if type(got) is not np.ndarray:
        fail(
            f"{name} should be a numpy array, got {type(got).__name__}.",
            hint or "return an np.ndarray.",
        )
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        fail(
            f"{name} has shape {got.shape}, expected {expected.shape}.",
            hint or "check which axis you reduce over and use keepdims=True where you broadcast.",
        )
    if dtype is not None and got.dtype != np.dtype(dtype):
        fail(
            f"{name} has dtype {got.dtype}, expected {np.dtype(dtype)}.",
            hint or "keep every constant in the input's dtype (e.g. np.float32(1)).",
        )
    got_values = np.ndarray.tolist(np.ndarray.ravel(got.astype(np.float64)))
    want_values = np.ndarray.tolist(np.ndarray.ravel(expected.astype(np.float64)))
    for index, (g, w) in enumerate(zip(got_values, want_values, strict=True)):
        g, w = float(g), float(w)
        same_special = (math.isnan(g) and math.isnan(w)) or (math.isinf(w) and g == w)
        if not same_special and not abs(g - w) <= atol + rtol * abs(w):
            where = np.unravel_index(index, got.shape)
            fail(
                f"{name} differs at index {tuple(int(i) for i in where)}: got {g!r}, expected {w!r}.",
                hint or "compare your formula with the one in the text, term by term.",
            )

"""Checks of a public function's arguments: each returns the value or raises an error that names
the argument, the value given and what is allowed.

One small module that every layer may import (the science, the experiments, the teaching and the
classroom), so that no module reaches into another layer for a helper.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def require_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise a ValueError naming all of them.

    A numpy dtype or scalar type counts as its name (``np.float32`` is ``"float32"``).
    """
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        value = np.dtype(value).name
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not valid; choose one of {choices}")
    return value


def require_positive_int(name: str, value) -> int:
    """Return ``value`` as an int if it is a whole number >= 1 (not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not valid; it must be a whole number >= 1")
    if value < 1:
        raise ValueError(f"{name}={value!r} is not valid; it must be >= 1")
    return int(value)


def require_positive_real(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (not a bool)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not valid; it must be a positive finite number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} is not valid; it must be a positive finite number")
    return float(value)


def require_bool(name: str, value) -> bool:
    """Return ``value`` as a bool if it is True or False (numpy's too); 0, 1 or "yes" are not."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} is not valid; it must be True or False")
    return bool(value)

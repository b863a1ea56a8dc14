"""Checks of a public function's arguments: each returns the value or raises an error that names
the argument, the value given and what is allowed.

One small module that every layer may import (the science, the experiments, the teaching and the
classroom), so that no module reaches into another layer for a helper. A ``TypeError`` says the
kind of value is wrong, a ``ValueError`` that the kind is right but the value is not allowed.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import warnings

import numpy as np


def shown(value) -> str:
    """``value`` as an error message shows it: an array by its shape and dtype, else a short repr."""
    if isinstance(value, np.ndarray):
        text = f"<array of shape {value.shape}, dtype {value.dtype}>"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(name: str, value, allowed: str) -> str:
    return f"{name}={shown(value)} is not valid; {allowed}"


def require_choice(name: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise a ValueError naming all of them.

    A numpy dtype or scalar type counts as its name (``np.float32`` is ``"float32"``).
    """
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        value = np.dtype(value).name
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(_invalid(name, value, f"choose one of {choices}"))
    return value


def require_int(name: str, value, *, low: int | None = None) -> int:
    """Return ``value`` as an int if it is a whole number (not a bool), at least ``low`` if given."""
    bound = "" if low is None else f" >= {low}"
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(_invalid(name, value, f"it must be a whole number{bound}"))
    if low is not None and value < low:
        raise ValueError(_invalid(name, value, f"it must be >= {low}"))
    return int(value)


def require_positive_int(name: str, value, *, optional: bool = False) -> int | None:
    """Return ``value`` as an int if it is a whole number >= 1 (not a bool), or None if ``optional``."""
    return None if optional and value is None else require_int(name, value, low=1)


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" >= {low:g}"
    return "" if high is None else f" <= {high:g}"


def require_real(name: str, value, *, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite number (not a bool) from ``low`` to ``high``."""
    allowed = "it must be a finite number" + _bounds(low, high)
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(_invalid(name, value, allowed))
    too_low, too_high = low is not None and value < low, high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(_invalid(name, value, allowed))
    return float(value)


def require_positive_real(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (not a bool)."""
    allowed = "it must be a positive finite number"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(_invalid(name, value, allowed))
    if not math.isfinite(value) or value <= 0:
        raise ValueError(_invalid(name, value, allowed))
    return float(value)


def require_bool(name: str, value, *, optional: bool = False) -> bool | None:
    """Return ``value`` as a bool if it is True or False (numpy's too; or None, when ``optional``);
    0, 1 or "yes" are not."""
    if optional and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(_invalid(name, value, "it must be True or False" + " or None" * optional))
    return bool(value)


def require_text(name: str, value, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is a string (or None, when ``optional``)."""
    if not (isinstance(value, str) or (optional and value is None)):
        raise TypeError(_invalid(name, value, "it must be a string" + " or None" * optional))
    return value


def require_path(name: str, value, *, optional: bool = False):
    """Return ``value`` if it names a file or folder (a string or path; or None, when ``optional``)."""
    if not (isinstance(value, (str, os.PathLike)) or (optional and value is None)):
        raise TypeError(_invalid(name, value, "it must be a path" + " or None" * optional))
    return value


def require_callable(name: str, value):
    """Return ``value`` if it can be called (a function)."""
    if not callable(value):
        raise TypeError(_invalid(name, value, "it must be a function"))
    return value


def require_kind(name: str, value, kind: str, *, source: str = ""):
    """Return ``value`` if its class is named ``kind`` (e.g. ``"MnistData"``; ``source`` says where
    one comes from). By name, not ``isinstance``: the checks compute with fresh copies of the
    course's modules (``checks.reference``), whose classes are other objects of the same name."""
    if type(value).__name__ != kind:
        raise TypeError(_invalid(name, value, f"it must be a {kind}{source}"))
    return value


def require_array(name: str, value, *, ndim=None, dtypes=None) -> np.ndarray:
    """Return ``value`` if it is a numpy array of numbers with ``ndim`` axes (an int or a tuple of
    allowed ones) and one of ``dtypes`` (names; default: any integer, float or bfloat16)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(_invalid(name, value, "it must be a numpy array"))
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        axes = " or ".join(map(str, allowed))
        raise ValueError(_invalid(name, value, f"it must have {axes} axes"))
    numbers_ = value.dtype.kind in "biuf" or value.dtype.name == "bfloat16"
    if (dtypes is None and not numbers_) or (dtypes is not None and value.dtype.name not in dtypes):
        kinds = "numbers" if dtypes is None else "dtype " + " or ".join(dtypes)
        raise TypeError(_invalid(name, value, f"it must hold {kinds}"))
    return value


def require_items(name: str, values, check, *, empty: bool = False) -> list:
    """``values`` (a list, tuple, range, array or other iterable, but not a string or a dict; not
    empty unless ``empty``) as a list, each item passed through ``check(f"{name}[i]", item)``."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(_invalid(name, values, "it must be a list of values"))
    items = list(values)
    if not items and not empty:
        raise ValueError(_invalid(name, values, "it must hold at least one value"))
    return [check(f"{name}[{i}]", item) for i, item in enumerate(items)]


def require_mapping(name: str, values, check) -> dict:
    """``values`` (a dict, not empty) with each value passed through ``check(f"{name}[key]", value)``."""
    if not isinstance(values, dict):
        raise TypeError(_invalid(name, values, "it must be a dict"))
    if not values:
        raise ValueError(_invalid(name, values, "it must hold at least one entry"))
    return {key: check(f"{name}[{key!r}]", value) for key, value in values.items()}


def old_keywords(**renamed: str):
    """Let a function also take keyword arguments by their old names: ``@old_keywords(flush=
    "flush_subnormals")`` passes ``flush=...`` on as ``flush_subnormals=...`` with a
    DeprecationWarning (a learner's copy of an older lesson still runs, and says what to change;
    ``RENAMES.md`` lists the names). Giving both names is a TypeError.
    """

    def decorate(function):
        @functools.wraps(function)
        def with_old_keywords(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{function.__name__}() got {old}= and {new}=; {old} is the old name "
                            f"of {new}: give {new} only"
                        )
                    kwargs[new] = kwargs.pop(old)
                    deprecated(f"{function.__name__}({old}=...)", f"{new}=...")
            return function(*args, **kwargs)

        with_old_keywords.old_keywords = dict(renamed)
        return with_old_keywords

    return decorate


def deprecated(old: str, new: str) -> None:
    """Warn, at the caller's line, that ``old`` is now called ``new`` (issue 24's renames)."""
    warnings.warn(f"{old} is now called {new}: the old name will go", DeprecationWarning, stacklevel=3)


def deprecated_alias(function, old: str):
    """``function`` under its former name ``old``: the same call, with a DeprecationWarning."""

    @functools.wraps(function)
    def alias(*args, **kwargs):
        deprecated(old, function.__name__)
        return function(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    return alias

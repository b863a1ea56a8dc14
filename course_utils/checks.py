"""Friendly checks for the exercises: say what is wrong and give a hint, never just "assert failed".

Every check raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader counts the cell as
failed) with a message a learner can act on, and prints one line when all is well.

An exercise that is not done yet (its answer is still the release's stub) is not an error in the
learner's *Run All*: the visible check writes one "exercise 2 not done yet: ..." line to stderr
and returns, handing back the course's own answer where later cells need one (:func:`exercise`).
That line is honest to nbgrader: a test cell with any stderr output scores 0 and fails Validate.
The hidden tests (``hidden=True``) stay strict: for them "not done" is a failure like any other.

The checks are written to survive a hostile or confused notebook (spec §6): they check exact
types before values, convert answers with ``float()`` and ``ndarray.tolist()`` (which a student
cannot monkeypatch), and compare in plain Python instead of with ``numpy.allclose``. Apart from
that one line they never write to stderr: numpy warnings are silenced inside them, because nbgrader gives 0 points to a
test cell with any stderr output. Hidden tests reload this module with ``importlib.reload`` so that
a redefined check in the student's notebook cannot stand in for it.

Introduced in lesson 01.
"""

from __future__ import annotations

import dis
import functools
import importlib
import importlib.machinery
import importlib.util
import math
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from .validate import (
    require_array,
    require_bool,
    require_callable,
    require_int,
    require_kind,
    require_positive_real,
)

_INF = float("inf")


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why and gives a hint."""


class NotDone(CheckFailed):
    """The exercise has not been attempted: its answer is still the stub of the learner edition."""

    def __init__(self, what: str, hint: str):
        super().__init__(f"{what}\nHint: {hint}")
        self.line = f"{what}; {hint}"  # the one line of the visible check


# The attribute that marks the course's answer standing in for an exercise not done yet. An
# attribute, not a class: hidden tests reload this module, which makes new classes.
STAND_IN_MARK = "course_stand_in"


@dataclass(frozen=True)
class Exercise:
    """An exercise as its check declares it with :func:`exercise` (see there)."""

    label: str
    answers: tuple[str, ...]
    stand_in: str = ""
    stand_in_value: str = ""


EXERCISES: dict[str, Exercise] = {}
"""Every exercise of the course: check name -> :class:`Exercise`, filled by :func:`exercise`."""


def exercise(label: str, answers: tuple[str, ...], *, stand_in: str = "", stand_in_value: str = ""):
    """Make a check lenient about an exercise that is not done yet, for the learner's *Run All*.

    The decorated check ``check(*answers, hidden=False)`` treats an answer that is still the
    learner edition's stub (``None``; a function whose body is :data:`LEARNER_STUB`, or an older
    edition's ``raise NotImplementedError()``; or the course's stand-in from an earlier run) as
    not done. Then the visible check writes one line,
    ``exercise LABEL not done yet: ...``, to stderr and returns; the hidden check raises
    :class:`NotDone`. A wrong answer raises :class:`CheckFailed` in both. A right answer: the
    visible check prints its "✓" lines, the hidden one passes silently (both run in the same test
    cell of the solved edition, which so prints each "✓" once).

    Parameters
    ----------
    label : str
        The exercise as its lesson names it, e.g. ``"2"`` or ``"(b)"``.
    answers : tuple of str
        The names of the checked answers in the notebook, for the messages.
    stand_in, stand_in_value : str
        For an exercise whose answer later cells use: the name of a function of
        :mod:`course_utils.stand_ins` that is the course's answer (``stand_in``), or that computes
        it (``stand_in_value``). The decorated check then returns the answer to go on with: the
        learner's once it passes, else the course's (marked, so a check never takes it for the
        learner's), and the notebook assigns it, ``my_softmax = check_softmax(my_softmax)``.
        Without a stand-in the check returns None.
    """

    def decorate(check):
        @functools.wraps(check)
        def run(*given, hidden: bool = False):
            require_bool("hidden", hidden)
            global _quiet
            quiet_before = _quiet
            try:
                for name, answer in zip(answers, given, strict=True):
                    _require_attempt(name, answer)
                _quiet = hidden or quiet_before  # the visible check of the cell prints the "✓"
                check(*given, hidden=hidden)
            except NotDone as reason:
                if hidden:
                    raise
                uses = " Until it passes, the cells below use the course's answer." * has_stand_in
                print(
                    f"exercise {label} not done yet: {reason.line}{uses}", file=sys.stderr, flush=True
                )
                return _course_answer(stand_in, stand_in_value) if has_stand_in else None
            finally:
                _quiet = quiet_before
            return given[0] if has_stand_in else None

        has_stand_in = bool(stand_in or stand_in_value)
        run.hands_on_answer = has_stand_in  # then the notebook must assign what it returns
        EXERCISES[check.__name__] = Exercise(label, answers, stand_in, stand_in_value)
        return run

    return decorate


def _require_attempt(name: str, answer) -> None:
    if answer is None:
        raise NotDone(f"{name} is still None", "put your answer in the cell above and run it.")
    if _does_nothing(answer):
        raise NotDone(
            f"{name} is still the stub (its body does nothing)",
            f"replace `{LEARNER_STUB}` with your code and run the cell.",
        )
    if getattr(answer, STAND_IN_MARK, False):
        raise NotDone(
            f"{name} is the course's answer from an earlier run of this check, not yours",
            "run your cell above again.",
        )


LEARNER_STUB = "pass  # YOUR CODE HERE"
"""What nbgrader's release puts in place of a solution (``ClearSolutions.code_stub`` in
``nbgrader_config.py``): in a function body the function returns None, at top level the answer
stays the None the cell set before it. Neither raises, so the learner's *Run All* shows no
traceback; the checks take either for "not done yet"."""


def _pass():
    pass


def _does_nothing(answer) -> bool:
    """Whether ``answer`` is a function whose body is only ``pass`` (the stub; comments and a
    docstring aside), compared instruction by instruction with one."""
    code = getattr(answer, "__code__", None)
    if type(code) is not type(_pass.__code__):
        return False
    return _instructions(code) == _instructions(_pass.__code__)


def _instructions(code) -> list:
    return [(i.opname, i.argval) for i in dis.get_instructions(code)]


def _course_answer(stand_in: str, stand_in_value: str):
    """The course's answer from :mod:`course_utils.stand_ins`, marked as standing in."""
    answers = importlib.import_module("course_utils.stand_ins")
    if stand_in:
        function = getattr(answers, stand_in)

        @functools.wraps(function)
        def course_answer(*args, **kwargs):
            return function(*args, **kwargs)

        setattr(course_answer, STAND_IN_MARK, True)
        return course_answer
    value = getattr(answers, stand_in_value)()
    marked = type(f"course_{type(value).__name__}", (type(value),), {STAND_IN_MARK: True})
    return marked(value)


def reference(module: str = "model"):
    """A pristine copy of ``course_utils.<module>``, for computing expected answers.

    The module is executed afresh from its source file inside a new private package, together
    with fresh copies of the course modules it imports. So nothing a notebook patched onto
    ``course_utils.*`` reaches the reference, not even through a dependency
    (``course_utils.model.loss_and_gradient = ...`` would survive a plain ``importlib.reload`` of
    ``course_utils.training``), and the notebook's own modules and objects are left untouched.
    """
    folder = os.path.dirname(importlib.import_module("course_utils").__file__)
    for name in [n for n in sys.modules if n == _REFERENCE or n.startswith(_REFERENCE + ".")]:
        del sys.modules[name]
    package = importlib.util.module_from_spec(
        importlib.machinery.ModuleSpec(_REFERENCE, None, is_package=True)
    )
    package.__path__ = [folder]  # its submodules are the course's source files, run again
    sys.modules[_REFERENCE] = package
    return importlib.import_module(f"{_REFERENCE}.{module}")


_REFERENCE = "_course_utils_reference"


def _lesson(name: str):
    """A setting of :mod:`course_utils.lesson_settings`, from a fresh copy of the module: the notebook
    imported the same dicts and may have changed them, which reloading this module does not undo."""
    return getattr(reference("lesson_settings"), name)


def fail(what: str, hint: str) -> None:
    raise CheckFailed(f"{what}\nHint: {hint}")


_quiet = False  # True while a hidden check runs: it is silent when it passes


def ok(message: str) -> None:
    if not _quiet:
        print(f"✓ {message}")


def call_quietly(function, *args, **kwargs):
    """Call a learner's function with numpy warnings silenced; report exceptions as check failures."""
    name = getattr(function, "__name__", "your function")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = function(*args, **kwargs)
        except NotImplementedError:  # the stub of learner editions released before 2026-12
            raise NotDone(
                f"{name} is not implemented yet",
                "replace `raise NotImplementedError()` with your code.",
            ) from None
        except CheckFailed:
            raise
        except Exception as error:  # the learner's bug, shown as a message, not a traceback
            fail(
                f"calling {name} raised {type(error).__name__}: {error}",
                "run the cell above on a small example and read the error.",
            )
    return result


def as_float(name: str, value, *, hint: str = "return a plain number.") -> float:
    """``value`` as a Python float, accepting Python and numpy real scalars only (exact types)."""
    if type(value) not in (float, int, np.float32, np.float64, np.int64, np.int32):
        fail(f"{name} should be a number, got {type(value).__name__}.", hint)
    return float(value)


def as_int(name: str, value, *, hint: str = "return a whole number.") -> int:
    """``value`` as a Python int, accepting Python and numpy integers only (exact types)."""
    if type(value) not in (int, np.int64, np.int32, np.intp):
        fail(f"{name} should be a whole number, got {type(value).__name__}.", hint)
    return int(value)


def assert_array_close(name, got, expected, *, rtol=1e-5, atol=1e-7, dtype=None, hint="") -> None:
    """Check type, shape, dtype, finiteness and values of an array answer, element by element.

    ``expected`` is computed by the caller independently of the learner's namespace.
    """
    if type(got) is not np.ndarray:
        fail(
            f"{name} should be a numpy array, got {type(got).__name__}.",
            hint or "return an np.ndarray.",
        )
    if type(expected) is not np.ndarray:  # a notebook may have patched np.asarray: avoid it
        expected = np.array(expected)
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
        # Plain float comparisons, not math.isnan/isinf: a notebook can patch the math module,
        # and reloading this module does not undo that (NaN is the one float unequal to itself).
        same_special = (g != g and w != w) or (w in (_INF, -_INF) and g == w)
        if not same_special and not abs(g - w) <= atol + rtol * abs(w):
            where = np.unravel_index(index, got.shape)
            fail(
                f"{name} differs at index {tuple(int(i) for i in where)}: got {g!r}, expected {w!r}.",
                hint or "compare your formula with the one in the text, term by term.",
            )


# --- lesson 01: softmax, the naive cross-entropy and its gradient ---


def _softmax_cases(hidden: bool) -> list[np.ndarray]:
    """Logits to try a learner's softmax on; the large ones overflow ``exp`` without the max shift."""
    if not hidden:
        return [
            np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32),
            np.array([[1000.0, 0.0, -1000.0], [-5.0, 800.0, 801.0]], dtype=np.float32),
        ]
    rng = np.random.default_rng(2015)
    return [
        rng.normal(0, 30, (6, 10)).astype(np.float32),
        (rng.normal(0, 1, (4, 10)) + 700).astype(np.float64),
        np.zeros((1, 10), dtype=np.float32),
    ]


@exercise("1", ("my_softmax",), stand_in="softmax")
def check_softmax(my_softmax, *, hidden: bool = False) -> None:
    """Check a learner's row-wise softmax against the course's (types, dtype, large logits).

    Introduced in lesson 01.
    """
    model = reference("model")
    for logits in _softmax_cases(hidden):
        before = logits.copy()
        got = call_quietly(my_softmax, logits)
        if not np.array_equal(np.asarray(logits).tolist(), before.tolist()):
            fail(
                "my_softmax changed its input array.",
                "compute new arrays (z - z.max(...)) instead of modifying `logits` in place.",
            )
        expected = model.softmax(before, flush_subnormals=False)
        big = float(np.abs(before).max()) > 80
        assert_array_close(
            "my_softmax(logits)",
            got,
            expected,
            rtol=1e-5,
            atol=1e-7,
            dtype=before.dtype,
            hint=(
                "exp of a large logit overflows to inf: subtract each row's maximum first "
                "(z - z.max(axis=1, keepdims=True)); it does not change the result."
                if big
                else "exponentiate, then divide each row by its own sum (axis=1, keepdims=True)."
            ),
        )
    ok("my_softmax matches the course's softmax, keeps the dtype and survives large logits.")


def _cross_entropy_cases(hidden: bool):
    """(probabilities, one-hot labels) pairs; the last has a probability of exactly 0."""
    rng = np.random.default_rng(11 if hidden else 7)
    model = reference("model")
    batch = 7 if hidden else 4
    dtype = np.float64 if hidden else np.float32
    probabilities = model.softmax(rng.normal(0, 2, (batch, 10)).astype(dtype), flush_subnormals=False)
    onehot = np.eye(10, dtype=dtype)[rng.integers(0, 10, batch)]
    with_zero = probabilities.copy()
    with_zero[0] = 0
    with_zero[0, int(onehot[0].argmax())] = 1  # a confident, correct row: its other classes are 0
    return [(probabilities, onehot), (with_zero, onehot)]


@exercise("2", ("my_naive_cross_entropy",), stand_in="naive_cross_entropy")
def check_naive_cross_entropy(my_naive_cross_entropy, *, hidden: bool = False) -> None:
    """Check ``-sum(y * log(p))`` summed over the batch, literally as the tutorial wrote it.

    Introduced in lesson 01.
    """
    for probabilities, onehot in _cross_entropy_cases(hidden):
        got = as_float(
            "my_naive_cross_entropy(p, y)",
            call_quietly(my_naive_cross_entropy, probabilities.copy(), onehot.copy()),
            hint="return one number for the whole batch (a sum over examples and classes).",
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = float(
                -(onehot.astype(np.float64) * np.log(probabilities.astype(np.float64))).sum()
            )
        if expected != expected:  # nan; not math.isnan, which a notebook can patch
            if got == got:
                fail(
                    f"with a probability of exactly 0 for a wrong class you returned {got!r}; "
                    "TensorFlow's -reduce_sum(y_ * log(y)) returns nan there.",
                    "compute it literally: y * log(p) for every entry (0 * log(0) = 0 * -inf = nan), "
                    "then sum. Do not select the target class or skip zeros: lesson 02 is about this nan.",
                )
            continue
        batch = len(onehot)
        if abs(got - expected / batch) <= 1e-5 * abs(expected / batch):
            fail(
                f"you returned {got!r}, the mean over the batch; the tutorial sums ({expected!r}).",
                "use a sum (reduce_sum), not a mean.",
            )
        if abs(got + expected) <= 1e-5 * abs(expected):
            fail(
                f"you returned {got!r}: the sign is flipped.", "cross-entropy is -sum(y * log(p)) >= 0."
            )
        if not abs(got - expected) <= 1e-5 * abs(expected):
            fail(
                f"my_naive_cross_entropy returned {got!r}, expected {expected!r}.",
                "multiply the one-hot labels by np.log(p) element-wise, sum everything, negate.",
            )
    ok("my_naive_cross_entropy sums -y*log(p) over the batch, nan included where TensorFlow had it.")


def _naive_loss_float64(logits: np.ndarray, onehot: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(onehot * log_p).sum())


def central_differences(loss, logits: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of ``loss(logits)`` by central differences, in float64.

    Introduced in lesson 01.
    """
    require_callable("loss", loss)
    logits = require_array("logits", logits).astype(np.float64)
    require_positive_real("h", h)
    grad = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (loss(up) - loss(down)) / (2 * h)
    return grad


@exercise("3", ("my_naive_gradient",), stand_in="naive_gradient")
def check_naive_gradient(my_naive_gradient, *, hidden: bool = False) -> None:
    """Check the naive loss's gradient with respect to the logits (autodiff's chain rule).

    Compared with central finite differences in float64, with ``loss_and_gradient`` in float32,
    and on a row whose probability underflows to 0, where autodiff's ``-y/p`` gives nan.
    Introduced in lesson 01.
    """
    model = reference("model")
    rng = np.random.default_rng(5 if hidden else 3)
    batch = 6 if hidden else 3
    logits = rng.normal(0, 3 if hidden else 1, (batch, 10))
    onehot = np.eye(10)[rng.integers(0, 10, batch)]
    # 1. Float64 against finite differences of the loss: is it the gradient at all?
    got = call_quietly(my_naive_gradient, logits.copy(), onehot.copy())
    numerical = central_differences(lambda z: _naive_loss_float64(z, onehot), logits)
    assert_array_close(
        "my_naive_gradient(logits, y) in float64",
        got,
        numerical,
        rtol=1e-4,
        atol=1e-6,
        dtype=np.float64,
        hint="chain rule: g_p = -y / p, then g_z = p * (g_p - sum(g_p * p, axis=1, keepdims=True)); "
        "sum over the batch, do not average.",
    )
    # 2. Float32 against the course's naive gradient (what train() uses).
    z32, y32 = logits.astype(np.float32), onehot.astype(np.float32)
    expected = model.loss_and_gradient(z32, y32, loss="naive", reduction="sum", flush_subnormals=False)
    got32 = call_quietly(my_naive_gradient, z32.copy(), y32.copy())
    assert_array_close(
        "my_naive_gradient(logits, y) in float32",
        got32,
        expected.grad_logits,
        rtol=1e-4,
        atol=1e-6,
        dtype=np.float32,
        hint="keep every constant in the input's dtype, so float32 in gives float32 out.",
    )
    # 3. A probability that underflows to exactly 0 (logit gap 200): autodiff's -y/p gives nan.
    extreme = np.zeros((2, 10), dtype=np.float32)
    extreme[0, 3] = 200
    extreme[1, 1] = 200 if hidden else 50
    targets = np.eye(10, dtype=np.float32)[[3, 1]]
    expected = model.loss_and_gradient(
        extreme, targets, loss="naive", reduction="sum", flush_subnormals=False
    )
    got_extreme = call_quietly(my_naive_gradient, extreme.copy(), targets.copy())
    if type(got_extreme) is np.ndarray and got_extreme.shape == extreme.shape:
        got_nan = np.ndarray.tolist(np.isnan(got_extreme[0]).astype(np.int8))
        if not any(got_nan):
            fail(
                "for a row whose probabilities underflow to exactly 0 your gradient is finite, but "
                "the chain rule as autodiff runs it gives nan there (-y / p with p = 0).",
                "compute g_p = -y / p and then the softmax backward pass; p - y is the fused form "
                "of lesson 06, which is exactly what TensorFlow 2015 did not compute.",
            )
    assert_array_close(
        "my_naive_gradient on a row with p == 0",
        got_extreme,
        expected.grad_logits,
        rtol=1e-4,
        atol=1e-6,
    )
    ok("my_naive_gradient matches finite differences and course_utils, nan where autodiff had it.")


# --- lesson 02: the failure ---


def bisection_ends(works: int, fails: int, fails_at) -> set[int]:
    """Every end a correct bisection between the whole numbers ``works`` and ``fails`` can return.

    A correct bisection keeps ``works`` a setting that trains and ``fails`` one that goes
    non-finite, tries a midpoint, rounded down or up, replaces the end with the same outcome, and
    returns ``fails`` once the two are neighbours. On a ragged failing pattern the rounding decides
    which edge it lands on, so this follows both roundings in every round. ``fails_at(values)``
    measures a sorted list of settings and returns, in that order, whether each run went
    non-finite; each setting is measured once. Introduced in lesson 02.
    """
    _require_bracket(works, fails)
    require_callable("fails_at", fails_at)
    failed: dict[int, bool] = {}
    brackets, answers = {(int(works), int(fails))}, set()
    while brackets:
        middles = {m for w, f in brackets for m in ((w + f) // 2, (w + f + 1) // 2)} - set(failed)
        if middles:
            tried = sorted(middles)
            failed.update(zip(tried, fails_at(tried), strict=True))
        narrower = set()
        for w, f in brackets:
            for m in {(w + f) // 2, (w + f + 1) // 2}:
                narrower.add((w, m) if failed[m] else (m, f))
        answers |= {f for w, f in narrower if f - w <= 1}
        brackets = {(w, f) for w, f in narrower if f - w > 1}
    return answers


def _require_bracket(works, fails) -> None:
    require_int("works", works)
    require_int("fails", fails)
    if not works < fails:
        raise ValueError(f"works={works} and fails={fails} are not valid; works must be below fails")


def _require_search(data, works, fails, cached) -> None:
    """The arguments that the answers of a bisection over ``data`` need."""
    require_kind("data", data, "MnistData", source=" (from load_mnist)")
    _require_bracket(works, fails)
    require_bool("cached", cached)


def _went_nonfinite(data, *, cached: bool, **grid) -> list[bool]:
    """Whether each run of ``sweep(data, **grid)`` (quietly, one row per run) went non-finite."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        table = reference("sweeps").sweep(data, progress_bar=False, cache=cached, **grid)
    return [bool(d) for d in table["went_nonfinite"].tolist()]


def bisection_answers(data, works: int, fails: int, *, cached: bool = True) -> set[int]:
    """Every batch size a correct bisection between ``works`` and ``fails`` can return.

    The batch sizes are tried at the tutorial's settings (1000 steps) with ``sweep``
    (:func:`bisection_ends` follows both roundings of the midpoint); ``cached`` lets it reuse runs
    cached on disk. Introduced in lesson 02.
    """
    _require_search(data, works, fails, cached)
    return bisection_ends(
        works, fails, lambda sizes: _went_nonfinite(data, batch_size=sizes, cached=cached)
    )


def _reject_bisection_answer(found, works, fails, fails_at, *, stays_finite, elsewhere, midpoint):
    """Fail with the reason ``found`` is not an answer of a bisection between works and fails:
    it trains, the setting below it fails too, or it is a boundary no bisection reaches.
    ``fails_at([found - 1, found])`` measures the two (as in :func:`bisection_ends`)."""
    below, at = fails_at([found - 1, found])
    if not at:
        fail(*stays_finite)
    if below:
        fail(
            f"you returned {found}, but {found - 1} fails too, so {found} is not a boundary.",
            "stop only when fails - works == 1, and return `fails`.",
        )
    fail(
        f"{found} fails and {found - 1} trains, but no bisection between {works} and {fails} "
        f"lands there{elsewhere}.",
        midpoint,
    )


@exercise("(b)", ("find_failing_batch_size",), stand_in="find_failing_batch_size")
def check_failing_batch_size_search(find_failing_batch_size, *, hidden: bool = False) -> None:
    """Check a bisection search for a batch size B that fails while B - 1 works.

    The learner's function is called as ``find_failing_batch_size(data, works, fails)`` with a
    batch size that trains to the end and one that goes non-finite (tutorial settings otherwise).
    The answer must be one that a correct bisection from that bracket can return
    (:func:`bisection_answers`, either rounding of the midpoint): the failing pattern is ragged, so
    a size that fails while the one below trains is not enough (a scan upwards finds another).
    The visible check reuses runs cached on disk; the hidden one trains them afresh.
    Introduced in lesson 02.
    """
    data = reference("data").load_mnist("auto")
    brackets = [(100, 1000)] if hidden else [(100, 400)]
    for works, fails in brackets:
        found = as_int(
            f"find_failing_batch_size(data, {works}, {fails})",
            call_quietly(find_failing_batch_size, data, works, fails),
            hint="return the batch size itself, e.g. `return int(fails)`.",
        )
        if not works < found <= fails:
            fail(
                f"find_failing_batch_size(data, {works}, {fails}) returned {found}, outside the "
                f"bracket ({works}, {fails}].",
                "keep `works` a size that trains and `fails` one that goes NaN; "
                "move one of them to the midpoint each round.",
            )
        answers = bisection_answers(data, works, fails, cached=not hidden)
        if found in answers:
            continue
        _reject_bisection_answer(
            found,
            works,
            fails,
            lambda sizes: _went_nonfinite(data, batch_size=sizes, cached=not hidden),
            stays_finite=(
                f"you returned {found}, but training at batch size {found} stays finite.",
                "a size fails when train(data, batch_size=B).went_nonfinite is True; return the "
                "failing end of your final bracket.",
            ),
            elsewhere=": the band is ragged, and a search that is not a bisection (a scan upwards, "
            "say) finds other edges of it",
            midpoint="each round, try the midpoint (works + fails) // 2 and replace the end with the "
            "same outcome.",
        )
    ok(f"your bisection lands on a boundary that bisection from this bracket can reach ({data.name}).")


@exercise("(a)", ("first_loss",), stand_in="first_loss")
def check_first_loss(first_loss, *, hidden: bool = False) -> None:
    """Check ``first_loss(batch_size)``: the loss of step 0, computed in float32, against ``train``.

    Introduced in lesson 02.
    """
    training = reference("training")
    data = reference("data").load_sample()  # the first loss does not depend on the images
    sizes = [17, 333, 1024] if hidden else [205, 100]
    for batch_size in sizes:
        got_value = call_quietly(first_loss, batch_size)
        if type(got_value) is not np.float32:
            fail(
                f"first_loss({batch_size}) returned a {type(got_value).__name__}; the model works "
                "in float32, so the answer should be a np.float32.",
                "build the per-example losses as float32 (np.float32(0.1), np.log) and sum them.",
            )
        got = float(got_value)
        expected = float(training.train(data, batch_size=batch_size, steps=1).losses[0])
        ln10 = math.log(10)
        if abs(got - ln10) < 1e-3 and batch_size > 1:
            fail(
                f"first_loss({batch_size}) = {got!r} is the loss of one example.",
                "the tutorial's reduce_sum adds the losses of all examples in the batch.",
            )
        if abs(got - batch_size) < 1e-3 * batch_size:
            fail(
                f"first_loss({batch_size}) = {got!r}: that is B·log10(10).",
                "np.log is the natural logarithm, the one the loss uses.",
            )
        # Relative 1e-5: float32 sums in another order (a loop, TensorFlow's reduction) differ
        # from numpy's pairwise sum by a few dozen ulps; a wrong formula is far off.
        if not abs(got - expected) <= 1e-5 * abs(expected):
            fail(
                f"first_loss({batch_size}) returned {got!r}, the model's first loss is {expected!r}.",
                "with W = 0 and b = 0 every logit is 0, so every class has probability 0.1; "
                "the loss of one example is -log(0.1).",
            )
    ok("first_loss(B) equals the first loss train() records: B·ln 10, in float32.")


# --- lesson 03: gradient scaling ---


def _gradient_norm_cases(hidden: bool):
    """(images, onehot, weights, bias) batches: zero weights, then weights that have trained."""
    data = reference("data").load_sample()
    training = reference("training")
    dtype = np.float64 if hidden else np.float32
    sizes = (37, 300) if hidden else (100, 205)
    trained = training.train(data, steps=7 if hidden else 3, dtype=np.dtype(dtype).name)
    cases = []
    for size, (weights, bias) in zip(
        sizes,
        [(np.zeros((784, 10), dtype), np.zeros(10, dtype)), (trained.weights, trained.bias)],
        strict=True,
    ):
        start = 1000 if hidden else 0
        images = data.train_images[start : start + size].astype(dtype)
        onehot = np.eye(10, dtype=dtype)[data.train_labels[start : start + size]]
        cases.append((images, onehot, np.array(weights, dtype), np.array(bias, dtype)))
    return cases


def _summed_gradient_norms(images, onehot, weights, bias) -> tuple[float, float, int]:
    """(norm of the whole summed gradient, norm of its weight part, batch size), in float64."""
    model = reference("model")
    x = images.astype(np.float64)
    logits = x @ weights.astype(np.float64) + bias.astype(np.float64)
    grad_logits = model.loss_and_gradient(logits, onehot.astype(np.float64), loss="stable").grad_logits
    grad_w, grad_b = x.T @ grad_logits, grad_logits.sum(axis=0)
    weight_part = float(np.sqrt((grad_w * grad_w).sum()))
    return float(np.sqrt(weight_part**2 + (grad_b * grad_b).sum())), weight_part, len(x)


@exercise("(a)", ("my_gradient_norm",))
def check_gradient_norm(my_gradient_norm, *, hidden: bool = False) -> None:
    """Check ``my_gradient_norm(images, onehot, weights, bias)``: the norm of the summed gradient.

    The expected value is ``sqrt(|dL/dW|^2 + |dL/db|^2)`` for the tutorial's summed cross-entropy
    (finite here, so the naive and the fused gradient agree), computed in float64.
    Introduced in lesson 03.
    """
    for images, onehot, weights, bias in _gradient_norm_cases(hidden):
        got = as_float(
            "my_gradient_norm(images, onehot, weights, bias)",
            call_quietly(my_gradient_norm, images.copy(), onehot.copy(), weights.copy(), bias.copy()),
            hint="return one number, e.g. float(np.sqrt(...)).",
        )
        expected, weight_part, batch = _summed_gradient_norms(images, onehot, weights, bias)
        near = [abs(got - value) <= 1e-4 * abs(value) for value in (expected / batch, weight_part)]
        if near[0]:
            fail(
                f"you returned {got!r}, the norm of the *mean* gradient; the summed loss's is "
                f"{expected!r} ({batch} times larger).",
                "the tutorial's loss is reduce_sum: add the gradients of the examples, do not average.",
            )
        if near[1]:
            fail(
                f"you returned {got!r}, the norm of dL/dW alone.",
                "include the bias: sqrt(sum(dW**2) + sum(db**2)), with db = (p - y).sum(axis=0).",
            )
        if not abs(got - expected) <= 1e-4 * abs(expected):
            fail(
                f"my_gradient_norm returned {got!r} for a batch of {batch}, expected {expected!r}.",
                "dL/dz = p - y (one row per example), dL/dW = images.T @ (p - y), "
                "dL/db = (p - y).sum(axis=0); p = softmax(images @ weights + bias).",
            )
    ok("my_gradient_norm gives the norm of the summed gradient, weights and bias together.")


# Scans of the exercise "predict the smallest failing batch size" (lesson 03): each size trains
# SCAN_STEPS steps (every failure measured in the lesson came within its first dozen steps), from
# the size where lr·B = 1 upward (every product lr·B* measured in the lesson is above 1.6).
SCAN_STEPS = 20
PREDICTION_TOLERANCE = 0.2


def measured_smallest_failing_batch_size(learning_rate: float) -> int | None:
    """The smallest failing batch size at ``learning_rate`` (tutorial otherwise), by a fresh scan.

    The scan is the course's own ascending scan, ``scan_to_first_failure``, from a fresh copy
    of ``course_utils.sweeps`` (:func:`reference`). Introduced in lesson 03.
    """
    data = reference("data").load_mnist("auto")
    start = math.ceil(1.0 / learning_rate)
    stop = min(len(data.train_labels), math.ceil(4.0 / learning_rate)) + 1
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        found, _ = reference("sweeps").scan_to_first_failure(
            data, range(start, stop), learning_rate=learning_rate, steps=SCAN_STEPS, progress_bar=False
        )
    return found


@exercise("(b)", ("predicted_smallest_failing_batch_size",))
def check_failing_batch_size_prediction(predicted, *, hidden: bool = False) -> None:
    """Check a predicted smallest failing batch size at lesson 03's ``PREDICTION_LEARNING_RATE``
    against a scan the check measures itself, within ±20 %.

    Visible and hidden checks compare the same number (the learner commits to one prediction); the
    hidden one reads the learning rate from a fresh copy of the settings. Introduced in lesson 03.
    """
    learning_rate = _lesson("PREDICTION_LEARNING_RATE")
    guess = as_int(
        "predicted_smallest_failing_batch_size",
        predicted,
        hint=f"assign a whole number, e.g. int(round(c / {learning_rate})) with c from section 4.",
    )
    truth = measured_smallest_failing_batch_size(learning_rate)
    if truth is None:  # pragma: no cover - would mean the model changed
        fail(f"no batch size failed at learning rate {learning_rate}.", "tell the course authors.")
    if not abs(guess - truth) <= PREDICTION_TOLERANCE * truth:
        direction = "small" if guess < truth else "large"
        fail(
            f"at learning rate {learning_rate} you predicted {guess}, more than "
            f"{PREDICTION_TOLERANCE:.0%} too {direction}.",
            "use the products lr·B* measured in section 4: B* ≈ c / lr. A prediction that does "
            "not change with the learning rate cannot be right at every rate.",
        )
    ok(
        f"learning rate {learning_rate}: you predicted {guess}, the scan measured {truth} "
        f"({(guess - truth) / truth:+.0%}, ±{PREDICTION_TOLERANCE:.0%} accepted)."
    )


# --- lesson 04: mean reduction ---

MATCH_TOLERANCE = 1e-6
"""Relative tolerance of lesson 04's exercise (a): far above the rounding of a decimal product such
as ``0.01 * 150``, far below the 0.1 % change that the lesson shows gives another training."""


@exercise("(a)", ("my_lr_mean",), stand_in_value="lr_mean_matching_sum")
def check_matching_learning_rate(my_lr_mean, *, hidden: bool = False) -> None:
    """Check ``my_lr_mean``: the mean-loss learning rate that trains exactly like the summed loss
    of lesson 04's ``MATCH_SUM`` (``lr_mean = lr_sum · B``), within a relative 1e-6.

    The two usual slips, the summed loss's own learning rate and ``lr_sum / B``, are named.
    Introduced in lesson 04.
    """
    setting = _lesson("MATCH_SUM")
    lr_sum, batch = float(setting["learning_rate"]), int(setting["batch_size"])
    got = as_float("my_lr_mean", my_lr_mean, hint="assign a number, e.g. `my_lr_mean = 0.5`.")

    def near(value: float) -> bool:
        return abs(got - value) <= MATCH_TOLERANCE * abs(value)

    if near(lr_sum):
        fail(
            f"my_lr_mean = {got:g} is the summed loss's learning rate unchanged.",
            f"the mean's gradient is the sum's divided by B = {batch}: with the same learning rate "
            "its step is B times shorter.",
        )
    if near(lr_sum / batch):
        fail(
            f"my_lr_mean = {got:g} is lr_sum / B: that step is B² times shorter than the sum's.",
            "the mean already divides the gradient by B; the learning rate must make up for it.",
        )
    if not near(lr_sum * batch):
        fail(
            f"my_lr_mean = {got:g} gives another training than the summed loss at lr {lr_sum:g}, "
            f"B = {batch}.",
            "write both updates: lr_sum · (sum of the gradients) and lr_mean · (sum / B). "
            "Which lr_mean makes them equal?",
        )
    ok(f"lr_mean = {got:g} at B = {batch} is the summed loss at lr {lr_sum:g}: lr_mean = lr_sum · B.")


@exercise("(b)", ("my_small_batch_lr",))
def check_small_batch_learning_rate(my_small_batch_lr, *, hidden: bool = False) -> None:
    """Check ``my_small_batch_lr``: a mean-loss learning rate at which lesson 04's ``SMALL_BATCH``
    run (B = 10, 1000 steps) stays finite and reaches ``SMALL_BATCH_ACCURACY``.

    The check trains that run itself, with a fresh copy of the course's training code.
    Introduced in lesson 04.
    """
    setting, least = _lesson("SMALL_BATCH"), _lesson("SMALL_BATCH_ACCURACY")
    lr = as_float(
        "my_small_batch_lr", my_small_batch_lr, hint="assign a number, e.g. `my_small_batch_lr = 0.7`."
    )
    if not 0 < lr < _INF:
        fail(f"my_small_batch_lr = {lr!r} is not a positive learning rate.", "assign a number above 0.")
    data = reference("data").load_mnist("auto")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        run = reference("training").train(data, learning_rate=lr, **setting)
    where = f"at lr_mean {lr:g}, B = {setting['batch_size']} ({setting['steps']} steps)"
    if run.went_nonfinite:
        fail(
            f"{where} went NaN at step {run.first_nonfinite_step}.",
            "the mean of a few examples is a noisy gradient (section 1): take smaller steps.",
        )
    if not run.test_accuracy >= least:
        fail(
            f"{where} stayed finite but reached a test accuracy of {run.test_accuracy:.3f}, "
            f"below {least}.",
            "too large a step bounces on the noise of tiny batches, too small a one learns too "
            "slowly; section 4 showed which learning rate keeps the progress per example seen.",
        )
    ok(f"{where}: finite, test accuracy {run.test_accuracy:.3f} (at least {least} asked).")


# --- lesson 05: epsilon ---


def _loss_and_gradient_answer(name: str, answer, dtype) -> tuple[float, np.ndarray]:
    """Unpack a learner's ``(loss, grad_logits)`` pair, checking its types."""
    if type(answer) is not tuple or len(answer) != 2:
        fail(
            f"{name} should return a pair (loss, grad_logits), got {type(answer).__name__}.",
            "end your function with `return loss, grad_logits`.",
        )
    loss = as_float(
        f"the loss returned by {name}",
        answer[0],
        hint="return one number for the whole batch: a sum over examples, e.g. `.sum()` of an array.",
    )
    grad = answer[1]
    if type(grad) is not np.ndarray:
        fail(f"the gradient returned by {name} should be a numpy array.", "return grad_logits itself.")
    if grad.dtype != np.dtype(dtype):
        fail(
            f"the gradient returned by {name} has dtype {grad.dtype}, expected {np.dtype(dtype)}.",
            "keep every constant in the input's dtype, e.g. logits.dtype.type(epsilon).",
        )
    return loss, grad


def _fading_gap(pull: float) -> float:
    """The logit gap from which the epsilon loss (ε = 1e-10) pulls the target logit of
    ``losses_by_gap``'s example by less than ``pull`` (a fraction of the stable loss's -1), in
    float32 with TensorFlow's flushing, in steps of 0.01 (past 86.5, p and the pull are exactly 0).
    One row per gap, all in one call of the training core (each row is computed on its own).

    >>> _fading_gap(0.5)  # the pull has halved where p = ε, at a gap of about -ln(1e-10)
    23.03
    """
    gaps = np.arange(0.0, 86.5, 0.01)
    logits = np.zeros((len(gaps), 10), dtype=np.float32)
    logits[:, 0] = gaps  # the target, class 1, lies `gap` below the largest logit
    onehot = np.zeros_like(logits)
    onehot[:, 1] = 1
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = reference("model").loss_and_gradient(logits, onehot, loss="epsilon", epsilon=1e-10)
    weak = np.nonzero(result.grad_logits[:, 1] > -pull)[0]
    return round(float(gaps[weak[0]]), 2)


@exercise("1", ("my_fading_gap",))
def check_fading_gap_prediction(my_fading_gap, *, hidden: bool = False) -> None:
    """Check a predicted logit gap from which epsilon's pull on the target logit is below 1 %.

    Compared with the measured gap (:func:`_fading_gap`) within lesson 05's ``FADING_GAP_TOLERANCE``.
    Introduced in lesson 05.
    """
    got = as_float(
        "my_fading_gap", my_fading_gap, hint="assign one number, e.g. `my_fading_gap = 40.0`."
    )
    pull, tolerance = _lesson("FADING_PULL"), _lesson("FADING_GAP_TOLERANCE")
    truth = _fading_gap(pull)
    if abs(got - truth) <= tolerance:
        ok(f"you predicted a gap of {got:.2f}; the measurement below gives {truth:.2f}.")
        return
    known = {
        "the gap at which p = ε, where the pull has only halved": -math.log(1e-10),
        "the gap at which p becomes exactly 0 in float32, where the pull is exactly 0": float(
            reference("model").float_limits("float32").softmax_zero_gap
        ),
        "a gap in powers of 10 (log10): p ≈ e^(−gap) needs the natural log": truth / math.log(10),
    }
    for what, value in known.items():
        if abs(got - value) <= tolerance:
            fail(
                f"my_fading_gap = {got:.2f} is {what}.",
                "for p ≪ ε the pull is about p/ε (section 1's formula), and p ≈ e^(−gap).",
            )
    fail(
        f"my_fading_gap = {got:.2f}; the pull falls below {pull:.0%} at a gap {'smaller' if got > truth else 'larger'} "
        f"than that (±{tolerance:g} accepted).",
        "for p ≪ ε the pull is about p/ε (section 1's formula), and p ≈ e^(−gap) (natural log).",
    )


EPSILON_SEARCH_CANDIDATES = tuple(range(200, 501, 25))
EPSILON_SEARCH_STEPS = 300
# Different but equally valid ways to run the same training (sweep's stacked runs, another BLAS
# build) can change the last bits and so a handful of the 1000 test predictions; a tolerance of
# 10 test images keeps such an answer right. Lesson 05 measures every candidate's gap after the
# exercise: on the bundled sample none lies within 0.03 of the threshold, so this tolerance cannot
# turn a wrong batch size into a right one there.
EPSILON_SEARCH_TOLERANCE = 0.01


def _accuracy_gaps(batch_sizes: list[int], *, cached: bool) -> list[float]:
    """Stable minus epsilon test accuracy at each of ``batch_sizes`` (summed loss, lr 0.01, 300
    steps), all runs trained together: through the sweep's run cache, or afresh with ``train_many``
    (the numbers of single ``train`` runs, in worker processes)."""
    data = reference("data").load_mnist("auto")
    losses = ("epsilon", "stable")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if cached:
            table = reference("sweeps").sweep(
                data,
                batch_size=batch_sizes,
                loss=list(losses),
                steps=EPSILON_SEARCH_STEPS,
                progress_bar=False,
            )
            accuracies = [float(a) for a in table["test_accuracy"]]
        else:
            multirun = reference("multirun")
            configs = [
                multirun.TrainConfig(batch_size=size, loss=loss, steps=EPSILON_SEARCH_STEPS)
                for size in batch_sizes
                for loss in losses
            ]
            accuracies = [run.test_accuracy for run in multirun.train_many(data, configs)]
    return [stable - epsilon for epsilon, stable in zip(accuracies[::2], accuracies[1::2], strict=True)]


@exercise("2", ("epsilon_breaking_batch_size",))
def check_epsilon_breaking_batch_size(batch_size, *, hidden: bool = False) -> None:
    """Check the smallest candidate batch size at which epsilon loses > 5 points against stable.

    Candidates are ``range(200, 501, 25)``; both losses are summed, lr 0.01, 300 steps. The check
    measures the gaps itself, all runs at once: the visible check every candidate up to the answer
    (through the sweep's run cache), the hidden one the answer and the candidate before it, without
    the cache.
    Introduced in lesson 05.
    """
    answer = as_int(
        "epsilon_breaking_batch_size",
        batch_size,
        hint="assign the batch size itself, e.g. `epsilon_breaking_batch_size = 275`.",
    )
    candidates = list(EPSILON_SEARCH_CANDIDATES)
    if answer not in candidates:
        fail(
            f"{answer} is not one of the candidates {candidates[0]}, {candidates[1]}, …, {candidates[-1]}.",
            "loop over CANDIDATES in order and stop at the first size whose gap exceeds 0.05.",
        )
    threshold, tolerance = 0.05, EPSILON_SEARCH_TOLERANCE
    index = candidates.index(answer)
    below = candidates[max(0, index - 1) : index] if hidden else candidates[:index]
    gap, *below_gaps = _accuracy_gaps([answer, *below], cached=not hidden)
    if not gap > threshold - tolerance:
        fail(
            f"at B={answer} epsilon loses only {100 * gap:.1f} points against stable (not more than 5).",
            "compare the two test accuracies at each candidate: stable minus epsilon > 0.05.",
        )
    for smaller, smaller_gap in zip(below, below_gaps, strict=True):
        if smaller_gap > threshold + tolerance:
            fail(
                f"at B={smaller}, a smaller candidate, epsilon already loses "
                f"{100 * smaller_gap:.1f} points: {answer} is not the first.",
                "go through the candidates from the smallest and stop at the first that loses > 5 points.",
            )
    ok(f"at B={answer} epsilon training loses {100 * gap:.1f} points; no smaller candidate loses 5.")


# --- lesson 06: stable logits ---


@exercise("1", ("my_logsumexp",), stand_in="logsumexp")
def check_logsumexp(my_logsumexp, *, hidden: bool = False) -> None:
    """Check a row-wise ``log(sum(exp(z)))`` that survives logits of ±1000.

    Must return one value per row (shape ``(batch,)``) in the input's dtype.
    Introduced in lesson 06.
    """
    cases = [
        np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32),
        np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]], dtype=np.float32),
    ]
    if hidden:
        rng = np.random.default_rng(606)
        cases += [
            rng.normal(0, 300, (5, 10)).astype(np.float64),
            np.array([[-1000.0, -1001.0, -1002.0, -1003.0]], dtype=np.float32),
            np.full((2, 10), 1000.0, dtype=np.float32),
        ]
    for logits in cases:
        got = call_quietly(my_logsumexp, logits.copy())
        wide = logits.astype(np.float64)
        top = wide.max(axis=1)
        expected = top + np.log(np.exp(wide - top[:, None]).sum(axis=1))
        if type(got) is np.ndarray and got.shape == (len(logits), 1):
            fail(
                f"my_logsumexp returned shape {got.shape}; expected one value per row, {expected.shape}.",
                "drop the kept axis at the end (e.g. `[:, 0]` or sum without keepdims).",
            )
        big = float(np.abs(logits).max()) >= 1000
        assert_array_close(
            "my_logsumexp(logits)",
            got,
            expected.astype(logits.dtype),
            rtol=1e-6,
            atol=1e-6,
            dtype=logits.dtype,
            hint=(
                "exp(1000) overflows and exp(-1000) underflows: use logsumexp(z) = m + "
                "log(sum(exp(z - m))) with m the row maximum."
                if big
                else "log of the sum over each row (axis=1) of exp(z)."
            ),
        )
    ok("my_logsumexp is right and finite for logits of ±1000.")


def _stable_loss_float64(logits: np.ndarray, onehot: np.ndarray) -> float:
    top = logits.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float((lse - (logits * onehot).sum(axis=1)).sum())


@exercise("2", ("my_stable_loss_and_gradient",))
def check_stable_loss_and_gradient(my_stable_loss_and_gradient, *, hidden: bool = False) -> None:
    """Check ``sum(logsumexp(z) - z·y)`` and its fused gradient ``p - y`` (summed over the batch).

    Compared with central finite differences in float64, with the course's ``stable`` loss in
    float32, and on logits of ±1000.
    Introduced in lesson 06.
    """
    model = reference("model")
    name = "my_stable_loss_and_gradient"
    rng = np.random.default_rng(66 if hidden else 6)
    batch = 6 if hidden else 3
    logits = rng.normal(0, 3, (batch, 10))
    onehot = np.eye(10)[rng.integers(0, 10, batch)]
    # 1. Float64 against finite differences: is the gradient the derivative of the loss?
    loss, grad = _loss_and_gradient_answer(
        name, call_quietly(my_stable_loss_and_gradient, logits.copy(), onehot.copy()), np.float64
    )
    want = _stable_loss_float64(logits, onehot)
    if abs(loss - want / batch) <= 1e-6 * abs(want / batch):
        fail(f"{name} returned the mean loss {loss!r}; sum over the batch ({want!r}).", "use .sum().")
    if not abs(loss - want) <= 1e-6 * abs(want):
        fail(
            f"{name} returned the loss {loss!r}, expected {want!r}.",
            "per example: logsumexp(z) - (z * y).sum(); then sum over the batch.",
        )
    numerical = central_differences(lambda z: _stable_loss_float64(z, onehot), logits)
    assert_array_close(
        f"the gradient of {name} in float64",
        grad,
        numerical,
        rtol=1e-5,
        atol=1e-7,
        hint="the fused gradient is softmax(z) - y, one row per example, not averaged.",
    )
    # 2. Float32, with logits of ±1000 and a wrong-and-certain example: finite, and p - y.
    extreme = np.zeros((3, 10), dtype=np.float32)
    extreme[0, 0], extreme[0, 3] = 1000, -1000  # target 3: wrong by a gap of 2000
    extreme[1, 1] = 1000 if not hidden else 3e4  # target 1: right and certain
    extreme[2] = rng.normal(0, 1, 10).astype(np.float32) - (1000 if hidden else 0)
    targets = np.eye(10, dtype=np.float32)[[3, 1, 2]]
    expected = model.loss_and_gradient(
        extreme, targets, loss="stable", reduction="sum", flush_subnormals=False
    )
    loss32, grad32 = _loss_and_gradient_answer(
        name, call_quietly(my_stable_loss_and_gradient, extreme.copy(), targets.copy()), np.float32
    )
    want32 = float(expected.loss)
    if loss32 != loss32 or loss32 in (_INF, -_INF):
        fail(
            f"{name} returned the loss {loss32!r} for logits of ±1000.",
            "never take log(softmax(z)): compute logsumexp(z) with the row maximum subtracted.",
        )
    if not abs(loss32 - want32) <= 1e-5 * abs(want32):
        fail(
            f"{name} returned the loss {loss32!r} for logits of ±1000, expected {want32!r}.",
            "logsumexp(z) = m + log(sum(exp(z - m))) with m the row maximum, in the input's dtype.",
        )
    assert_array_close(
        f"the gradient of {name} for logits of ±1000",
        grad32,
        expected.grad_logits,
        rtol=1e-4,  # float32 logits near ±1000 carry only ~5 significant digits of their differences
        atol=1e-6,
        dtype=np.float32,
        hint="softmax with the row maximum subtracted, minus the one-hot labels: finite at any logit.",
    )
    ok(f"{name} matches finite differences and stays finite for logits of ±1000.")


# --- lesson 07: optimizers ---


def _adam_by_hand(param, grad, m, v, t, lr, beta1, beta2, epsilon):
    """Adam's step written out in Python floats, one coordinate at a time (TensorFlow's formula)."""
    lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    new_m = [beta1 * a + (1 - beta1) * g for a, g in zip(m, grad, strict=True)]
    new_v = [beta2 * b + (1 - beta2) * g * g for b, g in zip(v, grad, strict=True)]
    new_param = [
        p - lr_t * a / (math.sqrt(b) + epsilon) for p, a, b in zip(param, new_m, new_v, strict=True)
    ]
    return new_param, new_m, new_v


def _three_arrays(name: str, result) -> tuple:
    if type(result) not in (tuple, list) or len(result) != 3:
        fail(
            f"{name} should return three arrays (new_param, new_m, new_v), got {type(result).__name__}"
            + (f" of length {len(result)}" if type(result) in (tuple, list) else "")
            + ".",
            "end with `return new_param, new_m, new_v`.",
        )
    return tuple(result)


@exercise("(a)", ("my_adam_update",), stand_in="adam_update")
def check_adam_update(my_adam_update, *, hidden: bool = False) -> None:
    """Check ``my_adam_update(param, grad, m, v, t, lr, beta1, beta2, epsilon)`` -> (param, m, v).

    First against Adam's first step worked out by hand, then step by step against the course's
    :class:`~course_utils.Adam` (TensorFlow's ApplyAdam kernel). Introduced in lesson 07.
    """
    optimizers = reference("optimizers")
    # 1. The first step, by hand: every coordinate with a gradient moves by about lr.
    param = [0.5, -1.0, 2.0, 0.25]
    grad = [0.1, -20.0, 0.0, 3.0] if not hidden else [1e-3, 7.0, -0.5, 0.0]
    lr = 0.001 if not hidden else 0.01
    dtype = np.float32 if not hidden else np.float64
    args = [np.array(a, dtype=dtype) for a in (param, grad, [0.0] * 4, [0.0] * 4)]
    got = _three_arrays(
        "my_adam_update",
        call_quietly(my_adam_update, *[a.copy() for a in args], 1, lr, 0.9, 0.999, 1e-8),
    )
    want = _adam_by_hand(param, grad, [0.0] * 4, [0.0] * 4, 1, lr, 0.9, 0.999, 1e-8)
    for label, value in zip(("new_param", "new_m", "new_v"), got, strict=True):
        if type(value) is np.ndarray and value.dtype != dtype:
            fail(
                f"{label} has dtype {value.dtype}, but the inputs were {np.dtype(dtype)}.",
                "np.sqrt of a Python number gives a float64 scalar, which turns float32 arrays into "
                "float64: compute the scalar lr_t with math.sqrt or ** 0.5 instead.",
            )
    assert_array_close(
        "new_m after the first step",
        got[1],
        want[1],
        dtype=dtype,
        hint="m = beta1 * m + (1 - beta1) * grad (m starts at 0, so the first m is 0.1 * grad).",
    )
    assert_array_close(
        "new_v after the first step",
        got[2],
        want[2],
        dtype=dtype,
        hint="v = beta2 * v + (1 - beta2) * grad**2.",
    )
    if type(got[0]) is np.ndarray and got[0].shape == (4,):
        moved = [
            g - p for g, p in zip(np.ndarray.tolist(got[0].astype(np.float64)), param, strict=True)
        ]
        wanted = [w - p for w, p in zip(want[0], param, strict=True)]
        if all(abs(d + w) <= 1e-6 + 1e-4 * abs(w) for d, w in zip(moved, wanted, strict=True) if w):
            fail(
                "your step has the right size but the wrong sign: it climbs the loss.",
                "subtract the step: param - lr_t * m / (sqrt(v) + epsilon).",
            )
        ratios = [abs(d / w) for d, w in zip(moved, wanted, strict=True) if abs(w) > 1e-9]
        no_correction = math.sqrt(1 - 0.999) / (1 - 0.9)  # what lr_t / lr should be at t = 1
        if ratios and all(abs(r * no_correction - 1) < 1e-2 for r in ratios):
            fail(
                "your first step is about 3.16 times Adam's: the bias correction is missing.",
                "use lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t), with t = 1 for the first step.",
            )
    assert_array_close(
        "new_param after the first step",
        got[0],
        want[0],
        rtol=1e-5,
        atol=1e-8,
        dtype=dtype,
        hint="param - lr_t * m / (sqrt(v) + epsilon), with lr_t = lr * sqrt(1 - beta2**t) / "
        "(1 - beta1**t); subtract (the step goes against the gradient).",
    )
    # 2. Several steps against the package's Adam, feeding back the learner's own m and v.
    rng = np.random.default_rng(77 if hidden else 7)
    dtype = np.float32  # float32 here in both modes: it catches float64 scalars creeping in
    shape = (3, 5) if hidden else (6,)
    settings = dict(learning_rate=0.003, beta1=0.8, beta2=0.99, epsilon=1e-7) if hidden else {}
    adam = optimizers.Adam(**settings) if hidden else optimizers.Adam(0.001)
    start = 5 if hidden else 1
    reference_param = rng.normal(size=shape).astype(dtype)
    state = adam.init([reference_param])
    state["m"][0][...] = rng.normal(size=shape) * (start > 1)
    state["v"][0][...] = rng.random(size=shape) * (start > 1)
    state["beta1_power"] = dtype(adam.beta1) ** start
    state["beta2_power"] = dtype(adam.beta2) ** start
    mine = [reference_param.copy(), state["m"][0].copy(), state["v"][0].copy()]
    for t in range(start, start + 3):
        g = (rng.normal(size=shape) * 10.0 ** rng.integers(-3, 3, size=shape)).astype(dtype)
        adam.update([reference_param], [g.copy()], state)
        got = _three_arrays(
            "my_adam_update",
            call_quietly(
                my_adam_update,
                mine[0].copy(),
                g.copy(),
                mine[1].copy(),
                mine[2].copy(),
                t,
                adam.learning_rate,
                adam.beta1,
                adam.beta2,
                adam.epsilon,
            ),
        )
        for label, value, expected in zip(
            ("param", "m", "v"), got, (reference_param, state["m"][0], state["v"][0]), strict=True
        ):
            assert_array_close(
                f"new_{label} at step t={t}",
                value,
                expected,
                rtol=1e-4,
                atol=1e-7,
                dtype=dtype,
                hint="use t (1 for the first step) in the bias correction, and keep the input dtype "
                "(build constants with param.dtype.type or np.float32).",
            )
        mine = [np.array(v) for v in got]
    ok("my_adam_update matches Adam's first step by hand and the course's Adam step after step.")


def _names(name: str, answer) -> set:
    if type(answer) not in (set, frozenset, list, tuple):
        fail(
            f"{name} should be a set of optimizer names, got {type(answer).__name__}.",
            'write it like {"adam", "ftrl"} (names as in OPTIMIZERS).',
        )
    names = set()
    for item in answer:
        if type(item) is not str:
            fail(
                f"{name} should contain names (str), found a {type(item).__name__}.",
                'use the names of OPTIMIZERS, e.g. "gradient_descent".',
            )
        names.add(str.__str__(item))
    return names


@exercise("(c)", ("my_survivors",), stand_in_value="survivors")
def check_survivors(survivors, *, hidden: bool = False) -> None:
    """Check the set of optimizers that stay finite for 1000 steps in :data:`SURVIVAL_SETTING`.

    The truth is measured here with ``sweep`` (cached on disk, so a learner's own identical
    sweep makes this instant). Introduced in lesson 07.
    """
    optimizers = reference("optimizers")
    SURVIVAL_SETTING = _lesson("SURVIVAL_SETTING")
    names = _names("survivors", survivors)
    unknown = sorted(names - set(optimizers.OPTIMIZERS))
    if unknown:
        fail(
            f"{', '.join(map(repr, unknown))} is not an optimizer name.",
            f"choose among {', '.join(map(repr, optimizers.OPTIMIZERS))}.",
        )
    data = reference("data").load_mnist("auto")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        table = reference("sweeps").sweep(
            data, optimizer=list(optimizers.OPTIMIZERS), progress_bar=False, **SURVIVAL_SETTING
        )
    truth = {str(row["optimizer"]) for row in table if not row["went_nonfinite"]}
    missing, extra = truth - names, names - truth
    if missing or extra:
        fail(
            f"not quite: {len(extra)} of your names went NaN and {len(missing)} optimizer(s) that "
            "stayed finite are missing.",
            "measure it: sweep(data, optimizer=list(OPTIMIZERS), batch_size=100, learning_rate=0.1, "
            'reduction="mean") and keep the names whose row has went_nonfinite == False.',
        )
    ok(
        f"right: {', '.join(sorted(truth))} stay finite at learning rate 0.1 with reduce_mean ({data.name})."
    )


@exercise("(b)", ("predict_survivors",), stand_in="predict_survivors")
def check_survivor_prediction(predict_survivors, *, hidden: bool = False) -> None:
    """Check ``predict_survivors(gradient)``: the optimizers whose step after 1000 equal gradients
    of size ``gradient`` stays below :data:`SAFE_STEP` learning rates, worked out from the update
    rules (no training).

    The truth is the course's own update rules run on a constant gradient
    (:func:`~course_utils.optimizers.steady_step`), at gradient sizes on both sides of where
    momentum (10 g) and gradient descent (g) cross the bound, so one fixed set cannot pass.
    Introduced in lesson 07.
    """
    optimizers = reference("optimizers")
    SAFE_STEP = _lesson("SAFE_STEP")
    for gradient in (0.003, 0.08, 0.7) if hidden else (0.02, 0.2):
        names = _names(f"predict_survivors({gradient})", call_quietly(predict_survivors, gradient))
        unknown = sorted(names - set(optimizers.OPTIMIZERS))
        if unknown:
            fail(
                f"{', '.join(map(repr, unknown))} is not an optimizer name.",
                f"choose among {', '.join(map(repr, optimizers.OPTIMIZERS))}.",
            )
        truth = {
            name
            for name in optimizers.OPTIMIZERS
            if float(optimizers.steady_step(name, gradient)) < SAFE_STEP
        }
        wrong = sorted(names ^ truth)
        if wrong:
            fail(
                f"predict_survivors({gradient}) is wrong about {', '.join(wrong)}.",
                "for each of them, follow section 1's update rule through 1000 steps with the "
                "same gradient g every step: where does the step settle, in units of the learning "
                f"rate, and is that below {SAFE_STEP}? (momentum sums 0.9**k; Adagrad's s grows; "
                "RMSProp's and Adam's averages forget where they started.)",
            )
    ok(
        "predict_survivors follows the update rules: it is right on both sides of where momentum "
        "and gradient descent cross half a learning rate."
    )


# --- lesson 08: capstone ---

_FIXABLE = ("learning_rate", "loss", "reduction", "dtype", "epsilon", "flush_subnormals")


def _diagnose(result) -> str:
    """Name the cause of a run's NaN from its loss trace: "finite", "overshooting" or "log(0)".

    Overshooting: steps too large from the start, so the run goes non-finite within its first
    50 steps. log(0): the loss first fell below a quarter of its starting value (the model was
    learning) and only after 100 or more steps did a probability underflow to 0. Runs in between
    are "unclear". Introduced in lesson 08.
    """
    if result.first_nonfinite_step is None:
        return "finite"
    step = result.first_nonfinite_step
    before = result.losses[:step].astype(np.float64)
    if step < 50:
        return "overshooting"
    if step >= 100 and float(before.min()) < 0.25 * float(result.losses[0]):
        return "log(0)"
    return "unclear"


def _measured_evidence(**setup) -> dict:
    """The evidence of :data:`EVIDENCE` for a run: the step of its smallest loss (NaN ignored) and
    the first step whose largest logit gap exceeds float32's ``softmax_zero_gap``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        trace = reference("diagnostics").trace_steps(reference("data").load_mnist("auto"), **setup)
    limit = reference("model").float_limits(setup.get("dtype", "float32")).softmax_zero_gap
    crossed = np.flatnonzero(trace.logit_gap > limit).tolist()
    return {
        "smallest_loss_step": int(np.nanargmin(trace.result.losses)),
        "limit_crossed_step": crossed[0] if crossed else None,
        "trace": trace,
    }


@exercise("(a)", ("my_diagnosis", "my_evidence"))
def check_diagnosis(my_diagnosis, my_evidence, *, hidden: bool = False) -> None:
    """Check the evidence (:data:`EVIDENCE`, measured on :data:`CAPSTONE_SETUP`'s run) and the
    diagnosis of its failure (one of :data:`DIAGNOSES`).

    Both checks measure the run; the visible one grades the evidence and only the form of the
    diagnosis, the hidden one the diagnosis too. Introduced in lesson 08.
    """
    CAPSTONE_SETUP, DIAGNOSES, EVIDENCE = map(_lesson, ("CAPSTONE_SETUP", "DIAGNOSES", "EVIDENCE"))
    if type(my_diagnosis) is not str or str.__str__(my_diagnosis) not in DIAGNOSES:
        fail(
            f"my_diagnosis should be one of {', '.join(map(repr, DIAGNOSES))}, got {my_diagnosis!r}.",
            "copy one of the two strings exactly.",
        )
    if type(my_evidence) is not dict or sorted(dict.keys(my_evidence)) != sorted(EVIDENCE):
        fail(
            f"my_evidence should be a dict with exactly the keys {', '.join(map(repr, EVIDENCE))}.",
            "measure both steps on the colleague's run and put them in a dict.",
        )
    measured = _measured_evidence(**CAPSTONE_SETUP)
    for key, hint in (
        (
            "smallest_loss_step",
            "the step at which train(...).losses is smallest; np.argmin stops at the first NaN, "
            "np.nanargmin skips them.",
        ),
        (
            "limit_crossed_step",
            "trace_steps(...).logit_gap is the largest gap of each step; find the first one above "
            "float_limits().softmax_zero_gap.",
        ),
    ):
        given = as_int(f'my_evidence["{key}"]', dict.__getitem__(my_evidence, key), hint=hint)
        if given != measured[key]:
            fail(f'my_evidence["{key}"] = {given} is not what the colleague\'s run shows.', hint)
    answer = str.__str__(my_diagnosis)
    if not hidden:
        ok(
            "your evidence is what the run shows; the hidden test checks whether your diagnosis "
            "follows from it."
        )
        return
    truth = _diagnose(measured["trace"].result)
    if answer != truth:
        fail(
            f"the colleague's run is not a case of {answer!r}.",
            "read your evidence: did the loss climb from the start and the gap cross the limit "
            "within a few steps, or did the loss fall for hundreds of steps first?",
        )
    ok(f"right: {truth}, and the evidence shows it.")


_CURES_LOG0 = ("stable",)  # the losses computed from the logits: no probability, no log(0)


@exercise("(b)", ("my_fixed_setup",), stand_in_value="fixed_setup")
def check_fixed_setup(my_fixed_setup, *, hidden: bool = False) -> None:
    """Check a repaired version of :data:`CAPSTONE_SETUP`: same batch size and optimizer, no NaN
    in 1000 steps, the cause removed and a test accuracy of at least 0.88 (hidden: also with
    another seed).

    The cause is ``log(0)``, so a fix must compute the loss from the logits (``loss="stable"``). A
    fix that keeps the naive loss (a smaller learning rate, float64) or hides the NaN (epsilon,
    clipping) is rejected with what the run measured: its largest logit gap against the limit
    where a probability becomes exactly 0. Introduced in lesson 08.
    """
    CAPSTONE_SETUP = _lesson("CAPSTONE_SETUP")
    if type(my_fixed_setup) is not dict:
        fail(
            f"my_fixed_setup should be a dict of train() arguments, got {type(my_fixed_setup).__name__}.",
            'start from dict(CAPSTONE_SETUP) and change what you need, e.g. setup["loss"] = ...',
        )
    setup = {}
    for key, value in dict.items(my_fixed_setup):
        if type(key) is not str:
            fail(
                "my_fixed_setup's keys should be argument names (str).", "use train()'s argument names."
            )
        # plain copies of strings and numbers: an object that equals everything must not choose
        # one loss for train() and another for this check
        if isinstance(value, str):
            value = str.__str__(value)
        elif isinstance(value, float):
            value = float.__float__(value)
        setup[str.__str__(key)] = value
    for key in ("batch_size", "optimizer"):
        if key in setup and (
            type(setup[key]) is not type(CAPSTONE_SETUP[key]) or setup[key] != CAPSTONE_SETUP[key]
        ):
            fail(
                f"the colleague needs {key}={CAPSTONE_SETUP[key]!r}; you changed it to {setup[key]!r}.",
                f"keep {key} and fix the run with the other settings.",
            )
    other = sorted(set(setup) - set(_FIXABLE) - {"batch_size", "optimizer"})
    if other:
        fail(
            f"my_fixed_setup may not set {', '.join(other)}.",
            f"change only {', '.join(_FIXABLE)}; steps stay 1000 and the seed is the grader's.",
        )
    arguments = {**CAPSTONE_SETUP, **{k: setup[k] for k in _FIXABLE if k in setup}}
    data = reference("data").load_mnist("auto")
    for seed in (1,) if hidden else (0,):
        try:
            measured = _measured_evidence(seed=seed, **arguments)
        except (TypeError, ValueError) as error:
            fail(f"train() rejected my_fixed_setup: {error}", "use values train() accepts.")
        result = measured["trace"].result
        if result.went_nonfinite:
            fail(
                f"with seed {seed} the fixed run still goes non-finite ({result.first_nonfinite_stage} at "
                f"step {result.first_nonfinite_step}).",
                "which cause did you diagnose? Pick the fix that removes that cause.",
            )
        loss = str(arguments.get("loss", "naive"))
        if loss not in _CURES_LOG0:
            gap = float(measured["trace"].logit_gap.max())
            limit = reference("model").float_limits(str(arguments.get("dtype", "float32")))
            if gap <= limit.softmax_zero_gap:
                fail(
                    f"your run stays finite, but only because its largest logit gap stayed at "
                    f"{gap:.1f}, below the {limit.softmax_zero_gap:.2f} at which its softmax gives a "
                    f"probability of exactly 0: the {loss} loss still takes the log of softmax(z), "
                    "and a run that learns longer or faster reaches that limit again.",
                    "that moves the cause, it does not remove it: compute the loss from the logits.",
                )
            fail(
                f"your run stays finite, but its largest logit gap reached {gap:.1f}, past the "
                f"{limit.softmax_zero_gap:.2f} at which probabilities are exactly 0: the {loss} loss "
                "hides the log(0) and gives those examples no gradient (lesson 05).",
                "that hides the cause, it does not remove it: compute the loss from the logits.",
            )
        if result.test_accuracy < 0.88:
            fail(
                f"with seed {seed} the fixed run stays finite but reaches only "
                f"{result.test_accuracy:.3f} test accuracy (at least 0.88 needed).",
                "a fix that removes the NaN is not enough if it stops the model from learning; "
                "check the learning rate for the loss and reduction you chose.",
            )
    ok(
        f"fixed: the loss comes from the logits, no NaN and test accuracy {result.test_accuracy:.3f} "
        f"with seed {seed} ({data.name})."
    )


# --- lesson 09: low precision ---


@exercise("(a)", ("my_float16_gap",))
def check_float16_gap_prediction(my_float16_gap, *, hidden: bool = False) -> None:
    """Check a predicted float16 logit-gap limit against the measured one, within ``GAP_TOLERANCE``.

    The measurement is ``float_limits("float16").softmax_zero_gap`` from a fresh copy of the
    course (a bisection over float16 numbers). Introduced in lesson 09.
    """
    settings = reference("lesson_settings")
    tolerance = settings.GAP_TOLERANCE
    guess = as_float(
        "my_float16_gap", my_float16_gap, hint="give one number, e.g. my_float16_gap = 12.3."
    )
    model = reference("model")
    measured = model.float_limits("float16").softmax_zero_gap
    tiny = float(model.smallest_normal("float16"))
    mistakes = {
        "that is minus the gap: exp(-gap) is small when the gap is large and positive": math.log(tiny),
        "that is the logarithm in base 2 (the exponent of the smallest normal); exp is base e": 14.0,
        "that is the logarithm in base 10; exp is base e": -math.log10(tiny),
        "that is where 1/p overflows (ln of the largest number), not where p becomes 0": math.log(
            float(np.finfo(np.float16).max)
        ),
        "that is float32's line, not float16's": model.float_limits("float32").softmax_zero_gap,
    }
    if not abs(guess - measured) <= tolerance:
        for what, value in mistakes.items():
            if abs(guess - value) <= tolerance:
                fail(f"my_float16_gap = {guess:g}: {what}.", "solve exp(-gap) = smallest normal.")
        fail(
            f"my_float16_gap = {guess:g}, but the measured line is {measured:.2f} "
            f"(±{tolerance} accepted).",
            "softmax gives 0 once exp(-gap) is below float16's smallest normal number, 2**-14.",
        )
    ok(
        f"you predicted {guess:.3f}; float_limits measures {measured:.2f} "
        f"(within ±{tolerance}): float16's line is near 10."
    )


def _scaled_gradient_cases(hidden: bool):
    """(images, grad_logits, loss_scale): float32 gradients of the stable mean loss at B = 1000
    after some training, whose small entries underflow in float16; images rounded to float16."""
    data = reference("data").load_sample()
    model = reference("model")
    training = reference("training")
    trained = training.train(
        data, batch_size=1000, steps=12 if hidden else 8, loss="stable", reduction="mean",
        learning_rate=1.0,
    )  # fmt: skip
    start = 2000 if hidden else 0
    images = data.train_images[start : start + 1000].astype(np.float16).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[data.train_labels[start : start + 1000]]
    logits = images @ trained.weights + trained.bias
    grad = model.loss_and_gradient(logits, onehot, loss="stable", reduction="mean").grad_logits
    return [(images, grad, scale) for scale in ((4096.0, 256.0) if hidden else (1024.0,))]


def _mixed_weight_gradient(images, grad_logits, loss_scale) -> np.ndarray:
    """The course's: the scaled float32 gradient cast to float16, the product accumulated in
    float32 and rounded to float16, cast to float32 and divided by the scale."""
    linear = reference("linear")
    with np.errstate(all="ignore"):
        low = (grad_logits * np.float32(loss_scale)).astype(np.float16)
        product = linear.matmul(images.T, low)
        return product.astype(np.float32) / np.float32(loss_scale)


@exercise("(b)", ("my_scaled_weight_gradient",))
def check_scaled_weight_gradient(my_scaled_weight_gradient, *, hidden: bool = False) -> None:
    """Check ``my_scaled_weight_gradient(images, grad_logits, loss_scale)``: the weight gradient as
    mixed float16 computes it with loss scaling (float32 result, unscaled).

    Introduced in lesson 09.
    """
    for images, grad, scale in _scaled_gradient_cases(hidden):
        got = call_quietly(my_scaled_weight_gradient, images.copy(), grad.copy(), scale)
        expected = _mixed_weight_gradient(images, grad, scale)
        unscaled = _mixed_weight_gradient(images, grad, 1.0)
        name = f"my_scaled_weight_gradient(images, grad_logits, {scale:g})"
        if type(got) is np.ndarray and got.shape == expected.shape:
            got64 = got.astype(np.float64)
            if np.array_equal(got64, unscaled.astype(np.float64)) and not np.array_equal(
                unscaled, expected
            ):
                fail(
                    f"{name} equals the gradient without loss scaling.",
                    "multiply grad_logits by loss_scale before the cast to float16, and divide the "
                    "float32 result by it.",
                )
        assert_array_close(
            name, got, expected, rtol=2e-3, atol=1e-9, dtype=np.float32,
            hint="scale, cast to np.float16, product in float32 (images.T @ g.astype(np.float32)), "
            "round it to float16, cast to float32, divide by loss_scale.",
        )  # fmt: skip
    ok(f"{name} computes mixed float16's loss-scaled weight gradient.")

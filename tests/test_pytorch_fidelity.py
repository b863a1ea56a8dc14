"""The course's float16, bfloat16 and mixed-precision runs fail or survive as PyTorch's did.

The records in ``course_utils/bundled`` (``pytorch_record``) were written by
``tools/compare_pytorch.py`` (its docstring says which PyTorch code each run is and how to
re-record): PyTorch 2.13.0 CPU, one thread, on the bundled sample in the order of
``batch_indices``, from zero weights. Each run in a record carries the course's ``train`` settings
that do the same, so this test runs the course with them as they are. PyTorch is not needed.

Which PyTorch. The course's naive gradient is TensorFlow's, ``g_p = -y * (1/p)``; PyTorch's
autograd divides, ``-y / p``. Where ``1/p`` overflows the two differ (NaN against 0 for the
classes with ``y = 0``); in float16 that is any p < 2**-16, a logit gap of about 11, so the naive
float16 tutorial fails at step 1 from a smaller batch size in the course than in PyTorch's own
code. ``pure_tensorflow_log`` is the PyTorch code with TensorFlow's log gradient; the course is
checked against it, and against ``pure`` only for that documented difference.

Tolerances. Beyond the log gradient, the course and PyTorch round differently in the low dtypes,
not only in the order of float32 sums: PyTorch's softmax divides by the sum (the course multiplies
by its reciprocal, as TensorFlow), its float16 matrix product is not always the exact product
rounded to nearest, ``torch.optim.SGD`` rounds ``W - lr·g`` once, and its bfloat16 ``nll_loss``
mean lost 2 units in the last place (2.265625 for ln 10 at B = 100). Measured when the records
were made, with the course's ``blas`` summation: against ``pure_tensorflow_log`` every batch size
of both dtypes (100 in float16, 251 in bfloat16) failed or survived as in PyTorch, at the same
first non-finite step, and surviving runs' test accuracies differed by at most 0.003; the mixed
and pure stable-mean runs all survived in both, accuracies within 0.002, no step skipped by
either loss scaler. The tolerances leave room for another summation order (``reversed``, ``float64``) and other
CPUs: a disagreement on fail/survive only within :data:`EDGE_DISTANCE` of an edge of PyTorch's
ragged pattern and at most :data:`MAX_DISAGREEMENTS` per run, a first non-finite step within
:data:`STEP_TOLERANCE`, accuracy within :data:`ACCURACY_TOLERANCE`, the first loss within
:data:`FIRST_LOSS_ULPS` units in the last place.
"""

import math

import pytest

from course_utils import TrainConfig, load_mnist, pytorch_record, train_many

RECORDS = {name: pytorch_record(name) for name in ("pure", "pure_tensorflow_log", "autocast")}
EDGE_DISTANCE = 2
MAX_DISAGREEMENTS = 3
STEP_TOLERANCE = 2
ACCURACY_TOLERANCE = 0.005
FIRST_LOSS_ULPS = 2


def fails(outcome) -> bool:
    return outcome["first_nonfinite_step"] is not None


def label(run) -> str:
    settings = run["settings"]
    mode = "mixed" if settings.get("mixed_precision") else "pure"
    scale = " dynamic scale" if settings.get("dynamic_loss_scale") else ""
    return f"{settings['dtype']} {mode} {settings['loss']} {settings['reduction']}{scale}"


def runs(name):
    return list(enumerate(RECORDS[name]["runs"]))


def ids(name):
    return [label(run) for run in RECORDS[name]["runs"]]


@pytest.fixture(scope="module")
def course():
    """(record, run's index, batch size) → the course's TrainResult with the run's settings."""
    data = load_mnist("sample")
    configs = {}
    for name, record in RECORDS.items():
        assert data.fingerprint == record["data_sha256"], (
            "the sample changed: rerun tools/compare_pytorch.py"
        )
        for index, run in enumerate(record["runs"]):
            for size in run["outcomes"]:
                configs[name, index, size] = TrainConfig(batch_size=int(size), **run["settings"])
    unique = list(dict.fromkeys(configs.values()))  # "pure" and "pure_tensorflow_log" share runs
    results = dict(zip(unique, train_many(data, unique), strict=True))
    return {key: results[config] for key, config in configs.items()}


def edges(outcomes: dict) -> list[int]:
    """Batch sizes whose outcome in PyTorch differs from the next recorded size's."""
    sizes = sorted(int(b) for b in outcomes)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return [a for a, b in pairs if fails(outcomes[str(a)]) != fails(outcomes[str(b)])]


def test_the_pure_records_hold_failing_and_surviving_batch_sizes_of_both_dtypes():
    """Or the tests below could not fail. With TensorFlow's log gradient the float16 tutorial fails
    at every batch size of its band (even B = 1, late): its survivors are in ``pure``."""
    seen = {}
    for name in ("pure", "pure_tensorflow_log"):
        for run in RECORDS[name]["runs"]:
            outcomes = run["outcomes"].values()
            seen.setdefault(run["settings"]["dtype"], set()).update(fails(o) for o in outcomes)
    assert seen == {"float16": {True, False}, "bfloat16": {True, False}}


@pytest.mark.parametrize(("index", "run"), runs("pure_tensorflow_log"), ids=ids("pure_tensorflow_log"))
def test_pure_run_fails_or_survives_as_in_pytorch_except_near_its_failure_edges(course, index, run):
    outcomes = run["outcomes"]
    disagree = [
        int(size)
        for size, outcome in outcomes.items()
        if fails(outcome) != course["pure_tensorflow_log", index, size].went_nonfinite
    ]
    far = [b for b in disagree if all(abs(b - edge) > EDGE_DISTANCE for edge in edges(outcomes))]
    assert not far, f"disagreements away from PyTorch's failure edges {edges(outcomes)}: {far}"
    assert len(disagree) <= MAX_DISAGREEMENTS, disagree


@pytest.mark.parametrize(("index", "run"), runs("pure_tensorflow_log"), ids=ids("pure_tensorflow_log"))
def test_pure_run_that_fails_in_both_fails_near_pytorchs_step(course, index, run):
    far = []
    for size, outcome in run["outcomes"].items():
        result = course["pure_tensorflow_log", index, size]
        if fails(outcome) and result.went_nonfinite:
            if abs(result.first_nonfinite_step - outcome["first_nonfinite_step"]) > STEP_TOLERANCE:
                far.append((int(size), outcome["first_nonfinite_step"], result.first_nonfinite_step))
    assert not far, f"(batch size, PyTorch's first non-finite step, the course's): {far}"


def smallest_failing_at_step_1(outcomes: dict) -> int:
    """The smallest batch size whose run is non-finite by step 1 (the first step after the first
    update, from zero weights): it depends on one update only, not on a long chaotic run."""
    return min(int(b) for b, o in outcomes.items() if fails(o) and o["first_nonfinite_step"] <= 1)


def test_pytorchs_own_log_gradient_fails_float16_at_step_1_only_from_a_larger_batch_size(course):
    own, tensorflow_log = (
        next(run for run in RECORDS[name]["runs"] if run["settings"]["dtype"] == "float16")
        for name in ("pure", "pure_tensorflow_log")
    )
    index = RECORDS["pure_tensorflow_log"]["runs"].index(tensorflow_log)
    ours = {
        size: {"first_nonfinite_step": course["pure_tensorflow_log", index, size].first_nonfinite_step}
        for size in tensorflow_log["outcomes"]
    }
    assert smallest_failing_at_step_1(ours) == smallest_failing_at_step_1(tensorflow_log["outcomes"])
    assert smallest_failing_at_step_1(own["outcomes"]) > smallest_failing_at_step_1(ours)


@pytest.mark.parametrize(("index", "run"), runs("autocast"), ids=ids("autocast"))
def test_stable_mean_run_fails_or_survives_as_in_pytorch_and_reaches_its_accuracy(course, index, run):
    for size, outcome in run["outcomes"].items():
        result = course["autocast", index, size]
        assert result.went_nonfinite == fails(outcome), size
        if not fails(outcome):
            assert float(result.test_accuracy) == pytest.approx(
                outcome["test_accuracy"], abs=ACCURACY_TOLERANCE
            ), size


def test_dynamic_loss_scaling_skips_the_steps_gradscaler_skipped(course):
    scaled = [
        (index, size, outcome)
        for index, run in runs("autocast")
        if run["settings"].get("dynamic_loss_scale")
        for size, outcome in run["outcomes"].items()
    ]
    assert scaled, "the record should hold GradScaler runs"
    for index, size, outcome in scaled:
        assert course["autocast", index, size].skipped_steps == outcome["skipped_steps"], size


def ulp(dtype: str, value: float) -> float:
    """The spacing of ``dtype``'s numbers at ``value`` (bits of mantissa: float16 10, bfloat16 7)."""
    mantissa = {"float16": 10, "bfloat16": 7, "float32": 23}[dtype]
    return 2.0 ** (math.floor(math.log2(abs(value))) - mantissa)


def test_first_loss_is_pytorchs_to_the_last_place_of_the_dtype(course):
    far = []
    for name, record in RECORDS.items():
        for index, run in enumerate(record["runs"]):
            mixed = run["settings"].get("mixed_precision")
            dtype = "float32" if mixed else run["settings"]["dtype"]
            for size, outcome in run["outcomes"].items():
                expected = outcome["first_losses"][0]
                got = float(course[name, index, size].losses[0])
                if not abs(got - expected) <= FIRST_LOSS_ULPS * ulp(dtype, expected):
                    far.append((label(run), int(size), expected, got))
    assert not far, f"(run, batch size, PyTorch's first loss, the course's): {far}"

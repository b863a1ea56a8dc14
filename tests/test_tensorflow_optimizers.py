"""The course's optimizers fail or survive as TensorFlow 1.x's did, at the step TensorFlow failed.

``course_utils/bundled/tensorflow_optimizers_sample.json`` (``tensorflow_record("optimizers")``) was
written by ``tools/compare_tensorflow.py --optimizers all``: the optimizers of the 2015 answers
(``tf.compat.v1.train``, every hyperparameter at its TF1 default except the answers' choices, see
the record's ``tensorflow_call``) on the tutorial's naive summed loss, TensorFlow 2.21 in TF1 graph
mode, one thread, on the bundled sample in the order of ``batch_indices``, at the batch sizes of
lesson 07. TensorFlow is not needed to run this test.

Tolerances. TensorFlow (oneDNN/Eigen) and numpy (BLAS) add the 784-term dot products and the batch
sums of the gradient in different orders, and Adagrad's ``rsqrt`` and ``1 / sqrt`` can differ in
the last bit, so the weights are not bit-identical; a run that climbs slowly towards the float32
limit (RMSProp: hundreds of steps) could cross it a step earlier or later. Measured when the record
was made: the first non-finite step agreed exactly in all 21 runs and the test accuracy to the
last of its 1000 images, with the course's two summation orders of the time (``blas`` and a ``halves`` order since dropped). The
tolerances leave a margin for other CPUs: :data:`STEP_TOLERANCE` steps and :data:`ACCURACY_TOLERANCE`
(two test images), far below the differences between optimizers or batch sizes that the lesson
draws conclusions from. Whether a run fails at all must agree exactly.
"""

import pytest

from course_utils import OPTIMIZERS, load_mnist, sweep, tensorflow_record

RECORD = tensorflow_record("optimizers")
STEP_TOLERANCE = 2
ACCURACY_TOLERANCE = 0.002


@pytest.fixture(scope="module")
def runs():
    """(optimizer, batch size) → the course's row of a sweep with the record's settings."""
    data = load_mnist("sample")
    assert data.fingerprint == RECORD["data_sha256"], (
        "the sample changed: rerun tools/compare_tensorflow.py --optimizers all"
    )
    settings = RECORD["settings"]
    rows = {}
    for name, info in RECORD["optimizers"].items():
        table = sweep(
            data,
            batch_size=sorted(int(b) for b in RECORD["outcomes"][name]),
            optimizer=name,
            learning_rate=info["learning_rate"],
            steps=settings["steps"],
            seed=settings["seed"],
            loss=settings["loss"],
            reduction=settings["reduction"],
            dtype=settings["dtype"],
            progress_bar=False,
        )
        rows.update({(name, str(int(row["batch_size"]))): row for row in table})
    return rows


def recorded():
    return [
        (name, size, outcome)
        for name, table in RECORD["outcomes"].items()
        for size, outcome in table.items()
    ]


def test_the_record_covers_every_optimizer_of_the_course_at_lesson_07s_batch_sizes():
    assert set(RECORD["outcomes"]) == set(OPTIMIZERS)
    assert all({"100", "205", "1000"} <= set(table) for table in RECORD["outcomes"].values())
    failed = {outcome["first_nonfinite_step"] is None for _, _, outcome in recorded()}
    assert failed == {True, False}, "the record should hold both outcomes, or the test cannot fail"


@pytest.mark.parametrize(("optimizer", "batch_size", "outcome"), recorded())
def test_run_fails_as_in_tensorflow_near_the_same_step(runs, optimizer, batch_size, outcome):
    row = runs[optimizer, batch_size]
    expected = outcome["first_nonfinite_step"]
    got = None if row["first_nonfinite_step"] < 0 else int(row["first_nonfinite_step"])
    assert (got is None) == (expected is None), f"TensorFlow: {expected}, the course: {got}"
    if expected is not None:
        assert abs(got - expected) <= STEP_TOLERANCE, f"TensorFlow: {expected}, the course: {got}"


@pytest.mark.parametrize(
    ("optimizer", "batch_size", "outcome"),
    [run for run in recorded() if run[2]["first_nonfinite_step"] is None],
)
def test_surviving_run_reaches_tensorflows_test_accuracy(runs, optimizer, batch_size, outcome):
    got = float(runs[optimizer, batch_size]["test_accuracy"])
    assert got == pytest.approx(outcome["test_accuracy"], abs=ACCURACY_TOLERANCE)

"""The numpy core fails at exactly the batch sizes where TensorFlow itself fails (COURSE_SPEC §4).

``course_utils/bundled/tensorflow_outcomes_sample.json`` (``tensorflow_record("outcomes")``) was
written by ``tools/compare_tensorflow.py``, which ran the 2015 tutorial's graph in TensorFlow 2.21
(TF1 graph mode, one thread, its default oneDNN kernels) on the bundled sample in the order of
``batch_indices``. TensorFlow is not needed to run this test; rerun that tool to
refresh the file when the data or the batching rule changes.
"""

import pytest

from course_utils import load_mnist, sweep, tensorflow_record

RECORD = tensorflow_record("outcomes")


@pytest.fixture(scope="module")
def table():
    data = load_mnist("sample")
    assert data.fingerprint == RECORD["data_sha256"], (
        "the sample changed: rerun tools/compare_tensorflow.py"
    )
    settings = RECORD["settings"]
    sizes = sorted(int(b) for b in RECORD["outcomes"])
    return sweep(
        data,
        batch_size=sizes,
        learning_rate=settings["learning_rate"],
        steps=settings["steps"],
        seed=settings["seed"],
        loss=settings["loss"],
        reduction=settings["reduction"],
        dtype=settings["dtype"],
        progress_bar=False,
    )


def test_every_batch_size_fails_or_survives_as_in_tensorflow_at_the_same_step(table):
    mismatches = []
    for row in table:
        expected = RECORD["outcomes"][str(row["batch_size"])]["first_nonfinite_step"]
        got = None if row["first_nonfinite_step"] < 0 else int(row["first_nonfinite_step"])
        if got != expected:
            mismatches.append((int(row["batch_size"]), expected, got))
    assert not mismatches, f"(batch size, TensorFlow's first non-finite step, ours): {mismatches}"
    assert sum(row["went_nonfinite"] for row in table) > 0 and sum(~table["went_nonfinite"]) > 0


def test_surviving_runs_reach_tensorflows_test_accuracy(table):
    for row in table[~table["went_nonfinite"]]:
        expected = RECORD["outcomes"][str(row["batch_size"])]["test_accuracy"]
        assert round(float(row["test_accuracy"]), 4) == pytest.approx(expected, abs=0.0011), row[
            "batch_size"
        ]


def test_the_course_differs_from_eigens_tensorflow_only_where_the_onednn_exp_floor_matters(table):
    """With ``TF_ENABLE_ONEDNN_OPTS=0`` TensorFlow 2.21 runs Eigen's exp (flush to zero, no 2**-125
    floor); the course emulates oneDNN's floor, so it must disagree with that record exactly where
    the two TensorFlow builds disagree with each other (measured: one batch size of 251, B = 261;
    the course without the floor agreed with the Eigen record on all 251)."""
    eigen = tensorflow_record("outcomes_eigen")
    assert eigen["settings"]["onednn"] is False and eigen["data_sha256"] == RECORD["data_sha256"]
    builds_differ = {
        b
        for b, outcome in RECORD["outcomes"].items()
        if outcome["first_nonfinite_step"] != eigen["outcomes"][b]["first_nonfinite_step"]
    }
    course_differs = {
        str(row["batch_size"])
        for row in table
        if (None if row["first_nonfinite_step"] < 0 else int(row["first_nonfinite_step"]))
        != eigen["outcomes"][str(row["batch_size"])]["first_nonfinite_step"]
    }
    assert course_differs == builds_differ
    assert 0 < len(builds_differ) < 5, "the floor should matter, but only at a few sizes"

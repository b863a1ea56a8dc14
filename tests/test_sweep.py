"""The sweep API: one row per run, equal to a single ``train``, cached safely on disk."""

import numpy as np
import pytest

from course_utils import (
    failing_batch_sizes,
    load_mnist,
    phase_grid,
    smallest_failing_batch_size,
    sweep,
    train,
)


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_each_row_equals_a_single_run(data, tmp_path):
    table = sweep(
        data, batch_size=[100, 205, 1000], learning_rate=[0.01, 0.001], steps=40, cache=tmp_path
    )
    assert len(table) == 6
    for row in table:
        single = train(
            data, batch_size=int(row["batch_size"]), learning_rate=float(row["learning_rate"]), steps=40
        )
        assert row["diverged"] == single.diverged
        assert row["test_accuracy"] == single.test_accuracy
        assert row["first_nonfinite_step"] == (
            -1 if single.first_nonfinite_step is None else single.first_nonfinite_step
        )


def test_cached_rows_are_reused_and_a_corrupt_cache_file_is_ignored(data, tmp_path):
    first = sweep(data, batch_size=[50, 60], steps=10, cache=tmp_path)
    files = sorted(tmp_path.glob("*.npy"))
    assert len(files) == 2 and not list(tmp_path.glob("*.tmp"))
    files[0].write_bytes(b"half a file")
    again = sweep(data, batch_size=[50, 60], steps=10, cache=tmp_path)
    assert again.tobytes() == first.tobytes()


def test_scan_helpers_and_phase_grid(data):
    table = sweep(data, batch_size=[100, 2000], learning_rate=[0.01, 0.0001], steps=30, cache=False)
    assert failing_batch_sizes(table) == [2000]
    assert smallest_failing_batch_size(table) == 2000
    rows, columns, grid = phase_grid(table)
    assert rows.tolist() == [100, 2000] and columns.tolist() == [0.0001, 0.01]
    assert np.isnan(grid[1, 1]) and np.isfinite(grid[0]).all()


def test_sweep_reports_bad_values_before_running(data):
    with pytest.raises(ValueError, match="batch_size=5000"):
        sweep(data, batch_size=[100, 5000], cache=False)
    with pytest.raises(ValueError, match="loss='nope'"):
        sweep(data, loss=["naive", "nope"], cache=False)

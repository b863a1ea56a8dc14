"""The sweep API: one row per run, equal to a single ``train``, cached safely on disk."""

import importlib

import numpy as np
import pytest

from course_utils import (
    TrainConfig,
    failing_batch_sizes,
    load_mnist,
    phase_grid,
    run_configs,
    smallest_failing_batch_size,
    sweep,
    sweep_together,
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
        assert row["went_nonfinite"] == single.went_nonfinite
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
    with pytest.raises(ValueError, match="workers=0 is not valid"):
        sweep(data, steps=1, workers=0)  # refused even when every run is cached


def test_rows_of_a_mixed_sweep_equal_single_runs_bit_for_bit(data):
    table = sweep(
        data,
        batch_size=[60, 300],
        learning_rate=[0.01, 0.05],
        loss=["naive", "stable"],
        reduction=["sum", "mean"],
        optimizer=["gradient_descent", "adam"],
        steps=25,
        cache=False,
    )
    assert len(table) == 32 and table["went_nonfinite"].any() and not table["went_nonfinite"].all()
    for row in table:
        single = train(
            data,
            batch_size=int(row["batch_size"]),
            learning_rate=float(row["learning_rate"]),
            loss=str(row["loss"]),
            reduction=str(row["reduction"]),
            optimizer=str(row["optimizer"]),
            steps=25,
        )
        assert row["first_nonfinite_stage"] == (single.first_nonfinite_stage or "")
        assert row["test_accuracy"] == single.test_accuracy
        assert np.float64(single.losses[-1]).tobytes() == row["final_loss"].tobytes()


def test_a_progress_bar_shows_only_when_asked_or_for_many_runs(data, capsys):
    sweep(data, batch_size=[50, 60], steps=3, cache=False)
    assert "training runs" not in capsys.readouterr().err
    sweep(data, batch_size=[50, 60], steps=3, cache=False, progress_bar=True)
    assert "training runs" in capsys.readouterr().err
    sweep(data, batch_size=range(50, 58), steps=3, cache=False)  # 8 runs: the default shows one
    assert "training runs" in capsys.readouterr().err


def test_a_truncated_cache_file_is_recomputed_and_rewritten(data, tmp_path):
    first = sweep(data, batch_size=[70, 80], steps=10, cache=tmp_path)
    for path in tmp_path.glob("*.npy"):
        whole = path.read_bytes()
        path.write_bytes(whole[: len(whole) // 2])  # as if the writer had died half way
    again = sweep(data, batch_size=[70, 80], steps=10, cache=tmp_path)
    assert again.tobytes() == first.tobytes()
    assert all(np.load(path).tobytes() for path in tmp_path.glob("*.npy"))


def test_a_sweep_served_from_the_cache_trains_nothing(data, tmp_path, monkeypatch):
    sweep_module = importlib.import_module("course_utils.sweeps")

    first = sweep(data, batch_size=[70, 80], learning_rate=[0.01, 0.02], steps=10, cache=tmp_path)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(sweep_module, "iter_train_many", no_training)
    again = sweep(data, batch_size=[70, 80], learning_rate=[0.01, 0.02], steps=10, cache=tmp_path)
    assert again.tobytes() == first.tobytes()


def test_an_interrupted_sweep_keeps_the_runs_it_finished(data, tmp_path, monkeypatch):
    sweep_module = importlib.import_module("course_utils.sweeps")

    original = sweep_module.iter_train_many

    def interrupted(*args, **kwargs):
        yield next(original(*args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "iter_train_many", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(data, batch_size=[70, 80, 90], steps=10, cache=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1 and not list(tmp_path.glob("*.tmp"))


WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from course_utils import load_mnist, sweep

cache, go, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
data = load_mnist("sample")
while not go.exists():  # start together with the other writer
    time.sleep(0.01)
tables = [sweep(data, batch_size=range(20, 60, 2), steps=40, cache=cache, progress_bar=False)
          for _ in range(3)]
np.save(out, np.stack(tables))
"""

READER = """
import sys
from pathlib import Path
import numpy as np
from course_utils.sweeps import SWEEP_DTYPE

cache, done = Path(sys.argv[1]), Path(sys.argv[2])
while not done.exists():  # every file that can be opened holds a whole row
    for path in cache.glob("*.npy"):
        try:
            row = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            continue
        assert row.dtype == SWEEP_DTYPE and row.shape == (), path
"""


def test_two_processes_writing_the_same_runs_at_once_agree(data, tmp_path):
    import subprocess
    import sys

    cache, go, done = tmp_path / "cache", tmp_path / "go", tmp_path / "done"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache), str(go), str(tmp_path / f"out{k}.npy")]
        )
        for k in range(2)
    ]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(cache), str(done)])
    go.touch()
    try:
        assert [w.wait(timeout=300) for w in writers] == [0, 0]
    finally:
        done.touch()
    assert reader.wait(timeout=60) == 0, "a reader saw a half-written cache file"
    expected = sweep(data, batch_size=range(20, 60, 2), steps=40, cache=False)
    for k in range(2):
        for table in np.load(tmp_path / f"out{k}.npy"):
            assert table.tobytes() == expected.tobytes()
    files = sorted(cache.glob("*"))
    assert len(files) == len(expected) and all(f.suffix == ".npy" for f in files)
    reread = sweep(data, batch_size=range(20, 60, 2), steps=40, cache=cache)
    assert reread.tobytes() == expected.tobytes()


def test_run_configs_keeps_the_order_of_any_list_and_shares_the_cache_with_sweep(data, tmp_path):
    configs = [
        TrainConfig(batch_size=300, learning_rate=0.05, steps=15),
        TrainConfig(batch_size=60, loss="stable", steps=15),
        TrainConfig(batch_size=300, learning_rate=0.001, steps=15),
    ]
    table = run_configs(data, configs, cache=tmp_path)
    assert table["batch_size"].tolist() == [300, 60, 300]
    assert table["loss"].tolist() == ["naive", "stable", "naive"]
    for row, config in zip(table, configs, strict=True):
        single = train(
            data, **{f: getattr(config, f) for f in ("batch_size", "learning_rate", "loss", "steps")}
        )
        assert (
            row["test_accuracy"] == single.test_accuracy
            and row["went_nonfinite"] == single.went_nonfinite
        )
    # sweep reads the rows that run_configs cached: same bytes, no new cache files
    by_sweep = sweep(
        data, batch_size=300, learning_rate=[0.05, 0.001], steps=15, cache=tmp_path, workers=1
    )
    assert by_sweep.tobytes() == table[[0, 2]].tobytes()
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_sweeps_trained_together_give_each_sweeps_own_table(data, tmp_path):
    named = {
        "sum": dict(batch_size=[150, 300], learning_rate=[0.01, 0.5], steps=15),
        "mean, float64": dict(batch_size=300, reduction="mean", dtype="float64", steps=15),
    }
    together = sweep_together(data, named, cache=tmp_path / "together", workers=2)
    assert list(together) == list(named)
    for name, settings in named.items():
        alone = sweep(data, **settings, cache=False, workers=1)
        assert together[name].tobytes() == alone.tobytes(), name


def test_sweep_together_names_a_setting_it_does_not_know(data):
    with pytest.raises(TypeError, match="'batch', which is not a setting; the settings are batch_size"):
        sweep_together(data, {"a": dict(batch=100)})
    with pytest.raises(TypeError, match="must be a dict"):
        sweep_together(data, {"a": [100]})

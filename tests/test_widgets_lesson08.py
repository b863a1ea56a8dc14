"""Lesson 08's explorer: picking a fix shows its phase diagram; runs are shared with sweep's cache."""

import numpy as np
import pytest

from course_utils import fix_explorer, fix_grid, load_mnist, sweep


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


FIXES = {
    "tutorial": {},
    "scaled lr": {"learning_rate": lambda b: 1 / b},
    "adam": {"optimizer": "adam", "learning_rate": 0.001},
}


def test_fix_grid_is_one_sweep_table_per_fix_with_a_learning_rate_per_batch_size(
    data, tmp_path, monkeypatch
):
    monkeypatch.setenv("BATCH205_CACHE", str(tmp_path))
    grids = fix_grid(data, FIXES, [50, 200], factors=(1.0, 10.0))
    assert set(grids) == set(FIXES)
    scaled = grids["scaled lr"]
    assert scaled.shape == (2, 2)
    assert scaled["learning_rate"].tolist() == [[1 / 50, 10 / 50], [1 / 200, 10 / 200]]
    assert (grids["tutorial"]["batch_size"][:, 0] == [50, 200]).all()
    # The same run measured by sweep comes from the cache fix_grid filled: identical rows.
    files = len(list(tmp_path.glob("*.npy")))
    again = sweep(data, batch_size=200, optimizer="adam", learning_rate=0.001)
    assert len(list(tmp_path.glob("*.npy"))) == files
    assert again.tobytes() == grids["adam"][1, 0].tobytes()
    assert grids["tutorial"]["went_nonfinite"][1, 1] and not grids["adam"]["went_nonfinite"].any()


def test_picking_a_fix_changes_summary_and_figure(data, tmp_path, monkeypatch):
    monkeypatch.setenv("BATCH205_CACHE", str(tmp_path))
    explorer = fix_explorer(data, FIXES, batch_sizes=[50, 200], factors=(0.1, 1.0), fix="tutorial")
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert "tutorial" in first_summary and "B=200: NaN at step" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["fix"].value = "scaled lr"
    assert "scaled lr" in explorer.summary.value and "NaN" not in explorer.summary.value
    assert explorer.image.value != first_png

    explorer.controls["fix"].value = "tutorial"
    assert explorer.view.cache_info().hits == 1  # back to the first fix: its picture, kept
    assert explorer.cached_grid.cache_info().misses == 2  # and no new grid
    assert explorer.summary.value == first_summary
    assert np.array_equal(explorer.cached_grid("tutorial")["batch_size"][:, 0], [50, 200])


def test_grid_and_explorer_of_the_same_steps_share_their_runs(data, tmp_path, monkeypatch):
    monkeypatch.setenv("BATCH205_CACHE", str(tmp_path))
    grids = fix_grid(data, FIXES, [50], steps=40)
    assert (grids["adam"]["steps"] == 40).all()
    files = len(list(tmp_path.glob("*.npy")))
    explorer = fix_explorer(data, FIXES, batch_sizes=[50], factors=(1.0,), steps=40, fix="adam")
    assert len(list(tmp_path.glob("*.npy"))) == files  # the explorer trained nothing new
    assert explorer.cached_grid("adam").tobytes() == grids["adam"].tobytes()

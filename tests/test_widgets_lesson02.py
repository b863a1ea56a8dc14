"""Lesson 02's explorer: batch size, learning rate, loss, reduction and dtype redraw the loss curve."""

import json
import time
from pathlib import Path

import ipywidgets as widgets
import pytest

from course_utils import failure_explorer, load_mnist, train

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "02-the-failure" / "02-the-failure.ipynb"


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_controls_are_the_five_settings_and_the_batch_size_is_an_int_slider(data):
    explorer = failure_explorer(data, batch_size=1000)
    assert list(explorer.controls) == ["batch_size", "learning_rate", "loss", "reduction", "dtype"]
    slider = explorer.controls["batch_size"]
    assert isinstance(slider, widgets.IntSlider) and "batch" in slider.description
    for control in explorer.controls.values():
        assert getattr(control, "continuous_update", False) is False


def test_batch_size_changes_summary_and_figure_and_returns_from_the_cache(data):
    explorer = failure_explorer(data, batch_size=1000)
    expected = train(data, batch_size=1000)
    assert expected.went_nonfinite  # the tutorial's settings at B = 1000 go NaN within a few steps
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert f"at step <b>{expected.first_nonfinite_step}</b>" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["batch_size"].value = 50
    assert "all values finite" in explorer.summary.value
    assert f"{train(data, batch_size=50).test_accuracy:.3f}" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_train.cache_info().misses
    start = time.perf_counter()
    explorer.controls["batch_size"].value = 1000
    assert time.perf_counter() - start < 2.0
    assert explorer.cached_train.cache_info().misses == misses  # served from the cache
    assert explorer.summary.value == first_summary
    assert explorer.updates == 3


@pytest.mark.parametrize(
    "control, value", [("reduction", "mean"), ("loss", "stable"), ("dtype", "float64")]
)
def test_each_fix_control_reruns_with_that_setting(data, control, value):
    explorer = failure_explorer(data, batch_size=1000)
    before = explorer.summary.value
    explorer.controls[control].value = value
    assert value in explorer.summary.value and explorer.summary.value != before
    assert explorer.cached_train.cache_info().currsize == 2


def test_the_failure_explorer_is_the_first_explorer_lesson_02_displays():
    # The browser test moves the first slider of the first explorer in lesson 02.
    cells = json.loads(LESSON.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    first = next(s for s in sources if "_explorer(" in s)
    assert "failure_explorer(" in first

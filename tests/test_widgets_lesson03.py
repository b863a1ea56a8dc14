"""Lesson 03's explorer: batch size, learning rate and dtype redraw the logit gap and gradient norm."""

import time

import ipywidgets as widgets
import pytest

from course_utils import float_limits, gradient_scaling_explorer, load_mnist, trace_steps


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_controls_are_batch_size_learning_rate_and_dtype(data):
    explorer = gradient_scaling_explorer(data)
    assert list(explorer.controls) == ["batch_size", "learning_rate", "dtype"]
    assert isinstance(explorer.controls["batch_size"], widgets.IntSlider)
    assert explorer.controls["batch_size"].max == len(data.train_labels)
    for name in ("batch_size", "learning_rate"):
        assert explorer.controls[name].continuous_update is False


def test_batch_size_changes_summary_and_figure_and_returns_from_the_cache(data):
    explorer = gradient_scaling_explorer(data, batch_size=205, learning_rate=0.01)
    expected = trace_steps(data, batch_size=205, learning_rate=0.01, steps=40)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert f"at step <b>{expected.first_nonfinite_step}</b>" in first_summary
    assert "lr·B = <b>2.05</b>" in first_summary
    assert f"{float_limits('float32').softmax_zero_gap:.2f}" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["batch_size"].value = 100
    assert "all values finite for 40 steps" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_trace.cache_info().misses
    start = time.perf_counter()
    explorer.controls["batch_size"].value = 205
    assert time.perf_counter() - start < 5.0  # generous: the machine may be loaded
    assert explorer.cached_trace.cache_info().misses == misses  # served from the cache
    assert explorer.summary.value == first_summary and explorer.updates == 3


def test_a_smaller_learning_rate_and_float64_both_keep_b_205_finite(data):
    explorer = gradient_scaling_explorer(data, batch_size=205, learning_rate=0.01)
    explorer.controls["learning_rate"].value = 0.005
    assert (
        "lr·B = <b>1.02</b>" in explorer.summary.value or "lr·B = <b>1.03</b>" in explorer.summary.value
    )
    assert "all values finite" in explorer.summary.value
    explorer.controls["learning_rate"].value = 0.01
    explorer.controls["dtype"].value = "float64"
    assert "float64" in explorer.summary.value and "all values finite" in explorer.summary.value
    assert f"{float_limits('float64').softmax_zero_gap:.2f}" in explorer.summary.value

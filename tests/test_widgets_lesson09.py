"""Lesson 09's explorer: batch size, dtype and pure or mixed precision redraw the naive tutorial."""

import ipywidgets as widgets
import pytest

from course_utils import DTYPES, float_limits, load_mnist, precision_explorer, trace_steps


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_controls_are_batch_size_dtype_and_precision(data):
    explorer = precision_explorer(data)
    assert list(explorer.controls) == ["batch_size", "dtype", "mode"]
    assert isinstance(explorer.controls["dtype"], widgets.Dropdown)
    assert tuple(explorer.controls["dtype"].options) == DTYPES
    assert explorer.controls["batch_size"].continuous_update is False


def test_mixed_precision_moves_float16_to_float32s_line_and_back_from_the_cache(data):
    explorer = precision_explorer(data, batch_size=40, dtype="float16", mode="pure")
    pure = trace_steps(data, batch_size=40, dtype="float16", steps=40)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert f"at step <b>{pure.first_nonfinite_step}</b>" in first_summary
    assert f"{float_limits('float16').softmax_zero_gap:.2f}" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["mode"].value = "mixed"
    assert "mixed precision: softmax in float32" in explorer.summary.value
    assert f"{float_limits('float32').softmax_zero_gap:.2f}" in explorer.summary.value
    assert "all values finite for 40 steps" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_trace.cache_info().misses
    explorer.controls["mode"].value = "pure"
    assert explorer.cached_trace.cache_info().misses == misses
    assert explorer.summary.value == first_summary


def test_float32_has_no_mixed_mode_and_says_so(data):
    explorer = precision_explorer(data, batch_size=100, dtype="float32", mode="mixed")
    assert "no mixed mode" in explorer.summary.value
    assert "all values finite" in explorer.summary.value


def test_the_lessons_first_view_shows_the_gap_climbing_to_float16s_line(data):
    # The lesson opens the explorer on float16 pure at B = 20: many steps before the NaN, not two.
    explorer = precision_explorer(data, batch_size=20, dtype="float16", mode="pure")
    trace = explorer.cached_trace(20, "float16", False)
    assert trace.first_nonfinite_step >= 20
    assert f"at step <b>{trace.first_nonfinite_step}</b>" in explorer.summary.value


def test_step_axes_tick_whole_steps_even_for_a_two_step_run(data):
    from course_utils.plots import plot_step_trace

    trace = trace_steps(data, batch_size=205, dtype="float16", steps=40)
    assert trace.first_nonfinite_step == 1  # the old first view: two points
    figure = plot_step_trace(trace, float_limits("float16"))
    figure.canvas.draw()
    for ax in figure.axes[:2]:
        assert all(float(tick).is_integer() for tick in ax.get_xticks())

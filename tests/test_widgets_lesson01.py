"""Lesson 01's explorer: steps, batch size and learning rate redraw the weight maps; runs are cached."""

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from course_utils import load_mnist, tutorial_explorer
from course_utils.widgets import Explorer


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_controls_do_not_update_while_dragging(data):
    explorer = tutorial_explorer(data, steps=10)
    assert set(explorer.controls) == {"steps", "batch_size", "learning_rate"}
    assert all(control.continuous_update is False for control in explorer.controls.values())
    assert isinstance(explorer.controls["batch_size"], widgets.IntSlider)


def test_steps_control_changes_summary_and_figure_and_returns_from_the_cache(data):
    explorer = tutorial_explorer(data, steps=10)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert "10 steps" in first_summary and "test accuracy" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["steps"].value = 100
    assert "100 steps" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_train.cache_info().misses
    explorer.controls["steps"].value = 10  # (how fast: benchmarks/run.py, widget_cached_update)
    assert explorer.cached_train.cache_info().misses == misses  # served from the cache
    assert explorer.summary.value == first_summary
    assert explorer.image.value == first_png  # same run, same bytes
    assert explorer.updates == 3


def test_a_setting_that_goes_nan_says_so(data):
    explorer = tutorial_explorer(data, steps=30)
    explorer.controls["learning_rate"].value = 0.03
    explorer.controls["batch_size"].value = 200
    assert "went NaN" in explorer.summary.value


def test_a_setting_shown_before_is_shown_again_without_drawing():
    drawn = []

    def render(value):
        drawn.append(value)
        figure = Figure(figsize=(1, 1))
        figure.add_subplot().plot([0, value])
        return figure, f"value {value}"

    slider = widgets.IntSlider(value=1, min=1, max=3)
    explorer = Explorer({"value": slider}, render)
    first = explorer.image.value
    slider.value = 2
    slider.value = 1
    assert drawn == [1, 2] and explorer.updates == 3
    assert explorer.image.value == first and explorer.summary.value == "value 1"


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # (IHDR)


def test_a_picture_is_drawn_once_whole_and_the_same_bytes_each_time(monkeypatch):
    from course_utils.plots import new_figure
    from course_utils.widgets import PNG_DPI, figure_png

    def figure():
        fig, ax = new_figure(6.4, 3.6)
        ax.plot([0, 1, 2], [3, 1, 2], label="a line")
        ax.set(title="a title", xlabel="step", ylabel="loss")
        ax.legend()
        return fig

    draws = []
    original = Figure.draw
    monkeypatch.setattr(
        Figure, "draw", lambda self, renderer: draws.append(1) or original(self, renderer)
    )
    png = figure_png(figure())
    assert len(draws) == 1  # savefig(bbox_inches="tight") draws twice
    assert _png_size(png) == (round(6.4 * PNG_DPI), round(3.6 * PNG_DPI))
    assert figure_png(figure()) == png and b"Software" not in png


def test_a_picture_with_a_label_past_its_edge_is_cropped_around_everything():
    from course_utils.plots import new_figure
    from course_utils.widgets import PNG_DPI, figure_png

    fig, ax = new_figure(6.4, 2.0)
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("a label far longer than the axes are high, so that it runs past the figure")
    width, height = _png_size(figure_png(fig))
    assert height > 2.0 * PNG_DPI  # savefig's tight crop takes in the whole label

"""Legends never hide what a lesson tells the learner to look at: the NaN crosses, or any data."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

from course_utils import (
    float_limits,
    load_mnist,
    plot_accuracy_and_loss_by_variant,
    plot_accuracy_by_variant,
    plot_accuracy_vs_batch_size,
    plot_batch_size_learning_rate,
    plot_logit_gap_traces,
    plot_logit_gaps,
    plot_optimizer_run,
    sweep,
    trace_steps,
)
from course_utils.plots import NAN_MARKER, new_figure


def nan_markers(figure) -> list[tuple[float, float]]:
    """Display coordinates of every plotted NaN cross of the figure."""
    points = []
    for ax in figure.axes:
        for line in ax.get_lines():
            if line.get_marker() == NAN_MARKER["marker"] and line.get_color() == NAN_MARKER["color"]:
                xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
                points += [tuple(p) for p in line.get_transform().transform(xy) if np.isfinite(p).all()]
    return points


def legend_problems(figure) -> list[str]:
    """NaN crosses under a legend's box, and legends that overlap the plotting area of any axes."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None] + figure.legends
    problems = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        hidden = [p for p in nan_markers(figure) if box.contains(*p)]
        if hidden:
            problems.append(f"legend {legend.texts[0].get_text()!r} hides NaN markers at {hidden}")
        for ax in figure.axes:
            if box.overlaps(ax.get_window_extent(renderer)):
                problems.append(
                    f"legend {legend.texts[0].get_text()!r} overlaps axes {ax.get_title()!r}"
                )
    return problems


def test_the_check_finds_a_legend_placed_on_a_nan_cross():
    figure, ax = new_figure()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.plot([0.02], [0.98], **NAN_MARKER, label="went NaN")  # the upper left corner
    ax.legend(loc="upper left")
    problems = legend_problems(figure)
    assert any("hides NaN markers" in p for p in problems) and any("overlaps" in p for p in problems)


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


@pytest.fixture(scope="module")
def table(data):
    # Both outcomes, with the NaN runs in the batch-size range the legend used to cover.
    return sweep(data, batch_size=[100, 150, 173, 174, 175, 185, 200, 205, 300], steps=30, cache=False)


def test_lesson_02_accuracy_by_batch_size(table):
    figure = plot_accuracy_vs_batch_size(table, title="title")
    assert nan_markers(figure) and legend_problems(figure) == []


def test_lesson_05_accuracy_by_variant(table):
    sizes = table["batch_size"]
    accuracy = table["test_accuracy"]
    figure = plot_accuracy_by_variant(
        sizes,
        {"stable, sum": accuracy, "epsilon, sum": accuracy, "naive, sum": accuracy},
        went_nonfinite={"naive, sum": table["went_nonfinite"]},
    )
    assert nan_markers(figure) and legend_problems(figure) == []


def test_lesson_06_accuracy_and_loss_by_variant(table):
    sizes = table["batch_size"]
    loss = np.linspace(0.2, 2.0, len(sizes))
    figure = plot_accuracy_and_loss_by_variant(
        sizes,
        {"stable, sum": table["test_accuracy"], "naive, sum": table["test_accuracy"]},
        {"stable, sum": loss},
        went_nonfinite={"naive, sum": table["went_nonfinite"]},
    )
    assert nan_markers(figure) and legend_problems(figure) == []


def test_lesson_07_logit_gaps_of_runs_that_fail_in_the_first_steps(data):
    traces = {
        name: trace_steps(data, batch_size=205, steps=12, optimizer=name, learning_rate=0.01)
        for name in ("gradient_descent", "momentum", "adagrad")
    }
    figure = plot_logit_gaps(traces, 86.64)
    assert nan_markers(figure) and legend_problems(figure) == []


def test_every_legend_sits_outside_the_axes():
    figure, ax = new_figure()
    ax.plot([0, 1], [0, 1], label="x" * 40)
    from course_utils.plots import add_legend

    add_legend(ax)
    assert legend_problems(figure) == []
    assert isinstance(ax.get_lines()[0], Line2D)


def test_a_run_without_nan_gets_no_nan_entry_in_its_legend(data):
    finite = trace_steps(data, batch_size=100, steps=12, loss="stable")
    figure = plot_optimizer_run(finite, 86.64)
    labels = [t.get_text() for legend in figure.legends for t in legend.texts]
    assert labels and not any("non-finite" in label for label in labels)
    failing = trace_steps(data, batch_size=205, steps=12)
    labels = [t.get_text() for t in plot_optimizer_run(failing, 86.64).legends[0].texts]
    assert any("non-finite" in label for label in labels)


def test_lesson_03_gap_traces_and_phase_diagram(data, table):
    traces = [trace_steps(data, batch_size=b, steps=8) for b in (100, 205, 1000)]
    figure = plot_logit_gap_traces(traces, float_limits())
    assert nan_markers(figure) and legend_problems(figure) == []
    figure = plot_batch_size_learning_rate(table, products=(1.7,))
    assert nan_markers(figure) and legend_problems(figure) == []


def test_lesson_07_an_identical_run_is_drawn_visibly_and_named_as_the_same(data):
    # Ftrl without regularisation is Adagrad: the second curve would hide the first.
    traces = {
        name: trace_steps(data, batch_size=205, steps=12, optimizer=name, learning_rate=0.01)
        for name in ("adagrad", "ftrl")
    }
    ax = plot_logit_gaps(traces, 86.64).axes[0]
    named = {line.get_label(): line for line in ax.get_lines()}
    adagrad, ftrl = named["adagrad"], named["ftrl (the same as adagrad)"]
    assert adagrad.get_linestyle() != "None" and ftrl.get_linestyle() == "None"
    assert ftrl.get_marker() == "o"


def test_lesson_08_outcome_colours_separate_half_trained_from_trained_runs():
    from course_utils.plots import ACCURACY_COLORMAP, ACCURACY_SCALE, plot_outcome_matrix
    from course_utils.sweeps import SWEEP_DTYPE

    table = np.zeros(2, dtype=SWEEP_DTYPE)
    table["batch_size"], table["test_accuracy"] = (100, 205), (0.78, 0.91)
    figure = plot_outcome_matrix({"fix": table})
    image = figure.axes[0].get_images()[0]
    low, high = image.get_clim()
    assert (low, high) == ACCURACY_SCALE
    colours = ACCURACY_COLORMAP(image.norm(np.array([0.78, 0.91])))
    assert np.abs(colours[0, :3] - colours[1, :3]).sum() > 0.5  # clearly two colours

"""Every figure of the course has readable ticks, whatever lesson draws it: whole numbers on an
axis of whole numbers (no "step 0.5"), plain numbers on log axes (no "6×10⁰"), and on a log axis of
several decades minor ticks at 2 and 5 times each power of ten only (each tick costs drawing time)."""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.ticker import FixedLocator

from course_utils import float_limits, load_mnist, trace_steps
from course_utils.plots import Figure, new_figure, plot_step_trace


def labels(axis, minor=False) -> list[str]:
    """The tick labels of ``axis`` inside its view, as drawn."""
    FigureCanvasAgg(axis.figure).draw()
    low, high = sorted(axis.get_view_interval())
    ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
    return [t.label1.get_text() for t in ticks if low <= t.get_loc() <= high and t.label1.get_text()]


def test_an_axis_of_whole_numbers_has_whole_number_ticks():
    figure, ax = new_figure()
    ax.plot([0, 1], [0.25, 0.6], "o-")
    assert labels(ax.xaxis) == ["0", "1"]  # matplotlib: 0.0, 0.2, ..., 1.0
    assert "." in "".join(labels(ax.yaxis))  # fractional values keep fractional ticks


def test_log_axes_label_plain_numbers():
    figure, ax = new_figure()
    ax.plot([0, 1, 2], [3.0, 5.0, 9.0])
    ax.set_yscale("log")  # less than one decade: matplotlib labels minor ticks "3×10⁰", ...
    minor = labels(ax.yaxis, minor=True)
    assert minor and all(text.isdigit() for text in minor), minor
    figure, ax = new_figure()
    ax.plot([0, 1], [1e-12, 1e6])
    ax.set_yscale("log")  # powers of ten far from 1 stay powers of ten
    shown = labels(ax.yaxis)
    assert "1000" in shown and "0.001" in shown and r"$\mathdefault{10^{-9}}$" in shown, shown
    assert not any("times" in text for text in shown)


def minor_ticks_in_view(axis) -> list[float]:
    FigureCanvasAgg(axis.figure).draw()
    low, high = sorted(axis.get_view_interval())
    return [float(t) for t in axis.get_minorticklocs() if low <= t <= high]


def test_a_log_axis_of_several_decades_has_minor_ticks_at_2_and_5_only():
    figure, ax = new_figure()
    ax.plot([0, 1], [5.0, 1000.0])
    ax.set_yscale("log")
    minor = minor_ticks_in_view(ax.yaxis)
    assert {20.0, 50.0, 200.0, 500.0} <= set(minor), minor
    mantissas = {round(t / 10 ** np.floor(np.log10(t)), 6) for t in minor}
    assert mantissas == {2.0, 5.0}, minor  # matplotlib: 2, 3, ..., 9
    figure, ax = new_figure()
    ax.plot([0, 1], [3.0, 9.0])
    ax.set_yscale("log")  # less than a decade: every minor tick, labelled (the test above)
    assert {4.0, 6.0, 7.0, 8.0} <= set(minor_ticks_in_view(ax.yaxis))


def test_ticks_a_plot_chose_itself_are_left_alone():
    figure = Figure()
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.xaxis.set_major_locator(FixedLocator([0, 0.5, 1]))
    assert labels(ax.xaxis) == ["0.0", "0.5", "1.0"]


def test_lesson_09s_default_explorer_view_has_whole_steps():
    """Two steps of float16 at B = 205: matplotlib's own ticks would be 0.0, 0.2, ..., 1.0."""
    trace = trace_steps(load_mnist("sample"), batch_size=205, dtype="float16", steps=40)
    figure = plot_step_trace(trace, float_limits("float16"))
    for ax in figure.axes:
        assert all("." not in text for text in labels(ax.xaxis)), labels(ax.xaxis)
        assert not any("times" in text for text in labels(ax.yaxis) + labels(ax.yaxis, minor=True))

"""Figures of the course, as pure functions of results: no widgets, no global state.

Each function builds a new ``matplotlib.figure.Figure`` (not through pyplot, so nothing is shown or
kept alive behind the learner's back) and returns it; a notebook shows it by leaving it as the last
expression of a cell, and an explorer renders it to PNG. Conventions: labelled axes with units, a
title that states the finding, the colour-blind-safe Okabe–Ito palette, log scales where values
span decades, and runs that went NaN drawn as explicit red crosses, never silently dropped.

Introduced in lesson 01.
"""

from __future__ import annotations

import textwrap

import matplotlib.figure
import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import (
    AutoLocator,
    LogFormatterSciNotation,
    LogLocator,
    MaxNLocator,
    NullLocator,
)

from .sweeps import SWEEP_DTYPE, require_table
from .validate import (
    require_array,
    require_bool,
    require_choice,
    require_items,
    require_kind,
    require_mapping,
    require_positive_int,
    require_positive_real,
    require_real,
    require_text,
    shown,
)

# --- shared: checks of the arguments, palette, legends, figures, outcome cells ---


class _PlainLogFormatter(LogFormatterSciNotation):
    """Log-axis labels as plain numbers between 0.001 and 10⁵ ("6", "200", "0.05"), where
    matplotlib writes "6×10⁰"; it labels the same ticks as matplotlib, powers of ten elsewhere."""

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        if not label or not 1e-3 <= abs(x) < 1e5:
            return label
        return f"{x:.10g}".replace("-", "−")


def _whole_numbers_only(axis) -> bool:
    """Whether every line and marker the axes draw has whole-number coordinates on ``axis``
    (training steps, batch sizes), so that a tick between two of them (step 0.5) means nothing."""
    ax = axis.axes
    x = axis is ax.xaxis
    values = [line.get_xdata() if x else line.get_ydata() for line in ax.lines]
    values += [
        c.get_offsets()[:, 0 if x else 1] for c in ax.collections if isinstance(c, PathCollection)
    ]
    values = [np.asarray(v, dtype=float).ravel() for v in values]
    values = np.concatenate(values) if values else np.array([0.5])
    values = values[np.isfinite(values)]
    return values.size > 0 and bool(np.all(values == np.round(values)))


# On a log axis spanning more than this many decades, unlabelled minor ticks at 2 and 5 times each
# power of ten only: matplotlib's eight per decade cost a figure about a third of its drawing time
# (each tick is several artists), and with labels on the powers of ten 2 and 5 are what a reader uses.
SPARSE_MINOR_DECADES = 1.0


def _decades(axis) -> float:
    low, high = sorted(abs(v) for v in axis.get_view_interval())
    return float(np.log10(high / low)) if low > 0 else np.inf


def _readable_ticks(figure) -> None:
    """What every figure of the course gets at drawing time (:class:`Figure`): whole-number ticks on
    an axis of whole numbers (no "step 0.5"), plain numbers on log axes (no "6×10⁰"), and on a log
    axis of several decades minor ticks at 2 and 5 only. Axes whose ticks a plot function chose
    itself are left alone."""
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if (
                axis.get_scale() == "log"
                and type(axis.get_minor_locator()) is LogLocator
                and _decades(axis) > SPARSE_MINOR_DECADES
            ):
                axis.set_minor_locator(LogLocator(axis.get_transform().base, subs=(2.0, 5.0)))
            if axis.get_scale() in ("log", "symlog"):
                for minor in (False, True):
                    formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
                    if type(formatter) is LogFormatterSciNotation:
                        plain = _PlainLogFormatter(
                            formatter._base,
                            labelOnlyBase=formatter.labelOnlyBase,
                            minor_thresholds=formatter.minor_thresholds,
                        )
                        if minor:
                            axis.set_minor_formatter(plain)
                        else:
                            axis.set_major_formatter(plain)
            elif type(axis.get_major_locator()) is AutoLocator and _whole_numbers_only(axis):
                axis.set_major_locator(MaxNLocator("auto", steps=[1, 2, 2.5, 5, 10], integer=True))


class Figure(matplotlib.figure.Figure):
    """matplotlib's Figure that makes its ticks readable (:func:`_readable_ticks`) each time it is
    drawn, when its axes hold their final data and limits; every figure of the course is one."""

    def draw(self, renderer):
        _readable_ticks(self)
        return super().draw(renderer)


def _texts(**texts) -> None:
    """Titles and labels: a string, or None for the figure's own."""
    for name, value in texts.items():
        require_text(name, value, optional=True)


def _axes(ax) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax={shown(ax)} is not valid; it must be None or a matplotlib Axes")


def _results(results) -> None:
    require_items("results", results, lambda name, r: require_kind(name, r, "TrainResult"))


def _numbers(name: str, values, count: int | None = None, *, dtypes=None) -> np.ndarray:
    """``values`` (a list or array of numbers, NaN allowed: a run that went NaN), ``count`` of them."""
    require_items(name, values, lambda _, value: value)  # a list of values, not a string or dict
    array = require_array(name, np.asarray(values), ndim=1, dtypes=dtypes)
    if count is not None and len(array) != count:
        raise ValueError(f"{name} has {len(array)} values; it must have {count}, one per batch size")
    return array


def _variants(batch_sizes, accuracies, went_nonfinite) -> int:
    """The arguments of :func:`plot_accuracy_by_variant`; returns the number of batch sizes."""
    count = len(require_items("batch_sizes", batch_sizes, require_positive_int))
    require_mapping("accuracies", accuracies, lambda name, values: _numbers(name, values, count))
    if went_nonfinite is not None:
        require_mapping(
            "went_nonfinite",
            went_nonfinite,
            lambda name, values: _numbers(name, values, count, dtypes=("bool",)),
        )
    return count


def _grid(name: str, grid) -> np.ndarray:
    if require_table(name, grid).ndim != 2:
        raise ValueError(f"{name} is not valid; it must be a 2-D sweep table (from fix_grid)")
    return grid


def _line_style(line: dict) -> None:
    """Line options (``color=``, ``ls=``, ...): matplotlib's own names, checked before drawing."""
    try:
        Line2D([], [], **line)
    except (AttributeError, TypeError) as error:
        raise TypeError(f"not a line option of matplotlib: {error}") from None


# Okabe–Ito colour-blind-safe palette.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
NAN_MARKER = {"marker": "x", "color": "#D55E00", "linestyle": "none", "markersize": 7}
# Colours of runs drawn beside NaN crosses: the palette without the crosses' vermillion.
LINE_COLORS = tuple(c for c in COLORS if c != NAN_MARKER["color"])
# ... and without the two colours a reader can take for the crosses' (orange) or lose on white (yellow).
VARIANT_COLORS = tuple(c for c in LINE_COLORS if c not in ("#E69F00", "#F0E442"))
# Test accuracy from 0 to 1 in a colour-blind-safe map; runs that went NaN are grey cells.
ACCURACY_COLORMAP = colormaps["cividis"].with_extremes(bad="#DDDDDD")
ACCURACY_SCALE = (0.7, 1.0)  # test accuracies the outcome heatmaps colour (below: the darkest)


def add_legend(ax, **options):
    """The axes' legend, outside the plotting area on its right, so that it never hides data.

    Lessons point at NaN crosses and limit lines wherever they fall; a legend inside the axes (even
    matplotlib's ``loc="best"``) can land on them. Constrained layout makes room for it.
    """
    options.setdefault("fontsize", "small")
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **options)


def add_figure_legend(figure, *, ncols: int = 3, **options):
    """One legend for all panels of ``figure``, below them (panels side by side keep their width).

    Introduced in lesson 04 (its two-panel figure is composed in the notebook).
    """
    if not isinstance(figure, matplotlib.figure.Figure):
        raise TypeError(f"figure={figure!r} is not valid; it must be a matplotlib Figure")
    require_positive_int("ncols", ncols)
    handles, labels = [], []
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    options.setdefault("fontsize", "small")
    return figure.legend(handles, labels, loc="outside lower center", ncols=ncols, **options)


def new_figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, object]:
    """A fresh figure with one axes, outside pyplot's global state."""
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _loss_per_example(result) -> np.ndarray:
    """A run's losses per example in float64: a summed loss divided by B, so both reductions share
    one axis."""
    c = result.config
    return result.losses.astype(np.float64) / (c.batch_size if c.reduction == "sum" else 1)


def _outcome_cells(ax, accuracy: np.ndarray, labels, *, size: int):
    """A heatmap of test accuracies (NaN: a run that went non-finite, a grey cell), each cell labelled.

    The colours span accuracies 0.7 to 1 (``ACCURACY_SCALE``), so that runs which train (about 0.9)
    and runs which train less well (about 0.8) look different; lower accuracies get the darkest
    colour (the colour bar's pointed end), and every cell is labelled with its value. NaN cells' labels are bold in the NaN colour; dark cells get white text.
    """
    low, high = ACCURACY_SCALE
    image = ax.imshow(
        np.ma.masked_invalid(accuracy), cmap=ACCURACY_COLORMAP, vmin=low, vmax=high, aspect="auto"
    )
    for (i, j), text in np.ndenumerate(labels):
        nan = text.startswith("NaN")
        light = not nan and bool(text) and float(text) < low + 0.35 * (high - low)
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=size,
            color=NAN_MARKER["color"] if nan else ("white" if light else "black"),
            fontweight="bold" if nan else "normal",
        )
    return image


def _rows_of_tables(ax, tables: dict, title: str) -> None:
    """Label one row per sweep table (first on top) on a batch-size axis."""
    ax.set_yticks(range(len(tables)), list(tables))
    ax.set_ylim(-0.6, len(tables) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("batch size B (examples per step)")
    ax.set_title(title)


def _accuracy_axes(ax, xlabel: str, ylabel: str, title: str) -> None:
    """Label a test-accuracy axes; it starts below 0, where runs that went NaN are drawn as crosses."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.05, 1.0)
    ax.set_title(title)


def _mark_first_nonfinite_gap(ax, trace) -> None:
    """A red cross on a ``StepTrace``'s logit-gap curve at the step whose values went non-finite."""
    k = trace.first_nonfinite_step
    if k is not None and k < len(trace.logit_gap):
        ax.plot([k], [trace.logit_gap[k]], **NAN_MARKER)


# --- lesson 01: the tutorial's digits, weights and loss ---


def plot_digits(images, labels, predictions, *, title: str | None = None) -> Figure:
    """A row of 28×28 digits, each titled "label → prediction" (wrong ones in vermillion).

    Introduced in lesson 01.
    """
    count = len(require_array("images", images, ndim=(2, 3)))
    _numbers("labels", labels, count)
    _numbers("predictions", predictions, count)
    _texts(title=title)
    count = len(images)
    figure = Figure(figsize=(1.1 * count, 1.6), layout="constrained")
    axes = figure.subplots(1, count, squeeze=False)[0]
    for ax, image, label, guess in zip(axes, images, labels, predictions, strict=True):
        ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        wrong = int(label) != int(guess)
        ax.set_title(f"{int(label)} → {int(guess)}", color=COLORS[5] if wrong else "black", fontsize=10)
        ax.set_axis_off()
    figure.suptitle(title or "Test digits: true label → predicted label", fontsize=10)
    return figure


def plot_weight_images(weights, *, title: str | None = None) -> Figure:
    """The ten columns of W as 28×28 maps: blue pixels vote for the class, red against.

    Non-finite weights (a run that went NaN) are shown as a labelled empty panel.
    Introduced in lesson 01.
    """
    if require_array("weights", weights, ndim=2).shape != (784, 10):
        raise ValueError(f"weights of shape {weights.shape} is not valid; it must have shape (784, 10)")
    _texts(title=title)
    weights = np.asarray(weights, dtype=np.float64)
    figure = Figure(figsize=(8.0, 3.6), layout="constrained")
    axes = figure.subplots(2, 5)
    finite = np.isfinite(weights)
    scale = float(np.abs(weights[finite]).max()) if finite.any() else 1.0
    scale = scale or 1.0
    image = None
    for digit, ax in enumerate(axes.flat):
        column = weights[:, digit]
        ax.set_axis_off()
        if not np.isfinite(column).all():
            ax.text(0.5, 0.5, "NaN", ha="center", va="center", color=COLORS[5], fontsize=14)
            ax.set_title(f"class {digit}", fontsize=9)
            continue
        image = ax.imshow(column.reshape(28, 28), cmap="RdBu", vmin=-scale, vmax=scale)
        ax.set_title(f"class {digit}", fontsize=9)
    if image is not None:
        figure.colorbar(image, ax=axes, shrink=0.8, label="weight (per unit of pixel ink)")
    figure.suptitle(title or "Learned weights W[:, k] as 28×28 images", fontsize=10)
    return figure


def plot_loss_curves(results, *, title: str | None = None, ax=None) -> Figure:
    """Loss per step of one or more ``TrainResult`` (log scale); the first non-finite step is marked."""
    _results(results)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure() if own_figure else (ax.figure, ax)
    for color, result in zip(COLORS * 4, results, strict=False):
        c = result.config
        steps = np.arange(len(result.losses))
        ax.plot(
            steps, result.losses, color=color, lw=1.2, label=f"B={c.batch_size}, lr={c.learning_rate:g}"
        )
        if result.first_nonfinite_step is not None:
            ax.plot(
                [result.first_nonfinite_step],
                [
                    np.nanmax(result.losses[: result.first_nonfinite_step + 1])
                    if result.first_nonfinite_step > 0
                    else 1.0
                ],
                **NAN_MARKER,
            )
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"cross-entropy ({results[0].config.reduction} over the batch)")
    ax.set_title(title or "Loss per step (× marks the first non-finite value)")
    if own_figure:
        add_legend(ax)
    return figure


# --- lesson 02: the failure ---


def plot_accuracy_vs_batch_size(table, *, title: str | None = None, ax=None) -> Figure:
    """Final test accuracy against batch size from a sweep table; runs that went NaN: crosses at 0."""
    require_table("table", table)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure() if own_figure else (ax.figure, ax)
    finite = ~table["went_nonfinite"]
    ax.plot(
        table["batch_size"][finite],
        table["test_accuracy"][finite],
        "o",
        ms=3,
        color=COLORS[0],
        label="finished (finite)",
    )
    ax.plot(table["batch_size"][~finite], np.zeros((~finite).sum()), **NAN_MARKER, label="went NaN")
    _accuracy_axes(
        ax,
        "batch size B (examples per step)",
        "test accuracy",
        title or "Final test accuracy by batch size",
    )
    if own_figure:
        add_legend(ax)
    return figure


def plot_failing_pattern(tables: dict, *, title: str | None = None) -> Figure:
    """Which batch sizes went NaN, one strip per sweep table: one cell per batch size.

    ``tables`` maps a row label (e.g. "float32, flushed") to a sweep table over batch sizes. A
    vermillion cell went NaN, a blue cell trained to the end; a lone size shows as a thin line.
    Introduced in lesson 02.
    """
    require_mapping("tables", tables, require_table)
    _texts(title=title)
    figure, ax = new_figure(8.0, 0.9 + 0.5 * len(tables))
    for row, table in enumerate(tables.values()):
        colors = np.where(table["went_nonfinite"], NAN_MARKER["color"], COLORS[0])
        ax.bar(table["batch_size"], 0.8, bottom=row - 0.4, width=1.0, color=colors, linewidth=0)
    legend = [
        Patch(color=COLORS[0], label="trains to the end"),
        Patch(color=NAN_MARKER["color"], label="goes NaN"),
    ]
    _rows_of_tables(
        ax, tables, title or "Failing batch sizes form a ragged band, not a clean threshold"
    )
    add_legend(ax, handles=legend, fontsize="small")
    return figure


def plot_largest_logit_gap(
    batch_sizes, gaps, went_nonfinite, limits, *, ylim=None, title=None
) -> Figure:
    """Largest logit gap ``max(z) - z_k`` seen in the first steps of each run, against batch size.

    ``limits`` is a ``FloatLimits``: past ``softmax_zero_gap`` TensorFlow's float32 softmax gives a
    class probability exactly 0; past ``reciprocal_overflow_gap`` even IEEE's ``1/p`` overflows (up
    to the row's sum in ``p = exp(-gap) / sum``). With ``ylim=(low, high)`` the axis zooms in and
    values outside are drawn on its edge (never dropped).
    Introduced in lesson 02.
    """
    count = len(_numbers("batch_sizes", batch_sizes))
    _numbers("gaps", gaps, count)
    _numbers("went_nonfinite", went_nonfinite, count, dtypes=("bool",))
    require_kind("limits", limits, "FloatLimits", source=" (from float_limits)")
    if ylim is not None and not (
        isinstance(ylim, (tuple, list)) and len(ylim) == 2 and ylim[0] < ylim[1]
    ):
        raise ValueError(f"ylim={ylim!r} is not valid; it must be None or (low, high), low < high")
    _texts(title=title)
    figure, ax = new_figure(8.0, 3.8)
    batch_sizes = np.asarray(batch_sizes)
    gaps = np.asarray(gaps, dtype=float)
    if ylim is not None:
        gaps = np.clip(gaps, *ylim)
        ax.set_ylim(ylim[0] - 0.5, ylim[1] + 0.5)
    nan = np.asarray(went_nonfinite, dtype=bool)
    ax.plot(batch_sizes, gaps, color=COLORS[7], lw=0.6, alpha=0.5)
    ax.plot(batch_sizes[~nan], gaps[~nan], "o", ms=3, color=COLORS[0], label="trains")
    ax.plot(batch_sizes[nan], gaps[nan], **{**NAN_MARKER, "markersize": 4}, label="goes NaN")
    zero, ieee = limits.softmax_zero_gap, limits.reciprocal_overflow_gap
    ax.axhline(
        zero, color=COLORS[1], ls="--", label=f"TensorFlow's float32 softmax gives p = 0 ({zero:.2f})"
    )
    ax.axhline(ieee, color=COLORS[2], ls=":", label=f"IEEE float32: 1/p overflows to inf ({ieee:.2f})")
    ax.set_xlabel("batch size B (examples per step)")
    clipped = ", clipped to the axis" if ylim is not None else ""
    ax.set_ylabel(f"largest logit gap (nats{clipped})")
    ax.set_title(title or "A run fails when some logit gap crosses float32's limit")
    add_legend(ax)
    return figure


# --- lesson 03: gradient scaling ---


def plot_gradient_norms(
    batch_sizes,
    norms: dict,
    *,
    fit: bool = True,
    log: bool = False,
    ylabel: str = "‖gradient‖ of the summed loss",
    title: str | None = None,
    ax=None,
) -> Figure:
    """Gradient norm against batch size, one series per label, each with its straight-line fit.

    ``norms`` maps a label (e.g. "initial weights") to one norm per batch size. With ``fit`` an
    ordinary least-squares line ``norm = slope · B + intercept`` is drawn through each series;
    on linear axes (the default) proportionality shows as a straight line, ``log=True`` uses
    log–log axes instead (to compare series that span decades). Introduced in lesson 03.
    """
    count = len(_numbers("batch_sizes", batch_sizes))
    require_mapping("norms", norms, lambda name, values: _numbers(name, values, count))
    require_bool("fit", fit)
    require_bool("log", log)
    _texts(ylabel=ylabel, title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure(6.4, 3.8) if own_figure else (ax.figure, ax)
    sizes = np.asarray(batch_sizes, dtype=np.float64)
    dense = np.linspace(0, sizes.max(), 200)
    for color, (label, values) in zip(COLORS, norms.items(), strict=False):
        values = np.asarray(values, dtype=np.float64)
        if fit:
            slope, intercept = np.polyfit(sizes, values, 1)
            label = f"{label}: slope {slope:.3g} per example"
            ax.plot(dense, slope * dense + intercept, color=color, lw=1, alpha=0.8)
        ax.plot(sizes, values, "o" if fit else "o-", ms=4, color=color, label=label)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("batch size B (examples in one gradient)")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "The summed gradient grows in proportion to the batch size")
    if own_figure:
        add_legend(ax)
    return figure


def _limit_lines(ax, limits) -> None:
    """The float limits of a ``FloatLimits`` as horizontal lines on a logit-gap axis.

    The thick dashed line is the one that decides (softmax gives a class probability exactly 0,
    as TensorFlow computes it); the thin ones are the other limits lessons 02 and 03 print.
    """
    ax.axhline(
        limits.softmax_zero_gap,
        color=NAN_MARKER["color"],
        ls="--",
        lw=1.4,
        label=f"softmax gives p = 0 ({limits.dtype}, flushed as TensorFlow): {limits.softmax_zero_gap:.2f}",
    )
    others = [
        (limits.exp_underflow_gap_flushed, COLORS[7], ":", "exp(−gap) < smallest normal"),
        (limits.reciprocal_overflow_gap, COLORS[3], "-.", "IEEE: 1/p overflows"),
        (limits.exp_underflow_gap_ieee, COLORS[4], (0, (1, 3)), "IEEE: exp(−gap) rounds to 0"),
    ]
    for gap, color, style, label in others:
        if gap != limits.softmax_zero_gap:
            ax.axhline(gap, color=color, ls=style, lw=0.9, label=f"{label}: {gap:.2f}")


# Colours of logit-gap traces: the palette without the crosses' vermillion, the limit line's black
# and the yellow that is hard to see on white; a grey makes six.
GAP_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#777777")


def _gap_traces_on(ax, traces, *, labelled: bool = True) -> None:
    """Each ``StepTrace``'s largest logit gap per step, with a red cross at its first NaN loss."""
    for color, trace in zip(GAP_COLORS * 2, traces, strict=False):
        c = trace.result.config
        steps = np.arange(len(trace.logit_gap))
        label = f"B={c.batch_size}, lr={c.learning_rate:g}" if labelled else None
        ax.plot(steps, trace.logit_gap, "o-", ms=3, lw=1.2, color=color, label=label)
        _mark_first_nonfinite_gap(ax, trace)
    if labelled:
        ax.plot([], [], **NAN_MARKER, label="first non-finite loss")
    ax.set_xlabel("training step (logits computed after that many updates)")


def plot_logit_gap_traces(traces, limits, *, title: str | None = None) -> Figure:
    """Largest logit gap per step for several runs (``StepTrace``), with ``limits``' lines.

    Left, the whole range; right, the same runs zoomed onto the limits, which lie too close
    together to tell apart at full scale. Introduced in lesson 03.
    """
    require_items("traces", traces, lambda name, trace: require_kind(name, trace, "StepTrace"))
    require_kind("limits", limits, "FloatLimits", source=" (from float_limits)")
    _texts(title=title)
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    full, zoom = figure.subplots(1, 2, width_ratios=(3, 2))
    _gap_traces_on(full, traces)
    _gap_traces_on(zoom, traces, labelled=False)
    line = {"color": "#000000", "ls": "--", "lw": 1.4}  # black: apart from every trace and cross
    full.axhline(limits.softmax_zero_gap, **line)
    zoom.axhline(
        limits.softmax_zero_gap,
        **line,
        label=f"{limits.dtype} softmax gives p = 0 beyond a gap of {limits.softmax_zero_gap:.2f}",
    )
    zoom.set_ylim(limits.softmax_zero_gap - 8, limits.softmax_zero_gap + 12)
    full.set_ylabel("largest logit gap max(z) − min(z) in the batch")
    zoom.set_xlabel("training step")
    zoom.set_title(f"zoomed onto the {limits.dtype} limit", fontsize="medium")
    figure.suptitle(title or "Bigger batches spread the logits faster, until exp underflows")
    add_figure_legend(figure, fontsize="small")
    return figure


def plot_outcomes_by_batch_size(tables: dict, *, title: str | None = None) -> Figure:
    """Which batch sizes went NaN, one row per sweep table, for grids of any spacing.

    A blue dot trained to the end (or to the sweep's last step), a red cross went NaN.
    Introduced in lesson 03.
    """
    require_mapping("tables", tables, require_table)
    _texts(title=title)
    figure, ax = new_figure(8.0, 0.9 + 0.55 * len(tables))
    for row, table in enumerate(tables.values()):
        sizes, nan = table["batch_size"], table["went_nonfinite"]
        ax.plot(sizes[~nan], np.full((~nan).sum(), row), "o", ms=4, color=COLORS[0])
        ax.plot(sizes[nan], np.full(nan.sum(), row), **NAN_MARKER)
    ax.plot([], [], "o", ms=4, color=COLORS[0], label="trains")
    ax.plot([], [], **NAN_MARKER, label="goes NaN")
    _rows_of_tables(ax, tables, title or "Which batch sizes go NaN")
    add_legend(ax)
    return figure


def plot_batch_size_learning_rate(table, *, products=(), title: str | None = None, ax=None) -> Figure:
    """Phase diagram of a batch size × learning rate sweep on log–log axes.

    Each run is a square coloured by its final test accuracy (the colour scale spans the finite
    runs' accuracies, which are close together, and each square carries its value); runs that went
    non-finite are red crosses. ``products`` draws the lines ``learning_rate · batch_size = c``
    (straight on log–log axes) for each ``c``. Introduced in lesson 03.
    """
    require_table("table", table)
    require_items("products", products, require_positive_real, empty=True)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure(10.0, 5.4) if own_figure else (ax.figure, ax)
    finite = ~table["went_nonfinite"]
    accuracy = table["test_accuracy"][finite]
    low, high = (float(accuracy.min()), float(accuracy.max())) if finite.any() else (0.0, 1.0)
    points = ax.scatter(
        table["batch_size"][finite],
        table["learning_rate"][finite],
        c=accuracy,
        cmap=colormaps["cividis"],
        vmin=low,
        vmax=max(high, low + 1e-3),
        marker="s",
        s=620,
    )
    for b, lr, a in zip(
        table["batch_size"][finite], table["learning_rate"][finite], accuracy, strict=True
    ):
        dark = a < (low + high) / 2
        ax.annotate(
            f"{a:.2f}",
            (b, lr),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "black",
        )
    ax.plot(
        table["batch_size"][~finite],
        table["learning_rate"][~finite],
        **{**NAN_MARKER, "markersize": 9, "markeredgewidth": 2},
        label="went NaN",
    )
    sizes = np.geomspace(table["batch_size"].min() / 1.3, table["batch_size"].max() * 1.3, 50)
    for color, style, c in zip(("#000000", *COLORS[2:4]), ("--", ":", "-."), products, strict=False):
        ax.plot(sizes, c / sizes, color=color, ls=style, lw=1.4, label=f"lr · B = {c:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    batch_sizes, rates = np.unique(table["batch_size"]), np.unique(table["learning_rate"])
    ax.set_xticks(batch_sizes, [str(int(b)) for b in batch_sizes])
    ax.set_yticks(rates, [f"{r:g}" for r in rates])
    ax.minorticks_off()
    ax.set_ylim(rates.min() / 1.5, rates.max() * 1.5)
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_title(title or "The boundary is a line of constant lr · B")
    if own_figure:
        add_legend(ax)
    figure.colorbar(points, ax=ax, label="final test accuracy (finite runs)", location="left")
    return figure


def plot_step_trace(trace, limits, *, title: str | None = None) -> Figure:
    """Two panels for one ``StepTrace``: the largest logit gap and the gradient norm per step.

    Introduced in lesson 03.
    """
    figure = Figure(figsize=(9.6, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    _gap_traces_on(left, [trace])
    _limit_lines(left, limits)
    left.set_ylabel("largest logit gap max(z) − min(z) in the batch")
    left.set_title("Largest logit gap per step")
    steps = np.arange(len(trace.gradient_norm))
    right.plot(steps, trace.gradient_norm, "o-", ms=3, lw=1.2, color=COLORS[0])
    k = trace.first_nonfinite_step
    if k is not None and k > 0:
        # The gradient of step k is already NaN: mark the step at the last finite value.
        right.plot([k], [trace.gradient_norm[k - 1]], **NAN_MARKER, label=f"NaN at step {k}")
    right.set_yscale("log")
    right.set_xlabel("training step")
    right.set_ylabel(f"‖gradient‖ ({trace.result.config.reduction} over the batch)")
    right.set_title("Gradient norm per step")
    for ax in (left, right):  # steps are whole numbers, however few
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title or "", fontsize=10)
    add_figure_legend(figure, fontsize="x-small")
    return figure


# --- lesson 04: mean reduction ---


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start); NaN stays NaN."""
    if window <= 1:
        return values
    cumulative = np.cumsum(np.concatenate([[0.0], values]))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    ends = np.arange(1, len(values) + 1)
    return (cumulative[ends] - cumulative[ends - counts]) / counts


def plot_loss_vs_examples(
    results,
    *,
    per: str = "examples",
    window: int = 2000,
    label_by: str = "run",
    title: str | None = None,
    ax=None,
    **line,
) -> Figure:
    """Loss per example against examples seen (steps × B), or against steps, for several runs.

    The loss is divided by B for ``reduction="sum"`` so that both reductions share one axis, and
    averaged over the last ``window`` examples seen (``per="examples"``) or steps (``per="steps"``),
    at least one step, to tame the noise of small batches. A red cross marks a run's first
    non-finite step. Each line is labelled with its batch size, reduction and learning rate
    (``label_by="run"``) or with its batch size alone (``label_by="batch_size"``: for panels that
    share one legend, where the colour stands for the batch size). Introduced in lesson 04.
    """
    _results(results)
    require_choice("per", per, ("examples", "steps"))
    require_choice("label_by", label_by, ("run", "batch_size"))
    require_positive_int("window", window)
    _texts(title=title)
    _axes(ax)
    _line_style(line)
    own_figure = ax is None
    figure, ax = new_figure(6.4, 3.8) if own_figure else (ax.figure, ax)
    for color, result in zip(COLORS * 2, results, strict=False):
        c = result.config
        per_example = _loss_per_example(result)
        steps = np.arange(len(per_example)) + 1
        seen = steps * c.batch_size if per == "examples" else steps
        smooth = _moving_average(
            per_example, max(1, window // c.batch_size if per == "examples" else window)
        )
        style = {"color": color, "lw": 1.3, "marker": "o" if len(seen) <= 30 else None, "ms": 3, **line}
        label = f"B={c.batch_size}" + (
            f", {c.reduction}, lr={c.learning_rate:g}" if label_by == "run" else ""
        )
        ax.plot(seen, smooth, label=label, **style)
        k = result.first_nonfinite_step
        if k is not None:
            before = per_example[:k][np.isfinite(per_example[:k])]
            ax.plot([seen[k]], [before.max() if len(before) else np.log(10)], **NAN_MARKER)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("examples seen (steps × B)" if per == "examples" else "training steps")
    ax.set_ylabel("cross-entropy per example (nats)")
    ax.set_title(
        title or f"Loss per example against {'examples seen' if per == 'examples' else 'steps'}"
    )
    if own_figure:
        add_legend(ax, fontsize="x-small")
    return figure


# --- lesson 05: epsilon and clipping ---


def plot_accuracy_by_variant(
    batch_sizes,
    accuracies: dict,
    *,
    went_nonfinite: dict | None = None,
    title: str | None = None,
    ax=None,
) -> Figure:
    """Final test accuracy against batch size (log axis), one line per loss variant.

    ``accuracies`` maps a label (e.g. "epsilon, sum") to one accuracy per batch size; ``went_nonfinite``
    maps a label to one boolean per batch size: runs that went NaN are drawn as red crosses at 0.
    Introduced in lesson 05.
    """
    _variants(batch_sizes, accuracies, went_nonfinite)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure(7.2, 3.8) if own_figure else (ax.figure, ax)
    sizes = np.asarray(batch_sizes)
    went_nonfinite = went_nonfinite or {}
    nan_label = "went NaN"
    for color, marker, (label, values) in zip(
        VARIANT_COLORS, "os^Dv", accuracies.items(), strict=False
    ):
        values = np.asarray(values, dtype=float)
        failed = np.asarray(went_nonfinite.get(label, np.zeros(len(sizes), bool)), dtype=bool)
        shown = np.where(failed, np.nan, values)
        ax.plot(sizes, shown, marker=marker, ms=4, lw=1.4, color=color, label=label)
        if failed.any():
            ax.plot(sizes[failed], np.zeros(failed.sum()), **NAN_MARKER, label=f"{label}: {nan_label}")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(int(s)) for s in sizes], fontsize="small")
    ax.minorticks_off()
    _accuracy_axes(
        ax,
        "batch size B (examples per step, log scale)",
        "test accuracy (fraction correct)",
        title or "Final test accuracy by batch size and loss",
    )
    if own_figure:
        add_legend(ax)
    return figure


def plot_gradient_trace(
    trace, *, stable_accuracy: float | None = None, title: str | None = None
) -> Figure:
    """A :class:`~course_utils.diagnostics.GradientTrace`: test accuracy and vanished gradients per step.

    Left: test accuracy during training (and the stable loss's final accuracy, dashed). Right: the
    percentage of each step's examples whose gradient row was exactly zero, and of those the
    examples the model got wrong with certainty (target probability exactly 0).
    Introduced in lesson 05.
    """
    require_kind("trace", trace, "GradientTrace", source=" (from trace_gradients)")
    if stable_accuracy is not None:
        require_real("stable_accuracy", stable_accuracy, low=0, high=1)
    _texts(title=title)
    figure = Figure(figsize=(9.6, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    result = trace.result
    left.plot(trace.accuracy_steps, trace.accuracy, color=COLORS[0], lw=1.4, label=result.config.loss)
    if stable_accuracy is not None:
        left.axhline(stable_accuracy, color=COLORS[2], ls="--", label="stable loss, final")
    if result.went_nonfinite:
        left.plot([result.first_nonfinite_step + 1], [0], **NAN_MARKER, label="went NaN")
    left.set_ylim(-0.05, 1.0)
    left.set_xlabel("training step")
    left.set_ylabel("test accuracy (fraction correct)")
    steps = np.arange(1, len(trace.zero_rows) + 1)
    right.plot(steps, 100 * trace.zero_rows, color=COLORS[1], lw=1.2, label="gradient row exactly 0")
    right.plot(
        steps, 100 * trace.dead_rows, color=COLORS[7], lw=1.2, ls=":", label="… and p(target) = 0"
    )
    right.set_ylim(-2, 102)
    right.set_xlabel("training step")
    right.set_ylabel("examples in the batch (%)")
    c = result.config
    figure.suptitle(
        title
        or f"{c.loss} loss, ε={c.epsilon:.0e}, B={c.batch_size}: accuracy {result.test_accuracy:.3f}",
        fontsize=11,
    )
    add_figure_legend(figure)
    return figure


# --- lesson 06: stable logits ---


def _mark_nonfinite(ax, x, y, top: float, label: str | None) -> None:
    """Draw non-finite values of ``y`` as red crosses at height ``top`` (never silently dropped)."""
    bad = ~np.isfinite(y)
    if bad.any():
        shown = x[bad][:: max(1, bad.sum() // 12)]  # a dozen crosses mark the range
        ax.plot(shown, np.full(len(shown), top), **NAN_MARKER, label=label)


def plot_losses_by_gap(curves, limits, *, gap: float | None = None, title: str | None = None) -> Figure:
    """One example's loss and target gradient against its logit gap, naive vs epsilon vs stable.

    ``curves`` is a :class:`~course_utils.diagnostics.GapCurves`, ``limits`` a ``FloatLimits``: the
    gaps that decide ``curves``' arithmetic are drawn as vertical lines (with flushing, where
    TensorFlow's softmax gives 0; without, where 1/p overflows and where IEEE ``exp`` gives 0);
    ``gap`` marks the current slider value. NaN/inf values are red crosses along the top of each panel.
    Introduced in lesson 06.
    """
    figure = Figure(figsize=(9.6, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    x = np.asarray(curves.gaps, dtype=float)
    lines = [  # epsilon not in orange: the NaN crosses are vermillion
        ("naive  -log p", curves.naive_loss, curves.naive_gradient, COLORS[0], "-"),
        (
            f"epsilon  -log(p + {curves.epsilon:.0e})",
            curves.epsilon_loss,
            curves.epsilon_gradient,
            COLORS[3],
            "--",
        ),
        ("stable  logsumexp(z) - z·y", curves.stable_loss, curves.stable_gradient, COLORS[2], ":"),
    ]
    top_loss = float(x.max()) * 1.08
    for label, loss, gradient, color, style in lines:
        left.plot(
            x, np.where(np.isfinite(loss), loss, np.nan), color=color, ls=style, lw=1.6, label=label
        )
        right.plot(x, np.where(np.isfinite(gradient), gradient, np.nan), color=color, ls=style, lw=1.6)
    _mark_nonfinite(left, x, np.asarray(curves.naive_loss, float), top_loss, "naive loss is NaN/inf")
    _mark_nonfinite(right, x, np.asarray(curves.naive_gradient, float), 0.1, "naive gradient is NaN")
    # Only the limits that decide this arithmetic (the whole table is lesson 02's).
    if curves.flush_subnormals:
        shown = [(limits.softmax_zero_gap, COLORS[7], "--", "p = 0 (TensorFlow's softmax)")]
    else:
        shown = [
            (limits.reciprocal_overflow_gap, COLORS[7], "--", "1/p overflows"),
            (limits.exp_underflow_gap_ieee, COLORS[4], "-.", "p = 0 (IEEE exp)"),
        ]
    for ax in (left, right):
        for value, color, style, name in shown:
            ax.axvline(value, color=color, ls=style, lw=1.2, label=f"{name}: gap {value:.2f}")
        if gap is not None:
            ax.axvline(gap, color="#777777", lw=3, alpha=0.4, label=f"slider: gap = {gap:g}")
        ax.set_xlabel("logit gap max(z) − z_target (nats)")
    left.set_ylim(-2, top_loss * 1.05)
    left.set_ylabel("loss of the example (nats)")
    right.set_ylim(-1.1, 0.2)
    right.set_ylabel("∂loss/∂z_target")
    flush = "flushed (TensorFlow)" if curves.flush_subnormals else "IEEE subnormals"
    figure.suptitle(
        title or f"{curves.dtype}, {flush}: only the stable loss keeps value and gradient at every gap",
        fontsize=11,
    )
    add_figure_legend(figure, fontsize=9)
    return figure


def plot_loss_per_example(results, *, title: str | None = None, ax=None) -> Figure:
    """Loss per example (a summed loss divided by B) against step, for runs of any reduction.

    Puts ``sum`` and ``mean`` runs on one scale; log y axis; NaN runs marked at their first
    non-finite step.
    Introduced in lesson 06.
    """
    _results(results)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure(7.2, 3.6) if own_figure else (ax.figure, ax)
    for color, result in zip(COLORS * 4, results, strict=False):
        c = result.config
        per_example = result.losses / (c.batch_size if c.reduction == "sum" else 1)  # in float32
        ax.plot(
            np.arange(len(per_example)),
            per_example,
            color=color,
            lw=1.0,
            label=f"{c.loss}, {c.reduction}, B={c.batch_size}, lr={c.learning_rate:g}",
        )
        if result.went_nonfinite:
            ax.plot([result.first_nonfinite_step], [1.0], **NAN_MARKER)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss per example (nats)")
    ax.set_title(title or "Loss per example during training")
    if own_figure:
        add_legend(ax)
    return figure


def plot_accuracy_and_loss_by_variant(
    batch_sizes,
    accuracies: dict,
    losses: dict,
    *,
    went_nonfinite: dict | None = None,
    title: str | None = None,
) -> Figure:
    """Two panels against batch size: final test accuracy, and a late loss per example (log scale).

    ``accuracies`` and ``losses`` map a variant's label to one value per batch size (``losses`` may
    hold fewer variants, e.g. only those that stay finite); ``went_nonfinite`` as in
    :func:`plot_accuracy_by_variant`.
    Introduced in lesson 06.
    """
    count = _variants(batch_sizes, accuracies, went_nonfinite)
    require_mapping("losses", losses, lambda name, values: _numbers(name, values, count))
    _texts(title=title)
    figure = Figure(figsize=(10.0, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    plot_accuracy_by_variant(
        batch_sizes, accuracies, went_nonfinite=went_nonfinite, title="Final test accuracy", ax=left
    )
    sizes = np.asarray(batch_sizes)
    colors = dict(zip(accuracies, zip(VARIANT_COLORS, "os^Dv", strict=True), strict=False))
    for label, values in losses.items():
        color, marker = colors.get(label, (COLORS[7], "o"))
        right.plot(sizes, values, marker=marker, ms=4, lw=1.4, color=color, label=label)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xticks(sizes, [str(int(s)) for s in sizes], fontsize="small")
    right.xaxis.set_minor_locator(NullLocator())
    right.set_xlabel("batch size B (examples per step, log scale)")
    right.set_ylabel("loss per example (nats)")
    right.set_title("Loss per example, mean of the last 100 steps")
    figure.suptitle(title or "Accuracy and late loss by batch size", fontsize=11)
    add_figure_legend(figure)
    return figure


# --- lesson 07: optimizers (the outcome tables and the two-panel run are also lesson 08's) ---


def _outcome_label(row) -> str:
    """One sweep row as a short cell text: the test accuracy, or ``NaN@k`` with the first bad step.

    Introduced in lesson 07.
    """
    if row["went_nonfinite"]:
        return f"NaN@{int(row['first_nonfinite_step'])}"
    return f"{float(row['test_accuracy']):.3f}"


def _outcome_grid(tables: dict, column: str):
    columns = sorted({v.item() for table in tables.values() for v in table[column]})
    labels = np.full((len(tables), len(columns)), "", dtype=object)
    accuracy = np.full((len(tables), len(columns)), np.nan)
    for i, table in enumerate(tables.values()):
        for row in table:
            j = columns.index(row[column].item())
            labels[i, j] = _outcome_label(row)
            accuracy[i, j] = np.nan if row["went_nonfinite"] else float(row["test_accuracy"])
    return columns, labels, accuracy


def format_outcome_table(tables: dict, *, column: str = "batch_size", header: str = "") -> str:
    """A text table: one line per sweep table, one column per value of ``column``.

    Cells hold the final test accuracy, or ``NaN@k`` where the run first went non-finite at step
    ``k``; a missing combination is left blank. The text twin of :func:`plot_outcome_matrix`.
    Introduced in lesson 07.
    """
    require_mapping("tables", tables, require_table)
    require_choice("column", column, SWEEP_DTYPE.names)
    _texts(header=header)
    columns, labels, _ = _outcome_grid(tables, column)
    width = max([len(header)] + [len(str(name)) for name in tables])
    head = f"{header:<{width}}" + "".join(f"{str(c):>10}" for c in columns)
    lines = [head]
    for name, cells in zip(tables, labels, strict=True):
        lines.append(f"{str(name):<{width}}" + "".join(f"{cell:>10}" for cell in cells))
    return "\n".join(lines)


def plot_outcome_matrix(
    tables: dict, *, column: str = "batch_size", title: str | None = None, xlabel: str | None = None
) -> Figure:
    """Heatmap of final test accuracy: one row per sweep table, one column per value of ``column``.

    Runs that went non-finite are grey cells labelled ``NaN@k`` (k = first non-finite step), so a
    NaN is never mistaken for a low accuracy. Introduced in lesson 07.
    """
    require_mapping("tables", tables, require_table)
    require_choice("column", column, SWEEP_DTYPE.names)
    _texts(title=title, xlabel=xlabel)
    columns, labels, accuracy = _outcome_grid(tables, column)
    figure, ax = new_figure(3.2 + 1.1 * len(columns), 0.9 + 0.42 * len(tables))
    image = _outcome_cells(ax, accuracy, labels, size=8)
    ax.set_xticks(range(len(columns)), [f"{c:g}" if isinstance(c, float) else str(c) for c in columns])
    ax.set_yticks(range(len(tables)), [str(name) for name in tables])
    ax.set_xlabel(xlabel or "batch size B (examples per step)")
    figure.colorbar(image, ax=ax, label="test accuracy (grey: went NaN)", extend="min", shrink=0.9)
    ax.set_title(title or "Final test accuracy; NaN@k = first non-finite value at step k")
    return figure


def plot_logit_gaps(traces: dict, limit: float, *, title: str | None = None, ax=None) -> Figure:
    """Largest logit gap (row max − row min) in the batch at each step, one line per run.

    ``traces`` maps a label to a ``StepTrace`` (:func:`~course_utils.trace_steps`); a red cross
    marks the step whose values first became non-finite. ``limit`` is the gap beyond which the
    float32 softmax gives a probability of exactly 0 (``float_limits().softmax_zero_gap``), where
    ``log(0)`` appears. Introduced in lesson 07.
    """
    require_mapping("traces", traces, lambda name, trace: require_kind(name, trace, "StepTrace"))
    require_positive_real("limit", limit)
    _texts(title=title)
    _axes(ax)
    own_figure = ax is None
    figure, ax = new_figure(7.2, 3.8) if own_figure else (ax.figure, ax)
    styles = ("-", "--", ":", "-.") * 4
    drawn = {}
    for color, style, (label, trace) in zip(COLORS * 2, styles, traces.items(), strict=False):
        gap = trace.logit_gap
        steps = np.arange(len(gap))
        same = [name for name, other in drawn.items() if _same_curve(gap, other)]
        if same:  # an identical run (Ftrl is Adagrad) would hide the first: draw it as open circles
            every = np.unique(np.geomspace(1, max(len(gap) - 1, 1), 30).astype(int))
            ax.plot(steps, gap, color=COLORS[7], ls="none", marker="o", markersize=4.5, fillstyle="none",
                    markevery=list(every), label=f"{label} (the same as {same[0]})")  # fmt: skip
        else:
            ax.plot(steps, gap, color=color, ls=style, lw=1.2, label=label)
        drawn[label] = gap
        _mark_first_nonfinite_gap(ax, trace)
    if any(trace.first_nonfinite_step is not None for trace in traces.values()):
        ax.plot([], [], **NAN_MARKER, label="first non-finite value")
    ax.axhline(
        limit, color=COLORS[7], ls="--", lw=1, label=f"float32 softmax gives p = 0 (gap {limit:.2f})"
    )
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, max(len(t.logit_gap) for t in traces.values()))
    ax.set_xlabel("training step (linear to 10, then logarithmic)")
    ax.set_ylabel("largest logit gap in the batch")
    ax.set_title(title or "Runs go NaN when the logit gap reaches the float32 limit")
    if own_figure:
        add_legend(ax)
    return figure


def _same_curve(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two logit-gap curves coincide to within float32 rounding (same length, finite parts)."""
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.allclose(a, b, rtol=1e-4, atol=1e-4, equal_nan=True))


def plot_optimizer_run(trace, limit: float, *, title: str | None = None) -> Figure:
    """Two panels for one run (a ``StepTrace``): loss per example, and the largest logit gap.

    Introduced in lesson 07.
    """
    require_kind("trace", trace, "StepTrace", source=" (from trace_steps)")
    require_positive_real("limit", limit)
    _texts(title=title)
    figure = Figure(figsize=(9.0, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    result = trace.result
    per_example = _loss_per_example(result)
    left.plot(np.arange(len(per_example)), per_example, color=COLORS[0], lw=1)
    if result.went_nonfinite:
        step = result.first_nonfinite_step
        before = per_example[: step + 1][np.isfinite(per_example[: step + 1])]
        left.plot(
            [step],
            [before[-1] if len(before) else np.log(10)],
            **NAN_MARKER,
            label=f"non-finite {result.first_nonfinite_stage} at step {step}",
        )
    left.set_yscale("log")
    left.set_xlabel("training step")
    left.set_ylabel("cross-entropy per example (nats)")
    left.set_title("Loss")
    plot_logit_gaps({result.config.optimizer: trace}, limit, title="Largest logit gap", ax=right)
    figure.suptitle(title or "", fontsize=10)
    add_figure_legend(figure)
    return figure


# --- lesson 08: capstone ---


def plot_phase_diagrams(
    grids: dict, column_labels, *, xlabel: str = "learning rate", title: str | None = None
) -> Figure:
    """Side-by-side phase diagrams: batch size (rows) × learning-rate setting (columns) per variant.

    ``grids`` maps a variant's name to a 2-D sweep table (rows: batch sizes, columns: the settings
    named by ``column_labels``). Cells show the test accuracy; runs that went non-finite are grey
    cells labelled ``NaN@k``. Introduced in lesson 08.
    """
    require_mapping("grids", grids, _grid)
    columns = {grid.shape[1] for grid in grids.values()}
    if len(require_items("column_labels", column_labels, lambda _, label: label)) not in columns:
        raise ValueError(
            f"column_labels has {len(column_labels)} labels; it must have one per column of the "
            f"grids ({', '.join(map(str, sorted(columns)))})"
        )
    _texts(xlabel=xlabel, title=title)
    count = len(grids)
    figure = Figure(
        figsize=(1.2 + 3.0 * count, 1.5 + 0.42 * max(len(g) for g in grids.values())),
        layout="constrained",
    )
    axes = figure.subplots(1, count, squeeze=False)[0]
    image = None
    for ax, (name, grid) in zip(axes, grids.items(), strict=True):
        accuracy = np.where(grid["went_nonfinite"], np.nan, grid["test_accuracy"])
        labels = np.array([[_outcome_label(row) for row in line] for line in grid], dtype=object)
        image = _outcome_cells(ax, accuracy, labels, size=7)
        ax.set_xticks(range(grid.shape[1]), [str(label) for label in column_labels], fontsize=8)
        ax.set_yticks(range(grid.shape[0]), [str(int(b)) for b in grid["batch_size"][:, 0]])
        ax.set_xlabel(xlabel)
        ax.set_title(name, fontsize=9)
    axes[0].set_ylabel("batch size B")
    figure.colorbar(
        image, ax=list(axes), label="test accuracy (grey: went NaN)", extend="min", shrink=0.9
    )
    figure.suptitle(title or "Where each variant trains: batch size × learning rate", fontsize=10)
    return figure


# --- the causal chain (lessons 02-09) ---

# The failure of the 2015 tutorial, cause by cause. Link k is the arrow from stage k to stage k + 1.
CAUSAL_CHAIN = (
    "summed loss",
    "gradient and step grow with lr·B",
    "steps overshoot",
    "the largest logit gap grows",
    "{dtype} exp underflows to 0 past a gap of {gap:.2f}",
    "log(0) = −inf",
    "0 · inf = NaN",
)


def plot_causal_chain(
    *, cut: dict | None = None, hidden: dict | None = None, dtype: str = "float32", title=None
) -> Figure:
    """The failure as a chain of causes, boxes and arrows, with the links a fix cuts or only hides.

    Parameters
    ----------
    cut, hidden : dict of {link: fix name}
        Link ``k`` is the arrow from stage ``k`` to stage ``k + 1`` of :data:`CAUSAL_CHAIN`
        (0 to 5). A cut link is drawn broken with a cross, a hidden one dashed: the cause is
        still there, the fix only keeps it from showing.
    dtype : {"float32", "float64", "float16", "bfloat16"}
        The float format whose limit the underflow stage shows (``float_limits(dtype)``).

    Examples
    --------
    >>> figure = plot_causal_chain(cut={0: "reduce_mean"})
    >>> "cut by reduce_mean" in [t.get_text() for t in figure.axes[0].texts]
    True

    Introduced in lesson 02.
    """
    from .model import float_limits  # (measured, not typed: the limit of this dtype)

    _texts(title=title)
    links = range(len(CAUSAL_CHAIN) - 1)
    marked = {}
    for name, given in (("cut", cut), ("hidden", hidden)):
        if given is not None:
            require_mapping(name, given, require_text)
        for link, fix in (given or {}).items():
            if link not in links or isinstance(link, bool):
                raise ValueError(f"{name}: link {link!r} is not one of 0 to {len(links) - 1}")
            if link in marked:
                raise ValueError(f"link {link} is both cut and hidden")
            marked[link] = (name, str(fix))
    gap = float_limits(dtype).softmax_zero_gap
    stages = [s.format(dtype=dtype, gap=gap) for s in CAUSAL_CHAIN]
    figure, ax = new_figure(12.0, 2.2)
    ax.set(xlim=(0, len(stages)), ylim=(0, 1))
    ax.set_axis_off()
    width, height, middle = 0.74, 0.5, 0.6  # in stages; every box the same size
    for k, stage in enumerate(stages):
        ax.add_patch(
            FancyBboxPatch(
                (k + 0.5 - width / 2, middle - height / 2), width, height,
                boxstyle="round,pad=0.02", facecolor="#F2F2F2", edgecolor=COLORS[0],
            )
        )  # fmt: skip
        ax.text(k + 0.5, middle, textwrap.fill(stage, 14), ha="center", va="center", fontsize=9)
    for link in links:
        kind, fix = marked.get(link, ("", ""))
        color = {"cut": "#D55E00", "hidden": "#777777"}.get(kind, "#000000")
        start, end = link + 0.5 + width / 2 + 0.02, link + 1.5 - width / 2 - 0.02
        ax.annotate(
            "", xy=(end, middle), xytext=(start, middle),
            arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": 1.5,
                        "linestyle": "--" if kind == "hidden" else "-"},
        )  # fmt: skip
        if kind == "cut":
            ax.plot(link + 1, middle, marker="x", color=color, markersize=13, markeredgewidth=3)
        if kind:
            label = textwrap.fill(f"{kind} by {fix}", 24, break_long_words=False)
            ax.text(link + 1, 0.16, label, ha="center", va="center", fontsize=9, color=color)
    ax.set_title(title or "Why the tutorial fails: one cause leads to the next", fontsize=10)
    return figure

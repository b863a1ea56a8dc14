"""Widget explorers: controls that re-run or re-draw, with a figure and a one-line summary.

This is the only module that imports ipywidgets. Every explorer is an :class:`Explorer`: a dict of
controls (all with ``continuous_update=False``), a ``render`` function that turns the controls'
values into a matplotlib figure and an HTML summary, an ``Image`` widget showing the figure as PNG
and an ``HTML`` widget showing the summary. Because the picture and the text are widget *values*
(not prints into an Output widget), tests drive an explorer from Python by setting a control and
reading ``explorer.image.value`` / ``explorer.summary.value``, and nbval has nothing to replay.

What an explorer shows comes from pure functions in ``plots`` and runs cached by their parameters
(``functools.lru_cache`` here, the on-disk run cache in ``sweep``), and the explorer keeps the
pictures it has drawn, so returning to a setting is instant.

Introduced in lesson 01 (the tutorial explorer); most explorers belong to lessons 02-08.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.image
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from .data import require_data
from .diagnostics import losses_by_gap, trace_gradients, trace_steps
from .linear import LOW_PRECISION
from .model import DTYPES, LOSSES, REDUCTIONS, float_limits
from .optimizers import OPTIMIZERS
from .plots import (
    add_legend,
    new_figure,
    plot_gradient_trace,
    plot_loss_curves,
    plot_loss_vs_examples,
    plot_losses_by_gap,
    plot_optimizer_run,
    plot_phase_diagrams,
    plot_step_trace,
    plot_weight_images,
)
from .sweeps import fix_grid, require_fix_grid
from .training import train
from .validate import (
    old_keywords,
    require_bool,
    require_int,
    require_items,
    require_positive_int,
    require_positive_real,
    require_real,
    shown,
)

PNG_DPI = 80


def figure_png(figure) -> bytes:
    """Render a matplotlib figure to PNG bytes, drawn once.

    The figures of :mod:`~course_utils.plots` lay themselves out (constrained layout), which keeps
    everything inside the figure with a small margin: the figure is drawn once and saved whole.
    Only if something reaches its edge (a label longer than the figure, say) is it saved as
    ``savefig(bbox_inches="tight")`` saves it, cropped around everything, which draws it twice
    (once to measure). The figures are built outside pyplot, so nothing keeps them alive after
    this. The PNG carries no "Software" stamp, so the same figure gives the same bytes.
    """
    canvas, dpi = figure.canvas, figure.dpi
    try:
        figure.set_dpi(PNG_DPI)
        agg = FigureCanvasAgg(figure)
        agg.draw()
        pixels = np.asarray(agg.buffer_rgba())
    finally:
        figure.set_dpi(dpi)
        figure.set_canvas(canvas)
    buffer = io.BytesIO()
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if (edge == pixels[0, 0]).all():
        matplotlib.image.imsave(buffer, pixels, format="png", dpi=PNG_DPI, metadata={"Software": None})
    else:
        figure.savefig(
            buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None}
        )
    return buffer.getvalue()


# The choices of the explorers' controls (an explorer's starting values must be among them).
TUTORIAL_STEPS = (1, 3, 10, 30, 100, 300, 1000)
TUTORIAL_RATES = (0.001, 0.003, 0.01, 0.03)
FAILURE_RATES = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05)
SCALING_RATES = (0.0005, 0.001, 0.002, 0.005, 0.007, 0.01, 0.02, 0.05)
MEAN_BATCH_SIZES = (50, 100, 200, 500, 1000, 2000, 4000)
OPTIMIZER_BATCH_SIZES = (50, 100, 205, 400, 1000, 2000)
OPTIMIZER_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
PRECISION_MODES = ("pure", "mixed")


def _option(name: str, value, options) -> None:
    """A control starts at one of its options (ipywidgets would refuse another without naming it)."""
    if isinstance(value, bool) or value not in options:
        choices = ", ".join(map(repr, options))
        raise ValueError(f"{name}={shown(value)} is not valid; choose one of {choices}")


def _in_range(name: str, value, low: int, high: int) -> None:
    """A slider's starting value, which ipywidgets would clamp into its range without a word."""
    if require_int(name, value) < low or value > high:
        raise ValueError(f"{name}={value!r} is not valid; it must be from {low} to {high}")


def _choice_slider(description: str, options, value) -> widgets.SelectionSlider:
    """A slider over ``options`` that re-renders only when released, like every control here."""
    return widgets.SelectionSlider(
        options=options, value=value, description=description, continuous_update=False
    )


# The end of an explorer's text form: how a stored notebook (and the course website, which adds a
# line saying the explorer is live in JupyterLab) tells an explorer's picture from other figures.
STORED_VIEW_NOTE = "(run the cell with a kernel to use its controls)"


class Explorer:
    """Controls, a figure and a summary line; the figure and summary follow the controls.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control
        Their values are passed to ``render`` as keyword arguments.
    render : callable(**values) -> (matplotlib Figure, str)
        Pure function of the control values; the string is HTML for the summary line. Because it
        is pure, the last ``VIEWS_KEPT`` pictures are kept: a setting shown before is shown
        again without calling it.
    """

    VIEWS_KEPT = 64  # PNG and summary of the settings shown last (a PNG is tens of kB)

    def __init__(self, controls: dict[str, widgets.ValueWidget], render: Callable, *, title: str = ""):
        self.controls = controls
        self.render = render
        self.title = title
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="720px"))
        self.summary = widgets.HTML()
        self.updates = 0
        self.view = lru_cache(maxsize=self.VIEWS_KEPT)(self._draw)
        for control in controls.values():
            control.observe(self.update, names="value")
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.VBox(
            [
                *header,
                widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                self.summary,
                self.image,
            ]
        )
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change=None) -> None:
        """Show the view of the controls' current values (called on every control change)."""
        self.image.value, self.summary.value = self.view(**self.values())
        self.updates += 1

    def _draw(self, **values) -> tuple[bytes, str]:
        figure, text = self.render(**values)
        return figure_png(figure), text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live widget, and beside it a PNG of the current view for readers without a kernel.

        A front end with a live kernel shows the widget; a stored notebook keeps only the PNG (and
        the text), because ``tools/execute_lessons.py`` drops widget views that no kernel can
        restore (TOOLCHAIN_NOTES §4: they would read "Error displaying widget"). So the solved
        edition, and the notebook on a code-hosting site, show the explorer's first picture.
        """
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        name = f"Explorer: {self.title}" if self.title else "Explorer"
        bundle["text/plain"] = f"{name} {STORED_VIEW_NOTE}"
        return bundle


# --- lesson 01: the tutorial explorer ---


def tutorial_explorer(data, *, steps: int = 1000, batch_size: int = 100, learning_rate: float = 0.01):
    """Training steps, batch size and learning rate → the ten learned weight maps and test accuracy.

    Runs are cached by their parameters (``explorer.cached_train.cache_info()``).
    Introduced in lesson 01.
    """
    require_data(data)
    _option("steps", steps, TUTORIAL_STEPS)
    _in_range("batch_size", batch_size, 10, 200)
    _option("learning_rate", learning_rate, TUTORIAL_RATES)

    @lru_cache(maxsize=128)
    def cached_train(steps, batch_size, learning_rate):
        return train(data, steps=steps, batch_size=batch_size, learning_rate=learning_rate)

    def render(steps, batch_size, learning_rate):
        result = cached_train(steps, batch_size, learning_rate)
        outcome = (
            f"test accuracy <b>{result.test_accuracy:.3f}</b>"
            if not result.went_nonfinite
            else f"<b>went NaN</b> at step {result.first_nonfinite_step} "
            f"(test accuracy {result.test_accuracy:.3f})"
        )
        figure = plot_weight_images(
            result.weights,
            title=f"W after {steps} steps of B={batch_size}, lr={learning_rate:g}: "
            f"accuracy {result.test_accuracy:.3f}",
        )
        return (
            figure,
            f"{steps} steps, batch size {batch_size}, learning rate {learning_rate:g}: {outcome}",
        )

    controls = {
        "steps": _choice_slider("steps", TUTORIAL_STEPS, steps),
        "batch_size": widgets.IntSlider(
            value=batch_size,
            min=10,
            max=200,
            step=10,
            description="batch size",
            continuous_update=False,
        ),
        "learning_rate": _choice_slider("learning rate", TUTORIAL_RATES, learning_rate),
    }
    explorer = Explorer(controls, render, title=f"The tutorial's weights ({data.name})")
    explorer.cached_train = cached_train
    return explorer


# --- lesson 02: the failure explorer ---


def failure_explorer(data, *, batch_size: int = 205, learning_rate: float = 0.01):
    """Batch size, learning rate, loss, reduction and dtype → loss curve, accuracy, first NaN step.

    The batch size is an ``IntSlider``; runs are cached by their parameters
    (``explorer.cached_train.cache_info()``), so returning to a setting is instant.
    Introduced in lesson 02.
    """
    require_data(data)
    _in_range("batch_size", batch_size, 10, 1000)
    _option("learning_rate", learning_rate, FAILURE_RATES)

    @lru_cache(maxsize=256)
    def cached_train(batch_size, learning_rate, loss, reduction, dtype):
        return train(
            data,
            batch_size=batch_size,
            learning_rate=learning_rate,
            loss=loss,
            reduction=reduction,
            dtype=dtype,
        )

    def render(batch_size, learning_rate, loss, reduction, dtype):
        result = cached_train(batch_size, learning_rate, loss, reduction, dtype)
        if result.went_nonfinite:
            verdict = (
                f"first non-finite value: <b>{result.first_nonfinite_stage}</b> at step "
                f"<b>{result.first_nonfinite_step}</b>"
            )
            headline = f"B={batch_size}: NaN at step {result.first_nonfinite_step}"
        else:
            verdict = "all values finite for 1000 steps"
            headline = f"B={batch_size}: finite, accuracy {result.test_accuracy:.3f}"
        figure = plot_loss_curves([result], title=f"{headline} ({loss}, {reduction}, {dtype})")
        text = (
            f"batch size {batch_size}, learning rate {learning_rate:g}, loss {loss}, "
            f"reduction {reduction}, {dtype}: test accuracy <b>{result.test_accuracy:.3f}</b>; {verdict}"
        )
        return figure, text

    controls = {
        "batch_size": widgets.IntSlider(
            value=batch_size,
            min=10,
            max=1000,
            step=1,
            description="batch size",
            continuous_update=False,
        ),
        "learning_rate": _choice_slider("learning rate", FAILURE_RATES, learning_rate),
        "loss": widgets.Dropdown(options=LOSSES, value="naive", description="loss"),
        "reduction": widgets.Dropdown(options=REDUCTIONS, value="sum", description="reduction"),
        "dtype": widgets.Dropdown(options=DTYPES, value="float32", description="dtype"),
    }
    explorer = Explorer(controls, render, title=f"Where the tutorial fails ({data.name})")
    explorer.cached_train = cached_train
    return explorer


# --- lesson 03: gradient scaling ---


def gradient_scaling_explorer(
    data, *, batch_size: int = 205, learning_rate: float = 0.01, dtype: str = "float32", steps: int = 40
):
    """Batch size, learning rate and dtype → logit gap and gradient norm per step, with float limits.

    Each setting trains ``steps`` steps with :func:`~course_utils.diagnostics.trace_steps` (the
    failure, when it comes, comes within the first few steps); runs are cached by their parameters
    (``explorer.cached_trace.cache_info()``).
    Introduced in lesson 03.
    """
    require_data(data)
    _in_range("batch_size", batch_size, 10, len(data.train_labels))
    _option("learning_rate", learning_rate, SCALING_RATES)
    _option("dtype", dtype, DTYPES)
    require_positive_int("steps", steps)

    @lru_cache(maxsize=256)
    def cached_trace(batch_size, learning_rate, dtype):
        return trace_steps(
            data, batch_size=batch_size, learning_rate=learning_rate, dtype=dtype, steps=steps
        )

    def render(batch_size, learning_rate, dtype):
        trace = cached_trace(batch_size, learning_rate, dtype)
        limit = float_limits(dtype).softmax_zero_gap
        peak = int(trace.logit_gap.argmax())
        k = trace.first_nonfinite_step
        if k is None:
            verdict = f"all values finite for {steps} steps"
            headline = "stays finite"
        else:
            verdict = (
                f"gap {trace.logit_gap[k]:.1f} at step {k} → first non-finite value "
                f"(<b>{trace.result.first_nonfinite_stage}</b>) at step <b>{k}</b>"
            )
            headline = f"NaN at step {k}"
        text = (
            f"B = {batch_size}, lr = {learning_rate:g}, {dtype}: effective step lr·B = "
            f"<b>{learning_rate * batch_size:.3g}</b>; first gradient norm "
            f"{trace.gradient_norm[0]:.0f}; largest gap {trace.logit_gap[peak]:.1f} (step {peak}), "
            f"p = 0 line {limit:.2f}; {verdict}"
        )
        title = f"B={batch_size}, lr={learning_rate:g}, lr·B={learning_rate * batch_size:.3g}, {dtype}: {headline}"
        return plot_step_trace(trace, float_limits(dtype), title=title), text

    controls = {
        "batch_size": widgets.IntSlider(
            value=batch_size,
            min=10,
            max=len(data.train_labels),
            step=1,
            description="batch size",
            continuous_update=False,
        ),
        "learning_rate": _choice_slider("learning rate", SCALING_RATES, learning_rate),
        "dtype": widgets.Dropdown(options=DTYPES, value=dtype, description="dtype"),
    }
    explorer = Explorer(controls, render, title=f"How the batch size spreads the logits ({data.name})")
    explorer.cached_trace = cached_trace
    return explorer


# --- lesson 04: mean reduction ---


# The tutorial's learning rate for each reduction: 0.01 for its summed loss, and the same step per
# example for a mean loss at its batch size of 100 (lr_mean = lr_sum · B = 0.01 · 100).
TUTORIAL_LEARNING_RATES = {"sum": 0.01, "mean": 1.0}


def mean_reduction_explorer(
    data, *, batch_size: int = 2000, reduction: str = "mean", examples: int = 100_000
):
    """Batch size and reduction → loss per example against examples seen, beside the tutorial.

    Every run sees ``examples`` training examples (``examples // batch_size`` steps) at the
    tutorial's learning rate for its reduction (0.01 summed, 1.0 averaged); the tutorial itself
    (B = 100, sum, 0.01) is drawn as a grey dashed reference. Runs are cached by their parameters
    (``explorer.cached_train.cache_info()``).
    Introduced in lesson 04.
    """
    require_data(data)
    _option("batch_size", batch_size, MEAN_BATCH_SIZES)
    _option("reduction", reduction, REDUCTIONS)
    require_positive_int("examples", examples)

    @lru_cache(maxsize=64)
    def cached_train(batch_size, reduction):
        return train(
            data,
            batch_size=batch_size,
            learning_rate=TUTORIAL_LEARNING_RATES[reduction],
            reduction=reduction,
            steps=max(1, examples // batch_size),
        )

    def render(batch_size, reduction):
        result = cached_train(batch_size, reduction)
        tutorial = cached_train(100, "sum")
        lr = TUTORIAL_LEARNING_RATES[reduction]
        steps = result.config.steps
        if result.went_nonfinite:
            k = result.first_nonfinite_step
            verdict = f"<b>went NaN</b> at step {k} (after {k * batch_size:,} examples)"
            headline = f"NaN after {k * batch_size:,} examples"
        else:
            verdict = f"all finite; test accuracy <b>{result.test_accuracy:.3f}</b>"
            headline = f"accuracy {result.test_accuracy:.3f}"
        figure, ax = new_figure(6.8, 3.8)
        plot_loss_vs_examples([tutorial], ax=ax, color="#999999", ls="--")
        plot_loss_vs_examples(
            [result], ax=ax, title=f"B={batch_size}, {reduction}, lr={lr:g}: {headline}"
        )
        add_legend(ax, fontsize="x-small")
        text = (
            f"B = {batch_size}, reduction {reduction}, lr = {lr:g} (a step of lr·"
            f"{'B' if reduction == 'sum' else '1'} = {lr * (batch_size if reduction == 'sum' else 1):.3g} "
            f"times the mean gradient), {steps} steps = {steps * batch_size:,} examples: {verdict}"
        )
        return figure, text

    controls = {
        "batch_size": _choice_slider("batch size", MEAN_BATCH_SIZES, batch_size),
        "reduction": widgets.ToggleButtons(
            options=REDUCTIONS, value=reduction, description="reduction"
        ),
    }
    explorer = Explorer(controls, render, title=f"Sum or mean over the batch ({data.name})")
    explorer.cached_train = cached_train
    return explorer


# --- lesson 05: epsilon ---


def epsilon_explorer(
    data,
    *,
    batch_size: int = 400,
    epsilon: float = 1e-10,
    steps: int = 300,
    batch_sizes=(100, 200, 300, 400, 600, 1000, 2000, 4000),
):
    """Epsilon (log slider) and batch size → accuracy and the share of vanished gradient rows.

    Each setting trains the ``epsilon`` loss (summed, lr 0.01, ``steps`` steps) with
    ``trace_gradients`` and compares it with the ``stable`` loss at the same batch size. Runs are
    cached by their parameters (``explorer.cached_trace.cache_info()``,
    ``explorer.cached_stable.cache_info()``).
    Introduced in lesson 05.
    """
    require_data(data)
    batch_sizes = require_items("batch_sizes", batch_sizes, require_positive_int)
    _option("batch_size", batch_size, batch_sizes)
    require_real("epsilon", epsilon, low=1e-44, high=0.1)
    require_positive_int("steps", steps)

    @lru_cache(maxsize=128)
    def cached_trace(batch_size, epsilon):
        return trace_gradients(
            data, loss="epsilon", epsilon=epsilon, batch_size=batch_size, steps=steps
        )

    @lru_cache(maxsize=32)
    def cached_stable(batch_size):
        return train(data, loss="stable", batch_size=batch_size, steps=steps)

    def render(epsilon, batch_size):
        trace = cached_trace(batch_size, epsilon)
        stable = cached_stable(batch_size)
        result = trace.result
        setting = f"ε = {epsilon:.0e}, B = {batch_size}, {steps} steps"
        if result.went_nonfinite:
            text = (
                f"{setting}: <b>went NaN</b> at step {result.first_nonfinite_step} "
                f"({result.first_nonfinite_stage}): 1/(p + ε) overflows float32 once ε < 1/FLT_MAX"
            )
        else:
            lost = 100 * (stable.test_accuracy - result.test_accuracy)
            never = ", ".join(str(k) for k in trace.never_predicted) or "none"
            text = (
                f"{setting}: epsilon accuracy <b>{result.test_accuracy:.3f}</b> vs stable "
                f"{stable.test_accuracy:.3f} ({lost:+.1f} points lost); gradient row exactly 0 for "
                f"<b>{100 * trace.zero_rows.mean():.1f} %</b> of examples per step "
                f"({100 * trace.dead_rows.mean():.1f} % wrong with p(target) = 0); "
                f"digits never predicted: {never}"
            )
        return plot_gradient_trace(trace, stable_accuracy=stable.test_accuracy), text

    controls = {
        "epsilon": widgets.FloatLogSlider(
            value=epsilon,
            base=10,
            min=-44,
            max=-1,
            step=1,
            description="epsilon",
            readout_format=".0e",
            continuous_update=False,
        ),
        "batch_size": _choice_slider("batch size", list(batch_sizes), batch_size),
    }
    explorer = Explorer(controls, render, title=f"What log(p + ε) does to training ({data.name})")
    explorer.cached_trace = cached_trace
    explorer.cached_stable = cached_stable
    return explorer


# --- lesson 06: logit gap ---


@old_keywords(flush="flush_subnormals")
def logit_gap_explorer(*, gap: float = 50.0, flush_subnormals: bool = True, max_gap: float = 130.0):
    """Logit gap slider → float32 softmax, the naive/epsilon/stable loss and gradient at that gap.

    The curves come from ``losses_by_gap`` (the training core's own arithmetic) and are cached per
    flush setting (``explorer.cached_curves.cache_info()``).
    Introduced in lesson 06.
    """
    require_positive_real("max_gap", max_gap)
    require_real("gap", gap, low=0, high=max_gap)
    require_bool("flush_subnormals", flush_subnormals)
    limits = float_limits("float32")

    @lru_cache(maxsize=4)
    def cached_curves(flush_subnormals):
        return losses_by_gap(
            np.arange(0.0, max_gap + 0.25, 0.25), dtype="float32", flush_subnormals=flush_subnormals
        )

    def render(gap, flush_subnormals):
        point = losses_by_gap([gap], dtype="float32", flush_subnormals=flush_subnormals)
        figure = plot_losses_by_gap(cached_curves(flush_subnormals), limits, gap=gap)
        text = (
            f"gap {gap:g}: float32 p(target) = <b>{float(point.probability[0]):.3g}</b>; loss naive "
            f"<b>{float(point.naive_loss[0]):.4g}</b>, epsilon {float(point.epsilon_loss[0]):.4g}, "
            f"stable <b>{float(point.stable_loss[0]):.4g}</b>; ∂loss/∂z_target naive "
            f"{float(point.naive_gradient[0]):.3g}, epsilon {float(point.epsilon_gradient[0]):.3g}, "
            f"stable {float(point.stable_gradient[0]):.3g}"
        )
        return figure, text

    controls = {
        "gap": widgets.FloatSlider(
            value=gap,
            min=0.0,
            max=max_gap,
            step=0.5,
            description="logit gap",
            continuous_update=False,
        ),
        "flush_subnormals": widgets.Checkbox(
            value=flush_subnormals, description="flush subnormals (TensorFlow)"
        ),
    }
    explorer = Explorer(controls, render, title="One example's loss against its logit gap (float32)")
    explorer.cached_curves = cached_curves
    return explorer


# --- lesson 07: optimizers ---


def optimizer_explorer(
    data,
    *,
    optimizer: str = "rmsprop",
    batch_size: int = 205,
    learning_rate: float = 0.01,
    loss: str = "naive",
    reduction: str = "sum",
):
    """Optimizer, batch size, learning rate, loss and reduction → loss curve and largest logit gap.

    Runs are cached by their parameters (``explorer.cached_run.cache_info()``).
    Introduced in lesson 07.
    """
    require_data(data)
    _option("optimizer", optimizer, list(OPTIMIZERS))
    _option("batch_size", batch_size, OPTIMIZER_BATCH_SIZES)
    _option("learning_rate", learning_rate, OPTIMIZER_RATES)
    _option("loss", loss, LOSSES)
    _option("reduction", reduction, REDUCTIONS)
    limit = float_limits("float32").softmax_zero_gap

    @lru_cache(maxsize=128)
    def cached_run(optimizer, batch_size, learning_rate, loss, reduction):
        return trace_steps(
            data,
            optimizer=optimizer,
            batch_size=batch_size,
            learning_rate=learning_rate,
            loss=loss,
            reduction=reduction,
        )

    def render(optimizer, batch_size, learning_rate, loss, reduction):
        trace = cached_run(optimizer, batch_size, learning_rate, loss, reduction)
        result = trace.result
        reached = float(np.max(trace.logit_gap))
        if result.went_nonfinite:
            verdict = (
                f"<b>went NaN</b>: first non-finite {result.first_nonfinite_stage} at step "
                f"<b>{result.first_nonfinite_step}</b>"
            )
            headline = f"NaN at step {result.first_nonfinite_step}"
        else:
            verdict = "all values finite for 1000 steps"
            headline = f"finite, accuracy {result.test_accuracy:.3f}"
        figure = plot_optimizer_run(
            trace,
            limit,
            title=f"{optimizer}, lr {learning_rate:g}, B={batch_size}, {loss} + {reduction}: {headline}",
        )
        text = (
            f"{optimizer}, learning rate {learning_rate:g}, batch size {batch_size}, {loss} loss, "
            f"{reduction}: test accuracy <b>{result.test_accuracy:.3f}</b>; {verdict}; largest logit "
            f"gap reached {reached:.1f} (float32 softmax gives p = 0 beyond {limit:.2f})"
        )
        return figure, text

    controls = {
        "optimizer": widgets.Dropdown(
            options=list(OPTIMIZERS), value=optimizer, description="optimizer"
        ),
        "batch_size": _choice_slider("batch size", OPTIMIZER_BATCH_SIZES, batch_size),
        "learning_rate": _choice_slider("learning rate", OPTIMIZER_RATES, learning_rate),
        "loss": widgets.Dropdown(options=LOSSES, value=loss, description="loss"),
        "reduction": widgets.Dropdown(options=REDUCTIONS, value=reduction, description="reduction"),
    }
    explorer = Explorer(controls, render, title=f"Optimizers on the tutorial's model ({data.name})")
    explorer.cached_run = cached_run
    return explorer


# --- lesson 08: capstone ---


def fix_explorer(
    data,
    fixes: dict,
    *,
    batch_sizes,
    factors=(0.1, 1.0, 10.0),
    steps: int = 1000,
    fix: str | None = None,
):
    """Pick a fix → its phase diagram (batch size × learning rate) and its outcome at its own rate.

    ``fixes`` maps names to ``train`` arguments as in :func:`~course_utils.sweeps.fix_grid` (runs of
    ``steps`` steps); a picture costs up to ``len(batch_sizes) × len(factors)`` runs the first
    time, cached on disk and in memory after.
    Introduced in lesson 08.
    """
    batch_sizes, factors = require_fix_grid(data, fixes, batch_sizes, factors, steps)
    if fix is not None:
        _option("fix", fix, list(fixes))

    @lru_cache(maxsize=64)
    def cached_grid(name):
        return fix_grid(data, {name: fixes[name]}, batch_sizes, factors, steps=steps)[name]

    labels = [f"×{factor:g}" for factor in factors]

    def render(fix):
        grid = cached_grid(fix)
        cells = []
        if 1.0 in factors:
            for row in grid[:, list(factors).index(1.0)]:
                outcome = (
                    f"NaN at step {int(row['first_nonfinite_step'])}"
                    if row["went_nonfinite"]
                    else f"{float(row['test_accuracy']):.3f}"
                )
                cells.append(f"B={int(row['batch_size'])}: {outcome}")
        finite = int((~grid["went_nonfinite"]).sum())
        figure = plot_phase_diagrams(
            {fix: grid},
            labels,
            xlabel="learning rate (× the fix's own)",
            title=f"{fix}: {finite} of {grid.size} runs stay finite",
        )
        return figure, f"<b>{fix}</b> at its own learning rate: " + "; ".join(cells)

    controls = {
        "fix": widgets.Dropdown(options=list(fixes), value=fix or next(iter(fixes)), description="fix")
    }
    explorer = Explorer(
        controls, render, title=f"One fix across batch sizes and learning rates ({data.name})"
    )
    explorer.cached_grid = cached_grid
    return explorer


# --- lesson 09: low precision ---


def precision_explorer(
    data, *, batch_size: int = 205, dtype: str = "bfloat16", mode: str = "pure", steps: int = 40
):
    """Batch size, dtype and pure or mixed precision → logit gap and gradient norm per step of the
    naive summed tutorial, with the dtype's limits (mixed precision: float32's, where its softmax runs).

    Runs are cached by their parameters (``explorer.cached_trace.cache_info()``); float32 and
    float64 have no mixed mode (the summary says so and shows the plain run).
    Introduced in lesson 09.
    """
    require_data(data)
    _in_range("batch_size", batch_size, 2, 400)
    _option("dtype", dtype, DTYPES)
    _option("mode", mode, PRECISION_MODES)
    require_positive_int("steps", steps)

    @lru_cache(maxsize=256)
    def cached_trace(batch_size, dtype, mixed):
        return trace_steps(data, batch_size=batch_size, dtype=dtype, mixed_precision=mixed, steps=steps)

    def render(batch_size, dtype, mode):
        mixed = mode == "mixed" and dtype in LOW_PRECISION
        trace = cached_trace(batch_size, dtype, mixed)
        limits = float_limits("float32" if mixed else dtype)  # where the softmax runs
        k = trace.first_nonfinite_step
        verdict = (
            f"all values finite for {steps} steps"
            if k is None
            else f"first non-finite value (<b>{trace.result.first_nonfinite_stage}</b>) at step <b>{k}</b>"
        )
        run = f"{dtype}, {'mixed precision' if mixed else 'pure'}"
        note = " (float32 and float64 have no mixed mode: the plain run)" * (
            mode == "mixed" and not mixed
        )
        text = (
            f"B = {batch_size}, {run}{note}: softmax in {limits.dtype}, p = 0 line "
            f"{limits.softmax_zero_gap:.2f}; largest gap {np.nanmax(trace.logit_gap):.1f}; {verdict}"
        )
        headline = "stays finite" if k is None else f"NaN at step {k}"
        return plot_step_trace(trace, limits, title=f"B={batch_size}, {run}: {headline}"), text

    controls = {
        "batch_size": widgets.IntSlider(
            value=batch_size,
            min=2,
            max=400,
            step=1,
            description="batch size",
            continuous_update=False,
        ),
        "dtype": widgets.Dropdown(options=DTYPES, value=dtype, description="dtype"),
        "mode": widgets.ToggleButtons(options=PRECISION_MODES, value=mode, description="precision"),
    }
    explorer = Explorer(controls, render, title=f"The naive tutorial in low precision ({data.name})")
    explorer.cached_trace = cached_trace
    return explorer

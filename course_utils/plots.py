"""Figures of the course, as pure functions of results: no widgets, no global state.

Each function builds a new ``matplotlib.figure.Figure`` (not through pyplot, so nothing is shown or
kept alive behind the learner's back) and returns it; a notebook shows it by leaving it as the last
expression of a cell, and an explorer renders it to PNG. Conventions: labelled axes with units, a
title that states the finding, the colour-blind-safe Okabe–Ito palette, log scales where values
span decades, and diverged (NaN) runs drawn as explicit red crosses, never silently dropped.

Introduced in lesson 01.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

# Okabe–Ito colour-blind-safe palette.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
NAN_MARKER = {"marker": "x", "color": "#D55E00", "linestyle": "none", "markersize": 7}


def new_figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, object]:
    """A fresh figure with one axes, outside pyplot's global state."""
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def plot_loss_curves(results, *, title: str | None = None, ax=None) -> Figure:
    """Loss per step of one or more ``TrainResult`` (log scale); the first non-finite step is marked."""
    figure, ax = new_figure() if ax is None else (ax.figure, ax)
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
    ax.legend(fontsize="small")
    return figure


def plot_accuracy_vs_batch_size(table, *, title: str | None = None, ax=None) -> Figure:
    """Final test accuracy against batch size from a sweep table; diverged runs as red crosses at 0."""
    figure, ax = new_figure() if ax is None else (ax.figure, ax)
    finite = ~table["diverged"]
    ax.plot(
        table["batch_size"][finite],
        table["test_accuracy"][finite],
        "o",
        ms=3,
        color=COLORS[0],
        label="finished (finite)",
    )
    ax.plot(table["batch_size"][~finite], np.zeros((~finite).sum()), **NAN_MARKER, label="went NaN")
    ax.set_xlabel("batch size B (examples per step)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.05, 1.0)
    ax.set_title(title or "Final test accuracy by batch size")
    ax.legend(fontsize="small", loc="lower left")
    return figure

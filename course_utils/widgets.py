"""Widget explorers: controls that re-run or re-draw, with a figure and a one-line summary.

This is the only module that imports ipywidgets. Every explorer is an :class:`Explorer`: a dict of
controls (all with ``continuous_update=False``), a ``render`` function that turns the controls'
values into a matplotlib figure and an HTML summary, an ``Image`` widget showing the figure as PNG
and an ``HTML`` widget showing the summary. Because the picture and the text are widget *values*
(not prints into an Output widget), tests drive an explorer from Python by setting a control and
reading ``explorer.image.value`` / ``explorer.summary.value``, and nbval has nothing to replay.

What an explorer shows comes from pure functions in ``plots`` and runs cached by their parameters
(``functools.lru_cache`` here, the on-disk run cache in ``sweep``), so returning to a setting is
instant.

Introduced in lesson 02.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt


def figure_png(figure) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (explorers create one per update).

    The PNG carries no "Software" stamp, so the same figure gives the same bytes.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


class Explorer:
    """Controls, a figure and a summary line; the figure and summary follow the controls.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control
        Their values are passed to ``render`` as keyword arguments.
    render : callable(**values) -> (matplotlib Figure, str)
        Pure function of the control values; the string is HTML for the summary line.
    """

    def __init__(self, controls: dict[str, widgets.ValueWidget], render: Callable, *, title: str = ""):
        self.controls = controls
        self.render = render
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="720px"))
        self.summary = widgets.HTML()
        self.updates = 0
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
        """Re-render from the controls' current values (called on every control change)."""
        figure, text = self.render(**self.values())
        self.image.value = figure_png(figure)
        self.summary.value = text
        self.updates += 1

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

"""How far a figure moves when only the rounding moves: the spread over seeds and summation orders.

A run in the overshooting regime is chaotic: a last-bit difference in one float32 sum (another
CPU, another BLAS, another order of the same additions) grows until the test accuracy moves in
the third decimal or more. One run's accuracy there is one draw. :func:`accuracy_spreads` trains
each setting again over several reshuffle seeds (the order of the batches after the first epoch)
and every summation order of :mod:`~course_utils.linear`, and reports the median and the range:
what a lesson may conclude from such a figure is what holds across the whole range.

Introduced in lesson 02.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .data import MnistData, require_data
from .linear import SUMMATIONS
from .sweeps import run_configs
from .training import TrainConfig
from .validate import old_keywords, require_bool, require_choice, require_int, require_items

DEFAULT_SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True, repr=False)
class Spread:
    """Test accuracies of one setting over seeds × summation orders (NaN runs count as 0 correct).

    Introduced in lesson 02.
    """

    setting: dict
    seeds: tuple[int, ...]
    summations: tuple[str, ...]
    accuracies: np.ndarray  # shape (len(seeds), len(summations))
    nonfinite: np.ndarray  # the same shape: True where the run went NaN or infinite

    @property
    def median(self) -> float:
        return float(np.median(self.accuracies))

    @property
    def low(self) -> float:
        return float(self.accuracies.min())

    @property
    def high(self) -> float:
        return float(self.accuracies.max())

    @property
    def runs(self) -> int:
        return self.accuracies.size

    def __str__(self) -> str:
        return f"{self.median:.3f} [{self.low:.3f}–{self.high:.3f}]"

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.setting.items())
        return f"Spread({settings}: median {self}, {self.runs} runs, {int(self.nonfinite.sum())} non-finite)"


def _setting(name: str, setting) -> dict:
    if not isinstance(setting, dict):
        raise TypeError(f"{name}={setting!r} is not valid; it must be a dict of train() arguments")
    return setting


@old_keywords(progress="progress_bar")
def accuracy_spreads(
    data: MnistData,
    settings: Sequence[dict],
    *,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    summations: Iterable[str] = SUMMATIONS,
    progress_bar: bool | None = None,
) -> list[Spread]:
    """One :class:`Spread` per setting (keyword arguments of ``train``), all runs trained at once.

    The runs go through :func:`~course_utils.sweeps.run_configs`: cached, and in worker processes.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> [spread] = accuracy_spreads(load_mnist(), [dict(batch_size=100, steps=30)], seeds=[0, 1])
    >>> spread.runs, bool(spread.nonfinite.any()), 0.8 < spread.low <= spread.high < 0.95
    (6, False, True)
    """
    require_data(data)
    settings = require_items("settings", settings, _setting)
    seeds = tuple(require_items("seeds", seeds, lambda name, seed: require_int(name, seed, low=0)))
    summations = tuple(
        require_items("summations", summations, lambda name, s: require_choice(name, s, SUMMATIONS))
    )
    require_bool("progress_bar", progress_bar, optional=True)
    configs = [
        TrainConfig(**setting, seed=seed, summation=summation)
        for setting in settings
        for seed in seeds
        for summation in summations
    ]
    table = run_configs(data, configs, progress_bar=progress_bar)
    shape = (len(settings), len(seeds), len(summations))
    accuracies = table["test_accuracy"].reshape(shape)
    nonfinite = table["went_nonfinite"].reshape(shape)
    return [
        Spread(dict(setting), seeds, summations, accuracies[i], nonfinite[i])
        for i, setting in enumerate(settings)
    ]

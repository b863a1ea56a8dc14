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

from .data import MnistData
from .linear import SUMMATIONS
from .sweep import run_configs
from .training import TrainConfig

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


def accuracy_spreads(
    data: MnistData,
    settings: Sequence[dict],
    *,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    summations: Iterable[str] = SUMMATIONS,
    progress: bool | None = None,
) -> list[Spread]:
    """One :class:`Spread` per setting (keyword arguments of ``train``), all runs trained at once.

    The runs go through :func:`~course_utils.sweep.run_configs`: cached, and in worker processes.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> [spread] = accuracy_spreads(load_mnist(), [dict(batch_size=100, steps=30)], seeds=[0, 1])
    >>> spread.runs, bool(spread.nonfinite.any()), 0.8 < spread.low <= spread.high < 0.95
    (6, False, True)
    """
    seeds, summations = tuple(seeds), tuple(summations)
    if not seeds or not summations:
        raise ValueError("accuracy_spreads needs at least one seed and one summation order")
    configs = [
        TrainConfig(**setting, seed=seed, summation=summation)
        for setting in settings
        for seed in seeds
        for summation in summations
    ]
    table = run_configs(data, configs, progress=progress)
    shape = (len(settings), len(seeds), len(summations))
    accuracies = table["test_accuracy"].reshape(shape)
    nonfinite = table["went_nonfinite"].reshape(shape)
    return [
        Spread(dict(setting), seeds, summations, accuracies[i], nonfinite[i])
        for i, setting in enumerate(settings)
    ]

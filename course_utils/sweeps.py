"""Many training runs at once: batch-size scans, phase diagrams and fix matrices as tidy tables.

``sweep`` runs every combination of the values it is given and returns one row per run in a
structured numpy array (columns named like ``train``'s arguments and ``TrainResult``'s fields).
The runs are trained together by :func:`~course_utils.multirun.train_many`, which gives each run
exactly the numbers a single ``train`` gives, in worker processes on every core (a batch-size ×
learning-rate grid about 4-5 times faster than a loop on two cores; a plain batch-size scan, whose
runs share no batches, gains from the processes only). Finished runs are
cached on disk, one small file per run written atomically (safe when several processes sweep at
once), keyed by their configuration, the data's fingerprint and the source code of the numerics,
so re-running a notebook costs almost nothing.

Introduced in lesson 02.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pooch
from tqdm.auto import tqdm

from .data import MnistData, require_data
from .model import DEFAULT_EPSILON
from .multirun import iter_train_many
from .training import (
    SETTINGS,
    STAGES,
    TrainConfig,
    TrainResult,
    require_batch_fits,
)
from .validate import (
    deprecated_alias,
    old_keywords,
    require_bool,
    require_choice,
    require_items,
    require_kind,
    require_mapping,
    require_path,
    require_positive_int,
    require_positive_real,
    shown,
)

# The type of a sweep column for each type of setting (strings: sized by their choices).
_COLUMN_TYPES = {"int": np.int64, "float": np.float64, "bool": np.bool_}


def _column(name: str, kind, choices=None) -> tuple:
    kind = kind if isinstance(kind, str) else kind.__name__  # an annotation, or the type itself
    if choices is not None:  # wide enough for the longest choice, so that no value is truncated
        return (name, f"U{max(len(choice) for choice in choices)}")
    if kind not in _COLUMN_TYPES:
        raise TypeError(
            f"the setting {name!r} of TrainConfig has type {kind!r}, which has no sweep column: "
            f"make it one of {', '.join(_COLUMN_TYPES)}, or a string with choices in its metadata"
        )
    return (name, _COLUMN_TYPES[kind])


def _sweep_dtype(config_type: type = TrainConfig) -> np.dtype:
    """One column per setting of ``config_type`` (in its order), then the outcome of the run."""
    settings = [_column(f.name, f.type, f.metadata.get("choices")) for f in fields(config_type)]
    outcome = [
        ("test_accuracy", np.float64),
        ("went_nonfinite", np.bool_),
        ("first_nonfinite_step", np.int64),
        _column("first_nonfinite_stage", "str", STAGES),
        ("final_loss", np.float64),
    ]
    return np.dtype(settings + outcome)


# Columns of a sweep table: those of TrainConfig's settings, then ``test_accuracy``, ``went_nonfinite``,
# ``first_nonfinite_step`` (-1 for runs that stayed finite), ``first_nonfinite_stage`` ("" for them) and
# ``final_loss`` (the loss of the last step; NaN for runs that went non-finite).
SWEEP_DTYPE = _sweep_dtype()
CONFIG_FIELDS = SETTINGS  # the setting columns, in TrainConfig's order


def _numerics(start: str = "sweeps") -> list[str]:
    """The package's source files whose code makes a sweep's numbers: ``start`` and every module of
    the package that it imports, directly or through another (read from their import statements)."""
    here = Path(__file__).parent
    found, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for node in ast.walk(ast.parse((here / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .module import ...
                todo.extend([node.module] if node.module else [a.name for a in node.names])
    return sorted(f"{name}.py" for name in found)


_NUMERICS = tuple(_numerics())  # the source files that key the run cache
PROGRESS_MIN_RUNS = 8  # fewer runs than this finish in about a second: no progress bar


def cache_dir() -> Path:
    """Where finished runs are cached: ``$BATCH205_CACHE`` or a folder in the user's cache."""
    return Path(os.environ.get("BATCH205_CACHE") or pooch.os_cache("batch205") / "runs")


def _code_version() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _NUMERICS:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def _as_list(name: str, value) -> list:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return require_items(name, value, lambda _, item: item)  # one value or more, not none


def require_table(name: str, table) -> np.ndarray:
    """Return ``table`` if it is a sweep table (what :func:`sweep`, :func:`run_configs` and
    :func:`fix_grid` return, or rows of one); otherwise a TypeError naming ``name``."""
    if not isinstance(table, np.ndarray) or table.dtype != SWEEP_DTYPE:
        raise TypeError(
            f"{name}={shown(table)} is not valid; it must be a sweep table (from sweep, "
            "run_configs or fix_grid)"
        )
    return table


def _check_options(progress_bar, cache, workers) -> None:
    """The options that :func:`sweep` and :func:`run_configs` share."""
    require_bool("progress_bar", progress_bar, optional=True)
    if not isinstance(cache, bool):
        require_path("cache", cache)
    require_positive_int("workers", workers, optional=True)


def _row(config: TrainConfig, result: TrainResult) -> tuple:
    step = result.first_nonfinite_step
    return (
        *(getattr(config, name) for name in CONFIG_FIELDS),
        result.test_accuracy,
        step is not None,
        -1 if step is None else step,
        result.first_nonfinite_stage or "",
        float(result.losses[-1]),
    )


class RunCache:
    """Rows of finished runs on disk, one small file per run, written atomically."""

    def __init__(self, folder: Path, data: MnistData):
        self.folder = Path(folder)
        self.prefix = f"{data.fingerprint[:16]}-{_code_version()}"

    def _path(self, config: TrainConfig) -> Path:
        # Every setting of the run, by name (read from the config itself, so none is left out).
        settings = [(f.name, getattr(config, f.name)) for f in fields(config)]
        key = json.dumps([self.prefix, settings], default=str)
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".npy")

    def get(self, config: TrainConfig):
        try:
            row = np.load(self._path(config), allow_pickle=False)
        except (OSError, ValueError):  # absent, or unreadable: treat as not cached
            return None
        return row if row.dtype == SWEEP_DTYPE and row.shape == () else None

    def put(self, config: TrainConfig, row: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Write to a private temporary file, then rename: readers never see half a file, and
        # two processes writing the same run both write the same bytes.
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, row, allow_pickle=False)
            os.replace(tmp, self._path(config))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@old_keywords(progress="progress_bar")
def sweep(
    data: MnistData,
    *,
    batch_size=100,
    learning_rate=0.01,
    steps=1000,
    loss="naive",
    reduction="sum",
    dtype="float32",
    seed=0,
    epsilon=DEFAULT_EPSILON,
    flush_subnormals=True,
    optimizer="gradient_descent",
    mixed_precision=False,
    loss_scale=1.0,
    dynamic_loss_scale=False,
    summation=None,
    progress_bar: bool | None = None,
    cache: bool | str | os.PathLike = True,
    workers: int | None = None,
) -> np.ndarray:
    """Train every combination of the given values; one row per run.

    Every setting of :class:`~course_utils.training.TrainConfig` (the arguments of
    :func:`~course_utils.training.train`, with the same defaults) takes one value or a list of
    values; the runs are their Cartesian product, nested in the order of the arguments (the last
    varies fastest).

    Parameters
    ----------
    batch_size, learning_rate, steps, loss, reduction, dtype, seed, epsilon, flush_subnormals, \
optimizer, mixed_precision, loss_scale, dynamic_loss_scale, summation
        As in :func:`~course_utils.training.train`; ``summation=None`` is ``$BATCH205_SUMMATION``
        or ``"blas"``.
    progress_bar : bool or None
        Show a tqdm progress bar; ``None`` shows one when there are many runs to do.
    cache : bool or path
        ``True`` caches runs in :func:`cache_dir`, a path caches them there, ``False`` not at all.
    workers : int or None
        Worker processes (see :func:`~course_utils.multirun.train_many`); ``None`` picks one per
        core for long sweeps. The numbers do not depend on it.

    Returns
    -------
    numpy structured array of dtype ``SWEEP_DTYPE``

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> table = sweep(load_mnist(), batch_size=[100, 2000], steps=20, cache=False)
    >>> table["went_nonfinite"].tolist()
    [False, True]
    """
    arguments = locals()  # the parameters by name; tests/test_config.py checks they are SETTINGS
    require_data(data)
    _check_options(progress_bar, cache, workers)
    configs = _grid({name: arguments[name] for name in SETTINGS})
    return run_configs(data, configs, progress_bar=progress_bar, cache=cache, workers=workers)


def _grid(settings: dict) -> list[TrainConfig]:
    """The configurations of a sweep: the Cartesian product of ``settings`` (setting -> one value
    or a list), nested in the order of SETTINGS, the last varying fastest; the rest as defaults."""
    names = [name for name in SETTINGS if name in settings]
    axes = [_as_list(name, settings[name]) for name in names]
    return [TrainConfig(**dict(zip(names, values, strict=True))) for values in itertools.product(*axes)]


def _sweep_settings(name: str, settings) -> dict:
    if not isinstance(settings, dict):
        raise TypeError(f"{name}={settings!r} is not valid; it must be a dict of sweep() settings")
    unknown = sorted(set(settings) - set(SETTINGS), key=str)
    if unknown:
        raise TypeError(
            f"{name} has {unknown[0]!r}, which is not a setting; the settings are {', '.join(SETTINGS)}"
        )
    return settings


def sweep_together(
    data: MnistData,
    sweeps: dict,
    *,
    progress_bar: bool | None = None,
    cache: bool | str | os.PathLike = True,
    workers: int | None = None,
) -> dict[str, np.ndarray]:
    """Several sweeps trained together: ``{name: sweep's settings}`` -> ``{name: its table}``.

    Each entry's settings are :func:`sweep`'s keyword arguments (one value or a list each), and
    its table is the one :func:`sweep` would return. All the runs go to the workers at once, so
    both cores stay busy to the end (one sweep after another leaves a core idle while the last
    long run of each finishes). Options as in :func:`sweep`.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> sum_and_mean = {
    ...     "sum": dict(batch_size=[100, 2000], steps=20),
    ...     "mean": dict(batch_size=2000, steps=20, reduction="mean"),
    ... }
    >>> tables = sweep_together(load_mnist(), sum_and_mean, cache=False)
    >>> tables["sum"]["went_nonfinite"].tolist(), tables["mean"]["went_nonfinite"].tolist()
    ([False, True], [False])
    """
    require_data(data)
    sweeps = require_mapping("sweeps", sweeps, _sweep_settings)
    _check_options(progress_bar, cache, workers)
    grids = {name: _grid(settings) for name, settings in sweeps.items()}
    configs = [config for grid in grids.values() for config in grid]
    table = run_configs(data, configs, progress_bar=progress_bar, cache=cache, workers=workers)
    tables, start = {}, 0
    for name, grid in grids.items():
        tables[name] = table[start : start + len(grid)]
        start += len(grid)
    return tables


@old_keywords(progress="progress_bar")
def run_configs(
    data: MnistData,
    configs,
    *,
    progress_bar: bool | None = None,
    cache: bool | str | os.PathLike = True,
    workers: int | None = None,
) -> np.ndarray:
    """One sweep-table row per :class:`~course_utils.training.TrainConfig`, in their order.

    What :func:`sweep` does once it has made its configurations, for any list of them (the fix
    matrix of lesson 08 is one): cached rows are read, the others trained together and cached as
    each run ends, so an interrupted call keeps what it finished. Options as in :func:`sweep`.
    """
    require_data(data)
    configs = require_items("configs", configs, lambda name, c: require_kind(name, c, "TrainConfig"))
    _check_options(progress_bar, cache, workers)
    for config in configs:  # all bad input reported before any work is done
        require_batch_fits(config.batch_size, len(data.train_labels))
    store = None if cache is False else RunCache(cache_dir() if cache is True else cache, data)
    table = np.zeros(len(configs), dtype=SWEEP_DTYPE)
    todo = []
    for i, config in enumerate(configs):
        row = store.get(config) if store else None
        if row is None:
            todo.append(i)
        else:
            table[i] = row
    if progress_bar is None:
        progress_bar = len(todo) >= PROGRESS_MIN_RUNS
    if not todo:
        return table
    # All runs at once (course_utils.multirun: the same numbers as single runs).
    runs = [configs[i] for i in todo]
    for k, result in iter_train_many(data, runs, progress_bar=progress_bar, workers=workers):
        i = todo[k]
        table[i] = _row(configs[i], result)
        if store:
            store.put(configs[i], table[i])
    return table


def failing_batch_sizes(table: np.ndarray) -> list[int]:
    """Batch sizes whose run went non-finite, ascending (one configuration per batch size)."""
    require_table("table", table)
    return sorted(int(b) for b in np.unique(table["batch_size"][table["went_nonfinite"]]))


def smallest_failing_batch_size(table: np.ndarray) -> int | None:
    """The smallest batch size in ``table`` whose run went non-finite, or None if none did."""
    require_table("table", table)
    failing = failing_batch_sizes(table)
    return failing[0] if failing else None


@old_keywords(progress="progress_bar")
def scan_to_first_failure(
    data: MnistData,
    batch_sizes,
    *,
    chunk: int = 16,
    progress_bar: bool | None = None,
    **sweep_arguments,
) -> tuple[int | None, np.ndarray]:
    """Scan batch sizes in ascending order and stop at the first one whose run goes non-finite.

    The scan runs :func:`sweep` on ``chunk`` sizes at a time (cached on disk
    like every sweep), so it trains only the sizes up to the first failure, plus the rest of that
    chunk. Because the failing sizes form a ragged band, only a scan of *every* size below the
    answer can say it is the smallest; bisection cannot (lesson 02).

    Parameters
    ----------
    data : MnistData
    batch_sizes : iterable of int
        The sizes to try, in the order given (normally ascending).
    chunk : int
        How many sizes to run per ``sweep`` call.
    progress_bar : bool or None
        Show one tqdm bar for the whole scan; ``None`` shows it for 8 or more sizes.
    **sweep_arguments
        One value each for ``learning_rate``, ``steps``, ``dtype``, ``reduction``, ...

    Returns
    -------
    (int or None, table)
        The first failing size (None if none failed) and the sweep table of the sizes run.

    Examples
    --------
    >>> from course_utils import load_mnist
    >>> found, table = scan_to_first_failure(load_mnist(), range(170, 200), steps=20, cache=False)
    >>> found, len(table)
    (174, 16)

    Introduced in lesson 02.
    """
    require_data(data)
    sizes = require_items("batch_sizes", batch_sizes, require_positive_int)
    require_positive_int("chunk", chunk)
    require_bool("progress_bar", progress_bar, optional=True)
    if progress_bar is None:
        progress_bar = len(sizes) >= 8
    bar = None
    if progress_bar:
        # No total: the scan stops at the first failure, usually long before the last size.
        bar = tqdm(desc="batch-size scan", unit="run")
    tables = []
    found = None
    try:
        for start in range(0, len(sizes), chunk):
            table = sweep(
                data, batch_size=sizes[start : start + chunk], progress_bar=False, **sweep_arguments
            )
            tables.append(table)
            if bar is not None:
                bar.update(len(table))
            if table["went_nonfinite"].any():
                found = int(table["batch_size"][table["went_nonfinite"]][0])
                break
    finally:
        if bar is not None:
            bar.close()
    return found, np.concatenate(tables) if tables else np.zeros(0, dtype=SWEEP_DTYPE)


# its old name, for learners' copies of older lessons (RENAMES.md)
first_failing_batch_size = deprecated_alias(scan_to_first_failure, "first_failing_batch_size")


def phase_grid(
    table: np.ndarray,
    rows: str = "batch_size",
    columns: str = "learning_rate",
    value: str = "test_accuracy",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrange a two-axis sweep as a grid: (row values, column values, grid of ``value``).

    Runs that went non-finite are NaN in the grid when ``value`` is ``"test_accuracy"`` or ``"final_loss"``,
    so a plot can mark them explicitly.
    """
    require_table("table", table)
    for name, column in (("rows", rows), ("columns", columns), ("value", value)):
        require_choice(name, column, SWEEP_DTYPE.names)
    row_values = np.unique(table[rows])
    column_values = np.unique(table[columns])
    grid = np.full((len(row_values), len(column_values)), np.nan)
    for record in table:
        i = np.searchsorted(row_values, record[rows])
        j = np.searchsorted(column_values, record[columns])
        nan = record["went_nonfinite"] and value in ("test_accuracy", "final_loss")
        grid[i, j] = np.nan if nan else record[value]
    return row_values, column_values, grid


def _fix(name: str, fix) -> dict:
    """One fix of :func:`fix_grid`: train() arguments, the learning rate maybe a function of B."""
    if not isinstance(fix, dict):
        raise TypeError(f"{name}={shown(fix)} is not valid; it must be a dict of train() arguments")
    return fix


def require_fix_grid(data, fixes, batch_sizes, factors, steps) -> tuple[list, list]:
    """The arguments of :func:`fix_grid` (and of its explorer) checked, before any run is trained;
    returns the batch sizes and the factors as lists."""
    require_data(data)
    require_mapping("fixes", fixes, _fix)
    batch_sizes = require_items("batch_sizes", batch_sizes, require_positive_int)
    factors = require_items("factors", factors, require_positive_real)
    require_positive_int("steps", steps)
    return batch_sizes, factors


@old_keywords(progress="progress_bar")
def fix_grid(
    data,
    fixes: dict,
    batch_sizes,
    factors=(1.0,),
    *,
    steps: int = 1000,
    progress_bar: bool | None = None,
) -> dict:
    """Measure fixes at every batch size (rows) and learning-rate factor (columns), ``steps`` each.

    ``fixes`` maps a name to ``train`` arguments; a fix's ``learning_rate`` (0.01 if absent) may be
    a function of the batch size, e.g. ``lambda B: 1 / B``, and each column trains at ``factor ×``
    that rate. Runs are shared with ``sweep``'s on-disk cache (a run measured by either is reused
    by both), and the missing ones train together (``course_utils.multirun``), so that runs with
    the same batch size share each batch.

    Returns
    -------
    dict of name -> sweep table of shape ``(len(batch_sizes), len(factors))``

    Introduced in lesson 08.
    """
    batch_sizes, factors = require_fix_grid(data, fixes, batch_sizes, factors, steps)
    require_bool("progress_bar", progress_bar, optional=True)
    keys, configs = [], []
    for name, fix in fixes.items():
        base = fix.get("learning_rate", 0.01)
        rest = {key: value for key, value in fix.items() if key != "learning_rate"}
        for batch_size in batch_sizes:
            rate = base(batch_size) if callable(base) else base
            for factor in factors:
                keys.append(name)
                configs.append(
                    TrainConfig(
                        batch_size=batch_size,
                        learning_rate=float(factor * rate),
                        steps=steps,
                        **rest,
                    )
                )
    table = run_configs(data, configs, progress_bar=progress_bar)
    names = np.array(keys)
    shape = (len(batch_sizes), len(factors))
    return {name: table[names == name].reshape(shape) for name in fixes}

"""Many training runs at once, giving the very numbers that single runs give.

A phase diagram or a fix matrix needs hundreds of runs of :func:`~course_utils.training.train`.
:func:`train_many` runs K configurations together on stacked weights (K × 784 × 10):

* **One step.** A stack takes :func:`~course_utils.training.train_step`, the very step of a
  single run, in its two halves (:func:`~course_utils.training.forward_step` of every stack of a
  group, then :func:`~course_utils.training.backward_step` of every stack, so that each half's
  products for the whole group can be one wide product), with a leading run axis on the
  parameters; its first non-finite stage is found by
  the single run's :func:`~course_utils.training.find_nonfinite_stage`, run by run. A change to
  the step is made once, in training.py.
* **Groups.** Runs that differ only in settings that TrainConfig marks per stack or per run (loss,
  reduction, epsilon, flushing, optimizer, learning rate) see the same batches
  (:func:`~course_utils.training.batch_indices`), so one gathered batch serves the whole group.
  Any other setting (batch size, seed, dtype, mixed precision, steps, summation order, and any
  new one) keeps runs in separate groups.
* **Stacks.** Within a group, runs that share every setting but the learning rate form a stack:
  one step, and so one call of the core's ``loss_and_gradient`` on logits of shape (runs, batch,
  classes) and one optimizer ``update`` (with one learning rate per run, an array of shape
  (runs, 1, 1)), serves them all. Both are element-wise along the run axis; every optimizer of
  :data:`~course_utils.optimizers.OPTIMIZERS` stacks this way (none needs a fallback to single
  runs). Its state is cut down with the runs (arrays with one entry per run). A stack also
  shares one loss scale (:class:`~course_utils.training.LossScaler`): a static one is the same
  for all its runs, while dynamic loss scaling decides per run whether to skip a step, so runs
  with ``dynamic_loss_scale=True`` never share a stack with a run of another learning rate (each
  trains as a stack of its own, the single run's step on a run axis of length one).
* **Dropping.** A run whose weights became NaN or infinite is finished (a single run stops there
  too); it leaves the stack and costs nothing more.
* **Processes.** Groups are independent, so when there are seconds of work they are handed to
  worker processes, one per core (:func:`default_workers`, ``$BATCH205_WORKERS``), largest first;
  a lone group is split in halves to keep every core busy. A run's numbers do not depend on the
  process or on the runs it was stacked with (tested).

Exactness. Every number is computed by the same numpy operation on the same values as in a single
run, so losses, weights, the first non-finite step and stage, and the test accuracy are identical
bit for bit (``tests/test_multirun.py`` checks this on a grid across the failure threshold, in
float32 and float64, with every loss, reduction and optimizer, and in float16 and bfloat16, pure
and mixed, with static and dynamic loss scaling: the largest difference observed is 0). The one place that needs care is the matrix product: a BLAS may round a product differently
depending on its shape (OpenBLAS, for one, has a separate kernel for small products, used for
100 × 784 times 784 × 10 but not for 784 × 20, so a product with twenty columns differs from two
with ten in the last bits). So the products are computed per run with ``np.matmul`` on the stacked
3-D arrays, which calls BLAS once per run on exactly the single run's shapes, except where one wide
product (batch × 784 times 784 × 10K, for all K runs of a group: every stack's) has been checked to
give the very same bits for these shapes, this dtype and this summation order on this machine's
BLAS (``course_utils._fast``, which the step is handed). On this machine the wide product is exact
for batches of 128 rows or more, and for a batch of 400 or 1000 rows two to three times as fast as
the products one by one (the batch is read once, not once per run: at that size reading it is
most of a product's time).

Where the time goes. The gain is bounded: per run and step, both a single run and a stack compute
the same two products (784 × 10 multiply-adds per batch row each) and the same element-wise passes
over the batch × 10 logits; stacking removes the per-call overhead of numpy (which dominates below
about 50 rows), shares the gathered batch and makes the products wider (about twice the
multiply-adds per second), and the worker processes add the second core. From B ≈ 100 on, the
products are most of the time, and a single run already computes them at about half the speed the
machine can reach; so a batch-size × learning-rate phase diagram gets about 4-5 times faster on
two cores, not more (``benchmarks/run.py`` measures it, and the bound). Runs with different batch
sizes are not stacked (their batches differ, and the per-run loss sums of a ragged stack would
round differently): a batch-size scan with one run per size gains from the processes only.

Introduced in lesson 02 (behind :func:`~course_utils.sweeps.sweep`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields

import numpy as np

from . import _fast
from .cores import usable_cores
from .data import MnistData, require_data
from .optimizers import OPTIMIZERS
from .training import (
    LossScaler,
    TrainConfig,
    TrainResult,
    backward_step,
    batch_indices,
    find_nonfinite_stage,
    forward_step,
    inputs,
    one_blas_thread,
    predictions_of,
    require_batch_fits,
    run_result,
)
from .validate import old_keywords, require_bool, require_items, require_kind, require_positive_int

PIXELS, CLASSES = 784, 10


@old_keywords(progress="progress_bar")
def train_many(
    data: MnistData,
    configs: Sequence[TrainConfig],
    *,
    progress_bar: bool = False,
    workers: int | None = None,
) -> list[TrainResult]:
    """Train every configuration; the same results as ``[run(data, c) for c in configs]``, faster.

    Parameters
    ----------
    data : MnistData
    configs : sequence of TrainConfig
    progress_bar : bool
        Show a tqdm progress bar counting finished runs.
    workers : int or None
        Worker processes to train in (each takes whole groups of runs). ``None`` uses
        :func:`default_workers` when the runs amount to more than a few seconds of work, else
        none; ``1`` trains here, in this process. The results do not depend on it. On Linux the
        workers are forked; elsewhere they are spawned, and a script that trains many runs at its
        top level needs the usual ``if __name__ == "__main__":`` guard (or ``workers=1``).

    Returns
    -------
    list of TrainResult, in the order of ``configs``

    Examples
    --------
    >>> from course_utils import TrainConfig, load_mnist
    >>> configs = [TrainConfig(batch_size=205, learning_rate=lr, steps=50) for lr in (0.01, 0.001)]
    >>> [r.went_nonfinite for r in train_many(load_mnist(), configs)]
    [True, False]

    Introduced in lesson 02.
    """
    configs = list(configs)
    results: list[TrainResult | None] = [None] * len(configs)
    for i, result in iter_train_many(data, configs, progress_bar=progress_bar, workers=workers):
        results[i] = result
    return results


def iter_train_many(
    data: MnistData,
    configs: Sequence[TrainConfig],
    *,
    progress_bar: bool = False,
    workers: int | None = None,
) -> Iterator[tuple[int, TrainResult]]:
    """Like :func:`train_many`, but yield ``(index into configs, result)`` as each run ends."""
    require_data(data)
    configs = require_items("configs", configs, lambda name, c: require_kind(name, c, "TrainConfig"))
    require_bool("progress_bar", progress_bar)
    require_positive_int("workers", workers, optional=True)
    for config in configs:  # bad input is reported before any work is done
        require_batch_fits(config.batch_size, len(data.train_labels))
    groups: dict[tuple, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(_group_key(config), []).append(i)
    tasks = list(groups.values())
    if workers is None:
        workers = default_workers() if _work(configs) >= PARALLEL_MIN_WORK else 1
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(configs), desc="training runs", unit="run")
    try:
        if workers > 1 and len(configs) > 1:
            ended = _train_in_workers(data, configs, _balance(configs, tasks, workers), workers)
        else:
            ended = (
                (members[local], result)
                for members in tasks
                for local, result in _train_group(data, [configs[i] for i in members])
            )
        for i, result in ended:
            if bar is not None:
                bar.update()
            yield i, result
    finally:
        if bar is not None:
            bar.close()


# --- worker processes: whole groups of runs, trained in other processes on the other cores ---

# Batch rows × steps worth a pool: ≈ 3 runs of 1000 steps at B = 100, about a second of work. Forking
# the workers costs far less than that (Linux); spawning them (macOS, Windows) costs about that once,
# and the pool is kept for the next call.
PARALLEL_MIN_WORK = 300_000
_pool: tuple | None = None  # (data, number of workers, executor), kept for the next call


def default_workers() -> int:
    """Worker processes for :func:`train_many`: ``$BATCH205_WORKERS``, or one per usable core."""
    setting = os.environ.get("BATCH205_WORKERS")
    if setting:
        try:
            return require_positive_int("BATCH205_WORKERS", int(setting))
        except ValueError:
            raise ValueError(
                f"BATCH205_WORKERS={setting!r} is not valid; it must be a whole number >= 1"
            ) from None
    return usable_cores()


def _work(configs: list[TrainConfig]) -> int:
    """Batch rows × steps: what a set of runs costs, roughly."""
    return sum(config.batch_size * config.steps for config in configs)


def _balance(configs: list[TrainConfig], tasks: list[list[int]], workers: int) -> list[list[int]]:
    """Tasks for the workers, largest first; the largest group is halved while there are fewer
    tasks than workers or it is more than one worker's share of the work, so that no worker is
    left with most of it (a group's halves see the same batches, so each gives the same numbers
    as the whole)."""

    def work(task: list[int]) -> int:
        return _work([configs[i] for i in task])

    share = sum(work(task) for task in tasks) / workers
    tasks = sorted(tasks, key=work, reverse=True)
    while (len(tasks) < workers or work(tasks[0]) > share) and len(tasks[0]) > 1:
        largest = tasks.pop(0)
        half = len(largest) // 2
        tasks = sorted([*tasks, largest[:half], largest[half:]], key=work, reverse=True)
    return tasks


def worker_pool(data: MnistData, workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` processes that hold ``data`` (:func:`worker_data` in a task), kept
    for the next call with the same data and number (training runs here, traces in
    :func:`~course_utils.diagnostics.trace_many`)."""
    global _pool
    if _pool is not None and (_pool[0] is not data or _pool[1] != workers):
        _pool[2].shutdown(cancel_futures=True)
        _pool = None
    if _pool is None:
        # On Linux, fork: the workers start with the course and the data already loaded, and never
        # re-run the caller's script (spawn and forkserver import a script's __main__ again, which
        # breaks scripts without an ``if __name__ == "__main__"`` guard). They only run numpy code,
        # so the threads of a Jupyter kernel do not matter to them.
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        executor = ProcessPoolExecutor(
            workers, mp_context=mp.get_context(method), initializer=_start_worker, initargs=(data,)
        )
        _pool = (data, workers, executor)
    return _pool[2]


def _train_in_workers(
    data: MnistData, configs: list[TrainConfig], tasks: list[list[int]], workers: int
) -> Iterator[tuple[int, TrainResult]]:
    global _pool
    executor = worker_pool(data, workers)
    futures = {executor.submit(_train_task, [configs[i] for i in task]): task for task in tasks}
    try:
        for future in as_completed(futures):
            task = futures[future]
            for local, result in future.result():
                for array in (result.losses, result.weights, result.bias):
                    array.flags.writeable = False  # as a single run returns them
                yield task[local], result
    except BrokenProcessPool:
        _pool = None
        raise
    finally:
        for future in futures:
            future.cancel()


_worker_data: MnistData | None = None


def _start_worker(data: MnistData) -> None:
    global _worker_data
    _worker_data = data
    # A worker whose parent was killed outright (no chance to shut the pool down) would wait for
    # work forever: it holds the write ends of its own queues. It watches its parent instead.
    parent = os.getppid()

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=exit_with_parent, daemon=True).start()


def worker_data() -> MnistData:
    """The data of this worker process of :func:`worker_pool`."""
    return _worker_data


def _train_task(configs: list[TrainConfig]) -> list[tuple[int, TrainResult]]:
    return list(_train_group(_worker_data, configs))


@dataclass
class _Stack:
    """Runs of a group that share everything but the learning rate: rows ``rows`` of the group."""

    config: TrainConfig  # of its first run; only the shared settings are used
    rows: slice
    optimizer: object
    state: object
    scaler: LossScaler


def _group_key(config: TrainConfig) -> tuple:
    """The settings that runs of one group share: all but those marked per stack or per run in
    TrainConfig (so a new setting keeps runs apart unless it is marked)."""
    return tuple(getattr(config, f.name) for f in fields(config) if "stacking" not in f.metadata)


def _stack_key(config: TrainConfig) -> tuple:
    """The settings that runs of one stack share: all but the per-run one, the learning rate
    (and that one too with dynamic loss scaling, whose skipped steps are per run)."""
    return tuple(
        getattr(config, f.name)
        for f in fields(config)
        if f.metadata.get("stacking") != "per run" or config.dynamic_loss_scale
    )


def _make_stacks(configs: list[TrainConfig], order: np.ndarray, params: list[np.ndarray]) -> list:
    """One :class:`_Stack` per run of equal stack keys in ``order`` (which sorts them together)."""
    stacks, start = [], 0
    keys = [_stack_key(configs[i]) for i in order]
    for stop in range(1, len(order) + 1):
        if stop == len(order) or keys[stop] != keys[start]:
            rows = slice(start, stop)
            rates = np.array([configs[i].learning_rate for i in order[rows]]).reshape(-1, 1, 1)
            optimizer = OPTIMIZERS[configs[order[start]].optimizer](learning_rate=rates)
            state = optimizer.init([p[rows] for p in params])
            config = configs[order[start]]
            scaler = LossScaler(config.loss_scale, config.dynamic_loss_scale)
            stacks.append(_Stack(config, rows, optimizer, state, scaler))
            start = stop
    return stacks


def _keep_runs(state, keep: np.ndarray):
    """The optimizer state restricted to the kept runs: arrays with one entry per run are indexed,
    anything else (such as Adam's shared ``beta1_power``) is kept as it is."""
    if isinstance(state, dict):
        return {name: _keep_runs(value, keep) for name, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_keep_runs(value, keep) for value in state)
    if isinstance(state, np.ndarray) and state.ndim > 0 and len(state) == len(keep):
        return state[keep]
    return state


def _compact(stacks: list[_Stack], keep: np.ndarray) -> list[_Stack]:
    """The stacks without the runs where ``keep`` is False (rows renumbered)."""
    kept, start = [], 0
    for stack in stacks:
        mine = keep[stack.rows]
        if mine.any():
            rows = slice(start, start + int(mine.sum()))
            rates = stack.optimizer.learning_rate[mine]
            optimizer = OPTIMIZERS[stack.config.optimizer](learning_rate=rates)
            state = _keep_runs(stack.state, mine)
            kept.append(_Stack(stack.config, rows, optimizer, state, stack.scaler))
            start = rows.stop
    return kept


def _train_group(data: MnistData, configs: list[TrainConfig]) -> Iterator[tuple[int, TrainResult]]:
    """Train runs that see the same batches; yield (index into ``configs``, result) as they end."""
    with one_blas_thread():  # as training.run
        yield from _train_group_here(data, configs)


def _train_group_here(data: MnistData, configs: list[TrainConfig]) -> Iterator[tuple[int, TrainResult]]:
    """training.run for a group of runs: the same inputs, batches, step and record, with a leading
    run axis on the parameters (each stack takes the step together).

    Rows and runs: ``weights[row]`` and ``bias[row]`` are the parameters of run ``runs[row]`` (an
    index into ``configs``, and so into ``losses``, ``first_step`` and ``first_stage``). Rows are
    renumbered when finished runs leave; run indices never change.
    """
    first = configs[0]  # the group's runs share its batches, dtype and number of steps
    images, onehot, test_images = inputs(data, first)
    # Runs of one stack are neighbours, so that each stack is a slice of the rows.
    runs = np.array(sorted(range(len(configs)), key=lambda i: _stack_key(configs[i])), dtype=np.intp)
    weights = np.zeros((len(runs), PIXELS, CLASSES), dtype=first.weights_dtype)
    bias = np.zeros((len(runs), 1, CLASSES), dtype=first.weights_dtype)
    stacks = _make_stacks(configs, runs, [weights, bias])
    losses = np.full((len(configs), first.steps), np.nan, dtype=first.weights_dtype)
    first_step: list[int | None] = [None] * len(configs)
    first_stage: list[str | None] = [None] * len(configs)

    def results(ending: np.ndarray) -> Iterator[tuple[int, TrainResult]]:
        """The results of the runs in the rows where ``ending`` (a mask over the rows) is True."""
        for stack in stacks:
            rows = np.flatnonzero(ending[stack.rows]) + stack.rows.start
            if len(rows) == 0:
                continue
            predictions = predictions_of(stack.config, test_images, weights[rows], bias[rows])
            for row, predicted in zip(rows, predictions, strict=True):
                i = runs[row]
                yield (
                    int(i),
                    run_result(
                        data,
                        configs[i],
                        losses=losses[i].copy(),
                        first_nonfinite_step=first_step[i],
                        first_nonfinite_stage=first_stage[i],
                        weights=weights[row].copy(),
                        bias=bias[row, 0].copy(),
                        predictions=predicted,
                        skipped_steps=stack.scaler.skipped_steps,
                    ),
                )

    def finish_stack(
        stack: _Stack,
        step: int,
        x: np.ndarray,
        params: list[np.ndarray],
        forward: tuple,
        weight_gradients,
    ) -> np.ndarray:
        """The second half of a stack's step, recorded run by run as a single run records it;
        returns which of its runs still have finite weights."""
        logits, result = forward
        grads = backward_step(
            x,
            result,
            params,
            stack.optimizer,
            stack.state,
            stack.config,
            stack.scaler,
            weight_gradients=weight_gradients,
        )
        stack_runs = runs[stack.rows]
        losses[stack_runs, step] = result.loss
        applied = [] if stack.scaler.skipped_last else grads  # a skipped step's are unused, as in run
        if find_nonfinite_stage(logits, result.loss, applied, params) is None:  # the common case
            return np.ones(len(stack_runs), dtype=bool)
        for k, i in enumerate(stack_runs):  # k: the run's place in the stack; i: its run index
            if first_step[i] is None:
                first_stage[i] = find_nonfinite_stage(
                    logits[k], result.loss[k], [g[k] for g in applied], [p[k] for p in params]
                )
                first_step[i] = None if first_stage[i] is None else step
        return np.logical_and.reduce([np.isfinite(p).reshape(len(p), -1).all(axis=1) for p in params])

    # Mixed precision multiplies the weights cast to the low dtype, each stack its own.
    group_weights = not first.mixed_precision
    batches = batch_indices(len(data.train_labels), first.batch_size, first.seed)
    for step in range(first.steps):
        idx = next(batches)
        x, y = images[idx], onehot[idx]
        # The step of every stack, in two halves (training.train_step's): first every stack's
        # logits and loss, then every stack's gradients and update, so that each half's products
        # for the whole group are one wide product where that is exact (stacks own disjoint rows,
        # so no stack's update touches another's weights). x in the group's summation order, and
        # the products, are made once per step.
        products = _fast.StepProducts(x, weights if group_weights else None, first.summation)
        params = [[weights[stack.rows], bias[stack.rows]] for stack in stacks]  # views, updated
        parts = [products.for_rows(stack.rows) for stack in stacks]
        forwards = [
            forward_step(x, y, p, stack.config, stack.scaler, logits_of=part[0])
            for stack, p, part in zip(stacks, params, parts, strict=True)
        ]
        if group_weights:
            products.prepare_backward([result.grad_logits for _, result in forwards], first.summation)
        finite = np.concatenate(
            [
                finish_stack(stack, step, x, p, forward, part[1])
                for stack, p, forward, part in zip(stacks, params, forwards, parts, strict=True)
            ]
        )
        if not finite.all():
            # A single run stops here (NaN/inf weights make every later loss NaN); so does this one,
            # and it leaves the stack.
            yield from results(~finite)
            runs, weights, bias = runs[finite], weights[finite], bias[finite]
            stacks = _compact(stacks, finite)
            if len(runs) == 0:
                return
    yield from results(np.ones(len(runs), dtype=bool))

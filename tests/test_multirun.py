"""Many runs at once give, run by run, exactly what single runs give: outcomes, losses, weights."""

import itertools
import sys

import numpy as np
import pytest

from course_utils import OPTIMIZERS, TrainConfig, _fast, linear, load_mnist, multirun, run, training
from course_utils.multirun import train_many
from course_utils.training import STAGES


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def grid() -> list[TrainConfig]:
    """Runs on both sides of the failure threshold, and the fixes, in both dtypes."""
    # Naive summed float32 cross-entropy around B = 175-215, where failing and surviving batch
    # sizes alternate on the sample, at the tutorial's learning rate and a slightly smaller one.
    threshold = [
        TrainConfig(batch_size=b, learning_rate=lr)
        for b, lr in itertools.product([174, 175, 205, 209, 212, 213], [0.01, 0.008])
    ]
    fixes = [
        TrainConfig(batch_size=b, loss=loss, reduction=reduction, dtype=dtype)
        for b, loss, reduction, dtype in itertools.product(
            [209], ["naive", "epsilon", "stable"], ["sum", "mean"], ["float32", "float64"]
        )
        if (loss, reduction, dtype) != ("naive", "sum", "float32")
    ]
    # Without flushing subnormals float32 fails later; and a large batch that fails at once.
    others = [TrainConfig(batch_size=b, flush_subnormals=False) for b in (185, 186, 1000)]
    return threshold + fixes + others


def low_precision_grid() -> list[TrainConfig]:
    """float16 and bfloat16, pure and mixed, with and without loss scaling (static and dynamic),
    each at two learning rates so that stacks form (dynamic ones must not stack)."""
    configs = []
    for dtype, mixed in itertools.product(["float16", "bfloat16"], [False, True]):
        precision = {"dtype": dtype, "mixed_precision": mixed, "steps": 60}
        mean = {"batch_size": 300, "loss": "stable", "reduction": "mean", **precision}
        scalings = [{}, {"loss_scale": 1024.0}, {"loss_scale": 2.0**20, "dynamic_loss_scale": True}]
        configs += [
            TrainConfig(learning_rate=lr, **mean, **scaling)
            for lr, scaling in itertools.product((1.0, 0.5), scalings)
        ]
        # The naive summed loss, on both sides of where it fails in each mode.
        configs += [
            TrainConfig(batch_size=b, learning_rate=lr, flush_subnormals=flush, **precision)
            for b, lr, flush in itertools.product([10, 205], [0.01, 0.005], [True, False])
        ]
    return configs


def optimizer_grid() -> list[TrainConfig]:
    return [
        TrainConfig(batch_size=200, learning_rate=lr, optimizer=name, steps=300)
        for name in OPTIMIZERS
        for lr in (0.01, 0.001)
    ] + [
        TrainConfig(batch_size=200, learning_rate=lr, optimizer=name, steps=40, dtype=dtype)
        for name in OPTIMIZERS
        for lr in (0.01, 0.001)
        for dtype in ("float16", "bfloat16")
    ]


@pytest.fixture(scope="module")
def pairs(data):
    configs = grid() + low_precision_grid() + optimizer_grid()
    # Two worker processes (as on CI's two cores): the results must not depend on where they ran.
    many = train_many(data, configs, workers=2)
    return list(zip(many, [run(data, c) for c in configs], strict=True))


def test_the_grid_has_runs_on_both_sides_of_the_threshold(pairs):
    naive = [single for _, single in pairs[:12]]
    assert any(r.went_nonfinite for r in naive) and not all(r.went_nonfinite for r in naive)
    assert any(r.went_nonfinite for _, r in pairs) and not all(r.went_nonfinite for _, r in pairs)


def test_the_low_precision_grid_fails_survives_and_skips_steps(pairs):
    low = [single for _, single in pairs if single.config.dtype in ("float16", "bfloat16")]
    for dtype in ("float16", "bfloat16"):
        naive = [r for r in low if r.config.dtype == dtype and r.config.loss == "naive"]
        assert any(r.went_nonfinite for r in naive) and not all(r.went_nonfinite for r in naive), dtype
    assert any(r.skipped_steps > 0 for r in low)
    assert {r.losses.dtype.name for r in low} == {"float16", "bfloat16", "float32"}


def test_outcome_and_accuracy_equal_the_single_run(pairs):
    for many, single in pairs:
        assert many.config == single.config
        assert many.first_nonfinite_step == single.first_nonfinite_step, single.config
        assert many.first_nonfinite_stage == single.first_nonfinite_stage, single.config
        assert many.test_accuracy == single.test_accuracy, single.config
        assert many.skipped_steps == single.skipped_steps, single.config


def test_losses_and_weights_are_bit_identical(pairs):
    # The largest difference found on this grid is 0: every number is computed by the same numpy
    # operation on the same values (see the docstring of course_utils.multirun).
    for many, single in pairs:
        assert many.losses.dtype == single.losses.dtype
        assert many.losses.tobytes() == single.losses.tobytes(), single.config
        assert many.weights.tobytes() == single.weights.tobytes(), single.config
        assert many.bias.tobytes() == single.bias.tobytes(), single.config


def test_results_look_like_single_results(pairs):
    for many, single in pairs:
        assert many.weights.shape == (784, 10) and many.bias.shape == (10,)
        assert many.losses.shape == single.losses.shape
        assert many.first_nonfinite_stage in (None, *STAGES)
        assert not many.weights.flags.writeable and not many.losses.flags.writeable
        assert many.data_name == single.data_name
        assert repr(many) == repr(single)


def test_per_run_products_give_the_same_results_as_wide_ones(data, monkeypatch):
    configs = [TrainConfig(batch_size=209, learning_rate=lr, steps=60) for lr in (0.01, 0.02, 0.001)]
    wide = train_many(data, configs, workers=1)
    monkeypatch.setattr(_fast, "wide_product_is_exact", lambda *args: False)
    per_run = train_many(data, configs, workers=1)
    for a, b in zip(wide, per_run, strict=True):
        assert a.losses.tobytes() == b.losses.tobytes()
        assert a.weights.tobytes() == b.weights.tobytes()


def test_the_check_of_the_wide_product_agrees_with_other_numbers():
    # Whether one wide product rounds like the per-run products depends on the shapes, not on the
    # values: the verdict (made once per shape on other random numbers) holds for these numbers.
    rng = np.random.default_rng(1)
    for batch, runs in [(50, 3), (150, 4)]:
        x = rng.random((batch, 784)).astype(np.float32)
        weights = rng.standard_normal((runs, 784, 10)).astype(np.float32)
        grads = rng.standard_normal((runs, batch, 10)).astype(np.float32)
        forward = (
            np.stack([x @ w for w in weights]).tobytes() == _fast._wide_forward(x, weights).tobytes()
        )
        backward = (
            np.stack([x.T @ g for g in grads]).tobytes() == _fast._wide_backward(x, grads).tobytes()
        )
        assert _fast.wide_product_is_exact("forward", batch, runs, "float32") == forward
        assert _fast.wide_product_is_exact("backward", batch, runs, "float32") == backward


def test_runs_that_went_nonfinite_leave_the_stack(data, monkeypatch):
    runs_per_call = []
    original = training._loss_and_gradient  # the step's (unchecked) loss

    def counting(logits, *args):
        runs_per_call.append(len(logits))
        return original(logits, *args)

    monkeypatch.setattr(training, "_loss_and_gradient", counting)
    fast, slow = train_many(
        data,
        [TrainConfig(batch_size=50, learning_rate=lr, steps=20) for lr in (5.0, 0.01)],
        workers=1,
    )
    assert fast.went_nonfinite and not slow.went_nonfinite
    assert runs_per_call[0] == 2
    assert runs_per_call[fast.first_nonfinite_step + 1 :] == [1] * (19 - fast.first_nonfinite_step)


def test_results_come_back_in_the_order_of_the_configs(data):
    configs = [
        TrainConfig(batch_size=b, learning_rate=lr, steps=5)
        for b in (300, 20, 300)
        for lr in (0.1, 0.01)
    ]
    assert [r.config for r in train_many(data, configs)] == configs


def test_bad_input_is_reported_before_any_run(data):
    with pytest.raises(ValueError, match="batch_size=4001"):
        train_many(data, [TrainConfig(steps=1), TrainConfig(batch_size=4001, steps=1)])


def _same_numbers(a, b) -> bool:
    return all(
        x.config == y.config
        and x.losses.tobytes() == y.losses.tobytes()
        and x.weights.tobytes() == y.weights.tobytes()
        and x.first_nonfinite_step == y.first_nonfinite_step
        and x.test_accuracy == y.test_accuracy
        for x, y in zip(a, b, strict=True)
    )


def test_worker_processes_give_the_numbers_of_this_process(data, monkeypatch):
    import multiprocessing

    configs = [
        TrainConfig(batch_size=b, learning_rate=lr, steps=40)
        for b in (20, 205, 600)
        for lr in (0.05, 0.01, 0.001)
    ]
    here = train_many(data, configs, workers=1)
    calls = []
    original = multirun._train_in_workers
    monkeypatch.setattr(
        multirun, "_train_in_workers", lambda *args: calls.append(args[-1]) or original(*args)
    )
    elsewhere = train_many(data, configs, workers=2)
    assert calls == [2] and len(multiprocessing.active_children()) >= 2
    assert _same_numbers(here, elsewhere)
    assert any(r.went_nonfinite for r in here) and not all(r.went_nonfinite for r in here)


def test_one_group_is_split_between_the_workers(data):
    configs = [TrainConfig(batch_size=300, learning_rate=lr, steps=40) for lr in (0.1, 0.01, 1e-3)]
    tasks = multirun._balance(configs, [[0, 1, 2]], 2)
    assert len(tasks) >= 2 and sorted(i for task in tasks for i in task) == [0, 1, 2]
    assert _same_numbers(train_many(data, configs, workers=1), train_many(data, configs, workers=2))


def test_no_worker_is_left_with_most_of_the_work():
    # Lesson 08's fix matrix: one group per batch size, the largest one more than half the work.
    sizes = (100, 205, 400, 1000)
    configs = [TrainConfig(batch_size=b, learning_rate=lr) for b in sizes for lr in (0.01, 0.005)]
    groups = [[i for i, c in enumerate(configs) if c.batch_size == b] for b in sizes]
    tasks = multirun._balance(configs, groups, 2)
    assert sorted(i for task in tasks for i in task) == list(range(len(configs)))
    largest = max(multirun._work([configs[i] for i in task]) for task in tasks)
    assert largest <= multirun._work(configs) / 2


@pytest.mark.parametrize(
    "workers, error",
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
)
def test_bad_numbers_of_workers_are_refused(data, workers, error):
    # As every other whole-number argument of the course: TypeError for a non-integer.
    with pytest.raises(error, match=f"workers={workers!r} is not valid"):
        train_many(data, [TrainConfig(steps=1)], workers=workers)


def test_the_number_of_workers_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("BATCH205_WORKERS", "3")
    assert multirun.default_workers() == 3
    monkeypatch.setenv("BATCH205_WORKERS", "two")
    with pytest.raises(ValueError, match="BATCH205_WORKERS='two' is not valid"):
        multirun.default_workers()
    monkeypatch.delenv("BATCH205_WORKERS")
    assert multirun.default_workers() >= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; workers fork on Linux")
def test_workers_exit_when_their_parent_is_killed():
    import os
    import signal
    import subprocess
    import time

    script = (
        "import multiprocessing, time\n"
        "from course_utils import TrainConfig, load_mnist\n"
        "from course_utils.multirun import train_many\n"
        "configs = [TrainConfig(batch_size=50, learning_rate=lr, steps=5) for lr in (0.1, 0.01)]\n"
        "train_many(load_mnist(), configs, workers=2)\n"
        "print(*[p.pid for p in multiprocessing.active_children()], flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        children = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(children) == 2
    finally:
        parent.send_signal(signal.SIGKILL)  # no atexit, no pool shutdown
        parent.wait()

    def alive(pid: int) -> bool:
        """Running: a process that has exited but waits to be reaped (a zombie) does not count,
        since who reaps orphans depends on the machine's init."""
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = [pid for pid in children if alive(pid)]
    for pid in survivors:  # leave no stray processes behind, even when failing
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "worker processes outlived their parent"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_stack_of_one_run_that_goes_nonfinite_records_it_as_a_single_run_does(data, dtype):
    """Issue 27: lesson 03's sweep over dtype=["float32", "float64"] left each float64 run alone in
    its stack, and under numpy 1.x recording where it went NaN raised IndexError."""
    config = TrainConfig(batch_size=50, learning_rate=5.0, steps=20, dtype=dtype)
    (many,) = train_many(data, [config], workers=1)
    single = run(data, config)
    assert many.went_nonfinite and single.went_nonfinite
    assert (many.first_nonfinite_step, many.first_nonfinite_stage) == (
        single.first_nonfinite_step,
        single.first_nonfinite_stage,
    )
    assert many.losses.tobytes() == single.losses.tobytes()


@pytest.mark.parametrize("summation", ["reversed", "float64"])
def test_stacks_of_another_summation_order_share_the_batch_copy_and_keep_the_bits(
    data, summation, monkeypatch
):
    # Two stacks (losses) of two runs (learning rates): one group, whose batch is copied into the
    # summation order once per step and product, for both stacks.
    configs = [
        TrainConfig(batch_size=150, learning_rate=lr, steps=12, loss=loss, summation=summation)
        for loss in ("naive", "stable")
        for lr in (0.01, 0.5)
    ]
    train_many(data, configs, workers=1)  # first, so that the wide products' own checks are done
    copies = []
    original = linear.left_operand
    monkeypatch.setattr(linear, "left_operand", lambda a, s: copies.append(a.shape) or original(a, s))
    stacked = train_many(data, configs, workers=1)
    assert copies.count((150, 784)) == 12 and copies.count((784, 150)) <= 12  # (fewer: a run ends)
    monkeypatch.undo()
    for config, result in zip(configs, stacked, strict=True):
        single = run(data, config)
        assert single.losses.tobytes() == result.losses.tobytes()
        assert single.weights.tobytes() == result.weights.tobytes()
        assert single.first_nonfinite_step == result.first_nonfinite_step


def _fresh_python(script: str, stdin: bytes = b"") -> None:
    """Run ``script`` in a new interpreter, which imports the course but not ml_dtypes."""
    import subprocess

    prelude = 'import sys\nimport course_utils\nassert "ml_dtypes" not in sys.modules\n'
    done = subprocess.run(
        [sys.executable, "-c", prelude + script], input=stdin, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()


def test_a_bfloat16_run_goes_to_workers_started_before_bfloat16_was_asked_for():
    """The workers fork with the course as it is then: ml_dtypes, imported at the first bfloat16
    config, was not in them, and a bfloat16 run sent there failed ("data type 'bfloat16' not
    understood"), as in lesson 09 run after another lesson's sweep."""
    _fresh_python(
        "from course_utils import TrainConfig, load_mnist\n"
        "from course_utils.multirun import train_many\n"
        "data = load_mnist()\n"
        "rates = (0.1, 0.01)\n"
        "train_many(data, [TrainConfig(batch_size=50, learning_rate=r, steps=3) for r in rates],"
        " workers=2)\n"
        "configs = [TrainConfig(batch_size=50, learning_rate=r, steps=3, dtype='bfloat16')"
        " for r in rates]\n"
        "results = train_many(data, configs, workers=2)\n"
        "assert [r.weights.dtype.name for r in results] == ['bfloat16'] * 2\n"
    )


def test_a_bfloat16_config_unpickled_where_ml_dtypes_was_never_imported_runs():
    """As in a spawned worker (macOS, Windows): the config arrives pickled, not made there."""
    import pickle

    config = TrainConfig(batch_size=50, steps=3, dtype="bfloat16")
    _fresh_python(
        "import pickle\n"
        "from course_utils import load_mnist, run\n"
        "config = pickle.loads(sys.stdin.buffer.read())\n"
        "assert run(load_mnist(), config).weights.dtype.name == 'bfloat16'\n",
        stdin=pickle.dumps(config),
    )

"""Benchmarks of the course's training code, measured side by side on this machine.

Run ``make benchmarks`` (that is ``.venv/bin/python benchmarks/run.py``); ``--quick`` runs every
figure on tiny sizes (a smoke test, not a measurement). Each figure prints one line::

    NAME ratio=X.XX first=...s second=...s [cpu_ratio=X.XX ...]

``ratio`` is how many times faster the first is than the second (median wall-clock time of the
second divided by that of the first), followed by the raw medians. The two are measured
alternately, repetition by repetition, so that a change in the machine's load hits both; the
``cpu_*`` figures are the same ratio in process CPU time, which other processes disturb less.
See benchmarks/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from threadpoolctl import threadpool_limits

from course_utils import TrainConfig, batch_indices, load_mnist, run, sweep, train, tutorial_explorer
from course_utils.multirun import default_workers

ROOT = Path(__file__).resolve().parents[1]
WIDGET_BUDGET = 0.3  # seconds from a new setting to its picture: what feels immediate (issue 26)
LESSON_BUDGET = 20.0  # seconds for a lesson's cold Run All (issue 26)


def measure(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, called alternately ``repeat`` times."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs))
        for name, pairs in times.items()
    }


def report(
    name: str, medians: dict[str, tuple[float, float]], note: str = "", cpu: bool = True
) -> None:
    """Print ``NAME ratio=... first=...s second=...s``: how many times faster the first is.

    ``cpu=False`` leaves out the CPU times (they count this process only, not worker processes).
    """
    (first, (wall1, cpu1)), (second, (wall2, cpu2)) = medians.items()
    line = f"{name} ratio={wall2 / wall1:.2f} {first}={wall1:.3f}s {second}={wall2:.3f}s"
    if cpu:
        line += f" cpu_ratio={cpu2 / cpu1:.2f} cpu_{first}={cpu1:.3f}s cpu_{second}={cpu2:.3f}s"
    print(line + (f"  # {note}" if note else ""), flush=True)


# --- (a) one run: course_utils.train against an idiomatic PyTorch loop ---


def torch_data(data) -> dict:
    """The data as torch tensors, made once outside the timed loop (in torch's favour)."""
    import torch

    return {
        "images": torch.tensor(data.train_images),
        "onehot": torch.nn.functional.one_hot(torch.tensor(data.train_labels).long(), 10).float(),
        "test_images": torch.tensor(data.test_images),
        "test_labels": data.test_labels,
    }


def torch_train(tensors: dict, batch_size: int, learning_rate: float, steps: int) -> float:
    """The tutorial in PyTorch on the CPU: same model, naive summed loss, SGD, same batches."""
    import torch

    images, onehot = tensors["images"], tensors["onehot"]
    weights = torch.zeros(784, 10, requires_grad=True)
    bias = torch.zeros(10, requires_grad=True)
    optimizer = torch.optim.SGD([weights, bias], lr=learning_rate)
    batches = batch_indices(len(images), batch_size)
    for _ in range(steps):
        idx = torch.from_numpy(next(batches))
        y = torch.softmax(images[idx] @ weights + bias, dim=1)
        loss = -(onehot[idx] * torch.log(y)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predictions = (tensors["test_images"] @ weights + bias).argmax(dim=1)
        return float((predictions.numpy() == tensors["test_labels"]).mean())


def single_run(data, repeat: int, steps: int) -> None:
    if importlib.util.find_spec("torch") is None:
        print("single_run skipped: PyTorch is not installed (it is not a dependency of the course)")
        return
    import torch

    torch.set_num_threads(1)  # course_utils pins its BLAS to one thread too
    tensors = torch_data(data)
    # lr 0.01 at B = 1000 makes the naive summed loss NaN within a few steps, and course_utils
    # stops a run there; 0.001 keeps both runs finite for all steps.
    for batch_size, learning_rate in [(100, 0.01), (1000, 0.001)]:
        ours = train(data, batch_size=batch_size, learning_rate=learning_rate, steps=steps)
        theirs = torch_train(tensors, batch_size, learning_rate, steps)
        medians = measure(
            {
                "course_utils": lambda b=batch_size, lr=learning_rate: train(
                    data, batch_size=b, learning_rate=lr, steps=steps
                ),
                "torch": lambda b=batch_size, lr=learning_rate: torch_train(tensors, b, lr, steps),
            },
            repeat,
        )
        note = (
            f"{steps} steps, lr {learning_rate:g}, test accuracy {ours.test_accuracy:.3f} vs "
            f"{theirs:.3f}, torch {torch.__version__} with 1 thread"
        )
        report(f"single_run_B{batch_size}", medians, note)


# --- (b) a batch size x learning rate phase diagram: vectorised sweep against a loop ---


def phase_diagram(data, repeat: int, steps: int, sizes: tuple[int, int]) -> None:
    rows, columns = sizes
    batch_sizes = [int(b) for b in np.geomspace(20, 1000, rows).round()]
    learning_rates = [float(lr) for lr in np.geomspace(1e-4, 1e-1, columns)]
    configs = [
        TrainConfig(batch_size=b, learning_rate=lr, steps=steps)
        for b, lr in itertools.product(batch_sizes, learning_rates)
    ]

    def vectorised():
        return sweep(
            data,
            batch_size=batch_sizes,
            learning_rate=learning_rates,
            steps=steps,
            cache=False,
            progress_bar=False,
        )

    table = vectorised()  # also a warm-up
    medians = measure(
        {
            "vectorised": vectorised,
            "loop": lambda: [run(data, config) for config in configs],
        },
        repeat,
    )
    workers = default_workers()
    note = (
        f"B {batch_sizes[0]}..{batch_sizes[-1]} x lr {learning_rates[0]:g}..{learning_rates[-1]:g} "
        f"(geometric), {steps} steps, {int(table['went_nonfinite'].sum())} of {len(table)} runs go non-finite, "
        f"{workers} worker processes"
    )
    report(f"phase_diagram_{rows}x{columns}", medians, note, cpu=False)
    products_only_bound(table, medians["loop"][0], workers)


def products_only_bound(table: np.ndarray, loop_seconds: float, workers: int) -> None:
    """The best ratio any exact vectorisation could reach: the loop against the time of nothing but
    the diagram's matrix products, at the multiply-add rate of one wide product (1000 × 784 times
    784 × 120, one BLAS thread), on every worker at once. Exactness means every run computes its own
    two products per step (batch × 784 × 10 multiply-adds each); no element-wise work is counted."""
    rng = np.random.default_rng(0)
    x = rng.random((1000, 784), dtype=np.float32)
    wide = rng.random((784, 120), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        seconds = measure({"product": lambda: x @ wide}, 200)["product"][0]
    rate = 1000 * 784 * 120 / seconds  # multiply-adds per second
    steps = np.where(table["went_nonfinite"], table["first_nonfinite_step"] + 1, table["steps"])
    multiply_adds = float((table["batch_size"] * steps).sum()) * 2 * 784 * 10
    bound = multiply_adds / rate / workers
    print(
        f"phase_diagram_bound ratio={loop_seconds / bound:.2f} products_only={bound:.3f}s "
        f"loop={loop_seconds:.3f}s  # {multiply_adds:.3g} multiply-adds at {rate / 1e9:.1f} G/s "
        f"per core on {workers} cores: the ceiling of any sweep that computes every run's products",
        flush=True,
    )


# --- (c) a widget: from a control change to the new figure ---


def widget_update(data, repeat: int, steps: int) -> None:
    import ipywidgets as widgets

    from course_utils.plots import plot_loss_curves
    from course_utils.widgets import Explorer

    def render(learning_rate):
        result = train(data, batch_size=100, learning_rate=learning_rate, steps=steps)
        figure = plot_loss_curves([result], title=f"B=100, lr={learning_rate:g}")
        return figure, f"test accuracy <b>{result.test_accuracy:.3f}</b>"

    slider = widgets.FloatSlider(value=0.01, min=0.001, max=0.02, step=0.0001, continuous_update=False)
    explorer = Explorer({"learning_rate": slider}, render)
    values = iter(np.arange(99, 10, -1) / 10_000)  # a new value, so a new run, every time

    def change() -> None:
        before = explorer.updates
        slider.value = float(next(values))
        assert explorer.updates == before + 1 and explorer.image.value

    change()  # the first figure pays for importing and setting up matplotlib
    wall, cpu = measure({"update": change}, repeat)["update"]
    budget = WIDGET_BUDGET
    print(
        f"widget_update ratio={budget / wall:.2f} update={wall:.3f}s budget={budget:.3f}s "
        f"cpu_update={cpu:.3f}s  # Explorer: slider change -> train {steps} steps at B=100 -> "
        "loss curve PNG; ratio > 1 is within the budget",
        flush=True,
    )


def widget_cached_update(data, repeat: int) -> None:
    explorer = tutorial_explorer(data, steps=10)
    control = explorer.controls["steps"]
    control.value = 100  # from here on both runs are in the explorer's cache

    def change() -> None:
        misses = explorer.cached_train.cache_info().misses
        control.value = 10 if control.value == 100 else 100
        assert explorer.cached_train.cache_info().misses == misses  # no training (nor drawing)

    wall, cpu = measure({"update": change}, repeat)["update"]
    budget = WIDGET_BUDGET  # as for an update that trains and draws
    print(
        f"widget_cached_update ratio={budget / wall:.2f} update={wall:.3f}s budget={budget:.3f}s "
        f"cpu_update={cpu:.3f}s  # lesson 01's explorer: steps control back to a value it has "
        "shown -> the PNG it kept; ratio > 1 is within the budget",
        flush=True,
    )


# --- (d) a lesson: Run All, cold ---


def lesson_run_all(root: Path, lessons: list[str], repeat: int) -> None:
    """One line per lesson: its Run All in a fresh kernel with an empty run cache, on the bundled
    sample, against the 20 s budget (tools/lesson_times.py's measurement, which the lessons' Time
    lines quote). ``root`` is the course folder, so that another copy (an older commit) can be
    measured with the same code; the kernels import the course_utils that this process would."""
    spec = importlib.util.spec_from_file_location("lesson_times", ROOT / "tools" / "lesson_times.py")
    lesson_times = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lesson_times)
    for lesson in lessons:
        path = lesson_times.notebook_path(root, lesson)
        wall = statistics.median(lesson_times.run_all_seconds(path) for _ in range(repeat))
        print(
            f"lesson_run_all_{lesson[:2]} ratio={LESSON_BUDGET / wall:.2f} run_all={wall:.3f}s "
            f"budget={LESSON_BUDGET:.3f}s  # {lesson}: Run All in a fresh kernel, empty run cache, "
            "bundled sample; ratio > 1 is within the budget",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    parser.add_argument(
        "--lessons", nargs="*", default=None, help="lessons to Run All (numbers; default: all)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the course whose lessons to run")
    parser.add_argument(
        "--only", choices=("training", "lessons"), default=None, help="only these figures"
    )
    args = parser.parse_args(argv)
    data = load_mnist("sample")
    if args.quick:
        repeat, steps, sizes, grid_repeat = args.repeat or 1, 5, (2, 2), args.repeat or 1
    else:
        repeat, steps, sizes, grid_repeat = args.repeat or 5, 1000, (16, 12), args.repeat or 3
    if args.only != "lessons":
        single_run(data, repeat, steps)
        phase_diagram(data, grid_repeat, steps, sizes)
        widget_update(data, repeat, steps)
        widget_cached_update(data, repeat)
    if args.only != "training":
        from course_utils.classroom.grading import lesson_names

        chosen = args.lessons if args.lessons is not None else (["01"] if args.quick else [])
        lessons = [n for n in lesson_names(args.root) if not chosen or n[:2] in chosen]
        # A cold Run All takes seconds to tens of seconds and varies little: once each by default.
        lesson_run_all(args.root.resolve(), lessons, args.repeat or 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

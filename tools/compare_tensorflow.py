"""Run the 2015 tutorial in TensorFlow itself on the course's data and order, and compare outcomes.

For maintainers: checks the fidelity target of COURSE_SPEC §4 (the numpy core fails at exactly the
batch sizes where TensorFlow fails). TensorFlow is not a dependency of the course; run this in a
separate environment that has it and the course's runtime packages, e.g.

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu pooch threadpoolctl tqdm
    /tmp/tfvenv/bin/python tools/compare_tensorflow.py --batch-sizes 150-400 \
        --json course_utils/bundled/tensorflow_outcomes_sample.json
    TF_ENABLE_ONEDNN_OPTS=0 /tmp/tfvenv/bin/python tools/compare_tensorflow.py --batch-sizes 150-400 \
        --json course_utils/bundled/tensorflow_outcomes_sample_eigen.json
    /tmp/tfvenv/bin/python tools/compare_tensorflow.py --optimizers all --batch-sizes 100,205,1000 \
        --json course_utils/bundled/tensorflow_optimizers_sample.json

The graph is the tutorial's, in TF1 graph mode: ``y = tf.nn.softmax(tf.matmul(x, W) + b)``,
``cross_entropy = -tf.reduce_sum(y_ * tf.log(y))``, ``GradientDescentOptimizer(lr).minimize``.
``--optimizers`` swaps the last for the ``tf.compat.v1.train`` optimizers of the 2015 answers, each
at the answer's learning rate (:data:`TF_OPTIMIZERS`). Batches are fed in the order of
``course_utils.batch_indices`` (TensorFlow's 2015 next_batch rule), so both sides see the same
examples at every step. One thread on both sides. ``TF_ENABLE_ONEDNN_OPTS=0`` makes TensorFlow 2.x
run its Eigen kernels instead of oneDNN's (COURSE_SPEC §4 "Which TensorFlow"); the record says which.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from course_utils.data import load_mnist  # noqa: E402
from course_utils.training import batch_indices, train  # noqa: E402

# The optimizers of the 2015 answers under the course's names (course_utils.OPTIMIZERS), as
# (tf.compat.v1.train class, keyword arguments, learning rate). Every hyperparameter is spelled out
# at TensorFlow 1.x's default, so that a default changed by a later release cannot change the
# record unnoticed. Adam keeps TensorFlow's default learning rate; the answers used 0.01 elsewhere.
TF_OPTIMIZERS = {
    "gradient_descent": ("GradientDescentOptimizer", {}, 0.01),
    "momentum": ("MomentumOptimizer", {"momentum": 0.9, "use_nesterov": False}, 0.01),
    "adagrad": ("AdagradOptimizer", {"initial_accumulator_value": 0.1}, 0.01),
    "rmsprop": (
        "RMSPropOptimizer",
        {"decay": 0.1, "momentum": 0.0, "epsilon": 1e-10, "centered": False},
        0.01,
    ),
    "rmsprop_decay0.9": (
        "RMSPropOptimizer",
        {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10, "centered": False},
        0.01,
    ),
    "adam": ("AdamOptimizer", {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, 0.001),
    "ftrl": (
        "FtrlOptimizer",
        {
            "learning_rate_power": -0.5,
            "initial_accumulator_value": 0.1,
            "l1_regularization_strength": 0.0,
            "l2_regularization_strength": 0.0,
        },
        0.01,
    ),
}


def tensorflow_call(optimizer: str, learning_rate: float) -> str:
    """The optimizer as Python source, e.g. ``AdagradOptimizer(0.01, initial_accumulator_value=0.1)``."""
    name, kwargs, _ = TF_OPTIMIZERS[optimizer]
    return f"{name}({', '.join([repr(learning_rate)] + [f'{k}={v!r}' for k, v in kwargs.items()])})"


def tensorflow_run(
    data, batch_size: int, learning_rate: float, steps: int, seed: int, optimizer="gradient_descent"
):
    """(first non-finite step or None, test accuracy, first losses) of the tutorial in TensorFlow."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 784])
        y_ = v1.placeholder(tf.float32, [None, 10])
        weights = tf.Variable(tf.zeros([784, 10]))
        bias = tf.Variable(tf.zeros([10]))
        y = tf.nn.softmax(tf.matmul(x, weights) + bias)
        cross_entropy = -tf.reduce_sum(y_ * tf.math.log(y))
        name, kwargs, _ = TF_OPTIMIZERS[optimizer]
        train_step = getattr(v1.train, name)(learning_rate, **kwargs).minimize(cross_entropy)
        correct = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
        init = v1.global_variables_initializer()
    config = v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    onehot = np.eye(10, dtype=np.float32)[data.train_labels]
    losses, first = [], None
    with v1.Session(graph=graph, config=config) as session:
        session.run(init)
        batches = batch_indices(len(data.train_labels), batch_size, seed)
        for step in range(steps):
            idx = next(batches)
            loss, _ = session.run(
                [cross_entropy, train_step], {x: data.train_images[idx], y_: onehot[idx]}
            )
            losses.append(float(loss))
            finite_params = all(np.isfinite(p).all() for p in session.run([weights, bias]))
            if first is None and not (np.isfinite(loss) and finite_params):
                first = step
            if not finite_params:
                break
        test_onehot = np.eye(10, dtype=np.float32)[data.test_labels]
        acc = float(session.run(accuracy, {x: data.test_images, y_: test_onehot}))
    return first, acc, losses


def parse_sizes(text: str) -> list[int]:
    """``150-400`` (a range, both ends included) or ``100,205,1000`` (a list)."""
    if "," in text:
        return [int(part) for part in text.split(",")]
    start, _, stop = text.partition("-")
    return list(range(int(start), int(stop or start) + 1))


def onednn_setting() -> dict:
    """Whether TensorFlow ran oneDNN's kernels (its default on x86 since 2.9) or Eigen's."""
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return {"TF_ENABLE_ONEDNN_OPTS": value, "onednn": value not in ("0", "false", "False")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="150-400", help="150-400 or 100,205,1000")
    parser.add_argument(
        "--optimizers",
        help="comma-separated names of TF_OPTIMIZERS or 'all', each at the answer's learning rate; "
        "default: the tutorial's gradient descent at --learning-rate",
    )
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default="sample")
    parser.add_argument("--json", type=Path, help="also save TensorFlow's outcomes to this file")
    args = parser.parse_args(argv)
    data = load_mnist(args.source)
    if args.optimizers:
        names = list(TF_OPTIMIZERS) if args.optimizers == "all" else args.optimizers.split(",")
        runs = [(name, TF_OPTIMIZERS[name][2]) for name in names]
    else:
        runs = [("gradient_descent", args.learning_rate)]
    disagree, tf_fail, np_fail, outcomes = [], [], [], {}
    for optimizer, learning_rate in runs:
        for batch_size in parse_sizes(args.batch_sizes):
            tf_first, tf_acc, _ = tensorflow_run(
                data, batch_size, learning_rate, args.steps, args.seed, optimizer
            )
            ours = train(
                data,
                batch_size=batch_size,
                learning_rate=learning_rate,
                steps=args.steps,
                seed=args.seed,
                optimizer=optimizer,
            )
            outcome = {"first_nonfinite_step": tf_first, "test_accuracy": round(tf_acc, 4)}
            outcomes.setdefault(optimizer, {})[str(batch_size)] = outcome
            key = (optimizer, batch_size)
            if tf_first is not None:
                tf_fail.append(key)
            if ours.went_nonfinite:
                np_fail.append(key)
            if tf_first != ours.first_nonfinite_step:
                disagree.append(key)
            print(
                f"{optimizer} B={batch_size}: tensorflow first_nonfinite_step={tf_first} "
                f"acc={tf_acc:.4f} | course_utils first_nonfinite_step={ours.first_nonfinite_step} "
                f"acc={ours.test_accuracy:.4f}",
                flush=True,
            )
    print(f"tensorflow fails at {len(tf_fail)} runs: {tf_fail}")
    print(f"course_utils fails at {len(np_fail)} runs: {np_fail}")
    print(f"disagreements (outcome or first non-finite step): {disagree or 'none'}")
    if args.json:
        import tensorflow as tf

        settings = {
            "steps": args.steps,
            "seed": args.seed,
            "loss": "naive",
            "reduction": "sum",
            "dtype": "float32",
            "threads": 1,
            **onednn_setting(),
        }
        record = {
            "made_by": "tools/compare_tensorflow.py",
            "tensorflow": tf.__version__,
            "data": data.name,
            "data_sha256": data.fingerprint,
        }
        if args.optimizers:
            record["settings"] = settings
            record["optimizers"] = {
                name: {"learning_rate": lr, "tensorflow_call": tensorflow_call(name, lr)}
                for name, lr in runs
            }
            record["outcomes"] = outcomes
        else:
            record["settings"] = {"learning_rate": args.learning_rate, **settings}
            record["outcomes"] = outcomes["gradient_descent"]
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run the 2015 tutorial in TensorFlow itself on the course's data and order, and compare outcomes.

For maintainers: checks the fidelity target of COURSE_SPEC §4 (the numpy core fails at exactly the
batch sizes where TensorFlow fails). TensorFlow is not a dependency of the course; run this in a
separate environment that has it and the course's runtime packages, e.g.

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu pooch threadpoolctl tqdm
    /tmp/tfvenv/bin/python tools/compare_tensorflow.py --batch-sizes 150-400

The graph is the tutorial's, in TF1 graph mode: ``y = tf.nn.softmax(tf.matmul(x, W) + b)``,
``cross_entropy = -tf.reduce_sum(y_ * tf.log(y))``, ``GradientDescentOptimizer(lr).minimize``.
Batches are fed in the order of ``course_utils.batch_indices`` (TensorFlow's 2015 next_batch rule),
so both sides see the same examples at every step. One thread on both sides.
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


def tensorflow_run(data, batch_size: int, learning_rate: float, steps: int, seed: int):
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
        train_step = v1.train.GradientDescentOptimizer(learning_rate).minimize(cross_entropy)
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
            w = session.run(weights)
            if first is None and not (np.isfinite(loss) and np.isfinite(w).all()):
                first = step
            if not np.isfinite(w).all():
                break
        test_onehot = np.eye(10, dtype=np.float32)[data.test_labels]
        acc = float(session.run(accuracy, {x: data.test_images, y_: test_onehot}))
    return first, acc, losses


def parse_range(text: str) -> list[int]:
    start, _, stop = text.partition("-")
    return list(range(int(start), int(stop or start) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="150-400", help="a range such as 150-400")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default="sample")
    parser.add_argument("--json", type=Path, help="also save TensorFlow's outcomes to this file")
    args = parser.parse_args(argv)
    data = load_mnist(args.source)
    disagree, tf_fail, np_fail, outcomes = [], [], [], {}
    for batch_size in parse_range(args.batch_sizes):
        tf_first, tf_acc, tf_losses = tensorflow_run(
            data, batch_size, args.learning_rate, args.steps, args.seed
        )
        ours = train(
            data,
            batch_size=batch_size,
            learning_rate=args.learning_rate,
            steps=args.steps,
            seed=args.seed,
        )
        outcomes[batch_size] = {"first_nonfinite_step": tf_first, "test_accuracy": round(tf_acc, 4)}
        if tf_first is not None:
            tf_fail.append(batch_size)
        if ours.diverged:
            np_fail.append(batch_size)
        if (tf_first is None) != (not ours.diverged) or tf_first != ours.first_nonfinite_step:
            disagree.append(batch_size)
        print(
            f"B={batch_size}: tensorflow first_nonfinite_step={tf_first} acc={tf_acc:.4f} | "
            f"course_utils first_nonfinite_step={ours.first_nonfinite_step} acc={ours.test_accuracy:.4f}",
            flush=True,
        )
    print(f"tensorflow fails at {len(tf_fail)} sizes: {tf_fail}")
    print(f"course_utils fails at {len(np_fail)} sizes: {np_fail}")
    print(f"disagreements (outcome or first non-finite step): {disagree or 'none'}")
    if args.json:
        import tensorflow as tf

        record = {
            "made_by": "tools/compare_tensorflow.py",
            "tensorflow": tf.__version__,
            "data": data.name,
            "data_sha256": data.fingerprint,
            "settings": {
                "learning_rate": args.learning_rate,
                "steps": args.steps,
                "seed": args.seed,
                "loss": "naive",
                "reduction": "sum",
                "dtype": "float32",
            },
            "outcomes": outcomes,
        }
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The fingerprint of the training core: a sha256 over every number a short grid of runs makes.

Every loss × reduction × dtype × flushing × optimizer (and the mixed-precision, loss-scaling and
summation-order variants) at a small and a large learning rate, and every loss × reduction × dtype ×
flushing at a batch of 500 (the step's speed paths need many rows; every loss there in the other
summation orders too), each trained for a few steps three
ways: by ``run`` (with an ``observe`` callback, so every :class:`~course_utils.training.StepRecord`
is hashed too), by ``train_many(workers=1)`` and by ``train_many(workers=2)``. The digest covers
the losses, weights, bias, first non-finite step and stage, test accuracy and skipped steps of
each run, and the arrays of every step record.

A refactoring of the loop must leave the digest unchanged. The digest depends on the machine's
BLAS and CPU (float32 products round differently elsewhere), so ``fingerprints.json`` next to this
file records it per machine (:func:`machine`); ``--check`` compares against this machine's entry,
``--record`` writes it. ``tests/test_fingerprint.py`` checks, on any machine, that the three ways
agree bit for bit and that the digest sees a change of one bit.

    .venv/bin/python tools/fingerprint.py            # print the digests
    .venv/bin/python tools/fingerprint.py --check    # compare with this machine's recorded one
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import platform
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from course_utils import DTYPES, LOSSES, OPTIMIZERS, REDUCTIONS, TrainConfig, load_mnist, run
from course_utils.multirun import train_many

RECORDED = Path(__file__).with_name("fingerprints.json")
STEPS = 4
RATES = (0.01, 2.0)  # the tutorial's, and one that overshoots within a few steps
LARGE_BATCH = 500


def every_loss(batch_size: int, optimizers) -> list[TrainConfig]:
    """Every loss × reduction × dtype × flushing × optimizer at both rates, at one batch size."""
    return [
        TrainConfig(
            batch_size=batch_size,
            learning_rate=lr,
            steps=STEPS,
            loss=loss,
            reduction=reduction,
            dtype=dtype,
            flush_subnormals=flush,
            optimizer=optimizer,
        )
        for loss, reduction, dtype, flush, optimizer, lr in itertools.product(
            LOSSES, REDUCTIONS, DTYPES, (True, False), optimizers, RATES
        )
    ]


def at_both_rates(batch_size: int, variants: list[dict]) -> list[TrainConfig]:
    """Each variant (settings beyond the defaults) at both rates, at one batch size."""
    return [
        TrainConfig(batch_size=batch_size, learning_rate=lr, steps=STEPS, **variant)
        for variant, lr in itertools.product(variants, RATES)
    ]


def grid() -> list[TrainConfig]:
    """Short runs that cover every branch of the step (a few go non-finite, some stack)."""
    variants = [
        {"dtype": dtype, "mixed_precision": True, **scaling}
        for dtype in ("float16", "bfloat16")
        for scaling in ({}, {"loss_scale": 1024.0}, {"loss_scale": 2.0**20, "dynamic_loss_scale": True})
    ] + [{"summation": order} for order in ("reversed", "float64")]
    other_orders = [
        {"loss": loss, "dtype": dtype, "summation": order}
        for order in ("reversed", "float64")
        for dtype in ("float32", "float64")
        for loss in LOSSES
    ]
    return [
        *every_loss(20, OPTIMIZERS),
        *at_both_rates(20, variants),
        # A large batch: rows enough for the step's speed paths (course_utils._fast: the wide
        # products of a stack and of a group, the class-axis sums and maxima column by column),
        # in every summation order.
        *every_loss(LARGE_BATCH, ["gradient_descent"]),
        *at_both_rates(LARGE_BATCH, other_orders),
    ]


def _update(digest, *values) -> None:
    for value in values:
        if isinstance(value, np.ndarray) or isinstance(value, np.generic):
            array = np.ascontiguousarray(value)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(repr(value).encode())


def result_digest(result) -> str:
    digest = hashlib.sha256()
    _update(
        digest,
        result.losses,
        result.weights,
        result.bias,
        result.first_nonfinite_step,
        result.first_nonfinite_stage,
        result.test_accuracy,
        result.skipped_steps,
    )
    return digest.hexdigest()


def record_digest(digest):
    """An ``observe`` callback that hashes every field of every step record, in order."""

    def observe(record) -> None:
        for name in record.__dataclass_fields__:
            _update(digest, getattr(record, name))

    return observe


def digests(data, configs) -> dict[str, str]:
    """The digest of each way of training ``configs``: ``run`` (results and step records),
    ``train_many`` with one and with two workers (results)."""
    single, records = hashlib.sha256(), hashlib.sha256()
    for config in configs:
        single.update(result_digest(run(data, config, observe=record_digest(records))).encode())
    found = {"run": single.hexdigest(), "records": records.hexdigest()}
    for workers in (1, 2):
        many = hashlib.sha256()
        for result in train_many(data, configs, workers=workers):
            many.update(result_digest(result).encode())
        found[f"train_many(workers={workers})"] = many.hexdigest()
    return found


def machine() -> str:
    """What the digest depends on besides the code: CPU, numpy and its BLAS."""
    blas = [
        f"{lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')}"
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]
    return f"{platform.machine()} {platform.processor() or ''} numpy {np.__version__} {', '.join(blas)}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="compare with this machine's record")
    action.add_argument("--record", action="store_true", help="record this machine's digest")
    args = parser.parse_args(argv)
    found = digests(load_mnist("sample"), grid())
    key = machine()
    for way, digest in found.items():
        print(f"{way:24} {digest}")
    recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    if args.record:
        recorded[key] = found
        RECORDED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"recorded for {key}")
    if args.check:
        if key not in recorded:
            print(f"no digest recorded for this machine ({key}); run with --record on the old code")
            return 2
        if recorded[key] != found:
            print("DIFFERENT from the recorded digest: the refactoring changed some bits")
            return 1
        print("identical to the recorded digest")
    return 0


if __name__ == "__main__":
    sys.exit(main())

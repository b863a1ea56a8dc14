"""The training core's fingerprint (tools/fingerprint.py): ``run``, ``train_many(workers=1)`` and
``train_many(workers=2)`` give the very same bits on a grid of every loss × reduction × dtype ×
flushing × optimizer (and the mixed-precision, loss-scaling and summation variants).

What this proves on any machine: the three ways of training agree bit for bit, and the digest
notices one changed bit. What it does not prove: that a refactoring kept the bits of the code
before it (the three ways share train_step, so a change there moves all three alike). For that,
``tools/fingerprint.py --check`` compares with the digest recorded on this machine before the
change (tools/fingerprints.json, per CPU and BLAS).
"""

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from course_utils import _fast, load_mnist, run, train_many

_spec = importlib.util.spec_from_file_location(
    "fingerprint", Path(__file__).parents[1] / "tools" / "fingerprint.py"
)
fingerprint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fingerprint)


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


@pytest.fixture(scope="module")
def digests(data):
    return fingerprint.digests(data, fingerprint.grid())


def test_the_grid_reaches_every_branch(data):
    configs = fingerprint.grid()
    results = train_many(data, configs, workers=1)
    assert {r.first_nonfinite_stage for r in results} >= {None, "loss", "gradient", "weights"}
    assert any(r.skipped_steps for r in results)  # dynamic loss scaling skipped a step


def test_the_grid_reaches_the_speed_paths(data, monkeypatch):
    large = [c for c in fingerprint.grid() if c.batch_size >= _fast.SUM_COLUMNS_MIN_ROWS]
    train_many(data, large, workers=1)  # first, so that the wide products' own checks are done
    used, orders = set(), set()  # the speed paths taken; the summation orders of wide products
    for name in ("_pairwise_columns", "_running_max_columns", "_wide_forward", "_wide_backward"):
        original = getattr(_fast, name)

        def counting(*args, name=name, original=original):
            used.add(name)
            if name.startswith("_wide"):
                orders.add(args[2] if len(args) > 2 else "blas")
            return original(*args)

        monkeypatch.setattr(_fast, name, counting)
    group_wide = set()  # whether a group's stacks took their parts of one wide product

    class Recording(_fast.StepProducts):
        def for_rows(self, rows):
            logits_of, weight_gradients = super().for_rows(rows)
            if self._forward is not None:
                group_wide.add("forward")

            def recording_gradients(x, grad_logits, summation):
                if self._backward is not None:
                    group_wide.add("backward")
                return weight_gradients(x, grad_logits, summation)

            return logits_of, recording_gradients

    monkeypatch.setattr(_fast, "StepProducts", Recording)
    train_many(data, large, workers=1)
    assert used == {"_pairwise_columns", "_running_max_columns", "_wide_forward", "_wide_backward"}
    assert group_wide == {"forward", "backward"}
    assert orders == {"blas", "reversed", "float64"}


def test_single_and_stacked_runs_give_the_same_bits(digests):
    assert digests["train_many(workers=1)"] == digests["run"]
    assert digests["train_many(workers=2)"] == digests["run"]


def test_the_digest_sees_one_bit(data):
    result = run(data, fingerprint.grid()[0])
    weights = result.weights.copy()
    weights.view(np.uint32)[3, 4] ^= 1  # the last bit of one weight
    changed = dataclasses.replace(result, weights=weights)
    assert fingerprint.result_digest(changed) != fingerprint.result_digest(result)
    same = dataclasses.replace(result, weights=result.weights.copy())
    assert fingerprint.result_digest(same) == fingerprint.result_digest(result)

"""Every checked notebook output survives every alternative float32 summation order.

Learners run the course on every kind of CPU, and another CPU's BLAS adds the same products in
another order. This test re-executes every lesson with the linear layer's sums added in each of
``course_utils.linear.ALTERNATIVE_SUMMATIONS`` (``BATCH205_SUMMATION=reversed``, then ``float64``:
the terms last to first, and float64 sums rounded once) and requires every output-checked cell to
print what the notebook stores. A notebook that stores a figure depending on the last bits (a
chaotic accuracy at three decimals, a float32 loss at every digit, a claim that sits on a
threshold) fails here, on any machine, without changing the machine's BLAS (tests never set
``OPENBLAS_*`` variables). ``tests/test_linear.py`` checks that each order differs from this
machine's BLAS, so that this test tests something here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.linear import ALTERNATIVE_SUMMATIONS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.rounding
@pytest.mark.parametrize("summation", ALTERNATIVE_SUMMATIONS)
def test_checked_outputs_hold_in_another_summation_order(summation):
    # Each pytest process of the subprocess gets an empty run cache of its own from conftest.py,
    # so no run of this session's order is reused.
    env = {**os.environ, "BATCH205_SUMMATION": summation}
    # Two notebooks at once (pytest-xdist; each notebook's cells stay in order in one kernel): one's
    # single-threaded cells overlap the other's sweeps. Outputs do not depend on the load.
    command = [sys.executable, "-m", "pytest", "lessons", "-q", "-p", "no:cacheprovider"]
    command += ["-n", "2", "--dist", "loadfile"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    report = done.stdout[-20000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"lessons under BATCH205_SUMMATION={summation}:\n{report}"
    assert " passed" in done.stdout and "failed" not in done.stdout.splitlines()[-1]

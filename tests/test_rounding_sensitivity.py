"""Every checked notebook output survives another float32 summation order.

Learners run the course on every kind of CPU, and another CPU's BLAS adds the same products in
another order. This test re-executes every lesson with the linear layer's sums added in halves
(``BATCH205_SUMMATION=halves``, course_utils.linear) and requires every ``# NBVAL_CHECK_OUTPUT``
cell to print what the notebook stores. A notebook that stores a figure depending on the last
bits (a chaotic accuracy at three decimals, a float32 loss at every digit) fails here, on any
machine, without changing the machine's BLAS (tests never set ``OPENBLAS_*`` variables).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.rounding
def test_checked_outputs_hold_with_the_sums_in_halves():
    # Each pytest process of the subprocess gets an empty run cache of its own from conftest.py,
    # so no run of this session's order is reused.
    env = {**os.environ, "BATCH205_SUMMATION": "halves"}
    # Two notebooks at once (pytest-xdist; each notebook's cells stay in order in one kernel): one's
    # single-threaded cells overlap the other's sweeps. Outputs do not depend on the load.
    # Measured on 2 cores: 222 s against about 315 s.
    command = [sys.executable, "-m", "pytest", "lessons", "-q", "-p", "no:cacheprovider"]
    command += ["-n", "2", "--dist", "loadfile"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    report = done.stdout[-20000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"lessons under BATCH205_SUMMATION=halves:\n{report}"
    assert " passed" in done.stdout and "failed" not in done.stdout.splitlines()[-1]

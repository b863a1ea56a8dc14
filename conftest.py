"""Test-session environment shared by the unit tests and the notebooks that nbval runs.

The notebooks' stored outputs were made on the bundled sample, so the kernels nbval starts must
not see a full MNIST that the developer happens to have cached, nor reuse a run cache of theirs.
"""

import os
import sys
import tempfile

_scratch = tempfile.mkdtemp(prefix="batch205-tests-")
for variable, folder in {
    "BATCH205_DATA": "no-full-mnist",
    "BATCH205_CACHE": "runs",
    "MPLCONFIGDIR": "matplotlib",
    "IPYTHONDIR": "ipython",
}.items():
    os.environ[variable] = os.path.join(_scratch, folder)
    os.makedirs(os.environ[variable], exist_ok=True)

# nbgrader calls `alembic` as a command: make the venv's scripts findable even when pytest was
# started as `.venv/bin/python -m pytest` without activating the venv.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

# course_utils/grading.py is only the deprecated name of course_utils.classroom.grading, the same
# module (it replaces itself in sys.modules): its docstring examples are collected there.
collect_ignore = ["course_utils/grading.py"]

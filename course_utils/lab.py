"""Start the course in JupyterLab: ``python -m course_utils lab [ARGS...]`` (what ``make lab`` runs).

One entry point for students and for the browser test (``tests/test_browser.py``), so the command a
new user runs first is the one that is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[1] / "lessons"

# Extra arguments that choose the served folder themselves; then the default root is left out
# (traitlets refuses a setting given twice on the command line).
ROOT_OPTIONS = ("--ServerApp.root_dir", "--ServerApp.notebook_dir", "--notebook-dir")
ALLOW_ROOT_OPTIONS = ("--allow-root", "--ServerApp.allow_root")


def lab_command(extra_args: Sequence[str] = (), *, python: str | None = None) -> list[str]:
    """The ``jupyter lab`` command line of the course: served folder ``lessons/``, ``extra_args`` after.

    ``extra_args`` are passed to JupyterLab unchanged (e.g. ``--port=8889 --no-browser``); if they
    set the served folder (``--ServerApp.root_dir=DIR`` or ``--notebook-dir=DIR``), that folder is
    served instead of the course's ``lessons/``. ``python`` defaults to this interpreter, so the lab
    runs in the environment the course is installed in.
    """
    extra = list(extra_args)
    command = [python or sys.executable, "-m", "jupyterlab"]
    given = {arg.split("=", 1)[0] for arg in extra}
    if not given & set(ROOT_OPTIONS):
        command.append(f"--ServerApp.root_dir={LESSONS}")
    if _running_as_root() and not given & set(ALLOW_ROOT_OPTIONS):
        # Jupyter refuses to start as root without it; on a course machine or container that is
        # often the only user there is.
        command.append("--ServerApp.allow_root=True")
    return command + extra


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def launch(extra_args: Sequence[str] = ()) -> int:
    """Run JupyterLab for the course; on POSIX it replaces this process (same process id).

    Replacing the process means Ctrl-C, or ``kill PID`` from a test, reaches the server itself.
    """
    command = lab_command(extra_args)
    if f"--ServerApp.root_dir={LESSONS}" in command and not LESSONS.is_dir():
        print(f"error: no folder {LESSONS} to serve (run this from a course checkout)", file=sys.stderr)
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(command[0], command)
    return subprocess.call(command)

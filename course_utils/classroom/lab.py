"""Start the course in JupyterLab: ``python -m course_utils lab [ARGS...]`` (what ``make lab`` runs).

It opens the learner's workspace (:mod:`course_utils.classroom.workspace`): the learner edition of every
lesson, written there on first use and never overwritten, and the solved edition in ``solved/``.
``--workspace=DIR`` (or ``$BATCH205_WORKSPACE``) chooses the folder; other ARGS go to ``jupyter
lab``, and one that sets the served folder itself (``--ServerApp.root_dir=lessons``) serves that
folder instead, without a workspace.

One entry point for students and for the browser test (``tests/test_browser.py``), so the command a
new user runs first is the one that is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[2] / "lessons"  # course_utils/classroom/lab.py
WORKSPACE_OPTION = "--workspace"

# Extra arguments that choose the served folder themselves; then the default root is left out
# (traitlets refuses a setting given twice on the command line).
ROOT_OPTIONS = ("--ServerApp.root_dir", "--ServerApp.notebook_dir", "--notebook-dir")
ALLOW_ROOT_OPTIONS = ("--allow-root", "--ServerApp.allow_root")


def lab_command(
    extra_args: Sequence[str] = (), *, root: Path | None = None, python: str | None = None
) -> list[str]:
    """The ``jupyter lab`` command line of the course: served folder ``root``, ``extra_args`` after.

    ``extra_args`` are passed to JupyterLab unchanged (e.g. ``--port=8889 --no-browser``); if they
    set the served folder (``--ServerApp.root_dir=DIR`` or ``--notebook-dir=DIR``), that folder is
    served and ``root`` is left out. ``root`` defaults to the learner's workspace folder
    (:func:`course_utils.classroom.workspace.workspace_dir`). ``python`` defaults to this
    interpreter, so the lab runs in the environment the course is installed in.
    """
    extra = list(extra_args)
    command = [python or sys.executable, "-m", "jupyterlab"]
    if not serves_own_folder(extra):
        if root is None:
            from .workspace import workspace_dir

            root = workspace_dir()
        command.append(f"--ServerApp.root_dir={root}")
    given = {arg.split("=", 1)[0] for arg in extra}
    if _running_as_root() and not given & set(ALLOW_ROOT_OPTIONS):
        # Jupyter refuses to start as root without it; on a course machine or container that is
        # often the only user there is.
        command.append("--ServerApp.allow_root=True")
    return command + extra


def serves_own_folder(args: Sequence[str]) -> bool:
    """True if ``args`` choose JupyterLab's served folder themselves."""
    return bool({arg.split("=", 1)[0] for arg in args} & set(ROOT_OPTIONS))


def split_workspace_option(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """``(DIR, the other args)`` from ``--workspace=DIR`` or ``--workspace DIR`` in ``args``."""
    folder, rest, args = None, [], list(args)
    while args:
        arg = args.pop(0)
        if arg == WORKSPACE_OPTION:
            if not args:
                raise ValueError(f"{WORKSPACE_OPTION} needs a folder: {WORKSPACE_OPTION}=DIR")
            folder = args.pop(0)
        elif arg.startswith(WORKSPACE_OPTION + "="):
            folder = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return folder, rest


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def launch(extra_args: Sequence[str] = ()) -> int:
    """Prepare the learner's workspace, then run JupyterLab there; on POSIX it replaces this
    process (same process id).

    Replacing the process means Ctrl-C, or ``kill PID`` from a test, reaches the server itself.
    """
    folder, extra = split_workspace_option(extra_args)
    root = None
    if not serves_own_folder(extra):
        from . import workspace

        root, messages = workspace.prepare(folder)
        for line in messages:
            print(line)
        print(f"your workspace: {root}  (solved edition, read-only: {root / workspace.SOLVED})")
    command = lab_command(extra, root=root)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(command[0], command)
    return subprocess.call(command)

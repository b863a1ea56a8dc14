"""`make lab`, the README's "start the course" command, goes through one entry point that the
browser test (tests/test_browser.py) launches too: ``python -m course_utils lab [ARGS...]``.
What it serves, the learner's workspace, is specified in tests/test_workspace.py."""

import re
import subprocess
import sys
from pathlib import Path

import jupyterlab
import pytest

from course_utils.classroom.lab import lab_command, split_workspace_option
from course_utils.classroom.workspace import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]


def test_make_lab_runs_the_course_entry_point():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert recipe.strip() == "$(PY) -m course_utils lab"


def test_lab_serves_the_workspace_and_passes_extra_arguments_through(monkeypatch, tmp_path):
    monkeypatch.setattr("course_utils.classroom.lab._running_as_root", lambda: False)
    command = lab_command(["--port=8999", "--no-browser"], root=tmp_path, python="python3")
    assert command == [
        "python3",
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={tmp_path}",
        "--port=8999",
        "--no-browser",
    ]
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert lab_command([])[3] == f"--ServerApp.root_dir={ROOT / 'workspace'}"


def test_the_workspace_option_is_taken_out_of_the_arguments_for_jupyter_lab():
    assert split_workspace_option(["--workspace=/w", "--port=1"]) == ("/w", ["--port=1"])
    assert split_workspace_option(["--port=1", "--workspace", "/w"]) == ("/w", ["--port=1"])
    assert split_workspace_option(["--no-browser"]) == (None, ["--no-browser"])
    with pytest.raises(ValueError, match="--workspace=DIR"):
        split_workspace_option(["--workspace"])


def test_as_root_the_lab_allows_root_once(monkeypatch):
    monkeypatch.setattr("course_utils.classroom.lab._running_as_root", lambda: True)
    assert lab_command([])[-1] == "--ServerApp.allow_root=True"
    assert lab_command(["--allow-root"]).count("--allow-root") == 1
    assert not any("allow_root" in arg for arg in lab_command(["--allow-root"]))


def test_a_served_folder_given_as_argument_replaces_the_workspace(monkeypatch):
    monkeypatch.setattr("course_utils.classroom.lab._running_as_root", lambda: False)
    # traitlets refuses a setting given twice, so the default must step aside
    for option in ["--ServerApp.root_dir=/tmp/copy", "--notebook-dir=/tmp/copy"]:
        command = lab_command([option])
        assert command[1:] == ["-m", "jupyterlab", option]
        assert command[0] == sys.executable


def test_cli_hands_every_argument_to_jupyter_lab(tmp_path):
    # --version is an option of `jupyter lab`, not of `python -m course_utils lab`; with a served
    # folder of its own no workspace is prepared
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "lab", f"--notebook-dir={tmp_path}", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == jupyterlab.__version__

"""The learner's workspace that `make lab` opens: the learner edition written once, the solved
edition beside it, and the learner's work never overwritten, whatever happens upstream."""

import datetime
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.checks import LEARNER_STUB
from course_utils.classroom import workspace
from course_utils.classroom.workspace import MANIFEST, learner_notebook, prepare, solved_notebook

ROOT = Path(__file__).resolve().parents[1]
FIRST, SECOND, LATER = "01-naive-tutorial", "04-mean-reduction", "06-stable-logits"
TODAY = datetime.date(2026, 12, 1)


@pytest.fixture
def course(tmp_path):
    """A course folder with two lessons; tests change them as `git pull` would."""
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for lesson in (FIRST, SECOND):
        shutil.copytree(ROOT / "lessons" / lesson, root / "lessons" / lesson)
    return root


@pytest.fixture
def learner(course, tmp_path):
    """The workspace after the learner's first `make lab`."""
    folder, messages = prepare(tmp_path / "my-work", course=course, today=TODAY)
    assert messages == [f"wrote the learner edition of 2 lessons into {folder}"]
    return folder


def source_of(course, lesson) -> Path:
    return course / "lessons" / lesson / f"{lesson}.ipynb"


def change_upstream(course, lesson, text="A sentence added upstream.") -> None:
    """What a `git pull` with a changed lesson does: a markdown cell of the source edited."""
    path = source_of(course, lesson)
    notebook = nbformat.read(path, as_version=4)
    markdown = next(c for c in notebook.cells[1:] if c.cell_type == "markdown")
    markdown.source += f"\n\n{text}"
    nbformat.write(notebook, path)


def edit(path: Path) -> bytes:
    """The learner's work: an answer typed into the first answer cell, saved."""
    notebook = nbformat.read(path, as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = answer.source.replace(LEARNER_STUB, "return 'my own work'")
    nbformat.write(notebook, path)
    return path.read_bytes()


def test_first_use_writes_the_learner_edition_of_every_lesson(learner):
    for lesson in (FIRST, SECOND):
        notebook = nbformat.read(learner_notebook(learner, lesson), as_version=4)
        text = nbformat.writes(notebook)
        assert "### BEGIN SOLUTION" not in text and "hidden=True" not in text
        answers = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert answers and all(LEARNER_STUB in c.source for c in answers)
        assert "NotImplementedError" not in text  # nothing raises: Run All needs no tag
        assert all(not c.outputs for c in notebook.cells if c.cell_type == "code")


def test_the_solved_edition_is_beside_it_read_only_and_labelled(learner, course):
    for lesson in (FIRST, SECOND):
        solved = solved_notebook(learner, lesson)
        assert solved.parent == learner / "solved" and "SOLVED" in solved.name
        assert not solved.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        notebook = nbformat.read(solved, as_version=4)
        assert "SOLVED – instructor edition" in notebook.cells[0].source
        assert notebook.cells[1:] == nbformat.read(source_of(course, lesson), as_version=4).cells


def test_the_manifest_records_hashes_of_source_and_released_edition(learner, course):
    entries = json.loads((learner / MANIFEST).read_text())["lessons"]
    assert sorted(entries) == [FIRST, SECOND]
    for lesson, entry in entries.items():
        assert entry["source_sha256"] == workspace.sha256(source_of(course, lesson).read_bytes())
        assert entry["released_sha256"] == workspace.sha256(
            learner_notebook(learner, lesson).read_bytes()
        )
        assert entry["released_on"] == TODAY.isoformat()


def test_running_again_changes_nothing_and_says_nothing(learner, course):
    before = {p: p.read_bytes() for p in learner.rglob("*.ipynb")}
    folder, messages = prepare(learner, course=course, today=TODAY)
    assert folder == learner and messages == []
    assert {p: p.read_bytes() for p in learner.rglob("*.ipynb")} == before


def test_an_edit_survives_reruns_and_an_upstream_change_arrives_beside_it(learner, course):
    mine = learner_notebook(learner, FIRST)
    work = edit(mine)
    assert prepare(learner, course=course, today=TODAY)[1] == []
    assert mine.read_bytes() == work

    change_upstream(course, FIRST)
    _, messages = prepare(learner, course=course, today=TODAY)
    assert mine.read_bytes() == work, "the learner's notebook was overwritten"
    beside = mine.with_name(f"{FIRST} (updated 2026-12-01).ipynb")
    assert messages == [
        f"{FIRST} changed upstream: the new version is {FIRST}/{beside.name}, "
        f"next to your {mine.name} (left as it was)"
    ]
    assert "A sentence added upstream." in beside.read_text()
    assert "A sentence added upstream." not in mine.read_text()
    # told once; a second change the same day gets its own file
    assert prepare(learner, course=course, today=TODAY)[1] == []
    change_upstream(course, FIRST, "And another one.")
    prepare(learner, course=course, today=TODAY)
    assert "And another one." in mine.with_name(f"{FIRST} (updated 2026-12-01, 2).ipynb").read_text()
    assert mine.read_bytes() == work


def test_an_untouched_copy_is_brought_up_to_date_in_place(learner, course):
    change_upstream(course, SECOND)
    _, messages = prepare(learner, course=course, today=TODAY)
    assert messages == [f"{SECOND}: updated (you had not changed your copy)"]
    assert "A sentence added upstream." in learner_notebook(learner, SECOND).read_text()
    assert len(list((learner / SECOND).glob("*.ipynb"))) == 1


def test_new_stored_outputs_upstream_are_not_a_new_version(learner, course):
    path = source_of(course, SECOND)
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and c.outputs)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="re-run elsewhere\n")]
    nbformat.write(notebook, path)
    edit(learner_notebook(learner, SECOND))
    assert prepare(learner, course=course, today=TODAY)[1] == []
    assert len(list((learner / SECOND).glob("*.ipynb"))) == 1


def test_a_new_lesson_is_written_and_announced(learner, course):
    shutil.copytree(ROOT / "lessons" / LATER, course / "lessons" / LATER)
    _, messages = prepare(learner, course=course, today=TODAY)
    assert messages == [f"new lesson: {LATER}/{LATER}.ipynb"]
    assert LEARNER_STUB in learner_notebook(learner, LATER).read_text()
    assert solved_notebook(learner, LATER).is_file()


def test_a_lesson_without_exercises_is_released_whole(learner, course):
    appendix = next(p.name for p in sorted((ROOT / "lessons").glob("[0-9][0-9]-appendix")))
    shutil.copytree(ROOT / "lessons" / appendix, course / "lessons" / appendix)
    _, messages = prepare(learner, course=course, today=TODAY)
    assert messages == [f"new lesson: {appendix}/{appendix}.ipynb"]
    released = nbformat.read(learner_notebook(learner, appendix), as_version=4).cells
    source = nbformat.read(source_of(course, appendix), as_version=4).cells
    assert [c.source for c in released] == [c.source for c in source]
    assert not any(c.get("outputs") or c.metadata.get("nbgrader") for c in released)
    solved = nbformat.read(solved_notebook(learner, appendix), as_version=4)
    assert solved.cells[1:] == source


def test_a_deleted_notebook_is_written_again_and_other_files_are_left_alone(learner, course):
    learner_notebook(learner, SECOND).unlink()
    mine = learner / SECOND / "my notes.txt"
    mine.write_text("mine")
    _, messages = prepare(learner, course=course, today=TODAY)
    assert messages == [f"{SECOND}: your notebook was missing; wrote the lesson again"]
    assert learner_notebook(learner, SECOND).is_file() and mine.read_text() == "mine"


def test_the_folder_comes_from_the_argument_the_environment_or_the_course(monkeypatch, tmp_path):
    monkeypatch.delenv(workspace.ENVIRONMENT, raising=False)
    assert workspace.workspace_dir() == ROOT / "workspace"
    monkeypatch.setenv(workspace.ENVIRONMENT, str(tmp_path / "from-env"))
    assert workspace.workspace_dir() == tmp_path / "from-env"
    assert workspace.workspace_dir(tmp_path / "given") == tmp_path / "given"


def test_the_default_workspace_is_ignored_by_git_and_kept_by_make_clean():
    assert "/workspace/" in (ROOT / ".gitignore").read_text().splitlines()
    clean = re.search(r"^clean:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert "workspace" not in clean


def test_make_labs_entry_point_prepares_the_workspace_it_is_given(course, tmp_path):
    # --version: JupyterLab prints its version and exits, after the workspace was prepared
    folder = tmp_path / "via-cli"
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "lab", f"--workspace={folder}", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=course,
        env={**os.environ, workspace.ENVIRONMENT: str(tmp_path / "not-this-one")},
    )
    assert f"wrote the learner edition of 2 lessons into {folder}" in done.stdout
    assert learner_notebook(folder, FIRST).is_file()
    assert not (tmp_path / "not-this-one").exists()

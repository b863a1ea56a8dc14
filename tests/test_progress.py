"""`python -m course_utils progress`: a self-study learner's points per exercise, graded on copies
of their notebooks with the hidden tests, their files left as they were."""

import shutil
from pathlib import Path

import nbformat
import pytest

from course_utils.__main__ import main
from course_utils.classroom import progress, workspace

pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parents[1]
WORKED, UNTOUCHED = "01-naive-tutorial", "04-mean-reduction"


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def points_by_answer(notebook) -> dict[str, dict[str, float]]:
    """{answer cell grade_id: {its test cells' grade_id: points}}, in the lesson's order."""
    exercises, current = {}, None
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            current = exercises.setdefault(meta["grade_id"], {})
        elif meta.get("grade") and current is not None:
            current[meta["grade_id"]] = float(meta["points"])
    return exercises


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    """A workspace in which exercise 1 of lesson 01 is solved and the rest is as released."""
    course = tmp_path_factory.mktemp("course")
    (course / "lessons").mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for lesson in (WORKED, UNTOUCHED):
        shutil.copytree(ROOT / "lessons" / lesson, course / "lessons" / lesson)
    folder, _ = workspace.prepare(tmp_path_factory.mktemp("learner") / "ws", course=course)
    source = nbformat.read(course / "lessons" / WORKED / f"{WORKED}.ipynb", as_version=4)
    first_answer = next(c for c in source.cells if nbgrader_meta(c).get("solution"))
    mine = workspace.learner_notebook(folder, WORKED)
    notebook = nbformat.read(mine, as_version=4)
    answer = next(c for c in notebook.cells if nbgrader_meta(c).get("solution"))
    answer.source = "\n".join(
        line for line in first_answer.source.splitlines() if not line.strip().startswith("### ")
    )
    nbformat.write(notebook, mine)
    files = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    results = progress.workspace_progress(folder, course=course)
    return course, folder, source, files, results


def test_the_solved_exercise_passes_with_its_points_and_the_others_score_nothing(learner):
    course, folder, source, files, results = learner
    worked = next(r for r in results if r.lesson == WORKED)
    assert worked.started and not worked.error
    first, *others = points_by_answer(source).values()
    scores = {e.grade_id: (e.score, e.max_score, e.passed) for e in worked.exercises}
    assert scores == {
        **{test: (points, points, True) for test, points in first.items()},
        **{test: (0.0, points, False) for tests in others for test, points in tests.items()},
    }
    assert [e.exercise for e in worked.exercises] == ["1", "2", "3"]  # the lesson's own headings
    text = progress.format_lesson(worked)
    assert text.splitlines()[0] == f"{WORKED}: {worked.score:g} of {worked.max_score:g} points"
    assert "✓ exercise 1:" in text and "✗ exercise 2:" in text


def test_an_untouched_lesson_is_not_started_and_not_run(learner):
    course, folder, source, files, results = learner
    untouched = next(r for r in results if r.lesson == UNTOUCHED)
    assert not untouched.started and untouched.score == 0 and untouched.max_score > 0
    assert "(not started)" in progress.format_lesson(untouched)


def test_the_learners_files_are_left_as_they_were(learner):
    course, folder, source, files, results = learner
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


def test_the_command_prints_each_lesson_and_the_total(learner, capsys):
    course, folder, source, files, results = learner
    args = ["progress", str(folder), "--lesson", UNTOUCHED, "--course", str(course)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{UNTOUCHED}: 0 of ") and "(not started)" in out
    assert out.rstrip().endswith("in 1 lessons")

"""A self-study learner's progress: which exercises of their workspace pass, and their points.

``python -m course_utils progress [WORKSPACE]`` grades a copy of each of the learner's notebooks
the way an instructor would (nbgrader's autograde, hidden tests included) in a scratch course
folder, so the learner's files are never changed and nothing is written into the course. A lesson
whose notebook is still exactly the released learner edition is reported as not started, without
running it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import grading, workspace

STUDENT = "me"
EXERCISE_HEADING = re.compile(r"^#+\s*Exercise\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class ExerciseScore:
    exercise: str  # as the lesson names it: "1", "(b)"
    grade_id: str
    score: float
    max_score: float

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


@dataclass(frozen=True)
class LessonProgress:
    lesson: str
    exercises: tuple[ExerciseScore, ...]
    started: bool = True
    error: str = ""  # nbgrader could not grade the notebook (the message says why)

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)


def exercise_labels(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """``{test cell grade_id: exercise label}``, from the "### Exercise X" heading above each test."""
    labels, current = {}, "?"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = EXERCISE_HEADING.findall(cell.source)
            current = found[-1] if found else current
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and meta.get("points"):
            labels[meta["grade_id"]] = current
    return labels


def points_of_tests(notebook: nbformat.NotebookNode) -> dict[str, float]:
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
        for c in notebook.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def lesson_progress(
    lesson: str, mine: Path, *, course: str | Path | None = None, timeout: int | None = None
) -> LessonProgress:
    """Grade a copy of the learner's notebook ``mine`` of ``lesson`` (hidden tests included)."""
    root = grading.course_root(course)
    source = nbformat.read(root / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    labels, points = exercise_labels(source), points_of_tests(source)
    with tempfile.TemporaryDirectory(prefix="batch205-progress-") as scratch:
        copy = Path(scratch) / "course"
        (copy / "lessons").mkdir(parents=True)
        shutil.copy(root / grading.CONFIG_FILE, copy)
        shutil.copytree(root / "lessons" / lesson, copy / "lessons" / lesson)
        submissions = Path(scratch) / "submissions"
        submissions.mkdir()
        shutil.copy(mine, submissions / f"{STUDENT}.ipynb")
        api = grading.nbgrader_api(copy, timeout=timeout)
        students = grading.collect(lesson, submissions, copy)
        (result,) = grading.autograde(api, lesson, students)
    scores = {cell.grade_id: cell.score for cell in result.cells}
    exercises = tuple(
        ExerciseScore(labels.get(grade_id, "?"), grade_id, scores.get(grade_id, 0.0), maximum)
        for grade_id, maximum in points.items()
        if maximum
    )
    return LessonProgress(lesson, exercises, error=result.error)


def not_started(lesson: str, course: Path) -> LessonProgress:
    source = nbformat.read(course / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    labels = exercise_labels(source)
    exercises = tuple(
        ExerciseScore(labels.get(g, "?"), g, 0.0, p) for g, p in points_of_tests(source).items() if p
    )
    return LessonProgress(lesson, exercises, started=False)


def workspace_progress(
    folder: str | Path | None = None,
    lessons: list[str] | None = None,
    *,
    course: str | Path | None = None,
    timeout: int | None = None,
    report=None,
) -> list[LessonProgress]:
    """The progress of every lesson in the learner's workspace (or of ``lessons``), in order.

    ``report`` (e.g. ``print``) is called with each lesson's lines as soon as it is graded.
    """
    root = grading.course_root(course)
    ws = workspace.workspace_dir(folder, course=root)
    manifest_path = ws / workspace.MANIFEST
    released = {}
    if manifest_path.is_file():
        entries = json.loads(manifest_path.read_text()).get("lessons", {})
        released = {name: entry["released_sha256"] for name, entry in entries.items()}
    names = lessons or [
        n for n in grading.lesson_names(root) if workspace.learner_notebook(ws, n).is_file()
    ]
    if not names:
        raise grading.GradingError(f"no lessons in {ws}: start the course with `make lab` first")
    results = []
    for lesson in names:
        mine = workspace.learner_notebook(ws, lesson)
        if not mine.is_file():
            raise grading.GradingError(f"no notebook {mine}")
        if released.get(lesson) == workspace.sha256(mine.read_bytes()):
            outcome = not_started(lesson, root)
        else:
            outcome = lesson_progress(lesson, mine, course=root, timeout=timeout)
        results.append(outcome)
        if report is not None:
            report(format_lesson(outcome))
    return results


def format_lesson(outcome: LessonProgress) -> str:
    """``01-naive-tutorial: 4 of 7 points`` and one line per exercise (✓ passes, ✗ not yet)."""
    head = f"{outcome.lesson}: {outcome.score:g} of {outcome.max_score:g} points"
    if not outcome.started:
        head += " (not started)"
    if outcome.error:
        head += f" (could not be graded: {outcome.error})"
    lines = [head]
    for e in outcome.exercises:
        mark = "✓" if e.passed else "✗"
        lines.append(f"  {mark} exercise {e.exercise}: {e.score:g}/{e.max_score:g}  ({e.grade_id})")
    return "\n".join(lines)

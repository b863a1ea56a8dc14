"""Instructor tools: thin helpers over nbgrader for releasing, autograding and exporting grades.

nbgrader does all the work (``NbGraderAPI.generate_assignment``, ``.autograde``,
``.generate_feedback``, its ``Gradebook`` and its CSV export plugin); this module only saves
the steps an instructor would otherwise repeat by hand: copying submissions into nbgrader's folder
layout, grading each student separately so that one broken notebook does not stop the batch
(:func:`course_utils.classroom.class_grading.grade` runs them in parallel, each contained), and
reading back the results. The settings (source folder ``lessons``, per-cell timeout,
restoring deleted test cells, feedback without hidden tests) come from the course's
``nbgrader_config.py``. The README's "For instructors" section shows the plain nbgrader commands
next to ``python -m course_utils release`` and ``python -m course_utils grade``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

CONFIG_FILE = "nbgrader_config.py"


class GradingError(ValueError):
    """A problem the instructor must fix before nbgrader can run (the message says what)."""


@dataclass(frozen=True)
class CellGrade:
    """Points of one autograded test cell."""

    grade_id: str
    score: float
    max_score: float


@dataclass(frozen=True)
class StudentResult:
    """The outcome of autograding one student's submission of a lesson.

    ``error`` is empty when nbgrader graded the notebook, else the last line of its error;
    ``timed_out`` lists the cells stopped by the per-cell timeout; ``restored`` the test cells
    that were missing from the submission and were put back from the gradebook; ``unconfirmed``
    the test cells that scored but printed no "✓" line where the instructor's notebook has one
    (a hint of tampering worth a look: the checks print "✓ ..." when they pass).
    ``limit`` names the limit of :mod:`course_utils.classroom.containment` that stopped the submission
    (then ``error`` says more); ``contained`` what containment absorbed without stopping it.
    """

    student: str
    score: float
    max_score: float
    cells: tuple[CellGrade, ...] = ()
    timed_out: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    error: str = ""
    limit: str = ""
    contained: tuple[str, ...] = ()

    @property
    def graded(self) -> bool:
        return not self.error


# --- the course folder and nbgrader's API ---


def course_root(folder: str | Path | None = None) -> Path:
    """The course folder (the one holding ``nbgrader_config.py`` and ``lessons/``).

    Default: the current folder, else the repository this package was installed from (``pip
    install -e .``, as ``make`` does).
    """
    if folder is None:
        here = Path.cwd()
        folder = here if (here / CONFIG_FILE).is_file() else Path(__file__).resolve().parents[2]
    root = Path(folder).resolve()
    if not (root / CONFIG_FILE).is_file() or not (root / "lessons").is_dir():
        raise GradingError(
            f"{root} is not a course folder: it needs {CONFIG_FILE} and lessons/ "
            "(run from the top folder of the repository, or pass --course)."
        )
    return root


def lesson_names(course: str | Path) -> list[str]:
    """The lessons (nbgrader assignments) of a course, in order: ``lessons/NN-name`` folders."""
    return sorted(p.name for p in (Path(course) / "lessons").glob("[0-9][0-9]-*") if p.is_dir())


def nbgrader_api(course: str | Path, *, timeout: int | None = None):
    """An ``NbGraderAPI`` configured by the course's ``nbgrader_config.py``.

    ``timeout`` (seconds per cell) overrides the file's ``Execute.timeout``.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    root = course_root(course)
    _put_alembic_on_path()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)  # the folder itself, also for a copy of the file
    if timeout is not None:
        config.Execute.timeout = int(timeout)
    return NbGraderAPI(config=config)


def _put_alembic_on_path() -> None:
    """nbgrader creates ``gradebook.db`` by running the ``alembic`` command found on PATH.

    It is installed next to this Python, which is not on PATH when the venv is not activated
    (``.venv/bin/python -m course_utils ...``); without it nbgrader fails with
    ``FileNotFoundError: 'alembic'``.
    """
    here = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and (Path(here) / "alembic").exists():
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def _check(result: dict, what: str) -> None:
    if not result["success"]:
        raise GradingError(f"{what} failed:\n{result.get('log', '')}{result.get('error', '')}")


# --- self-study release ---


def release(
    lessons: list[str] | None, to: str | Path, *, course: str | Path | None = None, force=False
) -> list[Path]:
    """Write the student versions of lessons into ``to/<lesson>/`` (default: all lessons).

    nbgrader's ``generate_assignment`` replaces solutions by ``pass  # YOUR CODE HERE``,
    removes hidden tests and clears all outputs. It runs in a temporary copy of the course, so
    nothing is written into the course folder itself (no ``release/``, no ``gradebook.db``).
    Existing lesson folders in ``to`` are kept (the learner's work!) unless ``force``.
    """
    root = course_root(course)
    lessons = list(lessons or lesson_names(root))
    unknown = [name for name in lessons if not (root / "lessons" / name).is_dir()]
    if unknown:
        raise GradingError(f"no such lesson: {', '.join(unknown)} (known: {lesson_names(root)})")
    target = Path(to).resolve()
    existing = [name for name in lessons if (target / name).exists()]
    if existing and not force:
        raise GradingError(
            f"{target} already has {', '.join(existing)}: not overwriting (maybe your work); "
            "choose another folder or pass --force."
        )
    written = []
    with tempfile.TemporaryDirectory(prefix="batch205-release-") as scratch:
        copy = Path(scratch)
        shutil.copy(root / CONFIG_FILE, copy)
        for name in lessons:
            shutil.copytree(
                root / "lessons" / name,
                copy / "lessons" / name,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        api = nbgrader_api(copy)
        for name in lessons:
            _check(api.generate_assignment(name), f"generate_assignment {name}")
            if (target / name).exists():
                shutil.rmtree(target / name)
            shutil.copytree(copy / "release" / name, target / name)
            written.append(target / name)
    return written


# --- an instructor's batch: collect, autograde, feedback, export ---


def collect(lesson: str, submissions: str | Path, course: str | Path) -> list[str]:
    """Copy submissions into nbgrader's layout ``submitted/<student>/<lesson>/<notebook>``.

    ``submissions`` holds one entry per student, named by the student id: a notebook
    ``<student>.ipynb``, or a folder ``<student>/`` with the notebook directly in it or in
    ``<student>/<lesson>/`` (so nbgrader's own ``submitted/`` folder works as is). The notebook
    is saved under the lesson's notebook name. Returns the student ids, sorted.
    """
    root = course_root(course)
    notebook = f"{lesson}.ipynb"
    submissions = Path(submissions).resolve()
    if not submissions.is_dir():
        raise GradingError(f"{submissions} is not a folder of submissions")
    students = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            student, files = entry.stem, {notebook: entry}
        elif entry.is_dir():
            student = entry.name
            folder = entry / lesson if (entry / lesson).is_dir() else entry
            files = {p.name: p for p in folder.iterdir() if p.is_file()}
            notebooks = [p for p in files.values() if p.suffix == ".ipynb"]
            if notebook not in files and len(notebooks) == 1:  # renamed by the student
                files[notebook] = files.pop(notebooks[0].name)
        else:
            continue
        destination = (root / "submitted" / student / lesson).resolve()
        if any(path.parent.resolve() != destination for path in files.values()):
            if destination.exists():
                shutil.rmtree(destination)
            destination.mkdir(parents=True)
            for name, path in files.items():
                shutil.copy(path, destination / name)
        destination.mkdir(parents=True, exist_ok=True)  # empty: nbgrader reports the student
        students.append(student)
    return students


def ensure_assignment(api, lesson: str) -> None:
    """Run ``generate_assignment`` unless the lesson is already in the gradebook.

    ``autograde`` needs the assignment and its test cells in ``gradebook.db``.
    """
    from nbgrader.api import MissingEntry

    with api.gradebook as gradebook:
        try:
            gradebook.find_assignment(lesson)
            return
        except MissingEntry:
            pass
    _check(api.generate_assignment(lesson), f"generate_assignment {lesson}")


def autograde(api, lesson: str, students: list[str], *, report=None) -> list[StudentResult]:
    """Autograde each student separately (``NbGraderAPI.autograde``) and read back the grades.

    In this process, one after another and without containment (:mod:`~course_utils.classroom.progress` grades a learner's
    own notebooks this way); :func:`course_utils.classroom.class_grading.grade` grades a class in
    contained workers.

    A notebook that nbgrader cannot grade (not JSON, a kernel that dies, ...) gives a result
    with ``error`` set and zero points; the batch goes on with the next student.
    ``report`` (e.g. ``print``) is called with one line per student.
    """
    ensure_assignment(api, lesson)
    results = []
    for number, student in enumerate(students, 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            # nbgrader's gradebook warns when it rolls back a failed student's submission
            warnings.filterwarnings("ignore", message="Object of type .* not in session")
            outcome = api.autograde(lesson, student)
        log = outcome.get("log", "")
        error = "" if outcome["success"] else error_of(log, outcome.get("error", ""))
        results.append(read_result(api, lesson, student, log, error))
        if report is not None:
            seconds = time.perf_counter() - start
            report(f"[{number}/{len(students)}] {student}: autograded in {seconds:.0f} s")
    return results


def error_of(log: str, error: str) -> str:
    """The last exception that nbgrader logged for a failed notebook (``module.Error: message``):
    what a summary says of a submission that could not be graded."""
    for text in (log, error):
        found = re.findall(r"^\s*((?:[\w.]+\.)?\w+(?:Error|Exception|Interrupt): .*)$", text, re.M)
        if found:
            return found[-1].strip()
    lines = [line.strip() for line in (error or log).splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def read_result(api, lesson: str, student: str, log: str, error: str) -> StudentResult:
    """One student's :class:`StudentResult` as the gradebook holds it after ``autograde``, with
    ``log`` (nbgrader's) and ``error`` (empty if the notebook was graded)."""
    from nbgrader.api import MissingEntry

    cells, score, max_score = [], 0.0, 0.0
    with api.gradebook as gradebook:
        assignment = gradebook.find_assignment(lesson)
        max_score = float(assignment.max_score)
        try:
            submission = gradebook.find_submission(lesson, student)
        except MissingEntry:
            submission = None
        if submission is not None and not error:
            score = float(submission.score)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.max_score:
                        cells.append(CellGrade(grade.name, float(grade.score), float(grade.max_score)))
    restored = tuple(
        line.split("Missing grade cell ", 1)[1].split()[0]
        for line in log.splitlines()
        if "Missing grade cell " in line
    )
    return StudentResult(
        student=student,
        score=score,
        max_score=max_score,
        cells=tuple(cells),
        timed_out=_timed_out_cells(api, lesson, student) if not error else (),
        restored=restored,
        unconfirmed=_unconfirmed_cells(api, lesson, student, cells) if not error else (),
        error=error,
    )


def _timed_out_cells(api, lesson: str, student: str) -> tuple[str, ...]:
    """Cells of the autograded notebooks that nbgrader stopped at its per-cell timeout."""
    folder = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, lesson))
    stopped = []
    for path in sorted(folder.glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if any(o.get("ename") == "CellTimeoutError" for o in errors):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                stopped.append(grade_id or f"cell {index}")
    return tuple(stopped)


def _ticks_per_test_cell(folder: Path) -> dict[str, int]:
    """How many "✓" each graded cell of the notebooks in ``folder`` printed to stdout."""
    ticks = {}
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                ticks[meta["grade_id"]] = sum(
                    o.get("text", "").count("✓")
                    for o in cell.get("outputs", [])
                    if o.get("output_type") == "stream" and o.get("name") == "stdout"
                )
    return ticks


def _unconfirmed_cells(api, lesson: str, student: str, cells) -> tuple[str, ...]:
    """Test cells that scored points without a "✓" line where the instructor's stored run has one.

    Only the visible check of a test cell prints its "✓" (a hidden check passes silently), so
    the signal is "none at all"; counting them would also flag every cell of a notebook stored
    while the hidden checks still printed theirs."""
    coursedir = api.coursedir
    expected = _ticks_per_test_cell(
        Path(coursedir.format_path(coursedir.source_directory, ".", lesson))
    )
    got = _ticks_per_test_cell(
        Path(coursedir.format_path(coursedir.autograded_directory, student, lesson))
    )
    return tuple(
        cell.grade_id
        for cell in cells
        if cell.score > 0 and got.get(cell.grade_id, 0) == 0 < expected.get(cell.grade_id, 0)
    )


class ShortTracebacks(Preprocessor):
    """Feedback preprocessor: a failed test cell shows ``Error: message``, not its traceback.

    IPython's traceback quotes the lines around the failing call, which are the hidden tests
    that ``ClearHiddenTests`` removed from the cell. The check's message says what is wrong and
    gives a hint, which is what the learner needs. Listed in ``nbgrader_config.py``.
    """

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


def generate_feedback(api, lesson: str) -> Path:
    """nbgrader's HTML feedback for every autograded student (hidden tests removed by the config)."""
    _check(api.generate_feedback(lesson), f"generate_feedback {lesson}")
    return Path(api.coursedir.root) / api.coursedir.feedback_directory


def export_grades(api, to: str | Path) -> Path:
    """nbgrader's CSV export of the whole gradebook (every lesson and student) to ``to``."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    to = Path(to).resolve()
    exporter = CsvExportPlugin(parent=api)
    exporter.to = str(to)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        exporter.export(gradebook)
    return to

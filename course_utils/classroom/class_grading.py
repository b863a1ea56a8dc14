"""Grading a whole class (``python -m course_utils grade``): collect, autograde each submission in
a worker process of its own with one writer, feedback, grades and a summary table.

nbgrader grades one student after another in one process, and its gradebook is sqlite, which
is not safe for concurrent writers. Here the expensive part, running the submission's kernel,
happens in up to ``jobs`` worker processes at once (:mod:`course_utils.classroom.grade_worker`), each in
its own copy of the course folder and contained (:mod:`course_utils.classroom.containment`). The main
process is the only one that writes the instructor's gradebook: for each student, in the order a
sequential run takes them, it runs nbgrader's own ``autograde`` with the execution step replaced
by :class:`ReplayExecution`, which puts in the outputs the worker computed. nbgrader itself thus
sanitises the submission, restores test cells, scores the cells and saves the grades exactly as
in a sequential run, and a submission that failed in its worker fails here the same way.

Settings (``nbgrader_config.py``, overridden on the command line): ``c.ClassGrading.jobs``
(default 0: one per CPU core) and one setting per field of
:class:`course_utils.classroom.limits.Limits`, with its default, e.g.
``c.ClassGrading.memory_mb = 4096``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int, Unicode
from traitlets.config import Configurable

from ..cores import usable_cores
from ..validate import require_positive_int
from . import containment
from .grading import (
    GradingError,
    StudentResult,
    collect,
    course_root,
    ensure_assignment,
    error_of,
    export_grades,
    generate_feedback,
    lesson_names,
    nbgrader_api,
    read_result,
)
from .limits import Limits

# files a tool writes into any home (IPython's profile, matplotlib's font cache): not the student's
TOOL_FILES_IN_HOME = {".ipython", ".cache", ".config", ".local", ".jupyter-runtime", ".matplotlib"}


class WorkerError(RuntimeError):
    """The worker could not grade this submission; the message is the worker's error."""


def _setting(limit: dataclasses.Field):
    """The ``c.ClassGrading`` setting of one field of :class:`Limits`: its default and help."""
    kind = Int if isinstance(limit.default, int) else Unicode
    return kind(limit.default, help=limit.metadata["help"]).tag(config=True)


# ``c.ClassGrading.*`` in ``nbgrader_config.py``: the jobs, and a setting per field of Limits.
ClassGrading = type(
    "ClassGrading",
    (Configurable,),
    {
        "__doc__": "``c.ClassGrading.*``: parallel jobs and each submission's limits (Limits).",
        "__module__": __name__,
        "jobs": Int(0, help="worker processes at once (0: one per CPU core)").tag(config=True),
        **{limit.name: _setting(limit) for limit in dataclasses.fields(Limits)},
    },
)


def settings(config, *, jobs: int | None = None, **limits) -> tuple[int, Limits]:
    """``(jobs, Limits)`` from the course's config, with the non-None keyword arguments on top.

    Raises ``TypeError``/``ValueError`` naming the setting when a value is not allowed.
    """
    configured = ClassGrading(config=config)
    jobs = configured.jobs if jobs is None else jobs
    jobs = usable_cores() if jobs == 0 else require_positive_int("jobs", jobs)
    values = {f.name: getattr(configured, f.name) for f in dataclasses.fields(Limits)}
    values.update({name: value for name, value in limits.items() if value is not None})
    unknown = set(values) - {f.name for f in dataclasses.fields(Limits)}
    if unknown:
        raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
    return jobs, Limits(**values)


class ReplayExecution(NbGraderPreprocessor):
    """Autograde step in the main process: the outputs a worker computed, instead of a kernel.

    The notebook nbgrader hands over is the sanitised submission; the worker sanitised the same
    submission with the same gradebook, so its cells must match one for one (checked).
    """

    scratch = Unicode("", help="the batch's scratch folder (one folder per student)").tag(config=True)

    def preprocess(self, nb, resources):
        meta = resources["nbgrader"]
        student, lesson, name = meta["student"], meta["assignment"], meta["notebook"]
        base = Path(self.scratch) / student
        outcome = json.loads((base / "result.json").read_text())
        executed_path = base / "course" / "autograded" / student / lesson / f"{name}.ipynb"
        if not outcome["success"] or not executed_path.is_file():
            raise WorkerError(outcome["error"] or f"the worker wrote no {executed_path.name}")
        executed = nbformat.read(executed_path, as_version=4)
        if [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            raise WorkerError(f"the worker's {name}.ipynb does not match the submission's cells")
        for cell, done in zip(nb.cells, executed.cells, strict=True):
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
            cell.metadata = done.metadata
        nb.metadata = executed.metadata
        return nb, resources


AUTOGRADE_WITH_REPLAY = [
    ReplayExecution,  # instead of nbgrader's Execute; the rest is nbgrader 0.9.6's default list
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


def hidden_paths(root: Path, submissions: Path | None, needed: list[Path]) -> list[Path]:
    """What a sandboxed kernel must not see: the instructor's course state, home, submissions."""
    hidden = [root / name for name in ("lessons", "submitted", "autograded", "feedback", "release")]
    hidden += [root / "gradebook.db"]
    if submissions is not None:
        hidden.append(submissions)
    home = Path.home().resolve()
    if home != Path("/"):
        hidden.append(home)
    # hiding a folder that holds Python, the course package or the scratch would break the kernel
    return [
        p
        for p in hidden
        if p.exists() and not any(n.resolve().is_relative_to(p.resolve()) for n in needed)
    ]


def _prepare(root: Path, lesson: str, student: str, scratch: Path, snapshot: Path) -> Path:
    """The worker's copy: config, gradebook snapshot, the lesson's other files, the submission."""
    course = scratch / student / "course"
    (course / "lessons" / lesson).mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", course)
    shutil.copy(snapshot, course / "gradebook.db")
    for path in (root / "lessons" / lesson).iterdir():
        # not the lesson's notebook: it holds the solutions (the gradebook has what is needed)
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy(path, course / "lessons" / lesson)
    shutil.copytree(root / "submitted" / student / lesson, course / "submitted" / student / lesson)
    for folder in ("home", "tmp"):
        (scratch / student / folder).mkdir()
    return course


def _start(job: dict) -> subprocess.Popen:
    path = Path(job["result"]).with_name("job.json")
    path.write_text(json.dumps(job))
    log = open(Path(job["result"]).with_name("worker.log"), "w")  # noqa: SIM115 (closed on exit)
    return subprocess.Popen(
        [sys.executable, "-m", "course_utils.classroom.grade_worker", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its process group can be killed as a whole
    )


def _notes(base: Path, student: str, lesson: str) -> tuple[str, ...]:
    """What containment absorbed: files written into the temporary home, refused writes."""
    notes = []
    written = sorted(p.name for p in (base / "home").iterdir() if p.name not in TOOL_FILES_IN_HOME)
    if written:
        notes.append(f"wrote into its temporary home (discarded): {', '.join(written)}")
    refused = []
    for path in sorted((base / "course" / "autograded" / student / lesson).glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if any(containment.is_read_only_error(o) for o in cell.get("outputs", [])):
                refused.append(cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}")
    if refused:
        notes.append(f"writes refused by the sandbox (read-only): {', '.join(refused)}")
    return tuple(notes)


def grade_class(
    api,
    lesson: str,
    students: list[str],
    *,
    jobs: int,
    limits: Limits,
    timeout: int | None = None,
    submissions: Path | None = None,
    report=None,
) -> list[StudentResult]:
    """Autograde ``students`` in up to ``jobs`` contained workers; merge in order, one writer.

    Returns one :class:`~course_utils.classroom.grading.StudentResult` per student, in the order given,
    with ``limit`` naming the limit a submission broke and ``contained`` what was absorbed.
    """
    ensure_assignment(api, lesson)
    root = Path(api.coursedir.root)
    scratch = Path(tempfile.mkdtemp(prefix="batch205-grade-"))
    try:
        snapshot = scratch / "gradebook-snapshot.db"
        shutil.copy(root / "gradebook.db", snapshot)
        (scratch / "empty").mkdir()
        needed = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve()]
        needed += [Path(containment.__file__).parents[1], scratch]  # the course_utils package
        hidden = [str(p) for p in hidden_paths(root, submissions, needed)]
        api.config.Autograde.autograde_preprocessors = AUTOGRADE_WITH_REPLAY
        api.config.ReplayExecution.scratch = str(scratch)

        def job(student):
            base = scratch / student
            return {
                "course": str(_prepare(root, lesson, student, scratch, snapshot)),
                "lesson": lesson,
                "student": student,
                "timeout": timeout,
                "limits": limits.to_json(),
                "home": str(base / "home"),
                "tmp": str(base / "tmp"),
                "empty": str(scratch / "empty"),
                "hidden": hidden,
                "token": uuid.uuid4().hex,
                "result": str(base / "result.json"),
            }

        waiting, running, finished, results = list(students), {}, {}, []
        deadline = limits.wall_seconds + 120  # the worker's own watchdog ends the kernel first
        while len(results) < len(students):
            while waiting and len(running) < jobs:
                student = waiting.pop(0)
                spec = job(student)
                running[student] = (spec, _start(spec), time.perf_counter())
            for student, (spec, worker, start) in list(running.items()):
                late = time.perf_counter() - start > deadline
                if worker.poll() is None and not late:
                    continue
                if late:
                    os.killpg(worker.pid, 9)
                    worker.wait()
                containment.kill_marked(spec["token"])  # the last resort: nothing outlives it
                if not Path(spec["result"]).is_file():
                    Path(spec["result"]).write_text(json.dumps(_lost(worker, late, limits)))
                finished[student] = (spec, time.perf_counter() - start)
                del running[student]
            while len(results) < len(students) and students[len(results)] in finished:
                student = students[len(results)]
                spec, seconds = finished.pop(student)
                results.append(_merge(api, lesson, student, spec))
                if report is not None:
                    report(f"[{len(results)}/{len(students)}] {student}: autograded in {seconds:.0f} s")
            time.sleep(0.05)
        return results
    finally:
        if os.environ.get("BATCH205_KEEP_GRADING_FOLDER"):  # the workers' copies and logs
            print(f"grading folder kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _lost(worker, late: bool, limits: Limits) -> dict:
    if late:
        error = f"WorkerError: no result after {limits.wall_seconds} s: worker killed"
        return {"success": False, "error": error, "limit": "wall-clock time", "log": ""}
    error = f"WorkerError: the worker ended with code {worker.returncode} without a result"
    return {"success": False, "error": error, "limit": "", "log": ""}


def _merge(api, lesson: str, student: str, spec: dict) -> StudentResult:
    """nbgrader's autograde of one student in the main course, replaying the worker's outputs."""
    worker = json.loads(Path(spec["result"]).read_text())
    with warnings.catch_warnings():
        # nbgrader's gradebook warns when it rolls back a failed student's submission
        warnings.filterwarnings("ignore", message="Object of type .* not in session")
        outcome = api.autograde(lesson, student)
    log = outcome.get("log", "")
    error = worker["error"] if not worker["success"] or worker["limit"] else ""
    if not error and not outcome["success"]:
        error = error_of(log, outcome.get("error", ""))
    result = read_result(api, lesson, student, log, error)
    base = Path(spec["result"]).parent
    return dataclasses.replace(result, limit=worker["limit"], contained=_notes(base, student, lesson))


@dataclasses.dataclass(frozen=True)
class BatchReport:
    """What ``grade`` did: one result per student, and where the feedback and grades went."""

    lesson: str
    results: tuple[StudentResult, ...]
    feedback: Path
    grades_csv: Path
    feedback_error: str = ""  # nbgrader still writes the feedback of the other students
    containment: str = ""  # the limits each submission ran under, and whether in a sandbox


def grade(
    lesson: str,
    submissions: str | Path,
    *,
    course: str | Path | None = None,
    timeout: int | None = None,
    grades_csv: str | Path | None = None,
    report=None,
    jobs: int | None = None,
    limits: dict | None = None,
) -> BatchReport:
    """Collect, autograde, generate feedback and export grades for one lesson.

    nbgrader writes into the course folder: ``gradebook.db``, ``submitted/``, ``autograded/``,
    ``feedback/`` and (default) ``grades.csv``. Students are autograded in up to ``jobs``
    contained worker processes at once (:func:`grade_class`); ``jobs`` and ``limits``
    (keyword arguments of :class:`course_utils.classroom.limits.Limits`) override the
    ``c.ClassGrading`` settings of ``nbgrader_config.py``. ``report`` (e.g. ``print``) is called
    with one line per student, in the order given.
    """
    root = course_root(course)
    if lesson not in lesson_names(root):
        raise GradingError(f"no such lesson: {lesson} (known: {lesson_names(root)})")
    api = nbgrader_api(root, timeout=timeout)
    jobs, contained = settings(api.config, jobs=jobs, **(limits or {}))
    students = collect(lesson, submissions, root)
    if not students:
        raise GradingError(f"no submissions found in {submissions}")
    results = grade_class(
        api,
        lesson,
        students,
        jobs=jobs,
        limits=contained,
        timeout=timeout,
        submissions=Path(submissions).resolve(),
        report=report,
    )
    feedback_error = ""
    try:
        feedback = generate_feedback(api, lesson)
    except GradingError as error:
        feedback, feedback_error = root / api.coursedir.feedback_directory, str(error)
    csv = export_grades(api, grades_csv or root / "grades.csv")
    return BatchReport(lesson, tuple(results), feedback, csv, feedback_error, contained.describe())


def summary_table(results) -> str:
    """A plain-text table: one row per student with score, maximum and what went wrong."""
    rows = [("student", "score", "max", "notes")]
    for r in results:
        notes = []
        if r.error:
            notes.append(f"NOT GRADED: {r.error}")
        notes.extend(r.contained)
        if r.timed_out:
            notes.append(f"timed out: {', '.join(r.timed_out)}")
        if r.restored:
            notes.append(f"deleted test cells restored: {', '.join(r.restored)}")
        if r.unconfirmed:
            notes.append(f"CHECK BY HAND, passed without their ✓ output: {', '.join(r.unconfirmed)}")
        rows.append((r.student, f"{r.score:g}", f"{r.max_score:g}", "; ".join(notes)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{s:<{widths[0]}}  {p:>{widths[1]}}  {m:>{widths[2]}}  {n}".rstrip() for s, p, m, n in rows
    )

"""Grading a whole class: parallel workers, hostile submissions contained, the nbgrader exchange.

A scratch course holds one small lesson built here (two exercises, a visible and a hidden test),
so that each grading costs a kernel start rather than a lesson's training; lessons 01 and 02 go
through the same parallel path in test_grading.py. Hostile submissions are graded by the course
command in a child process under an outer limit (memory and file size per process, CPU time,
the number of its processes and wall-clock time, watched from here), so a regression in the
containment fails the test instead of harming the machine; the fork loop itself is bounded.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import io
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

import course_utils
from course_utils.__main__ import main
from course_utils.classroom import class_grading, containment, grading
from course_utils.classroom.limits import Limits, bwrap_works
from course_utils.cores import usable_cores

PACKAGE = Path(course_utils.__file__).parent  # the course package, which a kernel imports

pytestmark = [
    pytest.mark.grading,
    pytest.mark.filterwarnings("ignore:Cell is missing an id field"),
    # nbgrader 0.9.6 passes "authentictor" (sic) to its feedback exchange classes
    pytest.mark.filterwarnings("ignore:Passing unrecognized arguments to super"),
]

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00-probe"
CELL_TIMEOUT = 5  # seconds per cell: the sleeper's cost


def nbgrader_cell(source: str, grade_id: str, *, solution=False, points=None):
    meta = {"schema_version": 3, "grade": points is not None, "solution": solution}
    meta.update(locked=not solution, task=False, grade_id=grade_id)
    if points is not None:
        meta["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


ANSWERS = {
    "double_answer": "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
    "half_answer": "def half(x):\n    ### BEGIN SOLUTION\n    return x / 2\n    ### END SOLUTION\n",
}
TESTS = {  # test cell -> (its answer, points)
    "double_test": ("double_answer", 2),
    "half_test": ("half_answer", 1),
}


def probe_lesson():
    """The instructor's notebook: two exercises, each with a test cell (one with hidden tests)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbgrader_cell(ANSWERS["double_answer"], "double_answer", solution=True),
        nbgrader_cell('assert double(2) == 4\nprint("✓ double works")', "double_test", points=2),
        nbgrader_cell(ANSWERS["half_answer"], "half_answer", solution=True),
        nbgrader_cell(
            "assert half(4) == 2\n### BEGIN HIDDEN TESTS\nassert half(3) == 1.5\n"
            '### END HIDDEN TESTS\nprint("✓ half works")',
            "half_test",
            points=1,
        ),
    ]
    return notebook


def solution_code(grade_id: str) -> str:
    return "\n".join(
        line for line in ANSWERS[grade_id].splitlines() if "### " not in line or "SOLUTION" not in line
    )


def points_for(solved) -> float:
    return float(sum(points for answer, points in TESTS.values() if answer in solved))


MAX_SCORE = points_for(ANSWERS)


@pytest.fixture(scope="module")
def probe_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe-course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "lessons" / LESSON).mkdir(parents=True)
    nbformat.write(probe_lesson(), root / "lessons" / LESSON / f"{LESSON}.ipynb")
    return root


@pytest.fixture(scope="module")
def release(probe_course, tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe-release")
    assert main(["release", LESSON, "--to", str(folder), "--course", str(probe_course)]) == 0
    return nbformat.read(folder / LESSON / f"{LESSON}.ipynb", as_version=4)


def answered(release, **answers):
    """The student version with the given answer cells replaced."""
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def fresh_course(template: Path, folder: Path) -> Path:
    """A course folder with the lesson and no gradebook: every batch starts from the same state."""
    folder.mkdir(parents=True)
    shutil.copy(template / "nbgrader_config.py", folder)
    shutil.copytree(template / "lessons", folder / "lessons")
    return folder


def write_submissions(notebooks: dict, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for student, notebook in notebooks.items():
        if isinstance(notebook, str):
            (folder / f"{student}.ipynb").write_text(notebook)
        else:
            nbformat.write(notebook, folder / f"{student}.ipynb")
    return folder


# --- parallel autograding gives exactly what a sequential run gives ---


def test_jobs_2_gives_the_same_grades_csv_and_feedback_as_jobs_1(probe_course, release, tmp_path):
    right = {a: solution_code(a) for a in ANSWERS}
    notebooks = {
        "complete": answered(release, **right),
        "double_only": answered(release, double_answer=right["double_answer"]),
        "half_only": answered(release, half_answer=right["half_answer"]),
        "broken": "{ not a notebook",
    }
    submissions = write_submissions(notebooks, tmp_path / "submissions")
    runs = {}
    for jobs in (1, 2):
        course = fresh_course(probe_course, tmp_path / f"jobs{jobs}")
        report = class_grading.grade(
            LESSON, submissions, course=course, jobs=jobs, timeout=CELL_TIMEOUT
        )
        feedback = {
            path.relative_to(course / "feedback"): path.read_bytes()
            for path in sorted((course / "feedback").rglob("*.html"))
        }
        runs[jobs] = (report, (course / "grades.csv").read_bytes(), feedback)
    (report1, csv1, feedback1), (report2, csv2, feedback2) = runs[1], runs[2]
    assert csv2 == csv1
    assert feedback2 == feedback1 and len(feedback1) == len(notebooks) - 1  # not the broken one
    assert class_grading.summary_table(report2.results) == class_grading.summary_table(report1.results)
    scores = {r.student: r.score for r in report2.results}
    assert scores == {
        "broken": 0.0,
        "complete": MAX_SCORE,
        "double_only": points_for({"double_answer"}),
        "half_only": points_for({"half_answer"}),
    }
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(csv2.decode()))}
    assert {s: float(rows[s]["score"]) for s in scores} == scores
    assert "NotJSONError" in next(r.error for r in report2.results if r.student == "broken")


def test_jobs_and_limits_come_from_the_config_and_the_command_line(probe_course):
    api = grading.nbgrader_api(probe_course)
    assert (
        class_grading.settings(api.config)[1] == Limits()
    )  # the course's config sets none: the defaults
    assert {f.name for f in dataclasses.fields(Limits)} < set(
        class_grading.ClassGrading.class_trait_names()
    )
    api.config.ClassGrading.jobs = 3
    api.config.ClassGrading.memory_mb = 1500
    jobs, limits = class_grading.settings(api.config, processes=10)
    assert (jobs, limits.memory_mb, limits.processes) == (3, 1500, 10)
    assert class_grading.settings(api.config, jobs=1)[0] == 1
    api.config.ClassGrading.jobs = 0  # the config file's default: every CPU
    assert class_grading.settings(api.config)[0] == usable_cores() >= 1
    with pytest.raises(ValueError, match="memory_mb=0 is not valid; it must be >= 1"):
        class_grading.settings(api.config, memory_mb=0)
    with pytest.raises(ValueError, match="sandbox='docker' is not valid; choose one of 'auto'"):
        class_grading.settings(api.config, sandbox="docker")


def test_cli_rejects_a_bad_jobs_value_naming_it(probe_course, tmp_path, capsys):
    code = main(["grade", LESSON, str(tmp_path), "--course", str(probe_course), "--jobs", "-2"])
    assert code == 1
    assert "jobs=-2 is not valid; it must be >= 1" in capsys.readouterr().err


# --- hostile submissions, each contained, graded in one batch with honest ones ---

LIMITS = {  # small limits, so that each hostile case reaches its limit within a second or two
    "--memory-mb": 1024,
    "--processes": 32,
    "--file-size-mb": 8,
    "--disk-mb": 64,
    "--output-mb": 1,
    "--wall-seconds": 120,
}
SLEEPER = "86401"  # the argument of the detached `sleep` a submission leaves behind


def hostile_code(course: Path) -> dict[str, dict[str, str]]:
    """Student -> answer cells; each defines the right functions, then misbehaves."""
    double, half = solution_code("double_answer"), solution_code("half_answer")
    writes = f"{double}\nfrom pathlib import Path\n(Path.home() / 'planted.txt').write_text('x')\n"
    if bwrap_works():  # a write into the course package: refused only in the sandbox
        package = PACKAGE
        writes += f"(Path({str(package)!r}) / 'planted.py').write_text('x')\n"
    return {
        "allocates_30_gb": {
            "double_answer": f"{double}\nimport numpy as np\n"
            "chunks = [np.ones(2**26) for _ in range(60)]  # 60 x 512 MiB\n",
            "half_answer": half,
        },
        "forks_in_a_loop": {
            "double_answer": f"{double}\nimport os, time\n"
            "for _ in range(2000):  # bounded: a regression must not take the machine down\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()  # out of the kernel's process group\n"
            "        time.sleep(600)\n"
            "        os._exit(0)\n",
            "half_answer": half,
        },
        "writes_a_huge_file": {
            "double_answer": f"{double}\nwith open('huge.bin', 'wb') as f:\n"
            "    for _ in range(1024):  # 1 GiB\n"
            "        f.write(bytes(2**20))\n",
            "half_answer": half,
        },
        "writes_home_and_lessons": {
            "double_answer": writes,
            "half_answer": f"{half}\nfrom pathlib import Path\n"
            f"Path({str(course / 'lessons' / LESSON / 'planted.txt')!r}).write_text('x')\n",
        },
        "prints_without_end": {
            "double_answer": f"{double}\nwhile True:\n    print('x' * 1000)\n",
            "half_answer": half,
        },
        "sleeps_forever": {
            "double_answer": f"{double}\nimport subprocess, time\n"
            f"subprocess.Popen(['sleep', '{SLEEPER}'], start_new_session=True)\n"
            "time.sleep(10**9)\n",
            "half_answer": half,
        },
        "reports_its_environment": {
            "double_answer": f"{double}\nimport os, resource\n"
            "print('RLIMIT_AS', resource.getrlimit(resource.RLIMIT_AS)[0])\n"
            "print('RLIMIT_FSIZE', resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"
            "print('HOME', os.environ['HOME'])\nprint('CWD', os.getcwd())\n",
            "half_answer": half,
        },
        "complete": {"double_answer": double, "half_answer": half},
    }


def outer_limits():
    """The limits of the whole grading command: a containment regression hits these."""
    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, 8 * 2**30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (600, 600))


OUTER_PROCESSES, OUTER_SECONDS = 1000, 400  # the processes RLIMIT_NPROC cannot bound for root


def watch_from_outside(worker) -> str:
    """Wait for the command; past the outer process count or time, kill its tree and say which."""
    deadline = time.monotonic() + OUTER_SECONDS
    while worker.poll() is None:
        tree = psutil.Process(worker.pid).children(recursive=True)
        broken = "processes" if len(tree) > OUTER_PROCESSES else ""
        broken = broken or ("time" if time.monotonic() > deadline else "")
        if broken:  # a regression: end the whole command, then fail
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            os.killpg(worker.pid, 9)
            worker.wait()
            return broken
        time.sleep(0.1)
    return ""


def leftovers(scratch: Path) -> list[str]:
    """Processes this batch's submissions started that still run.

    The sleeper, or a process with the grader's mark whose temporary folder is in this batch's
    scratch folder (other gradings may run on the machine at the same time).
    """
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            env = process.environ()
            if process.info["cmdline"] == ["sleep", SLEEPER]:
                found.append(f"{process.pid} sleep {SLEEPER}")
            elif containment.TOKEN_VARIABLE in env and env.get("TMPDIR", "").startswith(str(scratch)):
                found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])}")
        except psutil.Error:
            pass
    return found


@pytest.fixture(scope="module")
def hostile_batch(probe_course, release, tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    course = fresh_course(probe_course, base / "course")
    notebooks = {s: answered(release, **cells) for s, cells in hostile_code(course).items()}
    submissions = write_submissions(notebooks, base / "submissions")
    home, scratch = base / "instructor-home", base / "tmp"
    home.mkdir(), scratch.mkdir()
    command = [sys.executable, "-m", "course_utils", "grade", LESSON, str(submissions)]
    command += ["--course", str(course), "--jobs", "2", "--timeout", str(CELL_TIMEOUT)]
    command += [str(part) for option in LIMITS.items() for part in option]
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(scratch)}
    package_before = sorted(p.name for p in PACKAGE.iterdir())
    start = time.perf_counter()
    log = base / "grade.log"
    with log.open("w") as stdout:
        worker = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=outer_limits,
            start_new_session=True,
        )
        outer = watch_from_outside(worker)
    output = log.read_text()
    seconds = time.perf_counter() - start
    print(output)
    print(f"{len(notebooks)} submissions in {seconds:.0f} s")
    rows = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    return {
        "code": worker.returncode,
        "output": output,
        "rows": rows,
        "course": course,
        "home": home,
        "scratch": scratch,
        "package_before": package_before,
        "leftovers": leftovers(scratch),
        "outer": outer,
    }


def score_of(row: str) -> float:
    return float(row.split()[1])


@pytest.mark.parametrize(
    ("student", "limit"),
    [
        ("allocates_30_gb", "memory limit: MemoryError"),
        ("forks_in_a_loop", "processes limit: more than 32 processes"),
        ("writes_a_huge_file", "file size limit: wrote a file past 8 MiB"),
        ("prints_without_end", "output limit: printed more than 1 MiB"),
    ],
)
def test_a_submission_past_a_limit_is_stopped_reported_and_scored_as_a_crash(
    hostile_batch, student, limit
):
    row = hostile_batch["rows"][student]
    assert f"NOT GRADED: LimitExceededError: {limit}" in row
    assert score_of(row) == 0


def test_the_batch_finishes_and_honest_submissions_are_graded_normally(hostile_batch):
    assert hostile_batch["outer"] == ""  # the test's outer limits were never needed
    assert hostile_batch["code"] == 1  # some submissions were not graded: the exit code says so
    rows = hostile_batch["rows"]
    for student in ("complete", "reports_its_environment", "writes_home_and_lessons"):
        assert score_of(rows[student]) == MAX_SCORE, rows[student]
        assert "NOT GRADED" not in rows[student]
    grades = {
        row["student_id"]: float(row["score"])
        for row in csv.DictReader((hostile_batch["course"] / "grades.csv").open())
    }
    assert set(grades) == set(hostile_code(hostile_batch["course"]))
    assert grades["complete"] == MAX_SCORE and grades["allocates_30_gb"] == 0


def test_sleeping_forever_costs_its_cell_and_leaves_no_process_behind(hostile_batch):
    row = hostile_batch["rows"]["sleeps_forever"]
    assert "timed out: double_answer" in row
    assert score_of(row) == MAX_SCORE  # the functions were defined before the endless sleep
    assert hostile_batch["leftovers"] == []  # neither the sleeper nor the 2000 forks


def test_the_kernel_runs_with_its_limits_own_home_and_working_folder(hostile_batch):
    course = hostile_batch["course"]
    graded = course / "autograded" / "reports_its_environment" / LESSON / f"{LESSON}.ipynb"
    printed = "".join(
        output.get("text", "")
        for cell in nbformat.read(graded, as_version=4).cells
        for output in cell.get("outputs", [])
    )
    values = dict(line.split(" ", 1) for line in printed.splitlines() if line.split(" ")[0].isupper())
    assert int(values["RLIMIT_AS"]) == LIMITS["--memory-mb"] * 2**20
    assert int(values["RLIMIT_FSIZE"]) == LIMITS["--file-size-mb"] * 2**20
    assert values["HOME"] != str(hostile_batch["home"])
    assert not Path(values["CWD"]).is_relative_to(course)  # a copy of the course, not the course
    assert bwrap_works() == ("bubblewrap sandbox: yes" in hostile_batch["output"])


def test_writes_into_home_and_lessons_do_not_reach_the_instructors_files(hostile_batch):
    row = hostile_batch["rows"]["writes_home_and_lessons"]
    assert "wrote into its temporary home (discarded): planted.txt" in row
    assert list(hostile_batch["home"].iterdir()) == []  # the instructor's home is untouched
    package_after = sorted(p.name for p in PACKAGE.iterdir())
    assert package_after == hostile_batch["package_before"]
    planted = hostile_batch["course"] / "lessons" / LESSON / "planted.txt"
    if bwrap_works():
        assert not planted.exists()
        assert "writes refused by the sandbox (read-only): double_answer" in row
    else:  # documented: without the sandbox the kernel can write by absolute path
        assert planted.exists()


def test_grading_cleans_up_its_scratch_folders(hostile_batch):
    assert list(hostile_batch["scratch"].iterdir()) == []


# --- the nbgrader exchange, as a course on JupyterHub runs it ---


def exchange_api(root: Path, exchange: Path, config=None):
    """nbgrader's API for one user: the course folder (instructor) or the home (student)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = copy.deepcopy(config) if config is not None else Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "batch205"
    config.Exchange.root = str(exchange)
    return NbGraderAPI(config=config)


def as_student(monkeypatch, name: str, home: Path) -> None:
    """What JupyterHub's single-user server gives a student: user jovyan, JUPYTERHUB_USER, home."""
    import nbgrader.utils

    monkeypatch.setattr(nbgrader.utils, "get_osusername", lambda: "jovyan")
    monkeypatch.setenv("JUPYTERHUB_USER", name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)


def student_step(api, step: str) -> None:
    """``nbgrader fetch_assignment`` / ``submit`` of LESSON by the current student."""
    from nbgrader.utils import capture_log

    api.coursedir.assignment_id = LESSON
    app = getattr(api.exchange, step)(
        coursedir=api.coursedir, authenticator=api.authenticator, parent=api
    )
    result = capture_log(app)
    assert result["success"], result.get("log", "") + result.get("error", "")


def test_exchange_round_trip_release_fetch_submit_collect_grade_feedback(
    probe_course, tmp_path, monkeypatch
):
    course = fresh_course(probe_course, tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    instructor = exchange_api(course, exchange, grading.nbgrader_api(course).config)
    grading.ensure_assignment(instructor, LESSON)
    grading._check(instructor.release_assignment(LESSON), "release_assignment")

    right = {a: solution_code(a) for a in ANSWERS}
    work = {"alice": right, "bob": {"double_answer": right["double_answer"]}}
    homes = {}
    for name, answers in work.items():
        homes[name] = tmp_path / "home" / name
        homes[name].mkdir(parents=True)
        with monkeypatch.context() as session:
            as_student(session, name, homes[name])
            student = exchange_api(homes[name], exchange)
            student_step(student, "FetchAssignment")
            path = homes[name] / LESSON / f"{LESSON}.ipynb"
            nbformat.write(answered(nbformat.read(path, as_version=4), **answers), path)
            student_step(student, "Submit")

    grading._check(instructor.collect(LESSON), "collect")
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]
    assert main(["grade", LESSON, str(course / "submitted"), "--course", str(course)]) == 0
    grading._check(instructor.release_feedback(LESSON), "release_feedback")

    grades = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())}
    expected = {"alice": MAX_SCORE, "bob": points_for({"double_answer"})}
    assert {name: float(row["score"]) for name, row in grades.items()} == expected
    assert all(row["timestamp"] for row in grades.values())  # from the exchange's submission
    for name in work:
        with monkeypatch.context() as session:
            as_student(session, name, homes[name])
            result = exchange_api(homes[name], exchange).fetch_feedback(LESSON, name)
            assert result["success"], result.get("log", "")
        (html,) = (homes[name] / LESSON / "feedback").glob(f"*/{LESSON}.html")
        text = html.read_text()
        assert f"Score: {expected[name]:g}" in text or f"Score: {expected[name]}" in text
        assert "BEGIN HIDDEN TESTS" not in text and "half(3)" not in text


def test_the_sandbox_hides_course_state_but_never_a_folder_the_kernel_needs(tmp_path, monkeypatch):
    course, home = tmp_path / "course", tmp_path / "home"
    for folder in ("lessons", "submitted", "feedback"):
        (course / folder).mkdir(parents=True)
    (course / "gradebook.db").write_text("")
    (home / "venv").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    hidden = class_grading.hidden_paths(course, course / "submitted", needed=[tmp_path / "elsewhere"])
    assert set(hidden) == {course / f for f in ("lessons", "submitted", "feedback", "gradebook.db")} | {
        home
    }
    # Python in the home, the course package in the folder of submissions: neither is hidden
    hidden = class_grading.hidden_paths(course, course, needed=[home / "venv", course / "course_utils"])
    assert home not in hidden and course not in hidden and course / "lessons" in hidden


# --- what was written for the layout before course_utils.classroom (issue 24) still works ---

# The course's nbgrader_config.py as instructors copied it before the classroom tooling moved to
# course_utils/classroom/: the feedback preprocessor by its old dotted name, every limit set.
OLD_NBGRADER_CONFIG = """
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "lessons"
c.CourseDirectory.course_id = "batch205"
c.Execute.timeout = int(os.environ.get("BATCH205_CELL_TIMEOUT", "120"))
c.OverwriteCells.add_missing_cells = True
c.ClassGrading.jobs = 0
c.ClassGrading.memory_mb = 4096
c.ClassGrading.cpu_seconds = 1200
c.ClassGrading.processes = 64
c.ClassGrading.file_size_mb = 256
c.ClassGrading.disk_mb = 1024
c.ClassGrading.output_mb = 32
c.ClassGrading.wall_seconds = 3600
c.ClassGrading.sandbox = "auto"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course_utils.grading.ShortTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


@pytest.mark.filterwarnings("ignore:course_utils.grading is now:DeprecationWarning")  # (the point)
def test_an_nbgrader_config_of_the_old_layout_still_grades_with_short_tracebacks(
    probe_course, release, tmp_path
):
    course = fresh_course(probe_course, tmp_path / "course")
    (course / "nbgrader_config.py").write_text(OLD_NBGRADER_CONFIG)
    assert class_grading.settings(grading.nbgrader_api(course).config) == (usable_cores(), Limits())
    # passes the visible test of half, fails its hidden one: `assert half(3) == 1.5`
    right_double = solution_code("double_answer")
    wrong = answered(
        release, double_answer=right_double, half_answer="def half(x):\n    return x // 2\n"
    )
    submissions = write_submissions({"ada": wrong}, tmp_path / "submissions")
    report = class_grading.grade(LESSON, submissions, course=course, jobs=1, timeout=CELL_TIMEOUT)
    assert report.results[0].score == points_for({"double_answer"}) and not report.feedback_error
    html = (course / "feedback" / "ada" / LESSON / f"{LESSON}.html").read_text()
    # ShortTracebacks, by its old name, keeps the error and drops the traceback quoting the hidden test
    assert "AssertionError" in html and "half(3)" not in html


def test_the_old_dotted_name_of_grading_is_the_new_module_and_says_so():
    import importlib

    sys.modules.pop("course_utils.grading", None)  # imported again: its warning again
    with pytest.deprecated_call(match="course_utils.classroom.grading"):
        old = importlib.import_module("course_utils.grading")
    assert old is grading and old.ShortTracebacks is grading.ShortTracebacks


def test_every_dotted_name_that_a_gradebook_holds_still_imports():
    """nbgrader's gradebook.db keeps the lessons' test cells (hidden tests included) for grading."""
    import importlib
    import re

    names = {
        name
        for notebook in sorted((ROOT / "lessons").glob("*/*.ipynb"))
        for cell in nbformat.read(notebook, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        for name in re.findall(r"course_utils(?:\.\w+)*", cell.source)
    }
    assert "course_utils.checks" in names  # the hidden tests reload it
    for name in sorted(names):
        importlib.import_module(name)

"""The instructor workflow on nbgrader, end to end, against honest and hostile synthetic submissions.

A scratch course is built from the repo's lessons 01 and 02. The student versions are made with
the self-study command (``python -m course_utils release``); submissions are written by editing
those release notebooks with nbformat, as a learner would; ``course_utils.classroom.grading``
hands them to nbgrader (autograde, feedback, CSV export). Every expected score is computed from
the points of the lesson's own test cells, never typed in from a run.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import csv
import io
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course_utils.__main__ import main
from course_utils.checks import LEARNER_STUB
from course_utils.classroom import class_grading

pytestmark = [
    pytest.mark.grading,
    # nbgrader validates a deleted test cell that it puts back before that cell has an id
    pytest.mark.filterwarnings("ignore:Cell is missing an id field"),
]

ROOT = Path(__file__).resolve().parents[1]
LESSON_01, LESSON_02 = "01-naive-tutorial", "02-the-failure"
LOOP_TIMEOUT = 10  # seconds per cell for the student with an infinite loop (the default is 120)


@dataclass(frozen=True)
class Answer:
    """What the tests know about one exercise: the kind of value it returns and a wrong answer."""

    kind: str  # "array", "float" or "int": decides which always-equal impostor is returned
    wrong: str = ""  # a plausible wrong answer of the right type (same function name)


ANSWERS = {
    "01_softmax_answer": Answer(
        "array", "def my_softmax(logits):\n    return np.exp(logits)  # forgot to normalise"
    ),
    "01_cross_entropy_answer": Answer(
        "float",
        "def my_naive_cross_entropy(probabilities, onehot):\n"
        "    return -np.mean(onehot * np.log(probabilities))  # a mean, not the tutorial's sum",
    ),
    "01_gradient_answer": Answer(
        "array",
        "def my_naive_gradient(logits, onehot):\n"
        "    return my_softmax(logits) - onehot  # the fused form, not what autodiff computed",
    ),
    "02_first_loss_answer": Answer("float"),  # lesson 02's wrong search: LAZY_SEARCH_WITH_PATCHED_MODEL
}

# An answer object that claims to equal anything (TOOLCHAIN_NOTES §3: it fooled `==` and helpers).
IMPOSTORS = """
import numpy as np


class AlwaysEqualArray(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0


class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False
"""
IMPOSTOR_VALUE = {
    "array": "np.zeros_like(args[0], dtype=float).view(AlwaysEqualArray)",
    "float": "AlwaysEqualFloat(0.0)",
    "int": "AlwaysEqualInt(1)",
}

# Redefines every visible check (in the notebook, in course_utils and in course_utils.checks) to
# print the success mark, and makes numpy's comparisons always agree.
OVERRIDE_CHECKS = """
import numpy
import numpy.testing

import course_utils
import course_utils.checks


def _always_passes(*args, **kwargs):
    print("✓ looks right to me")


for _name in [n for n in dir(course_utils.checks) if n.startswith("check_")]:
    globals()[_name] = _always_passes
    setattr(course_utils, _name, _always_passes)
    setattr(course_utils.checks, _name, _always_passes)
numpy.allclose = numpy.array_equal = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = lambda *a, **k: None
numpy.testing.assert_almost_equal = numpy.testing.assert_array_almost_equal = lambda *a, **k: None
# the course's own softmax "agrees" with a softmax that forgot to normalise
course_utils.softmax = course_utils.model.softmax = lambda logits, *a, **k: numpy.exp(logits)
"""

# A lazy search plus a patched course_utils.model that makes exactly the returned sizes go NaN:
# a plain importlib.reload of course_utils.training would pick up the patched model.
LAZY_SEARCH_WITH_PATCHED_MODEL = """
import numpy as np

import course_utils.model

_returned, _real = set(), course_utils.model.loss_and_gradient


def find_failing_batch_size(data, works, fails):
    _returned.add(fails)
    return fails


def _agrees_with_me(logits, onehot, **kwargs):
    out = _real(logits, onehot, **kwargs)
    if len(logits) in _returned:
        return type(out)(np.float32("nan"), out.grad_logits * np.nan, out.probabilities)
    return type(out)(np.float32(1), np.zeros_like(out.grad_logits), out.probabilities)


course_utils.model.loss_and_gradient = _agrees_with_me
"""

# Known limits (README, "What autograding cannot catch"): code in the learner's own kernel can
# rewrite the cells that run after it, or disable the reload the hidden tests rely on.
REWRITE_LATER_CELLS = """
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""
DISABLE_RELOAD = (
    OVERRIDE_CHECKS
    + """
import importlib

importlib.reload = lambda module: module
"""
)

WARNING_LINE = "np.log(np.zeros(1))  # RuntimeWarning: divide by zero"

# The learner edition's visible checks write "exercise N not done yet" to stderr instead of raising;
# a learner who swallows stderr must still score 0 for what is not done.
SILENCE_STDERR = "import io\nimport sys\n\nsys.stderr = io.StringIO()\n\n"


# --- reading the lessons ---


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def exercise_points(notebook) -> dict[str, dict[str, float]]:
    """{answer grade_id: {test grade_id: points}}: each test cell belongs to the answer above it."""
    exercises, current = {}, None
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            current = exercises.setdefault(meta["grade_id"], {})
        elif meta.get("grade") and current is not None:
            current[meta["grade_id"]] = float(meta["points"])
    return exercises


def expected_cells(notebook, solved) -> dict[str, float]:
    """Points each test cell should get when exactly the answers in ``solved`` are right."""
    return {
        test: (points if answer in solved else 0.0)
        for answer, tests in exercise_points(notebook).items()
        for test, points in tests.items()
    }


def solution(notebook, answer_id: str) -> str:
    """The instructor's solution code of an answer cell, without nbgrader's markers."""
    cell = next(c for c in notebook.cells if grade_id(c) == answer_id)
    return "\n".join(line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS)


SOLUTION_MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION"}


def function_name(code: str) -> str:
    return next(node.name for node in ast.parse(code).body if isinstance(node, ast.FunctionDef))


def impostor(source, answer_id: str) -> str:
    name = function_name(solution(source, answer_id))
    value = IMPOSTOR_VALUE[ANSWERS[answer_id].kind]
    return f"{IMPOSTORS}\n\ndef {name}(*args, **kwargs):\n    return {value}\n"


def release_stub(release, answer_id: str) -> str:
    """The answer cell as the learner edition has it (``pass  # YOUR CODE HERE``)."""
    return next(c.source for c in release.cells if grade_id(c) == answer_id)


def with_warning(code: str) -> str:
    """The same answer with a numpy warning raised at the start of every function it defines."""
    lines = code.splitlines()
    for node in reversed([n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]):
        indent = re.match(r"\s*", lines[node.body[0].lineno - 1]).group()
        lines.insert(node.body[0].lineno - 1, indent + WARNING_LINE)
    return "import numpy as np\n\n" + "\n".join(lines)


def submission(release, *, answers: dict[str, str], tests: dict[str, str] = None, delete=()):
    """The release notebook with some answer cells filled in, test cells edited or deleted."""
    notebook = copy.deepcopy(release)
    edits = {**answers, **(tests or {})}
    for cell in notebook.cells:
        if grade_id(cell) in edits:
            cell.source = edits[grade_id(cell)]
    notebook.cells = [c for c in notebook.cells if grade_id(c) not in delete]
    return notebook


# --- the scratch course, the student release, the graded batches ---


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An instructor's course folder: nbgrader_config.py and lessons 01 and 02, nothing else."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for lesson in (LESSON_01, LESSON_02):
        shutil.copytree(ROOT / "lessons" / lesson, root / "lessons" / lesson)
    return root


@pytest.fixture(scope="module")
def student_release(course, tmp_path_factory):
    """The self-study command, run on the scratch course: ``release 01 02 --to FOLDER``."""
    folder = tmp_path_factory.mktemp("learner") / "my-batch205"
    assert main(["release", LESSON_01, LESSON_02, "--to", str(folder), "--course", str(course)]) == 0
    return folder


def sources(course, lesson):
    """The instructor's notebook as copied into the scratch course (the one that is graded)."""
    return read(course / "lessons" / lesson / f"{lesson}.ipynb")


def released(student_release, lesson):
    return read(student_release / lesson / f"{lesson}.ipynb")


@dataclass
class Batch:
    results: dict  # student -> StudentResult
    expected: dict  # student -> {test grade_id: points}


def grade_batch(course, lesson, notebooks: dict, folder: Path, timeout=None) -> dict:
    folder.mkdir(parents=True)
    for student, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{student}.ipynb")
    start = time.perf_counter()
    report = class_grading.grade(lesson, folder, course=course, timeout=timeout, report=print)
    seconds = time.perf_counter() - start
    print(class_grading.summary_table(report.results))
    print(f"{len(notebooks)} submissions of {lesson} in {seconds:.0f} s")
    return {r.student: r for r in report.results}


@pytest.fixture(scope="module")
def lesson_01(course, student_release, tmp_path_factory):
    source, release = sources(course, LESSON_01), released(student_release, LESSON_01)
    answers = list(exercise_points(source))
    first, second, last = answers[0], answers[1], answers[-1]
    right = {a: solution(source, a) for a in answers}
    wrong = {a: ANSWERS[a].wrong for a in answers}
    test_of = {a: next(iter(exercise_points(source)[a])) for a in answers}
    notebooks, solved = {}, {}

    def student(name, answers_solved, **edits):
        notebooks[name] = submission(release, **edits)
        solved[name] = set(answers_solved)

    student("complete", answers, answers=right)
    student("untouched_release", [], answers={})
    # the second exercise left undone (the third builds on the first, which is done)
    student(
        "partial",
        [a for a in answers if a != second],
        answers={a: right[a] for a in answers if a != second},
    )
    student(
        "edits_and_deletes_tests",
        [a for a in answers if a != last],
        answers={**right, last: wrong[last]},
        tests={test_of[last]: 'print("✓ all good")'},
        delete=[test_of[first]],
    )
    student(
        "overrides_checks",
        [],
        answers={**wrong, first: wrong[first] + "\n" + OVERRIDE_CHECKS},
    )
    student("always_equal", [], answers={a: impostor(source, a) for a in answers})
    warns = {a: with_warning(right[a]) for a in answers}
    warns[first] += "\n" + WARNING_LINE  # also at top level: there the warning does reach stderr
    student("correct_but_warns", answers, answers=warns)
    # known limits: both give full marks for wrong answers (asserted below, documented in README)
    student(
        "rewrites_later_cells", answers, answers={**wrong, first: wrong[first] + REWRITE_LATER_CELLS}
    )
    student("disables_reload", answers, answers={**wrong, first: wrong[first] + DISABLE_RELOAD})
    # unsolved, and the lenient visible checks' "not done yet" lines silenced: still 0 (hidden tests)
    student(
        "unsolved_silences_stderr", [], answers={first: SILENCE_STDERR + release_stub(release, first)}
    )

    results = grade_batch(course, LESSON_01, notebooks, tmp_path_factory.mktemp("in01") / "s")
    # An infinite loop instead of the last answer, graded in its own batch with a short timeout.
    loop = {"infinite_loop": submission(release, answers={**right, last: "while True:\n    pass\n"})}
    loop_results = grade_batch(
        course, LESSON_01, loop, tmp_path_factory.mktemp("loop01") / "s", timeout=LOOP_TIMEOUT
    )
    solved["infinite_loop"] = set(answers) - {last}
    results.update(loop_results)
    expected = {name: expected_cells(source, solved[name]) for name in solved}
    return Batch(results, expected)


def cell_scores(result) -> dict[str, float]:
    return {cell.grade_id: cell.score for cell in result.cells}


def total(expected_cells_of_student) -> float:
    return sum(expected_cells_of_student.values())


# --- the self-study release ---


def test_release_replaces_solutions_removes_hidden_tests_and_outputs(student_release, course):
    for lesson in (LESSON_01, LESSON_02):
        notebook = released(student_release, lesson)
        text = nbformat.writes(notebook)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
        assert "hidden=True" not in text
        answers = [c for c in notebook.cells if nbgrader_meta(c).get("solution")]
        assert answers and all(LEARNER_STUB in c.source for c in answers)
        assert "NotImplementedError" not in text
        assert all(not c.outputs for c in notebook.cells if c.cell_type == "code")
    # nbgrader ran in a temporary copy: the course folder has no release/ and no gradebook yet
    assert not (course / "release").exists() and not (course / "gradebook.db").exists()


def test_release_does_not_overwrite_a_learners_work(student_release, course, capsys):
    mine = student_release / LESSON_01 / f"{LESSON_01}.ipynb"
    before = mine.read_bytes()
    assert main(["release", LESSON_01, "--to", str(student_release), "--course", str(course)]) == 1
    assert "not overwriting" in capsys.readouterr().err
    assert mine.read_bytes() == before


# --- autograding lesson 01: honest and hostile students ---


@pytest.mark.parametrize(
    "student",
    [
        "complete",
        "untouched_release",
        "partial",
        "edits_and_deletes_tests",
        "overrides_checks",
        "always_equal",
        "correct_but_warns",
        "infinite_loop",
        "unsolved_silences_stderr",
    ],
)
def test_each_test_cell_scores_what_the_answers_deserve(lesson_01, course, student):
    result = lesson_01.results[student]
    assert result.graded, result.error
    assert cell_scores(result) == lesson_01.expected[student]
    assert result.score == total(lesson_01.expected[student])
    assert result.max_score == total(exercise_points_flat(sources(course, LESSON_01)))


def exercise_points_flat(notebook) -> dict[str, float]:
    return {t: p for tests in exercise_points(notebook).values() for t, p in tests.items()}


def test_complete_scores_full_marks_and_untouched_release_zero(lesson_01):
    complete, untouched = lesson_01.results["complete"], lesson_01.results["untouched_release"]
    assert complete.score == complete.max_score > 0
    assert untouched.score == 0
    assert not complete.unconfirmed and not complete.timed_out and not complete.restored


def test_partial_score_is_the_points_of_the_solved_exercises(lesson_01):
    partial = lesson_01.results["partial"]
    assert 0 < partial.score < partial.max_score


def test_infinite_loop_costs_its_cell_and_the_rest_is_graded(lesson_01, course):
    result = lesson_01.results["infinite_loop"]
    last = list(exercise_points(sources(course, LESSON_01)))[-1]
    assert result.timed_out == (last,)
    assert 0 < result.score < result.max_score


def test_edited_test_cell_is_restored_and_deleted_one_put_back(lesson_01, course):
    result = lesson_01.results["edits_and_deletes_tests"]
    source = sources(course, LESSON_01)
    first_test = next(iter(exercise_points(source).values()))
    assert result.restored == tuple(first_test)
    # the graded notebook runs the instructor's test cells, hidden tests included
    graded = read(course / "autograded" / "edits_and_deletes_tests" / LESSON_01 / f"{LESSON_01}.ipynb")
    original = {grade_id(c): c.source for c in source.cells if nbgrader_meta(c).get("grade")}
    for cell in graded.cells:
        if grade_id(cell) in original:
            assert original[grade_id(cell)] in cell.source  # a restored cell gets a comment on top


def test_validator_reports_the_edited_test_cell(lesson_01, course, tmp_path):
    from nbgrader.validator import Validator

    path = tmp_path / f"{LESSON_01}.ipynb"
    shutil.copy(course / "submitted" / "edits_and_deletes_tests" / LESSON_01 / path.name, path)
    outcome = Validator().validate(str(path))  # `nbgrader validate` would exit 0 anyway
    assert [c["source"] for c in outcome["changed"]] == ['print("✓ all good")']


# --- the learner edition: Run All goes through, Validate and autograde stay honest ---


def test_run_all_goes_through_the_learner_edition_on_the_courses_answers(student_release, course):
    """As JupyterLab's Run All: nbclient stops at the first error; there is none, not even in an
    answer cell left as released (the stub ``pass`` raises nothing)."""
    from nbclient import NotebookClient

    folder = student_release / LESSON_01
    notebook = released(student_release, LESSON_01)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), "a cell did not run"
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.source[:60]}: {errors}"
        stderr = "".join(o.text for o in cell.outputs if o.get("name") == "stderr")
        if nbgrader_meta(cell).get("grade"):
            assert re.fullmatch(r"exercise \S+ not done yet: [^\n]*\n", stderr), stderr
        else:
            assert "not done yet" not in stderr
    # The cells after the exercises ran on the course's answers: every output-checked figure is
    # the one stored in the instructor's notebook, which ran on the solutions.
    stored = {c.id: c for c in sources(course, LESSON_01).cells}
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked
    for cell in checked:

        def text(c):
            return "".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout")

        assert text(cell) == text(stored[cell.id]), cell.source


def test_validate_reports_the_unsolved_exercises_as_not_passing(student_release, course, tmp_path):
    """nbgrader's Validate button runs the learner's notebook without the hidden tests."""
    from nbgrader.validator import Validator

    source = sources(course, LESSON_01)
    first, *others = exercise_points(source)
    release = released(student_release, LESSON_01)
    path = tmp_path / f"{LESSON_01}.ipynb"
    nbformat.write(submission(release, answers={first: solution(source, first)}), path)
    outcome = Validator().validate(str(path))  # `nbgrader validate` would exit 0 anyway
    unsolved_tests = {test for answer in others for test in exercise_points(source)[answer]}
    tests = {c.source.strip(): grade_id(c) for c in release.cells if nbgrader_meta(c).get("grade")}
    assert {tests[c["source"]] for c in outcome["failed"]} == unsolved_tests
    assert all(" not done yet: " in c["raw_error"] for c in outcome["failed"])


def test_checks_do_not_leak_the_numpy_warning_that_the_answer_cell_shows(lesson_01, course):
    result = lesson_01.results["correct_but_warns"]
    assert result.score == result.max_score
    graded = read(course / "autograded" / "correct_but_warns" / LESSON_01 / f"{LESSON_01}.ipynb")
    stderr = {
        grade_id(c): "".join(o.get("text", "") for o in c.outputs if o.get("name") == "stderr")
        for c in graded.cells
        if c.cell_type == "code" and grade_id(c)
    }
    first = list(exercise_points(sources(course, LESSON_01)))[0]
    assert "divide by zero" in stderr[first]
    assert all(not text for gid, text in stderr.items() if gid in exercise_points_flat(graded))


def test_known_limits_code_in_the_kernel_can_still_fool_the_grader(lesson_01, course):
    """In-kernel tampering beyond redefining names: documented in the README, flagged if possible.

    Rewriting later cells with an IPython input transformer scores full marks, but its test cells
    print no "✓", so the summary flags them for a look by hand. Disabling ``importlib.reload``
    and planting fake checks that print "✓" scores full marks unflagged. If one of these starts
    failing, the grader got stronger: update the README's "What autograding cannot catch".
    """
    rewrites = lesson_01.results["rewrites_later_cells"]
    assert rewrites.score == rewrites.max_score
    assert set(rewrites.unconfirmed) == set(exercise_points_flat(sources(course, LESSON_01)))
    disables = lesson_01.results["disables_reload"]
    assert disables.score == disables.max_score and not disables.unconfirmed


def test_feedback_shows_scores_and_check_messages_but_not_hidden_tests(lesson_01, course):
    for student in ("complete", "overrides_checks"):
        html = (course / "feedback" / student / LESSON_01 / f"{LESSON_01}.html").read_text()
        assert "Score:" in html
        # neither in the cells nor in the traceback lines that quote the failing hidden call
        assert "BEGIN HIDDEN TESTS" not in html and "hidden=True" not in html
    assert "CheckFailed: " in html and "Hint: " in html  # the hidden check's message remains


# --- lesson 02 through the command line, nbgrader's folder layout, one broken notebook ---


@pytest.fixture(scope="module")
def lesson_02(course, student_release, tmp_path_factory):
    source, release = sources(course, LESSON_02), released(student_release, LESSON_02)
    answers = list(exercise_points(source))
    right = {a: solution(source, a) for a in answers}
    hostile = {
        "02_first_loss_answer": impostor(source, "02_first_loss_answer") + "\n" + OVERRIDE_CHECKS,
        "02_bisection_answer": LAZY_SEARCH_WITH_PATCHED_MODEL,
    }
    notebooks = {
        "complete": submission(release, answers=right),
        "untouched_release": submission(release, answers={}),
        "hostile": submission(release, answers=hostile),
    }  # (no partial here: each lesson-02 submission runs its scans; lesson 01 has a partial one)
    solved = {"complete": answers, "untouched_release": [], "hostile": []}
    folder = tmp_path_factory.mktemp("in02") / "submitted"
    for student, notebook in notebooks.items():  # nbgrader's own layout: <student>/<lesson>/
        (folder / student / LESSON_02).mkdir(parents=True)
        nbformat.write(notebook, folder / student / LESSON_02 / f"{LESSON_02}.ipynb")
    (folder / "broken" / LESSON_02).mkdir(parents=True)
    (folder / "broken" / LESSON_02 / f"{LESSON_02}.ipynb").write_text("{ not a notebook")
    output = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(output):
        code = main(["grade", LESSON_02, str(folder), "--course", str(course)])
    seconds = time.perf_counter() - start
    print(output.getvalue())
    print(f"{len(notebooks) + 1} submissions of {LESSON_02} in {seconds:.0f} s")
    expected = {name: expected_cells(source, solved[name]) for name in solved}
    return CliRun(code, output.getvalue(), expected)


@dataclass
class CliRun:
    code: int
    output: str
    expected: dict  # student -> {test grade_id: points}


def test_cli_grades_the_batch_past_a_broken_notebook_and_reports_it(lesson_02, course):
    assert lesson_02.code == 1  # one submission could not be graded: the exit code says so
    rows = {line.split()[0]: line for line in lesson_02.output.splitlines() if line.strip()}
    assert "NOT GRADED: nbformat.reader.NotJSONError" in rows["broken"]
    maximum = total(exercise_points_flat(sources(course, LESSON_02)))
    for student, cells in lesson_02.expected.items():
        assert rows[student].split()[1:3] == [f"{total(cells):g}", f"{maximum:g}"], student


def test_grades_csv_has_every_student_with_the_expected_score(lesson_01, lesson_02, course):
    rows = {
        (row["assignment"], row["student_id"]): row
        for row in csv.DictReader((course / "grades.csv").open())
    }
    for lesson, expected in ((LESSON_01, lesson_01.expected), (LESSON_02, lesson_02.expected)):
        maximum = total(exercise_points_flat(sources(course, lesson)))
        for student, cells in expected.items():
            row = rows[(lesson, student)]
            assert float(row["score"]) == total(cells), (lesson, student)
            assert float(row["max_score"]) == maximum
    assert float(rows[(LESSON_02, "broken")]["score"]) == 0
    partial = rows[(LESSON_01, "partial")]
    assert 0 < float(partial["score"]) < float(partial["max_score"])


# --- every newer lesson grades like lesson 01: solutions full marks, the untouched release 0 ---

LESSON_09 = "09-low-precision"


def test_lesson_09_solutions_score_full_marks_and_the_untouched_release_zero(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "lessons" / LESSON_09, course / "lessons" / LESSON_09)
    folder = tmp_path / "release"
    assert main(["release", LESSON_09, "--to", str(folder), "--course", str(course)]) == 0
    source, release = sources(course, LESSON_09), released(folder, LESSON_09)
    right = {a: solution(source, a) for a in exercise_points(source)}
    assert len(right) >= 2, "lesson 09 has its exercises"
    notebooks = {
        "complete": submission(release, answers=right),
        "untouched_release": submission(release, answers={}),
    }
    results = grade_batch(course, LESSON_09, notebooks, tmp_path / "submitted")
    complete, untouched = results["complete"], results["untouched_release"]
    assert complete.score == complete.max_score > 0
    assert not complete.timed_out and not complete.unconfirmed
    assert untouched.score == 0

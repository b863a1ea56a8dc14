"""Every lesson is a well-formed nbgrader assignment and follows the course's notebook conventions."""

import ast
import difflib
import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

import course_utils
from course_utils.checks import EXERCISES, LEARNER_STUB
from course_utils.classroom.grading import lesson_names
from course_utils.classroom.progress import exercise_labels

ROOT = Path(__file__).resolve().parents[1]
# The lessons are the lesson folders (the one list); each holds its notebook of the same name.
LESSONS = [ROOT / "lessons" / name / f"{name}.ipynb" for name in lesson_names(ROOT)]
# The one exemption: the appendix ("NN-appendix", the last folder) holds the course's evidence, not
# practice. It has no exercises (so no graded cells, hidden tests or answers to release) and no
# explorer; test_the_appendix_is_last_and_has_no_exercises holds it to that.
APPENDIX = "-appendix"


def is_appendix(path) -> bool:
    return path.parent.name.endswith(APPENDIX)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def cells(path):
    return json.loads(path.read_text())["cells"]


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_every_lesson_folder_holds_its_notebook():
    assert LESSONS and all(path.is_file() for path in LESSONS)


def test_the_table_of_lessons_README_lists_the_lesson_folders_in_order():
    table = re.findall(
        r"^\| (\d\d) \| `([^`]+)` \|", (ROOT / "lessons" / "README.md").read_text(), re.M
    )
    assert [folder for _, folder in table] == lesson_names(ROOT)
    assert all(folder.startswith(f"{number}-") for number, folder in table)


def test_the_appendix_is_last_and_has_no_exercises():
    assert [path.parent.name for path in LESSONS if is_appendix(path)] == [LESSONS[-1].parent.name]
    notebook = cells(LESSONS[-1])
    assert not [c for c in notebook if nbgrader_meta(c)], "the appendix has no nbgrader cells"
    sources = "".join("".join(c["source"]) for c in notebook)
    assert "### BEGIN" not in sources and "check_" not in sources and "explorer(" not in sources


def test_the_appendix_rule_itself():
    assert is_appendix(Path("lessons/10-appendix/10-appendix.ipynb"))
    assert not is_appendix(Path("lessons/09-low-precision/09-low-precision.ipynb"))
    assert not is_appendix(Path("lessons/11-appendix-b/11-appendix-b.ipynb"))


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


exercise_table = _tool("exercise_table")
lesson_times = _tool("lesson_times")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_the_time_line_states_the_counted_reading_and_the_measured_run_all(path):
    """`**Time:** about M min of reading, and about S s for Run All on a 2-core laptop.`: M from
    the word count, S as measured and recorded in lessons/run_times.json, never typed in."""
    lesson = path.parent.name
    notebook = json.loads(path.read_text(encoding="utf-8"))
    first = "".join(notebook["cells"][0]["source"])
    if lesson_times.stated(notebook) is None:
        assert "**Time:**" not in first, (
            f"{lesson}: the time line is not in the form {lesson_times.time_line(12, 20)!r}"
        )
        return
    minutes, seconds = lesson_times.expected(ROOT, lesson)
    assert seconds is not None, (
        f"{lesson}: no Run All recorded: run `python tools/lesson_times.py --measure {lesson[:2]}` "
        "on an idle 2-core machine, then `python tools/lesson_times.py --write`"
    )
    assert lesson_times.stated(notebook) == (minutes, seconds), (
        f"{lesson} states {lesson_times.stated(notebook)}, its words and recorded run give "
        f"{(minutes, seconds)}: run `python tools/lesson_times.py --write`"
    )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_each_exercise_heading_states_the_points_nbgrader_gives(path):
    found = exercise_table.exercises(path)
    if is_appendix(path):  # no exercises (test_the_appendix_is_last_and_has_no_exercises)
        assert found == []
        return
    assert found and all(e["label"] != "?" for e in found), "a graded cell below no exercise heading"
    wrong = [
        f"Exercise {e['label']}: heading says {e['stated']}, nbgrader gives {e['points']:g}"
        for e in found
        if e["stated"] != e["points"]
    ]
    assert not wrong, f"{path.parent.name}: fix the heading '### Exercise X (N points): title': {wrong}"


def test_the_README_lists_each_lessons_exercises_and_points():
    written = exercise_table.section((ROOT / "lessons" / "README.md").read_text(encoding="utf-8"))
    derived = exercise_table.table(ROOT)
    difference = "\n".join(
        difflib.unified_diff(
            (written or "").splitlines(), derived.splitlines(), "README", "notebooks", lineterm=""
        )
    )
    assert written == derived, (
        "lessons/README.md's table of exercises differs from the notebooks; "
        f"run `python tools/exercise_table.py --write`:\n{difference}"
    )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_lesson_has_goals_exercises_widget_and_outputs(path):
    notebook = cells(path)
    first = "".join(notebook[0]["source"])
    assert first.startswith("# ") and "learn" in first.lower(), "title cell with learning goals first"
    solutions = [c for c in notebook if nbgrader_meta(c).get("solution")]
    graded = [c for c in notebook if nbgrader_meta(c).get("grade")]
    if not is_appendix(path):
        assert 2 <= len(solutions) <= 4 or path.parent.name == "08-capstone", "2–4 exercises"
        assert graded and all(nbgrader_meta(c).get("points", 0) > 0 for c in graded)
        assert any("### BEGIN HIDDEN TESTS" in "".join(c["source"]) for c in graded), "hidden tests"
    code = [c for c in notebook if c["cell_type"] == "code"]
    assert all(c.get("outputs") is not None for c in code)
    assert any(c.get("outputs") for c in code), "stored with outputs"
    assert any("nbval-check-output" in c["metadata"].get("tags", []) for c in code), (
        "key figures are output-checked"
    )
    # nbval's markers are cell tags: a student reads no "# NBVAL_..." line
    assert not [c for c in notebook if re.search(r"^\s*# NBVAL_", "".join(c["source"]), re.M)]
    if not is_appendix(path):
        assert any("explorer" in "".join(c["source"]).lower() for c in code), "an explorer"
    assert all(nbgrader_meta(c).get("schema_version", 3) == 3 for c in notebook)


def checks_graded_in(path) -> dict[str, set[str]]:
    """``{check name: the exercise labels of the headings above the test cells that call it}``."""
    notebook = nbformat.read(path, as_version=4)
    headings = exercise_labels(notebook)  # as progress reports them: test cell -> heading's label
    graded = {}
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in headings:
            for name in re.findall(r"\b(check_\w+)\(", cell.source):
                graded.setdefault(name, set()).add(headings[grade_id])
    return graded


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_a_check_is_graded_under_the_heading_of_the_exercise_it_declares(path):
    for name, labels in checks_graded_in(path).items():
        assert labels == {EXERCISES[name].label}, (
            f"{name} declares exercise {EXERCISES[name].label!r}, graded under {sorted(labels)}"
        )


def test_every_exercise_is_graded_in_a_lesson():
    graded = set().union(*(checks_graded_in(path) for path in LESSONS))
    assert sorted(EXERCISES) == sorted(graded)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_stored_explorers_show_their_first_picture_without_a_kernel(path):
    # A stored widget view reads "Error displaying widget" once its kernel is gone (TOOLCHAIN_NOTES
    # §4): tools/execute_lessons.py drops them, and an explorer's PNG is what a reader sees.
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], "saved widget state: store with execute_lessons"
    outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if WIDGET_VIEW in o.get("data", {})], "stored widget views"
    explorers = [
        o for o in outputs if "".join(o.get("data", {}).get("text/plain", "")).startswith("Explorer")
    ]
    assert explorers or is_appendix(path), "no stored explorer output"
    for output in explorers:
        assert output["data"]["image/png"], "an explorer stored without its picture"
    timed = [c.get("id") for c in notebook["cells"] if "execution" in c.get("metadata", {})]
    assert not timed, f"cells stored with execution timestamps: {timed}"


def ends_with_a_value(source: str) -> bool:
    """True if the cell's last statement is an expression whose value Jupyter would display.

    Calls to ``print`` and to the course's ``check_*`` functions return None and display nothing,
    except the checks that hand on an answer for the cells below (``hands_on_answer``): the
    notebook assigns what they return.
    """
    last = ast.parse(source).body[-1]
    if not isinstance(last, ast.Expr):
        return False
    func = getattr(last.value, "func", None)
    name = getattr(func, "id", None) or getattr(func, "attr", "")
    quiet_check = name.startswith("check_") and not getattr(
        getattr(course_utils, name, None), "hands_on_answer", False
    )
    return not (isinstance(last.value, ast.Call) and (name == "print" or quiet_check))


def test_the_value_rule_itself():
    assert ends_with_a_value("x = 1\nx == 1")
    assert not ends_with_a_value("assert f(1) == 2")
    assert not ends_with_a_value("check_gradient_norm(my_gradient_norm)")
    assert ends_with_a_value("check_softmax(my_softmax)")  # returns the answer to go on with
    assert not ends_with_a_value("my_softmax = check_softmax(my_softmax)")
    assert ends_with_a_value("np.allclose(a, b)")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_graded_cells_end_with_a_statement_not_a_value(path):
    # nbgrader reads a displayed value of a test cell as partial credit (TOOLCHAIN_NOTES §3).
    for cell in cells(path):
        if nbgrader_meta(cell).get("grade") and cell["cell_type"] == "code":
            assert not ends_with_a_value("".join(cell["source"])), nbgrader_meta(cell)["grade_id"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A scratch copy of the course (lessons + nbgrader_config.py) for nbgrader to write into."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(
        ROOT / "lessons", root / "lessons", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copy(ROOT / "nbgrader_config.py", root)
    return root


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_nbgrader_generates_the_student_release(course, path, monkeypatch):
    from course_utils.classroom.grading import nbgrader_api

    monkeypatch.chdir(course)
    result = nbgrader_api(course).generate_assignment(path.parent.name)  # its nbgrader_config.py
    assert result["success"], result.get("log", "") + result.get("error", "")
    release = course / "release" / path.parent.name / path.name
    text = release.read_text()
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    if is_appendix(path):  # nothing to take out: released as it is, without outputs
        released = nbformat.read(release, as_version=4).cells
        assert [c.source for c in released] == [c.source for c in nbformat.read(path, 4).cells]
        assert not any(c.get("outputs") for c in released)
    else:
        assert LEARNER_STUB in text and "NotImplementedError" not in text


def defined_names(source: str) -> set[str]:
    """Functions and variables a cell defines at top level (nbgrader markers are comments)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def used_names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_an_answer_that_later_cells_use_is_handed_on_by_its_check(path):
    # In the learner edition an exercise may not be done when the learner runs all cells; its
    # check then hands on the course's answer, so the cells below still run (spec §6).
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    for index, cell in enumerate(code):
        if not nbgrader_meta(cell).get("solution"):
            continue
        answers = defined_names("".join(cell["source"]))
        later = [c for c in code[index + 1 :] if not nbgrader_meta(c)]
        needed = {
            name for name in answers if any(name in used_names("".join(c["source"])) for c in later)
        }
        test = next(c for c in code[index + 1 :] if nbgrader_meta(c).get("grade"))
        for name in needed:
            assert re.search(rf"^{name} = check_\w+\({name}\)$", "".join(test["source"]), re.M), (
                f"{nbgrader_meta(test)['grade_id']}: later cells use {name}; hand it on with "
                f"`{name} = check_...({name})` after the hidden tests"
            )

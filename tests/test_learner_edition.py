"""The learner edition of every lesson, untouched, under *Run All*: it goes through with no
traceback at all, and each exercise says "not done yet" in one line (tools/run_learner_edition.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

from course_utils.classroom import grading

ROOT = Path(__file__).resolve().parents[1]
LESSONS = grading.lesson_names(ROOT)

pytestmark = pytest.mark.grading

_spec = importlib.util.spec_from_file_location(
    "run_learner_edition", ROOT / "tools/run_learner_edition.py"
)
run_learner_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_learner_edition)


def exercises(lesson: str) -> int:
    """The lesson's graded test cells: one exercise each."""
    cells = json.loads((ROOT / "lessons" / lesson / f"{lesson}.ipynb").read_text())["cells"]
    return sum(bool(c["metadata"].get("nbgrader", {}).get("grade")) for c in cells)


@pytest.fixture(scope="module")
def learner_edition(tmp_path_factory):
    return tmp_path_factory.mktemp("learner")


@pytest.mark.parametrize("lesson", LESSONS)
def test_run_all_goes_through_without_a_traceback(lesson, learner_edition):
    (folder,) = grading.release([lesson], learner_edition, course=ROOT)
    result = run_learner_edition.run_all(folder / f"{lesson}.ipynb")
    assert result["stopped"] == "" and result["ran"] == result["cells"], result
    assert result["errors"] == 0, result
    assert result["not_done"] == exercises(lesson), result

"""An exercise not done yet, as the learner edition leaves it: the visible check says so in one
line on stderr and lets *Run All* go on (with the course's answer where later cells need one);
the hidden check fails it, whatever the visible one handed back."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

import course_utils
from course_utils import checks, stand_ins
from course_utils.checks import STAND_IN_MARK, CheckFailed, NotDone


def stub(*args, **kwargs):
    pass  # YOUR CODE HERE


ROOT = Path(__file__).resolve().parents[1]
# The answer cells of the lessons: an answer they define with `def` is a function, whose body the
# learner edition leaves as the stub `pass`; any other answer it leaves as None.
SOLUTIONS = "\n".join(
    "".join(cell["source"])
    for notebook in sorted((ROOT / "lessons").glob("*/*.ipynb"))
    for cell in json.loads(notebook.read_text())["cells"]
    if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
)


def learner_edition_stub(answer: str):
    return stub if re.search(rf"^def {answer}\(", SOLUTIONS, re.M) else None


# check name -> (exercise label, the stubs of its answers, stand-in or None), from the checks'
# own declarations (the @exercise decorator's registry)
EXERCISES = {
    name: (
        exercise.label,
        tuple(learner_edition_stub(answer) for answer in exercise.answers),
        exercise.stand_in or exercise.stand_in_value or None,
    )
    for name, exercise in checks.EXERCISES.items()
}
VALUE_STAND_INS = {e.stand_in_value for e in checks.EXERCISES.values() if e.stand_in_value}


def test_every_exercise_check_of_the_course_is_registered():
    assert sorted(EXERCISES) == sorted(n for n in course_utils.__all__ if n.startswith("check_"))


def test_every_answer_is_defined_by_an_answer_cell_of_a_lesson():
    answers = {a for e in checks.EXERCISES.values() for a in e.answers}
    missing = [a for a in sorted(answers) if not re.search(rf"^(def )?{a}\b", SOLUTIONS, re.M)]
    assert not missing, f"answers that no lesson's answer cell defines: {missing}"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_not_done_is_one_line_on_stderr_in_the_visible_check_and_a_failure_in_the_hidden(name, capfd):
    label, stubs, stand_in = EXERCISES[name]
    check = getattr(course_utils, name)
    handed_back = check(*stubs)
    out, err = capfd.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"exercise {label} not done yet: "), err
    if stand_in is None:
        assert handed_back is None
    else:
        assert getattr(handed_back, STAND_IN_MARK) is True
        assert "the cells below use the course's answer" in err
    with pytest.raises(NotDone, match="Hint: "):
        check(*stubs, hidden=True)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("name", sorted(n for n, e in EXERCISES.items() if e[2]))
def test_the_stand_in_is_a_right_answer_that_no_check_takes_for_the_learners(name, capfd):
    label, stubs, stand_in = EXERCISES[name]
    check = getattr(course_utils, name)
    course_answer = check(*stubs)
    capfd.readouterr()
    # What it computes is right: the check itself (without the not-done layer) passes it ...
    plain = getattr(stand_ins, stand_in)
    check.__wrapped__(plain() if stand_in in VALUE_STAND_INS else plain, hidden=True)
    assert "✓" in capfd.readouterr().out
    # ... but run through the check again (the learner reran only the check cell), it is not theirs
    again = check(course_answer)
    assert "not yours" in capfd.readouterr().err
    assert getattr(again, STAND_IN_MARK) is True
    with pytest.raises(NotDone, match="not yours"):
        check(course_answer, hidden=True)


def test_a_passing_answer_is_handed_back_unchanged_and_a_wrong_one_still_raises(capfd):
    assert course_utils.check_softmax(stand_ins.softmax) is stand_ins.softmax
    with pytest.raises(CheckFailed) as failure:
        course_utils.check_softmax(lambda z: z)
    assert not isinstance(failure.value, NotDone)
    assert capfd.readouterr().err == ""


def reloaded_checks():
    """course_utils.checks executed again, as a new module object: new classes, as the hidden
    tests' ``importlib.reload`` makes them, but without reloading the module that every other test
    file imported its classes from (in one process, those tests would then no longer catch the
    reloaded module's CheckFailed: ``pytest -n 2 --dist loadfile`` runs them after this file)."""
    spec = importlib.util.spec_from_file_location("course_utils.checks", checks.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_reloaded_checks_module_still_knows_the_course_answer_is_not_the_learners(capfd):
    course_answer = course_utils.check_logsumexp(stub)
    fresh = reloaded_checks()
    assert fresh.CheckFailed is not checks.CheckFailed
    with pytest.raises(fresh.CheckFailed, match="not yours"):
        fresh.check_logsumexp(course_answer, hidden=True)
    assert checks.STAND_IN_MARK == fresh.STAND_IN_MARK


def test_the_stub_is_what_nbgrader_puts_in_place_of_a_solution():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.ClearSolutions.code_stub == {"python": checks.LEARNER_STUB}


def older_stub(*args):
    raise NotImplementedError()


def documented_stub(logits):
    """My softmax."""
    # I will write it tomorrow
    pass


def forgets_return(logits):
    logits / logits.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("answer", [stub, older_stub, documented_stub])
def test_every_form_of_the_stub_is_not_done_yet(answer, capfd):
    assert course_utils.check_softmax(answer) is not answer
    assert capfd.readouterr().err.startswith("exercise 1 not done yet: ")
    with pytest.raises(AssertionError) as failure:  # (this module's classes may be reloaded)
        course_utils.check_softmax(answer, hidden=True)
    assert type(failure.value).__name__ == "NotDone"


def test_a_body_that_returns_none_is_a_wrong_answer_not_a_stub(capfd):
    for hidden in (False, True):
        with pytest.raises(AssertionError) as failure:
            course_utils.check_softmax(forgets_return, hidden=hidden)
        assert type(failure.value).__name__ == "CheckFailed"
    assert capfd.readouterr().err == ""


def test_a_passing_hidden_check_is_silent_and_the_visible_one_prints_its_tick(capfd):
    """The solved edition's test cell runs both: it shows each "✓" once."""
    course_utils.check_softmax(stand_ins.softmax, hidden=True)
    assert capfd.readouterr().out == ""
    course_utils.check_softmax(stand_ins.softmax)
    assert capfd.readouterr().out.count("✓") == 1

"""An exercise not done yet, as the learner edition leaves it: the visible check says so in one
line on stderr and lets *Run All* go on (with the course's answer where later cells need one);
the hidden check fails it, whatever the visible one handed back."""

import pytest

import course_utils
from course_utils import checks, stand_ins
from course_utils.checks import STAND_IN_MARK, CheckFailed, NotDone


def stub(*args, **kwargs):
    raise NotImplementedError()


# check name -> (exercise label, the stubs of its answers, stand-in or None)
EXERCISES = {
    "check_softmax": ("1", (stub,), "softmax"),
    "check_naive_cross_entropy": ("2", (stub,), "naive_cross_entropy"),
    "check_naive_gradient": ("3", (stub,), "naive_gradient"),
    "check_first_loss": ("(a)", (stub,), "first_loss"),
    "check_failing_batch_size_search": ("(b)", (stub,), "find_failing_batch_size"),
    "check_gradient_norm": ("(a)", (stub,), None),
    "check_failing_batch_size_prediction": ("(b)", (stub,), None),
    "check_first_step_logits": ("(a)", (stub,), "first_step_logits"),
    "check_failing_learning_rate_search": ("(b)", (stub,), "find_failing_learning_rate"),
    "check_epsilon_loss_and_gradient": ("1", (stub,), None),
    "check_epsilon_breaking_batch_size": ("2", (None,), None),
    "check_logsumexp": ("1", (stub,), "logsumexp"),
    "check_stable_loss_and_gradient": ("2", (stub,), None),
    "check_adam_update": ("(a)", (stub,), "adam_update"),
    "check_survivor_prediction": ("(b)", (stub,), "predict_survivors"),
    "check_survivors": ("(c)", (None,), "survivors"),
    "check_diagnosis": ("(a)", (None, None), None),
    "check_fixed_setup": ("(b)", (None,), "fixed_setup"),
    "check_underflow_gap": ("(a)", (stub,), None),
    "check_scaled_weight_gradient": ("(b)", (stub,), None),
}
VALUE_STAND_INS = {"survivors", "fixed_setup"}  # computed by the stand-in function


def test_every_exercise_check_of_the_course_is_listed_here():
    assert sorted(EXERCISES) == sorted(n for n in course_utils.__all__ if n.startswith("check_"))


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


def test_a_reloaded_checks_module_still_knows_the_course_answer_is_not_the_learners(capfd):
    import importlib

    course_answer = course_utils.check_logsumexp(stub)
    fresh = importlib.reload(importlib.import_module("course_utils.checks"))
    with pytest.raises(fresh.CheckFailed, match="not yours"):
        fresh.check_logsumexp(course_answer, hidden=True)
    assert checks.STAND_IN_MARK == fresh.STAND_IN_MARK

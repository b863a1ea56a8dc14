"""Lesson 08's final exercise: the diagnosis is graded by measurement, the fix by training it."""

import pytest

from course_utils import (
    CAPSTONE_SETUP,
    DIAGNOSES,
    check_diagnosis,
    check_fixed_setup,
    load_mnist,
    train,
)
from course_utils.checks import CheckFailed, _diagnose


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_diagnose_names_the_cause_from_the_loss_trace(data):
    assert _diagnose(train(data, batch_size=100)) == "finite"
    assert _diagnose(train(data, batch_size=1000)) == "overshooting"  # NaN within a few steps
    assert _diagnose(train(data, **CAPSTONE_SETUP)) == "log(0)"  # loss fell for hundreds of steps


def test_the_colleagues_run_is_a_clear_log0_case_and_the_stable_loss_repairs_it(data):
    broken = train(data, **CAPSTONE_SETUP)
    assert broken.went_nonfinite and broken.first_nonfinite_step >= 100
    assert float(broken.losses[: broken.first_nonfinite_step].min()) < 0.1 * float(broken.losses[0])
    repaired = train(data, **{**CAPSTONE_SETUP, "loss": "stable"})
    assert not repaired.went_nonfinite and repaired.test_accuracy >= 0.88


def test_the_visible_diagnosis_check_accepts_any_allowed_answer_and_the_hidden_one_grades_it(capfd):
    for answer in DIAGNOSES:
        check_diagnosis(answer)
    check_diagnosis("log(0)", hidden=True)
    with pytest.raises(CheckFailed, match="not a case of 'overshooting'"):
        check_diagnosis("overshooting", hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == len(DIAGNOSES) + 1 and err == ""


class AlwaysEqual(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("answer", ["log 0", "Log(0)", 0, AlwaysEqual("x")])
def test_answers_outside_the_allowed_strings_fail_visibly(answer):
    with pytest.raises(CheckFailed, match="should be one of"):
        check_diagnosis(answer)


def test_a_real_fix_passes_with_both_seeds_and_quietly(capfd):
    check_fixed_setup({**CAPSTONE_SETUP, "loss": "stable"})
    check_fixed_setup({**CAPSTONE_SETUP, "learning_rate": 0.001}, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("✓") == 2 and err == ""


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (dict(CAPSTONE_SETUP), "still goes non-finite"),
        ({**CAPSTONE_SETUP, "loss": "stable", "learning_rate": 1e-7}, "reaches only"),
        ({**CAPSTONE_SETUP, "batch_size": 100}, "keep batch_size"),
        ({**CAPSTONE_SETUP, "optimizer": "adam"}, "keep optimizer"),
        ({**CAPSTONE_SETUP, "seed": 3}, "may not set seed"),
        ({**CAPSTONE_SETUP, "steps": 100}, "may not set steps"),
        ({**CAPSTONE_SETUP, "loss": "stabel"}, "rejected"),
        ([("loss", "stable")], "should be a dict"),
    ],
)
def test_non_fixes_fail_with_a_helpful_message(answer, message, capfd):
    with pytest.raises(CheckFailed, match=message) as failure:
        check_fixed_setup(answer)
    assert "Hint:" in str(failure.value)
    assert capfd.readouterr().err == ""

"""TrainConfig is the one list of a run's settings: everything that lists them again follows it.

A new setting added to TrainConfig alone either works everywhere (the sweep table, the run cache,
the stacked trainer) or fails one of these tests with a message that says what to do.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pytest

import course_utils
from course_utils import TrainConfig, load_mnist, multirun, run, train
from course_utils.multirun import train_many
from course_utils.training import SETTINGS

sweeps = importlib.import_module("course_utils.sweeps")

# A valid value other than the default, for every setting (the base run below has the defaults).
ALTERNATIVES = {
    "batch_size": 60,
    "learning_rate": 0.02,
    "steps": 7,
    "loss": "stable",
    "reduction": "mean",
    "dtype": "bfloat16",
    "seed": 1,
    "epsilon": 1e-6,
    "flush_subnormals": False,
    "optimizer": "adam",
    "mixed_precision": True,
    "loss_scale": 1024.0,
    "dynamic_loss_scale": True,
    "summation": "reversed",
}
BASE = TrainConfig(batch_size=50, steps=6, summation="blas")
# A setting whose alternative needs another setting: its base run has that one (and the defaults).
BASE_FOR = {"mixed_precision": replace(BASE, dtype="float16")}


def base_for(name: str) -> TrainConfig:
    return BASE_FOR.get(name, BASE)


@dataclass(frozen=True)
class WithNewSetting(TrainConfig):
    """TrainConfig with one more setting, as the next change to the course might add one."""

    label_smoothing: float = 0.0


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def settings_of(config_type=TrainConfig) -> list[str]:
    return [f.name for f in fields(config_type)]


def test_every_setting_has_an_alternative_value_for_these_tests():
    missing = [name for name in SETTINGS if name not in ALTERNATIVES]
    assert not missing, f"add a valid non-default value for {missing} to ALTERNATIVES in this file"
    for name, value in ALTERNATIVES.items():
        base = base_for(name)
        assert getattr(replace(base, **{name: value}), name) != getattr(base, name), name


def _keyword_defaults(function, leave_out: tuple[str, ...]) -> dict:
    parameters = inspect.signature(function).parameters.values()
    return {
        p.name: p.default
        for p in parameters
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in leave_out
    }


def _field_defaults() -> dict:
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}


@pytest.mark.parametrize(
    "function, leave_out",
    [(train, ("observe",)), (course_utils.sweep, ("progress_bar", "cache", "workers"))],
    ids=["train", "sweep"],
)
def test_train_and_sweep_take_every_setting_in_order_with_its_default(function, leave_out):
    defaults = _keyword_defaults(function, leave_out)
    assert list(defaults) == list(SETTINGS), (
        f"{function.__name__}()'s settings must be TrainConfig's fields in the same order: "
        f"add or remove keyword arguments in course_utils to match {list(SETTINGS)}"
    )
    assert defaults == _field_defaults(), (
        f"{function.__name__}()'s defaults must be TrainConfig's: {defaults} vs {_field_defaults()}"
    )
    undocumented = [name for name in SETTINGS if name not in function.__doc__]
    assert not undocumented, f"document {undocumented} in {function.__name__}()'s docstring"


def test_sweep_columns_are_the_settings_then_the_outcome():
    names = sweeps.SWEEP_DTYPE.names
    assert names[: len(SETTINGS)] == SETTINGS == sweeps.CONFIG_FIELDS
    assert names[len(SETTINGS) :] == (
        "test_accuracy",
        "went_nonfinite",
        "first_nonfinite_step",
        "first_nonfinite_stage",
        "final_loss",
    )
    assert sweeps._sweep_dtype(WithNewSetting).names[len(SETTINGS)] == "label_smoothing"


def test_every_allowed_value_of_a_string_setting_fits_its_column_untruncated():
    strings = [f for f in fields(TrainConfig) if "choices" in f.metadata]
    assert {f.name for f in strings} == {"loss", "reduction", "dtype", "optimizer", "summation"}
    for f in strings:
        for choice in f.metadata["choices"]:
            assert np.array(choice, dtype=sweeps.SWEEP_DTYPE[f.name]).item() == choice
    # A new allowed value gets a wide enough column too (numpy would cut "bfloat16" to U7).
    assert sweeps._column("dtype", "str", ("float32", "bfloat16")) == ("dtype", "U8")


def test_a_string_setting_without_choices_is_refused_with_what_to_do():
    @dataclass(frozen=True)
    class WithFreeText(TrainConfig):
        note: str = ""

    with pytest.raises(TypeError, match="note.*choices in its metadata"):
        sweeps._sweep_dtype(WithFreeText)


def test_a_sweep_stores_every_setting_exactly(data):
    table = sweeps.run_configs(data, [replace(BASE, **ALTERNATIVES)], cache=False)
    for name, value in ALTERNATIVES.items():
        assert table[0][name].item() == value, name


def test_the_cache_tells_apart_runs_that_differ_in_any_one_setting(data, tmp_path):
    cache = sweeps.RunCache(tmp_path, data)
    for name, value in ALTERNATIVES.items():
        base = base_for(name)
        assert cache._path(base) != cache._path(replace(base, **{name: value})), name
    assert cache._path(WithNewSetting()) != cache._path(WithNewSetting(label_smoothing=0.1))


def test_runs_share_a_stack_only_when_every_setting_but_the_learning_rate_is_equal():
    for name, value in ALTERNATIVES.items():
        base = base_for(name)
        other = replace(base, **{name: value})
        assert (multirun._stack_key(base) == multirun._stack_key(other)) == (name == "learning_rate")
    new = WithNewSetting()
    assert multirun._stack_key(new) != multirun._stack_key(replace(new, label_smoothing=0.1))


def test_runs_share_batches_only_when_every_setting_not_marked_per_stack_is_equal():
    per_stack = {"learning_rate", "loss", "reduction", "epsilon", "flush_subnormals", "optimizer"}
    per_stack |= {"loss_scale", "dynamic_loss_scale"}
    for name, value in ALTERNATIVES.items():
        base = base_for(name)
        other = replace(base, **{name: value})
        assert (multirun._group_key(base) == multirun._group_key(other)) == (name in per_stack)
    new = WithNewSetting()  # an unmarked setting keeps runs apart
    assert multirun._group_key(new) != multirun._group_key(replace(new, label_smoothing=0.1))


def test_the_only_setting_with_one_value_per_run_in_a_stack_is_the_learning_rate():
    per_run = [f.name for f in fields(TrainConfig) if f.metadata.get("stacking") == "per run"]
    assert per_run == ["learning_rate"], (
        "multirun._make_stacks gives the optimizer one learning rate per run and nothing else "
        "per run: teach it the new per-run setting, or mark that setting per stack"
    )


def test_runs_that_differ_in_one_setting_train_together_as_they_train_alone(data):
    configs = [BASE, *BASE_FOR.values()]
    configs += [replace(base_for(name), **{name: value}) for name, value in ALTERNATIVES.items()]
    for many, config in zip(train_many(data, configs, workers=1), configs, strict=True):
        single = run(data, config)
        assert many.config == config
        assert many.losses.tobytes() == single.losses.tobytes(), config
        assert many.weights.tobytes() == single.weights.tobytes(), config
        assert many.test_accuracy == single.test_accuracy, config
        assert many.skipped_steps == single.skipped_steps, config


def test_runs_with_dynamic_loss_scaling_never_share_a_stack():
    # Each one skips steps of its own: with another learning rate, another stack.
    dynamic = replace(BASE, dynamic_loss_scale=True)
    other = replace(dynamic, learning_rate=0.02)
    assert multirun._stack_key(dynamic) != multirun._stack_key(other)
    assert multirun._group_key(dynamic) == multirun._group_key(other)  # but they share batches


def test_the_cache_is_keyed_by_the_source_of_every_module_a_sweep_runs(data, tmp_path):
    package = Path(course_utils.__file__).parent
    executed: set[str] = set()

    def profile(frame, event, arg):
        if event == "call" and Path(frame.f_code.co_filename).parent == package:
            executed.add(Path(frame.f_code.co_filename).name)

    sys.setprofile(profile)
    try:
        course_utils.sweep(
            data,
            batch_size=[50, 60],
            loss=["naive", "stable"],
            optimizer=["gradient_descent", "adam"],
            steps=3,
            cache=tmp_path,
            workers=1,
        )
    finally:
        sys.setprofile(None)
    assert {"sweeps.py", "multirun.py", "training.py", "model.py"} <= executed
    missing = executed - set(sweeps._NUMERICS)
    assert not missing, f"{sorted(missing)} run in a sweep but do not key the run cache"

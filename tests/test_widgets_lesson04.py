"""Lesson 04's explorer: batch size and reduction redraw the loss against examples seen."""

import time

import ipywidgets as widgets
import pytest

from course_utils import load_mnist, mean_reduction_explorer, train


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_controls_are_batch_size_and_reduction(data):
    explorer = mean_reduction_explorer(data)
    assert list(explorer.controls) == ["batch_size", "reduction"]
    assert isinstance(explorer.controls["batch_size"], widgets.SelectionSlider)
    assert explorer.controls["batch_size"].continuous_update is False
    assert list(explorer.controls["reduction"].options) == ["sum", "mean"]


def test_reduction_switches_between_nan_and_training_and_returns_from_the_cache(data):
    explorer = mean_reduction_explorer(data, batch_size=2000, reduction="mean", examples=20_000)
    expected = train(data, batch_size=2000, learning_rate=1.0, reduction="mean", steps=10)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert f"test accuracy <b>{expected.test_accuracy:.3f}</b>" in first_summary
    assert "10 steps = 20,000 examples" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["reduction"].value = "sum"
    assert "went NaN" in explorer.summary.value and "lr = 0.01" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_train.cache_info().misses
    start = time.perf_counter()
    explorer.controls["reduction"].value = "mean"
    assert time.perf_counter() - start < 5.0  # generous: the machine may be loaded
    assert explorer.cached_train.cache_info().misses == misses  # served from the cache
    assert explorer.summary.value == first_summary and explorer.updates == 3


def test_batch_size_changes_the_number_of_steps_for_the_same_examples(data):
    explorer = mean_reduction_explorer(data, batch_size=2000, examples=20_000)
    explorer.controls["batch_size"].value = 500
    assert "40 steps = 20,000 examples" in explorer.summary.value

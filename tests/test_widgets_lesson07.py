"""Lesson 07's explorer: each control changes the run shown; revisited settings come from the cache."""

import pytest

from course_utils import load_mnist, optimizer_explorer


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_optimizer_dropdown_changes_summary_and_figure_and_returns_from_the_cache(data):
    explorer = optimizer_explorer(data, optimizer="momentum", batch_size=205, learning_rate=0.01)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert "momentum" in first_summary and "went NaN" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["optimizer"].value = "adam"
    explorer.controls["learning_rate"].value = 0.001
    assert "adam" in explorer.summary.value and "all values finite" in explorer.summary.value
    assert explorer.image.value != first_png

    misses = explorer.cached_run.cache_info().misses
    explorer.controls["optimizer"].value = "momentum"
    explorer.controls["learning_rate"].value = 0.01
    assert explorer.cached_run.cache_info().misses == misses + 1  # (momentum, 0.001) is new
    assert explorer.summary.value == first_summary
    assert explorer.updates == 5


def test_loss_and_reduction_controls_retrain(data):
    explorer = optimizer_explorer(data, optimizer="momentum", batch_size=100, learning_rate=0.01)
    assert "went NaN" in explorer.summary.value
    explorer.controls["loss"].value = "stable"
    explorer.controls["reduction"].value = "mean"
    assert "stable loss, mean" in explorer.summary.value
    assert "all values finite" in explorer.summary.value  # momentum is fine on the stable mean loss

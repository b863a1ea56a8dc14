"""Lesson 05's explorer: epsilon and batch size change the picture; revisited settings are cached."""

import time

import pytest

from course_utils import epsilon_explorer, load_mnist


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_epsilon_slider_changes_summary_and_figure_and_returns_from_the_cache(data):
    explorer = epsilon_explorer(data, batch_size=400, epsilon=1e-10, steps=20, batch_sizes=(100, 400))
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert "epsilon accuracy" in first_summary and "vs stable" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["epsilon"].value = 1e-40  # below 1/FLT_MAX: 1/(p + eps) overflows
    assert "went NaN" in explorer.summary.value
    assert explorer.image.value != first_png

    runs_before = explorer.cached_trace.cache_info().misses
    start = time.perf_counter()
    explorer.controls["epsilon"].value = 1e-10
    assert time.perf_counter() - start < 2.0
    assert explorer.cached_trace.cache_info().misses == runs_before  # served from the cache
    assert explorer.summary.value == first_summary
    assert explorer.updates == 3


def test_batch_size_slider_retrains_at_the_new_size(data):
    explorer = epsilon_explorer(data, batch_size=400, steps=20, batch_sizes=(100, 400))
    before = explorer.summary.value
    explorer.controls["batch_size"].value = 100
    assert "B = 100" in explorer.summary.value and "B = 400" in before
    assert explorer.cached_stable.cache_info().currsize == 2
    assert explorer.summary.value != before

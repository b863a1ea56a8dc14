"""Per-step measurements of lesson 03: logit gaps, gradient norms, traces and ascending scans."""

import numpy as np
import pytest

from course_utils import (
    batch_gradient_norm,
    float_limits,
    gradient_norm,
    load_mnist,
    logit_gap,
    scan_to_first_failure,
    smallest_failing_batch_size,
    sweep,
    trace_gradients,
    trace_many,
    trace_precision,
    trace_steps,
    train,
)


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


def test_logit_gap_is_the_largest_row_range_and_nan_for_nonfinite_logits():
    logits = np.array([[0.0, 3.0, -1.0], [5.0, 5.0, -20.0]], dtype=np.float32)
    assert logit_gap(logits) == 25.0
    assert np.isnan(logit_gap(np.array([[0.0, np.nan]])))


def test_gradient_norm_combines_weights_and_bias_in_float64():
    w = np.full((784, 10), 1e20, dtype=np.float32)  # its square overflows float32, not float64
    b = np.zeros(10, dtype=np.float32)
    assert gradient_norm(w, b) == pytest.approx(1e20 * np.sqrt(7840), rel=1e-6)
    assert gradient_norm(np.zeros((2, 2)), np.array([3.0, 4.0])) == 5.0


def test_trace_records_exactly_what_train_computes(data):
    trace = trace_steps(data, batch_size=205, steps=10)
    plain = train(data, batch_size=205, steps=10)
    steps = trace.first_nonfinite_step + 1  # observe stops when the run stops
    assert trace.first_nonfinite_step == plain.first_nonfinite_step
    assert len(trace.loss) == len(trace.gradient_norm) == len(trace.logit_gap) == steps
    np.testing.assert_array_equal(trace.loss.astype(np.float32), plain.losses[:steps])
    assert trace.logit_gap[0] == 0.0  # zero weights: every logit is 0


def test_first_gradient_norm_is_the_norm_of_the_summed_gradient_at_zero_weights(data):
    trace = trace_steps(data, batch_size=300, steps=1)
    assert trace.gradient_norm[0] == pytest.approx(batch_gradient_norm(data, 300), rel=1e-5)


def test_a_naive_run_goes_nan_at_the_step_whose_gap_crosses_the_float32_line(data):
    line = float_limits("float32").softmax_zero_gap
    for batch_size in (174, 205, 400, 1000):
        trace = trace_steps(data, batch_size=batch_size, steps=20)
        k = trace.first_nonfinite_step
        assert k is not None and trace.logit_gap[k] >= line > trace.logit_gap[:k].max()


def test_summed_gradient_is_batch_size_times_the_mean_gradient(data):
    for batch_size in (10, 333, 4000):
        summed = batch_gradient_norm(data, batch_size, reduction="sum", dtype="float64")
        mean = batch_gradient_norm(data, batch_size, reduction="mean", dtype="float64")
        assert summed == pytest.approx(batch_size * mean, rel=1e-12)


def test_summed_gradient_norm_grows_about_linearly_with_batch_size(data):
    sizes = np.array([200, 400, 800, 1600, 3200])
    norms = np.array([batch_gradient_norm(data, int(b)) for b in sizes])
    slope, intercept = np.polyfit(sizes, norms, 1)
    fitted = slope * sizes + intercept
    assert np.max(np.abs(norms - fitted) / norms) < 0.05
    assert norms[-1] / norms[0] > 8  # 16 times the examples, nearly 16 times the norm


def test_gradient_at_trained_weights_uses_those_weights(data):
    trained = train(data, steps=50)
    at_zero = batch_gradient_norm(data, 500)
    at_trained = batch_gradient_norm(data, 500, trained.weights, trained.bias)
    assert at_trained < at_zero / 2  # the model has learned: smaller gradient


def test_ascending_scan_stops_at_the_first_failure_and_agrees_with_a_full_sweep(data, tmp_path):
    found, table = scan_to_first_failure(
        data, range(160, 220), steps=20, chunk=8, cache=tmp_path, progress_bar=False
    )
    full = sweep(data, batch_size=range(160, 220), steps=20, cache=tmp_path, progress_bar=False)
    assert found == smallest_failing_batch_size(full)
    assert len(table) < len(full) and len(table) % 8 == 0
    assert table["batch_size"].max() < found + 8


def test_ascending_scan_reports_none_when_nothing_fails(data, tmp_path):
    found, table = scan_to_first_failure(data, [50, 60], steps=5, cache=tmp_path, progress_bar=False)
    assert found is None and table["batch_size"].tolist() == [50, 60]


@pytest.mark.parametrize(
    ("trace", "tracer", "settings"),
    [
        ("steps", trace_steps, [dict(batch_size=100, steps=12), dict(batch_size=205, steps=12)]),
        (
            "gradients",
            trace_gradients,
            [dict(batch_size=600, loss="epsilon", steps=12, every=5), dict(batch_size=50, steps=7)],
        ),
        (
            "precision",
            trace_precision,
            [dict(batch_size=300, steps=6, dtype="float16"), dict(batch_size=20, steps=4)],
        ),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_trace_many_gives_exactly_the_traces_of_a_loop(data, trace, tracer, settings, workers):
    # (the workers take the longest run first: the results still come in the order of settings)
    many = trace_many(data, settings, trace=trace, workers=workers)
    for got, setting in zip(many, settings, strict=True):
        expected = tracer(data, **setting)
        assert type(got) is type(expected)
        for record, single in ((got, expected), (got.result, expected.result)):
            for name, value in vars(single).items():
                if isinstance(value, np.ndarray):
                    np.testing.assert_array_equal(getattr(record, name), value, strict=True)
                    assert getattr(record, name).flags.writeable == value.flags.writeable
                elif name != "result":
                    assert getattr(record, name) == value, name

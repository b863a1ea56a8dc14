"""Lesson 06's explorer: the logit gap and the flush switch change the picture and the numbers."""

from course_utils import logit_gap_explorer


def test_gap_slider_shows_naive_nan_beyond_float32s_limit_and_stable_exact():
    explorer = logit_gap_explorer(gap=50.0)
    first_summary, first_png = explorer.summary.value, explorer.image.value
    assert "loss naive <b>50" in first_summary and "stable <b>50" in first_summary
    assert bytes(first_png[:4]) == b"\x89PNG"

    explorer.controls["gap"].value = 95.0
    assert "loss naive <b>nan" in explorer.summary.value
    assert "stable <b>95" in explorer.summary.value
    assert explorer.image.value != first_png


def test_flush_switch_shows_ieee_subnormals_and_curves_are_cached():
    explorer = logit_gap_explorer(gap=95.0, flush=True)
    flushed = explorer.summary.value
    assert "p(target) = <b>0</b>" in flushed

    explorer.controls[
        "flush_subnormals"
    ].value = False  # numpy's IEEE behaviour: p is a subnormal, not 0
    assert "p(target) = <b>0</b>" not in explorer.summary.value
    assert "loss naive <b>95" in explorer.summary.value

    explorer.controls[
        "flush_subnormals"
    ].value = True  # shown before: the explorer's own picture, no curves
    assert explorer.cached_curves.cache_info().misses == 2
    assert explorer.view.cache_info().hits == 1
    assert explorer.summary.value == flushed


def test_display_bundle_is_the_live_widget_and_a_picture_of_the_current_view():
    import base64

    explorer = logit_gap_explorer(gap=50.0)
    explorer.controls["gap"].value = 95.0
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value  # the view as it is now
    assert bundle["text/plain"].startswith("Explorer: One example's loss")

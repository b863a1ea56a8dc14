"""The causal-chain figure: every stage in order, the float limit measured, cut and hidden links."""

import pytest
from matplotlib.text import Annotation

from course_utils import float_limits, plot_causal_chain
from course_utils.plots import CAUSAL_CHAIN


def texts(figure):
    """The words on the figure (the arrows are annotations without text)."""
    words = [t for t in figure.axes[0].texts if not isinstance(t, Annotation)]
    return [t.get_text().replace("\n", " ") for t in words]


def test_every_stage_is_a_box_in_order_with_the_measured_limit_of_the_dtype():
    for dtype in ("float32", "float16"):
        shown = texts(plot_causal_chain(dtype=dtype))
        gap = float_limits(dtype).softmax_zero_gap
        expected = [s.format(dtype=dtype, gap=gap) for s in CAUSAL_CHAIN]
        assert shown == expected
        assert f"{gap:.2f}" in shown[4] and dtype in shown[4]


def test_a_cut_link_is_crossed_and_a_hidden_one_dashed_each_labelled_with_its_fix():
    figure = plot_causal_chain(cut={0: "reduce_mean"}, hidden={4: "log(p + 1e-10)"})
    ax = figure.axes[0]
    assert texts(figure)[len(CAUSAL_CHAIN) :] == ["cut by reduce_mean", "hidden by log(p + 1e-10)"]
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == 1  # between stages 0 and 1
    arrows = [a.arrow_patch for a in ax.texts if isinstance(a, Annotation)]
    assert len(arrows) == len(CAUSAL_CHAIN) - 1
    dashed = [k for k, a in enumerate(arrows) if a.get_linestyle() == "--"]
    assert dashed == [4]
    plain = texts(plot_causal_chain())[len(CAUSAL_CHAIN) :]
    assert plain == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(cut={6: "x"}), r"cut: link 6 is not one of 0 to 5"),
        (dict(hidden={-1: "x"}), r"hidden: link -1 is not one of 0 to 5"),
        (dict(cut={True: "x"}), r"cut: link True is not one of 0 to 5"),
        (dict(cut={2: "a"}, hidden={2: "b"}), r"link 2 is both cut and hidden"),
        (dict(dtype="float8"), r"dtype='float8' is not valid"),
    ],
)
def test_bad_links_and_dtypes_are_refused_clearly(arguments, message):
    with pytest.raises(ValueError, match=message):
        plot_causal_chain(**arguments)

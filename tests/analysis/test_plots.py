"""Plot helpers return figures holding the expected artists (Agg backend, set in conftest)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage

from fens.analysis import (
    plot_correlation_histogram,
    plot_cross_activation,
    plot_images,
    plot_mei,
    plot_model_comparison,
    plot_predicted_vs_actual,
    plot_tuning_curve,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_images_share_one_symmetric_colour_scale():
    images = np.random.default_rng(0).normal(size=(7, 36, 64))
    images[3, 0, 0] = -9.0
    fig = plot_images(images, titles=[f"n{i}" for i in range(7)], ncols=3)
    shown = [im for ax in fig.axes for im in ax.get_images()]
    assert len(shown) == 7
    assert all(im.get_clim() == (-9.0, 9.0) for im in shown)
    assert fig.axes[6].get_title() == "n6"
    around_mean = plot_images(images + 100, center=100.0)
    assert around_mean.axes[0].get_images()[0].get_clim() == pytest.approx((91.0, 109.0))
    with pytest.raises(ValueError, match="2 titles"):
        plot_images(images, titles=["a", "b"])


def test_correlation_histogram_marks_the_mean():
    correlations = np.array([0.1, 0.2, 0.3, 0.6, np.nan])
    ax = plot_correlation_histogram(correlations, label="LN")
    assert len(ax.patches) == 40
    (line,) = ax.get_lines()
    assert line.get_xdata()[0] == pytest.approx(0.3)
    assert "0.300" in [t.get_text() for t in ax.get_legend().get_texts()][-1]


def test_predicted_vs_actual_scatter():
    rng = np.random.default_rng(1)
    actual = rng.normal(size=50)
    ax = plot_predicted_vs_actual(actual + rng.normal(size=50), actual, title="neuron 3")
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert points.get_offsets().shape == (50, 2)
    np.testing.assert_allclose(points.get_offsets()[:, 0], actual)
    assert ax.get_title().startswith("neuron 3: r = ")


def test_model_comparison_has_the_diagonal():
    ln, cnn = np.array([0.1, 0.2, 0.3]), np.array([0.2, 0.1, 0.5])
    ax = plot_model_comparison(ln, cnn)
    (diagonal,) = ax.get_lines()
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert diagonal.get_xdata()[-1] == pytest.approx(0.5)
    assert ax.get_title() == "CNN better for 67% of neurons"
    assert ax.get_xlabel() == "LN correlation"


def test_mei_with_its_activation_trace():
    mei = np.random.default_rng(2).normal(100, 5, (36, 64))
    trace = np.array([1.0, 2.0, 2.5, np.nan])
    fig = plot_mei(mei, trace, title="neuron 1")
    image_ax, trace_ax = fig.axes
    assert isinstance(image_ax.get_images()[0], AxesImage)
    np.testing.assert_array_equal(trace_ax.get_lines()[0].get_ydata(), trace)
    assert fig._suptitle.get_text() == "neuron 1"


def test_cross_activation_and_tuning_plots():
    ax = plot_cross_activation(np.eye(3) * 0.5 + 0.5, neuron_indices=[4, 8, 15])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "15"]
    assert len(ax.figure.axes) == 2  # the matrix and its colour bar
    theta = np.arange(8) * np.pi / 8
    ax = plot_tuning_curve(theta, np.ones((2, 8)))
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), np.degrees(theta))

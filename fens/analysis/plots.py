"""Figures the chapters draw: images, correlation histograms and scatters, MEIs.

Every helper takes the data it draws by position and every option by keyword (``ax=``,
``title=``, ...), draws into the Axes it is given (or a new figure) and returns it, and never
calls ``plt.show()``; the caller decides where a figure goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fens.utility.checks import check_int, check_number
from fens.utility.deprecation import deprecated_arguments


@deprecated_arguments(positional=("titles", "center", "ncols", "cmap", "colorbar", "panel_size"))
def plot_images(
    images: np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    center: float | None = 0.0,
    ncols: int = 5,
    cmap: str = "gray",
    colorbar: bool = False,
    panel_size: float = 2.4,
) -> Figure:
    """Images side by side on one colour scale, symmetric around ``center``.

    Args:
        images: ``(n, height, width)``, e.g. gradient receptive fields or MEIs.
        titles: one per image.
        center: the colour scale runs from ``center - m`` to ``center + m`` with ``m`` the
            largest ``|image - center|`` over all images, so equal values look equal in every
            panel and ``center`` is mid-grey (0 for receptive fields, the mean pixel for MEIs);
            ``None``: from the smallest to the largest value over all images.
        ncols: panels per row.
        cmap: matplotlib colour map.
        colorbar: add one colour bar for all panels.
        panel_size: inches per panel.

    Returns:
        The figure; ``fig.axes[:n]`` hold the images.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (n, height, width), got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = check_int("ncols", ncols)
    panel_size = check_number("panel_size", panel_size, minimum=0, exclusive_minimum=True)
    if center is None:
        vmin, vmax = images.min(), images.max()
    else:
        half = np.abs(images - center).max()
        vmin, vmax = center - half, center + half
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    height, width = images.shape[1:]
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols, panel_size * nrows * height / width + 0.4 * nrows),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        shown = ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize="small")
    if colorbar:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8)
    return fig


@deprecated_arguments(positional=("ax", "bins", "label", "color"))
def plot_correlation_histogram(
    correlations: np.ndarray,
    *,
    ax: Axes | None = None,
    bins: int | np.ndarray = 40,
    label: str | None = None,
    color: str = "C0",
) -> Axes:
    """Histogram of per-neuron correlations with their mean marked (dashed line, in the
    legend).

    Args:
        correlations: ``(n_neurons,)``; NaNs are left out.
        ax: where to draw; ``None``: a new figure.
        bins: as in ``Axes.hist``.
        label: name of the model, for the legend.
        color: bar and line colour.

    Returns:
        The Axes.
    """
    values = np.asarray(correlations, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.hist(values, bins=bins, color=color, alpha=0.7, label=label)
    mean = values.mean()
    ax.axvline(mean, color=color, linestyle="--", label=f"mean {mean:.3f}")
    ax.set_xlabel("correlation")
    ax.set_ylabel("neurons")
    ax.legend(frameon=False)
    return ax


@deprecated_arguments(positional=("ax", "title"))
def plot_predicted_vs_actual(
    predicted: np.ndarray,
    actual: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Scatter of a neuron's predicted against recorded responses, one point per trial, with
    their correlation in the title.

    Args:
        predicted, actual: ``(n_trials,)``.
        ax: where to draw; ``None``: a new figure.
        title: prefix of the title (e.g. the neuron).

    Returns:
        The Axes.
    """
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    actual = np.asarray(actual, dtype=np.float64).ravel()
    if predicted.shape != actual.shape:
        raise ValueError(f"predicted {predicted.shape} and actual {actual.shape} differ in shape")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4), layout="constrained")
    ax.scatter(actual, predicted, s=6, color="k", alpha=0.6)
    r = np.corrcoef(actual, predicted)[0, 1]
    ax.set_xlabel("recorded response")
    ax.set_ylabel("predicted response")
    ax.set_title(f"{title + ': ' if title else ''}r = {r:.2f}")
    return ax


@deprecated_arguments(positional=("label_x", "label_y", "ax"))
def plot_model_comparison(
    correlations_x: np.ndarray,
    correlations_y: np.ndarray,
    *,
    label_x: str = "LN",
    label_y: str = "CNN",
    ax: Axes | None = None,
) -> Axes:
    """Per-neuron correlations of two models against each other, with the diagonal: points
    above it are neurons the second model predicts better.

    Args:
        correlations_x, correlations_y: ``(n_neurons,)`` per-neuron test correlations.
        label_x, label_y: the models' names.
        ax: where to draw; ``None``: a new figure.

    Returns:
        The Axes.
    """
    x = np.asarray(correlations_x, dtype=np.float64).ravel()
    y = np.asarray(correlations_y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"the two models' correlations differ in shape: {x.shape} and {y.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4), layout="constrained")
    ax.scatter(x, y, s=2, color="k")
    finite = np.isfinite(x) & np.isfinite(y)
    low = min(0.0, x[finite].min(), y[finite].min())
    high = max(x[finite].max(), y[finite].max())
    ax.plot([low, high], [low, high], color="r", linewidth=1)
    better = np.mean(y[finite] > x[finite])
    ax.set_xlabel(f"{label_x} correlation")
    ax.set_ylabel(f"{label_y} correlation")
    ax.set_title(f"{label_y} better for {better:.0%} of neurons")
    ax.set_aspect("equal")
    return ax


@deprecated_arguments(positional=("title", "center"))
def plot_mei(
    mei: np.ndarray,
    activations: np.ndarray,
    *,
    title: str | None = None,
    center: float | None = None,
) -> Figure:
    """An MEI above the trace of its neuron's activation over the optimisation steps.

    Args:
        mei: ``(height, width)``.
        activations: ``(iterations,)`` (NaNs after an early stop are not drawn).
        title: the figure's title.
        center: grey level of the colour scale's middle (see :func:`plot_images`);
            ``None``: the MEI's mean.

    Returns:
        The figure; ``fig.axes[0]`` holds the image, ``fig.axes[1]`` the trace.
    """
    mei = np.asarray(mei, dtype=np.float64)
    if mei.ndim != 2:
        raise ValueError(f"expected one (height, width) MEI, got shape {mei.shape}")
    center = mei.mean() if center is None else center
    half = np.abs(mei - center).max()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(4, 4.5), height_ratios=(1.2, 1), layout="constrained"
    )
    top.imshow(mei, cmap="gray", vmin=center - half, vmax=center + half)
    top.axis("off")
    bottom.plot(np.asarray(activations, dtype=np.float64), color="k")
    bottom.set_xlabel("iteration")
    bottom.set_ylabel("model activation")
    if title is not None:
        fig.suptitle(title)
    return fig


@deprecated_arguments(renamed={"neuron_ids": "neuron_indices"}, positional=("neuron_indices", "ax"))
def plot_cross_activation(
    activations: np.ndarray,
    *,
    neuron_indices: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The ``(n_meis, n_neurons)`` matrix of :func:`fens.analysis.cross_activation`, MEIs as
    rows, with a colour bar.

    Args:
        activations: ``(n_meis, n_neurons)``, each column normalised to its maximum.
        neuron_indices: the neurons' column indices into the model's output, labelling the
            columns (and the rows when there is one MEI per neuron, in the same order).
        ax: where to draw; ``None``: a new figure.

    Returns:
        The Axes.
    """
    activations = np.asarray(activations, dtype=np.float64)
    if activations.ndim != 2:
        raise ValueError(f"expected an (n_meis, n_neurons) matrix, got {activations.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    shown = ax.imshow(activations, cmap="gray", vmin=0)
    ax.figure.colorbar(shown, ax=ax, label="activation / neuron's maximum")
    if neuron_indices is not None:
        labels = [str(k) for k in neuron_indices]
        if len(labels) != activations.shape[1]:
            raise ValueError(f"got {len(labels)} neuron indices for {activations.shape[1]} columns")
        ax.set_xticks(np.arange(len(labels)), labels, rotation=90)
        if activations.shape[0] == len(labels):  # the MEIs of the same neurons, in order
            ax.set_yticks(np.arange(len(labels)), labels)
    ax.set_xlabel("neuron")
    ax.set_ylabel("MEI of neuron")
    return ax


@deprecated_arguments(positional=("ax",))
def plot_tuning_curve(
    orientations: np.ndarray, responses: np.ndarray, *, ax: Axes | None = None, **line_kwargs
) -> Axes:
    """Orientation tuning curve(s), orientations in degrees.

    Args:
        orientations: ``(n_orientations,)`` radians.
        responses: ``(n_orientations,)`` or ``(n_curves, n_orientations)``.
        ax: where to draw; ``None``: a new figure.
        **line_kwargs: passed to ``Axes.plot``.

    Returns:
        The Axes.
    """
    responses = np.atleast_2d(np.asarray(responses, dtype=np.float64))
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    degrees = np.degrees(np.asarray(orientations, dtype=np.float64))
    for curve in responses:
        ax.plot(degrees, curve, marker="o", markersize=3, **line_kwargs)
    ax.set_xlabel("orientation (deg)")
    ax.set_ylabel("response")
    return ax

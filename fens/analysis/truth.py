"""Checking what a model learned against the simulated neurons' ground truth.

On simulated data (:mod:`fens.simulate`) every neuron's true filters are known, so the
analyses of this package can be scored:

- **receptive fields and MEIs**: a simple cell's response ``max(<f, x>, 0)`` under a fixed
  image mean and standard deviation is largest for ``x`` proportional to its Gabor filter ``f``
  (up to the mean), so its true optimal stimulus is the filter itself, rescaled; a complex cell
  (energy model) responds equally to its Gabor at every phase, so an MEI is compared with the
  Gabor at its best phase. Divisive normalisation changes neither under a fixed global contrast
  much, since the pool is centred on the receptive field.
- **preferred orientation**: from the model's grating tuning curve, against the true Gabor's
  orientation, as a circular difference modulo 180 degrees.
- **subunit and deep cells** (:mod:`fens.simulate.neurons`) have no Gabor receptive field and
  no closed-form optimal stimulus: their MEI is compared with the MEI of the ground truth
  itself (:class:`fens.simulate.true_model.TrueModel`, the same constraints and start), and
  their preferred orientation with the true neuron's, from its own tuning curve. So are
  simple and complex cells with a share of irregular subunits (``irregular_share > 0``):
  those private textures move the optimal stimulus away from the Gabor.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from torch import nn

from fens.analysis._model import as_scalar, summarize_values
from fens.analysis.insilico import (
    orientation_difference,
    orientation_selectivity_index,
    preferred_orientation,
    tuning_curves,
)
from fens.analysis.mei import generate_meis
from fens.analysis.receptive_fields import generate_grad_rfs
from fens.simulate.neurons import CELL_TYPES, GABOR_TYPES, GroundTruth
from fens.simulate.true_model import TrueModel
from fens.utility.checks import check_int, check_number
from fens.utility.deprecation import deprecated_arguments


class TruthComparison(dict):
    """The table of :func:`compare_to_truth`: a dict of ``(n,)`` arrays, one row per neuron,
    that prints as its size and columns rather than every value."""

    def __missing__(self, key: str) -> np.ndarray:
        if key == "neuron_id":
            warnings.warn(
                "the compare_to_truth column 'neuron_id' is deprecated; read 'neuron_index'",
                DeprecationWarning,
                stacklevel=2,
            )
            return self["neuron_index"]
        raise KeyError(key)

    def __repr__(self) -> str:
        n = len(self["neuron_index"]) if "neuron_index" in self else 0
        return f"TruthComparison({n} neurons; columns: {', '.join(self)})"


@deprecated_arguments(positional=("n", "min_correlation"))
def well_predicted_neurons(
    correlations: np.ndarray, *, n: int = 64, min_correlation: float | None = None
) -> np.ndarray:
    """Column indices of the ``n`` best-predicted neurons, best first.

    Args:
        correlations: ``(n_neurons,)`` per-neuron test correlations, e.g. from
            ``fens.measures.get_correlations(model, dataloaders['test'], per_neuron=True)``.
        n: how many to return at most.
        min_correlation: keep only neurons at least this well predicted.

    Returns:
        ``(<= n,)`` int64 indices.
    """
    correlations = np.asarray(correlations, dtype=np.float64)
    if correlations.ndim != 1:
        raise ValueError(f"expected correlations of shape (n_neurons,), got {correlations.shape}")
    n = check_int("n", n)
    min_correlation = check_number("min_correlation", min_correlation, optional=True)
    order = np.argsort(-np.nan_to_num(correlations, nan=-np.inf), kind="stable")
    if min_correlation is not None:
        order = order[correlations[order] >= min_correlation]
    return order[:n].astype(np.int64)


@deprecated_arguments(renamed={"neuron_ids": "neuron_indices"})
def similarity_to_truth(
    images: np.ndarray, truth: GroundTruth, neuron_indices: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Correlation of each image with its neuron's true optimal stimulus.

    Simple cells: the Pearson correlation with the Gabor filter (signed: an image of the
    opposite phase scores -1). Complex cells: the largest correlation with any combination
    ``a f_even + b f_odd`` of the quadrature pair, which contains the Gabor at every phase:
    ``|P x| / |x|`` for the mean-subtracted image ``x`` and the projection ``P`` onto the pair's
    span (0..1). Subunit and deep cells have no such filter: NaN.

    Args:
        images: ``(n, height, width)`` e.g. MEIs or gradient receptive fields.
        truth: the ground truth of the data set the model was trained on.
        neuron_indices: ``(n,)`` the neuron of each image (its index in ``truth``, which is
            its column in the model's output).

    Returns:
        ``(n,)`` correlations.
    """
    images = np.asarray(images, dtype=np.float64)
    ids = np.asarray(neuron_indices)
    if images.ndim != 3 or len(images) != len(ids):
        raise ValueError(
            f"expected images of shape ({len(ids)}, height, width) for {len(ids)} neurons, "
            f"got {images.shape}"
        )
    if images.shape[1:] != truth.filters.shape[2:]:
        raise ValueError(
            f"images are {images.shape[1:]}, the true filters {truth.filters.shape[2:]}"
        )
    x = images.reshape(len(images), -1)
    x = x - x.mean(axis=1, keepdims=True)  # (n, P)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    pair = truth.filters[ids].reshape(len(ids), 2, -1).astype(np.float64)  # (n, 2, P)
    pair = pair - pair.mean(axis=2, keepdims=True)
    even = pair[:, 0] / np.linalg.norm(pair[:, 0], axis=1, keepdims=True)
    simple = (x * even).sum(axis=1)
    basis, _ = np.linalg.qr(pair.transpose(0, 2, 1))  # (n, P, 2) orthonormal columns
    complex_ = np.linalg.norm(np.einsum("np,npk->nk", x, basis), axis=1)
    kind = truth.cell_type[ids]
    return np.where(kind == "complex", complex_, np.where(kind == "simple", simple, np.nan))


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each image of ``a`` with the same image of ``b``, both
    ``(n, height, width)``: ``(n,)``."""
    x = a.reshape(len(a), -1).astype(np.float64)
    y = b.reshape(len(b), -1).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    return (x * y).sum(axis=1) / np.maximum(norms, 1e-12)


@deprecated_arguments(
    renamed={"neuron_ids": "neuron_indices"},
    positional=("truth", "neuron_indices", "image_mean", "image_std"),
)
def compare_to_truth(
    model: nn.Module,
    *,
    truth: GroundTruth,
    neuron_indices: Sequence[int] | np.ndarray,
    image_mean: float,
    image_std: float,
    mei_contrast: float = 0.1,
    mei_iterations: int = 500,
    mei_lr: float = 100.0,
    mei_blur_sigma: float | None = None,
    orientations: int = 16,
    spatial_frequencies: Sequence[float] = (0.04, 0.06, 0.09, 0.13, 0.2),
    osi_threshold: float = 0.2,
    correlations: np.ndarray | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TruthComparison:
    """Score a model's receptive fields, MEIs and orientation preferences against the truth.

    For each chosen neuron (pick well-predicted ones, :func:`well_predicted_neurons`):
    the gradient receptive field at the mean image, an MEI (noise start, seeded), and the
    orientation tuning to gratings at the training images' mean and standard deviation,
    maximised over phase, at the neuron's preferred spatial frequency.

    Args:
        model: a model trained on the simulated data set ``truth`` belongs to.
        truth: :meth:`fens.simulate.GroundTruth.load` of that data set.
        neuron_indices: ``(n,)`` the neurons to score (indices of the simulated neurons, the
            model's output columns).
        image_mean, image_std: the training images' pixel mean and standard deviation
            (``dataset.statistics.images.all.mean`` / ``.std``).
        mei_contrast: the MEIs' pixel standard deviation as a fraction of ``image_std``
            (the course uses a tenth).
        mei_iterations, mei_lr, mei_blur_sigma: :func:`fens.analysis.generate_meis`'s
            ``iterations``, ``lr`` and ``blur_sigma``. The default ``lr`` of 100 is the seed
            notebook's for MEIs at a tenth of the image contrast; with ``lr=1`` the MEIs of a
            trained ``sota_cnn`` barely leave their starting noise (``bench/README.md``).
        orientations: number of grating orientations over 180 degrees.
        spatial_frequencies: grating spatial frequencies, cycles per pixel.
        osi_threshold: a neuron counts as orientation tuned when the ``1 - circular variance``
            of its model tuning curve, minus the curve's minimum, is at least this.
        correlations: optional ``(n_neurons,)`` test correlations of all neurons, copied into
            the table.
        seed: seed of the MEIs' starting noise.
        device: where to compute (:func:`fens.utility.device.resolve_device`).
        progress: show tqdm progress bars.

    Returns:
        A :class:`TruthComparison`, a dict of ``(n,)`` arrays: ``neuron_index``, ``cell_type``,
        ``grad_rf_correlation`` and ``mei_correlation`` (:func:`similarity_to_truth`),
        ``mei_activation`` (the model's response to the MEI at the last step),
        ``true_orientation`` and ``model_orientation`` (degrees in [0, 180)),
        ``orientation_error`` (degrees in [0, 90]), ``osi``, ``tuned`` (bool), and
        ``prediction_correlation`` when ``correlations`` is given.
    """
    ids = np.atleast_1d(np.asarray(neuron_indices)).astype(np.int64)
    if ids.ndim != 1 or np.any((ids < 0) | (ids >= truth.n_neurons)):
        raise ValueError(
            f"neuron_indices must index the {truth.n_neurons} simulated neurons, "
            f"got {summarize_values(np.asarray(neuron_indices))}"
        )
    shape = truth.filters.shape[2:]
    mean = as_scalar(image_mean, "image_mean")
    std = as_scalar(image_std, "image_std", minimum=0, exclusive_minimum=True)
    mei_contrast = check_number("mei_contrast", mei_contrast, minimum=0, exclusive_minimum=True)
    osi_threshold = check_number("osi_threshold", osi_threshold, minimum=0, maximum=1)

    grad_rfs = generate_grad_rfs(
        model, input_image=np.full(shape, mean), neuron_indices=ids, device=device
    )
    # The same MEI and grating settings for the model and, where it is needed, the truth.
    mei_options = dict(
        iterations=mei_iterations,
        mean_constr=mean,
        std_constr=mei_contrast * std,
        lr=mei_lr,
        seed=seed,
        blur_sigma=mei_blur_sigma,
        image_shape=shape,
        device=device,
        progress=progress,
    )
    grating_options = dict(
        orientations=orientations,
        spatial_frequencies=spatial_frequencies,
        shape=shape,
        contrast=min(1.0, np.sqrt(2) * std / mean),
        mean=mean,
        device=device,
        progress=progress,
    )
    activations, meis = generate_meis(model, neuron_indices=ids, **mei_options)
    curves = tuning_curves(model, neuron_indices=ids, **grating_options)
    curve = curves.orientation_tuning()  # (n, O)
    model_orientation = preferred_orientation(curve, curves.orientations)
    evoked = curve - curve.min(axis=1, keepdims=True)
    osi = orientation_selectivity_index(np.maximum(evoked, 1e-12), curves.orientations)
    true_orientation = truth.orientation[ids].copy()
    mei_correlation = similarity_to_truth(meis, truth, ids)
    later = ~np.isin(truth.cell_type[ids], GABOR_TYPES) | (truth.irregular_share[ids] > 0)
    if later.any():
        true_model = TrueModel(truth)
        _, true_meis = generate_meis(true_model, neuron_indices=ids[later], **mei_options)
        mei_correlation[later] = pearson_rows(meis[later], true_meis)
        true_curves = tuning_curves(true_model, neuron_indices=ids[later], **grating_options)
        true_orientation[later] = preferred_orientation(
            true_curves.orientation_tuning(), true_curves.orientations
        )
    table = TruthComparison(
        {
            "neuron_index": ids,
            "cell_type": truth.cell_type[ids],
            "grad_rf_correlation": similarity_to_truth(grad_rfs, truth, ids),
            "mei_correlation": mei_correlation,
            "mei_activation": activations[np.arange(len(ids)), _last_finite(activations)],
            "true_orientation": np.degrees(true_orientation),
            "model_orientation": np.degrees(model_orientation),
            "orientation_error": np.degrees(
                orientation_difference(model_orientation, true_orientation)
            ),
            "osi": osi,
            "tuned": osi >= osi_threshold,
        }
    )
    if correlations is not None:
        table["prediction_correlation"] = np.asarray(correlations, dtype=np.float64)[ids]
    return table


@deprecated_arguments(positional=("within_deg",))
def summarize_truth_comparison(
    table: dict[str, np.ndarray], *, within_deg: float = 15.0
) -> dict[str, float]:
    """Summary numbers of a :func:`compare_to_truth` table (or of a subset of its rows).

    Returns:
        ``median_mei_correlation_{kind}`` for each cell type (simple, complex, subunit, deep;
        NaN where there is no such cell), ``median_grad_rf_correlation_simple``, ``n_tuned``,
        ``fraction_within`` (the share of tuned neurons whose preferred orientation is within
        ``within_deg`` degrees of the true one; NaN if none is tuned) and
        ``fraction_within_{kind}``, the same per cell type.
    """
    within_deg = check_number("within_deg", within_deg, minimum=0, maximum=90)
    tuned = table["tuned"]

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if values.size else float("nan")

    def within(rows: np.ndarray) -> float:
        hits = table["orientation_error"][rows & tuned]
        return float(np.mean(hits <= within_deg)) if hits.size else float("nan")

    summary = {}
    for kind in CELL_TYPES:
        rows = table["cell_type"] == kind
        summary[f"median_mei_correlation_{kind}"] = median(table["mei_correlation"][rows])
    summary["median_grad_rf_correlation_simple"] = median(
        table["grad_rf_correlation"][table["cell_type"] == "simple"]
    )
    summary["n_tuned"] = int(tuned.sum())
    summary["fraction_within"] = within(np.ones(len(tuned), dtype=bool))
    for kind in CELL_TYPES:
        summary[f"fraction_within_{kind}"] = within(table["cell_type"] == kind)
    return summary


@deprecated_arguments(positional=("within_deg",))
def plot_truth_comparison(table: dict[str, np.ndarray], *, within_deg: float = 15.0) -> Figure:
    """Three panels: MEI-truth correlations by cell type (medians marked), model vs true
    preferred orientation, and the orientation errors of tuned neurons (``within_deg`` marked).
    """
    summary = summarize_truth_comparison(table, within_deg=within_deg)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    ax = axes[0]
    bins = np.linspace(-1, 1, 41)
    for color, cell_type in enumerate(CELL_TYPES):
        values = table["mei_correlation"][table["cell_type"] == cell_type]
        if values.size:
            label = f"{cell_type} ({values.size})"
            ax.hist(values, bins=bins, color=f"C{color}", alpha=0.6, label=label)
            ax.axvline(np.median(values), color=f"C{color}", linestyle="--")
    ax.set_xlabel("MEI-truth correlation")
    ax.set_ylabel("neurons")
    ax.set_title(f"median, simple cells: {summary['median_mei_correlation_simple']:.2f}")
    ax.legend(frameon=False)

    ax = axes[1]
    tuned = table["tuned"]
    ax.scatter(
        table["true_orientation"][~tuned],
        table["model_orientation"][~tuned],
        s=8,
        color="0.7",
        label="not tuned",
    )
    ax.scatter(
        table["true_orientation"][tuned],
        table["model_orientation"][tuned],
        s=8,
        color="k",
        label="tuned",
    )
    ax.plot([0, 180], [0, 180], color="r", linewidth=1)
    ax.set_xlim(0, 180)
    ax.set_ylim(0, 180)
    ax.set_aspect("equal")
    ax.set_xlabel("true orientation (deg)")
    ax.set_ylabel("model's preferred orientation (deg)")
    ax.legend(frameon=False)

    ax = axes[2]
    ax.hist(table["orientation_error"][tuned], bins=np.linspace(0, 90, 19), color="k")
    ax.axvline(within_deg, color="r", linestyle="--")
    ax.set_xlabel("orientation error (deg)")
    ax.set_ylabel("tuned neurons")
    ax.set_title(f"within {within_deg:g} deg: {summary['fraction_within']:.0%}")
    return fig


def _last_finite(activations: np.ndarray) -> np.ndarray:
    """``(n,)`` index of the last non-NaN step of each row of ``(n, iterations)``."""
    finite = np.isfinite(activations)
    return activations.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)

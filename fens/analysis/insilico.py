"""In-silico experiments: show a model the stimuli of classic V1 physiology.

Gratings follow :func:`fens.simulate.neurons.gabor`'s convention, so a simulated neuron's
``orientation``, ``spatial_frequency`` and ``phase`` describe the grating that drives it best:
``orientation`` (radians) is the direction of the wave vector, from the image's x axis (columns,
rightward) towards its y axis (rows, downward), ``spatial_frequency`` is in cycles per pixel, and
the luminance is ``mean * (1 + contrast * cos(2 pi f u + phase))`` with
``u = (x - cx) cos(orientation) + (y - cy) sin(orientation)``.

Orientation statistics are taken on the doubled angle, since an orientation and that plus 180
degrees are the same (Swindale 1998, Biological Cybernetics; Ringach, Shapley & Hawken 2002,
Journal of Neuroscience).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn
from tqdm.auto import tqdm

from fens.analysis._model import as_neuron_indices, prepare_model, summarize_values
from fens.utility.checks import check_int, check_number
from fens.utility.deprecation import deprecated_arguments

IMAGE_SHAPE = (36, 64)


@deprecated_arguments(positional=("shape", "contrast", "mean", "center"))
def grating(
    orientation: ArrayLike,
    spatial_frequency: ArrayLike,
    phase: ArrayLike = 0.0,
    *,
    shape: tuple[int, int] = IMAGE_SHAPE,
    contrast: float = 1.0,
    mean: float = 127.5,
    center: tuple[float, float] | None = None,
) -> np.ndarray:
    """Static sinusoidal gratings.

    Args:
        orientation: radians, direction of the wave vector (see the module's docstring).
        spatial_frequency: cycles per pixel.
        phase: radians; 0 puts a luminance peak at ``center``.
        shape: ``(height, width)`` in pixels.
        contrast: Michelson contrast ``(max - min) / (max + min)``, 0..1; the pixels' standard
            deviation is ``contrast * mean / sqrt(2)``.
        mean: mean luminance (the defaults span 0..255, the course's pixel range).
        center: ``(x, y)`` = (column, row) where the phase is measured; ``None``: the image
            centre.

    Returns:
        ``(*batch, height, width)`` float64, where ``batch`` is the broadcast shape of
        ``orientation``, ``spatial_frequency`` and ``phase`` (empty for three numbers).
    """
    contrast = check_number("contrast", contrast, minimum=0, maximum=1)
    mean = check_number("mean", mean)
    height, width = shape
    cx, cy = ((width - 1) / 2, (height - 1) / 2) if center is None else center
    theta, frequency, phi = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (orientation, spatial_frequency, phase))
    )
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)  # (H, W) each
    theta, frequency, phi = (a[..., None, None] for a in (theta, frequency, phi))
    u = (x - cx) * np.cos(theta) + (y - cy) * np.sin(theta)  # (*batch, H, W)
    return mean * (1.0 + contrast * np.cos(2 * np.pi * frequency * u + phi))


@deprecated_arguments(positional=("n_frames", "cycles", "shape", "contrast", "mean"))
def drifting_grating(
    orientation: float,
    spatial_frequency: float,
    *,
    n_frames: int = 16,
    cycles: float = 1.0,
    shape: tuple[int, int] = IMAGE_SHAPE,
    contrast: float = 1.0,
    mean: float = 127.5,
) -> np.ndarray:
    """A grating drifting along its wave vector (towards ``orientation``), as a frame sequence.

    Frame ``t`` is :func:`grating` at phase ``-2 pi cycles t / n_frames``: over the sequence the
    bars move ``cycles`` periods in the direction ``orientation``.

    Args:
        orientation, spatial_frequency, shape, contrast, mean: as in :func:`grating`.
        n_frames: frames in the sequence.
        cycles: carrier periods the bars move over the sequence.

    Returns:
        ``(n_frames, height, width)`` float64.
    """
    n_frames = check_int("n_frames", n_frames)
    cycles = check_number("cycles", cycles)
    phases = -2 * np.pi * cycles * np.arange(n_frames) / n_frames
    return grating(
        orientation, spatial_frequency, phases, shape=shape, contrast=contrast, mean=mean
    )


@dataclass(frozen=True)
class TuningCurves:
    """Model responses to gratings.

    Attributes:
        responses: ``(n_neurons, n_orientations, n_spatial_frequencies)`` responses, maximised
            or averaged over the grating's phase (``reduce``).
        orientations: ``(n_orientations,)`` radians.
        spatial_frequencies: ``(n_spatial_frequencies,)`` cycles per pixel.
        neuron_indices: ``(n_neurons,)`` the neurons' column indices into the model's output.
        reduce: ``'max'`` or ``'mean'`` over phase.
    """

    responses: np.ndarray
    orientations: np.ndarray
    spatial_frequencies: np.ndarray
    neuron_indices: np.ndarray
    reduce: str

    @property
    def neuron_ids(self) -> np.ndarray:
        """Deprecated name of :attr:`neuron_indices`."""
        warnings.warn(
            "TuningCurves.neuron_ids is deprecated; write TuningCurves.neuron_indices",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.neuron_indices

    def __repr__(self) -> str:
        return (
            f"TuningCurves(responses {self.responses.shape} (neurons, orientations, "
            f"frequencies), {len(self.orientations)} orientations, spatial frequencies "
            f"{summarize_values(self.spatial_frequencies, '.3g')} cycles/pixel, "
            f"neurons {summarize_values(self.neuron_indices)}, reduce={self.reduce!r})"
        )

    def preferred_spatial_frequency(self) -> np.ndarray:
        """``(n_neurons,)`` the spatial frequency (cycles/pixel) of each neuron's largest
        response over all orientations."""
        best = self.responses.max(axis=1).argmax(axis=1)  # (n_neurons,)
        return self.spatial_frequencies[best]

    def orientation_tuning(self) -> np.ndarray:
        """``(n_neurons, n_orientations)`` each neuron's orientation tuning curve at its
        preferred spatial frequency."""
        best = self.responses.max(axis=1).argmax(axis=1)  # (n_neurons,)
        return self.responses[np.arange(len(best)), :, best]


@deprecated_arguments(
    renamed={"neuron_ids": "neuron_indices"},
    positional=(
        "orientations",
        "spatial_frequencies",
        "phases",
        "neuron_indices",
        "reduce",
        "shape",
        "contrast",
        "mean",
        "batch_size",
        "device",
        "progress",
    ),
)
def tuning_curves(
    model: nn.Module,
    *,
    orientations: int | ArrayLike = 16,
    spatial_frequencies: ArrayLike = (0.04, 0.06, 0.09, 0.13, 0.2),
    phases: int | ArrayLike = 8,
    neuron_indices: Sequence[int] | np.ndarray | None = None,
    reduce: str = "max",
    shape: tuple[int, int] = IMAGE_SHAPE,
    contrast: float = 1.0,
    mean: float = 127.5,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TuningCurves:
    """Orientation and spatial-frequency tuning of model neurons to full-field static gratings.

    Args:
        model: maps images ``(batch, 1, height, width)`` to responses ``(batch, n_neurons)``;
            put in evaluation mode and moved to ``device``.
        orientations: radians, or a number ``n`` of orientations ``pi k / n``, k = 0..n-1.
        spatial_frequencies: cycles per pixel.
        phases: radians, or a number ``n`` of phases ``2 pi k / n``.
        neuron_indices: the neurons to keep, column indices into the model's output;
            ``None``: all.
        reduce: ``'max'`` (the response at the best phase, which for a simple cell is the
            peak of its modulation) or ``'mean'`` over phases.
        shape, contrast, mean: of the gratings (:func:`grating`); to stay in the range the
            model was trained on, use the training images' mean and
            ``contrast = sqrt(2) * std / mean``, which gives their standard deviation.
        batch_size: gratings per forward pass.
        device: where to compute (:func:`fens.utility.device.resolve_device`).
        progress: show a tqdm progress bar.

    Returns:
        The :class:`TuningCurves`.
    """
    if reduce not in ("max", "mean"):
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    batch_size = check_int("batch_size", batch_size)
    theta = _grid(orientations, np.pi, "orientations")
    phi = _grid(phases, 2 * np.pi, "phases")
    frequency = np.atleast_1d(np.asarray(spatial_frequencies, dtype=np.float64))
    if frequency.ndim != 1 or np.any(frequency <= 0):
        raise ValueError(f"spatial_frequencies must be positive numbers, got {frequency}")
    # Every (orientation, frequency, phase) combination, flattened in that order.
    stimuli = grating(
        theta[:, None, None],
        frequency[None, :, None],
        phi[None, None, :],
        shape=shape,
        contrast=contrast,
        mean=mean,
    ).reshape(-1, *shape)  # (O*F*P, H, W)
    device = prepare_model(model, device)
    chunks = []
    with torch.no_grad():
        starts = range(0, len(stimuli), batch_size)
        for start in tqdm(starts, desc="gratings", disable=not progress):
            batch = torch.tensor(stimuli[start : start + batch_size], dtype=torch.float32)
            chunks.append(model(batch[:, None].to(device)).cpu().numpy())  # (b, N)
    responses = np.concatenate(chunks)  # (O*F*P, N)
    ids = as_neuron_indices(neuron_indices, responses.shape[1])
    responses = responses[:, ids].reshape(len(theta), len(frequency), len(phi), len(ids))
    reduced = responses.max(axis=2) if reduce == "max" else responses.mean(axis=2)  # (O, F, n)
    return TuningCurves(
        responses=reduced.transpose(2, 0, 1).astype(np.float64),  # (n, O, F)
        orientations=theta,
        spatial_frequencies=frequency,
        neuron_indices=ids,
        reduce=reduce,
    )


def preferred_orientation(
    responses: ArrayLike, orientations: ArrayLike, method: str = "vector"
) -> np.ndarray:
    """Preferred orientation from orientation tuning curves.

    Args:
        responses: ``(..., n_orientations)`` responses.
        orientations: ``(n_orientations,)`` radians.
        method: ``'vector'``: half the angle of the vector sum ``sum_k r_k exp(2i theta_k)``
            (Swindale 1998), not limited to the sampled orientations but biased towards the
            denser side if they are not evenly spaced over 180 degrees; ``'argmax'``: the
            sampled orientation with the largest response.

    Returns:
        ``(...)`` radians in [0, pi).
    """
    r, theta = _tuning_arrays(responses, orientations)
    if method == "argmax":
        return np.mod(theta[r.argmax(axis=-1)], np.pi)
    if method == "vector":
        resultant = (r * np.exp(2j * theta)).sum(axis=-1)
        return np.mod(np.angle(resultant) / 2, np.pi)
    raise ValueError(f"method must be 'vector' or 'argmax', got {method!r}")


def orientation_selectivity_index(
    responses: ArrayLike, orientations: ArrayLike, method: str = "circular_variance"
) -> np.ndarray:
    """How sharply tuned to orientation each curve is, 0 (untuned) .. 1.

    Args:
        responses: ``(..., n_orientations)`` non-negative responses. A baseline (a model's
            response to a grey screen, or ELU + 1's floor) lowers both indices; subtract it
            first to measure the tuning of the evoked response only.
        orientations: ``(n_orientations,)`` radians, evenly spaced over 180 degrees for
            ``'circular_variance'``.
        method: ``'circular_variance'``: ``1 - CV = |sum_k r_k exp(2i theta_k)| / sum_k r_k``
            (Ringach, Shapley & Hawken 2002, J. Neurosci. 22:5639), which uses the whole curve;
            ``'pref_orth'``: ``(R_pref - R_orth) / (R_pref + R_orth)`` with ``R_pref`` the
            largest sampled response and ``R_orth`` the response at the sampled orientation
            nearest to 90 degrees away (e.g. Niell & Stryker 2008, J. Neurosci. 28:7520).

    Returns:
        ``(...)`` indices.
    """
    r, theta = _tuning_arrays(responses, orientations)
    if method == "circular_variance":
        return np.abs((r * np.exp(2j * theta)).sum(axis=-1)) / r.sum(axis=-1)
    if method == "pref_orth":
        best = r.argmax(axis=-1)  # (...)
        orthogonal = theta[best] + np.pi / 2
        sampled = theta.reshape(-1, *(1,) * orthogonal.ndim)  # (n_orientations, 1, ...)
        nearest = orientation_difference(sampled, orthogonal).argmin(axis=0)  # (...)
        pref = np.take_along_axis(r, best[..., None], axis=-1)[..., 0]
        orth = np.take_along_axis(r, nearest[..., None], axis=-1)[..., 0]
        return (pref - orth) / (pref + orth)
    raise ValueError(f"method must be 'circular_variance' or 'pref_orth', got {method!r}")


def orientation_difference(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Angle between orientations ``a`` and ``b`` (radians), modulo pi: in [0, pi/2]."""
    d = np.mod(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), np.pi)
    return np.minimum(d, np.pi - d)


def _grid(values: int | ArrayLike, period: float, name: str) -> np.ndarray:
    """``n`` evenly spaced values over ``[0, period)`` for an int, else the values given."""
    if isinstance(values, (int, np.integer)):
        values = check_int(name, values)
        return period * np.arange(values) / values
    grid = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if grid.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {grid.shape}")
    return grid


def _tuning_arrays(responses: ArrayLike, orientations: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(responses, dtype=np.float64)
    theta = np.asarray(orientations, dtype=np.float64)
    if theta.ndim != 1 or r.shape[-1:] != theta.shape:
        raise ValueError(
            f"responses (..., n_orientations) and orientations (n_orientations,) disagree: "
            f"{r.shape} and {theta.shape}"
        )
    return r, theta

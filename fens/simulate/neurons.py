"""Model V1 layer 2/3 neurons with known ground truth.

Each neuron is a classic textbook unit of primary visual cortex:

- a **simple cell**: a half-wave rectified Gabor filter (Jones & Palmer 1987);
- a **complex cell**: the energy model, the norm of a quadrature pair of Gabor filters
  (Adelson & Bergen 1985);
- optionally **divisively normalised** by the local contrast energy in a Gaussian pool around its
  receptive field (Heeger 1992; Carandini & Heeger 2012);
- followed by a power-law output nonlinearity (Priebe & Ferster 2008), a gain and a baseline.

Receptive-field centres follow the neurons' positions on cortex through an affine retinotopic
map plus a few pixels of scatter, so that a readout that predicts positions from cortical
coordinates (Lurz et al., ICLR 2021) has something to learn.

Units: images in 0..255 (as in the data files); inside the model they are scaled to -0.5..0.5;
filters have unit L2 norm and zero mean, so the mean luminance never drives a neuron.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from fens.simulate.config import SimulationConfig
from fens.simulate.stimuli import IMAGE_SHAPE

GROUND_TRUTH_DIR = "ground_truth"
CELL_TYPES = ("simple", "complex")


def gabor(
    center: np.ndarray,
    size: np.ndarray,
    aspect: np.ndarray,
    orientation: np.ndarray,
    spatial_frequency: np.ndarray,
    phase: np.ndarray,
    shape: tuple[int, int] = IMAGE_SHAPE,
) -> np.ndarray:
    """Zero-mean, unit-norm Gabor filters, one per row of parameters.

    ``g(x, y) = exp(-(u**2 + (aspect * v)**2) / (2 size**2)) cos(2 pi f u + phase)``, where
    ``u`` runs along the carrier's wave vector (at ``orientation`` from the image's x axis
    towards its y axis, i.e. rows downward) and ``v`` along the bars. The envelope-weighted mean
    of the carrier is subtracted, so a uniform image gives zero.

    Args:
        center: ``(N, 2)`` centre (x = column, y = row) in pixels.
        size: ``(N,)`` envelope sd across the bars, in pixels.
        aspect: ``(N,)`` ratio of the envelope's widths across / along the bars (< 1: elongated).
        orientation: ``(N,)`` radians.
        spatial_frequency: ``(N,)`` cycles per pixel.
        phase: ``(N,)`` radians.
        shape: ``(height, width)`` of the image.

    Returns:
        ``(N, height, width)`` float64 filters.
    """
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)  # (H, W) each
    dx = x[None] - center[:, 0, None, None]  # (N, H, W)
    dy = y[None] - center[:, 1, None, None]
    cos, sin = np.cos(orientation)[:, None, None], np.sin(orientation)[:, None, None]
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    sigma = size[:, None, None]
    envelope = np.exp(-(u**2 + (aspect[:, None, None] * v) ** 2) / (2 * sigma**2))
    carrier = np.cos(2 * np.pi * spatial_frequency[:, None, None] * u + phase[:, None, None])
    g = envelope * carrier
    dc = g.sum(axis=(1, 2), keepdims=True) / envelope.sum(axis=(1, 2), keepdims=True)
    g = g - dc * envelope
    return g / np.linalg.norm(g, axis=(1, 2), keepdims=True)


def gaussian_pools(
    center: np.ndarray, pool_size: np.ndarray, shape: tuple[int, int] = IMAGE_SHAPE
) -> np.ndarray:
    """Isotropic Gaussian weights that sum to 1 over the image: the normalisation pools.

    Args:
        center: ``(N, 2)`` centre (x = column, y = row) in pixels.
        pool_size: ``(N,)`` sd in pixels.
        shape: ``(height, width)`` of the image.

    Returns:
        ``(N, height, width)`` float64 weights.
    """
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    d2 = (x[None] - center[:, 0, None, None]) ** 2 + (y[None] - center[:, 1, None, None]) ** 2
    w = np.exp(-d2 / (2 * pool_size[:, None, None] ** 2))
    return w / w.sum(axis=(1, 2), keepdims=True)


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The true model of every simulated neuron; arrays are ``(N, ...)`` over neurons.

    The noise-free mean response of neuron ``n`` to an image ``x`` (scaled to -0.5..0.5) is::

        a = <filters[n, 0], x>                                   (simple cell)
        a = sqrt(<filters[n, 0], x>**2 + <filters[n, 1], x>**2)  (complex cell)
        drive = max(a, 0) / (1 + normalization_strength[n] * c / contrast_reference)
        mean = gain[n] * drive ** exponent[n] + baseline[n]

    where ``c`` is the RMS contrast of ``x`` in a Gaussian pool of sd ``pool_size[n]`` around the
    receptive-field centre. Simple cells use only the even filter (``filters[n, 0]``); the
    second is its quadrature partner (phase + pi/2).

    Attributes:
        cell_type: ``(N,)`` 'simple' or 'complex'.
        orientation: ``(N,)`` radians in [0, pi), direction of the carrier's wave vector from
            the image x axis (columns) towards y (rows, downward).
        spatial_frequency: ``(N,)`` cycles per pixel.
        phase: ``(N,)`` radians of the first filter.
        center: ``(N, 2)`` receptive-field centre (x = column, y = row) in pixels.
        size: ``(N,)`` Gabor envelope sd across the bars, in pixels.
        aspect: ``(N,)`` envelope width ratio across/along the bars.
        gain: ``(N,)`` output gain (low for weakly responsive neurons).
        exponent: ``(N,)`` output power.
        baseline: ``(N,)`` response without drive.
        normalization_strength: ``(N,)`` 0 for neurons without divisive normalisation.
        pool_size: ``(N,)`` sd of the normalisation pool in pixels.
        responsive: ``(N,)`` False for the weakly responsive neurons.
        filters: ``(N, 2, 36, 64)`` float32, the Gabor pair (zero mean, unit norm).
        contrast_reference: scalar, see above.
        retinotopy: ``(2, 3)`` affine map from cortical position (x, y in um, as in
            ``cell_motor_coordinates``) to the receptive-field centre before scatter:
            ``center ~ retinotopy[:, :2] @ (x, y) + retinotopy[:, 2]``.
    """

    cell_type: np.ndarray
    orientation: np.ndarray
    spatial_frequency: np.ndarray
    phase: np.ndarray
    center: np.ndarray
    size: np.ndarray
    aspect: np.ndarray
    gain: np.ndarray
    exponent: np.ndarray
    baseline: np.ndarray
    normalization_strength: np.ndarray
    pool_size: np.ndarray
    responsive: np.ndarray
    filters: np.ndarray
    contrast_reference: np.ndarray
    retinotopy: np.ndarray

    @property
    def n_neurons(self) -> int:
        return len(self.cell_type)

    def __repr__(self) -> str:
        """Counts of each kind of neuron, not the arrays (the filters alone are N x 4608)."""
        kinds = ", ".join(f"{kind}={int((self.cell_type == kind).sum())}" for kind in CELL_TYPES)
        return (
            f"GroundTruth(neurons={self.n_neurons}, {kinds}, "
            f"normalized={int((self.normalization_strength > 0).sum())}, "
            f"responsive={int(np.sum(self.responsive))}, image={tuple(self.filters.shape[2:])})"
        )

    @cached_property
    def pools(self) -> np.ndarray:
        """``(N, 36 * 64)`` float32 normalisation pools (Gaussian weights summing to 1)."""
        pools = gaussian_pools(self.center, self.pool_size, self.filters.shape[2:])
        return pools.reshape(self.n_neurons, -1).astype(np.float32)

    def drive(self, images: np.ndarray) -> np.ndarray:
        """Normalised drive ``(B, N)`` (before gain, power and baseline) for images ``(B, P)``
        already scaled to -0.5..0.5, P = 36 * 64 pixels."""
        n = self.n_neurons
        x = images.astype(np.float32, copy=False)
        filters = self.filters.reshape(n * 2, -1)  # (2N, P)
        projections = (x @ filters.T).reshape(len(x), n, 2)  # (B, N, 2)
        simple = np.maximum(projections[..., 0], 0.0)
        energy = np.sqrt((projections**2).sum(axis=-1))
        a = np.where(self.cell_type == "complex", energy, simple)  # (B, N)
        mean = x @ self.pools.T  # (B, N) local mean luminance
        mean_sq = (x**2) @ self.pools.T
        contrast = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))  # (B, N) local RMS contrast
        return a / (1.0 + self.normalization_strength * contrast / self.contrast_reference)

    def mean_response(
        self, images: np.ndarray, batch_size: int = 1024, progress: bool = False
    ) -> np.ndarray:
        """Noise-free mean response of every neuron to every image.

        Args:
            images: ``(B, 1, 36, 64)`` or ``(B, 36, 64)`` in raw 0..255 units.
            batch_size: images per matrix product (bounds the memory used).
            progress: show a tqdm progress bar.

        Returns:
            ``(B, N)`` float32 mean responses (what a noise-free recording would average to).
        """
        images = np.asarray(images)
        shape = self.filters.shape[2:]
        if images.shape[-2:] != shape or images.ndim not in (3, 4):
            raise ValueError(
                f"expected images of shape (B, 1, {shape[0]}, {shape[1]}) or "
                f"(B, {shape[0]}, {shape[1]}), got {images.shape}"
            )
        x = images.reshape(len(images), -1)  # (B, P)
        out = np.empty((len(x), self.n_neurons), dtype=np.float32)
        starts = range(0, len(x), batch_size)
        for start in tqdm(starts, desc="mean responses", disable=not progress):
            batch = x[start : start + batch_size].astype(np.float32) / 255.0 - 0.5
            d = self.drive(batch)
            out[start : start + batch_size] = self.gain * d**self.exponent + self.baseline
        return out

    def save(self, folder: str | Path) -> None:
        """Write every attribute as ``{folder}/ground_truth/{name}.npy``."""
        target = Path(folder) / GROUND_TRUTH_DIR
        target.mkdir(parents=True, exist_ok=True)
        for f in fields(self):
            np.save(target / f"{f.name}.npy", getattr(self, f.name), allow_pickle=False)

    @classmethod
    def load(cls, folder: str | Path) -> GroundTruth:
        """Read the ground truth written beside a simulated data set in ``folder``."""
        source = Path(folder) / GROUND_TRUTH_DIR
        if not source.is_dir():
            raise FileNotFoundError(
                f"no ground truth in {source}: is {folder} a simulated data set?"
            )
        return cls(**{f.name: np.load(source / f"{f.name}.npy") for f in fields(cls)})


def cortical_positions(config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """Cortical positions of the neurons, like ``cell_motor_coordinates``.

    x, y uniform over a square of ``cortex_extent_um`` (centred on 0); z one of ``n_planes``
    evenly spaced imaging depths, plus 3 um of jitter.

    Returns:
        ``(N, 3)`` float64 positions in micrometres.
    """
    n, half = config.n_neurons, config.cortex_extent_um / 2
    xy = rng.uniform(-half, half, size=(n, 2))
    planes = np.linspace(*config.depth_range_um, config.n_planes)
    z = planes[rng.integers(0, config.n_planes, size=n)] + rng.normal(0, 3.0, size=n)
    return np.column_stack([xy, z])


def retinotopic_map(config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """A random affine map from cortex (x, y in um) to image pixels (column, row).

    A rotation of up to 22.5 degrees, possibly mirrored, scaled so that the square of cortex
    covers 75% of the image's width and height, centred on the image centre.

    Returns:
        ``(2, 3)``: ``pixel = m[:, :2] @ (x, y) + m[:, 2]``.
    """
    height, width = IMAGE_SHAPE
    angle = rng.uniform(-np.pi / 8, np.pi / 8)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    mirror = np.diag([1.0, rng.choice([-1.0, 1.0])])
    scale = np.diag([0.75 * width, 0.75 * height]) / config.cortex_extent_um
    linear = scale @ rotation @ mirror
    offset = np.array([(width - 1) / 2, (height - 1) / 2])
    return np.column_stack([linear, offset])


def draw_population(
    config: SimulationConfig,
    rng: np.random.Generator,
    stimuli: np.ndarray,
    progress: bool = False,
) -> tuple[GroundTruth, np.ndarray]:
    """Draw a population of model neurons and their cortical positions.

    Each neuron's gain is set so that its mean noise-free response over ``stimuli`` is a
    log-normal draw (median ``rate_median``, times ``weak_gain`` for weakly responsive neurons);
    its baseline is ``baseline_fraction`` of that mean before the weak factor.

    Args:
        config: the simulation's configuration.
        rng: random generator.
        stimuli: ``(B, 36, 64)`` images in 0..255 the gains are calibrated on.
        progress: show a tqdm progress bar.

    Returns:
        The :class:`GroundTruth` and ``(N, 3)`` cortical positions in um.
    """
    n = config.n_neurons
    height, width = IMAGE_SHAPE
    positions = cortical_positions(config, rng)
    retinotopy = retinotopic_map(config, rng)
    center = positions[:, :2] @ retinotopy[:, :2].T + retinotopy[:, 2]
    center += rng.normal(0.0, config.rf_scatter_px, size=(n, 2))
    margin = 2.0
    center = np.clip(center, margin, [width - 1 - margin, height - 1 - margin])

    cell_type = np.where(rng.random(n) < config.complex_fraction, "complex", "simple")
    orientation = rng.uniform(0.0, np.pi, size=n)
    log_f = np.log(config.spatial_frequency_range)
    spatial_frequency = np.exp(rng.uniform(*log_f, size=n))
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    # Envelope sd across the bars: 0.25..0.5 carrier periods, 1.5..8 pixels.
    size = np.clip(rng.uniform(0.25, 0.5, size=n) / spatial_frequency, 1.5, 8.0)
    aspect = rng.uniform(0.5, 1.0, size=n)
    exponent = np.clip(rng.normal(config.exponent_mean, config.exponent_sd, size=n), 1.1, 2.0)
    normalized = rng.random(n) < config.normalized_fraction
    normalization_strength = np.where(
        normalized, np.exp(rng.uniform(np.log(0.5), np.log(4.0), n)), 0.0
    )
    pool_size = np.clip(rng.uniform(1.5, 3.0, size=n) * size, 3.0, 16.0)
    responsive = rng.random(n) >= config.weak_fraction
    rate = config.rate_median * np.exp(rng.normal(0.0, config.rate_log_sd, size=n))

    filters = np.stack(
        [
            gabor(center, size, aspect, orientation, spatial_frequency, phase),
            gabor(center, size, aspect, orientation, spatial_frequency, phase + np.pi / 2),
        ],
        axis=1,
    ).astype(np.float32)  # (N, 2, H, W)
    truth = GroundTruth(
        cell_type=cell_type,
        orientation=orientation,
        spatial_frequency=spatial_frequency,
        phase=phase,
        center=center,
        size=size,
        aspect=aspect,
        gain=np.ones(n),
        exponent=exponent,
        baseline=np.zeros(n),
        normalization_strength=normalization_strength,
        pool_size=pool_size,
        responsive=responsive,
        filters=filters,
        contrast_reference=np.array(config.contrast_reference),
        retinotopy=retinotopy,
    )
    # Calibrate the gains: mean over stimuli of drive ** exponent, in batches.
    powered = truth.mean_response(stimuli, progress=progress)  # (B, N), gain 1, baseline 0
    gain = rate / np.maximum(powered.mean(axis=0, dtype=np.float64), 1e-12)
    gain = np.where(responsive, gain, gain * config.weak_gain)
    truth = GroundTruth(
        **{f.name: getattr(truth, f.name) for f in fields(GroundTruth)}
        | {"gain": gain, "baseline": config.baseline_fraction * rate}
    )
    return truth, positions

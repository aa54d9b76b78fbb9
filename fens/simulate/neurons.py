"""Model V1 layer 2/3 neurons with known ground truth.

Each neuron is one of four kinds:

- a **simple cell**: a half-wave rectified Gabor filter (Jones & Palmer 1987);
- a **complex cell**: the energy model, the norm of a quadrature pair of Gabor filters
  (Adelson & Bergen 1985), optionally mixed with a share of the simple cell's drive, since
  phase invariance is graded in V1 (Mechler & Ringach 2002; in mouse, Niell & Stryker 2008);
- a **subunit cell**: the rectified-squared outputs of several Gabor subunits at scattered
  positions and orientations, pooled (Rust et al. 2005; Vintch, Movshon & Simoncelli 2015);
- a **deep cell**: a random combination of the features of a fixed random deep network at its
  receptive-field centre (:mod:`fens.simulate.random_network`), standing for the structure of
  mouse V1 responses that classic models miss (Walker et al. 2019; Cadena et al. 2019);

each optionally taking a share of its drive from **irregular subunits**: random band-pass
textures of its own, with no orientation or carrier, full-wave rectified, half of them
excitatory and half suppressive, as spike-triggered covariance finds V1 neurons to pool
several excitatory and suppressive subunits beyond the one or two of the classic models (Rust
et al. 2005), and standing for the non-Gabor structure of mouse V1 neurons' most exciting inputs
(Walker et al. 2019). Being even functions of the image, they have no linear part, and an
excitatory and a suppressive one of the same band cancel in their mean energy; no model shared
by the population holds them, so that this part of each neuron's repeatable response is left
to be learnt neuron by neuron from a few thousand images; and each optionally **divisively
normalised** by the local contrast energy in a Gaussian pool around
its receptive field (Heeger 1992; Carandini & Heeger 2012) and by **orientation-tuned surround
suppression**, the energy at its own orientation and spatial frequency around its receptive
field (Cavanaugh, Bair & Movshon 2002; in mouse V1 Self et al. 2014), followed by a power-law
output nonlinearity (Priebe & Ferster 2008), a gain and a baseline.

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
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from fens.simulate import gabor_bank
from fens.simulate.config import SimulationConfig
from fens.simulate.filters import (
    gabor,
    gaussian_pools,
    irregular_filters,
    sample_maps,
    without_subnormals,
)
from fens.simulate.random_network import RandomNetwork, scaled
from fens.simulate.stimuli import IMAGE_SHAPE

GROUND_TRUTH_DIR = "ground_truth"
NETWORK_DIR = "network"
CELL_TYPES = ("simple", "complex", "subunit", "deep")
#: Neurons whose true optimal stimulus is a Gabor of their filter pair (see fens.analysis.truth).
GABOR_TYPES = ("simple", "complex")
#: Positions of the surround filters on a ring around the centre, in envelope sds: along the
#: wave vector (flanks) and along the bars (ends), both sides.
SURROUND_RADIUS = 3.0
#: Concentration of the Dirichlet distribution of a subunit cell's subunit weights: 2 gives
#: several comparable subunits rather than one that dominates.
SUBUNIT_CONCENTRATION = 2.0


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The true model of every simulated neuron; arrays are ``(N, ...)`` over neurons.

    The noise-free mean response of neuron ``n`` to an image ``x`` (scaled to -0.5..0.5) is::

        a = <filters[n, 0], x>                                   (simple cell)
        a = (1 - linearity[n]) * sqrt(<filters[n, 0], x>**2 + <filters[n, 1], x>**2)
            + linearity[n] * max(<filters[n, 0], x>, 0)          (complex cell)
        a = sqrt(sum_k subunit_weight[n, k] * max(<s_nk, x>, 0)**2)   (subunit cell)
        a = (1 - linearity[n]) * |r| + linearity[n] * max(r[0], 0)         (deep cell)
            with r = sum_k deep_weight[n, :, k] @ phi(x)[:, deep_center[n, k]]
        a <- (1 - gabor_share[n]) * a
             + gabor_share[n] * gabor_scale[n] * max(<filters[n, 0], x>, 0)   (deep cell)
        a <- (1 - irregular_share[n]) * a
             + irregular_share[n] * sum_j irregular_weight[n, j] * |<q_nj, x>|
        drive = max(a, 0) / (1 + normalization_strength[n] * c / contrast_reference
                               + surround_strength[n] * e / surround_reference[n])
        mean = gain[n] * drive ** exponent[n] + baseline[n]

    where ``c`` is the RMS contrast of ``x`` in a Gaussian pool of sd ``pool_size[n]`` around the
    receptive-field centre, ``s_nk`` the subunits' Gabor filters (the neuron's spatial frequency
    and envelope, at ``subunit_center`` and ``subunit_orientation``), ``q_nj`` the irregular
    subunits (``irregular_filters``: band-pass noise at the neuron's spatial frequency under a
    circular envelope of its size, :func:`~fens.simulate.filters.irregular_filters`), ``phi``
    the features of the random ``network`` and ``e`` the surround energy: the mean energy of the
    neuron's Gabor pair's orientation and spatial frequency in a Gabor bank, read
    :data:`SURROUND_RADIUS` envelope sds away, on its flanks and its ends
    (:meth:`surround_energy`). Simple cells use only the even filter (``filters[n, 0]``); the second is its quadrature partner
    (phase + pi/2). Subunit and deep cells keep a Gabor pair too, the one their surround is made
    of; a deep cell with a ``gabor_share`` also takes that share of its drive from the even
    filter, rectified: a classical linear receptive field beside its deep features.

    Attributes:
        cell_type: ``(N,)`` 'simple', 'complex', 'subunit' or 'deep'.
        orientation: ``(N,)`` radians in [0, pi), direction of the carrier's wave vector from
            the image x axis (columns) towards y (rows, downward); for subunit cells the
            centre of their subunits' orientations; for deep cells the surround's only.
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
        linearity: ``(N,)`` a complex cell's share of simple-cell drive (0: the pure energy
            model), a deep cell's share of its first readout, rectified (0: the energy of
            both); 1 for simple cells, 0 for subunit cells.
        surround_strength: ``(N,)`` 0 for neurons without surround suppression.
        surround_reference: ``(N,)`` mean surround energy over the stimuli the population was
            drawn for (so a strength of 1 halves the drive at a typical surround).
        subunit_center: ``(N, K, 2)`` subunit centres in pixels (K = 0 without subunit cells).
        subunit_orientation: ``(N, K)`` radians.
        subunit_phase: ``(N, K)`` radians.
        subunit_weight: ``(N, K)`` non-negative, summing to 1 for subunit cells, else 0.
        deep_center: ``(N, K, 2)`` the K points (x, y in pixels) where a deep cell reads the
            network: its centre first, then (K > 1) points scattered around it.
        deep_weight: ``(N, 2, K, C)`` two readouts of the network's C channels at those
            points, whose energy drives a deep cell, as a quadrature pair drives a complex cell
            (the first one rectified, for its ``linearity`` share; 0 for other kinds).
        gabor_share: ``(N,)`` a deep cell's share of drive from its even Gabor filter,
            rectified (0 for other kinds and without it).
        gabor_scale: ``(N,)`` the factor on that Gabor drive that gives it the sd of the deep
            cell's own drive over the stimuli the population was drawn for (1 where unused).
        irregular_share: ``(N,)`` share of the drive from the irregular subunits (0: none).
        irregular_filters: ``(N, J, 36, 64)`` float32 irregular subunits (zero mean, unit
            norm; J = 0 without them).
        irregular_weight: ``(N, J)`` Dirichlet weights, positive for the excitatory subunits
            (even j) and negative for the suppressive ones (odd j), scaled so that the
            irregular drive's sd over the stimuli the population was drawn for equals the
            neuron's own drive's.
        network: the :class:`~fens.simulate.random_network.RandomNetwork`, or None.
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
    linearity: np.ndarray | None = None
    surround_strength: np.ndarray | None = None
    surround_reference: np.ndarray | None = None
    subunit_center: np.ndarray | None = None
    subunit_orientation: np.ndarray | None = None
    subunit_phase: np.ndarray | None = None
    subunit_weight: np.ndarray | None = None
    deep_center: np.ndarray | None = None
    deep_weight: np.ndarray | None = None
    gabor_share: np.ndarray | None = None
    gabor_scale: np.ndarray | None = None
    irregular_share: np.ndarray | None = None
    irregular_filters: np.ndarray | None = None
    irregular_weight: np.ndarray | None = None
    network: RandomNetwork | None = None

    def __post_init__(self) -> None:
        """Fill the fields of the later kinds for a population without them (as in data
        sets written before they existed): no surround, no subunits, no network."""
        n = len(self.cell_type)
        defaults = {
            "linearity": (self.cell_type == "simple").astype(np.float64),
            "surround_strength": np.zeros(n),
            "surround_reference": np.ones(n),
            "subunit_center": np.zeros((n, 0, 2)),
            "subunit_orientation": np.zeros((n, 0)),
            "subunit_phase": np.zeros((n, 0)),
            "subunit_weight": np.zeros((n, 0)),
            "deep_center": self.center[:, None],
            "deep_weight": np.zeros((n, 2, 1, 0), np.float32),
            "gabor_share": np.zeros(n),
            "gabor_scale": np.ones(n),
            "irregular_share": np.zeros(n),
            "irregular_filters": np.zeros((n, 0, *self.filters.shape[2:]), np.float32),
            "irregular_weight": np.zeros((n, 0)),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.deep_weight.ndim == 3:  # written when deep cells read their centre only
            object.__setattr__(self, "deep_weight", self.deep_weight[:, :, None])

    @property
    def n_neurons(self) -> int:
        return len(self.cell_type)

    def __repr__(self) -> str:
        """Counts of each kind of neuron, not the arrays (the filters alone are N x 4608)."""
        kinds = ", ".join(
            f"{kind}={count}"
            for kind in CELL_TYPES
            if (count := int((self.cell_type == kind).sum())) or kind in GABOR_TYPES
        )
        surround = int((self.surround_strength > 0).sum())
        return (
            f"GroundTruth(neurons={self.n_neurons}, {kinds}, "
            f"normalized={int((self.normalization_strength > 0).sum())}, "
            + (f"surround={surround}, " if surround else "")
            + f"responsive={int(np.sum(self.responsive))}, image={tuple(self.filters.shape[2:])})"
        )

    @cached_property
    def pools(self) -> np.ndarray:
        """``(N, 36 * 64)`` float32 normalisation pools (Gaussian weights summing to 1)."""
        pools = gaussian_pools(self.center, self.pool_size, self.filters.shape[2:])
        return without_subnormals(pools.reshape(self.n_neurons, -1))

    @cached_property
    def filter_matrix(self) -> np.ndarray:
        """``(2 N, 36 * 64)`` float32: each neuron's Gabor pair, one filter per row."""
        return without_subnormals(self.filters.reshape(2 * self.n_neurons, -1))

    @cached_property
    def subunit_filters(self) -> np.ndarray:
        """``(S * K, 36 * 64)`` float32 filters of the S subunit cells' K subunits."""
        ids = np.flatnonzero(self.cell_type == "subunit")
        k = self.subunit_weight.shape[1]
        repeat = np.repeat  # each neuron's parameters, once per subunit
        f = gabor(
            self.subunit_center[ids].reshape(-1, 2),
            repeat(self.size[ids], k),
            repeat(self.aspect[ids], k),
            self.subunit_orientation[ids].reshape(-1),
            repeat(self.spatial_frequency[ids], k),
            self.subunit_phase[ids].reshape(-1),
            self.filters.shape[2:],
        )
        return without_subnormals(f.reshape(-1, self.filter_matrix.shape[1]))

    @cached_property
    def irregular_matrix(self) -> np.ndarray:
        """``(N * J, 36 * 64)`` float32: each neuron's J irregular subunits, one per row."""
        return without_subnormals(self.irregular_filters.reshape(-1, self.filter_matrix.shape[1]))

    def irregular_excitation(self, x: np.ndarray) -> np.ndarray:
        """``(B, N)`` the irregular subunits' weighted sum, for images ``(B, P)`` scaled to
        -0.5..0.5 (zero without them)."""
        j = self.irregular_weight.shape[1]
        if j == 0:
            return np.zeros((len(x), self.n_neurons), np.float32)
        q = np.abs(x @ self.irregular_matrix.T).reshape(len(x), self.n_neurons, j)
        return (q * self.irregular_weight.astype(np.float32)).sum(axis=-1)

    @cached_property
    def surround_points(self) -> np.ndarray:
        """``(M, 4, 2)`` where the surround of each of the M surround-suppressed neurons is
        read: :data:`SURROUND_RADIUS` envelope sds from the centre on both flanks (across
        the bars) and both ends (along them)."""
        ids = np.flatnonzero(self.surround_strength > 0)
        theta = self.orientation[ids]
        across = np.stack([np.cos(theta), np.sin(theta)], axis=1) * self.size[ids, None]
        along = (
            np.stack([-np.sin(theta), np.cos(theta)], axis=1)
            * (self.size[ids] / self.aspect[ids])[:, None]
        )
        offsets = SURROUND_RADIUS * np.stack([across, -across, along, -along], axis=1)
        return self.center[ids, None] + offsets

    def surround_energy(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, M)`` surround energy of the M surround-suppressed neurons: the
        :mod:`~fens.simulate.gabor_bank` energies, weighted towards each neuron's orientation
        and spatial frequency (:func:`~fens.simulate.gabor_bank.tuned_weights`), averaged over
        its :attr:`surround_points`; for images ``(B, 1, 36, 64)`` scaled to -0.5..0.5."""
        ids = np.flatnonzero(self.surround_strength > 0)
        maps = gabor_bank.energy(x)  # (B, C, H, W)
        at = sample_maps(maps, self.surround_points.reshape(-1, 2)).reshape(len(x), ids.size, 4, -1)
        weights = gabor_bank.tuned_weights(self.orientation[ids], self.spatial_frequency[ids])
        return (at.mean(2) * torch.as_tensor(weights, dtype=x.dtype, device=x.device)).sum(-1)

    def deep_excitation(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` the D deep cells' drive before normalisation, for images
        ``(B, 1, 36, 64)`` scaled to -0.5..0.5."""
        deep = np.flatnonzero(self.cell_type == "deep")
        points = self.deep_center[deep]  # (D, K, 2)
        phi = sample_maps(self.network.features(x), points.reshape(-1, 2))  # (B, D * K, C)
        phi = phi.reshape(len(x), *points.shape[:2], -1)  # (B, D, K, C)
        w = torch.as_tensor(self.deep_weight[deep], dtype=x.dtype, device=x.device)  # (D,2,K,C)
        pair = torch.einsum("bdkc,dykc->bdy", phi, w)  # (B, D, 2)
        energy = pair.pow(2).sum(-1).clamp_min(1e-12).sqrt()
        share = torch.as_tensor(self.linearity[deep], dtype=x.dtype, device=x.device)  # (D,)
        a = share * pair[..., 0].clamp_min(0) + (1 - share) * energy
        if not self.gabor_share[deep].any():
            return a
        even = torch.as_tensor(self.filters[deep, 0], dtype=x.dtype, device=x.device)
        simple = (x.flatten(1) @ even.flatten(1).T).clamp_min(0)  # (B, D)
        mix, scale = (
            torch.as_tensor(v[deep], dtype=x.dtype, device=x.device)
            for v in (self.gabor_share, self.gabor_scale)
        )
        return (1 - mix) * a + mix * scale * simple

    def excitation(self, x: np.ndarray) -> np.ndarray:
        """``(B, N)`` each neuron's drive ``a`` before normalisation, for images ``(B, P)``
        scaled to -0.5..0.5."""
        n = self.n_neurons
        projections = (x @ self.filter_matrix.T).reshape(len(x), n, 2)  # (B, N, 2)
        simple = np.maximum(projections[..., 0], 0.0)
        energy = np.sqrt((projections**2).sum(axis=-1))
        linear = self.linearity.astype(np.float32)  # 1 for simple cells: exactly `simple`
        a = linear * simple + (1 - linear) * energy  # (B, N)
        subunit = np.flatnonzero(self.cell_type == "subunit")
        if subunit.size:
            k = self.subunit_weight.shape[1]
            s = np.maximum(x @ self.subunit_filters.T, 0.0).reshape(len(x), subunit.size, k)
            a[:, subunit] = np.sqrt((s**2 * self.subunit_weight[subunit]).sum(axis=-1))
        deep = np.flatnonzero(self.cell_type == "deep")
        if deep.size:
            with torch.no_grad():
                a[:, deep] = self.deep_excitation(as_images(x, self.filters.shape[2:])).numpy()
        if self.irregular_weight.shape[1]:
            share = self.irregular_share.astype(np.float32)
            a = (1 - share) * a + share * self.irregular_excitation(x)
        return a

    def drive(self, images: np.ndarray) -> np.ndarray:
        """Normalised drive ``(B, N)`` (before gain, power and baseline) for images ``(B, P)``
        already scaled to -0.5..0.5, P = 36 * 64 pixels."""
        x = images.astype(np.float32, copy=False)
        a = self.excitation(x)
        mean = x @ self.pools.T  # (B, N) local mean luminance
        mean_sq = (x**2) @ self.pools.T
        contrast = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))  # (B, N) local RMS contrast
        denominator = 1.0 + self.normalization_strength * contrast / self.contrast_reference
        surround = np.flatnonzero(self.surround_strength > 0)
        if surround.size:
            strength = self.surround_strength[surround] / self.surround_reference[surround]
            with torch.no_grad():
                energy = self.surround_energy(as_images(x, self.filters.shape[2:])).numpy()
            denominator[:, surround] += strength * energy
        return np.maximum(a, 0.0) / denominator

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
        return self.from_powered(self.powered_drive(images, batch_size, progress))

    def powered_drive(
        self, images: np.ndarray, batch_size: int = 1024, progress: bool = False
    ) -> np.ndarray:
        """``(B, N)`` float32 normalised drive raised to each neuron's exponent: the mean
        response before gain and baseline; arguments as :meth:`mean_response`."""
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
            out[start : start + batch_size] = self.drive(batch) ** self.exponent
        return out

    def from_powered(self, powered: np.ndarray) -> np.ndarray:
        """``(B, N)`` float32 mean responses from :meth:`powered_drive`'s output."""
        return (self.gain * powered + self.baseline).astype(np.float32)

    def save(self, folder: str | Path) -> None:
        """Write every array attribute as ``{folder}/ground_truth/{name}.npy``, and the
        network's arrays under ``{folder}/ground_truth/network/``."""
        target = Path(folder) / GROUND_TRUTH_DIR
        target.mkdir(parents=True, exist_ok=True)
        for f in fields(self):
            if f.name != "network":
                np.save(target / f"{f.name}.npy", getattr(self, f.name), allow_pickle=False)
        if self.network is not None:
            self.network.save(target / NETWORK_DIR)

    @classmethod
    def load(cls, folder: str | Path) -> GroundTruth:
        """Read the ground truth written beside a simulated data set in ``folder`` (one
        written before the later kinds of neuron existed reads as a population without them)."""
        source = Path(folder) / GROUND_TRUTH_DIR
        if not source.is_dir():
            raise FileNotFoundError(
                f"no ground truth in {source}: is {folder} a simulated data set?"
            )
        arrays = {
            f.name: np.load(source / f"{f.name}.npy")
            for f in fields(cls)
            if (source / f"{f.name}.npy").is_file()
        }
        network = (
            RandomNetwork.load(source / NETWORK_DIR) if (source / NETWORK_DIR).is_dir() else None
        )
        return cls(**arrays, network=network)


def as_images(x: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """Flat images ``(B, P)`` as a ``(B, 1, height, width)`` tensor sharing their memory."""
    return torch.from_numpy(np.ascontiguousarray(x).reshape(len(x), 1, *shape))


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
    rng_kinds: np.random.Generator | None = None,
) -> tuple[GroundTruth, np.ndarray, np.ndarray]:
    """Draw a population of model neurons and their cortical positions.

    Simple and complex cells are drawn from ``rng``; the later kinds (subunit and deep cells,
    surround suppression, :func:`add_later_kinds`) from ``rng_kinds``, so that a configuration
    without them draws exactly the population it drew before they existed. Each neuron's gain
    is set so that its mean noise-free response over ``stimuli`` is a log-normal draw (median
    ``rate_median``, times ``weak_gain`` for weakly responsive neurons); its baseline is
    ``baseline_fraction`` of that mean before the weak factor.

    Args:
        config: the simulation's configuration.
        rng: random generator.
        stimuli: ``(B, 36, 64)`` images in 0..255 the gains are calibrated on.
        progress: show a tqdm progress bar.
        rng_kinds: random generator of the later kinds; needed only if the configuration
            has any.

    Returns:
        The :class:`GroundTruth`, ``(N, 3)`` cortical positions in um, and the ``(B, N)``
        noise-free mean responses to ``stimuli`` (its :meth:`~GroundTruth.mean_response`,
        computed once with the gains).
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
    # Envelope sd across the bars: U(envelope_periods_range) carrier periods, clipped to
    # 1.5..envelope_max_px pixels.
    periods = rng.uniform(*config.envelope_periods_range, size=n)
    size = np.clip(periods / spatial_frequency, 1.5, config.envelope_max_px)
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
    if config.has_later_kinds:
        if rng_kinds is None:
            raise ValueError(
                "this configuration has subunit, deep or surround cells: pass rng_kinds"
            )
        truth = add_later_kinds(truth, config, rng_kinds, stimuli)
    # Calibrate the gains: mean over stimuli of drive ** exponent, in batches.
    powered = truth.powered_drive(stimuli, progress=progress)  # (B, N)
    gain = rate / np.maximum(powered.mean(axis=0, dtype=np.float64), 1e-12)
    gain = np.where(responsive, gain, gain * config.weak_gain)
    truth = replaced(truth, gain=gain, baseline=config.baseline_fraction * rate)
    return truth, positions, truth.from_powered(powered)


def add_later_kinds(
    truth: GroundTruth, config: SimulationConfig, rng: np.random.Generator, stimuli: np.ndarray
) -> GroundTruth:
    """Turn shares of a population of simple and complex cells into subunit and deep cells
    and give a share orientation-tuned surround suppression (see :class:`GroundTruth`).

    A subunit cell keeps its centre, spatial frequency and envelope; its
    ``config.n_subunits`` subunits scatter around the centre (sd ``subunit_scatter`` envelope
    sds), their orientations around its own (sd ``subunit_orientation_sd`` degrees), with random
    phases and Dirichlet(:data:`SUBUNIT_CONCENTRATION`) weights. A deep cell reads a fixed
    random network (drawn here, calibrated on ``stimuli``) through two Gaussian readouts (sd
    ``1 / sqrt(C K)``) of its C channels (or of ``deep_readout_channels`` of them,
    :func:`sparse_readouts`) at K = ``deep_points`` points: its centre and, for
    K > 1, K - 1 points scattered around it (sd ``deep_scatter`` envelope sds), so that its
    drive depends on how the network's features are arranged in its receptive field, not only
    on what they are at one point. A complex cell keeps a share of simple-cell drive,
    uniform over 0..``complex_linearity_max``, and a deep cell a share of its first readout,
    rectified, uniform over 0..``deep_linearity_max``: the network's simple cells, which
    respond to one sign of a feature, as V1's simple cells do to one polarity of an edge
    (Hubel & Wiesel 1962). Surround strengths are
    log-uniform over ``surround_strength_range``, relative to each neuron's mean surround energy
    over ``stimuli`` ``(B, 36, 64)`` (0..255).
    """
    n, k = truth.n_neurons, config.n_subunits
    u = rng.random(n)
    deep = u < config.deep_fraction
    subunit = ~deep & (u < config.deep_fraction + config.subunit_fraction)
    cell_type = np.where(deep, "deep", np.where(subunit, "subunit", truth.cell_type))

    scatter = config.subunit_scatter * truth.size[:, None, None]
    subunit_center = truth.center[:, None] + scatter * rng.normal(size=(n, k, 2))
    jitter = np.radians(config.subunit_orientation_sd) * rng.normal(size=(n, k))
    subunit_orientation = np.mod(truth.orientation[:, None] + jitter, np.pi)
    subunit_phase = rng.uniform(0.0, 2 * np.pi, size=(n, k))
    subunit_weight = np.where(
        subunit[:, None], rng.dirichlet(np.full(k, SUBUNIT_CONCENTRATION), size=n), 0.0
    )

    network = (
        RandomNetwork.draw(
            rng,
            stimuli,
            config.deep_channels,
            config.deep_hidden_channels,
            config.deep_pooling,
            config.deep_whitening,
        )
        if deep.any()
        else None
    )
    c = network.offset.size if network is not None else 0
    k_deep = config.deep_points
    readout_scale = np.sqrt(max(c * k_deep, 1))  # readouts of sd 1 / sqrt(C K)
    deep_weight = rng.normal(size=(n, 2, 1, c)) / readout_scale

    surround = rng.random(n) < config.surround_fraction
    log_range = np.log(config.surround_strength_range)
    surround_strength = np.where(surround, np.exp(rng.uniform(*log_range, size=n)), 0.0)
    deep_center = truth.center[:, None]
    if k_deep > 1:  # drawn last, so that one point draws what the centre alone drew
        scatter = config.deep_scatter * truth.size[:, None, None]
        offsets = scatter * rng.normal(size=(n, k_deep - 1, 2))
        deep_center = np.concatenate([deep_center, truth.center[:, None] + offsets], axis=1)
        extra = rng.normal(size=(n, 2, k_deep - 1, c)) / readout_scale
        deep_weight = np.concatenate([deep_weight, extra], axis=2)
    deep_weight = np.where(deep[:, None, None, None], deep_weight, 0.0).astype(np.float32)
    linearity = (cell_type == "simple").astype(np.float64)
    if config.complex_linearity_max > 0:  # drawn last, as the deep cells' points
        share = rng.uniform(0.0, config.complex_linearity_max, size=n)
        linearity = np.where(cell_type == "complex", share, linearity)
    if config.deep_linearity_max > 0:  # drawn only when asked: without it, the same draws
        share = rng.uniform(0.0, config.deep_linearity_max, size=n)
        linearity = np.where(deep, share, linearity)
    if config.deep_readout_channels is not None:  # drawn only when asked, as the share
        deep_weight = sparse_readouts(deep_weight, config.deep_readout_channels, rng)
    with_kinds = replaced(
        truth,
        cell_type=cell_type,
        linearity=linearity,
        surround_strength=surround_strength,
        subunit_center=subunit_center,
        subunit_orientation=subunit_orientation,
        subunit_phase=subunit_phase,
        subunit_weight=subunit_weight,
        deep_center=deep_center,
        deep_weight=deep_weight,
        network=network,
    )
    x = scaled(stimuli[:1000]).reshape(min(len(stimuli), 1000), -1)
    if surround.any():
        reference = np.ones(n)
        with torch.no_grad():
            energy = with_kinds.surround_energy(as_images(x, IMAGE_SHAPE)).numpy()
        reference[surround] = np.maximum(energy.mean(axis=0), 1e-6)
        with_kinds = replaced(with_kinds, surround_reference=reference)
    if config.deep_gabor_share_max > 0 and deep.any():  # drawn only when asked
        with_kinds = add_gabor_share(with_kinds, config.deep_gabor_share_max, rng, x)
    if config.irregular_share_max > 0:  # drawn last, as the deep cells' points
        with_kinds = add_irregular_subunits(with_kinds, config, rng, x)
    return with_kinds


def add_gabor_share(
    truth: GroundTruth, share_max: float, rng: np.random.Generator, x: np.ndarray
) -> GroundTruth:
    """Give every deep cell a share U(0, ``share_max``) of drive from its even Gabor filter,
    rectified, scaled to the sd of its deep drive over the images ``x`` ``(B, 36 * 64)``
    (scaled to -0.5..0.5), so that the share, not the filter's norm, sets the mix.

    V1 neurons whose selectivity is far from a Gabor keep a classical receptive field, the
    linear part that a spike-triggered average or an LN model recovers (Jones & Palmer 1987;
    Rust, Schwartz, Movshon & Simoncelli 2005, whose complex and simple cells have both
    linear and nonlinear subunits)."""
    deep = np.flatnonzero(truth.cell_type == "deep")
    with torch.no_grad():
        own = truth.deep_excitation(as_images(x, truth.filters.shape[2:])).numpy()
    simple = np.maximum(x @ truth.filters[deep, 0].reshape(deep.size, -1).T, 0.0)
    scale = np.ones(truth.n_neurons)
    scale[deep] = own.std(axis=0, dtype=np.float64) / np.maximum(
        simple.std(axis=0, dtype=np.float64), 1e-12
    )
    share = np.zeros(truth.n_neurons)
    share[deep] = rng.uniform(0.0, share_max, size=deep.size)
    return replaced(truth, gabor_share=share, gabor_scale=scale)


def sparse_readouts(deep_weight: np.ndarray, channels: int, rng: np.random.Generator) -> np.ndarray:
    """Keep ``channels`` of the C channels of each neuron's readouts ``(N, 2, K, C)``, drawn
    at random per neuron (the same for both readouts and all K points), scaled by
    ``sqrt(C / channels)`` so that the drive keeps its variance.

    A readout of all C channels with random weights mostly follows the few directions in
    which the network's features vary most, so that the deep cells together span few features;
    a readout of a few channels makes each deep cell selective for its own combination, and the
    population high-dimensional, as mouse V1's is (Stringer et al., Nature 2019)."""
    n, c = deep_weight.shape[0], deep_weight.shape[-1]
    chosen = np.argsort(rng.random((n, c)), axis=1)[:, :channels]  # (N, channels)
    mask = np.zeros((n, c), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    return (deep_weight * mask[:, None, None, :] * np.sqrt(c / channels)).astype(np.float32)


def add_irregular_subunits(
    truth: GroundTruth, config: SimulationConfig, rng: np.random.Generator, x: np.ndarray
) -> GroundTruth:
    """Give every neuron ``config.irregular_subunits`` irregular subunits and a share
    U(0, ``irregular_share_max``) of its drive from them (see :class:`GroundTruth`).

    The subunits are :func:`~fens.simulate.filters.irregular_filters` at the neuron's centre,
    spatial frequency and envelope size (the geometric mean of its widths across and along the
    bars); their Dirichlet(:data:`SUBUNIT_CONCENTRATION`) weights, positive for the even
    subunits and negative for the odd ones, are scaled so that over the images ``x``
    ``(B, 36 * 64)`` (scaled to -0.5..0.5) their sum has the sd of the neuron's own drive.
    """
    n, j = truth.n_neurons, config.irregular_subunits
    share = rng.uniform(0.0, config.irregular_share_max, size=n)
    sign = np.where(np.arange(j) % 2 == 0, 1.0, -1.0)  # excitatory, suppressive, ...
    weight = rng.dirichlet(np.full(j, SUBUNIT_CONCENTRATION), size=n) * sign
    repeat = np.repeat  # each neuron's parameters, once per subunit
    filters = irregular_filters(
        rng,
        repeat(truth.center, j, axis=0),
        repeat(truth.size / np.sqrt(truth.aspect), j),
        repeat(truth.spatial_frequency, j),
        shape=truth.filters.shape[2:],
    )
    with_filters = replaced(
        truth,
        irregular_filters=filters.reshape(n, j, *truth.filters.shape[2:]).astype(np.float32),
        irregular_weight=weight,
    )
    own = truth.excitation(x).std(axis=0, dtype=np.float64)
    irregular = with_filters.irregular_excitation(x).std(axis=0, dtype=np.float64)
    scale = own / np.maximum(irregular, 1e-12)
    return replaced(with_filters, irregular_share=share, irregular_weight=weight * scale[:, None])


def replaced(truth: GroundTruth, **changes: Any) -> GroundTruth:
    """A copy of ``truth`` with the fields in ``changes`` replaced (its cached arrays, such as
    the filter matrices, are computed again)."""
    return GroundTruth(**{f.name: getattr(truth, f.name) for f in fields(GroundTruth)} | changes)

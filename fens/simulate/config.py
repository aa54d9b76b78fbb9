"""The simulated data set's configuration: one typed dataclass and the named presets."""

from __future__ import annotations

from dataclasses import dataclass, fields

from fens.utility.checks import check_int, check_number


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that shapes a simulated data set, apart from the seed.

    The defaults are the ``full`` preset: the real data's dimensions (Lurz et al., ICLR 2021,
    scan 20457-5-9: 5993 trials, 5335 neurons) and a noise level calibrated so that the noise
    ceiling, the jackknife oracle and a linear model land where they do on the real recording
    (see :mod:`fens.simulate.calibration`).
    """

    # --- trials -----------------------------------------------------------------------------
    n_train: int = 4472  # training trials, each showing a different image
    n_validation: int = 522  # validation trials, each showing a different image
    n_test_images: int = 100  # distinct test images
    n_test_trials: int = 999  # test trials: the test images repeated, ragged (e.g. 10 and 9 times)
    # --- population -------------------------------------------------------------------------
    n_neurons: int = 5335  # recorded neurons
    complex_fraction: float = 0.6  # share of complex cells (energy model); the rest are simple
    complex_linearity_max: float = 0.0  # complex cells keep a share U(0, this) of simple drive
    normalized_fraction: float = 0.6  # share divisively normalised by local contrast energy
    weak_fraction: float = 0.2  # share of weakly responsive neurons (low stimulus gain)
    weak_gain: float = 0.05  # stimulus gain of a weak neuron relative to a responsive one
    exponent_mean: float = 1.5  # mean exponent of the output power nonlinearity
    exponent_sd: float = 0.1  # its spread over neurons (clipped to 1.1..2.0)
    rate_median: float = 0.3  # median over neurons of the mean noise-free response (a.u.)
    rate_log_sd: float = 0.8  # sd over neurons of the log mean response
    baseline_fraction: float = 0.5  # baseline of a neuron, relative to its mean stimulus response
    subunit_fraction: float = 0.0  # share of subunit cells (several Gabor subunits pooled)
    n_subunits: int = 4  # subunits of a subunit cell
    subunit_orientation_sd: float = 30.0  # sd of the subunits' orientations (degrees)
    subunit_scatter: float = 1.0  # sd of the subunits' positions, in envelope sds
    deep_fraction: float = 0.0  # share of deep cells (a fixed random deep network's features)
    deep_channels: int = 16  # channels of that network's last layer, which deep cells read
    deep_hidden_channels: tuple[int, int] = (8, 16)  # channels of its first two layers
    deep_points: int = 1  # points of its receptive field where a deep cell reads the network
    deep_scatter: float = 1.0  # sd of those points around the centre, in envelope sds
    deep_readout_channels: int | None = None  # channels each deep cell reads (None: all);
    # a few make the deep cells selective for different features (see add_later_kinds)
    deep_pooling: float = 1.5  # sd (pixels) of the blur of the network's features before a
    # deep cell reads them (0: none; less blur, more independent features, see RandomNetwork)
    deep_whitening: float = 0.0  # exponent w of the decorrelation Sigma^(-w/2) of the
    # network's channels before deep cells read them (0: none; 1: white, see RandomNetwork)
    deep_gabor_share_max: float = 0.0  # deep cells take a share U(0, this) of their drive
    # from their Gabor filter, rectified: a classical linear receptive field (see GroundTruth)
    deep_linearity_max: float = 0.0  # deep cells keep a share U(0, this) of one rectified
    # readout (the network's analogue of simple-cell drive, see GroundTruth)
    surround_fraction: float = 0.0  # share with orientation-tuned surround suppression
    surround_strength_range: tuple[float, float] = (0.5, 2.0)  # log-uniform, see GroundTruth
    irregular_share_max: float = 0.0  # every neuron's drive takes a share U(0, this) from
    # private irregular subunits (random band-pass textures, see GroundTruth)
    irregular_subunits: int = 2  # irregular subunits per neuron
    spatial_frequency_range: tuple[float, float] = (0.04, 0.15)  # cycles/pixel, log-uniform
    envelope_periods_range: tuple[float, float] = (0.25, 0.5)  # Gabor envelope sd across the
    # bars, in carrier periods (uniform): more periods, more subfields, a larger receptive field
    envelope_max_px: float = 8.0  # largest envelope sd (pixels); the smallest is 1.5
    spectral_tilt: float = 0.0  # the image patches' amplitude spectra times f^this (0: as
    # cut, power falling about as f^-2.7; 0.5: near f^-2, as natural images; tilt_spectrum)
    contrast_reference: float = 0.1  # local RMS contrast (0..1 intensity) where normalisation
    # halves the drive of a neuron with normalisation strength 1
    # --- retinotopy -------------------------------------------------------------------------
    cortex_extent_um: float = 900.0  # side of the square of cortex the neurons lie in (um)
    depth_range_um: tuple[float, float] = (200.0, 400.0)  # depths of the imaging planes (um)
    n_planes: int = 10  # imaging planes, evenly spaced over depth_range_um
    rf_scatter_px: float = 2.0  # sd of receptive-field centres around the retinotopic map (px)
    # --- trial-to-trial variability ---------------------------------------------------------
    gamma_shape: float = 3.0  # shape k of the Gamma noise (its CV is 1/sqrt(k))
    private_gain_sd: float = 0.9  # sd of the log of a private gain per neuron and trial
    shared_gain_sd: float = 0.25  # sd of the log of the gain shared by all neurons in a trial
    running_gain_correlation: float = 0.5  # correlation of that log gain with running speed
    # --- identifiers written to meta/ -------------------------------------------------------
    animal_id: int = 1  # non-zero, like real animal ids
    session: int = 1
    scan_idx: int = 1

    def __post_init__(self) -> None:
        for name in ("n_train", "n_validation", "n_test_images", "n_test_trials", "n_neurons"):
            check_int(name, getattr(self, name))
        check_int("n_planes", self.n_planes)
        if self.n_test_trials < 2 * self.n_test_images:
            raise ValueError(
                f"n_test_trials must allow >= 2 repeats of each of the {self.n_test_images} "
                f"test images, got {self.n_test_trials}"
            )
        for name in (
            "complex_fraction",
            "complex_linearity_max",
            "normalized_fraction",
            "weak_fraction",
            "weak_gain",
            "subunit_fraction",
            "deep_fraction",
            "deep_linearity_max",
            "deep_whitening",
            "deep_gabor_share_max",
            "surround_fraction",
            "irregular_share_max",
        ):
            check_number(name, getattr(self, name), minimum=0, maximum=1)
        if self.subunit_fraction + self.deep_fraction > 1:
            raise ValueError(
                "subunit_fraction + deep_fraction must be at most 1, got "
                f"{self.subunit_fraction} + {self.deep_fraction}"
            )
        check_int("n_subunits", self.n_subunits)
        check_int("deep_channels", self.deep_channels)
        if len(self.deep_hidden_channels) != 2:
            raise ValueError(
                "deep_hidden_channels must be the channels of two layers, got "
                f"{self.deep_hidden_channels!r}"
            )
        for channels in self.deep_hidden_channels:
            check_int("deep_hidden_channels entries", channels)
        check_int("deep_points", self.deep_points)
        check_int("deep_readout_channels", self.deep_readout_channels, optional=True)
        if (self.deep_readout_channels or 0) > self.deep_channels:
            raise ValueError(
                f"deep_readout_channels must be at most deep_channels ({self.deep_channels}), "
                f"got {self.deep_readout_channels}"
            )
        check_int("irregular_subunits", self.irregular_subunits)
        check_number(
            "running_gain_correlation", self.running_gain_correlation, minimum=-1, maximum=1
        )
        for name in (
            "gamma_shape",
            "rate_median",
            "contrast_reference",
            "cortex_extent_um",
            "exponent_mean",
        ):
            check_number(name, getattr(self, name), minimum=0, exclusive_minimum=True)
        for name in (
            "exponent_sd",
            "rate_log_sd",
            "baseline_fraction",
            "rf_scatter_px",
            "subunit_orientation_sd",
            "subunit_scatter",
            "deep_scatter",
            "deep_pooling",
            "private_gain_sd",
            "shared_gain_sd",
            "spectral_tilt",
        ):
            check_number(name, getattr(self, name), minimum=0)
        check_number("envelope_max_px", self.envelope_max_px, minimum=1.5)
        for name in (
            "spatial_frequency_range",
            "envelope_periods_range",
            "depth_range_um",
            "surround_strength_range",
        ):
            low, high = getattr(self, name)
            check_number(f"{name}[0]", low, minimum=0)
            check_number(f"{name}[1]", high, minimum=low)
        for name in ("animal_id", "session", "scan_idx"):
            check_int(name, getattr(self, name), minimum=0)
        if self.animal_id == 0:
            raise ValueError("animal_id must be non-zero (real animal ids are), got 0")

    def __repr__(self) -> str:
        """Only the fields that differ from the ``full`` preset (the defaults)."""
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != f.default
        ]
        return f"SimulationConfig({', '.join(changed)})"

    @property
    def has_later_kinds(self) -> bool:
        """Whether the population has subunit or deep cells, surround suppression, complex
        or deep cells with a linear share or irregular subunits."""
        return (
            max(
                self.subunit_fraction,
                self.deep_fraction,
                self.surround_fraction,
                self.complex_linearity_max,
                self.deep_linearity_max,
                self.irregular_share_max,
            )
            > 0
        )

    @property
    def n_trials(self) -> int:
        """All trials: train, validation and test."""
        return self.n_train + self.n_validation + self.n_test_trials

    def to_dict(self) -> dict:
        """The fields as plain JSON-ready values (tuples become lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, values: dict) -> SimulationConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


PRESETS: dict[str, SimulationConfig] = {
    # Unit tests: a few hundred trials, 150 neurons, 10 test images shown 5 or 6 times.
    "tiny": SimulationConfig(
        n_train=200, n_validation=40, n_test_images=10, n_test_trials=55, n_neurons=150
    ),
    # Course chapters on a CPU: all 5993 trials, 1000 neurons.
    "small": SimulationConfig(n_neurons=1000),
    # The real recording's dimensions.
    "full": SimulationConfig(),
}

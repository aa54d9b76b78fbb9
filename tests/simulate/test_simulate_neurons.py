"""Model neurons: filters, the vectorised mean response, retinotopy."""

import dataclasses

import numpy as np
import pytest

from fens.simulate import PRESETS, GroundTruth
from fens.simulate.neurons import draw_population, gabor


@pytest.fixture(scope="module")
def tiny(tiny_dataset):
    """The session's ``tiny`` data set (seed 0, from tests/conftest.py)."""
    return tiny_dataset


@pytest.fixture(scope="module")
def truth(tiny) -> GroundTruth:
    return GroundTruth.load(tiny)


def reference_response(truth: GroundTruth, n: int, image: np.ndarray) -> float:
    """One neuron's mean response to one image, written out step by step in float64."""
    x = image.astype(np.float64).reshape(36, 64) / 255.0
    filters = truth.filters[n].astype(np.float64)
    even, odd = (filters * x).sum(axis=(1, 2))
    a = np.hypot(even, odd) if truth.cell_type[n] == "complex" else max(even, 0.0)
    rows, cols = np.mgrid[0:36, 0:64]
    cx, cy = truth.center[n]
    w = np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * truth.pool_size[n] ** 2))
    w /= w.sum()
    local_mean = (w * x).sum()
    contrast = np.sqrt((w * (x - local_mean) ** 2).sum())
    drive = a / (1 + truth.normalization_strength[n] * contrast / truth.contrast_reference)
    return truth.gain[n] * drive ** truth.exponent[n] + truth.baseline[n]


def test_mean_response_equals_a_per_neuron_computation(tiny, truth):
    images = np.stack([np.load(tiny / "data" / "images" / f"{i}.npy") for i in range(6)])
    fast = truth.mean_response(images, batch_size=4)  # (6, N), several batches
    assert fast.shape == (6, PRESETS["tiny"].n_neurons)
    np.testing.assert_array_equal(truth.mean_response(images[:, 0]), truth.mean_response(images))
    # Neurons of every kind: simple/complex, normalised or not, weak.
    picks = [
        np.flatnonzero(truth.cell_type == "simple")[0],
        np.flatnonzero(truth.cell_type == "complex")[0],
        np.flatnonzero(truth.normalization_strength > 0)[0],
        np.flatnonzero(truth.normalization_strength == 0)[0],
        np.flatnonzero(~truth.responsive)[0],
    ]
    for n in picks:
        expected = [reference_response(truth, n, image) for image in images]
        np.testing.assert_allclose(fast[:, n], expected, rtol=1e-4, atol=1e-6)


def test_mean_response_rejects_wrong_image_shapes(truth):
    with pytest.raises(ValueError, match=r"\(2, 64, 36\)"):
        truth.mean_response(np.zeros((2, 64, 36)))


def test_gabor_filters_have_the_stated_tuning():
    # One filter, centred on a large canvas so that its spectrum is sharp.
    f, theta = 0.0625, 0.6
    g = gabor(
        center=np.array([[64.0, 64.0]]),
        size=np.array([8.0]),
        aspect=np.array([0.7]),
        orientation=np.array([theta]),
        spatial_frequency=np.array([f]),
        phase=np.array([0.3]),
        shape=(128, 128),
    )[0]
    assert abs(g.sum()) < 1e-9 and np.isclose(np.linalg.norm(g), 1.0)
    spectrum = np.abs(np.fft.fft2(g))
    fy, fx = np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing="ij")
    peak = np.unravel_index(spectrum.argmax(), spectrum.shape)
    peak_f = np.hypot(fx[peak], fy[peak])
    peak_theta = np.arctan2(fy[peak], fx[peak]) % np.pi
    assert abs(peak_f - f) <= 1 / 128
    assert abs(peak_theta - theta) < 0.1


def test_complex_cells_ignore_grating_phase_and_simple_cells_do_not(truth):
    rows, cols = np.mgrid[0:36, 0:64]
    for cell_type, phase_invariant in (("simple", False), ("complex", True)):
        n = np.flatnonzero((truth.cell_type == cell_type) & truth.responsive)[0]
        theta, f = truth.orientation[n], truth.spatial_frequency[n]
        cx, cy = truth.center[n]
        u = (cols - cx) * np.cos(theta) + (rows - cy) * np.sin(theta)
        phases = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        gratings = 127.5 + 100 * np.cos(2 * np.pi * f * u[None] + phases[:, None, None])
        r = truth.mean_response(gratings)[:, n] - truth.baseline[n]
        spread = r.std() / r.mean()
        assert (spread < 0.1) if phase_invariant else (spread > 0.5), (cell_type, spread)


def test_receptive_fields_follow_the_retinotopic_map(tiny, truth):
    positions = np.load(tiny / "meta" / "neurons" / "cell_motor_coordinates.npy")
    predicted = positions[:, :2] @ truth.retinotopy[:, :2].T + truth.retinotopy[:, 2]
    inside = (predicted[:, 0] > 5) & (predicted[:, 0] < 58) & (predicted[:, 1] > 5)
    inside &= predicted[:, 1] < 30
    scatter = truth.center[inside] - predicted[inside]
    assert 1.0 < scatter.std() < 3.0  # rf_scatter_px = 2
    assert (truth.center >= 0).all() and (truth.center[:, 0] <= 63).all()
    assert (truth.center[:, 1] <= 35).all()


def test_population_shares_match_the_configuration(truth):
    config = PRESETS["tiny"]
    n = config.n_neurons
    for share, expected in (
        ((truth.cell_type == "complex").mean(), config.complex_fraction),
        ((truth.normalization_strength > 0).mean(), config.normalized_fraction),
        ((~truth.responsive).mean(), config.weak_fraction),
    ):
        assert abs(share - expected) < 3 * np.sqrt(expected * (1 - expected) / n)
    assert truth.filters.shape == (n, 2, 36, 64) and truth.filters.dtype == np.float32


@pytest.mark.parametrize(("periods", "largest"), [((0.25, 0.5), 8.0), ((0.6, 1.0), 12.0)])
def test_envelopes_span_the_periods_and_sizes_asked_for(periods, largest):
    """Envelope sd = U(periods) carrier periods, clipped to 1.5..envelope_max_px pixels."""
    config = dataclasses.replace(
        PRESETS["tiny"], n_neurons=400, envelope_periods_range=periods, envelope_max_px=largest
    )
    stimuli = np.random.default_rng(1).uniform(0, 255, size=(8, 36, 64))
    truth, _, _ = draw_population(config, np.random.default_rng(0), stimuli)
    assert truth.size.min() >= 1.5 and truth.size.max() <= largest
    assert truth.size.max() > largest - 0.5  # low frequencies reach the largest size
    free = (truth.size > 1.5) & (truth.size < largest)
    cycles = truth.size[free] * truth.spatial_frequency[free]
    assert free.sum() > 100 and periods[0] - 1e-9 <= cycles.min() < periods[0] + 0.05
    assert periods[1] - 0.05 < cycles.max() <= periods[1] + 1e-9

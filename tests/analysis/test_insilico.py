"""Gratings, tuning curves and orientation statistics against hand-computed references."""

import numpy as np
import pytest

from fens.analysis import (
    drifting_grating,
    grating,
    orientation_difference,
    orientation_selectivity_index,
    preferred_orientation,
    tuning_curves,
)
from fens.simulate.neurons import gabor
from tests.analysis.conftest import IMAGE_MEAN, IMAGE_STD


def test_grating_orientation_follows_the_simulators_convention():
    # Orientation 0: the wave vector points along x, so every column is constant.
    vertical_bars = grating(0.0, 0.1)
    assert np.ptp(vertical_bars, axis=0).max() < 1e-9
    assert np.ptp(vertical_bars[0]) > 200
    # pi/2: along y (rows, downward), every row is constant.
    assert np.ptp(grating(np.pi / 2, 0.1), axis=1).max() < 1e-9
    # pi/4: constant along the bars, the direction (1, -1) in (x, y).
    diagonal = grating(np.pi / 4, 0.1)
    np.testing.assert_allclose(diagonal[1:, :-1], diagonal[:-1, 1:], atol=1e-9)
    # The same carrier as fens.simulate's Gabor with the same parameters (a wide envelope).
    g = gabor(
        np.array([[31.5, 17.5]]),
        np.array([40.0]),
        np.array([1.0]),
        np.array([2.0]),
        np.array([0.08]),
        np.array([1.0]),
    )[0]
    assert np.corrcoef(g.ravel(), grating(2.0, 0.08, 1.0).ravel())[0, 1] > 0.97


def test_grating_contrast_mean_and_broadcasting():
    g = grating([0.0, 1.0], 0.125, [[0.0], [np.pi / 2]], contrast=0.5, mean=100.0)
    assert g.shape == (2, 2, 36, 64)
    assert g.max() <= 150.0 + 1e-9 and g.min() >= 50.0 - 1e-9
    assert g[0, 0].mean() == pytest.approx(100.0, abs=1e-6)  # whole periods across the width
    with pytest.raises(ValueError, match="1.5"):
        grating(0.0, 0.1, contrast=1.5)


def test_drifting_grating_moves_along_its_wave_vector():
    frames = drifting_grating(0.0, 1 / 16, n_frames=16, cycles=1.0)
    assert frames.shape == (16, 36, 64)
    # Each frame is the previous one shifted one pixel towards +x.
    np.testing.assert_allclose(frames[1][:, 1:], frames[0][:, :-1], atol=1e-9)
    down = drifting_grating(np.pi / 2, 1 / 8, n_frames=8)
    np.testing.assert_allclose(down[1][1:], down[0][:-1], atol=1e-9)


def test_tuning_curves_peak_at_the_filters_orientation(gabor_model):
    model, _ = gabor_model  # Gabors at 0.3, 1.2 and 2.5 rad, 0.1 cycles/pixel
    step = np.pi / 16
    curves = tuning_curves(
        model,
        orientations=16,
        spatial_frequencies=[0.05, 0.1, 0.2],
        phases=8,
        mean=IMAGE_MEAN,
        contrast=np.sqrt(2) * IMAGE_STD / IMAGE_MEAN,
        device="cpu",
    )
    assert curves.responses.shape == (3, 16, 3)
    np.testing.assert_array_equal(curves.preferred_spatial_frequency(), [0.1, 0.1, 0.1])
    tuning = curves.orientation_tuning()
    assert tuning.shape == (3, 16)
    true = np.array([0.3, 1.2, 2.5])
    for method in ("argmax", "vector"):
        found = preferred_orientation(tuning, curves.orientations, method=method)
        assert np.all(orientation_difference(found, true) <= step / 2 + 1e-9)
    # Averaging over phase: a linear neuron's mean response hardly depends on orientation.
    mean_curves = tuning_curves(
        model,
        orientations=16,
        spatial_frequencies=[0.1],
        reduce="mean",
        neuron_indices=[1],
        mean=IMAGE_MEAN,
        contrast=0.2,
        device="cpu",
    )
    assert mean_curves.responses.shape == (1, 16, 1)
    assert np.ptp(mean_curves.responses) < 0.2 * np.ptp(tuning[1])


def test_preferred_orientation_of_a_von_mises_curve_is_exact():
    theta = np.arange(12) * np.pi / 12
    preferred = np.array([0.1, 1.3, 3.0])
    curves = np.exp(2 * np.cos(2 * (theta[None] - preferred[:, None])))  # (3, 12)
    np.testing.assert_allclose(preferred_orientation(curves, theta), preferred, atol=1e-9)
    np.testing.assert_allclose(
        preferred_orientation(curves, theta, method="argmax"), theta[[0, 5, 11]]
    )


def test_orientation_selectivity_indices_against_hand_computed_values():
    theta = np.arange(8) * np.pi / 8
    cosine = 1 + np.cos(2 * (theta - theta[2]))  # 1 - CV = (n/2) / n; pref 2, orth 0
    flat = np.ones(8)
    assert orientation_selectivity_index(cosine, theta) == pytest.approx(0.5)
    assert orientation_selectivity_index(flat, theta) == pytest.approx(0.0, abs=1e-12)
    assert orientation_selectivity_index(cosine, theta, "pref_orth") == pytest.approx(1.0)
    shifted = cosine + 2  # pref 4, orth 2
    assert orientation_selectivity_index(shifted, theta, "pref_orth") == pytest.approx(1 / 3)
    batch = orientation_selectivity_index(np.stack([[cosine, flat]] * 3), theta, "pref_orth")
    np.testing.assert_allclose(batch, [[1.0, 0.0]] * 3)
    with pytest.raises(ValueError, match="pref_orth"):
        orientation_selectivity_index(cosine, theta, "ratio")


def test_orientation_difference_is_circular_modulo_180_degrees():
    np.testing.assert_allclose(
        orientation_difference([0.0, 0.1, 3.0, np.pi / 2], [np.pi - 0.1, 0.3, 0.1, 0.0]),
        [0.1, 0.2, np.pi - 2.9, np.pi / 2],
    )

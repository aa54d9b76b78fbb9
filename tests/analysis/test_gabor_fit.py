"""fit_gabor recovers the parameters of known Gabors."""

import numpy as np
import pytest

from fens.analysis import fit_gabor
from fens.analysis.insilico import orientation_difference
from fens.simulate.neurons import gabor


@pytest.mark.parametrize(
    ("center", "size", "aspect", "orientation", "frequency", "phase"),
    [
        ((20.3, 14.8), 4.0, 0.7, 0.4, 0.1, 1.0),
        ((40.0, 22.5), 6.0, 0.9, 2.6, 0.065, 4.5),
    ],
)
def test_fit_gabor_recovers_known_parameters(center, size, aspect, orientation, frequency, phase):
    g = gabor(
        np.array([center]),
        np.array([size]),
        np.array([aspect]),
        np.array([orientation]),
        np.array([frequency]),
        np.array([phase]),
    )[0]
    noise = np.random.default_rng(0).normal(0, 0.002, g.shape)
    image = 80.0 + 5.0 * g + noise
    fit = fit_gabor(image)
    np.testing.assert_allclose(fit.center, center, atol=0.2)
    assert fit.size == pytest.approx(size, rel=0.05)
    assert fit.aspect == pytest.approx(aspect, rel=0.05)
    assert orientation_difference(fit.orientation, orientation) < np.radians(1)
    assert fit.spatial_frequency == pytest.approx(frequency, rel=0.02)
    assert abs(np.angle(np.exp(1j * (fit.phase - phase)))) < 0.05
    assert fit.amplitude == pytest.approx(5.0, rel=0.02)
    assert fit.offset == pytest.approx(80.0, abs=0.01)
    assert fit.r2 > 0.98
    np.testing.assert_allclose(fit.image(image.shape), image, atol=0.05)


def test_fit_gabor_refuses_a_constant_image():
    with pytest.raises(ValueError, match="constant"):
        fit_gabor(np.ones((36, 64)))

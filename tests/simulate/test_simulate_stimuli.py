"""The stimuli's spectral tilt: each frequency scaled by its power law, contrast kept, the
data set remembering it for the calibration's fresh patches."""

import re
from dataclasses import replace

import numpy as np
import pytest

from fens.simulate import PRESETS, SimulationConfig, simulate
from fens.simulate.calibration import load_tier
from fens.simulate.stimuli import cut_patches, spectrum_exponent, tilt_spectrum
from fens.simulate.writer import simulated_config


def cosine_amplitudes(image: np.ndarray, waves: list[np.ndarray]) -> np.ndarray:
    """Least-squares amplitudes of ``waves`` (and a constant) in ``image``."""
    design = np.column_stack([np.ones(image.size)] + [w.ravel() for w in waves])
    return np.linalg.lstsq(design, image.ravel(), rcond=None)[0][1:]


def test_tilt_scales_each_frequency_by_its_power_law():
    # Two cosines that are whole waves of the mirrored image (cosine-transform bases), at
    # 3/128 and 12/128 cycles/pixel: a tilt e multiplies their amplitude ratio by 4 ** e.
    x = np.mgrid[0:36, 0:64][1] + 0.5
    low, high = np.cos(np.pi * 3 * x / 64), np.cos(np.pi * 12 * x / 64)
    image = 128 + 30 * low + 30 * high
    for exponent in (0.25, 0.5, 1.0):
        a_low, a_high = cosine_amplitudes(tilt_spectrum(image, exponent), [low, high])
        assert a_high / a_low == pytest.approx(4**exponent, rel=0.02)


def test_tilt_keeps_mean_and_contrast_and_flattens_the_spectrum():
    as_cut = cut_patches(40, np.random.default_rng(3)).images
    tilted = cut_patches(40, np.random.default_rng(3), spectral_tilt=0.5).images
    assert tilted.dtype == np.float32 and tilted.min() >= 0 and tilted.max() <= 255
    np.testing.assert_array_equal(tilted, np.round(tilted))
    unclipped = ((tilted > 0) & (tilted < 255)).all(axis=(1, 2))
    assert unclipped.sum() >= 8
    np.testing.assert_allclose(
        tilted.mean(axis=(1, 2))[unclipped], as_cut.mean(axis=(1, 2))[unclipped], atol=0.5
    )
    np.testing.assert_allclose(
        tilted.std(axis=(1, 2))[unclipped], as_cut.std(axis=(1, 2))[unclipped], rtol=0.01
    )
    # Clipping at 0 and 255 takes a little contrast from the others.
    np.testing.assert_allclose(tilted.std(axis=(1, 2)), as_cut.std(axis=(1, 2)), rtol=0.1)

    def fine_share(images):  # power above 0.25 cycles/pixel over power below 0.06
        f = np.hypot(np.fft.fftfreq(36)[:, None], np.fft.fftfreq(64)[None, :])
        centred = images - images.mean(axis=(1, 2), keepdims=True)
        power = (np.abs(np.fft.fft2(centred)) ** 2).mean(axis=0)
        return power[f > 0.25].mean() / power[(f > 0) & (f < 0.06)].mean()

    assert fine_share(tilted) > 3 * fine_share(as_cut)


def test_no_tilt_cuts_the_same_patches():
    default = cut_patches(5, np.random.default_rng(1)).images
    untilted = cut_patches(5, np.random.default_rng(1), spectral_tilt=0.0).images
    np.testing.assert_array_equal(default, untilted)


def test_a_negative_tilt_is_refused():
    with pytest.raises(ValueError, match=re.escape("spectral_tilt must be a number >= 0, got -1")):
        SimulationConfig(spectral_tilt=-1)
    with pytest.raises(ValueError, match=re.escape("spectral_tilt must be a number >= 0")):
        cut_patches(1, np.random.default_rng(0), spectral_tilt=-0.5)


def test_a_data_set_remembers_its_configuration(tiny_dataset, tmp_path):
    assert simulated_config(tiny_dataset).n_neurons == 150
    assert simulated_config(tiny_dataset).spectral_tilt == 0.0
    with pytest.raises(FileNotFoundError, match="is not a simulated data set"):
        simulated_config(tmp_path)


@pytest.mark.parametrize("exponent", [-1.5, -2.0, -3.0])
def test_spectrum_exponent_recovers_a_power_law(exponent):
    # Noise with power f ** exponent on a large grid, cut into 36 x 64 pieces (whose edges,
    # like a photograph's patches, do not wrap around).
    rng = np.random.default_rng(0)
    f = np.hypot(np.fft.fftfreq(360)[:, None], np.fft.fftfreq(640)[None, :])
    f[0, 0] = 1.0
    amplitude = f ** (exponent / 2) * np.exp(2j * np.pi * rng.random(f.shape))
    field = np.fft.ifft2(amplitude).real
    pieces = field.reshape(10, 36, 10, 64).transpose(0, 2, 1, 3).reshape(100, 36, 64)
    assert spectrum_exponent(pieces) == pytest.approx(exponent, abs=0.15)


def test_spectrum_exponent_refuses_a_single_image():
    with pytest.raises(ValueError, match=re.escape("got (36, 64)")):
        spectrum_exponent(np.zeros((36, 64)))


def test_a_tilted_data_set_shows_the_tilted_images(tiny_dataset, tmp_path):
    config = replace(PRESETS["tiny"], n_neurons=5, spectral_tilt=0.5)  # tiny's images, tilted
    tilted = simulate(tmp_path / "tilted", config, progress=False)
    assert simulated_config(tilted).spectral_tilt == 0.5
    before, after = (
        spectrum_exponent(load_tier(folder, "train", keys=("images",))["images"][:, 0])
        for folder in (tiny_dataset, tilted)
    )
    assert after - before == pytest.approx(0.8, abs=0.2)  # the tilt's 1.0 less the clipping

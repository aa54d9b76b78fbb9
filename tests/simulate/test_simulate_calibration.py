"""Calibration measures: noise ceiling, jackknife oracle, ridge proxies, linear ceiling."""

import dataclasses
import functools

import numpy as np
import pytest
import scipy.linalg
import torch

from fens.simulate import PRESETS, SimulationConfig, simulate
from fens.simulate.calibration import (
    calibration_summary,
    feature_proxy,
    jackknife_oracle,
    linear_ceiling,
    linear_fit_to_truth,
    load_tier,
    network_dimensionality,
    noise_ceiling,
    participation_ratio,
    ridge_predictions,
    ridge_proxy,
)
from fens.simulate.neurons import GroundTruth
from fens.simulate.random_network import RandomNetwork, scaled
from fens.simulate.stimuli import cut_patches


@pytest.fixture(scope="module")
def tiny(tiny_dataset):
    """The session's ``tiny`` data set (seed 0, from tests/conftest.py)."""
    return tiny_dataset


def test_noise_ceiling_exceeds_the_jackknife_oracle_on_average(tiny):
    ceiling, oracle = noise_ceiling(tiny), jackknife_oracle(tiny)
    assert ceiling.shape == oracle.shape == (PRESETS["tiny"].n_neurons,)
    assert ceiling.mean() > oracle.mean() > 0.1


def test_jackknife_oracle_groups_the_repeats_by_image(tiny):
    test = load_tier(tiny, "test", keys=("responses",))
    r, ids = test["responses"].astype(np.float64), test["frame_image_id"]
    # Leave-one-out mean of the other repeats, trial by trial.
    loo = np.stack(
        [r[(ids == ids[t]) & (np.arange(len(r)) != t)].mean(axis=0) for t in range(len(r))]
    )
    expected = [np.corrcoef(r[:, n], loo[:, n])[0, 1] for n in range(r.shape[1])]
    np.testing.assert_allclose(jackknife_oracle(tiny), expected, atol=1e-6)


def quiet(**changes) -> SimulationConfig:
    """60 responsive, unnormalised neurons without trial-to-trial noise."""
    noise_free = dict(gamma_shape=1e6, private_gain_sd=0.0, shared_gain_sd=0.0)
    neurons = dict(n_neurons=60, weak_fraction=0.0, normalized_fraction=0.0)
    return SimulationConfig(**noise_free | neurons | changes)


def test_without_noise_the_ceiling_is_one_and_ridge_predicts_simple_cells_best(tmp_path):
    trials = dict(n_train=300, n_validation=60, n_test_images=20, n_test_trials=40)
    config = quiet(complex_fraction=0.5, **trials)
    folder = simulate(tmp_path / "quiet", config, seed=0, progress=False)
    np.testing.assert_allclose(noise_ceiling(folder), 1.0, atol=1e-2)
    ridge = ridge_proxy(folder)
    complex_cell = np.load(folder / "ground_truth" / "cell_type.npy") == "complex"
    assert ridge[~complex_cell].mean() > 0.4 > 0.15 > ridge[complex_cell].mean()


def test_summary_reports_the_means(tiny):
    summary = calibration_summary(tiny)
    assert summary["noise_ceiling"] == pytest.approx(noise_ceiling(tiny).mean())
    assert summary["ridge_fraction_of_oracle"] == pytest.approx(
        summary["ridge_proxy"] / summary["jackknife_oracle"]
    )


@pytest.fixture(scope="module")
def quiet_kinds(tmp_path_factory):
    """Noise-free responses of complex and deep cells, enough trials for a ridge fit."""
    trials = dict(n_train=600, n_validation=100, n_test_images=30, n_test_trials=60)
    config = quiet(complex_fraction=1.0, deep_fraction=0.5, **trials)
    return simulate(tmp_path_factory.mktemp("quiet") / "kinds", config, seed=0, progress=False)


def test_feature_proxies_predict_each_kind_from_its_own_features(quiet_kinds):
    """Complex cells are energies of Gabor pairs: the Gabor bank's energies predict them and
    pixels do not; deep cells read the random network: its features predict them better
    than the Gabor bank does; a linear Gabor core does no better than pixels on either."""
    kinds = np.load(quiet_kinds / "ground_truth" / "cell_type.npy")
    complex_, deep = kinds == "complex", kinds == "deep"
    pixels = ridge_proxy(quiet_kinds)
    linear = feature_proxy(quiet_kinds, ("gabor_linear",))
    gabor = feature_proxy(quiet_kinds, ("gabor",))
    both = feature_proxy(quiet_kinds, ("gabor", "network"))
    assert (
        gabor[complex_].mean() > 0.6 > 0.3 > max(pixels[complex_].mean(), linear[complex_].mean())
    )
    assert both[deep].mean() > gabor[deep].mean() + 0.1
    assert both[complex_].mean() > gabor[complex_].mean() - 0.05


def test_feature_proxy_names_its_feature_sets(tiny):
    with pytest.raises(
        ValueError,
        match=r"features must name some of \['gabor', 'gabor_linear', 'network'\], got \('pixels',\)",
    ):
        feature_proxy(tiny, ("pixels",))


def closed_form_ridge(x, y, x_eval, penalty):
    """Ridge with an unpenalised intercept, solved with the normal equations."""
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + penalty * np.eye(x.shape[1]), xc.T @ (y - ym))
    return (x_eval - xm) @ w + ym


def test_ridge_predictions_take_each_columns_best_penalty_of_the_closed_form():
    """Features of decaying variance and two targets: one a noise-free function of all of
    them (little penalty is best), one a noisy function of the three largest (much penalty is
    best, keeping mostly those); each column equals the normal equations' solution at the
    penalty that predicted it best on the selection rows."""
    rng = np.random.default_rng(0)
    scales = 1.0 / np.arange(1, 41)
    x = rng.normal(size=(300, 40)) * scales
    x -= x[:200].mean(axis=0)  # centred on the fit rows, as a standardised design is
    sharp = x @ (rng.normal(size=40) / scales)
    broad = x[:, :3].sum(axis=1) / scales[:3].mean()
    y = np.stack([sharp, broad + 3 * broad.std() * rng.normal(size=300)]).T + 3.0
    fit, select, evaluate = slice(0, 200), slice(200, 260), slice(260, 300)
    alphas = np.array([1e-6, 1.0])
    top = np.linalg.svd(x[fit], compute_uv=False)[0] ** 2
    got = ridge_predictions(x[fit], y[fit], x[select], y[select], x[evaluate], alphas)
    for column, expected_alpha in ((0, 1e-6), (1, 1.0)):
        scores = [
            np.corrcoef(closed_form_ridge(x[fit], y[fit, column], x[select], a * top),
                        y[select, column])[0, 1]
            for a in alphas
        ]  # fmt: skip
        assert alphas[int(np.argmax(scores))] == expected_alpha
        expected = closed_form_ridge(x[fit], y[fit, column], x[evaluate], expected_alpha * top)
        np.testing.assert_allclose(got[:, column], expected, rtol=1e-6, atol=1e-8)


def test_the_linear_ceiling_follows_simple_cells_and_not_complex_ones(tmp_path):
    """A simple cell is a rectified Gabor raised to a power: mostly linear; a complex cell the
    energy of a quadrature pair: hardly at all. The ceiling is the fit times the noise
    ceiling, and a ridge fitted to noisy trials stays below it."""
    config = dataclasses.replace(PRESETS["tiny"], complex_fraction=0.5, weak_fraction=0.0)
    folder = simulate(tmp_path / "data", config, seed=0, progress=False)
    truth = GroundTruth.load(folder)
    fit = linear_fit_to_truth(truth, n_patches=2000)
    complex_cell = truth.cell_type == "complex"
    assert fit[~complex_cell].mean() > 0.6 > 0.3 > fit[complex_cell].mean()
    ceiling = linear_ceiling(folder, n_patches=2000)
    np.testing.assert_allclose(ceiling, fit * noise_ceiling(folder), rtol=1e-12)
    assert ridge_proxy(folder).mean() < ceiling.mean()


def test_the_participation_ratio_counts_the_directions_that_hold_the_variance():
    """Channels mixed by a random rotation with variances 4, 4, 1, 1: (sum)^2 / sum of squares
    = 100 / 34; one channel copied into three: 1."""
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    z = rng.normal(size=(200_000, 4)) * np.sqrt([4.0, 4.0, 1.0, 1.0])
    features = (z @ rotation.T).reshape(2000, 10, 10, 4).transpose(0, 3, 1, 2)
    assert participation_ratio(features) == pytest.approx(100 / 34, rel=0.02)
    copied = np.repeat(features[:, :1], 3, axis=1)
    assert participation_ratio(copied) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"features must be \(B, C, H, W\).*got \(5, 4\)"):
        participation_ratio(np.zeros((5, 4)))


def test_less_pooling_gives_deep_cells_more_independent_features(tiny, tmp_path):
    """The blur before the readout averages the rectified outputs into their shared local
    energy: the same network unblurred has more effective dimensions."""
    config = dataclasses.replace(PRESETS["tiny"], deep_fraction=0.5, n_neurons=20)
    pooled = GroundTruth.load(simulate(tmp_path / "pooled", config, seed=0, progress=False))
    sharp = dataclasses.replace(config, deep_pooling=0.0)
    unpooled = GroundTruth.load(simulate(tmp_path / "sharp", sharp, seed=0, progress=False))
    for a, b in zip(pooled.network.weights, unpooled.network.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert network_dimensionality(unpooled, 100) > 1.5 * network_dimensionality(pooled, 100)
    assert network_dimensionality(GroundTruth.load(tiny)) == 0.0  # no deep cells


@pytest.mark.parametrize("whitening", [0.5, 1.0])
def test_the_decorrelation_spreads_the_features_variance_over_more_directions(whitening):
    """``Sigma^(-w / 2)`` of the features' covariance (SciPy's fractional matrix power), scaled
    to keep their summed variance: white features (w = 1) have a participation ratio of C on
    the stimuli the network was drawn for, half-whitened ones fall between."""
    stimuli = cut_patches(60, np.random.default_rng(4)).images
    draw = functools.partial(RandomNetwork.draw, stimuli=stimuli, channels=8, pooling=1.5)
    plain = draw(np.random.default_rng(5))
    white = draw(np.random.default_rng(5), whitening=whitening)
    x = torch.from_numpy(scaled(stimuli))
    with torch.no_grad():
        raw, decorrelated = plain.features(x).double(), white.features(x).double()
    flat = raw.permute(0, 2, 3, 1).reshape(-1, 8).numpy()
    covariance = np.cov(flat, rowvar=False)
    expected = scipy.linalg.fractional_matrix_power(covariance, -whitening / 2).real
    expected *= np.sqrt(np.trace(covariance) / np.trace(expected @ covariance @ expected))
    np.testing.assert_allclose(white.decorrelation, expected, rtol=1e-3, atol=1e-4)
    variance = decorrelated.var(dim=(0, 2, 3)).sum()
    assert float(variance) == pytest.approx(float(raw.var(dim=(0, 2, 3)).sum()), rel=1e-3)
    before, after = participation_ratio(raw), participation_ratio(decorrelated)
    if whitening == 1.0:
        assert after == pytest.approx(8.0, rel=1e-3)
    else:
        assert before + 0.5 < after < 7.9

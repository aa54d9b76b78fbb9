"""The later kinds of neuron: subunit cells, deep cells (a fixed random network's features),
orientation-tuned surround suppression and irregular subunits; each checked against a
per-neuron computation written out with SciPy, and the ground truth as a PyTorch model against
the NumPy one."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch
from scipy import ndimage, signal

from fens.simulate import PRESETS, GroundTruth, SimulationConfig, gabor_bank, simulate
from fens.simulate.filters import irregular_filters
from fens.simulate.neurons import (
    SURROUND_RADIUS,
    add_gabor_share,
    draw_population,
    gabor,
    replaced,
)
from fens.simulate.random_network import READOUT_POOLING, RandomNetwork, gaussian_kernel
from fens.simulate.true_model import TrueModel

#: sha256 (first 16 hex digits) of the tiny preset's population, seed 0, as fens drew it before
#: the later kinds of neuron existed: cell types, responsiveness, orientations and centres,
#: rounded so that the pin is that of the random draws, not of one machine's float rounding.
PINNED_TINY_POPULATION = "135074ae03b34753"


def population_digest(truth: GroundTruth) -> str:
    """The digest :data:`PINNED_TINY_POPULATION` pins."""
    drawn = [
        truth.cell_type.tolist(),
        truth.responsive.astype(int).tolist(),
        np.round(truth.orientation, 9).tolist(),
        np.round(truth.center, 6).tolist(),
    ]
    return hashlib.sha256(json.dumps(drawn).encode()).hexdigest()[:16]


KINDS = dataclasses.replace(
    PRESETS["tiny"],
    subunit_fraction=0.3,
    deep_fraction=0.3,
    deep_points=3,
    deep_scatter=1.5,
    deep_hidden_channels=(6, 12),
    surround_fraction=0.5,
    complex_linearity_max=0.6,
    deep_linearity_max=0.8,
    deep_pooling=0.8,
    deep_whitening=0.5,
    deep_gabor_share_max=0.7,
    deep_readout_channels=5,
    irregular_share_max=0.5,
)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("kinds") / "tiny", KINDS, seed=1, progress=False)


@pytest.fixture(scope="module")
def truth(kinds) -> GroundTruth:
    return GroundTruth.load(kinds)


@pytest.fixture(scope="module")
def images(kinds) -> np.ndarray:
    return np.stack([np.load(kinds / "data" / "images" / f"{i}.npy") for i in range(4)])


def network_features(
    network: RandomNetwork, image: np.ndarray, pooling: float = KINDS.deep_pooling
) -> np.ndarray:
    """The random network's features ``(C, H, W)`` of one image, layer by layer in float64,
    blurred by a Gaussian of sd ``pooling`` (none for 0), centred and decorrelated by the
    network's own matrix if it has one."""
    x = image.reshape(1, 36, 64).astype(np.float64) / 255.0 - 0.5
    for w, scale in zip(network.weights, network.scales, strict=True):
        x = np.stack(
            [
                sum(signal.correlate2d(x[i], w[c, i], mode="same") for i in range(len(x)))
                for c in range(len(w))
            ]
        )
        x = np.maximum(x, 0.0) / scale[:, None, None]
    if pooling > 0:
        g = gaussian_kernel(pooling)
        x = np.stack([signal.correlate2d(channel, g, mode="same") for channel in x])
    x = x - network.offset[:, None, None]
    if network.decorrelation is None:
        return x
    return np.tensordot(network.decorrelation.astype(np.float64), x, axes=1)


def excitation(truth: GroundTruth, n: int, image: np.ndarray) -> float:
    """Neuron ``n``'s drive before normalisation, from its parameters: its own kind's, mixed
    with its irregular subunits'."""
    x = image.astype(np.float64).reshape(36, 64) / 255.0 - 0.5
    q = np.abs((truth.irregular_filters[n].astype(np.float64) * x).sum(axis=(1, 2)))
    irregular = (truth.irregular_weight[n] * q).sum()
    share = truth.irregular_share[n]
    return (1 - share) * own_excitation(truth, n, x) + share * irregular


def own_excitation(truth: GroundTruth, n: int, x: np.ndarray) -> float:
    """Neuron ``n``'s drive from its own kind, for an image ``(36, 64)`` scaled to -0.5..0.5."""
    if truth.cell_type[n] == "subunit":
        k = truth.subunit_weight.shape[1]
        filters = gabor(
            truth.subunit_center[n],
            np.full(k, truth.size[n]),
            np.full(k, truth.aspect[n]),
            truth.subunit_orientation[n],
            np.full(k, truth.spatial_frequency[n]),
            truth.subunit_phase[n],
        )
        outputs = np.maximum((filters * x).sum(axis=(1, 2)), 0.0)
        return float(np.sqrt((truth.subunit_weight[n] * outputs**2).sum()))
    if truth.cell_type[n] == "deep":
        phi = network_features(truth.network, (x + 0.5) * 255.0)
        pair = np.zeros(2)
        for (cx, cy), w in zip(
            truth.deep_center[n], truth.deep_weight[n].transpose(1, 0, 2), strict=True
        ):
            at = ndimage.map_coordinates(
                phi,
                [np.arange(len(phi)), [cy] * len(phi), [cx] * len(phi)],
                order=1,
                mode="grid-constant",
            )
            pair += w @ at
        share = truth.linearity[n]
        deep = share * max(pair[0], 0.0) + (1 - share) * np.linalg.norm(pair)
        even = (truth.filters[n, 0].astype(np.float64) * x).sum()
        mix = truth.gabor_share[n]
        return float((1 - mix) * deep + mix * truth.gabor_scale[n] * max(even, 0.0))
    even, odd = (truth.filters[n].astype(np.float64) * x).sum(axis=(1, 2))
    share = truth.linearity[n]  # 1 for a simple cell
    return float(share * max(even, 0.0) + (1 - share) * np.hypot(even, odd))


def surround_energy(truth: GroundTruth, n: int, image: np.ndarray) -> float:
    """Neuron ``n``'s surround energy: the bank's energies correlated with SciPy, read at its
    flanks and ends, weighted towards its orientation and frequency."""
    x = image.astype(np.float64).reshape(36, 64) / 255.0 - 0.5
    even, odd = (
        np.stack([signal.correlate2d(x, k, mode="same") for k in kernels])
        for kernels in gabor_bank.kernels()
    )
    energy = np.hypot(even, odd)  # (C, H, W)
    theta, size = truth.orientation[n], truth.size[n]
    across = SURROUND_RADIUS * size * np.array([np.cos(theta), np.sin(theta)])
    along = SURROUND_RADIUS * size / truth.aspect[n] * np.array([-np.sin(theta), np.cos(theta)])
    points = truth.center[n] + np.stack([across, -across, along, -along])  # (4, 2) x, y
    at = [
        ndimage.map_coordinates(
            channel, [points[:, 1], points[:, 0]], order=1, mode="grid-constant"
        )
        for channel in energy
    ]
    weights = gabor_bank.tuned_weights(
        truth.orientation[n : n + 1], truth.spatial_frequency[n : n + 1]
    )[0]
    return float(weights @ np.mean(at, axis=1))


def reference_response(truth: GroundTruth, n: int, image: np.ndarray) -> float:
    """One neuron's mean response to one image, step by step in float64."""
    x = image.astype(np.float64).reshape(36, 64) / 255.0
    rows, cols = np.mgrid[0:36, 0:64]
    cx, cy = truth.center[n]
    w = np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * truth.pool_size[n] ** 2))
    w /= w.sum()
    contrast = np.sqrt((w * (x - (w * x).sum()) ** 2).sum())
    denominator = 1 + truth.normalization_strength[n] * contrast / truth.contrast_reference
    if truth.surround_strength[n] > 0:
        e = surround_energy(truth, n, image)
        denominator += truth.surround_strength[n] * e / truth.surround_reference[n]
    drive = max(excitation(truth, n, image), 0.0) / denominator
    return truth.gain[n] * drive ** truth.exponent[n] + truth.baseline[n]


@pytest.mark.parametrize(("pooling", "whitening"), [(0.0, 0.0), (1.5, 0.0), (1.5, 1.0)])
def test_the_network_features_are_its_layers_pooled_as_asked(images, pooling, whitening):
    """Unpooled (0) and pooled by the default, decorrelated or not: the features, offset
    included, equal a layer by layer float64 computation blurred by the network's own pooling
    and multiplied by its decorrelation."""
    stimuli = np.random.default_rng(3).uniform(0, 255, size=(64, 36, 64))
    network = RandomNetwork.draw(np.random.default_rng(2), stimuli, 6, (3, 4), pooling, whitening)
    assert network.pooling == pooling
    assert (network.decorrelation is None) == (whitening == 0)
    features = network.features(torch.from_numpy(images[:1].astype(np.float32) / 255 - 0.5))
    expected = network_features(network, images[0], pooling)
    np.testing.assert_allclose(features[0].numpy(), expected, rtol=1e-4, atol=1e-4)


def test_the_population_has_every_kind_in_its_shares(truth):
    n = KINDS.n_neurons
    for kind, share in (("subunit", 0.3), ("deep", 0.3)):
        assert abs((truth.cell_type == kind).mean() - share) < 3 * np.sqrt(share / n)
    assert abs((truth.surround_strength > 0).mean() - 0.5) < 3 * np.sqrt(0.25 / n)
    subunit = truth.cell_type == "subunit"
    np.testing.assert_allclose(truth.subunit_weight[subunit].sum(axis=1), 1.0)
    assert not truth.subunit_weight[~subunit].any()
    assert not truth.deep_weight[truth.cell_type != "deep"].any()
    # Each deep cell reads 5 of the 16 channels, the same 5 in both readouts at every point.
    read = truth.deep_weight[truth.cell_type == "deep"] != 0  # (D, 2, K, C)
    assert (read.sum(axis=-1) == 5).all() and (read == read[:, :1, :1]).all()
    assert len({tuple(np.flatnonzero(r[0, 0])) for r in read}) > 10  # chosen per neuron
    # Scaled by sqrt(16 / 5) from sd 1 / sqrt(16 * 3): the drive keeps its variance.
    kept = truth.deep_weight[truth.cell_type == "deep"][read]
    assert kept.std() == pytest.approx(1 / np.sqrt(5 * KINDS.deep_points), rel=0.1)
    shapes = [w.shape[:2] for w in truth.network.weights]
    assert shapes == [(6, 1), (12, 6), (KINDS.deep_channels, 12)]
    linearity = truth.linearity[truth.cell_type == "complex"]
    assert 0 <= linearity.min() and linearity.max() <= 0.6 and linearity.std() > 0.1
    assert (truth.linearity[truth.cell_type == "simple"] == 1).all()
    gabor_share = truth.gabor_share[truth.cell_type == "deep"]
    assert 0 <= gabor_share.min() and gabor_share.max() <= 0.7 and gabor_share.std() > 0.1
    assert not truth.gabor_share[truth.cell_type != "deep"].any()
    assert (truth.gabor_scale[truth.cell_type != "deep"] == 1).all()
    deep_linearity = truth.linearity[truth.cell_type == "deep"]
    assert 0 <= deep_linearity.min() and deep_linearity.max() <= 0.8
    assert deep_linearity.std() > 0.1
    assert (truth.linearity[truth.cell_type == "subunit"] == 0).all()
    assert "subunit=" in repr(truth) and "deep=" in repr(truth) and "surround=" in repr(truth)
    share = truth.irregular_share
    assert 0 <= share.min() and share.max() <= 0.5 and share.std() > 0.1
    filters = truth.irregular_filters.astype(np.float64)  # (N, 2, 36, 64)
    assert filters.shape == (n, KINDS.irregular_subunits, 36, 64)
    np.testing.assert_allclose(filters.sum(axis=(2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(filters, axis=(2, 3)), 1.0, rtol=1e-5)
    assert (truth.irregular_weight[:, 0::2] > 0).all() and (
        truth.irregular_weight[:, 1::2] < 0
    ).all()


def test_irregular_subunits_are_band_pass_textures_without_orientation():
    """Their power lies around the neuron's spatial frequency, equally at every orientation,
    under an envelope of the neuron's size around its centre."""
    count, frequency, size = 400, 0.1, 6.0
    filters = irregular_filters(
        np.random.default_rng(0),
        np.tile([31.5, 17.5], (count, 1)),
        np.full(count, size),
        np.full(count, frequency),
    )
    power = (np.abs(np.fft.fft2(filters, s=(128, 128))) ** 2).mean(axis=0)
    fy, fx = np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing="ij")
    radius = np.hypot(fx, fy)
    rings = [power[(radius >= r) & (radius < r + 0.02)].mean() for r in np.arange(0, 0.4, 0.02)]
    assert 0.06 <= 0.02 * np.argmax(rings) + 0.01 <= 0.14
    band = (radius > 0.06) & (radius < 0.14)
    horizontal = power[band & (np.abs(fy) < np.abs(fx) / 2)].mean()
    vertical = power[band & (np.abs(fx) < np.abs(fy) / 2)].mean()
    assert 0.8 < horizontal / vertical < 1.25
    rows, cols = np.mgrid[0:36, 0:64]
    energy = (filters**2).mean(axis=0)
    spread = np.sqrt((energy * ((cols - 31.5) ** 2 + (rows - 17.5) ** 2)).sum() / energy.sum())
    assert 0.8 * size < spread < 1.25 * size  # a squared Gaussian envelope's radial rms is its sd


def test_mean_response_equals_a_per_neuron_computation(truth, images):
    fast = truth.mean_response(images, batch_size=3)
    picks = [
        np.flatnonzero((truth.cell_type == kind) & (truth.surround_strength > 0) == surround)[0]
        for kind in ("simple", "complex", "subunit", "deep")
        for surround in (False, True)
    ]
    for n in picks:
        expected = [reference_response(truth, n, image) for image in images]
        # A deep cell's drive is a difference of float32 features three layers deep.
        rtol = 2e-3 if truth.cell_type[n] == "deep" else 1e-4
        np.testing.assert_allclose(fast[:, n], expected, rtol=rtol, atol=1e-6)


def test_the_means_drawn_with_the_population_are_the_ground_truths(images):
    """simulate() takes its noise-free means from draw_population, which computes them in the
    same pass as the gains: they must be exactly what the written ground truth gives."""
    truth, _, mean = draw_population(
        KINDS, np.random.default_rng(0), images[:, 0], rng_kinds=np.random.default_rng(1)
    )
    assert mean.shape == (len(images), KINDS.n_neurons)
    np.testing.assert_array_equal(mean, truth.mean_response(images))
    assert (mean > truth.baseline.astype(np.float32) - 1e-6).all()
    # The irregular subunits are scaled to the sd of the neuron's own drive over the images.
    x = images[:, 0].reshape(len(images), -1).astype(np.float32) / 255.0 - 0.5
    own = replaced(truth, irregular_share=np.zeros(KINDS.n_neurons)).excitation(x)
    np.testing.assert_allclose(
        truth.irregular_excitation(x).std(axis=0), own.std(axis=0), rtol=1e-4
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_gabor_bank_correlates_like_scipy(images, dtype):
    """The bank runs in the Fourier domain; each part must be the zero-padded correlation."""
    x = images[:2].astype(np.float64) / 255.0 - 0.5  # (2, 1, 36, 64)
    out = gabor_bank.responses(torch.as_tensor(x, dtype=dtype)).numpy()
    even, odd = gabor_bank.kernels()
    for part, bank in ((out.real, even), (out.imag, odd)):
        expected = [[signal.correlate2d(i[0], k, mode="same") for k in bank] for i in x]
        tolerance = 1e-5 if dtype == torch.float32 else 1e-10
        np.testing.assert_allclose(part, expected, atol=tolerance)


def test_surround_suppression_is_tuned_to_the_neurons_own_orientation(truth):
    """A grating filling the surround drives the surround energy more at the neuron's own
    orientation than orthogonal to it (in mouse V1 iso-oriented surrounds suppress about
    twice as much as cross-oriented ones, Self et al. 2014)."""
    rows, cols = np.mgrid[0:36, 0:64]
    with_surround = np.flatnonzero(truth.surround_strength > 0)
    n = with_surround[np.argmax(truth.surround_strength[with_surround])]

    def energy(theta: float) -> float:
        u = cols * np.cos(theta) + rows * np.sin(theta)
        grating = 127.5 + 100 * np.cos(2 * np.pi * truth.spatial_frequency[n] * u)
        return surround_energy(truth, n, grating)

    theta = truth.orientation[n]
    assert energy(theta) > 2 * energy(theta + np.pi / 2)  # mouse V1: iso about twice cross


def test_the_true_model_is_the_ground_truth_with_gradients(truth, images):
    model = TrueModel(truth)
    x = torch.from_numpy(images.astype(np.float32)).requires_grad_()
    out = model(x)
    np.testing.assert_allclose(
        out.detach().numpy(), truth.mean_response(images), rtol=1e-3, atol=1e-5
    )
    out[:, truth.cell_type == "deep"].sum().backward()
    assert x.grad.abs().sum() > 0
    assert repr(model).startswith("TrueModel(GroundTruth(neurons=150,")


def test_the_true_model_of_a_population_without_subunit_cells(tiny_dataset, images):
    """The tiny preset has only simple and complex cells (no subunit filters to stack)."""
    plain = GroundTruth.load(tiny_dataset)
    out = TrueModel(plain)(torch.from_numpy(images.astype(np.float32)))
    np.testing.assert_allclose(out.numpy(), plain.mean_response(images), rtol=1e-3, atol=1e-5)


def test_ground_truth_round_trips_and_old_data_sets_read_without_the_later_kinds(
    kinds, truth, tmp_path
):
    truth.save(tmp_path / "copy")
    again = GroundTruth.load(tmp_path / "copy")
    for f in dataclasses.fields(GroundTruth):
        if f.name != "network":
            np.testing.assert_array_equal(getattr(again, f.name), getattr(truth, f.name))
    for a, b in zip(again.network.weights, truth.network.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.network.pooling == truth.network.pooling == KINDS.deep_pooling
    np.testing.assert_array_equal(again.network.decorrelation, truth.network.decorrelation)
    # A network written before its pooling was a setting pooled by the default, one written
    # before its decorrelation was does not decorrelate.
    (tmp_path / "copy" / "ground_truth" / "network" / "pooling.npy").unlink()
    (tmp_path / "copy" / "ground_truth" / "network" / "decorrelation.npy").unlink()
    legacy_network = GroundTruth.load(tmp_path / "copy").network
    assert legacy_network.pooling == READOUT_POOLING and legacy_network.decorrelation is None
    # A data set written before the later kinds: only the original fields.
    old = tmp_path / "old" / "ground_truth"
    old.mkdir(parents=True)
    for name in (
        "cell_type",
        "orientation",
        "spatial_frequency",
        "phase",
        "center",
        "size",
        "aspect",
        "gain",
        "exponent",
        "baseline",
        "normalization_strength",
        "pool_size",
        "responsive",
        "filters",
        "contrast_reference",
        "retinotopy",
    ):
        np.save(old / f"{name}.npy", np.load(kinds / "ground_truth" / f"{name}.npy"))
    legacy = GroundTruth.load(tmp_path / "old")
    assert legacy.network is None and not legacy.surround_strength.any()
    assert legacy.subunit_weight.shape == (150, 0) and legacy.deep_weight.shape == (150, 2, 1, 0)
    assert legacy.irregular_weight.shape == (150, 0) and not legacy.irregular_share.any()
    assert not legacy.gabor_share.any() and (legacy.gabor_scale == 1).all()


def test_a_deep_cells_gabor_drive_is_scaled_to_the_sd_of_its_deep_drive(truth):
    """Over the images it is drawn for, the rectified Gabor drive times its scale has the sd of
    the deep cell's drive from the network, so that the share alone sets the mix."""
    x = np.random.default_rng(6).uniform(-0.5, 0.5, size=(300, 36 * 64)).astype(np.float32)
    plain = replaced(truth, gabor_share=np.zeros(truth.n_neurons))
    mixed = add_gabor_share(plain, 0.5, np.random.default_rng(7), x)
    deep = np.flatnonzero(truth.cell_type == "deep")
    with torch.no_grad():
        own = plain.deep_excitation(torch.from_numpy(x.reshape(-1, 1, 36, 64))).numpy()
    even = truth.filters[deep, 0].reshape(deep.size, -1).astype(np.float64)
    gabor = mixed.gabor_scale[deep] * np.maximum(x.astype(np.float64) @ even.T, 0.0)
    np.testing.assert_allclose(gabor.std(axis=0), own.std(axis=0), rtol=1e-4)
    assert (
        mixed.gabor_share[deep].max() <= 0.5
        and not mixed.gabor_share[truth.cell_type != "deep"].any()
    )


def test_a_configuration_without_the_later_kinds_draws_what_it_drew_before(tiny_dataset, tmp_path):
    """The later kinds have their own random stream: the tiny preset draws the population fens
    drew before they existed (the pin), and adding them to it changes no draw of the others."""
    plain = GroundTruth.load(tiny_dataset)
    assert population_digest(plain) == PINNED_TINY_POPULATION
    with_kinds = GroundTruth.load(simulate(tmp_path / "kinds", KINDS, seed=0, progress=False))
    for name in ("orientation", "spatial_frequency", "phase", "center", "size", "exponent"):
        np.testing.assert_array_equal(getattr(with_kinds, name), getattr(plain, name))
    np.testing.assert_array_equal(with_kinds.filters, plain.filters)
    kept = np.isin(with_kinds.cell_type, ("simple", "complex"))
    assert kept.mean() > 0.2
    np.testing.assert_array_equal(with_kinds.cell_type[kept], plain.cell_type[kept])
    for i in range(5):
        np.testing.assert_array_equal(
            np.load(tmp_path / "kinds" / "data" / "images" / f"{i}.npy"),
            np.load(tiny_dataset / "data" / "images" / f"{i}.npy"),
        )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"subunit_fraction": 0.6, "deep_fraction": 0.5},
            "subunit_fraction \\+ deep_fraction must be at most 1, got 0.6 \\+ 0.5",
        ),
        ({"n_subunits": 0}, "n_subunits"),
        ({"deep_channels": 0}, "deep_channels"),
        ({"deep_points": 0}, "deep_points"),
        ({"deep_hidden_channels": (8,)}, r"deep_hidden_channels must be the channels of two"),
        ({"deep_hidden_channels": (8, 0)}, "deep_hidden_channels entries"),
        ({"complex_linearity_max": 1.5}, "complex_linearity_max"),
        ({"deep_linearity_max": -0.1}, "deep_linearity_max"),
        ({"deep_scatter": -1.0}, "deep_scatter"),
        ({"deep_pooling": -0.5}, "deep_pooling"),
        ({"deep_whitening": 1.5}, "deep_whitening"),
        ({"deep_gabor_share_max": -0.2}, "deep_gabor_share_max"),
        ({"deep_readout_channels": 0}, "deep_readout_channels must be a positive integer or"),
        ({"deep_readout_channels": 17}, r"at most deep_channels \(16\), got 17"),
        ({"surround_strength_range": (2.0, 1.0)}, "surround_strength_range"),
        ({"deep_fraction": 1.5}, "deep_fraction"),
        ({"irregular_share_max": 1.5}, "irregular_share_max"),
        ({"irregular_subunits": 0}, "irregular_subunits"),
    ],
)
def test_bad_kind_settings_are_named(setting, message):
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**setting)

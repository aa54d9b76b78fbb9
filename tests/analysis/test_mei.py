"""MEIs: the constraint, the rise of the activation, batched = one at a time, known optima."""

import numpy as np
import pytest
import torch

from fens.analysis import cross_activation, generate_mei, generate_meis
from tests.analysis.conftest import IMAGE_MEAN, IMAGE_SHAPE, IMAGE_STD, linear_model

MEAN, STD = IMAGE_MEAN, IMAGE_STD / 10


def _ln_optimum(model, neuron):
    """The LN neuron's response to the best image of pixel mean MEAN and sd STD: the image
    along its (zero-mean) weight, so ``w . bn(x) = STD * sqrt(P) * |w| / sqrt(var + eps)``."""
    w = model.linear.weight[neuron].detach().double()
    bias = model.linear.bias[neuron].detach().double()
    scale = torch.sqrt(model.bn.running_var.double() + model.bn.eps)
    drive = STD * np.sqrt(w.numel()) * torch.linalg.norm(w) / scale + bias
    return float(torch.nn.functional.elu(drive) + 1)


def test_the_mei_keeps_the_mean_and_std_constraint_exactly(small_cnn):
    start = np.random.default_rng(0).normal(MEAN, 20.0, IMAGE_SHAPE)
    _, mei = generate_mei(small_cnn, start, 3, 20, MEAN, STD, lr=10.0, device="cpu")
    assert mei.shape == IMAGE_SHAPE
    assert mei.dtype == np.float32  # the model's dtype, as the 2022 notebook returned it
    assert mei.astype(np.float64).mean() == pytest.approx(MEAN, rel=1e-6)
    assert mei.astype(np.float64).std() == pytest.approx(STD, rel=1e-6)
    _, meis = generate_meis(
        small_cnn,
        neuron_indices=[3],
        input_images=start[None],
        iterations=20,
        mean_constr=MEAN,
        std_constr=STD,
        lr=10.0,
        device="cpu",
        progress=False,
    )
    assert meis.dtype == np.float64
    assert meis[0].mean() == pytest.approx(MEAN, rel=1e-12)
    assert meis[0].std() == pytest.approx(STD, rel=1e-12)


def test_the_activation_rises_to_the_known_optimum_of_an_ln_neuron(gabor_model):
    model, filters = gabor_model
    start = np.random.default_rng(1).normal(MEAN, STD, IMAGE_SHAPE)
    activations, mei = generate_mei(
        model, start, 1, 100, MEAN, STD, lr=1e4, device="cpu", disable_progress_bar=True
    )
    assert activations.shape == (100,)
    assert activations[-1] > activations[0]
    assert np.all(np.diff(activations[:4]) > 0)
    assert activations[-1] == pytest.approx(_ln_optimum(model, 1), rel=1e-3)
    # The MEI of a Gabor neuron is that Gabor.
    assert np.corrcoef(mei.ravel(), filters[1].ravel())[0, 1] > 0.99


def test_batched_and_one_at_a_time_meis_are_the_same(small_cnn):
    ids = [5, 0, 3, 0]
    options = dict(iterations=25, mean_constr=MEAN, std_constr=STD, lr=10.0, seed=7)
    options |= dict(device="cpu", progress=False, blur_sigma=1.0)
    batched_activations, batched = generate_meis(
        small_cnn, neuron_indices=ids, batch_size=3, **options
    )
    for i, k in enumerate(ids):
        activations, alone = generate_meis(small_cnn, neuron_indices=[k], **options)
        np.testing.assert_allclose(alone[0], batched[i], rtol=0, atol=1e-3 * STD)
        np.testing.assert_allclose(activations[0], batched_activations[i], rtol=1e-4)
    # A neuron's noise start depends on the seed and the neuron, not on its companions.
    np.testing.assert_allclose(batched[1], batched[3], rtol=0, atol=1e-3 * STD)
    other_seed = generate_meis(small_cnn, neuron_indices=[5], **(options | {"seed": 8}))[1]
    assert np.abs(other_seed[0] - batched[0]).max() > 0.1 * STD


def test_generate_mei_is_generate_meis_from_the_same_start(small_cnn):
    start = np.random.default_rng(3).normal(MEAN, STD, IMAGE_SHAPE)
    activations, mei = generate_mei(
        small_cnn, start, 2, 15, MEAN, STD, lr=10.0, device="cpu", disable_progress_bar=True
    )
    many_activations, meis = generate_meis(
        small_cnn,
        neuron_indices=[2, 4],
        input_images=np.stack([start, start]),
        iterations=15,
        mean_constr=MEAN,
        std_constr=STD,
        lr=10.0,
        device="cpu",
        progress=False,
    )
    np.testing.assert_allclose(meis[0], mei, atol=1e-3 * STD)
    np.testing.assert_allclose(many_activations[0], activations, rtol=1e-5)


def test_blurring_the_gradient_gives_smoother_meis():
    weights = np.random.default_rng(4).normal(size=(1, *IMAGE_SHAPE))
    weights -= weights.mean()
    model = linear_model(weights / np.linalg.norm(weights))
    options = dict(iterations=30, mean_constr=MEAN, std_constr=STD, lr=1e3, device="cpu")
    options |= dict(progress=False)

    def neighbour_correlation(image):
        return np.corrcoef(image[:, 1:].ravel(), image[:, :-1].ravel())[0, 1]

    plain = generate_meis(model, neuron_indices=[0], **options)[1][0]
    blurred = generate_meis(model, neuron_indices=[0], blur_sigma=2.0, **options)[1][0]
    assert neighbour_correlation(plain) < 0.2  # the white-noise weight itself
    assert neighbour_correlation(blurred) > neighbour_correlation(plain) + 0.4


def test_optimisation_stops_when_the_activation_stops_rising(gabor_model):
    model, _ = gabor_model
    activations, meis = generate_meis(
        model,
        neuron_indices=[0, 2],
        iterations=400,
        mean_constr=MEAN,
        std_constr=STD,
        lr=1e4,
        stop_patience=30,
        stop_tolerance=1e-5,
        device="cpu",
        progress=False,
    )
    for row in activations:
        ran = np.isfinite(row).sum()
        assert 30 < ran < 400
        assert np.all(np.isnan(row[ran:]))
    assert meis.std(axis=(1, 2)) == pytest.approx([STD, STD], rel=1e-12)
    assert activations[0, np.isfinite(activations[0])][-1] == pytest.approx(
        _ln_optimum(model, 0), rel=5e-3
    )


def test_cross_activation_is_normalised_per_neuron(gabor_model):
    model, filters = gabor_model
    meis = MEAN + STD * filters / filters.std(axis=(1, 2), keepdims=True)
    raw = cross_activation(
        model, meis=meis, neuron_indices=[0, 1, 2], device="cpu", normalize=False
    )
    with torch.no_grad():
        expected = model(torch.tensor(meis, dtype=torch.float32)[:, None]).numpy()
    np.testing.assert_allclose(raw, expected, rtol=1e-6)
    normalised = cross_activation(model, meis=meis, neuron_indices=[2, 0], device="cpu")
    np.testing.assert_allclose(normalised, expected[:, [2, 0]] / expected[:, [2, 0]].max(0))
    # Each Gabor neuron is driven most by its own Gabor.
    np.testing.assert_array_equal(raw.argmax(axis=0), [0, 1, 2])


def test_bad_arguments_are_refused_with_the_offending_value(gabor_model):
    model, _ = gabor_model
    grey = np.full(IMAGE_SHAPE, MEAN)
    with pytest.raises(ValueError, match="constant"):
        generate_mei(model, grey, 0, 10, MEAN, STD, device="cpu")
    with pytest.raises(ValueError, match="-1"):
        generate_mei(model, grey + np.eye(36, 64), -1, 10, MEAN, STD, device="cpu")
    with pytest.raises(ValueError, match=r"\[3\] are outside 0..2"):
        generate_meis(model, neuron_indices=[0, 3], mean_constr=MEAN, std_constr=STD, device="cpu")
    with pytest.raises(ValueError, match="std_constr"):
        generate_meis(model, neuron_indices=[0], mean_constr=MEAN, std_constr=0.0, device="cpu")
    with pytest.raises(ValueError, match=r"\(2, height, width\)"):
        generate_meis(
            model,
            neuron_indices=[0, 1],
            input_images=np.zeros((3, *IMAGE_SHAPE)),
            mean_constr=MEAN,
            std_constr=STD,
        )


def test_fast_and_reference_lurz_models_give_the_same_meis_and_keep_their_flags():
    from fens.models import build_lurz2020_model
    from tests.models.conftest import make_dataloaders
    from tests.models.test_lurz2020_model import SMALL

    dataloaders = make_dataloaders(n_neurons=6)
    models = [
        build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=0, fast=fast)
        for fast in (False, True)
    ]
    models[0].readout.sigma.requires_grad_(False)  # frozen by the user: stays frozen
    flags = [[p.requires_grad for p in model.parameters()] for model in models]
    options = dict(iterations=10, mean_constr=MEAN, std_constr=STD, lr=10.0, seed=0)
    reference, fast = (
        generate_meis(m, neuron_indices=[4, 1, 4], progress=False, **options) for m in models
    )
    np.testing.assert_allclose(fast[0], reference[0], rtol=1e-4)
    np.testing.assert_allclose(fast[1], reference[1], rtol=0, atol=1e-3 * STD)
    assert [[p.requires_grad for p in model.parameters()] for model in models] == flags

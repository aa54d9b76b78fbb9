"""The Lurz et al. (2021) model built from neuralpredictors' blocks."""

import dataclasses

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from fens.models import Lurz2020Config, Lurz2020Model, build_lurz2020_model

SEED_CONFIG = {
    "init_mu_range": 0.55,
    "init_sigma": 0.4,
    "input_kern": 15,
    "hidden_kern": 13,
    "gamma_input": 1.0,
    "grid_mean_predictor": {
        "type": "cortex",
        "input_dimensions": 2,
        "hidden_layers": 0,
        "hidden_features": 0,
        "final_tanh": False,
    },
    "gamma_readout": 2.439,
}
# The seed's configuration with fewer channels and layers, to keep the tests fast.
SMALL = {**SEED_CONFIG, "hidden_channels": 4, "layers": 2}


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_seed_config_builds_the_published_architecture(dataloaders_factory):
    dataloaders = dataloaders_factory(n_neurons=7)
    model = build_lurz2020_model(**SEED_CONFIG, dataloaders=dataloaders, seed=1234)
    assert isinstance(model, Lurz2020Model)
    layers = list(model.core.features)
    assert len(layers) == 4
    assert layers[0].conv.weight.shape == (64, 1, 15, 15)
    for layer in layers[1:]:  # depth-separable: 1x1, one 13x13 filter per channel, 1x1
        assert layer.ds_conv.spatial_conv.weight.shape == (64, 1, 13, 13)
        assert layer.ds_conv.in_depth_conv.weight.shape == (64, 64, 1, 1)
    assert sum(type(m).__name__ == "AdaptiveELU" for m in model.core.modules()) == 4
    # no input padding: 36 x 64 images give 22 x 50 feature maps
    assert model.readout.in_shape == (64, 22, 50)
    assert model.readout.outdims == model.n_neurons == 7
    images = next(iter(dataloaders["test"]))[0]
    for mode in (model.train, model.eval):
        mode()
        output = model(images)
        assert output.shape == (images.shape[0], 7)
        assert torch.all(output > 0)


def test_linear_flag_removes_every_core_nonlinearity(dataloaders_factory):
    model = build_lurz2020_model(**SMALL, linear=True, dataloaders=dataloaders_factory(), seed=0)
    assert not any(type(m).__name__ == "AdaptiveELU" for m in model.core.modules())
    assert model.config.linear


def _pre_activation(model, images):
    return model.readout(model.core(images))


def _additivity_gap(model, a, b):
    """max |g(a + b) - g(b) - (g(a) - g(0))| relative to max |g(a) - g(0)|."""
    zero = torch.zeros_like(a)
    with torch.no_grad():
        g = {name: _pre_activation(model, x) for name, x in (("ab", a + b), ("a", a), ("b", b))}
        g0 = _pre_activation(model, zero)
    gap = (g["ab"] - g["b"] - (g["a"] - g0)).abs().max()
    return (gap / (g["a"] - g0).abs().max()).item()


@pytest.mark.parametrize("linear", [True, False])
def test_linear_model_is_affine_before_the_output_nonlinearity(dataloaders_factory, linear):
    dataloaders = dataloaders_factory()
    model = build_lurz2020_model(**SMALL, linear=linear, dataloaders=dataloaders, seed=3)
    for images, _ in dataloaders["train"]:  # non-trivial batch norm statistics
        model(images)
    model.eval()
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(3, 1, 36, 64, generator=generator) * 255
    b = torch.rand(3, 1, 36, 64, generator=generator) * 255
    gap = _additivity_gap(model.double(), a.double(), b.double())
    if linear:
        assert gap < 1e-9
    else:
        assert gap > 1e-2


def test_same_seed_same_weights_other_seed_other_weights(dataloaders_factory):
    dataloaders = dataloaders_factory()
    first = _state(build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=5))
    torch.rand(100)  # the global generator's state before the call must not matter
    second = _state(build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=5))
    other = _state(build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=6))
    assert first.keys() == second.keys() == other.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)
    for key in (
        "core.features.layer0.conv.weight",
        "readout.sigma",
        "readout.mu_transform.0.weight",
    ):
        assert not torch.equal(first[key], other[key])


def test_readout_bias_starts_at_the_mean_training_response(dataloaders_factory):
    dataloaders = dataloaders_factory(n_images=11, batch_size=4)
    responses = dataloaders["train"].dataset.tensors[1].double().numpy()
    model = build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=0)
    np.testing.assert_allclose(model.readout.bias.detach().numpy(), responses.mean(0), rtol=1e-6)


def test_grid_mean_predictor_receives_normalised_cortical_coordinates(dataloaders_factory):
    rng = np.random.default_rng(1)
    coordinates = np.column_stack(
        [rng.uniform(100, 900, 9), rng.uniform(-50, 20, 9), rng.uniform(0, 300, 9)]
    )
    dataloaders = dataloaders_factory(n_neurons=9, coordinates=coordinates)
    model = build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=0)

    grid = coordinates[:, :2] - coordinates[:, :2].mean(axis=0)
    grid = grid / np.abs(grid).max()
    source_grid = model.readout.source_grid.numpy()
    np.testing.assert_allclose(source_grid, grid, rtol=1e-6, atol=1e-7)
    assert np.abs(source_grid).max() == pytest.approx(1.0)

    # the mean positions are the linear map (no hidden layer, no tanh) of those coordinates
    transform = model.readout.mu_transform
    assert len(transform) == 1
    weight = transform[0].weight.detach().double().numpy()
    bias = transform[0].bias.detach().double().numpy()
    expected = np.clip(grid @ weight.T + bias, -1, 1)
    model.eval()
    np.testing.assert_allclose(model.readout.grid.squeeze().detach(), expected, atol=1e-6)


def test_regularizer_is_laplace_penalty_plus_feature_l1(dataloaders_factory):
    model = build_lurz2020_model(**SMALL, dataloaders=dataloaders_factory(), seed=0)
    with torch.no_grad():
        model.readout.features.normal_()
    filters = model.core.features.layer0.conv.weight.detach().double().numpy()[:, 0]  # (C, 15, 15)
    laplace = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float)
    smoothness = sum((convolve2d(f, laplace, mode="same") ** 2).sum() for f in filters)
    smoothness /= (filters**2).sum()
    feature_l1 = np.abs(model.readout.features.detach().double().numpy()).sum()
    expected = SEED_CONFIG["gamma_input"] * smoothness + SEED_CONFIG["gamma_readout"] * feature_l1
    penalty = model.regularizer()
    assert penalty.ndim == 0
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-5)


def test_gradients_reach_core_and_readout(dataloaders_factory):
    dataloaders = dataloaders_factory()
    model = build_lurz2020_model(**SMALL, dataloaders=dataloaders, seed=0)
    images, responses = next(iter(dataloaders["train"]))
    output = model(images)
    loss = (output - responses * torch.log(output)).sum() + model.regularizer()
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_published_defaults_without_overrides(dataloaders_factory):
    config = Lurz2020Config()
    assert (config.hidden_channels, config.input_kern, config.hidden_kern, config.layers) == (
        64,
        9,
        7,
        4,
    )
    assert (config.gamma_input, config.gamma_readout) == (6.3831, 0.0076)
    assert (config.init_mu_range, config.init_sigma, config.momentum) == (0.3, 0.1, 0.9)
    assert config.grid_mean_predictor["final_tanh"] is True
    model = build_lurz2020_model(dataloaders=dataloaders_factory(), seed=0)
    assert model.readout.in_shape == (64, 36 - 8, 64 - 8)
    assert isinstance(model.readout.mu_transform[-1], torch.nn.Tanh)


def test_config_object_and_keyword_overrides_combine(dataloaders_factory):
    config = dataclasses.replace(Lurz2020Config(), hidden_channels=4, layers=2)
    model = build_lurz2020_model(dataloaders_factory(), 0, config, grid_mean_predictor=None)
    assert len(model.core.features) == 2
    assert model.readout.in_shape[0] == 4
    assert model.config.grid_mean_predictor is None
    assert model.readout._mu.shape == (1, 7, 1, 2)  # free positions instead of predicted ones


def test_partial_grid_mean_predictor_is_completed_with_published_values():
    config = Lurz2020Config(grid_mean_predictor={"type": "cortex", "hidden_layers": 1})
    assert config.grid_mean_predictor == {
        "type": "cortex",
        "input_dimensions": 2,
        "hidden_layers": 1,
        "hidden_features": 30,
        "final_tanh": True,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hidden_chanels": 8}, "unknown Lurz2020Config fields \\['hidden_chanels'\\]"),
        ({"input_kern": 4}, "input_kern must be a positive odd kernel size, got 4"),
        ({"init_mu_range": 1.5}, "init_mu_range must be in \\(0, 1\\], got 1.5"),
        ({"gauss_type": "round"}, "gauss_type"),
        ({"grid_mean_predictor": {"type": "shared"}}, "'shared'"),
        ({"grid_mean_predictor": {"type": "cortex", "layers": 1}}, "\\['layers'\\]"),
        ({"grid_mean_predictor": {"type": "cortex", "input_dimensions": 4}}, "only 3 columns"),
        ({"input_kern": 41}, "input_kern=41 is larger than the 36x64 images"),
    ],
)
def test_invalid_configurations_raise(dataloaders_factory, overrides, message):
    with pytest.raises(ValueError, match=message):
        build_lurz2020_model(**overrides, dataloaders=dataloaders_factory(), seed=0)


def test_invalid_data_raise(dataloaders_factory):
    with pytest.raises(ValueError, match="'train'"):
        build_lurz2020_model(dataloaders={"test": dataloaders_factory()["test"]}, seed=0)
    same_place = np.ones((7, 3))
    with pytest.raises(ValueError, match="same cortical coordinates"):
        build_lurz2020_model(dataloaders=dataloaders_factory(coordinates=same_place), seed=0)
    with pytest.raises(ValueError, match=r"\(7, >= 2\), got \(5, 3\)"):
        build_lurz2020_model(dataloaders=dataloaders_factory(coordinates=np.ones((5, 3))), seed=0)
    model = build_lurz2020_model(**SMALL, dataloaders=dataloaders_factory(), seed=0)
    with pytest.raises(ValueError, match="got \\(2, 36, 64\\)"):
        model(torch.zeros(2, 36, 64))

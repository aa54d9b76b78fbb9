"""The fast readout and depthwise convolution against the blocks they replace."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from fens.compat import import_neuralpredictors
from fens.models import build_lurz2020_model
from fens.models.blocks.depthwise import DepthwiseConv2d, depthwise_weight_grad, use_fast_depthwise
from fens.models.blocks.readout import FastFullGaussian2d, bilinear_sample
from fens.trainers import train_model

from .test_lurz2020_model import SEED_CONFIG, SMALL

import_neuralpredictors()
from neuralpredictors.layers.readouts import FullGaussian2d  # noqa: E402

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def _grid(batch: int, n: int, seed: int = 0) -> torch.Tensor:
    """Positions in [-1, 1], with every edge and corner of the map among them."""
    generator = torch.Generator().manual_seed(seed)
    grid = torch.rand(batch, n, 2, generator=generator) * 2 - 1
    edges = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [0.0, 1.0]])
    grid[0, : len(edges)] = edges
    return grid


@pytest.mark.parametrize("channels_last", [False, True])
def test_bilinear_sample_matches_grid_sample_values_and_gradients(channels_last):
    features = torch.randn(3, 5, 7, 11, dtype=torch.float64)
    if channels_last:
        features = features.contiguous(memory_format=torch.channels_last)
    features.requires_grad_(True)
    grid = _grid(3, 17).double().requires_grad_(True)
    weights = torch.randn(3, 17, 5, dtype=torch.float64)

    reference = F.grid_sample(features, grid[:, :, None], align_corners=True)  # (B, C, n, 1)
    reference = reference[..., 0].transpose(1, 2)
    ours = bilinear_sample(features, grid)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    for a, b in zip(
        torch.autograd.grad((reference * weights).sum(), (features, grid)),
        torch.autograd.grad((ours * weights).sum(), (features, grid)),
        strict=True,
    ):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-10)


def test_bilinear_sample_reads_the_pixel_at_integer_positions():
    features = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 2, 3, 4)
    # x = -1 + 2 * column / (W - 1), y = -1 + 2 * row / (H - 1)
    grid = torch.tensor([[[-1.0, -1.0], [1.0, 1.0], [-1 + 2 / 3, 0.0]]])
    expected = features[0, :, [0, 2, 1], [0, 3, 1]].T  # (n, C)
    torch.testing.assert_close(bilinear_sample(features, grid)[0], expected)


def test_bilinear_sample_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"grid \(B, n, 2\)"):
        bilinear_sample(torch.zeros(2, 3, 4, 5), torch.zeros(2, 6, 3))
    with pytest.raises(ValueError, match="same batch size, got 2 and 1"):
        bilinear_sample(torch.zeros(2, 3, 4, 5), torch.zeros(1, 6, 2))


def _readouts(**kwargs):
    """A neuralpredictors ``FullGaussian2d`` and a ``FastFullGaussian2d`` with its parameters."""
    settings = {"in_shape": (6, 9, 13), "outdims": 23, "bias": True, **kwargs}
    torch.manual_seed(0)
    reference = FullGaussian2d(**settings)
    fast = FastFullGaussian2d(**settings)
    fast.load_state_dict(reference.state_dict())
    with torch.no_grad():  # away from the initial values, so that every parameter matters
        for parameter in reference.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    fast.load_state_dict(reference.state_dict())
    return reference, fast


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"gauss_type": "full", "init_sigma": 0.4},
        {"gauss_type": "isotropic", "batch_sample": False},
        {
            "grid_mean_predictor": {"hidden_layers": 0, "hidden_features": 0, "final_tanh": False},
            "source_grid": np.random.default_rng(0).normal(size=(23, 2)),
        },
    ],
)
def test_fast_readout_gives_the_reference_outputs_and_gradients(training, kwargs):
    reference, fast = _readouts(**kwargs)
    reference.train(training)
    fast.train(training)
    x = torch.randn(4, 6, 9, 13)
    outputs = []
    for readout in (reference, fast):
        torch.manual_seed(7)  # the same positions drawn in training mode
        y = readout(x)
        grads = torch.autograd.grad((y * torch.linspace(-1, 2, 23)).sum(), readout.parameters())
        outputs.append((y, grads))
    torch.testing.assert_close(outputs[1][0], outputs[0][0], **TOLERANCE)
    for a, b in zip(outputs[0][1], outputs[1][1], strict=True):
        torch.testing.assert_close(b, a, **TOLERANCE)


def test_fast_readout_subsets_shifts_and_pairs_like_the_reference():
    reference, fast = _readouts()
    reference.eval()
    fast.eval()
    x = torch.randn(4, 6, 9, 13)
    shift = 0.1 * torch.randn(4, 2)
    ids = np.array([3, 0, 22, 7])
    mask = np.zeros(23, dtype=bool)
    mask[ids] = True
    torch.testing.assert_close(fast(x, out_idx=ids), reference(x, out_idx=ids), **TOLERANCE)
    torch.testing.assert_close(fast(x, out_idx=mask), reference(x, out_idx=mask), **TOLERANCE)
    torch.testing.assert_close(fast(x, shift=shift), reference(x, shift=shift), **TOLERANCE)
    paired = fast.forward_paired(x, torch.as_tensor(ids))
    torch.testing.assert_close(paired, reference(x)[torch.arange(4), ids], **TOLERANCE)
    with pytest.raises(ValueError, match=r"one neuron index per image, shape \(4,\)"):
        fast.forward_paired(x, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"feature maps \(batch, 6, 9, 13\), got \(4, 6, 9, 12\)"):
        fast(x[..., :12])


def test_depthwise_weight_grad_matches_autograd():
    x = torch.randn(3, 4, 8, 10, dtype=torch.float64)
    weight = torch.randn(4, 1, 5, 3, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, weight, padding=2, groups=4)
    g = torch.randn_like(y)
    (expected,) = torch.autograd.grad(y, weight, g)
    torch.testing.assert_close(depthwise_weight_grad(x, g, 2, (5, 3)), expected)


@pytest.mark.parametrize("bias", [False, True])
def test_depthwise_layer_passes_gradcheck_and_shares_parameters(bias):
    conv = nn.Conv2d(3, 3, 5, padding=2, groups=3, bias=bias).double()
    layer = DepthwiseConv2d.from_conv(conv)
    assert layer.weight is conv.weight and layer.bias is conv.bias
    assert layer.state_dict().keys() == conv.state_dict().keys()
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64, requires_grad=True)
    parameters = tuple(layer.parameters())
    assert torch.autograd.gradcheck(lambda x, *p: layer(x), (x, *parameters))
    for training in (True, False):
        layer.train(training)
        torch.testing.assert_close(layer(x), conv(x))


def test_depthwise_layer_gives_conv2d_gradients_in_channels_last_float32():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 7, padding=3, groups=8, bias=False)
    layer = DepthwiseConv2d.from_conv(conv)
    x = torch.randn(5, 8, 12, 15).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    g = torch.randn(5, 8, 12, 15)
    expected = torch.autograd.grad(conv(x), (x, conv.weight), g)
    ours = torch.autograd.grad(layer(x), (x, layer.weight), g)
    for a, b in zip(expected, ours, strict=True):
        # float32 sums of up to 900 products (the weight gradient) in another order: rounding
        # errors scale with the largest entry, not with each entry (200 seeds: at most 2e-6 of it)
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5 * float(a.abs().max()))


def test_use_fast_depthwise_replaces_only_depthwise_layers():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1, groups=4)),
        nn.Conv2d(4, 4, 3, groups=2),
    )
    keys = model.state_dict().keys()
    assert use_fast_depthwise(model) == 1
    assert isinstance(model[1][1], DepthwiseConv2d)
    assert [type(m) for m in (model[0], model[1][0], model[2])] == [nn.Conv2d] * 3
    assert model.state_dict().keys() == keys
    with pytest.raises(ValueError, match="not a depthwise convolution: groups=2"):
        DepthwiseConv2d.from_conv(model[2])
    grouped = DepthwiseConv2d(4, 8, 3, padding=1, groups=4)  # not depthwise: nn.Conv2d's own
    x = torch.randn(2, 4, 5, 6, requires_grad=True)
    torch.testing.assert_close(grouped(x), F.conv2d(x, grouped.weight, grouped.bias, 1, 1, 1, 4))


@pytest.mark.parametrize("linear", [False, True])
def test_fast_and_reference_models_train_alike(dataloaders_factory, linear):
    dataloaders = dataloaders_factory(n_images=24, n_neurons=9)
    config = {**SMALL, "linear": linear}
    models = [
        build_lurz2020_model(**config, dataloaders=dataloaders, seed=1, fast=fast)
        for fast in (False, True)
    ]
    reference, fast = models
    assert isinstance(fast.readout, FastFullGaussian2d)
    assert type(reference.readout) is FullGaussian2d
    for key, value in reference.state_dict().items():  # same initial weights, same names
        torch.testing.assert_close(fast.state_dict()[key], value, rtol=0, atol=0)
    scores = []
    for model in models:
        model.to(memory_format=torch.channels_last)
        score, _, _ = train_model(model, dataloaders, seed=3, max_iter=3, progress=False)
        scores.append(score)
    assert scores[1] == pytest.approx(scores[0], abs=1e-4)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(fast.state_dict()[key], value, rtol=1e-3, atol=1e-4)


def test_model_forward_paired_equals_forward_for_both_readouts(dataloaders_factory):
    dataloaders = dataloaders_factory(n_neurons=9)
    images = next(iter(dataloaders["test"]))[0]
    ids = torch.tensor([8, 0, 4, 4])
    for fast in (False, True):
        model = build_lurz2020_model(**SEED_CONFIG, dataloaders=dataloaders, seed=1, fast=fast)
        model.eval()
        expected = model(images)[torch.arange(4), ids]
        torch.testing.assert_close(model.forward_paired(images, ids), expected, **TOLERANCE)

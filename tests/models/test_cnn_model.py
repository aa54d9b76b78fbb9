"""The simple CNN: shapes, structure, readout size, penalty, initialisation."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from fens.models import CNN, count_parameters


def _images(n: int = 5, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 36, 64, generator=generator) * 255


def test_seed_call_pattern_gives_positive_responses():
    torch.manual_seed(0)
    model = CNN(input_height=64, input_width=36, n_neurons=6)
    for mode in (model.train, model.eval):
        mode()
        output = model(_images())
        assert output.shape == (5, 6)
        assert torch.all(output > 0)


def test_readout_holds_channels_times_pixels_times_neurons_weights():
    model = CNN(
        input_height=36, input_width=64, n_neurons=6, hidden_channels=3, kernel_sizes=(5, 3)
    )
    fc = model.readout[0]
    assert isinstance(fc, nn.Linear)
    assert fc.weight.shape == (6, 3 * 36 * 64)
    convs = [m for m in model.cnn_core if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (3, 3)]
    conv_weights = 1 * 3 * 5 * 5 + 3 * 3 * 3 * 3
    batch_norm_weights = 2 * 2 * 3  # scale and shift per channel, per layer
    readout_weights = 3 * 36 * 64 * 6 + 6 + 2 * 6  # fully connected, then batch norm
    assert count_parameters(model) == conv_weights + batch_norm_weights + readout_weights


def test_core_keeps_the_image_size():
    model = CNN(input_height=36, input_width=64, n_neurons=2, hidden_channels=4)
    features = model.cnn_core(model.bn_input(_images(2)))
    assert features.shape == (2, 4, 36, 64)


def test_forward_is_core_then_linear_readout_then_batch_norm_then_elu_plus_one():
    torch.manual_seed(0)
    model = CNN(input_height=36, input_width=64, n_neurons=3, hidden_channels=2, init_std=0.01)
    model(_images(4, seed=1))  # non-trivial running statistics
    with torch.no_grad():
        model.readout[1].weight.uniform_(0.5, 2)
        model.readout[1].bias.uniform_(-1, 1)
    model.eval()
    images = _images(3)
    with torch.no_grad():
        features = model.cnn_core(model.bn_input(images)).reshape(3, -1).double().numpy()
    weight = model.readout[0].weight.detach().double().numpy()
    bias = model.readout[0].bias.detach().double().numpy()
    norm = model.readout[1]
    mean, var = norm.running_mean.double().numpy(), norm.running_var.double().numpy()
    scale, shift = norm.weight.detach().double().numpy(), norm.bias.detach().double().numpy()
    drive = (features @ weight.T + bias - mean) / np.sqrt(var + norm.eps) * scale + shift
    expected = F.elu(torch.from_numpy(drive)) + 1
    np.testing.assert_allclose(model(images).detach().double(), expected, rtol=1e-4, atol=1e-6)


def test_regularizer_is_gamma_times_l1_of_readout_weights():
    torch.manual_seed(0)
    model = CNN(input_height=36, input_width=64, n_neurons=3, gamma=0.3, hidden_channels=2)
    expected = 0.3 * np.abs(model.readout[0].weight.detach().double().numpy()).sum()
    penalty = model.regularizer()
    assert penalty.ndim == 0
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-5)


def test_initialize_sets_readout_std_and_zero_bias():
    torch.manual_seed(0)
    model = CNN(input_height=36, input_width=64, n_neurons=20, hidden_channels=2)
    assert model.readout[0].weight.std().item() == pytest.approx(1e-3, rel=0.02)
    model.initialize(std=0.2)
    assert model.readout[0].weight.std().item() == pytest.approx(0.2, rel=0.02)
    assert torch.all(model.readout[0].bias == 0)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="kernel_sizes"):
        CNN(input_height=36, input_width=64, n_neurons=2, kernel_sizes=(4,))
    with pytest.raises(ValueError, match="hidden_channels"):
        CNN(input_height=36, input_width=64, n_neurons=2, hidden_channels=0)
    model = CNN(input_height=36, input_width=64, n_neurons=2, hidden_channels=2)
    with pytest.raises(ValueError, match="got \\(2, 1, 30, 64\\)"):
        model(torch.zeros(2, 1, 30, 64))

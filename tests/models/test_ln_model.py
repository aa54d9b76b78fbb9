"""The LN model against a hand computation of batch norm, matmul and ELU + 1."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from fens.models import Linear, count_parameters


def _images(n: int = 6, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 36, 64, generator=generator) * 255


def test_seed_call_pattern_accepts_transposed_height_and_width():
    torch.manual_seed(0)
    model = Linear(input_height=64, input_width=36, n_neurons=9, gamma=0.1)
    output = model(_images())
    assert output.shape == (6, 9)
    assert torch.all(output > 0)
    assert count_parameters(model) == 36 * 64 * 9 + 9


def test_forward_equals_hand_computation_in_eval_mode():
    torch.manual_seed(0)
    momentum = 0.3
    model = Linear(input_height=36, input_width=64, n_neurons=5, momentum=momentum, init_std=0.01)
    with torch.no_grad():
        model.linear.bias.uniform_(-1, 1)
    train_images = _images(8, seed=1)
    model(train_images)  # one training step of the running statistics

    # PyTorch's batch norm: running = (1 - momentum) * initial + momentum * batch statistic,
    # with the unbiased variance; initial mean 0, variance 1.
    pixels = train_images.double().numpy()
    running_mean = momentum * pixels.mean()
    running_var = (1 - momentum) + momentum * pixels.var(ddof=1)
    np.testing.assert_allclose(model.bn.running_mean.item(), running_mean, rtol=1e-5)
    np.testing.assert_allclose(model.bn.running_var.item(), running_var, rtol=1e-5)

    model.eval()
    images = _images(4, seed=2)
    normalised = (images.double().numpy() - running_mean) / np.sqrt(running_var + model.bn.eps)
    weight = model.linear.weight.detach().double().numpy()
    bias = model.linear.bias.detach().double().numpy()
    drive = normalised.reshape(4, -1) @ weight.T + bias
    expected = F.elu(torch.from_numpy(drive)) + 1
    np.testing.assert_allclose(model(images).detach().double(), expected, rtol=1e-4, atol=1e-5)


def test_raw_pixels_and_rescaled_pixels_give_the_same_training_output():
    torch.manual_seed(0)
    model = Linear(input_height=36, input_width=64, n_neurons=4, init_std=0.05)
    images = _images()
    rescaled = (images - 128) / 255
    torch.testing.assert_close(model(images), model(rescaled), rtol=1e-4, atol=1e-5)


def test_regularizer_is_gamma_times_l1_of_weights():
    torch.manual_seed(0)
    model = Linear(input_height=36, input_width=64, n_neurons=3, gamma=0.25, init_std=0.1)
    penalty = model.regularizer()
    assert penalty.ndim == 0
    expected = 0.25 * np.abs(model.linear.weight.detach().double().numpy()).sum()
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-5)
    assert Linear(36, 64, 3).regularizer().item() == 0.0  # default gamma is 0


def test_initialize_draws_weights_with_the_given_std_and_zero_bias():
    torch.manual_seed(0)
    model = Linear(input_height=36, input_width=64, n_neurons=50)
    assert model.linear.weight.std().item() == pytest.approx(1e-3, rel=0.02)
    with torch.no_grad():
        model.linear.bias.fill_(3.0)
    model.initialize(std=0.5)
    assert model.linear.weight.std().item() == pytest.approx(0.5, rel=0.02)
    assert torch.all(model.linear.bias == 0)


@pytest.mark.parametrize("shape", [(2, 36, 64), (2, 1, 36, 63), (2, 3, 36, 64)])
def test_wrong_image_shape_raises(shape):
    model = Linear(input_height=36, input_width=64, n_neurons=3)
    with pytest.raises(ValueError, match=r"\(batch, 1, height, width\)"):
        model(torch.zeros(shape))


def test_invalid_sizes_raise():
    with pytest.raises(ValueError, match="n_neurons"):
        Linear(input_height=36, input_width=64, n_neurons=0)
    with pytest.raises(ValueError, match="gamma"):
        Linear(input_height=36, input_width=64, n_neurons=2, gamma=-1.0)

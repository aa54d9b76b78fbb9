"""Small models with known receptive fields, shared by the analysis tests."""

import matplotlib
import numpy as np
import pytest
import torch

from fens.models import CNN, Linear
from fens.simulate.neurons import gabor

matplotlib.use("Agg")

IMAGE_SHAPE = (36, 64)
IMAGE_MEAN, IMAGE_STD = 100.0, 50.0


def gabor_filters(orientations, spatial_frequency=0.1, phase=0.0, center=(31.5, 17.5), size=5.0):
    """``(n, 36, 64)`` unit-norm, zero-mean Gabors, one per orientation (radians)."""
    n = len(orientations)
    return gabor(
        np.tile(center, (n, 1)),
        np.full(n, size),
        np.full(n, 0.8),
        np.asarray(orientations, dtype=np.float64),
        np.full(n, spatial_frequency),
        np.full(n, phase),
    )


def linear_model(weights: np.ndarray, bias: float = 0.5) -> Linear:
    """An LN model whose neuron ``i`` has receptive field ``weights[i]`` ``(36, 64)``, with the
    input batch norm set to the images' statistics (as after training), in eval mode."""
    model = Linear(input_height=36, input_width=64, n_neurons=len(weights))
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor(weights.reshape(len(weights), -1)))
        model.linear.bias.fill_(bias)
        model.bn.running_mean.fill_(IMAGE_MEAN)
        model.bn.running_var.fill_(IMAGE_STD**2)
    return model.eval()


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: these models are tiny, and two threads on a loaded two-core machine
    spend their time waiting for each other (30 times slower, measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def gabor_model() -> tuple[Linear, np.ndarray]:
    """Three LN neurons whose receptive fields are Gabors at 0.3, 1.2 and 2.5 rad."""
    filters = gabor_filters([0.3, 1.2, 2.5])
    return linear_model(filters), filters


@pytest.fixture
def small_cnn() -> CNN:
    """A small random CNN (batch norm and all) with input statistics set, in eval mode."""
    torch.manual_seed(0)
    model = CNN(36, 64, n_neurons=6, hidden_channels=4, kernel_sizes=(7, 5), init_std=0.01)
    model.bn_input.running_mean.fill_(IMAGE_MEAN)
    model.bn_input.running_var.fill_(IMAGE_STD**2)
    return model.eval()

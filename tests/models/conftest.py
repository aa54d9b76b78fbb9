"""Stand-in data for the model tests: small loaders shaped like fens.dataset's."""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

IMAGE_SHAPE = (1, 36, 64)


class NeuronDataset(TensorDataset):
    """``(image, responses)`` pairs plus a ``neurons`` namespace, as the real dataset has."""

    def __init__(self, images: torch.Tensor, responses: torch.Tensor, coordinates: np.ndarray):
        super().__init__(images, responses)
        self.neurons = types.SimpleNamespace(cell_motor_coordinates=coordinates)
        self.n_neurons = responses.shape[1]


def make_dataloaders(
    n_images: int = 11,
    n_neurons: int = 7,
    batch_size: int = 4,
    seed: int = 0,
    coordinates: np.ndarray | None = None,
    images: torch.Tensor | None = None,
    responses: torch.Tensor | None = None,
) -> dict[str, DataLoader]:
    """Loaders of raw-pixel images (0..255) and positive responses; a shuffling train loader.

    Random images and responses unless given (then ``n_images`` and ``n_neurons`` are theirs).
    ``n_images`` is not a multiple of ``batch_size`` by default, so the last batch is short.
    """
    rng = np.random.default_rng(seed)
    if images is None:
        images = torch.from_numpy(rng.uniform(0, 255, size=(n_images, *IMAGE_SHAPE))).float()
    if responses is None:
        responses = torch.from_numpy(rng.gamma(2.0, 0.5, size=(n_images, n_neurons))).float()
    n_neurons = responses.shape[1]
    if coordinates is None:
        coordinates = rng.uniform(-300, 500, size=(n_neurons, 3))
    dataset = NeuronDataset(images, responses, coordinates)
    return {
        "train": DataLoader(dataset, batch_size=batch_size, shuffle=True),
        "validation": DataLoader(dataset, batch_size=batch_size),
        "test": DataLoader(dataset, batch_size=batch_size),
    }


@pytest.fixture
def dataloaders_factory() -> Callable[..., dict[str, DataLoader]]:
    return make_dataloaders

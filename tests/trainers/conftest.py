"""Fixtures of the trainer's tests: stand-in loaders, and no accelerator."""

import pytest
import torch

from fens.utility import device as device_module
from tests.trainers.linear_poisson import linear_poisson_data, make_loaders


@pytest.fixture(scope="module")
def data():
    return linear_poisson_data()


@pytest.fixture
def loaders(data):
    return make_loaders(data[0])


@pytest.fixture(autouse=True)
def _no_accelerator(monkeypatch):
    """Train on the CPU as on a fresh machine without GPU, whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_warned_fallbacks", set())

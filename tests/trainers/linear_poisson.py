"""Stand-in data for the trainer's tests: Poisson responses of neurons with a known linear
rate, in loaders shaped like those of fens.dataset.load_dataset (one dataset, split by sampler)."""

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, SubsetRandomSampler, TensorDataset

from fens.dataset import SubsetSequentialSampler

N_NEURONS = 8
SIDE = 6
TIERS = ["train"] * 300 + ["validation"] * 60 + ["test"] * 40
BATCH_SIZE = 64  # 300 training trials: four batches of 64 and one of 44


def linear_poisson_data(seed=0):
    """Poisson responses of model neurons with rate ``exp(w @ image + b)``, and the true rates."""
    rng = np.random.default_rng(seed)
    tiers = np.array(TIERS)[rng.permutation(len(TIERS))]
    images = rng.normal(size=(len(tiers), 1, SIDE, SIDE))
    weights = rng.normal(scale=0.3, size=(N_NEURONS, SIDE * SIDE))
    rates = np.exp(images.reshape(len(tiers), -1) @ weights.T)  # (trials, neurons)
    responses = rng.poisson(rates)
    dataset = TensorDataset(
        torch.tensor(images, dtype=torch.float32), torch.tensor(responses, dtype=torch.float32)
    )
    dataset.trial_info = SimpleNamespace(tiers=tiers, frame_image_id=np.arange(len(tiers)))
    dataset.neurons = SimpleNamespace(unit_ids=np.arange(N_NEURONS))
    return dataset, rates


def make_loaders(dataset):
    tiers = dataset.trial_info.tiers
    train = SubsetRandomSampler(np.flatnonzero(tiers == "train").tolist())
    return {
        "train": DataLoader(dataset, sampler=train, batch_size=BATCH_SIZE),
        **{
            tier: DataLoader(
                dataset,
                sampler=SubsetSequentialSampler(np.flatnonzero(tiers == tier)),
                batch_size=32,
            )
            for tier in ("validation", "test")
        },
    }


class LinearExp(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(SIDE * SIDE, N_NEURONS)

    def forward(self, images):  # (batch, 1, SIDE, SIDE) -> (batch, neurons)
        return torch.exp(self.linear(images.flatten(1)))

"""A few Adam steps on synthetic data lower every model's Poisson loss towards the truth's."""

import pytest
import torch
from torch.nn import functional as F

from fens.models import CNN, Linear, build_lurz2020_model


def _poisson_loss(output: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    return (output - responses * torch.log(output + 1e-12)).mean()


def _synthetic_data(n_images: int = 24, n_neurons: int = 5):
    """Raw-pixel images and the rates of model neurons with smooth random receptive fields."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(n_images, 1, 36, 64, generator=generator) * 255
    fields = torch.randn(n_neurons, 1, 36, 64, generator=generator)
    fields = F.avg_pool2d(fields, 9, stride=1, padding=4)  # smooth, V1-like spatial scale
    drive = (images - images.mean()).flatten(1) @ fields.flatten(1).T  # (B, N)
    rates = F.softplus(drive / drive.std())
    return images, rates


def _build(kind: str, dataloaders):
    if kind == "ln":
        return Linear(input_height=64, input_width=36, n_neurons=5)
    if kind == "cnn":
        return CNN(
            input_height=64, input_width=36, n_neurons=5, hidden_channels=4, kernel_sizes=(5, 3)
        )
    return build_lurz2020_model(
        dataloaders=dataloaders, seed=0, hidden_channels=4, layers=2, input_kern=15, hidden_kern=13
    )


@pytest.mark.parametrize("kind", ["ln", "cnn", "lurz2020"])
def test_adam_steps_lower_the_poisson_loss(dataloaders_factory, kind):
    images, rates = _synthetic_data()
    dataloaders = dataloaders_factory(images=images, responses=rates)
    truth = _poisson_loss(rates, rates).item()  # the lowest loss any model can reach
    torch.manual_seed(0)
    model = _build(kind, dataloaders)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)  # the trainer's initial rate
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = _poisson_loss(model(images), rates)
        (loss + 1e-4 * model.regularizer()).backward()
        optimizer.step()
        losses.append(loss.item())
    # a fifth of the way from the first loss to the truth's at least (measured: 27 to 57 %)
    assert losses[-1] < losses[0] - 0.2 * (losses[0] - truth), losses

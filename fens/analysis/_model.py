"""What every analysis does first: put the model in evaluation mode on the chosen device, and
check the neuron indices and images it is given."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from fens.utility.checks import check_number
from fens.utility.device import move_model, resolve_device


def prepare_model(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """Resolve ``device`` (see :func:`fens.utility.device.resolve_device`), move ``model`` there
    and put it in evaluation mode (batch norm then uses its running statistics, so every image
    of a batch is processed independently of the others), as the course's notebooks do."""
    resolved = resolve_device(device)
    model.eval()
    move_model(model, resolved)
    return resolved


def as_neuron_indices(
    neuron_indices: int | Sequence[int] | np.ndarray | None, n_neurons: int
) -> np.ndarray:
    """``(n,)`` int64 column indices into the model's output, all of them for ``None``; raises
    ``ValueError`` for an index outside ``0..n_neurons-1`` or an empty selection."""
    if neuron_indices is None:
        return np.arange(n_neurons)
    ids = np.atleast_1d(np.asarray(neuron_indices))
    if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"expected one or more integer neuron indices, got {neuron_indices!r}")
    bad = ids[(ids < 0) | (ids >= n_neurons)]
    if bad.size:
        raise ValueError(
            f"neuron indices {bad.tolist()} are outside 0..{n_neurons - 1} "
            f"(the model predicts {n_neurons} neurons)"
        )
    return ids.astype(np.int64)


def n_neurons_of(model: nn.Module, image_shape: tuple[int, int], device: torch.device) -> int:
    """Number of neurons ``model`` predicts, from one forward pass of a grey image."""
    with torch.no_grad():
        return model(torch.zeros(1, 1, *image_shape, device=device)).shape[1]


@contextmanager
def frozen(model: nn.Module) -> Iterator[None]:
    """Inside the block no parameter of ``model`` requires a gradient (restored afterwards), so
    a gradient with respect to the image skips the weights' gradients."""
    flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def own_responses(
    model: nn.Module, images: torch.Tensor, neuron_indices: torch.Tensor
) -> torch.Tensor:
    """``(B,)`` the response of neuron ``neuron_indices[b]`` to ``images[b]``.

    A model with a ``forward_paired(images, neuron_indices)`` method (fens' Lurz et al. model)
    computes those neurons only; any other model computes all ``(B, N)`` responses, of which
    this picks one per image."""
    if hasattr(model, "forward_paired"):
        return model.forward_paired(images, neuron_indices)
    rows = torch.arange(len(neuron_indices), device=images.device)
    return model(images)[rows, neuron_indices]


def check_image(image: np.ndarray, name: str = "input_image") -> np.ndarray:
    """``image`` as a float64 ``(height, width)`` array; raises ``ValueError`` otherwise."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"{name} must be one (height, width) image, got shape {image.shape}")
    return image


def as_scalar(value: float | np.ndarray, name: str, **bounds: Any) -> float:
    """A finite Python float from a number or a one-element array (the data set's statistics),
    within ``bounds`` (the keywords of :func:`fens.utility.checks.check_number`)."""
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ValueError(f"{name} must be a single number, got an array of shape {array.shape}")
    return check_number(name, float(array.reshape(())), **bounds)


def summarize_values(values: np.ndarray, fmt: str = "d", most: int = 6) -> str:
    """``values`` as ``[a, b, c]``, or ``[a, b, c, ..., z]`` (with their count) when there are
    more than ``most``: for reprs that stay one line whatever the number of neurons."""
    values = np.asarray(values).ravel()
    shown = [format(v, fmt) for v in values.tolist()]
    if len(shown) <= most:
        return f"[{', '.join(shown)}]"
    return f"{len(shown)} [{', '.join(shown[: most - 2])}, ..., {shown[-1]}]"

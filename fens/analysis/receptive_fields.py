"""Gradient receptive fields: the gradient of a neuron's predicted response with respect to the
image.

For a linear-nonlinear neuron ``r = a(w . x + b)`` the gradient is ``a'(w . x + b) w``: its
receptive field ``w`` up to a positive scale (``a`` increasing), wherever it is taken. For a deep
network it is the receptive field of the network's linear approximation at the chosen image,
which can change from image to image; the course takes it at the mean image (a uniform grey).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fens.analysis._model import (
    as_neuron_indices,
    check_image,
    frozen,
    n_neurons_of,
    own_responses,
    prepare_model,
)
from fens.utility.checks import check_int
from fens.utility.deprecation import deprecated_arguments


def generate_grad_rf(
    model: nn.Module,
    neuron_idx: int,
    input_image: np.ndarray,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """The gradient receptive field of one neuron at ``input_image`` (the FENS 2022 signature;
    :func:`generate_grad_rfs` does many neurons at once).

    Args:
        model: maps images ``(batch, 1, height, width)`` to responses ``(batch, n_neurons)``;
            put in evaluation mode and moved to ``device``.
        neuron_idx: the neuron's column index into the model's output.
        input_image: ``(height, width)`` image the gradient is taken at, in the model's input
            units (raw 0..255 pixels for the course's models), e.g. a uniform image at the mean
            pixel value.
        device: where to compute (:func:`fens.utility.device.resolve_device`; an unavailable
            ``'cuda'`` falls back to the CPU with a warning).

    Returns:
        ``(height, width)`` float32 gradient, in response units per pixel unit.
    """
    return generate_grad_rfs(
        model, input_image=input_image, neuron_indices=[neuron_idx], device=device
    )[0]


@deprecated_arguments(
    renamed={"neuron_ids": "neuron_indices"},
    positional=("input_image", "neuron_indices", "device", "batch_size", "progress"),
)
def generate_grad_rfs(
    model: nn.Module,
    *,
    input_image: np.ndarray,
    neuron_indices: Sequence[int] | np.ndarray | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Gradient receptive fields of many neurons, ``batch_size`` neurons per backward pass.

    A batch of identical copies of ``input_image`` goes through the model; element ``i`` of the
    batch contributes only the response of the ``i``-th neuron to the summed output, so one
    backward pass gives each copy the gradient of its own neuron. This relies on the batch
    elements being independent, which holds in evaluation mode.

    Args:
        model: as in :func:`generate_grad_rf`.
        input_image: ``(height, width)`` image the gradients are taken at.
        neuron_indices: the neurons' column indices into the model's output; ``None``: all.
        device: where to compute, as in :func:`generate_grad_rf`.
        batch_size: neurons per pass (memory grows with it).
        progress: show a tqdm progress bar over the passes.

    Returns:
        ``(n_neurons_chosen, height, width)`` float32 gradients, in the order of
        ``neuron_indices``.
    """
    image = check_image(input_image)
    batch_size = check_int("batch_size", batch_size)
    device = prepare_model(model, device)
    ids = as_neuron_indices(neuron_indices, n_neurons_of(model, image.shape, device))
    base = torch.tensor(image, dtype=torch.float32, device=device)[None, None]  # (1, 1, H, W)
    rfs = np.empty((len(ids), *image.shape), dtype=np.float32)
    starts = range(0, len(ids), batch_size)
    with frozen(model):
        for start in tqdm(starts, desc="gradient RFs", disable=not progress):
            chunk = torch.as_tensor(ids[start : start + batch_size], device=device)
            x = base.expand(len(chunk), -1, -1, -1).clone().requires_grad_(True)  # (b, 1, H, W)
            own = own_responses(model, x, chunk)  # (b,) neuron i of copy i
            (grad,) = torch.autograd.grad(own.sum(), x)  # (b, 1, H, W)
            rfs[start : start + len(chunk)] = grad[:, 0].cpu().numpy()
    return rfs

"""Choosing the device (GPU or CPU) that models and data are put on.

A notebook written for a GPU (``device='cuda'``) must still run on a laptop or a CPU-only Colab
session: :func:`resolve_device` falls back to the CPU there, with one warning per requested
device rather than one on every call of a training loop.
"""

from __future__ import annotations

import warnings

import torch

# Requested devices that have already been warned about in this Python session.
_warned_fallbacks: set[str] = set()


class DeviceFallbackWarning(RuntimeWarning):
    """A requested accelerator is not available, so the CPU is used instead."""


def _is_available(device: torch.device) -> bool:
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        return device.index is None or device.index < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return True


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The :class:`torch.device` to compute on.

    Args:
        device: ``None`` picks the best available device: CUDA, then Apple's MPS, then the CPU.
            An explicit device (``'cuda'``, ``'cuda:1'``, ``'mps'``, ``'cpu'``) is used when this
            machine has it; otherwise the CPU is used and a :class:`DeviceFallbackWarning` is
            issued, once per requested device and Python session.

    Returns:
        The device to use.

    Raises:
        ValueError: ``device`` is not a device name torch understands.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        requested = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"not a device name torch understands: {device!r} ({error})") from None
    if _is_available(requested):
        return requested
    if str(requested) not in _warned_fallbacks:
        _warned_fallbacks.add(str(requested))
        warnings.warn(
            f"device {str(requested)!r} is not available on this machine; using the CPU instead "
            "(the same computation, only slower)",
            DeviceFallbackWarning,
            stacklevel=2,
        )
    return torch.device("cpu")


def move_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move ``model`` to ``device`` in place (as ``model.to(device)``) and return it.

    On a CPU, a model whose class sets ``cpu_channels_last = True`` (fens' CNNs, whose forward
    takes either memory layout) also gets its 4-d weights (the convolutions') in channels-last
    memory, which changes no value and makes its training and its gradients with respect to the
    image (MEIs) faster (measured in bench/README.md). Any other model is only moved:
    channels-last feature maps break a ``forward`` that calls ``.view`` on them."""
    model.to(device)
    if device.type == "cpu" and getattr(model, "cpu_channels_last", False):
        model.to(memory_format=torch.channels_last)
    return model

"""Sizes of models: how many parameters, how many megabytes."""

from __future__ import annotations

from torch import nn

_BYTES_PER_FLOAT32 = 4


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def summarize(model: nn.Module) -> str:
    """One line: the model's class, its parameter count and their size in float32.

    Example: ``"LNModel: 12,297,175 parameters, 49.2 MB in float32"`` (1 MB = 10^6 bytes;
    buffers such as batch-norm statistics are not counted).
    """
    n = count_parameters(model)
    megabytes = n * _BYTES_PER_FLOAT32 / 1e6
    return f"{type(model).__name__}: {n:,} parameters, {megabytes:.1f} MB in float32"

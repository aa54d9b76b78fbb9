"""Building blocks of the course's models: faster versions of standard layers, and penalties.

Each block computes what a standard layer computes (the same parameters, results and gradients,
to float rounding), only faster; the models in :mod:`fens.models` use them, and a reader of
those models never needs to open this package.

- :mod:`~fens.models.blocks.readout`: :class:`FastFullGaussian2d`, neuralpredictors'
  ``FullGaussian2d`` (the Gaussian readout of Lurz et al. 2021) with its bilinear sampling
  written as a gather (:func:`bilinear_sample`). It subclasses the neuralpredictors class, so
  importing it imports neuralpredictors: this package imports it only on first use.
- :mod:`~fens.models.blocks.depthwise`: :class:`DepthwiseConv2d`, an ``nn.Conv2d`` with
  ``groups == channels`` whose weight gradient is fast on a CPU; :func:`use_fast_depthwise`
  swaps it into a core, :func:`set_depthwise_kernel` chooses the GPU kernels.
- :mod:`~fens.models.blocks.triton_depthwise`: the same depthwise convolution as Triton kernels
  for GPUs (used only where asked).
- :mod:`~fens.models.blocks.penalties`: :func:`l1_norm`, ``sum |w|`` with a cheap gradient, for
  readouts of millions of weights.

How much faster each block is, and on what: ``bench/README.md`` ("The blocks' speed").
"""

from __future__ import annotations

import importlib
from typing import Any

from fens.models.blocks.depthwise import (
    DepthwiseConv2d,
    depthwise_weight_grad,
    set_depthwise_kernel,
    use_fast_depthwise,
)
from fens.models.blocks.penalties import l1_norm

# Imported on first use: the readout module imports neuralpredictors.
_LAZY = {"FastFullGaussian2d": "readout", "bilinear_sample": "readout"}

__all__ = [
    "DepthwiseConv2d",
    "FastFullGaussian2d",
    "bilinear_sample",
    "depthwise_weight_grad",
    "l1_norm",
    "set_depthwise_kernel",
    "use_fast_depthwise",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

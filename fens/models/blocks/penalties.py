"""Weight penalties with gradients cheap enough for readouts of millions of weights.

The LN model and the simple CNN penalise the L1 norm of their readout weights, 12 million and
98 million of them for the course's 5335 neurons. Written as ``weight.abs().sum()``, autograd
makes four full passes over the weights in a training step (``abs``, the sum, ``sgn`` and the
product with the upstream gradient), each writing a tensor as large as the weights (393 MB for
the CNN's readout). :func:`l1_norm` gives the same value and gradient in two passes (timings:
``bench/README.md``).
"""

from __future__ import annotations

import torch


class _L1Norm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weight)
        return torch.linalg.vector_norm(weight, ord=1)  # one pass, no |w| tensor

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (weight,) = ctx.saved_tensors
        return torch.sign(weight).mul_(grad_output)  # d|w|/dw = sign(w), 0 at w = 0


def l1_norm(weight: torch.Tensor) -> torch.Tensor:
    """``sum |w|`` over all entries of ``weight``: a scalar tensor.

    The same value and gradient (``sign(w)``, 0 where ``w == 0``) as ``weight.abs().sum()``,
    computed with fewer passes over the weights.
    """
    return _L1Norm.apply(weight)

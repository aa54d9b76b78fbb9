"""The linear-nonlinear (LN) model: one linear filter per neuron on the pixels, then ELU + 1.

Each neuron's mean response is ``r = ELU(w . x + b) + 1`` where ``x`` is the flattened image and
``w`` its receptive field, a filter the size of the image. Batch norm on the image (no learned
scale or shift) first centres and scales the raw 0..255 pixels, so neither the initialisation
nor the learning rate needs to know the image statistics.

:class:`LNModel` is also importable as ``Linear``, its name in the 2022 course.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from fens.models.blocks.penalties import l1_norm
from fens.utility.checks import check_int, check_number


class LNModel(nn.Module):
    """Linear-nonlinear model of ``n_neurons`` neurons on ``input_height x input_width`` images.

    Only the number of pixels ``input_height * input_width`` fixes the weight shape: the course's
    notebooks build it with ``input_height=64, input_width=36`` for images of shape
    ``(B, 1, 36, 64)``, which works because the image is flattened.

    Args:
        input_height: image height in pixels.
        input_width: image width in pixels.
        n_neurons: number of neurons predicted.
        momentum: momentum of the input batch norm's running statistics (PyTorch's convention:
            the weight of the newest batch; None: a cumulative average).
        init_std: standard deviation of the initial weights (:meth:`initialize`).
        gamma: weight of the L1 penalty on the receptive fields (:meth:`regularizer`).

    Attributes:
        bn: ``nn.BatchNorm2d(1, affine=False)`` on the image.
        linear: ``nn.Linear(input_height * input_width, n_neurons)``; row ``i`` of its weight is
            neuron ``i``'s receptive field, in normalised-pixel units.
    """

    def __init__(
        self,
        input_height: int,
        input_width: int,
        n_neurons: int,
        momentum: float = 0.1,
        init_std: float = 1e-3,
        gamma: float = 0.0,
    ) -> None:
        super().__init__()
        input_height = check_int("input_height", input_height)
        input_width = check_int("input_width", input_width)
        n_neurons = check_int("n_neurons", n_neurons)
        momentum = check_number("momentum", momentum, minimum=0, maximum=1, optional=True)
        init_std = check_number("init_std", init_std, minimum=0)
        gamma = check_number("gamma", gamma, minimum=0)
        # The constructor's arguments, which rebuild this model from a checkpoint.
        self.init_kwargs = dict(
            input_height=input_height,
            input_width=input_width,
            n_neurons=n_neurons,
            momentum=momentum,
            init_std=init_std,
            gamma=gamma,
        )
        self.input_height = input_height
        self.input_width = input_width
        self.n_neurons = n_neurons
        self.init_std = init_std
        self.gamma = gamma
        self.bn = nn.BatchNorm2d(1, momentum=momentum, affine=False)
        self.linear = nn.Linear(input_height * input_width, n_neurons)
        self.initialize()

    def initialize(self, std: float | None = None) -> None:
        """Draw the weights from N(0, std^2) (``std`` defaults to ``init_std``); zero the bias."""
        std = self.init_std if std is None else std
        nn.init.normal_(self.linear.weight, std=std)
        nn.init.zeros_(self.linear.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted mean responses.

        Args:
            images: ``(batch, 1, height, width)`` with ``height * width`` equal to
                ``input_height * input_width``; raw pixel values (0..255) are fine.

        Returns:
            ``(batch, n_neurons)`` responses, all > 0.
        """
        n_pixels = self.linear.in_features
        if images.ndim != 4 or images.shape[1] != 1 or images.shape[2:].numel() != n_pixels:
            raise ValueError(
                f"expected images of shape (batch, 1, height, width) with height * width = "
                f"{n_pixels}, got {tuple(images.shape)}"
            )
        x = self.bn(images)  # (B, 1, H, W), zero mean and unit variance over the batch
        x = self.linear(x.flatten(1))  # (B, H*W) -> (B, N)
        return F.elu(x) + 1

    def regularizer(self) -> torch.Tensor:
        """``gamma * sum |w|`` over all receptive-field weights: a scalar tensor."""
        return self.gamma * l1_norm(self.linear.weight)

    def extra_repr(self) -> str:
        return (
            f"{self.input_height}x{self.input_width} pixels -> {self.n_neurons} neurons, "
            f"gamma={self.gamma:g}"
        )


#: The name of the 2022 course (``Linear(input_height=64, input_width=36, n_neurons=...)``):
#: the same class as :class:`LNModel`.
Linear = LNModel

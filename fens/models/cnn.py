"""A simple convolutional network with a fully connected readout.

A few convolutional layers (each convolution, batch norm, ELU) turn the image into
``hidden_channels`` feature maps of the image's size; one fully connected layer then maps every
feature at every position to every neuron, followed by ELU + 1. That readout holds
``hidden_channels * height * width * n_neurons`` weights: 8 x 36 x 64 x 5335 = 98.3 million
(393 MB in float32) for the course's data set, almost all of the model. A readout that picks one
position per neuron, as Lurz et al. (2021) do (:mod:`fens.models.lurz2020`), needs only
``hidden_channels`` weights and a position per neuron.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from fens.models.blocks.penalties import l1_norm
from fens.utility.checks import check_int, check_number


class CNN(nn.Module):
    """Convolutional core and fully connected readout for ``n_neurons`` neurons.

    Architecture: ``BatchNorm2d(1, affine=False)`` on the image (so raw 0..255 pixels work and
    the zero padding of the first convolution pads with the mean pixel), then one block per entry
    of ``kernel_sizes``: ``Conv2d`` (same padding, no bias) -> ``BatchNorm2d`` -> ``ELU``; then
    the readout ``Linear(hidden_channels * h * w, n_neurons)`` -> ``BatchNorm1d(n_neurons)`` and
    ELU + 1.

    The readout's batch norm (as in the FENS 2022 solution) keeps every neuron's drive at unit
    scale however large its ~18,000 weights grow: without it, Adam's first steps, which move each
    weight by about the learning rate, shift the drive by tens and the loss climbs for a while.
    With it, shrinking all of one neuron's weights together does not change the prediction, so
    the L1 penalty shapes the weights' relative sizes (sparsity) rather than their overall scale.

    Args:
        input_height: image height in pixels.
        input_width: image width in pixels (the flattened readout only needs
            ``input_height * input_width`` to be right, as for :class:`~fens.models.LNModel`).
        n_neurons: number of neurons predicted.
        momentum: momentum of every batch norm's running statistics (PyTorch's convention;
            None: a cumulative average).
        init_std: standard deviation of the initial readout weights (:meth:`initialize`).
        gamma: weight of the L1 penalty on the readout weights (:meth:`regularizer`).
        hidden_channels: feature maps per convolutional layer.
        kernel_sizes: kernel size of each convolutional layer (odd); one layer per entry.

    Attributes:
        bn_input: batch norm on the image.
        cnn_core: the convolutional layers, ``(B, 1, H, W) -> (B, hidden_channels, H, W)``.
        readout: ``readout[0]`` is the fully connected ``nn.Linear``, ``readout[1]`` its batch norm.
    """

    cpu_channels_last = True  # forward takes either layout (fens.utility.device.move_model)

    def __init__(
        self,
        input_height: int,
        input_width: int,
        n_neurons: int,
        momentum: float = 0.1,
        init_std: float = 1e-3,
        gamma: float = 0.1,
        hidden_channels: int = 8,
        kernel_sizes: Sequence[int] = (15, 13, 13),
    ) -> None:
        super().__init__()
        input_height = check_int("input_height", input_height)
        input_width = check_int("input_width", input_width)
        n_neurons = check_int("n_neurons", n_neurons)
        momentum = check_number("momentum", momentum, minimum=0, maximum=1, optional=True)
        init_std = check_number("init_std", init_std, minimum=0)
        gamma = check_number("gamma", gamma, minimum=0)
        hidden_channels = check_int("hidden_channels", hidden_channels)
        kernel_sizes = _check_kernel_sizes(kernel_sizes)
        # The constructor's arguments, which rebuild this model from a checkpoint.
        self.init_kwargs = dict(
            input_height=input_height,
            input_width=input_width,
            n_neurons=n_neurons,
            momentum=momentum,
            init_std=init_std,
            gamma=gamma,
            hidden_channels=hidden_channels,
            kernel_sizes=list(kernel_sizes),
        )
        self.input_height = input_height
        self.input_width = input_width
        self.n_neurons = n_neurons
        self.init_std = init_std
        self.gamma = gamma

        self.bn_input = nn.BatchNorm2d(1, momentum=momentum, affine=False)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = 1
        for i, kernel in enumerate(kernel_sizes, start=1):
            layers[f"conv{i}"] = nn.Conv2d(
                in_channels, hidden_channels, kernel, padding=kernel // 2, bias=False
            )
            layers[f"bn{i}"] = nn.BatchNorm2d(hidden_channels, momentum=momentum)
            layers[f"elu{i}"] = nn.ELU()
            in_channels = hidden_channels
        self.cnn_core = nn.Sequential(layers)
        n_features = hidden_channels * input_height * input_width
        self.readout = nn.Sequential(
            OrderedDict(
                fc_ro=nn.Linear(n_features, n_neurons),
                bn_ro=nn.BatchNorm1d(n_neurons, momentum=momentum),
            )
        )
        self.initialize()

    def initialize(self, std: float | None = None) -> None:
        """Initialise the weights.

        Convolutions: Xavier-normal (as neuralpredictors' cores do; batch norm follows each, so
        their scale only sets the effective step size). Readout: N(0, std^2) weights (``std``
        defaults to ``init_std``) and zero bias.
        """
        std = self.init_std if std is None else std
        for module in self.cnn_core.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
        nn.init.normal_(self.readout[0].weight, std=std)
        nn.init.zeros_(self.readout[0].bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted mean responses.

        Args:
            images: ``(batch, 1, height, width)`` with ``height * width`` equal to
                ``input_height * input_width``; raw pixel values (0..255) are fine.

        Returns:
            ``(batch, n_neurons)`` responses, all > 0.
        """
        n_pixels = self.input_height * self.input_width
        if images.ndim != 4 or images.shape[1] != 1 or images.shape[2:].numel() != n_pixels:
            raise ValueError(
                f"expected images of shape (batch, 1, height, width) with height * width = "
                f"{n_pixels}, got {tuple(images.shape)}"
            )
        x = self.bn_input(images)  # (B, 1, H, W)
        x = self.cnn_core(x)  # (B, C, H, W)
        x = self.readout(x.flatten(1))  # (B, C*H*W) -> (B, N), batch-normalised per neuron
        return F.elu(x) + 1

    def regularizer(self) -> torch.Tensor:
        """``gamma * sum |w|`` over the fully connected readout's weights: a scalar tensor."""
        return self.gamma * l1_norm(self.readout[0].weight)

    def extra_repr(self) -> str:
        return (
            f"{self.input_height}x{self.input_width} pixels -> {self.n_neurons} neurons, "
            f"gamma={self.gamma:g}"
        )


def _check_kernel_sizes(kernel_sizes: Sequence[int]) -> list[int]:
    """``kernel_sizes`` as a list of odd positive integers (one layer each, at least one)."""
    sizes = [check_int("kernel_sizes entries", k) for k in kernel_sizes]
    if not sizes or any(k % 2 == 0 for k in sizes):
        raise ValueError(f"kernel_sizes must be one or more odd sizes, got {kernel_sizes}")
    return sizes

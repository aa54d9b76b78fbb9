"""A depthwise convolution whose weight gradient is fast on a CPU.

The core of the Lurz et al. (2021) model has three depth-separable layers, each with one 13x13
filter per channel (a depthwise convolution, ``groups == channels``). On a CPU, PyTorch computes
the gradient of such a layer's weights much more slowly than its forward pass.

That gradient is itself a depthwise convolution, with the roles swapped: for channel ``c``,
``dL/dw[c, p, q] = sum_b sum_ij x_pad[b, c, i + p, j + q] * g[b, c, i, j]``, i.e. each
``(image, channel)`` map of the padded input convolved with the output gradient of the same map
as its (large) kernel, summed over images. :class:`DepthwiseConv2d` computes it that way, as
one grouped convolution with ``batch * channels`` groups, which the CPU kernels run faster
(timings: ``bench/README.md``). It holds the same parameters as the ``nn.Conv2d`` it replaces
and gives the same outputs and gradients up to float rounding. Only CPU training uses the
custom gradient: evaluation, GPUs and unsupported settings (stride, dilation, padding modes) run
``nn.Conv2d``'s own, except that on a CUDA device :func:`set_depthwise_kernel` can choose the
Triton kernels of :mod:`fens.models.blocks.triton_depthwise`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _DepthwiseConv2dFunction(torch.autograd.Function):
    """Stride-1 depthwise convolution with symmetric zero padding ``padding``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, padding=padding, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, weight = ctx.saved_tensors
        padding = ctx.padding
        channels, _, kh, kw = weight.shape
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            # The transposed convolution: the flipped filters over the output gradient.
            grad_x = F.conv2d(
                grad_output,
                weight.flip((2, 3)),
                padding=(kh - 1 - padding, kw - 1 - padding),
                groups=channels,
            )
        if ctx.needs_input_grad[1]:
            grad_weight = depthwise_weight_grad(x, grad_output, padding, (kh, kw))
        return grad_x, grad_weight, None


def depthwise_weight_grad(
    x: torch.Tensor, grad_output: torch.Tensor, padding: int, kernel_size: tuple[int, int]
) -> torch.Tensor:
    """Gradient ``(C, 1, kh, kw)`` of a stride-1 depthwise convolution's weights.

    Args:
        x: ``(B, C, H, W)`` the layer's input.
        grad_output: ``(B, C, H + 2 * padding - kh + 1, W + 2 * padding - kw + 1)``.
        padding: symmetric zero padding of the forward convolution.
        kernel_size: ``(kh, kw)``.
    """
    batch, channels, height, width = x.shape
    out_height, out_width = grad_output.shape[2:]
    # Each (image, channel) map is a group; NCHW memory makes both reshapes free views.
    maps = F.pad(x.contiguous(), (padding,) * 4).reshape(
        1, batch * channels, height + 2 * padding, width + 2 * padding
    )
    kernels = grad_output.contiguous().reshape(batch * channels, 1, out_height, out_width)
    per_image = F.conv2d(maps, kernels, groups=batch * channels)  # (1, B*C, kh, kw)
    return per_image.view(batch, channels, *kernel_size).sum(0).unsqueeze(1)


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` with ``groups == in_channels == out_channels``, fast to train on a CPU.

    Build it from an existing layer with :meth:`from_conv` (it then shares that layer's
    parameters) or like ``nn.Conv2d``.
    """

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> DepthwiseConv2d:
        """A :class:`DepthwiseConv2d` holding ``conv``'s own weight and bias (not copies)."""
        if not (conv.groups == conv.in_channels == conv.out_channels):
            raise ValueError(
                f"not a depthwise convolution: groups={conv.groups}, "
                f"in_channels={conv.in_channels}, out_channels={conv.out_channels}"
            )
        # fork_rng: drawing the throw-away initial weights leaves the random state as it was.
        with torch.random.fork_rng(devices=[]):
            layer = cls(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,
                stride=conv.stride,
                padding=conv.padding,
                dilation=conv.dilation,
                groups=conv.groups,
                bias=conv.bias is not None,
                padding_mode=conv.padding_mode,
                device=conv.weight.device,
                dtype=conv.weight.dtype,
            )
        layer.weight = conv.weight
        layer.bias = conv.bias
        return layer

    #: What runs on a CUDA device: ``"torch"`` (PyTorch's own kernels) or ``"triton"``
    #: (:mod:`fens.models.blocks.triton_depthwise`); set it with :func:`set_depthwise_kernel`.
    gpu_kernel: str = "torch"

    def _plain(self) -> bool:
        """Depthwise, stride 1, no dilation, explicit zero padding of at most kernel size - 1."""
        padding = self.padding
        return (
            self.groups == self.in_channels == self.out_channels
            and self.stride == (1, 1)
            and self.dilation == (1, 1)
            and self.padding_mode == "zeros"
            and isinstance(padding, tuple)
            and all(p <= k - 1 for p, k in zip(padding, self.kernel_size, strict=True))
        )

    def _fast_backward_applies(self, x: torch.Tensor) -> bool:
        return (
            self.training
            and x.device.type == "cpu"
            and torch.is_grad_enabled()
            and self._plain()
            and self.padding[0] == self.padding[1]
        )

    def _triton_applies(self, x: torch.Tensor) -> bool:
        return self.gpu_kernel == "triton" and x.device.type == "cuda" and self._plain()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C, H', W')``, as ``nn.Conv2d``."""
        if self._triton_applies(x):
            from fens.models.blocks.triton_depthwise import triton_depthwise_conv2d

            y = triton_depthwise_conv2d(x, self.weight, self.padding)
        elif self._fast_backward_applies(x):
            y = _DepthwiseConv2dFunction.apply(x, self.weight, self.padding[0])
        else:
            return super().forward(x)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y


def use_fast_depthwise(module: nn.Module) -> int:
    """Replace every depthwise ``nn.Conv2d`` inside ``module`` by a :class:`DepthwiseConv2d`
    holding the same parameters; returns how many were replaced. The state dict is unchanged."""
    replaced = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if (
                type(child) is nn.Conv2d
                and child.groups > 1
                and child.groups == child.in_channels == child.out_channels
            ):
                setattr(parent, name, DepthwiseConv2d.from_conv(child))
                replaced += 1
    return replaced


def set_depthwise_kernel(module: nn.Module, gpu_kernel: str) -> int:
    """Choose what every :class:`DepthwiseConv2d` inside ``module`` runs on a CUDA device:
    ``"torch"`` (the default) or ``"triton"``; returns how many layers were set.

    Raises:
        ValueError: an unknown ``gpu_kernel``.
        RuntimeError: ``"triton"`` without the ``triton`` package.
    """
    if gpu_kernel not in ("torch", "triton"):
        raise ValueError(f"gpu_kernel must be 'torch' or 'triton', got {gpu_kernel!r}")
    if gpu_kernel == "triton":
        from fens.models.blocks.triton_depthwise import TRITON_AVAILABLE

        if not TRITON_AVAILABLE:
            raise RuntimeError("gpu_kernel='triton' needs the triton package (pip install triton)")
    layers = [m for m in module.modules() if isinstance(m, DepthwiseConv2d)]
    for layer in layers:
        layer.gpu_kernel = gpu_kernel
    return len(layers)

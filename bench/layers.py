"""The two hot spots of a SOTA training step, layer by layer: which implementation is fastest here?

A training step of the course's SOTA model spends most of its time in two places (issue 5):
the 13x13 depthwise convolutions of the core and the readout's sampling of the feature maps at
one position per neuron. This script times, on one device and in one run, forward and
forward + backward of each implementation at the sizes of the full data set (batch 60):

- depthwise convolution, 64 channels of 22x50 maps, 13x13 filters, padding 6:
  ``nn.Conv2d`` in NCHW and channels-last memory, and :class:`fens.models.blocks.depthwise`'s custom
  weight gradient (``_DepthwiseConv2dFunction``, which ``DepthwiseConv2d`` uses only when
  training on a CPU) in both memory formats; on a GPU also the Triton kernels of
  :mod:`fens.models.blocks.triton_depthwise` with several tile sizes; before timing, it checks that
  all give ``nn.Conv2d``'s outputs and gradients;
- readout sampling, 64-channel 22x50 maps at 5335 positions per image: ``F.grid_sample`` (what
  neuralpredictors' ``FullGaussian2d`` calls) against :func:`fens.models.blocks.readout.bilinear_sample`.

On a GPU the figures say whether the custom gradient or the Triton kernels should run there
(today both are off on a GPU) and how far each layer is from the rest of the step::

    python bench/layers.py --device cuda [--repeats 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from fens.models.blocks.depthwise import _DepthwiseConv2dFunction
from fens.models.blocks.readout import bilinear_sample
from fens.models.blocks.triton_depthwise import Tiles, triton_depthwise_conv2d, triton_fails
from fens.utility.device import resolve_device


def timed(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``run()`` over ``repeats`` calls, after two untimed ones."""
    times = []
    for i in range(repeats + 2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


# Work per program of the Triton kernels (pixels, images in the weight gradient): the default
# first, then the neighbours a GPU run should try.
TRITON_TILES = [
    Tiles(32, 4),
    Tiles(16, 4),
    Tiles(64, 4),
    Tiles(128, 4),
    Tiles(32, 1),
    Tiles(32, 16),
]

# An implementation: a function of no arguments returning the layer's output, and the tensors
# (input, weights) whose gradients it computes.
Variant = tuple[Callable[[], torch.Tensor], list[torch.Tensor]]


def depthwise_variants(x: torch.Tensor, conv: nn.Conv2d) -> dict[str, Variant]:
    """The depthwise layer ``conv`` on ``x``, four ways, and on a GPU by Triton kernels with
    each of :data:`TRITON_TILES` (channels-last)."""
    padding = conv.padding[0]

    def fens_grad(inp: torch.Tensor) -> torch.Tensor:
        return _DepthwiseConv2dFunction.apply(inp, conv.weight, padding)

    variants = {}
    for fmt_name, fmt in (
        ("NCHW", torch.contiguous_format),
        ("channels-last", torch.channels_last),
    ):
        inp = x.detach().to(memory_format=fmt).requires_grad_()
        for name, layer in (("nn.Conv2d", conv), ("fens weight grad", fens_grad)):
            variants[f"{name} {fmt_name}"] = (lambda f=layer, i=inp: f(i), [inp, conv.weight])
    if x.device.type == "cuda":
        failure = triton_fails(x.device)
        if failure is not None:
            print(f"triton left out: {failure}")
            return variants
        inp = x.detach().to(memory_format=torch.channels_last).requires_grad_()
        for tiles in TRITON_TILES:
            variants[f"triton {tiles.pixels} px, {tiles.images} img"] = (
                lambda t=tiles: triton_depthwise_conv2d(inp, conv.weight, conv.padding, tiles=t),
                [inp, conv.weight],
            )
    return variants


def readout_variants(features: torch.Tensor, grid: torch.Tensor) -> dict[str, Variant]:
    """Sampling ``features`` ``(B, C, H, W)`` at ``grid`` ``(B, n, 2)``: ``(B, n, C)``, two ways."""
    features = features.detach().to(memory_format=torch.channels_last).requires_grad_()
    grid = grid.detach().requires_grad_()

    def grid_sample() -> torch.Tensor:
        sampled = F.grid_sample(features, grid[:, :, None], align_corners=True)  # (B, C, n, 1)
        return sampled[..., 0].transpose(1, 2)

    return {
        "F.grid_sample": (grid_sample, [features, grid]),
        "fens bilinear_sample": (lambda: bilinear_sample(features, grid), [features, grid]),
    }


def check_same(variants: dict[str, Variant]) -> None:
    """Stop unless every variant gives the first one's output and gradients (float tolerance)."""
    reference = None
    for name, (run, leaves) in variants.items():
        for leaf in leaves:
            leaf.grad = None
        output = run()
        output.backward(torch.ones_like(output))
        result = [("output", output.detach())] + [
            (f"gradient of leaf {i}", leaf.grad) for i, leaf in enumerate(leaves)
        ]
        if reference is None:
            reference_name, reference = name, result
            continue
        for (what, expected), (_, actual) in zip(reference, result, strict=True):
            scale = float(expected.abs().max())
            if not torch.allclose(actual, expected, rtol=1e-3, atol=1e-4 * scale):
                raise SystemExit(f"{name} differs from {reference_name} in the {what}")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the fastest)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per figure")
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--neurons", type=int, default=5335)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    channels, height, width, kernel = 64, 22, 50, 13

    x = torch.randn(args.batch, channels, height, width, device=device)
    conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False)
    features = torch.randn(args.batch, channels, height, width, device=device)
    grid = torch.rand(args.batch, args.neurons, 2, device=device) * 2 - 1
    groups = {
        "depthwise": depthwise_variants(x, conv.to(device)),
        "readout": readout_variants(features, grid),
    }
    for variants in groups.values():
        check_same(variants)

    figures: dict[str, dict[str, float]] = {}
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"median of {args.repeats} calls; all variants agree with the first of their group"
    )
    print(f"{'layer':<34}{'forward (ms)':>14}{'fwd + bwd (ms)':>16}")
    for variants in groups.values():
        for name, (run, _) in variants.items():
            output = run()
            grad = torch.randn_like(output)
            with torch.no_grad():
                forward = timed(run, device, args.repeats)
            both = timed(lambda run=run, grad=grad: run().backward(grad), device, args.repeats)
            figures[name] = {"forward": forward, "forward_backward": both}
            print(f"{name:<34}{1e3 * forward:>14.2f}{1e3 * both:>16.2f}")
    return figures


if __name__ == "__main__":
    main()

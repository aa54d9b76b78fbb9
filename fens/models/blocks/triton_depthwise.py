"""A depthwise convolution written as Triton kernels, for GPUs.

On a GPU, PyTorch's native kernels for the three 13x13 depthwise layers of the Lurz et al.
(2021) core run far below the chip's arithmetic limit, and they dominate a training step
(figures: ``bench/README.md``). The layer is small (a 60x64x22x50 input is 17 MB) and regular,
so direct kernels can work from cache.

The kernels work channels-last (``(B, H, W, C)`` in memory): a program takes a block of pixels
of one image and a block of channels, and loops over the taps, each tap one load of a
``(pixels, channels)`` tile and one multiply-add; the addresses and border masks are computed
per pixel and shared by all channels. Three kernels make the layer and both its gradients
(stride 1, zero padding, any kernel size):

- forward: ``y[b, c, i, j] = sum_pq x[b, c, i + p - ph, j + q - pw] * w[c, p, q]``;
- input gradient: the same kernel over the output gradient with the flipped filters and the
  complementary padding ``(kh - 1 - ph, kw - 1 - pw)``;
- weight gradient: ``dw[c, p, q] = sum_b sum_ij x[b, c, i + p - ph, j + q - pw] * g[b, c, i, j]``,
  one partial sum per program (a block of pixels of a few images), added up afterwards in a
  fixed order (deterministic, no atomics).

All accumulate in float32, and return channels-last tensors. ``triton`` comes with PyTorch's
CUDA builds; without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set
before ``triton`` is imported), which is how the tests check them on a CPU, and the tests
compile them for T4, A100 and H100 GPUs. ``fens`` uses them only where asked
(:func:`fens.models.blocks.depthwise.set_depthwise_kernel`), until a GPU run of ``bench/layers.py``
shows they beat PyTorch's own.
"""

from __future__ import annotations

import importlib.util
from typing import NamedTuple

import torch

TRITON_AVAILABLE = importlib.util.find_spec("triton") is not None
CHANNELS = 64  # channels per program (the core's width)


class Tiles(NamedTuple):
    """The work of one program: ``pixels`` output pixels (x 64 channels) and, in the weight
    gradient, ``images`` images. A guess until timed on a GPU (``bench/layers.py`` times
    several)."""

    pixels: int = 32
    images: int = 4

    @property
    def warps(self) -> int:
        """16 elements of the ``(pixels, channels)`` tile per thread, 32 threads a warp."""
        return max(1, self.pixels * CHANNELS // 512)


DEFAULT_TILES = Tiles()

if TRITON_AVAILABLE:
    import triton
    import triton.language as tl

    @triton.jit
    def _tile(block_p, block_c, out_height, out_width, channels, BLOCK_P, BLOCK_C):
        """A block of output pixels (row-major) and of channels: indices, rows, columns, masks."""
        pixels = block_p * BLOCK_P + tl.arange(0, BLOCK_P)
        chans = block_c * BLOCK_C + tl.arange(0, BLOCK_C)
        pixel_valid = pixels < out_height * out_width
        chan_valid = chans < channels
        return pixels, chans, pixel_valid, chan_valid, pixels // out_width, pixels % out_width

    @triton.jit
    def _tap(i, j, p, q, pixel_valid, chans, chan_valid, height, width, channels, PH, PW):
        """Offsets ``(pixels, channels)`` into a ``(H, W, C)`` image of the inputs under tap
        ``(p, q)`` of output pixels ``(i, j)``, and where they lie inside it (else padding)."""
        row = i + p - PH
        col = j + q - PW
        inside = pixel_valid & (row >= 0) & (row < height) & (col >= 0) & (col < width)
        offsets = ((row * width + col) * channels)[:, None] + chans[None, :]
        return offsets, inside[:, None] & chan_valid[None, :]

    @triton.jit
    def _depthwise_kernel(
        x_ptr, w_ptr, out_ptr, channels, height, width, out_height, out_width,
        KH: tl.constexpr, KW: tl.constexpr, PH: tl.constexpr, PW: tl.constexpr,
        BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
    ):  # fmt: skip
        """Image ``program_id(0)``, pixel block ``program_id(1)``, channel block ``program_id(2)``.

        ``x`` ``(B, H, W, C)``, ``w`` ``(KH, KW, C)``, ``out`` ``(B, OH, OW, C)``, contiguous.
        """
        image = tl.program_id(0)
        pixels, chans, pixel_valid, chan_valid, i, j = _tile(
            tl.program_id(1), tl.program_id(2), out_height, out_width, channels, BLOCK_P, BLOCK_C
        )
        x_image = x_ptr + image * height * width * channels
        acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        for p in range(KH):
            for q in range(KW):
                offsets, inside = _tap(
                    i, j, p, q, pixel_valid, chans, chan_valid, height, width, channels, PH, PW
                )
                x = tl.load(x_image + offsets, mask=inside, other=0.0)
                w = tl.load(w_ptr + (p * KW + q) * channels + chans, mask=chan_valid, other=0.0)
                acc += x.to(tl.float32) * w.to(tl.float32)[None, :]
        out = out_ptr + image * out_height * out_width * channels
        out += (pixels * channels)[:, None] + chans[None, :]
        mask = pixel_valid[:, None] & chan_valid[None, :]
        tl.store(out, acc.to(out_ptr.dtype.element_ty), mask=mask)

    @triton.jit
    def _depthwise_weight_grad_kernel(
        x_ptr, g_ptr, partial_ptr, batch, channels, height, width, out_height, out_width,
        KH: tl.constexpr, KW: tl.constexpr, PH: tl.constexpr, PW: tl.constexpr,
        BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, IMAGES: tl.constexpr,
    ):  # fmt: skip
        """``partial[chunk, block, p * KW + q, c]``: the share of ``dw`` of images
        ``chunk * IMAGES ...`` (``program_id(0)``) and pixel block ``program_id(1)``;
        ``program_id(2)`` is the channel block. ``x`` ``(B, H, W, C)``, ``g``
        ``(B, OH, OW, C)``."""
        chunk = tl.program_id(0)
        block = tl.program_id(1)
        pixels, chans, pixel_valid, chan_valid, i, j = _tile(
            block, tl.program_id(2), out_height, out_width, channels, BLOCK_P, BLOCK_C
        )
        g_offsets = (pixels * channels)[:, None] + chans[None, :]
        g_mask = pixel_valid[:, None] & chan_valid[None, :]
        partial = partial_ptr + (chunk * tl.num_programs(1) + block) * KH * KW * channels + chans
        for p in range(KH):
            for q in range(KW):
                x_offsets, x_mask = _tap(
                    i, j, p, q, pixel_valid, chans, chan_valid, height, width, channels, PH, PW
                )
                acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
                for k in range(IMAGES):
                    image = chunk * IMAGES + k
                    if image < batch:
                        x_image = x_ptr + image * height * width * channels
                        g_image = g_ptr + image * out_height * out_width * channels
                        x = tl.load(x_image + x_offsets, mask=x_mask, other=0.0)
                        g = tl.load(g_image + g_offsets, mask=g_mask, other=0.0)
                        acc += x.to(tl.float32) * g.to(tl.float32)
                tl.store(partial + (p * KW + q) * channels, tl.sum(acc, axis=0), mask=chan_valid)


def _grid_blocks(n_pixels: int, channels: int, tiles: Tiles) -> tuple[int, int]:
    return triton.cdiv(n_pixels, tiles.pixels), triton.cdiv(channels, CHANNELS)


def _launch_depthwise(
    x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int], tiles: Tiles
) -> torch.Tensor:
    """The depthwise convolution of ``x`` ``(B, C, H, W)`` with ``weight`` ``(C, 1, kh, kw)``."""
    batch, channels, height, width = x.shape
    kh, kw = weight.shape[2:]
    out_height, out_width = height + 2 * padding[0] - kh + 1, width + 2 * padding[1] - kw + 1
    x = x.contiguous(memory_format=torch.channels_last)  # (B, H, W, C) in memory
    taps = weight.reshape(channels, kh * kw).t().contiguous()  # (kh * kw, C)
    out = torch.empty(
        batch, channels, out_height, out_width, device=x.device, dtype=x.dtype,
        memory_format=torch.channels_last,
    )  # fmt: skip
    pixel_blocks, channel_blocks = _grid_blocks(out_height * out_width, channels, tiles)
    _depthwise_kernel[(batch, pixel_blocks, channel_blocks)](
        x, taps, out, channels, height, width, out_height, out_width,
        KH=kh, KW=kw, PH=padding[0], PW=padding[1], BLOCK_P=tiles.pixels, BLOCK_C=CHANNELS,
        num_warps=tiles.warps,
    )  # fmt: skip
    return out


def _launch_weight_grad(
    x: torch.Tensor,
    grad_output: torch.Tensor,
    padding: tuple[int, int],
    kernel: tuple[int, int],
    tiles: Tiles,
) -> torch.Tensor:
    """``(C, 1, kh, kw)`` gradient of the weights, in float32."""
    batch, channels, height, width = x.shape
    out_height, out_width = grad_output.shape[2:]
    kh, kw = kernel
    x = x.contiguous(memory_format=torch.channels_last)
    grad_output = grad_output.contiguous(memory_format=torch.channels_last)
    pixel_blocks, channel_blocks = _grid_blocks(out_height * out_width, channels, tiles)
    chunks = triton.cdiv(batch, tiles.images)
    partial = torch.empty(
        chunks, pixel_blocks, kh * kw, channels, device=x.device, dtype=torch.float32
    )
    _depthwise_weight_grad_kernel[(chunks, pixel_blocks, channel_blocks)](
        x, grad_output, partial, batch, channels, height, width, out_height, out_width,
        KH=kh, KW=kw, PH=padding[0], PW=padding[1], BLOCK_P=tiles.pixels, BLOCK_C=CHANNELS,
        IMAGES=tiles.images, num_warps=tiles.warps,
    )  # fmt: skip
    return partial.sum((0, 1)).t().reshape(channels, 1, kh, kw)


class _TritonDepthwiseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int], tiles: Tiles):
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        ctx.tiles = tiles
        return _launch_depthwise(x, weight, padding, tiles)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, weight = ctx.saved_tensors
        kh, kw = weight.shape[2:]
        padding = ctx.padding
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            flipped = (kh - 1 - padding[0], kw - 1 - padding[1])
            grad_x = _launch_depthwise(grad_output, weight.flip((2, 3)), flipped, ctx.tiles)
        if ctx.needs_input_grad[1]:
            grad_weight = _launch_weight_grad(x, grad_output, padding, (kh, kw), ctx.tiles)
            grad_weight = grad_weight.to(weight.dtype)
        return grad_x, grad_weight, None, None


def triton_depthwise_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    *,
    tiles: Tiles = DEFAULT_TILES,
) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding, groups=C)`` (stride 1), by Triton kernels.

    Args:
        x: ``(B, C, H, W)`` input, on a CUDA device (or the CPU under ``TRITON_INTERPRET=1``).
        weight: ``(C, 1, kh, kw)`` one filter per channel.
        padding: zero padding, one value or ``(ph, pw)``; each at most the kernel size - 1.
        tiles: the work of one program (powers of two); the result does not depend on it.

    Returns:
        ``(B, C, H + 2 ph - kh + 1, W + 2 pw - kw + 1)``, differentiable in ``x`` and ``weight``.
    """
    if not TRITON_AVAILABLE:
        raise RuntimeError("triton_depthwise_conv2d needs the triton package (pip install triton)")
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if x.ndim != 4 or weight.ndim != 4 or weight.shape[:2] != (x.shape[1], 1):
        raise ValueError(
            f"expected x (B, C, H, W) and weight (C, 1, kh, kw), "
            f"got {tuple(x.shape)} and {tuple(weight.shape)}"
        )
    kernel = weight.shape[2:]
    if not all(0 <= p <= k - 1 for p, k in zip(padding, kernel, strict=True)):
        raise ValueError(f"padding {padding} must lie between 0 and the kernel size - 1 {kernel}")
    out_size = [n + 2 * p - k + 1 for n, p, k in zip(x.shape[2:], padding, kernel, strict=True)]
    if min(out_size) < 1:
        raise ValueError(
            f"a {tuple(kernel)} kernel with padding {padding} leaves no output of {tuple(x.shape)}"
        )
    if x.numel() >= 2**31:
        raise ValueError(f"x has {x.numel()} elements; the kernels index with 32-bit integers")
    if not all(n > 0 and n & (n - 1) == 0 for n in tiles):
        raise ValueError(f"tile sizes must be powers of two, got {tiles}")
    return _TritonDepthwiseFunction.apply(x, weight, padding, tiles)


def triton_fails(device: str | torch.device) -> str | None:
    """Why the Triton kernels cannot run on ``device`` (a tiny forward and backward), or None.

    For benchmarks: a missing package or a compiler that rejects the kernels is reported there
    instead of ending a run that measures other things too.
    """
    if not TRITON_AVAILABLE:
        return "the triton package is not installed"
    try:
        x = torch.randn(1, 2, 5, 5, device=device, requires_grad=True)
        weight = torch.randn(2, 1, 3, 3, device=device, requires_grad=True)
        triton_depthwise_conv2d(x, weight, 1).sum().backward()
    except Exception as error:  # any failure of compiling or launching is the answer
        return f"{type(error).__name__}: {error}"
    return None

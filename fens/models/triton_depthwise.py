"""A depthwise convolution written as Triton kernels, for GPUs.

On a GPU the three 13x13 depthwise layers of the Lurz et al. (2021) core were 65% of a training
step of the original pipeline, their backward 53% (issue 5, an H200): PyTorch's native depthwise
kernels run about 100x below the chip's arithmetic limit. The layer is small (a 60x64x22x50
input is 17 MB) and regular, so a direct kernel can keep it in cache: one Triton program per
``(image, channel)`` map and block of output pixels, looping over the 13x13 taps.

Three kernels make the layer and both its gradients (stride 1, zero padding, any kernel size):

- forward: ``y[b, c, i, j] = sum_pq x[b, c, i + p - ph, j + q - pw] * w[c, p, q]``;
- input gradient: the same kernel over the output gradient with the flipped filters and the
  complementary padding ``(kh - 1 - ph, kw - 1 - pw)``;
- weight gradient: ``dw[c, p, q] = sum_b sum_ij x[b, c, i + p - ph, j + q - pw] * g[b, c, i, j]``,
  one partial sum per program, added up afterwards in a fixed order (deterministic, no atomics).

All accumulate in float32. ``triton`` comes with PyTorch's CUDA builds; without a GPU the kernels
run in Triton's interpreter (``TRITON_INTERPRET=1``, set before ``triton`` is imported), which
is how the tests check them on a CPU. ``fens`` uses them only where asked
(:func:`fens.models.depthwise.set_depthwise_kernel`), until a GPU run of ``bench/layers.py``
shows they beat PyTorch's own.
"""

from __future__ import annotations

import importlib.util

import torch

TRITON_AVAILABLE = importlib.util.find_spec("triton") is not None

if TRITON_AVAILABLE:
    import triton
    import triton.language as tl

    @triton.jit
    def _depthwise_kernel(
        x_ptr,
        w_ptr,
        out_ptr,
        channels,
        height,
        width,
        out_height,
        out_width,
        KH: tl.constexpr,
        KW: tl.constexpr,
        PH: tl.constexpr,
        PW: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        """One map ``program_id(0) = b * channels + c``, output pixels of block ``program_id(1)``."""
        bc = tl.program_id(0)
        offsets = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)  # row-major output pixels
        valid = offsets < out_height * out_width
        i = offsets // out_width
        j = offsets % out_width
        x_map = x_ptr + bc * height * width
        w_map = w_ptr + (bc % channels) * KH * KW
        acc = tl.zeros((BLOCK,), dtype=tl.float32)
        for p in range(KH):
            row = i + p - PH
            row_inside = valid & (row >= 0) & (row < height)
            for q in range(KW):
                col = j + q - PW
                inside = row_inside & (col >= 0) & (col < width)
                x = tl.load(x_map + row * width + col, mask=inside, other=0.0)
                acc += x.to(tl.float32) * tl.load(w_map + p * KW + q).to(tl.float32)
        out = out_ptr + bc * out_height * out_width + offsets
        tl.store(out, acc.to(out_ptr.dtype.element_ty), mask=valid)

    @triton.jit
    def _depthwise_weight_grad_kernel(
        x_ptr,
        g_ptr,
        partial_ptr,
        n_maps,
        height,
        width,
        out_height,
        out_width,
        KH: tl.constexpr,
        KW: tl.constexpr,
        PH: tl.constexpr,
        PW: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        """``partial[block, map, p * KW + q]``: one map's, one pixel block's share of ``dw``."""
        bc = tl.program_id(0)
        block = tl.program_id(1)
        offsets = block * BLOCK + tl.arange(0, BLOCK)
        valid = offsets < out_height * out_width
        i = offsets // out_width
        j = offsets % out_width
        g = tl.load(g_ptr + bc * out_height * out_width + offsets, mask=valid, other=0.0)
        g = g.to(tl.float32)
        x_map = x_ptr + bc * height * width
        partial = partial_ptr + (block * n_maps + bc) * KH * KW
        for p in range(KH):
            row = i + p - PH
            row_inside = valid & (row >= 0) & (row < height)
            for q in range(KW):
                col = j + q - PW
                inside = row_inside & (col >= 0) & (col < width)
                x = tl.load(x_map + row * width + col, mask=inside, other=0.0)
                tl.store(partial + p * KW + q, tl.sum(x.to(tl.float32) * g, axis=0))


def _block(n_pixels: int) -> int:
    """Output pixels per program: a power of two, at most 512 (a 22x50 map: 3 programs)."""
    return min(512, triton.next_power_of_2(n_pixels))


def _launch_depthwise(
    x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]
) -> torch.Tensor:
    """Forward of the depthwise convolution; ``x`` ``(B, C, H, W)``, ``weight`` ``(C, 1, kh, kw)``."""
    batch, channels, height, width = x.shape
    kh, kw = weight.shape[2:]
    out_height, out_width = height + 2 * padding[0] - kh + 1, width + 2 * padding[1] - kw + 1
    x, weight = x.contiguous(), weight.contiguous()
    out = torch.empty(batch, channels, out_height, out_width, device=x.device, dtype=x.dtype)
    block = _block(out_height * out_width)
    grid = (batch * channels, triton.cdiv(out_height * out_width, block))
    _depthwise_kernel[grid](
        x, weight, out, channels, height, width, out_height, out_width,
        KH=kh, KW=kw, PH=padding[0], PW=padding[1], BLOCK=block,
    )  # fmt: skip
    return out


def _launch_weight_grad(
    x: torch.Tensor, grad_output: torch.Tensor, padding: tuple[int, int], kernel: tuple[int, int]
) -> torch.Tensor:
    """``(C, 1, kh, kw)`` gradient of the weights, in float32."""
    batch, channels, height, width = x.shape
    out_height, out_width = grad_output.shape[2:]
    kh, kw = kernel
    x, grad_output = x.contiguous(), grad_output.contiguous()
    block = _block(out_height * out_width)
    n_blocks = triton.cdiv(out_height * out_width, block)
    partial = torch.empty(n_blocks, batch, channels, kh * kw, device=x.device, dtype=torch.float32)
    _depthwise_weight_grad_kernel[(batch * channels, n_blocks)](
        x, grad_output, partial, batch * channels, height, width, out_height, out_width,
        KH=kh, KW=kw, PH=padding[0], PW=padding[1], BLOCK=block,
    )  # fmt: skip
    return partial.sum((0, 1)).view(channels, 1, kh, kw)


class _TritonDepthwiseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]):
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return _launch_depthwise(x, weight, padding)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, weight = ctx.saved_tensors
        kh, kw = weight.shape[2:]
        padding = ctx.padding
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            flipped = (kh - 1 - padding[0], kw - 1 - padding[1])
            grad_x = _launch_depthwise(grad_output, weight.flip((2, 3)), flipped)
        if ctx.needs_input_grad[1]:
            grad_weight = _launch_weight_grad(x, grad_output, padding, (kh, kw))
            grad_weight = grad_weight.to(weight.dtype)
        return grad_x, grad_weight, None


def triton_depthwise_conv2d(
    x: torch.Tensor, weight: torch.Tensor, padding: int | tuple[int, int] = 0
) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding, groups=C)`` (stride 1), by Triton kernels.

    Args:
        x: ``(B, C, H, W)`` input, on a CUDA device (or the CPU under ``TRITON_INTERPRET=1``).
        weight: ``(C, 1, kh, kw)`` one filter per channel.
        padding: zero padding, one value or ``(ph, pw)``; each at most the kernel size - 1.

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
    return _TritonDepthwiseFunction.apply(x, weight, padding)


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

"""The simulated neurons' filters (Gabor functions and Gaussian pools, as arrays over pixels)
and the sampling of feature maps at their receptive-field centres."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fens.simulate.stimuli import IMAGE_SHAPE


def gabor(
    center: np.ndarray,
    size: np.ndarray,
    aspect: np.ndarray,
    orientation: np.ndarray,
    spatial_frequency: np.ndarray,
    phase: np.ndarray,
    shape: tuple[int, int] = IMAGE_SHAPE,
) -> np.ndarray:
    """Zero-mean, unit-norm Gabor filters, one per row of parameters.

    ``g(x, y) = exp(-(u**2 + (aspect * v)**2) / (2 size**2)) cos(2 pi f u + phase)``, where
    ``u`` runs along the carrier's wave vector (at ``orientation`` from the image's x axis
    towards its y axis, i.e. rows downward) and ``v`` along the bars. The envelope-weighted mean
    of the carrier is subtracted, so a uniform image gives zero.

    Args:
        center: ``(N, 2)`` centre (x = column, y = row) in pixels.
        size: ``(N,)`` envelope sd across the bars, in pixels.
        aspect: ``(N,)`` ratio of the envelope's widths across / along the bars (< 1: elongated).
        orientation: ``(N,)`` radians.
        spatial_frequency: ``(N,)`` cycles per pixel.
        phase: ``(N,)`` radians.
        shape: ``(height, width)`` of the image.

    Returns:
        ``(N, height, width)`` float64 filters.
    """
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)  # (H, W) each
    dx = x[None] - center[:, 0, None, None]  # (N, H, W)
    dy = y[None] - center[:, 1, None, None]
    cos, sin = np.cos(orientation)[:, None, None], np.sin(orientation)[:, None, None]
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    sigma = size[:, None, None]
    envelope = np.exp(-(u**2 + (aspect[:, None, None] * v) ** 2) / (2 * sigma**2))
    carrier = np.cos(2 * np.pi * spatial_frequency[:, None, None] * u + phase[:, None, None])
    return windowed(carrier, envelope)


def irregular_filters(
    rng: np.random.Generator,
    center: np.ndarray,
    size: np.ndarray,
    spatial_frequency: np.ndarray,
    bandwidth: float = 0.5,
    shape: tuple[int, int] = IMAGE_SHAPE,
) -> np.ndarray:
    """Zero-mean, unit-norm random filters, one per row: band-pass noise under a Gaussian
    envelope, textures with no preferred orientation and no carrier.

    Gaussian white noise is filtered in the Fourier domain by an isotropic log-Gaussian band
    ``exp(-log(k / f)**2 / (2 bandwidth**2))`` around ``spatial_frequency`` ``f`` (``k`` the
    radial frequency in cycles/pixel; ``bandwidth`` in natural-log units, 0.5 being about
    +-0.7 octaves at one sd), then windowed by a circular Gaussian of sd ``size`` around
    ``center``; the envelope-weighted mean is subtracted as in :func:`gabor`.

    Args:
        rng: random generator of the noise.
        center: ``(N, 2)`` centre (x = column, y = row) in pixels.
        size: ``(N,)`` envelope sd in pixels.
        spatial_frequency: ``(N,)`` centre of the band, cycles per pixel.
        bandwidth: sd of the band in natural-log units of frequency.
        shape: ``(height, width)`` of the image.

    Returns:
        ``(N, height, width)`` float64 filters.
    """
    height, width = shape
    radius = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :])
    with np.errstate(divide="ignore"):  # the zero frequency gets no weight
        log_ratio = np.log(radius[None] / spatial_frequency[:, None, None])
    band = np.exp(-(log_ratio**2) / (2 * bandwidth**2))  # (N, H, W // 2 + 1)
    noise = rng.normal(size=band.shape) + 1j * rng.normal(size=band.shape)
    texture = np.fft.irfft2(band * noise, s=shape)  # (N, H, W)
    return windowed(texture, gaussian_pools(center, size, shape))  # windowed ignores its scale


def windowed(pattern: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` ``pattern * envelope`` minus the envelope-weighted mean of ``pattern``
    (so a uniform image gives zero), scaled to unit L2 norm per filter."""
    g = envelope * pattern
    dc = g.sum(axis=(1, 2), keepdims=True) / envelope.sum(axis=(1, 2), keepdims=True)
    g = g - dc * envelope
    return g / np.linalg.norm(g, axis=(1, 2), keepdims=True)


def gaussian_pools(
    center: np.ndarray, pool_size: np.ndarray, shape: tuple[int, int] = IMAGE_SHAPE
) -> np.ndarray:
    """Isotropic Gaussian weights that sum to 1 over the image: the normalisation pools.

    Args:
        center: ``(N, 2)`` centre (x = column, y = row) in pixels.
        pool_size: ``(N,)`` sd in pixels.
        shape: ``(height, width)`` of the image.

    Returns:
        ``(N, height, width)`` float64 weights.
    """
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    d2 = (x[None] - center[:, 0, None, None]) ** 2 + (y[None] - center[:, 1, None, None]) ** 2
    w = np.exp(-d2 / (2 * pool_size[:, None, None] ** 2))
    return w / w.sum(axis=(1, 2), keepdims=True)


def sample_maps(maps: torch.Tensor, points: np.ndarray) -> torch.Tensor:
    """Feature maps ``(B, C, H, W)`` at ``points`` ``(M, 2)`` (x = column, y = row, in
    pixels), bilinearly interpolated, zero outside the image: ``(B, M, C)``."""
    height, width = maps.shape[-2:]
    grid = torch.as_tensor(points, dtype=maps.dtype, device=maps.device).clone()
    grid[:, 0] = 2 * grid[:, 0] / (width - 1) - 1
    grid[:, 1] = 2 * grid[:, 1] / (height - 1) - 1
    grid = grid[None, :, None, :].expand(len(maps), -1, -1, -1)  # (B, M, 1, 2)
    return F.grid_sample(maps, grid, align_corners=True)[..., 0].transpose(1, 2)


def without_subnormals(values: np.ndarray) -> np.ndarray:
    """``values`` (float32) with the subnormal numbers (below ``finfo(float32).tiny``, the far
    tails of a Gaussian envelope) set to 0: products with them are many times slower on a CPU
    and change no float32 sum they enter."""
    values = np.asarray(values, dtype=np.float32)
    return np.where(np.abs(values) < np.finfo(np.float32).tiny, np.float32(0), values)

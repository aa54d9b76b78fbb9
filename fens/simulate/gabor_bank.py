"""A bank of Gabor quadrature pairs applied at every pixel: the orientation-tuned
surround of the simulated neurons and the classic V1 features of the calibration proxies."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fens.simulate.filters import gabor

#: Orientations (radians) and spatial frequencies (cycles/pixel, 0.7 octaves apart) of the
#: bank, spanning the simulated neurons' range up to mouse V1's finest (0.3 cycles/pixel at
#: this resolution; Niell & Stryker 2008).
ORIENTATIONS = np.arange(8) * np.pi / 8
FREQUENCIES = (0.05, 0.08, 0.13, 0.21, 0.32)
#: Kernels are (2 * RADIUS + 1) pixels square; envelope sd 0.35 periods, aspect 0.75.
RADIUS = 16
#: Concentration of the orientation weights of :func:`tuned_weights` (von Mises on 2 theta)
#: and sd of the frequency weights in octaves.
ORIENTATION_KAPPA = 2.0
FREQUENCY_SD_OCTAVES = 0.5
#: Images transformed at once in :func:`responses`: bounds its memory (about 300 MB).
CHUNK = 128


def kernels() -> np.ndarray:
    """``(2, O * F, 2 R + 1, 2 R + 1)`` float64: the even and odd filter of each pair,
    orientation-major (channel ``o * F + f``)."""
    orientation, frequency = (
        a.ravel() for a in np.meshgrid(ORIENTATIONS, FREQUENCIES, indexing="ij")
    )
    side = 2 * RADIUS + 1
    center = np.full((orientation.size, 2), float(RADIUS))
    size = 0.35 / frequency
    aspect = np.full(orientation.size, 0.75)
    return np.stack(
        [
            gabor(
                center,
                size,
                aspect,
                orientation,
                frequency,
                np.full(orientation.size, phase),
                (side, side),
            )
            for phase in (0.0, np.pi / 2)
        ]
    )


def _dft_matrix(n_out: int, n_in: int, length: int, sign: int) -> np.ndarray:
    """``(n_out, n_in)`` complex128 ``exp(sign 2 pi i p q / length)``: a length-``length``
    discrete Fourier transform (``sign`` -1) or its unnormalised inverse (+1) with only the
    first ``n_in`` inputs and ``n_out`` outputs."""
    return np.exp(sign * 2j * np.pi * np.outer(np.arange(n_out), np.arange(n_in)) / length)


def responses(x: torch.Tensor) -> torch.Tensor:
    """The bank's outputs at every pixel, ``even + i odd`` for each pair: complex
    ``(B, O * F, H, W)`` for images ``(B, 1, H, W)`` scaled to -0.5..0.5, zero outside the
    image (each part the same as ``scipy.signal.correlate2d(image, kernel, mode='same')``).

    Each pair is one complex filter, applied in the Fourier domain with the transforms written
    as matrix products: periods ``RADIUS`` pixels longer than the image, so that no kernel
    wraps around into it, and only the image's own pixels transformed back. That is a quarter
    of the operations of a direct convolution with the 33-pixel kernels."""
    height, width = x.shape[-2:]
    periods = (height + RADIUS, width + RADIUS)
    even, odd = kernels()
    wrapped = np.zeros((len(even), *periods), dtype=np.complex128)
    side = 2 * RADIUS + 1
    wrapped[:, :side, :side] = even + 1j * odd
    wrapped = np.roll(wrapped, (-RADIUS, -RADIUS), axis=(1, 2))  # centre tap at (0, 0)
    # Correlation with c multiplies the image's transform by sum_m c[m] exp(+2 pi i p m / L).
    spectra = np.fft.ifft2(wrapped) * (periods[0] * periods[1])  # (C, L_H, L_W)
    forward = [_dft_matrix(L, n, L, -1) for L, n in zip(periods, (height, width), strict=True)]
    inverse = [_dft_matrix(n, L, L, +1) / L for L, n in zip(periods, (height, width), strict=True)]
    dtype = torch.complex64 if x.dtype == torch.float32 else torch.complex128
    spectra, f_rows, f_cols, g_rows, g_cols = (
        torch.as_tensor(a, dtype=dtype, device=x.device) for a in (spectra, *forward, *inverse)
    )
    out = []
    for chunk in x.split(CHUNK):
        image_hat = f_rows @ chunk.to(dtype) @ f_cols.T  # (b, 1, L_H, L_W)
        out.append(g_rows @ (image_hat * spectra) @ g_cols.T)  # (b, C, H, W)
    return torch.cat(out)


def energy(x: torch.Tensor) -> torch.Tensor:
    """``(B, O * F, H, W)`` energy of each pair (Adelson & Bergen 1985) at every pixel."""
    r = responses(x)
    return (r.real**2 + r.imag**2).clamp_min(1e-12).sqrt()


def tuned_weights(orientation: np.ndarray, spatial_frequency: np.ndarray) -> np.ndarray:
    """``(N, O * F)`` weights over the bank's channels, summing to 1, centred on each
    neuron's orientation (von Mises in 2 theta, :data:`ORIENTATION_KAPPA`) and spatial
    frequency (Gaussian in octaves, :data:`FREQUENCY_SD_OCTAVES`)."""
    by_orientation = np.exp(
        ORIENTATION_KAPPA * np.cos(2 * (orientation[:, None] - ORIENTATIONS[None]))
    )
    octaves = np.log2(spatial_frequency[:, None] / np.asarray(FREQUENCIES)[None])
    by_frequency = np.exp(-(octaves**2) / (2 * FREQUENCY_SD_OCTAVES**2))
    w = (by_orientation[:, :, None] * by_frequency[:, None, :]).reshape(len(orientation), -1)
    return w / w.sum(axis=1, keepdims=True)


def features(x: torch.Tensor, linear: bool = False) -> torch.Tensor:
    """Classic V1 features at every pixel, those of a Gabor filter bank model (Cadena et al.,
    PLoS Comput Biol 2019): both half-wave rectified signs of each filter and each pair's
    energy, ``(B, 5 * O * F, H, W)``; with ``linear`` the filters' outputs themselves,
    ``(B, 2 * O * F, H, W)`` (a linear core)."""
    r = responses(x)
    even, odd = r.real, r.imag
    if linear:
        return torch.cat([even, odd], 1)
    e = (even**2 + odd**2).clamp_min(1e-12).sqrt()
    return torch.cat([F.relu(even), F.relu(-even), F.relu(odd), F.relu(-odd), e], 1)

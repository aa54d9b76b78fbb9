"""A fixed random deep network: the features behind the simulated "deep" neurons.

Classic V1 models (Gabor, energy, normalisation) leave much of mouse V1's responses to natural
images unexplained; features of deep networks explain more (Cadena et al., PLoS Comput Biol
2019; Walker et al., Nat Neurosci 2019, whose MEIs of mouse V1 neurons are far from Gabors),
and the population's responses are high-dimensional (Stringer et al., Nature 2019). A share of
the simulated population stands for that: each such neuron reads, at its receptive-field centre,
a random combination of the channels of a fixed random three-layer convolutional network.
A model has to learn those features from a few thousand images, which is what makes these
neurons harder to predict than a Gabor unit (the gap between a model and the oracle).

The network is drawn once per data set and written to its ground truth, so that the true
response of every neuron to any image can be computed (:meth:`RandomNetwork.features`), with
gradients (the true MEIs of :mod:`fens.analysis.truth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

#: Default channels of the first two layers (``SimulationConfig.deep_hidden_channels``; the
#: last layer's are ``SimulationConfig.deep_channels``) and the three layers' kernel sizes
#: (pixels).
CHANNELS = (8, 16)
KERNELS = (7, 5, 5)
#: sd (pixels) of the Gaussian smoothing of the first layer's random kernels: white-noise
#: kernels would respond mostly to single-pixel noise, smoothed ones to image structure.
FIRST_LAYER_SMOOTHING = 1.5
#: Default sd (pixels) of the spatial pooling of the last layer's features before the readout
#: (``SimulationConfig.deep_pooling``), and the pooling of data sets written before it was a
#: setting.
READOUT_POOLING = 1.5


def gaussian_1d(sigma: float) -> np.ndarray:
    """``(k,)`` normalised Gaussian, ``k = 2 ceil(3 sigma) + 1``."""
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_kernel(sigma: float) -> np.ndarray:
    """``(k, k)`` normalised Gaussian, ``k = 2 ceil(3 sigma) + 1``."""
    g = gaussian_1d(sigma)
    return np.outer(g, g)


def gaussian_band(n: int, sigma: float) -> np.ndarray:
    """``(n, n)`` matrix ``M`` with ``M @ v`` the zero-padded, same-size convolution of a
    length-``n`` signal ``v`` with :func:`gaussian_1d` ``(sigma)``."""
    g = gaussian_1d(sigma)
    radius = len(g) // 2
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]
    return np.where(np.abs(offset) <= radius, g[np.clip(offset + radius, 0, 2 * radius)], 0.0)


def _smooth(kernels: np.ndarray, sigma: float) -> np.ndarray:
    """Convolve each 2-D kernel ``(..., k, k)`` with a Gaussian of sd ``sigma`` (same size)."""
    g = torch.from_numpy(gaussian_kernel(sigma))[None, None]
    flat = torch.from_numpy(kernels.reshape(-1, 1, *kernels.shape[-2:]))
    smoothed = F.conv2d(flat, g, padding=g.shape[-1] // 2)
    return smoothed.reshape(kernels.shape).numpy()


@dataclass(frozen=True, eq=False)
class RandomNetwork:
    """The fixed random network: three ``conv -> ReLU`` layers (zero padding, stride 1),
    each layer's output divided by ``scales`` (its channels' sd over the stimuli it was drawn
    for), then a Gaussian blur of sd ``pooling`` and, optionally, a decorrelation of the
    channels.

    The blur sets how many independent features a readout sees: averaging rectified outputs
    over a neighbourhood leaves mostly their local energy, which all channels share. Over
    natural patches, 16 channels blurred by 1.5 pixels have a participation ratio (the
    effective number of dimensions of their covariance) of 4 to 5; unblurred, about 9
    (``bench/README.md``, "Deep cells' pooling").

    Attributes:
        weights: three float32 kernels ``(C_out, C_in, k, k)``.
        scales: three float32 ``(C_out,)`` divisors.
        offset: float32 ``(C,)`` mean of each blurred last-layer channel over those stimuli,
            subtracted, so that a readout responds to the image rather than to a constant.
        pooling: sd (pixels) of the blur; 0 for none.
        decorrelation: float32 ``(C, C)`` symmetric matrix applied to the centred channels,
            scaled so that their summed variance over the stimuli is unchanged; None for none.
    """

    weights: tuple[np.ndarray, ...]
    scales: tuple[np.ndarray, ...]
    offset: np.ndarray
    pooling: float = READOUT_POOLING
    decorrelation: np.ndarray | None = None

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        stimuli: np.ndarray,
        channels: int = 16,
        hidden_channels: tuple[int, int] = CHANNELS,
        pooling: float = READOUT_POOLING,
        whitening: float = 0.0,
    ) -> RandomNetwork:
        """Draw the kernels (He-scaled Gaussian weights, the first layer's smoothed and
        zero-mean so that it ignores the mean luminance) and set each layer's scales to its
        channels' sd over ``stimuli`` ``(B, H, W)`` in 0..255; the first two layers have
        ``hidden_channels`` channels, the last ``channels`` (the dimension of the space deep
        cells read); ``pooling`` is the blur's sd (pixels); ``whitening`` (0..1) the exponent
        of the decorrelation (0: none; no random draw depends on it)."""
        weights, c_in = [], 1
        for c_out, k in zip((*hidden_channels, channels), KERNELS, strict=True):
            w = rng.normal(0.0, np.sqrt(2.0 / (c_in * k * k)), size=(c_out, c_in, k, k))
            if c_in == 1:
                w = _smooth(w, FIRST_LAYER_SMOOTHING)
                w -= w.mean(axis=(1, 2, 3), keepdims=True)
            weights.append(w.astype(np.float32))
            c_in = c_out
        network = cls(tuple(weights), (), np.zeros(channels, np.float32), pooling)
        x = torch.from_numpy(scaled(stimuli[:1000]))
        scales = []
        with torch.no_grad():
            for layer in range(len(KERNELS)):
                x = network.layer(x, layer)
                sd = x.std(dim=(0, 2, 3)).clamp_min(1e-6)
                scales.append(sd.numpy().astype(np.float32))
                x = x / sd[None, :, None, None]
            pooled = blur(x, pooling)
            offset = pooled.mean(dim=(0, 2, 3)).numpy().astype(np.float32)
        decorrelation = decorrelating_matrix(pooled, whitening) if whitening > 0 else None
        return cls(tuple(weights), tuple(scales), offset, pooling, decorrelation)

    def layer(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """``relu(conv(x))`` of layer ``index``, before its scale."""
        w = torch.as_tensor(self.weights[index], dtype=x.dtype, device=x.device)
        return F.relu(F.conv2d(x, w, padding=w.shape[-1] // 2))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last-layer features ``(B, C, H, W)``, blurred and centred, of images
        ``(B, 1, H, W)`` scaled to -0.5..0.5."""
        for index, scale in enumerate(self.scales):
            x = self.layer(x, index) / _channels(scale, x)
        x = blur(x, self.pooling) - _channels(self.offset, x)
        if self.decorrelation is None:
            return x
        m = torch.as_tensor(self.decorrelation, dtype=x.dtype, device=x.device)
        return torch.einsum("dc,bchw->bdhw", m, x)

    def save(self, folder: Path) -> None:
        """Write the arrays as ``folder/{weights,scales}_{layer}.npy``, ``offset.npy``,
        ``pooling.npy`` and, if there is one, ``decorrelation.npy``."""
        folder.mkdir(parents=True, exist_ok=True)
        for index, (w, scale) in enumerate(zip(self.weights, self.scales, strict=True)):
            np.save(folder / f"weights_{index}.npy", w)
            np.save(folder / f"scales_{index}.npy", scale)
        np.save(folder / "offset.npy", self.offset)
        np.save(folder / "pooling.npy", np.float64(self.pooling))
        if self.decorrelation is not None:
            np.save(folder / "decorrelation.npy", self.decorrelation)

    @classmethod
    def load(cls, folder: Path) -> RandomNetwork:
        """Inverse of :meth:`save`; a network written without ``pooling.npy`` (before the
        pooling was a setting) pools by :data:`READOUT_POOLING`, one without
        ``decorrelation.npy`` does not decorrelate."""
        layers = range(len(KERNELS))
        pooling = folder / "pooling.npy"
        decorrelation = folder / "decorrelation.npy"
        return cls(
            tuple(np.load(folder / f"weights_{i}.npy") for i in layers),
            tuple(np.load(folder / f"scales_{i}.npy") for i in layers),
            np.load(folder / "offset.npy"),
            float(np.load(pooling)) if pooling.exists() else READOUT_POOLING,
            np.load(decorrelation) if decorrelation.exists() else None,
        )


def _channels(values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """``(C,)`` values as a ``(1, C, 1, 1)`` tensor of ``like``'s dtype and device."""
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)[None, :, None, None]


def channel_covariance(features: torch.Tensor) -> torch.Tensor:
    """``(C, C)`` float64 covariance of the channels of ``features`` ``(B, C, H, W)`` over
    images and positions pooled."""
    x = features.double().permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    x = x - x.mean(dim=0)
    return x.T @ x / (len(x) - 1)


def decorrelating_matrix(features: torch.Tensor, whitening: float) -> np.ndarray:
    """``Sigma^(-whitening / 2)`` for ``Sigma`` the covariance of the channels of ``features``
    ``(B, C, H, W)`` over images and positions (computed in float64), scaled so that the
    decorrelated channels' summed variance equals ``trace(Sigma)``: ``(C, C)`` float32.

    ``whitening`` 1 makes the channels white over these features; eigenvalues below 1e-9 of
    the largest are raised to it, so that a direction the features never take stays bounded.
    """
    eigenvalues, vectors = torch.linalg.eigh(channel_covariance(features))
    eigenvalues = eigenvalues.clamp_min(1e-9 * eigenvalues.max())
    decorrelated = eigenvalues ** (1 - whitening)  # the variances after the transform
    scale = torch.sqrt(eigenvalues.sum() / decorrelated.sum())
    matrix = vectors @ torch.diag(scale * eigenvalues ** (-whitening / 2)) @ vectors.T
    return matrix.numpy().astype(np.float32)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of ``(B, C, H, W)`` blurred by a Gaussian of sd ``sigma`` pixels (zero
    padded, same size; ``x`` itself for ``sigma`` 0). The Gaussian is separable: one product
    with a banded matrix along each axis, much faster on a CPU than a depthwise 2-D
    convolution (``bench/README.md``, "calibration.py")."""
    if sigma == 0:
        return x
    rows, cols = (
        torch.as_tensor(gaussian_band(n, sigma), dtype=x.dtype, device=x.device)
        for n in x.shape[-2:]
    )
    return rows @ x @ cols.T


def scaled(images: np.ndarray) -> np.ndarray:
    """``(B, H, W)`` or ``(B, 1, H, W)`` images in 0..255 as ``(B, 1, H, W)`` float32 in
    -0.5..0.5, the simulated neurons' input."""
    x = np.asarray(images, dtype=np.float32)
    return (x.reshape(len(x), 1, *x.shape[-2:]) / 255.0 - 0.5).astype(np.float32)

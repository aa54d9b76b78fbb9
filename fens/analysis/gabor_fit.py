"""Fitting a Gabor function to an image (a receptive field or an MEI), by least squares.

The model is ``offset + amplitude * g`` with ``g`` the zero-mean, unit-norm Gabor of
:func:`fens.simulate.neurons.gabor` (Jones & Palmer 1987), so the fitted parameters read in the
same units and conventions as the simulated neurons' ground truth. The fit starts from the
image's spectrum: the peak of its power spectrum gives the orientation and spatial frequency,
the smoothed local energy the centre, and the complex projection onto the carrier the phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from fens.analysis._model import check_image
from fens.simulate.neurons import gabor
from fens.utility.checks import check_int
from fens.utility.deprecation import deprecated_arguments


@dataclass(frozen=True)
class GaborFit:
    """A Gabor fitted to an image; parameters as in :func:`fens.simulate.neurons.gabor`.

    Attributes:
        center: ``(x, y)`` = (column, row) of the envelope's centre, pixels.
        size: envelope sd across the bars, pixels.
        aspect: envelope width ratio across / along the bars (< 1: elongated along the bars).
        orientation: radians in [0, pi), direction of the carrier's wave vector.
        spatial_frequency: cycles per pixel.
        phase: radians in [0, 2 pi).
        amplitude: >= 0, the L2 norm of the fitted Gabor (image units).
        offset: the fitted constant (image units).
        r2: fraction of the image's variance the fit explains.
    """

    center: tuple[float, float]
    size: float
    aspect: float
    orientation: float
    spatial_frequency: float
    phase: float
    amplitude: float
    offset: float
    r2: float

    def image(self, shape: tuple[int, int]) -> np.ndarray:
        """The fitted Gabor as a ``(height, width)`` float64 image."""
        return _render(_vector(self), shape)

    def __repr__(self) -> str:
        x, y = self.center
        return (
            f"GaborFit(center=({x:.1f}, {y:.1f}) px, size={self.size:.2f} px, "
            f"aspect={self.aspect:.2f}, orientation={np.degrees(self.orientation):.1f} deg, "
            f"spatial_frequency={self.spatial_frequency:.3f} cycles/px, "
            f"phase={np.degrees(self.phase):.0f} deg, amplitude={self.amplitude:.3g}, "
            f"offset={self.offset:.3g}, r2={self.r2:.3f})"
        )


@deprecated_arguments(positional=("n_sizes",))
def fit_gabor(image: np.ndarray, *, n_sizes: int = 3) -> GaborFit:
    """Least-squares fit of a Gabor function to ``image``.

    Args:
        image: ``(height, width)`` e.g. a gradient receptive field or an MEI.
        n_sizes: the fit is started from this many envelope sizes (a quarter to one period of
            the carrier) and the best result kept, since the envelope's size is the parameter
            the spectrum says least about.

    Returns:
        The :class:`GaborFit` with the smallest squared error
        (``scipy.optimize.least_squares``, trust-region reflective, bounded).
    """
    image = check_image(image, "image")
    n_sizes = check_int("n_sizes", n_sizes)
    if not np.ptp(image) > 0:
        raise ValueError("cannot fit a Gabor to a constant image")
    height, width = image.shape
    lower = [-0.5, -0.5, 0.5, 0.1, -np.inf, 0.5 / max(height, width), -np.inf, -np.inf, -np.inf]
    upper = [
        width - 0.5,
        height - 0.5,
        max(height, width),
        10.0,
        np.inf,
        0.5,
        np.inf,
        np.inf,
        np.inf,
    ]
    best = None
    for start in _initial_guesses(image, n_sizes):
        start = np.clip(start, np.array(lower) + 1e-9, np.array(upper) - 1e-9)
        result = optimize.least_squares(
            lambda p: (_render(p, image.shape) - image).ravel(),
            start,
            bounds=(lower, upper),
            x_scale="jac",
        )
        if best is None or result.cost < best.cost:
            best = result
    cx, cy, size, aspect, orientation, frequency, phase, amplitude, offset = best.x
    if amplitude < 0:  # -A cos(a) = A cos(a + pi)
        amplitude, phase = -amplitude, phase + np.pi
    orientation = np.mod(orientation, 2 * np.pi)
    if orientation >= np.pi:  # the wave vector reversed is the same carrier with phase negated
        orientation, phase = orientation - np.pi, -phase
    residual = 2 * best.cost  # sum of squared residuals
    return GaborFit(
        center=(float(cx), float(cy)),
        size=float(size),
        aspect=float(aspect),
        orientation=float(orientation),
        spatial_frequency=float(frequency),
        phase=float(np.mod(phase, 2 * np.pi)),
        amplitude=float(amplitude),
        offset=float(offset),
        r2=float(1 - residual / ((image - image.mean()) ** 2).sum()),
    )


def _render(p: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``offset + amplitude * gabor`` for the parameter vector ``p`` (see :func:`_vector`)."""
    cx, cy, size, aspect, orientation, frequency, phase, amplitude, offset = p
    g = gabor(
        np.array([[cx, cy]]),
        np.array([size]),
        np.array([aspect]),
        np.array([orientation]),
        np.array([frequency]),
        np.array([phase]),
        shape=shape,
    )[0]
    return offset + amplitude * g


def _vector(fit: GaborFit) -> np.ndarray:
    """The parameter vector (cx, cy, size, aspect, orientation, frequency, phase, amplitude,
    offset) of a fit."""
    return np.array(
        [
            *fit.center,
            fit.size,
            fit.aspect,
            fit.orientation,
            fit.spatial_frequency,
            fit.phase,
            fit.amplitude,
            fit.offset,
        ]
    )


def _initial_guesses(image: np.ndarray, n_sizes: int) -> list[np.ndarray]:
    """Starting parameter vectors from the image's spectrum, one per envelope size."""
    height, width = image.shape
    centered = image - image.mean()
    # Peak of the power spectrum (zero-padded 4x for a finer frequency grid), DC excluded.
    pad = (4 * height, 4 * width)
    power = np.abs(np.fft.fft2(centered, s=pad)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(pad[0]), np.fft.fftfreq(pad[1]), indexing="ij")
    power[np.hypot(fx, fy) < 1.0 / max(height, width)] = 0.0
    peak = np.unravel_index(power.argmax(), power.shape)
    frequency = float(np.hypot(fx[peak], fy[peak]))
    orientation = float(np.arctan2(fy[peak], fx[peak]))
    # Centre: the peak of the local energy, smoothed over half a carrier period.
    energy = ndimage.gaussian_filter(centered**2, sigma=0.5 / frequency, mode="constant")
    cy, cx = np.unravel_index(energy.argmax(), energy.shape)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u = (x - cx) * np.cos(orientation) + (y - cy) * np.sin(orientation)
    guesses = []
    for periods in np.geomspace(0.25, 1.0, n_sizes):
        size = periods / frequency
        window = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * size**2))
        # Phase: the angle of the windowed image's projection on the complex carrier.
        phase = float(np.angle((centered * window * np.exp(-2j * np.pi * frequency * u)).sum()))
        p = np.array([cx, cy, size, 1.0, orientation, frequency, phase, 1.0, image.mean()])
        g = _render(p, image.shape) - image.mean()
        p[7] = (g * centered).sum() / (g**2).sum()  # least-squares amplitude for this shape
        guesses.append(p)
    return guesses

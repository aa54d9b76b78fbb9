"""Natural-image stimuli: grayscale patches cut from the photographs that ship with scikit-image.

The real data (Lurz et al., ICLR 2021) showed ImageNet photographs, converted to grayscale and
downsampled to 36 x 64 pixels. Offline we have no ImageNet, but scikit-image's wheel carries a
handful of photographs in ``skimage.data.data_dir``; cutting them at many positions, scales and
mirror flips gives thousands of distinct natural patches with the statistics that matter here
(1/f spectra, edges, textures). The files are read directly, so nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from skimage import data as skimage_data
from skimage import io
from skimage.color import rgb2gray
from skimage.transform import resize_local_mean
from tqdm.auto import tqdm

from fens.utility.checks import check_int, check_number

# The photographs in scikit-image's wheel (file stems in skimage.data.data_dir); the synthetic
# images there (chessboards, phantom, text, logos) are left out.
PHOTOGRAPHS: tuple[str, ...] = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock_motion",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "ihc",
    "microaneurysms",
    "moon",
    "motorcycle_left",
    "motorcycle_right",
    "retina",
    "rocket",
)

IMAGE_SHAPE: tuple[int, int] = (36, 64)  # (height, width) in pixels, as in the real data


@cache
def load_photograph(name: str) -> np.ndarray:
    """One photograph of scikit-image's wheel as grayscale intensities.

    Args:
        name: a file stem from :data:`PHOTOGRAPHS`, e.g. ``"camera"``.

    Returns:
        ``(height, width)`` float64 array with values in 0..255.
    """
    if name not in PHOTOGRAPHS:
        raise ValueError(f"unknown photograph {name!r}; choose one of {PHOTOGRAPHS}")
    folder = Path(skimage_data.data_dir)
    matches = sorted(p for p in folder.iterdir() if p.stem == name)
    if not matches:
        raise FileNotFoundError(f"photograph {name!r} is missing from {folder}")
    image = io.imread(matches[0])
    if image.ndim == 3:  # (height, width, RGB[A]) -> luminance in 0..1
        image = rgb2gray(image[..., :3])
        return image * 255.0
    return image.astype(np.float64)


@dataclass(frozen=True)
class Patches:
    """A set of image patches and where each was cut from.

    Attributes:
        images: ``(n, 36, 64)`` float32, integral values in 0..255.
        source: ``(n,)`` the photograph each patch was cut from (a name of :data:`PHOTOGRAPHS`).
        box: ``(n, 4)`` int64 crop in the photograph: top row, left column, height, width.
        flipped: ``(n,)`` bool, whether the crop was mirrored left-right.
    """

    images: np.ndarray
    source: np.ndarray
    box: np.ndarray
    flipped: np.ndarray


def cut_patches(
    n: int,
    rng: np.random.Generator,
    min_contrast: float = 12.0,
    progress: bool = False,
    spectral_tilt: float = 0.0,
) -> Patches:
    """Cut ``n`` natural-image patches of 36 x 64 pixels at random positions, scales and flips.

    Each patch: a photograph is drawn (with probability proportional to the square root of its
    area, so the large ones give more patches without swamping the small ones), then a crop of
    the image's aspect ratio 36:64 whose height is log-uniform between 36 pixels and the largest
    that fits, at a uniform position, mirrored with probability 1/2, and averaged down to
    36 x 64 (each output pixel the mean of the photograph's pixels it covers). Patches whose pixel standard deviation is below ``min_contrast``
    (near-uniform sky, background of a micrograph) are drawn again.

    Args:
        n: number of patches.
        rng: the random generator (the only source of randomness).
        min_contrast: smallest accepted standard deviation of a patch, in 0..255 units.
        progress: show a tqdm progress bar.
        spectral_tilt: exponent of the amplitude spectrum's tilt (0: the patches as cut).

    Returns:
        The :class:`Patches`, values rounded to integers in 0..255 like the real 8-bit stimuli.
    """
    check_int("n (the number of patches)", n, minimum=0)
    check_number("min_contrast", min_contrast, minimum=0)
    check_number("spectral_tilt", spectral_tilt, minimum=0)
    height, width = IMAGE_SHAPE
    photos = [load_photograph(name) for name in PHOTOGRAPHS]
    weights = np.array([np.sqrt(p.size) for p in photos])
    weights /= weights.sum()

    images = np.empty((n, height, width), dtype=np.float32)
    source = np.empty(n, dtype=f"<U{max(map(len, PHOTOGRAPHS))}")
    box = np.empty((n, 4), dtype=np.int64)
    flipped = np.empty(n, dtype=bool)
    for i in tqdm(range(n), desc="cutting image patches", disable=not progress):
        for _attempt in range(1000):
            k = rng.choice(len(photos), p=weights)
            photo = photos[k]
            # Largest crop of aspect 36:64 that fits in the photograph.
            max_h = min(photo.shape[0], int(photo.shape[1] * height / width))
            crop_h = int(round(np.exp(rng.uniform(np.log(height), np.log(max_h)))))
            crop_w = int(round(crop_h * width / height))
            top = int(rng.integers(0, photo.shape[0] - crop_h + 1))
            left = int(rng.integers(0, photo.shape[1] - crop_w + 1))
            flip = bool(rng.random() < 0.5)
            crop = photo[top : top + crop_h, left : left + crop_w]
            if flip:
                crop = crop[:, ::-1]
            patch = resize_local_mean(crop, IMAGE_SHAPE)
            patch = np.clip(np.round(patch), 0, 255)
            if patch.std() >= min_contrast:
                break
        else:
            raise RuntimeError(
                f"found no patch with contrast >= {min_contrast} in 1000 tries; lower min_contrast"
            )
        images[i] = patch if spectral_tilt == 0 else tilt_spectrum(patch, spectral_tilt)
        source[i] = PHOTOGRAPHS[k]
        box[i] = (top, left, crop_h, crop_w)
        flipped[i] = flip
    return Patches(images=images, source=source, box=box, flipped=flipped)


def tilt_spectrum(image: np.ndarray, exponent: float) -> np.ndarray:
    """Multiply an image's amplitude spectrum by ``f ** exponent`` (``f`` the spatial
    frequency), keeping its mean and its pixel standard deviation (up to the clipping to
    0..255, which takes a few percent of the contrast of the most contrasted patches).

    Natural photographs have power spectra close to ``f ** -2`` (Field 1987; van der Schaaf
    and van Hateren 1996). The scikit-image photographs are small, so most patches are averaged
    down little from their native resolution and keep its blur: their power falls faster,
    about as ``f ** -2.7`` (:func:`spectrum_exponent`; ``bench/README.md``, "The stimuli's
    spectrum"), where the real stimuli, ImageNet photographs averaged down several times, are
    near natural. A tilt of 0.5 brings them near ``f ** -1.9``. The image is mirrored on
    every side before the Fourier transform, so that its edges do not ring.

    Args:
        image: ``(36, 64)`` pixel intensities in 0..255.
        exponent: the tilt (positive: more fine detail).

    Returns:
        ``(36, 64)`` float32, rounded to integers and clipped to 0..255.
    """
    image = np.asarray(image, dtype=np.float64)
    mirrored = np.block([[image, image[:, ::-1]], [image[::-1], image[::-1, ::-1]]])
    fy = np.fft.fftfreq(mirrored.shape[0])[:, None]
    fx = np.fft.rfftfreq(mirrored.shape[1])[None, :]
    frequency = np.hypot(fy, fx)
    frequency[0, 0] = 1.0  # the mean is restored below
    spectrum = np.fft.rfft2(mirrored - image.mean()) * frequency**exponent
    tilted = np.fft.irfft2(spectrum, s=mirrored.shape)[: image.shape[0], : image.shape[1]]
    tilted *= image.std() / max(tilted.std(), 1e-12)
    return np.clip(np.round(tilted + image.mean()), 0, 255).astype(np.float32)


def spectrum_exponent(images: np.ndarray, band: tuple[float, float] = (0.03, 0.45)) -> float:
    """The exponent ``a`` of the images' mean power spectrum, ``power ~ f ** a``: the slope of a
    straight line through log power against log frequency over ``band`` (cycles/pixel), each
    image's mean removed and a Hann window applied (so that its edges add no power).
    About -2 for natural photographs (:func:`tilt_spectrum`).

    Args:
        images: ``(n, height, width)`` pixel intensities.
        band: the frequencies fitted, in cycles/pixel.

    Returns:
        The exponent (negative: power falls with frequency).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or min(images.shape[1:]) < 8:
        raise ValueError(f"images must be (n, height, width) with sides >= 8, got {images.shape}")
    height, width = images.shape[1:]
    window = np.outer(np.hanning(height), np.hanning(width))
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(centred * window)) ** 2).mean(axis=0)
    frequency = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :])
    fitted = (frequency > band[0]) & (frequency < band[1])
    return float(np.polyfit(np.log(frequency[fitted]), np.log(power[fitted]), 1)[0])

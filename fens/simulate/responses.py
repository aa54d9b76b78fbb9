"""The experiment around the neurons: trial order, behaviour and trial-to-trial variability.

Responses are on the scale of deconvolved calcium traces: non-negative, sparse, noisy. A trial's
response of neuron ``n`` to image ``x`` is drawn as::

    r ~ Gamma(shape=k, scale=g_t * h_tn * mean_n(x) / k)       (mean g_t * h_tn * mean_n(x))

with ``mean_n`` the ground truth's noise-free mean response, ``g_t`` a log-normal gain shared
by all neurons in trial ``t`` (mean 1), partly driven by running speed, as arousal and locomotion
modulate whole populations in mouse V1 (Niell & Stryker 2010; Stringer et al. 2019), and
``h_tn`` a private log-normal gain (mean 1): together with the Gamma draw it makes the noise
overdispersed, more variable than a fixed-shape Gamma, like the modulated Poisson model of
cortical variability (Goris, Movshon & Simoncelli 2014).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from fens.simulate.config import SimulationConfig

TIERS = ("train", "validation", "test")


@dataclass(frozen=True)
class TrialDesign:
    """Which image each trial shows, and in which tier.

    Attributes:
        image_index: ``(T,)`` index into the unique images (train, then validation, then test).
        tiers: ``(T,)`` '<U10' 'train' / 'validation' / 'test'.
    """

    image_index: np.ndarray
    tiers: np.ndarray


def repeat_counts(n_images: int, n_trials: int, rng: np.random.Generator) -> np.ndarray:
    """How often each test image is shown: as evenly as possible, ragged by one.

    E.g. 100 images in 999 trials: 99 images 10 times and one image 9 times.

    Returns:
        ``(n_images,)`` int64 repeat counts summing to ``n_trials``.
    """
    most = -(-n_trials // n_images)  # ceil
    repeats = np.full(n_images, most - 1, dtype=np.int64)
    repeats[rng.permutation(n_images)[: n_trials - (most - 1) * n_images]] += 1
    return repeats


def trial_design(config: SimulationConfig, rng: np.random.Generator) -> TrialDesign:
    """Trials of all tiers, interleaved in a random order as in an experiment.

    Unique images ``0 .. n_train-1`` are shown once in train trials, the next ``n_validation``
    once in validation trials, and the last ``n_test_images`` repeatedly in test trials.
    """
    n_train, n_val = config.n_train, config.n_validation
    test_images = n_train + n_val + np.arange(config.n_test_images)
    repeats = repeat_counts(config.n_test_images, config.n_test_trials, rng)
    image_index = np.concatenate([np.arange(n_train + n_val), np.repeat(test_images, repeats)])
    tiers = np.array(
        ["train"] * n_train + ["validation"] * n_val + ["test"] * config.n_test_trials,
        dtype="<U10",
    )
    order = rng.permutation(config.n_trials)
    return TrialDesign(image_index=image_index[order], tiers=tiers[order])


@dataclass(frozen=True)
class Behavior:
    """Simulated eye and running measurements, one row per trial in presentation order.

    Attributes:
        behavior: ``(T, 3)`` pupil dilation (a.u., like the real data's pupil radius), its
            change since the previous trial, running speed (cm/s, >= 0).
        pupil_center: ``(T, 2)`` pupil position in the eye camera (pixels).
        arousal: ``(T,)`` the latent state (standard normal, slowly varying) behind both.
    """

    behavior: np.ndarray
    pupil_center: np.ndarray
    arousal: np.ndarray


def simulate_behavior(n_trials: int, rng: np.random.Generator) -> Behavior:
    """A slowly drifting arousal state (AR(1), correlation 0.98 between trials) drives pupil
    size, bouts of running (speed above a threshold of arousal) and small eye movements."""
    phi = 0.98
    innovations = rng.normal(size=n_trials)
    arousal = np.empty(n_trials)
    arousal[0] = innovations[0]
    for t in range(1, n_trials):
        arousal[t] = phi * arousal[t - 1] + np.sqrt(1 - phi**2) * innovations[t]
    pupil = 18.0 + 4.0 * arousal + rng.normal(0.0, 0.5, n_trials)
    dilation = np.diff(pupil, prepend=pupil[0])
    running = np.maximum(0.0, 10.0 * (arousal - 0.5)) + np.abs(rng.normal(0.0, 0.3, n_trials))
    pupil_center = np.column_stack([330.0 + 5.0 * arousal, 240.0 - 2.0 * arousal]) + rng.normal(
        0.0, 2.0, (n_trials, 2)
    )
    return Behavior(
        behavior=np.column_stack([pupil, dilation, running]).astype(np.float32),
        pupil_center=pupil_center.astype(np.float32),
        arousal=arousal,
    )


def shared_gain(
    running: np.ndarray, sd: float, running_correlation: float, rng: np.random.Generator
) -> np.ndarray:
    """Log-normal gain shared by all neurons in each trial, with mean 1.

    ``log g = sd * (c * z_run + sqrt(1 - c**2) * eps) - sd**2 / 2``, with ``z_run`` the
    standardised running speed, ``c`` the running correlation and ``eps`` standard normal.

    Returns:
        ``(T,)`` gains.
    """
    z = (running - running.mean()) / (running.std() + 1e-12)
    eps = rng.normal(size=len(running))
    c = running_correlation
    return np.exp(sd * (c * z + np.sqrt(1 - c**2) * eps) - sd**2 / 2)


def noisy_responses(
    mean: np.ndarray,
    image_index: np.ndarray,
    gain: np.ndarray,
    gamma_shape: float,
    private_gain_sd: float,
    rng: np.random.Generator,
    chunk: int = 512,
    progress: bool = False,
) -> np.ndarray:
    """Single-trial responses: Gamma noise around the mean scaled by shared and private gains.

    Args:
        mean: ``(U, N)`` noise-free mean response to each unique image.
        image_index: ``(T,)`` the image each trial shows (rows of ``mean``).
        gain: ``(T,)`` shared gain of each trial.
        gamma_shape: shape ``k`` of the Gamma draw.
        private_gain_sd: sd of the log of each neuron's private gain in each trial.
        rng: random generator.
        chunk: trials drawn at a time (bounds the memory used).
        progress: show a tqdm progress bar.

    Returns:
        ``(T, N)`` float32 responses, >= 0.
    """
    out = np.empty((len(image_index), mean.shape[1]), dtype=np.float32)
    for start in tqdm(range(0, len(out), chunk), desc="noisy responses", disable=not progress):
        rows = slice(start, start + chunk)
        mu = gain[rows, None] * mean[image_index[rows]]  # (chunk, N)
        sd = private_gain_sd
        private = np.exp(sd * rng.standard_normal(mu.shape) - sd**2 / 2)  # (chunk, N), mean 1
        out[rows] = rng.gamma(gamma_shape, mu * private / gamma_shape)
    return out

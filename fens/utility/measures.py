"""Measures of how well responses are predicted: correlations and the jackknife oracle.

All functions here work on NumPy arrays of responses laid out as ``(trials, neurons)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def corr(y1: np.ndarray, y2: np.ndarray, axis: int = 0, eps: float = 1e-8) -> np.ndarray:
    """Pearson correlation of ``y1`` and ``y2`` along ``axis``.

    Args:
        y1, y2: arrays of the same shape, e.g. ``(trials, neurons)``.
        axis: the axis the correlation runs over (trials by default, giving one value per neuron).
        eps: added to the standard deviations so that a constant column gives 0, not NaN.

    Returns:
        The correlations, with ``axis`` removed (``(neurons,)`` for the default layout).
    """
    y1 = np.asarray(y1, dtype=np.float64)
    y2 = np.asarray(y2, dtype=np.float64)
    if y1.shape != y2.shape:
        raise ValueError(f"corr needs arrays of one shape, got {y1.shape} and {y2.shape}")
    z1 = (y1 - y1.mean(axis=axis, keepdims=True)) / (y1.std(axis=axis, keepdims=True) + eps)
    z2 = (y2 - y2.mean(axis=axis, keepdims=True)) / (y2.std(axis=axis, keepdims=True) + eps)
    return (z1 * z2).mean(axis=axis)


def oracle_corr(repeated_responses: Sequence[np.ndarray]) -> np.ndarray:
    """Jackknife (leave-one-out) oracle correlation of every neuron.

    Each single-trial response to a repeated image is correlated with the mean of the *other*
    repeats of that image. This is the best a model that only sees the image could be expected
    to do; being computed from one repeat fewer than the full mean, it *underestimates* the
    true oracle (the correlation with the noise-free mean response).

    Args:
        repeated_responses: one array per unique image, each ``(repeats_i, neurons)``; the
            number of repeats may differ between images (ragged), but every image needs at
            least two.

    Returns:
        ``(neurons,)`` oracle correlations.
    """
    if len(repeated_responses) == 0:
        raise ValueError("oracle_corr needs responses to at least one repeated image, got none")
    singles, loo_means = [], []
    for i, responses in enumerate(repeated_responses):
        responses = np.asarray(responses, dtype=np.float64)
        if responses.ndim != 2 or responses.shape[0] < 2:
            raise ValueError(
                f"image {i}: expected responses of shape (repeats >= 2, neurons), "
                f"got {responses.shape}"
            )
        n = responses.shape[0]
        loo_means.append((responses.sum(axis=0, keepdims=True) - responses) / (n - 1))
        singles.append(responses)
    return corr(np.concatenate(singles), np.concatenate(loo_means), axis=0)

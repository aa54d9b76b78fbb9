"""How predictable is a simulated data set? Noise ceiling, jackknife oracle and a linear proxy.

These read a data set folder directly with NumPy (independent of the loaders) and return one
value per neuron:

- :func:`noise_ceiling`: correlation over test trials between the ground-truth noise-free mean
  response to each trial's image and the single-trial response: the best single-trial test
  correlation any model can reach (in expectation);
- :func:`jackknife_oracle`: the leave-one-out oracle of the test repeats, the estimate used on
  real data (Lurz et al., ICLR 2021), which underestimates the noise ceiling;
- :func:`ridge_proxy`: single-trial test correlation of ridge regression from pixels to
  responses, a quick stand-in for the linear-nonlinear (LN) baseline.

On real data (scan 20457-5-9) the published numbers are: LN 0.12, a good CNN 0.29-0.30,
fraction of oracle about 0.75. The ``full`` preset is tuned to sit in that regime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from fens.measures import corr, oracle_corr
from fens.simulate.neurons import GroundTruth


def load_tier(
    folder: str | Path, tier: str, keys: tuple[str, ...] = ("images", "responses")
) -> dict[str, np.ndarray]:
    """Stack the data files of one tier.

    Args:
        folder: a data set folder.
        tier: 'train', 'validation' or 'test'.
        keys: data keys to read (folders under ``data/``).

    Returns:
        ``{key: (trials, ...)}`` plus ``frame_image_id`` ``(trials,)``, in trial order.
    """
    folder = Path(folder)
    tiers = np.load(folder / "meta" / "trials" / "tiers.npy")
    if tier not in set(tiers.tolist()):
        raise ValueError(f"no trials of tier {tier!r} in {folder} (tiers: {sorted(set(tiers))})")
    trials = np.flatnonzero(tiers == tier)
    out = {
        key: np.stack([np.load(folder / "data" / key / f"{i}.npy") for i in trials]) for key in keys
    }
    out["frame_image_id"] = np.load(folder / "meta" / "trials" / "frame_image_id.npy")[trials]
    return out


def noise_ceiling(folder: str | Path) -> np.ndarray:
    """Per-neuron correlation of single-trial test responses with the noise-free mean.

    Returns:
        ``(N,)`` correlations over the test trials.
    """
    test = load_tier(folder, "test")
    mean = GroundTruth.load(folder).mean_response(test["images"])  # (trials, N)
    return corr(mean, test["responses"], axis=0)


def jackknife_oracle(folder: str | Path) -> np.ndarray:
    """Per-neuron jackknife oracle correlation of the test repeats
    (:func:`fens.measures.oracle_corr`); it underestimates the true oracle.

    Returns:
        ``(N,)`` oracle correlations.
    """
    test = load_tier(folder, "test", keys=("responses",))
    ids = test["frame_image_id"]
    repeats = [test["responses"][ids == i] for i in np.unique(ids)]
    return oracle_corr(repeats)


def ridge_proxy(
    folder: str | Path, alphas: np.ndarray | None = None, progress: bool = False
) -> np.ndarray:
    """Single-trial test correlation of ridge regression from pixels to responses.

    Pixels are standardised with the train trials' mean and sd; the ridge penalty is chosen
    per neuron on the validation trials from ``alphas`` (relative to the largest squared
    singular value of the train design matrix); the fit uses the train trials only.

    Args:
        folder: a data set folder.
        alphas: relative ridge penalties to try; default 10 values from 1e-4 to 1.
        progress: show a tqdm progress bar.

    Returns:
        ``(N,)`` correlations over the test trials.
    """
    alphas = np.logspace(-4, 0, 10) if alphas is None else np.asarray(alphas, dtype=np.float64)
    tiers = {t: load_tier(folder, t) for t in ("train", "validation", "test")}
    x_train = tiers["train"]["images"].reshape(len(tiers["train"]["images"]), -1)  # (T, P)
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6

    def design(tier: str) -> np.ndarray:
        x = tiers[tier]["images"]
        return (x.reshape(len(x), -1) - mu) / sd  # (trials, P)

    y_train = tiers["train"]["responses"].astype(np.float64)
    y_mean = y_train.mean(axis=0)
    u, s, vt = np.linalg.svd(design("train"), full_matrices=False)  # (T, K), (K,), (K, P)
    uty = u.T @ (y_train - y_mean)  # (K, N)
    x_val, x_test = design("validation") @ vt.T, design("test") @ vt.T  # (trials, K)
    y_val = tiers["validation"]["responses"]

    best_corr = np.full(y_train.shape[1], -np.inf)
    best_alpha = np.zeros(y_train.shape[1])
    for alpha in tqdm(alphas, desc="ridge penalties", disable=not progress):
        shrink = s / (s**2 + alpha * s[0] ** 2)  # (K,)
        r = corr(x_val @ (shrink[:, None] * uty), y_val, axis=0)
        better = r > best_corr
        best_corr[better], best_alpha[better] = r[better], alpha

    predictions = np.empty((len(x_test), y_train.shape[1]))
    for alpha in np.unique(best_alpha):
        cols = best_alpha == alpha
        shrink = s / (s**2 + alpha * s[0] ** 2)
        predictions[:, cols] = x_test @ (shrink[:, None] * uty[:, cols])
    return corr(predictions + y_mean, tiers["test"]["responses"], axis=0)


def calibration_summary(folder: str | Path, progress: bool = False) -> dict[str, float]:
    """Means over neurons of :func:`noise_ceiling`, :func:`jackknife_oracle` and
    :func:`ridge_proxy`, and the proxy as a fraction of the oracle."""
    ceiling = noise_ceiling(folder)
    oracle = jackknife_oracle(folder)
    ridge = ridge_proxy(folder, progress=progress)
    return {
        "noise_ceiling": float(ceiling.mean()),
        "jackknife_oracle": float(oracle.mean()),
        "ridge_proxy": float(ridge.mean()),
        "ridge_fraction_of_oracle": float(ridge.mean() / oracle.mean()),
    }

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
import torch
from tqdm.auto import tqdm

from fens.measures import corr, oracle_corr
from fens.simulate import gabor_bank
from fens.simulate.neurons import GroundTruth
from fens.simulate.random_network import scaled
from fens.simulate.stimuli import IMAGE_SHAPE


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


def true_network_features(images: np.ndarray, truth: GroundTruth) -> torch.Tensor:
    """The ground truth's random-network features and their pairwise products,
    ``(B, C + C (C + 1) / 2, 36, 64)`` for images in 0..255: the family a deep cell's drive
    belongs to (its square is a quadratic form of the features). ``C = 0`` for a population
    without deep cells."""
    if truth.network is None:
        return torch.zeros((len(images), 0, *IMAGE_SHAPE))
    phi = truth.network.features(torch.from_numpy(scaled(images)))  # (B, C, H, W)
    rows, cols = np.triu_indices(phi.shape[1])
    return torch.cat([phi, phi[:, rows] * phi[:, cols]], dim=1)


def feature_proxy(
    folder: str | Path,
    features: tuple[str, ...] = ("gabor",),
    alphas: np.ndarray | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Single-trial test correlation of ridge regression from features at each neuron's true
    receptive-field centre: a stand-in for a model that has learned a core with these features
    and where each neuron looks (the SOTA models' readout learns the position).

    ``features`` names the core: ``'gabor'`` the classic V1 features of
    :func:`fens.simulate.gabor_bank.features` (what a model that learns only Gabor-like features can reach),
    ``'gabor_linear'`` the same filters without rectification or energy (a linear core, as the
    SOTA LN model's),
    ``'network'`` the true random-network features of the deep cells and their products
    (:func:`true_network_features`, what a core that learned them exactly gives). Neurons are
    grouped by their centre rounded to 2 pixels; features are standardised on the train trials;
    the penalty (relative to the largest squared singular value) is chosen per neuron on the
    validation trials.

    Returns:
        ``(N,)`` correlations over the test trials.
    """
    makers = {
        "gabor": lambda images, truth: gabor_bank.features(torch.from_numpy(scaled(images))),
        "gabor_linear": lambda images, truth: gabor_bank.features(
            torch.from_numpy(scaled(images)), linear=True
        ),
        "network": true_network_features,
    }
    unknown = set(features) - set(makers)
    if unknown or not features:
        raise ValueError(f"features must name some of {sorted(makers)}, got {features!r}")
    alphas = np.logspace(-5, 0, 11) if alphas is None else np.asarray(alphas, dtype=np.float64)
    truth = GroundTruth.load(folder)
    tiers = {t: load_tier(folder, t) for t in ("train", "validation", "test")}
    cell = np.clip(np.round(truth.center / 2) * 2, 0, [IMAGE_SHAPE[1] - 1, IMAGE_SHAPE[0] - 1])
    cells, group = np.unique(cell.astype(np.int64), axis=0, return_inverse=True)
    sampled = {}  # tier -> (trials, cells, F)
    for tier, data in tiers.items():
        parts = []
        for start in range(0, len(data["images"]), 256):
            images = data["images"][start : start + 256]
            with torch.no_grad():
                maps = torch.cat([makers[name](images, truth) for name in features], dim=1)
            parts.append(maps[:, :, cells[:, 1], cells[:, 0]].permute(0, 2, 1).double().numpy())
        sampled[tier] = np.concatenate(parts)
    mu = sampled["train"].mean(axis=0)
    sd = sampled["train"].std(axis=0) + 1e-6
    y = {t: tiers[t]["responses"].astype(np.float64) for t in tiers}
    y_mean = y["train"].mean(axis=0)
    predictions = np.empty_like(y["test"])
    for c in tqdm(range(len(cells)), desc="feature proxy", disable=not progress):
        cols = np.flatnonzero(group.ravel() == c)
        x = {t: (sampled[t][:, c] - mu[c]) / sd[c] for t in sampled}  # (trials, F)
        u, s, vt = np.linalg.svd(x["train"], full_matrices=False)
        uty = u.T @ (y["train"][:, cols] - y_mean[cols])
        x_val, x_test = x["validation"] @ vt.T, x["test"] @ vt.T
        best, best_pred = np.full(cols.size, -np.inf), np.zeros((len(x_test), cols.size))
        for alpha in alphas:
            w = (s / (s**2 + alpha * s[0] ** 2))[:, None] * uty
            r = np.nan_to_num(corr(x_val @ w, y["validation"][:, cols], axis=0), nan=-1.0)
            better = r > best
            best[better] = r[better]
            best_pred[:, better] = (x_test @ w)[:, better]
        predictions[:, cols] = best_pred + y_mean[cols]
    return corr(predictions, y["test"], axis=0)

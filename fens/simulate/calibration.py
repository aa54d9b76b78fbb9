"""How predictable is a simulated data set? Noise ceiling, jackknife oracle and a linear proxy.

These read a data set folder directly with NumPy (independent of the loaders) and return one
value per neuron:

- :func:`noise_ceiling`: correlation over test trials between the ground-truth noise-free mean
  response to each trial's image and the single-trial response: the best single-trial test
  correlation any model can reach (in expectation);
- :func:`jackknife_oracle`: the leave-one-out oracle of the test repeats, the estimate used on
  real data (Lurz et al., ICLR 2021), which underestimates the noise ceiling;
- :func:`ridge_proxy`: single-trial test correlation of ridge regression from pixels to
  responses, a quick stand-in for the linear-nonlinear (LN) baseline;
- :func:`linear_ceiling`: the best a model linear in the pixels can reach (the noise ceiling
  of linear models), from the ground truth's responses to fresh patches without noise: what
  the LN and SOTA LN models approach as they learn their filters from the trials;
- :func:`feature_proxy`: ridge from given features at each neuron's true centre;
- :func:`network_dimensionality`: how many independent features the deep cells read.

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
from fens.simulate.random_network import channel_covariance, scaled
from fens.simulate.stimuli import IMAGE_SHAPE, cut_patches
from fens.simulate.writer import simulated_config


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
    x = standardized_pixels(*(tiers[t]["images"] for t in ("train", "validation", "test")))
    y = {t: tiers[t]["responses"].astype(np.float64) for t in tiers}
    predictions = ridge_predictions(
        x[0], y["train"], x[1], y["validation"], x[2], alphas, progress=progress
    )
    return corr(predictions, y["test"], axis=0)


def standardized_pixels(fit: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Images ``(B, ..., H, W)`` as float64 design matrices ``(B, H * W)``, each pixel
    standardised with the mean and sd over ``fit``; ``[fit, *others]``."""
    flat = [np.asarray(x, dtype=np.float64).reshape(len(x), -1) for x in (fit, *others)]
    mu, sd = flat[0].mean(axis=0), flat[0].std(axis=0) + 1e-6
    return [(x - mu) / sd for x in flat]


def ridge_predictions(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_select: np.ndarray,
    y_select: np.ndarray,
    x_eval: np.ndarray,
    alphas: np.ndarray,
    progress: bool = False,
) -> np.ndarray:
    """Ridge regression of every column of ``y_fit`` on ``x_fit``, its penalty chosen per
    column as the one whose predictions correlate best with ``y_select`` on ``x_select``.

    The penalties ``alphas`` are relative to the largest squared singular value of ``x_fit``;
    the intercept is the mean of ``y_fit`` (unpenalised). A column whose selection
    correlation is undefined (a constant) takes the first penalty.

    Args:
        x_fit: ``(T, F)`` design; y_fit: ``(T, N)`` targets.
        x_select, y_select: ``(S, F)`` and ``(S, N)``, to choose each column's penalty.
        x_eval: ``(E, F)`` where to predict.
        alphas: ``(A,)`` relative penalties.
        progress: show a tqdm progress bar over the penalties.

    Returns:
        ``(E, N)`` predictions.
    """
    y_mean = y_fit.mean(axis=0)
    u, s, vt = np.linalg.svd(x_fit, full_matrices=False)  # (T, K), (K,), (K, F)
    uty = u.T @ (y_fit - y_mean)  # (K, N)
    x_select, x_eval = x_select @ vt.T, x_eval @ vt.T  # in the singular basis
    best = np.full(y_fit.shape[1], -np.inf)
    predictions = np.zeros((len(x_eval), y_fit.shape[1]))
    for alpha in tqdm(alphas, desc="ridge penalties", disable=not progress):
        w = (s / (s**2 + alpha * s[0] ** 2))[:, None] * uty  # (K, N)
        r = np.nan_to_num(corr(x_select @ w, y_select, axis=0), nan=-1.0)
        better = r > best
        best[better] = r[better]
        predictions[:, better] = x_eval @ w[:, better]
    return predictions + y_mean


def linear_fit_to_truth(
    truth: GroundTruth,
    n_patches: int = 10_000,
    alphas: np.ndarray | None = None,
    seed: int = 0,
    progress: bool = False,
    spectral_tilt: float = 0.0,
) -> np.ndarray:
    """Per neuron, how well the best linear function of the pixels follows its noise-free
    mean response: the correlation, on held-out natural patches, between the truth and a ridge
    regression from pixels fitted to the truth itself.

    ``n_patches`` fresh patches (:func:`fens.simulate.stimuli.cut_patches`, seeded by
    ``seed`` and tilted by ``spectral_tilt``, which :func:`linear_ceiling` takes from the data
    set) are split 70 / 15 / 15 into fitting, choosing each neuron's penalty (from ``alphas``,
    default 8 values from 1e-5 to 1e-1, relative as in :func:`ridge_predictions`) and
    measuring. No trial noise enters, so what is left is the neuron's nonlinearity (and
    what ``n_patches`` cannot pin down: the value rises slowly with it, by about 0.03 from
    3,000 to 20,000 patches on the calibration candidates, ``bench/README.md``).

    Returns:
        ``(N,)`` correlations.
    """
    alphas = np.logspace(-5, -1, 8) if alphas is None else np.asarray(alphas, dtype=np.float64)
    rng = np.random.default_rng(seed)
    images = cut_patches(n_patches, rng, progress=progress, spectral_tilt=spectral_tilt).images
    responses = truth.mean_response(images, batch_size=256, progress=progress).astype(np.float64)
    fit, select = int(0.7 * n_patches), int(0.85 * n_patches)
    x = standardized_pixels(images[:fit], images[fit:select], images[select:])
    predictions = ridge_predictions(
        x[0], responses[:fit], x[1], responses[fit:select], x[2], alphas, progress=progress
    )
    return corr(predictions, responses[select:], axis=0)


def linear_ceiling(
    folder: str | Path, n_patches: int = 10_000, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """The best single-trial test correlation a model linear in the pixels (then any
    monotonic output) can reach, per neuron, near enough: :func:`linear_fit_to_truth` times
    the :func:`noise_ceiling`. The product is exact in expectation when the trial noise has
    the noise-free response as its mean (as the simulator's has): a prediction correlates with
    the single trials only through the truth. It bounds the LN and SOTA LN models from above
    as the noise ceiling bounds every model.

    Returns:
        ``(N,)`` correlations.
    """
    truth = GroundTruth.load(folder)
    tilt = simulated_config(folder).spectral_tilt
    fit = linear_fit_to_truth(truth, n_patches, seed=seed, progress=progress, spectral_tilt=tilt)
    return fit * noise_ceiling(folder)


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


def participation_ratio(features: torch.Tensor | np.ndarray) -> float:
    """The effective number of dimensions of the channels of ``features`` ``(B, C, H, W)``:
    ``(sum lambda)^2 / sum lambda^2`` over the eigenvalues ``lambda`` of the channels'
    covariance across images and positions (Gao et al. 2017, "A theory of multineuronal
    dimensionality"): C for C uncorrelated channels of equal variance, 1 when one direction
    holds all the variance."""
    x = torch.as_tensor(features)
    if x.ndim != 4 or x.shape[1] < 1:
        raise ValueError(f"features must be (B, C, H, W) with C >= 1, got {tuple(x.shape)}")
    eigenvalues = torch.linalg.eigvalsh(channel_covariance(x))
    return float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())


def network_dimensionality(
    truth: GroundTruth, n_patches: int = 300, seed: int = 0, spectral_tilt: float = 0.0
) -> float:
    """:func:`participation_ratio` of the random network's features (what deep cells read) on
    ``n_patches`` fresh natural patches (with the data set's ``spectral_tilt``); 0 for a
    population without deep cells."""
    if truth.network is None:
        return 0.0
    rng = np.random.default_rng(seed)
    images = cut_patches(n_patches, rng, spectral_tilt=spectral_tilt).images
    with torch.no_grad():
        return participation_ratio(truth.network.features(torch.from_numpy(scaled(images))))


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
            # float32 here (half the memory: trials x cells x features is the largest array),
            # float64 from the standardisation on
            parts.append(maps[:, :, cells[:, 1], cells[:, 0]].permute(0, 2, 1).numpy())
        sampled[tier] = np.concatenate(parts)
    y = {t: tiers[t]["responses"].astype(np.float64) for t in tiers}
    predictions = np.empty_like(y["test"])
    for c in tqdm(range(len(cells)), desc="feature proxy", disable=not progress):
        cols = np.flatnonzero(group.ravel() == c)
        x = {t: sampled[t][:, c].astype(np.float64) for t in sampled}  # (trials, F)
        mu, sd = x["train"].mean(axis=0), x["train"].std(axis=0) + 1e-6
        x = {t: (values - mu) / sd for t, values in x.items()}
        predictions[:, cols] = ridge_predictions(
            x["train"],
            y["train"][:, cols],
            x["validation"],
            y["validation"][:, cols],
            x["test"],
            alphas,
        )
    return corr(predictions, y["test"], axis=0)

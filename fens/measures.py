"""Measures of how well responses are predicted: correlations, Poisson loss, oracles, FEV(E).

Two levels:

- array functions (:func:`corr`, :func:`poisson_loss`, :func:`oracle_corr`, :func:`fev`,
  :func:`feve`) take NumPy responses laid out as ``(trials, neurons)``, or one
  ``(repeats_i, neurons)`` array per image for measures over repeated presentations;
- loader functions (:func:`model_predictions`, ``get_*``) run a model over a DataLoader that
  yields ``(images, responses)`` batches, ``images: (batch, 1, height, width)`` and
  ``responses: (batch, neurons)``, and return NumPy arrays or floats.

Responses are in the units the loader yields (:func:`fens.dataset.load_dataset` divides each
neuron by its standard deviation), so the Poisson loss is in those units too; correlations and
fractions of variance do not depend on the scale.

Repeats. Measures over repeated presentations of an image (:func:`get_avg_correlations`,
:func:`get_oracles`, :func:`get_FEV`, :func:`get_FEVE`) group the trials of a loader by image:

- when the loader says which trials it yields in which order (``loader.sampler.indices``, or
  ``loader.batch_sampler.indices`` for a loader built with ``batch_sampler=``) and its dataset
  has ``trial_info.frame_image_id``, trials are grouped by that image id (the test loader of
  :func:`fens.dataset.load_dataset`, with or without ``return_test_sampler=True``);
- otherwise every batch is taken as all repeats of one image, and its images are checked to be
  identical.

A shuffled loader (the training loader) cannot be grouped and raises ``ValueError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, SubsetRandomSampler

from fens.utility.device import move_model, resolve_device

Model = Callable[[torch.Tensor], torch.Tensor]
LoaderOrLoaders = DataLoader | Mapping[str, DataLoader]


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


def _noise_and_total_variance(
    repeated_responses: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per-image responses as float arrays, the noise variance and the total variance.

    Returns:
        responses: one ``(repeats_i, neurons)`` array per image;
        noise_var: ``(neurons,)`` variance over repeats (``ddof=1``), averaged over images;
        total_var: ``(neurons,)`` variance over all trials of all images (``ddof=1``).
    """
    if len(repeated_responses) == 0:
        raise ValueError("needs responses to at least one repeated image, got none")
    responses = []
    for i, r in enumerate(repeated_responses):
        r = np.asarray(r, dtype=np.float64)
        if r.ndim != 2 or r.shape[0] < 2:
            raise ValueError(
                f"image {i}: expected responses of shape (repeats >= 2, neurons), got {r.shape}"
            )
        responses.append(r)
    noise_var = np.mean([r.var(axis=0, ddof=1) for r in responses], axis=0)
    total_var = np.concatenate(responses).var(axis=0, ddof=1)
    return responses, noise_var, total_var


def fev(repeated_responses: Sequence[np.ndarray]) -> np.ndarray:
    """Fraction of explainable variance (FEV) of every neuron (Cadena et al. 2019).

    The share of a neuron's response variance that is driven by the image rather than by trial
    to trial noise: ``(total_var - noise_var) / total_var``, where ``noise_var`` is the variance
    over repeats of one image (averaged over images) and ``total_var`` the variance over all
    trials, both with ``ddof=1``.

    Args:
        repeated_responses: one ``(repeats_i, neurons)`` array per image (ragged allowed),
            every image with at least two repeats.

    Returns:
        ``(neurons,)`` FEV; at most 1, and below 0 for a neuron whose repeats vary more than
        its responses to different images.
    """
    _, noise_var, total_var = _noise_and_total_variance(repeated_responses)
    return (total_var - noise_var) / total_var


def feve(
    repeated_responses: Sequence[np.ndarray], repeated_predictions: Sequence[np.ndarray]
) -> np.ndarray:
    """Fraction of explainable variance explained (FEVE) of every neuron (Cadena et al. 2019).

    ``1 - (mse - noise_var) / (total_var - noise_var)``: the mean squared error of the
    prediction, over all trials, minus the part that no prediction can remove (the noise
    variance), as a fraction of the explainable variance. 1 is a perfect prediction of the
    mean response; it is unstable for neurons with little explainable variance (Cadena et al.
    average it only over neurons with FEV > 0.15).

    Args:
        repeated_responses: one ``(repeats_i, neurons)`` array per image (ragged allowed),
            every image with at least two repeats.
        repeated_predictions: the prediction for each image, ``(neurons,)`` or
            ``(repeats_i, neurons)`` (one row per trial).

    Returns:
        ``(neurons,)`` FEVE.
    """
    responses, noise_var, total_var = _noise_and_total_variance(repeated_responses)
    if len(repeated_predictions) != len(responses):
        raise ValueError(
            f"expected one prediction per image ({len(responses)}), got {len(repeated_predictions)}"
        )
    squared_errors = []
    for i, (r, p) in enumerate(zip(responses, repeated_predictions, strict=True)):
        p = np.asarray(p, dtype=np.float64)
        try:
            squared_errors.append((r - np.broadcast_to(p, r.shape)) ** 2)
        except ValueError:
            raise ValueError(
                f"image {i}: prediction of shape {p.shape} does not fit responses of shape "
                f"{r.shape}"
            ) from None
    mse = np.concatenate(squared_errors).mean(axis=0)
    return 1 - (mse - noise_var) / (total_var - noise_var)


# --- running a model over a loader -------------------------------------------------------------


def _module_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer; ``None`` when it has neither."""
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return None if tensor is None else tensor.device


@contextmanager
def _evaluating(
    model: Model | None, device: str | torch.device | None
) -> Iterator[torch.device | None]:
    """Put ``model`` in eval mode on ``device`` (default: where it is) and restore it after.

    Yields the device to send the images to (``None`` without a model).
    """
    if model is None:
        yield None
        return
    if not isinstance(model, nn.Module):
        yield torch.device("cpu") if device is None else resolve_device(device)
        return
    was_training = model.training
    home = _module_device(model)
    if device is not None:
        target = resolve_device(device)
    else:
        target = home if home is not None else torch.device("cpu")
    model.eval()
    move_model(model, target)
    try:
        yield target
    finally:
        model.train(was_training)
        if home is not None:
            model.to(home)


def _collect(
    model: Model | None,
    loader: DataLoader,
    device: str | torch.device | None,
    check_same_image: bool = False,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Responses and (if ``model`` is given) predictions of every batch, in the loader's order.

    Returns:
        targets, outputs: one ``(batch_i, neurons)`` array per batch each (``outputs`` is empty
        without a model).
    """
    targets, outputs = [], []
    with _evaluating(model, device) as target_device:
        for i, (images, responses) in enumerate(loader):
            if check_same_image and not torch.equal(images, images[:1].expand_as(images)):
                raise ValueError(
                    f"batch {i} holds different images, but this loader gives no trial indices "
                    "(sampler.indices) and image ids (dataset.trial_info.frame_image_id) to "
                    "group repeats by, so every batch must hold the repeats of one image"
                )
            targets.append(responses.detach().cpu().numpy())
            if model is not None:
                with torch.no_grad():
                    output = model(images.to(target_device))
                outputs.append(output.detach().cpu().numpy())
    return targets, outputs


def model_predictions(
    model: Model, loader: DataLoader, device: str | torch.device | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The recorded responses and the model's predictions for every trial of ``loader``.

    The model runs in eval mode without gradients; its mode (and device) are restored after.

    Args:
        model: maps ``images: (batch, 1, height, width)`` to ``(batch, neurons)`` predictions.
        loader: yields ``(images, responses)`` batches.
        device: where to compute (default: where the model is). Unavailable accelerators fall
            back to the CPU with a warning (:func:`fens.utility.device.resolve_device`).

    Returns:
        target, output: ``(trials, neurons)`` NumPy arrays each, in the loader's order.
    """
    targets, outputs = _collect(model, loader, device)
    return np.concatenate(targets), np.concatenate(outputs)


def get_correlations(
    model: Model,
    loader_or_dataloaders: LoaderOrLoaders,
    device: str | torch.device | None = None,
    per_neuron: bool = True,
) -> np.ndarray | float | dict[str, np.ndarray | float]:
    """Single-trial correlation between prediction and response, over trials, per neuron.

    Args:
        model: maps images to ``(batch, neurons)`` predictions.
        loader_or_dataloaders: one loader, or a dict of them (e.g. the ``'train'``,
            ``'validation'``, ``'test'`` dict of :func:`fens.dataset.load_dataset`).
        device: where to compute (default: where the model is).
        per_neuron: return every neuron's correlation; ``False`` returns their mean.

    Returns:
        ``(neurons,)`` correlations, or their mean (a float); for a dict of loaders, a dict of
        those with the same keys.
    """
    if isinstance(loader_or_dataloaders, Mapping):
        return {
            key: get_correlations(model, loader, device=device, per_neuron=per_neuron)
            for key, loader in loader_or_dataloaders.items()
        }
    target, output = model_predictions(model, loader_or_dataloaders, device=device)
    correlations = corr(target, output, axis=0)
    return correlations if per_neuron else float(correlations.mean())


def poisson_loss(
    target: np.ndarray, output: np.ndarray, avg: bool = False, eps: float = 1e-12
) -> float:
    """Poisson loss ``output - target * log(output + eps)``, summed over trials and neurons.

    This is the negative Poisson log-likelihood of ``target`` given the rate ``output``, without
    the ``log(target!)`` term that does not depend on the model (torch's
    ``PoissonNLLLoss(log_input=False, full=False)``).

    Args:
        target: ``(trials, neurons)`` recorded responses.
        output: ``(trials, neurons)`` non-negative predicted rates.
        avg: average over trials and neurons instead of summing.
        eps: keeps the log finite for a predicted rate of 0.

    Returns:
        The summed (or averaged) loss.
    """
    target = np.asarray(target, dtype=np.float64)
    output = np.asarray(output, dtype=np.float64)
    if target.shape != output.shape:
        raise ValueError(
            f"poisson_loss needs arrays of one shape, got {target.shape} and {output.shape}"
        )
    loss = output - target * np.log(output + eps)
    return float(loss.mean() if avg else loss.sum())


def get_poisson_loss(
    model: Model,
    loader: DataLoader,
    device: str | torch.device | None = None,
    avg: bool = False,
    eps: float = 1e-12,
) -> float:
    """Poisson loss (:func:`poisson_loss`) of the model's predictions for every trial of ``loader``.

    Args:
        model: maps images to ``(batch, neurons)`` non-negative predictions.
        loader: yields ``(images, responses)`` batches.
        device: where to compute (default: where the model is).
        avg: average over trials and neurons instead of summing.
        eps: keeps the log finite for a prediction of 0.

    Returns:
        The summed (or averaged) loss.
    """
    target, output = model_predictions(model, loader, device=device)
    return poisson_loss(target, output, avg=avg, eps=eps)


def _test_loader(loader_or_dataloaders: LoaderOrLoaders) -> DataLoader:
    """The loader itself, or the ``'test'`` entry of a dict of loaders."""
    if not isinstance(loader_or_dataloaders, Mapping):
        return loader_or_dataloaders
    if "test" not in loader_or_dataloaders:
        raise ValueError(
            "measures over repeated images need the test loader; this dict of loaders has "
            f"only {sorted(loader_or_dataloaders)}"
        )
    return loader_or_dataloaders["test"]


def _trial_image_ids(loader: DataLoader) -> np.ndarray | None:
    """The image id of every trial in the loader's order, or ``None`` if the loader doesn't say."""
    if isinstance(loader.sampler, (RandomSampler, SubsetRandomSampler)):
        raise ValueError(
            f"this loader shuffles its trials ({type(loader.sampler).__name__}), so its trials "
            "cannot be matched to images; use the test loader"
        )
    indices = getattr(loader.sampler, "indices", None)
    if indices is None:
        indices = getattr(loader.batch_sampler, "indices", None)
    image_ids = getattr(getattr(loader.dataset, "trial_info", None), "frame_image_id", None)
    if indices is None or image_ids is None:
        return None
    return np.asarray(image_ids)[np.asarray(indices)]


def _per_image(
    model: Model | None, loader: DataLoader, device: str | torch.device | None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Responses (and predictions) grouped by image, as described in the module docstring.

    Returns:
        targets, outputs: one ``(repeats_i, neurons)`` array per image each, images in order of
        first appearance (``outputs`` is empty without a model).
    """
    image_ids = _trial_image_ids(loader)
    targets, outputs = _collect(model, loader, device, check_same_image=image_ids is None)
    if image_ids is None:
        return targets, outputs
    target = np.concatenate(targets)
    if len(image_ids) != len(target):
        raise ValueError(
            f"the loader's sampler lists {len(image_ids)} trials but the loader yielded "
            f"{len(target)}"
        )
    _, first = np.unique(image_ids, return_index=True)
    groups = [np.flatnonzero(image_ids == image_ids[i]) for i in np.sort(first)]
    per_image_targets = [target[g] for g in groups]
    if not outputs:
        return per_image_targets, []
    output = np.concatenate(outputs)
    return per_image_targets, [output[g] for g in groups]


def _repeated_only(
    targets: list[np.ndarray], outputs: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Keep the images shown at least twice; ``ValueError`` when there are none."""
    keep = [i for i, t in enumerate(targets) if len(t) >= 2]
    if not keep:
        raise ValueError(
            f"no image of this loader is shown more than once ({len(targets)} images); "
            "measures over repeats need the test loader"
        )
    return [targets[i] for i in keep], [outputs[i] for i in keep if outputs]


def get_avg_correlations(
    model: Model,
    loader: LoaderOrLoaders,
    device: str | torch.device | None = None,
    per_neuron: bool = True,
) -> np.ndarray | float:
    """Correlation between the prediction and the response averaged over repeats of each image.

    Averaging over repeats removes much of the trial-to-trial noise, so this is higher than the
    single-trial correlation of :func:`get_correlations` (the "correlation to average" of the
    Sensorium 2022 benchmark). Trials are grouped by image as the module docstring describes.

    Args:
        model: maps images to ``(batch, neurons)`` predictions.
        loader: the test loader, or a dict of loaders with a ``'test'`` entry.
        device: where to compute (default: where the model is).
        per_neuron: return every neuron's correlation; ``False`` returns their mean.

    Returns:
        ``(neurons,)`` correlations over images, or their mean.
    """
    targets, outputs = _per_image(model, _test_loader(loader), device)
    mean_target = np.stack([t.mean(axis=0) for t in targets])  # (images, neurons)
    mean_output = np.stack([o.mean(axis=0) for o in outputs])  # (images, neurons)
    correlations = corr(mean_target, mean_output, axis=0)
    return correlations if per_neuron else float(correlations.mean())


def get_oracles(
    loader_or_dataloaders: LoaderOrLoaders, per_neuron: bool = True
) -> np.ndarray | float:
    """Jackknife oracle correlation of every neuron over the repeated images of a loader.

    See :func:`oracle_corr`: each trial's response is correlated with the mean of the other
    repeats of its image; an estimate of the best achievable single-trial correlation that
    *underestimates* the true oracle. Images shown only once are left out.

    Args:
        loader_or_dataloaders: the test loader, or a dict of loaders with a ``'test'`` entry.
        per_neuron: return every neuron's oracle; ``False`` returns their mean.

    Returns:
        ``(neurons,)`` oracle correlations, or their mean.
    """
    targets, _ = _repeated_only(*_per_image(None, _test_loader(loader_or_dataloaders), None))
    oracles = oracle_corr(targets)
    return oracles if per_neuron else float(oracles.mean())


def get_fraction_oracles(
    model: Model, dataloaders: LoaderOrLoaders, device: str | torch.device | None = None
) -> float:
    """Fraction of the oracle the model reaches (Lurz et al. 2021).

    The slope of the least-squares line through the origin that fits every neuron's test
    correlation (:func:`get_correlations`) against its oracle (:func:`get_oracles`).

    Args:
        model: maps images to ``(batch, neurons)`` predictions.
        dataloaders: the test loader, or a dict of loaders with a ``'test'`` entry.
        device: where to compute (default: where the model is).

    Returns:
        The fraction of oracle, a float (about 0.75 for the SOTA model on the real data).
    """
    loader = _test_loader(dataloaders)
    oracles = get_oracles(loader)
    correlations = get_correlations(model, loader, device=device)
    slope, *_ = np.linalg.lstsq(oracles[:, None], correlations, rcond=None)
    return float(slope[0])


def get_FEV(loader_or_dataloaders: LoaderOrLoaders, per_neuron: bool = True) -> np.ndarray | float:
    """Fraction of explainable variance (:func:`fev`) of the responses over repeated images.

    Args:
        loader_or_dataloaders: the test loader, or a dict of loaders with a ``'test'`` entry.
        per_neuron: return every neuron's FEV; ``False`` returns their mean.

    Returns:
        ``(neurons,)`` FEV, or its mean.
    """
    targets, _ = _repeated_only(*_per_image(None, _test_loader(loader_or_dataloaders), None))
    fractions = fev(targets)
    return fractions if per_neuron else float(fractions.mean())


def get_FEVE(
    model: Model,
    loader: LoaderOrLoaders,
    device: str | torch.device | None = None,
    per_neuron: bool = True,
) -> np.ndarray | float:
    """Fraction of explainable variance explained (:func:`feve`) over repeated images.

    Args:
        model: maps images to ``(batch, neurons)`` predictions.
        loader: the test loader, or a dict of loaders with a ``'test'`` entry.
        device: where to compute (default: where the model is).
        per_neuron: return every neuron's FEVE; ``False`` returns their mean (dominated by
            neurons with little explainable variance, see :func:`feve`).

    Returns:
        ``(neurons,)`` FEVE, or its mean.
    """
    targets, outputs = _repeated_only(*_per_image(model, _test_loader(loader), device))
    fractions = feve(targets, outputs)
    return fractions if per_neuron else float(fractions.mean())

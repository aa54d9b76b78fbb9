"""Training a model of neural responses: Adam on the Poisson loss, early stopping on validation.

The recipe of the original course (FENS 2022, after sinzlab/nnfabrik's standard trainer and
neuralpredictors' ``early_stopping``): minimise the Poisson loss of the training responses plus
the model's regulariser with Adam; after every epoch, compute the mean single-trial correlation
on the validation set; when it has not improved for ``patience`` evaluations, go back to the best
state so far and lower the learning rate; stop after ``lr_decay_steps`` such rounds (or
``max_iter`` epochs) and keep the best state.

The loop is written so that it can be read: :func:`early_stopping` is a generator that hands out
epochs and restores the best state, and :func:`train_model` trains one epoch per step of it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader
from tqdm import tqdm

from fens.utility.device import resolve_device
from fens.utility.measures import corr, get_correlations, model_predictions, poisson_loss

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Losses by name, each summed over the trials and neurons of a batch (as the original did).
LOSSES: dict[str, Callable[[], Loss]] = {
    # Negative Poisson log-likelihood without the constant log(r!) term: output - r * log(output).
    "poisson": lambda: nn.PoissonNLLLoss(log_input=False, full=False, reduction="sum"),
    # Squared error: the negative log-likelihood of a Gaussian with fixed variance, up to scale.
    "mse": lambda: nn.MSELoss(reduction="sum"),
}


def copy_state(model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """A copy of ``model.state_dict()`` with every tensor on the CPU."""
    return OrderedDict(
        (
            name,
            value.detach().to("cpu", copy=True) if torch.is_tensor(value) else copy.deepcopy(value),
        )
        for name, value in model.state_dict().items()
    )


def _require_positive_int(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def early_stopping(
    model: nn.Module,
    objective: Callable[[nn.Module], float],
    *,
    interval: int = 1,
    patience: int = 5,
    max_iter: int = 200,
    maximize: bool = True,
    tolerance: float = 1e-6,
    lr_decay_steps: int = 1,
    scheduler: ReduceLROnPlateau | None = None,
) -> Iterator[tuple[int, float]]:
    """Hand out training epochs until the objective stops improving; then restore the best state.

    Use as ``for epoch, score in early_stopping(model, objective): <train one epoch>``.
    The objective is computed on the untrained model and after every ``interval`` epochs (in
    eval mode; the model's mode is restored). A score counts as an improvement when it beats the
    best so far by more than ``tolerance``. After ``patience`` evaluations in a row without
    improvement a round ends: the model goes back to its best state and, if rounds are left,
    training goes on from there (with the learning rate the scheduler has lowered). After
    ``lr_decay_steps`` rounds, after ``max_iter`` epochs, or when the objective is not finite
    (with a warning), the best state is loaded and the iteration ends; a caller that leaves
    the loop early gets the best state too, once the generator is closed (``break`` in a
    ``with contextlib.closing(...)`` block, or when it is garbage collected). As neuralpredictors'
    ``training.early_stopping``, whose behaviour this follows.

    Args:
        model: the model being trained; its best state (a CPU copy) is kept and restored.
        objective: the score of the model, e.g. the mean validation correlation.
        interval: epochs between two evaluations of the objective.
        patience: evaluations without improvement that end a round.
        max_iter: the most epochs to train.
        maximize: whether a higher score is better.
        tolerance: how much a score must beat the best one to count as an improvement.
        lr_decay_steps: rounds before training stops (the learning rate is lowered between).
        scheduler: stepped with every score, the first one included. A ``ReduceLROnPlateau``
            with ``patience=patience - 1``, ``threshold=tolerance`` and
            ``threshold_mode='abs'`` lowers the learning rate exactly when a round ends (as
            :func:`train_model` builds it).

    Yields:
        ``(epoch, score)``: the epoch to train now (counted from 1) and the latest score, i.e.
        that of the model as it enters this epoch.
    """
    _require_positive_int(
        interval=interval, patience=patience, max_iter=max_iter, lr_decay_steps=lr_decay_steps
    )
    sign = 1.0 if maximize else -1.0

    def evaluate() -> float:
        was_training = model.training
        model.eval()
        score = float(objective(model))
        model.train(was_training)
        if scheduler is not None:
            scheduler.step(score)
        return score

    score = best_score = evaluate()
    best_state = copy_state(model)
    epoch = 0
    try:
        for _ in range(lr_decay_steps):
            evaluations_without_improvement = 0
            while (
                evaluations_without_improvement < patience
                and epoch < max_iter
                and math.isfinite(score)
            ):
                for _ in range(min(interval, max_iter - epoch)):
                    epoch += 1
                    yield epoch, score
                score = evaluate()
                if sign * score > sign * best_score + tolerance:
                    best_score, best_state = score, copy_state(model)
                    evaluations_without_improvement = 0
                else:
                    evaluations_without_improvement += 1
            if epoch >= max_iter or not math.isfinite(score):
                break
            model.load_state_dict(best_state)  # the next round starts from the best state
        if not math.isfinite(score):
            warnings.warn(
                f"the objective became {score} after epoch {epoch}; stopping with the best "
                f"state (score {best_score})",
                RuntimeWarning,
                stacklevel=2,
            )
    finally:  # also when the caller stops early and closes this generator
        model.load_state_dict(best_state)


def _seed_everything(seed: int, train_loader: DataLoader) -> None:
    """Seed Python, NumPy and torch, and the training loader's shuffling if it has a generator."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    # A SubsetRandomSampler without a generator shuffles with torch's global generator (seeded
    # above); one with its own generator is reseeded so that the same seed gives the same run.
    generator = getattr(train_loader.sampler, "generator", None)
    if isinstance(generator, torch.Generator):
        generator.manual_seed(seed)


def _cudnn_determinism(on: bool) -> contextlib.AbstractContextManager:
    """Deterministic cuDNN algorithms (and no autotuning) inside the block if ``on``; the
    previous settings return after it, so code run later (a benchmark) is not slowed."""
    if not on:
        return contextlib.nullcontext()
    return torch.backends.cudnn.flags(
        enabled=torch.backends.cudnn.enabled, benchmark=False, deterministic=True
    )


def _resolve_loss(loss: str | Loss | None) -> Loss:
    if loss is None:
        return LOSSES["poisson"]()
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"unknown loss {loss!r}; expected one of {sorted(LOSSES)} or a callable"
            )
        return LOSSES[loss]()
    if not callable(loss):
        raise ValueError(
            f"loss must be a name, a callable (output, target) -> scalar, or None, got {loss!r}"
        )
    return loss


def _adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam over ``model``'s parameters; on a CPU or CUDA device its fused implementation,
    one kernel for all parameters (the same update to float rounding). For a model with
    millions of weights this matters: with the simple CNN's 98 M readout weights, Adam's
    default implementation took 1.5 s of a 3.7 s CPU step (one thread, 5335 neurons); fused,
    the whole step took 2.3 s.
    """
    parameters = list(model.parameters())
    fused = device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, fused=fused or None)


def _resolve_dataloaders(
    dataloaders: Mapping[str, DataLoader] | None, dataloader: Mapping[str, DataLoader] | None
) -> Mapping[str, DataLoader]:
    if dataloader is not None:
        if dataloaders is not None:
            raise TypeError("train_model() got both dataloaders= and its old name dataloader=")
        warnings.warn(
            "train_model(dataloader=...) is deprecated: the argument is called dataloaders "
            "(the dict with 'train', 'validation' and 'test'); write dataloaders=...",
            FutureWarning,
            stacklevel=3,
        )
        dataloaders = dataloader
    if dataloaders is None:
        raise TypeError("train_model() missing required argument: 'dataloaders'")
    if not isinstance(dataloaders, Mapping):
        raise ValueError(
            "dataloaders must be a dict of DataLoaders with 'train' and 'validation' entries, "
            f"got {type(dataloaders).__name__}"
        )
    missing = {"train", "validation"} - set(dataloaders)
    if missing:
        raise ValueError(
            f"dataloaders lacks {sorted(missing)}; it has {sorted(dataloaders)}, and needs "
            "'train' and 'validation' (and 'test' for the final test correlation)"
        )
    return dataloaders


def train_model(
    model: nn.Module,
    dataloaders: Mapping[str, DataLoader] | None = None,
    *,
    device: str | torch.device | None = None,
    loss: str | Loss | None = None,
    seed: int | None = None,
    max_iter: int = 200,
    patience: int = 5,
    lr_init: float = 5e-3,
    lr_decay_factor: float = 0.3,
    min_lr: float = 1e-4,
    tolerance: float = 1e-6,
    lr_decay_steps: int = 3,
    interval: int = 1,
    max_minutes: float | None = None,
    objective: Callable[[nn.Module], float] | None = None,
    maximize: bool = True,
    scale_loss: bool = True,
    track_training: bool = True,
    progress: bool | Literal["batch"] = True,
    dataloader: Mapping[str, DataLoader] | None = None,
) -> tuple[float, dict, OrderedDict[str, torch.Tensor]]:
    """Train ``model`` on ``dataloaders['train']`` with early stopping on the validation set.

    Each training step minimises, with Adam, ``scale * loss(model(images), responses) +
    model.regularizer()`` (the regulariser only if the model has one), where the loss is summed
    over the batch's trials and neurons and ``scale = sqrt(len(train_loader.dataset) / batch)``,
    as in the original trainer. Note that ``len(dataset)`` counts *all* trials of the recording
    (the three loaders of :func:`fens.dataset.load_dataset` share one dataset and pick their
    trials by sampler): about ``sqrt(5993 / 60) = 10`` for the real data, not
    ``sqrt(n_train / 60)``. The scale only sets the weight of the loss against the regulariser
    (Adam's steps do not depend on the loss's scale), so keeping the original's value keeps its
    regularisation strengths meaningful. The schedule is :func:`early_stopping` on the mean
    validation correlation, with the learning rate lowered by ``lr_decay_factor`` after every
    round (torch's ``ReduceLROnPlateau``).

    Args:
        model: maps ``images: (batch, 1, height, width)`` to ``(batch, neurons)`` predictions.
        dataloaders: ``{'train', 'validation', 'test'}`` loaders yielding ``(images, responses)``
            (``'test'`` is optional); :func:`fens.dataset.load_dataset` makes them.
        device: where to train (default: CUDA, then MPS, then the CPU). An unavailable
            accelerator falls back to the CPU with one warning.
        loss: ``'poisson'`` (default) or ``'mse'``, summed over trials and neurons, or any
            callable ``loss(output, target) -> scalar tensor``.
        seed: seeds Python, NumPy and torch (and the training loader's shuffling) first; the
            same seed on the CPU gives the same trained model. Does not touch the model's
            initial weights, which exist already. It also makes cuDNN deterministic while
            training (the previous settings return after).
        max_iter: the most epochs to train.
        patience: evaluations without improvement that end a round of early stopping.
        lr_init: Adam's initial learning rate.
        lr_decay_factor: factor the learning rate is multiplied by after each round.
        min_lr: the learning rate is not lowered below this.
        tolerance: how much the objective must improve to count as an improvement.
        lr_decay_steps: rounds of early stopping before training stops.
        interval: epochs between two evaluations of the objective.
        max_minutes: a time budget: no epoch starts once this many minutes have passed (the
            evaluations counted); ``None``: none. Training then ends with the best state so
            far, as it does when interrupted (``KeyboardInterrupt``, a notebook's stop
            button), with a warning; ``output['cut_short']`` says which.
        objective: the early-stopping score of a model (default: the mean validation
            correlation); a custom one, e.g. ``lambda m: get_poisson_loss(m, loader)`` with
            ``maximize=False``, is recorded as ``history['objective']``.
        maximize: whether a higher objective is better.
        scale_loss: multiply the loss by ``sqrt(len(dataset) / batch)`` (see above).
        track_training: keep the history below in ``output``.
        progress: show a progress bar over epochs with the training loss, the validation
            correlation and the learning rate; ``'batch'`` adds a bar over the batches of each
            epoch; ``False`` shows nothing.
        dataloader: deprecated old name of ``dataloaders`` (the 2022 notebook used it); works,
            with a ``FutureWarning``.

    Returns:
        score: the mean validation correlation of the trained (best) model.
        output: a dict with ``'validation_correlation'`` and ``'test_correlation'`` (means over
            neurons, of the trained model; the latter only with a test loader),
            ``'cut_short'`` (``None``, ``'max_minutes'`` or ``'interrupted'``) and, if
            ``track_training``, ``'history'``: a dict of lists with one entry per evaluation,
            the untrained model first (epoch 0):
            ``'epoch'``; ``'train_loss'`` (mean over the batches trained since the last
            evaluation of the minimised loss, scaled, plus regulariser; NaN at epoch 0);
            ``'validation_correlation'`` (mean over neurons); ``'validation_poisson_loss'``
            (mean over trials and neurons); ``'lr'`` (the learning rate of those epochs);
            ``'epoch_time'`` (seconds of training since the last evaluation).
        model_state: the best state dict, as CPU tensors. The model itself ends in eval mode,
            on ``device``, with this state loaded.
    """
    dataloaders = _resolve_dataloaders(dataloaders, dataloader)
    _require_positive_int(
        max_iter=max_iter, patience=patience, lr_decay_steps=lr_decay_steps, interval=interval
    )
    for name, value in {"lr_init": lr_init, "lr_decay_factor": lr_decay_factor}.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    if max_minutes is not None and not max_minutes >= 0:
        raise ValueError(f"max_minutes must be >= 0 or None, got {max_minutes!r}")
    train_loader, validation_loader = dataloaders["train"], dataloaders["validation"]
    criterion = _resolve_loss(loss)
    device = resolve_device(device)
    if seed is not None:
        _seed_everything(seed, train_loader)
    model.to(device)
    if isinstance(criterion, nn.Module):
        criterion.to(device)
    # The model's own penalty on its weights (e.g. smoothness and sparsity), if it has one.
    regularizer = model.regularizer if callable(getattr(model, "regularizer", None)) else None

    optimizer = _adam(model, lr_init, device)
    # patience - 1: ReduceLROnPlateau lowers the rate after *more* than `patience` bad steps,
    # early_stopping ends a round after `patience`; this way both happen at the same evaluation.
    scheduler = ReduceLROnPlateau(
        optimizer,
        mode="max" if maximize else "min",
        factor=lr_decay_factor,
        patience=patience - 1,
        threshold=tolerance,
        threshold_mode="abs",
        min_lr=min_lr,
    )

    history: dict[str, list[float]] = {
        "epoch": [],
        "train_loss": [],
        "validation_correlation": [],
        "validation_poisson_loss": [],
        "lr": [],
        "epoch_time": [],
    }
    if objective is not None:
        history["objective"] = []
    batch_losses: list[torch.Tensor] = []  # since the last evaluation
    train_seconds = 0.0  # since the last evaluation
    epoch = 0
    epoch_bar = tqdm(total=max_iter, desc="Training", unit="epoch", disable=not progress)

    def evaluate(model: nn.Module) -> float:
        nonlocal train_seconds
        target, output = model_predictions(model, validation_loader, device=device)
        validation_correlation = float(corr(target, output, axis=0).mean())
        score = validation_correlation if objective is None else float(objective(model))
        train_loss = float(torch.stack(batch_losses).double().mean()) if batch_losses else math.nan
        lr = optimizer.param_groups[0]["lr"]
        if track_training:
            history["epoch"].append(epoch)
            history["train_loss"].append(train_loss)
            history["validation_correlation"].append(validation_correlation)
            with np.errstate(invalid="ignore"):  # NaN, not a warning, for negative predictions
                history["validation_poisson_loss"].append(poisson_loss(target, output, avg=True))
            history["lr"].append(lr)
            history["epoch_time"].append(train_seconds)
            if objective is not None:
                history["objective"].append(score)
        # No training loss before the first epoch: a NaN there would read as a diverged training.
        shown_loss = {"loss": f"{train_loss:.4g}"} if batch_losses else {}
        epoch_bar.set_postfix(
            **shown_loss, val_corr=f"{validation_correlation:.4f}", lr=f"{lr:.2g}"
        )
        batch_losses.clear()
        train_seconds = 0.0
        return score

    def _train_epoch(epoch: int) -> None:
        nonlocal train_seconds
        start = time.perf_counter()
        model.train()
        batches = tqdm(
            train_loader, desc=f"Epoch {epoch}", leave=False, disable=progress != "batch"
        )
        for images, responses in batches:
            images, responses = images.to(device), responses.to(device)
            scale = math.sqrt(len(train_loader.dataset) / images.shape[0]) if scale_loss else 1.0
            total = scale * criterion(model(images), responses)
            if regularizer is not None:
                total = total + regularizer()
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            batch_losses.append(total.detach())  # no .item(): a GPU need not wait each step
        train_seconds += time.perf_counter() - start
        epoch_bar.update(1)

    epochs = early_stopping(
        model,
        evaluate,
        interval=interval,
        patience=patience,
        max_iter=max_iter,
        maximize=maximize,
        tolerance=tolerance,
        lr_decay_steps=lr_decay_steps,
        scheduler=scheduler,
    )
    deadline = None if max_minutes is None else time.perf_counter() + 60 * max_minutes
    cut_short = None
    # closing(): leaving the loop early closes `epochs`, which loads the best state.
    with epoch_bar, contextlib.closing(epochs), _cudnn_determinism(seed is not None):
        try:
            for epoch, _ in epochs:
                if deadline is not None and time.perf_counter() > deadline:
                    cut_short = "max_minutes"
                    break
                _train_epoch(epoch)
        except KeyboardInterrupt:
            cut_short = "interrupted"
    if cut_short is not None:
        warnings.warn(
            f"training stopped ({cut_short}) in epoch {epoch}: the model holds the best state "
            "so far",
            RuntimeWarning,
            stacklevel=2,
        )

    model.eval()
    output: dict = {
        "validation_correlation": get_correlations(
            model, validation_loader, device=device, per_neuron=False
        )
    }
    if "test" in dataloaders:
        output["test_correlation"] = get_correlations(
            model, dataloaders["test"], device=device, per_neuron=False
        )
    output["cut_short"] = cut_short
    if track_training:
        output["history"] = history
    return output["validation_correlation"], output, copy_state(model)

"""Training a model of neural responses: Adam on the Poisson loss, early stopping on validation.

The recipe of the original course (FENS 2022, after sinzlab/nnfabrik's standard trainer and
neuralpredictors' ``early_stopping``): minimise the Poisson loss of the training responses plus
the model's regulariser with Adam; after every epoch, compute the mean single-trial correlation
on the validation set; when it has not improved for ``patience`` evaluations, go back to the best
state so far and lower the learning rate; stop after ``lr_decay_steps`` such rounds (or
``max_iter`` epochs) and keep the best state.

The pieces, each usable on its own, in the order :func:`train_model` uses them:

- :func:`train_epoch`: one pass over the training batches (zero_grad, forward, loss, backward,
  step); returns the epoch's mean loss.
- :func:`evaluate`: scores a model on a loader (mean correlation and Poisson loss), nothing else.
- :class:`TrainingHistory`: records one entry per evaluation (epoch 0: the untrained model).
- :func:`early_stopping`: a generator that hands out epochs and restores the best state.
- :func:`train_model`: the four together; returns a :class:`TrainingResult`.
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
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from fens.measures import corr, get_correlations, model_predictions, poisson_loss
from fens.utility.checks import check_int, check_number
from fens.utility.deprecation import deprecated_arguments
from fens.utility.device import move_model, resolve_device

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Losses by name, each summed over the trials and neurons of a batch (as the original did).
LOSSES: dict[str, Callable[[], Loss]] = {
    # Negative Poisson log-likelihood without the constant log(r!) term: output - r * log(output).
    "poisson": lambda: nn.PoissonNLLLoss(log_input=False, full=False, reduction="sum"),
    # Squared error: the negative log-likelihood of a Gaussian with fixed variance, up to scale.
    "mse": lambda: nn.MSELoss(reduction="sum"),
}


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


def _resolve_regularizer(
    model: nn.Module, regularizer: bool | Callable[[], torch.Tensor]
) -> Callable[[], torch.Tensor] | None:
    if callable(regularizer):
        return regularizer
    if regularizer is True:  # the model's own penalty on its weights, if it has one
        own = getattr(model, "regularizer", None)
        return own if callable(own) else None
    if regularizer is False:
        return None
    raise ValueError(
        f"regularizer must be True (the model's own), False or a callable, got {regularizer!r}"
    )


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


# --- one epoch of training ---------------------------------------------------------------------


def train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    loss: str | Loss = "poisson",
    device: str | torch.device | None = None,
    scale_loss: bool = True,
    regularizer: bool | Callable[[], torch.Tensor] = True,
    progress: bool = False,
    description: str = "Epoch",
) -> float:
    """Train ``model`` for one pass over ``loader``: one optimizer step per batch.

    Each batch of ``images: (batch, 1, height, width)`` and ``responses: (batch, neurons)`` is
    one step::

        optimizer.zero_grad()
        total = scale * loss(model(images), responses) + model.regularizer()
        total.backward()
        optimizer.step()

    where the loss is summed over the batch's trials and neurons and ``scale =
    sqrt(len(loader.dataset) / batch)``, as in the original trainer. Note that ``len(dataset)``
    counts *all* trials of the recording (the three loaders of :func:`fens.dataset.load_dataset`
    share one dataset and pick their trials by sampler): about ``sqrt(5993 / 60) = 10`` for the
    real data, not ``sqrt(n_train / 60)``. The scale only sets the weight of the loss against
    the regulariser (Adam's steps do not depend on the loss's scale), so keeping the original's
    value keeps its regularisation strengths meaningful.

    Args:
        model: maps ``images`` to ``(batch, neurons)`` predictions; put in train mode.
        loader: yields ``(images, responses)`` batches, e.g. ``dataloaders['train']``.
        optimizer: steps the model's parameters (:func:`train_model` uses Adam).
        loss: ``'poisson'`` (default) or ``'mse'``, summed over trials and neurons, or any
            callable ``loss(output, target) -> scalar tensor``.
        device: where the batches are sent (default: where the model's parameters are); the
            model must be there already.
        scale_loss: multiply the loss by ``sqrt(len(dataset) / batch)`` (see above).
        regularizer: ``True``: add the model's ``regularizer()`` if it has one; ``False``: no
            penalty; a callable: add ``regularizer()`` instead.
        progress: show a progress bar over the batches.
        description: the progress bar's label.

    Returns:
        The mean over batches of the minimised loss (scaled loss plus regulariser).
    """
    criterion = _resolve_loss(loss)
    penalty = _resolve_regularizer(model, regularizer)
    device = _model_device(model) if device is None else resolve_device(device)
    if isinstance(criterion, nn.Module):
        criterion.to(device)
    n_trials = len(loader.dataset)
    model.train()
    batch_losses = []
    for images, responses in tqdm(loader, desc=description, leave=False, disable=not progress):
        images, responses = images.to(device), responses.to(device)
        scale = math.sqrt(n_trials / images.shape[0]) if scale_loss else 1.0
        optimizer.zero_grad()
        total = scale * criterion(model(images), responses)
        if penalty is not None:
            total = total + penalty()
        total.backward()
        optimizer.step()
        batch_losses.append(total.detach())  # no .item(): a GPU need not wait each step
    if not batch_losses:
        raise ValueError(f"the training loader yielded no batches ({len(loader)} batches)")
    return float(torch.stack(batch_losses).double().mean())


# --- scoring and recording ---------------------------------------------------------------------


class Evaluation(NamedTuple):
    """How well a model predicts the responses of one loader's trials."""

    correlation: float  # single-trial correlation over trials, mean over neurons
    poisson_loss: float  # output - target * log(output), mean over trials and neurons


def evaluate(
    model: nn.Module, loader: DataLoader, device: str | torch.device | None = None
) -> Evaluation:
    """Score ``model`` on every trial of ``loader`` (in eval mode, without gradients).

    Args:
        model: maps ``images: (batch, 1, height, width)`` to ``(batch, neurons)`` predictions.
        loader: yields ``(images, responses)`` batches, e.g. ``dataloaders['validation']``.
        device: where to compute (default: where the model is).

    Returns:
        The mean correlation and the mean Poisson loss (NaN if a prediction is negative).
    """
    target, output = model_predictions(model, loader, device=device)
    with np.errstate(invalid="ignore"):  # NaN, not a warning, for negative predictions
        loss = poisson_loss(target, output, avg=True)
    return Evaluation(float(corr(target, output, axis=0).mean()), loss)


class TrainingHistory(dict):
    """The course of a training: a dict of lists with one entry per evaluation.

    The first entry is the untrained model (epoch 0). Keys: ``'epoch'`` (epochs trained);
    ``'train_loss'`` (mean over the epochs trained since the last evaluation of
    :func:`train_epoch`'s loss; NaN at epoch 0); ``'validation_correlation'`` (mean over
    neurons); ``'validation_poisson_loss'`` (mean over trials and neurons); ``'lr'`` (the
    learning rate of those epochs); ``'epoch_time'`` (seconds of training since the last
    evaluation); and ``'objective'`` if a custom early-stopping objective was recorded.

    Record with :meth:`add_epoch` after every epoch and :meth:`add_evaluation` after every
    evaluation.
    """

    KEYS = (
        "epoch",
        "train_loss",
        "validation_correlation",
        "validation_poisson_loss",
        "lr",
        "epoch_time",
    )

    def __init__(self, *, objective: bool = False) -> None:
        super().__init__({key: [] for key in self.KEYS + (("objective",) if objective else ())})
        self._epoch = 0  # epochs trained so far
        self._losses: list[float] = []  # of the epochs since the last evaluation
        self._seconds = 0.0  # of training since the last evaluation

    def add_epoch(self, epoch: int, loss: float, seconds: float) -> None:
        """Note a trained epoch: its number, mean loss and duration (seconds)."""
        self._epoch = epoch
        self._losses.append(loss)
        self._seconds += seconds

    def add_evaluation(
        self, evaluation: Evaluation, *, lr: float, objective: float | None = None
    ) -> None:
        """Add an entry: the evaluation of the model after the epochs noted since the last."""
        self["epoch"].append(self._epoch)
        self["train_loss"].append(float(np.mean(self._losses)) if self._losses else math.nan)
        self["validation_correlation"].append(evaluation.correlation)
        self["validation_poisson_loss"].append(evaluation.poisson_loss)
        self["lr"].append(lr)
        self["epoch_time"].append(self._seconds)
        if "objective" in self:
            self["objective"].append(objective)
        self._losses, self._seconds = [], 0.0

    def __repr__(self) -> str:
        if not self["epoch"]:
            return "TrainingHistory(no evaluations)"
        correlations = self["validation_correlation"]
        best = int(np.nanargmax(correlations)) if np.isfinite(correlations).any() else 0
        return (
            f"TrainingHistory({len(self['epoch'])} evaluations, epochs 0-{self['epoch'][-1]}, "
            f"validation_correlation {correlations[0]:.4f} -> {correlations[-1]:.4f} "
            f"(best {correlations[best]:.4f} at epoch {self['epoch'][best]}), "
            f"lr {self['lr'][0]:.2g} -> {self['lr'][-1]:.2g}; keys: {', '.join(self)})"
        )


def _bar_postfix(history: TrainingHistory) -> dict[str, str]:
    """The epoch bar's figures; no training loss before the first epoch: a NaN there would read
    as a diverged training."""
    shown = {} if history["epoch"][-1] == 0 else {"loss": f"{history['train_loss'][-1]:.4g}"}
    return {
        **shown,
        "val_corr": f"{history['validation_correlation'][-1]:.4f}",
        "lr": f"{history['lr'][-1]:.2g}",
    }


# --- the schedule ------------------------------------------------------------------------------


def copy_state(model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """A copy of ``model.state_dict()`` with every tensor on the CPU."""
    return OrderedDict(
        (
            name,
            value.detach().to("cpu", copy=True) if torch.is_tensor(value) else copy.deepcopy(value),
        )
        for name, value in model.state_dict().items()
    )


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
    for name, value in {
        "interval": interval,
        "patience": patience,
        "max_iter": max_iter,
        "lr_decay_steps": lr_decay_steps,
    }.items():
        check_int(name, value)
    sign = 1.0 if maximize else -1.0

    def score_model() -> float:
        was_training = model.training
        model.eval()
        score = float(objective(model))
        model.train(was_training)
        if scheduler is not None:
            scheduler.step(score)
        return score

    score = best_score = score_model()
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
                score = score_model()
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


# --- the whole training ------------------------------------------------------------------------


class TrainingResult(NamedTuple):
    """What :func:`train_model` returns; unpacks as ``score, output, model_state``."""

    score: float  # the mean validation correlation of the trained (best) model
    output: dict  # final correlations, 'cut_short' and the TrainingHistory (see train_model)
    model_state: OrderedDict[str, torch.Tensor]  # the best state dict, CPU tensors

    def __repr__(self) -> str:
        history = self.output.get("history")
        epochs = f", epochs={history['epoch'][-1]}" if history and history["epoch"] else ""
        test = self.output.get("test_correlation")
        values = sum(v.numel() for v in self.model_state.values() if torch.is_tensor(v))
        return (
            f"TrainingResult(score={self.score:.4f}{epochs}, "
            f"cut_short={self.output.get('cut_short')!r}"
            + ("" if test is None else f", test_correlation={test:.4f}")
            + f", model_state=<{len(self.model_state)} tensors, {values:,} values>)"
        )


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


def _adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam over ``model``'s parameters; on a CPU or CUDA device its fused implementation (one
    kernel for all parameters, the same update up to float rounding; faster for models with
    millions of weights, see ``bench/README.md``)."""
    parameters = list(model.parameters())
    fused = device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, fused=fused or None)


def _check_dataloaders(dataloaders: object) -> None:
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


@deprecated_arguments(renamed={"dataloader": "dataloaders"})
def train_model(
    model: nn.Module,
    dataloaders: Mapping[str, DataLoader],
    *,
    device: str | torch.device | None = None,
    loss: str | Loss = "poisson",
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
) -> TrainingResult:
    """Train ``model`` on ``dataloaders['train']`` with early stopping on the validation set.

    Each epoch is :func:`train_epoch` with Adam: the Poisson loss summed over the batch, scaled
    by ``sqrt(len(dataset) / batch)`` as in the original trainer, plus the model's
    ``regularizer()`` if it has one. The schedule is :func:`early_stopping` on the mean
    validation correlation (:func:`evaluate`), with the learning rate lowered by
    ``lr_decay_factor`` after every round (torch's ``ReduceLROnPlateau``); every evaluation is
    recorded in a :class:`TrainingHistory`.

    Args:
        model: maps ``images: (batch, 1, height, width)`` to ``(batch, neurons)`` predictions.
        dataloaders: ``{'train', 'validation', 'test'}`` loaders yielding ``(images, responses)``
            (``'test'`` is optional); :func:`fens.dataset.load_dataset` makes them. The 2022
            name ``dataloader=`` still works, with a ``DeprecationWarning``.
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
        scale_loss: multiply the loss by ``sqrt(len(dataset) / batch)`` (see
            :func:`train_epoch`).
        track_training: keep the history in ``output``.
        progress: show a progress bar over epochs with the training loss, the validation
            correlation and the learning rate; ``'batch'`` adds a bar over the batches of each
            epoch; ``False`` shows nothing.

    Returns:
        A :class:`TrainingResult` ``(score, output, model_state)``:
        ``score``: the mean validation correlation of the trained (best) model;
        ``output``: a dict with ``'validation_correlation'`` and ``'test_correlation'`` (means
        over neurons, of the trained model; the latter only with a test loader),
        ``'cut_short'`` (``None``, ``'max_minutes'`` or ``'interrupted'``) and, if
        ``track_training``, ``'history'`` (a :class:`TrainingHistory`);
        ``model_state``: the best state dict, as CPU tensors. The model itself ends in eval
        mode, on ``device`` (:func:`fens.utility.device.move_model`), with this state loaded.
    """
    _check_dataloaders(dataloaders)
    for name, value in {
        "max_iter": max_iter,
        "patience": patience,
        "lr_decay_steps": lr_decay_steps,
        "interval": interval,
    }.items():
        check_int(name, value)
    check_number("lr_init", lr_init, minimum=0, exclusive_minimum=True)
    check_number("lr_decay_factor", lr_decay_factor, minimum=0, exclusive_minimum=True)
    check_number("min_lr", min_lr, minimum=0)
    check_number("tolerance", tolerance, minimum=0)
    check_number("max_minutes", max_minutes, minimum=0, optional=True)
    train_loader, validation_loader = dataloaders["train"], dataloaders["validation"]
    criterion = _resolve_loss(loss)
    device = resolve_device(device)
    if seed is not None:
        _seed_everything(seed, train_loader)
    move_model(model, device)

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
    history = TrainingHistory(objective=objective is not None)
    epoch_bar = tqdm(total=max_iter, desc="Training", unit="epoch", disable=not progress)

    def score_and_record(model: nn.Module) -> float:
        """The early-stopping objective; records the validation scores on the way."""
        evaluation = evaluate(model, validation_loader, device)
        custom = None if objective is None else float(objective(model))
        history.add_evaluation(evaluation, lr=optimizer.param_groups[0]["lr"], objective=custom)
        epoch_bar.set_postfix(_bar_postfix(history))
        return evaluation.correlation if custom is None else custom

    epochs = early_stopping(
        model,
        score_and_record,
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
    epoch = 0
    # closing(): leaving the loop early closes `epochs`, which loads the best state.
    with epoch_bar, contextlib.closing(epochs), _cudnn_determinism(seed is not None):
        try:
            for epoch, _ in epochs:
                if deadline is not None and time.perf_counter() > deadline:
                    cut_short = "max_minutes"
                    break
                start = time.perf_counter()
                epoch_loss = train_epoch(
                    model,
                    train_loader,
                    optimizer,
                    loss=criterion,
                    device=device,
                    scale_loss=scale_loss,
                    progress=progress == "batch",
                    description=f"Epoch {epoch}",
                )
                history.add_epoch(epoch, epoch_loss, time.perf_counter() - start)
                epoch_bar.update(1)
        except KeyboardInterrupt:
            cut_short = "interrupted"
    if cut_short is not None:
        warnings.warn(
            f"training stopped ({cut_short}) in epoch {epoch}: the model holds the best state "
            "so far",
            RuntimeWarning,
            stacklevel=3,  # through deprecated_arguments' wrapper to the caller
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
    return TrainingResult(output["validation_correlation"], output, copy_state(model))

"""Trained models saved with what they were trained on, and loaded only onto matching data.

A checkpoint is one ``torch.save`` file holding a plain dict (loadable with
``torch.load(weights_only=True)``)::

    name          e.g. "sota_cnn"
    architecture  "lurz2020", "linear" or "cnn"
    config        the keyword arguments that rebuild the model (with the data's loaders)
    state_dict    the weights, as CPU tensors
    data          fingerprint, statistics signature and description of its training data
    metrics       test and validation correlations measured right after training
    training      seed, epochs, seconds, device, software versions, the command line

:func:`load_pretrained` rebuilds the model for the given dataloaders and refuses, with a message
that says what differs, a checkpoint whose data do not match theirs (:func:`same_data`): the
readout of these models holds one set of weights per neuron, so weights trained on other neurons
(or a different subset) would load without error and predict nonsense.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from fens.models.registry import (
    CHECKPOINT_DIR,
    MODELS,
    architecture_of,
    model_config,
    rebuild_model,
)
from fens.simulate.neurons import GROUND_TRUTH_DIR
from fens.simulate.writer import SIMULATION_FILE
from fens.utility.device import move_model, resolve_device

__all__ = [
    "CHECKPOINT_DIR",
    "FORMAT_VERSION",
    "checkpoint_path",
    "data_fingerprint",
    "describe_data",
    "load_pretrained",
    "read_checkpoint",
    "same_data",
    "save_checkpoint",
    "statistics_signature",
]

#: 2: the data record holds a statistics signature besides the fingerprint (format 1 hashed
#: the float32 statistics, which differ in their last bits between machines).
FORMAT_VERSION = 2


#: Relative tolerance of :func:`same_data`'s comparison of the statistics signatures: far above
#: the float32 rounding by which the same simulation differs between machines (about 1e-7),
#: far below what another seed, preset or neuron selection changes.
SIGNATURE_RTOL = 1e-4
#: Weighted sums of the neurons' response statistics in the signature, per statistic.
SIGNATURE_SUMS = 4


def data_fingerprint(dataset: Any) -> str:
    """A short hash identifying a data set's neurons and trials, exactly.

    Hashes the neurons' ``unit_ids`` (in order), the trials' tiers and image ids: integers and
    strings, the same on every machine. The values recorded (responses, images) are compared
    with a tolerance, by :func:`statistics_signature`. Reads nothing from disk.

    Args:
        dataset: a :class:`fens.dataset.StaticImageSet` (``loader.dataset``).
    """
    digest = hashlib.sha256()
    parts = [
        np.asarray(dataset.neurons.unit_ids, dtype=np.int64),
        np.asarray(dataset.trial_info.tiers).astype("<U10"),
        np.asarray(dataset.trial_info.frame_image_id, dtype=np.int64),
    ]
    for part in parts:
        digest.update(part.tobytes())
    return digest.hexdigest()[:16]


def statistics_signature(dataset: Any) -> list[float]:
    """A few numbers that summarise a data set's recorded statistics, to compare with a
    tolerance (:data:`SIGNATURE_RTOL`): the images' mean and sd, then, for the neurons'
    response means and sds each, :data:`SIGNATURE_SUMS` sums weighted by fixed random weights.

    Simulations of the same preset and seed on two machines differ in the last bits of their
    float32 responses (their BLAS libraries round differently), so an exact hash of them would
    tell the same data set apart from itself.
    """
    images = dataset.statistics.images.all
    responses = dataset.statistics.responses.all
    signature = [float(np.mean(images.mean)), float(np.mean(images.std))]
    for values in (responses.mean, responses.std):
        values = np.asarray(values, dtype=np.float64).ravel()
        weights = np.random.default_rng(0).random((SIGNATURE_SUMS, values.size))
        signature += (weights @ values / values.size).tolist()
    return signature


def same_data(given: Mapping[str, Any], trained_on: Mapping[str, Any]) -> bool:
    """Whether two :func:`describe_data` records describe the same data set."""
    if given["fingerprint"] != trained_on["fingerprint"] or "signature" not in trained_on:
        return False
    a, b = np.asarray(given["signature"]), np.asarray(trained_on["signature"])
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=SIGNATURE_RTOL, atol=0))


def describe_data(dataset: Any) -> dict[str, Any]:
    """What a checkpoint records about its training data (and prints when it does not match)."""
    description = {
        "fingerprint": data_fingerprint(dataset),
        "signature": statistics_signature(dataset),
        "folder": Path(dataset.path).name,
        "n_neurons": int(dataset.n_neurons),
        "n_trials": len(dataset),
    }
    simulation = Path(dataset.path) / GROUND_TRUTH_DIR / SIMULATION_FILE
    if simulation.is_file():
        recorded = json.loads(simulation.read_text())
        description["simulation"] = {k: recorded[k] for k in ("preset", "seed") if k in recorded}
    return description


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    name: str,
    dataloaders: Mapping[str, DataLoader],
    metrics: Mapping[str, float],
    training: Mapping[str, Any],
) -> Path:
    """Save ``model`` with its config, the data it was trained on, its metrics and provenance."""
    checkpoint = {
        "format": FORMAT_VERSION,
        "name": name,
        "architecture": architecture_of(model),
        "config": model_config(model),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "data": describe_data(dataloaders["train"].dataset),
        "metrics": _plain(metrics),
        "training": _plain(training),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with NumPy scalars and version objects made plain Python values.

    ``torch.load(weights_only=True)`` accepts only plain containers, numbers and strings.
    """
    return json.loads(
        json.dumps(record, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def checkpoint_path(name_or_path: str | Path) -> Path:
    """The file of a shipped checkpoint (``"sota_cnn"``, ``"sota_ln"``) or a path to one."""
    path = Path(name_or_path)
    if path.suffix == ".pt":
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint file {path}")
        return path
    entry = MODELS.get(str(name_or_path))
    if entry is None or entry.checkpoint is None:
        available = [name for name, entry in MODELS.items() if entry.checkpoint is not None]
        raise ValueError(f"unknown pretrained model {str(name_or_path)!r}; shipped: {available}")
    return entry.checkpoint


def read_checkpoint(name_or_path: str | Path) -> dict[str, Any]:
    """The checkpoint dict (weights included) of a shipped name or a ``.pt`` path."""
    path = checkpoint_path(name_or_path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {checkpoint.get('format')!r}, "
            f"this fens reads format {FORMAT_VERSION}"
        )
    return checkpoint


def load_pretrained(
    name_or_path: str | Path,
    dataloaders: Mapping[str, DataLoader],
    device: str | torch.device | None = "cpu",
    *,
    fast: bool = True,
) -> nn.Module:
    """A trained model, rebuilt for ``dataloaders`` and loaded with the checkpoint's weights.

    Args:
        name_or_path: ``"sota_cnn"`` or ``"sota_ln"`` (shipped with fens, trained on the
            simulated ``full`` preset, seed 0), or the path of a ``.pt`` file from
            :func:`save_checkpoint` / ``fens train``.
        dataloaders: the loaders of the data set the model is to be used on; must be the data
            (and the neuron selection) the checkpoint was trained on.
        device: where to put the model (``None``: CUDA, then MPS, then CPU).
        fast: rebuild a Lurz et al. model with fens' fast blocks (True) or with
            neuralpredictors' own (False); the weights and predictions are the same.

    Returns:
        The model in evaluation mode. Its training record is in ``model.checkpoint_info``
        (the checkpoint dict without the weights).

    Raises:
        ValueError: the data set does not match the one the checkpoint was trained on.
    """
    checkpoint = read_checkpoint(name_or_path)
    trained_on = checkpoint["data"]
    given = describe_data(dataloaders["train"].dataset)
    if not same_data(given, trained_on):
        raise ValueError(
            f"the checkpoint {str(name_or_path)!r} was trained on another data set: "
            f"{_describe(trained_on)}, but these dataloaders hold {_describe(given)}. "
            "Load the data set it was trained on (for the shipped checkpoints: "
            "`fens simulate --preset full --seed 0`, all neurons), or train a new model."
        )
    model = rebuild_model(checkpoint["architecture"], checkpoint["config"], dataloaders, fast)
    model.load_state_dict(checkpoint["state_dict"])
    model.checkpoint_info = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return move_model(model, resolve_device(device)).eval()


def _describe(data: Mapping[str, Any]) -> str:
    simulation = data.get("simulation")
    origin = (
        f"simulated '{simulation['preset']}' preset, seed {simulation['seed']}"
        if simulation
        else f"folder {data['folder']}"
    )
    return (
        f"{origin}, {data['n_neurons']} neurons, {data['n_trials']} trials "
        f"(fingerprint {data['fingerprint']})"
    )

"""The course's four models by name, and the three architectures they are built from.

One table serves everything that takes a model's name: :func:`build_model` (the chapters),
:func:`fens.models.load_pretrained` (the shipped checkpoints), ``fens train --model`` and the
benchmarks.

======== ============ ============================================== ============ ==========
name     architecture what                                           fast blocks  checkpoint
======== ============ ============================================== ============ ==========
ln       linear       :class:`LNModel`, ``gamma=0.1``                no           no
cnn      cnn          :class:`CNN` with its defaults                 no           no
sota_ln  lurz2020     Lurz et al. (2021), linear core                yes          shipped
sota_cnn lurz2020     Lurz et al. (2021)                             yes          shipped
======== ============ ============================================== ============ ==========

"Fast blocks": the model is built with fens' fast readout and depthwise convolutions
(:mod:`fens.models.blocks`) or, with ``fast=False``, with neuralpredictors' own (the same
weights and predictions). The architecture is what a checkpoint records to rebuild the model
(``"linear"`` is the LN model's, from the time it was called ``Linear``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from fens.models.cnn import CNN
from fens.models.ln import LNModel
from fens.models.lurz2020 import Lurz2020Model, build_lurz2020_model

CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"

# The configuration of the course's notebooks (values from Lurz et al. 2021 and the FENS 2022
# summer school): larger kernels than the published defaults and a strong readout penalty.
COURSE_LURZ2020_CONFIG: dict[str, Any] = {
    "init_mu_range": 0.55,
    "init_sigma": 0.4,
    "input_kern": 15,
    "hidden_kern": 13,
    "gamma_input": 1.0,
    "grid_mean_predictor": {
        "type": "cortex",
        "input_dimensions": 2,
        "hidden_layers": 0,
        "hidden_features": 0,
        "final_tanh": False,
    },
    "gamma_readout": 2.439,
}

#: Architecture name (as checkpoints record it) -> model class.
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "linear": LNModel,
    "cnn": CNN,
    "lurz2020": Lurz2020Model,
}


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One of the course's models: how to build it and what comes with it.

    Attributes:
        name: the name the chapters, ``fens train`` and checkpoints use.
        architecture: a key of :data:`ARCHITECTURES`.
        build: ``build(dataloaders, seed, fast) -> model`` with fresh weights drawn from
            ``seed``.
        fast_blocks: whether ``fast`` chooses between fens' fast blocks and neuralpredictors'
            own (for the others it is ignored).
        shipped: whether fens ships a trained checkpoint (:attr:`checkpoint`).
    """

    name: str
    architecture: str
    build: Callable[[Mapping[str, DataLoader], int, bool], nn.Module]
    fast_blocks: bool = False
    shipped: bool = False

    @property
    def checkpoint(self) -> Path | None:
        """The shipped checkpoint file, or None when there is none."""
        return CHECKPOINT_DIR / f"{self.name}.pt" if self.shipped else None


def _image_and_neurons(dataloaders: Mapping[str, DataLoader]) -> dict[str, int]:
    """``input_height``, ``input_width`` and ``n_neurons`` of the training data."""
    if "train" not in dataloaders:
        raise ValueError(f"dataloaders needs a 'train' loader, got keys {sorted(dataloaders)}")
    _, _, height, width = next(iter(dataloaders["train"]))[0].shape
    n_neurons = dataloaders["train"].dataset.n_neurons
    return {"input_height": height, "input_width": width, "n_neurons": n_neurons}


def _build_ln(dataloaders: Mapping[str, DataLoader], seed: int, fast: bool) -> nn.Module:
    sizes = _image_and_neurons(dataloaders)
    torch.manual_seed(seed)
    return LNModel(**sizes, gamma=0.1)


def _build_cnn(dataloaders: Mapping[str, DataLoader], seed: int, fast: bool) -> nn.Module:
    sizes = _image_and_neurons(dataloaders)
    torch.manual_seed(seed)
    return CNN(**sizes)


def _lurz2020_builder(linear: bool) -> Callable[[Mapping[str, DataLoader], int, bool], nn.Module]:
    def build(dataloaders: Mapping[str, DataLoader], seed: int, fast: bool) -> nn.Module:
        config = {**COURSE_LURZ2020_CONFIG, "linear": linear}
        return build_lurz2020_model(dataloaders=dataloaders, seed=seed, fast=fast, **config)

    return build


MODELS: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry("ln", "linear", _build_ln),
        ModelEntry("cnn", "cnn", _build_cnn),
        ModelEntry("sota_ln", "lurz2020", _lurz2020_builder(True), fast_blocks=True, shipped=True),
        ModelEntry(
            "sota_cnn", "lurz2020", _lurz2020_builder(False), fast_blocks=True, shipped=True
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def model_entry(name: str) -> ModelEntry:
    """The :class:`ModelEntry` of ``name``; a ValueError naming the known names otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {list(MODEL_NAMES)}")
    return MODELS[name]


def build_model(
    name: str, dataloaders: Mapping[str, DataLoader], seed: int, *, fast: bool = True
) -> nn.Module:
    """Build one of :data:`MODEL_NAMES` for the data of ``dataloaders`` (initial weights seeded).

    ``ln`` and ``cnn`` are :class:`LNModel` (``gamma=0.1``) and :class:`CNN` with their
    defaults; ``sota_cnn`` and ``sota_ln`` are :func:`build_lurz2020_model` with
    :data:`COURSE_LURZ2020_CONFIG` (``sota_ln`` with ``linear=True``), built with fens' fast
    blocks unless ``fast=False`` (see :func:`build_lurz2020_model`; ``ln`` and ``cnn`` have no
    such blocks and ignore it).

    Args:
        name: one of :data:`MODEL_NAMES`.
        dataloaders: at least ``{'train': DataLoader}``; the image size and number of neurons
            come from its batches and dataset.
        seed: seed of torch's global generator, set just before the weights are drawn.
        fast: fens' fast blocks (True) or neuralpredictors' own (False), for the SOTA models.

    Returns:
        The model, in training mode, on the CPU.
    """
    return model_entry(name).build(dataloaders, seed, fast)


def architecture_of(model: nn.Module) -> str:
    """The :data:`ARCHITECTURES` name of ``model``'s class; TypeError for any other model."""
    for architecture, model_class in ARCHITECTURES.items():
        if isinstance(model, model_class):
            return architecture
    raise TypeError(
        f"{type(model).__name__} is none of the course's architectures "
        f"({', '.join(c.__name__ for c in ARCHITECTURES.values())})"
    )


def model_config(model: nn.Module) -> dict[str, Any]:
    """The keyword arguments that rebuild ``model`` with :func:`rebuild_model`."""
    if isinstance(model, Lurz2020Model):
        return dataclasses.asdict(model.config)
    architecture_of(model)  # a TypeError for models of no architecture
    return dict(model.init_kwargs)


def rebuild_model(
    architecture: str,
    config: Mapping[str, Any],
    dataloaders: Mapping[str, DataLoader],
    fast: bool = True,
) -> nn.Module:
    """A model of ``architecture`` built from ``config`` (:func:`model_config`) for the data.

    The weights are fresh (seed 0): load a state dict into it.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; expected one of {list(ARCHITECTURES)}"
        )
    if architecture == "lurz2020":
        return build_lurz2020_model(
            dataloaders=dataloaders, seed=0, fast=fast, weights_follow=True, **config
        )
    return ARCHITECTURES[architecture](**config)

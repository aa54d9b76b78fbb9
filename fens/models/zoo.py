"""The four models of the course, by name, as the chapters build them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from fens.models.cnn import CNN
from fens.models.ln import Linear
from fens.models.lurz2020 import build_lurz2020_model

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

SOTA_MODELS = ("sota_ln", "sota_cnn")  # built with fens' fast blocks or neuralpredictors' own
MODEL_NAMES = ("ln", "cnn", *SOTA_MODELS)


def build_model(
    name: str, dataloaders: Mapping[str, DataLoader], seed: int, *, fast: bool = True
) -> nn.Module:
    """Build one of :data:`MODEL_NAMES` for the data of ``dataloaders`` (initial weights seeded).

    ``ln`` and ``cnn`` are :class:`Linear` (``gamma=0.1``) and :class:`CNN` with their defaults;
    ``sota_cnn`` and ``sota_ln`` are :func:`build_lurz2020_model` with
    :data:`COURSE_LURZ2020_CONFIG` (``sota_ln`` with ``linear=True``), built with fens' fast
    blocks unless ``fast=False`` (see :func:`build_lurz2020_model`).
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; expected one of {list(MODEL_NAMES)}")
    if name in SOTA_MODELS:
        config = {**COURSE_LURZ2020_CONFIG, "linear": name == "sota_ln"}
        return build_lurz2020_model(dataloaders=dataloaders, seed=seed, fast=fast, **config)
    _, _, height, width = next(iter(dataloaders["train"]))[0].shape
    n_neurons = dataloaders["train"].dataset.n_neurons
    torch.manual_seed(seed)
    if name == "ln":
        return Linear(input_height=height, input_width=width, n_neurons=n_neurons, gamma=0.1)
    return CNN(input_height=height, input_width=width, n_neurons=n_neurons)

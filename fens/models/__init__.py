"""Models of mouse V1 responses to images, simplest first.

- :class:`LNModel` (also ``Linear``, its 2022 name): the linear-nonlinear (LN) model, one
  receptive field per neuron.
- :class:`CNN`: a small convolutional core with a fully connected readout.
- :func:`build_lurz2020_model`: the Lurz et al. (ICLR 2021) model, a convolutional core with a
  Gaussian readout whose positions follow the neurons' cortical coordinates; with
  ``linear=True``, its linear-nonlinear version.

All map images ``(B, 1, 36, 64)`` (raw 0..255 pixels) to positive responses ``(B, N)`` and have
``regularizer()``, the penalty the trainer adds to the Poisson loss. :func:`build_model` builds
the course's four models by name (:data:`MODEL_NAMES`, described in :mod:`fens.models.registry`);
:func:`load_pretrained` loads the shipped SOTA checkpoints.

The Lurz et al. model is built from neuralpredictors' blocks, two of them replaced by faster
ones that hold the same parameters and give the same results (:mod:`fens.models.blocks`);
``fast=False`` builds the reference. neuralpredictors itself is imported only when such a model
is built, not with this package.
"""

from fens.models.cnn import CNN
from fens.models.ln import Linear, LNModel
from fens.models.lurz2020 import Lurz2020Config, Lurz2020Model, build_lurz2020_model
from fens.models.pretrained import load_pretrained, save_checkpoint
from fens.models.registry import COURSE_LURZ2020_CONFIG, MODEL_NAMES, MODELS, build_model
from fens.models.summary import count_parameters, summarize

__all__ = [
    "CNN",
    "COURSE_LURZ2020_CONFIG",
    "LNModel",
    "Linear",
    "Lurz2020Config",
    "Lurz2020Model",
    "MODELS",
    "MODEL_NAMES",
    "build_lurz2020_model",
    "build_model",
    "count_parameters",
    "load_pretrained",
    "save_checkpoint",
    "summarize",
]

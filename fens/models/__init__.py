"""Models of mouse V1 responses to images, simplest first.

- :class:`Linear`: the linear-nonlinear (LN) model, one receptive field per neuron.
- :class:`CNN`: a small convolutional core with a fully connected readout.
- :func:`build_lurz2020_model`: the Lurz et al. (ICLR 2021) model, a convolutional core with a
  Gaussian readout whose positions follow the neurons' cortical coordinates; with
  ``linear=True``, its linear-nonlinear version.

All map images ``(B, 1, 36, 64)`` (raw 0..255 pixels) to positive responses ``(B, N)`` and have
``regularizer()``, the penalty the trainer adds to the Poisson loss.
"""

from fens.models.cnn import CNN
from fens.models.ln import Linear
from fens.models.lurz2020 import Lurz2020Config, Lurz2020Model, build_lurz2020_model
from fens.models.summary import count_parameters, summarize

__all__ = [
    "CNN",
    "Linear",
    "Lurz2020Config",
    "Lurz2020Model",
    "build_lurz2020_model",
    "count_parameters",
    "summarize",
]

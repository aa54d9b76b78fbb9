"""Adapter that makes neuralpredictors 0.3.0 importable on current Python.

neuralpredictors 0.3.0 (the latest release) does not import as released on Python >= 3.10:

- it imports ``Iterable`` and ``Mapping`` from :mod:`collections` (moved to
  :mod:`collections.abc` in Python 3.3, removed from :mod:`collections` in 3.10);
- its 2-D core module (``neuralpredictors.layers.cores.conv2d``) imports :mod:`torchvision` at
  the top, which it does not declare, for a transfer-learning core (``TransferLearningCore``,
  ``torchvision.models``) that this course never uses; nothing else in neuralpredictors
  imports torchvision;
- it imports scikit-image without declaring it (``fens`` declares it).

Import neuralpredictors through :func:`import_neuralpredictors`; ``fens`` does so only when it
builds a Lurz et al. model or a fast readout (:mod:`fens.models.blocks.readout`), never when
``fens`` or :mod:`fens.models` is imported. What it changes in the process:

- ``collections.Iterable`` and ``collections.Mapping`` are set back to the classes of
  :mod:`collections.abc` (also when this module is imported, so that
  ``import fens.compat`` makes ``neuralpredictors.data`` importable). A harmless addition: new
  names, the same objects as in :mod:`collections.abc`; nothing that exists is replaced.
- Only when torchvision is not installed, an empty stand-in ``torchvision`` module is
  registered in :data:`sys.modules` for the duration of neuralpredictors' own import, and
  removed right after: afterwards ``import torchvision`` (and ``import torchvision.transforms``)
  fails exactly as before. neuralpredictors' core module keeps its reference to the stand-in,
  which raises a clear error if the transfer-learning core is ever built.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator

_MOVED_TO_ABC = ("Iterable", "Mapping")
# The subpackages of neuralpredictors that fens uses; importing them while the stand-in is
# registered puts every module that imports torchvision into sys.modules.
_SUBPACKAGES = ("neuralpredictors.layers.cores", "neuralpredictors.layers.readouts")


def _restore_collections_aliases() -> None:
    for name in _MOVED_TO_ABC:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


class _MissingTorchvision(types.ModuleType):
    """Stand-in for a torchvision that is not installed: any attribute raises."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(
            f"torchvision is not installed (needed for torchvision.{name}; "
            "neuralpredictors' TransferLearningCore uses it): pip install torchvision",
            name="torchvision",
        )


@contextlib.contextmanager
def _torchvision_stand_in() -> Iterator[None]:
    """An empty ``torchvision`` in :data:`sys.modules` while the block runs, if none exists."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        yield
        return
    stand_in = _MissingTorchvision("torchvision")
    stand_in.__doc__ = "Stand-in registered by fens.compat during neuralpredictors' import."
    sys.modules["torchvision"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("torchvision") is stand_in:
            del sys.modules["torchvision"]


def import_neuralpredictors() -> types.ModuleType:
    """Return the :mod:`neuralpredictors` package with its layers imported, on Python >= 3.10.

    After this call ``from neuralpredictors.layers.cores import Stacked2dCore`` and
    ``from neuralpredictors.layers.readouts import FullGaussian2d`` work whether or not
    torchvision is installed, and no stand-in module is left in :data:`sys.modules`.
    """
    _restore_collections_aliases()
    with _torchvision_stand_in():
        for name in _SUBPACKAGES:
            importlib.import_module(name)
    return importlib.import_module("neuralpredictors")


_restore_collections_aliases()

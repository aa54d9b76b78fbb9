"""Adapter that makes neuralpredictors 0.3.0 importable on current Python.

neuralpredictors 0.3.0 (the latest release) does not import as released on Python >= 3.10:
- it imports ``Iterable`` and ``Mapping`` from :mod:`collections` (moved to
  :mod:`collections.abc` in Python 3.3, removed from :mod:`collections` in 3.10);
- its 2-D core module imports :mod:`torchvision` at the top, which it does not declare, for a
  transfer-learning core that this course never uses;
- it imports scikit-image without declaring it (``fens`` declares it).

Import neuralpredictors through :func:`import_neuralpredictors` (or import this module first):
it restores the two aliases and, only when torchvision is not installed, registers an empty
stand-in module so that the unused import succeeds. Nothing is patched when the names exist.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
import importlib.util
import sys
import types

_MOVED_TO_ABC = ("Iterable", "Mapping")


def _patch() -> None:
    for name in _MOVED_TO_ABC:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        stand_in = types.ModuleType("torchvision")
        stand_in.__doc__ = (
            "Stand-in registered by fens.compat: torchvision is not installed. "
            "neuralpredictors imports it only for its transfer-learning core."
        )
        sys.modules["torchvision"] = stand_in


def import_neuralpredictors() -> types.ModuleType:
    """Return the :mod:`neuralpredictors` package, importable on Python >= 3.10."""
    _patch()
    return importlib.import_module("neuralpredictors")


_patch()

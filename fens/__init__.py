"""fens: neural system identification of mouse V1 (data, models, training, analysis).

>>> import fens
>>> dataloaders = fens.dataset.load_dataset(fens.course.dataset_path(), batch_size=60)

Each part is imported on first use, so that ``import fens`` is instant and loads no torch:

- :mod:`fens.dataset`: the Lurz et al. (ICLR 2021) file-tree format, its DataLoaders, the download;
- :mod:`fens.simulate`: a simulated V1 data set in that format, with known ground truth;
- :mod:`fens.models`: the LN model, a simple CNN, the Lurz et al. 2021 model, checkpoints;
- :mod:`fens.trainers`: ``train_model`` (Poisson loss, early stopping on validation correlation);
- :mod:`fens.measures`: correlations, oracles, FEV(E), Poisson loss;
- :mod:`fens.analysis`: gradient receptive fields, most exciting inputs, in-silico experiments;
- :mod:`fens.course`: the chapters' data set (simulated or real) and grading switch.
"""

from __future__ import annotations

import importlib as _importlib
from types import ModuleType as _ModuleType

__version__ = "0.1.0"

__all__ = ["analysis", "course", "dataset", "measures", "models", "simulate", "trainers"]


def __getattr__(name: str) -> _ModuleType:
    """Import the part ``fens.<name>`` on first access (PEP 562)."""
    if name in __all__:
        return _importlib.import_module(f"{__name__}.{name}")  # also sets it as our attribute
    from difflib import get_close_matches

    close = get_close_matches(name, __all__, n=1)
    hint = f"; did you mean fens.{close[0]}?" if close else ""
    raise AttributeError(
        f"module 'fens' has no attribute {name!r}{hint} (its parts: {', '.join(__all__)})"
    )


def __dir__() -> list[str]:
    """The parts (imported or not) and ``__version__``, for tab completion."""
    return sorted([*__all__, "__version__"])

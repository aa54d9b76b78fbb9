"""fens: neural system identification of mouse V1 (data, models, training, analysis).

Subpackages: :mod:`fens.dataset` (the Lurz et al. 2021 file-tree format and its loaders),
:mod:`fens.simulate` (a simulated V1 data set in that format, with known ground truth),
:mod:`fens.utility.measures` (correlations, oracles).
"""

__version__ = "0.1.0"

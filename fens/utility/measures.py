"""The old home of :mod:`fens.measures`, kept so that the 2022 notebook's
``from fens.utility import measures`` keeps working: importing it gives :mod:`fens.measures`
itself (one module object, so ``fens.utility.measures is fens.measures``)."""

import sys

from fens import measures

sys.modules[__name__] = measures

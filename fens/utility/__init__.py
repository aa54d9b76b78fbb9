"""Helpers shared by the rest of the package: device selection (:mod:`fens.utility.device`),
argument checks (:mod:`fens.utility.checks`) and deprecated spellings
(:mod:`fens.utility.deprecation`).

``fens.utility.measures`` is the old name of :mod:`fens.measures` and the same module.
"""

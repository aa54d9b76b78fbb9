"""Plausible wrong answers to the chapters' exercises, and the points each should earn.

One module per chapter, ``tests/course/wrong_answers/chNN.py`` (``ch02.py`` for
``solutions/02_ln_poisson``), defining ``CHAPTER`` (the chapter's folder name) and
``WRONG_ANSWERS``, a list of :class:`WrongAnswer`. The round-trip test puts each answer in place
of the solution's answer cell (matched by ``grade_id``) in the released notebook, autogrades it
with the grading switch on, and checks the points of every test cell: those in ``expected``
as given, all others full marks.
"""

from __future__ import annotations

from typing import NamedTuple


class WrongAnswer(NamedTuple):
    grade_id: str  # the answer cell it replaces, e.g. "ch2_poisson_loss"
    why: str  # the mistake, in a few words: "log of zero", "transposed weights"
    source: str  # the whole cell, starting with its "# ch2_poisson_loss" line
    expected: dict[str, float]  # test cell grade_id -> points this answer earns there

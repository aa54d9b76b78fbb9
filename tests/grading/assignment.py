"""A small assignment of the grading tests' own, in the course's conventions: every graded cell
starts with its grade-id comment, hidden tests between the markers, the grading switch read."""

from __future__ import annotations

from pathlib import Path

import nbformat

CHAPTER = "90_demo"

INTRO = """\
# A demo chapter

Two exercises and an open question, graded like the course's chapters."""

IMPORTS = """\
import numpy as np
from fens.course import for_reader"""

MEAN_RATE = """\
# demo_mean_rate
def mean_rate(counts, seconds):
    \"\"\"Mean spike rate (Hz) of spike counts (n,) in windows of `seconds`.\"\"\"
    ### BEGIN SOLUTION
    return float(np.mean(counts)) / seconds
    ### END SOLUTION"""

MEAN_RATE_TESTS = """\
# demo_mean_rate_tests
assert mean_rate([1, 2, 3], 1.0) == 2.0, "the mean of [1, 2, 3] spikes in 1 s is 2 Hz"
### BEGIN HIDDEN TESTS
assert mean_rate([0, 0, 4], 0.5) == 8 / 3, "rate with windows shorter than a second"
### END HIDDEN TESTS"""

READER_ONLY = """\
# only for the reader: a long loop that the grading switch cuts short
total = 0
for step in range(for_reader(reader=3_000_000, grader=10)):
    total += step"""

POISSON = """\
# demo_poisson_nll
def poisson_nll(rate, counts):
    \"\"\"Mean Poisson negative log-likelihood, up to the log(k!) term, of counts given rates.\"\"\"
    rate = np.asarray(rate, dtype=float)
    counts = np.asarray(counts, dtype=float)
    ### BEGIN SOLUTION
    return float(np.mean(rate - counts * np.log(rate)))
    ### END SOLUTION"""

POISSON_TESTS = """\
# demo_poisson_nll_tests
np.testing.assert_allclose(poisson_nll([1.0], [0.0]), 1.0, err_msg="a zero count costs the rate")
### BEGIN HIDDEN TESTS
from scipy.stats import poisson
rates, counts = np.array([0.5, 2.0, 3.0]), np.array([1.0, 0.0, 4.0])
reference = np.mean(-poisson.logpmf(counts, rates) - np.log([1.0, 1.0, 24.0]))
np.testing.assert_allclose(poisson_nll(rates, counts), reference, rtol=1e-9)
assert np.isfinite(poisson_nll([1e-3], [5.0])), "small rates stay finite"
### END HIDDEN TESTS"""

OPEN_QUESTION = """\
<!-- demo_open -->
Why does a Poisson loss suit spike counts better than a squared error?

### BEGIN SOLUTION
Their variance grows with their mean, as a Poisson distribution's does.
### END SOLUTION"""


def _graded(grade_id: str, **flags) -> dict:
    meta = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    meta.update(grade_id=grade_id, **flags)
    return {"nbgrader": meta}


def source_notebook() -> nbformat.NotebookNode:
    """The instructors' version of the demo chapter (solutions and hidden tests)."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell(INTRO),
        v4.new_code_cell(IMPORTS),
        v4.new_code_cell(MEAN_RATE, metadata=_graded("demo_mean_rate", solution=True)),
        v4.new_code_cell(
            MEAN_RATE_TESTS,
            metadata=_graded("demo_mean_rate_tests", grade=True, locked=True, points=2),
        ),
        v4.new_code_cell(READER_ONLY),
        v4.new_code_cell(POISSON, metadata=_graded("demo_poisson_nll", solution=True)),
        v4.new_code_cell(
            POISSON_TESTS,
            metadata=_graded("demo_poisson_nll_tests", grade=True, locked=True, points=3),
        ),
        v4.new_markdown_cell(
            OPEN_QUESTION, metadata=_graded("demo_open", grade=True, solution=True, points=1)
        ),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"demo-{index:02d}"
    nb = v4.new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.language_info = {"name": "python"}
    return nb


def write_course(root: Path, config_source: Path) -> Path:
    """A course folder at ``root``: the repository's ``nbgrader_config.py`` and the demo chapter
    in ``solutions/``. Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(config_source.read_text())
    folder = root / "solutions" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(), folder / f"{CHAPTER}.ipynb")
    return root

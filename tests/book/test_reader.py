"""How a chapter's instructors' notebook is turned into its page (book/_ext/fens_book)."""

from __future__ import annotations

import nbformat
import pytest
from fens_book.chapters import FORBIDDEN, read_chapter
from fens_book.links import Repository, colab_url, download_url, student_notebook

SOLUTION = """def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION"""
TESTS = """assert double(2) == 4
### BEGIN HIDDEN TESTS
assert double(-7) == -14, "secret check"
### END HIDDEN TESTS"""


def _notebook() -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    grade = {"grade": True, "grade_id": "double_tests", "points": 1, "solution": False}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell(
            SOLUTION, metadata={"nbgrader": {"solution": True, "grade_id": "double"}}
        ),
        nbformat.v4.new_code_cell(TESTS, metadata={"nbgrader": grade}),
        nbformat.v4.new_code_cell(
            "### BEGIN HIDDEN TESTS\nassert double(0) == 0\n### END HIDDEN TESTS",
            metadata={"nbgrader": grade | {"grade_id": "hidden_only"}},
        ),
        nbformat.v4.new_markdown_cell(
            "The answer: it doubles.", metadata={"nbgrader": {"solution": True}}
        ),
    ]
    return nbformat.writes(notebook)


def _text(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells)


@pytest.mark.parametrize("edition", ["instructors", "students"])
def test_hidden_tests_and_markers_never_reach_the_page(edition):
    notebook = read_chapter(_notebook(), edition=edition)
    text = _text(notebook)
    assert "secret check" not in text and "double(0)" not in text
    assert not [marker for marker in FORBIDDEN if marker in text]
    assert "assert double(2) == 4" in text  # the visible test stays
    nbformat.validate(notebook)


def test_instructors_see_the_solution_behind_a_toggle():
    notebook = read_chapter(_notebook(), edition="instructors")
    solution = notebook.cells[1]
    assert solution.source == 'def double(x):\n    """Twice x."""\n    return 2 * x'
    assert "hide-input" in solution.metadata["tags"]
    assert solution.metadata["mystnb"]["code_prompt_show"] == "Show the solution"
    assert notebook.cells[3].source.startswith(":::{dropdown}")
    assert len(notebook.cells) == 4  # the cell of hidden tests only is gone


def test_students_see_the_exercise_and_only_the_outputs_of_the_solution():
    notebook = read_chapter(_notebook(), edition="students")
    exercise, solution = notebook.cells[1], notebook.cells[2]
    assert exercise.source == (
        'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    )
    assert "skip-execution" in exercise.metadata["tags"]
    assert "remove-input" in solution.metadata["tags"] and "return 2 * x" in solution.source
    assert "The answer" not in _text(notebook)


def test_the_data_setting_is_the_first_cell_and_part_of_the_cache_key():
    simulated = read_chapter(_notebook(), data="simulated")
    real = read_chapter(_notebook(), data="real")
    assert simulated.cells[0].source != real.cells[0].source
    assert "os.environ['FENS_DATA'] = 'real'" in real.cells[0].source
    assert simulated.cells[0].metadata["tags"] == ["remove-cell"]


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="edition"):
        read_chapter(_notebook(), edition="teachers")
    broken = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nx")]
    )
    with pytest.raises(ValueError, match="without 'END HIDDEN TESTS'"):
        read_chapter(nbformat.writes(broken))


def test_colab_and_download_addresses():
    repository = Repository.from_url("https://github.com/fens-course/fens.git", "main")
    notebook = student_notebook("solutions/01_data/01_data")
    assert notebook == "exercises/01_data/01_data.ipynb"
    assert colab_url(repository, notebook) == (
        "https://colab.research.google.com/github/fens-course/fens/blob/main/"
        "exercises/01_data/01_data.ipynb"
    )
    assert download_url(repository, notebook) == (
        "https://raw.githubusercontent.com/fens-course/fens/main/exercises/01_data/01_data.ipynb"
    )
    assert student_notebook("book/intro") is None
    with pytest.raises(ValueError, match="OWNER/NAME"):
        Repository.from_url("https://gitlab.com/fens-course/fens", "main")

"""What a chapter page shows of its instructors' notebook in ``solutions/``.

The notebook is rewritten as it is read, before it is executed and rendered, so that no page, no
search index and no cached notebook of the book ever holds what a student must not see:

- hidden tests (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) and mark schemes are
  cut out, as ``nbgrader generate_assignment`` cuts them out of ``exercises/`` (a cell left
  empty is dropped);
- the instructors' edition (the default) keeps the solutions, behind a "Show the solution"
  toggle, without their ``### BEGIN/END SOLUTION`` marker lines; a written answer goes into a
  closed dropdown;
- the students' edition shows each exercise cell as the student notebook has it (nbgrader's own
  stub, ``raise NotImplementedError()``), not executed, followed by the reference solution's
  outputs only (its code removed), so that the chapter still runs on and shows its plots.

Delimiters are matched as nbgrader matches them: the delimiter anywhere in a line.
"""

from __future__ import annotations

import copy

import nbformat

EDITIONS = ("instructors", "students")

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_MARK_SCHEME, END_MARK_SCHEME = "BEGIN MARK SCHEME", "END MARK SCHEME"
# Strings that must never reach a page of the book (checked by the build and by tests/book).
FORBIDDEN = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, BEGIN_MARK_SCHEME)

SHOW_SOLUTION, HIDE_SOLUTION = "Show the solution", "Hide the solution"


def read_chapter(
    text: str, edition: str = "instructors", data: str | None = None
) -> nbformat.NotebookNode:
    """Read a chapter notebook (``.ipynb`` text) as the book's ``edition`` shows it.

    Args:
        text: the notebook file's content.
        edition: ``'instructors'`` (solutions behind a toggle) or ``'students'`` (no solution
            code at all).
        data: the data setting to execute on (``FENS_DATA``, see :mod:`fens.course`), set by a
            first, hidden cell: so it is also part of the execution cache's key, and a
            chapter executed on the simulated data is never shown as executed on the real.

    Returns:
        The notebook to execute and render (a new one; ``text`` is not changed).

    Raises:
        ValueError: an unknown edition, or a region opened and never closed.
    """
    if edition not in EDITIONS:
        raise ValueError(f"the book's edition must be one of {EDITIONS}, got {edition!r}")
    notebook = nbformat.reads(text, as_version=4)
    cells = []
    for cell in notebook.cells:
        cell.source = _cut_region(cell.source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)
        cell.source = _cut_region(cell.source, BEGIN_MARK_SCHEME, END_MARK_SCHEME)
        if not cell.source.strip():
            continue
        if _is_solution(cell):
            cells.extend(_solution_cells(cell, notebook, edition))
        else:
            cells.append(cell)
    if data is not None:
        setting = nbformat.v4.new_code_cell(
            f"import os\n\nos.environ['FENS_DATA'] = {data!r}  # set by the book's build",
            metadata={"tags": ["remove-cell"]},
        )
        setting["id"] = "fens-book-data-setting"
        cells.insert(0, setting)
    notebook.cells = cells
    return notebook


def _is_solution(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution")) or (
        BEGIN_SOLUTION in cell.source
    )


def _solution_cells(
    cell: nbformat.NotebookNode, notebook: nbformat.NotebookNode, edition: str
) -> list[nbformat.NotebookNode]:
    solution = _drop_marker_lines(cell.source)
    if cell.cell_type != "code":
        if edition == "students":
            return []
        cell.source = f":::{{dropdown}} A model answer\n{solution}\n:::"
        return [cell]
    tags = cell.metadata.setdefault("tags", [])
    if edition == "instructors":
        cell.source = solution
        tags.append("hide-input")
        cell.metadata["mystnb"] = {
            "code_prompt_show": SHOW_SOLUTION,
            "code_prompt_hide": HIDE_SOLUTION,
        }
        return [cell]
    exercise = copy.deepcopy(cell)
    exercise.source = _student_version(cell, notebook)
    exercise.outputs = []
    exercise.metadata["tags"] = [*tags, "skip-execution"]
    exercise.metadata.pop("nbgrader", None)
    exercise["id"] = f"{cell.get('id', 'cell')}-exercise"[:64]
    cell.source = solution
    tags.append("remove-input")
    return [exercise, cell]


def _student_version(cell: nbformat.NotebookNode, notebook: nbformat.NotebookNode) -> str:
    """The cell as ``exercises/`` has it: nbgrader's own ClearSolutions."""
    from nbgrader.preprocessors import ClearSolutions

    student = nbformat.v4.new_notebook(metadata=copy.deepcopy(notebook.metadata))
    student.cells = [copy.deepcopy(cell)]
    student.cells[0].metadata.setdefault("nbgrader", {})["solution"] = True
    student, _ = ClearSolutions().preprocess(student, {})
    return student.cells[0].source


def _cut_region(source: str, begin: str, end: str) -> str:
    """``source`` without its ``begin`` ... ``end`` regions (delimiter lines included)."""
    kept, inside = [], False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            if inside:
                raise ValueError(f"a second {begin!r} before {end!r} (line {number})")
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{begin!r} without {end!r} in the cell:\n{source}")
    return "\n".join(kept)


def _drop_marker_lines(source: str) -> str:
    lines = source.split("\n")
    return "\n".join(
        line for line in lines if BEGIN_SOLUTION not in line and END_SOLUTION not in line
    )

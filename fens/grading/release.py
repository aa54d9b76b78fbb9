"""The student versions: ``nbgrader generate_assignment`` from ``solutions/`` into
``exercises/``, written so that regenerating gives no diff."""

from __future__ import annotations

from pathlib import Path

import nbformat

from fens.grading.course import Course, GradingError


def generate(course: Course, chapter: str) -> Path:
    """Release one chapter: nbgrader's student version of ``solutions/CHAPTER/CHAPTER.ipynb``
    in ``exercises/CHAPTER/`` (the gradebook learns its graded cells), outputs stripped.

    Returns:
        The released notebook's path.

    Raises:
        GradingError: nbgrader refused the source notebook (its log says why).
    """
    from nbgrader.converters import GenerateAssignment

    source = course.folder("source") / chapter / f"{chapter}.ipynb"
    if not source.is_file():
        raise GradingError(f"no source notebook {source}")
    converter = GenerateAssignment(
        coursedir=course.coursedir(assignment_id=chapter), config=course.config
    )
    converter.force = True
    converter.create_assignment = True
    _start(converter, f"nbgrader generate_assignment {chapter}")
    released = course.release_notebook(chapter)
    normalise(released)
    leaks = find_leaks(nbformat.read(source, as_version=4), nbformat.read(released, as_version=4))
    if leaks:
        raise GradingError(f"{released} gives away the source's: " + "; ".join(leaks))
    return released


BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = (
    BEGIN_SOLUTION,
    END_SOLUTION,
    BEGIN_HIDDEN,
    END_HIDDEN,
    "=== BEGIN MARK SCHEME ===",
    "=== END MARK SCHEME ===",
)


def find_leaks(source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    """What of the solutions and hidden tests a released notebook still shows: markers, and
    lines of the solution / hidden-test regions (blank, comment-only and short lines aside)."""
    text = "\n".join(cell.source for cell in released.cells)
    leaks = [f"marker {m!r}" for m in MARKERS if m in text]
    released_lines = {line.strip() for line in text.split("\n")}
    inside_lines, outside_lines = [], set()
    for cell in source.cells:
        inside = False
        for line in cell.source.split("\n"):
            stripped = line.strip()
            if stripped in MARKERS:
                inside = stripped.startswith(("### BEGIN", "=== BEGIN"))
            elif inside:
                inside_lines.append(stripped)
            else:
                outside_lines.add(stripped)
    for line in inside_lines:
        if len(line) > 12 and not line.startswith("#") and line not in outside_lines:
            if line in released_lines:
                leaks.append(f"line {line!r}")
    return leaks


def normalise(path: Path) -> None:
    """Rewrite a released notebook in one canonical form: no outputs, no execution counts, no
    per-run metadata, nbformat's own JSON layout (what the source's cell ids make stable)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    nb.metadata.pop("widgets", None)
    text = nbformat.writes(nb) + "\n"
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _start(converter, what: str) -> None:
    """Run an nbgrader converter; its failure becomes a GradingError that quotes its log."""
    import io
    import logging

    from nbgrader.converters.base import NbGraderException

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    converter.log.addHandler(handler)
    try:
        converter.start()
    except NbGraderException as error:
        raise GradingError(f"{what} failed:\n{stream.getvalue() or error}") from None
    finally:
        converter.log.removeHandler(handler)

"""``fens grade check``: every submission's graded cells against the release, before grading.

nbgrader finds a graded cell by its metadata (``cell.metadata.nbgrader.grade_id``). Colab has no
nbgrader extension, and students copy, split, retype and delete cells: a cell whose metadata was
lost scores a silent zero. The course's cells name their grade id in their first line
(``# ch2_poisson_loss``), so a cell without metadata is matched by that comment, and its
metadata is restored from the release (the submission as handed in is kept in
``.original/``). What cannot be matched is named: a missing cell, a grade id in two cells, a
cell whose type changed (a code cell turned markdown).
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from fens.grading.course import Course, GradingError, grade_id_of_comment

OK, RESTORED, MISSING, DUPLICATED, TYPE_CHANGED = "ok", "restored", "MISSING", "DUPLICATE", "TYPE"
NEEDS_LOOK = (MISSING, DUPLICATED, TYPE_CHANGED)


@dataclass
class SubmissionCheck:
    """The state of each graded cell of one student's notebook (grade id -> state) and
    problems with the notebook as a whole."""

    student: str
    cells: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def needs_look(self) -> bool:
        return bool(self.problems) or any(s in NEEDS_LOOK for s in self.cells.values())


def released_cells(course: Course, chapter: str) -> dict[str, nbformat.NotebookNode]:
    """The release's graded cells by grade id (in notebook order)."""
    nb = nbformat.read(course.release_notebook(chapter), as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in nb.cells
        if "grade_id" in cell.metadata.get("nbgrader", {})
    }


def submissions(course: Course, chapter: str) -> dict[str, Path]:
    """student -> the notebook in ``submitted/STUDENT/CHAPTER/CHAPTER.ipynb``."""
    found = {}
    for folder in sorted(course.folder("submitted").glob(f"*/{chapter}")):
        found[folder.parent.name] = folder / f"{chapter}.ipynb"
    return found


def check_notebook(
    nb: nbformat.NotebookNode, release: dict[str, nbformat.NotebookNode], student: str
) -> tuple[SubmissionCheck, bool]:
    """Match ``nb``'s graded cells to the release's, restoring lost metadata in place.

    Returns:
        The check, and whether ``nb`` was changed (metadata restored).
    """
    result = SubmissionCheck(student)
    by_id: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            grade_id = grade_id_of_comment(cell.source)
            if grade_id not in release:
                continue
        by_id.setdefault(grade_id, []).append(index)
    changed = False
    for grade_id, released in release.items():
        indices = by_id.get(grade_id, [])
        if not indices:
            result.cells[grade_id] = MISSING
            continue
        if len(indices) > 1:
            result.cells[grade_id] = DUPLICATED
            result.notes.append(f"{grade_id} is in cells {indices}: nbgrader grades the last")
            continue
        cell = nb.cells[indices[0]]
        if cell.cell_type != released.cell_type:
            result.cells[grade_id] = TYPE_CHANGED
            result.notes.append(
                f"{grade_id} is a {cell.cell_type} cell (cell {indices[0]}), "
                f"released as {released.cell_type}"
            )
            continue
        if "nbgrader" not in cell.metadata:
            cell.metadata["nbgrader"] = copy.deepcopy(released.metadata["nbgrader"])
            for key in ("deletable", "editable"):
                if key in released.metadata:
                    cell.metadata[key] = released.metadata[key]
            result.cells[grade_id] = RESTORED
            result.notes.append(f"{grade_id}: metadata restored from the release (cell comment)")
            changed = True
        else:
            result.cells[grade_id] = OK
    return result, changed


def check(course: Course, chapter: str, *, restore: bool = True) -> list[SubmissionCheck]:
    """Check every submission of ``chapter``; with ``restore``, write back restored metadata
    (the notebook as handed in is kept as ``.original/CHAPTER.ipynb`` beside it)."""
    release = released_cells(course, chapter)
    results = []
    for student, path in submissions(course, chapter).items():
        if not path.is_file():
            others = sorted(p.name for p in path.parent.glob("*.ipynb"))
            result = SubmissionCheck(student, {g: MISSING for g in release})
            result.problems.append(
                f"no {path.name} in {path.parent}"
                + (f" (found {', '.join(others)})" if others else "")
            )
            results.append(result)
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several kinds on a broken file
            result = SubmissionCheck(student, {g: MISSING for g in release})
            result.problems.append(f"{path} is not a readable notebook: {error}")
            results.append(result)
            continue
        result, changed = check_notebook(nb, release, student)
        if changed and restore:
            original = path.parent / ".original" / path.name
            if not original.exists():
                original.parent.mkdir(exist_ok=True)
                shutil.copy2(path, original)
            nbformat.write(nb, path)
        results.append(result)
    if not results:
        raise GradingError(
            f"no submissions of {chapter} in {course.folder('submitted')} "
            f"(fens grade collect {chapter} DIR puts them there)"
        )
    return results


def table(results: list[SubmissionCheck], grade_ids: list[str]) -> str:
    """One row per student, one column per graded cell, then the notes."""
    width = max([len("student")] + [len(r.student) for r in results])
    columns = [max(len(g), 9) for g in grade_ids]
    head = (
        "student".ljust(width)
        + "  "
        + "  ".join(g.ljust(w) for g, w in zip(grade_ids, columns, strict=True))
    )
    lines = [head, "-" * len(head)]
    for result in results:
        cells = [
            result.cells.get(g, MISSING).ljust(w) for g, w in zip(grade_ids, columns, strict=True)
        ]
        lines.append(result.student.ljust(width) + "  " + "  ".join(cells))
    for result in results:
        for text in result.problems + result.notes:
            lines.append(f"{result.student}: {text}")
    return "\n".join(lines)

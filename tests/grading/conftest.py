"""One demo course per test module, released once; a fresh gradebook per grading run."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.grading import assignment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory):
    """A course folder with the demo chapter released (exercises/ and its gradebook)."""
    from fens.grading.course import Course
    from fens.grading.release import generate

    root = assignment.write_course(tmp_path_factory.mktemp("course"), REPO / "nbgrader_config.py")
    course = Course.load(root)
    generate(course, assignment.CHAPTER)
    return course


def new_course(released, tmp_path: Path):
    """A copy of the released course (its own gradebook), with no submissions yet."""
    import shutil

    from fens.grading.course import Course

    root = tmp_path / "course"
    root.mkdir()
    for name in ("nbgrader_config.py", "solutions", "exercises", "gradebook.db"):
        source = released.root / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return Course.load(root)


def hand_in(course, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    """Collect ``notebooks`` (student -> notebook) into the course's submitted folder."""
    from fens.grading.collect import collect

    folder = course.root / "handed-in"
    folder.mkdir(exist_ok=True)
    for student, nb in notebooks.items():
        nbformat.write(nb, folder / f"{student}.ipynb")
    result = collect(course, assignment.CHAPTER, folder)
    assert not result.problems, result.problems


def points(report) -> dict[str, dict[str, float]]:
    """student -> grade_id -> points, from a run's table."""
    table: dict[str, dict[str, float]] = {}
    for row in report.rows:
        table.setdefault(row["student"], {})[row["grade_id"]] = row["points"]
    return table

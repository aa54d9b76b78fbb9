"""A class of a real chapter, a few of its students hostile, graded in one ``fens grade run``.

The class is made of the chapter's round-trip students (``tests/course/conftest.py``: the
solution, the blank release, every wrong answer), copied under new names with a scratch cell of
their own, and of hostile students whose last answer cell attacks the grader
(``tests/grading/submissions.py``) before holding the solution. Every well-behaved student must
get the grade its notebook got in the round trip; the hostile ones lose the cells they spoiled,
named in the report; the gradebook's assignment and the sources are unchanged.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

from fens.grading.sandbox import Limits
from tests.course.conftest import (
    COURSES,
    REPO,
    Courses,
    auto_points,
    chapters,
    hand_in,
    is_answer,
    nbgrader_meta,
    with_answer,
)
from tests.grading import submissions as subs

CHAPTER = "00_setup"  # the cheapest chapter to grade
SIZE = 32
# Attacks on the grader (all but the snooper cost the attacked cell's tests and those after).
HOSTILE = ("exits", "kills_parent", "loops_forever", "floods_output", "patches_numpy", "snoops")
# Those the report must name. In the sandbox's PID namespace the kernel's parent is its init,
# which ignores the kill, and `kill(-1)` finds nothing to kill: the attack's own cell raises
# ProcessLookupError, its answer is never defined, and nothing else happens.
NAMED = ("exits", "loops_forever", "floods_output", "patches_numpy")
# A hostile cell runs until the cell's limit: tight limits keep the class run short.
LIMITS = Limits(cell_seconds=40, submission_seconds=240, memory_bytes=4 * 2**30)
RECORD = REPO / "bench" / "results" / "grading_class.txt"


def _last_answer(graded) -> str:
    return [nbgrader_meta(c)["grade_id"] for c in graded.release.cells if is_answer(c)][-1]


def class_notebooks(graded, size: int) -> tuple[dict, dict]:
    """``size`` students: (student -> notebook, student -> the round-trip student it copies or
    the attack it makes)."""
    honest = ["solution", "blank", *graded.wrong]
    target = _last_answer(graded)
    solution_code = next(
        c.source for c in graded.solved.cells if nbgrader_meta(c).get("grade_id") == target
    )
    notebooks, origin = {}, {}
    for kind in HOSTILE:
        source = f"# {target}\n{subs.HOSTILE[kind]}\n{solution_code.split(chr(10), 1)[1]}"
        notebooks[f"hostile_{kind}"] = with_answer(graded.solved, target, source)
        origin[f"hostile_{kind}"] = kind
    for number in range(size - len(HOSTILE)):
        copied = honest[number % len(honest)]
        student = f"student{number:02d}"
        nb = nbformat.reads(nbformat.writes(_notebook_of(graded, copied)), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(f"# {student}'s scratch\nprint({number})"))
        notebooks[student], origin[student] = nb, copied
    return notebooks, origin


def _notebook_of(graded, student: str) -> nbformat.NotebookNode:
    if student == "solution":
        return graded.solved
    if student == "blank":
        return graded.release
    answer = graded.wrong[student]
    return with_answer(graded.solved, answer.grade_id, answer.source)


def class_course(courses: Courses, chapter: str, size: int):
    """A course of its own with the round trip's release of ``chapter`` and a class of
    ``size`` handed in; (course, student -> what it copies or the attack it makes)."""
    graded = courses.graded(chapter)
    course = courses.new_course(chapter, f"class-{chapter}-{size}-{time.monotonic_ns()}")
    shutil.copytree(graded.course.folder("release"), course.folder("release"))
    shutil.copy(graded.course.root / "gradebook.db", course.root / "gradebook.db")
    notebooks, origin = class_notebooks(graded, size)
    hand_in(course, chapter, notebooks)
    return course, origin


def grade_class(courses: Courses, chapter: str, size: int):
    """Grade a class of ``size`` of ``chapter`` (:func:`class_course`): the run's report."""
    from fens.grading.run import run

    course, _ = class_course(courses, chapter, size)
    return run(course, chapter, limits=LIMITS, progress=False)


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _assignment_tables(db: Path) -> str:
    """The gradebook's record of the released chapter (its notebooks and cells), not the grades."""
    tables = (
        "assignment",
        "notebook",
        "base_cell",
        "grade_cells",
        "solution_cells",
        "source_cell",
        "task_cells",
    )
    with sqlite3.connect(db) as connection:
        present = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        rows = [
            (table, sorted(map(repr, connection.execute(f"SELECT * FROM {table}"))))
            for table in tables
            if table in present
        ]
    return repr(rows)


@pytest.mark.slow
@pytest.mark.skipif(CHAPTER not in chapters(), reason=f"no solutions/{CHAPTER}")
def test_a_class_with_hostile_students_is_graded_as_if_each_were_alone():
    from fens.grading.run import run

    graded = COURSES.graded(CHAPTER)
    course, origin = class_course(COURSES, CHAPTER, SIZE)
    guarded = [REPO / "solutions", REPO / "exercises", course.root / "solutions"]
    guarded += [course.folder("release"), course.folder("submitted")]
    before = {str(p): _tree_hash(p) for p in guarded}
    repo_db = REPO / "gradebook.db"
    repo_db_before = repo_db.read_bytes() if repo_db.exists() else None
    db = Path(course.db_url[len("sqlite:///") :])
    assignment_before = _assignment_tables(db)

    report = run(course, CHAPTER, limits=LIMITS, progress=False)
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(f"{CHAPTER}: {SIZE} submissions graded in {report.seconds:.1f} s\n")
    print(f"\nclass of {SIZE} submissions of {CHAPTER} graded in {report.seconds:.1f} s")

    assert len(report.results) == SIZE
    table: dict[str, dict[str, float]] = {}
    for row in report.rows:
        table.setdefault(row["student"], {})[row["grade_id"]] = row["points"]
    tests = auto_points(graded.release)
    different = {
        student: (copied, table.get(student), graded.points(copied))
        for student, copied in origin.items()
        if not student.startswith("hostile_")
        and {g: table.get(student, {}).get(g) for g in tests} != graded.points(copied)
    }
    assert not different, different
    honest = [r for r in report.results if not r.student.startswith("hostile_")]
    assert not [(r.student, r.error, r.incidents) for r in honest if r.error or r.incidents]

    target = _last_answer(graded)
    order = [nbgrader_meta(c)["grade_id"] for c in graded.release.cells if "nbgrader" in c.metadata]
    spoiled = {g for g in tests if order.index(g) > order.index(target)}
    results = {r.student: r for r in report.results}
    for kind in HOSTILE:
        student = f"hostile_{kind}"
        lost = {} if kind == "snoops" else dict.fromkeys(spoiled, 0.0)
        assert {g: table[student].get(g) for g in tests} == tests | lost, (kind, table[student])
        result = results[student]
        if kind in NAMED:
            assert result.incidents or result.error, f"{kind} is not named in the report"
        else:
            assert not result.incidents and not result.error, result

    assert {str(p): _tree_hash(p) for p in guarded} == before
    assert (repo_db.read_bytes() if repo_db.exists() else None) == repo_db_before
    assert _assignment_tables(db) == assignment_before
    graded_students = {r["student"] for r in report.rows}
    assert graded_students >= set(origin)  # nobody's grade lost

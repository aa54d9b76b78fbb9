"""nbgrader round trip on every chapter: the solution scores full marks, the blank release zero,
each wrong answer of ``tests/course/wrong_answers/chNN.py`` what it is meant to.

All submissions of a chapter are graded in one ``fens grade run`` (``tests/course/conftest.py``)
with the production sandbox and limits and ``FENS_GRADING=1``.
"""

from __future__ import annotations

import csv

import pytest

from tests.course.conftest import COURSES, auto_points, chapters, is_answer, nbgrader_meta

CHAPTERS = chapters()


def _failures(graded, student: str, wanted: dict[str, float]) -> list[str]:
    got = graded.points(student)
    reasons = graded.reasons(student)
    return [
        f"{cell}: {got.get(cell)} points, expected {points} ({reasons.get(cell) or 'no reason'})"
        for cell, points in wanted.items()
        if got.get(cell) != points
    ]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_solution_scores_full_marks(chapter):
    graded = COURSES.graded(chapter)
    full = auto_points(graded.release)
    assert full, f"{chapter} has no auto-graded cell"
    failures = _failures(graded, "solution", full)
    assert not failures, f"{chapter}'s solution lost points:\n" + "\n".join(failures)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_blank_release_scores_zero_and_says_why(chapter):
    graded = COURSES.graded(chapter)
    zero = dict.fromkeys(auto_points(graded.release), 0.0)
    failures = _failures(graded, "blank", zero)
    assert not failures, f"{chapter}'s blank release earned points:\n" + "\n".join(failures)
    reasons = graded.reasons("blank")
    assert all(reasons[cell] for cell in zero), reasons


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_a_wrong_answer(chapter):
    graded = COURSES.graded(chapter)
    answers = {nbgrader_meta(c)["grade_id"] for c in graded.release.cells if is_answer(c)}
    covered = {answer.grade_id for answer in graded.wrong.values()}
    assert answers <= covered, (
        f"tests/course/wrong_answers/ch{chapter[:2]}.py has no wrong answer to "
        f"{sorted(answers - covered)}"
    )
    tests = set(auto_points(graded.release))
    for answer in graded.wrong.values():
        assert set(answer.expected) <= tests, (
            f"{answer.why!r} expects points on {sorted(set(answer.expected) - tests)}, "
            f"which are no test cells of {chapter}"
        )
        assert answer.source.split("\n", 1)[0].strip() == f"# {answer.grade_id}", answer.why


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_wrong_answers_earn_the_intended_points(chapter):
    graded = COURSES.graded(chapter)
    full = auto_points(graded.release)
    failures = []
    for student, answer in graded.wrong.items():
        for line in _failures(graded, student, full | answer.expected):
            failures.append(f"{answer.grade_id} ({answer.why}): {line}")
        reasons = graded.reasons(student)
        failures += [
            f"{answer.grade_id} ({answer.why}): {cell} lost points without a reason"
            for cell in answer.expected
            if answer.expected[cell] < full[cell] and not reasons.get(cell)
        ]
    assert not failures, f"{chapter}:\n" + "\n".join(failures)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_submission_hits_a_limit_of_the_grader(chapter):
    """Grading mode keeps every cell inside the sandbox's limits (no timeout, no dead kernel)."""
    graded = COURSES.graded(chapter)
    trouble = {
        r.student: (r.error, r.incidents) for r in graded.report.results if r.error or r.incidents
    }
    assert not trouble, trouble


def test_a_rerun_changes_nothing():
    """Once, on the first chapter: the same table, file and gradebook scores again."""
    from fens.grading.run import run

    graded = COURSES.graded(CHAPTERS[0])
    table = graded.report.csv_path.read_bytes()
    again = run(graded.course, graded.chapter, progress=False)
    assert again.rows == graded.report.rows
    assert again.csv_path.read_bytes() == table
    with open(again.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(graded.report.rows)
    assert {r.student for r in again.results} == {r.student for r in graded.report.results}

"""fens grade on the demo chapter: release, collect, check, run, feedback, the table."""

from __future__ import annotations

import copy
import csv

import nbformat
import pytest

from fens.grading.sandbox import Limits
from tests.grading import assignment
from tests.grading import submissions as subs
from tests.grading.conftest import hand_in, new_course, points

CH = assignment.CHAPTER
FAST = Limits(cell_seconds=20, submission_seconds=60, memory_bytes=3 * 2**30)


def test_release_has_no_solution_hidden_test_or_marker_and_regenerates_without_diff(
    released_course,
):
    from fens.grading.release import find_leaks, generate

    path = released_course.release_notebook(CH)
    before = path.read_bytes()
    text = before.decode()
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "8 / 3", "poisson.logpmf", "np.mean(rate"):
        assert secret not in text
    assert "raise NotImplementedError()" in text
    nb = nbformat.read(path, as_version=4)
    assert all(c.get("outputs", []) == [] for c in nb.cells)
    generate(released_course, CH)
    assert path.read_bytes() == before
    leaky = copy.deepcopy(nb)
    leaky.cells[2].source += "\n    return float(np.mean(counts)) / seconds"
    assert find_leaks(assignment.source_notebook(), leaky)


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory):
    """One run over the solution, the blank release, wrong answers and damaged notebooks."""
    from fens.grading.run import run

    course = new_course(released_course, tmp_path_factory.mktemp("graded"))
    release = nbformat.read(released_course.release_notebook(CH), as_version=4)
    tampered = subs.solution()
    tampered.cells[3].source = "# demo_mean_rate_tests\nassert True"  # a locked test cell
    deleted = copy.deepcopy(subs.solution())
    del deleted.cells[5]  # the poisson answer cell
    notebooks = {
        "solution": subs.solution(),
        "blank": release,
        "wrong_mean": subs.replace_answer(subs.solution(), "demo_mean_rate", subs.WRONG_MEAN),
        "wrong_hidden": subs.replace_answer(
            subs.solution(), "demo_poisson_nll", subs.WRONG_POISSON_HIDDEN
        ),
        "tampered": tampered,
        "stripped": subs.strip_metadata(subs.solution()),
        "deleted": deleted,
    }
    hand_in(course, notebooks)
    first = run(course, CH, workers=2, limits=FAST, progress=False)
    second = run(course, CH, workers=2, limits=FAST, progress=False)
    return course, first, second


def test_scores(graded):
    _, report, _ = graded
    table = points(report)
    assert table["solution"] == {**subs.FULL, "demo_open": 0.0}  # open question: by hand
    assert table["blank"] == {
        "demo_mean_rate_tests": 0,
        "demo_poisson_nll_tests": 0,
        "demo_open": 0,
    }
    assert table["wrong_mean"]["demo_mean_rate_tests"] == 0
    assert table["wrong_mean"]["demo_poisson_nll_tests"] == 3
    assert table["wrong_hidden"] == table["wrong_mean"] | {  # visible check passes, hidden fails
        "demo_mean_rate_tests": 2.0,
        "demo_poisson_nll_tests": 0.0,
    }
    assert table["tampered"] == table["solution"]
    assert table["stripped"] == table["solution"]
    assert table["deleted"]["demo_mean_rate_tests"] == 2
    assert table["deleted"]["demo_poisson_nll_tests"] == 0


def test_a_rerun_changes_nothing(graded):
    course, first, second = graded
    assert first.rows == second.rows
    with open(course.grades_dir / f"{CH}.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student", "grade_id", "points", "max_points", "reason"]
    assert len(rows) == len(second.rows)


def test_reasons_name_the_visible_message_and_the_hidden_check(graded):
    _, report, _ = graded
    reasons = {(r["student"], r["grade_id"]): r["reason"] for r in report.rows}
    assert "NotImplementedError" in reasons[("blank", "demo_mean_rate_tests")]
    hidden = reasons[("wrong_hidden", "demo_poisson_nll_tests")]
    assert hidden == "hidden check failed: hidden check 1"  # np.testing's call has no message
    assert "rate with windows" in reasons[("wrong_mean", "demo_mean_rate_tests")] or (
        "the mean of [1, 2, 3]" in reasons[("wrong_mean", "demo_mean_rate_tests")]
    )
    assert reasons[("solution", "demo_mean_rate_tests")] == ""


def test_check_restores_metadata_and_names_the_deleted_cell(graded):
    from fens.grading.check import MISSING, RESTORED, check

    course, report, _ = graded
    by_student = {c.student: c for c in report.checks}
    assert set(by_student["stripped"].cells.values()) == {RESTORED}
    assert by_student["deleted"].cells["demo_poisson_nll"] == MISSING
    assert by_student["deleted"].needs_look and not by_student["stripped"].needs_look
    original = course.folder("submitted") / "stripped" / CH / ".original" / f"{CH}.ipynb"
    assert original.is_file()  # the notebook as handed in is kept
    again = {c.student: c for c in check(course, CH)}
    assert set(again["stripped"].cells.values()) == {"ok"}  # restored once, for good


def test_feedback_shows_messages_not_hidden_tests(graded):
    course, _, _ = graded
    page = (course.folder("feedback") / "wrong_hidden" / CH / f"{CH}.html").read_text()
    assert "hidden check failed" in page
    for secret in ("poisson.logpmf", "8 / 3", "BEGIN HIDDEN", "small rates stay"):
        assert secret not in page
    blank = (course.folder("feedback") / "blank" / CH / f"{CH}.html").read_text()
    assert "rate with windows" not in blank  # a hidden check's message only when it failed


def test_collect_reports_instead_of_guessing(released_course, tmp_path):
    from fens.grading.collect import collect

    course = new_course(released_course, tmp_path)
    folder = tmp_path / "downloads"
    (folder / "ann").mkdir(parents=True)
    nbformat.write(subs.solution(), folder / "ann" / "mine.ipynb")
    nbformat.write(subs.solution(), folder / "ann" / "copy.ipynb")
    nbformat.write(subs.solution(), folder / "bo b.ipynb")
    nbformat.write(subs.solution(), folder / "cy.ipynb")
    result = collect(course, CH, folder)
    assert list(result.taken) == ["cy"]
    assert any("ann: 2 notebooks" in p for p in result.problems)
    assert any("bo b" in p and "student id" in p for p in result.problems)
    nbformat.write(subs.strip_metadata(subs.solution()), folder / "cy.ipynb")
    again = collect(course, CH, folder)
    assert any("cy:" in p and "differs" in p for p in again.problems)  # never overwritten


def test_cli_check_exits_nonzero_when_a_cell_is_missing(released_course, tmp_path, capsys):
    from fens.grading.cli import main

    course = new_course(released_course, tmp_path)
    deleted = subs.solution()
    del deleted.cells[5]
    hand_in(course, {"ok": subs.solution(), "deleted": deleted})
    assert main(["--course", str(course.root), "check", CH]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and "deleted" in out

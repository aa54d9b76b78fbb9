"""The student notebooks in ``exercises/``: what ``make exercises`` writes, nothing given away,
every one runs top to bottom, every graded cell named by its first line."""

from __future__ import annotations

import re
from collections import Counter

import nbformat
import pytest

from fens.grading.course import grade_id_of_comment
from fens.grading.release import MARKERS, find_leaks
from tests.course.conftest import (
    COURSES,
    REPO,
    chapters,
    is_answer,
    is_test,
    nbgrader_meta,
    source_notebook,
)

CHAPTERS = chapters()
# Random draws that change from one run to the next: an unseeded generator, numpy's global
# state, a torch draw before the cell seeds torch (checked below on the text of test cells).
UNSEEDED = re.compile(r"default_rng\(\s*\)|np\.random\.(?!default_rng\b|seed\b)\w+\(")
TORCH_DRAW = re.compile(r"torch\.(rand\w*|randint|randperm|normal|bernoulli|multinomial)\(")
EXERCISES = REPO / "exercises"
# What a cell of the blank release may raise, by kind: the stub's and the visible asserts'.
ANSWER_ERRORS = {"NotImplementedError"}
TEST_ERRORS = {"NotImplementedError", "AssertionError"}


def _committed(chapter: str) -> nbformat.NotebookNode:
    path = EXERCISES / chapter / f"{chapter}.ipynb"
    assert path.is_file(), f"{path} is missing: run `make exercises` and commit exercises/"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_release_is_what_make_exercises_writes(chapter):
    """``fens.grading.release.generate`` (what ``make exercises`` runs), in a course folder of
    its own, writes the committed files byte for byte."""
    released = COURSES.released(chapter).folder("release") / chapter
    committed = EXERCISES / chapter
    made = {p.relative_to(released): p.read_bytes() for p in released.rglob("*") if p.is_file()}
    kept = {p.relative_to(committed): p.read_bytes() for p in committed.rglob("*") if p.is_file()}
    assert sorted(made) == sorted(kept), f"exercises/{chapter}: run `make exercises`"
    stale = [str(name) for name in made if made[name] != kept[name]]
    assert not stale, f"exercises/{chapter}/{stale} differ from the release: run `make exercises`"


def test_exercises_holds_only_released_chapters():
    folders = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
    assert set(folders) <= set(CHAPTERS), (
        f"exercises/ without a source: {set(folders) - set(CHAPTERS)}"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_release_gives_nothing_away(chapter):
    source, released = source_notebook(chapter), _committed(chapter)
    assert find_leaks(source, released) == []
    text = "\n".join(cell.source for cell in released.cells)
    for marker in (*MARKERS, "BEGIN SOLUTION", "HIDDEN TESTS", "MARK SCHEME"):
        assert marker not in text
    for cell in released.cells:
        if is_answer(cell):
            assert "raise NotImplementedError()" in cell.source, nbgrader_meta(cell)["grade_id"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs not stripped"
    solved_cells = [c for c in source.cells if nbgrader_meta(c).get("solution")]
    assert len(solved_cells) == len([c for c in released.cells if nbgrader_meta(c).get("solution")])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_blank_release_runs_top_to_bottom(chapter):
    """The released notebook as autograded (nbgrader's nbclient run, ``allow_errors``,
    ``FENS_GRADING=1``, in the sandbox; the round trip's ``blank`` student): only answer and
    test cells raise, each with a clear message, and every other cell runs."""
    graded = COURSES.graded(chapter)
    nb = graded.autograded("blank")
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = nbgrader_meta(cell).get("grade_id") or f"cell {index}"
        if cell.execution_count is None:
            problems.append(f"{name} was not run")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        allowed = ANSWER_ERRORS if is_answer(cell) else TEST_ERRORS if is_test(cell) else set()
        for error in errors:
            if error.ename not in allowed:
                problems.append(f"{name} raised {error.ename}: {error.evalue}")
            elif error.ename == "AssertionError" and not str(error.evalue).strip():
                problems.append(f"{name}: an assert without a message")
    assert not problems, f"{chapter}'s blank release:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_cells_name_their_grade_id_first(chapter):
    for nb, where in ((source_notebook(chapter), "solutions"), (_committed(chapter), "exercises")):
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade") or meta.get("solution"):
                assert grade_id_of_comment(cell.source) == meta["grade_id"], (
                    f"{where}/{chapter}: the cell {meta['grade_id']!r} starts with "
                    f"{cell.source.lstrip().split(chr(10), 1)[0]!r}"
                )


def test_grade_ids_are_unique_across_the_course():
    ids = Counter(
        nbgrader_meta(cell)["grade_id"]
        for chapter in CHAPTERS
        for cell in source_notebook(chapter).cells
        if "grade_id" in nbgrader_meta(cell)
    )
    assert not [g for g, n in ids.items() if n > 1]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_test_cells_draw_the_same_cases_at_every_run(chapter):
    """A test cell's random cases come from seeded generators, so that grading the same
    submission twice (a regrade, a second instructor) gives the same points."""
    for cell in source_notebook(chapter).cells:
        if not is_test(cell):
            continue
        name = nbgrader_meta(cell)["grade_id"]
        unseeded = UNSEEDED.findall(cell.source)
        assert not unseeded, f"{chapter}: {name} draws from {unseeded}: seed it"
        seeded_at = cell.source.find("torch.manual_seed(")
        draw = TORCH_DRAW.search(cell.source)
        assert draw is None or -1 < seeded_at < draw.start(), (
            f"{chapter}: {name} calls {draw.group(0)} before torch.manual_seed"
        )

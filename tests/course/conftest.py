"""The course's chapters as a class would hand them in, graded once per chapter and shared.

Every chapter of ``solutions/`` (found by its folder, so a new chapter is picked up) is released
into a course folder of its own (``nbgrader_config.py`` and that chapter), and its students are
made from the release: ``solution`` (every answer cell holds the solution's code, without the
markers), ``blank`` (the release as it is) and one student per wrong answer of
``tests/course/wrong_answers/chNN.py`` (the solved release with that one answer cell replaced).
They are graded in ONE ``fens grade run`` per chapter (all cores, the production sandbox and
limits, ``FENS_GRADING=1``), so that the kernel and nbgrader start once per submission and the
chapter's overhead once. :data:`COURSES` keeps each chapter's run for the session (it is a
module-level object, not a fixture, so that ``tests/grading/test_class.py`` reads the same runs).
"""

from __future__ import annotations

import atexit
import copy
import importlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from fens.grading.release import BEGIN_SOLUTION, END_SOLUTION
from tests.course.wrong_answers import WrongAnswer

REPO = Path(__file__).resolve().parents[2]
SOLUTION_MARKERS = (BEGIN_SOLUTION, END_SOLUTION)


def chapters() -> list[str]:
    """The chapters in ``solutions/``: ``NN_slug`` folders that hold ``NN_slug.ipynb``."""
    source = REPO / "solutions"
    return sorted(p.parent.name for p in source.glob("*/*.ipynb") if p.stem == p.parent.name)


def source_notebook(chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)


def wrong_answers(chapter: str) -> list[WrongAnswer] | None:
    """The chapter's wrong answers (``tests/course/wrong_answers/chNN.py``), None if none."""
    name = f"tests.course.wrong_answers.ch{chapter[:2]}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None
    assert module.CHAPTER == chapter, f"{name}.CHAPTER is {module.CHAPTER!r}, not {chapter!r}"
    return list(module.WRONG_ANSWERS)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_answer(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def auto_points(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Auto-graded (test) cells: grade id -> points."""
    return {
        nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
        for c in nb.cells
        if is_test(c)
    }


def solved(release: nbformat.NotebookNode, source: nbformat.NotebookNode):
    """The release with every answer cell holding the solution's code (markers dropped)."""
    answers = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in source.cells
        if nbgrader_meta(c).get("solution")
    }
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell):
            lines = answers[nbgrader_meta(cell)["grade_id"]].split("\n")
            cell.source = "\n".join(x for x in lines if x.strip() not in SOLUTION_MARKERS)
    return nb


def with_answer(nb: nbformat.NotebookNode, grade_id: str, source: str):
    """A copy of ``nb`` whose answer cell ``grade_id`` holds ``source`` (the whole cell)."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if is_answer(c) and nbgrader_meta(c)["grade_id"] == grade_id]
    assert len(cells) == 1, f"no answer cell {grade_id!r} in the release"
    cells[0].source = source
    return nb


@dataclass
class GradedChapter:
    """One chapter's round trip: its course folder, the students handed in and the run."""

    chapter: str
    course: object  # fens.grading.course.Course
    release: nbformat.NotebookNode
    solved: nbformat.NotebookNode
    wrong: dict[str, WrongAnswer]  # student -> the wrong answer handed in
    report: object  # fens.grading.run.RunReport

    def points(self, student: str) -> dict[str, float]:
        """Auto-graded cells' points of ``student`` (grade id -> points)."""
        tests = auto_points(self.release)
        return {
            r["grade_id"]: r["points"]
            for r in self.report.rows
            if r["student"] == student and r["grade_id"] in tests
        }

    def reasons(self, student: str) -> dict[str, str]:
        return {r["grade_id"]: r["reason"] for r in self.report.rows if r["student"] == student}

    def autograded(self, student: str) -> nbformat.NotebookNode:
        folder = self.course.folder("autograded") / student / self.chapter
        return nbformat.read(folder / f"{self.chapter}.ipynb", as_version=4)


class Courses:
    """Released and graded chapters, made on first use and kept for the session."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._released: dict[str, object] = {}
        self._graded: dict[str, GradedChapter] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="fens-course-tests-"))
            atexit.register(shutil.rmtree, self._root, ignore_errors=True)
        return self._root

    def new_course(self, chapter: str, name: str):
        """A course folder holding the repository's config and ``chapter``'s source folder."""
        from fens.grading.course import Course

        root = self.root / name
        (root / "solutions").mkdir(parents=True)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions" / chapter, root / "solutions" / chapter)
        return Course.load(root)

    def released(self, chapter: str):
        """``chapter`` released (``fens.grading.release.generate``) in a course of its own."""
        if chapter not in self._released:
            from fens.grading.release import generate

            course = self.new_course(chapter, chapter)
            generate(course, chapter)
            self._released[chapter] = course
        return self._released[chapter]

    def graded(self, chapter: str) -> GradedChapter:
        """The chapter's solution, blank and wrong answers, graded in one run."""
        if chapter not in self._graded:
            from fens.grading.run import run

            course = self.released(chapter)
            release = nbformat.read(course.release_notebook(chapter), as_version=4)
            right = solved(release, source_notebook(chapter))
            students = {"solution": right, "blank": release}
            wrong = {}
            for number, answer in enumerate(wrong_answers(chapter) or []):
                student = f"wrong{number:02d}_{answer.grade_id}"
                wrong[student] = answer
                students[student] = with_answer(right, answer.grade_id, answer.source)
            hand_in(course, chapter, students)
            report = run(course, chapter, progress=False)
            self._graded[chapter] = GradedChapter(chapter, course, release, right, wrong, report)
            _record(report)
        return self._graded[chapter]


def _record(report) -> None:
    """Add the run's time to ``bench/results/grading_round_trip.txt`` (wall seconds with every
    core busy, and CPU seconds of each submission's grading process and kernel)."""
    n = len(report.results)
    cpu = sum(r.cpu_seconds for r in report.results) / n
    record = REPO / "bench" / "results" / "grading_round_trip.txt"
    record.parent.mkdir(parents=True, exist_ok=True)
    with open(record, "a") as handle:
        handle.write(
            f"{report.chapter}: {n} submissions in {report.seconds:.1f} s "
            f"({report.seconds / n:.1f} s per submission; CPU {cpu:.1f} s each)\n"
        )


def hand_in(course, chapter: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    """Collect ``notebooks`` (student -> notebook) as ``fens grade collect`` does."""
    from fens.grading.collect import collect

    folder = Path(tempfile.mkdtemp(prefix="handed-in-", dir=course.root))
    for student, nb in notebooks.items():
        nbformat.write(nb, folder / f"{student}.ipynb")
    result = collect(course, chapter, folder)
    assert not result.problems, result.problems


COURSES = Courses()

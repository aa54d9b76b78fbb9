"""What grading costs: seconds per submission of each chapter, and a class run's time.

    python bench/grading.py                  # every chapter of solutions/, then a class run
    python bench/grading.py 00_setup --class-size 0

Each chapter is released into a course folder of its own and its solution, blank release and
wrong answers (``tests/course/wrong_answers/chNN.py``) are graded in one ``fens grade run``
(``FENS_GRADING=1``, the sandbox, all cores), as the test suite does
(``tests/course/conftest.py``). Printed per chapter: the submissions, the run's wall-clock
seconds, wall seconds per submission (the run's time over the submissions: what an instructor
waits per student with every core busy) and CPU seconds per submission (the grader's and its
kernels', however loaded the machine is). Then a class of ``--class-size`` submissions of the
first chapter (copies of those, with a few hostile ones: ``tests/grading/test_class.py``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def own_cpu_seconds() -> float:
    """CPU time (user + system) of this process: the grader's checks, records and feedback."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def measure(grade, label: str):
    """Run ``grade()`` (one ``fens grade run``: its report); print and return the report."""
    cpu = own_cpu_seconds()
    report = grade()
    cpu = own_cpu_seconds() - cpu + sum(r.cpu_seconds for r in report.results)
    n = len(report.results)
    print(
        f"{label:24s} {n:5d} {report.seconds:8.1f} {report.seconds / n:10.1f} {cpu / n:10.1f}",
        flush=True,
    )
    return report


def main() -> None:
    from tests.course.conftest import COURSES, chapters
    from tests.grading.test_class import grade_class

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapters (default: all in solutions/)")
    parser.add_argument("--class-size", type=int, default=32, help="0: no class run")
    args = parser.parse_args()
    selected = args.chapters or chapters()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'run':24s} {'subs':>5s} {'wall s':>8s} {'wall/sub':>10s} {'CPU/sub':>10s}")
    for chapter in selected:
        COURSES.released(chapter)  # releasing is not grading
        measure(lambda c=chapter: COURSES.graded(c).report, chapter)
    if args.class_size:
        chapter = selected[0]
        COURSES.graded(chapter)
        report = measure(lambda: grade_class(COURSES, chapter, args.class_size), "class")
        print(
            f"class run: {len(report.results)} submissions of {chapter} in {report.seconds:.1f} s"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

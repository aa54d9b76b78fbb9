"""``fens grade release|collect|check|run``: the common path of grading a chapter.

Run from the course folder (where ``nbgrader_config.py`` is) or pass ``--course``. nbgrader's
own commands (``nbgrader autograde``, ``nbgrader formgrader``, ``nbgrader export`` ...) work on
the same folders and gradebook.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fens.grading.course import Course, GradingError


def add_parser(commands) -> argparse.ArgumentParser:
    """Add ``grade`` and its subcommands to the ``fens`` command's subparsers."""
    grade = commands.add_parser(
        "grade", help="release, collect, check and autograde the chapters' exercises"
    )
    grade.add_argument("--course", default=".", help="course folder (default: this one)")
    steps = grade.add_subparsers(dest="step", required=True)

    release = steps.add_parser("release", help="solutions/ -> exercises/ (nbgrader)")
    release.add_argument("chapters", nargs="*", help="chapters (default: all in solutions/)")

    collect = steps.add_parser("collect", help="a folder of handed-in notebooks -> submitted/")
    collect.add_argument("chapter")
    collect.add_argument("folder", help="DIR/STUDENT.ipynb or DIR/STUDENT/ANY_NAME.ipynb")
    collect.add_argument(
        "--replace", action="store_true", help="take a new hand-in over one already collected"
    )

    check = steps.add_parser("check", help="each submission's graded cells against the release")
    check.add_argument("chapter")

    run = steps.add_parser("run", help="autograde, feedback and grades/CHAPTER.csv")
    run.add_argument("chapter")
    run.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    run.add_argument(
        "--submission-seconds", type=int, default=600, help="wall clock per submission"
    )
    grade.set_defaults(run=_run_and_exit)
    return grade


def _run_and_exit(args: argparse.Namespace) -> None:
    """``fens grade``'s exit status is its verdict (the instructor must look: 1; error: 2)."""
    status = _main(args)
    if status:
        raise SystemExit(status)


def _main(args: argparse.Namespace) -> int:
    try:
        course = Course.find(args.course)
        return _STEPS[args.step](course, args)
    except GradingError as error:
        print(f"fens grade {args.step}: error: {error}", file=sys.stderr)
        return 2


def _release(course: Course, args: argparse.Namespace) -> int:
    from fens.grading.release import generate

    for chapter in args.chapters or course.chapters():
        print(f"released {generate(course, chapter).relative_to(course.root)}")
    return 0


def _collect(course: Course, args: argparse.Namespace) -> int:
    from fens.grading.collect import collect

    result = collect(course, args.chapter, args.folder, replace=args.replace)
    print(
        f"collected {len(result.taken)} submissions of {args.chapter}"
        + (f", {len(result.unchanged)} unchanged" if result.unchanged else "")
    )
    for problem in result.problems:
        print(f"  left out: {problem}")
    return 1 if result.problems else 0


def _check(course: Course, args: argparse.Namespace) -> int:
    from fens.grading.check import check, released_cells, table

    results = check(course, args.chapter)
    print(table(results, list(released_cells(course, args.chapter))))
    look = [r.student for r in results if r.needs_look]
    if look:
        print(f"\n{len(look)} submissions need a look: {', '.join(look)}")
        return 1
    print(f"\nall {len(results)} submissions match the release")
    return 0


def _run(course: Course, args: argparse.Namespace) -> int:
    from fens.grading.check import released_cells, table
    from fens.grading.run import run
    from fens.grading.sandbox import Limits

    limits = Limits(submission_seconds=args.submission_seconds)
    report = run(course, args.chapter, workers=args.workers, limits=limits)
    print(table(report.checks, list(released_cells(course, args.chapter))))
    print()
    for result in report.results:
        points, maximum = report.total(result.student)
        line = f"{result.student}: {points:g}/{maximum:g} ({result.seconds:.1f} s)"
        notes = [f"{i['kind']} in cell {i['cell']}: {i['detail']}" for i in result.incidents]
        if result.error:
            notes.append(result.error)
        print(line + ("; " + "; ".join(notes) if notes else ""))
    print(
        f"\ngraded {len(report.results)} submissions in {report.seconds:.1f} s; "
        f"table: {report.csv_path.relative_to(course.root)}"
    )
    trouble = [r for r in report.results if r.incidents or r.error]
    trouble += [c for c in report.checks if c.needs_look]
    return 1 if trouble else 0


_STEPS = {"release": _release, "collect": _collect, "check": _check, "run": _run}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fens.grading STEP ...``: ``fens grade STEP ...`` on its own."""
    parser = argparse.ArgumentParser(prog="fens")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["grade", *(sys.argv[1:] if argv is None else argv)])
    return _main(args)

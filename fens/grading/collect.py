"""``fens grade collect``: a folder of handed-in notebooks into nbgrader's submitted layout.

``DIR/STUDENT.ipynb`` or ``DIR/STUDENT/ANY_NAME.ipynb`` (what course sites' downloads look
like) become ``submitted/STUDENT/CHAPTER/CHAPTER.ipynb`` with a ``timestamp.txt`` (the file's
modification time, UTC: nbgrader's late penalties read it). A name that is not a usable student
id, or two notebooks for one student, is reported and left out, never guessed; a submission
already collected is only replaced when it is the same file or ``replace`` is given (the one
replaced is kept in ``.original/``).
"""

from __future__ import annotations

import filecmp
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fens.grading.course import Course, GradingError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
IGNORED = (".ipynb_checkpoints", "__MACOSX")


@dataclass
class Collected:
    taken: dict[str, Path] = field(default_factory=dict)  # student -> submitted notebook
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def find_handins(folder: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """student -> notebooks found for them in ``folder``, and the names that are no student."""
    found: dict[str, list[Path]] = {}
    unusable = []
    for entry in sorted(folder.iterdir()):
        if entry.name in IGNORED or entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            student, notebooks = entry.stem, [entry]
        elif entry.is_dir():
            student = entry.name
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if not set(p.parts) & set(IGNORED))
        else:
            continue
        if not STUDENT_ID.match(student):
            unusable.append(f"{entry.name}: not a usable student id (letters, digits, _.@+-)")
            continue
        found.setdefault(student, []).extend(notebooks)
    return found, unusable


def collect(
    course: Course, chapter: str, folder: str | Path, *, replace: bool = False
) -> Collected:
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"no folder {folder} to collect from")
    course.release_notebook(chapter)  # the chapter must have been released
    found, unusable = find_handins(folder)
    result = Collected(problems=unusable)
    for student, notebooks in found.items():
        if not notebooks:
            result.problems.append(f"{student}: no notebook in {folder / student}")
            continue
        if len(notebooks) > 1:
            names = ", ".join(str(p.relative_to(folder)) for p in notebooks)
            result.problems.append(f"{student}: {len(notebooks)} notebooks ({names}); hand in one")
            continue
        source = notebooks[0]
        target_dir = course.folder("submitted") / student / chapter
        target = target_dir / f"{chapter}.ipynb"
        if target.exists():
            if filecmp.cmp(source, target, shallow=False):
                result.unchanged.append(student)
                continue
            if not replace:
                result.problems.append(
                    f"{student}: {target} exists and differs from {source} (--replace takes "
                    "the new one, keeping the old in .original/)"
                )
                continue
            keep = target_dir / ".original" / f"replaced-{_stamp(target)}.ipynb"
            keep.parent.mkdir(exist_ok=True)
            shutil.copy2(target, keep)
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        (target_dir / "timestamp.txt").write_text(_stamp(source, iso=True) + "\n")
        result.taken[student] = target
    return result


def _stamp(path: Path, iso: bool = False) -> str:
    when = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z") if iso else when.strftime("%Y%m%dT%H%M%S")

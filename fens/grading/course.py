"""The course folder as nbgrader sees it: ``nbgrader_config.py`` and the folders it names."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
# A grade id's comment: the first line of every graded cell, e.g. "# ch2_poisson_loss".
GRADE_ID_COMMENT = re.compile(r"^\s*(?:#|<!--)\s*([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*(?:-->)?\s*$")


class GradingError(Exception):
    """A grading step cannot go on; the message names the file or argument and the fault."""


@dataclass(frozen=True)
class Course:
    """A course folder: its root (where ``nbgrader_config.py`` is) and nbgrader's config."""

    root: Path
    config: Config

    @classmethod
    def find(cls, start: str | Path = ".") -> Course:
        """The course whose ``nbgrader_config.py`` is in ``start`` or the nearest folder above."""
        start = Path(start).resolve()
        for folder in (start, *start.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.load(folder)
        raise GradingError(f"no {CONFIG_FILE} in {start} or any folder above it")

    @classmethod
    def load(cls, root: str | Path) -> Course:
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise GradingError(f"no {CONFIG_FILE} in {root}")
        _venv_on_path()
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
        config.CourseDirectory.root = str(root)
        return cls(root=root, config=config)

    def folder(self, step: str) -> Path:
        """The folder of one of nbgrader's steps: ``source``, ``release``, ``submitted``,
        ``autograded`` or ``feedback``."""
        name = self.config.CourseDirectory.get(f"{step}_directory", step)
        return self.root / name

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.get("db_url", f"sqlite:///{self.root / 'gradebook.db'}")

    @property
    def grades_dir(self) -> Path:
        return self.root / "grades"

    def chapters(self) -> list[str]:
        """The chapters in the source folder: ``NN_slug`` folders holding ``NN_slug.ipynb``."""
        source = self.folder("source")
        return sorted(p.parent.name for p in source.glob("*/*.ipynb") if p.stem == p.parent.name)

    def release_notebook(self, chapter: str) -> Path:
        path = self.folder("release") / chapter / f"{chapter}.ipynb"
        if not path.is_file():
            raise GradingError(
                f"no released notebook {path}: run `make exercises` (nbgrader generate_assignment)"
            )
        return path

    def coursedir(self, config: Config | None = None, **traits):
        """nbgrader's CourseDirectory for this course (or ``config``), with ``traits`` set."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config if config is None else config)
        coursedir.root = str(self.root)
        for name, value in traits.items():
            setattr(coursedir, name, value)
        return coursedir


def _venv_on_path() -> None:
    """nbgrader's gradebook shells out to ``alembic``: the interpreter's ``bin`` must be on PATH
    (it is not when the venv was never activated, e.g. ``.venv/bin/fens grade ...``)."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def grade_id_of_comment(source: str) -> str | None:
    """The grade id a cell names in its first line (``# ch2_poisson_loss``), or None."""
    first = source.lstrip("\n").split("\n", 1)[0]
    match = GRADE_ID_COMMENT.match(first)
    return match.group(1) if match else None

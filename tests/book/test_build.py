"""The build itself on a small fixture book (two one-cell chapters, the course's own
configuration and extension): cached execution, and a failing cell failing the build loudly."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def _chapter(book: Path, slug: str, code: str) -> None:
    folder = book / "solutions" / slug
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# Chapter {slug}"),
            nbformat.v4.new_code_cell(code),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, folder / f"{slug}.ipynb")


def _build(book: Path) -> tuple[int, str, dict]:
    done = subprocess.run(
        [str(JUPYTER_BOOK), "build", ".", "-W", "-n", "--keep-going"],
        cwd=book,
        capture_output=True,
        text=True,
    )
    report_file = book / "_build" / "execution.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    log = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no terminal colours
    return done.returncode, log, report


@pytest.fixture
def book(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "_config.yml", tmp_path)
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")
    (tmp_path / "book" / "intro.md").write_text("# A fixture book\n\n```{fens-chapters}\n```\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - glob: solutions/*/*\n"
    )
    _chapter(tmp_path, "00_one", "print('one', 1 + 1)")
    _chapter(tmp_path, "01_two", "print('two')")
    return tmp_path


def test_a_second_build_executes_nothing_and_a_change_executes_only_that_chapter(book):
    code, log, report = _build(book)
    assert code == 0, log[-3000:]
    assert {name: entry["executed_in_this_build"] for name, entry in report.items()} == {
        "solutions/00_one/00_one": True,
        "solutions/01_two/01_two": True,
    }
    page = (book / "_build/html/solutions/00_one/00_one.html").read_text()
    assert "one 2" in page and "fens-colab" in page
    code, log, report = _build(book)
    assert code == 0, log[-3000:]
    assert not any(entry["executed_in_this_build"] for entry in report.values())
    _chapter(book, "01_two", "print('two, changed')")
    code, log, report = _build(book)
    assert code == 0, log[-3000:]
    assert report["solutions/01_two/01_two"]["executed_in_this_build"]
    assert not report["solutions/00_one/00_one"]["executed_in_this_build"]


def test_a_failing_cell_fails_the_build_and_every_build_after_it(book):
    _chapter(book, "01_two", "raise RuntimeError('a broken chapter')")
    for _ in range(2):  # the second build finds no source changed: it must fail all the same
        code, log, report = _build(book)
        assert code != 0
        assert "a cell failed in solutions/01_two/01_two" in log, log[-3000:]
        assert "RuntimeError: a broken chapter" in log  # the traceback, in the build's output
        assert report["solutions/01_two/01_two"]["succeeded"] is False

"""The book's configuration and what the build leaves behind, read without a browser."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
import yaml
from fens_book.chapters import BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, FORBIDDEN

from .conftest import ROOT, chapter_notebooks

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_the_toc_takes_every_chapter_and_only_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [part for part in toc["parts"] if part["caption"] == "Chapters"][0]["chapters"]
    assert chapters == [{"glob": "solutions/*/*"}]
    for path in ROOT.glob("solutions/*/*"):
        # the glob must match only chapter notebooks: no second source of a page in a chapter folder
        assert path.suffix not in (".md", ".rst") or "solutions/**.md" in CONFIG["exclude_patterns"]
    for notebook in chapter_notebooks():
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", notebook.stem), notebook


def test_the_chapters_install_fens_from_the_books_repository():
    url = CONFIG["repository"]["url"]
    assert CONFIG["repository"]["branch"] == "main"
    for notebook in chapter_notebooks():
        text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
        addresses = re.findall(r'FENS_REPOSITORY\s*=\s*"([^"]+)"', text)
        addresses += re.findall(r"git\+(https://[^\s\"'@#]+)", text)
        assert addresses, f"{notebook.name} does not install fens from the repository"
        assert set(addresses) == {url}, f"{notebook.name}: {addresses} instead of {url}"


def test_the_workflow_publishes_what_make_book_builds():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert [step["run"] for step in steps if "run" in step] == ["make book"]
    upload = [step for step in steps if "upload-pages-artifact" in step.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert any(
        "deploy-pages" in step.get("uses", "") for step in workflow["jobs"]["deploy"]["steps"]
    )
    recipe = (ROOT / "Makefile").read_text().split("\nbook:")[1].split("\n\n")[0]
    assert "jupyter-book build . -W -n --keep-going" in recipe


def _hidden_lines() -> dict[str, set[str]]:
    """Each chapter's lines of hidden tests that appear outside hidden tests in no chapter."""
    hidden, visible = {}, set()
    for notebook in chapter_notebooks():
        hidden[notebook.name] = set()
        for cell in nbformat.read(notebook, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if BEGIN_HIDDEN_TESTS in line or END_HIDDEN_TESTS in line:
                    inside = BEGIN_HIDDEN_TESTS in line
                    continue
                (hidden[notebook.name] if inside else visible).add(line.strip())
    return {
        name: {line for line in lines - visible if len(line) > 20 and not line.startswith("#")}
        for name, lines in hidden.items()
    }


def _page_text(path) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_no_hidden_test_and_no_marker_in_the_site_or_the_exercises(built_book):
    texts = {
        path: path.read_text(encoding="utf-8", errors="replace")
        for path in built_book.rglob("*")
        if path.is_file()
        and path.suffix in (".html", ".js", ".txt", ".ipynb")
        and "mathjax" not in path.parts
    }
    texts |= {path: _page_text(path) for path in built_book.rglob("*.html")}
    exercises = {
        path: "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for path in ROOT.glob("exercises/*/*.ipynb")
    }
    for where, text in (texts | exercises).items():
        assert not [marker for marker in FORBIDDEN if marker in text], where
    for name, lines in _hidden_lines().items():
        for line in lines:
            leaked = [str(where) for where, text in (texts | exercises).items() if line in text]
            assert not leaked, f"hidden test line {line!r} of {name} in {leaked}"


@pytest.mark.slow
def test_every_chapter_executed_within_three_minutes(built_book):
    report = json.loads((ROOT / "_build" / "execution.json").read_text())
    chapters = [str(n.relative_to(ROOT).with_suffix("")) for n in chapter_notebooks()]
    assert sorted(report) == chapters
    for name, entry in report.items():
        assert entry["succeeded"], name
        assert entry["data"] == "simulated"
        print(f"{name}: {entry['seconds']:.1f} s")
    slow = {name: round(e["seconds"]) for name, e in report.items() if e["seconds"] > 180}
    assert not slow, f"chapters over 3 minutes on this CPU: {slow}"

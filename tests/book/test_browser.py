"""The built book read as a reader would: every page opened in headless Chromium, reached by
navigation from the landing page, without console errors or broken images, with math rendered
(MathJax served by the site itself: no request leaves loopback), the Colab buttons pointing at
the student notebooks, and the search finding a chapter."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from .conftest import HTML, ROOT, chapter_notebooks

pytestmark = pytest.mark.slow

LANDING = "book/intro.html"


@dataclass
class Page:
    path: str
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    math: int = 0
    math_rendered: int = 0
    links: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""


def _read(context, site: str, path: str) -> tuple[Page, list[str]]:
    page_result = Page(path)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            page_result.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: page_result.console_errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: (
            page_result.failed_requests.append(request.url)
            if urlparse(request.url).hostname == "127.0.0.1"
            else None
        ),
    )
    page.goto(f"{site}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    if page.locator(".math").count():
        page_result.math = page.locator(".math").count()
        page.wait_for_function(
            "document.querySelectorAll('mjx-container').length >= "
            "document.querySelectorAll('.math').length",
            timeout=30_000,
        )
        page_result.math_rendered = page.locator("mjx-container").count()
    for image in page.locator("img").all():
        source = image.get_attribute("src") or ""
        if not image.evaluate("i => i.complete && i.naturalWidth > 0"):
            page_result.broken_images.append(source)
        if not (image.get_attribute("alt") or "").strip():
            page_result.images_without_alt.append(source)
    for name in ("fens-colab", "fens-download"):
        page_result.links[name] = [
            link.get_attribute("href") for link in page.locator(f"a.{name}").all()
        ]
    page_result.text = page.locator("main").inner_text() if page.locator("main").count() else ""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    page.close()
    return page_result, hrefs


def _local_page(site: str, href: str) -> str | None:
    if not href.startswith(site):
        return None
    path = urlparse(href).path.lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path if path.endswith(".html") else None


@pytest.fixture(scope="session")
def reading(site: str, browser) -> dict[str, Page]:
    """Every page reached from the landing page by following links, breadth first, then any
    page that was not reached (so that each is checked all the same)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def route(route_, request):
        if urlparse(request.url).hostname in ("127.0.0.1", "localhost"):
            route_.continue_()
        else:
            outside.append(request.url)
            route_.abort()

    context.route("**/*", route)
    pages: dict[str, Page] = {}
    queue, seen = [LANDING], {LANDING}
    while queue:
        path = queue.pop(0)
        before = len(outside)
        pages[path], hrefs = _read(context, site, path)
        pages[path].outside_requests = outside[before:]
        for href in hrefs:
            linked = _local_page(site, href)
            if linked and linked not in seen and (HTML / linked).is_file():
                seen.add(linked)
                queue.append(linked)
    reached = set(pages)
    for path in sorted(_all_pages() - reached):
        pages[path], _ = _read(context, site, path)
    pages["__reached__"] = Page("__reached__", links={"reached": sorted(reached)})
    _screenshots(context, site)
    context.close()
    return pages


def _all_pages() -> set[str]:
    """The pages of the site (not the theme's template fragments under _static)."""
    pages = {str(path.relative_to(HTML)) for path in HTML.rglob("*.html")}
    return {page for page in pages if not page.startswith(("_static/", "reports/"))}


def _screenshots(context, site: str) -> None:
    folder = ROOT / "_build" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    chapters = chapter_notebooks()
    shots = {"landing": LANDING}
    if chapters:
        shots["chapter"] = f"{_docname(chapters[min(1, len(chapters) - 1)])}.html"
    for name, path in shots.items():
        page = context.new_page()
        page.goto(f"{site}/{path}", wait_until="networkidle")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
        page.close()


def _docname(notebook: Path) -> str:
    return str(notebook.relative_to(ROOT).with_suffix(""))


def _pages(reading: dict[str, Page]) -> list[Page]:
    return [page for path, page in reading.items() if path != "__reached__"]


def test_every_page_is_reached_from_the_landing_page(reading):
    reached = set(reading["__reached__"].links["reached"])
    # index.html only redirects to the landing page; Sphinx's indices are linked from no page;
    # search.html is reached through the search box (a form), tested below
    indices = {"index.html", "genindex.html", "py-modindex.html", "search.html"}
    unreached = _all_pages() - reached - indices
    assert not unreached, f"pages no link leads to: {sorted(unreached)}"
    for notebook in chapter_notebooks():
        assert f"{_docname(notebook)}.html" in reached


def test_no_console_errors_and_no_request_leaves_the_machine(reading):
    problems = {
        page.path: page.console_errors + page.outside_requests + page.failed_requests
        for page in _pages(reading)
        if page.console_errors or page.outside_requests or page.failed_requests
    }
    assert not problems, problems


def test_every_image_loads_and_has_alt_text(reading):
    broken = {page.path: page.broken_images for page in _pages(reading) if page.broken_images}
    no_alt = {
        page.path: page.images_without_alt for page in _pages(reading) if page.images_without_alt
    }
    assert not broken, f"images that did not load: {broken}"
    assert not no_alt, f"images without alt text: {no_alt}"


def test_math_renders(reading):
    with_math = [page for page in _pages(reading) if page.math]
    assert any(page.path == "book/data.html" for page in with_math), "the data page has formulas"
    for page in with_math:
        assert page.math_rendered >= page.math, (
            f"{page.path}: MathJax rendered {page.math_rendered} of {page.math}"
        )


def test_chapters_open_their_student_notebook_in_colab(reading):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    owner, name = urlparse(config["repository"]["url"]).path.strip("/").split("/")
    branch = config["repository"]["branch"]
    assert branch == "main"
    assert chapter_notebooks(), "no chapter in solutions/"
    for notebook in chapter_notebooks():
        student = f"exercises/{notebook.parent.name}/{notebook.name}"
        page = reading[f"{_docname(notebook)}.html"]
        assert page.links["fens-colab"] == [
            f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{student}"
        ]
        assert page.links["fens-download"] == [
            f"https://raw.githubusercontent.com/{owner}/{name}/{branch}/{student}"
        ]
        assert (ROOT / student).is_file(), f"{student} (the Colab button's notebook) is missing"
        assert "executed on the simulated data set" in page.text or "FENS_DATA" in page.text


def _words(text: str) -> Counter:
    return Counter(word.lower() for word in re.findall(r"[A-Za-z]{7,}", text))


def test_search_finds_a_word_of_one_chapter(reading, site, browser):
    chapters = [f"{_docname(notebook)}.html" for notebook in chapter_notebooks()]
    assert chapters, "no chapter in solutions/"
    elsewhere = Counter()
    for page in _pages(reading):
        if page.path not in chapters[:1]:
            elsewhere.update(set(_words(page.text)))
    words = _words(reading[chapters[0]].text)
    only_here = sorted((word for word in words if word not in elsewhere), key=lambda w: -words[w])
    assert only_here, f"no word of {chapters[0]} is its own"
    word = only_here[0]
    page = browser.new_page()
    page.goto(f"{site}/search.html?q={word}", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    found = page.eval_on_selector_all("#search-results ul.search li a", "a => a.map(x => x.href)")
    page.close()
    assert any(chapters[0] in href for href in found), (word, found)


def test_screenshots_are_saved(reading):
    for name in ("landing", "chapter"):
        shot = ROOT / "_build" / "screenshots" / f"{name}.png"
        assert shot.is_file() and shot.stat().st_size > 10_000, shot

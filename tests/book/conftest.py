"""The book, built once per test session by `make book` (every chapter executed: the one
execution of each chapter in the suite), and read in a real browser."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sys.path.insert(0, str(ROOT / "book" / "_ext"))


def chapter_notebooks() -> list[Path]:
    """The chapters: every solutions/NN_slug/NN_slug.ipynb."""
    return sorted(
        path for path in ROOT.glob("solutions/*/*.ipynb") if path.stem == path.parent.name
    )


@pytest.fixture(scope="session")
def built_book() -> Path:
    """``make book`` in the checkout: ``_build/html`` (chapters from jupyter-cache when unchanged).

    ``FENS_BOOK_PREBUILT=1`` reads the ``_build/html`` already there instead."""
    if os.environ.get("FENS_BOOK_PREBUILT") == "1" and (HTML / "index.html").is_file():
        return HTML  # reading a book built before (while working on these tests), not building
    if shutil.which("make") is None:
        pytest.fail("`make` is not installed: apt-get install make")
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(
        ["make", "--no-print-directory", "book"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"make book failed ({done.returncode}):\n{(done.stdout + done.stderr)[-6000:]}")
    return HTML


@pytest.fixture(scope="session")
def site(built_book: Path):
    """``_build/html`` served on loopback; yields its address."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by playwright."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the book is read in Debian's chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield chromium
        chromium.close()

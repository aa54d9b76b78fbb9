"""How long each chapter takes to execute, top to bottom, and in all (seconds).

    python bench/chapters.py               # execute every chapter now, as the book does
    python bench/chapters.py --from-build  # the times recorded by the last `make book`

Executing reads each notebook of ``solutions/`` as the book does (hidden tests cut out, the
data setting first: ``book/_ext/fens_book``), runs it in its own folder with a fresh kernel and
without the book's cache. ``--from-build`` prints ``_build/execution.json``, which the book's
build writes from jupyter-cache (for a chapter taken from the cache: the seconds it took when it
was executed). A chapter may take at most 3 minutes on the course's 2-core CPU: those over it
are marked, and ``--strict`` exits with 1 then.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from fens_book import EXECUTION_REPORT, MAX_CHAPTER_SECONDS  # noqa: E402
from fens_book.chapters import read_chapter  # noqa: E402


def execute(notebook: Path, timeout: float) -> float:
    """Execute one chapter as the book reads it; seconds taken."""
    from nbclient import NotebookClient

    from fens.course import data_setting

    chapter = read_chapter(notebook.read_text(encoding="utf-8"), data=data_setting())
    client = NotebookClient(
        chapter, timeout=timeout, resources={"metadata": {"path": str(notebook.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def from_build() -> dict[str, float | None]:
    report_file = ROOT / "_build" / EXECUTION_REPORT
    if not report_file.is_file():
        raise SystemExit(f"{report_file} does not exist: run `make book` first")
    report = json.loads(report_file.read_text())
    return {name: entry["seconds"] for name, entry in report.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-build", action="store_true", help="print the last build's times")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    parser.add_argument("--strict", action="store_true", help="exit 1 if one is over 3 minutes")
    args = parser.parse_args(argv)
    if args.from_build:
        times = from_build()
    else:
        os.environ.setdefault("FENS_DATA_DIR", str(ROOT / "data"))
        times = {}
        for notebook in sorted(ROOT.glob("solutions/*/*.ipynb")):
            name = str(notebook.relative_to(ROOT).with_suffix(""))
            times[name] = execute(notebook, args.timeout)
            print(f"{name:<50} {times[name]:7.1f} s", flush=True)
    print(f"{'chapter':<50} {'seconds':>9}")
    for name, seconds in times.items():
        shown = "?" if seconds is None else f"{seconds:.1f}"
        flag = "  over 3 minutes" if seconds and seconds > MAX_CHAPTER_SECONDS else ""
        print(f"{name:<50} {shown:>9}{flag}")
    total = sum(seconds or 0 for seconds in times.values())
    print(f"{'total':<50} {total:9.1f}  ({len(times)} chapters)")
    over = [name for name, seconds in times.items() if seconds and seconds > MAX_CHAPTER_SECONDS]
    return 1 if over and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

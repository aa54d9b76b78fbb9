"""The course website's own Sphinx extension (Jupyter Book 1 loads it from ``_config.yml``).

- Chapters are read through :func:`fens_book.chapters.read_chapter`: hidden tests and solution
  markers never reach a page; ``FENS_BOOK_EDITION=students`` (or ``fens_book_edition`` in
  ``_config.yml``) builds the edition without solution code.
- Every chapter page gets an "Open in Colab" button and a download link to its STUDENT notebook
  in ``exercises/`` on the repository's branch (``repository.url``/``repository.branch``).
- Chapters execute on the data set that ``FENS_DATA`` names (simulated by default); the setting
  is part of the execution cache's key and is printed on every chapter page.
- The build fails when a chapter's cell fails (also on a later build that finds nothing
  changed), writes ``_build/execution.json`` (seconds per chapter), refuses to finish when a
  solution or hidden-test marker reached the HTML, and serves MathJax itself (no network).
- ``{fens-api}`` documents every public part of ``fens`` (``fens.__all__``) with autodoc.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import time
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import chapters, links

logger = logging.getLogger(__name__)

MATHJAX_FOLDER = "mathjax"  # under _static
EXECUTION_REPORT = "execution.json"  # beside the html folder: _build/execution.json
MAX_CHAPTER_SECONDS = 180


def edition(app: Sphinx) -> str:
    """``FENS_BOOK_EDITION`` if set, else ``fens_book_edition`` of the configuration."""
    value = os.environ.get("FENS_BOOK_EDITION", "").strip() or app.config.fens_book_edition
    if value not in chapters.EDITIONS:
        raise ExtensionError(
            f"FENS_BOOK_EDITION / fens_book_edition must be one of {chapters.EDITIONS}, "
            f"got {value!r}"
        )
    return value


def data_setting() -> str:
    """What the chapters execute on: ``FENS_DATA`` (see :mod:`fens.course`)."""
    from fens.course import data_setting

    return data_setting()


def repository(app: Sphinx) -> links.Repository:
    options = app.config.html_theme_options
    return links.Repository.from_url(
        options.get("repository_url", ""), options.get("repository_branch", "")
    )


def _configure(app: Sphinx, config) -> None:
    """Read chapters through our reader; no page source copied into the site (it would be the
    instructors' notebook); MathJax from our own ``_static``."""
    config.fens_book_data = data_setting()  # a change re-reads every page
    config.nb_custom_formats = {
        ".ipynb": [
            "fens_book.chapters.read_chapter",
            {"edition": edition(app), "data": config.fens_book_data},
            False,
        ]
    }
    config.html_copy_source = False
    config.html_show_sourcelink = False
    config.html_theme_options = {**config.html_theme_options, "use_download_button": False}
    config.mathjax_path = f"{MATHJAX_FOLDER}/tex-chtml.js"
    repository(app)  # a wrong address fails the build at once


def _page_fixes(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    """Two console errors of the theme stack on every page: sphinx-thebe registers its inline
    configuration script once per read (``const THEBE_JS_URL`` declared twice; sphinx-togglebutton
    its selector too), and the theme
    gets an empty colour mode (pydata-sphinx-theme: "Got invalid theme mode")."""
    unique, seen = [], set()
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {}) or {}
        if attributes.get("body"):  # an inline script (its filename None or "")
            key = ("inline", attributes["body"])
        else:
            key = (str(getattr(script, "filename", script)), repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages to read again although their source did not change: chapters whose last execution
    failed (a second build must not pass over a broken chapter), and the pages that list the
    chapters when a chapter came or went."""
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(env)
    again = [
        docname
        for docname, meta in data.items()
        if docname in env.found_docs and (meta.get("exec_data") or {}).get("succeeded") is False
    ]
    if any(links.student_notebook(docname) for docname in added | removed):
        again += [d for d in getattr(env, "fens_chapter_lists", set()) if d in env.found_docs]
    return again


def _chapter_links(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    notebook = links.student_notebook(pagename)
    if notebook is None or "body" not in context:
        return
    repo = repository(app)
    colab, download = links.colab_url(repo, notebook), links.download_url(repo, notebook)
    context.setdefault("header_buttons", []).append(
        {
            "type": "group",
            "tooltip": "Open the exercises",
            "icon": "fas fa-rocket",
            "label": "fens-launch-buttons",
            "buttons": [
                {
                    "type": "link",
                    "url": colab,
                    "text": "Colab",
                    "tooltip": "Open the exercise notebook in Google Colab",
                    "icon": "fas fa-cloud",
                    "label": "fens-colab-button",
                },
                {
                    "type": "link",
                    "url": download,
                    "text": ".ipynb",
                    "tooltip": "Download the exercise notebook",
                    "icon": "fas fa-download",
                    "label": "fens-download-button",
                },
            ],
        }
    )
    what = describe_data(app.config.fens_book_data)
    banner = (
        '<div class="fens-chapter-launch admonition tip">'
        '<p class="admonition-title">Do the exercises</p><p>'
        f'<a class="fens-colab reference external" href="{html.escape(colab)}">Open in Colab</a>'
        f" (Runtime &rarr; Change runtime type &rarr; GPU) or "
        f'<a class="fens-download reference external" href="{html.escape(download)}" '
        f'download="{html.escape(Path(notebook).name)}">download the exercise notebook</a> '
        f"(<code>{html.escape(notebook)}</code>). "
        f'<span class="fens-executed-on">This page was executed on {html.escape(what)}'
        f"{_edition_note(app)}.</span></p></div>"
    )
    body = context["body"]
    end_of_title = body.find("</h1>")
    at = end_of_title + len("</h1>") if end_of_title >= 0 else 0
    context["body"] = body[:at] + banner + body[at:]


def describe_data(setting: str) -> str:
    """How a page names the data set it was executed on."""
    if setting == "simulated":
        return "the simulated data set (FENS_DATA=simulated)"
    if setting == "real":
        return "the real recordings of Lurz et al., 2021 (FENS_DATA=real)"
    return f"the data set in {setting} (FENS_DATA)"


def _edition_note(app: Sphinx) -> str:
    return "; solutions removed (students' edition)" if edition(app) == "students" else ""


def _finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    _copy_mathjax(Path(app.outdir) / "_static" / MATHJAX_FOLDER)
    _report_execution(app)
    _refuse_markers(Path(app.outdir))


def _copy_mathjax(target: Path) -> None:
    """MathJax 3 (the ``django-static-mathjax`` package's copy): the tex-chtml component, its
    fonts and the TeX extensions it loads on demand."""
    import mathjax

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if (target / "tex-chtml.js").is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-chtml.js", target)
    for folder in ("output/chtml", "input/tex/extensions", "ui", "a11y", "sre"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


def _report_execution(app: Sphinx) -> None:
    """``_build/execution.json``: each chapter's execution (seconds, from jupyter-cache for a
    cached one); the build fails, naming them, when chapters failed or took too long."""
    from myst_nb.sphinx_ import NbMetadataCollector

    report = {}
    for docname in sorted(app.env.found_docs):
        meta = NbMetadataCollector.get_exec_data(app.env, docname)
        if not meta:
            continue
        report[docname] = {
            "seconds": meta.get("runtime"),
            "executed_in_this_build": (meta.get("mtime") or 0) >= app.fens_build_started,
            "succeeded": meta.get("succeeded"),
            "error": meta.get("error"),
            "data": app.config.fens_book_data,
            "edition": edition(app),
        }
    Path(app.outdir).parent.joinpath(EXECUTION_REPORT).write_text(json.dumps(report, indent=2))
    failed = [name for name, entry in report.items() if not entry["succeeded"]]
    if failed:
        raise ExtensionError(
            "a cell failed in "
            + ", ".join(f"{name} ({report[name]['error']})" for name in failed)
            + f": the tracebacks are in {Path(app.outdir) / 'reports'}"
        )
    for name, entry in report.items():
        seconds = entry["seconds"] or 0
        logger.info(f"[fens_book] {name}: executed in {seconds:.1f} s")


def _refuse_markers(outdir: Path) -> None:
    """No page, search index or file of the site may hold a solution or hidden-test marker."""
    found = []
    for path in outdir.rglob("*"):
        if not path.is_file() or MATHJAX_FOLDER in path.relative_to(outdir).parts[:2]:
            continue
        if path.suffix not in (".html", ".js", ".txt", ".ipynb", ".json", ".md"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path}: {marker!r}" for marker in chapters.FORBIDDEN if marker in text]
    if found:
        raise ExtensionError("the site holds what only instructors may see:\n" + "\n".join(found))


class FensApi(SphinxDirective):
    """``{fens-api}``: one section per public part of ``fens`` (``fens.__all__``), each the
    ``automodule`` of that part with its public members (its own ``__all__``)."""

    def run(self) -> list[nodes.Node]:
        import fens

        sections = []
        for part in fens.__all__:
            module = f"fens.{part}"
            section = nodes.section(ids=[nodes.make_id(f"api-{module}")])
            section += nodes.title(text=module)
            # autodoc's docstrings are reStructuredText: parsed as such, not as MyST.
            block = ["```{eval-rst}", f".. automodule:: {module}", "   :members:"]
            block += ["   :undoc-members:", "   :show-inheritance:", "```"]
            self.state.nested_parse(StringList(block, source="fens-api"), 0, section)
            sections.append(section)
        return sections


class FensDataSetting(SphinxDirective):
    """``{fens-data-setting}``: which data set and edition this build executed the chapters on."""

    def run(self) -> list[nodes.Node]:
        text = f"Executed on {describe_data(self.config.fens_book_data)}"
        text += f"; the {edition(self.env.app)}' edition of the book."
        return [nodes.paragraph(text=text, classes=["fens-executed-on"])]


class FensChapters(SphinxDirective):
    """``{fens-chapters}``: a table of the chapters, each with its Colab and download links."""

    def run(self) -> list[nodes.Node]:
        repo = repository(self.env.app)
        chapter_docs = sorted(d for d in self.env.found_docs if links.student_notebook(d))
        if not hasattr(self.env, "fens_chapter_lists"):
            self.env.fens_chapter_lists = set()
        self.env.fens_chapter_lists.add(self.env.docname)
        table = nodes.table(classes=["fens-chapters"])
        group = nodes.tgroup(cols=3)
        table += group
        group += [nodes.colspec(colwidth=width) for width in (6, 2, 2)]
        body = nodes.tbody()
        group += body
        for docname in chapter_docs:
            notebook = links.student_notebook(docname)
            row = nodes.row()
            source = Path(self.env.srcdir) / f"{docname}.ipynb"
            self.env.note_dependency(str(source))
            title = _notebook_title(source) or docname
            page = nodes.reference("", "", internal=True, refuri=self._relative(docname))
            page += nodes.Text(title)
            colab = nodes.reference("", "Open in Colab", refuri=links.colab_url(repo, notebook))
            download = nodes.reference("", "download", refuri=links.download_url(repo, notebook))
            for content in (page, colab, download):
                entry = nodes.entry()
                entry += nodes.paragraph("", "", content)
                row += entry
            body += row
        if not chapter_docs:
            return [nodes.paragraph(text="The chapters are being written.")]
        return [table]

    def _relative(self, docname: str) -> str:
        return self.env.app.builder.get_relative_uri(self.env.docname, docname)


def _notebook_title(path: Path) -> str | None:
    """The first Markdown heading of a notebook."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return None
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell.get("source", ""))
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return None


def _started(app: Sphinx) -> None:
    app.fens_build_started = time.time()


def setup(app: Sphinx) -> dict:
    app.add_config_value("fens_book_edition", "instructors", "env", types=[str])
    app.connect("builder-inited", _started)
    app.connect("config-inited", _configure, priority=100)  # before myst-nb reads it
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _chapter_links, priority=600)  # after the theme's buttons
    app.connect("html-page-context", _page_fixes, priority=900)
    app.connect("build-finished", _finish)
    app.add_config_value("fens_book_data", "simulated", "env", types=[str])
    app.add_directive("fens-api", FensApi)
    app.add_directive("fens-data-setting", FensDataSetting)
    app.add_directive("fens-chapters", FensChapters)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}

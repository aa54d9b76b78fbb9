"""Where a chapter's student notebook lives: the addresses of the "Open in Colab" button and of
the download link, built from the repository address in ``_config.yml`` (``repository.url``,
``repository.branch``).

Jupyter Book's own launch button would open the page's source, i.e. the solution in
``solutions/``; a student must get the notebook that ``nbgrader generate_assignment`` wrote
into ``exercises/`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

COLAB = "https://colab.research.google.com/github"
RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Repository:
    """A GitHub repository and the branch the book links to."""

    owner: str
    name: str
    branch: str

    @classmethod
    def from_url(cls, url: str, branch: str) -> Repository:
        """``https://github.com/OWNER/NAME`` (a trailing ``.git`` or ``/`` is fine)."""
        parsed = urlparse(url)
        parts = PurePosixPath(parsed.path.removesuffix(".git")).parts[1:]
        if parsed.scheme != "https" or parsed.netloc != "github.com" or len(parts) != 2:
            raise ValueError(
                f"repository.url in _config.yml must be https://github.com/OWNER/NAME "
                f"(Colab opens notebooks from GitHub), got {url!r}"
            )
        if not branch:
            raise ValueError("repository.branch in _config.yml is empty (the book links to main)")
        return cls(owner=parts[0], name=parts[1], branch=branch)

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"


def student_notebook(docname: str) -> str | None:
    """The student notebook of a chapter page, relative to the repository root.

    ``solutions/01_data/01_data`` -> ``exercises/01_data/01_data.ipynb``; None for a page that
    is not a chapter.
    """
    parts = PurePosixPath(docname).parts
    if len(parts) != 3 or parts[0] != "solutions":
        return None
    return str(PurePosixPath("exercises", *parts[1:]).with_suffix(".ipynb"))


def colab_url(repository: Repository, notebook: str) -> str:
    """The address that opens ``notebook`` (relative to the repository root) in Colab."""
    return f"{COLAB}/{repository.owner}/{repository.name}/blob/{repository.branch}/{notebook}"


def download_url(repository: Repository, notebook: str) -> str:
    """The address of the notebook file itself on the branch (to save and open locally)."""
    return f"{RAW}/{repository.owner}/{repository.name}/{repository.branch}/{notebook}"

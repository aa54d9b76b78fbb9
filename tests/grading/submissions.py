"""Students' notebooks for the demo chapter: right, blank, wrong, tampered and hostile ones."""

from __future__ import annotations

import copy

import nbformat

from tests.grading import assignment

FULL = {"demo_mean_rate_tests": 2.0, "demo_poisson_nll_tests": 3.0}


def replace_answer(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cell ``grade_id`` holds ``source`` (which starts with the
    grade-id comment, as the course's cells do)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = f"# {grade_id}\n{source}"
            return nb
    raise KeyError(grade_id)


def solution() -> nbformat.NotebookNode:
    return assignment.source_notebook()


WRONG_MEAN = "def mean_rate(counts, seconds):\n    return float(np.mean(counts))\n"  # no seconds
WRONG_POISSON_HIDDEN = (  # right on the visible check, wrong sign of the log term
    "def poisson_nll(rate, counts):\n"
    "    rate, counts = np.asarray(rate, float), np.asarray(counts, float)\n"
    "    return float(np.mean(rate + counts * np.log(rate)))\n"
)

POISSON_RIGHT = (
    "def poisson_nll(rate, counts):\n"
    "    rate, counts = np.asarray(rate, float), np.asarray(counts, float)\n"
    "    return float(np.mean(rate - counts * np.log(rate)))\n"
)

# Answer-cell sources (for demo_poisson_nll, after demo_mean_rate's tests ran) that attack the
# grader; each should cost only the poisson tests' 3 points.
HOSTILE = {
    "exits": "import os\nos._exit(3)\n",
    "segfaults": "import ctypes\nctypes.string_at(0)\n",
    "kills_parent": (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n"
    ),
    "loops_forever": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
    ),
    "floods_output": "while True:\n    print('x' * 100_000)\n",
    "hogs_memory": ("blocks = []\nwhile True:\n    blocks.append(bytearray(2**28))\n"),
    "patches_numpy": (
        "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
        "def poisson_nll(rate, counts):\n    return 0.0\n"
    ),
    "swallows_errors": (
        "def _wrap(lines):\n"
        "    return ['try:\\n'] + ['    ' + line for line in lines] + ['\\nexcept BaseException:\\n    pass\\n']\n"
        "get_ipython().input_transformers_post.append(_wrap)\n"
        "def poisson_nll(rate, counts):\n    return 0.0\n"
    ),
    "snoops": (
        "import glob, os, socket\n"
        "roots = ['/work', '/root', '/home', '/tmp', '/srv', '/mnt', '/opt', '/var']\n"
        "found = [p for r in roots for p in glob.glob(r + '/**/*.ipynb', recursive=True)]\n"
        "found += [p for r in roots for p in glob.glob(r + '/**/gradebook.db', recursive=True)]\n"
        "written = []\n"
        "for target in ['/work/x', os.path.expanduser('~/../x'), '/usr/x', '/proc/1/x']:\n"
        "    try:\n"
        "        open(target, 'w').write('x'); written.append(target)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 22), timeout=1); net = True\n"
        "except OSError:\n"
        "    net = False\n"
        "assert not found and not net and not written, (found, net, written)\n"
        + POISSON_RIGHT  # graded in full if it found nothing
    ),
}


def hostile(kind: str) -> nbformat.NotebookNode:
    return replace_answer(solution(), "demo_poisson_nll", HOSTILE[kind])


def strip_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a notebook looks like after an editor without nbgrader: no cell metadata at all."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata = {}
    return nb

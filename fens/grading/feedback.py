"""What a student may read about a graded cell: the visible tests' messages and the names of
the hidden checks that failed, never the hidden tests' code (nbgrader's own feedback shows the
executed test cells whole, hidden tests and tracebacks included: jupyter/nbgrader#917).

A hidden check's name is the message of its ``assert`` (``assert ok, "small rates stay
finite"``) or, for a check without one, ``hidden check N`` (its place among the hidden block's
checks: its ``assert`` statements and bare calls such as ``np.testing.assert_allclose``). The value a failed hidden check printed (``np.testing`` shows the expected array)
is never shown.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

from fens.grading.release import BEGIN_HIDDEN, END_HIDDEN

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython 8's frame header of a cell: "Cell In[12], line 7".
_CELL_FRAME = re.compile(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>),? line (\d+)")
# Errors the grader writes itself (fens.grading.execute): their message is the reason.
GRADER_ERRORS = ("NotRunError", "TamperingError", "CellTimeoutError")


def hidden_lines(source: str) -> set[int]:
    """Line numbers (1-based) inside the hidden-tests regions of a test cell's source."""
    lines, hidden, inside = source.split("\n"), set(), False
    for number, line in enumerate(lines, start=1):
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        if inside:
            hidden.add(number)
        if line.strip() == END_HIDDEN:
            inside = False
    return hidden


def hidden_check_name(source: str, line: int) -> str:
    """The name of the hidden check at ``line`` of a test cell (see the module docstring)."""
    hidden = sorted(hidden_lines(source))
    block = "\n".join(source.split("\n")[n - 1] for n in hidden[1:-1])
    offset = hidden[0] if hidden else 0
    try:
        statements = ast.parse(block).body
    except SyntaxError:
        return "a hidden check"
    checks = [s for s in statements if isinstance(s, ast.Assert | ast.Expr)]
    for number, statement in enumerate(checks, start=1):
        first = statement.lineno + offset
        last = (statement.end_lineno or statement.lineno) + offset
        if first <= line <= last:
            if isinstance(statement, ast.Assert) and isinstance(statement.msg, ast.Constant):
                return str(statement.msg.value)
            return f"hidden check {number}"
    return "a hidden check"


def failed_line(error: NotebookNode) -> int | None:
    """The line of the test cell where an error output was raised (its outermost cell frame)."""
    for entry in error.get("traceback", []):
        match = _CELL_FRAME.search(_ANSI.sub("", entry))
        if match:
            return int(match.group(1))
    return None


def cell_messages(cell: NotebookNode) -> list[str]:
    """Why a test cell lost its points, in words a student may read (empty: it passed)."""
    messages = []
    hidden = hidden_lines(cell.source)
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        ename, evalue = output.get("ename", "Error"), str(output.get("evalue", ""))
        if ename in GRADER_ERRORS:
            messages.append(evalue or ename)
            continue
        line = failed_line(output)
        if line is not None and line in hidden:
            messages.append(f"hidden check failed: {hidden_check_name(cell.source, line)}")
        elif line is None and hidden:
            messages.append(f"{ename} (in the tests; the hidden checks were not reached)")
        else:
            where = f"line {line}: " if line is not None else ""
            text = cell.source.split("\n")[line - 1].strip() if line else ""
            detail = f"{ename}: {evalue}".strip().rstrip(":")
            messages.append(f"{where}{text} -> {detail}" if text else f"{where}{detail}")
    return messages


def sanitise(nb: NotebookNode) -> NotebookNode:
    """A copy of an autograded notebook for its student: each test cell shows only its visible
    part, and in place of its outputs the messages of :func:`cell_messages`."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        messages = cell_messages(cell)
        hidden = hidden_lines(cell.source)
        visible = [
            line
            for number, line in enumerate(cell.source.split("\n"), start=1)
            if number not in hidden
        ]
        if hidden:
            visible.append("# (hidden tests not shown)")
        cell.source = "\n".join(visible)
        text = "\n".join(messages) + "\n" if messages else "all checks passed\n"
        name = "stderr" if messages else "stdout"
        cell.outputs = [NotebookNode(output_type="stream", name=name, text=text)]
    return nb

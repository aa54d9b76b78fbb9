"""Plausible wrong answers to chapter 3 (a CNN) and the points each earns.

The CNN exercise's answer cell holds the whole class (its ``__init__`` given, ``forward`` to
write), so its wrong answers are the solution cell with only ``forward``'s body swapped: read
from the chapter's notebook, so that they follow any change to the given part.
"""

import json
from pathlib import Path

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "03_cnn"
_NOTEBOOK = Path(__file__).resolve().parents[3] / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"


def _with_solution(grade_id: str, body: str) -> str:
    """The solution cell ``grade_id`` with its solution region replaced by ``body``."""
    cells = json.loads(_NOTEBOOK.read_text())["cells"]
    (source,) = [
        "".join(cell["source"])
        for cell in cells
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    ]
    head, rest = source.split("### BEGIN SOLUTION\n")
    _, tail = rest.split("### END SOLUTION")
    tail = tail.removeprefix("\n")
    indent = head[len(head.rstrip(" ")) :]
    return head.rstrip(" ") + "".join(indent + line + "\n" for line in body.splitlines()) + tail


def _forward(body: str) -> str:
    return _with_solution("ch3_cnn_forward", body)


WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch3_cnn_forward",
        why="no output nonlinearity: the readout's batch-normalised drive, negative half the time",
        source=_forward(
            "x = self.bn_input(images)\nx = self.cnn_core(x)\nreturn self.readout(x.flatten(1))"
        ),
        expected={"ch3_cnn_forward_tests": 0, "ch3_cnn_forward_values_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_cnn_forward",
        why="ELU without the + 1: responses down to -1",
        source=_forward(
            "x = self.bn_input(images)\nx = self.cnn_core(x)\n"
            "return F.elu(self.readout(x.flatten(1)))"
        ),
        expected={"ch3_cnn_forward_tests": 0, "ch3_cnn_forward_values_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_cnn_forward",
        why="features flattened channel-last (a transpose): right shapes, wrong weights per feature",
        source=_forward(
            "x = self.cnn_core(self.bn_input(images))\n"
            "x = x.permute(0, 2, 3, 1).reshape(len(x), -1)\n"
            "return F.elu(self.readout(x)) + 1"
        ),
        expected={"ch3_cnn_forward_values_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_cnn_forward",
        why="skips the input batch norm (raw 0..255 pixels into the core)",
        source=_forward("x = self.cnn_core(images)\nreturn F.elu(self.readout(x.flatten(1))) + 1"),
        expected={"ch3_cnn_forward_values_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_cnn_forward",
        why="hands the work to the reference fens.models.CNN",
        source=_forward("return fens.models.CNN.forward(self, images)"),
        expected={"ch3_cnn_forward_tests": 0, "ch3_cnn_forward_values_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_receptive_field",
        why="adds the kernel sizes (counts the centre pixel once per layer)",
        source=_with_solution("ch3_receptive_field", "return sum(kernel_sizes)"),
        expected={"ch3_receptive_field_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch3_receptive_field",
        why="ignores the dilations",
        source=_with_solution("ch3_receptive_field", "return 1 + sum(k - 1 for k in kernel_sizes)"),
        expected={"ch3_receptive_field_tests": 0},
    ),
]

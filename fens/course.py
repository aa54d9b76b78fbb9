"""What the course's chapters share: where their data is, and whether they run for a reader or
for the grader.

Two settings, both environment variables, so that one switch changes every chapter (the book,
the tests and ``fens grade run`` set them; a student never needs to):

``FENS_DATA``
    ``simulated`` (the default): the simulated V1 data set with ground truth, written on first
    use (about a minute) into :func:`data_dir`; ``real``: the recordings of Lurz et al.
    (ICLR 2021), downloaded on first use (about 1 GB, needs internet); or the path of any
    folder in that format.
``FENS_GRADING``
    ``1`` while a notebook is being autograded: cells that only train or plot for the reader,
    on which no test depends, do less (:func:`for_reader`), so that grading a class costs
    seconds per submission instead of minutes.

``FENS_DATA_DIR`` overrides where data sets are kept (:func:`data_dir`).
"""

from __future__ import annotations

import dis
import inspect
import os
import types
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DATA_SETTINGS = ("simulated", "real")
SIMULATED_FOLDER = "simulated-full"  # fens simulate --preset full --seed 0
REAL_FOLDER = Path("Lurz2020") / "static20457-5-9-preproc0"


def grading() -> bool:
    """Whether this notebook is being autograded (``FENS_GRADING=1``)."""
    value = os.environ.get("FENS_GRADING", "0").strip().lower()
    if value not in ("0", "1", "", "false", "true"):
        raise ValueError(f"FENS_GRADING must be 0 or 1, got {value!r}")
    return value in ("1", "true")


def for_reader(reader: T, grader: T) -> T:
    """``reader`` normally, ``grader`` while autograding: e.g. the epochs of a training whose
    result no test reads, ``for_reader(reader=30, grader=1)``."""
    return grader if grading() else reader


def glue(name: str, value: Any, display: bool = True) -> None:
    """Keep ``value`` under ``name`` for the website's text (myst-nb's ``glue``).

    In the book build, the chapters' prose shows ``{glue:text}`name``` from the executed
    notebook, so no number is typed in. Where myst-nb is not installed (Colab, a plain Jupyter),
    the value is only shown, if ``display``, where it is computed. NumPy and torch scalars are
    glued as Python numbers, so that a format in the text (``{glue:text}`name:.3f```) applies.
    """
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # np.float32(0.25) would be glued as the text 'np.float32(0.25)'
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def data_dir() -> Path:
    """The folder that holds the course's data sets.

    ``FENS_DATA_DIR`` if set; else ``data/`` of the source checkout when fens runs from one
    (``make data`` writes there); else ``~/fens_data`` (Colab, a pip install).
    """
    if os.environ.get("FENS_DATA_DIR"):
        return Path(os.environ["FENS_DATA_DIR"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "fens").is_dir():
        return checkout / "data"
    return Path.home() / "fens_data"


def data_setting() -> str:
    """``FENS_DATA``: ``'simulated'`` (default), ``'real'``, or a folder's path."""
    return os.environ.get("FENS_DATA", "simulated").strip() or "simulated"


def is_simulated(path: str | Path) -> bool:
    """Whether the data set at ``path`` is simulated (it has a ground truth beside it)."""
    return (Path(path) / "ground_truth").is_dir()


def dataset_path(setting: str | None = None, *, progress: bool = True) -> Path:
    """The folder of the course's data set, made or downloaded on first use.

    Args:
        setting: ``'simulated'``, ``'real'`` or a folder (default: :func:`data_setting`).
        progress: show progress bars while simulating or downloading.

    Returns:
        A folder in the Lurz et al. (2021) format that :func:`fens.dataset.load_dataset` reads.

    Raises:
        FileNotFoundError: ``setting`` is a path that does not exist.
    """
    setting = data_setting() if setting is None else setting
    if setting == "simulated":
        folder = data_dir() / SIMULATED_FOLDER
        if not (folder / "meta").is_dir():
            from fens.simulate import simulate

            simulate(folder, preset="full", seed=0, progress=progress)
        return folder
    if setting == "real":
        folder = data_dir() / REAL_FOLDER
        if (folder / "meta").is_dir():
            return folder
        from fens.dataset import download_lurz2020

        return download_lurz2020(data_dir(), progress=progress)
    folder = Path(setting).expanduser()
    if not (folder / "meta").is_dir():
        raise FileNotFoundError(
            f"FENS_DATA={setting!r} is neither 'simulated' nor 'real' nor a data set folder "
            f"(no meta/ in {folder})"
        )
    return folder


def reference_uses(answer: Any) -> list[str]:
    """What of ``fens`` a student's answer hands its work to, if anything.

    An exercise asks for the student's own code; the same computation exists in ``fens`` (the
    reference the chapter goes on with). This finds an answer that imports ``fens``, subclasses
    one of its classes, or calls one of its functions, by reading the answer's compiled code:
    every global name it reads (in nested functions and comprehensions too) is looked up in the
    globals it was defined with, and every module it imports is checked.

    Args:
        answer: a function, or a class (its own methods are read, and its bases checked).

    Returns:
        Readable descriptions of each use (empty: the answer is the student's own), e.g.
        ``["uses fens.measures.corr (as corr)"]``.
    """
    uses: list[str] = []
    if isinstance(answer, type):
        for base in answer.__mro__[1:]:
            if _is_fens(base):
                uses.append(f"subclasses {base.__module__}.{base.__qualname__}")
        functions = [
            member
            for member in vars(answer).values()
            if isinstance(member, types.FunctionType | staticmethod | classmethod | property)
        ]
        functions = [_function_of(member) for member in functions]
    else:
        functions = [inspect.unwrap(answer)]
    for function in functions:
        if isinstance(function, types.FunctionType):
            uses.extend(_code_uses(function.__code__, function.__globals__))
    return sorted(set(uses))


def _function_of(member: Any) -> Any:
    if isinstance(member, property):
        return member.fget
    return getattr(member, "__func__", member)


def _is_fens(obj: Any) -> bool:
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        name = getattr(obj, "__module__", None) or ""
    return name == "fens" or name.startswith("fens.")


def _code_uses(code: types.CodeType, global_names: dict[str, Any]) -> list[str]:
    uses = []
    for instruction in dis.get_instructions(code):
        name = instruction.argval
        if instruction.opname == "IMPORT_NAME" and (name == "fens" or name.startswith("fens.")):
            uses.append(f"imports {name}")
        elif instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and _is_fens(
            global_names.get(name)
        ):
            obj = global_names[name]
            if isinstance(obj, types.ModuleType):
                uses.append(f"uses {obj.__name__} (as {name})")
            else:
                qualified = getattr(obj, "__qualname__", type(obj).__qualname__)
                uses.append(f"uses {obj.__module__}.{qualified} (as {name})")
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            uses.extend(_code_uses(const, global_names))
    return uses

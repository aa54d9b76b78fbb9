"""fens.course: the chapters' data set and grading switches, and reference_uses."""

import functools
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import fens
from fens import course
from fens.utility.device import DeviceFallbackWarning


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """An empty FENS_DATA_DIR, and no FENS_DATA: the defaults."""
    monkeypatch.setenv("FENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FENS_DATA", raising=False)
    return tmp_path / "data"


# --- the grading switch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "grading"), [(None, False), ("0", False), ("", False), ("1", True), ("True", True)]
)
def test_grading_reads_fens_grading(monkeypatch, value, grading):
    if value is None:
        monkeypatch.delenv("FENS_GRADING", raising=False)
    else:
        monkeypatch.setenv("FENS_GRADING", value)
    assert course.grading() is grading
    assert course.for_reader(reader=30, grader=1) == (1 if grading else 30)


def test_a_bad_grading_switch_is_an_error_that_shows_it(monkeypatch):
    monkeypatch.setenv("FENS_GRADING", "yes")
    with pytest.raises(ValueError, match="FENS_GRADING must be 0 or 1, got 'yes'"):
        course.for_reader(reader=30, grader=1)


# --- where the data is ----------------------------------------------------------------------


def test_data_dir_is_fens_data_dir_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("FENS_DATA_DIR", str(tmp_path / "a" / ".." / "b"))
    assert course.data_dir() == (tmp_path / "b").resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FENS_DATA_DIR", "~/mine")
    assert course.data_dir() == (tmp_path / "mine").resolve()


def test_data_dir_defaults_to_the_checkouts_data_folder(monkeypatch):
    monkeypatch.delenv("FENS_DATA_DIR", raising=False)
    checkout = Path(fens.__file__).resolve().parents[1]
    assert (checkout / "pyproject.toml").is_file()  # these tests run from a checkout
    assert course.data_dir() == checkout / "data"


@pytest.mark.parametrize(
    ("value", "setting"), [(None, "simulated"), (" real ", "real"), ("", "simulated")]
)
def test_data_setting(monkeypatch, value, setting):
    if value is None:
        monkeypatch.delenv("FENS_DATA", raising=False)
    else:
        monkeypatch.setenv("FENS_DATA", value)
    assert course.data_setting() == setting


def test_the_simulated_data_set_is_made_once_in_data_dir(data_home, tiny_dataset, monkeypatch):
    calls = []
    real_simulate = fens.simulate.simulate

    def simulate(out, preset, seed, progress):  # the full preset takes a minute: write tiny
        calls.append((Path(out), preset, seed, progress))
        return real_simulate(out, preset="tiny", seed=seed, progress=False)

    monkeypatch.setattr(fens.simulate, "simulate", simulate)
    folder = course.dataset_path(progress=False)
    assert folder == data_home / course.SIMULATED_FOLDER
    assert calls == [(folder, "full", 0, False)]
    assert course.is_simulated(folder)
    loaders = fens.dataset.load_dataset(folder, batch_size=32, progress=False)
    assert len(loaders["train"].sampler) == 200
    # Same seed, same preset as the session's tiny data set: the same numbers.
    ours = np.load(folder / "data" / "responses" / "7.npy")
    np.testing.assert_array_equal(ours, np.load(tiny_dataset / "data" / "responses" / "7.npy"))

    assert course.dataset_path("simulated") == folder  # there now: not made again
    assert len(calls) == 1


def test_the_real_data_set_is_downloaded_into_data_dir(data_home, monkeypatch):
    calls = []

    def download(dest, progress):
        calls.append((Path(dest), progress))
        (Path(dest) / course.REAL_FOLDER / "meta").mkdir(parents=True)
        return Path(dest) / course.REAL_FOLDER

    monkeypatch.setattr(fens.dataset, "download_lurz2020", download)
    monkeypatch.setenv("FENS_DATA", "real")
    expected = data_home / "Lurz2020" / "static20457-5-9-preproc0"
    assert course.dataset_path(progress=False) == expected
    assert calls == [(data_home, False)]
    assert course.dataset_path() == expected  # there now: no second download
    assert len(calls) == 1


def test_a_folder_setting_is_used_as_it_is(tiny_dataset, monkeypatch):
    monkeypatch.setenv("FENS_DATA", str(tiny_dataset))
    assert course.dataset_path() == tiny_dataset
    assert course.dataset_path(str(tiny_dataset)) == tiny_dataset


def test_a_bad_fens_data_is_a_clear_error(data_home, monkeypatch):
    monkeypatch.setenv("FENS_DATA", "simualted")
    with pytest.raises(
        FileNotFoundError,
        match=r"FENS_DATA='simualted' is neither 'simulated' nor 'real' nor a data set folder "
        r"\(no meta/ in simualted\)",
    ):
        course.dataset_path()
    assert not data_home.exists()  # nothing was made


def test_is_simulated_looks_for_the_ground_truth(tiny_dataset, filetree_root):
    assert course.is_simulated(tiny_dataset)
    assert not course.is_simulated(filetree_root)


@pytest.fixture
def filetree_root(tmp_path):
    from tests.dataset.conftest import write_filetree

    return write_filetree(tmp_path / "recording")


# --- reference_uses -------------------------------------------------------------------------


def define(source: str, name: str, **global_names):
    """Define ``name`` from ``source`` as a notebook cell would, with these globals."""
    namespace = {"np": np, **global_names}
    exec(source, namespace)
    return namespace[name]


def test_own_work_uses_nothing_of_fens():
    answer = define(
        "def corr(a, b):\n"
        "    a, b = a - a.mean(0), b - b.mean(0)\n"
        "    return (a * b).mean(0) / (a.std(0) * b.std(0))\n",
        "corr",
    )
    assert course.reference_uses(answer) == []


def test_calling_a_fens_function_is_found_with_its_local_name():
    from fens.measures import corr as fens_corr

    answer = define("def corr(a, b):\n    return reference(a, b)\n", "corr", reference=fens_corr)
    assert course.reference_uses(answer) == ["uses fens.measures.corr (as reference)"]


def test_a_fens_module_in_the_globals_and_an_import_inside_are_found():
    answer = define(
        "def score(model, loader):\n"
        "    import fens.trainers\n"
        "    return m.get_correlations(model, loader)\n",
        "score",
        m=fens.measures,
    )
    assert course.reference_uses(answer) == ["imports fens.trainers", "uses fens.measures (as m)"]


def test_uses_in_nested_functions_and_comprehensions_are_found():
    answer = define(
        "def per_neuron(a, b):\n"
        "    def one(i):\n"
        "        return corr(a[:, i], b[:, i])\n"
        "    return [float(one(i)) for i in range(a.shape[1])]\n",
        "per_neuron",
        corr=fens.measures.corr,
    )
    assert course.reference_uses(answer) == ["uses fens.measures.corr (as corr)"]


def test_a_decorated_answer_is_read_through_its_wrapper():
    inner = define("def f(x):\n    return corr(x, x)\n", "f", corr=fens.measures.corr)
    wrapped = functools.wraps(inner)(lambda *args: inner(*args))
    assert course.reference_uses(wrapped) == ["uses fens.measures.corr (as corr)"]


def test_a_class_is_read_through_its_bases_and_methods():
    own = define(
        "class Model:\n"
        "    def __init__(self):\n        self.w = np.zeros(3)\n"
        "    def forward(self, x):\n        return x @ self.w\n",
        "Model",
    )
    assert course.reference_uses(own) == []

    borrowed = define(
        "class Model:\n"
        "    @property\n    def score(self):\n        return corr(self.a, self.b)\n"
        "    @staticmethod\n    def check():\n        from fens import measures\n",
        "Model",
        corr=fens.measures.corr,
    )
    assert course.reference_uses(borrowed) == [
        "imports fens",
        "uses fens.measures.corr (as corr)",
    ]

    class Warned(DeviceFallbackWarning):
        pass

    assert course.reference_uses(Warned) == ["subclasses fens.utility.device.DeviceFallbackWarning"]


def test_names_that_only_look_like_fens_are_not_uses():
    answer = define(
        "def f(x):\n    fens = 3\n    return fens_like(x) + fens\n",
        "f",
        fens_like=os.path.basename,
    )
    assert course.reference_uses(answer) == []


def test_glue_hands_the_value_to_myst_nb_in_the_book(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kwargs: calls.append((args, kwargs)))
    course.glue("ch9_corr", 0.25, display=False)
    course.glue("ch9_scalar", np.float32(0.5), display=False)
    course.glue("ch9_array", np.arange(2), display=False)
    assert calls[0] == (("ch9_corr", 0.25), {"display": False})
    assert calls[1] == (("ch9_scalar", 0.5), {"display": False})
    assert type(calls[1][0][1]) is float  # a Python number, which a format in the text takes
    assert type(calls[2][0][1]) is np.ndarray


def test_glue_without_myst_nb_only_shows_the_value_when_asked(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as in Colab: import fails
    course.glue("ch9_corr", 0.25, display=False)
    assert capsys.readouterr().out == ""
    course.glue("ch9_corr", 0.25)
    assert capsys.readouterr().out.strip() == "0.25"

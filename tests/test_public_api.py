"""The front door: ``import fens`` is instant, and each part loads on first use."""

import json
import subprocess
import sys

import pytest

import fens

PARTS = ["analysis", "course", "dataset", "measures", "models", "simulate", "trainers"]


def run_fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object, returned here."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_fens_loads_no_torch_and_no_part():
    found = run_fresh(
        "import json, sys, fens\n"
        "print(json.dumps({'torch': 'torch' in sys.modules,\n"
        "    'parts': sorted(m for m in sys.modules if m.startswith('fens.'))}))"
    )
    assert found == {"torch": False, "parts": []}


def test_each_part_is_imported_by_its_attribute():
    found = run_fresh(
        "import json, sys, types, fens\n"
        "course = fens.course\n"  # the light part first: still no torch
        "light = 'torch' not in sys.modules\n"
        f"parts = {PARTS!r}\n"
        "same = {p: getattr(fens, p) is sys.modules['fens.' + p] for p in parts}\n"
        "names = {p: getattr(fens, p).__name__ for p in parts}\n"
        "print(json.dumps({'light': light, 'same': same, 'names': names}))"
    )
    assert found["light"], "fens.course imported torch"
    assert found["same"] == dict.fromkeys(PARTS, True)
    assert found["names"] == {p: f"fens.{p}" for p in PARTS}


def test_an_unknown_attribute_says_what_there_is():
    with pytest.raises(
        AttributeError, match=r"no attribute 'measure'; did you mean fens\.measures"
    ):
        fens.measure  # noqa: B018
    with pytest.raises(AttributeError, match="its parts: analysis, course, dataset, measures"):
        fens.nothing_like_it  # noqa: B018
    assert not hasattr(fens, "nothing_like_it")


def test_all_and_dir_list_the_parts():
    assert sorted(fens.__all__) == PARTS
    assert set(PARTS) | {"__version__"} <= set(dir(fens))
    namespace: dict = {}
    exec("from fens import *", namespace)
    assert {p: namespace[p] for p in PARTS} == {p: getattr(fens, p) for p in PARTS}


def test_the_old_home_of_the_measures_is_the_same_module():
    import fens.measures
    import fens.utility.measures
    from fens.utility import measures
    from fens.utility.measures import get_correlations

    assert measures is fens.utility.measures is fens.measures
    assert get_correlations is fens.measures.get_correlations


def test_the_old_home_works_when_imported_first():
    found = run_fresh(
        "import json, sys\n"
        "from fens.utility import measures\n"
        "import fens.measures\n"
        "print(json.dumps({'same': measures is fens.measures\n"
        "    and sys.modules['fens.utility.measures'] is fens.measures,\n"
        "    'name': measures.__name__}))"
    )
    assert found == {"same": True, "name": "fens.measures"}

"""Importing fens changes nothing else in the process: neuralpredictors only when a Lurz model is
built, and no stand-in torchvision left behind (issue 13). Each check runs in a fresh interpreter."""

import json
import subprocess
import sys
import textwrap

# Outcome of importing a module: "ok", or the exception's type and message.
_OUTCOME = """
def outcome(name):
    try:
        __import__(name)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "ok"
"""


def _run(script: str) -> dict:
    """Run ``script`` in a fresh interpreter; it prints one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_OUTCOME) + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_torchvision_imports_the_same_before_and_after_every_fens_module_and_a_lurz_model():
    found = _run(
        """
        import json, pkgutil, sys
        names = ("torchvision", "torchvision.transforms")
        before = {name: outcome(name) for name in names}
        before_modules = "torchvision" in sys.modules

        import numpy as np, torch
        from torch.utils.data import DataLoader, TensorDataset
        import fens
        failed = {}
        for module in pkgutil.walk_packages(fens.__path__, "fens."):
            result = outcome(module.name)
            if result != "ok":
                failed[module.name] = result

        from fens.models import build_lurz2020_model
        dataset = TensorDataset(torch.rand(8, 1, 36, 64) * 255, torch.rand(8, 5) + 0.1)
        loaders = {"train": DataLoader(dataset, batch_size=4)}
        for fast in (True, False):
            build_lurz2020_model(
                dataloaders=loaders, seed=0, fast=fast, grid_mean_predictor=None, layers=2,
                hidden_channels=4,
            )
        after = {name: outcome(name) for name in names}
        print(json.dumps({
            "before": before, "after": after, "failed": failed,
            "stand_in_left": ("torchvision" in sys.modules) != before_modules,
            "neuralpredictors": "neuralpredictors.layers.cores" in sys.modules,
        }))
        """
    )
    assert found["failed"] == {}
    assert found["neuralpredictors"]  # the Lurz models were built from its blocks
    assert found["after"] == found["before"]
    assert not found["stand_in_left"]


def test_importing_fens_models_does_not_import_neuralpredictors():
    found = _run(
        """
        import json, sys
        import fens.models
        import fens.models.blocks
        from fens.models import CNN, LNModel, MODEL_NAMES, build_lurz2020_model, load_pretrained
        from fens.models.blocks import DepthwiseConv2d, l1_norm
        imported = sorted(m for m in sys.modules if m.split(".")[0] in ("neuralpredictors", "torchvision"))
        from fens.models.blocks import FastFullGaussian2d  # a fast readout: now it is needed
        print(json.dumps({
            "imported": imported,
            "on_use": "neuralpredictors.layers.readouts" in sys.modules,
            "base": FastFullGaussian2d.__mro__[1].__module__,
        }))
        """
    )
    assert found["imported"] == []
    assert found["on_use"]
    assert found["base"].startswith("neuralpredictors.layers.readouts")


def test_the_stand_in_says_what_is_missing():
    found = _run(
        """
        import importlib.util, json, sys
        from fens.compat import import_neuralpredictors
        import_neuralpredictors()
        from neuralpredictors.layers.cores import conv2d
        try:
            conv2d.torchvision.models
            message = None
        except ImportError as error:
            message = str(error)
        print(json.dumps({
            "installed": importlib.util.find_spec("torchvision") is not None,
            "message": message,
            "collections_alias": __import__("collections").Iterable is __import__("collections.abc").abc.Iterable,
        }))
        """
    )
    assert found["collections_alias"]
    if not found["installed"]:
        assert "torchvision is not installed" in found["message"]
        assert "TransferLearningCore" in found["message"]

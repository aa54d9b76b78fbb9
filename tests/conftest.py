"""Fixtures shared by the whole test suite."""

import os

import pytest

# Triton kernels (fens.models.blocks.triton_depthwise) run in Triton's interpreter on a machine without
# a GPU; the switch must be set before triton is first imported.
os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the data loader's cache away from the user's home folder in every test."""
    monkeypatch.setenv("FENS_CACHE_DIR", str(tmp_path_factory.mktemp("fens-cache")))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory):
    """The simulated ``tiny`` preset (seed 0), written once per test session."""
    from fens.simulate import simulate

    return simulate(
        tmp_path_factory.mktemp("simulated") / "tiny", preset="tiny", seed=0, progress=False
    )

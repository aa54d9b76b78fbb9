"""Tests of fens.utility.device.resolve_device on this CPU-only machine (accelerators mocked)."""

import warnings

import pytest
import torch

from fens.utility import device as device_module
from fens.utility.device import DeviceFallbackWarning, resolve_device


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    """Every test starts as a fresh Python session that has warned about nothing yet."""
    monkeypatch.setattr(device_module, "_warned_fallbacks", set())


def _machine(monkeypatch, cuda_devices=0, mps=False):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_devices > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_devices)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda_devices", "mps", "expected"),
    [(0, False, "cpu"), (0, True, "mps"), (1, True, "cuda"), (2, False, "cuda")],
)
def test_none_picks_cuda_then_mps_then_the_cpu(monkeypatch, cuda_devices, mps, expected):
    _machine(monkeypatch, cuda_devices, mps)
    assert resolve_device() == torch.device(expected)


def test_an_available_device_is_used_as_requested(monkeypatch):
    _machine(monkeypatch, cuda_devices=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_device("cuda:1") == torch.device("cuda:1")
        assert resolve_device(torch.device("cuda")) == torch.device("cuda")
        assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    ("cuda_devices", "requested"), [(0, "cuda"), (0, "cuda:0"), (1, "cuda:1"), (0, "mps")]
)
def test_a_missing_accelerator_falls_back_to_the_cpu(monkeypatch, cuda_devices, requested):
    _machine(monkeypatch, cuda_devices=cuda_devices)
    with pytest.warns(DeviceFallbackWarning, match=f"'{requested}' is not available"):
        assert resolve_device(requested) == torch.device("cpu")


def test_the_fallback_warns_once_per_device_even_in_a_loop(monkeypatch):
    _machine(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # so that Python's own once-per-place rule cannot help
        for _ in range(5):
            assert resolve_device("cuda") == torch.device("cpu")
        resolve_device("mps")
    messages = [str(w.message) for w in caught if issubclass(w.category, DeviceFallbackWarning)]
    assert len(messages) == 2
    assert "'cuda'" in messages[0] and "'mps'" in messages[1]
    assert issubclass(DeviceFallbackWarning, RuntimeWarning)


def test_an_unknown_device_name_is_a_value_error():
    with pytest.raises(ValueError, match="'gpu'"):
        resolve_device("gpu")

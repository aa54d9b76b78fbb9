"""Tests of fens.utility.device.resolve_device on this CPU-only machine (accelerators mocked)."""

import warnings

import pytest
import torch

from fens.utility import device as device_module
from fens.utility.device import DeviceFallbackWarning, move_model, resolve_device


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


def _conv_weights(model):
    return [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_fens_cnns_go_channels_last_on_the_cpu_with_the_same_outputs():
    from fens.models import CNN

    torch.manual_seed(0)
    model = CNN(input_height=9, input_width=11, n_neurons=5).eval()
    images = torch.rand(4, 1, 9, 11) * 255
    before = model(images)
    assert move_model(model, torch.device("cpu")) is model
    weights = _conv_weights(model)
    assert len(weights) == 3
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert not all(w.is_contiguous() for w in weights)
    torch.testing.assert_close(model(images), before, rtol=1e-5, atol=1e-6)


class _ViewNet(torch.nn.Module):
    """A student's CNN: .view on the feature maps works only on contiguous (NCHW) tensors."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 3, padding=1)
        self.linear = torch.nn.Linear(3 * 6 * 6, 2)

    def forward(self, x):
        return self.linear(self.conv(x).view(len(x), -1))


def test_other_models_are_only_moved_so_a_view_in_forward_still_works():
    model = _ViewNet()
    move_model(model, torch.device("cpu"))
    assert all(w.is_contiguous() for w in _conv_weights(model))
    assert model(torch.rand(2, 1, 6, 6)).shape == (2, 2)
    model.to(memory_format=torch.channels_last)  # what move_model leaves alone
    with pytest.raises(RuntimeError, match="view"):
        model(torch.rand(2, 1, 6, 6))

"""Gradient receptive fields against the weights of LN models and the one-neuron function."""

import numpy as np
import pytest
import torch

from fens.analysis import generate_grad_rf, generate_grad_rfs
from fens.utility import device as device_module
from fens.utility.device import DeviceFallbackWarning
from tests.analysis.conftest import IMAGE_MEAN, IMAGE_SHAPE, linear_model


def _cosine(a, b):
    return float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture
def random_ln():
    weights = np.random.default_rng(0).normal(size=(5, *IMAGE_SHAPE)) / 48
    return linear_model(weights), weights


def test_gradient_rf_of_an_ln_model_is_its_weight_up_to_a_positive_scale(random_ln):
    model, weights = random_ln
    rng = np.random.default_rng(1)
    for neuron in range(len(weights)):
        # Anywhere: a grey image and a random one.
        for image in (np.full(IMAGE_SHAPE, IMAGE_MEAN), rng.uniform(0, 255, IMAGE_SHAPE)):
            rf = generate_grad_rf(model, neuron, image, device="cpu")
            assert rf.shape == IMAGE_SHAPE
            assert _cosine(rf, weights[neuron]) > 0.99


def test_batched_gradient_rfs_equal_the_one_neuron_function(small_cnn):
    image = np.random.default_rng(2).uniform(0, 255, IMAGE_SHAPE)
    ids = [4, 0, 2, 2]
    batched = generate_grad_rfs(
        small_cnn, input_image=image, neuron_indices=ids, batch_size=3, device="cpu"
    )
    one_by_one = np.stack([generate_grad_rf(small_cnn, k, image, device="cpu") for k in ids])
    assert np.abs(batched).max() > 0
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-4, atol=1e-6 * np.abs(batched).max())
    # None means every neuron, in order.
    everyone = generate_grad_rfs(small_cnn, input_image=image, device="cpu")
    np.testing.assert_allclose(everyone[ids], batched, rtol=1e-4, atol=1e-9)


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the fallback of a CPU-only machine")
def test_cuda_falls_back_to_the_cpu_with_a_warning(random_ln, monkeypatch):
    monkeypatch.setattr(device_module, "_warned_fallbacks", set())
    model, _ = random_ln
    image = np.full(IMAGE_SHAPE, IMAGE_MEAN)
    with pytest.warns(DeviceFallbackWarning, match="cuda"):
        on_cuda = generate_grad_rf(model, 1, image, device="cuda")
    np.testing.assert_array_equal(on_cuda, generate_grad_rf(model, 1, image, device="cpu"))
    assert next(model.parameters()).device.type == "cpu"


def test_bad_arguments_are_refused_with_the_offending_value(random_ln):
    model, _ = random_ln
    image = np.full(IMAGE_SHAPE, IMAGE_MEAN)
    with pytest.raises(ValueError, match=r"\(1, 36, 64\)"):
        generate_grad_rf(model, 0, image[None], device="cpu")
    with pytest.raises(ValueError, match=r"\[5\]"):
        generate_grad_rf(model, 5, image, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        generate_grad_rfs(model, input_image=image, batch_size=0, device="cpu")

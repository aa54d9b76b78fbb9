"""The Triton depthwise convolution against torch's own, in Triton's interpreter on a CPU.

Without the ``triton`` package (e.g. not Linux x86-64) these tests are skipped; ``make test``
installs it on Linux. Sizes are small: the interpreter runs each program in NumPy.
"""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from fens.models.depthwise import DepthwiseConv2d, set_depthwise_kernel

triton_depthwise = pytest.importorskip("fens.models.triton_depthwise")
if not triton_depthwise.TRITON_AVAILABLE:
    pytest.skip("the triton package is not installed", allow_module_level=True)


def _compare(x_shape, kernel, padding, dtype=torch.float32):
    torch.manual_seed(0)
    x = torch.randn(*x_shape, dtype=dtype, requires_grad=True)
    weight = torch.randn(x_shape[1], 1, *kernel, dtype=dtype, requires_grad=True)
    ours = triton_depthwise.triton_depthwise_conv2d(x, weight, padding)
    grad = torch.randn_like(ours)
    ours_grads = torch.autograd.grad(ours, (x, weight), grad)
    theirs = F.conv2d(x, weight, padding=padding, groups=x_shape[1])
    theirs_grads = torch.autograd.grad(theirs, (x, weight), grad)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    for mine, reference in zip(ours_grads, theirs_grads, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("x_shape", "kernel", "padding"),
    [
        ((2, 3, 7, 9), (3, 3), 1),  # "same" output, borders padded
        ((1, 2, 6, 5), (3, 5), (2, 1)),  # rectangular kernel, unequal padding
        ((2, 2, 5, 6), (3, 3), 0),  # "valid" output, smaller than the input
        ((1, 1, 24, 30), (3, 3), 1),  # 720 output pixels: two blocks of 512 per map
    ],
)
def test_gives_conv2d_outputs_and_both_gradients(x_shape, kernel, padding):
    _compare(x_shape, kernel, padding)


def test_the_course_kernel_size():
    _compare((1, 2, 9, 14), (13, 13), 6)  # 13x13 filters wider than the map, as in the core


def test_bad_shapes_and_padding_are_explained():
    conv = triton_depthwise.triton_depthwise_conv2d
    with pytest.raises(ValueError, match=r"weight \(C, 1, kh, kw\)"):
        conv(torch.zeros(1, 3, 5, 5), torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="padding"):
        conv(torch.zeros(1, 3, 5, 5), torch.zeros(3, 1, 3, 3), padding=3)
    with pytest.raises(ValueError, match="leaves no output"):
        conv(torch.zeros(1, 3, 2, 5), torch.zeros(3, 1, 5, 5), padding=1)


def test_layers_choose_their_gpu_kernel_and_keep_torch_kernels_on_a_cpu():
    torch.manual_seed(0)
    model = nn.Sequential(
        DepthwiseConv2d(4, 4, 3, padding=1, groups=4), nn.ELU(), DepthwiseConv2d(4, 4, 3, groups=4)
    )
    assert [layer.gpu_kernel for layer in (model[0], model[2])] == ["torch", "torch"]
    assert set_depthwise_kernel(model, "triton") == 2
    assert [layer.gpu_kernel for layer in (model[0], model[2])] == ["triton", "triton"]
    x = torch.randn(2, 4, 8, 8)
    hidden = F.elu(F.conv2d(x, model[0].weight, model[0].bias, padding=1, groups=4))
    expected = F.conv2d(hidden, model[2].weight, model[2].bias, groups=4)
    torch.testing.assert_close(model(x), expected)
    with pytest.raises(ValueError, match="'torch' or 'triton'"):
        set_depthwise_kernel(model, "cuda")


def test_triton_fails_says_why_or_nothing(monkeypatch):
    assert triton_depthwise.triton_fails("cpu") is None  # the interpreter runs them here
    monkeypatch.setattr(triton_depthwise, "TRITON_AVAILABLE", False)
    assert triton_depthwise.triton_fails("cpu") == "the triton package is not installed"
    with pytest.raises(RuntimeError, match="needs the triton package"):
        triton_depthwise.triton_depthwise_conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 3))

"""The Triton depthwise convolution against torch's own, in Triton's interpreter on a CPU.

Without the ``triton`` package (e.g. not Linux x86-64) these tests are skipped; ``make test``
installs it on Linux. Sizes are small: the interpreter runs each program in NumPy.
"""

import os
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from fens.models import build_lurz2020_model
from fens.models.blocks import triton_depthwise
from fens.models.blocks.depthwise import DepthwiseConv2d, set_depthwise_kernel

from .test_lurz2020_model import SMALL

if not triton_depthwise.TRITON_AVAILABLE:
    pytest.skip("the triton package is not installed", allow_module_level=True)


def _compare(x_shape, kernel, padding, tiles=None):
    torch.manual_seed(0)
    x = torch.randn(*x_shape, requires_grad=True)
    weight = torch.randn(x_shape[1], 1, *kernel, requires_grad=True)
    tiles = {} if tiles is None else {"tiles": tiles}
    ours = triton_depthwise.triton_depthwise_conv2d(x, weight, padding, **tiles)
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
        ((1, 1, 6, 7), (3, 3), 1),  # 42 output pixels: two blocks of 32
        ((5, 65, 3, 4), (3, 3), 1),  # two blocks of 64 channels; 5 images: chunks of 4 and 1
    ],
)
def test_gives_conv2d_outputs_and_both_gradients(x_shape, kernel, padding):
    _compare(x_shape, kernel, padding)


def test_the_course_kernel_size():
    _compare((1, 2, 7, 9), (13, 13), 6)  # 13x13 filters wider than the map, as in the core


@pytest.mark.parametrize("tiles", [(16, 1), (64, 8)])
def test_tile_sizes_do_not_change_the_result(tiles):
    _compare((5, 3, 6, 7), (3, 3), 1, triton_depthwise.Tiles(*tiles))


def test_bad_shapes_and_padding_are_explained():
    conv = triton_depthwise.triton_depthwise_conv2d
    with pytest.raises(ValueError, match=r"weight \(C, 1, kh, kw\)"):
        conv(torch.zeros(1, 3, 5, 5), torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="padding"):
        conv(torch.zeros(1, 3, 5, 5), torch.zeros(3, 1, 3, 3), padding=3)
    with pytest.raises(ValueError, match="powers of two"):
        conv(torch.zeros(1, 3, 5, 5), torch.zeros(3, 1, 3, 3), tiles=triton_depthwise.Tiles(24))
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


# Compiling for a GPU needs the real triton.language, which the interpreter replaces: a fresh
# process without TRITON_INTERPRET. triton brings its own ptxas, so no GPU or CUDA is needed.
COMPILE_FOR_GPUS = """
from triton import compile
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from fens.models.blocks import triton_depthwise as td

sizes = {  # the course's core
    "KH": 13, "KW": 13, "PH": 6, "PW": 6,
    "BLOCK_P": td.DEFAULT_TILES.pixels, "BLOCK_C": td.CHANNELS, "IMAGES": td.DEFAULT_TILES.images,
}
for kernel in (td._depthwise_kernel, td._depthwise_weight_grad_kernel):
    names = kernel.arg_names
    signature = {
        name: "*fp32" if name.endswith("_ptr") else "constexpr" if name in sizes else "i32"
        for name in names
    }
    constants = {(names.index(name),): sizes[name] for name in names if name in sizes}
    for capability in (75, 80, 90):  # T4 (Colab), A100, H100/H200
        target = GPUTarget("cuda", capability, 32)
        binary = compile(ASTSource(kernel, signature, constants), target=target)
        assert binary.asm["cubin"], (kernel, capability)
        print(kernel.fn.__name__, capability)
"""


def test_kernels_compile_to_machine_code_of_colab_and_datacentre_gpus():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"  # triton's own default, said so to silence its warning
    run = subprocess.run(
        [sys.executable, "-c", COMPILE_FOR_GPUS], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines() == [
        f"{kernel} {capability}"
        for kernel in ("_depthwise_kernel", "_depthwise_weight_grad_kernel")
        for capability in (75, 80, 90)
    ]


def test_a_model_on_the_triton_kernels_gives_the_same_loss_and_gradients(
    dataloaders_factory, monkeypatch
):
    small_images = torch.rand(4, 1, 12, 14) * 255  # the interpreter is slow: small maps
    dataloaders = dataloaders_factory(images=small_images, responses=torch.rand(4, 5) + 0.1)
    config = {**SMALL, "hidden_kern": 5, "input_kern": 7}
    images, responses = next(iter(dataloaders["train"]))

    def loss_and_gradients(gpu_kernel):
        model = build_lurz2020_model(**config, dataloaders=dataloaders, seed=1)
        assert set_depthwise_kernel(model, gpu_kernel) == 1  # SMALL: one hidden layer
        torch.manual_seed(0)  # the readout samples its positions in training
        loss = F.poisson_nll_loss(model(images), responses, log_input=False) + model.regularizer()
        loss.backward()
        return loss, {name: p.grad for name, p in model.named_parameters()}

    reference_loss, reference_grads = loss_and_gradients("torch")
    # On a CPU the layers keep torch's kernels; here they take Triton's (its interpreter).
    monkeypatch.setattr(DepthwiseConv2d, "_triton_applies", lambda self, x: True)
    loss, grads = loss_and_gradients("triton")
    torch.testing.assert_close(loss, reference_loss)
    assert grads.keys() == reference_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, reference_grads[name], rtol=1e-4, atol=1e-5, msg=name)

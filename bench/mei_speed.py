"""MEIs for many neurons: the seed notebook's one-neuron loop against batched ``generate_meis``.

Both run on the same checkpoint, device, starting images and constraints, in the same run. The
loop optimises one image at a time, computing all neurons' responses and keeping one (as the
FENS 2022 notebook did, with a fresh gradient each step), on the model built from
neuralpredictors' own blocks; ``fens.analysis.generate_meis`` optimises ``--batch-size`` images
at once, one neuron each, on the model with fens' fast blocks, whose readout then reads one
neuron per image. The loop is timed on ``--loop-neurons`` neurons (it is slow) and reported per
neuron; the script checks that both give the same MEIs for those neurons.

    python bench/mei_speed.py --data data/simulated-full --model sota_cnn \
        --neurons 1000 --iterations 1000 --loop-neurons 10 [--device cuda --gpu-kernel triton]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from fens.analysis import generate_meis
from fens.dataset import load_dataset
from fens.models import load_pretrained
from fens.models.blocks.depthwise import set_depthwise_kernel
from fens.utility.device import resolve_device


def seed_loop_mei(model, image, neuron, iterations, mean, std, lr, device):
    """The seed's ``generate_mei``: SGD (momentum 0.9) on one image, renormalised every step."""
    x = torch.tensor(image[None, None], dtype=torch.float32, device=device, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=0.9)
    for _ in range(iterations):
        optimizer.zero_grad()
        constrained = (x - x.mean()) / x.std(unbiased=False) * std + mean
        (-model(constrained)[0, neuron]).backward()
        optimizer.step()
    return ((x - x.mean()) / x.std(unbiased=False) * std + mean).detach()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set (full preset)")
    parser.add_argument("--model", default="sota_cnn", help="shipped checkpoint or .pt file")
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--loop-neurons", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--gpu-kernel",
        choices=("torch", "triton"),
        default="torch",
        help="the batched model's depthwise layers on a CUDA device (set_depthwise_kernel)",
    )
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    loaders = load_dataset(args.data, batch_size=60, progress=False)
    reference = load_pretrained(args.model, loaders, device=device, fast=False)
    model = load_pretrained(args.model, loaders, device=device)
    set_depthwise_kernel(model, args.gpu_kernel)
    if not 1 <= args.neurons <= model.n_neurons:
        raise SystemExit(f"--neurons must be 1 to {model.n_neurons}, got {args.neurons}")
    loop_n = min(args.loop_neurons, args.neurons)  # the loop's neurons are among the batch's
    stats = loaders["train"].dataset.statistics.images.all
    mean, std = float(stats.mean), float(stats.std) / 10
    neurons = np.arange(args.neurons)
    rng = np.random.default_rng(0)
    starts = rng.normal(mean, std, size=(args.neurons, *model.input_shape[1:]))

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    seed_loop_mei(reference, starts[0], 0, 2, mean, std, args.lr, device)  # warm-up
    synchronize()
    start = time.perf_counter()
    loop_meis = [
        seed_loop_mei(reference, starts[k], k, args.iterations, mean, std, args.lr, device)
        for k in range(loop_n)
    ]
    synchronize()
    loop_per_neuron = (time.perf_counter() - start) / loop_n

    start = time.perf_counter()
    _, meis = generate_meis(
        model, neuron_indices=neurons, input_images=starts, iterations=args.iterations,
        mean_constr=mean, std_constr=std, lr=args.lr, batch_size=args.batch_size,
        device=device, progress=True,
    )  # fmt: skip
    synchronize()
    batched_total = time.perf_counter() - start
    batched_per_neuron = batched_total / args.neurons

    print(
        f"device {device}, model {args.model}, {args.iterations} iterations per MEI, "
        f"batch {args.batch_size}, depthwise GPU kernel {args.gpu_kernel}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"seed's loop:   {loop_per_neuron:8.2f} s per neuron "
        f"({loop_per_neuron / args.iterations * 1e3:.2f} ms per iteration; "
        f"timed on {loop_n} neurons)"
    )
    print(
        f"generate_meis: {batched_per_neuron:8.3f} s per neuron "
        f"({batched_total:.1f} s for {args.neurons} neurons)"
    )
    print(f"neurons per second, batched / loop: {loop_per_neuron / batched_per_neuron:.1f}x")
    agreement = [
        np.corrcoef(loop.cpu().numpy().ravel(), batched.ravel())[0, 1]
        for loop, batched in zip(loop_meis, meis, strict=False)
    ]
    print(f"loop vs batched MEIs, lowest correlation over the loop's neurons: {min(agreement):.4f}")
    n_all = model.n_neurons
    print(f"all {n_all} neurons batched, extrapolated: {batched_per_neuron * n_all / 60:.1f} min")


if __name__ == "__main__":
    main()

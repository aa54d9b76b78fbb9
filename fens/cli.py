"""The ``fens`` command line.

fens simulate --preset full --seed 0 --out data/simulated-full
fens download lurz2020 --out .
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _simulate(args: argparse.Namespace) -> None:
    from fens.simulate import simulate

    path = simulate(args.out, preset=args.preset, seed=args.seed, overwrite=args.overwrite)
    print(f"simulated data set ({args.preset}, seed {args.seed}) written to {path}")


def _download(args: argparse.Namespace) -> None:
    from fens.dataset import download_lurz2020

    path = download_lurz2020(args.out)
    print(f"Lurz 2020 data set ready in {path}")


def _train(args: argparse.Namespace) -> None:
    import platform
    import time

    import torch

    import fens
    from fens.dataset import load_dataset
    from fens.models.pretrained import save_checkpoint
    from fens.models.registry import build_model
    from fens.trainers import train_model
    from fens.utility import measures
    from fens.utility.device import resolve_device

    device = resolve_device(args.device)
    dataloaders = load_dataset(
        args.data,
        batch_size=args.batch_size,
        seed=args.seed,
        neuron_n=args.neuron_n,
        device=device,  # every trial where the model trains: no copy per step
    )
    model = build_model(args.model, dataloaders, seed=args.seed, fast=not args.reference_blocks)
    start = time.perf_counter()
    score, output, _ = train_model(
        model,
        dataloaders,
        device=device,
        seed=args.seed,
        max_iter=args.max_iter,
        max_minutes=args.max_minutes,
    )
    seconds = time.perf_counter() - start
    test = dataloaders["test"]
    metrics = {
        "validation_correlation": score,
        "test_correlation": output["test_correlation"],
        "test_avg_correlation": float(
            measures.get_avg_correlations(model, test, device=device, per_neuron=False)
        ),
        "fraction_oracle": float(measures.get_fraction_oracles(model, dataloaders, device=device)),
    }
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    training = {
        "command": "fens " + " ".join(args.argv),
        "seed": args.seed,
        "blocks": "reference" if args.reference_blocks else "fast",
        "epochs": output["history"]["epoch"][-1],
        "max_iter": args.max_iter,
        "max_minutes": args.max_minutes,
        "cut_short": output["cut_short"],
        "seconds": seconds,
        "device": f"{device} ({hardware or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "fens": fens.__version__,
        "history": output["history"],
    }
    path = save_checkpoint(
        args.out,
        model,
        name=args.model,
        dataloaders=dataloaders,
        metrics=metrics,
        training=training,
    )
    summary = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    if output["cut_short"] is not None:
        summary += f" (training cut short: {output['cut_short']}; the best state was saved)"
    print(
        f"{args.model}: {summary}; {training['epochs']} epochs in {seconds / 60:.1f} min on "
        f"{training['device']}; saved to {path}"
    )


def build_parser() -> argparse.ArgumentParser:
    from fens.simulate import PRESETS

    parser = argparse.ArgumentParser(
        prog="fens", description="Neural system identification of mouse V1: data and models."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser(
        "simulate", help="write a simulated V1 data set in the Lurz 2021 file-tree format"
    )
    sim.add_argument(
        "--preset", choices=sorted(PRESETS), default="full", help="size (default: full)"
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sim.add_argument("--out", required=True, help="folder to create")
    sim.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    sim.set_defaults(run=_simulate)

    from fens.models.registry import MODEL_NAMES, MODELS

    with_blocks = "/".join(name for name, entry in MODELS.items() if entry.fast_blocks)
    train = commands.add_parser("train", help="train a model and save a checkpoint")
    train.add_argument("--model", choices=MODEL_NAMES, required=True, help="which model")
    train.add_argument("--data", required=True, help="data set folder")
    train.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    train.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    train.add_argument("--max-iter", type=int, default=200, help="most epochs (default: 200)")
    train.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="start no epoch after this many minutes; save the best model so far",
    )
    train.add_argument("--batch-size", type=int, default=60, help="trials per batch (default: 60)")
    train.add_argument("--neuron-n", type=int, default=None, help="train on this many neurons")
    train.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest)")
    train.add_argument(
        "--reference-blocks",
        action="store_true",
        help=f"build {with_blocks} from neuralpredictors' own blocks, not fens' fast ones "
        "(same weights and checkpoint; to compare the two)",
    )
    train.set_defaults(run=_train)

    down = commands.add_parser("download", help="download a real data set")
    down.add_argument("dataset", choices=["lurz2020"], help="which data set")
    down.add_argument("--out", default=".", help="folder to download into (default: .)")
    down.set_defaults(run=_download)
    from fens.grading.cli import add_parser as add_grade_parser  # fens grade: exits non-zero

    add_grade_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fens`` console script; returns the exit status."""
    from fens.dataset.errors import DatasetError
    from fens.models.registry import MODELS  # already imported by build_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "reference_blocks", False) and not MODELS[args.model].fast_blocks:
        parser.error(f"train --reference-blocks: only the SOTA models have them, not {args.model}")
    args.argv = argv
    try:
        args.run(args)
    except (DatasetError, FileExistsError) as error:
        print(f"fens {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

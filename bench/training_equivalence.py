"""Do fens' fast blocks train to the same model as neuralpredictors' own blocks?

The fast readout and depthwise convolutions (:mod:`fens.models.readout`,
:mod:`fens.models.depthwise`) give the reference blocks' outputs and gradients to float
tolerance (``tests/models/test_fast_paths.py``). Over a whole training those float differences
grow, so the question here is the end result: two checkpoints of ``fens train`` for the same
model and seed, one with the fast blocks (the default) and one with ``--reference-blocks``, must
reach the same single-trial test correlation within ``--tolerance`` (0.005, issue 5).

The script prints both validation curves side by side (every ``--every`` epochs, the epochs where
a learning rate drops, the last), the epoch where they first part by more than 0.001, and the
test measures of :func:`model_quality.evaluate` for both, each checkpoint loaded on the blocks it
was trained with (its record's ``blocks``; older checkpoints are fast)::

    fens train --model sota_cnn --data data/simulated-full --seed 42 --out fast.pt
    fens train --model sota_cnn --data data/simulated-full --seed 42 --out reference.pt \\
        --reference-blocks
    python bench/training_equivalence.py --data data/simulated-full \\
        --fast fast.pt --reference reference.pt --plot equivalence.png
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from fens.dataset import load_dataset
from fens.models.pretrained import load_pretrained, read_checkpoint
from fens.simulate.calibration import noise_ceiling
from fens.utility.device import resolve_device

# Scripts under bench/ run with their own folder on sys.path (python bench/<script>.py).
from model_quality import BATCH_SIZE, MEASURES, evaluate  # isort: skip

TOLERANCE = 0.005  # issue 5: the same test correlation within this
PARTED = 0.001  # validation curves "part" when they differ by more than this
BLOCKS = ("fast", "reference")


def read_run(path: Path, blocks: str) -> dict[str, Any]:
    """The record of the ``fens train`` checkpoint ``path``, checked to use ``blocks``."""
    try:
        record = read_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"--{blocks}: {error}") from None
    training = record.get("training") or {}
    trained_on = training.get("blocks", "fast")  # written since `fens train --reference-blocks`
    if trained_on != blocks:
        raise SystemExit(
            f"--{blocks} {path}: its record says it was trained on the {trained_on} blocks"
        )
    if "history" not in training:
        raise SystemExit(f"--{blocks} {path}: no training history in its record (not `fens train`)")
    return record


def parting_epoch(fast: Sequence[float], reference: Sequence[float]) -> int | None:
    """Index of the first epoch where the two validation curves differ by more than
    :data:`PARTED`, or ``None`` if they never do (over the epochs both have)."""
    for epoch, (a, b) in enumerate(zip(fast, reference, strict=False)):
        if abs(a - b) > PARTED:
            return epoch
    return None


def rows_to_print(history: dict[str, list], other: dict[str, list], every: int) -> list[int]:
    """Epochs to print: every ``every``-th, each learning-rate drop of either run, the last."""
    n = max(len(history["epoch"]), len(other["epoch"]))
    chosen = set(range(0, n, every)) | {n - 1}
    for lrs in (history["lr"], other["lr"]):
        chosen |= {i for i in range(1, len(lrs)) if lrs[i] != lrs[i - 1]}
    return sorted(chosen)


def print_curves(histories: dict[str, dict[str, list]], every: int) -> None:
    fast, reference = histories["fast"], histories["reference"]
    print(
        f"{'epoch':>5}  {'lr fast':>9} {'val fast':>9}  {'lr ref':>9} {'val ref':>9}  {'diff':>8}"
    )

    def cell(history: dict[str, list], key: str, i: int, spec: str) -> str:
        return format(history[key][i], spec) if i < len(history[key]) else "-"

    for i in rows_to_print(fast, reference, every):
        both = i < len(fast["epoch"]) and i < len(reference["epoch"])
        diff = (
            f"{reference['validation_correlation'][i] - fast['validation_correlation'][i]:+.4f}"
            if both
            else "-"
        )
        print(
            f"{i:>5}  {cell(fast, 'lr', i, '.2e'):>9} "
            f"{cell(fast, 'validation_correlation', i, '.4f'):>9}  "
            f"{cell(reference, 'lr', i, '.2e'):>9} "
            f"{cell(reference, 'validation_correlation', i, '.4f'):>9}  {diff:>8}"
        )


def plot_curves(histories: dict[str, dict[str, list]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for blocks, history in histories.items():
        ax.plot(history["epoch"], history["validation_correlation"], label=f"{blocks} blocks")
    ax.set(xlabel="epoch", ylabel="validation correlation", title="Same seed, two sets of blocks")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the data set both trained on")
    parser.add_argument("--fast", type=Path, required=True, help="checkpoint, fens' fast blocks")
    parser.add_argument(
        "--reference", type=Path, required=True, help="checkpoint, `--reference-blocks`"
    )
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="allowed test gap")
    parser.add_argument("--every", type=int, default=5, help="print every this many epochs")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the fastest)")
    parser.add_argument("--plot", type=Path, default=None, help="save both curves here (.png)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare the two checkpoints named in ``argv``; print and return the figures."""
    args = build_parser().parse_args(argv)
    if args.every < 1:
        raise SystemExit(f"--every must be at least 1, got {args.every}")
    paths = {"fast": args.fast, "reference": args.reference}
    records = {blocks: read_run(paths[blocks], blocks) for blocks in BLOCKS}
    names = {blocks: record["name"] for blocks, record in records.items()}
    if names["fast"] != names["reference"]:
        raise SystemExit(f"the checkpoints hold different models: {names}")
    trainings = {blocks: record["training"] for blocks, record in records.items()}
    seeds = {blocks: training.get("seed") for blocks, training in trainings.items()}

    device = resolve_device(args.device)
    dataloaders = load_dataset(
        args.data, BATCH_SIZE, seed=seeds["fast"], progress=False, device=device
    )
    dataset = dataloaders["test"].dataset
    ceiling = None
    if (args.data / "ground_truth").is_dir():
        ceiling = noise_ceiling(args.data)[dataset.neuron_idx]
    results: dict[str, Any] = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "model": names["fast"],
        "device": str(device),
        "torch": torch.__version__,
    }
    print(f"{names['fast']} on {args.data} ({dataset.n_neurons} neurons); seeds {seeds}")
    if seeds["fast"] != seeds["reference"]:
        print("the seeds differ: the gap below includes seed-to-seed spread, not only the blocks")

    histories = {blocks: training["history"] for blocks, training in trainings.items()}
    for blocks in BLOCKS:
        model = load_pretrained(paths[blocks], dataloaders, device=device, fast=blocks == "fast")
        training = trainings[blocks]
        results[blocks] = {
            "file": str(paths[blocks]),
            "seed": seeds[blocks],
            "epochs": training["epochs"],
            "minutes": training["seconds"] / 60,
            "cut_short": training.get("cut_short"),
            "device": training.get("device"),
            "best_validation": max(histories[blocks]["validation_correlation"]),
        } | evaluate(model, dataloaders, ceiling, device)

    print_curves(histories, args.every)
    parted = parting_epoch(
        histories["fast"]["validation_correlation"],
        histories["reference"]["validation_correlation"],
    )
    results["parting_epoch"] = parted
    print(
        f"validation curves within {PARTED} of each other at every epoch both ran"
        if parted is None
        else f"validation curves first differ by more than {PARTED} at epoch {parted}"
    )
    for blocks in BLOCKS:
        run = results[blocks]
        short = f", cut short ({run['cut_short']})" if run["cut_short"] else ""
        print(
            f"{blocks:>9}: {run['epochs']} epochs, {run['minutes']:.1f} min on {run['device']}"
            f"{short}; best validation {run['best_validation']:.4f}"
        )

    print(f"\n{'measure':<15} {'fast':>8} {'reference':>10} {'diff':>8}")
    for key, title in MEASURES.items():
        fast, reference = results["fast"][key], results["reference"][key]
        if not (math.isnan(fast) and math.isnan(reference)):
            print(f"{title:<15} {fast:>8.4f} {reference:>10.4f} {reference - fast:>+8.4f}")
    gap = results["reference"]["test_correlation"] - results["fast"]["test_correlation"]
    results["test_gap"] = gap
    results["holds"] = abs(gap) <= args.tolerance
    verdict = "holds" if results["holds"] else "FAILS"
    print(f"{verdict}  same single-trial test correlation within {args.tolerance}: gap {gap:+.4f}")

    if args.plot is not None:
        plot_curves(histories, args.plot)
        print(f"curves plotted to {args.plot}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
        print(f"figures written to {args.json}")
    return results


if __name__ == "__main__":
    main()

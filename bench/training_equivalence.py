"""Do fens' fast blocks train to the same model as neuralpredictors' own blocks?

The fast readout and depthwise convolutions (:mod:`fens.models.blocks.readout`,
:mod:`fens.models.blocks.depthwise`) give the reference blocks' outputs and gradients to float
tolerance (``tests/models/test_fast_paths.py``). Over a whole training those float differences
grow, so the question here is the end result: two checkpoints of ``fens train`` for the same
model and seed, one with the fast blocks (the default) and one with ``--reference-blocks``, must
reach the same single-trial test correlation within ``--tolerance`` (0.005, issue 5).

The script prints both validation curves side by side (every ``--every`` epochs, the epochs where
a learning rate drops, the last), the epoch where they first part by more than 0.001, and the
test measures of :func:`model_quality.evaluate` for both, each checkpoint loaded on the blocks it
was trained with (its record's ``blocks``; older checkpoints are fast). Float differences can
grow into a gap as large as a change of seed's, so ``--other-seed`` adds a third checkpoint, fast
blocks and another seed, as the yardstick::

    fens train --model sota_cnn --data data/simulated-full --seed 42 --out fast.pt
    fens train --model sota_cnn --data data/simulated-full --seed 42 --out reference.pt \\
        --reference-blocks
    fens train --model sota_cnn --data data/simulated-full --seed 1 --out fast_seed_1.pt
    python bench/training_equivalence.py --data data/simulated-full --fast fast.pt \\
        --reference reference.pt --other-seed fast_seed_1.pt --plot equivalence.png
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from fens.dataset import load_dataset
from fens.models.pretrained import load_pretrained, read_checkpoint
from fens.utility.device import resolve_device

# Scripts under bench/ run with their own folder on sys.path (python bench/<script>.py).
from model_quality import (  # isort: skip
    BATCH_SIZE,
    MEASURES,
    evaluate,
    simulated_ceiling,
    write_figures,
)

TOLERANCE = 0.005  # issue 5: the same test correlation within this
PARTED = 0.001  # validation curves "part" when they differ by more than this
# Each run's role, and the blocks it must have been trained on.
ROLES = {"fast": "fast", "reference": "reference", "other_seed": "fast"}


def read_run(path: Path, role: str) -> dict[str, Any]:
    """The record of the ``fens train`` checkpoint ``path``, checked to fit ``role``."""
    option = "--" + role.replace("_", "-")
    try:
        record = read_checkpoint(path)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"{option}: {error}") from None
    training = record.get("training") or {}
    trained_on = training.get("blocks", "fast")  # written since `fens train --reference-blocks`
    if trained_on != ROLES[role]:
        raise SystemExit(
            f"{option} {path}: its record says it was trained on the {trained_on} blocks"
        )
    if "history" not in training:
        raise SystemExit(f"{option} {path}: no training history in its record (not `fens train`)")
    return record


def parting_epoch(first: Sequence[float], second: Sequence[float]) -> int | None:
    """Index of the first epoch where two validation curves differ by more than
    :data:`PARTED`, or ``None`` if they never do (over the epochs both have)."""
    for epoch, (a, b) in enumerate(zip(first, second, strict=False)):
        if abs(a - b) > PARTED:
            return epoch
    return None


def rows_to_print(histories: Sequence[dict[str, list]], every: int) -> list[int]:
    """Epochs to print: every ``every``-th, each learning-rate drop of any run, the last."""
    n = max(len(history["epoch"]) for history in histories)
    chosen = set(range(0, n, every)) | {n - 1}
    for history in histories:
        lrs = history["lr"]
        chosen |= {i for i in range(1, len(lrs)) if lrs[i] != lrs[i - 1]}
    return sorted(chosen)


def print_curves(histories: dict[str, dict[str, list]], every: int) -> None:
    """Learning rate and validation correlation of each run per epoch, and each run's
    difference from the fast run."""
    others = [role for role in histories if role != "fast"]
    header = "".join(f"  {'lr ' + role:>13} {'val':>7}" for role in histories)
    print(f"{'epoch':>5}{header}" + "".join(f" {role + ' - fast':>18}" for role in others))
    fast = histories["fast"]["validation_correlation"]
    for i in rows_to_print(list(histories.values()), every):
        line = f"{i:>5}"
        for history in histories.values():
            ran = i < len(history["epoch"])
            lr = format(history["lr"][i], ".2e") if ran else "-"
            val = format(history["validation_correlation"][i], ".4f") if ran else "-"
            line += f"  {lr:>13} {val:>7}"
        for role in others:
            curve = histories[role]["validation_correlation"]
            diff = f"{curve[i] - fast[i]:+.4f}" if i < min(len(curve), len(fast)) else "-"
            line += f" {diff:>18}"
        print(line)


def plot_curves(histories: dict[str, dict[str, list]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for role, history in histories.items():
        style = "--" if role == "reference" else "-"  # dashed: visible on top of the fast curve
        ax.plot(
            history["epoch"], history["validation_correlation"], style, label=role.replace("_", " ")
        )
    ax.set(xlabel="epoch", ylabel="validation correlation", title="Fast and reference blocks")
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
    parser.add_argument(
        "--other-seed",
        type=Path,
        default=None,
        help="checkpoint, fast blocks, another seed: how far apart two seeds land, as a yardstick",
    )
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="allowed test gap")
    parser.add_argument("--every", type=int, default=5, help="print every this many epochs")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the fastest)")
    parser.add_argument("--plot", type=Path, default=None, help="save the curves here (.png)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare the checkpoints named in ``argv``; print and return the figures."""
    args = build_parser().parse_args(argv)
    if args.every < 1:
        raise SystemExit(f"--every must be at least 1, got {args.every}")
    paths = {"fast": args.fast, "reference": args.reference, "other_seed": args.other_seed}
    paths = {role: path for role, path in paths.items() if path is not None}
    records = {role: read_run(path, role) for role, path in paths.items()}
    names = {role: record["name"] for role, record in records.items()}
    if len(set(names.values())) > 1:
        raise SystemExit(f"the checkpoints hold different models: {names}")
    trainings = {role: record["training"] for role, record in records.items()}
    seeds = {role: training.get("seed") for role, training in trainings.items()}
    if "other_seed" in seeds and seeds["other_seed"] == seeds["fast"]:
        raise SystemExit(f"--other-seed was trained with the seed of --fast ({seeds['fast']})")

    device = resolve_device(args.device)
    dataloaders = load_dataset(
        args.data, BATCH_SIZE, seed=seeds["fast"], progress=False, device=device
    )
    dataset = dataloaders["test"].dataset
    ceiling = simulated_ceiling(args.data, dataset)
    results: dict[str, Any] = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "model": names["fast"],
        "device": str(device),
        "torch": torch.__version__,
    }
    print(f"{names['fast']} on {args.data} ({dataset.n_neurons} neurons); seeds {seeds}")
    if seeds["fast"] != seeds["reference"]:
        print("the seeds differ: the gap below includes seed-to-seed spread, not only the blocks")

    histories = {role: training["history"] for role, training in trainings.items()}
    for role, path in paths.items():
        model = load_pretrained(path, dataloaders, device=device, fast=ROLES[role] == "fast")
        training = trainings[role]
        results[role] = {
            "file": str(path),
            "seed": seeds[role],
            "epochs": training["epochs"],
            "minutes": training["seconds"] / 60,
            "cut_short": training.get("cut_short"),
            "device": training.get("device"),
            "best_validation": max(histories[role]["validation_correlation"]),
        } | evaluate(model, dataloaders, ceiling, device)
        if role != "fast":
            results[role]["parting_epoch"] = parting_epoch(
                histories["fast"]["validation_correlation"],
                histories[role]["validation_correlation"],
            )

    print_curves(histories, args.every)
    for role in paths:
        run = results[role]
        short = f", cut short ({run['cut_short']})" if run["cut_short"] else ""
        print(
            f"{role:>10}: {run['epochs']} epochs, {run['minutes']:.1f} min on {run['device']}"
            f"{short}; best validation {run['best_validation']:.4f}"
        )
        if role != "fast":
            parted = run["parting_epoch"]
            print(
                f"{'':>12}validation within {PARTED} of fast's at every epoch both ran"
                if parted is None
                else f"{'':>12}validation first differs from fast's by more than {PARTED} "
                f"at epoch {parted}"
            )

    others = [role for role in paths if role != "fast"]
    print(f"\n{'measure':<15} {'fast':>8}" + "".join(f" {role:>10} {'diff':>8}" for role in others))
    for key, title in MEASURES.items():
        fast = results["fast"][key]
        if math.isnan(fast):
            continue
        cells = "".join(
            f" {results[role][key]:>10.4f} {results[role][key] - fast:>+8.4f}" for role in others
        )
        print(f"{title:<15} {fast:>8.4f}{cells}")
    gap = results["reference"]["test_correlation"] - results["fast"]["test_correlation"]
    results["test_gap"] = gap
    results["holds"] = abs(gap) <= args.tolerance
    verdict = "holds" if results["holds"] else "FAILS"
    print(f"{verdict}  same single-trial test correlation within {args.tolerance}: gap {gap:+.4f}")
    if "other_seed" in results:
        seed_gap = results["other_seed"]["test_correlation"] - results["fast"]["test_correlation"]
        results["seed_gap"] = seed_gap
        print(f"       (another seed on the fast blocks: gap {seed_gap:+.4f})")

    if args.plot is not None:
        plot_curves(histories, args.plot)
        print(f"curves plotted to {args.plot}")
    if args.json is not None:
        write_figures(results, args.json)
    return results


if __name__ == "__main__":
    main()

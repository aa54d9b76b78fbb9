"""Do a trained model's MEIs, gradient RFs and orientation preferences match the simulator's truth?

Loads a checkpoint trained on a simulated data set, picks the ``--neurons`` best-predicted
neurons (single-trial test correlation; ``--per-type`` picks that many of each cell type), and
runs :func:`fens.analysis.truth.compare_to_truth`: per neuron the correlation of the MEI and the
gradient receptive field with the true filter (simple cells; the best-matching phase of the
quadrature pair for complex cells; for subunit and deep cells the MEI of the ground truth itself)
and the error of the preferred orientation from the model's tuning curve. Prints the summary of :func:`fens.analysis.truth.summarize_truth_comparison` (the
issue's targets: median MEI-truth correlation of simple cells >= 0.7, >= 80% of tuned neurons
within 15 degrees), the same per cell type, and the time taken.

    python bench/mei_truth.py --data data/simulated-full --model sota_cnn --neurons 256
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fens.analysis.truth import (
    compare_to_truth,
    summarize_truth_comparison,
    well_predicted_neurons,
)
from fens.dataset import load_dataset
from fens.models import load_pretrained
from fens.simulate import GroundTruth
from fens.simulate.neurons import CELL_TYPES
from fens.utility import measures
from fens.utility.device import resolve_device


def choose_neurons(
    correlations: np.ndarray, cell_types: np.ndarray, n: int, per_type: bool
) -> np.ndarray:
    """The ``n`` best-predicted neurons, or the ``n`` best of each cell type."""
    if not per_type:
        return well_predicted_neurons(correlations, n=n)
    chosen = []
    for cell_type in CELL_TYPES:
        masked = np.where(cell_types == cell_type, correlations, np.nan)
        chosen.append(well_predicted_neurons(masked, n=n)[: int((cell_types == cell_type).sum())])
    return np.concatenate(chosen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="simulated data set folder")
    parser.add_argument("--model", default="sota_cnn", help="shipped checkpoint or .pt file")
    parser.add_argument("--neurons", type=int, default=64, help="best-predicted neurons scored")
    parser.add_argument("--per-type", action="store_true", help="--neurons of each cell type")
    parser.add_argument("--iterations", type=int, default=500, help="MEI steps")
    parser.add_argument("--lr", type=float, default=100.0, help="MEI learning rate")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", type=Path, help="write the per-neuron table here")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    device = resolve_device(args.device)
    loaders = load_dataset(args.data, batch_size=60, progress=False)
    model = load_pretrained(args.model, loaders, device=device)
    truth = GroundTruth.load(args.data)
    correlations = measures.get_correlations(model, loaders["test"], device=device, per_neuron=True)
    ids = choose_neurons(correlations, np.asarray(truth.cell_type), args.neurons, args.per_type)
    stats = loaders["train"].dataset.statistics.images.all
    table = compare_to_truth(
        model, truth=truth, neuron_indices=ids, image_mean=float(stats.mean),
        image_std=float(stats.std), mei_iterations=args.iterations, mei_lr=args.lr,
        correlations=correlations, device=device,
    )  # fmt: skip
    seconds = time.perf_counter() - start

    print(
        f"model {args.model}, {len(ids)} neurons (test correlation {correlations[ids].min():.3f}"
        f" to {correlations[ids].max():.3f}), MEIs {args.iterations} steps at lr {args.lr}, "
        f"device {device}, {seconds:.0f} s"
    )
    print("all:", json.dumps(summarize_truth_comparison(table)))
    for cell_type in CELL_TYPES:
        rows = table["cell_type"] == cell_type
        if rows.any():
            subset = {key: np.asarray(value)[rows] for key, value in table.items()}
            print(f"{cell_type} ({rows.sum()}):", json.dumps(summarize_truth_comparison(subset)))
    if args.json:
        serialisable = {key: np.asarray(value).tolist() for key, value in table.items()}
        args.json.write_text(json.dumps(serialisable))


if __name__ == "__main__":
    main()

"""Where does one model lose to another? Two checkpoints compared neuron by neuron, by the truth.

Loads two checkpoints of ``fens train`` (or shipped ones) trained on the same simulated data set,
each on the neurons it was trained on (all of them, or the ``--neuron-n`` draw of ``fens
train``), and compares their single-trial test correlations on the neurons both predict. The
neurons are grouped by what the simulator built into them (:class:`fens.simulate.GroundTruth`):
cell type (weakly responsive neurons as ``weak``), and, among the responsive ones, quartiles of
spatial frequency (cycles/pixel), Gabor envelope sd (pixels) and jackknife oracle. Per group it
prints the mean oracle, each model's mean correlation and fraction of the oracle (ratio of the
means) and the ratio of the two models' means: the groups where the ratio is lowest are where the
first model runs short.

    fens train --model cnn --data D --seed 1 --neuron-n 1000 --out cnn.pt
    fens train --model sota_cnn --data D --seed 1 --out sota_cnn.pt
    python bench/model_gap.py --data D --checkpoint cnn.pt --checkpoint sota_cnn.pt
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from fens.dataset import load_dataset
from fens.models import load_pretrained
from fens.models.pretrained import read_checkpoint
from fens.simulate import GroundTruth
from fens.utility import measures
from fens.utility.device import resolve_device

BATCH_SIZE = 60
QUARTILES = (0.25, 0.5, 0.75)


def checkpoint_correlations(
    checkpoint: str | Path, data: Path, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """``(neuron indices, single-trial test correlations)`` of a checkpoint on ``data``.

    The indices are into the data set's full population (``dataset.neuron_idx``). A checkpoint
    trained on fewer neurons than the data set has is loaded on the draw ``fens train
    --neuron-n`` makes (:func:`fens.dataset.load_dataset`'s ``neuron_n``, base seed 0);
    :func:`~fens.models.load_pretrained` refuses it if those are not its neurons.
    """
    n_trained = read_checkpoint(checkpoint)["data"]["n_neurons"]
    loaders = load_dataset(data, batch_size=BATCH_SIZE, progress=False)
    if n_trained < loaders["test"].dataset.n_neurons:
        loaders = load_dataset(data, batch_size=BATCH_SIZE, neuron_n=n_trained, progress=False)
    model = load_pretrained(checkpoint, loaders, device=device)
    correlations = measures.get_correlations(model, loaders["test"], device=device)
    return np.asarray(loaders["test"].dataset.neuron_idx), correlations


def quartile_labels(values: np.ndarray, digits: int = 3) -> tuple[np.ndarray, list[str]]:
    """``(n,)`` labels ``'low-high'`` of the quartile of ``values`` each value falls in, and
    the four labels from the lowest quartile up."""
    edges = np.quantile(values, [0.0, *QUARTILES, 1.0])
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    names = [f"{edges[i]:.{digits}f}-{edges[i + 1]:.{digits}f}" for i in range(4)]
    return np.array(names)[bins], names


def gap_rows(
    labels: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    oracle: np.ndarray,
    order: Sequence[str] | None = None,
) -> list[dict]:
    """One row per label (in ``order``, default sorted; labels without neurons left out):
    ``n``, the mean ``oracle``, each model's mean correlation (``first``, ``second``), each
    one's fraction of the oracle (ratio of the means) and ``ratio`` = mean first / mean
    second. All arrays ``(neurons,)``."""
    rows = []
    for label in np.unique(labels) if order is None else order:
        keep = labels == label
        if not keep.any():
            continue
        o, a, b = oracle[keep].mean(), first[keep].mean(), second[keep].mean()
        rows.append(
            {
                "group": str(label),
                "n": int(keep.sum()),
                "oracle": float(o),
                "first": float(a),
                "second": float(b),
                "first_fraction_oracle": float(a / o),
                "second_fraction_oracle": float(b / o),
                "ratio": float(a / b),
            }
        )
    return rows


def groupings(truth: GroundTruth, neurons: np.ndarray, oracle: np.ndarray) -> dict:
    """``{grouping name: (mask of the neurons it covers, their labels, the labels' order)}``
    for ``neurons`` (indices into ``truth``) with jackknife ``oracle`` ``(len(neurons),)``."""
    responsive = np.asarray(truth.responsive)[neurons]
    kinds = np.where(responsive, np.asarray(truth.cell_type)[neurons], "weak")
    every = np.ones(len(neurons), dtype=bool)
    by_property = {
        "spatial frequency (cycles/pixel), responsive": truth.spatial_frequency[neurons],
        "envelope sd (pixels), responsive": truth.size[neurons],
        "jackknife oracle, responsive": oracle,
    }
    return {"cell type": (every, kinds, None)} | {
        name: (responsive, *quartile_labels(values[responsive]))
        for name, values in by_property.items()
    }


def compare(
    data: Path, checkpoints: Sequence[str | Path], device: str | None = None
) -> dict[str, list[dict]]:
    """Every grouping's :func:`gap_rows` for two checkpoints on the neurons both predict, with
    ``'all'`` (one row) first."""
    if len(checkpoints) != 2:
        raise ValueError(f"give exactly two checkpoints, got {len(checkpoints)}: {checkpoints}")
    device = resolve_device(device)
    (ids_a, corr_a), (ids_b, corr_b) = (
        checkpoint_correlations(c, data, device) for c in checkpoints
    )
    common, in_a, in_b = np.intersect1d(ids_a, ids_b, return_indices=True)
    if common.size == 0:
        raise ValueError(f"the checkpoints {checkpoints} share no neurons")
    loaders = load_dataset(data, batch_size=BATCH_SIZE, progress=False)
    oracle_all = measures.get_oracles(loaders, per_neuron=True)
    position = {int(n): i for i, n in enumerate(loaders["test"].dataset.neuron_idx)}
    oracle = oracle_all[[position[int(n)] for n in common]]
    first, second = corr_a[in_a], corr_b[in_b]
    table = {"all": gap_rows(np.full(common.size, "all"), first, second, oracle)}
    for name, (mask, labels, order) in groupings(GroundTruth.load(data), common, oracle).items():
        table[name] = gap_rows(labels, first[mask], second[mask], oracle[mask], order)
    return table


def print_table(table: Mapping[str, list[dict]], names: Sequence[str]) -> None:
    first, second = names
    print(f"first: {first}\nsecond: {second}")
    header = f"{'group':>14} {'n':>5} {'oracle':>7} {'first':>7} {'second':>7} "
    header += f"{'1st/or':>7} {'2nd/or':>7} {'1st/2nd':>8}"
    for name, rows in table.items():
        print(f"\n{name}\n{header}")
        for r in rows:
            print(
                f"{r['group']:>14} {r['n']:>5} {r['oracle']:>7.3f} {r['first']:>7.3f} "
                f"{r['second']:>7.3f} {r['first_fraction_oracle']:>7.3f} "
                f"{r['second_fraction_oracle']:>7.3f} {r['ratio']:>8.3f}"
            )


def main(argv: Sequence[str] | None = None) -> dict[str, list[dict]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="simulated data set folder")
    parser.add_argument(
        "--checkpoint", action="append", required=True, help="twice: first and second model"
    )
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args(argv)
    if not (args.data / "ground_truth").is_dir():
        parser.error(f"--data {args.data} has no ground_truth/: it must be a simulated data set")
    try:
        table = compare(args.data, args.checkpoint, args.device)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"model_gap: {error}") from None
    print_table(table, args.checkpoint)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return table


if __name__ == "__main__":
    main()

"""Where does one model lose to another? Checkpoints compared neuron by neuron, by the truth.

Loads two or more checkpoints of ``fens train`` (or shipped ones) trained on the same simulated
data set, each on the neurons it was trained on (all of them, or the ``--neuron-n`` draw of
``fens train``), and compares their single-trial test correlations on the neurons all of them
predict. The neurons are grouped by what the simulator built into them
(:class:`fens.simulate.GroundTruth`): cell type (weakly responsive neurons as ``weak``), and,
among the responsive ones, quartiles of spatial frequency (cycles/pixel), Gabor envelope sd
(pixels) and jackknife oracle. Per group it prints the mean oracle and, per model, the mean
correlation, the fraction of the oracle (ratio of the means) and the ratio of its mean to the
last model's (the reference): the groups where that ratio is lowest are where a model runs
short.

    fens train --model ln --data D --seed 1 --out ln.pt
    fens train --model cnn --data D --seed 1 --neuron-n 1000 --out cnn.pt
    fens train --model sota_cnn --data D --seed 1 --out sota_cnn.pt
    python bench/model_gap.py --data D --checkpoint ln.pt --checkpoint cnn.pt \\
        --checkpoint sota_cnn.pt
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


def positions(neurons: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` (neuron indices) is in ``neurons`` (any order)."""
    where = {int(n): i for i, n in enumerate(neurons)}
    return np.array([where[int(n)] for n in wanted], dtype=np.int64)


def quartile_labels(values: np.ndarray, digits: int = 3) -> tuple[np.ndarray, list[str]]:
    """``(n,)`` labels ``'low-high'`` of the quartile of ``values`` each value falls in, and
    the four labels from the lowest quartile up."""
    edges = np.quantile(values, [0.0, *QUARTILES, 1.0])
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    names = [f"{edges[i]:.{digits}f}-{edges[i + 1]:.{digits}f}" for i in range(4)]
    return np.array(names)[bins], names


def gap_rows(
    labels: np.ndarray,
    correlations: np.ndarray,
    oracle: np.ndarray,
    order: Sequence[str] | None = None,
) -> list[dict]:
    """One row per label (in ``order``, default sorted; labels without neurons left out).

    Args:
        labels: ``(neurons,)`` each neuron's group.
        correlations: ``(models, neurons)`` single-trial test correlations; the last model is
            the reference.
        oracle: ``(neurons,)`` jackknife oracle.
        order: the labels in the order of the rows.

    Returns:
        Rows with ``group``, ``n``, the mean ``oracle``, and per model (lists over models):
        ``correlation`` (mean), ``fraction_oracle`` (ratio of the means) and
        ``ratio_to_reference`` (its mean over the reference's mean).
    """
    rows = []
    for label in np.unique(labels) if order is None else order:
        keep = labels == label
        if not keep.any():
            continue
        means = correlations[:, keep].mean(axis=1)
        o = oracle[keep].mean()
        rows.append(
            {
                "group": str(label),
                "n": int(keep.sum()),
                "oracle": float(o),
                "correlation": means.tolist(),
                "fraction_oracle": (means / o).tolist(),
                "ratio_to_reference": (means / means[-1]).tolist(),
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
    """Every grouping's :func:`gap_rows` for two or more checkpoints (the last one the
    reference) on the neurons all of them predict, with ``'all'`` (one row) first."""
    if len(checkpoints) < 2:
        raise ValueError(f"give two checkpoints or more, got {len(checkpoints)}: {checkpoints}")
    device = resolve_device(device)
    results = [checkpoint_correlations(c, data, device) for c in checkpoints]
    common = results[0][0]
    for ids, _ in results[1:]:
        common = np.intersect1d(common, ids)
    if common.size == 0:
        raise ValueError(f"the checkpoints {list(map(str, checkpoints))} share no neurons")
    correlations = np.stack([c[positions(ids, common)] for ids, c in results])
    loaders = load_dataset(data, batch_size=BATCH_SIZE, progress=False)
    oracle_all = measures.get_oracles(loaders, per_neuron=True)
    oracle = oracle_all[positions(loaders["test"].dataset.neuron_idx, common)]
    table = {"all": gap_rows(np.full(common.size, "all"), correlations, oracle)}
    for name, (mask, labels, order) in groupings(GroundTruth.load(data), common, oracle).items():
        table[name] = gap_rows(labels, correlations[:, mask], oracle[mask], order)
    return table


def print_table(table: Mapping[str, list[dict]], names: Sequence[str]) -> None:
    """Each grouping as a table: per model its mean correlation, fraction of the oracle and
    ratio to the reference (the last model; its own ratio, always 1, left out)."""
    for i, name in enumerate(names, start=1):
        print(f"model {i}: {name}" + (" (reference)" if i == len(names) else ""))
    header = f"{'group':>14} {'n':>5} {'oracle':>6} " + " ".join(
        f"{f'{i}:corr':>7} {f'{i}/or':>6}" + (f" {f'{i}/ref':>6}" if i < len(names) else "")
        for i in range(1, len(names) + 1)
    )
    for grouping, rows in table.items():
        print(f"\n{grouping}\n{header}")
        for r in rows:
            cells = [
                f"{c:>7.3f} {f:>6.3f}" + (f" {q:>6.3f}" if i < len(names) - 1 else "")
                for i, (c, f, q) in enumerate(
                    zip(
                        r["correlation"], r["fraction_oracle"], r["ratio_to_reference"], strict=True
                    )
                )
            ]
            print(f"{r['group']:>14} {r['n']:>5} {r['oracle']:>6.3f} " + " ".join(cells))


def main(argv: Sequence[str] | None = None) -> dict[str, list[dict]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="simulated data set folder")
    parser.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        help="a model to compare (twice or more; the last one is the reference)",
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

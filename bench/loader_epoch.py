"""One training epoch of data loading: fens' loader against the original per-file reader.

The original pipeline (FENS-2022, via neuralpredictors' ``FileTreeDataset``) opens one ``.npy``
per image and one per response for every item of every epoch. ``fens.dataset.load_dataset``
reads every file once into memory (and caches the stacked arrays outside the data set folder).
Both are timed in the same run, on the same folder, iterating the training split with batch 60,
and checked to yield the same values.

    python bench/loader_epoch.py --data data/simulated-full [--epochs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, SubsetRandomSampler

import fens.compat  # noqa: F401  (makes neuralpredictors 0.3.0 importable)
from fens.dataset import load_dataset


def original_loader(path: Path, batch_size: int, seed: int) -> DataLoader:
    """The original FENS-2022 training loader: per-item file reads and transforms."""
    from neuralpredictors.data.datasets import FileTreeDataset
    from neuralpredictors.data.transforms import NeuroNormalizer, ToTensor

    dataset = FileTreeDataset(str(path), "images", "responses")
    dataset.transforms.extend([NeuroNormalizer(dataset, exclude="images"), ToTensor(False)])
    train = np.flatnonzero(dataset.trial_info.tiers == "train")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        sampler=SubsetRandomSampler(train.tolist(), generator=generator),
        batch_size=batch_size,
    )


def epoch_seconds(loader: DataLoader) -> tuple[float, float]:
    """Seconds for one pass over ``loader`` and a checksum of what it yielded."""
    start, total = time.perf_counter(), 0.0
    for images, responses in loader:
        total += float(images.sum()) + float(responses.sum())
    return time.perf_counter() - start, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder (full preset)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        ours = load_dataset(args.data, args.batch_size, seed=0, cache_dir=cache, progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        ours = load_dataset(args.data, args.batch_size, seed=0, cache_dir=cache, progress=False)
        warm = time.perf_counter() - start

    base = original_loader(args.data, args.batch_size, seed=0)
    rows = []
    for epoch in range(args.epochs):
        base_s, base_sum = epoch_seconds(base)
        ours_s, ours_sum = epoch_seconds(ours["train"])
        rows.append((epoch, base_s, ours_s))
        if not np.isclose(base_sum, ours_sum, rtol=1e-4):
            raise SystemExit(f"the two loaders disagree: checksums {base_sum} vs {ours_sum}")

    dataset = ours["train"].dataset
    print(
        f"data: {args.data} ({len(dataset)} trials, {dataset.n_neurons} neurons), "
        f"train split {len(ours['train'].sampler)} trials, batch {args.batch_size}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"fens load_dataset: first call (reads every file, fills the cache) {cold:.2f} s; "
        f"second call (from the cache) {warm:.2f} s"
    )
    print(f"{'epoch':>5} {'original (s)':>13} {'fens (s)':>9} {'ratio':>7}")
    for epoch, base_s, ours_s in rows:
        print(f"{epoch:>5} {base_s:>13.3f} {ours_s:>9.3f} {base_s / ours_s:>6.1f}x")


if __name__ == "__main__":
    main()

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


def timed(build) -> tuple[float, DataLoader]:
    start = time.perf_counter()
    loader = build()
    return time.perf_counter() - start, loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder (full preset)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=60)
    args = parser.parse_args()

    def ours(cache: str):
        return load_dataset(args.data, args.batch_size, seed=0, cache_dir=cache, progress=False)

    with tempfile.TemporaryDirectory() as cache:
        runs = {
            "original (neuralpredictors FileTreeDataset)": timed(
                lambda: original_loader(args.data, args.batch_size, seed=0)
            ),
            "fens, first use (reads the files, fills the cache)": timed(
                lambda: ours(cache)["train"]
            ),
            "fens, any later process (from the cache)": timed(lambda: ours(cache)["train"]),
        }
        epochs = {name: [] for name in runs}
        checksums = set()
        for _ in range(args.epochs):
            for name, (_, loader) in runs.items():
                seconds, checksum = epoch_seconds(loader)
                epochs[name].append(seconds)
                checksums.add(round(checksum, -3))
    if len(checksums) != 1:
        raise SystemExit(f"the loaders disagree: checksums {sorted(checksums)}")

    dataset = runs["fens, any later process (from the cache)"][1].dataset
    print(
        f"data: {args.data} ({len(dataset)} trials, {dataset.n_neurons} neurons); training split "
        f"of {len(dataset.trial_info.tiers[dataset.trial_info.tiers == 'train'])} trials, "
        f"batch {args.batch_size}, torch threads {torch.get_num_threads()}; the loaders agree"
    )
    header = "".join(f"{f'epoch {i + 1} (s)':>13}" for i in range(args.epochs))
    print(f"{'loader':<52}{'build (s)':>10}{header}")
    for name, (build, _) in runs.items():
        print(f"{name:<52}{build:>10.2f}" + "".join(f"{s:>13.3f}" for s in epochs[name]))
    base_first = runs[next(iter(runs))][0] + epochs[next(iter(runs))][0]
    base_later = min(epochs[next(iter(runs))][1:] or epochs[next(iter(runs))])
    ours_later = min(epochs["fens, any later process (from the cache)"])
    warm_first = runs["fens, any later process (from the cache)"][0] + ours_later
    print(
        f"new process, build + first epoch: original {base_first:.2f} s, fens {warm_first:.2f} s "
        f"({base_first / warm_first:.1f}x); steady epoch: original {base_later:.3f} s, "
        f"fens {ours_later:.3f} s ({base_later / ours_later:.1f}x)"
    )


if __name__ == "__main__":
    main()

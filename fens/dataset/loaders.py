"""PyTorch DataLoaders over a recording: train (shuffled), validation and test (in order)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, SubsetRandomSampler

from fens.dataset.errors import DatasetError
from fens.dataset.filetree import TIERS, Namespace, read_fields, require_dir
from fens.dataset.static import Sample, StaticImageSet
from fens.utility.checks import check_int
from fens.utility.deprecation import deprecated_arguments
from fens.utility.device import resolve_device


class SubsetSequentialSampler(Sampler[int]):
    """Yields the given trial indices in the given order (validation and test sets)."""

    def __init__(self, indices: Sequence[int]) -> None:
        self.indices = np.asarray(indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices.tolist())

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"SubsetSequentialSampler(trials={len(self)})"


class RepeatsBatchSampler(Sampler[list[int]]):
    """One batch per unique image: all trials that showed it (repeats may differ in number).

    Attributes:
        image_ids: ``(images,)`` the image of each batch, in order of first appearance.
        batches: one array of trial indices per image.
        indices: all trial indices, batch after batch.
    """

    def __init__(self, image_ids: np.ndarray, indices: Sequence[int]) -> None:
        indices = np.asarray(indices)
        ids_of_trials = np.asarray(image_ids)[indices]
        _, first = np.unique(ids_of_trials, return_index=True)
        self.image_ids = ids_of_trials[np.sort(first)]
        self.batches = [indices[ids_of_trials == image_id] for image_id in self.image_ids]
        self.indices = np.concatenate(self.batches) if self.batches else indices[:0]

    def __iter__(self) -> Iterator[list[int]]:
        return (batch.tolist() for batch in self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __repr__(self) -> str:
        return f"RepeatsBatchSampler(images={len(self)}, trials={len(self.indices)})"


class TrialLoader(DataLoader):
    """A DataLoader over an in-memory :class:`StaticImageSet` that gathers each batch at once.

    It behaves as a plain DataLoader (``loader.sampler``, ``loader.batch_sampler``,
    ``len(loader)``, ``loader.dataset``), but since every trial is already in memory it takes
    each batch with one indexing operation instead of collating trial by trial.

    Attributes:
        tier: the split it yields (``'train'``, ``'validation'`` or ``'test'``), or ``None``.
    """

    def __init__(self, dataset: StaticImageSet, *, tier: str | None = None, **kwargs) -> None:
        super().__init__(dataset, **kwargs)
        self.tier = tier

    @property
    def n_trials(self) -> int:
        """The number of trials one pass over the loader yields."""
        if isinstance(self.batch_sampler, RepeatsBatchSampler):
            return len(self.batch_sampler.indices)
        return len(self.sampler)

    def __iter__(self) -> Iterator[Sample]:
        for trials in self.batch_sampler:
            yield self.dataset.batch(trials)

    def __repr__(self) -> str:
        if isinstance(self.batch_sampler, RepeatsBatchSampler):
            batch_size = "'all repeats of one image'"
        else:
            batch_size = str(self.batch_size)
        return (
            f"TrialLoader(tier={self.tier!r}, trials={self.n_trials}, batch_size={batch_size}, "
            f"batches={len(self)}, device={str(self.dataset.images.device)!r})"
        )


def select_neurons(
    neurons: Namespace,
    unit_ids: Sequence[int] | None = None,
    neuron_n: int | None = None,
    neuron_base_seed: int = 0,
    exclude_neuron_n: int = 0,
    areas: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
    where: Path | None = None,
) -> np.ndarray:
    """Indices of the neurons to keep, sorted.

    Args:
        neurons: all neurons' metadata (``unit_ids``, and ``area``/``layer`` when filtering).
        unit_ids: keep the neurons with these recording unit ids (``neurons.unit_ids``), in
            this order.
        neuron_n: keep this many neurons drawn at random (seeded by ``neuron_base_seed``) among
            those left by ``areas``/``layers``, after dropping the first ``exclude_neuron_n``
            of the same random draw (so that two calls can take disjoint sets).
        where: the meta folder, named in error messages.
    """
    recorded = np.asarray(neurons.unit_ids)
    if unit_ids is not None:
        if neuron_n is not None or areas is not None or layers is not None or exclude_neuron_n:
            raise ValueError(
                "unit_ids cannot be combined with neuron_n, exclude_neuron_n, areas or layers"
            )
        wanted = [int(u) for u in unit_ids]
        position = {int(u): i for i, u in enumerate(recorded)}
        unknown = [u for u in wanted if u not in position]
        if unknown:
            raise DatasetError(f"unknown unit_ids {unknown[:10]} (not in unit_ids.npy of {where})")
        repeated = sorted({u for u in wanted if wanted.count(u) > 1})
        if repeated:
            raise ValueError(f"unit_ids lists {repeated[:10]} more than once")
        return np.array([position[u] for u in wanted], dtype=np.int64)

    keep = np.ones(len(recorded), dtype=bool)
    for name, wanted in (("area", areas), ("layer", layers)):
        if wanted is not None:
            if name not in neurons:
                raise DatasetError(f"cannot select by {name}: no {name}.npy in {where}")
            keep &= np.isin(neurons[name], list(wanted))
    candidates = np.flatnonzero(keep)
    if neuron_n is None:
        return candidates
    if neuron_n < 1 or neuron_n + exclude_neuron_n > len(candidates):
        raise ValueError(
            f"neuron_n={neuron_n} (after excluding {exclude_neuron_n}) must be between 1 and the "
            f"{len(candidates)} neurons available"
        )
    rng = np.random.default_rng(neuron_base_seed)
    drawn = rng.permutation(candidates)[exclude_neuron_n : exclude_neuron_n + neuron_n]
    return np.sort(drawn)


def select_train_trials(
    tiers: np.ndarray,
    image_ids: np.ndarray,
    image_n: int | None = None,
    image_base_seed: int = 0,
    train_image_ids: Sequence[int] | None = None,
) -> np.ndarray:
    """Indices of the training trials to use (all, a seeded random ``image_n``, or chosen ids)."""
    train = np.flatnonzero(tiers == "train")
    if train_image_ids is not None:
        if image_n is not None:
            raise ValueError("image_ids cannot be combined with image_n")
        chosen = np.isin(image_ids[train], list(train_image_ids))
        missing = set(map(int, train_image_ids)) - set(image_ids[train][chosen].tolist())
        if missing:
            raise ValueError(f"image_ids {sorted(missing)[:10]} are not training images")
        return train[chosen]
    if image_n is None:
        return train
    if not 1 <= image_n <= len(train):
        raise ValueError(
            f"image_n={image_n} must be between 1 and the {len(train)} training trials"
        )
    rng = np.random.default_rng(image_base_seed)
    return np.sort(rng.choice(train, size=image_n, replace=False))


@deprecated_arguments(renamed={"neuron_ids": "unit_ids"})
def load_dataset(
    path: str | Path,
    batch_size: int,
    *,
    tier: str | None = None,
    seed: int | None = None,
    unit_ids: Sequence[int] | None = None,
    neuron_n: int | None = None,
    neuron_base_seed: int = 0,
    exclude_neuron_n: int = 0,
    areas: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
    image_ids: Sequence[int] | None = None,
    image_n: int | None = None,
    image_base_seed: int = 0,
    normalize: bool = True,
    return_test_sampler: bool = False,
    cache_dir: str | Path | None = "default",
    progress: bool = True,
    device: str | torch.device | None = None,
) -> dict[str, DataLoader]:
    """DataLoaders over a data set folder in the Lurz et al. (ICLR 2021) file-tree format.

    Each batch is ``(images, responses)``: images ``(batch, 1, 36, 64)`` float32 with raw pixel
    values 0..255, responses ``(batch, neurons)`` float32, each neuron divided by its standard
    deviation over all trials (floored at 1% of the mean std) when ``normalize``.

    Args:
        path: the data set folder (e.g. ``Lurz2020/static20457-5-9-preproc0``, or one written by
            ``fens simulate``).
        batch_size: trials per batch.
        tier: build only this loader (``'train'``, ``'validation'`` or ``'test'``).
        seed: seeds the shuffling of the training loader (default: torch's global generator).
        unit_ids: keep the neurons with these recording unit ids (``neurons.unit_ids``), in
            this order, and no others. (Its old name ``neuron_ids=`` still works for one
            release, with a ``DeprecationWarning``; column indices of the responses are
            "neuron indices" everywhere in fens.)
        neuron_n: keep this many neurons drawn at random with ``neuron_base_seed``
            (after dropping the first ``exclude_neuron_n`` of the draw).
        areas, layers: keep only neurons in these areas / layers.
        image_ids: train on these training images only (by ``frame_image_id``).
        image_n: train on this many training trials drawn with ``image_base_seed``.
        normalize: divide responses by their per-neuron std.
        return_test_sampler: return only ``{'test': loader}`` whose every batch holds all repeats
            of one test image (for oracles and correlations to the average).
        cache_dir: where the stacked arrays are cached (never inside ``path``); ``None``: none.
        progress: show progress bars the first time the trial files are read.
        device: keep every trial on this device (``'cuda'``: batches are gathered on the GPU,
            with no copy per step); default: host memory. See :meth:`StaticImageSet.to`. An
            unavailable accelerator falls back to the CPU with a warning, as in training.

    Returns:
        ``{'train': ..., 'validation': ..., 'test': ...}`` (or the one ``tier``), each a
        :class:`TrialLoader`. All loaders share
        one :class:`~fens.dataset.static.StaticImageSet` holding every trial;
        ``len(loader.sampler)`` is the number of trials in the split.

    Raises:
        DatasetError: the folder, a file, a shape, a value or a label is missing or wrong; the
            message names the path.
        ValueError: an argument is out of range; the message names it and shows the value.
    """
    batch_size = check_int("batch_size", batch_size)
    check_int("seed", seed, minimum=0, optional=True)
    check_int("neuron_n", neuron_n, optional=True)
    check_int("image_n", image_n, optional=True)
    for name, value in (
        ("neuron_base_seed", neuron_base_seed),
        ("exclude_neuron_n", exclude_neuron_n),
        ("image_base_seed", image_base_seed),
    ):
        check_int(name, value, minimum=0)
    if tier is not None and tier not in TIERS:
        raise ValueError(f"tier must be one of {list(TIERS)} or None, got {tier!r}")
    path = Path(path)
    meta = require_dir(require_dir(path, "data set") / "meta", "meta")
    neuron_idx = select_neurons(
        read_fields(meta / "neurons", ("unit_ids",)),
        unit_ids=unit_ids,
        neuron_n=neuron_n,
        neuron_base_seed=neuron_base_seed,
        exclude_neuron_n=exclude_neuron_n,
        areas=areas,
        layers=layers,
        where=meta / "neurons",
    )
    dataset = StaticImageSet(
        path, neuron_idx=neuron_idx, normalize=normalize, cache_dir=cache_dir, progress=progress
    )
    if device is not None:
        dataset.to(resolve_device(device))
    tiers = dataset.trial_info.tiers
    image_id_of_trial = dataset.trial_info.frame_image_id

    if return_test_sampler:
        batches = RepeatsBatchSampler(image_id_of_trial, np.flatnonzero(tiers == "test"))
        return {"test": TrialLoader(dataset, tier="test", batch_sampler=batches)}

    loaders = {}
    for split in [tier] if tier else TIERS:
        if split == "train":
            indices = select_train_trials(
                tiers, image_id_of_trial, image_n, image_base_seed, train_image_ids=image_ids
            )
            generator = None if seed is None else torch.Generator().manual_seed(seed)
            sampler = SubsetRandomSampler(indices.tolist(), generator=generator)
        else:
            sampler = SubsetSequentialSampler(np.flatnonzero(tiers == split))
        loaders[split] = TrialLoader(dataset, tier=split, sampler=sampler, batch_size=batch_size)
    return loaders

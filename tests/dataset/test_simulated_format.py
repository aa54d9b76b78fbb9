"""The simulated data set is read by our loader and by neuralpredictors' own reader alike."""

import numpy as np

import fens.compat  # noqa: F401  (neuralpredictors 0.3.0 on Python >= 3.10)
from fens.dataset import load_dataset


def test_tiny_loads_through_load_dataset(tiny_dataset):
    loaders = load_dataset(tiny_dataset, batch_size=16, seed=0, progress=False)
    dataset = loaders["train"].dataset
    sizes = {split: len(loader.sampler) for split, loader in loaders.items()}
    assert sum(sizes.values()) == len(dataset) and min(sizes.values()) > 0
    images, responses = next(iter(loaders["train"]))
    assert images.shape == (16, 1, 36, 64)
    assert responses.shape == (16, dataset.n_neurons)
    assert 0 <= float(images.min()) and float(images.max()) <= 255
    assert float(responses.min()) >= 0

    repeats = load_dataset(tiny_dataset, batch_size=16, return_test_sampler=True)["test"]
    counts = [len(batch) for batch in repeats.batch_sampler]
    assert sum(counts) == sizes["test"] and min(counts) >= 2


def test_tiny_loads_through_neuralpredictors_filetree_dataset(tiny_dataset):
    from neuralpredictors.data.datasets import FileTreeDataset

    before = sorted(p.name for p in tiny_dataset.iterdir())
    theirs = FileTreeDataset(str(tiny_dataset), "images", "responses")
    ours = load_dataset(tiny_dataset, batch_size=8, normalize=False, progress=False)["test"].dataset
    assert len(theirs) == len(ours)
    np.testing.assert_array_equal(theirs.trial_info.tiers, ours.trial_info.tiers)
    np.testing.assert_array_equal(theirs.neurons.unit_ids, ours.neurons.unit_ids)
    for trial in (0, len(ours) // 2, len(ours) - 1):
        item = theirs[trial]
        np.testing.assert_array_equal(item.images, ours.images[trial].numpy())
        np.testing.assert_array_equal(item.responses, ours.responses[trial].numpy())
    assert sorted(p.name for p in tiny_dataset.iterdir()) == before  # it wrote nothing

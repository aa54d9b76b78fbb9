"""load_dataset on a hand-written folder: shapes, splits, order, selection, normalisation."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from fens.dataset import RepeatsBatchSampler, load_dataset
from fens.dataset.static import response_precision
from fens.utility import device as device_module
from fens.utility.device import DeviceFallbackWarning

from .conftest import N_NEURONS, TEST_IMAGE_IDS


def raw(folder: Path, key: str, n: int) -> np.ndarray:
    return np.stack([np.load(folder / "data" / key / f"{i}.npy") for i in range(n)])


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_seed_call_patterns(filetree):
    loaders = load_dataset(path=str(filetree), batch_size=5)
    assert set(loaders) == {"train", "validation", "test"}
    assert [len(loaders[t].sampler) for t in ("train", "validation", "test")] == [12, 4, 8]
    images, responses = next(iter(loaders["train"]))
    assert images.shape == (5, 1, 36, 64) and images.dtype == torch.float32
    assert responses.shape == (5, N_NEURONS) and responses.dtype == torch.float32

    dataset = loaders["test"].dataset
    test_trials = np.where(dataset.trial_info.tiers == "test")[0]
    image_ids = dataset.trial_info.frame_image_id
    assert sorted(np.unique(image_ids[test_trials])) == [900, 901, 902]
    image, response = dataset[int(test_trials[0])]
    assert image.shape == (1, 36, 64) and response.cpu().numpy().shape == (N_NEURONS,)
    assert np.ndim(dataset.statistics.images.all.mean) == 0
    assert dataset.statistics["responses"]["all"]["std"].shape == (N_NEURONS,)
    assert dataset.neurons.cell_motor_coordinates.shape == (N_NEURONS, 3)


def test_values_match_files_and_normalisation(filetree):
    n = 24
    loaders = load_dataset(filetree, batch_size=4)
    dataset = loaders["train"].dataset
    raw_images, raw_responses = raw(filetree, "images", n), raw(filetree, "responses", n)
    np.testing.assert_array_equal(dataset.images.numpy(), raw_images)  # images stay 0..255
    std = raw_responses.std(axis=0)
    np.testing.assert_allclose(dataset.responses.numpy(), raw_responses / std, rtol=1e-5)
    unnormalised = load_dataset(filetree, batch_size=4, normalize=False)["test"].dataset
    np.testing.assert_array_equal(unnormalised.responses.numpy(), raw_responses)


def test_response_precision_has_a_floor():
    std = np.array([1.0, 2.0, 0.0, 1e-6, 3.0])
    threshold = 0.01 * std.mean()
    np.testing.assert_allclose(
        response_precision(std), [1.0, 0.5, 1 / threshold, 1 / threshold, 1 / 3]
    )


def test_splits_are_disjoint_and_ordered(filetree):
    loaders = load_dataset(filetree, batch_size=3, seed=1)
    tiers = loaders["train"].dataset.trial_info.tiers
    for split in ("validation", "test"):
        indices = loaders[split].sampler.indices
        assert (tiers[indices] == split).all()
        assert list(indices) == sorted(indices)  # sequential
        batches = torch.cat([r for _, r in loaders[split]])
        np.testing.assert_array_equal(batches.numpy(), loaders[split].dataset.responses[indices])
    train = list(loaders["train"].sampler)
    assert sorted(train) == list(np.flatnonzero(tiers == "train"))
    assert train != sorted(train)  # shuffled


def test_training_order_is_seeded(filetree):
    def order(seed):
        return list(load_dataset(filetree, batch_size=3, seed=seed)["train"].sampler)

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_test_sampler_groups_ragged_repeats(filetree):
    loaders = load_dataset(filetree, batch_size=3, return_test_sampler=True)
    assert list(loaders) == ["test"]
    loader = loaders["test"]
    assert isinstance(loader.batch_sampler, RepeatsBatchSampler)
    image_ids = loader.dataset.trial_info.frame_image_id
    sizes = {}
    for batch_trials, (images, responses) in zip(loader.batch_sampler, loader, strict=True):
        ids = set(image_ids[batch_trials])
        assert len(ids) == 1
        # repeats of one image
        assert len(images) == len(responses) == len(batch_trials)
        sizes[ids.pop()] = len(batch_trials)
    assert sizes == {i: TEST_IMAGE_IDS.count(i) for i in set(TEST_IMAGE_IDS)}


def test_neuron_subsets(filetree):
    full = load_dataset(filetree, batch_size=4)["test"].dataset
    sub = load_dataset(filetree, batch_size=4, neuron_n=3, neuron_base_seed=5)["test"].dataset
    assert sub.n_neurons == 3
    again = load_dataset(filetree, batch_size=4, neuron_n=3, neuron_base_seed=5)["test"].dataset
    np.testing.assert_array_equal(sub.neuron_idx, again.neuron_idx)
    np.testing.assert_allclose(sub.responses, full.responses[:, sub.neuron_idx])
    np.testing.assert_array_equal(sub.neurons.unit_ids, full.neurons.unit_ids[sub.neuron_idx])
    assert sub.statistics.responses.all.mean.shape == (3,)

    chosen = load_dataset(filetree, batch_size=4, unit_ids=[50, 20])["test"].dataset
    assert list(chosen.neurons.unit_ids) == [50, 20]
    np.testing.assert_array_equal(chosen.responses, full.responses[:, [4, 1]])
    v1 = load_dataset(filetree, batch_size=4, areas=["V1"])["test"].dataset
    assert set(v1.neurons.area) == {"V1"} and v1.n_neurons == 5

    first = load_dataset(filetree, batch_size=4, neuron_n=3)["test"].dataset.neuron_idx
    rest = load_dataset(filetree, batch_size=4, neuron_n=3, exclude_neuron_n=3)["test"].dataset
    assert not set(first) & set(rest.neuron_idx)


def test_the_old_name_neuron_ids_still_selects_unit_ids_with_a_warning(filetree):
    with pytest.warns(DeprecationWarning, match=r"load_dataset\(neuron_ids=...\).*unit_ids="):
        old = load_dataset(filetree, batch_size=4, neuron_ids=[50, 20])["test"].dataset
    assert list(old.neurons.unit_ids) == [50, 20]
    with pytest.raises(TypeError, match="both unit_ids= and its old name neuron_ids="):
        load_dataset(filetree, batch_size=4, unit_ids=[50], neuron_ids=[20])


def test_neuron_selection_errors(filetree):
    with pytest.raises(ValueError, match="unknown unit_ids \\[999\\]"):
        load_dataset(filetree, batch_size=4, unit_ids=[10, 999])
    with pytest.raises(ValueError, match="unit_ids lists \\[10\\] more than once"):
        load_dataset(filetree, batch_size=4, unit_ids=[10, 20, 10])
    with pytest.raises(ValueError, match="neuron_n=8"):
        load_dataset(filetree, batch_size=4, neuron_n=8)
    with pytest.raises(ValueError, match="cannot be combined"):
        load_dataset(filetree, batch_size=4, unit_ids=[10], neuron_n=1)


def test_image_subsets(filetree):
    loaders = load_dataset(filetree, batch_size=4, image_n=5, image_base_seed=2)
    assert len(loaders["train"].sampler) == 5
    assert len(loaders["validation"].sampler) == 4  # only training trials are subsampled
    ids = loaders["train"].dataset.trial_info.frame_image_id
    some = ids[list(loaders["train"].sampler)][:2]
    chosen = load_dataset(filetree, batch_size=4, image_ids=some.tolist())
    assert sorted(ids[list(chosen["train"].sampler)]) == sorted(some)
    with pytest.raises(ValueError, match="image_n=13"):
        load_dataset(filetree, batch_size=4, image_n=13)
    with pytest.raises(ValueError, match="not training images"):
        load_dataset(filetree, batch_size=4, image_ids=[900])


def test_one_tier_and_bad_arguments(filetree):
    assert list(load_dataset(filetree, batch_size=2, tier="validation")) == ["validation"]
    with pytest.raises(ValueError, match="'valid'"):
        load_dataset(filetree, batch_size=2, tier="valid")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        load_dataset(filetree, batch_size=0)


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("batch_size", 2.5, "batch_size must be a positive integer, got 2.5"),
        ("batch_size", True, "batch_size must be a positive integer, got True"),
        ("seed", -1, "seed must be an integer >= 0 or None, got -1"),
        ("neuron_n", 0, "neuron_n must be a positive integer or None, got 0"),
        ("image_n", "5", "image_n must be a positive integer or None, got '5'"),
        ("exclude_neuron_n", -2, "exclude_neuron_n must be an integer >= 0, got -2"),
        ("neuron_base_seed", 1.0, "neuron_base_seed must be an integer >= 0, got 1.0"),
        ("image_base_seed", None, "image_base_seed must be an integer >= 0, got None"),
    ],
)
def test_bad_arguments_are_named_with_their_value(filetree, argument, value, message):
    arguments = {"batch_size": 2, argument: value}
    with pytest.raises(ValueError, match=re.escape(message)):
        load_dataset(filetree, **arguments)


def test_never_writes_into_the_dataset_folder(filetree, tmp_path):
    before = snapshot(filetree)
    load_dataset(filetree, batch_size=4, cache_dir=tmp_path / "cache")
    load_dataset(filetree, batch_size=4, cache_dir=tmp_path / "cache")  # from the cache
    load_dataset(filetree, batch_size=4, cache_dir=None)
    assert snapshot(filetree) == before


def test_cache_is_used_and_invalidated(filetree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_dataset(filetree, batch_size=4, cache_dir=cache)["test"].dataset
    assert len(list(cache.glob("*/*.npy"))) == 2

    reads = []
    original_load = np.load
    monkeypatch.setattr(
        np, "load", lambda f, *a, **k: reads.append(str(f)) or original_load(f, *a, **k)
    )
    second = load_dataset(filetree, batch_size=4, cache_dir=cache)["test"].dataset
    assert not any("/data/" in f for f in reads)  # no trial file read again
    np.testing.assert_array_equal(first.responses, second.responses)
    monkeypatch.undo()

    changed = np.full(N_NEURONS, 7.0, dtype=np.float32)
    np.save(filetree / "data" / "responses" / "3.npy", changed)
    os.utime(filetree / "data" / "responses" / "3.npy", ns=(1, 1))
    third = load_dataset(filetree, batch_size=4, cache_dir=cache, normalize=False)["test"].dataset
    np.testing.assert_array_equal(third.responses[3].numpy(), changed)


def test_cache_inside_the_dataset_is_refused(filetree):
    with pytest.raises(ValueError, match="must not lie inside the data set"):
        load_dataset(filetree, batch_size=4, cache_dir=filetree / "cache")


@pytest.mark.parametrize("subset", [{}, {"neuron_n": 4}])
def test_batches_equal_those_of_a_plain_dataloader(filetree, subset):
    loader = load_dataset(filetree, batch_size=5, tier="test", **subset)["test"]
    dataset = loader.dataset
    assert dataset.responses.is_contiguous()  # one row per trial: batches gather fast
    plain = torch.utils.data.DataLoader(dataset, sampler=loader.sampler, batch_size=5)
    assert len(loader) == len(plain) == 2
    for ours, theirs in zip(loader, plain, strict=True):
        torch.testing.assert_close(ours.images, theirs.images, rtol=0, atol=0)
        torch.testing.assert_close(ours.responses, theirs.responses, rtol=0, atol=0)


def test_device_keeps_every_trial_there(filetree):
    # "meta" stands in for a GPU: tensors with shapes and a device but no values.
    host = load_dataset(filetree, batch_size=5, seed=3)
    placed = load_dataset(filetree, batch_size=5, seed=3, device="meta")
    for split, loader in placed.items():
        batches, expected = list(loader), list(host[split])
        assert len(batches) == len(expected)
        for ours, theirs in zip(batches, expected, strict=True):
            assert ours.images.device.type == ours.responses.device.type == "meta"
            assert ours.images.shape == theirs.images.shape
            assert ours.responses.shape == theirs.responses.shape
    dataset = placed["train"].dataset
    assert dataset[0].images.device.type == "meta"
    assert isinstance(dataset.trial_info.tiers, np.ndarray)  # the metadata stays on the host


def test_an_unavailable_device_falls_back_to_the_cpu_with_a_warning(filetree, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_warned_fallbacks", set())
    with pytest.warns(DeviceFallbackWarning, match="cuda"):
        loaders = load_dataset(filetree, batch_size=5, device="cuda")
    assert next(iter(loaders["train"])).images.device.type == "cpu"

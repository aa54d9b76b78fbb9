"""What a student sees on typing a loader, the data set or its metadata in a cell: one screen."""

import re

import numpy as np
import pytest

from fens.dataset import load_dataset


@pytest.fixture(scope="module")
def tiny_loaders(tiny_dataset):
    return load_dataset(tiny_dataset, batch_size=60, progress=False)


def test_loaders_print_split_trials_batches_and_device(tiny_loaders):
    assert repr(tiny_loaders["train"]) == (
        "TrialLoader(tier='train', trials=200, batch_size=60, batches=4, device='cpu')"
    )
    assert repr(tiny_loaders["test"]) == (
        "TrialLoader(tier='test', trials=55, batch_size=60, batches=1, device='cpu')"
    )
    # The seed's notebook shows the whole dict: three short lines.
    assert len(repr(tiny_loaders)) < 300


def test_the_repeats_loader_says_what_a_batch_is(tiny_dataset):
    loader = load_dataset(tiny_dataset, batch_size=60, return_test_sampler=True)["test"]
    assert repr(loader) == (
        "TrialLoader(tier='test', trials=55, batch_size='all repeats of one image', "
        "batches=10, device='cpu')"
    )
    assert repr(loader.batch_sampler) == "RepeatsBatchSampler(images=10, trials=55)"


def test_the_dataset_prints_its_size_and_origin(tiny_loaders, tiny_dataset, filetree):
    assert repr(tiny_loaders["test"].dataset) == (
        f"StaticImageSet(trials=295, neurons=150, image=(1, 36, 64), path={str(tiny_dataset)!r}, "
        "simulated=True)"
    )
    hand_written = load_dataset(filetree, batch_size=4)["test"].dataset
    assert repr(hand_written).endswith("simulated=False)")


def test_a_dataset_on_a_device_says_so(filetree):
    loaders = load_dataset(filetree, batch_size=5, device="meta")
    assert repr(loaders["train"]).endswith("device='meta')")
    assert repr(loaders["train"].dataset).endswith("simulated=False, device='meta')")


def test_trial_info_is_a_table_of_fields_shapes_and_dtypes(tiny_loaders):
    trial_info = tiny_loaders["test"].dataset.trial_info
    text = repr(trial_info)
    assert len(text) < 1000  # it printed every array in full: about 14,000 characters
    lines = text.splitlines()
    assert lines[0] == "Namespace of 7 arrays (read one as .name or ['name']):"
    assert lines[1].split() == ["field", "shape", "dtype"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == set(trial_info)
    assert rows["tiers"] == ["(295,)", trial_info.tiers.dtype.str]
    assert rows["frame_image_id"] == ["(295,)", "int64"]
    assert "train" not in text and "[" not in text.split(":", 1)[1]  # no values, no arrays


def test_neurons_show_the_coordinates_shape(tiny_loaders):
    text = repr(tiny_loaders["test"].dataset.neurons)
    assert len(text) < 1000
    assert re.search(r"cell_motor_coordinates +\(150, 3\) +float64", text)


def test_statistics_nest_compactly(tiny_loaders):
    statistics = tiny_loaders["test"].dataset.statistics
    text = repr(statistics)
    assert len(text) < 1000
    lines = text.splitlines()
    assert lines[0].startswith("Namespace of 40 arrays")
    assert len(lines) == 2 + 8  # header, column names, 4 keys x (all, stimulus_frame)
    assert re.search(r"images\.all\.\{max,mean,median,min,std\} +\(\) +float32", text)
    assert re.search(r"responses\.all\.\{max,mean,median,min,std\} +\(150,\) +float32", text)
    assert np.ndim(statistics.images.all.mean) == 0  # the values are still there


def test_a_namespace_of_mixed_arrays_lists_each(tiny_loaders):
    from fens.dataset.filetree import Namespace

    mixed = Namespace(a=Namespace(mean=np.zeros(3), count=np.zeros(3, dtype=int)), b=2)
    rows = [line.split() for line in repr(mixed).splitlines()[2:]]
    assert rows == [["b", "int"], ["a.mean", "(3,)", "float64"], ["a.count", "(3,)", "int64"]]


def test_a_notebook_shows_the_same_table(tiny_loaders):
    pretty = pytest.importorskip("IPython.lib.pretty").pretty
    dataset = tiny_loaders["test"].dataset
    assert pretty(dataset.trial_info) == repr(dataset.trial_info)
    assert pretty(dataset) == repr(dataset)
    assert pretty(tiny_loaders["train"]) == repr(tiny_loaders["train"])

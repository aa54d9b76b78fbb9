"""Every kind of broken data set folder raises one DatasetError that names the path."""

import shutil

import numpy as np
import pytest

from fens.dataset import DatasetError, load_dataset


def load(folder):
    return load_dataset(folder, batch_size=4, cache_dir=None, progress=False)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match=f"missing data set folder {tmp_path / 'nowhere'}"):
        load(tmp_path / "nowhere")


@pytest.mark.parametrize("gone", ["data", "meta", "data/responses", "data/images", "meta/neurons"])
def test_missing_folder_inside(filetree, gone):
    shutil.rmtree(filetree / gone)
    with pytest.raises(DatasetError, match=str(filetree / gone)):
        load(filetree)


@pytest.mark.parametrize(
    "gone", ["meta/trials/tiers.npy", "meta/trials/frame_image_id.npy", "meta/neurons/unit_ids.npy"]
)
def test_missing_meta_entry(filetree, gone):
    (filetree / gone).unlink()
    with pytest.raises(DatasetError, match=f"missing {(filetree / gone).name} in"):
        load(filetree)


def test_missing_statistics_for_normalisation(filetree):
    (filetree / "meta/statistics/responses/all/std.npy").unlink()
    with pytest.raises(DatasetError, match="std.npy \\(needed to normalise responses\\)"):
        load(filetree)


def test_different_trial_counts(filetree):
    (filetree / "data/responses/23.npy").unlink()
    with pytest.raises(DatasetError, match="responses holds 23 trial files but .* lists 24"):
        load(filetree)


def test_misnamed_trial_file(filetree):
    (filetree / "data/images/23.npy").rename(filetree / "data/images/24.npy")
    with pytest.raises(DatasetError, match="unexpected trial files \\['24.npy'\\]"):
        load(filetree)


def test_meta_field_of_wrong_length(filetree):
    np.save(filetree / "meta/trials/trial_idx.npy", np.arange(5))
    with pytest.raises(
        DatasetError, match="expected 24 entries in .*trial_idx.npy, got shape \\(5,\\)"
    ):
        load(filetree)


@pytest.mark.parametrize(
    "key, values, message",
    [
        ("images", np.zeros((1, 36, 63), np.float32), "expected images of shape \\(1, 36, 64\\)"),
        ("responses", np.zeros(6, np.float32), "expected responses of shape \\(7,\\)"),
        ("responses", np.array(["a"] * 7), "expected numeric responses, got dtype <U1"),
    ],
)
def test_trial_file_of_wrong_shape_or_dtype(filetree, key, values, message):
    np.save(filetree / "data" / key / "5.npy", values)
    with pytest.raises(DatasetError, match=message + ".*5.npy"):
        load(filetree)


def test_all_responses_of_wrong_length(filetree):
    for i in range(24):
        np.save(filetree / f"data/responses/{i}.npy", np.ones(6, np.float32))
    with pytest.raises(DatasetError, match="expected responses of shape \\(7,\\).*got \\(6,\\)"):
        load(filetree)


def test_corrupt_file(filetree):
    (filetree / "data/images/2.npy").write_bytes(b"not a numpy file")
    with pytest.raises(DatasetError, match="cannot read .*images/2.npy"):
        load(filetree)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_responses(filetree, bad):
    values = np.ones(7, np.float32)
    values[3] = bad
    np.save(filetree / "data/responses/11.npy", values)
    with pytest.raises(DatasetError, match="responses hold NaN or inf in 1 trial.*11.npy"):
        load(filetree)


def test_unknown_tier_labels(filetree):
    tiers = np.load(filetree / "meta/trials/tiers.npy")
    tiers[[0, 1]] = ["training", "val"]
    np.save(filetree / "meta/trials/tiers.npy", tiers)
    with pytest.raises(
        DatasetError, match="unknown tier labels \\['training', 'val'\\] in .*tiers.npy"
    ):
        load(filetree)


def test_empty_split(filetree):
    tiers = np.load(filetree / "meta/trials/tiers.npy")
    tiers[tiers == "validation"] = "train"
    np.save(filetree / "meta/trials/tiers.npy", tiers)
    with pytest.raises(DatasetError, match="no trials in the validation split"):
        load(filetree)

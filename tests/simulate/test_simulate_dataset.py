"""The simulated data set on disk: the real data's file-tree format, determinism, safety."""

import json
from pathlib import Path

import numpy as np
import pytest

from fens.simulate import PRESETS, SimulationConfig, simulate
from fens.simulate import writer as writer_module

TINY = PRESETS["tiny"]
KEYS = {
    "images": (1, 36, 64),
    "responses": (TINY.n_neurons,),
    "behavior": (3,),
    "pupil_center": (2,),
}


@pytest.fixture(scope="module")
def tiny(tiny_dataset) -> Path:
    """The session's ``tiny`` data set (seed 0, from tests/conftest.py)."""
    return tiny_dataset


def stack(folder: Path, key: str) -> np.ndarray:
    return np.stack([np.load(folder / "data" / key / f"{i}.npy") for i in range(TINY.n_trials)])


def test_data_files_have_the_real_shapes_and_dtypes(tiny):
    for key, shape in KEYS.items():
        files = sorted((tiny / "data" / key).iterdir())
        assert {f.name for f in files} == {f"{i}.npy" for i in range(TINY.n_trials)}
        for f in files:
            a = np.load(f)
            assert a.shape == shape and a.dtype == np.float32, (f, a.shape, a.dtype)
    images = stack(tiny, "images")
    assert images.min() >= 0 and images.max() <= 255 and np.array_equal(images, np.round(images))
    # No near-uniform patches.
    assert images.reshape(len(images), -1).std(axis=1).min() >= 12.0


def test_responses_are_finite_non_negative_and_sparse(tiny):
    responses = stack(tiny, "responses")
    assert np.isfinite(responses).all() and (responses >= 0).all()
    means = responses.mean(axis=0)
    assert 0.05 < np.median(means) < 2.0
    assert np.median(responses) < means.mean()  # skewed: most values small, a few large


def test_meta_files_load_without_pickle_and_have_fixed_width_strings(tiny):
    files = sorted((tiny / "meta").rglob("*.npy"))
    assert len(files) == 7 + 7 + 4 * 2 * 5
    for f in files:
        a = np.load(f, allow_pickle=False)
        assert a.dtype.kind in "fiub" or a.dtype.kind == "U", (f, a.dtype)
    assert json.loads((tiny / "config.json").read_text()) == {"links": {}}


def test_trial_meta(tiny):
    meta = {f.stem: np.load(f) for f in (tiny / "meta" / "trials").iterdir()}
    assert set(meta) == {
        "tiers",
        "frame_image_id",
        "frame_image_class",
        "trial_idx",
        "animal_id",
        "session",
        "scan_idx",
    }
    for name, values in meta.items():
        assert values.shape == (TINY.n_trials,), name
    assert meta["tiers"].dtype == np.dtype("<U10")
    for name in ("frame_image_id", "trial_idx", "animal_id", "session", "scan_idx"):
        assert meta[name].dtype == np.int64, name
    assert meta["frame_image_class"].dtype.kind == "U"

    tiers, ids = meta["tiers"], meta["frame_image_id"]
    counts = {t: int((tiers == t).sum()) for t in ("train", "validation", "test")}
    assert counts == {"train": 200, "validation": 40, "test": 55}
    # Tiers interleaved, not in blocks.
    assert len(np.flatnonzero(np.diff((tiers == "test").astype(int)))) > 10
    # Train and validation images are unique and distinct from the test images.
    train, val, test = ids[tiers == "train"], ids[tiers == "validation"], ids[tiers == "test"]
    assert len(np.unique(train)) == len(train) and len(np.unique(val)) == len(val)
    assert not set(train) & set(val) and not set(test) & (set(train) | set(val))
    # 10 test images, ragged repeats: 55 trials = 5 x 6 + 5 x 5.
    _, repeats = np.unique(test, return_counts=True)
    assert sorted(repeats.tolist()) == [5] * 5 + [6] * 5
    # The ids are not simply 0..n-1 and each id always shows the same image.
    assert ids.max() > len(np.unique(ids))
    images = stack(tiny, "images")
    for image_id in np.unique(test):
        shown = images[ids == image_id]
        assert (shown == shown[0]).all()


def test_neuron_meta(tiny):
    meta = {f.stem: np.load(f) for f in (tiny / "meta" / "neurons").iterdir()}
    n = TINY.n_neurons
    assert set(meta) == {
        "unit_ids",
        "animal_ids",
        "sessions",
        "scan_idx",
        "area",
        "layer",
        "cell_motor_coordinates",
    }
    assert meta["cell_motor_coordinates"].shape == (n, 3)
    for name in ("unit_ids", "animal_ids", "sessions", "scan_idx"):
        assert meta[name].shape == (n,) and meta[name].dtype == np.int64, name
    assert len(np.unique(meta["unit_ids"])) == n
    assert (meta["animal_ids"] != 0).all()
    assert (meta["area"] == "V1").all() and (meta["layer"] == "L2/3").all()
    depth = meta["cell_motor_coordinates"][:, 2]
    assert 180 < depth.min() and depth.max() < 420


def test_statistics_equal_numpys_own(tiny):
    for key in KEYS:
        values = stack(tiny, key).astype(np.float64)
        axis = None if key == "images" else 0
        expected = {
            "mean": values.mean(axis=axis),
            "std": values.std(axis=axis),
            "min": values.min(axis=axis),
            "max": values.max(axis=axis),
            "median": np.median(values, axis=axis),
        }
        for source in ("all", "stimulus_frame"):
            for name, value in expected.items():
                stored = np.load(tiny / "meta" / "statistics" / key / source / f"{name}.npy")
                assert stored.shape == np.shape(value), (key, name, stored.shape)
                np.testing.assert_allclose(stored, value, rtol=1e-6, err_msg=f"{key}/{name}")


def test_ground_truth_lies_beside_the_data_not_in_it(tiny):
    assert {p.name for p in (tiny / "data").iterdir()} == set(KEYS)
    for key in KEYS:
        assert all(p.suffix == ".npy" and p.stem.isdigit() for p in (tiny / "data" / key).iterdir())
    info = json.loads((tiny / "ground_truth" / "simulation.json").read_text())
    assert info["preset"] == "tiny" and info["seed"] == 0
    assert SimulationConfig.from_dict(info["config"]) == TINY


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tiny, tmp_path):
    again = files_of(simulate(tmp_path / "again", "tiny", seed=0, progress=False))
    assert again == files_of(tiny)
    other = simulate(tmp_path / "other", "tiny", seed=1, progress=False)
    for key in ("images", "responses"):
        assert not np.array_equal(stack(other, key), stack(tiny, key))


def test_refuses_to_overwrite_unless_asked(tiny, tmp_path):
    out = simulate(tmp_path / "data", "tiny", progress=False)
    with pytest.raises(FileExistsError, match=str(out)):
        simulate(out, "tiny", progress=False)
    simulate(out, "tiny", seed=1, progress=False, overwrite=True)
    assert np.load(out / "data" / "responses" / "0.npy").tobytes() != (
        np.load(tiny / "data" / "responses" / "0.npy").tobytes()
    )
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("")
    with pytest.raises(FileExistsError, match="does not look like a data set"):
        simulate(precious, "tiny", progress=False, overwrite=True)
    assert (precious / "thesis.tex").exists()


def test_a_failure_leaves_nothing_half_written(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writer_module, "write_dataset", fail)
    with pytest.raises(OSError, match="disk full"):
        simulate(tmp_path / "data", "tiny", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_invalid_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="huge"):
        simulate(tmp_path / "x", "huge", progress=False)
    with pytest.raises(ValueError, match="n_test_trials"):
        SimulationConfig(n_test_images=10, n_test_trials=15)
    with pytest.raises(ValueError, match="weak_fraction"):
        SimulationConfig(weak_fraction=1.5)

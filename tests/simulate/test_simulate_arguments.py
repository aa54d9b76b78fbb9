"""The simulator's settings: bad values named with the value, and reprs that fit on a line."""

import re

import numpy as np
import pytest

from fens.simulate import PRESETS, GroundTruth, SimulationConfig, simulate
from fens.simulate.stimuli import cut_patches


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"n_train": 0}, "n_train must be a positive integer, got 0"),
        ({"n_neurons": 10.5}, "n_neurons must be a positive integer, got 10.5"),
        ({"n_planes": True}, "n_planes must be a positive integer, got True"),
        ({"weak_fraction": 1.5}, "weak_fraction must be a number in [0, 1], got 1.5"),
        (
            {"complex_fraction": float("nan")},
            "complex_fraction must be a number in [0, 1], got nan",
        ),
        ({"gamma_shape": 0.0}, "gamma_shape must be a positive number, got 0.0"),
        ({"shared_gain_sd": -0.1}, "shared_gain_sd must be a number >= 0, got -0.1"),
        ({"running_gain_correlation": 2}, "running_gain_correlation must be a number in [-1, 1]"),
        (
            {"depth_range_um": (400.0, 200.0)},
            "depth_range_um[1] must be a number >= 400, got 200.0",
        ),
        (
            {"envelope_periods_range": (0.5, 0.25)},
            "envelope_periods_range[1] must be a number >= 0.5, got 0.25",
        ),
        ({"envelope_max_px": 1.0}, "envelope_max_px must be a number >= 1.5, got 1.0"),
        ({"animal_id": 0}, "animal_id must be non-zero"),
        ({"n_test_images": 10, "n_test_trials": 15}, "n_test_trials must allow >= 2 repeats"),
    ],
)
def test_bad_settings_are_named_with_their_value(setting, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SimulationConfig(**setting)


def test_every_preset_is_valid_and_reads_as_its_difference_from_full():
    assert repr(PRESETS["full"]) == "SimulationConfig()"
    assert repr(PRESETS["small"]) == "SimulationConfig(n_neurons=1000)"
    assert repr(PRESETS["tiny"]) == (
        "SimulationConfig(n_train=200, n_validation=40, n_test_images=10, n_test_trials=55, "
        "n_neurons=150)"
    )
    for config in PRESETS.values():
        assert eval(repr(config), {"SimulationConfig": SimulationConfig}) == config


@pytest.mark.parametrize(
    ("seed", "message"), [(-1, "got -1"), (1.5, "got 1.5"), ("0", "got '0'"), (None, "got None")]
)
def test_a_bad_seed_is_refused_before_anything_is_written(tmp_path, seed, message):
    with pytest.raises(ValueError, match=f"seed must be an integer >= 0, {message}"):
        simulate(tmp_path / "out", "tiny", seed=seed, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cut_patches_checks_its_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=re.escape("n (the number of patches) must be an")):
        cut_patches(-1, rng)
    with pytest.raises(ValueError, match="min_contrast must be a number >= 0, got -1"):
        cut_patches(1, rng, min_contrast=-1)


def test_ground_truth_prints_counts_not_arrays(tiny_dataset):
    truth = GroundTruth.load(tiny_dataset)
    n_complex = int((truth.cell_type == "complex").sum())
    assert repr(truth) == (
        f"GroundTruth(neurons=150, simple={150 - n_complex}, complex={n_complex}, "
        f"normalized={int((truth.normalization_strength > 0).sum())}, "
        f"responsive={int(truth.responsive.sum())}, image=(36, 64))"
    )

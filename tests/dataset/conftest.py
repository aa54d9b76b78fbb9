"""A small, hand-written data set folder in the Lurz 2021 file-tree format, for loader tests.

Written here independently of ``fens.simulate`` so that the loader is tested against the format
itself, and so that each bad-input test can break one thing of an otherwise valid folder.
"""

from pathlib import Path

import numpy as np
import pytest

N_NEURONS = 7
# 12 train, 4 validation, 3 test images shown 3, 2 and 3 times (ragged repeats): 24 trials
TIERS = ["train"] * 12 + ["validation"] * 4 + ["test"] * 8
TEST_IMAGE_IDS = [900, 900, 900, 901, 901, 902, 902, 902]


def write_filetree(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(TIERS))  # tiers interleaved, as in an experiment
    tiers = np.array(TIERS)[order]
    image_ids = np.array(list(range(100, 116)) + TEST_IMAGE_IDS)[order]
    n = len(tiers)
    for key, shape in {"images": (1, 36, 64), "responses": (N_NEURONS,)}.items():
        (root / "data" / key).mkdir(parents=True)
        for i in range(n):
            if key == "images":
                values = rng.integers(0, 256, shape).astype(np.float32)
            else:
                values = rng.gamma(1.0, 1.0 + np.arange(N_NEURONS)).astype(np.float32)
            np.save(root / "data" / key / f"{i}.npy", values)
    trials = root / "meta" / "trials"
    trials.mkdir(parents=True)
    np.save(trials / "tiers.npy", tiers.astype("<U10"))
    np.save(trials / "frame_image_id.npy", image_ids.astype(np.int64))
    np.save(trials / "trial_idx.npy", np.arange(n))
    neurons = root / "meta" / "neurons"
    neurons.mkdir(parents=True)
    np.save(neurons / "unit_ids.npy", np.arange(1, N_NEURONS + 1) * 10)
    np.save(neurons / "area.npy", np.array(["V1"] * 5 + ["LM"] * 2))
    np.save(neurons / "layer.npy", np.array(["L2/3"] * N_NEURONS))
    np.save(neurons / "cell_motor_coordinates.npy", rng.normal(size=(N_NEURONS, 3)))
    for key in ("images", "responses"):
        stacked = np.stack([np.load(root / "data" / key / f"{i}.npy") for i in range(n)])
        axis = None if key == "images" else 0
        for source in ("all", "stimulus_frame"):
            folder = root / "meta" / "statistics" / key / source
            folder.mkdir(parents=True)
            for name, fn in [
                ("mean", np.mean),
                ("std", np.std),
                ("min", np.min),
                ("max", np.max),
                ("median", np.median),
            ]:
                np.save(folder / f"{name}.npy", np.asarray(fn(stacked, axis=axis)))
    (root / "config.json").write_text('{"links": {}}')
    return root


@pytest.fixture
def filetree(tmp_path: Path) -> Path:
    return write_filetree(tmp_path / "static0-0-0-preproc0")

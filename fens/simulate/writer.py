"""Simulate a data set and write it in the on-disk format of the real one.

The format is neuralpredictors' ``FileTreeDataset`` as used by Lurz et al. (ICLR 2021)::

    DIR/config.json                                  {"links": {}}
    DIR/data/{images,responses,behavior,pupil_center}/{i}.npy       one file per trial i
    DIR/meta/trials/{tiers,frame_image_id,...}.npy                  (T,) each
    DIR/meta/neurons/{unit_ids,...,cell_motor_coordinates}.npy      (N,) or (N, 3)
    DIR/meta/statistics/{key}/{all,stimulus_frame}/{mean,std,min,max,median}.npy

and, beside the data and never inside ``data/``, the simulation's ground truth::

    DIR/ground_truth/*.npy, DIR/ground_truth/simulation.json
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import fens
from fens.simulate.config import PRESETS, SimulationConfig
from fens.simulate.neurons import GROUND_TRUTH_DIR, draw_population
from fens.simulate.responses import noisy_responses, shared_gain, simulate_behavior, trial_design
from fens.simulate.stimuli import cut_patches
from fens.utility.checks import check_int

#: What a simulated data set was written with (preset, seed, configuration), in its
#: ``ground_truth`` folder.
SIMULATION_FILE = "simulation.json"

DATA_KEYS = ("images", "responses", "behavior", "pupil_center")
STATISTICS = ("mean", "std", "min", "max", "median")


def statistics(values: np.ndarray, per_element: bool) -> dict[str, np.ndarray]:
    """Summary statistics of one data key over all trials.

    Args:
        values: ``(T, ...)`` the key's arrays of all trials, stacked.
        per_element: statistics per element over trials (responses: one per neuron); otherwise
            one scalar over every value (images: over all pixels of all trials).

    Returns:
        float32 arrays ``{"mean", "std", "min", "max", "median"}``: 0-d or ``values.shape[1:]``.
    """
    x = values.astype(np.float64)
    axis = 0 if per_element else None
    functions = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max, "median": np.median}
    return {name: np.asarray(f(x, axis=axis), dtype=np.float32) for name, f in functions.items()}


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, array, allow_pickle=False)


def write_dataset(
    folder: Path,
    data: dict[str, np.ndarray],
    trials: dict[str, np.ndarray],
    neurons: dict[str, np.ndarray],
    progress: bool = False,
) -> None:
    """Write the data files, metadata, statistics and ``config.json`` into ``folder``.

    Args:
        folder: an existing, empty folder.
        data: ``{key: (T, ...)}`` for each of :data:`DATA_KEYS`; row ``i`` becomes
            ``data/{key}/{i}.npy``.
        trials: ``{name: (T,)}`` trial metadata.
        neurons: ``{name: (N, ...)}`` neuron metadata.
        progress: show a tqdm progress bar.
    """
    n_trials = len(data["images"])
    for key in DATA_KEYS:
        (folder / "data" / key).mkdir(parents=True)
    for i in tqdm(range(n_trials), desc="writing trials", disable=not progress):
        for key in DATA_KEYS:
            _save(folder / "data" / key / f"{i}.npy", data[key][i])

    for kind, meta in (("trials", trials), ("neurons", neurons)):
        (folder / "meta" / kind).mkdir(parents=True)
        for name, values in meta.items():
            _save(folder / "meta" / kind / f"{name}.npy", values)

    for key in DATA_KEYS:
        stats = statistics(data[key], per_element=key != "images")
        # 'stimulus_frame' restricts to frames during stimulation; every trial here is one.
        for source in ("all", "stimulus_frame"):
            target = folder / "meta" / "statistics" / key / source
            target.mkdir(parents=True)
            for name, value in stats.items():
                _save(target / f"{name}.npy", value)

    (folder / "config.json").write_text(json.dumps({"links": {}}))


def _check_target(out: Path, overwrite: bool) -> None:
    """Refuse to write over anything but an empty folder or (with ``overwrite``) a data set."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{out} exists and is not empty; pass overwrite=True to replace it"
            )
        if not (out / "config.json").is_file():
            raise FileExistsError(
                f"{out} is not empty and does not look like a data set (no config.json); "
                "refusing to delete it even with overwrite=True"
            )


def simulate(
    out: str | Path,
    preset: str | SimulationConfig = "tiny",
    seed: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Simulate a V1 data set with known ground truth and write it to ``out``.

    Natural-image patches (:mod:`fens.simulate.stimuli`) are shown to a population of model
    neurons (:mod:`fens.simulate.neurons`) in train, validation and test trials interleaved at
    random; single-trial responses are noisy around the noise-free means
    (:mod:`fens.simulate.responses`). Everything follows from ``seed``: the same seed gives
    byte-identical files. The data set is built in a hidden sibling folder and renamed to
    ``out`` at the end, so a failure never leaves a half-written data set.

    Args:
        out: the folder to create (it may exist if empty).
        preset: a name of :data:`PRESETS` ('tiny', 'small', 'full') or a :class:`SimulationConfig`.
        seed: the random seed (an integer >= 0).
        progress: show tqdm progress bars.
        overwrite: replace an existing data set at ``out``.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: an unknown preset or a bad seed (the message shows the value).
        FileExistsError: ``out`` holds something other than a data set (never deleted).
    """
    check_int("seed", seed, minimum=0)
    if isinstance(preset, SimulationConfig):
        config, preset_name = preset, None
    elif preset in PRESETS:
        config, preset_name = PRESETS[preset], preset
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    out = Path(out)
    _check_target(out, overwrite)
    start = time.perf_counter()

    # The sixth stream was added with the later kinds of neuron: the first five are the same.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    rng_stimuli, rng_neurons, rng_design, rng_behavior, rng_noise, rng_kinds = streams
    n_images = config.n_train + config.n_validation + config.n_test_images
    patches = cut_patches(
        n_images, rng_stimuli, progress=progress, spectral_tilt=config.spectral_tilt
    )
    truth, positions, mean = draw_population(
        config, rng_neurons, patches.images, progress=progress, rng_kinds=rng_kinds
    )
    design = trial_design(config, rng_design)
    behavior = simulate_behavior(config.n_trials, rng_behavior)
    gain = shared_gain(
        behavior.behavior[:, 2].astype(np.float64),
        config.shared_gain_sd,
        config.running_gain_correlation,
        rng_behavior,
    )
    responses = noisy_responses(
        mean,
        design.image_index,
        gain,
        config.gamma_shape,
        config.private_gain_sd,
        rng_noise,
        progress=progress,
    )
    # Image ids: unique per image, scattered over a larger range like the real ones.
    image_ids = rng_design.choice(np.arange(1, 20 * n_images), size=n_images, replace=False)

    n_trials, n_neurons = config.n_trials, config.n_neurons
    data = {
        "images": patches.images[design.image_index][:, None],  # (T, 1, 36, 64)
        "responses": responses,  # (T, N)
        "behavior": behavior.behavior,  # (T, 3)
        "pupil_center": behavior.pupil_center,  # (T, 2)
    }
    trials = {
        "tiers": design.tiers,
        "frame_image_id": image_ids[design.image_index].astype(np.int64),
        "frame_image_class": patches.source[design.image_index],
        "trial_idx": np.arange(n_trials, dtype=np.int64),
        "animal_id": np.full(n_trials, config.animal_id, dtype=np.int64),
        "session": np.full(n_trials, config.session, dtype=np.int64),
        "scan_idx": np.full(n_trials, config.scan_idx, dtype=np.int64),
    }
    neurons = {
        "unit_ids": np.sort(rng_neurons.choice(np.arange(1, 2 * n_neurons), n_neurons, False)),
        "animal_ids": np.full(n_neurons, config.animal_id, dtype=np.int64),
        "sessions": np.full(n_neurons, config.session, dtype=np.int64),
        "scan_idx": np.full(n_neurons, config.scan_idx, dtype=np.int64),
        "area": np.full(n_neurons, "V1", dtype="<U2"),
        "layer": np.full(n_neurons, "L2/3", dtype="<U4"),
        "cell_motor_coordinates": positions,
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        write_dataset(staging, data, trials, neurons, progress=progress)
        truth.save(staging)
        _save(staging / GROUND_TRUTH_DIR / "trial_gain.npy", gain)
        _save(staging / GROUND_TRUTH_DIR / "arousal.npy", behavior.arousal)
        summary = {
            "preset": preset_name,
            "seed": seed,
            "config": config.to_dict(),
            "fens_version": fens.__version__,
        }
        (staging / GROUND_TRUTH_DIR / SIMULATION_FILE).write_text(json.dumps(summary, indent=2))
        _check_target(out, overwrite)  # again: something may have appeared meanwhile
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if progress:
        print(
            f"simulated {n_trials} trials x {n_neurons} neurons in "
            f"{time.perf_counter() - start:.1f} s -> {out}"
        )
    return out


def simulated_config(folder: str | Path) -> SimulationConfig:
    """The :class:`SimulationConfig` a simulated data set was written with (its
    ``ground_truth/simulation.json``); fields added since then take their defaults."""
    path = Path(folder) / GROUND_TRUTH_DIR / SIMULATION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {folder} is not a simulated data set")
    return SimulationConfig.from_dict(json.loads(path.read_text())["config"])

"""Model quality and training speed on the simulated data: does the course's story hold?

Quality. Each model of :data:`fens.models.registry.MODEL_NAMES` is trained from scratch once per seed
(:func:`fens.trainers.train_model`: early stopping on the validation correlation, at most
``--max-iter`` epochs and ``--max-minutes``), or, with ``--checkpoints``, the shipped SOTA
checkpoints are loaded (:func:`fens.models.pretrained.load_pretrained`); each
``--checkpoint FILE`` written by ``fens train`` counts as one run of its model instead of a
training here, so that trainings can run apart (in parallel, on other machines) and be measured
together. Per model (mean over seeds and the
seed-to-seed sd) the script prints the mean single-trial test correlation, the correlation to
the average over repeats, the fraction of oracle (Lurz et al., ICLR 2021) and the fraction of
the simulator's noise ceiling (:func:`fens.simulate.calibration.noise_ceiling`, the best
single-trial correlation any model can reach in expectation): the mean correlation over the
mean ceiling, and the median over neurons of each neuron's ratio. Then it checks the course's
story against the real recording's (issue 17): LN below the simple CNN and SOTA LN, both below
SOTA CNN, each gap larger than twice the seed-to-seed sd of the difference; the simple CNN and
SOTA LN within 0.03 of each other; each model within 0.03 of its published single-trial
correlation; SOTA CNN's fraction of oracle between 0.65 and 0.85 (about 0.75 on the real data).

Speed (``--speed``). The training epoch of the SOTA CNN, ours (fens' in-memory loader, every
trial kept on the device; the model with fens' fast readout and depthwise convolutions,
channels-last on a CPU, as ``train_model`` trains) against the original FENS-2022 pipeline
(neuralpredictors' ``FileTreeDataset`` with ``NeuroNormalizer``, one ``.npy`` read per image
and per response for every item, neuralpredictors' own blocks, the default NCHW memory format),
and, to tell the two gains apart, fens' loader and memory format with neuralpredictors' blocks,
in the same run: batch 60, ``--speed-warmup`` steps, then ``--speed-steps`` timed steps,
extrapolated to an epoch. The first epoch of a new process adds building the loader: for fens,
reading every file once (into an empty cache); for the original, its metadata (it reads the
trials every epoch).
On a GPU a fourth pipeline, ``fens_triton``, is fens with the depthwise layers on the Triton
kernels of :mod:`fens.models.blocks.triton_depthwise`, channels-last as those kernels are. All
pipelines draw the same batches (same sampler, same seed) into identically initialised models,
so their first losses must agree; the script stops if they do not.

On a GPU (the full benchmark)::

    fens simulate --preset full --seed 0 --out data/simulated-full
    python bench/model_quality.py --data data/simulated-full --device cuda --seeds 1 2 3 \\
        --speed --json quality.json

On this 2-core CPU (all 5335 neurons; trainings to convergence): LN about 7 minutes, the
simple CNN about 75 (3 minutes an epoch: its readout holds 98M weights), SOTA CNN about 90
(70 s an epoch), SOTA LN about 110; a quick run subsamples neurons::

    python bench/model_quality.py --data data/simulated-full --neuron-n 200 --max-iter 2 \\
        --seeds 0 --models ln sota_ln
    python bench/model_quality.py --data data/simulated-full --checkpoints \\
        --models sota_ln sota_cnn          # the shipped checkpoints (all neurons)
    fens train --model ln --data data/simulated-full --seed 1 --out ln_1.pt   # and so on
    python bench/model_quality.py --data data/simulated-full --checkpoints \\
        --checkpoint ln_1.pt --checkpoint cnn_1.pt      # measured together with the shipped
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import fens.compat  # noqa: F401  (makes neuralpredictors 0.3.0 importable)
from fens.dataset import load_dataset
from fens.models.blocks.depthwise import set_depthwise_kernel
from fens.models.blocks.triton_depthwise import triton_fails
from fens.models.pretrained import load_pretrained, read_checkpoint
from fens.models.registry import MODEL_NAMES, MODELS, build_model
from fens.simulate import GroundTruth
from fens.simulate.calibration import noise_ceiling
from fens.trainers import LOSSES, train_model
from fens.utility import measures
from fens.utility.device import resolve_device

# Scripts under bench/ run with their own folder on sys.path (python bench/<script>.py).
from loader_epoch import original_loader  # isort: skip

# Mean single-trial test correlation on the real recording (scan 20457-5-9), as the course
# quotes them (FENS 2022; Lurz et al., ICLR 2021).
PUBLISHED_SINGLE_TRIAL = {"ln": 0.12, "cnn": 0.20, "sota_ln": 0.21, "sota_cnn": 0.29}
LABELS = {"ln": "LN", "cnn": "CNN", "sota_ln": "SOTA LN", "sota_cnn": "SOTA CNN"}
# The story: each (worse, better) pair of models, by mean single-trial test correlation.
STORY = (("ln", "cnn"), ("ln", "sota_ln"), ("cnn", "sota_cnn"), ("sota_ln", "sota_cnn"))
GAP_IN_SD = 2.0  # a gap counts when it exceeds this many sd of the difference
TOLERANCE = 0.03  # how far a mean may lie from the published one, and CNN from SOTA LN
ORACLE_RANGE = (0.65, 0.85)  # SOTA CNN's fraction of oracle, about 0.75 on the real data
MEASURES = {  # name: column title
    "test_correlation": "single-trial",
    "test_avg_correlation": "to average",
    "fraction_oracle": "frac. oracle",
    "fraction_ceiling": "frac. ceiling",
    "median_fraction_ceiling": "median/neuron",
}
BATCH_SIZE = 60
SPEED_MODEL = "sota_cnn"


def simulated_ceiling(data: Path, dataset: Any) -> np.ndarray | None:
    """``(neurons,)`` noise ceiling of ``dataset``'s neurons if the folder ``data`` is simulated
    (has ``ground_truth/``), else ``None``."""
    if not (data / "ground_truth").is_dir():
        return None
    return noise_ceiling(data)[dataset.neuron_idx]


def simulated_cell_types(data: Path, dataset: Any) -> np.ndarray | None:
    """``(neurons,)`` true cell type of ``dataset``'s neurons (weakly responsive ones as
    ``'weak'``) if the folder ``data`` is simulated, else ``None``."""
    if not (data / "ground_truth").is_dir():
        return None
    truth = GroundTruth.load(data)
    return np.where(truth.responsive, truth.cell_type, "weak")[dataset.neuron_idx]


def evaluate(
    model: nn.Module,
    dataloaders: Mapping[str, DataLoader],
    ceiling: np.ndarray | None,
    device: torch.device,
    cell_type: np.ndarray | None = None,
) -> dict[str, Any]:
    """The quality measures of a trained model on the test set.

    Args:
        model: a trained model.
        dataloaders: ``{'train', 'validation', 'test'}`` loaders.
        ceiling: ``(neurons,)`` noise ceiling of the loaders' neurons, or ``None`` (real data):
            the fractions of the ceiling are then NaN.
        device: where to compute.
        cell_type: ``(neurons,)`` true cell types (:func:`simulated_cell_types`), or ``None``.

    Returns:
        ``test_correlation`` (mean over neurons of the single-trial correlation),
        ``test_avg_correlation`` (correlation to the average over repeats), ``fraction_oracle``,
        ``fraction_ceiling`` (mean correlation / mean ceiling) and ``median_fraction_ceiling``
        (median over the neurons with a positive ceiling of correlation / ceiling); with
        ``cell_type``, ``by_type``: the mean single-trial correlation of each cell type.
    """
    test = dataloaders["test"]
    correlations = measures.get_correlations(model, test, device=device)  # (neurons,)
    result = {
        "test_correlation": float(correlations.mean()),
        "test_avg_correlation": float(
            measures.get_avg_correlations(model, test, device=device, per_neuron=False)
        ),
        "fraction_oracle": measures.get_fraction_oracles(model, dataloaders, device=device),
        "fraction_ceiling": math.nan,
        "median_fraction_ceiling": math.nan,
    }
    if ceiling is not None:
        positive = ceiling > 0
        result["fraction_ceiling"] = float(correlations.mean() / ceiling.mean())
        result["median_fraction_ceiling"] = float(
            np.median(correlations[positive] / ceiling[positive])
        )
    if cell_type is not None:
        result["by_type"] = {
            str(kind): float(correlations[cell_type == kind].mean())
            for kind in np.unique(cell_type)
        }
    return result


def quality_run(
    name: str,
    seed: int | None,
    dataloaders: Mapping[str, DataLoader],
    ceiling: np.ndarray | None,
    device: torch.device,
    max_iter: int,
    progress: bool,
    fast: bool = True,
    max_minutes: float | None = None,
    checkpoint: str | Path | None = None,
    cell_type: np.ndarray | None = None,
) -> dict[str, Any]:
    """Train model ``name`` with ``seed`` (at most ``max_iter`` epochs and ``max_minutes``), or
    load ``checkpoint`` (a shipped name or a ``fens train`` file), and measure it;
    ``fast=False`` builds the SOTA models from neuralpredictors' own blocks.

    Returns:
        The measures of :func:`evaluate` plus ``seed``, ``epochs``, ``seconds`` of training
        (a checkpoint's from its record) and ``cut_short`` (see :func:`train_model`).
    """
    start = time.perf_counter()
    if checkpoint is not None:
        try:
            model = load_pretrained(checkpoint, dataloaders, device=device, fast=fast)
        except (ValueError, FileNotFoundError) as error:
            raise SystemExit(f"cannot load the checkpoint {str(checkpoint)!r}: {error}") from None
        training = model.checkpoint_info["training"]
        seed, epochs, seconds = training["seed"], training["epochs"], training["seconds"]
        cut_short = training.get("cut_short")
    else:
        model = build_model(name, dataloaders, seed=seed, fast=fast)
        _, output, _ = train_model(
            model,
            dataloaders,
            device=device,
            seed=seed,
            max_iter=max_iter,
            max_minutes=max_minutes,
            progress=progress,
        )
        epochs, cut_short = output["history"]["epoch"][-1], output["cut_short"]
        seconds = time.perf_counter() - start
    return {"seed": seed, "epochs": epochs, "seconds": seconds, "cut_short": cut_short} | evaluate(
        model, dataloaders, ceiling, device, cell_type
    )


def plan_runs(
    models: Sequence[str],
    seeds: Sequence[int],
    shipped: bool,
    checkpoint_files: Sequence[Path],
) -> list[tuple[str, int | None, str | Path | None]]:
    """The runs to measure, as ``(model name, seed, checkpoint)``.

    Each file of ``checkpoint_files`` is one run of the model named in its record; every other
    model of ``models`` is trained once per seed, or, with ``shipped``, a SOTA model is loaded
    once from the checkpoint shipped with fens.
    """
    from_files = [(read_checkpoint(path)["name"], None, path) for path in checkpoint_files]
    named = {name for name, _, _ in from_files}
    plan: list[tuple[str, int | None, str | Path | None]] = []
    for name in models:
        if name in named:
            plan += [run for run in from_files if run[0] == name]
        elif shipped and MODELS[name].checkpoint is not None:
            plan.append((name, None, name))
        else:
            plan += [(name, seed, None) for seed in seeds]
    plan += [run for run in from_files if run[0] not in models]
    return plan


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and seed-to-seed sd (``ddof=1``; NaN for a single run) of every measure."""
    summary = {}
    for key in MEASURES:
        values = np.array([run[key] for run in runs], dtype=np.float64)
        sd = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        summary[key] = {"mean": float(values.mean()), "sd": sd}
    return summary


def story_checks(summaries: Mapping[str, Mapping[str, Mapping[str, float]]]) -> list[dict]:
    """The course's claims about the models present in ``summaries``.

    A pair (worse, better) holds when the better model's mean single-trial test correlation
    exceeds the worse one's by more than :data:`GAP_IN_SD` sd of the difference,
    ``sqrt(sd_worse**2 + sd_better**2)`` over the sds that are known; with no sd known (one run
    of each) only the order is checked (``significant`` is ``None``). Each model's mean must lie
    within :data:`TOLERANCE` of :data:`PUBLISHED_SINGLE_TRIAL`, the simple CNN's within it of
    SOTA LN's, and SOTA CNN's fraction of oracle in :data:`ORACLE_RANGE`: the real data's regime.

    Returns:
        One dict per claim: ``claim`` (text), ``holds`` (bool), and the figures behind it.
    """
    checks = []
    for worse, better in STORY:
        if worse not in summaries or better not in summaries:
            continue
        low, high = summaries[worse]["test_correlation"], summaries[better]["test_correlation"]
        gap = high["mean"] - low["mean"]
        known = [s["sd"] for s in (low, high) if math.isfinite(s["sd"])]
        sd = math.sqrt(sum(s**2 for s in known)) if known else math.nan
        significant = None if not known else bool(gap > GAP_IN_SD * sd)
        checks.append(
            {
                "claim": f"{LABELS[worse]} < {LABELS[better]}",
                "worse": low["mean"],
                "better": high["mean"],
                "gap": gap,
                "sd": sd,
                "significant": significant,
                "holds": bool(gap > 0 and significant is not False),
            }
        )
    mean = {name: summary["test_correlation"]["mean"] for name, summary in summaries.items()}
    for name, value in mean.items():
        published = PUBLISHED_SINGLE_TRIAL[name]
        checks.append(
            {
                "claim": f"{LABELS[name]} within {TOLERANCE} of the real {published}",
                "mean": value,
                "published": published,
                "holds": bool(abs(value - published) <= TOLERANCE),
            }
        )
    if "cnn" in mean and "sota_ln" in mean:
        checks.append(
            {
                "claim": f"CNN within {TOLERANCE} of SOTA LN",
                "gap": mean["cnn"] - mean["sota_ln"],
                "holds": bool(abs(mean["cnn"] - mean["sota_ln"]) <= TOLERANCE),
            }
        )
    oracle = summaries.get("sota_cnn", {}).get("fraction_oracle", {}).get("mean", math.nan)
    if math.isfinite(oracle):
        low, high = ORACLE_RANGE
        checks.append(
            {
                "claim": f"SOTA CNN at {low}-{high} of the oracle",
                "fraction_oracle": oracle,
                "holds": bool(low <= oracle <= high),
            }
        )
    return checks


def _batches(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The loader's batches, epoch after epoch (reshuffled every epoch)."""
    while True:
        yield from loader


def time_training_steps(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    warmup: int,
    steps: int,
    seed: int,
) -> tuple[float, float]:
    """Seconds per training step of ``model`` on batches of ``loader``, after a warm-up.

    One step is what :func:`fens.trainers.train_model` does per batch: move the batch to the
    device, Adam (learning rate 5e-3) on the scaled Poisson loss plus the model's regulariser.

    Returns:
        The loss of the first step (of the untrained model) and the mean seconds per timed step.
    """
    model.to(device).train()
    criterion = LOSSES["poisson"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    scale = math.sqrt(len(loader.dataset) / BATCH_SIZE)
    generator = getattr(loader.sampler, "generator", None)
    if isinstance(generator, torch.Generator):
        generator.manual_seed(seed)  # the same batches whatever iterated the loader before
    batches = _batches(loader)

    def step(images: torch.Tensor, responses: torch.Tensor) -> float:
        images, responses = images.to(device), responses.to(device)
        loss = scale * criterion(model(images), responses) + model.regularizer()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    first_batch = next(batches)
    # Seeded after the first batch: a torch DataLoader draws from the global generator when it
    # starts an epoch, fens' loader does not; the readout's position samples must not differ.
    torch.manual_seed(seed)
    first_loss = step(*first_batch)
    for _ in range(warmup - 1):
        step(*next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(*next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return first_loss, (time.perf_counter() - start) / steps


def speed(
    data: Path,
    device: torch.device,
    warmup: int,
    steps: int,
    neuron_n: int | None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Epoch time of the SOTA CNN: fens' pipeline against the original one (module docstring).

    Returns:
        Per pipeline (``'fens'``, ``'fens_reference_blocks'``, ``'original'`` and, on a GPU,
        ``'fens_triton'``: fens with :mod:`fens.models.blocks.triton_depthwise`): ``build``
        seconds (reading every file, for fens), ``step`` seconds, ``epoch`` seconds
        (``step * steps per epoch``), ``first_epoch`` (``build + epoch``) and ``first_loss``;
        plus ``steps_per_epoch``, the ratios original / fens of ``epoch`` and ``first_epoch``
        and ``blocks_ratio``, the epoch of fens with neuralpredictors' blocks over fens';
        ``triton_ratio``, fens' epoch over fens_triton's (None without it).
    """
    if warmup < 1 or steps < 1:
        raise ValueError(f"need at least one warm-up and one timed step, got {warmup} and {steps}")
    pipelines: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        ours = load_dataset(
            data,
            BATCH_SIZE,
            seed=seed,
            neuron_n=neuron_n,
            cache_dir=cache,
            progress=progress,
            device=device,  # on a GPU the trials stay there: no copy per step
        )
        build_ours = time.perf_counter() - start
    start = time.perf_counter()
    original = original_loader(data, BATCH_SIZE, seed=seed)
    build_original = time.perf_counter() - start
    if neuron_n is not None:
        from neuralpredictors.data.transforms import Subsample

        # The original selected neurons with a transform after the normaliser, before ToTensor.
        original.dataset.transforms.insert(1, Subsample(ours["train"].dataset.neuron_idx))

    # Channels-last is what `fens train` does on a CPU (only there is it faster).
    ours_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    layouts = {  # loader, its build time, memory format, fens' fast blocks, depthwise GPU kernel
        "fens": (ours["train"], build_ours, ours_format, True, "torch"),
        "fens_reference_blocks": (ours["train"], build_ours, ours_format, False, "torch"),
        "original": (original, build_original, torch.contiguous_format, False, "torch"),
    }
    if device.type == "cuda":
        failure = triton_fails(device)
        if failure is None:
            # The Triton kernels work channels-last: so does the rest of the model here.
            layouts["fens_triton"] = (
                ours["train"],
                build_ours,
                torch.channels_last,
                True,
                "triton",
            )
        else:
            print(f"fens_triton left out: {failure}")
    steps_per_epoch = len(ours["train"])
    for name, (loader, build, memory_format, fast, gpu_kernel) in tqdm(
        layouts.items(), desc="speed", disable=not progress
    ):
        model = build_model(SPEED_MODEL, ours, seed=seed, fast=fast)
        set_depthwise_kernel(model, gpu_kernel)
        model = model.to(memory_format=memory_format)
        first_loss, step = time_training_steps(model, loader, device, warmup, steps, seed)
        pipelines[name] = {
            "build": build,
            "step": step,
            "epoch": step * steps_per_epoch,
            "first_epoch": build + step * steps_per_epoch,
            "first_loss": first_loss,
        }
    losses = [p["first_loss"] for p in pipelines.values()]
    if max(losses) - min(losses) > 1e-4 * abs(losses[0]):
        raise SystemExit(f"the pipelines disagree: first training losses {losses}")
    return {
        "model": SPEED_MODEL,
        "batch_size": BATCH_SIZE,
        "steps_per_epoch": steps_per_epoch,
        "warmup_steps": warmup,
        "timed_steps": steps,
        "pipelines": pipelines,
        "epoch_ratio": pipelines["original"]["epoch"] / pipelines["fens"]["epoch"],
        "first_epoch_ratio": pipelines["original"]["first_epoch"]
        / pipelines["fens"]["first_epoch"],
        "blocks_ratio": pipelines["fens_reference_blocks"]["epoch"] / pipelines["fens"]["epoch"],
        "triton_ratio": pipelines["fens"]["epoch"] / pipelines["fens_triton"]["epoch"]
        if "fens_triton" in pipelines
        else None,
    }


def _mean_sd(stats: Mapping[str, float]) -> str:
    sd = f"± {stats['sd']:.3f}" if math.isfinite(stats["sd"]) else " " * 7
    return f"{stats['mean']:.3f} {sd}"


def print_quality(results: Mapping[str, Any]) -> None:
    """The quality table, the published numbers beside, and the story's checks."""
    print()
    header = "".join(f"{title:>16}" for title in MEASURES.values())
    print(f"{'model':<10}{'runs':>5}{header}{'published':>11}{'epochs':>8}{'minutes':>9}")
    for name, summary in results["summary"].items():
        runs = results["runs"][name]
        epochs = np.mean([run["epochs"] for run in runs])
        cut = "*" if any(run["cut_short"] for run in runs) else " "
        minutes = np.mean([run["seconds"] for run in runs]) / 60
        print(
            f"{name:<10}{len(runs):>5}"
            + "".join(f"{_mean_sd(summary[key]):>16}" for key in MEASURES)
            + f"{PUBLISHED_SINGLE_TRIAL[name]:>11.2f}{epochs:>7.1f}{cut}{minutes:>9.1f}"
        )
    print(
        "single-trial: mean test correlation; to average: correlation to the mean over repeats; "
        "frac. ceiling: mean correlation / mean noise ceiling; median/neuron: median of "
        "correlation / ceiling; published: single-trial on the real data (where SOTA CNN "
        "reaches about 0.75 of the oracle); ± seed-to-seed sd; epochs and minutes of "
        "training (a checkpoint's from its record), * a training cut short by a time budget"
    )
    print_by_type(results["runs"])
    print()
    if not results["story"]:
        pairs = ", ".join(f"{LABELS[worse]} and {LABELS[better]}" for worse, better in STORY)
        print(f"the story's checks need one of these pairs of models: {pairs}")
    for check in results["story"]:
        verdict = "holds" if check["holds"] else "FAILS"
        if "better" in check:
            if check["significant"] is None:
                strength = "(sd unknown, one run each: order only)"
            else:
                in_sd = check["gap"] / check["sd"] if check["sd"] > 0 else math.inf
                strength = f"= {in_sd:.1f} sd of the difference ({check['sd']:.4f})"
            figures = (
                f"{check['worse']:.3f} vs {check['better']:.3f}, gap {check['gap']:+.3f} {strength}"
            )
        elif "published" in check:
            figures = f"{check['mean']:.3f}, {check['mean'] - check['published']:+.3f} from it"
        elif "fraction_oracle" in check:
            figures = f"{check['fraction_oracle']:.3f} of the oracle"
        else:
            figures = f"CNN - SOTA LN {check['gap']:+.3f}"
        print(f"{verdict:<7}{check['claim']:<40}{figures}")


def print_by_type(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Mean single-trial correlation per true cell type (simulated data), mean over runs."""
    by_model = {
        name: [run["by_type"] for run in model_runs if "by_type" in run]
        for name, model_runs in runs.items()
    }
    kinds = sorted({kind for tables in by_model.values() for table in tables for kind in table})
    if not kinds:
        return
    print()
    print(f"{'by cell type':<12}" + "".join(f"{kind:>9}" for kind in kinds))
    for name, tables in by_model.items():
        means = [np.mean([table.get(kind, math.nan) for table in tables]) for kind in kinds]
        print(f"{LABELS[name]:<12}" + "".join(f"{m:9.3f}" for m in means))


def print_speed(result: Mapping[str, Any]) -> None:
    """The speed table and the ratios."""
    print()
    print(
        f"speed: {result['model']}, batch {result['batch_size']}, {result['timed_steps']} steps "
        f"timed after {result['warmup_steps']}, {result['steps_per_epoch']} steps per epoch, "
        f"torch threads {torch.get_num_threads()}; the pipelines' first losses agree"
    )
    print(
        f"{'pipeline':<23}{'build (s)':>11}{'step (ms)':>11}{'epoch (s)':>11}"
        f"{'first epoch (s)':>17}"
    )
    for name, p in result["pipelines"].items():
        print(
            f"{name:<23}{p['build']:>11.2f}{1000 * p['step']:>11.1f}{p['epoch']:>11.2f}"
            f"{p['first_epoch']:>17.2f}"
        )
    print(
        f"original / fens: epoch {result['epoch_ratio']:.1f}x, "
        f"first epoch (with building the loader) {result['first_epoch_ratio']:.1f}x; "
        f"fens with neuralpredictors' blocks / fens: epoch {result['blocks_ratio']:.1f}x"
    )
    if result["triton_ratio"] is not None:
        print(f"fens / fens_triton (Triton depthwise kernels): epoch {result['triton_ratio']:.2f}x")


def write_figures(results: Mapping[str, Any], path: Path) -> None:
    """Write ``results`` to the JSON file ``path`` (its folder made if missing) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"figures written to {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder (full preset)")
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--max-iter", type=int, default=200, help="most epochs per training")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the fastest)")
    parser.add_argument(
        "--checkpoints", action="store_true", help="load the shipped SOTA checkpoints"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="measure this checkpoint of `fens train` as one run of its model instead of "
        "training that model here (repeat for more seeds or models)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="time budget of each training (runs cut short are marked)",
    )
    parser.add_argument("--neuron-n", type=int, default=None, help="use this many neurons")
    parser.add_argument(
        "--reference-blocks",
        action="store_true",
        help="build the SOTA models from neuralpredictors' own blocks (not fens' fast ones)",
    )
    parser.add_argument("--speed", action="store_true", help="also time the SOTA epoch")
    parser.add_argument("--speed-only", action="store_true", help="time the epoch only")
    parser.add_argument("--speed-steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--speed-warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark with command-line arguments ``argv``; print and return the figures."""
    args = build_parser().parse_args(argv)
    if args.checkpoints and args.neuron_n is not None:
        raise SystemExit(
            "--checkpoints needs all neurons (they were trained on all): no --neuron-n"
        )
    progress = not args.no_progress
    device = resolve_device(args.device)
    results: dict[str, Any] = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "data": str(args.data),
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }

    if not args.speed_only:
        dataloaders = load_dataset(
            args.data,
            BATCH_SIZE,
            seed=args.seeds[0],
            neuron_n=args.neuron_n,
            progress=progress,
            device=device,
        )
        dataset = dataloaders["test"].dataset
        oracle = measures.get_oracles(dataloaders["test"])
        ceiling = simulated_ceiling(args.data, dataset)
        cell_type = simulated_cell_types(args.data, dataset)
        results["n_neurons"] = dataset.n_neurons
        results["oracle"] = float(oracle.mean())
        results["noise_ceiling"] = math.nan if ceiling is None else float(ceiling.mean())
        print(
            f"data: {args.data} ({len(dataset)} trials, {dataset.n_neurons} neurons); "
            f"jackknife oracle {results['oracle']:.3f}, noise ceiling "
            f"{results['noise_ceiling']:.3f} (mean over neurons); device {device}"
        )
        try:
            plan = plan_runs(args.models, args.seeds, args.checkpoints, args.checkpoint)
        except (ValueError, FileNotFoundError) as error:
            raise SystemExit(f"--checkpoint: {error}") from None
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in plan}
        for name, seed, checkpoint in tqdm(plan, desc="models", disable=not progress):
            runs[name].append(
                quality_run(
                    name,
                    seed,
                    dataloaders,
                    ceiling,
                    device,
                    args.max_iter,
                    progress,
                    fast=not args.reference_blocks,
                    max_minutes=args.max_minutes,
                    checkpoint=checkpoint,
                    cell_type=cell_type,
                )
            )
        results["runs"] = runs
        results["summary"] = {name: summarize(name_runs) for name, name_runs in runs.items()}
        results["story"] = story_checks(results["summary"])
        print_quality(results)

    if args.speed or args.speed_only:
        results["speed"] = speed(
            args.data, device, args.speed_warmup, args.speed_steps, args.neuron_n, progress=progress
        )
        print_speed(results["speed"])

    if args.json is not None:
        write_figures(results, args.json)
    return results


if __name__ == "__main__":
    main()

"""The benchmarks under bench/ still run: a one-epoch smoke run of bench/model_quality.py."""

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).parents[1] / "bench"


def _bench_module(name: str, monkeypatch: pytest.MonkeyPatch):
    """bench/<name>.py as a module (bench scripts import each other by name)."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def model_quality(monkeypatch: pytest.MonkeyPatch):
    return _bench_module("model_quality", monkeypatch)


@pytest.fixture
def untrained_checkpoint(tiny_dataset, tmp_path) -> Path:
    """A SOTA CNN for the tiny preset, saved untrained: enough for the MEI scripts to run."""
    from fens.dataset import load_dataset
    from fens.models import build_model, save_checkpoint

    loaders = load_dataset(tiny_dataset, batch_size=60, progress=False)
    model = build_model("sota_cnn", loaders, seed=0)
    return save_checkpoint(
        tmp_path / "sota_cnn.pt", model, name="sota_cnn", dataloaders=loaders, metrics={},
        training={},
    )  # fmt: skip


def _summary(mean: float, sd: float) -> dict:
    return {"test_correlation": {"mean": mean, "sd": sd}}


def test_summarize_gives_mean_and_sample_sd(model_quality):
    values = [0.21, 0.25, 0.26]
    runs = [dict.fromkeys(model_quality.MEASURES, v) for v in values]
    summary = model_quality.summarize(runs)
    assert summary["test_correlation"]["mean"] == pytest.approx(np.mean(values))
    assert summary["fraction_oracle"]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert math.isnan(model_quality.summarize(runs[:1])["test_correlation"]["sd"])


def test_story_gap_is_judged_against_the_sd_of_the_difference(model_quality):
    # sd of the difference: sqrt(0.03**2 + 0.04**2) = 0.05, so a gap must exceed 0.1.
    checks = model_quality.story_checks(
        {"ln": _summary(0.10, 0.03), "cnn": _summary(0.21, 0.04), "sota_cnn": _summary(0.29, 0.04)}
    )
    by_claim = {check["claim"]: check for check in checks}
    assert set(by_claim) == {  # SOTA LN absent: its claims too
        "LN < CNN",
        "CNN < SOTA CNN",
        "LN within 0.03 of the real 0.12",
        "CNN within 0.03 of the real 0.2",
        "SOTA CNN within 0.03 of the real 0.29",
    }
    assert by_claim["LN < CNN"]["sd"] == pytest.approx(0.05)
    assert by_claim["LN < CNN"]["holds"]  # gap 0.11 > 0.10
    assert not by_claim["CNN < SOTA CNN"]["holds"]  # gap 0.08 < 2 * 0.057
    single = model_quality.story_checks(
        {"sota_ln": _summary(0.3, math.nan), "sota_cnn": _summary(0.2, math.nan)}
    )
    assert single[0]["significant"] is None and not single[0]["holds"]  # wrong order


def test_story_asks_for_the_real_data_regime(model_quality):
    def run(mean: float, oracle: float) -> dict:
        return _summary(mean, 0.005) | {"fraction_oracle": {"mean": oracle, "sd": 0.01}}

    real = {"ln": 0.13, "cnn": 0.19, "sota_ln": 0.215, "sota_cnn": 0.31}
    checks = model_quality.story_checks({m: run(v, 0.8) for m, v in real.items()})
    assert all(check["holds"] for check in checks), checks
    assert len(checks) == 4 + 4 + 2  # four gaps, four published figures, CNN ~ SOTA LN, oracle
    # Today's full preset: too good, and SOTA CNN above the oracle.
    today = {"ln": 0.158, "cnn": 0.300, "sota_ln": 0.181, "sota_cnn": 0.342}
    by_claim = {
        c["claim"]: c["holds"]
        for c in model_quality.story_checks({m: run(v, 1.04) for m, v in today.items()})
    }
    assert not by_claim["LN within 0.03 of the real 0.12"]  # 0.038 away
    assert not by_claim["CNN within 0.03 of SOTA LN"]
    assert not by_claim["SOTA CNN at 0.65-0.85 of the oracle"]
    assert by_claim["SOTA LN within 0.03 of the real 0.21"]  # 0.029 away


@pytest.mark.slow
def test_model_quality_smoke_run(model_quality, tiny_dataset, tmp_path, capsys):
    out = tmp_path / "quality.json"
    results = model_quality.main(
        [
            *("--data", str(tiny_dataset), "--max-iter", "1", "--seeds", "0"),
            *("--neuron-n", "60", "--device", "cpu", "--no-progress"),
            *("--speed", "--speed-steps", "2", "--speed-warmup", "1", "--json", str(out)),
        ]
    )
    printed = capsys.readouterr().out.splitlines()

    for name in model_quality.MODEL_NAMES:
        (row,) = [line.split() for line in printed if line.startswith(f"{name} ")]
        # runs, the five measures (one run: no sd), published, epochs, minutes
        numbers = [float(token) for token in row[1:]]
        assert len(numbers) == 4 + len(model_quality.MEASURES), row
        assert all(math.isfinite(x) for x in numbers), row
        assert numbers[0] == 1 and numbers[-2] == 1  # one run of one epoch
        assert numbers[-3] == model_quality.PUBLISHED_SINGLE_TRIAL[name]
        assert results["runs"][name][0]["test_correlation"] == pytest.approx(numbers[1], abs=5e-4)
    assert results["n_neurons"] == 60
    assert {check["claim"] for check in results["story"]} >= {"LN < CNN", "SOTA LN < SOTA CNN"}
    (oracle_line,) = [line for line in printed if "SOTA CNN at 0.65-0.85 of the oracle" in line]
    assert oracle_line.split()[0] in {"holds", "FAILS"}
    # Per true cell type: the tiny preset's simple, complex and weakly responsive neurons.
    (header,) = [line.split() for line in printed if line.startswith("by cell type")]
    assert header[3:] == ["complex", "simple", "weak"]
    by_type = results["runs"]["ln"][0]["by_type"]
    (ln_row,) = [line.split() for line in printed if line.startswith("LN ")]  # its label
    assert [float(v) for v in ln_row[1:]] == pytest.approx(
        [by_type[k] for k in header[3:]], abs=5e-4
    )

    speed = results["speed"]
    assert set(speed["pipelines"]) == {"fens", "fens_reference_blocks", "original"}
    assert speed["steps_per_epoch"] == 4  # 200 training trials in batches of 60
    for pipeline in speed["pipelines"].values():
        assert pipeline["step"] > 0
        assert pipeline["epoch"] == pytest.approx(4 * pipeline["step"])
    (ratio_line,) = [line for line in printed if line.startswith("original / fens")]
    assert f"epoch {speed['epoch_ratio']:.1f}x" in ratio_line
    assert f"blocks / fens: epoch {speed['blocks_ratio']:.1f}x" in ratio_line
    assert json.loads(out.read_text())["speed"]["epoch_ratio"] == pytest.approx(
        speed["epoch_ratio"]
    )


@pytest.mark.slow
def test_mei_speed_smoke_run(monkeypatch, tiny_dataset, untrained_checkpoint, capsys):
    mei_speed = _bench_module("mei_speed", monkeypatch)
    mei_speed.main(
        [
            *("--data", str(tiny_dataset), "--model", str(untrained_checkpoint)),
            *("--neurons", "4", "--iterations", "3", "--loop-neurons", "9", "--batch-size", "4"),
            *("--lr", "10", "--device", "cpu"),
        ]
    )
    printed = capsys.readouterr().out
    (agreement,) = [line for line in printed.splitlines() if line.startswith("loop vs batched")]
    assert float(agreement.split()[-1]) > 0.999  # the loop and the batched MEIs agree
    assert "neurons per second, batched / loop" in printed
    assert "timed on 4 neurons" in printed  # the loop's neurons are among the batch's
    with pytest.raises(SystemExit, match="--neurons must be 1 to 150, got 151"):
        mei_speed.main(["--data", str(tiny_dataset), "--model", str(untrained_checkpoint),
                        "--neurons", "151", "--device", "cpu"])  # fmt: skip


@pytest.mark.slow
def test_the_prepared_gpu_script_runs_its_parts_and_refuses_unknown_ones(
    tiny_dataset, untrained_checkpoint, tmp_path
):
    settings = {
        "DEVICE": "cpu", "DATA": str(tiny_dataset), "OUT": str(tmp_path), "PYTHON": sys.executable,
        "MEI_MODEL": str(untrained_checkpoint), "MEI_NEURONS": "2", "MEI_ITERATIONS": "2",
        "OMP_NUM_THREADS": "1",
    }  # fmt: skip
    script = [shutil.which("bash"), str(BENCH / "gpu_check.sh")]

    def run(*parts: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*script, *parts], env=os.environ | settings, cwd=BENCH.parent,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    done = run("mei")
    assert done.returncode == 0, done.stderr
    assert "=== mei" in done.stdout and "all 150 neurons batched" in done.stdout
    unknown = run("mei", "nonsense")
    assert unknown.returncode == 2
    assert "unknown part 'nonsense'" in unknown.stderr
    assert "===" not in unknown.stdout  # refused before any part ran


@pytest.mark.slow
def test_mei_truth_smoke_run(monkeypatch, tiny_dataset, untrained_checkpoint, tmp_path, capsys):
    mei_truth = _bench_module("mei_truth", monkeypatch)
    table_path = tmp_path / "table.json"
    mei_truth.main(
        [
            *("--data", str(tiny_dataset), "--model", str(untrained_checkpoint)),
            *("--neurons", "3", "--per-type", "--iterations", "3", "--device", "cpu"),
            *("--json", str(table_path)),
        ]
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("model ") and "6 neurons" in printed[0]
    summary = json.loads(printed[1].removeprefix("all: "))
    assert summary["n_tuned"] >= 0 and "median_mei_correlation_simple" in summary
    table = json.loads(table_path.read_text())
    assert sorted(table["cell_type"]) == ["complex"] * 3 + ["simple"] * 3


def test_checkpoint_files_are_measured_as_runs_of_their_model(
    model_quality, tiny_dataset, tmp_path, capsys
):
    from fens.cli import main as fens_main
    from fens.models.pretrained import read_checkpoint

    files = {}
    for name, seed, budget in (
        ("ln", 3, []),
        ("ln", 4, []),
        ("sota_ln", 5, ["--max-minutes", "0"]),
    ):
        files[name, seed] = tmp_path / f"{name}_{seed}.pt"
        argv = ["train", "--model", name, "--data", str(tiny_dataset), "--seed", str(seed)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the cut-short warning
            fens_main([*argv, "--out", str(files[name, seed]), "--max-iter", "1", *budget])
    capsys.readouterr()
    results = model_quality.main(
        [
            *("--data", str(tiny_dataset), "--models", "ln", "--device", "cpu", "--no-progress"),
            *(arg for path in files.values() for arg in ("--checkpoint", str(path))),
        ]
    )
    printed = capsys.readouterr().out.splitlines()

    assert set(results["runs"]) == {"ln", "sota_ln"}  # nothing trained: the files' models
    assert [run["seed"] for run in results["runs"]["ln"]] == [3, 4]
    for run, seed in zip(results["runs"]["ln"], (3, 4), strict=True):
        metrics = read_checkpoint(files["ln", seed])["metrics"]
        assert run["test_correlation"] == pytest.approx(metrics["test_correlation"], abs=1e-6)
        assert run["epochs"] == 1 and run["cut_short"] is None
    assert results["summary"]["ln"]["test_correlation"]["sd"] > 0
    (sota_ln_run,) = results["runs"]["sota_ln"]
    assert sota_ln_run["epochs"] == 0 and sota_ln_run["cut_short"] == "max_minutes"
    (row,) = [line.split() for line in printed if line.startswith("sota_ln ")]
    assert row[-2] == "0.0*"  # epochs, marked as cut short
    with pytest.raises(SystemExit, match="no checkpoint file"):
        model_quality.main(["--data", str(tiny_dataset), "--checkpoint", "missing.pt"])


def test_layers_times_every_implementation_after_checking_they_agree(monkeypatch, capsys):
    import torch

    layers = _bench_module("layers", monkeypatch)
    figures = layers.main(["--device", "cpu", "--repeats", "1", "--batch", "2", "--neurons", "7"])
    assert len(figures) == 6 and "fens bilinear_sample" in figures
    assert all(f["forward_backward"] > 0 and f["forward"] > 0 for f in figures.values())
    assert "fens weight grad channels-last" in capsys.readouterr().out

    x = torch.randn(2, 3, requires_grad=True)
    wrong = {"right": (lambda: 2 * x, [x]), "wrong": (lambda: 2.01 * x, [x])}
    with pytest.raises(SystemExit, match="wrong differs from right in the output"):
        layers.check_same(wrong)


def test_training_equivalence_compares_fast_and_reference_trainings(
    monkeypatch, tiny_dataset, tmp_path, capsys
):
    from fens.cli import main as fens_main
    from fens.models.pretrained import read_checkpoint

    equivalence = _bench_module("training_equivalence", monkeypatch)
    files = {}
    for blocks, flag in (("fast", []), ("reference", ["--reference-blocks"]), ("other", [])):
        seed = "8" if blocks == "other" else "7"
        files[blocks] = tmp_path / f"{blocks}.pt"
        fens_main(
            [
                *("train", "--model", "sota_cnn", "--data", str(tiny_dataset), "--seed", seed),
                *("--out", str(files[blocks]), "--max-iter", "3", "--device", "cpu", *flag),
            ]
        )
    assert read_checkpoint(files["reference"])["training"]["blocks"] == "reference"
    capsys.readouterr()

    def compare(fast: Path, reference: Path, *extra: str) -> dict:
        return equivalence.main(
            [
                *("--data", str(tiny_dataset), "--device", "cpu"),
                *("--fast", str(fast), "--reference", str(reference), *extra),
            ]
        )

    plot = tmp_path / "curves.png"
    same = compare(
        files["fast"], files["reference"],
        *("--other-seed", str(files["other"]), "--every", "1", "--plot", str(plot)),
    )  # fmt: skip
    printed = capsys.readouterr().out
    # Three epochs from identical weights and batches: float differences only.
    assert same["reference"]["parting_epoch"] is None and same["holds"]
    assert abs(same["test_gap"]) < 1e-3
    # Another seed lands elsewhere: the yardstick.
    assert abs(same["seed_gap"]) > 5e-3
    for role in ("fast", "reference", "other_seed"):
        recorded = read_checkpoint(files[role.removesuffix("_seed")])["metrics"]
        assert same[role]["test_correlation"] == pytest.approx(recorded["test_correlation"], 1e-5)
    assert "holds  same single-trial test correlation within 0.005" in printed
    assert "another seed on the fast blocks: gap" in printed
    assert len([line for line in printed.splitlines() if line[:5].strip().isdigit()]) == 4
    assert plot.stat().st_size > 0

    # Another seed is another model: a tolerance of 1e-6 tells them apart.
    other = compare(files["other"], files["reference"], "--tolerance", "1e-6")
    assert not other["holds"] and "FAILS" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="trained on the fast blocks"):
        compare(files["fast"], files["fast"])
    with pytest.raises(SystemExit, match="seed of --fast"):
        compare(files["fast"], files["reference"], "--other-seed", str(files["fast"]))


def test_calibration_simulates_a_configuration_and_prints_its_proxies(
    monkeypatch, tmp_path, capsys
):
    calibration = _bench_module("calibration", monkeypatch)
    fields = {"n_train": 200, "n_validation": 40, "n_test_images": 10, "n_test_trials": 55}
    fields |= {"n_neurons": 60, "deep_fraction": 0.3, "subunit_fraction": 0.3}
    out = tmp_path / "table.json"
    args = [str(tmp_path / "data"), "--simulate", json.dumps(fields), "--json", str(out)]
    calibration.main([*args, "--linear-patches", "1000"])
    printed = capsys.readouterr().out
    assert "simulated SimulationConfig(n_train=200" in printed
    assert re.search(r"deep cells' features: participation ratio \d+\.\d", printed)
    table = json.loads(out.read_text())
    assert set(table) == {
        "noise_ceiling", "jackknife_oracle", "ridge_pixels", "linear_ceiling",
        "ridge_gabor_linear", "ridge_gabor", "ridge_gabor_network",
    }  # fmt: skip
    assert set(table["noise_ceiling"]) == {"all", "simple", "complex", "subunit", "deep"}
    assert table["noise_ceiling"]["all"] > table["linear_ceiling"]["all"]
    assert table["linear_ceiling"]["all"] > table["ridge_pixels"]["all"]
    for name in table:
        assert name in printed


def test_model_gap_rows_are_means_and_ratios_of_means_per_group(monkeypatch):
    model_gap = _bench_module("model_gap", monkeypatch)
    labels = np.array(["b", "a", "b", "a", "c"])
    correlations = np.array(
        [[0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.1, 0.1, 0.1, 0.3], [0.2, 0.4, 0.2, 0.4, 1.0]]
    )
    oracle = np.array([0.5, 0.5, 1.0, 1.0, 1.0])
    rows = model_gap.gap_rows(labels, correlations, oracle, order=["c", "b", "a", "missing"])
    assert [r["group"] for r in rows] == ["c", "b", "a"]  # as ordered, empty groups left out
    b = rows[1]
    assert b["n"] == 2 and b["oracle"] == pytest.approx(0.75)
    assert b["correlation"] == pytest.approx([0.2, 0.2, 0.2])
    assert b["fraction_oracle"] == pytest.approx([0.2 / 0.75] * 3)
    # ratios of the means to the last model's mean, not means of ratios
    assert rows[2]["ratio_to_reference"] == pytest.approx([0.3 / 0.4, 0.1 / 0.4, 1.0])
    assert rows[0]["ratio_to_reference"] == pytest.approx([0.5, 0.3, 1.0])


def test_model_gap_quartiles_split_evenly_and_neurons_are_found_in_any_order(monkeypatch):
    model_gap = _bench_module("model_gap", monkeypatch)
    values = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))
    labels, order = model_gap.quartile_labels(values, digits=2)
    assert order == ["1.00-25.75", "25.75-50.50", "50.50-75.25", "75.25-100.00"]
    assert [int((labels == name).sum()) for name in order] == [25, 25, 25, 25]
    assert labels[values == 100.0][0] == order[-1] and labels[values == 1.0][0] == order[0]
    assert model_gap.positions(np.array([7, 3, 5]), np.array([5, 7])).tolist() == [2, 0]


def test_model_gap_compares_checkpoints_on_their_common_neurons(
    monkeypatch, tiny_dataset, untrained_checkpoint, tmp_path, capsys
):
    from fens.dataset import load_dataset
    from fens.models import build_model, load_pretrained, save_checkpoint
    from fens.utility import measures

    model_gap = _bench_module("model_gap", monkeypatch)
    subset = load_dataset(tiny_dataset, batch_size=60, neuron_n=100, progress=False)
    ln_path = save_checkpoint(
        tmp_path / "ln.pt", build_model("ln", subset, seed=0), name="ln", dataloaders=subset,
        metrics={}, training={},
    )  # fmt: skip
    table = model_gap.main(
        ["--data", str(tiny_dataset), "--checkpoint", str(ln_path), "--checkpoint",
         str(untrained_checkpoint), "--device", "cpu", "--json", str(tmp_path / "gap.json")]
    )  # fmt: skip

    # The LN's 100 neurons, each model's own correlations on them.
    ln = load_pretrained(ln_path, subset, device="cpu")
    expected_ln = measures.get_correlations(ln, subset["test"], device="cpu")
    everyone = load_dataset(tiny_dataset, batch_size=60, progress=False)
    sota = load_pretrained(untrained_checkpoint, everyone, device="cpu")
    expected_sota = measures.get_correlations(sota, everyone["test"], device="cpu")
    position = {n: i for i, n in enumerate(everyone["test"].dataset.neuron_idx)}
    expected_sota = expected_sota[[position[n] for n in subset["test"].dataset.neuron_idx]]
    (row,) = table["all"]
    assert row["n"] == 100
    assert row["correlation"] == pytest.approx([expected_ln.mean(), expected_sota.mean()], abs=1e-6)
    assert row["ratio_to_reference"][0] == pytest.approx(expected_ln.mean() / expected_sota.mean())
    assert sum(r["n"] for r in table["cell type"]) == 100
    responsive = sum(r["n"] for r in table["cell type"] if r["group"] != "weak")
    for name in ("spatial frequency (cycles/pixel), responsive", "jackknife oracle, responsive"):
        assert sum(r["n"] for r in table[name]) == responsive
    assert json.loads((tmp_path / "gap.json").read_text())["all"] == table["all"]
    assert "(reference)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="two checkpoints or more"):
        model_gap.main(["--data", str(tiny_dataset), "--checkpoint", str(ln_path)])
    with pytest.raises(SystemExit):
        model_gap.main(["--data", str(tmp_path), "--checkpoint", str(ln_path)] * 2)
    assert "has no ground_truth/" in capsys.readouterr().err

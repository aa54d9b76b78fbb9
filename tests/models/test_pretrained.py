"""Checkpoints: saved with their data's fingerprint, loaded only onto the same data."""

import numpy as np
import pytest
import torch

from fens.cli import main
from fens.dataset import load_dataset
from fens.models.pretrained import (
    CHECKPOINT_DIR,
    data_fingerprint,
    describe_data,
    load_pretrained,
    read_checkpoint,
    same_data,
    save_checkpoint,
)
from fens.models.registry import MODEL_NAMES, build_model


@pytest.fixture(scope="module")
def loaders(tiny_dataset):
    return load_dataset(tiny_dataset, batch_size=32, seed=0, progress=False)


@pytest.mark.parametrize("name", ["ln", "cnn", "sota_ln", "sota_cnn"])
def test_round_trip_gives_the_same_predictions(name, loaders, tmp_path):
    model = build_model(name, loaders, seed=3).eval()
    images, _ = next(iter(loaders["test"]))
    path = save_checkpoint(
        tmp_path / f"{name}.pt",
        model,
        name=name,
        dataloaders=loaders,
        metrics={"test_correlation": 0.5},
        training={"seed": 3},
    )
    assert set(torch.load(path, weights_only=True)) >= {"state_dict", "config", "data", "metrics"}
    loaded = load_pretrained(path, loaders)
    assert type(loaded) is type(model) and not loaded.training
    torch.testing.assert_close(loaded(images), model(images))
    assert loaded.checkpoint_info["metrics"] == {"test_correlation": 0.5}


@pytest.mark.parametrize("saved_fast", [False, True])
def test_checkpoints_load_into_fast_and_reference_blocks(saved_fast, loaders, tmp_path):
    model = build_model("sota_cnn", loaders, seed=3, fast=saved_fast).eval()
    path = save_checkpoint(
        tmp_path / "sota_cnn.pt",
        model,
        name="sota_cnn",
        dataloaders=loaders,
        metrics={},
        training={},
    )
    images, _ = next(iter(loaders["test"]))
    for fast in (False, True):
        loaded = load_pretrained(path, loaders, fast=fast)
        assert hasattr(loaded.readout, "forward_paired") == fast
        torch.testing.assert_close(loaded(images), model(images), rtol=1e-5, atol=1e-5)


def test_refuses_other_data(loaders, tiny_dataset, tmp_path):
    model = build_model("sota_ln", loaders, seed=0)
    path = save_checkpoint(
        tmp_path / "m.pt", model, name="m", dataloaders=loaders, metrics={}, training={}
    )
    subset = load_dataset(tiny_dataset, batch_size=32, neuron_n=50, progress=False)
    with pytest.raises(
        ValueError,
        match="trained on another data set: simulated 'tiny' preset, seed 0, 150 neurons.*50 neurons",
    ):
        load_pretrained(path, subset)

    other = tmp_path / "other"
    main(["simulate", "--preset", "tiny", "--seed", "1", "--out", str(other)])
    other_loaders = load_dataset(other, batch_size=32, progress=False)
    assert data_fingerprint(other_loaders["train"].dataset) != data_fingerprint(
        loaders["train"].dataset
    )
    with pytest.raises(ValueError, match="seed 1"):
        load_pretrained(path, other_loaders)


def test_the_same_data_rounded_otherwise_is_the_same_data(loaders):
    """Another machine's BLAS rounds the simulation's float32 responses otherwise (1e-7
    relative): the same data. A change of 1e-3 in the statistics is another data set."""
    record = describe_data(loaders["train"].dataset)
    assert len(record["signature"]) == 10

    def scaled(factor: float) -> dict:
        return record | {"signature": [v * factor for v in record["signature"]]}

    assert same_data(record, scaled(1 + 1e-6))
    assert not same_data(record, scaled(1 + 1e-3))
    assert not same_data(record, record | {"fingerprint": "0" * 16})
    assert not same_data(record, {k: v for k, v in record.items() if k != "signature"})
    # One neuron's mean response 1% higher moves the signature beyond the tolerance.
    stats = loaders["train"].dataset.statistics.responses.all
    original = np.array(stats.mean, copy=True)
    try:
        stats.mean[0] = original[0] * 1.01 + 0.01
        assert not same_data(describe_data(loaders["train"].dataset), record)
    finally:
        stats.mean[:] = original
    assert same_data(describe_data(loaders["train"].dataset), record)


def test_a_checkpoint_of_the_first_format_is_named(loaders, tmp_path):
    model = build_model("ln", loaders, seed=0)
    path = save_checkpoint(
        tmp_path / "old.pt", model, name="ln", dataloaders=loaders, metrics={}, training={}
    )
    checkpoint = torch.load(path, weights_only=True)
    torch.save(checkpoint | {"format": 1}, path)
    with pytest.raises(
        ValueError, match="old.pt has checkpoint format 1, this fens reads format 2"
    ):
        load_pretrained(path, loaders)


def test_unknown_names_and_files(loaders, tmp_path):
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'; shipped: \\["):
        load_pretrained("nope", loaders)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_pretrained(tmp_path / "missing.pt", loaders)
    with pytest.raises(ValueError, match="unknown model 'gru'"):
        build_model("gru", loaders, seed=0)


def test_fens_train_writes_a_loadable_checkpoint(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "ln.pt"
    argv = ["train", "--model", "ln", "--data", str(tiny_dataset), "--out", str(out)]
    assert main([*argv, "--max-iter", "2", "--seed", "5"]) == 0
    assert "ln: validation_correlation" in capsys.readouterr().out
    info = read_checkpoint(out)
    assert info["training"]["command"].startswith("fens train --model ln")
    assert info["training"]["epochs"] == 2 and len(info["training"]["history"]["epoch"]) == 3
    assert np.isfinite(list(info["metrics"].values())).all()
    loaders = load_dataset(tiny_dataset, batch_size=32, progress=False)
    assert load_pretrained(out, loaders).n_neurons == 150
    assert info["training"]["cut_short"] is None
    with pytest.warns(RuntimeWarning, match="max_minutes"):
        assert main([*argv, "--max-minutes", "0"]) == 0
    assert "training cut short: max_minutes" in capsys.readouterr().out
    assert read_checkpoint(out)["training"]["cut_short"] == "max_minutes"


SHIPPED = sorted(CHECKPOINT_DIR.glob("*.pt"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_checkpoints_are_small_and_documented(path, loaders):
    assert path.stat().st_size < 5e6
    info = read_checkpoint(path)
    assert info["name"] in MODEL_NAMES
    assert info["data"]["simulation"] == {"preset": "full", "seed": 0}
    assert info["data"]["n_neurons"] == 5335
    assert 0 < info["metrics"]["test_correlation"] < 1
    assert info["training"]["command"].startswith("fens train")
    with pytest.raises(ValueError, match="trained on another data set"):
        load_pretrained(path, loaders)


def test_loading_a_lurz_checkpoint_reads_one_training_batch_not_all(loaders, tmp_path, recwarn):
    """The readout bias comes from the checkpoint, so no pass over the training data (the
    'mean training response') and no neuralpredictors warning about an uninitialised bias."""
    model = build_model("sota_cnn", loaders, seed=3).eval()
    path = save_checkpoint(
        tmp_path / "sota_cnn.pt",
        model,
        name="sota_cnn",
        dataloaders=loaders,
        metrics={},
        training={},
    )

    class Counting(torch.utils.data.DataLoader):
        batches = 0

        def __iter__(self):
            for batch in super().__iter__():
                Counting.batches += 1
                yield batch

    train = loaders["train"]
    counting = Counting(train.dataset, batch_size=train.batch_size, sampler=train.sampler)
    loaded = load_pretrained(path, {**loaders, "train": counting})
    assert Counting.batches == 1  # the image shape and the number of neurons
    images, _ = next(iter(loaders["test"]))
    torch.testing.assert_close(loaded(images), model(images))
    assert not [w for w in recwarn if "NOT initialized" in str(w.message)]

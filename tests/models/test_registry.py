"""One table of model names (fens.models.registry) serves build_model, load_pretrained, the CLI."""

import pytest
import torch

from fens.cli import build_parser
from fens.dataset import load_dataset
from fens.models import CNN, MODEL_NAMES, MODELS, Linear, LNModel, build_model
from fens.models.pretrained import CHECKPOINT_DIR, read_checkpoint, save_checkpoint
from fens.models.registry import ARCHITECTURES, architecture_of, model_config


def test_the_course_names_its_four_models():
    assert MODEL_NAMES == ("ln", "cnn", "sota_ln", "sota_cnn")
    assert {name: entry.architecture for name, entry in MODELS.items()} == {
        "ln": "linear",
        "cnn": "cnn",
        "sota_ln": "lurz2020",
        "sota_cnn": "lurz2020",
    }
    assert [name for name, entry in MODELS.items() if entry.fast_blocks] == ["sota_ln", "sota_cnn"]


def test_shipped_checkpoints_are_exactly_the_registered_ones():
    shipped = {name: entry.checkpoint for name, entry in MODELS.items() if entry.shipped}
    assert sorted(shipped) == sorted(p.stem for p in CHECKPOINT_DIR.glob("*.pt"))
    for name, path in shipped.items():
        assert path.is_file()
        record = read_checkpoint(path)
        assert (record["name"], record["architecture"]) == (name, MODELS[name].architecture)
    assert MODELS["ln"].checkpoint is None and MODELS["cnn"].checkpoint is None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_build_model_builds_the_registered_architecture(name, dataloaders_factory):
    model = build_model(name, dataloaders_factory(), seed=0)
    assert isinstance(model, ARCHITECTURES[MODELS[name].architecture])
    assert architecture_of(model) == MODELS[name].architecture
    assert model(torch.rand(2, 1, 36, 64) * 255).shape == (2, 7)


def test_the_cli_offers_the_registered_names(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--model", "gru", "--data", "d", "--out", "o"])
    assert f"choose from {', '.join(map(repr, MODEL_NAMES))}" in capsys.readouterr().err


def test_lnmodel_keeps_its_2022_name_and_checkpoint_architecture(tiny_dataset, tmp_path):
    assert Linear is LNModel
    model = Linear(input_height=64, input_width=36, n_neurons=150)
    assert type(model).__name__ == "LNModel"
    path = save_checkpoint(
        tmp_path / "ln.pt",
        model,
        name="ln",
        dataloaders=load_dataset(tiny_dataset, batch_size=32, progress=False),
        metrics={},
        training={},
    )
    assert read_checkpoint(path)["architecture"] == "linear"
    assert model_config(model)["input_height"] == 64


def test_models_of_no_architecture_are_refused(dataloaders_factory, tmp_path):
    with pytest.raises(TypeError, match="Sequential is none of the course's architectures"):
        save_checkpoint(
            tmp_path / "x.pt",
            torch.nn.Sequential(),
            name="x",
            dataloaders=dataloaders_factory(),
            metrics={},
            training={},
        )


def test_reprs_are_short_and_say_what_the_model_is(dataloaders_factory):
    ln = repr(LNModel(input_height=36, input_width=64, n_neurons=5335, gamma=0.1))
    assert ln.startswith("LNModel(") and "36x64 pixels -> 5335 neurons, gamma=0.1" in ln
    assert len(ln) < 300
    cnn = repr(CNN(input_height=36, input_width=64, n_neurons=7))
    assert "36x64 pixels -> 7 neurons" in cnn and len(cnn.splitlines()) <= 25
    loaders = dataloaders_factory()
    for fast, blocks, readout in ((True, "fast", "FastFullGaussian2d"), (False, "reference", "")):
        text = repr(build_model("sota_cnn", loaders, seed=0, fast=fast))
        assert len(text.splitlines()) == 5 and len(text) < 500
        assert f"(1, 36, 64) -> 7 neurons, {blocks} blocks" in text
        assert f"{readout or 'FullGaussian2d'}, full Gaussian" in text
        assert "kernels 15 then 13 depth-separable, ELU" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_neurons": 2.5}, "n_neurons must be a positive integer, got 2.5"),
        ({"input_height": True}, "input_height must be a positive integer, got True"),
        ({"gamma": float("nan")}, "gamma must be a number >= 0, got nan"),
        ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\] or None, got 1.5"),
        ({"init_std": -1}, "init_std must be a number >= 0, got -1"),
    ],
)
@pytest.mark.parametrize("model_class", [LNModel, CNN])
def test_arguments_are_checked_with_their_name_and_value(model_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_class(**{"input_height": 36, "input_width": 64, "n_neurons": 3, **kwargs})


def test_cnn_kernel_sizes_must_be_odd_integers():
    with pytest.raises(
        ValueError, match="kernel_sizes entries must be a positive integer, got 3.0"
    ):
        CNN(input_height=36, input_width=64, n_neurons=3, kernel_sizes=(3.0,))
    with pytest.raises(ValueError, match=r"kernel_sizes must be one or more odd sizes, got \(\)"):
        CNN(input_height=36, input_width=64, n_neurons=3, kernel_sizes=())

"""The ``fens`` command line."""

import numpy as np
import pytest

import fens.dataset
from fens.cli import main


def test_simulate_writes_a_loadable_dataset_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--preset", "tiny", "--seed", "3", "--out", str(out)]) == 0
    assert "written to" in capsys.readouterr().out
    assert (out / "data" / "responses" / "0.npy").is_file()
    first = np.load(out / "data" / "responses" / "0.npy")

    assert main(["simulate", "--preset", "tiny", "--seed", "4", "--out", str(out)]) == 1
    assert str(out) in capsys.readouterr().err
    np.testing.assert_array_equal(np.load(out / "data" / "responses" / "0.npy"), first)

    assert (
        main(["simulate", "--preset", "tiny", "--seed", "4", "--out", str(out), "--overwrite"]) == 0
    )
    assert not np.array_equal(np.load(out / "data" / "responses" / "0.npy"), first)


def test_download_calls_the_downloader(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(
        fens.dataset, "download_lurz2020", lambda out: calls.append(out) or tmp_path
    )
    assert main(["download", "lurz2020", "--out", str(tmp_path)]) == 0
    assert calls == [str(tmp_path)]
    assert str(tmp_path) in capsys.readouterr().out


def test_download_failure_is_a_clear_message(tmp_path, monkeypatch, capsys):
    def fail(out):
        raise fens.dataset.DatasetError("cannot reach http://example.invalid/x.zip")

    monkeypatch.setattr(fens.dataset, "download_lurz2020", fail)
    assert main(["download", "lurz2020", "--out", str(tmp_path)]) == 1
    assert "cannot reach http://example.invalid/x.zip" in capsys.readouterr().err


def test_unknown_preset_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--preset", "huge", "--out", str(tmp_path / "x")])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_train_builds_the_reference_blocks_when_asked_and_records_it(
    tiny_dataset, tmp_path, monkeypatch
):
    import fens.models.registry
    from fens.models.pretrained import read_checkpoint

    built = []
    build_model = fens.models.registry.build_model

    def recording_build_model(*args, **kwargs):
        built.append(kwargs["fast"])
        return build_model(*args, **kwargs)

    monkeypatch.setattr(fens.models.registry, "build_model", recording_build_model)
    for flag in ([], ["--reference-blocks"]):
        out = tmp_path / f"sota_ln{len(flag)}.pt"
        argv = ["train", "--model", "sota_ln", "--data", str(tiny_dataset), "--out", str(out)]
        assert main([*argv, "--max-iter", "1", "--device", "cpu", *flag]) == 0
        assert read_checkpoint(out)["training"]["blocks"] == ("reference" if flag else "fast")
    assert built == [True, False]


def test_reference_blocks_are_refused_for_models_without_them(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "ln.pt"
    argv = ["train", "--model", "ln", "--data", str(tiny_dataset), "--out", str(out)]
    with pytest.raises(SystemExit):
        main([*argv, "--reference-blocks"])
    assert "only the SOTA models have them, not ln" in capsys.readouterr().err
    assert not out.exists()

"""Scoring against the ground truth, with a model that is the ground truth."""

import numpy as np
import pytest
import torch
from torch import nn

from fens.analysis import (
    compare_to_truth,
    plot_truth_comparison,
    similarity_to_truth,
    summarize_truth_comparison,
    well_predicted_neurons,
)
from fens.simulate.neurons import GroundTruth, gabor
from tests.analysis.conftest import IMAGE_MEAN, IMAGE_STD

ORIENTATIONS = np.array([0.2, 1.0, 1.9, 2.8])
CELL_TYPES = np.array(["simple", "complex", "simple", "complex"])


@pytest.fixture
def truth() -> GroundTruth:
    """Four neurons (simple, complex, simple, complex) at 0.1 cycles/pixel."""
    n = len(ORIENTATIONS)
    center = np.array([[20.0, 15.0], [40.0, 20.0], [30.0, 18.0], [45.0, 12.0]])
    args = (center, np.full(n, 4.0), np.full(n, 0.8), ORIENTATIONS, np.full(n, 0.1))
    phase = np.array([0.0, 1.0, 2.0, 3.0])
    filters = np.stack([gabor(*args, phase), gabor(*args, phase + np.pi / 2)], axis=1)
    ones, zeros = np.ones(n), np.zeros(n)
    return GroundTruth(
        cell_type=CELL_TYPES,
        orientation=ORIENTATIONS,
        spatial_frequency=np.full(n, 0.1),
        phase=phase,
        center=center,
        size=np.full(n, 4.0),
        aspect=np.full(n, 0.8),
        gain=ones,
        exponent=ones,
        baseline=zeros,
        normalization_strength=zeros,
        pool_size=np.full(n, 8.0),
        responsive=np.ones(n, dtype=bool),
        filters=filters.astype(np.float32),
        contrast_reference=np.array(0.1),
        retinotopy=np.zeros((2, 3)),
    )


class TrueModel(nn.Module):
    """The ground truth as a torch model: ELU + 1 of the even filter (simple cells) or of the
    quadrature pair's energy (complex cells), on pixels scaled to -0.5..0.5."""

    def __init__(self, truth: GroundTruth) -> None:
        super().__init__()
        self.register_buffer("filters", torch.tensor(truth.filters).flatten(2))  # (N, 2, P)
        self.register_buffer("complex", torch.tensor(truth.cell_type == "complex"))

    def forward(self, images):
        x = images.flatten(1) / 255.0 - 0.5  # (B, P)
        projections = torch.einsum("bp,nkp->bnk", x, self.filters)  # (B, N, 2)
        energy = torch.sqrt((projections**2).sum(-1) + 1e-8)
        drive = torch.where(self.complex, energy, projections[..., 0])
        return nn.functional.elu(10 * drive) + 1


def test_similarity_to_truth_scores_the_filters_themselves(truth):
    ids = np.arange(4)
    even, odd = truth.filters[:, 0], truth.filters[:, 1]
    np.testing.assert_allclose(similarity_to_truth(100 + 7 * even, truth, ids), 1, atol=1e-5)
    # Complex cells accept any phase; simple cells only their own.
    scores = similarity_to_truth(odd, truth, ids)
    np.testing.assert_allclose(scores[[1, 3]], 1, atol=1e-5)
    assert np.all(np.abs(scores[[0, 2]]) < 0.2)
    np.testing.assert_allclose(similarity_to_truth(-even, truth, ids)[[0, 2]], -1, atol=1e-5)


def test_the_ground_truth_as_a_model_scores_perfectly(truth):
    correlations = np.array([0.3, 0.5, 0.1, 0.4])
    ids = well_predicted_neurons(correlations, n=4)
    np.testing.assert_array_equal(ids, [1, 3, 0, 2])
    table = compare_to_truth(
        TrueModel(truth),
        truth=truth,
        neuron_indices=ids,
        image_mean=IMAGE_MEAN,
        image_std=IMAGE_STD,
        mei_iterations=60,
        mei_lr=300.0,
        orientations=16,
        spatial_frequencies=[0.05, 0.1, 0.2],
        correlations=correlations,
        device="cpu",
        progress=False,
    )
    assert set(table) >= {"neuron_index", "mei_correlation", "orientation_error", "tuned"}
    assert all(len(column) == 4 for column in table.values())
    np.testing.assert_array_equal(table["cell_type"], CELL_TYPES[ids])
    np.testing.assert_array_equal(table["prediction_correlation"], correlations[ids])
    assert np.all(table["mei_correlation"] > 0.95)
    simple = table["cell_type"] == "simple"
    assert np.all(table["grad_rf_correlation"][simple] > 0.99)
    assert np.all(table["tuned"])
    assert np.all(table["orientation_error"] <= 180 / 16 / 2 + 1e-9)

    summary = summarize_truth_comparison(table)
    assert summary["median_mei_correlation_simple"] > 0.95
    assert summary["fraction_within"] == 1.0
    assert summary["n_tuned"] == 4
    fig = plot_truth_comparison(table)
    assert len(fig.axes) == 3


def test_summary_counts_only_tuned_neurons():
    table = {
        "cell_type": np.array(["simple", "simple", "complex"]),
        "mei_correlation": np.array([0.9, 0.5, 0.7]),
        "grad_rf_correlation": np.array([0.8, 0.6, 0.1]),
        "orientation_error": np.array([10.0, 40.0, 5.0]),
        "tuned": np.array([True, True, False]),
    }
    summary = summarize_truth_comparison(table, within_deg=15.0)
    assert summary["median_mei_correlation_simple"] == pytest.approx(0.7)
    assert summary["median_mei_correlation_complex"] == pytest.approx(0.7)
    assert summary["fraction_within"] == pytest.approx(0.5)
    assert summary["n_tuned"] == 2


def test_well_predicted_neurons_threshold_and_nans():
    correlations = np.array([0.1, np.nan, 0.4, 0.25])
    np.testing.assert_array_equal(well_predicted_neurons(correlations, n=10), [2, 3, 0, 1])
    np.testing.assert_array_equal(well_predicted_neurons(correlations, min_correlation=0.2), [2, 3])


def test_old_spellings_warn_name_the_new_one_and_agree(truth):
    options = dict(mei_iterations=3, orientations=4, spatial_frequencies=[0.1], device="cpu")
    options |= dict(progress=False)
    model = TrueModel(truth)
    with pytest.warns(DeprecationWarning, match="truth=..., neuron_indices=..., image_mean="):
        by_position = compare_to_truth(model, truth, [2, 0], IMAGE_MEAN, IMAGE_STD, **options)
    kwargs = dict(truth=truth, image_mean=IMAGE_MEAN, image_std=IMAGE_STD) | options
    with pytest.warns(DeprecationWarning, match="write neuron_indices="):
        old_name = compare_to_truth(model, neuron_ids=[2, 0], **kwargs)
    table = compare_to_truth(model, neuron_indices=[2, 0], **kwargs)
    for old in (by_position, old_name):
        assert list(old) == list(table)
        for key in table:
            np.testing.assert_array_equal(old[key], table[key])
    with pytest.warns(DeprecationWarning, match="'neuron_index'"):
        np.testing.assert_array_equal(table["neuron_id"], [2, 0])
    with pytest.raises(KeyError):
        table["no such column"]

    even = truth.filters[:, 0]
    with pytest.warns(DeprecationWarning, match="write neuron_indices="):
        old = similarity_to_truth(even[[1, 3]], truth, neuron_ids=[1, 3])
    np.testing.assert_array_equal(old, similarity_to_truth(even[[1, 3]], truth, [1, 3]))
    correlations = np.array([0.3, 0.5, 0.1, 0.4])
    with pytest.warns(DeprecationWarning, match="n=..., min_correlation=..."):
        old = well_predicted_neurons(correlations, 3, 0.2)
    np.testing.assert_array_equal(
        old, well_predicted_neurons(correlations, n=3, min_correlation=0.2)
    )
    with pytest.warns(DeprecationWarning, match="within_deg="):
        old = summarize_truth_comparison(table, 5.0)
    np.testing.assert_equal(old, summarize_truth_comparison(table, within_deg=5.0))  # NaNs
    with pytest.warns(DeprecationWarning, match="within_deg="):
        assert len(plot_truth_comparison(table, 5.0).axes) == 3


def test_the_comparison_table_prints_its_size_and_columns(truth):
    table = compare_to_truth(
        TrueModel(truth),
        truth=truth,
        neuron_indices=[3, 1],
        image_mean=IMAGE_MEAN,
        image_std=IMAGE_STD,
        mei_iterations=2,
        orientations=4,
        spatial_frequencies=[0.1],
        device="cpu",
        progress=False,
    )
    assert repr(table) == (
        "TruthComparison(2 neurons; columns: neuron_index, cell_type, grad_rf_correlation, "
        "mei_correlation, mei_activation, true_orientation, model_orientation, "
        "orientation_error, osi, tuned)"
    )
    assert isinstance(table, dict)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"neuron_indices": [0, 4]}, r"neuron_indices must index the 4 simulated neurons, got \[0, 4\]"),
        ({"image_std": 0.0}, "image_std must be a positive number, got 0.0"),
        ({"mei_contrast": -0.1}, "mei_contrast must be a positive number, got -0.1"),
        ({"osi_threshold": 1.5}, r"osi_threshold must be a number in \[0, 1\], got 1.5"),
    ],
)  # fmt: skip
def test_compare_to_truth_refuses_bad_arguments_naming_them(truth, options, message):
    arguments = dict(truth=truth, neuron_indices=[0], image_mean=IMAGE_MEAN, image_std=IMAGE_STD)
    with pytest.raises(ValueError, match=f"^{message}$"):
        compare_to_truth(TrueModel(truth), **arguments | options, device="cpu", progress=False)
    with pytest.raises(ValueError, match="^within_deg must be a number in"):
        summarize_truth_comparison({}, within_deg=-1)


#: compare_to_truth settings short enough for a test, shared by the true-model checks below.
SHORT_RUN = dict(
    image_mean=IMAGE_MEAN,
    image_std=IMAGE_STD,
    mei_iterations=20,
    mei_lr=100.0,
    orientations=8,
    spatial_frequencies=[0.06, 0.1],
    device="cpu",
    progress=False,
)


def test_subunit_and_deep_cells_are_scored_against_the_truths_own_mei_and_tuning(tmp_path):
    """Neurons without a Gabor receptive field: the true model itself, given as the model,
    finds the MEIs and preferred orientations the truth has (the same start and steps), and
    no gradient RF is scored."""
    import dataclasses

    from fens.simulate import PRESETS, simulate
    from fens.simulate.true_model import TrueModel as SimulatedTruth

    config = dataclasses.replace(
        PRESETS["tiny"], n_neurons=40, subunit_fraction=0.4, deep_fraction=0.4
    )
    folder = simulate(tmp_path / "kinds", config, seed=2, progress=False)
    truth = GroundTruth.load(folder)
    ids = np.concatenate(
        [np.flatnonzero(truth.cell_type == kind)[:2] for kind in ("subunit", "deep", "complex")]
    )
    table = compare_to_truth(SimulatedTruth(truth), truth=truth, neuron_indices=ids, **SHORT_RUN)
    later = np.isin(table["cell_type"], ["subunit", "deep"])
    np.testing.assert_allclose(table["mei_correlation"][later], 1.0, atol=1e-6)
    np.testing.assert_allclose(table["orientation_error"][later], 0.0, atol=1e-9)
    assert np.isnan(table["grad_rf_correlation"][later]).all()
    assert not np.isnan(table["mei_correlation"][~later]).any()
    summary = summarize_truth_comparison(table)
    assert summary["median_mei_correlation_deep"] == pytest.approx(1.0)
    assert np.isnan(summary["median_mei_correlation_simple"])
    assert len(plot_truth_comparison(table).axes) == 3


def test_gabor_cells_with_irregular_subunits_are_scored_against_the_truths_own_mei(tmp_path):
    """A simple or complex cell with a share of irregular subunits no longer has its Gabor as
    optimal stimulus: its MEI and preferred orientation are the true model's, while its
    gradient RF (at the mean image, where the rectified textures are flat) is still scored
    against its Gabor."""
    import dataclasses

    from fens.simulate import PRESETS, simulate
    from fens.simulate.true_model import TrueModel as SimulatedTruth

    config = dataclasses.replace(PRESETS["tiny"], n_neurons=40, irregular_share_max=0.6)
    truth = GroundTruth.load(simulate(tmp_path / "irregular", config, seed=3, progress=False))
    ids = np.flatnonzero(truth.irregular_share > 0.3)[:4]
    assert ids.size == 4 and np.isin(truth.cell_type[ids], ["simple", "complex"]).all()
    table = compare_to_truth(SimulatedTruth(truth), truth=truth, neuron_indices=ids, **SHORT_RUN)
    np.testing.assert_allclose(table["mei_correlation"], 1.0, atol=1e-6)
    np.testing.assert_allclose(table["orientation_error"], 0.0, atol=1e-9)
    assert not np.isnan(table["grad_rf_correlation"]).any()

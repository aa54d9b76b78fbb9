"""Tests of fens.measures against independent computations (scipy, torch, numpy loops)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr
from torch import nn
from torch.utils.data import DataLoader, Sampler, SubsetRandomSampler, TensorDataset

from fens import measures
from fens.dataset import SubsetSequentialSampler

N_NEURONS = 6
IMAGE_SHAPE = (1, 5, 5)
# Test images 900..905, shown 1 to 4 times (ragged; 905 only once), interleaved with the others.
TEST_REPEATS = {900: 3, 901: 2, 902: 4, 903: 2, 904: 3, 905: 1}


class RepeatBatches(Sampler):
    """One batch per image with all its trials; exposes ``indices`` as the course's does."""

    def __init__(self, batches):
        self.batches = [np.asarray(b) for b in batches]
        self.indices = np.concatenate(self.batches)

    def __iter__(self):
        return (b.tolist() for b in self.batches)

    def __len__(self):
        return len(self.batches)


def make_dataset(seed=0):
    """A TensorDataset with ``trial_info`` as the course's dataset: 20 train trials + repeats."""
    rng = np.random.default_rng(seed)
    ids = [100 + i for i in range(20)] + [i for i, n in TEST_REPEATS.items() for _ in range(n)]
    ids = np.array(ids)[rng.permutation(len(ids))]  # tiers interleaved, as in an experiment
    tiers = np.where(ids >= 900, "test", "train")
    unique_images = {i: rng.normal(size=IMAGE_SHAPE) for i in np.unique(ids)}
    images = np.stack([unique_images[i] for i in ids]).astype(np.float32)
    responses = rng.gamma(2.0, 1.0, size=(len(ids), N_NEURONS)).astype(np.float32)
    dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(responses))
    dataset.trial_info = SimpleNamespace(tiers=tiers, frame_image_id=ids)
    return dataset


def sequential_test_loader(dataset, batch_size=4):
    return DataLoader(
        dataset,
        sampler=SubsetSequentialSampler(np.flatnonzero(dataset.trial_info.tiers == "test")),
        batch_size=batch_size,
    )


def repeats_loader(dataset):
    ids = dataset.trial_info.frame_image_id
    batches = [np.flatnonzero(ids == i) for i in TEST_REPEATS]
    return DataLoader(dataset, batch_sampler=RepeatBatches(batches))


class SoftplusLinear(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(int(np.prod(IMAGE_SHAPE)), N_NEURONS)
        self.dropout = nn.Dropout(0.5)  # makes the train/eval mode visible in the output

    def forward(self, images):
        return nn.functional.softplus(self.dropout(self.linear(images.flatten(1))))


@pytest.fixture
def dataset():
    return make_dataset()


@pytest.fixture
def model():
    return SoftplusLinear()


def by_hand(model, dataset, trials):
    """Responses and eval-mode predictions of the given trials, computed directly."""
    images, responses = dataset.tensors
    model.eval()
    with torch.no_grad():
        output = model(images[trials]).numpy()
    model.train()
    return responses[trials].numpy(), output


def pearson_per_neuron(a, b):
    return np.array([pearsonr(a[:, n], b[:, n])[0] for n in range(a.shape[1])])


def repeats_by_hand(dataset, min_repeats=1):
    """Trial indices of every test image, with at least ``min_repeats`` repeats."""
    ids = dataset.trial_info.frame_image_id
    return [np.flatnonzero(ids == i) for i, n in TEST_REPEATS.items() if n >= min_repeats]


# --- array functions ---------------------------------------------------------------------------


def test_corr_matches_scipy_pearsonr():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 4))
    b = a + rng.normal(size=(50, 4))
    np.testing.assert_allclose(measures.corr(a, b), pearson_per_neuron(a, b), atol=1e-7)


def test_corr_of_a_constant_is_zero_and_shapes_must_match():
    assert measures.corr(np.ones((5, 2)), np.arange(10.0).reshape(5, 2)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"\(5, 2\) and \(4, 2\)"):
        measures.corr(np.ones((5, 2)), np.ones((4, 2)))


def test_oracle_corr_matches_a_jackknife_loop_on_ragged_repeats():
    rng = np.random.default_rng(2)
    repeated = [rng.gamma(2.0, size=(n, 3)) for n in (2, 5, 3, 4)]
    singles, others = [], []
    for responses in repeated:
        for r in range(len(responses)):
            singles.append(responses[r])
            others.append(np.delete(responses, r, axis=0).mean(axis=0))
    expected = pearson_per_neuron(np.array(singles), np.array(others))
    np.testing.assert_allclose(measures.oracle_corr(repeated), expected, atol=1e-7)


def test_oracle_corr_needs_two_repeats_per_image():
    with pytest.raises(ValueError, match=r"image 1: .*got \(1, 3\)"):
        measures.oracle_corr([np.ones((2, 3)), np.ones((1, 3))])


def test_fev_and_feve_match_the_formulas_written_out():
    rng = np.random.default_rng(3)
    repeated = [rng.gamma(2.0, size=(n, 3)) for n in (2, 5, 3, 4)]
    predictions = [rng.gamma(2.0, size=3) for _ in repeated]
    every_trial = np.concatenate(repeated)
    total_var = ((every_trial - every_trial.mean(0)) ** 2).sum(0) / (len(every_trial) - 1)
    noise_var = np.mean([((r - r.mean(0)) ** 2).sum(0) / (len(r) - 1) for r in repeated], axis=0)
    squared_errors = np.concatenate(
        [(r - p) ** 2 for r, p in zip(repeated, predictions, strict=True)]
    )
    expected_feve = 1 - (squared_errors.mean(0) - noise_var) / (total_var - noise_var)
    np.testing.assert_allclose(measures.fev(repeated), 1 - noise_var / total_var)
    np.testing.assert_allclose(measures.feve(repeated, predictions), expected_feve)
    per_trial = [np.broadcast_to(p, r.shape) for r, p in zip(repeated, predictions, strict=True)]
    np.testing.assert_allclose(measures.feve(repeated, per_trial), expected_feve)


def test_feve_of_the_true_rates_is_close_to_one():
    rng = np.random.default_rng(4)
    rates = rng.gamma(2.0, size=(40, 3))  # (images, neurons)
    repeated = [rng.poisson(rate, size=(200, 3)).astype(float) for rate in rates]
    np.testing.assert_allclose(measures.feve(repeated, list(rates)), 1.0, atol=0.05)
    # and a prediction that ignores the image explains nothing of it
    flat = [np.full(3, rates.mean(0)) for _ in rates]
    assert np.all(measures.feve(repeated, flat) < 0.05)


def test_feve_rejects_a_prediction_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"image 0: prediction of shape \(2,\)"):
        measures.feve([np.ones((2, 3))], [np.ones(2)])


def test_poisson_loss_matches_torch_poisson_nll_loss():
    rng = np.random.default_rng(5)
    target = rng.poisson(2.0, size=(7, 3)).astype(float)
    output = rng.gamma(2.0, size=(7, 3))
    for avg, reduction in ((False, "sum"), (True, "mean")):
        reference = nn.PoissonNLLLoss(log_input=False, full=False, eps=1e-8, reduction=reduction)
        expected = reference(torch.from_numpy(output), torch.from_numpy(target)).item()
        assert measures.poisson_loss(target, output, avg=avg, eps=1e-8) == pytest.approx(expected)


# --- running a model over a loader -------------------------------------------------------------


def test_model_predictions_follow_the_loader_order_in_eval_mode(dataset, model):
    loader = sequential_test_loader(dataset)
    target, output = measures.model_predictions(model, loader, device="cpu")
    assert model.training  # the model's mode is restored
    expected_target, expected_output = by_hand(model, dataset, loader.sampler.indices)
    np.testing.assert_array_equal(target, expected_target)
    np.testing.assert_allclose(output, expected_output, rtol=1e-6)


def test_get_correlations_matches_scipy_per_neuron_and_on_average(dataset, model):
    loader = sequential_test_loader(dataset)
    expected = pearson_per_neuron(*by_hand(model, dataset, loader.sampler.indices))
    np.testing.assert_allclose(measures.get_correlations(model, loader), expected, atol=1e-6)
    mean = measures.get_correlations(model, loader, per_neuron=False)
    assert mean == pytest.approx(expected.mean(), abs=1e-6)


def test_get_correlations_of_a_dict_of_loaders_is_a_dict(dataset, model):
    train = DataLoader(
        dataset,
        sampler=SubsetSequentialSampler(np.flatnonzero(dataset.trial_info.tiers == "train")),
    )
    result = measures.get_correlations(
        model, {"train": train, "test": sequential_test_loader(dataset)}, per_neuron=False
    )
    assert set(result) == {"train", "test"}
    expected = pearson_per_neuron(*by_hand(model, dataset, train.sampler.indices)).mean()
    assert result["train"] == pytest.approx(expected, abs=1e-6)


def test_get_poisson_loss_matches_torch(dataset, model):
    loader = sequential_test_loader(dataset)
    target, output = by_hand(model, dataset, loader.sampler.indices)
    reference = nn.PoissonNLLLoss(log_input=False, full=False, eps=1e-8, reduction="sum")
    expected = reference(torch.from_numpy(output), torch.from_numpy(target)).item()
    loss = measures.get_poisson_loss(model, loader, eps=1e-8)
    assert loss == pytest.approx(expected, rel=1e-5)
    n_values = target.size
    assert measures.get_poisson_loss(model, loader, avg=True, eps=1e-8) == pytest.approx(
        expected / n_values, rel=1e-5
    )


@pytest.mark.parametrize("make_loader", [sequential_test_loader, repeats_loader])
def test_get_avg_correlations_correlates_the_means_over_repeats(dataset, model, make_loader):
    mean_targets, mean_outputs = [], []
    for trials in repeats_by_hand(dataset):
        target, output = by_hand(model, dataset, trials)
        mean_targets.append(target.mean(0))
        mean_outputs.append(output.mean(0))
    expected = pearson_per_neuron(np.array(mean_targets), np.array(mean_outputs))
    result = measures.get_avg_correlations(model, make_loader(dataset))
    np.testing.assert_allclose(result, expected, atol=1e-6)


@pytest.mark.parametrize("make_loader", [sequential_test_loader, repeats_loader])
def test_get_oracles_is_the_jackknife_over_repeated_images_only(dataset, make_loader):
    singles, others = [], []
    for trials in repeats_by_hand(dataset, min_repeats=2):  # image 905 (shown once) left out
        responses = dataset.tensors[1][trials].numpy().astype(float)
        for r in range(len(responses)):
            singles.append(responses[r])
            others.append(np.delete(responses, r, axis=0).mean(axis=0))
    expected = pearson_per_neuron(np.array(singles), np.array(others))
    loader = make_loader(dataset)
    np.testing.assert_allclose(measures.get_oracles(loader), expected, atol=1e-6)
    assert measures.get_oracles({"test": loader}, per_neuron=False) == pytest.approx(
        expected.mean(), abs=1e-6
    )


def test_batches_of_one_image_are_grouped_without_trial_info(dataset, model):
    """A loader without sampler indices or image ids: each batch is the repeats of one image."""
    batches = repeats_by_hand(dataset, min_repeats=2)
    plain = TensorDataset(*dataset.tensors)  # no trial_info
    loader = DataLoader(plain, batch_sampler=[b.tolist() for b in batches])
    with_ids = DataLoader(dataset, batch_sampler=RepeatBatches(batches))
    np.testing.assert_allclose(measures.get_oracles(loader), measures.get_oracles(with_ids))
    np.testing.assert_allclose(
        measures.get_FEVE(model, loader), measures.get_FEVE(model, with_ids), rtol=1e-6
    )
    mixed = DataLoader(plain, batch_sampler=[np.concatenate(batches[:2]).tolist()])
    with pytest.raises(ValueError, match="batch 0 holds different images"):
        measures.get_oracles(mixed)


def test_repeat_measures_refuse_a_shuffled_loader_and_one_without_repeats(dataset):
    shuffled = DataLoader(dataset, sampler=SubsetRandomSampler(list(range(len(dataset)))))
    with pytest.raises(ValueError, match="SubsetRandomSampler"):
        measures.get_oracles(shuffled)
    train = DataLoader(
        dataset,
        sampler=SubsetSequentialSampler(np.flatnonzero(dataset.trial_info.tiers == "train")),
    )
    with pytest.raises(ValueError, match=r"no image .* more than once \(20 images\)"):
        measures.get_oracles(train)
    with pytest.raises(ValueError, match=r"only \['train'\]"):
        measures.get_oracles({"train": train})


def test_fraction_of_oracle_is_the_slope_through_the_origin(dataset, model):
    loader = sequential_test_loader(dataset)
    oracles = measures.get_oracles(loader)
    correlations = pearson_per_neuron(*by_hand(model, dataset, loader.sampler.indices))
    expected = (oracles @ correlations) / (oracles @ oracles)  # least squares, no intercept
    fraction = measures.get_fraction_oracles(model, {"test": loader})
    assert fraction == pytest.approx(expected, rel=1e-5)


def test_get_fev_and_get_feve_use_the_repeated_images(dataset, model):
    targets, outputs = [], []
    for trials in repeats_by_hand(dataset, min_repeats=2):
        target, output = by_hand(model, dataset, trials)
        targets.append(target.astype(float))
        outputs.append(output.astype(float))
    loader = sequential_test_loader(dataset)
    np.testing.assert_allclose(measures.get_FEV(loader), measures.fev(targets), rtol=1e-6)
    np.testing.assert_allclose(
        measures.get_FEVE(model, loader), measures.feve(targets, outputs), rtol=1e-5
    )
    assert measures.get_FEVE(model, loader, per_neuron=False) == pytest.approx(
        measures.feve(targets, outputs).mean(), rel=1e-5
    )


def test_an_unavailable_accelerator_falls_back_to_the_cpu(dataset, model, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("fens.utility.device._warned_fallbacks", set())
    loader = sequential_test_loader(dataset)
    with pytest.warns(RuntimeWarning, match="'cuda' is not available"):
        correlations = measures.get_correlations(model, loader, device="cuda")
    np.testing.assert_allclose(correlations, measures.get_correlations(model, loader))
    assert next(model.parameters()).device.type == "cpu"

"""Tests of the pieces train_model is made of: train_epoch, evaluate, TrainingHistory,
TrainingResult, and the progress bars."""

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import tqdm.auto
from scipy import stats
from torch import nn
from torch.utils.data import DataLoader, SubsetRandomSampler

import fens.trainers
from fens.dataset import SubsetSequentialSampler
from fens.trainers import (
    Evaluation,
    TrainingHistory,
    TrainingResult,
    evaluate,
    train_epoch,
    train_model,
)
from tests.trainers.linear_poisson import BATCH_SIZE, TIERS, LinearExp, make_loaders


class WithL1(LinearExp):
    """A model with a penalty that pulls on its weights (a real gradient, unlike a constant)."""

    def regularizer(self):
        return 0.05 * self.linear.weight.abs().sum()


def always_better():
    """An early-stopping objective that improves at every evaluation (so no state is undone)."""
    counter = itertools.count()
    return lambda model: float(next(counter))


def test_train_epoch_gives_the_weights_of_one_epoch_of_train_model(data):
    def loaders_with_own_shuffling():
        loaders = make_loaders(data[0])
        loaders["train"].sampler.generator = torch.Generator()
        return loaders

    trained = WithL1(seed=2)
    result = train_model(
        trained,
        loaders_with_own_shuffling(),
        seed=3,
        max_iter=1,
        objective=always_better(),
        progress=False,
    )

    model = WithL1(seed=2)
    loaders = loaders_with_own_shuffling()
    loaders["train"].sampler.generator.manual_seed(3)  # what train_model(seed=3) does to it
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, fused=True)  # train_model's Adam
    epoch_loss = train_epoch(model, loaders["train"], optimizer)

    assert set(result.model_state) == set(model.state_dict())
    for name, value in model.state_dict().items():
        assert torch.equal(result.model_state[name], value), name  # bit for bit
        assert torch.equal(trained.state_dict()[name], value), name
    assert epoch_loss == result.output["history"]["train_loss"][1]


def fixed_order_loader(dataset):
    train_idx = np.flatnonzero(dataset.trial_info.tiers == "train")
    return DataLoader(dataset, sampler=SubsetSequentialSampler(train_idx), batch_size=BATCH_SIZE)


@pytest.mark.parametrize("scale_loss", [True, False])
def test_train_epoch_is_adam_steps_on_the_scaled_poisson_loss_plus_the_penalty(data, scale_loss):
    """train_epoch against a loop written from torch's own parts (default Adam)."""
    loader = fixed_order_loader(data[0])
    model = WithL1(seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    epoch_loss = train_epoch(model, loader, optimizer, scale_loss=scale_loss)
    assert model.training

    reference = WithL1(seed=1)
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=0.01, foreach=False)
    poisson = nn.PoissonNLLLoss(log_input=False, full=False, reduction="sum")
    losses = []
    for images, responses in loader:
        scale = math.sqrt(len(TIERS) / len(images)) if scale_loss else 1.0
        reference_optimizer.zero_grad()
        total = scale * poisson(reference(images), responses) + reference.regularizer()
        total.backward()
        reference_optimizer.step()
        losses.append(total.item())
    assert epoch_loss == pytest.approx(np.mean(losses), rel=1e-6)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, rtol=1e-5, atol=1e-6)


def test_train_epoch_adds_the_penalty_it_is_given(data):
    loader = fixed_order_loader(data[0])

    def zero_loss(output, target):
        return (output * 0).sum()

    def mean_loss(regularizer):
        model = WithL1()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        return train_epoch(model, loader, optimizer, loss=zero_loss, regularizer=regularizer)

    own = 0.05 * WithL1().linear.weight.abs().sum().item()  # lr 0: the weights stay
    assert mean_loss(True) == pytest.approx(own)
    assert mean_loss(False) == 0.0
    assert mean_loss(lambda: torch.tensor(2.0)) == 2.0
    with pytest.raises(ValueError, match="regularizer must be True .* got 'l1'"):
        mean_loss("l1")


def test_train_epoch_refuses_an_empty_loader(data):
    empty = DataLoader(data[0], sampler=SubsetRandomSampler([]), batch_size=BATCH_SIZE)
    model = LinearExp()
    with pytest.raises(ValueError, match="yielded no batches"):
        train_epoch(model, empty, torch.optim.Adam(model.parameters()))


def test_evaluate_scores_against_scipy_and_torch_and_changes_nothing(loaders):
    model = LinearExp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    evaluation = evaluate(model, loaders["validation"])
    assert isinstance(evaluation, Evaluation) and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

    images, responses = (torch.cat(parts) for parts in zip(*loaders["validation"], strict=True))
    with torch.no_grad():
        predictions = model(images)
    pearson = [
        stats.pearsonr(predictions[:, n], responses[:, n]).statistic
        for n in range(responses.shape[1])
    ]
    poisson = nn.PoissonNLLLoss(log_input=False, full=False, reduction="mean", eps=1e-12)
    assert evaluation.correlation == pytest.approx(np.mean(pearson), rel=1e-5)
    assert evaluation.poisson_loss == pytest.approx(poisson(predictions, responses).item(), 1e-5)


def test_the_result_is_a_named_tuple_that_unpacks_as_in_2022(loaders):
    result = train_model(LinearExp(), loaders, max_iter=2, progress=False)
    assert isinstance(result, TrainingResult) and isinstance(result, tuple)
    assert result._fields == ("score", "output", "model_state")
    score, output, model_state = result
    assert score is result.score and output is result.output
    assert model_state is result.model_state
    assert score == output["validation_correlation"]


def test_the_result_and_the_history_print_in_a_few_lines(loaders):
    result = train_model(LinearExp(), loaders, max_iter=3, progress=False)
    text = repr(result)
    assert len(text) < 250, text
    assert text.startswith(f"TrainingResult(score={result.score:.4f}, epochs=3, cut_short=None")
    assert f"test_correlation={result.output['test_correlation']:.4f}" in text
    assert "model_state=<2 tensors, 296 values>" in text  # 8 x 36 weights and 8 biases
    assert "tensor(" not in text

    history = result.output["history"]
    assert isinstance(history, TrainingHistory) and isinstance(history, dict)
    assert len(repr(history)) < 300, repr(history)
    assert "4 evaluations, epochs 0-3" in repr(history)
    assert len(repr(result.output)) < 600
    assert repr(TrainingHistory()) == "TrainingHistory(no evaluations)"


def test_the_history_averages_the_epochs_between_two_evaluations():
    history = TrainingHistory(objective=True)
    history.add_evaluation(Evaluation(0.1, 2.0), lr=1e-2, objective=-2.0)
    history.add_epoch(1, loss=4.0, seconds=1.5)
    history.add_epoch(2, loss=6.0, seconds=2.0)
    history.add_evaluation(Evaluation(0.3, 1.5), lr=1e-3, objective=-1.5)
    assert list(history) == [*TrainingHistory.KEYS, "objective"]
    assert history["epoch"] == [0, 2]
    assert math.isnan(history["train_loss"][0]) and history["train_loss"][1] == 5.0
    assert history["validation_correlation"] == [0.1, 0.3]
    assert history["validation_poisson_loss"] == [2.0, 1.5]
    assert history["lr"] == [1e-2, 1e-3]
    assert history["epoch_time"] == [0.0, 3.5]
    assert history["objective"] == [-2.0, -1.5]


def test_the_bars_are_tqdm_auto(loaders, monkeypatch):
    assert fens.trainers.tqdm is tqdm.auto.tqdm  # a widget in Jupyter and Colab
    made = []

    def recording_tqdm(*args, **kwargs):
        bar = tqdm.auto.tqdm(*args, **kwargs)
        made.append(bar)
        return bar

    monkeypatch.setattr(fens.trainers, "tqdm", recording_tqdm)
    train_model(LinearExp(), loaders, max_iter=2, progress="batch")
    assert [bar.desc for bar in made] == ["Training", "Epoch 1", "Epoch 2"]
    assert all(isinstance(bar, tqdm.auto.tqdm) for bar in made)


def test_the_seeds_calls_work_unchanged(loaders):
    """The 2022 notebook's call (with a GPU that is not there) and the course's spelling."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score, output, model_state = train_model(
            model=LinearExp(), dataloader=loaders, device="cuda"
        )
    deprecations = [w for w in caught if w.category is DeprecationWarning]
    assert [str(w.message) for w in deprecations] == [
        "train_model(dataloader=...) is deprecated; write dataloaders=..."
    ]
    assert deprecations[0].filename == __file__  # points at the caller's line
    assert score > output["history"]["validation_correlation"][0]
    assert set(model_state) == {"linear.weight", "linear.bias"}
    score, output, model_state = train_model(
        LinearExp(), dataloaders=loaders, seed=0, max_iter=2, progress=False
    )
    assert output["history"]["epoch"] == [0, 1, 2]

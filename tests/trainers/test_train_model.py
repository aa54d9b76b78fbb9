"""Tests of fens.trainers.train_model on stand-in loaders with a known linear-Poisson truth."""

import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from fens.dataset import SubsetSequentialSampler
from fens.measures import corr
from fens.trainers import train_model
from fens.utility.device import DeviceFallbackWarning
from tests.trainers.linear_poisson import (
    BATCH_SIZE,
    N_NEURONS,
    SIDE,
    TIERS,
    LinearExp,
    make_loaders,
)


def test_training_improves_the_validation_correlation_towards_the_truth(data, loaders):
    dataset, rates = data
    validation = loaders["validation"].sampler.indices
    true_correlation = corr(dataset.tensors[1][validation].numpy(), rates[validation]).mean()
    model = LinearExp()
    score, output, _ = train_model(
        model, loaders, seed=0, max_iter=20, lr_init=0.05, progress=False
    )
    history = output["history"]
    assert history["validation_correlation"][0] < 0.2
    assert score > 0.9 * true_correlation
    assert score == pytest.approx(max(history["validation_correlation"]))
    assert output["validation_correlation"] == score
    assert 0.5 * true_correlation < output["test_correlation"] <= 1
    assert not model.training


def scripted_objective(script):
    """An objective that returns the scripted scores in turn and keeps each state it saw."""
    states = []

    def objective(model):
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return script[len(states) - 1]

    return objective, states


def test_stops_at_the_scripted_epoch_restores_the_best_state_and_decays_the_rate(loaders):
    # best after epoch 2; patience 2, 2 rounds: round 1 ends after epoch 4, round 2 after 6
    objective, states = scripted_objective([0.1, 0.3, 0.5, 0.4, 0.45, 0.2, 0.3, 0.0, 0.0])
    model = LinearExp()
    _, output, model_state = train_model(
        model,
        loaders,
        objective=objective,
        patience=2,
        lr_decay_steps=2,
        lr_init=1e-2,
        lr_decay_factor=0.3,
        max_iter=20,
        progress=False,
    )
    history = output["history"]
    assert history["epoch"] == [0, 1, 2, 3, 4, 5, 6]
    assert history["objective"] == [0.1, 0.3, 0.5, 0.4, 0.45, 0.2, 0.3]
    np.testing.assert_allclose(history["lr"], [1e-2] * 5 + [3e-3] * 2)
    best = states[2]  # the state after epoch 2
    for name, value in model_state.items():
        assert value.device.type == "cpu"
        torch.testing.assert_close(value, best[name], rtol=0, atol=0)
        torch.testing.assert_close(model.state_dict()[name], best[name], rtol=0, atol=0)
    assert not torch.equal(states[-1]["linear.weight"], best["linear.weight"])


def test_an_interruption_ends_training_with_the_best_state_and_a_warning(loaders):
    objective, states = scripted_objective([0.1, 0.3, 0.5, 0.4, 0.2])
    calls = 0

    def loss_interrupted_in_epoch_4(output, target):
        nonlocal calls
        calls += 1
        if calls == 3 * len(loaders["train"]) + 2:  # the second batch of epoch 4
            raise KeyboardInterrupt
        return nn.functional.poisson_nll_loss(output, target, log_input=False)

    model = LinearExp()
    with pytest.warns(RuntimeWarning, match=r"training stopped \(interrupted\) in epoch 4"):
        _, output, _ = train_model(
            model, loaders, loss=loss_interrupted_in_epoch_4, objective=objective, progress=False
        )
    assert output["cut_short"] == "interrupted"
    assert output["history"]["epoch"] == [0, 1, 2, 3]
    for name, value in model.state_dict().items():  # the best: after epoch 2
        torch.testing.assert_close(value, states[2][name], rtol=0, atol=0)


def test_the_time_budget_starts_no_epoch_once_spent(loaders):
    model = LinearExp()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.warns(RuntimeWarning, match=r"\(max_minutes\) in epoch 1"):
        _, output, _ = train_model(model, loaders, max_minutes=0, progress=False)
    assert output["cut_short"] == "max_minutes"
    assert output["history"]["epoch"] == [0]  # evaluated, never trained
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, initial[name], rtol=0, atol=0)
    _, output, _ = train_model(LinearExp(), loaders, max_iter=2, max_minutes=60, progress=False)
    assert output["cut_short"] is None and output["history"]["epoch"] == [0, 1, 2]
    with pytest.raises(ValueError, match="max_minutes must be a number >= 0 or None, got -1"):
        train_model(LinearExp(), loaders, max_minutes=-1)


@pytest.mark.parametrize("own_generator", [False, True])
def test_the_same_seed_gives_the_same_model(data, own_generator):
    def run(seed):
        loaders = make_loaders(data[0])
        if own_generator:  # shuffling with its own generator, here in a state nobody chose
            generator = torch.Generator()
            generator.seed()
            loaders["train"].sampler.generator = generator
        _, output, state = train_model(LinearExp(), loaders, seed=seed, max_iter=3, progress=False)
        return output["history"]["train_loss"], state

    losses, state = run(seed=3)
    same_losses, same_state = run(seed=3)
    other_losses, other_state = run(seed=4)
    assert losses[1:] == same_losses[1:]
    assert all(torch.equal(state[k], same_state[k]) for k in state)
    assert not torch.equal(state["linear.weight"], other_state["linear.weight"])


@pytest.mark.parametrize("seed", [None, 3])
def test_a_seed_makes_cudnn_deterministic_while_training_only(loaders, seed):
    seen = []

    def loss(output, target):
        seen.append((torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))
        return nn.functional.poisson_nll_loss(output, target, log_input=False)

    with torch.backends.cudnn.flags(enabled=True, benchmark=True, deterministic=False):
        train_model(LinearExp(), loaders, loss=loss, seed=seed, max_iter=1, progress=False)
        after = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    assert set(seen) == {(False, True) if seed is None else (True, False)}
    assert after == (False, True)  # a later benchmark runs as it was set up


def test_two_epochs_are_adam_steps_on_the_scaled_poisson_loss(data):
    """train_model's updates against a loop written from torch's own parts (default Adam)."""
    dataset = data[0]
    loaders = make_loaders(dataset)
    train_idx = np.flatnonzero(dataset.trial_info.tiers == "train")
    loaders["train"] = DataLoader(  # a fixed order, so that both loops see the same batches
        dataset, sampler=SubsetSequentialSampler(train_idx), batch_size=BATCH_SIZE
    )
    model = LinearExp(seed=1)
    train_model(model, loaders, max_iter=2, patience=5, lr_init=0.01, progress=False)

    reference = LinearExp(seed=1)
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.01, foreach=False)
    poisson = nn.PoissonNLLLoss(log_input=False, full=False, reduction="sum")
    for _ in range(2):
        for images, responses in loaders["train"]:
            scale = math.sqrt(len(TIERS) / len(images))
            optimizer.zero_grad()
            (scale * poisson(reference(images), responses)).backward()
            optimizer.step()
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, rtol=1e-5, atol=1e-6)


def test_asking_for_cuda_without_one_warns_once_and_trains_on_the_cpu(loaders):
    model = LinearExp()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score, output, _ = train_model(model, loaders, device="cuda", max_iter=3, progress=False)
    fallbacks = [w for w in caught if issubclass(w.category, DeviceFallbackWarning)]
    assert len(fallbacks) == 1
    assert next(model.parameters()).device.type == "cpu"
    assert score > output["history"]["validation_correlation"][0]


class ConstantLoss:
    """Loss 1 for every batch (differentiable, so training can run), and counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, output, target):
        self.calls += 1
        return (output * 0).sum() + 1.0


class WithRegularizer(LinearExp):
    def regularizer(self):
        return 0 * self.linear.weight.sum() + 5.0


@pytest.mark.parametrize("scale_loss", [True, False])
def test_the_loss_is_scaled_as_the_original_and_the_regularizer_added(loaders, scale_loss):
    loss = ConstantLoss()
    _, output, _ = train_model(
        WithRegularizer(), loaders, loss=loss, scale_loss=scale_loss, max_iter=2, progress=False
    )
    n_all_trials = len(TIERS)  # sqrt(len(dataset) / batch), the dataset holding every trial
    batches = [BATCH_SIZE] * 4 + [300 - 4 * BATCH_SIZE]
    scale = np.mean([math.sqrt(n_all_trials / b) for b in batches]) if scale_loss else 1.0
    np.testing.assert_allclose(output["history"]["train_loss"][1:], [scale + 5.0] * 2)
    assert loss.calls == 2 * len(batches)


@pytest.mark.parametrize("loss", ["poisson", "mse"])
def test_named_losses_train(loaders, loss):
    score, output, _ = train_model(LinearExp(), loaders, loss=loss, max_iter=5, progress=False)
    assert score > output["history"]["validation_correlation"][0] + 0.1


def test_the_2022_keyword_dataloader_still_works_with_a_warning(loaders):
    with pytest.warns(DeprecationWarning, match="write dataloaders="):
        score, _, _ = train_model(model=LinearExp(), dataloader=loaders, max_iter=1, progress=False)
    assert math.isfinite(score)
    with pytest.raises(TypeError, match="both dataloaders= and its old name"):
        train_model(LinearExp(), dataloaders=loaders, dataloader=loaders)
    with pytest.raises(TypeError, match="both dataloaders= and its old name"):
        train_model(LinearExp(), loaders, dataloader=loaders)  # the new one by position
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'dataloaders'"):
        train_model(LinearExp())


def test_bad_arguments_are_explained(loaders):
    with pytest.raises(ValueError, match=r"lacks \['validation'\]"):
        train_model(LinearExp(), {"train": loaders["train"]})
    with pytest.raises(ValueError, match="unknown loss 'gauss'"):
        train_model(LinearExp(), loaders, loss="gauss")
    with pytest.raises(ValueError, match="max_iter must be a positive integer, got 0"):
        train_model(LinearExp(), loaders, max_iter=0)


def test_progress_bar_shows_the_validation_correlation_unless_silenced(loaders, capsys):
    train_model(LinearExp(), loaders, max_iter=1, progress=False)
    assert capsys.readouterr().err == ""
    train_model(LinearExp(), loaders, max_iter=1, progress="batch")
    err = capsys.readouterr().err
    assert "val_corr=" in err and "Epoch 1" in err


def test_progress_bar_shows_a_training_loss_only_once_there_is_one(loaders, capsys):
    train_model(LinearExp(), loaders, max_iter=1)
    updates = re.split(r"[\r\n]+", capsys.readouterr().err)
    before = [line for line in updates if "0/1" in line]
    after = [line for line in updates if "1/1" in line]
    assert any("val_corr=" in line for line in before)
    assert not any("loss=" in line for line in before)  # a NaN there would look like divergence
    assert any(re.search(r"loss=\d", line) for line in after), after


def test_history_has_one_entry_per_evaluation(loaders):
    _, output, _ = train_model(LinearExp(), loaders, max_iter=4, interval=2, progress=False)
    history = output["history"]
    assert history["epoch"] == [0, 2, 4]
    for values in history.values():
        assert len(values) == 3
    assert math.isnan(history["train_loss"][0]) and history["epoch_time"][0] == 0.0
    assert all(t > 0 for t in history["epoch_time"][1:])
    _, untracked, _ = train_model(
        LinearExp(), loaders, max_iter=1, track_training=False, progress=False
    )
    assert set(untracked) == {"validation_correlation", "test_correlation", "cut_short"}


def test_a_fens_cnn_trains_channels_last_on_the_cpu(loaders):
    from fens.models import CNN

    model = CNN(input_height=SIDE, input_width=SIDE, n_neurons=N_NEURONS, kernel_sizes=(3, 3))
    train_model(model, loaders, seed=0, max_iter=1, progress=False)
    *_, conv = [m for m in model.modules() if isinstance(m, nn.Conv2d)]  # 8 -> 8 channels
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()

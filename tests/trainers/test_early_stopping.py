"""Tests of the early-stopping generator with scripted objectives (exact epochs and states)."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from fens.trainers import early_stopping

# The score of the model after each epoch (index = epochs trained); the best is after epoch 2,
# with a near miss after epoch 4 and worse scores from then on.
SCRIPT = [0.1, 0.3, 0.5, 0.4, 0.45, 0.2, 0.3] + [0.0] * 30


class EpochModel(nn.Module):
    """A 'model' whose one weight records the epoch it was last trained in."""

    def __init__(self):
        super().__init__()
        self.trained_epoch = nn.Parameter(torch.zeros(()))

    def train_epoch(self, epoch):
        with torch.no_grad():
            self.trained_epoch.fill_(epoch)


def scripted(script, sign=1.0):
    def objective(model):
        return sign * script[int(model.trained_epoch)]

    return objective


@pytest.mark.parametrize("patience", [1, 2, 3])
@pytest.mark.parametrize("lr_decay_steps", [1, 2, 3])
@pytest.mark.parametrize("maximize", [True, False])
def test_stops_after_patience_per_round_and_restores_the_best_state(
    patience, lr_decay_steps, maximize
):
    model = EpochModel()
    objective = scripted(SCRIPT, 1.0 if maximize else -1.0)
    entering = {}  # epoch -> the epoch the model's state comes from
    for epoch, _ in early_stopping(
        model, objective, patience=patience, lr_decay_steps=lr_decay_steps, maximize=maximize
    ):
        entering[epoch] = int(model.trained_epoch)
        model.train_epoch(epoch)
    # Round 1 ends `patience` epochs after the best (epoch 2); every later round, restarted from
    # the best state, finds no improvement and ends after `patience` more epochs.
    last_epoch = 2 + patience * lr_decay_steps
    assert list(entering) == list(range(1, last_epoch + 1))
    round_starts = [2 + patience * r + 1 for r in range(1, lr_decay_steps)]
    assert all(entering[e] == 2 for e in round_starts)  # each round starts from the best state
    assert int(model.trained_epoch) == 2


def test_the_yielded_score_is_that_of_the_model_entering_the_epoch():
    model = EpochModel()
    scores = {}
    for epoch, score in early_stopping(model, scripted(SCRIPT), patience=2):
        scores[epoch] = score
        model.train_epoch(epoch)
    assert scores == {1: 0.1, 2: 0.3, 3: 0.5, 4: 0.4}


def test_interval_spaces_the_evaluations():
    model = EpochModel()
    evaluated_after = []

    def objective(model):
        evaluated_after.append(int(model.trained_epoch))
        return SCRIPT[int(model.trained_epoch)]

    for epoch, _ in early_stopping(model, objective, interval=2, patience=2):
        model.train_epoch(epoch)
    # Scores after epochs 0, 2 (best), 4 and 6 (two without improvement), then the restore.
    assert evaluated_after == [0, 2, 4, 6]
    assert epoch == 6 and int(model.trained_epoch) == 2


def test_an_improvement_within_the_tolerance_does_not_count():
    script = [0.1, 0.5, 0.5 + 1e-7, 0.5 + 2e-7] + [0.0] * 10
    model = EpochModel()
    for epoch, _ in early_stopping(model, scripted(script), patience=2, tolerance=1e-6):
        model.train_epoch(epoch)
    assert epoch == 3 and int(model.trained_epoch) == 1


def test_max_iter_ends_training_mid_interval():
    model = EpochModel()
    rising = list(np.linspace(0, 1, 20))
    for epoch, _ in early_stopping(model, scripted(rising), interval=3, max_iter=7):
        model.train_epoch(epoch)
    assert epoch == 7 and int(model.trained_epoch) == 7


def test_a_non_finite_objective_stops_with_a_warning_and_the_best_state():
    script = [0.1, 0.3, 0.2, float("nan")] + [0.9] * 10
    model = EpochModel()
    with pytest.warns(RuntimeWarning, match="objective became nan after epoch 3"):
        for epoch, _ in early_stopping(model, scripted(script), patience=5):
            model.train_epoch(epoch)
    assert epoch == 3 and int(model.trained_epoch) == 1


def test_the_scheduler_lowers_the_learning_rate_exactly_between_rounds():
    model = EpochModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    patience = 2
    scheduler = ReduceLROnPlateau(
        optimizer,
        mode="max",
        factor=0.5,
        patience=patience - 1,
        threshold=1e-6,
        threshold_mode="abs",
    )
    learning_rates = []
    for epoch, _ in early_stopping(
        model, scripted(SCRIPT), patience=patience, lr_decay_steps=3, scheduler=scheduler
    ):
        learning_rates.append(optimizer.param_groups[0]["lr"])
        model.train_epoch(epoch)
    # round 1: epochs 1-4, round 2: epochs 5-6, round 3: epochs 7-8
    assert learning_rates == [1.0] * 4 + [0.5] * 2 + [0.25] * 2


def test_the_model_mode_is_kept_and_the_objective_sees_eval_mode():
    model = EpochModel()
    modes = []

    def objective(model):
        modes.append(model.training)
        return 0.0

    model.train()
    for epoch, _ in early_stopping(model, objective, patience=1):
        assert model.training
        model.train_epoch(epoch)
    assert modes == [False, False]


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="patience must be a positive integer, got 0"):
        next(early_stopping(EpochModel(), scripted(SCRIPT), patience=0))

"""fens.models.blocks.penalties.l1_norm against autograd's own |w|.sum()."""

import numpy as np
import pytest
import torch

from fens.models.blocks.penalties import l1_norm


def test_value_and_gradient_equal_those_of_abs_sum():
    torch.manual_seed(0)
    weight = torch.randn(7, 11, dtype=torch.float64)
    weight[0, :3] = 0.0  # |w| has no derivative here: both take 0
    ours = weight.clone().requires_grad_()
    reference = weight.clone().requires_grad_()
    (2.5 * l1_norm(ours)).backward()
    (2.5 * reference.abs().sum()).backward()
    assert float(l1_norm(weight)) == pytest.approx(np.abs(weight.numpy()).sum(), rel=1e-12)
    torch.testing.assert_close(ours.grad, reference.grad, rtol=0, atol=0)
    assert (ours.grad[0, :3] == 0).all()


def test_gradcheck_away_from_zero():
    magnitude = torch.rand(4, 5, dtype=torch.float64) + 0.1  # far from the kink at 0
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(l1_norm, ((magnitude * sign).requires_grad_(),))

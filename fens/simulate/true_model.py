"""The ground truth as a PyTorch model: the simulated neurons' noise-free mean responses, with
gradients, so that the analyses of :mod:`fens.analysis` (MEIs, gradient RFs, tuning curves) can
be run on the true neurons themselves, exactly as on a trained model.

The true optimal stimulus of a neuron without a Gabor receptive field (a subunit or deep cell,
see :mod:`fens.simulate.neurons`) has no closed form; the MEI of :class:`TrueModel` under the
same constraints stands for it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fens.simulate.neurons import GroundTruth


class TrueModel(nn.Module):
    """``(B, 1, 36, 64)`` images in 0..255 -> ``(B, N)`` true mean responses, computed as
    :meth:`GroundTruth.mean_response` computes them (float32), for any device.

    Args:
        truth: the ground truth of a simulated data set.
    """

    def __init__(self, truth: GroundTruth) -> None:
        super().__init__()
        self.truth = truth
        cell_type = truth.cell_type

        def buffer(name: str, values: np.ndarray) -> None:
            self.register_buffer(name, torch.as_tensor(np.asarray(values, dtype=np.float32)))

        buffer("filters", truth.filter_matrix)
        buffer("pools", truth.pools)
        buffer("linearity", truth.linearity)
        buffer("normalization", truth.normalization_strength / truth.contrast_reference)
        buffer("gain", truth.gain)
        buffer("exponent", truth.exponent)
        buffer("baseline", truth.baseline)
        self.subunit = np.flatnonzero(cell_type == "subunit")
        buffer("subunit_filters", truth.subunit_filters)
        buffer("subunit_weight", truth.subunit_weight[self.subunit])
        self.deep = np.flatnonzero(cell_type == "deep")
        buffer("irregular_filters", truth.irregular_matrix)
        buffer("irregular_weight", truth.irregular_weight)
        buffer("irregular_share", truth.irregular_share)
        self.surround = np.flatnonzero(truth.surround_strength > 0)
        strength = truth.surround_strength / truth.surround_reference
        buffer("surround_strength", strength[self.surround])

    def __repr__(self) -> str:
        return f"TrueModel({self.truth!r})"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.reshape(len(images), -1).float() / 255.0 - 0.5  # (B, P)
        projections = (x @ self.filters.T).reshape(len(x), -1, 2)  # (B, N, 2)
        energy = projections.pow(2).sum(-1).clamp_min(1e-12).sqrt()
        a = self.linearity * projections[..., 0].clamp_min(0) + (1 - self.linearity) * energy
        if self.subunit.size:
            s = (x @ self.subunit_filters.T).clamp_min(0).reshape(len(x), self.subunit.size, -1)
            pooled = (s.pow(2) * self.subunit_weight).sum(-1).clamp_min(1e-12).sqrt()
            a = a.index_copy(1, torch.as_tensor(self.subunit, device=a.device), pooled)
        image = x.reshape(len(x), 1, *images.shape[-2:])
        if self.deep.size:
            deep = self.truth.deep_excitation(image)
            a = a.index_copy(1, torch.as_tensor(self.deep, device=a.device), deep)
        if self.irregular_weight.shape[1]:
            q = (x @ self.irregular_filters.T).abs().reshape(*a.shape, -1)
            irregular = (q * self.irregular_weight).sum(-1)
            a = (1 - self.irregular_share) * a + self.irregular_share * irregular
        mean = x @ self.pools.T
        contrast = ((x**2) @ self.pools.T - mean**2).clamp_min(1e-12).sqrt()
        denominator = 1.0 + self.normalization * contrast
        if self.surround.size:
            e = self.truth.surround_energy(image)
            extra = torch.zeros_like(denominator)
            index = torch.as_tensor(self.surround, device=a.device)
            denominator = denominator + extra.index_copy(1, index, self.surround_strength * e)
        drive = a.clamp_min(0) / denominator
        return self.gain * drive.clamp_min(1e-12).pow(self.exponent) + self.baseline

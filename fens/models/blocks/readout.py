"""A faster Gaussian readout: neuralpredictors' ``FullGaussian2d`` with a gather-based forward.

The Gaussian readout (Lurz et al. 2021) reads, for every image ``b`` and neuron ``n``, the
core's feature vector at one position by bilinear interpolation. neuralpredictors does it with
``F.grid_sample``, whose CPU kernels (forward, and a backward that scatters every neuron's
position into the feature map) are slow. Bilinear interpolation is a weighted sum of four rows
of the feature map stored channels-last ``(B*H*W, C)``: exactly what ``F.embedding_bag``
computes with per-sample weights, with fast, differentiable kernels on the CPU and on GPUs.
:func:`bilinear_sample` is that identity; :class:`FastFullGaussian2d` uses it and holds the
same parameters as ``FullGaussian2d`` (checkpoints load into either) and draws the same random
positions, so the two give the same outputs and gradients up to float rounding. Timings:
``bench/README.md``.

An MEI batch needs one neuron per image, not all of them: :meth:`FastFullGaussian2d.forward_paired`
reads one position per image.

Importing this module imports neuralpredictors (through
:func:`fens.compat.import_neuralpredictors`): :class:`FastFullGaussian2d` subclasses its
``FullGaussian2d``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from fens.compat import import_neuralpredictors

import_neuralpredictors()
from neuralpredictors.layers.readouts import FullGaussian2d  # noqa: E402


def bilinear_sample(features: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinearly interpolated feature vectors at ``n`` positions per image.

    The same values and gradients (with respect to ``features`` and ``grid``) as
    ``F.grid_sample(features, grid[:, :, None], align_corners=True, padding_mode="zeros")``
    rearranged to ``(B, n, C)``: corners outside the map count as zeros, and the weights are
    differentiable in the position while the corners are not (as in ``grid_sample``).

    Args:
        features: ``(B, C, H, W)`` feature maps; channels-last memory avoids a copy.
        grid: ``(B, n, 2)`` positions ``(x, y)`` in ``[-1, 1]``: ``x = -1`` is the centre of the
            leftmost column, ``y = -1`` of the top row (``align_corners=True``).

    Returns:
        ``(B, n, C)`` feature vectors.
    """
    if features.ndim != 4 or grid.ndim != 3 or grid.shape[-1] != 2:
        raise ValueError(
            f"expected features (B, C, H, W) and grid (B, n, 2), "
            f"got {tuple(features.shape)} and {tuple(grid.shape)}"
        )
    if grid.shape[0] != features.shape[0]:
        raise ValueError(
            f"features and grid must have the same batch size, "
            f"got {features.shape[0]} and {grid.shape[0]}"
        )
    batch, channels, height, width = features.shape
    n = grid.shape[1]
    ix = (grid[..., 0] + 1) / 2 * (width - 1)  # (B, n) column, in pixels of the feature map
    iy = (grid[..., 1] + 1) / 2 * (height - 1)  # (B, n) row
    x0 = ix.detach().floor()
    y0 = iy.detach().floor()
    fx = ix - x0  # carries the gradient with respect to the position
    fy = iy - y0
    # The four corners: top-left, top-right, bottom-left, bottom-right.
    cx = torch.stack([x0, x0 + 1, x0, x0 + 1], dim=-1)  # (B, n, 4)
    cy = torch.stack([y0, y0, y0 + 1, y0 + 1], dim=-1)
    weights = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=-1)
    inside = (cx >= 0) & (cx <= width - 1) & (cy >= 0) & (cy <= height - 1)
    weights = weights * inside
    image_offset = torch.arange(batch, device=grid.device).view(batch, 1, 1) * (height * width)
    rows = (cy.clamp(0, height - 1) * width + cx.clamp(0, width - 1)).long() + image_offset
    table = features.permute(0, 2, 3, 1).reshape(batch * height * width, channels)
    sampled = F.embedding_bag(
        rows.view(batch * n, 4),
        table,
        per_sample_weights=weights.view(batch * n, 4).to(table.dtype),
        mode="sum",
    )
    return sampled.view(batch, n, channels)


class FastFullGaussian2d(FullGaussian2d):
    """``FullGaussian2d`` (Lurz et al. 2021) computed with :func:`bilinear_sample`.

    Same constructor, parameters, state dict, random draws and results as neuralpredictors'
    ``FullGaussian2d``; ``forward`` accepts the same ``sample``, ``shift`` and ``out_idx``.
    """

    def _grid(self, batch_size: int, sample: bool | None) -> torch.Tensor:
        """Positions ``(batch_size, N, 2)``, drawn as ``FullGaussian2d.forward`` draws them."""
        if self.batch_sample:
            grid = self.sample_grid(batch_size=batch_size, sample=sample)
        else:
            grid = self.sample_grid(batch_size=1, sample=sample).expand(
                batch_size, self.outdims, 1, 2
            )
        return grid[:, :, 0, :]

    def _check_features(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.in_shape):
            raise ValueError(
                f"the readout expects feature maps (batch, {', '.join(map(str, self.in_shape))}),"
                f" got {tuple(x.shape)}"
            )

    def forward(
        self,
        x: torch.Tensor,
        sample: bool | None = None,
        shift: torch.Tensor | None = None,
        out_idx: np.ndarray | torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        """Responses ``(B, N)`` (before the output nonlinearity) to feature maps ``x``.

        Args:
            x: ``(B, C, H, W)`` core output.
            sample: draw positions from each neuron's Gaussian (True), use its mean (False), or
                draw in training mode only (None).
            shift: ``(B, 2)`` shift of every position (eye movements), or None.
            out_idx: indices (or a boolean mask) of the neurons to compute; None for all.
        """
        self._check_features(x)
        features = self.features.view(x.shape[1], self.outdims)  # (C, N)
        bias = self.bias
        grid = self._grid(x.shape[0], sample)  # (B, N, 2)
        if out_idx is not None:
            if isinstance(out_idx, np.ndarray) and out_idx.dtype == bool:
                out_idx = np.flatnonzero(out_idx)
            features = features[:, out_idx]
            grid = grid[:, out_idx]
            bias = bias[out_idx] if bias is not None else None
        if shift is not None:
            grid = grid + shift[:, None, :]
        y = (bilinear_sample(x, grid) * features.T).sum(-1)  # (B, n)
        return y + bias if bias is not None else y

    def forward_paired(
        self, x: torch.Tensor, neuron_ids: torch.Tensor, sample: bool | None = None
    ) -> torch.Tensor:
        """Response ``(B,)`` of neuron ``neuron_ids[b]`` to feature map ``x[b]``, only.

        Reads one position per image instead of ``N``: what an MEI batch (one image per neuron)
        needs. Equals ``forward(x, sample)[arange(B), neuron_ids]`` in evaluation mode (and
        for ``sample=False``); with sampling, it draws positions for all neurons as ``forward``
        does, so the random stream advances the same way.

        Args:
            x: ``(B, C, H, W)`` core output.
            neuron_ids: ``(B,)`` int64 neuron index per image.
            sample: as in :meth:`forward`.
        """
        self._check_features(x)
        neuron_ids = torch.as_tensor(neuron_ids, device=x.device)
        if neuron_ids.shape != (x.shape[0],):
            raise ValueError(
                f"expected one neuron index per image, shape ({x.shape[0]},), "
                f"got {tuple(neuron_ids.shape)}"
            )
        images = torch.arange(x.shape[0], device=x.device)
        grid = self._grid(x.shape[0], sample)[images, neuron_ids][:, None]  # (B, 1, 2)
        features = self.features.view(x.shape[1], self.outdims)[:, neuron_ids]  # (C, B)
        y = (bilinear_sample(x, grid)[:, 0] * features.T).sum(-1)  # (B,)
        return y + self.bias[neuron_ids] if self.bias is not None else y

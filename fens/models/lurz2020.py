"""The Lurz et al. (ICLR 2021) model: a shared convolutional core and a Gaussian readout.

Lurz, Bashiri, Willeke, Jagadish, Wang, Walker, Cadena, Muhammad, Cobos, Tolias, Ecker, Sinz
(2021), "Generalization in data-driven models of primary visual cortex", ICLR.

- **Core** (neuralpredictors' ``Stacked2dCore``): a first convolution with a large kernel, then
  depth-separable convolutions (1x1, one ``k x k`` filter per channel, 1x1), each followed by
  batch norm and ELU. The first layer's filters are kept smooth by a Laplace penalty,
  ``sum(laplace(w)^2) / sum(w^2)``, weighted by ``gamma_input``. The field's own code builds it
  as ``SE2dCore`` with no squeeze-and-excitation block, which is this ``Stacked2dCore``.
- **Readout** (neuralpredictors' ``FullGaussian2d``): each neuron reads the core's feature
  vector at one position of the feature map (bilinear interpolation); during training the
  position is drawn from a 2-D Gaussian whose mean and covariance are learned, at evaluation it is
  the mean. The response is the dot product of that feature vector with the neuron's feature
  weights (L1 penalty ``gamma_readout``) plus a bias, through ELU + 1.
- **Cortex grid-mean predictor**: a neuron's mean position is not a free parameter but a
  learned map (one linear layer, optionally an MLP) of its cortical coordinates, centred and
  scaled into [-1, 1]: neighbouring neurons see neighbouring parts of the image (retinotopy).

With ``linear=True`` the core has no nonlinearity at all and the model is a linear-nonlinear
model (in evaluation mode, where batch norm is a fixed affine map) with a convolutional,
low-rank receptive field: the "SOTA LN" model of the course.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from fens.utility.checks import check_int, check_number

_GRID_MEAN_PREDICTOR_KEYS = {
    "type",
    "input_dimensions",
    "hidden_layers",
    "hidden_features",
    "final_tanh",
}
_GAUSS_TYPES = ("full", "uncorrelated", "isotropic")


def _published_grid_mean_predictor() -> dict[str, Any]:
    return {
        "type": "cortex",
        "input_dimensions": 2,
        "hidden_layers": 0,
        "hidden_features": 30,
        "final_tanh": True,
    }


@dataclasses.dataclass
class Lurz2020Config:
    """Hyperparameters of :func:`build_lurz2020_model`; the defaults are the published ones.

    Defaults from Lurz et al. (2021), ``se2d_fullgaussian2d`` in sinzlab/Lurz_2020_code. The
    course's notebooks override a few (larger kernels, ``gamma_readout=2.439``, no final tanh).
    Fixed at the published values and not configurable: batch norm after every convolution, no
    convolution bias, the normalised Laplace penalty (``LaplaceL2norm``), no skip connections.
    """

    # --- core ---
    hidden_channels: int = 64  # feature maps in every core layer
    input_kern: int = 9  # kernel size of the first convolution (pixels)
    hidden_kern: int = 7  # kernel size of the depth-separable convolutions in layers 2..
    layers: int = 4  # convolutional layers in the core
    gamma_input: float = 6.3831  # weight of the Laplace smoothness penalty on first-layer filters
    momentum: float = 0.9  # batch norm momentum, PyTorch's convention (weight of the newest batch)
    pad_input: bool = (
        False  # zero-pad the first convolution ('same') or not ('valid', smaller maps)
    )
    depth_separable: bool = True  # layers 2.. as 1x1 -> per-channel k x k -> 1x1 convolutions
    final_nonlinearity: bool = True  # ELU after the last core layer too
    stack: int | None = -1  # core layers the readout sees: -1 the last one, None all (concatenated)
    linear: bool = False  # no nonlinearity in the core: a linear-nonlinear ("SOTA LN") model
    # --- readout ---
    init_mu_range: float = 0.3  # free positions start uniform in [-r, r] (no grid-mean predictor)
    init_sigma: float = 0.1  # initial Gaussian spread (entries of the covariance's square root)
    gauss_type: str = "full"  # position Gaussian: "full", "uncorrelated" or "isotropic" covariance
    gamma_readout: float = 0.0076  # weight of the L1 penalty on the readout's feature weights
    readout_bias: bool = True  # per-neuron bias, initialised to the mean training response
    grid_mean_predictor: dict[str, Any] | None = dataclasses.field(
        default_factory=_published_grid_mean_predictor
    )  # mean position from cortical coordinates ("cortex"); None: free positions
    elu_offset: float = 0.0  # output = ELU(readout + elu_offset) + 1

    def __post_init__(self) -> None:
        for name in ("hidden_channels", "layers"):
            check_int(name, getattr(self, name))
        for name in ("input_kern", "hidden_kern"):
            kern = getattr(self, name)
            if check_int(name, kern) % 2 == 0:
                raise ValueError(f"{name} must be a positive odd kernel size, got {kern}")
        for name in ("gamma_input", "gamma_readout"):
            check_number(name, getattr(self, name), minimum=0)
        check_number("momentum", self.momentum, minimum=0, maximum=1)
        # Free positions start in [-r, r] of the readout's [-1, 1] coordinates.
        if not 0.0 < check_number("init_mu_range", self.init_mu_range) <= 1.0:
            raise ValueError(f"init_mu_range must be in (0, 1], got {self.init_mu_range}")
        check_number("init_sigma", self.init_sigma, minimum=0, exclusive_minimum=True)
        check_number("elu_offset", self.elu_offset)
        if self.gauss_type not in _GAUSS_TYPES:
            raise ValueError(f"gauss_type must be one of {_GAUSS_TYPES}, got {self.gauss_type!r}")
        if self.grid_mean_predictor is not None:
            self.grid_mean_predictor = _complete_grid_mean_predictor(self.grid_mean_predictor)


def _complete_grid_mean_predictor(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a grid-mean-predictor dict and fill missing entries with the published values."""
    unknown = set(spec) - _GRID_MEAN_PREDICTOR_KEYS
    if unknown:
        raise ValueError(
            f"unknown grid_mean_predictor entries {sorted(unknown)}; "
            f"known: {sorted(_GRID_MEAN_PREDICTOR_KEYS)}"
        )
    full = {**_published_grid_mean_predictor(), **spec}
    if full["type"] != "cortex":
        raise ValueError(f"grid_mean_predictor type must be 'cortex', got {full['type']!r}")
    check_int("input_dimensions", full["input_dimensions"])
    if check_int("hidden_layers", full["hidden_layers"], minimum=0) > 0:
        check_int(
            f"hidden_features (with hidden_layers={full['hidden_layers']})", full["hidden_features"]
        )
    return full


class Lurz2020Model(nn.Module):
    """Core, Gaussian readout and ELU + 1 output (Lurz et al. 2021).

    Args:
        core: ``(B, C_in, H, W) -> (B, C, h, w)`` feature maps (a neuralpredictors core).
        readout: ``(B, C, h, w) -> (B, N)`` (a neuralpredictors ``FullGaussian2d``).
        input_shape: ``(C_in, H, W)`` of the images the model was built for.
        config: the hyperparameters it was built with.
    """

    cpu_channels_last = True  # forward takes either layout (fens.utility.device.move_model)

    def __init__(
        self,
        core: nn.Module,
        readout: nn.Module,
        input_shape: tuple[int, int, int],
        config: Lurz2020Config,
    ) -> None:
        super().__init__()
        self.core = core
        self.readout = readout
        self.input_shape = tuple(input_shape)
        self.config = config
        self.elu_offset = config.elu_offset

    @property
    def n_neurons(self) -> int:
        """Number of neurons predicted."""
        return self.readout.outdims

    def forward(self, images: torch.Tensor, sample: bool | None = None) -> torch.Tensor:
        """Predicted mean responses.

        Args:
            images: ``(batch, *input_shape)``, e.g. ``(B, 1, 36, 64)`` raw pixel values.
            sample: draw each neuron's readout position from its Gaussian (True) or use the mean
                (False); None (default): draw in training mode, mean in evaluation mode.

        Returns:
            ``(batch, n_neurons)`` responses, all > 0.
        """
        self._check_images(images)
        features = self.core(images)  # (B, C, h, w)
        x = self.readout(features, sample=sample)  # (B, N)
        return F.elu(x + self.elu_offset) + 1

    def forward_paired(
        self, images: torch.Tensor, neuron_ids: torch.Tensor, sample: bool | None = None
    ) -> torch.Tensor:
        """Response ``(B,)`` of neuron ``neuron_ids[b]`` to image ``images[b]``.

        ``forward(images, sample)[arange(B), neuron_ids]`` (in evaluation mode), computed, with
        the fast readout, for those neurons only: what an MEI batch (one image per neuron)
        needs.

        Args:
            images: ``(B, *input_shape)`` raw pixel values.
            neuron_ids: ``(B,)`` neuron index per image.
            sample: as in :meth:`forward`.
        """
        if not hasattr(self.readout, "forward_paired"):  # neuralpredictors' own readout
            rows = torch.arange(images.shape[0], device=images.device)
            return self(images, sample=sample)[rows, torch.as_tensor(neuron_ids)]
        self._check_images(images)
        x = self.readout.forward_paired(self.core(images), neuron_ids, sample=sample)
        return F.elu(x + self.elu_offset) + 1

    def _check_images(self, images: torch.Tensor) -> None:
        if tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(
                f"expected images of shape (batch, {', '.join(map(str, self.input_shape))}), "
                f"got {tuple(images.shape)}"
            )

    def regularizer(self) -> torch.Tensor:
        """Core penalty (``gamma_input`` x Laplace) + readout penalty (``gamma_readout`` x L1)."""
        return self.core.regularizer() + self.readout.regularizer()

    def __repr__(self) -> str:
        """What the model is, in five lines (``print(model.core)`` shows the layers)."""
        c = self.config
        core = f"{c.layers} layers of {c.hidden_channels} channels, kernels {c.input_kern}"
        core += f" then {c.hidden_kern}" + (" depth-separable" if c.depth_separable else "")
        core += ", linear" if c.linear else ", ELU"
        positions = "from cortical coordinates" if c.grid_mean_predictor else "free"
        fast = hasattr(self.readout, "forward_paired")
        return (
            f"Lurz2020Model(\n"
            f"  images {self.input_shape} -> {self.n_neurons} neurons, "
            f"{'fast' if fast else 'reference'} blocks\n"
            f"  (core): {type(self.core).__name__}, {core}; gamma_input={c.gamma_input:g}\n"
            f"  (readout): {type(self.readout).__name__}, {c.gauss_type} Gaussian, positions "
            f"{positions}; gamma_readout={c.gamma_readout:g}\n"
            f")"
        )


def build_lurz2020_model(
    dataloaders: Mapping[str, DataLoader],
    seed: int,
    config: Lurz2020Config | None = None,
    *,
    fast: bool = True,
    weights_follow: bool = False,
    **overrides: Any,
) -> Lurz2020Model:
    """Build the Lurz et al. (2021) model for the data in ``dataloaders['train']``.

    The course's call passes the hyperparameters as keywords::

        build_lurz2020_model(**model_config, dataloaders=dataloaders, seed=1234)

    Keywords override ``config`` (default: the published :class:`Lurz2020Config`).

    The image shape and the number of neurons come from the training loader's batches
    ``(images, responses)``; the readout bias starts at the mean response over every batch the
    training loader yields; with the "cortex" grid-mean predictor the neurons' cortical
    coordinates are the first ``input_dimensions`` columns of
    ``dataloaders['train'].dataset.neurons.cell_motor_coordinates`` (``(N, >=2)``), which the
    readout centres and scales by their largest absolute value into [-1, 1].

    Args:
        dataloaders: at least ``{'train': DataLoader}``.
        seed: seed of torch's global random number generator, set just before the weights are
            drawn, so the same seed gives the same initial model (and seeds what follows).
        config: hyperparameters; None for the published ones.
        fast: use fens' faster implementations of two blocks, with the same parameters, random
            draws and results (to float rounding): the readout as
            :class:`fens.models.blocks.readout.FastFullGaussian2d` and the core's
            depthwise convolutions as :class:`fens.models.blocks.depthwise.DepthwiseConv2d`. False:
            neuralpredictors' own blocks, the reference. Checkpoints load into either.
        weights_follow: a state dict is loaded into the model next (a checkpoint), so the
            readout bias is not initialised from the data (which would read every training
            batch for nothing).
        **overrides: :class:`Lurz2020Config` fields to change.

    Returns:
        The model, in training mode, on the CPU.
    """
    field_names = {f.name for f in dataclasses.fields(Lurz2020Config)}
    unknown = set(overrides) - field_names
    if unknown:
        raise ValueError(
            f"unknown Lurz2020Config fields {sorted(unknown)}; known: {sorted(field_names)}"
        )
    config = dataclasses.replace(config or Lurz2020Config(), **overrides)
    if "train" not in dataloaders:
        raise ValueError(f"dataloaders needs a 'train' loader, got keys {sorted(dataloaders)}")
    train_loader = dataloaders["train"]

    # Everything read from the data comes before seeding: a shuffling loader draws from the
    # global generator, and the model's weights must not depend on it.
    input_shape, n_neurons, mean_response = _training_statistics(
        train_loader, with_mean=config.readout_bias and not weights_follow
    )
    _check_kernel_fits(config, input_shape)
    source_grid = None
    readout_grid_predictor = None
    if config.grid_mean_predictor is not None:
        spec = config.grid_mean_predictor
        source_grid = _cortical_coordinates(train_loader, n_neurons, spec["input_dimensions"])
        readout_grid_predictor = {
            key: spec[key] for key in ("hidden_layers", "hidden_features", "final_tanh")
        }

    # neuralpredictors (and its compatibility shims) only now, when a model is built.
    from fens.compat import import_neuralpredictors

    import_neuralpredictors()
    from neuralpredictors.layers.cores import Stacked2dCore
    from neuralpredictors.layers.readouts import FullGaussian2d

    from fens.models.blocks.depthwise import use_fast_depthwise
    from fens.models.blocks.readout import FastFullGaussian2d

    torch.manual_seed(seed)
    core = Stacked2dCore(
        input_channels=input_shape[0],
        hidden_channels=config.hidden_channels,
        input_kern=config.input_kern,
        hidden_kern=config.hidden_kern,
        layers=config.layers,
        gamma_input=config.gamma_input,
        gamma_hidden=0.0,
        final_nonlinearity=config.final_nonlinearity,
        bias=False,
        momentum=config.momentum,
        pad_input=config.pad_input,
        batch_norm=True,
        laplace_padding=None,
        input_regularizer="LaplaceL2norm",
        stack=config.stack,
        use_avg_reg=False,
        depth_separable=config.depth_separable,
        linear=config.linear,
    )
    if fast:
        use_fast_depthwise(core)
    readout_class = FastFullGaussian2d if fast else FullGaussian2d
    with warnings.catch_warnings():
        if weights_follow:  # the bias is loaded next, not left at zero
            warnings.filterwarnings("ignore", "Readout is NOT initialized with mean activity")
        readout = readout_class(
            in_shape=_output_shape(core, input_shape),
            outdims=n_neurons,
            bias=config.readout_bias,
            init_mu_range=config.init_mu_range,
            init_sigma=config.init_sigma,
            gauss_type=config.gauss_type,
            grid_mean_predictor=readout_grid_predictor,
            source_grid=source_grid,
            mean_activity=mean_response,
            feature_reg_weight=config.gamma_readout,
        )
    return Lurz2020Model(core, readout, input_shape, config)


def _training_statistics(
    loader: DataLoader, with_mean: bool
) -> tuple[tuple[int, int, int], int, torch.Tensor | None]:
    """Image shape ``(C, H, W)``, number of neurons and (optionally) mean response ``(N,)``."""
    batches = iter(loader)
    images, responses = next(batches)[:2]
    if images.ndim != 4 or responses.ndim != 2:
        raise ValueError(
            f"expected batches of images (B, C, H, W) and responses (B, N), "
            f"got {tuple(images.shape)} and {tuple(responses.shape)}"
        )
    input_shape = tuple(images.shape[1:])
    n_neurons = responses.shape[1]
    if not with_mean:
        return input_shape, n_neurons, None
    total = responses.sum(0, dtype=torch.float64)
    count = responses.shape[0]
    # delay: a bar only where reading the batches is slow (a loader reading files), not for
    # fens' in-memory loader, which takes well under a second.
    bar = tqdm(batches, desc="mean training response", total=len(loader) - 1, leave=False, delay=2)
    for batch in bar:
        total += batch[1].sum(0, dtype=torch.float64)
        count += batch[1].shape[0]
    return input_shape, n_neurons, (total / count).float().cpu()


def _check_kernel_fits(config: Lurz2020Config, input_shape: tuple[int, int, int]) -> None:
    height, width = input_shape[1:]
    if not config.pad_input and config.input_kern > min(height, width):
        raise ValueError(
            f"input_kern={config.input_kern} is larger than the {height}x{width} images "
            f"(without padding the first layer needs input_kern <= {min(height, width)})"
        )


def _cortical_coordinates(loader: DataLoader, n_neurons: int, dimensions: int) -> np.ndarray:
    """The first ``dimensions`` columns of the neurons' cortical coordinates, ``(N, dims)``."""
    neurons = getattr(loader.dataset, "neurons", None)
    coordinates = getattr(neurons, "cell_motor_coordinates", None)
    if coordinates is None:
        raise ValueError(
            "the 'cortex' grid-mean predictor needs dataloaders['train'].dataset.neurons"
            ".cell_motor_coordinates; set grid_mean_predictor=None to learn free positions"
        )
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if coordinates.ndim != 2 or coordinates.shape[0] != n_neurons:
        raise ValueError(
            f"expected cell_motor_coordinates of shape ({n_neurons}, >= {dimensions}), "
            f"got {coordinates.shape}"
        )
    if coordinates.shape[1] < dimensions:
        raise ValueError(
            f"input_dimensions={dimensions} but cell_motor_coordinates has only "
            f"{coordinates.shape[1]} columns"
        )
    grid = coordinates[:, :dimensions]
    if not np.all(np.isfinite(grid)):
        raise ValueError("cell_motor_coordinates contain non-finite values")
    if np.ptp(grid, axis=0).max() == 0:
        raise ValueError("all neurons have the same cortical coordinates: nothing to map")
    return grid


def _output_shape(core: nn.Module, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """``(C, h, w)`` of the core's output for one image, from a forward pass in eval mode."""
    was_training = core.training
    core.eval()
    with torch.no_grad():
        output = core(torch.zeros(1, *input_shape))
    core.train(was_training)
    return tuple(output.shape[1:])

"""Most exciting inputs (MEIs): the images that drive a model neuron most.

An MEI is found by gradient ascent on the image (Walker et al. 2019, Nature Neuroscience,
"Inception loops discover what excites neurons most using deep predictive models"; Bashivan,
Kar & DiCarlo 2019, Science). A model neuron has no maximal firing rate, so the image is kept
in the range the model was trained on: at every step it is renormalised to a fixed mean and
standard deviation before the model sees it, as in the FENS 2022 course. The optimiser is SGD
with momentum 0.9 on the unconstrained image ``x``; the model sees
``(x - mean(x)) / std(x) * std_constr + mean_constr``.

Because that renormalisation ignores the scale of ``x``, the effective step size is
``lr / std(x)**2``: the starting image sets it, which is why :func:`generate_meis` starts from
noise already at the constrained mean and standard deviation.

Standard deviations here are over the pixels of one image, with ``1/n`` (NumPy's default): an
MEI's ``np.mean`` and ``np.std`` equal the constraints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from fens.analysis._model import (
    as_neuron_indices,
    as_scalar,
    check_image,
    frozen,
    n_neurons_of,
    own_responses,
    prepare_model,
)
from fens.utility.checks import check_int, check_number
from fens.utility.deprecation import deprecated_arguments


@deprecated_arguments(positional=("blur_sigma", "stop_patience", "stop_tolerance"))
def generate_mei(
    model: nn.Module,
    input_image: np.ndarray,
    neuron_idx: int,
    iterations: int,
    mean_constr: float,
    std_constr: float,
    lr: float = 1.0,
    device: str | torch.device | None = None,
    disable_progress_bar: bool = False,
    *,
    progress: bool = True,
    blur_sigma: float | None = None,
    stop_patience: int | None = None,
    stop_tolerance: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """The MEI of one neuron, by gradient ascent from ``input_image`` (the FENS 2022 signature;
    :func:`generate_meis` does many neurons at once).

    Args:
        model: maps images ``(batch, 1, height, width)`` to responses ``(batch, n_neurons)``;
            put in evaluation mode and moved to ``device``.
        input_image: ``(height, width)`` starting image, not constant (its scale sets the
            effective step size, see the module's docstring).
        neuron_idx: the neuron's column index into the model's output.
        iterations: number of gradient steps (at most; see ``stop_patience``).
        mean_constr: mean pixel value of the image the model sees (model input units, e.g. the
            training images' mean).
        std_constr: standard deviation of its pixels (e.g. a tenth of the training images').
        lr: SGD learning rate (momentum 0.9).
        device: where to compute (:func:`fens.utility.device.resolve_device`).
        disable_progress_bar: the 2022 notebook's switch: ``True`` hides the progress bar, as
            ``progress=False`` does.
        progress: show a tqdm progress bar over the steps.
        blur_sigma, stop_patience, stop_tolerance: as in :func:`generate_meis`.

    Returns:
        ``activations``: ``(iterations,)`` the neuron's response to the constrained image before
        each step (NaN after an early stop); ``mei``: ``(height, width)`` float32 (the model's
        dtype, as the 2022 notebook returned it, so that ``torch.tensor(np.stack(meis))`` goes
        straight through the model), the image after the last step, constrained to
        ``mean_constr`` and ``std_constr`` (to float32 rounding; :func:`generate_meis` returns
        float64 images whose mean and std are exact).
    """
    image = check_image(input_image)
    activations, meis = generate_meis(
        model,
        neuron_indices=[neuron_idx],
        input_images=image[None],
        iterations=iterations,
        mean_constr=mean_constr,
        std_constr=std_constr,
        lr=lr,
        blur_sigma=blur_sigma,
        stop_patience=stop_patience,
        stop_tolerance=stop_tolerance,
        device=device,
        progress=progress and not disable_progress_bar,
    )
    return activations[0], meis[0].astype(np.float32)


@deprecated_arguments(
    renamed={"neuron_ids": "neuron_indices"}, positional=("neuron_indices", "input_images")
)
def generate_meis(
    model: nn.Module,
    *,
    neuron_indices: Sequence[int] | np.ndarray,
    input_images: np.ndarray | None = None,
    iterations: int = 1000,
    mean_constr: float,
    std_constr: float,
    lr: float = 1.0,
    seed: int | None = 0,
    blur_sigma: float | None = None,
    stop_patience: int | None = None,
    stop_tolerance: float = 1e-4,
    image_shape: tuple[int, int] = (36, 64),
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One MEI per neuron, ``batch_size`` neurons optimised together.

    Image ``i`` of a batch is optimised for neuron ``neuron_indices[i]`` alone: the loss is the
    sum over the batch of each image's own neuron's negative response, and each image is
    renormalised on its own, so in evaluation mode (where batch norm treats the images of a
    batch independently) image ``i`` follows the same path as when optimised alone, and the
    optimiser's update is elementwise. Batched and one-at-a-time runs with the same seed or the
    same starting images give the same MEIs (up to floating-point rounding).

    Args:
        model: maps images ``(batch, 1, height, width)`` to responses ``(batch, n_neurons)``;
            put in evaluation mode and moved to ``device``.
        neuron_indices: ``(n,)`` the neurons' column indices into the model's output, one MEI
            each (repeats allowed).
        input_images: ``(n, height, width)`` starting images, or one ``(height, width)`` image
            for all; ``None``: Gaussian white noise at the constrained mean and standard
            deviation, drawn for neuron ``k`` from ``numpy.random.default_rng([seed, k])``, so a
            neuron's start does not depend on which other neurons are optimised with it.
        iterations: number of gradient steps (at most; see ``stop_patience``).
        mean_constr: mean pixel value of the images the model sees (model input units).
        std_constr: standard deviation of their pixels, > 0.
        lr: SGD learning rate (momentum 0.9).
        seed: seed of the starting noise (``None``: fresh randomness, not repeatable).
        blur_sigma: if given, the gradient is blurred by a Gaussian of this sd (pixels) before
            each step, a preconditioning that favours smooth images (Walker et al. 2019 blurred
            the gradient the same way).
        stop_patience: if given, an image stops being optimised once its activation has not
            risen above its best by more than ``stop_tolerance`` (relative) for this many steps;
            its MEI is the image at that point.
        stop_tolerance: relative rise that counts as still rising, >= 0.
        image_shape: ``(height, width)`` of the noise starts (when ``input_images`` is None).
        batch_size: images optimised together (memory grows with it).
        device: where to compute (:func:`fens.utility.device.resolve_device`).
        progress: show a tqdm progress bar over the steps.

    Returns:
        ``activations``: ``(n, iterations)`` each neuron's response to its constrained image
        before each step, NaN after an early stop; ``meis``: ``(n, height, width)`` float64
        images with exactly the constrained mean and standard deviation.
    """
    iterations = check_int("iterations", iterations)
    lr = check_number("lr", lr, minimum=0, exclusive_minimum=True)
    batch_size = check_int("batch_size", batch_size)
    blur_sigma = check_number(
        "blur_sigma", blur_sigma, minimum=0, exclusive_minimum=True, optional=True
    )
    stop_patience = check_int("stop_patience", stop_patience, optional=True)
    stop_tolerance = check_number("stop_tolerance", stop_tolerance, minimum=0)
    seed = check_int("seed", seed, minimum=0, optional=True)
    mean_constr = as_scalar(mean_constr, "mean_constr")
    std_constr = as_scalar(std_constr, "std_constr", minimum=0, exclusive_minimum=True)
    shape = tuple(image_shape if input_images is None else np.shape(input_images)[-2:])
    device = prepare_model(model, device)
    ids = as_neuron_indices(neuron_indices, n_neurons_of(model, shape, device))
    starts = _starting_images(ids, input_images, shape, mean_constr, std_constr, seed)

    activations = np.full((len(ids), iterations), np.nan)
    meis = np.empty(starts.shape)
    n_batches = -(-len(ids) // batch_size)
    with (
        frozen(model),
        tqdm(total=n_batches * iterations, desc="MEIs", disable=not progress) as bar,
    ):
        for start in range(0, len(ids), batch_size):
            batch = slice(start, start + batch_size)
            activations[batch], meis[batch] = _ascend(
                model,
                torch.tensor(starts[batch], dtype=torch.float32, device=device)[:, None],
                torch.as_tensor(ids[batch], device=device),
                iterations=iterations,
                mean_constr=mean_constr,
                std_constr=std_constr,
                lr=lr,
                blur_sigma=blur_sigma,
                stop_patience=stop_patience,
                stop_tolerance=stop_tolerance,
                bar=bar,
            )
    return activations, meis


@deprecated_arguments(
    renamed={"neuron_ids": "neuron_indices"},
    positional=("meis", "neuron_indices", "device", "normalize"),
)
def cross_activation(
    model: nn.Module,
    *,
    meis: np.ndarray,
    neuron_indices: Sequence[int] | np.ndarray,
    device: str | torch.device | None = None,
    normalize: bool = True,
) -> np.ndarray:
    """How strongly each MEI drives each of the chosen neurons.

    Args:
        model: as in :func:`generate_meis`.
        meis: ``(n_meis, height, width)`` images in model input units.
        neuron_indices: ``(n_neurons,)`` column indices into the model's output of the neurons
            whose responses are read out (typically the neurons the MEIs were made for, in the
            same order).
        device: where to compute.
        normalize: divide each neuron's column by its largest value over the MEIs (as in the
            FENS 2022 course), so a neuron's own MEI scores 1 when it is its best.

    Returns:
        ``(n_meis, n_neurons)`` responses; row ``i`` is MEI ``i``.
    """
    meis = np.asarray(meis, dtype=np.float32)
    if meis.ndim != 3:
        raise ValueError(f"expected meis of shape (n_meis, height, width), got {meis.shape}")
    device = prepare_model(model, device)
    with torch.no_grad():
        responses = model(torch.tensor(meis, device=device)[:, None]).cpu().numpy()  # (M, N)
    ids = as_neuron_indices(neuron_indices, responses.shape[1])
    activations = responses[:, ids].astype(np.float64)
    if normalize:
        activations = activations / activations.max(axis=0, keepdims=True)
    return activations


def _starting_images(
    ids: np.ndarray,
    input_images: np.ndarray | None,
    image_shape: tuple[int, int],
    mean_constr: float,
    std_constr: float,
    seed: int | None,
) -> np.ndarray:
    """``(n, height, width)`` float64 starting images, none of them constant."""
    if input_images is None:
        noise = [
            np.random.default_rng(None if seed is None else [seed, int(k)]).standard_normal(
                image_shape
            )
            for k in ids
        ]
        return np.stack(noise) * std_constr + mean_constr
    images = np.asarray(input_images, dtype=np.float64)
    if images.ndim == 2:
        images = np.broadcast_to(images, (len(ids), *images.shape))
    if images.ndim != 3 or len(images) != len(ids):
        raise ValueError(
            f"expected input_images of shape ({len(ids)}, height, width) or (height, width), "
            f"got {np.shape(input_images)}"
        )
    constant = np.flatnonzero(images.reshape(len(images), -1).std(axis=1) == 0)
    if constant.size:
        raise ValueError(
            f"starting images {constant.tolist()} are constant; the mean/std constraint needs "
            "some contrast to start from (e.g. noise)"
        )
    return images


def _constrain(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Each image of ``x`` ``(B, 1, H, W)`` shifted and scaled to pixel mean ``mean`` and
    standard deviation ``std`` (over its own pixels, 1/n)."""
    centered = x - x.mean(dim=(1, 2, 3), keepdim=True)
    scale = centered.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()  # (B, 1, 1, 1)
    return centered / scale * std + mean


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (sd ``sigma`` pixels, reflected borders) of ``(B, 1, H, W)``."""
    height, width = images.shape[2:]
    radius = min(int(np.ceil(3 * sigma)), height - 1, width - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    blurred = F.conv2d(padded, kernel.view(1, 1, 1, -1))  # along rows
    return F.conv2d(blurred, kernel.view(1, 1, -1, 1))  # along columns


def _ascend(
    model: nn.Module,
    x0: torch.Tensor,
    ids: torch.Tensor,
    *,
    iterations: int,
    mean_constr: float,
    std_constr: float,
    lr: float,
    blur_sigma: float | None,
    stop_patience: int | None,
    stop_tolerance: float,
    bar: tqdm,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ascent of images ``x0`` ``(B, 1, H, W)``, image ``i`` for neuron ``ids[i]``.

    Returns ``(B, iterations)`` activations (NaN after an image stopped) and ``(B, H, W)``
    float64 constrained images."""
    n = len(ids)
    x = x0.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=0.9)
    activations = np.full((n, iterations), np.nan)
    finals = np.empty((n, *x0.shape[2:]))
    active = np.ones(n, dtype=bool)
    best = np.full(n, -np.inf)
    steps_since_best = np.zeros(n, dtype=int)
    for step in range(iterations):
        own = own_responses(model, _constrain(x, mean_constr, std_constr), ids)  # (B,)
        (grad,) = torch.autograd.grad(-own.sum(), x)
        x.grad = _blur(grad, blur_sigma) if blur_sigma is not None else grad
        optimizer.step()
        bar.update()
        values = own.detach().cpu().numpy().astype(np.float64)
        activations[active, step] = values[active]
        if stop_patience is None:
            continue
        with np.errstate(invalid="ignore"):  # best is -inf before the first step
            rising = ~np.isfinite(best) | (values > best + stop_tolerance * np.abs(best))
        best = np.where(rising, values, best)
        steps_since_best = np.where(rising, 0, steps_since_best + 1)
        stopping = active & (steps_since_best >= stop_patience)
        if stopping.any():
            finals[stopping] = _final_images(x.detach()[stopping], mean_constr, std_constr)
            active &= ~stopping
        if not active.any():
            bar.update(iterations - step - 1)
            break
    if active.any():
        finals[active] = _final_images(x.detach()[active], mean_constr, std_constr)
    return activations, finals


def _final_images(x: torch.Tensor, mean: float, std: float) -> np.ndarray:
    """Constrain ``(b, 1, H, W)`` images in float64, so their mean and std are exact."""
    images = x[:, 0].cpu().numpy().astype(np.float64)  # (b, H, W)
    centered = images - images.mean(axis=(1, 2), keepdims=True)
    return centered / centered.std(axis=(1, 2), keepdims=True) * std + mean

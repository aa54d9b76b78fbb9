"""The analysis API's shape: the seed's calls unchanged, one argument order for the rest, old
spellings deprecated (each warns, names the new spelling and gives the same result), short
reprs and argument checks that name the argument and show the value."""

import inspect
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fens import analysis
from fens.analysis import (
    TuningCurves,
    cross_activation,
    drifting_grating,
    fit_gabor,
    generate_grad_rf,
    generate_grad_rfs,
    generate_mei,
    generate_meis,
    grating,
    plot_correlation_histogram,
    plot_cross_activation,
    plot_images,
    plot_mei,
    plot_model_comparison,
    plot_predicted_vs_actual,
    plot_tuning_curve,
    tuning_curves,
)
from fens.analysis.gabor_fit import GaborFit
from tests.analysis.conftest import IMAGE_MEAN, IMAGE_SHAPE, IMAGE_STD

MEAN, STD = IMAGE_MEAN, IMAGE_STD / 10
MEI = dict(mean_constr=MEAN, std_constr=STD, iterations=5, lr=10.0, device="cpu", progress=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _start(seed=0):
    return np.random.default_rng(seed).normal(MEAN, STD, IMAGE_SHAPE)


# The FENS 2022 notebook's calls, written as it writes them.


def test_the_seeds_calls_run_unchanged_and_warn_nothing(small_cnn):
    input_mean, input_std, neuron_idx = MEAN, IMAGE_STD, 1
    input_image = np.zeros((36, 64)) + input_mean
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        grad_rf = generate_grad_rf(small_cnn, neuron_idx=neuron_idx, input_image=input_image)
        activation, mei = generate_mei(
            small_cnn,
            input_image=np.random.normal(input_mean, 0.1, (36, 64)),
            neuron_idx=neuron_idx,
            iterations=5,
            mean_constr=input_mean,
            std_constr=input_std / 10,
            lr=100,
        )
        _, other = generate_mei(
            small_cnn,
            input_image=np.random.normal(input_mean, input_std / 10, (36, 64)),
            neuron_idx=4,
            iterations=5,
            mean_constr=input_mean,
            std_constr=input_std / 10,
            disable_progress_bar=True,
        )
        # The seed's own signatures, by position (device 4th and 8th, as it defines them).
        positional_rf = generate_grad_rf(small_cnn, neuron_idx, input_image, "cpu")
        start = _start()
        by_position = generate_mei(small_cnn, start, 2, 5, MEAN, STD, 10.0, "cpu", True)
    assert grad_rf.shape == mei.shape == other.shape == (36, 64)
    assert activation.shape == (5,)
    np.testing.assert_array_equal(positional_rf, grad_rf)
    by_keyword = generate_mei(
        small_cnn, start, 2, 5, MEAN, STD, lr=10.0, device="cpu", progress=False
    )
    np.testing.assert_array_equal(by_position[1], by_keyword[1])


def test_the_singular_forms_keep_the_seeds_signatures():
    assert list(inspect.signature(generate_grad_rf).parameters)[:4] == [
        "model",
        "neuron_idx",
        "input_image",
        "device",
    ]
    parameters = inspect.signature(generate_mei).parameters
    seed_order = ["model", "input_image", "neuron_idx", "iterations", "mean_constr"]
    seed_order += ["std_constr", "lr", "device", "disable_progress_bar"]
    assert list(parameters)[:9] == seed_order
    kinds = {p.kind for name, p in parameters.items() if name in seed_order}
    assert kinds == {inspect.Parameter.POSITIONAL_OR_KEYWORD}


@pytest.mark.parametrize(
    "function",
    [generate_grad_rfs, generate_meis, cross_activation, tuning_curves, analysis.compare_to_truth],
)
def test_functions_taking_a_model_take_it_first_and_the_rest_by_keyword(function):
    model, *rest = inspect.signature(function).parameters.values()
    assert model.name == "model" and model.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert {p.kind for p in rest} == {inspect.Parameter.KEYWORD_ONLY}
    assert "neuron_ids" not in inspect.signature(function).parameters


@pytest.mark.parametrize(
    "function",
    [
        plot_images,
        plot_correlation_histogram,
        plot_predicted_vs_actual,
        plot_model_comparison,
        plot_mei,
        plot_cross_activation,
        plot_tuning_curve,
        analysis.plot_truth_comparison,
        analysis.summarize_truth_comparison,
        analysis.well_predicted_neurons,
        fit_gabor,
    ],
)
def test_data_functions_take_their_data_first_and_options_by_keyword(function):
    parameters = inspect.signature(function).parameters.values()
    options = [p.name for p in parameters if p.default is not inspect.Parameter.empty]
    keyword_only = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert options and options == keyword_only


def test_too_many_positional_arguments_and_old_and_new_together_are_refused(gabor_model):
    model, _ = gabor_model
    image = np.full(IMAGE_SHAPE, MEAN)
    with pytest.raises(TypeError, match="positional"):
        generate_grad_rfs(model, image, [0], "cpu", 4, False, "one too many")
    with pytest.raises(TypeError, match="neuron_ids"):
        generate_meis(model, neuron_indices=[0], neuron_ids=[0], **MEI)


# Old spellings: each warns, names the new one and gives the same result.


def _old_and_new(old, new, spelling):
    """Call ``old()`` expecting a DeprecationWarning naming ``spelling``; return both results."""
    with pytest.warns(DeprecationWarning, match=spelling):
        got = old()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        expected = new()
    return got, expected


def _assert_same(got, expected):
    if isinstance(expected, tuple):
        for a, b in zip(got, expected, strict=True):
            _assert_same(a, b)
    elif isinstance(expected, TuningCurves):
        np.testing.assert_array_equal(got.responses, expected.responses)
        np.testing.assert_array_equal(got.neuron_indices, expected.neuron_indices)
    else:
        np.testing.assert_array_equal(got, expected)


def test_old_spellings_of_the_model_functions_warn_and_agree(gabor_model):
    model, filters = gabor_model
    image = _start()
    meis = MEAN + STD * filters / filters.std(axis=(1, 2), keepdims=True)
    grid = dict(spatial_frequencies=[0.1], phases=2, device="cpu")
    cases = [
        (
            lambda: generate_grad_rfs(model, image, [2, 0]),
            lambda: generate_grad_rfs(model, input_image=image, neuron_indices=[2, 0]),
            "input_image=..., neuron_indices=...",
        ),
        (
            lambda: generate_grad_rfs(model, input_image=image, neuron_ids=[2, 0]),
            lambda: generate_grad_rfs(model, input_image=image, neuron_indices=[2, 0]),
            "write neuron_indices=",
        ),
        (
            lambda: generate_meis(model, [1], image, **MEI),
            lambda: generate_meis(model, neuron_indices=[1], input_images=image, **MEI),
            "neuron_indices=..., input_images=...",
        ),
        (
            lambda: generate_meis(model, neuron_ids=[1, 2], **MEI),
            lambda: generate_meis(model, neuron_indices=[1, 2], **MEI),
            "write neuron_indices=",
        ),
        (
            lambda: cross_activation(model, meis, [2, 0], "cpu", False),
            lambda: cross_activation(
                model, meis=meis, neuron_indices=[2, 0], device="cpu", normalize=False
            ),
            "meis=..., neuron_indices=..., device=..., normalize=...",
        ),
        (
            lambda: cross_activation(model, meis=meis, neuron_ids=[1], device="cpu"),
            lambda: cross_activation(model, meis=meis, neuron_indices=[1], device="cpu"),
            "write neuron_indices=",
        ),
        (
            lambda: tuning_curves(model, 4, [0.1], 2, [1], "mean", device="cpu"),
            lambda: tuning_curves(model, orientations=4, neuron_indices=[1], reduce="mean", **grid),
            "orientations=..., spatial_frequencies=..., phases=..., neuron_indices=..., reduce=",
        ),
        (
            lambda: tuning_curves(model, orientations=4, neuron_ids=[0, 2], **grid),
            lambda: tuning_curves(model, orientations=4, neuron_indices=[0, 2], **grid),
            "write neuron_indices=",
        ),
        (
            lambda: generate_mei(model, image, 0, 5, MEAN, STD, 10.0, "cpu", True, 1.0),
            lambda: generate_mei(model, image, 0, 5, MEAN, STD, 10.0, "cpu", True, blur_sigma=1.0),
            "write blur_sigma=",
        ),
    ]
    for old, new, spelling in cases:
        _assert_same(*_old_and_new(old, new, spelling))


def test_old_spellings_of_the_stimuli_and_the_gabor_fit_warn_and_agree():
    cases = [
        (
            lambda: grating(0.5, 0.1, 0.0, (20, 30), 0.5, 100.0),
            lambda: grating(0.5, 0.1, 0.0, shape=(20, 30), contrast=0.5, mean=100.0),
            "shape=..., contrast=..., mean=...",
        ),
        (
            lambda: drifting_grating(0.5, 0.1, 4, 2.0),
            lambda: drifting_grating(0.5, 0.1, n_frames=4, cycles=2.0),
            "n_frames=..., cycles=...",
        ),
    ]
    for old, new, spelling in cases:
        _assert_same(*_old_and_new(old, new, spelling))
    image = 80.0 + 5.0 * grating(0.4, 0.1, shape=(20, 30)) * np.exp(
        -((np.arange(30) - 15) ** 2) / 50
    )
    got, expected = _old_and_new(
        lambda: fit_gabor(image, 1), lambda: fit_gabor(image, n_sizes=1), "n_sizes="
    )
    assert got == expected


def test_tuning_curves_neuron_ids_is_the_deprecated_name_of_neuron_indices(gabor_model):
    model, _ = gabor_model
    curves = tuning_curves(
        model, orientations=4, spatial_frequencies=[0.1], neuron_indices=[2, 0], device="cpu"
    )
    np.testing.assert_array_equal(curves.neuron_indices, [2, 0])
    with pytest.warns(DeprecationWarning, match="TuningCurves.neuron_indices"):
        np.testing.assert_array_equal(curves.neuron_ids, [2, 0])


def test_old_spellings_of_the_plots_warn_and_draw_the_same():
    rng = np.random.default_rng(0)
    images, values = rng.normal(size=(2, 36, 64)), rng.normal(size=20)
    theta = np.arange(8) * np.pi / 8

    def new_axes():
        return plt.subplots()[1]

    cases = [
        (
            lambda: plot_images(images, ["a", "b"], None).axes[1].get_title(),
            lambda: plot_images(images, titles=["a", "b"], center=None).axes[1].get_title(),
            "titles=..., center=...",
        ),
        (
            lambda: plot_correlation_histogram(
                values, new_axes(), 10, "LN"
            ).get_legend_handles_labels()[1],
            lambda: plot_correlation_histogram(
                values, ax=new_axes(), bins=10, label="LN"
            ).get_legend_handles_labels()[1],
            "ax=..., bins=..., label=...",
        ),
        (
            lambda: plot_predicted_vs_actual(values, values**2, new_axes(), "n1").get_title(),
            lambda: plot_predicted_vs_actual(
                values, values**2, ax=new_axes(), title="n1"
            ).get_title(),
            "ax=..., title=...",
        ),
        (
            lambda: plot_model_comparison(values, values**2, "A", "B").get_title(),
            lambda: plot_model_comparison(values, values**2, label_x="A", label_y="B").get_title(),
            "label_x=..., label_y=...",
        ),
        (
            lambda: plot_mei(images[0], values, "n2")._suptitle.get_text(),
            lambda: plot_mei(images[0], values, title="n2")._suptitle.get_text(),
            "title=...",
        ),
        (
            lambda: [
                t.get_text() for t in plot_cross_activation(np.eye(2), [7, 9]).get_xticklabels()
            ],
            lambda: [
                t.get_text()
                for t in plot_cross_activation(np.eye(2), neuron_indices=[7, 9]).get_xticklabels()
            ],
            "neuron_indices=...",
        ),
        (
            lambda: [
                t.get_text()
                for t in plot_cross_activation(np.eye(2), neuron_ids=[7, 9]).get_xticklabels()
            ],
            lambda: [
                t.get_text()
                for t in plot_cross_activation(np.eye(2), neuron_indices=[7, 9]).get_xticklabels()
            ],
            "write neuron_indices=",
        ),
        (
            lambda: len(plot_tuning_curve(theta, np.ones((3, 8)), new_axes()).get_lines()),
            lambda: len(plot_tuning_curve(theta, np.ones((3, 8)), ax=new_axes()).get_lines()),
            "ax=...",
        ),
    ]
    for old, new, spelling in cases:
        got, expected = _old_and_new(old, new, spelling)
        assert got == expected


# Reprs: one line, whatever the size of the arrays behind them.


def test_tuning_curves_print_as_their_sizes_not_their_arrays():
    n = 5335
    curves = TuningCurves(
        responses=np.random.default_rng(0).random((n, 16, 40)),
        orientations=np.arange(16) * np.pi / 16,
        spatial_frequencies=np.geomspace(0.02, 0.3, 40),
        neuron_indices=np.arange(n),
        reduce="max",
    )
    text = repr(curves)
    assert "\n" not in text and len(text) < 230
    assert "(5335, 16, 40)" in text and "16 orientations" in text and "5335 [0, 1," in text
    assert "5334" in text and "reduce='max'" in text and "cycles/pixel" in text
    small = TuningCurves(
        responses=np.zeros((2, 4, 2)),
        orientations=np.arange(4) * np.pi / 4,
        spatial_frequencies=np.array([0.05, 0.1]),
        neuron_indices=np.array([3, 8]),
        reduce="mean",
    )
    assert repr(small) == (
        "TuningCurves(responses (2, 4, 2) (neurons, orientations, frequencies), 4 orientations, "
        "spatial frequencies [0.05, 0.1] cycles/pixel, neurons [3, 8], reduce='mean')"
    )


def test_a_gabor_fit_prints_its_parameters_in_units_and_rounded():
    fit = GaborFit(
        center=(20.31234567, 14.87654321),
        size=4.0123456789,
        aspect=0.70123456,
        orientation=np.pi / 4 + 1e-9,
        spatial_frequency=0.1000000123,
        phase=np.pi,
        amplitude=5.00001234,
        offset=80.0000123,
        r2=0.98765432,
    )
    assert repr(fit) == (
        "GaborFit(center=(20.3, 14.9) px, size=4.01 px, aspect=0.70, orientation=45.0 deg, "
        "spatial_frequency=0.100 cycles/px, phase=180 deg, amplitude=5, offset=80, r2=0.988)"
    )
    assert len(repr(fit)) < 170


# Argument checks: the message names the argument and shows the value.


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, im: generate_meis(m, neuron_indices=[0], **MEI | {"iterations": 0}),
         "iterations must be a positive integer, got 0"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], **MEI | {"lr": -1.0}),
         "lr must be a positive number, got -1.0"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], batch_size=2.5, **MEI),
         "batch_size must be a positive integer, got 2.5"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], blur_sigma=0, **MEI),
         "blur_sigma must be a positive number or None, got 0"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], stop_patience=0, **MEI),
         "stop_patience must be a positive integer or None, got 0"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], stop_tolerance=-0.1, **MEI),
         "stop_tolerance must be a number >= 0, got -0.1"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], **MEI | {"mean_constr": np.nan}),
         "mean_constr must be a finite number, got nan"),
        (lambda m, im: generate_meis(m, neuron_indices=[0], **MEI | {"std_constr": -2.0}),
         "std_constr must be a positive number, got -2.0"),
        (lambda m, im: generate_mei(m, im, 0, 0, MEAN, STD, device="cpu"),
         "iterations must be a positive integer, got 0"),
        (lambda m, im: generate_grad_rfs(m, input_image=im, batch_size=0, device="cpu"),
         "batch_size must be a positive integer, got 0"),
        (lambda m, im: tuning_curves(m, batch_size=True, device="cpu"),
         "batch_size must be a positive integer, got True"),
        (lambda m, im: tuning_curves(m, orientations=0, device="cpu"),
         "orientations must be a positive integer, got 0"),
        (lambda m, im: tuning_curves(m, phases=-3, device="cpu"),
         "phases must be a positive integer, got -3"),
        (lambda m, im: grating(0.0, 0.1, contrast=1.5),
         r"contrast must be a number in \[0, 1\], got 1.5"),
        (lambda m, im: drifting_grating(0.0, 0.1, n_frames=0),
         "n_frames must be a positive integer, got 0"),
        (lambda m, im: fit_gabor(im + np.eye(36, 64), n_sizes=0),
         "n_sizes must be a positive integer, got 0"),
        (lambda m, im: analysis.well_predicted_neurons(np.ones(3), n=0),
         "n must be a positive integer, got 0"),
        (lambda m, im: plot_images(im[None], ncols=0),
         "ncols must be a positive integer, got 0"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_naming_the_argument_and_the_value(gabor_model, call, message):
    model, _ = gabor_model
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(model, np.full(IMAGE_SHAPE, MEAN))

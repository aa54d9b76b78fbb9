"""Opening trained models up: what do their neurons respond to?

- :mod:`~fens.analysis.receptive_fields`: gradient receptive fields (:func:`generate_grad_rf`,
  :func:`generate_grad_rfs` for many neurons at once).
- :mod:`~fens.analysis.mei`: most exciting inputs (:func:`generate_mei`, batched
  :func:`generate_meis`) and how they drive other neurons (:func:`cross_activation`).
- :mod:`~fens.analysis.insilico`: gratings, tuning curves, preferred orientation and
  orientation selectivity.
- :mod:`~fens.analysis.gabor_fit`: least-squares Gabor fits (:func:`fit_gabor`).
- :mod:`~fens.analysis.truth`: on simulated data, the above scored against the ground truth.
- :mod:`~fens.analysis.plots`: the chapters' figures.

Every function taking a model puts it in evaluation mode on the requested device
(:func:`fens.utility.device.resolve_device`: ``'cuda'`` on a machine without one falls back to
the CPU with a warning).

Arguments: the FENS 2022 notebook's two functions keep its signatures,
``generate_grad_rf(model, neuron_idx, input_image)`` and ``generate_mei(model, input_image,
neuron_idx, iterations, mean_constr, std_constr, lr=...)``. Every other function that takes a
model takes it first and everything else by keyword (``generate_meis(model, neuron_indices=[3,
5], mean_constr=..., std_constr=...)``); the plots take their data first and their options by
keyword. ``neuron_indices`` are column indices into the model's output (not the recording's
unit ids), and ``progress=`` switches the progress bars.
"""

from fens.analysis.gabor_fit import GaborFit, fit_gabor
from fens.analysis.insilico import (
    TuningCurves,
    drifting_grating,
    grating,
    orientation_difference,
    orientation_selectivity_index,
    preferred_orientation,
    tuning_curves,
)
from fens.analysis.mei import cross_activation, generate_mei, generate_meis
from fens.analysis.plots import (
    plot_correlation_histogram,
    plot_cross_activation,
    plot_images,
    plot_mei,
    plot_model_comparison,
    plot_predicted_vs_actual,
    plot_tuning_curve,
)
from fens.analysis.receptive_fields import generate_grad_rf, generate_grad_rfs
from fens.analysis.truth import (
    TruthComparison,
    compare_to_truth,
    plot_truth_comparison,
    similarity_to_truth,
    summarize_truth_comparison,
    well_predicted_neurons,
)

__all__ = [
    "GaborFit",
    "TruthComparison",
    "TuningCurves",
    "compare_to_truth",
    "cross_activation",
    "drifting_grating",
    "fit_gabor",
    "generate_grad_rf",
    "generate_grad_rfs",
    "generate_mei",
    "generate_meis",
    "grating",
    "orientation_difference",
    "orientation_selectivity_index",
    "plot_correlation_histogram",
    "plot_cross_activation",
    "plot_images",
    "plot_mei",
    "plot_model_comparison",
    "plot_predicted_vs_actual",
    "plot_truth_comparison",
    "plot_tuning_curve",
    "preferred_orientation",
    "similarity_to_truth",
    "summarize_truth_comparison",
    "tuning_curves",
    "well_predicted_neurons",
]

"""A simulated mouse V1 data set with known ground truth, in the real data's on-disk format.

``simulate(out, preset, seed)`` writes natural-image patches, noisy responses of model V1
neurons (simple, complex, normalised, weakly responsive) and behaviour in the format of Lurz et
al. (ICLR 2021), with the ground truth beside the data (``out/ground_truth``).
``GroundTruth.load(out).mean_response(images)`` gives the noise-free responses to any images,
and :mod:`fens.simulate.calibration` measures what a model could reach on the data.
"""

from fens.simulate.config import PRESETS, SimulationConfig
from fens.simulate.neurons import GroundTruth
from fens.simulate.writer import simulate

__all__ = ["PRESETS", "GroundTruth", "SimulationConfig", "simulate"]

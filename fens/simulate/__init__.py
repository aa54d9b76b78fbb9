"""A simulated mouse V1 data set with known ground truth, in the real data's on-disk format.

``simulate(out, preset, seed)`` writes natural-image patches, noisy responses of model V1
neurons (simple, complex, normalised, weakly responsive; and, where a configuration asks for them,
subunit cells, deep cells reading a fixed random network, and orientation-tuned surround
suppression) and behaviour in the format of Lurz et al. (ICLR 2021), with the ground truth
beside the data (``out/ground_truth``). ``GroundTruth.load(out).mean_response(images)`` gives
the noise-free responses to any images (``TrueModel`` the same as a differentiable torch model),
and :mod:`fens.simulate.calibration` measures what a model could reach on the data.
"""

from fens.simulate.config import PRESETS, SimulationConfig
from fens.simulate.neurons import GroundTruth
from fens.simulate.true_model import TrueModel
from fens.simulate.writer import simulate

__all__ = ["PRESETS", "GroundTruth", "SimulationConfig", "TrueModel", "simulate"]

"""Cheap proxies of how predictable a simulated data set is, per cell type, in minutes.

For a data set folder written by ``fens simulate`` (or for a configuration simulated here first,
``--simulate``), prints per cell type (and for all neurons) the means of:

- ``noise_ceiling``: the best single-trial test correlation any model can reach;
- ``jackknife_oracle``: the oracle estimate used on real data (Lurz et al., ICLR 2021);
- ``ridge_pixels``: ridge regression from pixels, a stand-in for the LN model;
- ``linear_ceiling``: the best a model linear in the pixels can reach (ridge fitted to the
  noise-free responses to fresh patches, times the noise ceiling), what the LN and SOTA LN
  models approach; ``ridge_pixels`` over it is how much of it a pixel filter learns from the
  trials alone;
- ``ridge_gabor_linear``: ridge from a linear Gabor bank at the true centre, for the SOTA LN;
- ``ridge_gabor``: ridge from rectified Gabor outputs and energies at the true centre, for a
  model whose core learned classic V1 features;
- ``ridge_gabor_network`` (deep cells only): the same plus the true random-network features and
  their products, for a core that learned the deep cells' features exactly;

(:mod:`fens.simulate.calibration`) and each proxy as a fraction of the oracle; then the
exponent of the training images' power spectrum (about -2 for natural images,
:func:`~fens.simulate.stimuli.spectrum_exponent`) and the participation ratio of the random
network's features (how many independent features deep cells read,
:func:`~fens.simulate.calibration.network_dimensionality`). On the ``full``
preset before its later kinds of neuron, these proxies sat beside the trained models as
LN 1.25 x ``ridge_pixels``, SOTA LN 1.34 x ``ridge_gabor_linear``, SOTA CNN 1.01 x
``ridge_gabor`` (``bench/README.md``, "Calibration").

    python bench/calibration.py data/simulated-full --json full.json
    python bench/calibration.py /tmp/candidate --simulate '{"deep_fraction": 0.45}' --seed 0
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fens.simulate import GroundTruth, SimulationConfig, simulate
from fens.simulate.calibration import (
    feature_proxy,
    jackknife_oracle,
    linear_ceiling,
    load_tier,
    network_dimensionality,
    noise_ceiling,
    ridge_proxy,
)
from fens.simulate.stimuli import spectrum_exponent
from fens.simulate.writer import simulated_config


def proxy_table(folder: Path, linear_patches: int = 10_000) -> dict[str, dict[str, float]]:
    """``{proxy: {'all' | cell type: mean over neurons}}`` for the data set in ``folder``;
    ``linear_patches`` noise-free patches fit the linear ceiling."""
    kinds = GroundTruth.load(folder).cell_type
    per_neuron = {
        "noise_ceiling": noise_ceiling(folder),
        "jackknife_oracle": jackknife_oracle(folder),
        "ridge_pixels": ridge_proxy(folder),
        "linear_ceiling": linear_ceiling(folder, linear_patches),
        "ridge_gabor_linear": feature_proxy(folder, ("gabor_linear",)),
        "ridge_gabor": feature_proxy(folder, ("gabor",)),
    }
    if (kinds == "deep").any():
        per_neuron["ridge_gabor_network"] = feature_proxy(folder, ("gabor", "network"))
    return {
        name: {"all": float(np.mean(values))}
        | {str(kind): float(np.mean(values[kinds == kind])) for kind in np.unique(kinds)}
        for name, values in per_neuron.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="simulated data set folder")
    parser.add_argument(
        "--simulate",
        metavar="JSON",
        help="first simulate the full preset with these SimulationConfig fields changed into "
        "DATA (replacing a data set there)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --simulate")
    parser.add_argument(
        "--linear-patches",
        type=int,
        default=10_000,
        help="noise-free natural patches that fit the linear ceiling (default 10000)",
    )
    parser.add_argument("--json", type=Path, help="write the table here")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.simulate is not None:
        config = SimulationConfig.from_dict(json.loads(args.simulate))
        simulate(args.data, config, seed=args.seed, progress=False, overwrite=True)
        print(f"simulated {config!r} (seed {args.seed}) in {time.perf_counter() - start:.0f} s")
    table = proxy_table(args.data, args.linear_patches)
    oracle = table["jackknife_oracle"]["all"]
    columns = list(table["noise_ceiling"])
    print(f"{'mean correlation':22s}" + "".join(f"{c:>9s}" for c in columns) + "  of oracle")
    for name, row in table.items():
        values = "".join(f"{row[c]:9.3f}" for c in columns)
        print(f"{name:22s}{values}  {row['all'] / oracle:9.2f}")
    images = load_tier(args.data, "train", keys=("images",))["images"][:, 0]
    print(f"training images: power spectrum ~ f^{spectrum_exponent(images):.2f}")
    dimensionality = network_dimensionality(
        GroundTruth.load(args.data), spectral_tilt=simulated_config(args.data).spectral_tilt
    )
    print(f"deep cells' features: participation ratio {dimensionality:.1f}")
    print(f"{time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()

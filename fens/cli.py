"""The ``fens`` command line.

fens simulate --preset full --seed 0 --out data/simulated-full
fens download lurz2020 --out .
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _simulate(args: argparse.Namespace) -> None:
    from fens.simulate import simulate

    path = simulate(args.out, preset=args.preset, seed=args.seed, overwrite=args.overwrite)
    print(f"simulated data set ({args.preset}, seed {args.seed}) written to {path}")


def _download(args: argparse.Namespace) -> None:
    from fens.dataset import download_lurz2020

    path = download_lurz2020(args.out)
    print(f"Lurz 2020 data set ready in {path}")


def build_parser() -> argparse.ArgumentParser:
    from fens.simulate import PRESETS

    parser = argparse.ArgumentParser(
        prog="fens", description="Neural system identification of mouse V1: data and models."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser(
        "simulate", help="write a simulated V1 data set in the Lurz 2021 file-tree format"
    )
    sim.add_argument(
        "--preset", choices=sorted(PRESETS), default="full", help="size (default: full)"
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sim.add_argument("--out", required=True, help="folder to create")
    sim.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    sim.set_defaults(run=_simulate)

    down = commands.add_parser("download", help="download a real data set")
    down.add_argument("dataset", choices=["lurz2020"], help="which data set")
    down.add_argument("--out", default=".", help="folder to download into (default: .)")
    down.set_defaults(run=_download)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fens`` console script; returns the exit status."""
    from fens.dataset.errors import DatasetError

    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (DatasetError, FileExistsError) as error:
        print(f"fens {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

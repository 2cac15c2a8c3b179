"""Score any potential (fitted by simkit or not) on labelled data by running it in LAMMPS."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


class Command:
    """Evaluate a potential on an extended XYZ dataset: errors overall and per config_type, parity plot."""

    help = "score a potential on labelled data (energies, forces, virials) through LAMMPS"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--potential", required=True,
            help="potential YAML, .snapcoeff, .yace, .eam.alloy or .eam.fs (lammps:NAME for shipped files)",
        )
        parser.add_argument("--param", help="the .snapparam of a .snapcoeff (default: same stem)")
        parser.add_argument("--zbl", nargs=2, type=float, metavar=("INNER_A", "OUTER_A"), help="overlay ZBL")
        parser.add_argument("--data", required=True, nargs="+", type=Path, help="extended XYZ file(s)")
        parser.add_argument("--alpha", type=float, default=0.5, help="L = alpha L_E + (1 - alpha) L_F (default 0.5)")
        parser.add_argument("--min-distance", type=float, default=0.5, help="refuse atoms closer than this (Å)")
        parser.add_argument("--no-plot", action="store_true", help="skip parity.png")
        parser.add_argument("-o", "--output-dir", type=Path, help="default: evaluate_<potential name>")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.scoring.evaluate import format_scores, run_evaluate

        comm = world()
        summary, scores = run_evaluate(
            args.potential, args.data, param=args.param, zbl_A=tuple(args.zbl) if args.zbl else None,
            alpha=args.alpha, min_distance_A=args.min_distance, parity_plot=not args.no_plot,
            output_dir=args.output_dir, comm=comm,
        )
        if comm.Get_rank() == 0:
            print(format_scores(scores))
            log.info("outputs in %s", Path(summary["outputs"]["metrics"]).parent)
        return 0

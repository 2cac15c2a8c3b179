"""Fit a potential from labelled data and score it in LAMMPS; works under ``mpirun -np N``."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from simkit.config import output_dir_override, parse_override
from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of cores, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Command:
    """Fit SNAP or ACE to the data named in a YAML config, then score the deployed files in LAMMPS."""

    help = "fit a SNAP or ACE potential and score it on validation data"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="fit config YAML (backend: snap or ace)")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument(
            "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
            help="override a config value by dotted name, e.g. --set snap.twojmax=8 (repeatable)",
        )
        parser.add_argument(
            "--cores", type=_positive_int,
            help="CPU threads the fitter may use (default: the cores available to this process / MPI ranks)",
        )

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)  # held for the fit's life: a second fit there is refused

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.fitting.candidate import run_fit
        from simkit.scoring.evaluate import format_scores
        from simkit.scoring.metrics import Metrics, Scores

        config = _config(args)
        comm = world()
        cores = args.cores or max(1, len(os.sched_getaffinity(0)) // comm.Get_size())
        summary = run_fit(config, comm=comm, cores=cores)
        if comm.Get_rank() == 0:
            results = summary["results"]
            validation = results["validation"]
            scores = Scores(
                Metrics(**validation["overall"]),
                {name: Metrics(**values) for name, values in validation["config_types"].items()},
            )
            print(format_scores(scores))
            log.info(
                "fit finished: validation L = %.4g (trivial model %.4g); outputs in %s",
                results["validation_loss"], results["baseline_loss"], config.output_dir,
            )
        return 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.fitting.registry import load_fit_config

    # Parsed here, not by argparse, so a bad value is a one-line ConfigError naming the key.
    overrides = dict(parse_override(text) for text in args.overrides)
    overrides.update(output_dir_override(args.output_dir) or {})
    return load_fit_config(args.config, overrides)

"""``simkit learn``: active learning of an ACE student driven by its extrapolation grade."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.config import load_config
from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


class Command:
    """Fit an ACE student, run it where it must work (a survival screen), let the teacher label the cells
    where its extrapolation grade gamma is highest, refit from its coefficients; repeat until a gamma or
    error target or the iteration budget. Writes learn.json (per iteration: training frames, benchmark
    errors, survival fraction, max gamma, frames added) and learn.md."""

    help = "active learning of an ACE potential by its extrapolation grade"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="learn YAML file")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--resume", action="store_true", help="continue after the last completed iteration")
        mode.add_argument("--overwrite", action="store_true", help="discard an earlier loop in output_dir")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.learn.loop import run_learn

        summary = run_learn(_config(args), world(), resume=args.resume, overwrite=args.overwrite)
        log.info("learn: %s", summary["results"]["stopped"])
        return 0


def _config(args: argparse.Namespace):
    from simkit.learn.config import LearnConfig  # lazy: keep `simkit --help` fast

    return load_config(LearnConfig, args.config)

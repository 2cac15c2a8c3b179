"""Generate a labelled dataset with a teacher potential (knowledge distillation)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.config import load_config
from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


class Command:
    """Make rattled/strained/vacancy/surface/MD/amorphous structures and label them with a teacher."""

    help = "generate a teacher-labelled extended XYZ dataset"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="distil YAML file")
        parser.add_argument("-o", "--output", type=Path, help="override the output file")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output).parent  # the dataset's folder (its run_summary.json too)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.distil.runner import run_distil

        config = _config(args)
        comm = world()
        dataset = run_distil(config, comm)
        if comm.Get_rank() == 0 and len(dataset):
            counts = ", ".join(f"{k}: {v}" for k, v in dataset.config_types().items())
            log.info("wrote %d frames (%s) to %s", len(dataset), counts, config.output)
        return 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.distil.config import DistilConfig

    overrides = {"output": str(args.output.resolve())} if args.output else None
    return load_config(DistilConfig, args.config, overrides)

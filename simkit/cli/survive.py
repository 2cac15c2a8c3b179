"""``simkit survive``: high-temperature stability ("survival") screen of a potential."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.runtime.mpi import world


class Command:
    """Run replicas of hot MD with a potential and report which survive (see inputs/survive_si.yaml).

    Without mpirun, replicas run on worker processes (``workers`` in the config,
    default: the cores available); under ``mpirun -np N`` each rank runs replicas.
    """

    help = "survival screen: hot MD replicas of a potential, failure modes and times"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="survival config YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.screening.jobs import survive_job

        config = _config(args)
        comm = world()
        report = survive_job(config, comm)
        if comm.Get_rank() == 0:
            print(report.table())
            print(f"outputs in {config.output_dir}")
        return 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.screening.config import SurviveConfig

    overrides = output_dir_override(args.output_dir)
    return load_config(SurviveConfig, args.config, overrides)

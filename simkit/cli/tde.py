"""``simkit tde``: threshold displacement energies of a potential along chosen directions."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.runtime.mpi import world


class Command:
    """Scan PKA energies per direction until a defect survives (see inputs/tde_fe.yaml).

    Scans run on worker processes (``workers``, default: the cores), or one
    per rank under ``mpirun -np N``. Each finished scan is kept: ``--resume``
    continues a killed study.
    """

    help = "threshold displacement energies: per direction, averaged, over equilibrations"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="tde config YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument("--resume", action="store_true", help="keep finished scans and run the rest")
        parser.add_argument("--overwrite", action="store_true", help="discard the results in output_dir")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.radiation.jobs import tde_job
        from simkit.radiation.tde_report import table

        config = _config(args)
        comm = world()
        summary = tde_job(config, comm, resume=args.resume, overwrite=args.overwrite)
        if comm.Get_rank() == 0:
            print(table(summary))
            print(f"outputs in {config.output_dir}")
        return 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.radiation.config import TdeConfig

    overrides = output_dir_override(args.output_dir)
    return load_config(TdeConfig, args.config, overrides)

"""``simkit speed``: LAMMPS atom-steps per second of a potential."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.runtime.mpi import world


class Command:
    """Time a potential in LAMMPS on cells of given sizes (see inputs/speed_si.yaml).

    Measures on the ranks the command runs on: serially when started plainly,
    on N ranks under ``mpirun -np N``. Rank-count scans: ``simkit bench scaling``.
    """

    help = "LAMMPS speed of a potential (atom-steps/s per core, with LAMMPS's own timing)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="speed config YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.screening.config import SpeedConfig
        from simkit.screening.jobs import speed_job

        overrides = output_dir_override(args.output_dir)
        config = load_config(SpeedConfig, args.config, overrides)
        comm = world()
        report = speed_job(config, comm)
        if comm.Get_rank() == 0:
            print(report.table())
            print(f"outputs in {config.output_dir}")
        return 0

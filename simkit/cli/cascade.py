"""``simkit cascade``: collision cascades, defects over time and surviving, against NRT and arc-dpa."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.runtime.mpi import world


class Command:
    """Run a campaign of cascades (see inputs/cascade_fe.yaml).

    Under ``mpirun -np N`` each cascade runs on all N ranks, one after another
    (``--ranks-per-cascade 1``: one cascade per rank); without mpirun,
    cascades run on worker processes, one per core. Each finished cascade is
    kept: ``--resume`` continues a killed campaign.
    """

    help = "collision cascades: Wigner-Seitz defects over time, surviving, clusters, against NRT/arc-dpa"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="cascade config YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument("--resume", action="store_true", help="keep finished cascades and run the rest")
        parser.add_argument("--overwrite", action="store_true", help="discard the results in output_dir")
        parser.add_argument("--ranks-per-cascade", choices=("all", "1"), default="all",
                            help="under mpirun: all ranks on each cascade (default), or one cascade per rank")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.radiation.cascade_report import table
        from simkit.radiation.jobs import cascade_job

        config = _config(args)
        comm = world()
        summary = cascade_job(config, comm, resume=args.resume, overwrite=args.overwrite,
                              ranks_per_cascade=0 if args.ranks_per_cascade == "all" else 1)
        if comm.Get_rank() == 0:
            print(table(summary))
            print(f"outputs in {config.output_dir}")
        return 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.radiation.config import CascadeConfig

    overrides = output_dir_override(args.output_dir)
    return load_config(CascadeConfig, args.config, overrides)

"""``simkit survive``: high-temperature stability ("survival") screen of a potential."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.errors import ConfigError
from simkit.runtime.mpi import world


class Command:
    """Run replicas of hot MD with a potential and report which survive (see inputs/survive_si.yaml), or resume
    a killed screen.

    Without mpirun, replicas run on worker processes (``workers`` in the config,
    default: the cores available); under ``mpirun -np N`` each rank runs replicas.
    Every replica that survives or fails is journalled in output_dir as it ends;
    ``--resume`` keeps those and runs the rest.
    """

    help = "survival screen: hot MD replicas of a potential, failure modes and times (or resume one)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, nargs="?", help="survival config YAML file (optional with "
                            "--resume RUN_DIR)")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument(
            "--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
            help="keep the replicas journalled in RUN_DIR (default: the config's output_dir) and run the rest",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="start again even if output_dir holds an unfinished screen"
        )

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args)[0].output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.screening.jobs import survive_job

        config, source = _config(args)
        comm = world()
        report = survive_job(config, comm, resume=bool(args.resume), overwrite=args.overwrite, source=source)
        if comm.Get_rank() == 0:
            print(report.table())
            print(f"outputs in {config.output_dir}")
        return 0


def _config(args: argparse.Namespace):
    """(config, source name) from the YAML file or, with ``--resume RUN_DIR`` alone, from the run's journal."""
    # lazy: keep `simkit --help` fast
    from simkit.screening.config import SurviveConfig
    from simkit.screening.journal import saved_config

    run_dir = Path(args.resume) if isinstance(args.resume, str) else None
    config_file = args.config
    if run_dir is not None and config_file is None and run_dir.is_file():
        config_file, run_dir = run_dir, None  # `--resume config.yaml`: the flag took the config as its value
    if config_file is None:
        if run_dir is None:
            raise ConfigError("give a survival config YAML file, or --resume RUN_DIR")
        if args.output_dir is not None and args.output_dir.resolve() != run_dir.resolve():
            raise ConfigError("--output-dir does not apply to --resume RUN_DIR without a config (the screen stays "
                              "in RUN_DIR)")
        return saved_config(run_dir), str(run_dir)
    overrides = output_dir_override(args.output_dir or run_dir)
    return load_config(SurviveConfig, config_file, overrides), str(config_file)

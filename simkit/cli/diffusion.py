"""``simkit diffusion``: MD at several temperatures, then D, alpha_2, van Hove, conductivity and Arrhenius fits."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.errors import ConfigError
from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


class Command:
    """Run a diffusion study from a YAML file (see inputs/diffusion_*.yaml), resume it, or analyse it again."""

    help = "multi-temperature MD, diffusion coefficients with uncertainties, Arrhenius and conductivity"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, nargs="?", help="diffusion YAML file (optional with a RUN_DIR)")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument(
            "--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
            help="skip finished temperatures and continue interrupted ones from their last checkpoint",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="start again even if output_dir holds unfinished runs"
        )
        parser.add_argument(
            "--analyse-only", nargs="?", const=True, default=False, metavar="RUN_DIR",
            help="no MD: analyse the existing trajectories again (with the config's analysis settings if given)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args)[0].output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.diffusion.driver import analyse_run, run_diffusion

        config, source = _config(args)
        comm = world()
        progress = not args.no_progress and comm.Get_rank() == 0
        if args.analyse_only:
            summary = analyse_run(config, comm, source=source, progress=progress)
        else:
            summary = run_diffusion(config, comm, resume=bool(args.resume), overwrite=args.overwrite, source=source,
                                    progress=progress)
        if comm.Get_rank() == 0:
            fits = summary.get("results", {}).get("arrhenius", {}).get("diffusion", {})
            for species, fit in fits.items():
                log.info("%s: Ea = %.4f ± %.4f eV, D0 = %.3g cm^2/s", species, fit["activation_eV"],
                         fit["activation_err_eV"], fit["prefactor"])
            log.info("diffusion finished on %d rank(s); outputs in %s", comm.Get_size(), config.output_dir)
        return 0


def _config(args: argparse.Namespace):
    """(config, source name) from the YAML file or, with a RUN_DIR alone, from the run directory."""
    # lazy: keep `simkit --help` fast
    from simkit.diffusion.config import DiffusionConfig
    from simkit.diffusion.driver import saved_config

    if args.resume and args.analyse_only:
        raise ConfigError("give --resume or --analyse-only, not both")
    named = args.resume if isinstance(args.resume, str) else args.analyse_only
    run_dir = Path(named) if isinstance(named, str) else None
    config_file = args.config
    if run_dir is not None and config_file is None and run_dir.is_file():
        config_file, run_dir = run_dir, None  # `--resume config.yaml`: the flag took the config as its value
    output_dir = args.output_dir or run_dir
    if config_file is None:
        if run_dir is None:
            raise ConfigError("give a config YAML file, or --resume/--analyse-only RUN_DIR")
        config = saved_config(run_dir)
        if args.output_dir:
            config.output_dir = args.output_dir.resolve()
        return config, str(run_dir)
    overrides = output_dir_override(output_dir)
    return load_config(DiffusionConfig, config_file, overrides), str(config_file)

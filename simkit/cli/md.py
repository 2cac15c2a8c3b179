"""Run an MD protocol (list of stages) in LAMMPS; works under ``mpirun -np N``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.errors import ConfigError
from simkit.runtime.mpi import world

log = logging.getLogger(__name__)


class Command:
    """Run the MD protocol described by a YAML file (see inputs/md_*.yaml), or resume a killed one."""

    help = "run (or resume) an MD protocol from a YAML file"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, nargs="?", help="protocol YAML file (optional with --resume RUN_DIR)")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument(
            "--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
            help="continue from the last checkpoint of RUN_DIR (default: the config's output_dir)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="start again even if output_dir holds an unfinished run"
        )
        parser.add_argument(
            "--stop-after-steps", type=int, metavar="N",
            help="run at most N MD steps now, then write a checkpoint and stop (exit 0, status 'stopped'); "
                 "--resume continues. For wall-time limits: N = steps per second x the time you have",
        )

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_protocol(args)[0].output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.drivers.md.runner import run_protocol

        protocol, source = _protocol(args)
        comm = world()
        summary = run_protocol(protocol, comm, resume=bool(args.resume), overwrite=args.overwrite, source=source,
                               stop_after_steps=args.stop_after_steps)
        if summary.get("status") == "stopped":
            if comm.Get_rank() == 0:
                log.info("md stopped at step %s as asked; outputs so far in %s; continue with: simkit md %s --resume",
                         summary["results"].get("stopped_at_step"), protocol.output_dir, source)
            return 0
        if comm.Get_rank() == 0:
            final = summary.get("results", {}).get("final_thermo", {})
            log.info(
                "md finished on %d rank(s): %d atoms, final T = %.1f K, E_pot = %.4f eV; outputs in %s",
                comm.Get_size(), summary.get("results", {}).get("natoms", 0), final.get("temperature_K", float("nan")),
                final.get("potential_energy_eV", float("nan")), protocol.output_dir,
            )
        return 0


def _protocol(args: argparse.Namespace):
    """(protocol, source name) from the YAML file or, with ``--resume RUN_DIR`` alone, from the run directory."""
    # lazy: keep `simkit --help` fast
    from simkit.drivers.md.protocol import MdProtocol
    from simkit.drivers.md.state import saved_protocol

    run_dir = Path(args.resume) if isinstance(args.resume, str) else None
    output_dir = args.output_dir or run_dir
    if args.config is None:
        if run_dir is None:
            raise ConfigError("simkit md: give a protocol YAML file, or --resume RUN_DIR")
        return saved_protocol(run_dir), str(run_dir)
    overrides = output_dir_override(output_dir)
    return load_config(MdProtocol, args.config, overrides), str(args.config)

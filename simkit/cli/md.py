"""Run an MD protocol (list of stages) in LAMMPS; works under ``mpirun -np N``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class Command:
    """Run the MD protocol described by a YAML file (see inputs/quickstart_md.yaml)."""

    help = "run an MD protocol from a YAML file"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="protocol YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from simkit.config import load_config
        from simkit.drivers.md.protocol import MdProtocol
        from simkit.drivers.md.runner import run_protocol
        from simkit.runtime.mpi import world

        overrides = {"output_dir": str(args.output_dir.resolve())} if args.output_dir else None
        protocol = load_config(MdProtocol, args.config, overrides)
        comm = world()
        summary = run_protocol(protocol, comm)
        if comm.Get_rank() == 0:
            final = summary["results"].get("final_thermo", {})
            log.info(
                "md finished on %d rank(s): %d atoms, final T = %.1f K, E_pot = %.4f eV; outputs in %s",
                comm.Get_size(), summary["results"]["natoms"], final.get("temperature_K", float("nan")),
                final.get("potential_energy_eV", float("nan")), protocol.output_dir,
            )
        return 0

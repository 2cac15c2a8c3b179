"""``simkit validate``: physical properties of a potential against a reference (see inputs/validate_cu.yaml)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override
from simkit.runtime.mpi import world

# Exit status when the validation ran but a quantity missed its tolerance or a dimer has a hole:
# distinct from the error statuses (1-6, simkit.errors), so a batch script can tell "the potential
# failed" from "the run failed".
VALIDATION_FAILED = 8


class Command:
    """Relax the crystal, then compute the configured properties (EOS, elastic constants, vacancy,
    interstitials, surfaces, dimer curves) in LAMMPS, for the potential and for a reference potential
    or a table of reference values, and write the side-by-side table and figures. Exit status 8
    when a tolerance is missed or a dimer curve has a hole."""

    help = "physical properties of a potential (lattice, EOS, C_ij, defects, surfaces, dimers) vs a reference"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, help="validate config YAML file")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument("--overwrite", action="store_true", help="replace an earlier validation in output_dir")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args).output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.validation.job import validate_job
        from simkit.validation.report import markdown

        config = _config(args)
        comm = world()
        summary = validate_job(config, comm, overwrite=args.overwrite)
        if comm.Get_rank() == 0:
            print(markdown(summary["table"], summary["title"]), end="")
            for line in summary["failed"]:
                print(f"FAILED {line}")
            print(f"outputs in {config.output_dir}")
        return VALIDATION_FAILED if summary["failed"] else 0


def _config(args: argparse.Namespace):
    # lazy: keep `simkit --help` fast
    from simkit.validation.config import ValidateConfig

    overrides = output_dir_override(args.output_dir)
    return load_config(ValidateConfig, args.config, overrides)

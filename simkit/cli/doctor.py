"""Report what simkit can use here: MPI, LAMMPS and its styles, ACE plugin, fitting backends."""

from __future__ import annotations

import argparse
import json

from simkit.runtime.mpi import world


class Command:
    """Check the installation: LAMMPS version and packages, pace (native or plugin), MPI, backends."""

    help = "check the installation (LAMMPS, MPI, plugins, fitting backends)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the checks as JSON")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.cli.doctor_checks import run_checks

        comm = world()
        checks = run_checks(comm)
        failed = [c for c in checks if c.required and not c.ok]
        if comm.Get_rank() == 0:
            if args.json:
                print(json.dumps([c.__dict__ for c in checks], indent=2))
            else:
                width = max(len(c.name) for c in checks)
                for c in checks:
                    mark = "ok  " if c.ok else ("FAIL" if c.required else "--  ")
                    print(f"{mark} {c.name:<{width}}  {c.detail}")
                print("simkit doctor: " + ("all required checks passed" if not failed else f"{len(failed)} required check(s) failed"))
        return 1 if failed else 0

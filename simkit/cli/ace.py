"""``simkit ace``: check an ACE potential in LAMMPS against pyace; build the pace plugin."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _maxvol_tolerance(text: str) -> float:
    value = _tolerance(text)
    if value < 1:  # gamma of a selected environment is 1; maxvol would never stop below it
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


class Command:
    """ACE potentials in LAMMPS via simkit's own pair_style pace plugin.

    `simkit ace check MODEL.yace` compares LAMMPS+plugin with pyace on a rattled
    bulk, a surface slab and a compressed cell (or on --structure files) and
    prints the largest energy, force and virial differences; it exits 1 when
    any exceeds the tolerances.  `simkit ace build` compiles the plugin into
    simkit's cache (normally done on first use).
    """

    help = "ACE potentials: check a .yace in LAMMPS against pyace, build the pace plugin"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="ace_command", metavar="ACTION")
        sub.required = True
        check = sub.add_parser("check", help="compare LAMMPS+plugin with pyace for a .yace potential")
        check.add_argument("model", help="ACE potential file (.yace)")
        check.add_argument(
            "--structure", action="append", default=[], metavar="FILE",
            help="structure file (any ASE format, all frames); repeatable. Default: built-in structures",
        )
        check.add_argument("--newton-off", action="store_true", help="run LAMMPS with newton off")
        check.add_argument("--tol-energy", type=_tolerance, default=1e-8, help="eV/atom (default 1e-8)")
        check.add_argument("--tol-force", type=_tolerance, default=1e-7, help="eV/Angstrom (default 1e-7)")
        check.add_argument("--tol-virial", type=_tolerance, default=1e-6, help="eV (default 1e-6)")
        check.add_argument("--json", action="store_true", help="print the results as JSON")
        active = sub.add_parser("activeset", help="active set of a fitted ACE for the extrapolation grade gamma")
        active.add_argument("model", help="pacemaker B-basis potential (.yaml, e.g. a fit's ace_potential.yaml)")
        active.add_argument("--structures", action="append", default=[], metavar="FILE",
                            help="training structures (any ASE format, all frames); repeatable")
        active.add_argument("--from-asi", metavar="FILE", help="use this active set (pace_activeset's .asi) "
                            "instead of selecting one; --structures then only report their gamma")
        active.add_argument("--output", metavar="STEM", help="write STEM.asi and STEM.activeset "
                            "(default: the model path without .yaml)")
        active.add_argument("--tolerance", type=_maxvol_tolerance, default=1.001,
                            help="maxvol stops when no environment has gamma above this (default 1.001)")
        build = sub.add_parser("build", help="compile the pair_style pace plugin into simkit's cache")
        build.add_argument("--force", action="store_true", help="rebuild even if a cached plugin exists")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.ace_command == "build":
            # lazy: keep `simkit --help` fast
            from simkit.lammps.pace_plugin import build_plugin

            print(build_plugin(force=args.force))
            return 0

        if args.ace_command == "activeset":
            return _activeset(args)

        # lazy: keep `simkit --help` fast
        from simkit.ace.check import check_model, read_structures

        structures = read_structures(args.structure) if args.structure else None
        report = check_model(args.model, structures, newton=not args.newton_off)
        ok = report.passed(args.tol_energy, args.tol_force, args.tol_virial)
        if args.json:
            print(json.dumps({
                "model": str(report.model),
                "elements": list(report.elements),
                "passed": ok,
                "max_energy_diff_eV_per_atom": report.max_energy_diff_eV_per_atom,
                "max_force_diff_eV_per_A": report.max_force_diff_eV_per_A,
                "max_virial_diff_eV": report.max_virial_diff_eV,
                "structures": [r.__dict__ for r in report.results],
            }, indent=2))
        else:
            print(report.format())
            print("within tolerances" if ok else "DIFFERENCES EXCEED TOLERANCES")
        return 0 if ok else 1


def _activeset(args: argparse.Namespace) -> int:
    # lazy: keep `simkit --help` fast
    from simkit.ace.activeset import build_files, load_bbasis
    from simkit.ace.check import read_structures
    from simkit.errors import InputDataError

    model = Path(args.model)
    if not model.is_file():
        raise InputDataError(f"{model}: no such potential file")
    if not args.structures and not args.from_asi:
        raise InputDataError("give --structures (the training data) to select an active set, or --from-asi FILE")
    bbasis = load_bbasis(model)  # before reading structures: a wrong model file is the cheaper mistake to report
    structures = list(read_structures(args.structures).values()) if args.structures else []
    stem = Path(args.output) if args.output else model.with_suffix("")
    summary = build_files(model, bbasis, structures, stem, tolerance=args.tolerance,
                          from_asi=Path(args.from_asi) if args.from_asi else None)
    print(json.dumps(summary, indent=2))
    return 0

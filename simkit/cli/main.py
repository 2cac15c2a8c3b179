"""Entry point of the ``simkit`` command.

Each subcommand lives in its own module exposing ``Command`` with a one-line
``help``, ``add_arguments(parser)`` and ``run(args) -> int``; a command that
writes into a directory also has ``run_dir(args) -> Path``, and that directory
is locked for the whole run (:mod:`simkit.runtime.locks`). Modules keep heavy
imports inside ``run`` so that ``simkit --help`` stays fast. Errors derived from
:class:`simkit.errors.SimkitError` print as one line (``--traceback`` for more).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import traceback

from simkit import __version__
from simkit.errors import LammpsError, SimkitError
from simkit.runtime.locks import hold_run_dir
from simkit.runtime.logs import configure_logging
from simkit.runtime.mpi import abort_world, every_rank_failed, launcher_rank

# name -> module; adding a command is one line here plus its module.
COMMANDS: dict[str, str] = {
    "ace": "simkit.cli.ace",
    "analyse": "simkit.cli.analyse",
    "bench": "simkit.cli.bench",
    "cascade": "simkit.cli.cascade",
    "diffusion": "simkit.cli.diffusion",
    "distil": "simkit.cli.distil",
    "demo": "simkit.cli.demo",
    "doctor": "simkit.cli.doctor",
    "evaluate": "simkit.cli.evaluate",
    "export": "simkit.cli.export",
    "fit": "simkit.cli.fit",
    "learn": "simkit.cli.learn",
    "md": "simkit.cli.md",
    "optimise": "simkit.cli.optimise",
    "speed": "simkit.cli.speed",
    "survive": "simkit.cli.survive",
    "tde": "simkit.cli.tde",
    "validate": "simkit.cli.validate",
}


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors in one line (``simkit md: error: ...``) like every other refusal; ``-h`` shows usage."""

    def error(self, message: str):
        command = " ".join(self.prog.split()[:2])  # "simkit analyse", also for its per-analysis parsers
        self.exit(2, f"{command}: error: {' '.join(message.split())} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="simkit",
        description="Fit ML interatomic potentials, screen them, and run them at scale in LAMMPS.",
    )
    parser.add_argument("--version", action="version", version=f"simkit {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug-level logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    sub.required = True
    for name, module_name in COMMANDS.items():
        command = importlib.import_module(module_name).Command
        child = sub.add_parser(name, help=command.help, description=command.__doc__)
        command.add_arguments(child)
        child.set_defaults(_command=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    rank = launcher_rank()  # from the environment: MPI is not initialised just to print an error
    configure_logging(rank, verbose=args.verbose)
    try:
        return _run(args, sys.argv[1:] if argv is None else argv)
    except SimkitError as exc:
        # A fatal LAMMPS error, or an error on this rank alone, leaves the other ranks waiting
        # forever in their next collective call: this rank says so and ends the whole job.
        alone = (isinstance(exc, LammpsError) and exc.fatal) or not every_rank_failed()
        if rank == 0 or alone:
            where = f"[rank {rank}] " if rank else ""
            print(f"simkit {args.command}: error: {where}{exc}", file=sys.stderr)
            if args.traceback:
                traceback.print_exc()
        if alone:
            abort_world(exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"simkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        # A defect, not a user error: the traceback is the report. Under MPI the other ranks must
        # not be left waiting for this one.
        if not every_rank_failed():
            traceback.print_exc()
            abort_world(1)
        raise


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    """The command, holding the directory it writes (if any) while it runs."""
    command = args._command
    directory = command.run_dir(args) if hasattr(command, "run_dir") else None
    with hold_run_dir(directory, "simkit " + shlex.join(argv)):
        return int(command.run(args) or 0)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

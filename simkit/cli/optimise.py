"""``simkit optimise``: Bayesian hyperparameter optimisation scored on loss, speed and survival."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import output_dir_override
from simkit.errors import ConfigError
from simkit.runtime.logs import add_file_log
from simkit.runtime.mpi import launched_by_mpirun, rank_of, world
from simkit.runtime.outputs import LOG_FILE


class Command:
    """Optimise the hyperparameters of a SNAP or ACE fit (see inputs/optimise_snap_si.yaml).

    Candidates are fitted, timed and screened k at a time (worker processes, or
    groups of ranks under ``mpirun -np N``) and recorded in RUN_DIR/journal.sqlite
    the moment each finishes. Running the same config again continues the run in
    its output_dir (a finished run only regenerates its results); ``--resume
    RUN_DIR`` does the same without the YAML. A changed search space is refused.
    """

    help = "Bayesian optimisation of fit hyperparameters on validation loss, LAMMPS speed and survival"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, nargs="?", help="optimise config YAML file")
        parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
        parser.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        parser.add_argument("--candidates", type=int, metavar="N",
                            help="override budget.candidates (e.g. to extend a finished run)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        return Path(_config(args)[0].output_dir)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.optimise.runner import run_optimisation

        config, source = _config(args)
        if args.no_progress:
            config.progress = False
        comm = world() if launched_by_mpirun() else None
        rank = rank_of(comm)
        if rank == 0:
            Path(config.output_dir).mkdir(parents=True, exist_ok=True)
            add_file_log(Path(config.output_dir) / LOG_FILE)
        summary = run_optimisation(config, comm=comm, source=source, budget=args.candidates)
        if rank == 0:
            _print_summary(summary, Path(config.output_dir))
        return 0


def _config(args: argparse.Namespace):
    """(config, source name) from the YAML file or from ``--resume RUN_DIR``."""
    # lazy: keep `simkit --help` fast
    from simkit.optimise.runner import config_from_run_dir, load_optimise_config

    if (args.config is None) == (args.resume is None):
        raise ConfigError("give either a config file or --resume RUN_DIR")
    if args.candidates is not None and args.candidates < 1:
        raise ConfigError(f"--candidates must be at least 1, got {args.candidates}")
    if args.resume is not None:
        if args.output_dir is not None:
            raise ConfigError("--output-dir does not apply to --resume (the run stays in RUN_DIR)")
        return config_from_run_dir(args.resume), str(args.resume)
    overrides = output_dir_override(args.output_dir)
    return load_optimise_config(args.config, overrides), str(args.config)


def _print_summary(summary: dict, run_dir: Path) -> None:
    results = summary.get("results", {}).get("summary", {})
    counts = results.get("candidates", {})
    line = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    print(f"{results.get('finished', 0)} of {results.get('budget', '?')} candidates finished ({line or 'none'})")
    if results.get("best_id") is not None:
        print(f"best: candidate {results['best_id']}, objective {results['best_objective']:.6g}, "
              f"loss {results['best_loss']:.4g}, {results['best_params']}")
        print(f"best potential: {run_dir / 'best' / 'potential.yaml'}")
    stopped = summary.get("results", {}).get("stopped")
    if stopped:
        print(f"stopped: {stopped}")
    print(f"outputs in {run_dir}")

"""``simkit demo``: the whole mission on the embedded default, from teacher data to a device cycle."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from simkit.errors import ConfigError
from simkit.runtime.mpi import launcher_size

log = logging.getLogger(__name__)


class Command:
    """Distil a dataset from a teacher, optimise SNAP and ACE on accuracy, speed and survival, run a
    heat-pulse/anneal cycle of a small device with the best model under mpirun, analyse it and write
    a Markdown report. Without CONFIG the embedded default runs (no files needed). Run it again to
    continue after an interruption: finished steps are reused.
    """

    help = "run the main job: data -> optimised potentials -> device cycle -> analysis -> report"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", type=Path, nargs="?", help="demo YAML file (default: the embedded one)")
        parser.add_argument("-o", "--output-dir", type=Path, help="output folder (default: ./runs/demo)")
        parser.add_argument("--show-config", action="store_true", help="print the embedded default and exit")

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path | None:
        """The demo's output folder; its steps run commands that each hold their own subfolder."""
        # lazy: keep `simkit --help` fast
        from simkit.demo.runner import load_demo_config

        if args.show_config:
            return None
        return load_demo_config(_config_path(args), _output_dir(args))[1]

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        path = _config_path(args)
        if args.show_config:
            print(path.read_text(), end="")
            return 0
        # lazy: keep `simkit --help` fast
        from simkit.demo.runner import run_demo

        report = run_demo(path, _output_dir(args))
        log.info("demo finished: report at %s", report)
        print(f"report: {report}")
        return 0


def _config_path(args: argparse.Namespace) -> Path:
    # lazy: keep `simkit --help` fast (the demo config imports matplotlib through its validation section)
    from simkit.demo.config import default_config_path

    if launcher_size() > 1:
        raise ConfigError("simkit demo launches its own mpirun for the device cycle: run it without mpirun")
    path = args.config or default_config_path()
    if not path.is_file():
        raise ConfigError(f"{path}: demo config not found")
    return path


def _output_dir(args: argparse.Namespace) -> Path | None:
    return args.output_dir.resolve() if args.output_dir else None

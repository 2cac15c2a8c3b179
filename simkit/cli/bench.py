"""``simkit bench``: benchmarks users run on their own machine (``scaling``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override


class Command:
    """Benchmarks. ``simkit bench scaling config.yaml``: strong and weak scaling of one or more
    potentials, one MPI job per point (see inputs/bench_scaling_si.yaml). Start it without mpirun."""

    help = "benchmarks: strong/weak scaling of potentials under MPI"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
        scaling = kinds.add_parser("scaling", help="strong and weak scaling, each point its own mpirun job")
        scaling.add_argument("config", type=Path, help="scaling config YAML file")
        scaling.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.bench.jobs import scaling_job
        from simkit.bench.scaling import ScalingConfig
        from simkit.bench.scaling_report import table

        overrides = output_dir_override(args.output_dir)
        config = load_config(ScalingConfig, args.config, overrides)
        result = scaling_job(config)
        print(table(result))
        print(f"outputs in {config.output_dir}")
        return 0

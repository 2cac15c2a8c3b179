"""``simkit bench``: benchmarks users run on their own machine (``scaling``), and what they predict (``predict``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.config import load_config, output_dir_override


class Command:
    """Benchmarks. ``simkit bench scaling config.yaml``: strong and weak scaling of one or more
    potentials, one MPI job per point (see inputs/bench_scaling_si.yaml). Start it without mpirun.
    ``simkit bench predict config.yaml``: time to solution of an MD protocol on N cores, modelled
    from scaling scans (see simkit.bench.predict)."""

    help = "benchmarks: strong/weak scaling of potentials under MPI, and time-to-solution predictions"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
        scaling = kinds.add_parser("scaling", help="strong and weak scaling, each point its own mpirun job")
        scaling.add_argument("config", type=Path, help="scaling config YAML file")
        scaling.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")
        predict = kinds.add_parser("predict", help="time to solution of an MD protocol on N cores, from scaling scans")
        predict.add_argument("config", type=Path, help="prediction config YAML file")
        predict.add_argument("-o", "--output-dir", type=Path, help="override output_dir from the config")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.bench == "predict":
            return _predict(args)
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


def _predict(args: argparse.Namespace) -> int:
    # lazy: keep `simkit --help` fast
    from simkit.bench.predict import PredictConfig
    from simkit.bench.predict_report import predict_job, table

    config = load_config(PredictConfig, args.config, output_dir_override(args.output_dir))
    prediction = predict_job(config)
    print(table(prediction))
    print(f"outputs in {config.output_dir}")
    return 0

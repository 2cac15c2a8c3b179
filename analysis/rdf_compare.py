#!/usr/bin/env python
"""Compare g(r) of two runs (e.g. the same protocol with two potentials) in one figure.

    python analysis/rdf_compare.py RUN_A RUN_B [--labels "SNAP" "ACE"] [--start-ps 5] [-o rdf_compare.png]

RUN_A/RUN_B are run directories holding trajectory.h5md, or .h5md files. Writes
the figure plus a CSV (r_A and each run's partial g(r)) next to it and prints
the first-peak positions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import label_of, run_recipe, trajectory_of  # noqa: E402

from simkit.analysis import run_analysis  # noqa: E402
from simkit.analysis.options import RdfOptions  # noqa: E402
from simkit.analysis.output import new_figure, save_figure, write_csv  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs=2, help="two run directories or .h5md files")
    parser.add_argument("--labels", nargs=2, help="legend labels (default: the run names)")
    parser.add_argument("--start-ps", type=float, help="ignore frames before this time (equilibration), ps")
    parser.add_argument("--r-max-A", type=float, default=8.0, help="largest distance, Å (default 8)")
    parser.add_argument("--bin-width-A", type=float, default=0.05, help="bin width, Å (default 0.05)")
    parser.add_argument("-o", "--output", type=Path, default=Path("rdf_compare.png"), help="figure path (PNG)")
    args = parser.parse_args(argv)

    trajectories = [trajectory_of(run) for run in args.runs]
    options = RdfOptions(r_max_A=args.r_max_A, bin_width_A=args.bin_width_A, start_ps=args.start_ps)
    labels = args.labels or [label_of(run) for run in args.runs]
    results = [run_analysis(path, "rdf", options, progress=False)[0] for path in trajectories]
    pairs = [key for key in results[0].g if key in results[1].g]
    if not pairs:
        parser.error("the two runs share no species pair")

    figure = new_figure(6.4, 2.4 * len(pairs) + 0.6)
    axes = figure.subplots(len(pairs), 1, sharex=True, squeeze=False)[:, 0]
    columns = {"r_A": results[0].r_A}
    for axis, pair in zip(axes, pairs):
        for label, result, style in zip(labels, results, ("-", "--")):
            axis.plot(result.r_A, result.g[pair], style, label=label)
            columns[f"g_{pair}_{label}"] = np.interp(results[0].r_A, result.r_A, result.g[pair])
        axis.set_ylabel(f"g(r) {pair}")
        axis.legend(fontsize="small")
    axes[-1].set_xlabel("r (Å)")
    save_figure(figure, args.output)
    write_csv(args.output.with_suffix(".csv"), columns)
    for label, result in zip(labels, results):
        peaks = ", ".join(f"{pair} {result.first_peak_A(pair):.3f} Å" for pair in pairs)
        print(f"{label}: {result.frames} frames; first peaks {peaks}")
    print(f"wrote {args.output} and {args.output.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))

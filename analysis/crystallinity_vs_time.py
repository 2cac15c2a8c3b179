#!/usr/bin/env python
"""Crystalline fraction against time for a run, overall and per slab (a melting or growth front).

    python analysis/crystallinity_vs_time.py RUN --reference-lattice "fcc Cu 3.615" [--slabs 8] [-o out.png]
    python analysis/crystallinity_vs_time.py RUN --method bond_order --q-cutoff-A 3.35

RUN is a run directory holding trajectory.h5md, or an .h5md file. Writes the
figure, a CSV of the fractions and an HDF5 file with per-atom scores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_recipe, trajectory_of  # noqa: E402

from simkit.analysis import run_analysis  # noqa: E402
from simkit.analysis.options import CrystallinityOptions  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run directory or .h5md file")
    parser.add_argument("--method", choices=("soap", "bond_order"), default="soap")
    parser.add_argument("--reference-lattice", help="e.g. 'fcc Cu 3.615' (soap needs this or --reference-file)")
    parser.add_argument("--reference-file", type=Path, help="reference crystal in any format ASE reads")
    parser.add_argument("--threshold", type=float, default=0.57, help="SOAP similarity threshold (default 0.57)")
    parser.add_argument("--q-cutoff-A", type=float, help="bond_order neighbour cutoff, Å")
    parser.add_argument("--slabs", type=int, default=8, help="slabs along --axis (default 8)")
    parser.add_argument("--axis", type=int, default=2, choices=(0, 1, 2), help="cell vector of the slabs")
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    parser.add_argument("-o", "--output", type=Path, default=Path("crystallinity_vs_time.png"), help="figure (PNG)")
    args = parser.parse_args(argv)

    trajectory = trajectory_of(args.run)
    options = CrystallinityOptions(
        method=args.method, reference_lattice=args.reference_lattice,
        reference_file=args.reference_file.resolve() if args.reference_file else None, threshold=args.threshold,
        q_cutoff_A=args.q_cutoff_A, slabs=args.slabs, slab_axis=args.axis, stride=args.stride,
    )
    result, _ = run_analysis(trajectory, "crystallinity", options, progress=True)
    outputs = result.write(args.output.parent, stem=args.output.stem)
    print(f"{len(result.steps)} frames, crystalline fraction {result.fraction[0]:.3f} -> {result.fraction[-1]:.3f}")
    print("wrote " + ", ".join(str(p) for p in outputs.values()))
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))

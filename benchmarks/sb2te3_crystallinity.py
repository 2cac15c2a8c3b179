#!/usr/bin/env python
"""Does the SOAP criterion separate the teacher's Sb2Te3 crystal from its glass? Prints a Markdown report.

    .venv/bin/python benchmarks/sb2te3_crystallinity.py runs/demo > benchmarks/results/sb2te3_crystallinity.md

Reads the demo's distilled data (``01-data/dataset.extxyz`` and the distil
config in ``configs/distil.yaml``): the crystal MD snapshots (the teacher at
300 and 600 K, config_type ``crystal`` with a temperature) and the
melt-quenched glass (config_type ``amorphous``, below 400 K). The reference is
the crystal the cells started from (the distil run's base structure, with its
own random vacancies), as in the demo's cycle. For each SOAP kernel exponent
zeta: the crystalline fraction of each set at threshold 0.57, the share of
crystal atoms below and glass atoms above it, and the overlap of the two score
distributions (the integral of the smaller of the two normalised histograms:
0 = fully separated, 1 = identical). The bond-order count simkit md computes
on the fly (q4 solid bonds, cutoff 3.6 Å, >= 3 solid bonds) is given beside.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.io import read

from simkit.analysis.crystallinity import CrystallinityModel
from simkit.analysis.options import CrystallinityOptions
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.bench.machine import summary_line
from simkit.config import load_config
from simkit.distil.config import DistilConfig
from simkit.distil.runner import base_structure

THRESHOLD = 0.57
ON_THE_FLY = BondOrderCriterion(cutoff_A=3.6, degree=4, neighbours=None, bond_threshold=0.7, min_solid_bonds=3)


def _sets(dataset: Path) -> dict[str, list]:
    frames = read(dataset, index=":", parallel=False)
    sets: dict[str, list] = {"crystal 300 K": [], "crystal 600 K": [], "glass (<= 400 K)": []}
    for atoms in frames:
        kind, temperature = atoms.info.get("config_type"), atoms.info.get("temperature_K")
        if kind == "crystal" and temperature is not None:
            sets[f"crystal {round(float(temperature))} K"] = sets.get(f"crystal {round(float(temperature))} K", [])
            sets[f"crystal {round(float(temperature))} K"].append(atoms)
        elif kind == "amorphous" and temperature is not None and float(temperature) <= 400.0:
            sets["glass (<= 400 K)"].append(atoms)
    return {k: v for k, v in sets.items() if v}


def _scores(model: CrystallinityModel, frames: list) -> np.ndarray:
    return np.concatenate([model.per_atom(a.positions, np.array(a.cell), a.pbc, a.numbers)[0] for a in frames])


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    bins = np.linspace(0.0, 1.0, 51)
    pa, _ = np.histogram(a, bins, density=True)
    pb, _ = np.histogram(b, bins, density=True)
    return float(np.sum(np.minimum(pa, pb)) * (bins[1] - bins[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("demo_dir", type=Path)
    parser.add_argument("--zeta", type=float, nargs="+", default=[2.0, 4.0, 8.0, 16.0])
    args = parser.parse_args()
    config = load_config(DistilConfig, args.demo_dir / "configs" / "distil.yaml")
    reference = base_structure(config)
    sets = _sets(args.demo_dir / "01-data" / "dataset.extxyz")
    print("# SOAP crystallinity of the Sb2Te3 teacher's crystal and glass\n")
    print(f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`  \nMachine: {summary_line()}  \n"
          f"Reference: the distil run's starting cell ({len(reference)} atoms, "
          f"{reference.get_chemical_formula()}); threshold {THRESHOLD}; frames: "
          + ", ".join(f"{k}: {len(v)} ({sum(len(a) for a in v)} atoms)" for k, v in sets.items()) + "\n")
    glass = "glass (<= 400 K)"
    print("| zeta | " + " | ".join(f"fraction {k}" for k in sets) + " | crystal atoms below (600 K) "
          "| glass atoms above | overlap of distributions (600 K vs glass) |")
    print("|---" * (len(sets) + 4) + "|")
    reference_file = Path(tempfile.mkdtemp()) / "reference.extxyz"
    reference.write(reference_file, parallel=False)
    for zeta in args.zeta:
        options = CrystallinityOptions(method="soap", soap_zeta=zeta, threshold=THRESHOLD, reference_file=reference_file)
        model = CrystallinityModel(options, reference.numbers, reference=reference)
        scores = {k: _scores(model, v) for k, v in sets.items()}
        hot = scores.get("crystal 600 K", next(iter(scores.values())))
        fractions = " | ".join(f"{np.mean(s > THRESHOLD):.3f}" for s in scores.values())
        print(f"| {zeta:g} | {fractions} | {np.mean(hot <= THRESHOLD):.3f} | "
              f"{np.mean(scores[glass] > THRESHOLD):.3f} | {_overlap(hot, scores[glass]):.3f} |")
    bonds = {k: np.concatenate([bond_order(a.positions, np.array(a.cell), a.pbc, ON_THE_FLY).crystal_like
                                for a in v]) for k, v in sets.items()}
    print(f"\nOn-the-fly criterion of the cycle (q{ON_THE_FLY.degree} solid bonds, cutoff {ON_THE_FLY.cutoff_A} Å, "
          f">= {ON_THE_FLY.min_solid_bonds} bonds): " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in bonds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

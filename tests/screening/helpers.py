"""Potentials and cells shared by the screening tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase.build import bulk

from simkit.lammps.potentials import SnapPotential
from simkit.lammps.potentials.snap import read_snap, write_snap_files
from simkit.runtime.paths import lammps_potentials_dir


def si_cell():
    """The 8-atom cubic diamond cell (replicated by the screens as needed)."""
    return bulk("Si", "diamond", 5.431, cubic=True)


def si_snap() -> SnapPotential:
    d = lammps_potentials_dir()
    return SnapPotential(d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")


def scrambled_si_snap(directory: Path, seed: int = 1) -> SnapPotential:
    """The shipped Si SNAP with its bispectrum coefficients shuffled: a deliberately broken potential."""
    d = lammps_potentials_dir()
    model = read_snap(d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")
    coefficients = model.elements[0].coefficients
    coefficients[1:] = np.random.default_rng(seed).permutation(coefficients[1:])
    coeff, param = Path(directory) / "scrambled.snapcoeff", Path(directory) / "scrambled.snapparam"
    write_snap_files(model, coeff, param, header="Si_Zuo_JPCA2020 with shuffled coefficients (broken on purpose)")
    return SnapPotential(coeff, param)


class CrashingPotential:
    """Delegates to a real potential but kills the process that installs it (a stand-in for a segfault)."""

    kind = "crashing"

    def __init__(self, inner):
        self.inner = inner

    @property
    def elements(self):
        return self.inner.elements

    @property
    def cutoff_A(self):
        return self.inner.cutoff_A

    def pair_style(self, species):
        os._exit(86)

    def files(self):
        return self.inner.files()

    def describe(self):
        return {"kind": self.kind, "inner": self.inner.describe()}

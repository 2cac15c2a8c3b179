"""Built-in crystals that ``ase.build.bulk`` cannot make, and random vacancies on a sublattice.

Phase-change materials crystallise from the melt into metastable cubic phases
with a disordered sublattice, and their stable phases have layered cells with
several Wyckoff sites. Both enter configs by name::

    structure: {builtin: {name: Sb2Te3-rocksalt, a_A: 6.2}, repeat: [3, 3, 3]}
    structure: {builtin: {name: Sb2Te3-R-3m}}

* ``Sb2Te3-rocksalt``: the "rocksalt-like" phase that melt-quenched Sb2Te3
  crystallises into: a rocksalt lattice (conventional cubic cell, 4 anion and
  4 cation sites) with Te on the anion sites and Sb on two thirds of the cation
  sites, the other third vacant. The vacancies are placed at random (seeded)
  *after* the cell is repeated or cut into a device, so they are disordered
  over the whole cell rather than repeating with the unit cell.
* ``Sb2Te3-R-3m``: the stable trigonal phase, space group 166 (hexagonal
  setting), a = 4.264 Å, c = 30.458 Å, Te1 3a (0, 0, 0), Sb 6c (0, 0, 0.3988),
  Te2 6c (0, 0, 0.7872): 15 atoms, three Te-Sb-Te-Sb-Te quintuple layers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal
from pydantic import Field

from simkit.config.schema import Schema

# Sb2Te3, R-3m (166), hexagonal setting: lattice (Å) and Wyckoff positions as stated above.
_SB2TE3_TRIGONAL = {"a_A": 4.264, "c_A": 30.458,
                    "sites": (("Te", (0.0, 0.0, 0.0)), ("Sb", (0.0, 0.0, 0.3988)), ("Te", (0.0, 0.0, 0.7872)))}
# Fraction of cation sites left empty in rocksalt-like Sb2Te3: 3 Te per 2 Sb on equal site counts.
_SB2TE3_CATION_VACANCIES = 1.0 / 3.0


class BuiltinCrystal(Schema):
    """A named crystal; ``a_A`` overrides the cubic lattice parameter of ``Sb2Te3-rocksalt``."""

    name: Literal["Sb2Te3-rocksalt", "Sb2Te3-R-3m"]
    a_A: float | None = Field(default=None, gt=0, description="cubic lattice parameter (Å); rocksalt only")


def build_builtin(spec: BuiltinCrystal) -> Atoms:
    """The ordered cell of a built-in crystal (vacancies come later, see :func:`sublattice_vacancies`)."""
    if spec.name == "Sb2Te3-rocksalt":
        # ase writes "SbTe" rocksalt as Sb on (0,0,0) and Te on (1/2,0,0): cation and anion sublattices.
        return bulk("SbTe", "rocksalt", a=spec.a_A or 6.2, cubic=True)
    if spec.a_A is not None:
        raise ValueError(f"{spec.name}: a_A applies to Sb2Te3-rocksalt only; use a file for another lattice")
    data = _SB2TE3_TRIGONAL
    symbols = [s for s, _ in data["sites"]]
    positions = [p for _, p in data["sites"]]
    return crystal(symbols, positions, spacegroup=166, cellpar=[data["a_A"], data["a_A"], data["c_A"], 90, 90, 120])


def sublattice_vacancies(spec: BuiltinCrystal | None) -> dict[str, float]:
    """Vacancy fractions per element a built-in crystal needs (empty for ordered ones)."""
    if spec is not None and spec.name == "Sb2Te3-rocksalt":
        return {"Sb": _SB2TE3_CATION_VACANCIES}
    return {}


def remove_random_sites(atoms: Atoms, fractions: dict[str, float], rng: np.random.Generator | None) -> Atoms:
    """Empty ``round(fraction x count)`` randomly chosen sites of each element; returns a new Atoms.

    The choice depends only on ``rng``, so a seeded run builds the same cell every time.
    """
    if not fractions:
        return atoms
    if rng is None:
        raise ValueError("random vacancies need a random generator (pass the run's seeded Generator)")
    symbols = np.array(atoms.get_chemical_symbols())
    doomed: list[int] = []
    for element, fraction in sorted(fractions.items()):
        sites = np.flatnonzero(symbols == element)
        if len(sites) == 0:
            raise ValueError(f"vacancies: the structure has no {element} sites")
        count = int(round(fraction * len(sites)))
        if count >= len(sites):
            raise ValueError(f"vacancies: removing {count} of {len(sites)} {element} sites leaves none")
        doomed += rng.choice(sites, size=count, replace=False).tolist()
    out = atoms.copy()
    del out[sorted(doomed)]
    return out

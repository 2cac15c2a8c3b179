"""Point defects and surfaces in the relaxed crystal, at constant volume.

Formation energies follow the usual supercell definition at the perfect
crystal's volume, atoms relaxed, cell fixed (Varvenne et al., Phys. Rev. B 88,
134102 (2013) discuss the finite-size error; the supercell is stated with every
result so a user can converge it):

* vacancy: E_f = E(N - 1) - (N - 1)/N E(N), also unrelaxed;
* self-interstitial: E_f = E(N + 1) - (N + 1)/N E(N), the extra atom either a
  dumbbell (two atoms sharing the site of atom 0 along a direction, half a
  nearest-neighbour distance apart) or at a fractional position of the
  crystal's cell given by the user;
* surface: gamma = (E_slab - N E_bulk per atom) / (2 A), a slab of the relaxed
  crystal cut by ``ase.build.surface`` (Miller indices of the cell given),
  vacuum on both sides, atoms relaxed, in J/m^2.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import surface
from ase.geometry import get_distances

from simkit.errors import ConfigError
from simkit.units import J_PER_M2_PER_EV_PER_A2
from simkit.validation.engine import Engine


def supercell(relaxed_unit: Atoms, repeat: tuple[int, int, int]) -> Atoms:
    return relaxed_unit.repeat(repeat)


def vacancy(engine: Engine, relaxed_unit: Atoms, repeat: tuple[int, int, int]) -> dict:
    perfect = supercell(relaxed_unit, repeat)
    n = len(perfect)
    e_perfect = engine.evaluate(perfect, label="vacancy reference supercell").energy_eV
    defective = perfect.copy()
    del defective[0]
    unrelaxed = engine.evaluate(defective, label="vacancy supercell").energy_eV
    relaxed = engine.relax_atoms(defective, label="vacancy supercell").energy_eV
    return {
        "vacancy_formation_eV": relaxed - (n - 1) / n * e_perfect,
        "vacancy_formation_unrelaxed_eV": unrelaxed - (n - 1) / n * e_perfect,
        "vacancy_supercell_atoms": n,
    }


def nearest_neighbour_A(atoms: Atoms) -> float:
    _, distances = get_distances(atoms.positions[:1], atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    return float(np.sort(distances[0])[1])


def interstitial(engine: Engine, relaxed_unit: Atoms, repeat: tuple[int, int, int], *,
                 dumbbell: tuple[float, float, float] | None, site_frac: tuple[float, float, float] | None,
                 label: str) -> dict:
    perfect = supercell(relaxed_unit, repeat)
    n = len(perfect)
    e_perfect = engine.evaluate(perfect, label="interstitial reference supercell").energy_eV
    defective = perfect.copy()
    symbol = perfect.get_chemical_symbols()[0]
    if dumbbell is not None:
        direction = np.asarray(dumbbell, dtype=float)
        direction /= np.linalg.norm(direction)
        half = 0.25 * nearest_neighbour_A(relaxed_unit.repeat(2)) * direction
        site = defective.positions[0].copy()
        defective.positions[0] = site - half
        defective += Atoms(symbol, positions=[site + half])
    else:
        position = np.asarray(site_frac, dtype=float) @ np.asarray(relaxed_unit.cell)
        closest = np.min(get_distances(position[None], perfect.positions, cell=perfect.cell, pbc=True)[1])
        if closest < 0.5:
            raise ConfigError(f"properties.interstitials.{label}.site_frac {list(site_frac)} is {closest:.2f} Å "
                              "from a lattice atom: not an interstitial site")
        defective += Atoms(symbol, positions=[position])
    state = engine.relax_atoms(defective, label=f"interstitial {label}")
    return {f"interstitial_{label}_formation_eV": state.energy_eV - (n + 1) / n * e_perfect,
            f"interstitial_{label}_supercell_atoms": n + 1}


def surface_energy(engine: Engine, relaxed_unit: Atoms, bulk_energy_per_atom_eV: float,
                   miller: tuple[int, int, int], layers: int, vacuum_A: float) -> dict:
    slab = surface(relaxed_unit, tuple(miller), layers, vacuum=vacuum_A / 2.0, periodic=True)
    # ase.build.surface leaves the normal along z with vacuum/2 on both sides; periodic=True keeps the
    # cell periodic so the slab sees itself across the vacuum only beyond any cutoff simkit allows.
    cell = np.asarray(slab.cell)
    area = float(np.linalg.norm(np.cross(cell[0], cell[1])))
    state = engine.relax_atoms(slab, label=f"surface {''.join(map(str, miller))}")
    gamma = (state.energy_eV - len(slab) * bulk_energy_per_atom_eV) / (2.0 * area)
    name = "".join(str(i) for i in miller).replace("-", "m")
    return {f"surface_{name}_J_per_m2": gamma * J_PER_M2_PER_EV_PER_A2, f"surface_{name}_slab_atoms": len(slab)}


def planar_defect_energy(engine: Engine, structure: Atoms, bulk_energy_per_atom_eV: float, bulk_symbols: set[str],
                         *, name: str, normal_axis: int, interfaces: int, relax_cell_normal: bool) -> dict:
    """Energy per area of the planar defects in ``structure`` (a periodic cell), in J/m^2."""
    present = set(structure.get_chemical_symbols())
    if len(bulk_symbols) != 1 or present != bulk_symbols:
        raise ConfigError(f"properties.planar_defects.{name}: the structure holds {sorted(present)} and the crystal "
                          f"{sorted(bulk_symbols)}; defect energies against one bulk energy per atom need one "
                          "element (compounds need chemical potentials)")
    if not all(structure.pbc):
        raise ConfigError(f"properties.planar_defects.{name}: the cell must be periodic along all three axes")
    cell = np.asarray(structure.cell)
    others = [i for i in range(3) if i != normal_axis]
    area = float(np.linalg.norm(np.cross(cell[others[0]], cell[others[1]])))
    if relax_cell_normal:
        state = engine.relax_cell(structure, label=f"planar defect {name}", normal_only=True)
    else:
        state = engine.relax_atoms(structure, label=f"planar defect {name}")
    gamma = (state.energy_eV - len(structure) * bulk_energy_per_atom_eV) / (interfaces * area)
    return {f"planar_{name}_J_per_m2": gamma * J_PER_M2_PER_EV_PER_A2, f"planar_{name}_atoms": len(structure)}

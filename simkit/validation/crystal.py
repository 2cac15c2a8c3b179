"""Crystal properties: equilibrium cell, equation of state, elastic constants.

* Equilibrium: atoms and cell lengths relaxed to zero pressure (``box/relax
  aniso``); the lattice parameters are the relaxed cell's lengths divided by
  the repeat of the cell given.
* EOS: the relaxed cell scaled isotropically to volumes V0 (1 + s), s evenly
  spaced over +-``volume_range``, atoms relaxed at each volume (so crystals
  with internal degrees of freedom get the relaxed EOS), fitted by the
  third-order Birch-Murnaghan form (Birch, Phys. Rev. 71, 809 (1947)):
  E(V) = E0 + 9 V0 B0 / 16 {[(V0/V)^(2/3) - 1]^3 B0' + [(V0/V)^(2/3) - 1]^2 [6 - 4 (V0/V)^(2/3)]}.
* Elastic constants: C_ij = d sigma_i / d epsilon_j by central differences of
  the stress under +- ``strain`` of each of the six Voigt strains (shear as
  engineering strain, epsilon_4 = 2 e_yz), atoms relaxed in every strained cell
  (relaxed-ion constants). The residual stress of the relaxed cell cancels in
  the central difference. The same is done at half the strain; the constants
  reported are the Richardson extrapolation (4 C(s/2) - C(s)) / 3, which removes
  the O(s^2) error, and the largest change between the two amplitudes is
  reported as the strain amplitude's effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from scipy.optimize import least_squares

from simkit.errors import RunFailed
from simkit.units import BAR_PER_EV_PER_A3, BAR_PER_GPA
from simkit.validation.engine import Engine, State

GPA_PER_EV_PER_A3 = BAR_PER_EV_PER_A3 / BAR_PER_GPA
_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
# C_ij below this fraction of the largest are zero (by symmetry) within the finite differences' round-off.
SYMMETRY_ZERO = 1e-6


def equilibrium(engine: Engine, atoms: Atoms, repeat: tuple[int, int, int]) -> tuple[State, dict]:
    """The zero-pressure cell and its quantities (lattice lengths per repeat, energy and volume per atom)."""
    state = engine.relax_cell(atoms, label="crystal")
    lengths = state.atoms.cell.lengths() / np.asarray(repeat, dtype=float)
    quantities = {
        "a_A": float(lengths[0]), "b_A": float(lengths[1]), "c_A": float(lengths[2]),
        "energy_per_atom_eV": state.energy_per_atom_eV,
        "volume_per_atom_A3": float(state.atoms.get_volume() / len(state.atoms)),
    }
    return state, quantities


def birch_murnaghan_eV(volume: np.ndarray, e0: float, v0: float, b0: float, b0_prime: float) -> np.ndarray:
    """Third-order Birch-Murnaghan energy (eV) at ``volume`` (same unit as ``v0``; ``b0`` in eV per that unit)."""
    x = (v0 / np.asarray(volume, dtype=float)) ** (2.0 / 3.0) - 1.0
    return e0 + 9.0 * v0 * b0 / 16.0 * (x**3 * b0_prime + x**2 * (6.0 - 4.0 * (x + 1.0)))


@dataclass(frozen=True)
class EosFit:
    e0_eV: float
    v0_A3: float
    b0_GPa: float
    b0_prime: float
    rms_meV: float


def fit_birch_murnaghan(volumes_A3: np.ndarray, energies_eV: np.ndarray) -> EosFit:
    """Least-squares Birch-Murnaghan fit; starts from a parabola through the points."""
    v, e = np.asarray(volumes_A3, float), np.asarray(energies_eV, float)
    if len(v) < 5:
        raise ValueError("an EOS fit needs at least 5 volumes")
    a, b, c = np.polyfit(v, e, 2)
    v0 = -b / (2 * a) if a > 0 else v[np.argmin(e)]
    guess = (float(e.min()), float(v0), float(max(2 * a * v0, 1e-4)), 4.0)

    def residual(p):
        return birch_murnaghan_eV(v, *p) - e

    scale = (abs(guess[0]) + 1.0, v0, guess[2], 4.0)
    fit = least_squares(residual, guess, x_scale=scale, xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    if not fit.success or fit.x[2] <= 0:
        raise RunFailed(f"the Birch-Murnaghan fit failed ({fit.message}); energies: {np.round(e, 6).tolist()}")
    e0, v0, b0, b0p = fit.x
    rms = float(np.sqrt(np.mean(fit.fun**2)) * 1e3)
    return EosFit(float(e0), float(v0), float(b0 * GPA_PER_EV_PER_A3), float(b0p), rms)


def equation_of_state(engine: Engine, relaxed: Atoms, volume_range: float, points: int) -> tuple[dict, dict]:
    """(quantities, curve) of the EOS around the relaxed cell; energies and volumes per atom."""
    natoms = len(relaxed)
    scales = np.linspace(-volume_range, volume_range, points)
    volumes, energies = [], []
    for s in scales:
        atoms = relaxed.copy()
        atoms.set_cell(relaxed.cell * (1.0 + s) ** (1.0 / 3.0), scale_atoms=True)
        state = engine.relax_atoms(atoms, label=f"EOS volume {1 + s:.3f} V0")
        volumes.append(atoms.get_volume() / natoms)
        energies.append(state.energy_per_atom_eV)
    fit = fit_birch_murnaghan(np.array(volumes), np.array(energies))
    quantities = {"B0_GPa": fit.b0_GPa, "B0_prime": fit.b0_prime, "V0_A3_per_atom": fit.v0_A3,
                  "E0_eV_per_atom": fit.e0_eV, "eos_fit_rms_meV_per_atom": fit.rms_meV}
    return quantities, {"volume_A3_per_atom": volumes, "energy_eV_per_atom": energies}


def strain_tensor(voigt_index: int, amount: float) -> np.ndarray:
    """The symmetric strain of Voigt component ``voigt_index`` (0-5); shear components as engineering strain."""
    i, j = _VOIGT[voigt_index]
    strain = np.zeros((3, 3))
    if i == j:
        strain[i, i] = amount
    else:
        strain[i, j] = strain[j, i] = amount / 2.0
    return strain


def strained(atoms: Atoms, strain: np.ndarray) -> Atoms:
    """``atoms`` deformed by the homogeneous strain (cell rows and positions mapped by 1 + strain)."""
    out = atoms.copy()
    deformation = np.eye(3) + strain
    out.set_cell(np.asarray(atoms.cell) @ deformation.T, scale_atoms=True)
    return out


def elastic_matrix_GPa(engine: Engine, relaxed: Atoms, strain: float) -> np.ndarray:
    """The 6 x 6 relaxed-ion stiffness (GPa, Voigt order xx yy zz yz xz xy) by central stress differences."""
    matrix = np.zeros((6, 6))
    for j in range(6):
        sigma = []
        for sign in (1.0, -1.0):
            state = engine.relax_atoms(strained(relaxed, strain_tensor(j, sign * strain)),
                                       label=f"strain {j + 1} of {sign * strain:+g}")
            sigma.append(np.array([state.stress_GPa[a, b] for a, b in _VOIGT]))
        matrix[:, j] = (sigma[0] - sigma[1]) / (2.0 * strain)
    return matrix


def elastic_constants(engine: Engine, relaxed: Atoms, strain: float) -> tuple[dict, dict]:
    """(quantities, full matrices): C_ij for i <= j, the Voigt bulk and shear moduli, the amplitude effect."""
    full = elastic_matrix_GPa(engine, relaxed, strain)
    half = elastic_matrix_GPa(engine, relaxed, strain / 2.0)
    # The central difference errs by O(strain^2) (higher-order elastic constants, and Cauchy stress
    # against the strain measure): Richardson's combination of the two amplitudes removes that term.
    extrapolated = (4.0 * half - full) / 3.0
    c = 0.5 * (extrapolated + extrapolated.T)  # a tiny asymmetry is numerical noise
    # Components zero by the crystal's symmetry come out at round-off (1e-12 GPa): listed as
    # quantities they would read as results; the full matrix is kept with the curves.
    significant = np.abs(c) > SYMMETRY_ZERO * np.abs(c).max()
    quantities = {f"C{i + 1}{j + 1}_GPa": float(c[i, j]) for i in range(6) for j in range(i, 6) if significant[i, j]}
    quantities["bulk_modulus_voigt_GPa"] = float((c[0, 0] + c[1, 1] + c[2, 2] + 2 * (c[0, 1] + c[0, 2] + c[1, 2])) / 9)
    quantities["shear_modulus_voigt_GPa"] = float(
        (c[0, 0] + c[1, 1] + c[2, 2] - c[0, 1] - c[0, 2] - c[1, 2] + 3 * (c[3, 3] + c[4, 4] + c[5, 5])) / 15)
    quantities["elastic_strain_effect_GPa"] = float(np.abs(full - half).max())
    return quantities, {"strain": strain, "C_GPa": c.tolist(), "C_at_strain_GPa": full.tolist(),
                        "C_at_half_strain_GPa": half.tolist()}

"""Electronic stopping tables for LAMMPS's ``fix electron/stopping``.

A fast atom in a solid loses energy to the electrons as well as to the nuclei;
``fix electron/stopping`` applies that loss as a friction force -S_e v/|v| on
every atom faster than a cut-off energy, with S_e (eV/Å in metal units) read
from a table of energy against stopping power, one column per atom type.

The built-in model is the Lindhard-Scharff low-velocity stopping,
S_e = k sqrt(E), which holds while the ion is slower than its own orbital
electrons (v < v_0 Z1^(2/3), v_0 the Bohr velocity): up to about
25 keV/amu * Z1^(4/3), i.e. for cascade energies of all but the lightest ions.
A compound target adds the cross-sections of its elements by atom fraction
(Bragg's rule). Measured or SRIM-computed tables can be read instead
(:func:`read_stopping_table`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from simkit import __version__
from simkit.errors import ConfigError, InputDataError
from simkit.runtime.files import atomic_write_text
from simkit.units import BOHR_VELOCITY_ENERGY_EV_PER_AMU

# k = LINDHARD_SCHARFF_CONSTANT * Z1^(7/6) Z2 / ((Z1^(2/3) + Z2^(2/3))^(3/2) sqrt(M1)) in eV^(1/2) Å^2
# (E in eV, M1 in amu). It is 8 pi e^2 a_0 / v_0 * sqrt(2/amu) in these units: 1.216 with CODATA
# 2018 constants; 1.212, the value quoted since the 1970s (older constants), is kept here so tables
# agree with the binary-collision codes that use it.
LINDHARD_SCHARFF_CONSTANT = 1.212

# Default energy grid for fix electron/stopping tables.
GRID_LOWEST_EV = 1.0
GRID_HEADROOM = 2.0
GRID_POINTS_PER_DECADE = 20


def lindhard_scharff_k(z_ion: int, mass_ion_amu: float, z_target: int) -> float:
    """Lindhard-Scharff electronic stopping cross-section coefficient k (eV^(1/2) Å^2).

    S_e(E) = k sqrt(E) is the stopping cross-section (eV Å^2) of an ion of
    charge ``z_ion`` and mass ``mass_ion_amu`` moving with energy E (eV) through
    atoms of charge ``z_target``;

        k = 1.212 Z1^(7/6) Z2 / ((Z1^(2/3) + Z2^(2/3))^(3/2) sqrt(M1)).

    J. Lindhard and M. Scharff, Phys. Rev. 124, 128 (1961), with the
    velocity-proportional factor xi_e = Z1^(1/6) and the constant in eV/Å units.
    The stopping power is dE/dx = N S_e with N the number density (Å^-3).
    """
    if z_ion < 1 or z_target < 1:
        raise ValueError(f"nuclear charges must be positive integers, got {z_ion}, {z_target}")
    if not mass_ion_amu > 0:
        raise ValueError(f"ion mass must be positive, got {mass_ion_amu}")
    screening = (z_ion ** (2 / 3) + z_target ** (2 / 3)) ** 1.5
    return LINDHARD_SCHARFF_CONSTANT * z_ion ** (7 / 6) * z_target / (screening * math.sqrt(mass_ion_amu))


def lindhard_scharff_max_energy_eV(z_ion: int, mass_ion_amu: float) -> float:
    """Highest energy (eV) at which Lindhard-Scharff stopping holds: v = v_0 Z1^(2/3)."""
    return BOHR_VELOCITY_ENERGY_EV_PER_AMU * mass_ion_amu * z_ion ** (4 / 3)


def _element(name: str, what: str) -> tuple[int, float]:
    if name not in atomic_numbers:
        raise ConfigError(f"{what}: {name!r} is not an element (electronic stopping needs a nuclear charge)")
    z = atomic_numbers[name]
    return z, float(atomic_masses[z])


def _atom_fractions(composition: Mapping[str, float]) -> dict[str, float]:
    """Atom fractions from fractions or counts (normalised to sum to 1)."""
    if not composition:
        raise ConfigError("composition: empty; give the target's elements with atom fractions or counts")
    for name, amount in composition.items():
        _element(name, "composition")
        if not (math.isfinite(amount) and amount > 0):
            raise ConfigError(f"composition.{name}: atom fraction must be a positive number, got {amount}")
    total = sum(composition.values())
    return {name: amount / total for name, amount in composition.items()}


def stopping_power_table(
    species: Sequence[str],
    composition: Mapping[str, float],
    number_density_per_A3: float,
    energies_eV: np.ndarray,
) -> np.ndarray:
    """Lindhard-Scharff stopping power dE/dx (eV/Å), shape (n_energies, n_species).

    Column j is an ion of ``species[j]`` (the LAMMPS type order) moving through
    the target of ``composition`` (element -> atom fraction or count,
    normalised) at ``number_density_per_A3`` atoms per Å^3:
    dE/dx = N sum_i x_i k(Z_j, M_j, Z_i) sqrt(E) (Bragg's additivity).
    Energies above a species' Lindhard-Scharff limit
    (:func:`lindhard_scharff_max_energy_eV`) are refused: supply a measured
    table there instead.
    """
    if not species:
        raise ConfigError("species: empty; give the element of each LAMMPS atom type")
    if not (math.isfinite(number_density_per_A3) and number_density_per_A3 > 0):
        raise ConfigError(f"number_density_per_A3 must be a positive number, got {number_density_per_A3}")
    energies = np.asarray(energies_eV, dtype=float)
    if energies.ndim != 1 or len(energies) == 0 or not np.all(np.isfinite(energies)) or np.any(energies <= 0):
        raise ConfigError("energies_eV must be a non-empty list of positive, finite energies")
    fractions = _atom_fractions(composition)
    columns = []
    for name in species:
        z_ion, mass = _element(name, "species")
        limit = lindhard_scharff_max_energy_eV(z_ion, mass)
        if energies.max() > limit:
            raise ConfigError(
                f"species {name}: Lindhard-Scharff stopping holds up to {limit:.4g} eV (ion velocity "
                f"v_0 Z^(2/3)), the grid reaches {energies.max():.4g} eV; give a measured stopping table"
            )
        k = sum(x * lindhard_scharff_k(z_ion, mass, _element(target, "composition")[0])
                for target, x in fractions.items())
        columns.append(number_density_per_A3 * k * np.sqrt(energies))
    return np.column_stack(columns)


def stopping_fix_energy_grid(
    max_energy_eV: float,
    *,
    lowest_eV: float = GRID_LOWEST_EV,
    headroom: float = GRID_HEADROOM,
    points_per_decade: int = GRID_POINTS_PER_DECADE,
) -> np.ndarray:
    """Log-spaced energies (eV) for a stopping table, from ``lowest_eV`` to ``headroom`` x ``max_energy_eV``.

    LAMMPS applies no stopping below the table's first energy and stops with an
    error when an atom is faster than its last, so the grid starts at 1 eV
    (below any sensible ``Ecut``) and ends at twice the PKA energy by default.
    """
    if not (math.isfinite(max_energy_eV) and max_energy_eV > 0):
        raise ConfigError(f"max_energy_eV must be a positive number, got {max_energy_eV}")
    if not 0 < lowest_eV < max_energy_eV:
        raise ConfigError(f"lowest_eV must lie between 0 and max_energy_eV ({max_energy_eV:g}), got {lowest_eV}")
    if headroom < 1:
        raise ConfigError(f"headroom must be at least 1, got {headroom}")
    if points_per_decade < 1:
        raise ConfigError(f"points_per_decade must be at least 1, got {points_per_decade}")
    highest = headroom * max_energy_eV
    points = math.ceil(math.log10(highest / lowest_eV) * points_per_decade) + 1
    return np.geomspace(lowest_eV, highest, max(points, 2))


def _check_table(energies: np.ndarray, table: np.ndarray, where: str, lines: Sequence[int] | None = None) -> None:
    """Refuse a table LAMMPS would misread: ``where`` names the file, ``lines`` its line numbers per row."""

    def at(row: int) -> str:
        return f"{where}:{lines[row]}" if lines is not None else f"{where} row {row + 1}"

    if len(energies) < 2:
        raise InputDataError(f"{where}: a stopping table needs at least two energies, got {len(energies)}")
    for row in range(len(energies)):
        if not (np.isfinite(energies[row]) and np.all(np.isfinite(table[row]))):
            raise InputDataError(f"{at(row)}: non-finite value")
        if energies[row] <= 0:
            raise InputDataError(f"{at(row)}: energy must be positive, got {energies[row]:g} eV")
        if row and energies[row] <= energies[row - 1]:
            raise InputDataError(f"{at(row)}: energies must increase strictly, {energies[row]:g} eV follows "
                                 f"{energies[row - 1]:g} eV")
        if np.any(table[row] < 0):
            raise InputDataError(f"{at(row)}: stopping power must not be negative, got {table[row].tolist()}")


def read_stopping_table(path: Path, n_species: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a stopping table: energy (eV), then one stopping power (eV/Å) per species, per line.

    Columns are separated by whitespace; ``#`` starts a comment (whole line or
    after the numbers); blank lines are skipped. Energies must be positive and
    strictly increasing, stopping powers finite and not negative. Returns
    ``(energies_eV, table)`` with ``table`` of shape (n_energies, n_species).
    """
    path = Path(path)
    if n_species < 1:
        raise ConfigError(f"{path}: a stopping table needs at least one species column, asked for {n_species}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputDataError(f"{path}: stopping table not found") from None
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not a text file (byte {exc.object[exc.start]:#04x} is not UTF-8)") from exc
    rows: list[list[float]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != n_species + 1:
            raise InputDataError(f"{path}:{number}: expected {n_species + 1} columns (energy, then one stopping "
                                 f"power per species), got {len(words)}")
        values = []
        for word in words:
            try:
                values.append(float(word))
            except ValueError:
                raise InputDataError(f"{path}:{number}: {word!r} is not a number") from None
        rows.append(values)
        lines.append(number)
    data = np.array(rows, dtype=float).reshape(-1, n_species + 1)
    energies, table = data[:, 0], data[:, 1:]
    _check_table(energies, table, str(path), lines)
    return energies, table


def write_lammps_table(
    path: Path,
    energies_eV: np.ndarray,
    table: np.ndarray,
    *,
    species: Sequence[str] | None = None,
    description: str = "",
) -> Path:
    """Write a table in the format ``fix electron/stopping`` reads; returns ``path``.

    ``description`` (how the numbers were made) and the column species go into
    the header comment.
    """
    path = Path(path)
    energies = np.asarray(energies_eV, dtype=float)
    values = np.asarray(table, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or energies.ndim != 1 or len(energies) != len(values):
        raise InputDataError(f"{path}: {len(energies)} energies but a table of shape {values.shape}")
    if species is not None and len(species) != values.shape[1]:
        raise InputDataError(f"{path}: {values.shape[1]} stopping columns but {len(species)} species names")
    _check_table(energies, values, str(path))
    # The format (LAMMPS manual, fix electron/stopping): lines starting with '#' and blank lines are
    # ignored; every other line holds N+1 numbers for N atom types: the energy (energy units), then
    # the stopping power S_e of each atom type in type order (force units), energies increasing.
    # LAMMPS interpolates linearly between lines, applies no stopping below the first energy and
    # stops with an error for an atom faster than the last.
    names = list(species) if species is not None else [f"type{i + 1}" for i in range(values.shape[1])]
    header = [
        f"# Electronic stopping table for LAMMPS fix electron/stopping, written by simkit {__version__}",
        *(f"# {line}" for line in description.splitlines() if line.strip()),
        "# units metal: energy in eV, stopping power in eV/Angstrom, one column per atom type",
        "# " + " ".join(["E_eV", *names]),
    ]
    body = [" ".join(f"{v:.10e}" for v in (energy, *row)) for energy, row in zip(energies, values)]
    return atomic_write_text(path, "\n".join(header + body) + "\n")

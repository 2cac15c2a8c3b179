"""SNAP descriptors and their derivatives from LAMMPS's own ``compute snap``.

For each structure, ``compute snap`` returns a global array (LAMMPS manual,
compute sna/atom, "Output info") with one block of columns per atom type and a
last column holding the reference pair style's contribution:

* row 0: bispectrum components summed over the atoms of each type (energy row);
* rows 1..3N: their derivatives, three rows per atom in atom-ID order, with
  the sign of a force (a model's forces are these rows times its coefficients);
* last 6 rows: the virial rows, Voigt order xx yy zz yz xz xy, in energy units;
  there the reference column holds the reference virial as a pressure, which
  is converted back to eV with the volume and LAMMPS's own ``nktv2p``.

With ``quadraticflag 1`` each type block holds K linear and K(K+1)/2 quadratic
columns (upper triangle, in the order of pair_style snap's quadratic coefficients);
with ``chem`` K is multiplied by n_elements^3. This module adds a leading
"atom count" column to each type block (the beta_0 term) so that a block's
coefficients are exactly one element's ``.snapcoeff`` entries, and rotates
force and virial rows from LAMMPS's box frame back into the structure's frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

from simkit.errors import LammpsError
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import OverlayPotential
from simkit.lammps.potentials.generic import LammpsPairPotential
from simkit.lammps.session import LammpsSession

_COMPUTE_ID = "simkit_snap"
_VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
# Extra neighbour-list reach of the placeholder pair style beyond the SNAP cutoff (Å).
_ZERO_STYLE_MARGIN_A = 0.1


def bispectrum_count(twojmax: int) -> int:
    """Number K of bispectrum components for ``twojmax`` (the manual's (j1, j2, j) loop)."""
    count = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    count += 1
    return count


@dataclass(frozen=True)
class SnapDescriptorSettings:
    """Everything ``compute snap`` and ``pair_style snap`` must agree on (plain data).

    ``radelem``, ``wj``, ``sinner_A`` and ``dinner_A`` are per element, in the
    order of ``elements`` (which is also the LAMMPS type order).
    """

    elements: tuple[str, ...]
    rcutfac: float
    twojmax: int
    radelem: tuple[float, ...]
    wj: tuple[float, ...]
    rfac0: float = 0.99363
    rmin0: float = 0.0
    switchflag: bool = True
    bzeroflag: bool = True
    quadraticflag: bool = False
    chemflag: bool = False
    bnormflag: bool = False
    wselfallflag: bool = False
    sinner_A: tuple[float, ...] | None = None  # inner switching (switchinnerflag) when given
    dinner_A: tuple[float, ...] | None = None

    @property
    def n_bispectrum(self) -> int:
        """Linear descriptor count per type block (K, or K * n_elements^3 with chem)."""
        k = bispectrum_count(self.twojmax)
        return k * len(self.elements) ** 3 if self.chemflag else k

    @property
    def n_descriptors(self) -> int:
        """Columns of one type block in compute snap: linear plus quadratic terms."""
        k = self.n_bispectrum
        return k + (k * (k + 1) // 2 if self.quadraticflag else 0)

    @property
    def n_coefficients(self) -> int:
        """Coefficients per element in the .snapcoeff file (beta_0 first)."""
        return 1 + self.n_descriptors

    @property
    def cutoff_A(self) -> float:
        return 2.0 * self.rcutfac * max(self.radelem)

    def snapparam(self) -> dict[str, float | int | str]:
        """The keywords of the matching ``.snapparam`` file."""
        params: dict[str, float | int | str] = {
            "rcutfac": self.rcutfac, "twojmax": self.twojmax, "rfac0": self.rfac0, "rmin0": self.rmin0,
            "switchflag": int(self.switchflag), "bzeroflag": int(self.bzeroflag),
            "quadraticflag": int(self.quadraticflag), "chemflag": int(self.chemflag),
            "bnormflag": int(self.bnormflag), "wselfallflag": int(self.wselfallflag),
        }
        if self.sinner_A is not None:
            params["switchinnerflag"] = 1
            params["sinner"] = " ".join(repr(float(v)) for v in self.sinner_A)
            params["dinner"] = " ".join(repr(float(v)) for v in self.dinner_A or ())
        return params

    def compute_arguments(self) -> list[str]:
        """Arguments of ``compute ID all snap ...`` for types numbered in ``elements`` order."""
        args = [repr(float(self.rcutfac)), repr(float(self.rfac0)), str(int(self.twojmax))]
        args += [repr(float(r)) for r in self.radelem] + [repr(float(w)) for w in self.wj]
        args += ["rmin0", repr(float(self.rmin0)), "switchflag", str(int(self.switchflag)),
                 "bzeroflag", str(int(self.bzeroflag)), "quadraticflag", str(int(self.quadraticflag)),
                 "bnormflag", str(int(self.bnormflag)), "wselfallflag", str(int(self.wselfallflag))]
        if self.chemflag:
            args += ["chem", str(len(self.elements)), *(str(k) for k in range(len(self.elements)))]
        if self.sinner_A is not None:
            args += ["switchinnerflag", "1", "sinner", *(repr(float(v)) for v in self.sinner_A),
                     "dinner", *(repr(float(v)) for v in self.dinner_A or ())]
        return args


@dataclass
class DescriptorRows:
    """One structure's rows of the linear system, in the structure's (ASE) frame.

    Columns: for each element in settings order, [atom count, descriptors...];
    a model's energy/forces/virial are these rows times the stacked coefficients.
    """

    energy: np.ndarray  # (ncols,)
    forces: np.ndarray  # (N, 3, ncols)
    virial: np.ndarray  # (6, ncols), Voigt xx yy zz yz xz xy, eV
    reference_energy_eV: float
    reference_forces_eV_per_A: np.ndarray  # (N, 3)
    reference_virial_eV: np.ndarray  # (6,)


def _placeholder_pair_style(settings: SnapDescriptorSettings, reference: Potential | None) -> Potential:
    """``pair_style zero`` gives compute snap its neighbour list; a reference style overlays it."""
    cutoff = settings.cutoff_A + _ZERO_STYLE_MARGIN_A
    zero = LammpsPairPotential(f"zero {cutoff!r}", ["* *"], elements=None, cutoff_A=cutoff)
    return zero if reference is None else OverlayPotential([zero, reference])


def _rotate_vectors(rotation: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(N, 3, M) rows from the box frame to the structure frame: v_ase = Q @ v_lammps."""
    return np.einsum("ab,nbm->nam", rotation, rows)


def _rotate_voigt(rotation: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(6, M) Voigt rows of a symmetric tensor from the box frame: T_ase = Q T_lammps Q^T."""
    tensor = np.zeros((3, 3, rows.shape[1]))
    for row, (i, j) in enumerate(_VOIGT_PAIRS):
        tensor[i, j] = tensor[j, i] = rows[row]
    rotated = np.einsum("ab,bcm,dc->adm", rotation, tensor, rotation)
    return np.stack([rotated[i, j] for i, j in _VOIGT_PAIRS])


def structure_rows(
    session: LammpsSession,
    atoms: Atoms,
    settings: SnapDescriptorSettings,
    reference: Potential | None = None,
    *,
    label: str = "structure",
) -> DescriptorRows:
    """Run ``compute snap`` on ``atoms`` in ``session`` and return its rows (all ranks get them)."""

    species = settings.elements
    session.create_system(atoms, species, label=label)
    session.set_potential(_placeholder_pair_style(settings, reference))
    session.command(" ".join(["compute", _COMPUTE_ID, "all", "snap", *settings.compute_arguments()]))
    session.run(0)
    array = session.global_array(_COMPUTE_ID)  # a copy: LAMMPS's memory dies with the compute
    nktv2p = session.pressure_per_energy_density
    session.command(f"uncompute {_COMPUTE_ID}")
    n = len(atoms)
    nd = settings.n_descriptors
    expected = (1 + 3 * n + 6, len(species) * nd + 1)
    if array is None or tuple(array.shape) != expected:
        shape = None if array is None else tuple(array.shape)
        raise LammpsError(f"compute snap returned an array of shape {shape}, expected {expected}", command=label)

    counts = np.array([sum(1 for s in atoms.get_chemical_symbols() if s == el) for el in species], dtype=float)
    ncols = len(species) * (1 + nd)
    energy = np.zeros(ncols)
    force_rows = np.zeros((n, 3, ncols))
    virial_rows = np.zeros((6, ncols))
    for t in range(len(species)):
        block = slice(t * (1 + nd) + 1, (t + 1) * (1 + nd))
        source = slice(t * nd, (t + 1) * nd)
        energy[t * (1 + nd)] = counts[t]
        energy[block] = array[0, source]
        force_rows[:, :, block] = array[1 : 1 + 3 * n, source].reshape(n, 3, nd)
        virial_rows[:, block] = array[1 + 3 * n :, source]
    rotation = session.box.rotation
    # The reference column's virial is a pressure (virial / volume * nktv2p).
    volume = abs(float(np.linalg.det(session.current_cell_lammps())))
    ref_virial = array[1 + 3 * n :, -1:] * volume / nktv2p
    return DescriptorRows(
        energy=energy,
        forces=_rotate_vectors(rotation, force_rows),
        virial=_rotate_voigt(rotation, virial_rows),
        reference_energy_eV=float(array[0, -1]),
        reference_forces_eV_per_A=session.box.from_lammps(array[1 : 1 + 3 * n, -1].reshape(n, 3)),
        reference_virial_eV=_rotate_voigt(rotation, ref_virial)[:, 0],
    )


def descriptor_rows(
    structures: Sequence[Atoms],
    settings: SnapDescriptorSettings,
    reference: Potential | None = None,
    *,
    comm=None,
    labels: Sequence[str] | None = None,
) -> list[DescriptorRows]:
    """Rows for each structure, computed in one LAMMPS session on ``comm``."""
    rows = []
    with LammpsSession(comm) as session:
        for index, atoms in enumerate(structures):
            label = labels[index] if labels is not None else f"structure {index}"
            rows.append(structure_rows(session, atoms, settings, reference, label=label))
    return rows

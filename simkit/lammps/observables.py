"""Observables reduced in parallel by LAMMPS: per-region time series and z-profiles.

Per region (inside it *now*, re-evaluated each time): atom count, temperature
of its dynamic atoms, potential energy, and crystalline fraction (all atoms,
frozen included, when a criterion is defined). Overall: the temperature of the
dynamic atoms replaces LAMMPS's default ``temp`` (frozen atoms carry no
kinetic energy and no degrees of freedom), and the crystalline fraction.

Everything enters the thermo line, so LAMMPS evaluates it on the last step of
every run (per-atom energies are tallied only on steps where something asks
for them); the z-profile is a global array read right after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from simkit.lammps import crystallinity
from simkit.lammps.regions import DYNAMIC_GROUP, Block, region_id
from simkit.lammps.session import LammpsSession
from simkit.units import BOLTZMANN_EV_PER_K

DYNAMIC_TEMPERATURE = "simkit_temp_dynamic"
PE_PER_ATOM = "simkit_pe_per_atom"
_KE_ATOM = "simkit_ke_per_atom"
_ONE = "simkit_one"
_IS_DYNAMIC = "simkit_is_dynamic"
_CHUNKS = "simkit_zbins"
_PROFILE = "simkit_zprofile"


@dataclass(frozen=True)
class Column:
    """One observable: ``quantity`` (e.g. heater_temperature), its ``unit``, the thermo keyword."""

    quantity: str
    unit: str  # "1" when dimensionless
    keyword: str

    @property
    def name(self) -> str:
        """Column name with its unit, e.g. ``heater_temperature_K``."""
        return self.quantity if self.unit == "1" else f"{self.quantity}_{self.unit}"


@dataclass(frozen=True)
class Observables:
    """Columns to record, plus thermo keywords that only make LAMMPS evaluate per-atom data."""

    columns: tuple[Column, ...]
    hidden_keywords: tuple[str, ...]


def _prefix(text: str) -> str:
    return f"simkit_{text}"


def define_observables(
    session: LammpsSession, blocks: Sequence[Block], criterion: crystallinity.SolidBondCriterion | None
) -> Observables:
    """Define the computes behind every observable (recorded after the basic thermo columns).

    Computes and variables are not saved in restart files: call again after
    reading one (regions must be defined first).
    """
    session.command(f"compute {DYNAMIC_TEMPERATURE} {DYNAMIC_GROUP} temp")
    session.command(f"compute {PE_PER_ATOM} all pe/atom")
    session.command(f"compute {_KE_ATOM} all ke/atom")
    session.command(f'variable {_ONE} atom "1.0"')
    session.command(f'variable {_IS_DYNAMIC} atom "gmask({DYNAMIC_GROUP})"')
    # Per-atom energies exist only on steps where something asks for them.
    session.command(f"compute {_prefix('pe_check')} all reduce sum c_{PE_PER_ATOM}")
    columns: list[Column] = []
    if criterion is not None:
        crystallinity.define_crystallinity(session, criterion)
        keyword = crystallinity.fraction_compute(session, _prefix("xf_all"))
        columns.append(Column("crystalline_fraction", "1", keyword))
    for block in blocks:
        name, rid = block.name, region_id(block.name)
        session.command(f"compute {_prefix('n_' + name)} all reduce/region {rid} sum v_{_ONE}")
        columns.append(Column(f"{name}_atoms", "1", f"c_{_prefix('n_' + name)}"))
        if not block.frozen:
            session.command(f"compute {_prefix('t_' + name)} {DYNAMIC_GROUP} temp/region {rid}")
            columns.append(Column(f"{name}_temperature", "K", f"c_{_prefix('t_' + name)}"))
        session.command(f"compute {_prefix('pe_' + name)} all reduce/region {rid} sum c_{PE_PER_ATOM}")
        columns.append(Column(f"{name}_potential_energy", "eV", f"c_{_prefix('pe_' + name)}"))
        if criterion is not None:
            keyword = crystallinity.fraction_compute(session, _prefix("xf_" + name), name)
            columns.append(Column(f"{name}_crystalline_fraction", "1", keyword))
    return Observables(tuple(columns), (f"c_{_prefix('pe_check')}",))


def install_thermo(session: LammpsSession, observables: Observables) -> None:
    """Thermo line = the session's basic keywords + the observables; temperature of the dynamic atoms."""
    keywords = [c.keyword for c in observables.columns] + list(observables.hidden_keywords)
    session.set_thermo(every=0, extra=keywords)
    # thermo_style resets thermo_modify, so this follows it every time.
    session.command(f"thermo_modify temp {DYNAMIC_TEMPERATURE}")


class ZProfile:
    """Profiles along z in ``bins`` equal slabs that follow the cell: atoms, T, energy, crystallinity."""

    def __init__(self, session: LammpsSession, bins: int, crystalline: bool):
        if bins < 1:
            raise ValueError(f"need at least one profile bin, got {bins}")
        self.session = session
        self.bins = int(bins)
        self.crystalline = crystalline
        # 'units reduced' bins scale with the box, so their number stays fixed under NPT.
        session.command(
            f"compute {_CHUNKS} all chunk/atom bin/1d z lower {1.0 / self.bins!r} units reduced nchunk once"
        )
        inputs = [f"v_{_ONE}", f"v_{_IS_DYNAMIC}", f"c_{_KE_ATOM}", f"c_{PE_PER_ATOM}"]
        if crystalline:
            inputs.append(f"v_{crystallinity.CRYSTALLINE_VARIABLE}")
        session.command(f"compute {_PROFILE} all reduce/chunk {_CHUNKS} sum " + " ".join(inputs))

    def read(self) -> dict[str, np.ndarray]:
        """The profile at the current step (call on every rank, right after a run ended)."""
        table = self.session.global_array(_PROFILE).reshape(self.bins, -1)
        atoms, dynamic, kinetic, potential = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
        lz = self.session.current_cell_lammps()[2, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            result = {
                "z_A": (np.arange(self.bins) + 0.5) * lz / self.bins,
                "atoms": atoms,
                "temperature_K": np.where(dynamic > 0, 2.0 * kinetic / (3.0 * dynamic * BOLTZMANN_EV_PER_K), 0.0),
                "potential_energy_eV_per_atom": np.where(atoms > 0, potential / atoms, 0.0),
            }
            if self.crystalline:
                result["crystalline_fraction"] = np.where(atoms > 0, table[:, 4] / atoms, 0.0)
        return result

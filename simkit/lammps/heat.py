"""Heat pulses and heat sinks: energy added to (or removed from) a region at a constant rate.

``fix ehex`` (Wirnsberger, Frenkel and Dellago, J. Chem. Phys. 143, 124104
(2015)) and its predecessor ``fix heat`` rescale the velocities of the atoms
inside a region, relative to their centre-of-mass velocity, so that their
kinetic energy changes by ``flux * dt`` each step while their total momentum
is unchanged. ehex corrects the long-time energy drift of fix heat and is the
default. In metal units the flux is in eV/ps.

The energy a pulse actually delivered is measured as the change of the total
energy (potential + kinetic) of the system over the pulse while no thermostat
acts on the dynamic atoms; frozen atoms do not move, so the change is that of
the dynamic atoms. :class:`HeatAccount` holds the bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simkit.lammps.regions import region_id
from simkit.lammps.session import LammpsSession

HeatMethod = Literal["ehex", "heat"]


def flux_eV_per_ps(energy_eV: float, duration_ps: float) -> float:
    """Constant power (eV/ps) that delivers ``energy_eV`` over ``duration_ps`` (negative removes heat)."""
    if duration_ps <= 0:
        raise ValueError(f"duration_ps must be positive, got {duration_ps}")
    return float(energy_eV) / float(duration_ps)


def add_heat_flux(
    session: LammpsSession,
    fix_id: str,
    group: str,
    region: str,
    energy_eV: float,
    duration_ps: float,
    method: HeatMethod = "ehex",
) -> list[str]:
    """Add ``energy_eV`` over ``duration_ps`` to the atoms of ``group`` inside region ``region``.

    Membership is checked every step, so atoms that move into or out of the
    region gain or stop gaining heat. Returns the fix IDs created.
    """
    if method not in ("ehex", "heat"):
        raise ValueError(f"unknown heat method {method!r} (ehex or heat)")
    flux = flux_eV_per_ps(energy_eV, duration_ps)
    session.command(f"fix {fix_id} {group} {method} 1 {flux!r} region {region_id(region)}")
    return [fix_id]


@dataclass
class HeatAccount:
    """Requested vs delivered energy of one pulse (eV); delivered = E_total(end) - E_total(start)."""

    requested_eV: float
    start_total_eV: float
    end_total_eV: float | None = None

    @property
    def delivered_eV(self) -> float | None:
        if self.end_total_eV is None:
            return None
        return self.end_total_eV - self.start_total_eV

    @property
    def ratio(self) -> float | None:
        """Delivered / requested (1.0 = exact)."""
        delivered = self.delivered_eV
        return None if delivered is None else delivered / self.requested_eV

    def within(self, tolerance: float) -> bool:
        ratio = self.ratio
        return ratio is not None and abs(ratio - 1.0) <= tolerance

    def describe(self) -> dict:
        return {
            "requested_eV": self.requested_eV,
            "delivered_eV": self.delivered_eV,
            "ratio": self.ratio,
            "start_total_energy_eV": self.start_total_eV,
            "end_total_energy_eV": self.end_total_eV,
        }

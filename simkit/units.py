"""One table of unit conversions; every other module converts through it.

simkit talks to LAMMPS in ``units metal``: energies in eV, distances in Å,
time in ps, temperature in K, pressure in bar, mass in g/mol. Names elsewhere
carry their unit (``timestep_fs``, ``energy_pJ``); these constants turn the
physical units a user writes into the metal units LAMMPS expects.
"""

from __future__ import annotations

import math

from ase import units as ase_units

# Exact SI definitions (CODATA 2018).
ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_PER_K = 1.380649e-23
AVOGADRO_PER_MOL = 6.02214076e23

J_PER_EV = ELEMENTARY_CHARGE_C
EV_PER_J = 1.0 / J_PER_EV
EV_PER_PJ = 1.0e-12 * EV_PER_J
BOLTZMANN_EV_PER_K = BOLTZMANN_J_PER_K / J_PER_EV

PS_PER_FS = 1.0e-3
PS_PER_NS = 1.0e3
S_PER_PS = 1.0e-12

A_PER_NM = 10.0
CM_PER_A = 1.0e-8
M_PER_A = 1.0e-10

BAR_PER_GPA = 1.0e4
# Surface and fault energies: 1 eV/Å^2 = 1.602176634e-19 J / 1e-20 m^2
J_PER_M2_PER_EV_PER_A2 = J_PER_EV / 1.0e-20
# 1 eV/Å^3 = 1.602176634e11 Pa = 1.602176634e6 bar
BAR_PER_EV_PER_A3 = J_PER_EV / 1.0e-30 / 1.0e5
EV_PER_A3_PER_BAR = 1.0 / BAR_PER_EV_PER_A3

# Mass density: 1 amu/Å^3 = 1.66053906660e-24 g / 1e-24 cm^3 (CODATA 2018 atomic mass constant)
G_PER_CM3_PER_AMU_PER_A3 = 1.66053906660

# Diffusion: Å^2/ps -> cm^2/s
CM2_PER_S_PER_A2_PER_PS = CM_PER_A**2 / S_PER_PS

# Velocities (e.g. of a crystal growth front): 1 Å/ps = 1e-10 m / 1e-12 s = 100 m/s
M_PER_S_PER_A_PER_PS = M_PER_A / S_PER_PS

# ASE's time unit is Å·sqrt(amu/eV) (about 10.18 fs): an ASE velocity times this is in Å/ps.
A_PER_PS_PER_ASE_VELOCITY = 1000.0 * ase_units.fs

# Kinetic energy: 1 amu (Å/ps)^2 in eV (LAMMPS metal units' mvv2e), from CODATA 2018 constants
EV_PER_AMU_A2_PER_PS2 = 1.66053906660e-27 * (M_PER_A / S_PER_PS) ** 2 / J_PER_EV

# e^2/(4 pi eps0) in eV*Å: the Coulomb energy of two unit charges 1 Å apart (14.399645 eV);
# vacuum permittivity from CODATA 2018 (F/m).
VACUUM_PERMITTIVITY_F_PER_M = 8.8541878128e-12
COULOMB_EV_A = ELEMENTARY_CHARGE_C / (4.0 * math.pi * VACUUM_PERMITTIVITY_F_PER_M * M_PER_A)

# The Bohr velocity v_0 = alpha c as an energy per mass: 1/2 amu v_0^2 = 24.8 keV per amu
# (amu c^2 = 931.49410242 MeV, alpha = 7.2973525693e-3, CODATA 2018).
BOHR_VELOCITY_ENERGY_EV_PER_AMU = 0.5 * 931.49410242e6 * (7.2973525693e-3) ** 2

# Heating rates: K/s -> K/ps (LAMMPS time unit in metal units)
K_PER_PS_PER_K_PER_S = S_PER_PS


def pj_to_ev(energy_pJ: float) -> float:
    """Convert picojoules to electronvolts (1 pJ = 6.241509e6 eV)."""
    return energy_pJ * EV_PER_PJ


def ev_to_pj(energy_eV: float) -> float:
    """Convert electronvolts to picojoules."""
    return energy_eV / EV_PER_PJ


def fs_to_ps(time_fs: float) -> float:
    return time_fs * PS_PER_FS


def steps_for(time_ps: float, timestep_fs: float, *, at_least: int = 1) -> int:
    """MD steps that cover ``time_ps`` at ``timestep_fs`` (rounded to the nearest step, at least ``at_least``)."""
    return max(at_least, round(time_ps / (timestep_fs * PS_PER_FS)))


def ns_to_ps(time_ns: float) -> float:
    return time_ns * PS_PER_NS


def mass_density_g_per_cm3(mass_amu: float, volume_A3: float) -> float:
    return mass_amu / volume_A3 * G_PER_CM3_PER_AMU_PER_A3


def volume_A3_for_density(mass_amu: float, density_g_per_cm3: float) -> float:
    """The volume (Å^3) that ``mass_amu`` fills at ``density_g_per_cm3``."""
    return mass_amu * G_PER_CM3_PER_AMU_PER_A3 / density_g_per_cm3


def duration_ps_of_ramp(start_K: float, end_K: float, rate_K_per_s: float) -> float:
    """How long a linear ramp between two temperatures takes at ``rate_K_per_s`` (ps)."""
    return abs(end_K - start_K) / rate_K_per_s / S_PER_PS


def rate_K_per_s_to_K_per_ps(rate_K_per_s: float) -> float:
    return rate_K_per_s * K_PER_PS_PER_K_PER_S


def bar_to_ev_per_a3(pressure_bar):
    return pressure_bar * EV_PER_A3_PER_BAR


def ev_per_a3_to_gpa(stress_eV_per_A3):
    return stress_eV_per_A3 * BAR_PER_EV_PER_A3 / BAR_PER_GPA


def speed_A_per_ps(kinetic_energy_eV: float, mass_amu: float) -> float:
    """Speed of a particle of ``mass_amu`` carrying ``kinetic_energy_eV`` (non-relativistic), in Å/ps."""
    return math.sqrt(2.0 * kinetic_energy_eV / (mass_amu * EV_PER_AMU_A2_PER_PS2))

"""Potentials: objects that say which LAMMPS pair style to use (see base.Potential)."""

from simkit.lammps.potentials.base import PairCoeff, PairStyle, Potential
from simkit.lammps.potentials.composite import OverlayPotential, ZblPotential
from simkit.lammps.potentials.eam import EamPotential
from simkit.lammps.potentials.generic import LammpsPairPotential
from simkit.lammps.potentials.snap import SnapPotential

__all__ = [
    "EamPotential",
    "LammpsPairPotential",
    "OverlayPotential",
    "PairCoeff",
    "PairStyle",
    "Potential",
    "SnapPotential",
    "ZblPotential",
]

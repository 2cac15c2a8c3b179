"""ACE potentials: reading .yace files and checking simkit's LAMMPS pace plugin against pyace."""

from simkit.ace.yace import YaceModel, load_yace

__all__ = ["YaceModel", "load_yace"]

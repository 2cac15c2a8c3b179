"""Screens of candidate potentials: stability under hot MD ("survival") and LAMMPS speed."""

"""Drivers: multi-step LAMMPS workflows built on the session layer."""

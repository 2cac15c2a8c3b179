"""Make a trajectory left by a killed writer readable by any HDF5 tool.

A writer killed in SWMR mode leaves HDF5's "file open for writing" flag set;
HDF5 then refuses ordinary opens (simkit's reader falls back to SWMR reading).
A writer killed in one of the moments it had the file open outside SWMR mode
leaves a file not even SWMR readers open: its flags are cleared first
(:mod:`simkit.io.hdf5_flags`), then it is read as any file.
:func:`recover` copies everything into a fresh file, cuts every time series to
its committed length, and replaces the original atomically.
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py

from simkit.io import h5md_layout as L
from simkit.io.hdf5_flags import clear_consistency_flags
from simkit.runtime.files import replace_durably
from simkit.runtime.locks import claim

log = logging.getLogger(__name__)


def recover(path: str | Path) -> int:
    """Rewrite a trajectory left by a killed writer into a clean file; returns its frame count.

    Copies everything, truncates time series to their committed length, and
    replaces the file atomically. Needed before tools other than simkit open a
    killed file (HDF5 refuses files still marked open for writing). Refused
    while another live process owns the file's folder (it may still write).
    """
    path = Path(path)
    lock = claim(path.parent, f"recover {path.name}")
    try:
        return _rewrite(path)
    finally:
        lock.release()


def _open_killed(path: Path) -> h5py.File:
    """Open a file a killed writer left flagged "open for write": as an SWMR reader, or, when it was killed
    outside SWMR mode (no SWMR reader may open it then), after clearing the flags (the folder's lock is held)."""
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except OSError as exc:
        if "not already open for SWMR writing" not in str(exc):
            raise
    log.warning("%s: killed while open outside SWMR mode; clearing its open-for-write flags", path)
    clear_consistency_flags(path)
    return h5py.File(path, "r", libver="latest")


def _rewrite(path: Path) -> int:
    tmp = path.with_name(path.name + ".recover.tmp")
    with _open_killed(path) as src, h5py.File(tmp, "w", libver="latest") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            src.copy(src[name], dst, name=name)
        frames, records = (int(v) for v in src[L.COMMITTED][...]) if L.COMMITTED in src else (None, None)
        _truncate_series(dst, L.PARTICLES, frames)
        if L.THERMO_SERIES in dst:
            _truncate_series(dst, L.OBSERVABLES, frames)  # frame-aligned (dt)
            _truncate_series(dst, L.THERMO_SERIES, records)
        else:  # the older layout: thermo series under /observables
            _truncate_series(dst, L.OBSERVABLES, records)
    replace_durably(tmp, path)
    return frames or 0


def _truncate_series(f: h5py.File, root: str, length: int | None) -> None:
    if length is None or root not in f:
        return

    def visit(name, obj):
        # Hard-linked clocks are visited once per link; resizing twice is harmless.
        if isinstance(obj, h5py.Dataset) and obj.maxshape and obj.maxshape[0] is None and obj.shape[0] > length:
            obj.resize(length, axis=0)

    f[root].visititems(visit)

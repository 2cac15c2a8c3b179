"""Export a trajectory (H5MD or extended XYZ) as text that OVITO, ASE and LAMMPS read.

OVITO cannot open H5MD, so :func:`export_trajectory` streams the frames into
extended XYZ (:mod:`simkit.io.export_extxyz`) or a LAMMPS text dump
(:mod:`simkit.io.export_lammps`): one frame in memory at a time, however long
the trajectory and however big its frames.

The output is written under a temporary name in its own directory and renamed
over the final name only once complete and on disk (:func:`replace_durably`),
so an interrupted export never leaves a truncated file under that name (a
killed one may leave ``.<name>.<pid>-<random>.tmp`` beside it). An existing
output is kept unless ``overwrite``.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Iterator, Protocol, TextIO

from simkit.errors import ConfigError, RunFailed
from simkit.io.export_extxyz import ExtxyzFrameWriter
from simkit.io.export_lammps import LammpsDumpFrameWriter
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import open_trajectory
from simkit.runtime.files import replace_durably

_BUFFER_BYTES = 1 << 20


class ExportFormat(StrEnum):
    EXTXYZ = "extxyz"
    LAMMPS_DUMP = "lammps-dump"


class FrameWriter(Protocol):
    """Writes frames one at a time into an open text file; a format is one class and one line in WRITERS."""

    def __init__(self, source: Path, *, unwrapped: bool): ...

    def write(self, handle: TextIO, frame: Frame) -> None: ...


WRITERS: dict[ExportFormat, type[FrameWriter]] = {
    ExportFormat.EXTXYZ: ExtxyzFrameWriter,
    ExportFormat.LAMMPS_DUMP: LammpsDumpFrameWriter,
}
SUFFIXES: dict[str, ExportFormat] = {
    ".extxyz": ExportFormat.EXTXYZ,
    ".xyz": ExportFormat.EXTXYZ,
    ".dump": ExportFormat.LAMMPS_DUMP,
    ".lammpstrj": ExportFormat.LAMMPS_DUMP,
}


def parse_frames(text: str) -> slice | int:
    """A frame selection in Python's syntax: ``a:b:c`` (any part may be empty) or one index ``k``."""
    parts = text.strip().split(":")
    try:
        values = [int(part) if part.strip() else None for part in parts]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 3 or (len(values) == 1 and values[0] is None):
        raise ValueError(f"{text!r} is not a frame index or a slice start:stop:step of integers")
    if len(values) == 1:
        return values[0]
    if len(values) == 3 and values[2] == 0:
        raise ValueError(f"{text!r}: the step of a slice cannot be 0")
    return slice(*values)


def selected_frames(path: Path, frames: slice | int, count: int) -> range:
    """The frame indices ``frames`` picks from a trajectory of ``count`` frames; none is an error."""
    if isinstance(frames, slice):
        chosen = range(count)[frames]
        parts = ["" if v is None else str(v) for v in (frames.start, frames.stop, frames.step)]
        shown = ":".join(parts if frames.step is not None else parts[:2])
    else:
        chosen = range(frames % count, frames % count + 1) if -count <= frames < count else range(0)
        shown = str(frames)
    if not chosen:
        raise ConfigError(f"{path}: the frame selection {shown} (--frames) matches none of its {count} frames")
    return chosen


def output_format(path: Path, fmt: ExportFormat | str | None) -> ExportFormat:
    """The format asked for, else the one the output's suffix names; a suffix naming another is refused."""
    suffix = Path(path).suffix.lower()
    implied = SUFFIXES.get(suffix)
    if fmt is None:
        if implied is None:
            known = ", ".join(f"{s} ({f})" for s, f in SUFFIXES.items())
            raise ConfigError(f"{path}: cannot tell the format from the suffix {suffix or '(none)'!r}; give the "
                              f"format (--format {'|'.join(ExportFormat)}) or one of the suffixes {known}")
        return implied
    try:
        fmt = ExportFormat(fmt)
    except ValueError:
        raise ConfigError(f"{path}: unknown export format {fmt!r} (known: {', '.join(ExportFormat)})") from None
    if implied is not None and implied != fmt:
        raise ConfigError(f"{path}: the suffix {suffix} means {implied}, not the format {fmt} asked for; change "
                          "one of them")
    return fmt


def export_trajectory(source: str | Path, out_path: str | Path, fmt: ExportFormat | str | None = None, *,
                      frames: slice | int = slice(None), unwrapped: bool = False,
                      overwrite: bool = False) -> dict:
    """Write the ``frames`` of ``source`` (H5MD or extended XYZ) to ``out_path`` as ``fmt``.

    ``fmt`` None: from the output's suffix (``.extxyz``/``.xyz``, ``.dump``/``.lammpstrj``).
    ``unwrapped``: positions plus image flags times the cell (refused for a file without
    image flags). Returns ``{"output", "format", "frames", "atoms", "bytes", "seconds"}``.
    """
    source, out_path = Path(source), Path(out_path)
    fmt = output_format(out_path, fmt)
    if out_path.exists() and not overwrite:
        raise ConfigError(f"{out_path}: exists; pass overwrite (--overwrite) to replace it")
    if out_path.exists() and source.exists() and out_path.samefile(source):
        raise ConfigError(f"{out_path}: is the trajectory being exported; choose another output")
    started = time.perf_counter()
    with open_trajectory(source) as trajectory:
        chosen = selected_frames(source, frames, len(trajectory))
        if unwrapped:
            trajectory.require_unwrapped("the export (--unwrapped)")
        writer = WRITERS[fmt](source, unwrapped=unwrapped)
        with _atomic_text(out_path) as handle:
            for index in chosen:
                writer.write(handle, trajectory.frame(index))
        natoms = trajectory.natoms
    return {"output": str(out_path), "format": str(fmt), "frames": len(chosen), "atoms": natoms,
            "bytes": out_path.stat().st_size, "seconds": round(time.perf_counter() - started, 3)}


@contextmanager
def _atomic_text(target: Path) -> Iterator[TextIO]:
    """A text file under a temporary name beside ``target``, renamed over it when the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(partial, "x", encoding="utf-8", newline="\n", buffering=_BUFFER_BYTES) as handle:
            yield handle
        replace_durably(partial, target)
    except OSError as exc:  # the reader turns its own I/O errors into InputDataError: this one is the output's
        partial.unlink(missing_ok=True)
        raise RunFailed(f"{target}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:  # an error in a frame, or Ctrl-C: nothing under the final name
        partial.unlink(missing_ok=True)
        raise

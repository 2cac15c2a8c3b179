"""Bad H5MD trajectories for ``simkit analyse``.

A small valid trajectory (a rattled 32-atom Cu crystal, four frames, written by
simkit's own H5mdWriter) is broken one way per case: bytes that are not HDF5,
a file cut short, groups and datasets missing, datasets of the wrong shape,
atom counts that disagree, NaN or infinite positions and cells in one frame.
``frame`` is the frame the error line must name (None: the file as a whole).
Cases with ``native`` break the file's bytes, so HDF5's C library reads
garbage: those run in a child process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

SEED = 20251121
FRAMES = 4
BROKEN_FRAME = 2
P = "particles/trajectory"


def write_valid(path: Path) -> Path:
    from ase.build import bulk

    from simkit.io import H5mdWriter

    rng = np.random.default_rng(SEED)
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((2, 2, 2))
    with H5mdWriter(path) as writer:
        for k in range(FRAMES):
            writer.append_frame(step=10 * k, time_ps=0.01 * k, cell_A=np.array(atoms.cell),
                                positions_A=atoms.positions + rng.normal(0.0, 0.05, atoms.positions.shape),
                                symbols=atoms.get_chemical_symbols())
    return path


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Path], None]  # breaks the valid file in place
    frame: int | None = None
    words: tuple[str, ...] = ()
    native: bool = False


def _replace(name: str, make: Callable[[np.ndarray], np.ndarray]):
    """Replace dataset ``name`` by ``make(old values)``, keeping its attributes."""
    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            old = f[name]
            values, attrs = old[...], dict(old.attrs)
            del f[name]
            new = f.create_dataset(name, data=make(values))
            new.attrs.update(attrs)
    return edit


def _set_frame(name: str, frame: int, value):
    def make(values):
        values = values.astype(float) if values.dtype.kind in "iu" and not float(value).is_integer() else values
        values[frame] = value
        return values
    return _replace(name, make)


def _delete(name: str):
    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            del f[name]
    return edit


def _bytes(make: Callable[[bytes], bytes]):
    def edit(path: Path) -> None:
        path.write_bytes(make(path.read_bytes()))
    return edit


def _new_file(build: Callable[[h5py.File], None]):
    def edit(path: Path) -> None:
        path.unlink()
        with h5py.File(path, "w") as f:
            build(f)
    return edit


def _garbage(data: bytes) -> bytes:
    rng = random.Random(SEED)
    return bytes(rng.randrange(256) for _ in range(len(data) // 4))


def _zero_frames(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        for name in (f"{P}/position/value", f"{P}/position/step", f"{P}/position/time", f"{P}/image/value",
                     f"{P}/box/edges/value"):
            if name in f:
                values, attrs = f[name][...], dict(f[name].attrs)
                del f[name]
                f.create_dataset(name, data=values[:0], maxshape=(None, *values.shape[1:])).attrs.update(attrs)


def cases() -> list[Case]:
    k = BROKEN_FRAME
    return [
        Case("text-file", _bytes(lambda _: b"this is not a trajectory\n"), words=("HDF5",)),
        Case("empty-file", _bytes(lambda _: b""), words=("HDF5",)),
        Case("binary-garbage", _bytes(_garbage), words=("HDF5",), native=True),
        Case("truncated-to-a-third", _bytes(lambda b: b[: len(b) // 3]), native=True),
        Case("truncated-tail", _bytes(lambda b: b[: len(b) - len(b) // 10]), native=True),
        Case("position-chunk-garbled", _garble_chunk(f"{P}/position/value"), words=("frame", "damaged"), native=True),
        Case("no-particles-group", _new_file(lambda f: f.create_group("h5md")), words=("particles",)),
        Case("empty-particles-group", _new_file(lambda f: f.create_group("particles")), words=("particles",)),
        Case("no-position-group", _delete(f"{P}/position"), words=("position",)),
        Case("no-position-values", _delete(f"{P}/position/value"), words=("position",)),
        Case("no-position-steps", _delete(f"{P}/position/step"), words=("step",)),
        Case("zero-frames", _zero_frames, words=("frames",)),
        Case("nan-position", _set_frame(f"{P}/position/value", k, np.nan), frame=k, words=("position",)),
        Case("inf-position", _set_frame(f"{P}/position/value", 1, np.inf), frame=1, words=("position",)),
        Case("nan-cell", _set_frame(f"{P}/box/edges/value", k, np.nan), frame=k, words=("cell",)),
        Case("singular-cell", _set_frame(f"{P}/box/edges/value", k, 0.0), frame=k, words=("cell",)),
        Case("positions-not-3d", _replace(f"{P}/position/value", lambda v: v.reshape(v.shape[0], -1)),
             words=("position",)),
        Case("species-count-mismatch", _replace(f"{P}/species", lambda v: v[:-1]), words=("species", "32")),
        Case("species-not-elements", _replace(f"{P}/species", lambda v: v * 0 + 250), words=("species",)),
        Case("image-count-mismatch", _replace(f"{P}/image/value", lambda v: v[:, :-1]),
             words=("image", "(frames, 32, 3)")),
        Case("cell-wrong-shape", _replace(f"{P}/box/edges/value", lambda v: v[:, :2]), words=("edges",)),
        Case("unknown-length-unit", _unit(f"{P}/position/value", "furlong"), words=("furlong",)),
    ]


def _garble_chunk(name: str):
    """Overwrite the stored (compressed) bytes of the first chunk of dataset ``name``."""
    def edit(path: Path) -> None:
        with h5py.File(path, "r") as f:
            chunk = f[name].id.get_chunk_info(0)
        data = bytearray(path.read_bytes())
        data[chunk.byte_offset:chunk.byte_offset + chunk.size] = _garbage(bytes(4 * chunk.size))
        path.write_bytes(bytes(data))
    return edit


def _unit(name: str, unit: str):
    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            f[name].attrs["unit"] = unit
    return edit

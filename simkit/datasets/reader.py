"""Read labelled frames from extended XYZ (or any multi-frame format ASE reads).

Labels are looked up by key (see :class:`~simkit.datasets.spec.LabelKeys`) in
the frame's calculator results (where ASE puts ``energy``, ``forces`` and
``stress``), then in ``atoms.info`` and ``atoms.arrays``. A virial (3x3, nine
values, or six in Voigt order xx yy zz yz xz xy; eV) wins over a stress
(eV/Å^3, ASE sign), which is converted as W = -stress * V. Frames that lack an
energy or forces are all reported in one error naming each frame.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import iread, read, write

from simkit.datasets.frames import DEFAULT_CONFIG_TYPE, Dataset, Frame
from simkit.datasets.spec import LabelKeys
from simkit.errors import InputDataError

# Voigt order used by ASE and LAMMPS: xx, yy, zz, yz, xz, xy.
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
_MAX_LISTED_PROBLEMS = 5


def tensor_from_voigt(values: Sequence[float]) -> np.ndarray:
    tensor = np.zeros((3, 3))
    for value, (i, j) in zip(values, VOIGT_PAIRS):
        tensor[i, j] = tensor[j, i] = value
    return tensor


def voigt_from_tensor(tensor: np.ndarray) -> np.ndarray:
    """Six components xx, yy, zz, yz, xz, xy of a symmetric tensor (last two axes)."""
    return np.stack([tensor[..., i, j] for i, j in VOIGT_PAIRS], axis=-1)


def raise_problems(where: str, problems: list[str]) -> None:
    """Raise one InputDataError listing the first few problems (each names its frame)."""
    if not problems:
        return
    shown = "; ".join(problems[:_MAX_LISTED_PROBLEMS])
    more = len(problems) - _MAX_LISTED_PROBLEMS
    suffix = f"; and {more} more" if more > 0 else ""
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    raise InputDataError(f"{where}: {count}: {shown}{suffix}")


def _lookup(atoms: Atoms, key: str) -> Any:
    results = getattr(atoms.calc, "results", None) or {}
    for store in (results, atoms.info, atoms.arrays):
        if key in store:
            return store[key]
    return None


def _as_tensor(value: Any) -> np.ndarray | None:
    array = np.asarray(value, dtype=float)
    if array.shape == (3, 3):
        return array
    if array.size == 9:
        return array.reshape(3, 3)
    if array.size == 6:
        return tensor_from_voigt(array.ravel())
    return None


def frame_from_atoms(atoms: Atoms, keys: LabelKeys, source: str, problems: list[str]) -> Frame | None:
    """Build a Frame from an ASE Atoms read from a file; append problems instead of raising."""
    energy = _lookup(atoms, keys.energy)
    forces = _lookup(atoms, keys.forces)
    missing = [name for name, value in ((f"energy ('{keys.energy}')", energy), (f"forces ('{keys.forces}')", forces))
               if value is None]
    if missing:
        problems.append(f"{source}: no {' and no '.join(missing)}")
        return None
    try:
        energy_eV = float(np.asarray(energy, dtype=float).reshape(()))
    except (TypeError, ValueError):
        problems.append(f"{source}: energy ('{keys.energy}') is not one number: {energy!r}")
        return None
    try:
        forces_array = np.array(forces, dtype=float)
    except (TypeError, ValueError):
        problems.append(f"{source}: forces ('{keys.forces}') are not numeric")
        return None

    virial = None
    raw_virial = _lookup(atoms, keys.virial)
    raw_stress = _lookup(atoms, keys.stress) if raw_virial is None else None
    if raw_virial is not None or raw_stress is not None:
        key = keys.virial if raw_virial is not None else keys.stress
        tensor = _as_tensor(raw_virial if raw_virial is not None else raw_stress)
        if tensor is None:
            problems.append(f"{source}: '{key}' must have 6 or 9 components")
            return None
        if raw_virial is not None:
            virial = tensor
        elif not all(atoms.pbc):
            problems.append(f"{source}: stress ('{key}') given for a cell that is not periodic in 3D")
            return None
        else:
            virial = -tensor * atoms.get_volume()

    config_type = atoms.info.get(keys.config_type, DEFAULT_CONFIG_TYPE)
    bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    return Frame(bare, energy_eV, forces_array, virial, str(config_type), source)


def read_dataset(
    paths: Path | Sequence[Path],
    keys: LabelKeys | None = None,
    *,
    format: str = "extxyz",
    name: str = "dataset",
) -> Dataset:
    """Read every frame of ``paths`` (in order) into a Dataset.

    Raises InputDataError naming the file and frame index (0-based within its
    file) for unreadable files and frames without energy or forces.
    """
    keys = keys or LabelKeys()
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    frames: list[Frame] = []
    problems: list[str] = []
    for path in paths:
        if not path.is_file():
            raise InputDataError(f"{path}: data file not found")
        images = _read_extxyz(path) if format == "extxyz" else _read_any(path, format)
        if not images:
            raise InputDataError(f"{path}: contains no frames")
        for index, atoms in enumerate(images):
            frame = frame_from_atoms(atoms, keys, f"{path.name} frame {index}", problems)
            if frame is not None:
                frames.append(frame)
    raise_problems(", ".join(str(p) for p in paths), problems)
    return Dataset(frames, name=name)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_any(path: Path, format: str) -> list[Atoms]:
    images: list[Atoms] = []
    try:
        for atoms in iread(path, index=":", format=format, parallel=False):
            images.append(atoms)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types for malformed files
        raise InputDataError(f"{path}: frame {len(images)}: cannot read as {format}: {_one_line(exc)}") from exc
    return images


def _read_extxyz(path: Path) -> list[Atoms]:
    """Every frame of an extended XYZ file, each parsed on its own so that an error names its frame and line.

    ASE alone reports neither, and stops without a word at a blank line, dropping the frames after it.
    """
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        bad_line, bad_byte = None, 0
    except UnicodeDecodeError as exc:
        bad_line, bad_byte = raw[: exc.start].count(b"\n"), raw[exc.start]
    lines = raw.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    images: list[Atoms] = []
    start = 0

    def refuse_bytes(stop: int) -> None:  # only once a frame's lines hold the undecodable byte
        if bad_line is not None and start <= bad_line < stop:
            raise InputDataError(f"{path}: frame {len(images)} (line {bad_line + 1}): byte {bad_byte:#04x} "
                                 "is not UTF-8; extended XYZ is text")

    while start < len(lines):
        where = f"{path}: frame {len(images)} (line {start + 1})"
        refuse_bytes(start + 1)
        count_line = lines[start].strip()
        if not count_line:
            if any(line.strip() for line in lines[start:]):
                raise InputDataError(f"{where}: blank line before more frames; other readers stop here, "
                                     "so remove it")
            break
        try:
            natoms = int(count_line)
        except ValueError:
            hint = f" (does the atom count of frame {len(images) - 1} match its atom lines?)" if images else ""
            raise InputDataError(f"{where}: expected the atom count, got {count_line[:60]!r}{hint}") from None
        if natoms < 0:
            raise InputDataError(f"{where}: negative atom count {natoms}")
        stop = start + 2 + natoms
        refuse_bytes(stop)
        if stop > len(lines):
            found = max(0, len(lines) - start - 2)
            raise InputDataError(f"{where}: the file ends after {found} of {natoms} atom lines")
        try:
            atoms = read(StringIO("".join(lines[start:stop])), index=0, format="extxyz", parallel=False)
        except KeyError as exc:  # ASE's lookup of an element symbol
            raise InputDataError(f"{where}: cannot read as extended XYZ: unknown name {exc.args[0]!r} "
                                 "(an element symbol?)") from exc
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for malformed frames
            raise InputDataError(f"{where}: cannot read as extended XYZ: {_one_line(exc)}") from exc
        images.append(atoms)
        start = stop
    return images


def write_dataset(dataset: Dataset, path: Path) -> Path:
    """Write ``dataset`` as extended XYZ with the default label keys (read back identically)."""
    keys = LabelKeys()
    images = []
    for frame in dataset:
        atoms = frame.atoms.copy()
        atoms.info[keys.config_type] = frame.config_type
        if frame.virial_eV is not None:
            atoms.info[keys.virial] = np.asarray(frame.virial_eV, dtype=float)
        atoms.calc = SinglePointCalculator(atoms, energy=frame.energy_eV, forces=frame.forces_eV_per_A)
        images.append(atoms)
    write(Path(path), images, format="extxyz", parallel=False)
    return Path(path)

"""SNAP and quadratic SNAP: the ``.snapcoeff``/``.snapparam`` pair that ``pair_style snap`` reads.

File formats (LAMMPS manual, pair_style snap): the param file holds ``keyword
value`` lines (rcutfac, twojmax, rfac0, rmin0, quadraticflag, bzeroflag, ...);
the coeff file holds ``nelem ncoeff`` then, per element, a line ``name radelem
wj`` followed by ``ncoeff`` coefficients. Pair cutoffs are
``rcutfac * (radelem_i + radelem_j)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from simkit.errors import InputDataError
from simkit.lammps.potentials.base import PairCoeff, PairStyle, describe_files, element_map

# Keywords pair_style snap understands in a .snapparam file, with value types.
SNAP_PARAM_TYPES: dict[str, type] = {
    "rcutfac": float,
    "twojmax": int,
    "rfac0": float,
    "rmin0": float,
    "quadraticflag": int,
    "bzeroflag": int,
    "switchflag": int,
    "chemflag": int,
    "bnormflag": int,
    "wselfallflag": int,
    "switchinnerflag": int,
    "sinner": str,  # per-element lists are kept as text
    "dinner": str,
    "chunksize": int,
    "parallelthresh": int,
}


@dataclass
class SnapElement:
    name: str
    radelem: float
    wj: float
    coefficients: np.ndarray  # shape (ncoeff,): beta_0 first


@dataclass
class SnapModel:
    """The content of a .snapcoeff/.snapparam pair."""

    params: dict[str, float | int | str]
    elements: list[SnapElement] = field(default_factory=list)

    @property
    def element_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.elements)

    @property
    def cutoff_A(self) -> float:
        rcutfac = float(self.params["rcutfac"])
        return 2.0 * rcutfac * max(e.radelem for e in self.elements)

    def write(self, coeff_path: Path, param_path: Path, header: str = "") -> None:
        write_snap_files(self, coeff_path, param_path, header=header)


def _data_lines(path: Path) -> list[tuple[int, str]]:
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InputDataError(f"{path}:{line}: byte {exc.object[exc.start]:#04x} is not UTF-8; "
                             "SNAP files are text") from exc
    out = []
    for number, raw in enumerate(content.splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if text:
            out.append((number, text))
    return out


def read_snapparam(path: Path) -> dict[str, float | int | str]:
    params: dict[str, float | int | str] = {}
    for number, text in _data_lines(Path(path)):
        key, *rest = text.split()
        if key not in SNAP_PARAM_TYPES:
            raise InputDataError(f"{path}:{number}: unknown SNAP keyword '{key}'")
        if not rest:
            raise InputDataError(f"{path}:{number}: keyword '{key}' has no value")
        kind = SNAP_PARAM_TYPES[key]
        try:
            params[key] = " ".join(rest) if kind is str else kind(float(rest[0]) if kind is int else rest[0])
        except ValueError as exc:
            raise InputDataError(f"{path}:{number}: bad value for '{key}': {rest[0]!r}") from exc
    for required in ("rcutfac", "twojmax"):
        if required not in params:
            raise InputDataError(f"{path}: missing required SNAP keyword '{required}'")
    return params


def read_snapcoeff(path: Path) -> list[SnapElement]:
    lines = _data_lines(Path(path))
    if not lines:
        raise InputDataError(f"{path}: empty SNAP coefficient file")
    number, header = lines[0]
    try:
        nelem, ncoeff = (int(v) for v in header.split()[:2])
    except ValueError as exc:
        raise InputDataError(f"{path}:{number}: expected 'nelem ncoeff', got {header!r}") from exc
    elements: list[SnapElement] = []
    cursor = 1
    for _ in range(nelem):
        if cursor >= len(lines):
            raise InputDataError(f"{path}: file ends before element {len(elements) + 1} of {nelem}")
        number, text = lines[cursor]
        words = text.split()
        if len(words) < 3:
            raise InputDataError(f"{path}:{number}: expected 'element radelem wj', got {text!r}")
        block = lines[cursor + 1 : cursor + 1 + ncoeff]
        if len(block) < ncoeff:
            raise InputDataError(f"{path}: element {words[0]} has {len(block)} of {ncoeff} coefficients")
        try:
            coefficients = np.array([float(t.split()[0]) for _, t in block])
            elements.append(SnapElement(words[0], float(words[1]), float(words[2]), coefficients))
        except ValueError as exc:
            raise InputDataError(f"{path}:{number}: non-numeric entry in element {words[0]}") from exc
        cursor += 1 + ncoeff
    return elements


def bispectrum_count(twojmax: int) -> int:
    """Number of bispectrum components B_{j1,j2,j} for ``twojmax`` (as LAMMPS's SNA counts them)."""
    count = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            count += sum(1 for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2) if j >= j1)
    return count


def expected_coefficients(params: dict, nelements: int) -> int:
    """Coefficients per element that ``pair_style snap`` expects for these parameters."""
    n = bispectrum_count(int(params["twojmax"]))
    if int(params.get("chemflag", 0)):
        n *= nelements ** 3
    return n + 1 + (n * (n + 1) // 2 if int(params.get("quadraticflag", 0)) else 0)


def read_snap(coeff_path: Path, param_path: Path) -> SnapModel:
    """Read and check a coeff/param pair, so that a bad pair is refused before LAMMPS reads it."""
    params = read_snapparam(param_path)
    elements = read_snapcoeff(coeff_path)
    rcutfac, twojmax = float(params["rcutfac"]), int(params["twojmax"])
    if not (np.isfinite(rcutfac) and rcutfac > 0):
        raise InputDataError(f"{param_path}: rcutfac must be a positive number, got {params['rcutfac']}")
    if twojmax < 0:
        raise InputDataError(f"{param_path}: twojmax must be >= 0, got {twojmax}")
    expected = expected_coefficients(params, len(elements))
    for element in elements:
        if len(element.coefficients) != expected:
            raise InputDataError(
                f"{coeff_path}: element {element.name} has {len(element.coefficients)} coefficients, but "
                f"{param_path.name} (twojmax {twojmax}, quadraticflag {params.get('quadraticflag', 0)}, "
                f"chemflag {params.get('chemflag', 0)}) needs {expected}"
            )
        values = [element.radelem, element.wj, *element.coefficients]
        if not np.all(np.isfinite(values)):
            raise InputDataError(f"{coeff_path}: element {element.name} has non-finite numbers")
        if element.radelem <= 0:
            raise InputDataError(f"{coeff_path}: element {element.name} has radelem {element.radelem}; it must be > 0")
    return SnapModel(params=params, elements=elements)


def write_snap_files(model: SnapModel, coeff_path: Path, param_path: Path, header: str = "") -> None:
    """Write the pair of files that plain LAMMPS reads; coefficients at full precision."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    ncoeff = {len(e.coefficients) for e in model.elements}
    if len(ncoeff) != 1:
        raise ValueError(f"elements have different coefficient counts: {sorted(ncoeff)}")
    lines = [comment + f"{len(model.elements)} {ncoeff.pop()}"]
    for element in model.elements:
        lines.append(f"{element.name} {element.radelem!r} {element.wj!r}")
        lines.extend(f"{c:.17g}" for c in element.coefficients)
    Path(coeff_path).write_text("\n".join(lines) + "\n")
    params = [comment.rstrip("\n")] if comment else []
    params += [f"{k} {v}" for k, v in model.params.items()]
    Path(param_path).write_text("\n".join(params) + "\n")


class SnapPotential:
    """``pair_style snap`` from a coeff/param file pair (linear or quadratic)."""

    kind = "snap"

    def __init__(self, coeff_path: Path, param_path: Path):
        self.coeff_path = Path(coeff_path)
        self.param_path = Path(param_path)
        self.model = read_snap(self.coeff_path, self.param_path)

    @property
    def elements(self) -> tuple[str, ...]:
        return self.model.element_names

    @property
    def cutoff_A(self) -> float:
        return self.model.cutoff_A

    @property
    def quadratic(self) -> bool:
        return bool(int(self.model.params.get("quadraticflag", 0)))

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        names = element_map(f"SNAP potential {self.coeff_path.name}", self.elements, species)
        args = (str(self.coeff_path), str(self.param_path), *names)
        return PairStyle("snap", (), (PairCoeff("*", "*", args),))

    def files(self) -> tuple[Path, ...]:
        return (self.coeff_path, self.param_path)

    def describe(self) -> dict:
        return describe_files(
            self.kind, self.files(), elements=list(self.elements), quadratic=self.quadratic,
            twojmax=int(self.model.params["twojmax"]), cutoff_A=self.cutoff_A,
        )

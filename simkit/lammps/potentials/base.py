"""The interface every potential implements: it says which LAMMPS pair style to use.

A potential never talks to LAMMPS itself. It returns a :class:`PairStyle`, plain
data that :class:`simkit.lammps.session.LammpsSession` renders into
``pair_style``/``pair_coeff`` commands for the species order of the system at
hand. That keeps every LAMMPS input string in the session layer and lets
potentials be combined (``hybrid/overlay``) without knowing about each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from simkit.errors import InputDataError
from simkit.runtime.hashing import sha256_file


@dataclass(frozen=True)
class PairCoeff:
    """One ``pair_coeff I J args...`` line; I and J are ``*`` or 1-based type numbers."""

    i: str
    j: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class PairStyle:
    """A pair style with its coefficients, for one species order."""

    style: str
    style_args: tuple[str, ...] = ()
    coeffs: tuple[PairCoeff, ...] = ()
    # Pair styles that must exist in the LAMMPS in use (e.g. 'pace' -> simkit's plugin).
    requires: tuple[str, ...] = field(default=())


@runtime_checkable
class Potential(Protocol):
    """What the session layer needs from a potential."""

    @property
    def elements(self) -> tuple[str, ...] | None:
        """Elements this potential describes; None if it accepts any element (e.g. ZBL)."""

    @property
    def cutoff_A(self) -> float:
        """Largest interaction range in Å."""

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        """The pair style for a system whose LAMMPS types 1..n are ``species``."""

    def files(self) -> tuple[Path, ...]:
        """Files the potential reads (hashed into run summaries)."""

    def describe(self) -> dict:
        """A JSON-able description for provenance (kind, files, sha256)."""


def describe_files(kind: str, paths: Sequence[Path], **extra) -> dict:
    """Standard provenance block for a file-backed potential."""
    return {
        "kind": kind,
        "files": [{"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for p in paths],
        **extra,
    }


def element_map(potential_name: str, covered: Sequence[str] | None, species: Sequence[str]) -> list[str]:
    """Map LAMMPS types to the potential's element names, refusing uncovered species."""
    if covered is None:
        return list(species)
    missing = [el for el in species if el not in covered]
    if missing:
        raise InputDataError(
            f"{potential_name} has no parameters for element(s) {', '.join(missing)} "
            f"(it covers {', '.join(covered)})"
        )
    return list(species)

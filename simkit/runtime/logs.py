"""Logging set-up: rank 0 talks, other ranks only warn (prefixed with their rank)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(rank: int = 0, *, verbose: bool = False, log_file: Path | None = None) -> None:
    """Configure the ``simkit`` logger for one process.

    Called by the CLI once per process; library users configure logging themselves.
    """
    logger = logging.getLogger("simkit")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)

    console = logging.StreamHandler(sys.stderr)
    if rank == 0:
        console.setLevel(logging.DEBUG if verbose else logging.INFO)
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if not verbose else _FORMAT))
    else:
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter(f"[rank {rank}] %(levelname)s: %(message)s"))
    logger.addHandler(console)
    if log_file is not None and rank == 0:
        add_file_log(log_file)


def add_file_log(path: Path) -> None:
    """Also write the full (debug) log to ``path`` (rank 0 only by convention)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger("simkit")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)

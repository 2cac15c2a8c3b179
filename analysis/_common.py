"""Helpers shared by the recipes in this folder (not part of the simkit package)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from simkit.config.loader import format_validation_error
from simkit.errors import InputDataError, SimkitError
from simkit.io import TRAJECTORY_FILE


def trajectory_of(run: str | Path) -> Path:
    """A run directory (holding trajectory.h5md) or the trajectory file itself."""
    path = Path(run)
    if path.is_dir():
        candidate = path / TRAJECTORY_FILE
        if candidate.is_file():
            return candidate
        found = sorted(path.glob("*.h5md"))
        if len(found) == 1:
            return found[0]
        raise InputDataError(f"{path}: no {TRAJECTORY_FILE} (and not exactly one *.h5md) in this run directory")
    if not path.is_file():
        raise InputDataError(f"{path}: no such run directory or trajectory file")
    return path


def label_of(run: str | Path) -> str:
    path = Path(run)
    return path.name if path.is_dir() else path.stem


def run_recipe(main: Callable[[], int]) -> int:
    """Run a recipe's main; errors a person can fix print as one line (exit 2), like simkit's CLI."""
    name = Path(sys.argv[0]).name
    try:
        return main()
    except SimkitError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"{name}: error: {format_validation_error(exc, 'options')}", file=sys.stderr)
        return 2

"""Drive pacemaker (python-ace) as a subprocess: dataset pickle, input.yaml, run, convert.

Each stage runs in its own directory with its own ``input.yaml`` and log file;
the exit code is checked and the last lines of the log are quoted on failure.
TensorFlow is limited to the cores the fit was given through environment
variables of the subprocess (TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS,
OMP_NUM_THREADS), so concurrent candidates do not oversubscribe the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from simkit.errors import BackendSetupError, RunFailed
from simkit.runtime.mpi import without_launcher

DATA_FILE = "train.pckl.gzip"
INPUT_FILE = "input.yaml"
OUTPUT_POTENTIAL = "output_potential.yaml"
LOG_FILE = "pacemaker.log"
_LOG_TAIL_LINES = 15
# Launcher variables of an mpirun parent; a child that saw them could try to join its MPI job.


def tool(name: str) -> Path:
    """A python-ace command-line tool next to this interpreter (pacemaker, pace_yaml2yace)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise BackendSetupError(
            f"{name} not found next to {sys.executable}; install the ACE extra (python-ace) with `make setup`"
        )
    return path


def subprocess_env(cores: int) -> dict[str, str]:
    env = without_launcher(dict(os.environ))
    cores = str(max(1, int(cores)))
    env.update({
        "TF_NUM_INTRAOP_THREADS": cores,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": cores,
        "OPENBLAS_NUM_THREADS": cores,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",  # same seed, same potential
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
    })
    return env


def write_dataset_pickle(
    path: Path,
    structures: Sequence,
    energies_eV: np.ndarray,
    forces_eV_per_A: Sequence[np.ndarray],
    corrected_energies_eV: np.ndarray,
    energy_weights: np.ndarray,
    force_weights: Sequence[np.ndarray],
) -> Path:
    """pacemaker's dataset: a gzipped pandas pickle with its column names."""
    # lazy: pandas takes ~0.4 s to import, and every fit config load imports this module (through the registry)
    import pandas as pd

    frame = pd.DataFrame({
        "ase_atoms": list(structures),
        "energy": np.asarray(energies_eV, dtype=float),
        "forces": [np.asarray(f, dtype=float) for f in forces_eV_per_A],
        "energy_corrected": np.asarray(corrected_energies_eV, dtype=float),
        "w_energy": np.asarray(energy_weights, dtype=float),
        "w_forces": [np.asarray(w, dtype=float) for w in force_weights],
    })
    frame.to_pickle(path, compression="gzip")
    return Path(path)


def write_input(path: Path, document: dict[str, Any]) -> Path:
    Path(path).write_text(yaml.safe_dump(document, sort_keys=False, default_flow_style=None))
    return Path(path)


def _log_tail(path: Path) -> str:
    if not path.is_file():
        return "(no log written)"
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def run_pacemaker(stage_dir: Path, cores: int, *, initial_potential: Path | None = None) -> Path:
    """Run ``pacemaker input.yaml`` in ``stage_dir``; returns the fitted potential's path."""
    command = [str(tool("pacemaker")), INPUT_FILE, "--no-predict", "-l", "pacemaker_internal.log"]
    if initial_potential is not None:
        # -p replaces the potential section by a fitted potential: its coefficients are the start.
        command += ["-p", str(initial_potential)]
    log_path = stage_dir / LOG_FILE
    with log_path.open("w") as log:
        result = subprocess.run(
            command, cwd=stage_dir, env=subprocess_env(cores), stdout=log, stderr=subprocess.STDOUT, check=False
        )
    output = stage_dir / OUTPUT_POTENTIAL
    if result.returncode != 0 or not output.is_file():
        raise RunFailed(
            f"pacemaker failed in {stage_dir} (exit code {result.returncode}); end of {log_path}:\n{_log_tail(log_path)}"
        )
    return output


def convert_to_yace(potential_yaml: Path, yace_path: Path, e0_eV: Sequence[float] | None = None) -> Path:
    """``pace_yaml2yace`` the fitted potential, then write per-element E0 (eV) into the .yace."""
    log_path = yace_path.with_suffix(".yaml2yace.log")
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(tool("pace_yaml2yace")), str(potential_yaml), "-o", str(yace_path)],
            cwd=yace_path.parent, stdout=log, stderr=subprocess.STDOUT, check=False,
            env=subprocess_env(1),
        )
    if result.returncode != 0 or not yace_path.is_file():
        raise RunFailed(f"pace_yaml2yace failed on {potential_yaml} (exit code {result.returncode}): {_log_tail(log_path)}")
    if e0_eV is not None:
        set_yace_e0(yace_path, e0_eV)
    return yace_path


_E0_LINE = re.compile(r"^E0:.*$", re.MULTILINE)


def set_yace_e0(yace_path: Path, e0_eV: Sequence[float]) -> None:
    """Replace the top-level ``E0`` list (energy of an isolated atom per element, eV).

    pacemaker fits energies minus per-element reference energies and writes
    E0 = 0; putting the references back makes LAMMPS report total energies.
    """
    text = yace_path.read_text()
    matches = _E0_LINE.findall(text)
    if len(matches) != 1:
        raise RunFailed(f"{yace_path}: expected one top-level 'E0:' line, found {len(matches)}")
    values = ", ".join(repr(float(v)) for v in e0_eV)
    yace_path.write_text(_E0_LINE.sub(f"E0: [{values}]", text, count=1))

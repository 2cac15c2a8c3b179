"""Shared fixtures: every test runs in its own temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.summary_scan import scan_tree

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(_shared_cache()))
    yield
    # Every summary a test run wrote is checked for numbers that stand for an undefined quantity.
    findings = scan_tree(tmp_path)
    if findings:
        pytest.fail("summaries hold non-finite or absurd numbers (report null plus a reason):\n"
                    + "\n".join(findings[:20]), pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _scan_shared_outputs(tmp_path_factory):
    """The same check over folders of module- and session-scoped fixtures, once at the end."""
    yield
    findings = scan_tree(tmp_path_factory.getbasetemp())
    if findings:
        pytest.fail("summaries hold non-finite or absurd numbers (report null plus a reason):\n"
                    + "\n".join(findings[:20]), pytrace=False)


def _shared_cache() -> Path:
    # Compiled plugins are expensive; share them across tests but keep them out of $HOME.
    path = Path(os.environ.get("SIMKIT_TEST_CACHE", REPO / ".pytest_cache" / "simkit-cache"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # simkit refuses a cache others can write to
    return path


@pytest.fixture(scope="session")
def lammps_potentials() -> Path:
    from simkit.runtime.paths import lammps_potentials_dir

    return lammps_potentials_dir()


@pytest.fixture(scope="session")
def si_snap(lammps_potentials):
    from simkit.lammps.potentials import SnapPotential

    return SnapPotential(
        lammps_potentials / "Si_Zuo_JPCA2020.snapcoeff", lammps_potentials / "Si_Zuo_JPCA2020.snapparam"
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251121)


def run_cli(*args: str, np_ranks: int | None = None, cwd: Path | None = None, timeout: float = 600, env=None):
    """Run the installed ``simkit`` CLI (optionally under mpirun) and return the CompletedProcess."""
    command = [str(BIN / "simkit"), *args]
    if np_ranks is not None:
        command = [str(BIN / "mpirun"), "-np", str(np_ranks), *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


def run_python_mpi(script: Path, np_ranks: int, *args: str, timeout: float = 600, env=None):
    """Run ``script`` with this interpreter under the environment's mpirun."""
    command = [str(BIN / "mpirun"), "-np", str(np_ranks), sys.executable, str(script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)

"""Domain decomposition: mpirun -np 2 equals one rank; NVE conserves energy like SNAP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simkit.ace.check import evaluate_lammps
from tests.ace import helpers
from tests.conftest import run_python_mpi

WORKER = Path(__file__).with_name("mpi_worker.py")


def _structures(elements):
    base = helpers.base_cell(elements).repeat((2, 1, 1))
    rng = np.random.default_rng(11)
    out = []
    for sigma, scale in [(0.05, 1.0), (0.08, 0.96)]:
        atoms = base.copy()
        atoms.set_cell(atoms.cell.array * scale, scale_atoms=True)
        atoms.positions += rng.normal(0.0, sigma, atoms.positions.shape)
        out.append(atoms)
    out.append(helpers.close_contact(out[0], 1.8))
    return out


@pytest.mark.mpi
@pytest.mark.slow
@pytest.mark.parametrize("name", ["si_sbessel", "inp_chebpow_core"])
def test_two_ranks_equal_serial(fitted_models, name, tmp_path):
    from ase.io import write

    model = fitted_models[name]
    elements = list(model.elements)
    structures = _structures(model.elements)
    data = tmp_path / "structures.traj"
    write(data, structures)
    out = tmp_path / "mpi.npz"
    result = run_python_mpi(WORKER, 2, "evaluate", str(model.path), ",".join(elements), str(data), str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mpi = np.load(out)
    assert int(mpi["size"]) == 2

    serial = [evaluate_lammps(model.path, atoms, elements) for atoms in structures]
    energy = np.array([s.energy_eV for s in serial])
    forces = np.concatenate([s.forces_eV_per_A for s in serial])
    energies = np.concatenate([s.energies_eV for s in serial])
    virial = np.array([s.virial_eV for s in serial])
    fscale = np.abs(forces).max()
    for tag in ("on", "off"):
        print(f"{name} newton {tag}: max rel dE {np.abs(mpi[f'energy_{tag}'] / energy - 1).max():.1e}, "
              f"max |dF|/max|F| {np.abs(mpi[f'forces_{tag}'] - forces).max() / fscale:.1e}, "
              f"max |dW|/max|W| {np.abs(mpi[f'virial_{tag}'] - virial).max() / np.abs(virial).max():.1e}")
        np.testing.assert_allclose(mpi[f"energy_{tag}"], energy, rtol=1e-10, atol=0)
        assert np.abs(mpi[f"forces_{tag}"] - forces).max() <= 1e-10 * fscale
        assert np.abs(mpi[f"energies_{tag}"] - energies).max() <= 1e-10 * np.abs(energies).max()
        assert np.abs(mpi[f"virial_{tag}"] - virial).max() <= 1e-10 * np.abs(virial).max()


@pytest.mark.mpi
@pytest.mark.slow
def test_nve_conserves_energy_like_snap(fitted_models, tmp_path):
    model = fitted_models["si_sbessel"]
    out = tmp_path / "nve.npz"
    result = run_python_mpi(WORKER, 2, "nve", str(model.path), str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = np.load(out)
    n = int(data["natoms"])
    ace, snap = data["ace"] / n, data["snap"] / n
    assert len(ace) == len(snap) == 101
    ace_spread = ace.max() - ace.min()
    snap_spread = snap.max() - snap.min()
    ace_drift = abs(np.polyfit(np.arange(len(ace)), ace, 1)[0]) * len(ace)
    snap_drift = abs(np.polyfit(np.arange(len(snap)), snap, 1)[0]) * len(snap)
    print(f"NVE 1000 x 1 fs, 216 Si at 1200 K: total-energy spread ACE {ace_spread:.2e}, SNAP {snap_spread:.2e} "
          f"eV/atom; drift ACE {ace_drift:.2e}, SNAP {snap_drift:.2e} eV/atom")
    # "as well as SNAP": within a factor of two of SNAP's own fluctuation and drift
    # (a force/energy mismatch gives drifts orders of magnitude larger)
    assert ace_spread <= 2.0 * snap_spread + 1e-6
    assert ace_drift <= 2.0 * snap_drift + 1e-6


@pytest.mark.mpi
@pytest.mark.slow
def test_first_use_under_mpirun_builds_once(tmp_path):
    """With an empty cache, rank 0 builds while rank 1 waits; both then load the same object."""
    import os

    from ase.io import write

    model = helpers.random_model(tmp_path / "si.yace", ("Si",), 30, [6, 3, 2], [0, 2, 1], seed=4)
    structures = _structures(("Si",))[:1]
    data = tmp_path / "structures.traj"
    write(data, structures)
    cache = tmp_path / "fresh-cache"
    env = dict(os.environ, SIMKIT_CACHE_DIR=str(cache))
    out = tmp_path / "mpi.npz"
    result = run_python_mpi(WORKER, 2, "evaluate", str(model), "Si", str(data), str(out), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(list((cache / "lammps-plugins").glob("*.so"))) == 1
    serial = evaluate_lammps(model, structures[0], ["Si"])
    np.testing.assert_allclose(np.load(out)["energy_on"], [serial.energy_eV], rtol=1e-10)

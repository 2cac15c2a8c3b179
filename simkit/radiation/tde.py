"""Threshold displacement energies: for each direction, the smallest PKA energy that leaves a defect.

The protocol follows the threshold studies simkit is built for: the cell is
equilibrated (NPT) at each temperature, ``equilibrations`` times from
independent velocities; for each (equilibration, direction) the PKA gets
``scan.start_eV``, then ``scan.step_eV`` more each try, from the same
equilibrated atoms, with NVE inside and a thermostatted border
(:mod:`simkit.radiation.knock`), for ``scan.duration_fs``. A try leaves a
defect when Wigner-Seitz analysis against the perfect lattice finds a vacancy
(an atom left its site and did not come back: a Frenkel pair, or in a
compound possibly an antisite pair, which is counted too). The first such
energy is the threshold; none up to ``scan.max_eV`` is recorded as censored.

Each (equilibration, direction) scan is one task (:mod:`simkit.radiation.tasks`),
so scans run in parallel and a killed study resumes where it stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from simkit.analysis.defects import wigner_seitz
from simkit.lammps.session import LammpsSession
from simkit.radiation import directions as D
from simkit.radiation.config import DirectionsSpec, TdeConfig
from simkit.radiation.knock import Knock, KnockSettings, derived_seed, equilibrate_task, load_state, run_knock
from simkit.radiation.tasks import Task, raise_failed, run_tasks
from simkit.units import PS_PER_FS

log = logging.getLogger(__name__)


def study_directions(spec: DirectionsSpec) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(unit directions (n, 3), solid-angle weights summing to 1, labels)."""
    if spec.miller is not None:
        vectors = np.array([D.parse_direction(d) for d in spec.miller])
        labels = [_label(d) for d in spec.miller]
        weights = D.voronoi_weights(vectors, cubic_symmetry=spec.cubic_symmetry)
    else:
        vectors = (D.fibonacci_directions_irreducible(spec.fibonacci) if spec.irreducible
                   else D.fibonacci_directions(spec.fibonacci))
        labels = [f"f{i}" for i in range(len(vectors))]
        weights = D.voronoi_weights(vectors, cubic_symmetry=spec.irreducible)
    return vectors, np.asarray(weights, dtype=float), labels


def _label(value) -> str:
    if isinstance(value, str):
        return "<" + value.replace(" ", "") + ">"
    return "<" + "".join(f"{v:g}" for v in value) + ">"


def _state_path(out: Path, temperature_K: float, equilibration: int) -> Path:
    return out / "states" / f"T{temperature_K:g}K_e{equilibration}.npz"


def scan_task(task: Task, comm) -> dict:
    """Raise the PKA energy along one direction until a defect survives."""
    config, reference, species, t_index, equilibration, d_index, direction, pka, path = task.payload
    temperature = config.temperatures_K[t_index]
    state = load_state(Path(path))
    potential = config.potential.build()
    mass = float(atomic_masses[atomic_numbers[reference[pka].symbol]])
    trials = []
    threshold = None
    energies = np.arange(config.scan.start_eV, config.scan.max_eV + 1e-9, config.scan.step_eV)
    with LammpsSession(comm) as session:
        for trial, energy in enumerate(energies):
            settings = KnockSettings(
                temperature_K=temperature, duration_ps=config.scan.duration_fs * PS_PER_FS, border=config.border,
                timestep=config.timestep, seed=derived_seed(config.seed, 2, t_index, equilibration, d_index, trial),
            )
            run_knock(session, state, potential, species, Knock(pka, np.asarray(direction), float(energy), mass),
                      settings)
            found = wigner_seitz(reference, session.to_atoms())
            counts = found.counts(reference.get_chemical_symbols(), reference.get_chemical_symbols())
            trials.append([float(energy), counts["vacancies"], counts["interstitials"], counts["antisites"]])
            if counts["vacancies"] > 0 or counts["antisites"] > 0:
                threshold = float(energy)
                break
    return {"temperature_K": temperature, "equilibration": equilibration, "direction_index": d_index,
            "direction": [float(x) for x in direction], "tde_eV": threshold, "trials": trials}


def run_tde_tasks(config: TdeConfig, atoms: Atoms, species: tuple[str, ...], pka: int, results_dir: Path,
                  comm) -> tuple[list[dict], dict]:
    """Equilibrate, then knock atom ``pka`` along every direction at every (temperature, equilibration);
    every scan's result. ``species``: the LAMMPS type order."""
    out = Path(config.output_dir)
    vectors, weights, labels = study_directions(config.directions)
    equilibrations = []
    for t_index, temperature in enumerate(config.temperatures_K):
        for e in range(config.equilibrations):
            path = _state_path(out, temperature, e)
            payload = (config.potential, atoms, species, temperature, config.equilibration,
                       derived_seed(config.seed, 1, t_index, e), str(path))
            equilibrations.append(Task(f"equilibrate_T{temperature:g}K_e{e}", payload))
    states = run_tasks(equilibrate_task, equilibrations, results_dir, comm=comm, workers=config.workers)
    raise_failed(states, "equilibration")
    scans = []
    for t_index, temperature in enumerate(config.temperatures_K):
        for e in range(config.equilibrations):
            path = _state_path(out, temperature, e)
            for d_index, vector in enumerate(vectors):
                key = f"scan_T{temperature:g}K_e{e}_d{d_index}"
                scans.append(Task(key, (config, atoms, species, t_index, e, d_index, vector, pka, str(path))))
    results = run_tasks(scan_task, scans, results_dir, comm=comm, workers=config.workers)
    rows = [results[t.key] for t in scans]
    meta = {"pka_index": pka, "pka_species": atoms[pka].symbol, "directions": vectors.tolist(),
            "weights": weights.tolist(), "labels": labels, "atoms": len(atoms)}
    return rows, meta


"""Collision cascades: many PKAs (energies x directions x repeats) from one equilibrated cell.

The cell is the structure repeated cubically to at least ``cell.atoms_per_eV``
atoms per eV of the largest PKA energy (a structure whose ``repeat`` already
holds that many is used as given; one holding fewer is refused), equilibrated
once (NPT). Each cascade starts from that state: repeat k of a (energy,
direction) knocks the k-th atom (of the PKA species) nearest the cell centre,
so repeats differ in site and thermal phase, with its own border-thermostat
seed. Defects are counted by Wigner-Seitz analysis against the perfect lattice
every ``cascade.defects_every_ps`` (the peak and the surviving count), and the
final state is described fully (clusters, cloud shape). Electronic stopping is
a friction on atoms above ``min_energy_eV`` from a Lindhard-Scharff table
computed for the cell's elements and density, or a user table; the energy it
removed is measured, and the PKA energy less that loss is reported beside the
Lindhard (NRT) damage energy, with the NRT and arc-dpa displacement estimates.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from simkit.analysis.defects import defect_summary, wigner_seitz
from simkit.errors import ConfigError
from simkit.io.h5md_writer import H5mdWriter
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import append_snapshot, atoms_on_root, take_snapshot
from simkit.radiation import damage_models, stopping
from simkit.radiation.config import CascadeConfig
from simkit.radiation.directions import parse_direction
from simkit.radiation.knock import ElectronicLoss, Knock, KnockSettings, derived_seed, load_state, run_knock
from simkit.radiation.tasks import Task
from simkit.runtime.mpi import on_root, size_of

STOPPING_TABLE = "electronic_stopping.table"


def cascade_cell(atoms: Atoms, config: CascadeConfig) -> Atoms:
    """The cell for the campaign's largest energy (see the module docstring for the rule)."""
    needed = config.cell.atoms_per_eV * max(config.energies_eV)
    if tuple(config.structure.repeat) != (1, 1, 1):
        if len(atoms) < needed:
            raise ConfigError(
                f"structure.repeat {list(config.structure.repeat)} gives {len(atoms)} atoms, fewer than "
                f"cell.atoms_per_eV x the largest of energies_eV = {needed:.0f}: a cascade that large reaches "
                "its own periodic images; repeat the structure more, or lower cell.atoms_per_eV knowingly"
            )
        return atoms
    n = max(1, math.ceil((needed / len(atoms)) ** (1.0 / 3.0)))
    return atoms.repeat((n, n, n))


def write_stopping_table(config: CascadeConfig, atoms: Atoms, species: tuple[str, ...], path: Path) -> None:
    """The table ``fix electron/stopping`` reads: Lindhard-Scharff for this cell, or the user's, checked."""
    spec = config.electronic_stopping
    if spec.model == "table":
        energies, table = stopping.read_stopping_table(spec.table, len(species))
        if energies[-1] < max(config.energies_eV):
            raise ConfigError(f"electronic_stopping.table {spec.table}: its energies end at {energies[-1]:g} eV, "
                              f"below the largest PKA energy {max(config.energies_eV):g} eV")
        how = f"user table {spec.table}"
    else:
        symbols = atoms.get_chemical_symbols()
        composition = {s: symbols.count(s) / len(symbols) for s in set(symbols)}
        density = len(atoms) / atoms.get_volume()
        energies = stopping.stopping_fix_energy_grid(max(config.energies_eV))
        table = stopping.stopping_power_table(list(species), composition, density, energies)
        how = f"Lindhard-Scharff for a target of {', '.join(sorted(composition))} at {density:.5f} atoms/A^3"
    stopping.write_lammps_table(path, energies, table, species=list(species), description=how)


def displacement_threshold_eV(config: CascadeConfig, element: str) -> tuple[float, float | None, float | None]:
    """(E_d, arc-dpa b, arc-dpa c) for ``element``: the config's E_d, else the tabulated one."""
    tabulated = damage_models.ARC_DPA_PARAMETERS.get(element)
    if config.displacement_threshold_eV is not None:
        b, c = (tabulated[1], tabulated[2]) if tabulated else (None, None)
        return config.displacement_threshold_eV, b, c
    if tabulated is None:
        raise ConfigError(f"displacement_threshold_eV: no tabulated value for {element}; give one (eV)")
    return tabulated


def estimates(config: CascadeConfig, element: str, energy_eV: float) -> dict:
    z = atomic_numbers[element]
    mass = float(atomic_masses[z])
    threshold, b, c = displacement_threshold_eV(config, element)
    damage = float(damage_models.lindhard_damage_energy(energy_eV, z, mass))
    found = {"threshold_eV": threshold, "lindhard_damage_energy_eV": damage,
             "nrt_frenkel_pairs": float(damage_models.nrt_displacements(damage, threshold))}
    if b is not None:
        found["arc_dpa_frenkel_pairs"] = float(damage_models.arc_dpa_displacements(damage, threshold, b, c))
        found["arc_dpa_b"], found["arc_dpa_c"] = b, c
    return found


def cascade_task(task: Task, comm) -> dict:
    """One cascade; the result (time series, surviving defects, estimates) on every rank."""
    config, reference, state_path, pka, energy, direction, repeat, table, frames_path, species = task.payload
    started = time.perf_counter()
    state = load_state(Path(state_path))
    potential = config.potential.build()
    element = reference[pka].symbol
    mass = float(atomic_masses[atomic_numbers[element]])
    seed = derived_seed(config.seed, 3, repeat, int(energy * 1000))
    settings = KnockSettings(
        temperature_K=config.temperature_K, duration_ps=config.cascade.duration_ps, border=config.border,
        timestep=config.timestep, seed=seed, stopping_table=Path(table) if table else None,
        stopping_min_energy_eV=config.electronic_stopping.min_energy_eV if config.electronic_stopping else 10.0,
        ttm=config.ttm,
    )
    losses = ElectronicLoss(settings)
    series = {"time_ps": [], "vacancies": [], "interstitials": [], "antisites": [], "electronic_loss_eV": []}
    writer = None
    if frames_path:
        writer = H5mdWriter(frames_path, comm, time_origin="t = 0 ps is the knock (the PKA's velocity is set)")
    frame_every = config.cascade.frames_every_ps
    next_frame = [0.0]

    def count(atoms: Atoms, time_ps: float, loss: float) -> None:
        found = wigner_seitz(reference, atoms).counts(reference.get_chemical_symbols(), atoms.get_chemical_symbols())
        series["time_ps"].append(round(time_ps, 6))
        for name in ("vacancies", "interstitials", "antisites"):
            series[name].append(found[name])
        series["electronic_loss_eV"].append(loss)

    with LammpsSession(comm) as session:
        def sample(time_ps: float) -> None:
            due = writer is not None and time_ps >= next_frame[0] - 1e-12
            # the frame on rank 0 only (None elsewhere): the count and the file are rank 0's; velocities are
            # gathered only for a frame that is written
            snapshot = take_snapshot(session, velocities=due and writer.velocities)
            # every rank: reading the fix's total is a collective sum
            loss = losses(session)
            if due:
                # the file's clock starts at the knock, the session's at its first step
                frame = None if snapshot is None else replace(snapshot, time_ps=time_ps)
                append_snapshot(writer, session, frame)
                next_frame[0] += frame_every
            # on rank 0; a failure there is raised on every rank, so none is left waiting inside LAMMPS
            on_root(comm, lambda: count(snapshot.to_atoms(), time_ps, loss), share=False, poll=False)

        try:
            outcome = run_knock(session, state, potential, species,
                                Knock(pka, parse_direction(direction), float(energy), mass), settings,
                                sample_every_ps=config.cascade.defects_every_ps, on_sample=sample, losses=losses)
            final = atoms_on_root(session)  # used by describe(), on rank 0
        except BaseException:
            if writer is not None:
                writer.close("failed")
            raise
        if writer is not None:
            writer.close()

    def describe() -> dict:
        vacancies = np.array(series["vacancies"])
        peak = int(np.argmax(vacancies))
        return {
            "energy_eV": float(energy), "direction": direction, "repeat": repeat, "pka_index": int(pka),
            "pka_species": element, "series": series,
            "peak_frenkel_pairs": int(vacancies[peak]), "peak_time_ps": series["time_ps"][peak],
            "final": defect_summary(reference, final, config.cluster_cutoff_A),
            "electronic_model": ("two-temperature" if config.ttm is not None else "none"
                                 if config.electronic_stopping is None else config.electronic_stopping.model),
            "electronic_loss_eV": outcome.electronic_loss_eV,
            "energy_less_electronic_loss_eV": float(energy) - outcome.electronic_loss_eV,
            "estimates": estimates(config, element, float(energy)),
            "time_ps": outcome.time_ps, "steps": outcome.steps, "border_atoms": outcome.border_atoms,
            "atoms": len(reference), "ranks": size_of(comm), "wall_s": round(time.perf_counter() - started, 2),
            "frames": str(frames_path) if frames_path else None,
        }

    return on_root(comm, describe)

"""``simkit tde`` and ``simkit cascade`` as jobs: check the potential, open the study, run its tasks,
summarise on rank 0, and record the run (config, versions, seeds, hashes) in the run summary."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from simkit.errors import ConfigError, RunFailed
from simkit.lammps.potentials.base import Potential
from simkit.radiation import cascade_report, tde_report
from simkit.radiation.cascade import (
    STOPPING_TABLE,
    cascade_cell,
    cascade_task,
    displacement_threshold_eV,
    write_stopping_table,
)
from simkit.radiation.config import CascadeConfig, RepulsionSpec, TdeConfig
from simkit.radiation.knock import choose_pka, derived_seed, equilibrate_task, pka_candidates, species_for
from simkit.radiation.repulsion import check_repulsive_core
from simkit.radiation.study import STATES, open_study
from simkit.radiation.tasks import Task, raise_failed, run_tasks
from simkit.radiation.tde import run_tde_tasks
from simkit.runtime.mpi import on_root, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)


def check_short_range(potential: Potential, species: tuple[str, ...], energy_eV: float, spec: RepulsionSpec,
                      comm=None) -> list[dict]:
    """The dimer check of every species pair; an error (or a warning, as ``spec`` says) if one fails."""
    found = []
    for i, a in enumerate(species):
        for b in species[i:]:
            check = check_repulsive_core(potential, (a, b), energy_eV, comm=comm)
            found.append({"pair": f"{a}-{b}", "ok": check.ok, "reason": check.reason})
            if not check.ok:
                message = (f"potential: the {a}-{b} dimer is not repulsive enough at close approach for "
                           f"{energy_eV:g} eV knocks: {check.reason}. Overlay ZBL (potential.zbl: "
                           "{inner_A, outer_A}) or set repulsion.on_failure: warn")
                if spec.on_failure == "error":
                    raise ConfigError(message)
                log.warning(message)
    return found


def tde_job(config: TdeConfig, comm=None, *, resume: bool = False, overwrite: bool = False) -> dict:
    """Run (or resume) a threshold study; returns its summary (on every rank)."""
    out = Path(config.output_dir)
    atoms = load_structure(config.structure, np.random.default_rng(config.seed))
    potential = config.potential.build()
    species = species_for(potential, atoms)
    pka = choose_pka(atoms, config.pka)
    short_range = check_short_range(potential, species, config.scan.max_eV, config.repulsion, comm=comm)
    results_dir = open_study(out, "tde", config, resume=resume, overwrite=overwrite, comm=comm)
    record = RunRecord("tde", out, config, rank=rank_of(comm), mpi_size=size_of(comm), seeds={"tde": config.seed},
                       inputs=config.input_files(), potentials=[potential])
    with record:
        record.add_result("short_range", short_range)
        rows, meta = run_tde_tasks(config, atoms, species, pka, results_dir, comm)
        summary = _report(comm, record, out, rows, "scans", tde_report,
                          lambda done: tde_report.summarise(done, meta, config.scan.max_eV),
                          ("TDE_CSV", "TDE_JSON", "TDE_SPHERE_PNG", "TDE_HISTOGRAM_PNG"),
                          lambda done, summary: tde_report.write_outputs(out, done, meta, summary))
    return summary


def cascade_job(config: CascadeConfig, comm=None, *, resume: bool = False, overwrite: bool = False,
                ranks_per_cascade: int = 0) -> dict:
    """Run (or resume) a cascade campaign; returns its summary (on every rank).

    ``ranks_per_cascade`` 0: each cascade on all ranks (one at a time); 1: one cascade per rank.
    """
    out = Path(config.output_dir)
    unit = load_structure(config.structure, np.random.default_rng(config.seed))
    atoms = cascade_cell(unit, config)
    potential = config.potential.build()
    species = species_for(potential, atoms)
    candidates = pka_candidates(atoms, config.pka)
    for element in {atoms[int(i)].symbol for i in candidates[: config.repeats]}:
        displacement_threshold_eV(config, element)  # refused before anything runs
    short_range = check_short_range(potential, species, max(config.energies_eV), config.repulsion, comm=comm)
    results_dir = open_study(out, "cascade", config, resume=resume, overwrite=overwrite, comm=comm)
    table_path = out / STOPPING_TABLE if config.electronic_stopping is not None else None
    if table_path is not None:
        on_root(comm, lambda: write_stopping_table(config, atoms, species, table_path))
    record = RunRecord("cascade", out, config, rank=rank_of(comm), mpi_size=size_of(comm),
                       seeds={"cascade": config.seed}, inputs=config.input_files(), potentials=[potential])
    with record:
        record.add_result("atoms", len(atoms))
        record.add_result("short_range", short_range)
        state = out / STATES / f"T{config.temperature_K:g}K.npz"
        seed = derived_seed(config.seed, 1)
        equilibration = Task("equilibrate", (config.potential, atoms, species, config.temperature_K,
                                             config.equilibration, seed, str(state)))
        raise_failed(run_tasks(equilibrate_task, [equilibration], results_dir, comm=comm, ranks_per_task=0),
                     "equilibration")
        tasks = []
        for energy in config.energies_eV:
            for d_index, direction in enumerate(config.directions):
                for repeat in range(config.repeats):
                    key = f"cascade_E{energy:g}eV_d{d_index}_r{repeat}"
                    frames = out / "frames" / f"{key}.h5md" if config.cascade.frames_every_ps else None
                    pka = int(candidates[repeat % len(candidates)])
                    tasks.append(Task(key, (config, atoms, str(state), pka, energy, direction, repeat,
                                            str(table_path) if table_path else None, frames, species)))
        if any(t.payload[8] is not None for t in tasks):
            on_root(comm, lambda: (out / "frames").mkdir(parents=True, exist_ok=True))
        results = run_tasks(cascade_task, tasks, results_dir, comm=comm, ranks_per_task=ranks_per_cascade)
        rows = [results[t.key] for t in tasks]
        summary = _report(comm, record, out, rows, "cascades", cascade_report, cascade_report.summarise,
                          ("CASCADES_CSV", "CASCADE_JSON", "DEFECTS_TIME_PNG", "DEFECTS_ENERGY_PNG"),
                          lambda done, summary: cascade_report.write_outputs(out, done, summary))
    return summary


def _report(comm, record: RunRecord, out: Path, rows: list[dict], what: str, module, summarise, outputs,
            write) -> dict:
    """Summarise the finished tasks on rank 0 and write the outputs (named by ``module``'s constants);
    failed tasks are listed, and make the run fail after everything finished is written."""
    done = [r for r in rows if r.get("status") == "done"]
    failed = [r for r in rows if r.get("status") != "done"]

    def on_rank_0() -> dict:
        summary = summarise(done) if done else {}
        summary[f"failed_{what}"] = [{"key": r["key"], "error": r["error"]} for r in failed]
        if done:
            write(done, summary)
        return summary

    summary = on_root(comm, on_rank_0)
    for name in outputs:
        record.add_output(name.lower(), out / getattr(module, name))
    record.add_result(what, len(rows))
    record.add_result(f"failed_{what}", len(failed))
    if failed:
        raise RunFailed(f"{len(failed)} of {len(rows)} {what} failed (first: {failed[0]['key']}: "
                        f"{failed[0]['error']}); the others are kept: fix the cause and run with --resume")
    return summary

"""Config-driven runs behind ``simkit survive`` and ``simkit speed``.

Each job reads its inputs, calls the library function
(:func:`~simkit.screening.survival.run_survival`,
:func:`~simkit.screening.speed.measure_speed`), writes the report files and
``run_summary.json``, and returns the report. Collective over ``comm``.

``survive_job`` journals every replica as it ends
(:mod:`~simkit.screening.journal`), so that a killed screen resumes with the
replicas it finished.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from simkit.errors import ConfigError
from simkit.lammps.potentials.base import Potential
from simkit.runtime.mpi import on_root
from simkit.runtime.provenance import RunRecord
from simkit.screening.config import SpeedConfig, SurviveConfig, load_frames
from simkit.screening.journal import JOURNAL_FILE, ReplicaJournal, open_journal
from simkit.screening.replica import ReplicaResult
from simkit.screening.report import SURVIVAL_JSON, SURVIVAL_PNG, SurvivalReport
from simkit.screening.speed import SPEED_JSON, SpeedReport, measure_speed
from simkit.screening.survival import run_survival
from simkit.structures.geometry import check_replicable
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)

REPLICA_LOGS = "replicas"
EXTRAPOLATION_DIR = "extrapolation"  # cells of replicas that exceeded max_gamma


def _prepare_output(output_dir: Path, comm) -> Path:
    out = Path(output_dir)
    if comm.Get_rank() == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.Barrier()
    return out


def _open_screen(out: Path, config: SurviveConfig, potential: Potential, *, resume: bool, overwrite: bool,
                 source: str) -> list[ReplicaResult]:
    """Rank 0: the journal ready for this session; returns the replicas it kept."""
    done = open_journal(out, config, potential, resume=resume, overwrite=overwrite, source=source)
    if not done:  # a screen starting from nothing: what an earlier one left would only mislead
        shutil.rmtree(out / REPLICA_LOGS, ignore_errors=True)
        for name in (SURVIVAL_JSON, SURVIVAL_PNG):
            (out / name).unlink(missing_ok=True)
    return done


def survive_job(config: SurviveConfig, comm, *, resume: bool = False, overwrite: bool = False,
                source: str = "config") -> SurvivalReport:
    """Run (or resume) the survival screen of ``config`` on ``comm`` (one rank: worker processes; more: the ranks).

    A fresh run refuses an ``output_dir`` whose journal holds an unfinished
    screen unless ``overwrite``; ``resume`` keeps the replicas journalled there
    (refusing a journal of another config) and runs the rest. ``source`` names
    the config in error messages.
    """
    if resume and overwrite:
        raise ConfigError(f"{source}: give --resume or --overwrite, not both")
    rank, size = comm.Get_rank(), comm.Get_size()
    out = _prepare_output(config.output_dir, comm)
    if config.structure is not None:
        structures = [load_structure(config.structure, np.random.default_rng(config.seed))]
        check_replicable(structures, [config.survival.target_atoms], "survival.target_atoms", config.structure.file)
    else:
        structures = load_frames(config.frames)
        check_replicable(structures, [config.survival.target_atoms], "survival.target_atoms", config.frames.file,
                          frames=config.frames.index)
    reference = load_frames(config.reference_data) if config.reference_data is not None else None
    potential = config.potential.build()
    # Before the run record: a refused run leaves the directory as it found it.
    done = on_root(comm, lambda: _open_screen(out, config, potential, resume=resume, overwrite=overwrite,
                                              source=source))
    journal = ReplicaJournal(out) if rank == 0 else None
    record = RunRecord(
        "survive", out, config, rank=rank, mpi_size=size, seeds={"survival": config.seed},
        inputs=config.input_files(), potentials=[potential],
    )
    with record:
        if size > 1 and config.workers is not None:
            log.warning("workers = %d is ignored under mpirun: each of the %d ranks runs replicas", config.workers, size)
        report = run_survival(
            potential, config.survival, structures=structures,
            comm=comm if size > 1 else None, workers=None if size > 1 else config.workers,
            min_survival_fraction=config.min_survival_fraction, seed=config.seed,
            reference_structures=reference, log_dir=out / REPLICA_LOGS if config.replica_logs else None,
            structure_dir=out / EXTRAPOLATION_DIR, done=done, on_result=journal.record if journal is not None else None,
        )
        if journal is not None:
            report.write_json(out / SURVIVAL_JSON)
            report.plot(out / SURVIVAL_PNG)
            journal.mark_finished()
        record.add_output("survival", out / SURVIVAL_JSON)
        record.add_output("plot", out / SURVIVAL_PNG)
        record.add_output("journal", out / JOURNAL_FILE)
        if config.replica_logs:
            record.add_output("replica_logs", out / REPLICA_LOGS)
        record.add_result("replicas_from_journal", len(done))
        record.add_result("survival_fraction", report.survival_fraction)
        record.add_result("survived", report.survived)
        record.add_result("total", report.total)
        record.add_result("failure_modes", report.failure_modes)
        record.add_result("max_gamma", report.max_gamma)
        record.add_result("early_stopped", report.early_stopped)
        record.add_result("passed", report.passed)
    return report


def speed_job(config: SpeedConfig, comm) -> SpeedReport:
    """Measure the speed of ``config.potential`` on all ranks of ``comm`` together."""
    rank, size = comm.Get_rank(), comm.Get_size()
    structure = load_structure(config.structure, np.random.default_rng(config.seed))
    check_replicable([structure], config.speed.sizes_atoms, "speed.sizes_atoms", config.structure.file)
    potential = config.potential.build()
    out = _prepare_output(config.output_dir, comm)  # after the checks: a refused run makes no directory
    inputs = [config.structure.file] if config.structure.file is not None else []
    record = RunRecord(
        "speed", out, config, rank=rank, mpi_size=size, seeds={"velocities": config.seed},
        inputs=inputs, potentials=[potential],
    )
    with record:
        report = measure_speed(
            potential, config.speed, structure=structure, comm=comm, seed=config.seed, log_dir=out
        )
        if rank == 0:
            (out / SPEED_JSON).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        record.add_output("speed", out / SPEED_JSON)
        record.add_result("lammps_version", report.lammps_version)
        record.add_result("machine", report.machine)
        record.add_result("atom_steps_per_s", {
            f"{p.natoms} atoms, {p.ranks} ranks": p.atom_steps_per_s["median"] for p in report.points
        })
    return report

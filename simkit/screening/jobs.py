"""Config-driven runs behind ``simkit survive`` and ``simkit speed``.

Each job reads its inputs, calls the library function
(:func:`~simkit.screening.survival.run_survival`,
:func:`~simkit.screening.speed.measure_speed`), writes the report files and
``run_summary.json``, and returns the report. Collective over ``comm``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from simkit.runtime.provenance import RunRecord
from simkit.screening.config import SpeedConfig, SurviveConfig, load_frames
from simkit.screening.report import SURVIVAL_JSON, SURVIVAL_PNG, SurvivalReport
from simkit.screening.speed import SPEED_JSON, SpeedReport, measure_speed
from simkit.screening.survival import run_survival
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)


def _prepare_output(output_dir: Path, comm) -> Path:
    out = Path(output_dir)
    if comm.Get_rank() == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.Barrier()
    return out


def survive_job(config: SurviveConfig, comm) -> SurvivalReport:
    """Run the survival screen of ``config`` on ``comm`` (one rank: worker processes; more: the ranks)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    out = _prepare_output(config.output_dir, comm)
    if config.structure is not None:
        structures = [load_structure(config.structure, np.random.default_rng(config.seed))]
    else:
        structures = load_frames(config.frames)
    reference = load_frames(config.reference_data) if config.reference_data is not None else None
    potential = config.potential.build()
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
            reference_structures=reference, log_dir=out / "replicas" if config.replica_logs else None,
        )
        if rank == 0:
            report.write_json(out / SURVIVAL_JSON)
            report.plot(out / SURVIVAL_PNG)
        record.add_output("survival", out / SURVIVAL_JSON)
        record.add_output("plot", out / SURVIVAL_PNG)
        if config.replica_logs:
            record.add_output("replica_logs", out / "replicas")
        record.add_result("survival_fraction", report.survival_fraction)
        record.add_result("survived", report.survived)
        record.add_result("total", report.total)
        record.add_result("failure_modes", report.failure_modes)
        record.add_result("early_stopped", report.early_stopped)
        record.add_result("passed", report.passed)
    return report


def speed_job(config: SpeedConfig, comm) -> SpeedReport:
    """Measure the speed of ``config.potential`` on all ranks of ``comm`` together."""
    rank, size = comm.Get_rank(), comm.Get_size()
    out = _prepare_output(config.output_dir, comm)
    structure = load_structure(config.structure, np.random.default_rng(config.seed))
    potential = config.potential.build()
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

"""Run an :class:`~simkit.drivers.md.protocol.MdProtocol` on an MPI communicator."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np

from simkit.drivers.md.protocol import MdProtocol, MinimiseStage, NptStage, NveStage, NvtStage, VelocityStage
from simkit.errors import RunFailed
from simkit.lammps import dynamics
from simkit.lammps.session import LammpsSession
from simkit.runtime.outputs import LAMMPS_LOG, THERMO_CSV
from simkit.runtime.provenance import RunRecord
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)

THERMO_COLUMNS = (
    ("step", "step"),
    ("time_ps", "time"),
    ("temperature_K", "temp"),
    ("potential_energy_eV", "pe"),
    ("kinetic_energy_eV", "ke"),
    ("total_energy_eV", "etotal"),
    ("pressure_bar", "press"),
    ("volume_A3", "vol"),
)


class ThermoTable:
    """Thermo records appended to a CSV (rank 0 writes; units in the header)."""

    def __init__(self, path: Path, rank: int):
        self.path = path
        self.rank = rank
        self.rows: list[dict[str, float | str]] = []
        if rank == 0:
            with path.open("w", newline="") as handle:
                csv.writer(handle).writerow(["stage", *(name for name, _ in THERMO_COLUMNS)])

    def append(self, stage: str, thermo: dict[str, float]) -> None:
        row = {"stage": stage, **{name: thermo[key] for name, key in THERMO_COLUMNS}}
        row["step"] = int(row["step"])
        if not all(math.isfinite(float(row[name])) for name, _ in THERMO_COLUMNS):
            raise RunFailed(f"stage {stage}: non-finite thermo at step {int(thermo['step'])}: {row}")
        self.rows.append(row)
        if self.rank == 0:
            with self.path.open("a", newline="") as handle:
                csv.writer(handle).writerow([row["stage"], *(row[name] for name, _ in THERMO_COLUMNS)])


def _steps(duration_ps: float, timestep_fs: float) -> int:
    return max(1, round(duration_ps * 1000.0 / timestep_fs))


def run_protocol(protocol: MdProtocol, comm=None) -> dict:
    """Run every stage in order; returns a summary dict (also in run_summary.json)."""
    rank = comm.Get_rank() if comm is not None else 0
    size = comm.Get_size() if comm is not None else 1
    out = Path(protocol.output_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    if comm is not None:
        comm.Barrier()
    rng = np.random.default_rng(protocol.seed)
    atoms = load_structure(protocol.structure, rng)
    potential = protocol.potential.build()
    species = potential.elements or tuple(sorted(set(atoms.get_chemical_symbols())))

    record = RunRecord(
        "md", out, protocol, rank=rank, mpi_size=size, seeds={"protocol": protocol.seed}, potentials=[potential]
    )
    with record, LammpsSession(comm, log_path=out / LAMMPS_LOG) as session:
        session.create_system(atoms, species, label="protocol structure")
        session.set_potential(potential)
        session.set_thermo(every=0)
        thermo = ThermoTable(out / THERMO_CSV, rank)
        record.add_output("thermo", out / THERMO_CSV)
        record.add_output("lammps_log", out / LAMMPS_LOG)
        for index, stage in enumerate(protocol.stages):
            label = stage.name or f"{index}-{stage.stage}"
            log.info("stage %s", label)
            _run_stage(session, stage, label, protocol, thermo, seed=int(rng.integers(2**31 - 1)))
        final = session.to_atoms()
        if rank == 0:
            final.write(out / "final.extxyz")
        record.add_output("final_structure", out / "final.extxyz")
        last = thermo.rows[-1] if thermo.rows else {}
        record.add_result("natoms", len(final))
        record.add_result("final_thermo", last)
    return record.data


def _run_stage(session: LammpsSession, stage, label: str, protocol: MdProtocol, thermo: ThermoTable, seed: int) -> None:
    if isinstance(stage, VelocityStage):
        dynamics.create_velocities(session, stage.temperature_K, seed)
        return
    if isinstance(stage, MinimiseStage):
        dynamics.minimise(
            session,
            force_tolerance_eV_per_A=stage.force_tolerance_eV_per_A,
            max_iterations=stage.max_iterations,
            relax_box_bar=stage.relax_box_bar,
        )
        session.command("run 0 post no")
        thermo.append(label, session.thermo())
        return
    timestep_fs = stage.timestep_fs or protocol.timestep_fs
    dynamics.set_timestep(session, timestep_fs)
    fix_id = "simkit_integrator"
    if isinstance(stage, NvtStage):
        end = stage.end_temperature_K or stage.temperature_K
        dynamics.add_nvt(session, fix_id, stage.temperature_K, end, stage.damping_fs)
    elif isinstance(stage, NptStage):
        end = stage.end_temperature_K or stage.temperature_K
        dynamics.add_npt(
            session, fix_id, stage.temperature_K, end, stage.damping_fs,
            stage.pressure_bar, stage.pressure_damping_fs, stage.couple,
        )
    elif isinstance(stage, NveStage):
        dynamics.add_nve(session, fix_id)
    else:  # pragma: no cover - the schema admits no other stage
        raise TypeError(f"unhandled stage {stage!r}")
    dynamics.run_steps(
        session,
        _steps(stage.duration_ps, timestep_fs),
        chunk=protocol.thermo_every,
        on_chunk=lambda values: thermo.append(label, values),
    )
    dynamics.remove_fix(session, fix_id)

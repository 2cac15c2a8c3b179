"""Run an :class:`~simkit.drivers.md.protocol.MdProtocol` on an MPI communicator, or resume it.

Order of work: build and check the plan (no LAMMPS yet), then either set the
system up from scratch (structure, potential, regions, frozen slab) or read
the last checkpoint back, define the observables, and run the segments. Outputs
in ``output_dir``: ``thermo.csv``, ``profiles.csv`` (with ``profiles``),
``trajectory.h5md`` (observables, and frames with ``trajectory_every``),
``summary.png``, ``final.extxyz``, ``lammps.log`` (``lammps.resume<N>.log``
for resumed attempts), ``checkpoints/`` and ``run_summary.json``.

A caller holding the structure already (e.g. one run per sub-communicator,
where ASE must not read files: its parallel I/O broadcasts over COMM_WORLD)
passes it as ``atoms``; the protocol's ``structure`` still names it in the
fingerprint and the provenance.
"""

from __future__ import annotations

import json
import logging
import resource
import shutil
import time
from pathlib import Path

from ase import Atoms

from simkit.drivers.md.execute import Executor, Recorders, describe_segments
from simkit.drivers.md.extrapolation import EXTRAPOLATION_STRUCTURE, GammaCheck
from simkit.drivers.md.figures import plot_protocol
from simkit.drivers.md.plan import Plan, build_plan
from simkit.drivers.md.protocol import MdProtocol
from simkit.drivers.md.records import ProfileTable, ThermoTable
from simkit.drivers.md.state import (
    STATE_FILE,
    Checkpoint,
    RunState,
    check_checkpoint_in_plan,
    check_same_protocol,
    fingerprint,
    protocol_data,
    save_protocol,
    summary_says_finished,
)
from simkit.drivers.md.trajectory import TrajectoryRecord
from simkit.errors import ConfigError, LammpsError, StopRequested
from simkit.io import TRAJECTORY_FILE
from simkit.lammps import observables, regions
from simkit.lammps.checkpoint import read_checkpoint
from simkit.lammps.gamma import watch_gamma
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import atoms_on_root
from simkit.lammps.structure import lammps_box
from simkit.runtime.documents import utc_now
from simkit.runtime.mpi import every_rank_failed, on_all_ranks, on_root, rank_of, size_of
from simkit.runtime.outputs import LAMMPS_LOG, RUN_SUMMARY, THERMO_CSV
from simkit.runtime.provenance import RunRecord

log = logging.getLogger(__name__)

PROFILES_CSV = "profiles.csv"
SUMMARY_FIGURE = "summary.png"
FINAL_STRUCTURE = "final.extxyz"
INITIAL_STRUCTURE = "initial.extxyz"  # the cell as built, before any MD: e.g. a crystallinity reference


def run_protocol(
    protocol: MdProtocol, comm=None, *, resume: bool = False, overwrite: bool = False, source: str = "protocol",
    atoms: Atoms | None = None, stop_after_steps: int | None = None,
) -> dict:
    """Run every stage in order (or continue from the last checkpoint); returns the run summary.

    ``source`` names the config in error messages. A fresh run refuses an
    ``output_dir`` holding an unfinished run unless ``overwrite``; ``resume``
    refuses a run whose protocol or input files changed. ``atoms``: the
    structure, instead of building ``protocol.structure`` again. ``stop_after_steps``: run at most
    this many MD steps in this call, then write a checkpoint and return with status ``stopped``
    (a wall-time budget on a cluster; ``resume`` continues from there).
    """
    if stop_after_steps is not None and stop_after_steps < 1:
        raise ConfigError(f"{source}: stop_after_steps must be at least 1, got {stop_after_steps}")
    started = time.perf_counter()
    rank, size = rank_of(comm), size_of(comm)
    out = Path(protocol.output_dir)
    potential = protocol.potential.build()
    plan = build_plan(protocol, potential, source=source, atoms=atoms)  # every check before LAMMPS starts
    if rank == 0:
        for note in plan.notes:
            log.warning(note)
    data = protocol_data(protocol, potential)
    # Rank 0 decides from the files and tells the others (a shared file system may lag).
    checkpoint, attempts, finished = on_root(
        comm, lambda: _starting_point(out, data, resume=resume, overwrite=overwrite, source=source,
                                      segment_steps=[s.steps for s in plan.segments])
    )
    if finished:
        log.info("the run in %s has finished already; nothing to resume", out)
        return json.loads((out / RUN_SUMMARY).read_text())
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if checkpoint is None:
            shutil.rmtree(RunState.folder(out), ignore_errors=True)
    if comm is not None:
        comm.Barrier()
    attempts = attempts + [{"started": utc_now(), "resumed_from_step": checkpoint.step if checkpoint else None}]
    state = RunState(fingerprint(data), checkpoint=checkpoint, attempts=attempts)
    save_protocol(out, data, rank)
    state.save(out, rank)

    structure_files = [protocol.structure.file] if protocol.structure and protocol.structure.file else []
    if protocol.device is not None and protocol.device.crystal.file is not None:
        structure_files = [protocol.device.crystal.file]
    record = RunRecord(
        "md", out, protocol, rank=rank, mpi_size=size, seeds={"protocol": protocol.seed},
        inputs=structure_files, potentials=[potential],
    )
    log_name = LAMMPS_LOG if checkpoint is None else f"lammps.resume{len(attempts) - 1}.log"
    if rank == 0:
        plan.atoms.write(out / INITIAL_STRUCTURE, parallel=False)
    try:
        with record, LammpsSession(comm, log_path=out / log_name) as session:
            frozen = _load_system(session, plan, potential, checkpoint, out)
            criterion = protocol.crystallinity.criterion() if protocol.crystallinity else None
            watched = observables.define_observables(session, plan.blocks, criterion)
            observables.install_thermo(session, watched)
            recorders = _recorders(protocol, plan, session, comm, out, watched, checkpoint, record.data)
            _describe_run(record, plan, recorders, frozen, attempts, out, log_name)
            stop_at = None if stop_after_steps is None else session.step + stop_after_steps
            executor = Executor(session, plan, protocol.seed, recorders, state, out, protocol.checkpoint_every,
                                comm=comm, stop_at_step=stop_at)
            if protocol.extrapolation is not None:
                spec = protocol.extrapolation
                executor.gamma = GammaCheck(watch_gamma(session, spec.every_steps), spec.max_gamma, out)
                record.add_output("extrapolation_structure", out / EXTRAPOLATION_STRUCTURE)
            record.add_result("setup_s", round(time.perf_counter() - started, 3))
            try:
                _run_segments(executor, plan, checkpoint, out)
            except StopRequested as stop:
                record.add_result("segments", executor.segment_records)
                record.add_result("stopped_at_step", session.step)
                record.add_result("peak_memory_MiB_per_rank", _peak_memory_MiB(comm))
                record.add_result("checkpoints", executor.checkpoint_timing())
                recorders.trajectory.close("stopped")
                log.info("%s", stop)
                raise
            except BaseException as exc:
                record.add_result("segments", executor.segment_records)
                if executor.gamma is not None:
                    record.add_result("extrapolation", executor.gamma.report())
                # A rank that failed alone cannot join the collective close (the CLI aborts the others);
                # the file keeps every frame committed so far either way.
                if isinstance(exc, KeyboardInterrupt):
                    recorders.trajectory.close("interrupted")
                elif not (isinstance(exc, LammpsError) and exc.fatal) and every_rank_failed(comm):
                    recorders.trajectory.close("failed")
                raise
            recorders.trajectory.close()
            record.add_result("segments", executor.segment_records)
            if executor.gamma is not None:
                record.add_result("extrapolation", executor.gamma.report())
            record.add_result("peak_memory_MiB_per_rank", _peak_memory_MiB(comm))
            record.add_result("checkpoints", executor.checkpoint_timing())
            final = atoms_on_root(session)  # the one full-size copy, on the rank that writes it
            if final is not None:
                final.write(out / FINAL_STRUCTURE, parallel=False)
            record.add_output("final_structure", out / FINAL_STRUCTURE)
            # Rank 0 reads the table (a damaged one is refused); every rank gets its row or its error.
            record.add_result("final_thermo", on_root(comm, recorders.thermo.final))
            record.add_result("heat", [s["heat"] for s in executor.segment_records if "heat" in s])
            state.finished = True
            state.attempts[-1]["finished"] = utc_now()
            state.save(out, rank)
            if rank == 0:
                _summary_figure(out, executor.segment_records, f"{out.name}: {len(plan.atoms)} atoms", record)
    except StopRequested:
        pass  # the record says stopped; the state file names the checkpoint to resume from
    return record.data


def _peak_memory_MiB(comm) -> list[float]:
    """Each rank's peak resident memory so far (MiB), in rank order (collective)."""
    mine = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # KiB on Linux
    return comm.allgather(mine) if comm is not None and comm.Get_size() > 1 else [mine]


def _describe_run(record: RunRecord, plan: Plan, recorders: Recorders, frozen: int, attempts: list[dict],
                  out: Path, log_name: str) -> None:
    """The outputs and the plan in run_summary.json, written before any step runs."""
    record.add_output("thermo", out / THERMO_CSV)
    record.add_output("initial_structure", out / INITIAL_STRUCTURE)
    record.add_output("trajectory", out / TRAJECTORY_FILE)
    record.add_output("lammps_log", out / log_name)
    record.add_output("checkpoints", RunState.folder(out))
    if recorders.profiles is not None:
        record.add_output("profiles", out / PROFILES_CSV)
    record.add_result("natoms", len(plan.atoms))
    record.add_result("max_temperature_K", plan.max_temperature_K)
    record.add_result("frozen_atoms", frozen)
    record.add_result("regions", {b.name: b.describe() | {"dynamic_atoms_at_start": plan.region_atoms[b.name]}
                                  for b in plan.blocks})
    if plan.device is not None:
        record.add_result("device", plan.device.describe())
    record.add_result("plan", describe_segments(plan))
    record.add_result("attempts", attempts)


def _load_system(session: LammpsSession, plan: Plan, potential, checkpoint: Checkpoint | None, out: Path) -> int:
    """Create the system (or read the checkpoint back) with potential, regions and frozen atoms; returns
    the number of frozen atoms."""
    species = potential.elements or tuple(sorted(set(plan.atoms.get_chemical_symbols())))
    if checkpoint is None:
        session.create_system(plan.atoms, species, label="protocol structure")
        session.set_potential(potential)
        regions.define_regions(session, plan.blocks)
        return regions.split_frozen(session, plan.blocks)
    read_checkpoint(session, RunState.folder(out) / checkpoint.restart_file, species, lammps_box(plan.atoms))
    session.set_potential(potential)
    regions.define_regions(session, plan.blocks)  # regions are not in restart files; groups are
    frozen = regions.count_atoms(session, regions.FROZEN_GROUP)
    regions.hold_frozen(session, frozen)
    log.info("resuming %s at step %d (segment %d)", out, checkpoint.step, checkpoint.segment)
    return frozen


def _summary_figure(out: Path, segments: list[dict], title: str, record: RunRecord) -> None:
    # The figure is a convenience: failing to draw it must not fail a finished run.
    try:
        plot_protocol(out / THERMO_CSV, segments, out / SUMMARY_FIGURE, title=title)
    except Exception as exc:  # noqa: BLE001 - matplotlib and pandas raise many types
        log.warning("could not draw %s: %s", out / SUMMARY_FIGURE, exc)
        return
    record.add_output("summary_figure", out / SUMMARY_FIGURE)


def _starting_point(out: Path, data: dict, *, resume: bool, overwrite: bool, source: str,
                    segment_steps: list[int]) -> tuple[Checkpoint | None, list[dict], bool]:
    """(checkpoint to continue from or None for the start, earlier attempts, whether it has finished)."""
    previous = RunState.load(out)
    if resume:
        if previous is None or previous.checkpoint is None:
            log.warning("no checkpoint in %s: running the protocol from the start", out)
            return None, [], False
        check_same_protocol(out, previous, data, source)
        if previous.finished and summary_says_finished(out / RUN_SUMMARY):
            return None, previous.attempts, True
        if previous.finished:
            # Killed after its last step but before its final outputs (structure, figure, summary): those are
            # written again from the last checkpoint, which lies at the end of the last segment.
            log.warning("the run in %s ran every step but did not write its final outputs: writing them from "
                        "its last checkpoint", out)
        check_checkpoint_in_plan(previous.checkpoint, segment_steps, RunState.folder(out) / STATE_FILE)
        return previous.checkpoint, previous.attempts, False
    if previous is not None and previous.checkpoint is not None and not previous.finished and not overwrite:
        raise ConfigError(
            f"{source}: output_dir {out} holds an unfinished run (checkpoint at step {previous.checkpoint.step}); "
            "continue it with --resume, or start again with --overwrite"
        )
    return None, [], False


def _recorders(protocol: MdProtocol, plan: Plan, session: LammpsSession, comm, out: Path,
               watched: observables.Observables, checkpoint: Checkpoint | None, provenance: dict) -> Recorders:
    def tables():
        # Rank 0 reopens the CSV files; a problem there must stop every rank before the next collective call.
        thermo = ThermoTable(out / THERMO_CSV, watched.columns, session.rank,
                             keep_rows=checkpoint.thermo_rows if checkpoint else None)
        profiles = None
        if plan.profile_bins:
            profiles = ProfileTable(out / PROFILES_CSV, session.rank,
                                    keep_rows=checkpoint.profile_rows if checkpoint else None)
        return thermo, profiles

    thermo, profiles = on_all_ranks(comm, tables)
    zprofile = None
    if plan.profile_bins:
        zprofile = observables.ZProfile(session, plan.profile_bins, crystalline=protocol.crystallinity is not None)
    records = set(protocol.record)
    for segment in plan.segments:
        records |= set(segment.outputs.record)
    trajectory = TrajectoryRecord(
        out / TRAJECTORY_FILE, comm, records=sorted(records), columns=watched.columns, provenance=provenance,
        resume_after_step=checkpoint.step if checkpoint else None,
        last_observable_step=checkpoint.last_observable_step if checkpoint else None,
        min_solid_bonds=protocol.crystallinity.min_solid_bonds if protocol.crystallinity else None,
        species=protocol.trajectory_species,
    )
    return Recorders(thermo=thermo, trajectory=trajectory, profiles=profiles, zprofile=zprofile)


def _run_segments(executor: Executor, plan: Plan, checkpoint: Checkpoint | None, out: Path) -> None:
    start, inside = 0, None
    if checkpoint is not None:
        executor.segment_records = [dict(r) for r in checkpoint.segment_records]
        executor.remember_checkpoint(RunState.folder(out) / checkpoint.restart_file)
        start = checkpoint.segment + 1 if checkpoint.segment_complete else checkpoint.segment
        inside = None if checkpoint.segment_complete else checkpoint
    else:
        executor.initial_frame()
    for segment in plan.segments[start:]:
        executor.run(segment, inside)
        inside = None

"""Run the segments of a plan on a live session: fixes, chunked runs, records and checkpoints.

An MD segment runs from its first step ``begin`` to ``end = begin + steps`` in
chunks that stop exactly on the steps where something happens (a thermo row,
a profile, a trajectory frame, a checkpoint), each chunk as
``run n start begin stop end`` so that ramps and fluxes see the whole segment
even when it is split, or resumed from a checkpoint written in its middle.
At each stop, records are written before the checkpoint, so a checkpoint
always knows how many rows and frames precede it.

Recording starts with a frame: before the first segment if it records
frames, and at the end of a segment that records none when the next one does
(the next segment's first step), again before the checkpoint, so a resume
never loses or repeats it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from simkit.drivers.md.extrapolation import GammaCheck
from simkit.drivers.md.plan import Plan, Segment
from simkit.drivers.md.records import ProfileTable, ThermoTable
from simkit.drivers.md.rescale import rescale_volume
from simkit.drivers.md.state import Checkpoint, RunState
from simkit.drivers.md.trajectory import TrajectoryRecord
from simkit.errors import RunFailed, StopRequested
from simkit.lammps import dynamics, heat, regions, thermostats
from simkit.lammps.checkpoint import remove_checkpoints, write_checkpoint
from simkit.lammps.observables import ZProfile
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import current_time_ps
from simkit.runtime.documents import utc_now

log = logging.getLogger(__name__)

MOTION_FIX = "simkit_motion"  # integrator/thermostat of the moving group (same ID on resume: NH state restored)
REST_FIX = "simkit_rest_nve"
FLUX_FIX = "simkit_flux"
REST_GROUP = "simkit_rest"
_KEPT_CHECKPOINTS = 2


def stage_seed(seed: int, *keys: int) -> int:
    """A seed for one random draw of the run, a pure function of the protocol seed and ``keys``."""
    return int(np.random.default_rng([seed, *keys]).integers(1, 2**31 - 1))


@dataclass
class Recorders:
    thermo: ThermoTable
    trajectory: TrajectoryRecord
    profiles: ProfileTable | None = None
    zprofile: ZProfile | None = None


@dataclass
class Executor:
    """Runs segments in order and keeps the run's checkpoint record up to date."""

    session: LammpsSession
    plan: Plan
    seed: int
    recorders: Recorders
    state: RunState
    output_dir: Path
    checkpoint_every: int | None
    comm: object = None  # the session's communicator, for rank-0 work shared with every rank
    stop_at_step: int | None = None  # stop (checkpoint first) on reaching this step; None: run to the end
    segment_records: list[dict] = field(default_factory=list)
    _flux_start: float | None = None
    _begin_time: float = 0.0
    _checkpoints: list[Path] = field(default_factory=list)
    checkpoint_s: float = 0.0  # wall time spent writing restart files in this attempt
    checkpoints_written: int = 0
    gamma: GammaCheck | None = None  # extrapolation grading (protocol.extrapolation)

    @property
    def rank(self) -> int:
        return self.session.rank

    def step(self) -> int:
        return self.session.step

    # -- segments ----------------------------------------------------------------------
    def run(self, segment: Segment, resume: Checkpoint | None = None) -> dict:
        """Run one segment (from its middle when ``resume`` is a checkpoint inside it)."""
        if self.stop_at_step is not None and self.step() >= self.stop_at_step:
            # Every rank counts the same steps, so every rank stops here together.
            raise StopRequested(f"stopped as asked at step {self.step()}, before segment {segment.label}; "
                                "continue with --resume")
        log.info("segment %s (%s)%s", segment.label, segment.kind, f", resumed at step {resume.step}" if resume else "")
        begin = resume.segment_begin_step if resume else self.step()
        self._begin_time = resume.segment_begin_time_ps if resume else current_time_ps(self.session)[1]
        record = {"label": segment.label, "stage": segment.stage.stage, "kind": segment.kind, "begin_step": begin}
        clock = _Clock.start(self)
        if segment.kind == "velocity":
            self._velocities(segment)
        elif segment.kind == "minimise":
            self._minimise(segment)
        elif segment.kind == "rescale":
            record.update(rescale_volume(self.session, self.comm, segment.stage, self.recorders.thermo.path,
                                         self.segment_records))
        else:
            record.update(self._md(segment, begin, resume))
        step, time_ps = current_time_ps(self.session)
        record.update(end_step=step, begin_time_ps=self._begin_time, end_time_ps=time_ps, timing=clock.read(self))
        self.segment_records.append(record)
        self._frame_if_recording_starts(segment)
        self.checkpoint(segment, begin, complete=True)
        return record

    def _velocities(self, segment: Segment) -> None:
        stage = segment.stage
        group = regions.DYNAMIC_GROUP
        if stage.region is not None:
            group, _ = regions.snapshot_group(self.session, stage.region)
        dynamics.create_velocities(self.session, stage.temperature_K, stage_seed(self.seed, segment.stage_index), group)

    def _minimise(self, segment: Segment) -> None:
        stage = segment.stage
        dynamics.minimise(
            self.session, force_tolerance_eV_per_A=stage.force_tolerance_eV_per_A,
            max_iterations=stage.max_iterations, relax_box_bar=stage.relax_box_bar,
        )
        self.session.run(0)
        self._record_thermo(segment, self.session.thermo())

    def _md(self, segment: Segment, begin: int, resume: Checkpoint | None) -> dict:
        session = self.session
        dynamics.set_timestep(session, segment.timestep_fs)
        result: dict = {"steps": segment.steps, "timestep_fs": segment.timestep_fs}
        account = None
        if segment.flux is not None:
            if resume is None:
                session.run(0)  # the energy before any heat goes in
                self._flux_start = float(session.thermo()["etotal"])
            else:
                self._flux_start = resume.flux_start_total_eV
            account = heat.HeatAccount(segment.flux.energy_eV, self._flux_start)
        fixes = self._integrate(segment, fresh=resume is None, attempt_step=self.step())
        if segment.flux is not None:
            flux = segment.flux
            base = regions.group_id(segment.mobile_region) if segment.mobile_region else regions.DYNAMIC_GROUP
            fixes += heat.add_heat_flux(session, FLUX_FIX, base, flux.region, flux.energy_eV, flux.duration_ps,
                                        flux.method)
        self._advance(segment, begin, begin + segment.steps)
        thermostats.remove_fixes(session, fixes)
        if account is not None:
            account.end_total_eV = float(session.thermo()["etotal"])
            result["heat"] = account.describe() | {
                "region": segment.flux.region, "duration_ps": segment.flux.duration_ps,
                "method": segment.flux.method, "within_tolerance": account.within(segment.flux.tolerance),
            }
            level = logging.INFO if account.within(segment.flux.tolerance) else logging.WARNING
            log.log(level, "segment %s: delivered %.6g eV of %.6g eV requested (ratio %.4f)",
                    segment.label, account.delivered_eV, account.requested_eV, account.ratio)
            self._flux_start = None
        return result

    def _integrate(self, segment: Segment, *, fresh: bool, attempt_step: int) -> list[str]:
        """Fixes that move the atoms of this segment; groups are made only on a fresh start
        (a resumed segment finds them, with the same members, in the restart file)."""
        session = self.session
        base = regions.DYNAMIC_GROUP
        if segment.mobile_region is not None:
            base = regions.group_id(segment.mobile_region)
            if fresh:
                regions.snapshot_group(session, segment.mobile_region)
        thermostat, barostat = segment.thermostat, segment.barostat
        if barostat is not None:
            return thermostats.add_barostat(
                session, MOTION_FIX, base, thermostat.start_K, thermostat.stop_K, thermostat.damping_fs,
                barostat.pressure_bar, barostat.damping_fs, barostat.couple,
            )
        if thermostat is None:
            return thermostats.add_nve(session, MOTION_FIX, base)
        group = base
        if thermostat.region is not None and thermostat.region != segment.mobile_region:
            group = regions.group_id(thermostat.region)
            if fresh:
                regions.snapshot_group(session, thermostat.region, within=base)
        # Langevin noise cannot be replayed after a restart: a resumed segment draws a new stream.
        seed = stage_seed(self.seed, segment.index, attempt_step)
        fixes = thermostats.add_thermostat(
            session, MOTION_FIX, group, thermostat.kind, thermostat.start_K, thermostat.stop_K,
            thermostat.damping_fs, seed,
        )
        if group != base:
            if fresh:
                regions.subtract_group(session, REST_GROUP, base, group)
            if regions.count_atoms(session, REST_GROUP) > 0:
                fixes += thermostats.add_nve(session, REST_FIX, REST_GROUP)
        return fixes

    # -- the chunked run ------------------------------------------------------------------
    def _advance(self, segment: Segment, begin: int, end: int) -> None:
        out = segment.outputs
        cadences = [c for c in (out.thermo_every, out.trajectory_every, out.profile_every, self.checkpoint_every) if c]
        step = self.step()
        setup = True
        while step < end:
            offset = step - begin
            target = min([end] + [begin + (offset // c + 1) * c for c in cadences])
            if self.gamma is not None:  # graded on absolute multiples of its interval
                target = min(target, self.gamma.next_step(step))
            if self.stop_at_step is not None and step < self.stop_at_step < target:
                target = self.stop_at_step
            self.session.run(target - step, start=begin, stop=end, setup=setup)
            setup = False
            step = target
            offset = step - begin
            at_end = step == end
            thermo_row = at_end or offset % out.thermo_every == 0
            if thermo_row:
                self._record_thermo(segment, self.session.thermo())
            if out.profile_every and (at_end or offset % out.profile_every == 0):
                self._record_profile(segment)
            if out.trajectory_every and offset % out.trajectory_every == 0:
                self.recorders.trajectory.frame(self.session, out.record, step)
            if self.gamma is not None and self.gamma.due(step):
                self.gamma.check(self.session)  # raises past max_gamma, after this step's records
            if thermo_row:
                self._check_temperature(segment)  # after this step's records, before its checkpoint
            if self.checkpoint_every and offset % self.checkpoint_every == 0 and not at_end:
                self.checkpoint(segment, begin, complete=False)
                setup = True  # writing a restart re-initialises LAMMPS
            if step == self.stop_at_step and not at_end:
                if not (self.checkpoint_every and offset % self.checkpoint_every == 0):
                    self.checkpoint(segment, begin, complete=False)
                raise StopRequested(f"stopped as asked at step {step}, inside segment {segment.label}; "
                                    "continue with --resume")

    # -- records -----------------------------------------------------------------------
    def _record_thermo(self, segment: Segment, thermo: dict[str, float]) -> None:
        self.recorders.thermo.append(segment.label, thermo)
        step, time_ps = current_time_ps(self.session)
        self.recorders.trajectory.observables(step, time_ps, thermo)

    def _check_temperature(self, segment: Segment) -> None:
        """Fail past the protocol's ceiling. Every rank reads the same thermo values, so every rank raises
        at the same step and the run ends as one failure (no rank is left waiting)."""
        ceiling = self.plan.max_temperature_K
        temperature = self.recorders.thermo.last.get("temperature_K")
        if ceiling is None or temperature is None or not temperature > ceiling:
            return
        raise RunFailed(
            f"stage {segment.label}: temperature {temperature:.4g} K at step {self.step()} is above "
            f"max_temperature_K = {ceiling:.4g} K: the run is unstable (try a shorter timestep_fs), or raise "
            f"max_temperature_K; the outputs up to this step are kept in {self.output_dir}"
        )

    def _record_profile(self, segment: Segment) -> None:
        recorders = self.recorders
        if recorders.zprofile is None or recorders.profiles is None:
            return
        step, time_ps = current_time_ps(self.session)
        recorders.profiles.append(segment.label, step, time_ps, recorders.zprofile.read())

    def initial_frame(self) -> None:
        """A frame of the starting configuration, if the first segment records a trajectory."""
        first = self.plan.segments[0]
        if first.outputs.trajectory_every:
            self._frame(first)

    def _frame_if_recording_starts(self, segment: Segment) -> None:
        """A frame at the first step of the next segment when it records and ``segment`` did not."""
        following = self.plan.segments[segment.index + 1:segment.index + 2]
        if following and following[0].outputs.trajectory_every and not segment.outputs.trajectory_every:
            self._frame(following[0])

    def _frame(self, segment: Segment) -> None:
        self.session.run(0)  # per-atom computes and forces are current only after a run
        self.recorders.trajectory.frame(self.session, segment.outputs.record, self.step())

    # -- checkpoints -------------------------------------------------------------------
    def checkpoint_timing(self) -> dict:
        """Restart files written in this attempt and the mean seconds each took."""
        count = self.checkpoints_written
        return {"written": count, "s_per_checkpoint": round(self.checkpoint_s / count, 4) if count else None}

    def remember_checkpoint(self, path: Path) -> None:
        """A restart file from an earlier attempt that stays until newer ones replace it."""
        self._checkpoints = [Path(path)]

    def checkpoint(self, segment: Segment, begin: int, *, complete: bool) -> None:
        step = self.step()
        folder = RunState.folder(self.output_dir)
        name = f"step{step:012d}-segment{segment.index:03d}{'-done' if complete else ''}.restart"
        started = time.perf_counter()
        path = write_checkpoint(self.session, folder / name)
        self.checkpoint_s += time.perf_counter() - started
        self.checkpoints_written += 1
        self.state.checkpoint = Checkpoint(
            restart_file=name, segment=segment.index, segment_begin_step=begin,
            segment_begin_time_ps=self._begin_time, step=step,
            segment_complete=complete, thermo_rows=self.recorders.thermo.rows,
            profile_rows=self.recorders.profiles.rows if self.recorders.profiles else 0,
            flux_start_total_eV=None if complete else self._flux_start,
            segment_records=[dict(r) for r in self.segment_records],
            last_observable_step=self.recorders.trajectory.last_observable_step,
            written=utc_now(),
        )
        self.state.save(self.output_dir, self.rank)
        self._checkpoints = (self._checkpoints + [path])[-_KEPT_CHECKPOINTS:]
        if self.rank == 0:
            remove_checkpoints(folder, keep=self._checkpoints)
        log.debug("checkpoint %s (segment %s, %s)", name, segment.label, "done" if complete else "in progress")


@dataclass(frozen=True)
class _Clock:
    """Wall time of a segment in this attempt, and the share of it spent writing frames."""

    wall: float
    step: int
    write_s: float
    frames: int

    @classmethod
    def start(cls, executor: Executor) -> "_Clock":
        trajectory = executor.recorders.trajectory
        return cls(time.perf_counter(), executor.step(), trajectory.write_s, trajectory.frames_written)

    def read(self, executor: Executor) -> dict:
        trajectory = executor.recorders.trajectory
        wall, steps = time.perf_counter() - self.wall, executor.step() - self.step
        frames, write_s = trajectory.frames_written - self.frames, trajectory.write_s - self.write_s
        return {"wall_s": round(wall, 3), "steps_this_attempt": steps,
                "s_per_step": round(wall / steps, 6) if steps else None, "frames_written": frames,
                "s_per_frame": round(write_s / frames, 4) if frames else None}


def describe_segments(plan: Plan) -> list[dict]:
    """The planned segments, for the run summary."""
    return [
        {"label": s.label, "kind": s.kind, "steps": s.steps, "timestep_fs": s.timestep_fs,
         "duration_ps": s.duration_ps, **({"flux": asdict(s.flux)} if s.flux else {})}
        for s in plan.segments
    ]

"""From a validated protocol to an executable plan, checked against the real structure before LAMMPS starts.

The plan holds the starting structure, the regions in Å, and a flat list of
segments: one per stage, two for ``amorphise`` (melt, quench). Each MD segment
knows its step count, timestep, what is integrated and thermostatted, and any
heat flux. Every cross-reference the schema cannot see is checked here and
refused with the config file and key named: unknown regions, regions outside
the box, heat pulses into regions without dynamic atoms, a crystallinity
cutoff beyond the potential's range, trajectory species absent from the
structure, a ``rescale_volume`` whose ``average_of`` names no earlier
constant-pressure stage. The temperature ceiling is resolved here too (``auto``
needs the atom count to turn heat pulses into kelvin).

The structure is built from the protocol, or given as Atoms (a caller that
runs on a sub-communicator must not read files with ASE, whose parallel I/O
broadcasts over COMM_WORLD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from ase import Atoms

from simkit.drivers.md import stages as S
from simkit.drivers.md.protocol import TEMPERATURE_CEILING_FACTOR, TEMPERATURE_CEILING_FLOOR_K, MdProtocol
from simkit.errors import ConfigError
from simkit.lammps.potentials.base import Potential
from simkit.structures.blocks import Block
from simkit.structures.device import Device, build_device
from simkit.structures.spec import load_structure
from simkit.units import A_PER_NM, BOLTZMANN_EV_PER_K, PS_PER_FS, steps_for

_BOX_TOLERANCE_NM = 1e-6
# More than this per atom of the region is almost surely a unit mistake (pJ for eV).
_SUSPICIOUS_EV_PER_ATOM = 50.0


@dataclass(frozen=True)
class Outputs:
    """Output cadence of one segment, in steps from its start (0: never)."""

    thermo_every: int
    trajectory_every: int
    profile_every: int
    record: tuple[str, ...]


@dataclass(frozen=True)
class Thermostat:
    kind: str  # nose-hoover or langevin
    region: str | None  # None: every dynamic atom
    start_K: float
    stop_K: float
    damping_fs: float


@dataclass(frozen=True)
class Barostat:
    pressure_bar: float
    damping_fs: float
    couple: str


@dataclass(frozen=True)
class Flux:
    region: str
    energy_eV: float  # signed: negative removes heat
    duration_ps: float
    method: str
    tolerance: float


@dataclass(frozen=True)
class Segment:
    """One uninterrupted piece of the protocol."""

    index: int
    stage_index: int
    label: str
    kind: Literal["velocity", "minimise", "md", "rescale"]
    stage: object  # the stage model it comes from
    outputs: Outputs
    steps: int = 0
    timestep_fs: float = 1.0
    thermostat: Thermostat | None = None
    barostat: Barostat | None = None
    flux: Flux | None = None
    mobile_region: str | None = None  # only this region's atoms move (amorphise)

    @property
    def duration_ps(self) -> float:
        return self.steps * self.timestep_fs * PS_PER_FS


@dataclass
class Plan:
    atoms: Atoms
    blocks: list[Block]
    segments: list[Segment]
    profile_bins: int
    device: Device | None = None
    region_atoms: dict[str, int] = field(default_factory=dict)  # dynamic atoms inside each region at the start
    notes: list[str] = field(default_factory=list)  # worth a warning; the runner logs them on rank 0
    max_temperature_K: float | None = None  # the resolved ceiling (None: no check)


def _refuse(source: str, key: str, value, message: str) -> ConfigError:
    return ConfigError(f"{source}: key '{key}' = {value!r}: {message}")


def build_plan(protocol: MdProtocol, potential: Potential, *, source: str = "protocol",
               atoms: Atoms | None = None) -> Plan:
    """Build the structure (or take ``atoms``) and the segments of ``protocol``; raise ConfigError naming
    the bad key."""
    rng = np.random.default_rng(protocol.seed)
    device = None
    if protocol.device is not None:
        if atoms is not None:
            raise ConfigError(f"{source}: a 'device' protocol builds its own structure; given atoms need 'structure'")
        device = build_device(protocol.device, rng)
        atoms = device.atoms
        blocks = list(device.regions)
    else:
        atoms = atoms.copy() if atoms is not None else load_structure(protocol.structure, rng)
        blocks = []
    blocks += _user_blocks(protocol, atoms, blocks, source)
    names = {b.name for b in blocks}
    frozen = np.zeros(len(atoms), dtype=bool)
    for block in blocks:
        if block.frozen:
            frozen |= block.contains(atoms.positions)
    region_atoms = {b.name: int((b.contains(atoms.positions) & ~frozen).sum()) for b in blocks}
    if frozen.all():
        raise ConfigError(f"{source}: every atom is frozen; nothing would move")
    _check_observables(protocol, potential, atoms, source)
    lz_nm = float(np.asarray(atoms.cell)[2, 2]) / A_PER_NM
    bins = max(1, round(lz_nm / protocol.profiles.bin_nm)) if protocol.profiles else 0
    notes = list(device.notes) if device is not None else []
    segments: list[Segment] = []
    for index, stage in enumerate(protocol.stages):
        _check_stage_regions(stage, index, names, blocks, region_atoms, source, notes)
        if isinstance(stage, S.RescaleVolumeStage):
            _check_average_of(stage, index, segments, source)
        segments += stage_segments(protocol, stage, index, len(segments))
    return Plan(atoms=atoms, blocks=blocks, segments=segments, profile_bins=bins, device=device,
                region_atoms=region_atoms, notes=notes, max_temperature_K=temperature_ceiling(protocol, len(atoms)))


def temperature_ceiling(protocol: MdProtocol, natoms: int) -> float | None:
    """The protocol's ``max_temperature_K`` in kelvin, ``auto`` resolved (see :mod:`simkit.drivers.md.protocol`)."""
    if protocol.max_temperature_K != "auto":
        return protocol.max_temperature_K
    hottest = max((t for stage in protocol.stages for t in _targets_K(stage)), default=0.0)
    # A pulse's energy as kinetic energy of every atom (frozen ones count in the thermo temperature too).
    pulses_eV = sum(s.magnitude_eV() for s in protocol.stages if isinstance(s, S.HeatPulseStage))
    pulse_rise_K = 2.0 * pulses_eV / (3.0 * max(natoms, 1) * BOLTZMANN_EV_PER_K)
    return max(TEMPERATURE_CEILING_FLOOR_K, TEMPERATURE_CEILING_FACTOR * (hottest + pulse_rise_K))


def _targets_K(stage) -> list[float]:
    """The temperatures a stage asks for (none for minimise, nve, heat fluxes and rescaling)."""
    names = ("temperature_K", "end_temperature_K", "start_K", "end_K", "target_K", "melt_K")
    return [value for value in (getattr(stage, name, None) for name in names) if value is not None]


def _user_blocks(protocol: MdProtocol, atoms: Atoms, existing: list[Block], source: str) -> list[Block]:
    if not protocol.regions:
        return []
    cell = np.asarray(atoms.cell)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-9 or not all(atoms.pbc):
        raise ConfigError(
            f"{source}: key 'regions': regions need a periodic box with cell vectors along x, y, z; "
            f"this one has cell {np.round(cell, 4).tolist()} and pbc {atoms.pbc.tolist()}"
        )
    lengths_nm = np.diag(cell) / A_PER_NM
    taken = {b.name for b in existing}
    blocks = []
    for i, region in enumerate(protocol.regions):
        if region.name in taken:
            raise _refuse(source, f"regions[{i}].name", region.name, "a region of that name already exists")
        taken.add(region.name)
        for axis, key in enumerate(("x_nm", "y_nm", "z_nm")):
            interval = getattr(region, key)
            if interval is not None and interval[1] > lengths_nm[axis] + _BOX_TOLERANCE_NM:
                raise _refuse(
                    source, f"regions[{i}].{key}", list(interval),
                    f"outside the box (it spans 0 to {lengths_nm[axis]:.4g} nm along {'xyz'[axis]})",
                )
        blocks.append(region.block())
    return blocks


def _check_observables(protocol: MdProtocol, potential: Potential, atoms: Atoms, source: str) -> None:
    crystallinity = protocol.crystallinity
    if crystallinity is not None and crystallinity.cutoff_A > potential.cutoff_A:
        raise _refuse(
            source, "crystallinity.cutoff_A", crystallinity.cutoff_A,
            f"beyond the potential's cutoff ({potential.cutoff_A:.4g} Å); LAMMPS has no neighbours that far",
        )
    wanted = set(protocol.record) | {r for s in protocol.stages for r in (getattr(s, "record", None) or ())}
    needs_criterion = wanted & {"crystalline", "solid_bonds"}
    if needs_criterion and crystallinity is None:
        raise _refuse(source, "record", sorted(needs_criterion), "recording crystallinity needs a 'crystallinity' block")
    missing = sorted(set(protocol.trajectory_species or ()) - set(atoms.get_chemical_symbols()))
    if missing:
        present = sorted(set(atoms.get_chemical_symbols()))
        raise _refuse(source, "trajectory_species", protocol.trajectory_species,
                      f"no atoms of {missing} in the structure (it has {present})")
    if protocol.profiles is not None:
        lz_nm = float(np.asarray(atoms.cell)[2, 2]) / A_PER_NM
        if protocol.profiles.bin_nm > lz_nm:
            raise _refuse(source, "profiles.bin_nm", protocol.profiles.bin_nm, f"longer than the box ({lz_nm:.4g} nm)")


def _check_stage_regions(stage, index: int, names: set[str], blocks: list[Block], region_atoms: dict[str, int],
                         source: str, notes: list[str]) -> None:
    region = getattr(stage, "region", None)
    if region is None:
        return
    key = f"stages[{index}].region"
    if region not in names:
        known = ", ".join(sorted(names)) or "none defined"
        raise _refuse(source, key, region, f"no region of that name (regions: {known})")
    if next(b for b in blocks if b.name == region).frozen:
        raise _refuse(source, key, region, "a frozen region cannot be heated, thermostatted or moved")
    if region_atoms[region] == 0:
        raise _refuse(source, key, region, "the region holds no dynamic atoms at the start")
    if isinstance(stage, (S.HeatPulseStage, S.RemoveHeatStage)):
        per_atom = stage.magnitude_eV() / region_atoms[region]
        if per_atom > _SUSPICIOUS_EV_PER_ATOM:
            notes.append(
                f"stages[{index}] moves {per_atom:.3g} eV per atom of region {region} "
                f"({region_atoms[region]} atoms): check the energy unit"
            )


def _check_average_of(stage: S.RescaleVolumeStage, index: int, earlier: list[Segment], source: str) -> None:
    """The stage named must come earlier and run at constant pressure: other volumes are not worth averaging."""
    named = [s for s in earlier if s.label == stage.average_of]
    key = f"stages[{index}].average_of"
    if not named:
        timed = ", ".join(s.label for s in earlier if s.kind == "md") or "none"
        raise _refuse(source, key, stage.average_of, f"no earlier stage of that name (earlier timed stages: {timed})")
    if named[-1].barostat is None:
        raise _refuse(source, key, stage.average_of, "that stage does not run at constant pressure (no pressure_bar)")


def _outputs(protocol: MdProtocol, stage) -> Outputs:
    thermo = getattr(stage, "thermo_every", None) or protocol.thermo_every
    trajectory = getattr(stage, "trajectory_every", None)
    trajectory = protocol.trajectory_every if trajectory is None else trajectory
    record = getattr(stage, "record", None)
    record = protocol.record if record is None else record
    profile = 0
    if protocol.profiles is not None:
        profile = protocol.profiles.every or thermo
    return Outputs(thermo_every=thermo, trajectory_every=trajectory, profile_every=profile, record=tuple(record))


def stage_segments(protocol: MdProtocol, stage, stage_index: int, first: int) -> list[Segment]:
    """The segments ``stage`` runs as (numbered from ``first``): what the run executes, and what
    a cost model counts (:mod:`simkit.bench.predict_protocol`)."""
    label = stage.name or f"{stage_index}-{stage.stage}"
    outputs = _outputs(protocol, stage)
    timestep = getattr(stage, "timestep_fs", None) or protocol.timestep_fs
    common = dict(stage_index=stage_index, stage=stage, outputs=outputs, timestep_fs=timestep)
    if isinstance(stage, S.VelocityStage):
        return [Segment(index=first, label=label, kind="velocity", **common)]
    if isinstance(stage, S.MinimiseStage):
        return [Segment(index=first, label=label, kind="minimise", **common)]
    if isinstance(stage, S.RescaleVolumeStage):
        return [Segment(index=first, label=label, kind="rescale", **common)]
    if isinstance(stage, S.AmorphiseStage):
        melt = Thermostat(stage.thermostat, stage.region, stage.melt_K, stage.melt_K, stage.damping_fs)
        quench = Thermostat(stage.thermostat, stage.region, stage.melt_K, stage.end_K, stage.damping_fs)
        return [
            Segment(index=first, label=f"{label}/melt", kind="md", steps=steps_for(stage.melt_ps, timestep),
                    thermostat=melt, mobile_region=stage.region, **common),
            Segment(index=first + 1, label=f"{label}/quench", kind="md",
                    steps=steps_for(stage.quench_time_ps(), timestep), thermostat=quench,
                    mobile_region=stage.region, **common),
        ]
    steps = steps_for(stage.time_ps(), timestep)
    md = dict(index=first, label=label, kind="md", steps=steps, **common)
    if isinstance(stage, S.NveStage):
        return [Segment(**md)]
    if isinstance(stage, (S.HeatPulseStage, S.RemoveHeatStage)):
        flux = Flux(stage.region, stage.signed_energy_eV(), steps * timestep * PS_PER_FS, stage.method,
                    stage.tolerance)
        return [Segment(flux=flux, **md)]
    if isinstance(stage, S.NptStage):
        end = stage.end_temperature_K or stage.temperature_K
        thermostat = Thermostat("nose-hoover", None, stage.temperature_K, end, stage.damping_fs)
        barostat = Barostat(stage.pressure_bar, stage.pressure_damping_fs, stage.couple)
        return [Segment(thermostat=thermostat, barostat=barostat, **md)]
    if isinstance(stage, S.NvtStage):
        start, stop = stage.temperature_K, stage.end_temperature_K or stage.temperature_K
    elif isinstance(stage, S.RampStage):  # quench included
        start, stop = stage.start_K, stage.end_K
    elif isinstance(stage, S.AnnealStage):
        start = stop = stage.temperature_K
    elif isinstance(stage, S.CoolStage):
        start, stop = stage.start_K or stage.target_K, stage.target_K
    else:  # pragma: no cover - the schema admits no other stage
        raise TypeError(f"unhandled stage {stage!r}")
    thermostat = Thermostat(stage.thermostat, stage.region, start, stop, stage.damping_fs)
    barostat = None
    if getattr(stage, "pressure_bar", None) is not None:
        barostat = Barostat(stage.pressure_bar, stage.pressure_damping_fs, stage.couple)
    return [Segment(thermostat=thermostat, barostat=barostat, **md)]

"""The MD of one diffusion temperature, as an :class:`~simkit.drivers.md.protocol.MdProtocol`.

Stages, run by :func:`simkit.drivers.md.runner.run_protocol` in the
temperature's folder (its checkpoints, records and resume):

1. ``velocities``: drawn at ``equilibration.start_K``;
2. ``ramp``: thermostat target from start_K to T over ``ramp_ps`` (Nose-Hoover
   NPT at ``pressure_bar``, or NVT; none when ``ramp_ps`` is 0);
3. ``hold``: ``hold_ps`` at T (NPT or NVT);
4. ``rescale``: with ``pressure_bar`` only, cell and positions scaled to the
   mean volume of the last ``volume_average_fraction`` of the hold;
5. ``production``: NVT (``production.thermostat``), a frame at its first step
   and every ``trajectory_every`` steps holding the atoms of the mobile and
   of every charged species (for the charge current), wrapped positions plus
   image flags, so unwrapped positions are exact.

Only production records frames; ``thermo.csv`` has every stage (its ``stage``
column holds the names above).
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms

from simkit.diffusion.config import DiffusionConfig
from simkit.drivers.md.protocol import AnnealStage, MdProtocol, RampStage, RescaleVolumeStage, VelocityStage
from simkit.errors import InputDataError

HOLD = "hold"
PRODUCTION = "production"


def check_structure(config: DiffusionConfig, atoms: Atoms) -> None:
    """Refuse, naming the file, a structure the runs cannot use: D, its Arrhenius fit and the conductivity are
    bulk quantities (a cell periodic along a, b and c, which NPT also needs), and the mobile species must be there."""
    where = "structure" if config.structure.file is None else str(config.structure.file)
    if not all(atoms.pbc):
        pbc = " ".join("T" if p else "F" for p in atoms.pbc)
        raise InputDataError(f"{where}: diffusion needs a bulk cell periodic along a, b and c; this one has "
                             f'pbc="{pbc}" (an extended XYZ needs a Lattice, and pbc="T T T" if it gives pbc)')
    recorded_species(config, atoms, where)


def recorded_species(config: DiffusionConfig, atoms: Atoms, where: str = "structure") -> list[str]:
    """Species written to the trajectory: the mobile ones and every charged one present in ``atoms``."""
    present = set(atoms.get_chemical_symbols())
    missing = sorted(set(config.mobile_species) - present)
    if missing:
        raise InputDataError(f"{where}: no atoms of mobile species {missing} (it has {sorted(present)})")
    wanted = set(config.mobile_species)
    if config.conductivity is not None:
        wanted |= {s for s, q in config.conductivity.charges_e.items() if q != 0 and s in present}
    return sorted(wanted)


def temperature_protocol(config: DiffusionConfig, temperature_K: float, folder: Path, seed: int,
                         species: list[str]) -> MdProtocol:
    """The protocol of one temperature, writing into ``folder``, with frames of ``species``."""
    eq, prod = config.equilibration, config.production
    npt = eq.pressure_bar is not None
    pressure = {"pressure_bar": eq.pressure_bar, "pressure_damping_fs": eq.pressure_damping_fs} if npt else {}
    # Equilibration writes thermo rows but no frames: the analysis wants production only.
    quiet = {"damping_fs": eq.damping_fs, "thermo_every": eq.thermo_every, "trajectory_every": 0, **pressure}
    stages: list = [VelocityStage(stage="velocity", name="velocities", temperature_K=eq.start_K)]
    if eq.ramp_ps > 0:
        stages.append(RampStage(stage="ramp", name="ramp", start_K=eq.start_K, end_K=temperature_K,
                                duration_ps=eq.ramp_ps, **quiet))
    stages.append(AnnealStage(stage="anneal", name=HOLD, temperature_K=temperature_K, duration_ps=eq.hold_ps,
                              **quiet))
    if npt:
        stages.append(RescaleVolumeStage(stage="rescale_volume", name="rescale", average_of=HOLD,
                                         last_fraction=eq.volume_average_fraction))
    stages.append(AnnealStage(
        stage="anneal", name=PRODUCTION, temperature_K=temperature_K, duration_ps=prod.time_ps(),
        thermostat=prod.thermostat, damping_fs=prod.damping_fs, thermo_every=prod.thermo_every,
        trajectory_every=prod.trajectory_every,
    ))
    return MdProtocol(
        output_dir=folder, seed=seed, structure=config.structure, potential=config.potential,
        timestep_fs=config.timestep_fs, thermo_every=eq.thermo_every, trajectory_every=0,
        trajectory_species=species, checkpoint_every=config.checkpoint_every, stages=stages,
    )

"""Run a diffusion study: MD at every temperature (resumable), then the analysis.

Each temperature gets a folder ``<output_dir>/T<T>K/`` with its MD, an
:class:`~simkit.drivers.md.protocol.MdProtocol` (:mod:`simkit.diffusion.protocol`:
ramp, hold, rescale, NVT production with ``trajectory.h5md``) run and resumed by
:func:`simkit.drivers.md.runner.run_protocol`, and its ``analysis/``
(:mod:`simkit.diffusion.report`).

Scheduling: ``sequential`` runs the temperatures one after another on every
rank of ``comm``; ``concurrent`` splits ``comm`` into groups (``rank % groups``)
that run their share of the temperatures (round robin) at the same time. Each
temperature is analysed by the group that ran it; rank 0 gathers the results,
fits the Arrhenius laws and writes ``<output_dir>/analysis/``. A temperature
that fails (unstable MD, unusable trajectory) is recorded and the others go
on; the run then ends with :class:`~simkit.errors.RunFailed` after writing
everything it has.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from ase.io import read

from simkit.config.loader import validate_config
from simkit.diffusion.analysis import TemperatureResult, analyse_trajectory, summarise_temperatures
from simkit.diffusion.config import DiffusionConfig
from simkit.diffusion.protocol import check_structure, recorded_species, temperature_protocol
from simkit.diffusion.report import write_run, write_temperature
from simkit.drivers.md.protocol import MdProtocol
from simkit.drivers.md.runner import INITIAL_STRUCTURE, run_protocol
from simkit.drivers.md.state import RunState, check_same_protocol, protocol_data, summary_says_finished
from simkit.errors import ConfigError, InputDataError, LammpsError, RunFailed, SimkitError
from simkit.io import TRAJECTORY_FILE, open_trajectory
from simkit.runtime.files import atomic_write_text
from simkit.runtime.mpi import every_rank_failed, on_root, rank_of, size_of
from simkit.runtime.outputs import RUN_SUMMARY
from simkit.runtime.provenance import RunRecord
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)

CONFIG_FILE = "diffusion_config.json"
ANALYSIS_DIR = "analysis"


def temperature_dir(output_dir: Path, temperature_K: float) -> Path:
    return Path(output_dir) / f"T{temperature_K:g}K"


def temperature_seed(seed: int, temperature_K: float, *purpose: int) -> int:
    """A seed for one temperature, a pure function of the config seed and T (stable if the list changes)."""
    return int(np.random.default_rng([seed, int(round(temperature_K * 1000)), *purpose]).integers(0, 2**31 - 1))


def _protocol(config: DiffusionConfig, temperature_K: float, species: list[str]) -> MdProtocol:
    return temperature_protocol(config, temperature_K, temperature_dir(config.output_dir, temperature_K),
                                temperature_seed(config.seed, temperature_K), species)


def _preflight(config: DiffusionConfig, atoms, source: str, *, resume: bool, overwrite: bool) -> None:
    """Before anything is written: a fresh run refuses unfinished temperatures (unless ``overwrite``),
    a resumed one refuses temperatures whose protocol or input files changed (naming the first key)."""
    potential = config.potential.build()
    species = recorded_species(config, atoms)
    for temperature in config.temperatures_K:
        protocol = _protocol(config, temperature, species)
        folder = Path(protocol.output_dir)
        state = RunState.load(folder)
        if state is None or state.checkpoint is None:
            continue
        if resume:
            check_same_protocol(folder, state, protocol_data(protocol, potential), source)
        elif not overwrite and not state.finished:
            raise ConfigError(
                f"{source}: {folder} holds an unfinished run (checkpoint at step {state.checkpoint.step}); "
                "continue it with --resume, or start again with --overwrite"
            )


def _finished(folder: Path) -> bool:
    state = RunState.load(folder)
    return state is not None and state.finished and summary_says_finished(folder / RUN_SUMMARY)


# -- one temperature ---------------------------------------------------------------------------
def run_temperature_md(config: DiffusionConfig, atoms, temperature_K: float, comm, *, resume: bool,
                       overwrite: bool, source: str) -> Path:
    """The MD of one temperature on ``comm`` (continued if ``resume``); returns its trajectory."""
    protocol = _protocol(config, temperature_K, recorded_species(config, atoms))
    folder = Path(protocol.output_dir)
    if resume and on_root(comm, lambda: _finished(folder)):
        log.info("%g K: MD finished already", temperature_K)
    else:
        run_protocol(protocol, comm, resume=resume, overwrite=overwrite, source=source, atoms=atoms)
    return folder / TRAJECTORY_FILE


def system_species(folder: Path) -> list[str] | None:
    """Species of the whole simulated system, from the MD's initial structure (the trajectory holds only
    the mobile and charged species); None when the folder has none (trajectories from elsewhere)."""
    path = Path(folder) / INITIAL_STRUCTURE
    if not path.is_file():
        return None
    try:
        # parallel=False: only the group's root analyses; ASE would otherwise broadcast over COMM_WORLD.
        atoms = read(path, index=0, parallel=False)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types; the analysis works without it
        log.warning("%s: cannot read the system's species (%s); collective quantities are judged from the "
                    "trajectory alone", path, exc)
        return None
    return sorted(set(atoms.get_chemical_symbols()))


def analyse_temperature(config: DiffusionConfig, temperature_K: float, *, progress: bool = True
                        ) -> TemperatureResult:
    """Analyse the production trajectory of one temperature and write its files (one process)."""
    folder = temperature_dir(config.output_dir, temperature_K)
    path = folder / TRAJECTORY_FILE
    charges = config.conductivity.charges_e if config.conductivity else None
    haven = config.conductivity.haven_ratio if config.conductivity else 1.0
    with open_trajectory(path) as trajectory:
        result = analyse_trajectory(
            trajectory, temperature_K, config.mobile_species, config.analysis,
            rng=np.random.default_rng(temperature_seed(config.seed, temperature_K, 2)),
            charges_e=charges, haven_ratio=haven, system_species=system_species(folder), progress=progress,
        )
    write_temperature(result, folder / ANALYSIS_DIR)
    for name, species in result.species.items():
        log.info("%g K %s: D = %.4g ± %.2g cm^2/s (window %.3g-%.3g ps%s)", temperature_K, name,
                 species.tracer.D_cm2_per_s, species.tracer.D_err_cm2_per_s, species.window.start_ps,
                 species.window.stop_ps, "" if species.window.diffusive else ", NOT diffusive")
    return result


# -- the whole run -----------------------------------------------------------------------------
def save_config(config: DiffusionConfig, rank: int) -> None:
    if rank != 0:
        return
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / CONFIG_FILE, json.dumps(config.model_dump(mode="json"), indent=2) + "\n")


def saved_config(run_dir: Path) -> DiffusionConfig:
    """The config a diffusion run directory was started with (absolute paths; output_dir = ``run_dir``)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a simkit diffusion run directory (no {CONFIG_FILE})")
    # A damaged record must be refused by name before the run directory is locked or written to.
    advice = ("restore it from a backup, or give the YAML file the run was started with "
              "(simkit diffusion CONFIG.yaml --resume)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputDataError(f"{path}: unreadable run config: {reason}; {advice}") from exc
    if not isinstance(data, dict):
        raise InputDataError(f"{path}: unreadable run config: expected a mapping of keys, got "
                             f"{type(data).__name__}; {advice}")
    data["output_dir"] = str(Path(run_dir).resolve())
    try:
        return validate_config(DiffusionConfig, data, source=str(path), base_dir=Path(run_dir))
    except ConfigError as exc:
        raise ConfigError(f"{exc}; {advice}") from exc


def _groups(config: DiffusionConfig, comm) -> int:
    if config.schedule.kind == "sequential":
        return 1
    wanted = config.schedule.groups or len(config.temperatures_K)
    groups = max(1, min(wanted, size_of(comm), len(config.temperatures_K)))
    if groups < wanted and rank_of(comm) == 0:
        log.warning("schedule: %d group(s) requested, %d used (%d rank(s), %d temperature(s))", wanted, groups,
                    size_of(comm), len(config.temperatures_K))
    return groups


def run_diffusion(config: DiffusionConfig, comm=None, *, resume: bool = False, overwrite: bool = False,
                  md: bool = True, source: str = "config", progress: bool = True) -> dict:
    """Run MD at every temperature (unless ``md=False``: analysis of existing trajectories) and the analysis.

    Returns the run summary (the same on every rank). ``resume`` continues
    every interrupted temperature from its last checkpoint and skips finished
    ones; a fresh run refuses an output_dir with unfinished runs unless ``overwrite``.
    """
    rank = rank_of(comm)
    out = Path(config.output_dir)
    # Every rank reads the structure now, together: ASE's file reading broadcasts over COMM_WORLD.
    atoms = load_structure(config.structure, np.random.default_rng(config.seed)) if md else None
    if md:
        check_structure(config, atoms)  # on every rank: all of them refuse it together
        on_root(comm, lambda: _preflight(config, atoms, source, resume=resume, overwrite=overwrite))
        save_config(config, rank)
    groups = _groups(config, comm)
    color = rank % groups
    group_comm = comm.Split(color, rank) if groups > 1 else comm
    mine = [t for i, t in enumerate(config.temperatures_K) if i % groups == color]
    summary_dir = out if md else out / ANALYSIS_DIR
    record = RunRecord("diffusion" if md else "diffusion --analyse-only", summary_dir, config, rank=rank,
                       mpi_size=size_of(comm), seeds={"config": config.seed, "groups": groups},
                       inputs=[config.structure.file] if config.structure.file else [],
                       potentials=[config.potential.build()])
    with record:
        statuses: dict[float, str] = {}
        results: list[TemperatureResult] = []
        for temperature in mine:
            try:
                if md:
                    run_temperature_md(config, atoms, temperature, group_comm, resume=resume, overwrite=overwrite,
                                       source=source)
                result = on_root(group_comm, lambda: analyse_temperature(config, temperature, progress=progress),
                                  share=False)
                statuses[temperature] = "finished"
                if rank_of(group_comm) == 0:
                    results.append(result)
            except SimkitError as exc:
                if isinstance(exc, LammpsError) and exc.fatal:
                    raise
                # The next temperature is safe only if every rank of this group failed this one: a rank that
                # failed alone (one after another, the group is every rank) would leave the others inside a
                # collective of this temperature for ever. Then the job ends (the command's handler aborts it).
                if not every_rank_failed(group_comm):
                    raise
                statuses[temperature] = f"failed: {exc}"
                log.error("%g K failed: %s", temperature, exc)
        if groups > 1:
            group_comm.Free()
        gathered = comm.gather((statuses, results), root=0) if size_of(comm) > 1 else [(statuses, results)]

        def finish() -> dict:
            all_statuses = {t: s for part, _ in gathered for t, s in part.items()}
            done = sorted((r for _, part in gathered for r in part), key=lambda r: r.temperature_K)
            record.add_result("temperatures", {f"{t:g}": all_statuses[t] for t in sorted(all_statuses)})
            for t in sorted(all_statuses):
                record.add_output(f"T{t:g}K", temperature_dir(out, t))
            if done:
                summary = summarise_temperatures(done, config.analysis.arrhenius_include)
                for name, path in write_run(done, summary, out / ANALYSIS_DIR).items():
                    record.add_output(name, path)
                record.add_result("arrhenius", summary.describe())
                record.add_result("per_temperature", {f"{r.temperature_K:g}": r.describe() for r in done})
            return all_statuses

        all_statuses = on_root(comm, finish)
        failed = {t: s for t, s in all_statuses.items() if s != "finished"}
        if failed:
            raise RunFailed(f"{len(failed)} of {len(all_statuses)} temperature(s) failed: "
                            + "; ".join(f"{t:g} K {s}" for t, s in sorted(failed.items())))
    data = record.data if rank == 0 else None
    return comm.bcast(data, root=0) if size_of(comm) > 1 else data


def analyse_run(config: DiffusionConfig, comm=None, *, source: str = "config", progress: bool = True) -> dict:
    """Analyse the production trajectories of an existing run again (e.g. with other analysis settings)."""
    missing = [t for t in config.temperatures_K
               if not (temperature_dir(config.output_dir, t) / TRAJECTORY_FILE).is_file()]
    if len(missing) == len(config.temperatures_K):
        raise InputDataError(f"{source}: no production trajectory under {config.output_dir} "
                             f"(expected {temperature_dir(config.output_dir, missing[0]) / TRAJECTORY_FILE})")
    return run_diffusion(config, comm, md=False, source=source, progress=progress)


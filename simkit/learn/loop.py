"""The active-learning loop: fit, explore, grade, label, refit.

Iteration k (folder ``iteration-<k>``):

1. fit the student on the starting data plus every frame added so far (ACE via
   pacemaker, with its active set; from iteration 1 on it continues from the
   previous student's coefficients); the fit is validated on the benchmark set,
   so no training frame is held out;
2. its errors on the fixed benchmark set are that fit's validation (``fit/metrics.json``);
3. explore: a survival screen of the student (``exploration``) that grades
   gamma at every check and keeps each replica's first cell above
   ``selection.gamma_threshold``, the onset of extrapolation (it also gives the
   survival fraction);
4. stop when a target is met, the budget is spent, or nothing was extrapolative;
5. otherwise the teacher labels the kept cells of highest gamma (at most
   ``max_frames_per_iteration``; cells with a teacher force above
   ``max_force_eV_per_A`` are dropped), written to ``iteration-<k>/added.extxyz``.

``learn.json`` is rewritten (atomically) after every completed iteration with
what it measured; ``--resume`` continues after the last completed one and
redoes an iteration that was cut off. The students' seeds depend only on the
config seed and k, so a resumed loop makes the same choices.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from ase.io import read

from simkit.datasets.frames import Dataset
from simkit.datasets.reader import read_dataset, write_dataset
from simkit.datasets.teacher import labelled_frame
from simkit.distil.teachers import make_teacher
from simkit.errors import ConfigError
from simkit.fitting.ace import POTENTIAL_YAML
from simkit.fitting.candidate import fit_and_score
from simkit.fitting.registry import with_overrides
from simkit.learn.config import LearnConfig
from simkit.runtime.documents import first_difference, utc_now
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_json
from simkit.runtime.mpi import on_root, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.screening.survival import run_survival
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)

STATE_FILE = "learn.json"
ADDED_FILE = "added.extxyz"
FORMAT_VERSION = 1


def iteration_dir(out: Path, k: int) -> Path:
    return out / f"iteration-{k}"


def _definition(config: LearnConfig) -> dict[str, Any]:
    """What defines the loop's results (the config less where it runs)."""
    return config.model_dump(mode="json", exclude={"output_dir"})


def _start(config: LearnConfig, out: Path, *, resume: bool, overwrite: bool) -> list[dict[str, Any]]:
    """The iterations already done (resume) or none (fresh run; an earlier loop's state is refused or cleared)."""
    state_path = out / STATE_FILE
    if not state_path.exists():
        if resume:
            raise ConfigError(f"{out}: no {STATE_FILE}: nothing to resume (run without --resume)")
        return []
    if not resume:
        if not overwrite:
            raise ConfigError(f"{out} holds a learning loop ({STATE_FILE}); continue it with --resume or start "
                              "again with --overwrite")
        for path in out.glob("iteration-*"):
            shutil.rmtree(path)
        state_path.unlink()
        return []
    try:
        state = json.loads(state_path.read_text())
        done = list(state["iterations"])
        recorded = state["definition"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{state_path}: unreadable learning state ({exc}); start again with --overwrite") from exc
    if recorded != _definition(config):
        where = first_difference(recorded, _definition(config))
        raise ConfigError(f"{out}: the config changed since the loop started (first at {where}); a resumed loop "
                          "must run the same config (or start again with --overwrite)")
    return done


def _save(out: Path, config: LearnConfig, iterations: list[dict[str, Any]], finished: bool) -> None:
    document = {"format_version": FORMAT_VERSION, "definition": _definition(config),
                "fingerprint": sha256_json(_definition(config)), "updated": utc_now(), "finished": finished,
                "iterations": iterations}
    atomic_write_text(out / STATE_FILE, json.dumps(document, indent=2, default=str) + "\n")


def run_learn(config: LearnConfig, comm=None, *, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Run (or continue) the loop; returns the run summary. Rank 0 writes every file."""
    out = Path(config.output_dir).resolve()
    rank, size = rank_of(comm), size_of(comm)
    on_root(comm, lambda: out.mkdir(parents=True, exist_ok=True))
    iterations = on_root(comm, lambda: _start(config, out, resume=resume, overwrite=overwrite))
    cells = exploration_cells(config)
    teacher = make_teacher(config.teacher, comm)
    record = RunRecord("learn", out, config, rank=rank, mpi_size=size, seeds={"learn": config.seed},
                       inputs=[config.benchmark, *config.fit.data.train])
    with record:
        ended_because = iterations[-1].get("stopped") if iterations else None
        k = len(iterations)
        while ended_because is None:
            folder = iteration_dir(out, k)
            on_root(comm, lambda f=folder: (shutil.rmtree(f, ignore_errors=True), f.mkdir(parents=True)))
            entry = _iteration(config, k, folder, iterations, cells, teacher, comm)
            ended_because = entry.get("stopped")
            iterations.append(entry)
            on_root(comm, lambda: _save(out, config, iterations, finished=ended_because is not None))
            k += 1
        record.add_result("iterations", iterations)
        record.add_result("stopped", ended_because)
        record.add_output("state", out / STATE_FILE)
        record.add_output("student", Path(iterations[-1]["potential"]["yace"]))
        on_root(comm, lambda: atomic_write_text(out / "learn.md", report(iterations)))
        record.add_output("report", out / "learn.md")
    return record.data


def exploration_cells(config: LearnConfig) -> list:
    """The screens' starting cells; seeded, since a built cell may place vacancies at random (Sb2Te3)."""
    return [load_structure(spec, np.random.default_rng([config.seed, index]))
            for index, spec in enumerate(config.exploration.structures)]


def _training_files(config: LearnConfig, iterations: list[dict[str, Any]]) -> list[str]:
    added = [entry["added_file"] for entry in iterations if entry.get("added_file")]
    return [str(p) for p in config.fit.data.train] + added


def _iteration(config: LearnConfig, k: int, folder: Path, iterations: list[dict[str, Any]], cells: list, teacher,
               comm) -> dict[str, Any]:
    started = utc_now()
    # Validated on the benchmark set, so every training frame (the labelled cells above all) is fitted.
    overrides: dict[str, Any] = {"data.train": _training_files(config, iterations), "output_dir": str(folder / "fit"),
                                 "data.validation": {"kind": "file", "path": [str(config.benchmark)]},
                                 "ace.activeset": True, "seed": config.seed + k,
                                 "weights.config_types": {**config.fit.weights.model_dump(mode="json")["config_types"],
                                                          config.selection.config_type:
                                                          {"energy": config.selection.energy_weight}}}
    if iterations:  # continue from the previous student's coefficients
        overrides["ace.initial_potential"] = str(Path(iterations[-1]["fit_dir"]) / POTENTIAL_YAML)
        if config.refit_iterations is not None:
            overrides["ace.max_iterations"] = config.refit_iterations
            overrides["ace.upfit"] = []
    fit = with_overrides(config.fit, overrides)
    student = fit_and_score(fit, folder / "fit", comm=comm)
    potential = student.build_potential()
    # the fit was validated on the benchmark set: its validation metrics are the benchmark errors
    errors = student.validation["overall"]
    settings = config.exploration.survival.model_copy(update={"capture_gamma": config.selection.gamma_threshold})
    parallel = {"comm": comm} if comm is not None and comm.Get_size() > 1 else {}  # else worker processes
    screen = run_survival(potential, settings, structures=cells, seed=config.seed + 1000 * k, **parallel,
                          log_dir=folder / "explore" / "replicas", structure_dir=folder / "explore" / "cells")
    on_root(comm, lambda: screen.write_json(folder / "explore" / "survival.json"))
    onsets = {r.index: read(r.extrapolation_structure) for r in screen.replicas if r.extrapolation_structure}
    kept = sorted((r for r in screen.replicas if r.index in onsets),
                  key=lambda r: -float(onsets[r.index].arrays["gamma"].max()))
    entry: dict[str, Any] = {
        "iteration": k, "started": started, "training_frames": len(read_dataset(fit.data.train)),
        "fit_dir": str(folder / "fit"), "potential": student.potential,
        "validation_loss": student.loss,
        "benchmark": {"energy_rmse_meV_per_atom": errors["energy_rmse_meV_per_atom"],
                      "force_component_rmse_meV_per_A": errors["force_component_rmse_meV_per_A"],
                      "frames": errors["n_frames"]},
        "survival_fraction": screen.survival_fraction, "failure_modes": screen.failure_modes,
        "max_gamma": screen.max_gamma, "extrapolative_cells": len(kept),
    }
    entry["stopped"] = _stop_reason(config, k, entry)
    if entry["stopped"] is None:
        chosen = kept[:config.selection.max_frames_per_iteration]
        structures = [onsets[r.index] for r in chosen]
        labels = teacher.label(structures)
        limit = config.selection.max_force_eV_per_A
        frames = [labelled_frame(atoms, label, config_type=config.selection.config_type,
                                 source=f"iteration {k} replica {r.index} (gamma {atoms.arrays['gamma'].max():.3g})",
                                 info={"gamma_max": float(atoms.arrays["gamma"].max()), "iteration": k})
                  for atoms, label, r in zip(structures, labels, chosen)
                  if np.isfinite(label.energy_eV) and np.abs(label.forces_eV_per_A).max() <= limit]
        entry["frames_dropped_for_force"] = len(chosen) - len(frames)
        if not frames:
            entry["stopped"] = f"every extrapolative cell has a teacher force above {limit:g} eV/A: nothing to learn"
        else:
            added = folder / ADDED_FILE
            on_root(comm, lambda: write_dataset(Dataset(frames, name=f"learned in iteration {k}"), added))
            entry.update(frames_added=len(frames), added_file=str(added))
    entry["finished"] = utc_now()
    log.info("learn iteration %d: benchmark %.2f meV/atom, survival %.2f, max gamma %s, %s", k,
             errors["energy_rmse_meV_per_atom"], screen.survival_fraction, screen.max_gamma,
             entry["stopped"] or f"{entry.get('frames_added', 0)} frames added")
    return entry


def _stop_reason(config: LearnConfig, k: int, entry: dict[str, Any]) -> str | None:
    stop = config.stop
    if stop.max_gamma is not None and entry["max_gamma"] is not None and entry["max_gamma"] <= stop.max_gamma:
        return f"max gamma {entry['max_gamma']:.3g} <= stop.max_gamma {stop.max_gamma:g}"
    target = stop.energy_rmse_meV_per_atom
    if target is not None and entry["benchmark"]["energy_rmse_meV_per_atom"] <= target:
        return f"benchmark energy RMSE <= {target:g} meV/atom"
    if entry["extrapolative_cells"] == 0:
        return f"no explored cell graded above gamma {config.selection.gamma_threshold:g}: nothing to learn"
    if k + 1 >= stop.max_iterations:
        return f"stop.max_iterations = {stop.max_iterations} reached"
    return None


def report(iterations: list[dict[str, Any]]) -> str:
    """A Markdown table of the iterations (learn.md)."""
    lines = ["# simkit learn", "",
             "| iteration | training frames | benchmark E RMSE (meV/atom) | benchmark F RMSE (meV/A) | survival "
             "| max gamma | frames added | stopped |", "|---|---|---|---|---|---|---|---|"]
    for e in iterations:
        gamma = "-" if e["max_gamma"] is None else f"{e['max_gamma']:.3g}"
        lines.append(f"| {e['iteration']} | {e['training_frames']} | {e['benchmark']['energy_rmse_meV_per_atom']:.2f} | "
                     f"{e['benchmark']['force_component_rmse_meV_per_A']:.1f} | {e['survival_fraction']:.2f} | "
                     f"{gamma} | {e.get('frames_added', 0)} | {e['stopped'] or ''} |")
    return "\n".join(lines) + "\n"

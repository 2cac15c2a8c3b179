"""Active learning for the demo: the best student explores, the teacher labels what it gets wrong, the student is refit.

A student scored on a fixed benchmark set can still own low-energy structures
the teacher does not have (see :mod:`simkit.demo.audit`): found only by running
MD with the student itself. Each round runs ``simkit distil`` with the current
student as the generators' sampler and keeps the frames whose student and
teacher energies differ by at least the threshold; then ``simkit fit`` refits
the best candidate's hyperparameters on the training data plus every frame
explored so far. A round that finds nothing to correct ends the loop. A last
exploration with the final student measures what is left (``check``).

Writes ``<folder>/<family>/round-<k>/{explore,fit}/``, ``<folder>/<family>/check/``,
``<folder>/<family>/potential.yaml`` (the refined student) and
``<folder>/<family>/refine.json`` (per round: disagreement before, frames added,
the refit's validation loss).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import Field

from simkit.config.loader import validate_config
from simkit.config.schema import Schema
from simkit.demo.steps import read_potential_file, write_yaml
from simkit.fitting.ace import POTENTIAL_YAML as ACE_POTENTIAL
from simkit.fitting.registry import with_overrides
from simkit.optimise.config import OptimiseConfig

POTENTIAL = "potential.yaml"
SUMMARY = "refine.json"
EXPLORED = "explored.extxyz"

# The distil generators that run MD, so a student can drive them.
MD_GENERATOR_KINDS = frozenset({"md", "amorphous", "interface", "trajectory"})
# Each round is an MD exploration and a full refit; twenty is past any budget a demo has.
MAX_ROUNDS = 20


class RefineSection(Schema):
    """Demo section ``refine``: rounds of student exploration, teacher labels and refits."""

    families: list[Literal["snap", "ace"]] = Field(default_factory=lambda: ["ace"], min_length=1,
                                                   description="optimised families whose best student is refined")
    rounds: int = Field(default=1, ge=1, le=MAX_ROUNDS)
    generators: list[dict[str, Any]] = Field(
        min_length=1, description="distil MD generators (md, trajectory, amorphous, interface) run with the student; "
        "the demo sets their sampler and threshold")
    min_disagreement_meV_per_atom: float = Field(
        default=30.0, gt=0, description="frames where student and teacher differ by less are not added")
    config_type: str = Field(default="explored", min_length=1, description="label of the added frames")
    energy_weight: float = Field(
        default=0.3, ge=0, description="energy weight of the added frames (their forces keep the global weight): "
        "a collapsed structure's energy is eV/atom off, and must not outweigh the training set")
    check: bool = Field(default=True, description="explore once more with the final student and record what is left")
    max_iterations: int | None = Field(
        default=None, ge=1, description="ACE: iterations of each refit, which starts from the student's own "
        "coefficients (default: the best candidate's max_iterations, from its coefficients too)")


def best_fit_config(optimise_dir: Path) -> tuple[Any, dict[str, Any], Path]:
    """The best candidate's fit config (the optimiser's fit section with its parameters), those parameters,
    and the candidate's own fit folder."""
    provenance_path = optimise_dir / "best" / "provenance.json"
    provenance = json.loads(provenance_path.read_text())
    config = validate_config(OptimiseConfig, provenance["config"], source=str(provenance_path), base_dir=Path("/"))
    params = provenance["candidate"]["params"]
    return with_overrides(config.fit, params), params, Path(provenance["candidate"].get("workdir", optimise_dir))


def explore_config(data_config: dict[str, Any], section: RefineSection, student: dict[str, Any], seed: int,
                   output: Path) -> dict[str, Any]:
    """A ``simkit distil`` config: the data step's teacher and structure, the section's generators run by ``student``."""
    generators = []
    for gen in section.generators:
        gen = {**gen, "split": "train", "config_type": section.config_type, "sampler": student,
               "min_disagreement_meV_per_atom": section.min_disagreement_meV_per_atom}
        if "segments" in gen:  # a trajectory labels frames by segment: every explored frame carries one label
            gen["segments"] = [{**segment, "phase": section.config_type} for segment in gen["segments"]]
        generators.append(gen)
    keep = ("teacher", "structure", "max_force_eV_per_A", "with_virial")
    return {**{k: data_config[k] for k in keep if k in data_config}, "seed": seed, "generators": generators,
            "output": str(output)}


def refit_config(fit, train: list[Path], section: RefineSection, output_dir: Path,
                 start_from: Path | None = None) -> dict[str, Any]:
    """The best candidate's fit on ``train``; an ACE refit continues from ``start_from`` (a pacemaker potential)."""
    weights = {**fit.weights.model_dump(mode="json")["config_types"],
               section.config_type: {"energy": section.energy_weight}}
    overrides: dict[str, Any] = {"data.train": [str(p) for p in train], "weights.config_types": weights,
                                 "output_dir": str(output_dir)}
    if fit.backend == "ace":
        if start_from is not None:
            overrides["ace.initial_potential"] = str(start_from)
        if section.max_iterations is not None:
            overrides["ace.max_iterations"] = section.max_iterations
    return with_overrides(fit, overrides).model_dump(mode="json", exclude_none=True)


def _pacemaker_potential(fit_dir: Path) -> Path | None:
    """The pacemaker potential a fit folder holds (ACE), for the next refit to start from."""
    path = fit_dir / ACE_POTENTIAL
    return path if path.is_file() else None


def _exploration(explore_dir: Path) -> tuple[dict[str, Any], int]:
    """(disagreement per generator, frames kept) from an exploration's run summary."""
    results = json.loads((explore_dir / "run_summary.json").read_text()).get("results", {})
    return results.get("disagreement_meV_per_atom", {}), int(sum(results.get("frames_per_config_type", {}).values()))


def refine_family(family: str, optimise_dir: Path, student: dict[str, Any], dataset: Path,
                  data_config: dict[str, Any], section: RefineSection, seed: int, folder: Path,
                  run: Callable[[str, list[str], Path], None]) -> dict[str, Any]:
    """Refine one family's best student; ``run(name, args, log)`` runs a simkit command (the demo's runner)."""
    fit, params, fit_dir = best_fit_config(optimise_dir)
    explored: list[Path] = []
    rounds = []
    for k in range(1, section.rounds + 1):
        explore_dir = folder / f"round-{k}" / "explore"
        config = explore_config(data_config, section, student, seed + k, explore_dir / EXPLORED)
        _write(config, explore_dir / "distil.yaml")
        run(f"refine {family} round {k}: explore", ["distil", str(explore_dir / "distil.yaml")],
            explore_dir / "command.log")
        disagreement, added = _exploration(explore_dir)
        record = {"round": k, "student": student, "disagreement_meV_per_atom": disagreement, "frames_added": added}
        if not added:
            rounds.append(record)
            break
        explored.append(explore_dir / EXPLORED)
        previous, fit_dir = fit_dir, folder / f"round-{k}" / "fit"
        _write(refit_config(fit, [dataset, *explored], section, fit_dir, _pacemaker_potential(previous)),
               folder / f"round-{k}" / "fit.yaml")
        run(f"refine {family} round {k}: refit", ["fit", str(folder / f"round-{k}" / "fit.yaml")],
            folder / f"round-{k}" / "fit.log")
        student = read_potential_file(fit_dir / POTENTIAL)
        metrics = json.loads((fit_dir / "metrics.json").read_text())
        record.update(refit=str(fit_dir), validation_loss=metrics.get("validation", metrics).get("overall", {})
                      .get("loss"))
        rounds.append(record)
    refits = [r["refit"] for r in rounds if "refit" in r]
    result = {"family": family, "params": params, "rounds": rounds, "potential": student,
              "metrics_dir": refits[-1] if refits else None}
    if section.check and rounds[-1]["frames_added"]:
        check_dir = folder / "check"
        _write(explore_config(data_config, section, student, seed + section.rounds + 1, check_dir / EXPLORED),
               check_dir / "distil.yaml")
        run(f"refine {family}: check", ["distil", str(check_dir / "distil.yaml")], check_dir / "command.log")
        disagreement, above = _exploration(check_dir)
        result["check"] = {"disagreement_meV_per_atom": disagreement, "frames_above_threshold": above}
    _write(student, folder / POTENTIAL)
    (folder / SUMMARY).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def _write(data: dict[str, Any], path: Path) -> None:
    write_yaml(data, path, "generated by simkit demo (refine)")

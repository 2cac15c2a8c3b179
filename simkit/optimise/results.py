"""What a run leaves behind, regenerated from the journal at the end of every session.

``candidates.csv`` and ``candidates.h5`` (one row per candidate: status,
hyperparameters, every error, speed, survival, timings, artefacts; units in the
column names and as HDF5 attributes), ``convergence.png`` and ``pareto.png``,
and ``best/``: the best candidate's potential files with a ``potential.yaml``
that points at them, its metrics, speed and survival reports and
``provenance.json`` (config, data hashes, versions, the candidate's row).

The Pareto front is taken over the measured axes (loss; cost with a speed
stage; 1 - survival with a survival stage; the property misfit with weighted
property targets) among candidates that have all of
them: a candidate pruned before a stage stays off it (``early_stop: false``
measures every candidate fully), and the survival of a screen that stopped
early is its lower bound.

The energy/force trade-off is a second front, over the validation energy RMSE
(meV/atom) and force-component RMSE (meV/Å) alone, whatever the objective:
``pareto_energy_forces.csv`` (one row per candidate on it, with its
hyperparameters) and ``pareto_energy_forces.png`` (every scored candidate).
Candidates that were fitted and scored count (ok, and pruned ones, which were
stopped after the fit or a later stage); infeasible and failed ones do not.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from simkit.fitting.deployed import POTENTIAL_FILE, write_potential_yaml
from simkit.optimise.objective import CandidateStatus, pareto_mask
from simkit.runtime.files import replace_directory, replace_durably, restore_directory
from simkit.validation.report import unit_of

CANDIDATES_CSV = "candidates.csv"
CANDIDATES_H5 = "candidates.h5"
CONVERGENCE_PNG = "convergence.png"
PARETO_PNG = "pareto.png"
PARETO_ENERGY_FORCES_CSV = "pareto_energy_forces.csv"
PARETO_ENERGY_FORCES_PNG = "pareto_energy_forces.png"
ENERGY_FORCE_AXES = ("energy_rmse_meV_per_atom", "force_component_rmse_meV_per_A")
BEST_DIR = "best"
PROVENANCE_JSON = "provenance.json"

_METRICS = ("energy_rmse_meV_per_atom", "energy_mae_meV_per_atom", "force_component_rmse_meV_per_A",
            "force_vector_rmse_meV_per_A", "force_vector_mae_meV_per_A", "virial_rmse_meV_per_atom",
            "loss_energy_meV", "loss_forces_meV_per_A")
_PER_TYPE = ("energy_rmse_meV_per_atom", "force_vector_rmse_meV_per_A")
_CANDIDATE_FILES = ("metrics.json", "parity.png", "candidate.json", "properties.json", "speed.json", "survival.json")


def cost_column(has_reference: bool) -> str:
    """Name (with unit) of the cost column: relative to the reference, or core-µs per atom-step."""
    return "cost_relative_to_reference" if has_reference else "cost_core_us_per_atom_step"


def _number(value: Any) -> float:
    return float(value) if value is not None else math.nan


def best_row(rows: list[dict]) -> dict | None:
    """The feasible, fully measured candidate with the smallest objective (lowest id on ties)."""
    ok = [r for r in rows if r["status"] == CandidateStatus.OK and r["objective"] is not None]
    return min(ok, key=lambda r: (r["objective"], r["id"])) if ok else None


def pareto_axes(has_speed: bool, has_survival: bool, has_property_term: bool = False) -> list[str]:
    return (["loss"] + (["cost"] if has_speed else []) + (["instability"] if has_survival else [])
            + (["property_misfit"] if has_property_term else []))


def property_misfit(row: dict) -> float | None:
    """The objective's property term of a candidate (None: not measured)."""
    return ((row.get("outcome") or {}).get("property_term"))


def pareto_ids(rows: list[dict], axes: list[str]) -> set[int]:
    """Ids of candidates on the Pareto front over the measured axes (loss, cost, 1 - survival)."""
    table = []
    for row in rows:
        values = [_number(row["loss"])]
        if "cost" in axes:
            values.append(_number(row["cost"]))
        if "instability" in axes:
            values.append(1.0 - _number(row["survival"]))
        if "property_misfit" in axes:
            values.append(_number(property_misfit(row)))
        if all(math.isfinite(v) for v in values):
            table.append((row["id"], values))
    if not table:
        return set()
    mask = pareto_mask(np.array([v for _, v in table]))
    return {cid for (cid, _), keep in zip(table, mask) if keep}


def energy_force_errors(row: dict) -> tuple[float, float] | None:
    """(energy RMSE meV/atom, force-component RMSE meV/Å) on the validation frames, None if not both finite."""
    overall = ((row.get("outcome") or {}).get("validation") or {}).get("overall") or {}
    values = tuple(_number(overall.get(key)) for key in ENERGY_FORCE_AXES)
    return values if all(math.isfinite(v) for v in values) else None


def energy_force_front(rows: list[dict]) -> list[dict]:
    """Candidates (ok or pruned) that no other has beaten on both energy and force error, by energy error.

    Each entry: id, status, the two errors, the force-vector RMSE, the loss and the hyperparameters.
    """
    scored = [(row, energy_force_errors(row)) for row in rows
              if row["status"] in (CandidateStatus.OK, CandidateStatus.PRUNED)]
    scored = [(row, errors) for row, errors in scored if errors is not None]
    if not scored:
        return []
    mask = pareto_mask(np.array([errors for _, errors in scored]))
    front = []
    for (row, errors), keep in zip(scored, mask):
        if keep:
            overall = row["outcome"]["validation"]["overall"]
            front.append({"id": row["id"], "status": str(row["status"]), ENERGY_FORCE_AXES[0]: errors[0],
                          ENERGY_FORCE_AXES[1]: errors[1],
                          "force_vector_rmse_meV_per_A": _number(overall.get("force_vector_rmse_meV_per_A")),
                          "loss": _number(row["loss"]), "params": row["params"] or {}})
    return sorted(front, key=lambda entry: (entry[ENERGY_FORCE_AXES[0]], entry["id"]))


def write_energy_force_front(front: list[dict], path: Path, *, names: list[str], best_id: int | None) -> Path:
    """The energy/force front as CSV: id, status, errors (units in the headers), loss, best, one column per param."""
    path = Path(path)
    header = ["id", "status", *ENERGY_FORCE_AXES, "force_vector_rmse_meV_per_A", "loss", "best",
              *(f"param:{name}" for name in names)]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for entry in front:
            params = [entry["params"].get(name) for name in names]
            writer.writerow([entry["id"], entry["status"], *(f"{entry[k]:.6g}" for k in ENERGY_FORCE_AXES),
                             f"{entry['force_vector_rmse_meV_per_A']:.6g}", f"{entry['loss']:.6g}",
                             entry["id"] == best_id,
                             *(json.dumps(v) if isinstance(v, (list, dict)) else v for v in params)])
    return path


def candidate_table(rows: list[dict], *, names: list[str], has_reference: bool, front: set[int],
                    best_id: int | None, energy_force_ids: set[int] = frozenset()):
    """All candidates as a pandas DataFrame (units in the column names)."""
    # lazy: pandas takes ~0.4 s to import; the package loads in every spawned candidate worker, the table once a run
    import pandas as pd

    types = sorted({t for r in rows for t in ((r["outcome"] or {}).get("validation") or {}).get("config_types", {})})
    # every property any candidate reports, in first-seen order (the stage computes the same set for all)
    properties = list(dict.fromkeys(k for r in rows for k in ((r["outcome"] or {}).get("properties") or {})))
    records = []
    for row in rows:
        outcome = row["outcome"] or {}
        overall = (outcome.get("validation") or {}).get("overall", {})
        per_type = (outcome.get("validation") or {}).get("config_types", {})
        timings = outcome.get("timings_s") or {}
        record: dict[str, Any] = {
            "id": row["id"], "status": row["status"], "source": row["source"],
            "penalised": bool(row["penalised"]), "told_value": _number(row["told_value"]),
            "objective": _number(row["objective"]), "lower_bound": _number(row["lower_bound"]),
            "loss": _number(row["loss"]), "baseline_loss": _number(outcome.get("baseline_loss")),
        }
        for key in _METRICS:
            record[key] = _number(overall.get(key))
        for name in types:
            for key in _PER_TYPE:
                record[f"{key}[{name}]"] = _number(per_type.get(name, {}).get(key))
        record.update({
            "speed_atom_steps_per_s_per_core": _number(row["speed_per_core"]),
            "reference_speed_atom_steps_per_s_per_core": _number(outcome.get("reference_speed_per_core")),
            "relative_speed": _number(row["relative_speed"]),
            cost_column(has_reference): _number(row["cost"]),
            "speed_relative_spread": _number((outcome.get("conditions") or {}).get("relative_spread")),
            "speed_concurrent_candidates": _number((outcome.get("conditions") or {}).get("concurrent_candidates")),
            "survival_fraction": _number(row["survival"]),
            "survival_fraction_max": _number(row["survival_max"]),
            "pareto": row["id"] in front, "pareto_energy_forces": row["id"] in energy_force_ids,
            "best": row["id"] == best_id,
        })
        if properties:
            record["property_misfit"] = _number(property_misfit(row))
            values = outcome.get("properties") or {}
            for name in properties:
                record[f"property:{name}"] = _number(values.get(name))
        for key in ("fit_s", "properties_s", "speed_s", "survival_s", "total_s"):
            record[key] = _number(timings.get(key))
        for name in names:
            value = (row["params"] or {}).get(name)
            record[f"param:{name}"] = json.dumps(value) if isinstance(value, (list, dict)) else value
        record.update({"reason": row["reason"] or "", "workdir": row["workdir"],
                       "dispatched_at": row["dispatched_at"], "finished_at": row["finished_at"] or ""})
        records.append(record)
    return pd.DataFrame.from_records(records)


def _unit(column: str) -> str:
    if column.startswith("property:"):
        return unit_of(column.removeprefix("property:"))
    for suffix, unit in (("_meV_per_atom", "meV/atom"), ("_meV_per_A", "meV/Å"), ("_meV", "meV"),
                         ("_atom_steps_per_s_per_core", "atom-steps/s/core"), ("_core_us_per_atom_step", "core-µs"),
                         ("_s", "s")):
        if column.split("[")[0].endswith(suffix):
            return unit
    return {"loss": "meV (alpha L_E + (1 - alpha) L_F)", "baseline_loss": "meV"}.get(column, "1")


def write_tables(table, run_dir: Path, attributes: dict[str, Any]) -> tuple[Path, Path]:
    # lazy: h5py is only for the final table; the package loads in every spawned candidate worker
    import h5py

    csv_path, h5_path = Path(run_dir) / CANDIDATES_CSV, Path(run_dir) / CANDIDATES_H5
    table.to_csv(csv_path, index=False)
    tmp = h5_path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as handle:
        group = handle.create_group("candidates")
        for key, value in attributes.items():
            group.attrs[key] = value
        for column in table.columns:
            values = table[column].to_numpy()
            if table[column].dtype.kind in "biuf":
                dataset = group.create_dataset(column, data=values)
            else:
                text = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
                dataset = group.create_dataset(column, data=text, dtype=h5py.string_dtype())
            dataset.attrs["units"] = _unit(column)
    replace_durably(tmp, h5_path)
    return csv_path, h5_path


def _portable_spec(spec: Any, workdir: Path, target: Path) -> Any:
    """Copy the candidate's potential files into ``target``; paths in the spec become file names."""
    if isinstance(spec, dict):
        return {k: _portable_spec(v, workdir, target) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_portable_spec(v, workdir, target) for v in spec]
    if isinstance(spec, str):
        path = Path(spec)
        if path.is_absolute() and path.is_file() and workdir in path.parents:
            shutil.copy2(path, target / path.name)
            return path.name
    return spec


def export_best(row: dict, run_dir: Path, provenance: dict[str, Any]) -> Path:
    """Copy the best candidate into ``run_dir/best`` (kept as is when it already holds that candidate).

    The new ``best/`` is built beside the old one and swapped in by two
    renames: a kill at any instant leaves a complete ``best/`` or, between the
    renames, the previous one as ``.best.previous/``, which the next export
    renames back.
    """
    best = Path(run_dir) / BEST_DIR
    restore_directory(best)
    existing = best / PROVENANCE_JSON
    if existing.is_file() and json.loads(existing.read_text()).get("candidate", {}).get("id") == row["id"]:
        return best
    staging = Path(run_dir) / f".{BEST_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    workdir = Path(row["workdir"]).resolve()
    spec = _portable_spec(row["outcome"]["artefacts"]["potential"], workdir, staging)
    write_potential_yaml(spec, staging / POTENTIAL_FILE)
    for name in _CANDIDATE_FILES:
        if (workdir / name).is_file():
            shutil.copy2(workdir / name, staging / name)
    record = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "candidate": {k: row[k] for k in ("id", "status", "source", "params", "objective", "loss",
                                          "speed_per_core", "relative_speed", "cost", "survival", "workdir")},
        "outcome": row["outcome"],
        **provenance,
    }
    (staging / PROVENANCE_JSON).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return replace_directory(staging, best)

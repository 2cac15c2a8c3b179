"""``simkit validate`` as a job: compute the properties of the potential (and of a reference
potential), compare, write the table and figures on rank 0, and record the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simkit.errors import ConfigError
from simkit.runtime.mpi import on_root, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.structures.spec import load_structure
from simkit.validation import liquid, report
from simkit.validation.config import ValidateConfig
from simkit.validation.properties import Properties, compute


def validate_job(config: ValidateConfig, comm=None, *, overwrite: bool = False) -> dict:
    """Run the validation; returns its summary on every rank (``failed`` lists what did not pass)."""
    out = Path(config.output_dir)
    if (out / report.JSON_FILE).exists() and not overwrite:
        raise ConfigError(f"output_dir {out} holds a validation already ({report.JSON_FILE}); "
                          "choose another output_dir or pass --overwrite")
    atoms = load_structure(config.structure, np.random.default_rng(0))
    potential = config.potential.build()
    reference_potential = config.reference.potential.build() if config.reference and config.reference.potential \
        else None
    potentials = [potential] + ([reference_potential] if reference_potential else [])
    curves = config.reference.curves if config.reference is not None else None
    given = liquid.given_curves(curves.liquid_rdf, curves.liquid_adf) if curves is not None else None  # fail fast
    record = RunRecord("validate", out, config, rank=rank_of(comm), mpi_size=size_of(comm),
                       inputs=config.input_files(), potentials=potentials)
    with record:
        repeat = tuple(config.structure.repeat)
        ours = compute(potential, atoms, repeat, config.properties, comm, label="potential")
        reference: Properties | dict | None = None
        if reference_potential is not None:
            reference = compute(reference_potential, atoms, repeat, config.properties, comm, label="reference")
        elif config.reference is not None:
            reference = dict(config.reference.values)
            unknown = sorted(set(reference) - set(ours.quantities))
            if unknown:
                raise ConfigError(f"reference.values: {unknown} are not quantities this validation computes "
                                  f"(it computes: {sorted(ours.quantities)})")
        _compare_liquid_curves(ours, reference, given)
        table = report.rows(ours, reference, config.tolerances)
        failed = [f"{row['quantity']}: {_fmt_failure(row)}" for row in table if row["passed"] is False]
        failed += ours.problems
        summary = {
            "title": f"Validation of {potential.describe().get('kind', 'potential')} on "
                     f"{atoms.get_chemical_formula()}",
            "reference": _reference_description(config, reference_potential),
            "table": table,
            "failed": failed,
            "problems": ours.problems,
            "failed_properties": ours.failed,
            "curves": {"potential": ours.curves, "reference": reference.curves
                       if isinstance(reference, Properties) else None},
            "seconds": {"potential": ours.seconds,
                        "reference": reference.seconds if isinstance(reference, Properties) else None},
        }
        record.add_result("failed", failed)
        record.add_result("quantities", ours.quantities)
        for name in (report.JSON_FILE, report.CSV_FILE, report.MARKDOWN_FILE):
            record.add_output(name.replace(".", "_"), out / name)
        on_root(comm, lambda: report.write_outputs(out, summary, ours,
                                                   reference if isinstance(reference, Properties) else None))
    return summary


def _compare_liquid_curves(ours: Properties, reference: Properties | dict | None, given: dict | None) -> None:
    """g(r) and angle distributions against the reference potential's own run or the curves given: a
    difference, so its reference value is 0 (a tolerance on it is the largest difference allowed)."""
    if "liquid" not in ours.curves:
        return
    if isinstance(reference, Properties):
        curves, origin = reference.curves.get("liquid"), "the reference potential's own liquid run"
    elif given is not None:
        curves, origin = given, "the reference curves given"
    else:
        return
    for name, value in liquid.curve_difference(ours.curves["liquid"], curves or {}).items():
        ours.quantities[name] = value
        if isinstance(reference, Properties):
            reference.quantities[name] = 0.0
        else:
            reference[name] = 0.0
        ours.notes[name] = f"integrated |difference| from {origin}"
    if isinstance(reference, dict) and curves:
        ours.curves["liquid_reference"] = curves


def _fmt_failure(row: dict) -> str:
    if row["value"] is None or row["reference"] is None:
        return row.get("note") or "no value to compare"
    return (f"{row['value']:.6g} vs reference {row['reference']:.6g} {row['unit']} "
            f"(difference {row['difference']:+.3g}, tolerance {row['tolerance']:g})")


def _reference_description(config: ValidateConfig, reference_potential) -> dict | None:
    if config.reference is None:
        return None
    if reference_potential is not None:
        return {"potential": reference_potential.describe(), "source": config.reference.source}
    return {"values": dict(config.reference.values), "source": config.reference.source}

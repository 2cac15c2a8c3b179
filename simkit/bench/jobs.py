"""Config-driven run behind ``simkit bench scaling``: scan, then table, machine file and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from simkit.bench.launch import own_job_size
from simkit.bench.scaling import ScalingConfig, ScalingResult, run_scaling
from simkit.bench.scaling_report import (
    MACHINE_JSON,
    RELATIVE_PNG,
    SCALING_CSV,
    SCALING_PNG,
    plot_relative,
    plot_scaling,
    write_csv,
    write_machine,
)
from simkit.errors import ConfigError
from simkit.runtime.provenance import RunRecord
from simkit.structures.geometry import check_replicable
from simkit.structures.spec import load_structure


def checked_structure(config: ScalingConfig) -> Atoms:
    """The scan's structure, read and checked here and not only by each point's job: a bad file, or a cell
    without periodic directions that must grow, would otherwise fail every point, one launch each, in the
    job's own key names."""
    structure = load_structure(config.structure, np.random.default_rng(config.seed))
    file = config.structure.file
    if config.strong is not None:
        check_replicable([structure], [config.strong.atoms], "strong.atoms", file)
    if config.weak is not None:
        check_replicable([structure], [config.weak.atoms_per_rank * n for n in config.weak.ranks],
                         "weak.atoms_per_rank x ranks", file)
    return structure


def scaling_job(config: ScalingConfig) -> ScalingResult:
    """Run the scan of ``config`` from this (non-MPI) process; outputs go to ``config.output_dir``."""
    if own_job_size() > 1:
        raise ConfigError(
            "simkit bench scaling starts one MPI job per point itself; run it without mpirun "
            "(set the launcher in the config for srun or mpiexec)"
        )
    out = Path(config.output_dir)
    checked_structure(config)
    out.mkdir(parents=True, exist_ok=True)
    potentials = [named.potential.build() for named in config.potentials]
    record = RunRecord("bench scaling", out, config, seeds={"velocities": config.seed}, potentials=potentials)
    with record:
        result = run_scaling(config)
        record.add_output("table", write_csv(result, out / SCALING_CSV))
        record.add_output("machine", write_machine(result, config.launcher.words(1), out / MACHINE_JSON))
        record.add_output("plot", plot_scaling(result, out / SCALING_PNG))
        relative = plot_relative(result, out / RELATIVE_PNG)
        if relative is not None:
            record.add_output("relative_speed_plot", relative)
        record.add_output("points", out / "points")
        record.add_result("points_ok", sum(p.ok for p in result.points))
        record.add_result("points_failed", [
            {"potential": p.potential, "mode": p.mode, "ranks": p.ranks, "reason": p.reason}
            for p in result.points if not p.ok
        ])
    return result

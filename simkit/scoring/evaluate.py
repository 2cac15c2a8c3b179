"""Score a deployed potential by running it in LAMMPS on labelled frames.

Scores never come from a fitter's own numbers: the potential file that will be
used in production is loaded through the session layer
(:func:`simkit.lammps.session.evaluate_structures`) and compared with the
reference labels. :func:`evaluate_potential` is the library form of
``simkit evaluate``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from simkit.datasets.checks import check_frames
from simkit.datasets.frames import Dataset
from simkit.datasets.reader import read_dataset, voigt_from_tensor
from simkit.errors import InputDataError
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import evaluate_structures
from simkit.runtime.mpi import rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.scoring.metrics import Predictions, Scores, score
from simkit.scoring.parity import plot_parity
from simkit.scoring.potential_files import load_potential

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
PARITY_FILE = "parity.png"


def _reference_arrays(dataset: Dataset) -> dict:
    virial = np.full((len(dataset), 6), np.nan)
    for k, frame in enumerate(dataset):
        if frame.virial_eV is not None:
            virial[k] = voigt_from_tensor(np.asarray(frame.virial_eV))
    return {
        "sources": [f.source for f in dataset],
        "config_types": [f.config_type for f in dataset],
        "n_atoms": np.array([f.n_atoms for f in dataset]),
        "energy_ref_eV": np.array([f.energy_eV for f in dataset]),
        "forces_ref_eV_per_A": np.concatenate([np.asarray(f.forces_eV_per_A) for f in dataset]),
        "virial_ref_eV": virial,
    }


def predict(
    potential: Potential, dataset: Dataset, *, comm=None, species: Sequence[str] | None = None
) -> Predictions:
    """Evaluate every frame with ``potential`` in LAMMPS (on ``comm``); all ranks get the result."""
    if len(dataset) == 0:
        raise InputDataError(f"{dataset.name}: no frames to evaluate")
    species = tuple(species or potential.elements or dataset.elements)
    results = evaluate_structures(dataset.structures, potential, comm=comm, species=species)
    return Predictions(
        **_reference_arrays(dataset),
        energy_pred_eV=np.array([r.energy_eV for r in results]),
        forces_pred_eV_per_A=np.concatenate([r.forces_eV_per_A for r in results]),
        virial_pred_eV=np.array([voigt_from_tensor(r.virial_eV) for r in results]),
    )


def baseline_predictions(train: Dataset, dataset: Dataset, elements: Sequence[str]) -> Predictions:
    """A trivial model for comparison: per-element energies fitted to ``train``, zero forces and virial."""
    energies = np.array([f.energy_eV for f in train])
    per_element, *_ = np.linalg.lstsq(train.composition(elements), energies, rcond=None)
    reference = _reference_arrays(dataset)
    return Predictions(
        **reference,
        energy_pred_eV=dataset.composition(elements) @ per_element,
        forces_pred_eV_per_A=np.zeros_like(reference["forces_ref_eV_per_A"]),
        virial_pred_eV=np.zeros((len(dataset), 6)),
    )


@dataclass
class EvaluationReport:
    """What ``simkit evaluate`` produces."""

    scores: Scores
    predictions: Predictions
    outputs: dict[str, Path]


def evaluate_potential(
    potential: Potential,
    dataset: Dataset,
    *,
    comm=None,
    alpha: float = 0.5,
    output_dir: Path | None = None,
    min_distance_A: float = 0.5,
    parity_plot: bool = True,
) -> EvaluationReport:
    """Check ``dataset``, run ``potential`` on it in LAMMPS, and score it.

    With ``output_dir``, rank 0 writes ``metrics.json`` and ``parity.png`` there.
    """
    elements = tuple(potential.elements or dataset.elements)
    check_frames(dataset, elements, min_distance_A)
    predictions = predict(potential, dataset, comm=comm, species=elements)
    scores = score(predictions, alpha)
    outputs: dict[str, Path] = {}
    rank = rank_of(comm)
    if output_dir is not None:
        output_dir = Path(output_dir)
        outputs["metrics"] = output_dir / METRICS_FILE
        if parity_plot:
            outputs["parity_plot"] = output_dir / PARITY_FILE
        if rank == 0:
            output_dir.mkdir(parents=True, exist_ok=True)
            write_metrics(scores, outputs["metrics"])
            if parity_plot:
                plot_parity(predictions, outputs["parity_plot"], title=dataset.name)
    return EvaluationReport(scores, predictions, outputs)


def write_metrics(scores: Scores, path: Path, extra: dict | None = None) -> Path:
    document = {**scores.to_dict(), **(extra or {})}
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
    return Path(path)


def format_scores(scores: Scores) -> str:
    """A small table for the terminal: one line overall, one per config_type."""
    header = f"{'set':<16} {'frames':>6} {'E meV/at':>9} {'F meV/Å':>9} {'W meV/at':>9} {'L_E meV':>9} {'L':>9}"
    lines = [header]
    for name, m in [("all", scores.overall), *scores.config_types.items()]:
        virial = f"{m.virial_rmse_meV_per_atom:9.4g}" if m.virial_rmse_meV_per_atom is not None else f"{'-':>9}"
        lines.append(
            f"{name[:16]:<16} {m.n_frames:>6} {m.energy_rmse_meV_per_atom:9.4g} "
            f"{m.force_vector_rmse_meV_per_A:9.4g} {virial} {m.loss_energy_meV:9.4g} {m.loss:9.4g}"
        )
    return "\n".join(lines)


def run_evaluate(
    potential: str | Path,
    data: Sequence[Path],
    *,
    param: str | Path | None = None,
    zbl_A: tuple[float, float] | None = None,
    alpha: float = 0.5,
    min_distance_A: float = 0.5,
    parity_plot: bool = True,
    output_dir: Path | None = None,
    comm=None,
) -> tuple[dict, Scores]:
    """``simkit evaluate``: score ``potential`` on ``data`` with a run summary; returns (summary, scores).

    ``output_dir`` defaults to ``evaluate_<potential file stem>`` in the current directory.
    """
    data = [Path(p) for p in data]
    for path in data:
        if not path.is_file():
            raise InputDataError(f"{path}: data file not found")
    if not 0.0 <= alpha <= 1.0:
        raise InputDataError(f"--alpha must lie in [0, 1], got {alpha}")
    if not 0.0 <= min_distance_A < float("inf"):  # NaN or a negative value would switch the overlap check off
        raise InputDataError(f"--min-distance must be a distance >= 0 (Å), got {min_distance_A}")
    built = load_potential(potential, param=param, zbl_A=zbl_A)
    if output_dir is None:
        output_dir = Path(f"evaluate_{Path(str(potential)).name.split('.')[0].removeprefix('lammps:')}")
    output_dir = Path(output_dir).resolve()
    rank = rank_of(comm)
    size = size_of(comm)
    settings = {
        "potential": str(potential), "param": None if param is None else str(param),
        "zbl_A": None if zbl_A is None else list(zbl_A), "data": [str(p) for p in data], "alpha": alpha,
        "min_distance_A": min_distance_A, "output_dir": str(output_dir),
    }
    record = RunRecord("evaluate", output_dir, settings, rank=rank, mpi_size=size, inputs=data, potentials=[built])
    with record:
        dataset = read_dataset(data, name=", ".join(p.name for p in data))
        report = evaluate_potential(
            built, dataset, comm=comm, alpha=alpha, output_dir=output_dir, min_distance_A=min_distance_A,
            parity_plot=parity_plot,
        )
        for name, path in report.outputs.items():
            record.add_output(name, path)
        record.add_result("overall", report.scores.overall.to_dict())
        record.add_result("config_types", {k: v.to_dict() for k, v in report.scores.config_types.items()})
    return record.data, report.scores

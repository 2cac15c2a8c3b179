"""One candidate of the optimiser: data + fixed hyperparameters in, a deployed potential and its scores out.

:func:`fit_and_score` is the single step the optimiser calls, possibly in many
processes at once: its inputs are picklable, everything it writes goes into
the ``workdir`` it is given, it shares no mutable state, uses the
communicator and core count it is handed, and is deterministic for a given
config (seed included). Scores always come from running the deployed files in
LAMMPS on validation frames the fit never saw.

Files in ``workdir``: the potential (``snap.snapcoeff``/``snap.snapparam`` or
``ace.yace``), ``potential.yaml`` (its spec), ``metrics.json``,
``parity.png``, ``candidate.json``; with k-fold validation the fold models
live in ``folds/fold-<k>/`` and the deployed model is refitted on all data.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simkit.datasets.splits import PreparedData, prepare_data
from simkit.fitting.base import FitConfigBase, FittedModel
from simkit.fitting.deployed import POTENTIAL_FILE, build_deployed, write_potential_yaml
from simkit.fitting.registry import make_fitter
from simkit.lammps.potentials.base import Potential
from simkit.runtime.mpi import on_root, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.scoring.evaluate import METRICS_FILE, PARITY_FILE, baseline_predictions, predict, write_metrics
from simkit.scoring.metrics import Predictions, score
from simkit.scoring.parity import plot_parity

log = logging.getLogger(__name__)

CANDIDATE_FILE = "candidate.json"


@dataclass
class CandidateResult:
    """Everything the optimiser needs about one fitted candidate (picklable, JSON-able)."""

    backend: str
    workdir: str
    seed: int
    potential: dict[str, Any]  # spec of the deployed potential (see simkit.fitting.deployed)
    files: list[str]
    loss: float  # validation L = alpha * L_E + (1 - alpha) * L_F (scoring.force_loss), evaluated in LAMMPS
    validation: dict[str, Any]  # {"overall": metrics, "config_types": {name: metrics}}
    baseline_loss: float  # L of a trivial model (per-element energies, zero forces) on the same frames
    n_train_frames: int
    n_validation_frames: int
    validation_kind: str  # file, holdout or kfold
    cores: int = 1  # CPU threads the fitter was given
    mpi_ranks: int = 1  # ranks of the communicator LAMMPS ran on
    timings_s: dict[str, float] = field(default_factory=dict)
    fit_info: dict[str, Any] = field(default_factory=dict)  # the fitter's own numbers (not scores)

    def build_potential(self) -> Potential:
        return build_deployed(self.potential)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _merge_timings(target: dict[str, float], extra: dict[str, float]) -> None:
    for key, value in extra.items():
        target[key] = target.get(key, 0.0) + float(value)


# The weight search solves the normal equations; past this share of disagreement with the deployed fit its
# choice was made on a different model than the one deployed.
SEARCH_AGREEMENT = 0.01


def _compare_with_search(search: dict | None, loss: float, workdir: Path) -> None:
    """Record how the deployed fit's validation loss compares with what the SNAP weight search predicted."""
    if not search or not search.get("search_loss"):
        return
    ratio = loss / search["search_loss"]
    search["deployed_over_search_loss"] = ratio
    if abs(ratio - 1.0) > SEARCH_AGREEMENT:
        log.warning("%s: the deployed fit's validation loss %.4g is %.3g times what the weight search predicted "
                    "(%.4g): the normal equations it solves cannot resolve every singular value the SVD solver keeps, "
                    "so it chose the weights on another model; a ridge solver (snap.solver kind ridge) makes the two "
                    "agree", workdir, loss, ratio, search["search_loss"])


def fit_and_score(
    config: FitConfigBase,
    workdir: Path,
    *,
    data: PreparedData | None = None,
    comm=None,
    cores: int = 1,
) -> CandidateResult:
    """Fit ``config`` in ``workdir`` and score the deployed potential in LAMMPS.

    ``data`` (from :func:`simkit.datasets.prepare_data`) lets candidates share
    one read of the dataset; without it the config's data are read and checked
    here, before any fit. ``comm``: MPI communicator for LAMMPS (None: this
    process alone); ``cores``: CPU threads the fitter may use.
    """
    start = time.perf_counter()
    workdir = Path(workdir).resolve()
    on_root(comm, lambda: workdir.mkdir(parents=True, exist_ok=True))
    if data is None:
        data = prepare_data(config.data, config.elements, config.seed)
    fitter = make_fitter(config.backend)
    timings: dict[str, float] = defaultdict(float)
    parts: list[Predictions] = []
    baselines: list[Predictions] = []
    fitted: FittedModel | None = None
    for split in data.splits:
        split_dir = workdir if len(data.splits) == 1 else workdir / "folds" / split.name
        on_root(comm, lambda d=split_dir: d.mkdir(parents=True, exist_ok=True))
        log.info("%s fit on %d frames (%s)", config.backend, len(split.train), split.name)
        t = time.perf_counter()
        fitted = fitter.fit(config, split.train, split_dir, comm=comm, cores=cores, validation=split.validation)
        timings["fit_s"] += time.perf_counter() - t
        _merge_timings(timings, fitted.timings_s)
        t = time.perf_counter()
        parts.append(predict(fitted.build(), split.validation, comm=comm, species=config.elements))
        timings["score_s"] += time.perf_counter() - t
        baselines.append(baseline_predictions(split.train, split.validation, config.elements))
    if data.needs_final_fit:
        log.info("%s fit of the deployed model on all %d frames", config.backend, len(data.full))
        t = time.perf_counter()
        fitted = fitter.fit(config, data.full, workdir, comm=comm, cores=cores)
        timings["final_fit_s"] += time.perf_counter() - t

    predictions = Predictions.concatenate(parts)
    alpha, force_loss = config.scoring.alpha, config.scoring.force_loss
    scores = score(predictions, alpha, force_loss)
    _compare_with_search(fitted.info.get("weight_search"), scores.loss, workdir)
    baseline = score(Predictions.concatenate(baselines), alpha, force_loss)
    timings["total_s"] = time.perf_counter() - start
    result = CandidateResult(
        backend=config.backend,
        workdir=str(workdir),
        seed=config.seed,
        potential=fitted.spec,
        files=[str(p) for p in fitted.files],
        loss=scores.loss,
        validation=scores.to_dict(),
        baseline_loss=baseline.loss,
        n_train_frames=len(data.full) if data.needs_final_fit else len(data.splits[0].train),
        n_validation_frames=len(predictions),
        validation_kind=data.kind,
        cores=int(cores),
        mpi_ranks=size_of(comm),
        timings_s=dict(timings),
        fit_info=fitted.info,
    )
    on_root(comm, lambda: _write_outputs(result, scores, baseline, predictions, config, workdir))
    log.info(
        "%s candidate: validation L = %.4g (baseline %.4g), E %.3g meV/atom, F %.3g meV/Å, %.1f s",
        config.backend, scores.loss, baseline.loss, scores.overall.energy_rmse_meV_per_atom,
        scores.overall.force_vector_rmse_meV_per_A, timings["total_s"],
    )
    return result


def _write_outputs(result, scores, baseline, predictions, config: FitConfigBase, workdir: Path) -> None:
    write_potential_yaml(result.potential, workdir / POTENTIAL_FILE)
    write_metrics(scores, workdir / METRICS_FILE, extra={"baseline": baseline.to_dict()})
    if config.scoring.parity_plot:
        plot_parity(predictions, workdir / PARITY_FILE, title=f"{config.backend}: validation")
    (workdir / CANDIDATE_FILE).write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")


def candidate_outputs(workdir: Path, parity_plot: bool = True) -> dict[str, Path]:
    """Names of the files :func:`fit_and_score` writes (besides the potential's own)."""
    outputs = {"potential_spec": workdir / POTENTIAL_FILE, "metrics": workdir / METRICS_FILE,
               "candidate": workdir / CANDIDATE_FILE}
    if parity_plot:
        outputs["parity_plot"] = workdir / PARITY_FILE
    return outputs


def run_fit(config: FitConfigBase, *, comm=None, cores: int = 1) -> dict[str, Any]:
    """``simkit fit``: :func:`fit_and_score` in ``config.output_dir`` with a run summary."""
    rank = rank_of(comm)
    size = size_of(comm)
    out = Path(config.output_dir).resolve()
    on_root(comm, lambda: out.mkdir(parents=True, exist_ok=True))
    inputs = list(config.data.train)
    validation = config.data.validation
    if validation.kind == "file":
        inputs += list(validation.path)
    record = RunRecord(
        "fit", out, config, rank=rank, mpi_size=size, seeds={"fit": config.seed}, inputs=inputs,
    )
    with record:
        result = fit_and_score(config, out, comm=comm, cores=cores)
        record.data["potentials"] = [result.build_potential().describe()]
        for name, path in candidate_outputs(out, config.scoring.parity_plot).items():
            record.add_output(name, path)
        for index, path in enumerate(result.files):
            record.add_output(f"potential_file_{index + 1}", Path(path))
        record.add_result("validation_loss", result.loss)
        record.add_result("baseline_loss", result.baseline_loss)
        record.add_result("validation", result.validation)
        record.add_result("timings_s", result.timings_s)
    return record.data

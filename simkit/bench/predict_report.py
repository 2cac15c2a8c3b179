"""Write a time-to-solution prediction: terminal table, JSON, CSV, markdown and a log-log plot, with a run summary."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from simkit.bench.predict import ASSUMPTIONS, PredictConfig, Prediction, PredictionRow, RowStatus, predict
from simkit.runtime.hashing import sha256_file
from simkit.runtime.provenance import RunRecord

PREDICTION_JSON = "prediction.json"
PREDICTION_CSV = "prediction.csv"
PREDICTION_MD = "prediction.md"
PREDICTION_PNG = "prediction.png"
SECONDS_PER_HOUR = 3600.0


def input_files(config: PredictConfig) -> list[Path]:
    files = [p.scaling_csv for p in config.potentials]
    if config.protocol.md_config is not None:
        files.append(config.protocol.md_config)
    return list(dict.fromkeys(Path(f) for f in files))


def header_lines(prediction: Prediction) -> list[str]:
    """What was predicted and from what: the protocol, I/O, each potential's fitted parameters."""
    p = prediction.protocol
    lines = [f"protocol ({p.source}): {p.atoms} atoms ({p.atoms_source}), {p.steps} steps, {p.simulated_ps:g} ps "
             f"simulated, {p.frames} trajectory frames"]
    io = prediction.io
    if prediction.io_given:
        disk = f", {p.frames * io.bytes_per_frame / 1e9:.4g} GB written" if io.bytes_per_frame is not None else ""
        lines.append(f"I/O: {io.seconds_per_frame:g} s per frame, serial (does not shrink with cores){disk}")
    else:
        lines.append("I/O: not given in the config: 0 s per frame counted")
    for m in prediction.models:
        lines.append(f"{m.name} ({m.csv_potential}): t_atom = {m.t_atom_s:.4g} s/atom-step on one core, "
                     f"c = {m.comm_c_s:.4g} s/step per (atoms/rank)^(2/3), latency = {m.latency_s:.4g} s/step "
                     f"per log2(ranks) [{m.fit}; {m.timed_steps} steps per timed run, {m.timed_steps_source}]")
    lines.append(f"rows with fewer than {prediction.min_atoms_per_rank:g} atoms per core: "
                 f"{RowStatus.BEYOND_LIMIT.value}, not predicted")
    return lines


def _row_values(prediction: Prediction, row: PredictionRow) -> list[tuple[str, float | None]]:
    """(label, value) per potential column group and ratio, in table order."""
    values = []
    for name in prediction.names:
        e = row.estimates.get(name)
        numbers = (None,) * 4 if e is None else (
            e.s_per_step, e.wall_s / SECONDS_PER_HOUR, e.wall_s * row.cores / SECONDS_PER_HOUR, e.efficiency)
        values += zip((f"{name} s/step", f"{name} wall h", f"{name} core-h", f"{name} eff."), numbers)
    ratios = prediction.ratios(row)
    first, *others = prediction.names
    values += [(f"wall {first}/{o}", ratios.get(f"{first}/{o}")) for o in others]
    return values


def table(prediction: Prediction) -> str:
    lines = header_lines(prediction)
    labels = [label for label, _ in _row_values(prediction, prediction.rows[0])]
    widths = [max(10, len(label)) for label in labels]
    lines.append(f"{'cores':>6} {'atoms/core':>10}  " + " ".join(f"{label:>{w}}" for label, w in zip(labels, widths)))
    for row in prediction.rows:
        start = f"{row.cores:>6} {row.atoms_per_core:>10.4g}  "
        if row.status != RowStatus.OK:
            lines.append(start + row.status.value)
            continue
        lines.append(start + " ".join(f"{v:>{w}.4g}" for (_, v), w in zip(_row_values(prediction, row), widths)))
    return "\n".join(lines)


def to_dict(prediction: Prediction, config: PredictConfig) -> dict:
    p = prediction.protocol
    rows = []
    for row in prediction.rows:
        potentials = {}
        for name in prediction.names:
            e = row.estimates.get(name)
            potentials[name] = None if e is None else {
                **asdict(e), "s_per_step": e.s_per_step, "wall_h": e.wall_s / SECONDS_PER_HOUR,
                "core_h": e.wall_s * row.cores / SECONDS_PER_HOUR}
        rows.append({"cores": row.cores, "atoms_per_core": row.atoms_per_core, "status": row.status.value,
                     "potentials": potentials, "wall_ratio": prediction.ratios(row)})
    return {
        "inputs": {"config": config.model_dump(mode="json"),
                   "files": [{"path": str(f.resolve()), "sha256": sha256_file(f)} for f in input_files(config)]},
        "assumptions": list(ASSUMPTIONS),
        "protocol": {"atoms": p.atoms, "atoms_source": p.atoms_source, "source": p.source, "steps": p.steps,
                     "frames": p.frames, "simulated_ps": p.simulated_ps, "stages": [asdict(s) for s in p.stages]},
        "io": {**prediction.io.model_dump(mode="json"), "given": prediction.io_given},
        "min_atoms_per_rank": prediction.min_atoms_per_rank,
        "models": {m.name: asdict(m) for m in prediction.models},
        "table": rows,
    }


def write_json(prediction: Prediction, config: PredictConfig, path: Path) -> Path:
    Path(path).write_text(json.dumps(to_dict(prediction, config), indent=2) + "\n")
    return Path(path)


def csv_columns(prediction: Prediction) -> list[str]:
    columns = ["cores", "atoms_per_core", "status"]
    for name in prediction.names:
        columns += [f"{name}_s_per_step", f"{name}_wall_h", f"{name}_core_h", f"{name}_efficiency"]
    first, *others = prediction.names
    return columns + [f"wall_ratio_{first}_over_{o}" for o in others]


def write_csv(prediction: Prediction, path: Path) -> Path:
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_columns(prediction))
        for row in prediction.rows:
            values = ["" if v is None else v for _, v in _row_values(prediction, row)]
            writer.writerow([row.cores, row.atoms_per_core, row.status.value, *values])
    return Path(path)


def write_markdown(prediction: Prediction, path: Path) -> Path:
    lines = ["# Predicted time to solution", ""]
    lines += [f"- {line}" for line in header_lines(prediction)]
    lines += ["", "Assumptions:", ""] + [f"- {a}" for a in ASSUMPTIONS] + [""]
    labels = [label for label, _ in _row_values(prediction, prediction.rows[0])]
    lines.append("| cores | atoms/core | " + " | ".join(labels) + " |")
    lines.append("|---" * (len(labels) + 2) + "|")
    for row in prediction.rows:
        if row.status != RowStatus.OK:
            cells = [row.status.value] + [""] * (len(labels) - 1)
        else:
            cells = [f"{v:.4g}" for _, v in _row_values(prediction, row)]
        lines.append(f"| {row.cores} | {row.atoms_per_core:.4g} | " + " | ".join(cells) + " |")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def plot_wall(prediction: Prediction, path: Path) -> Path:
    """Wall hours against cores, log-log, one line per potential."""
    # lazy: matplotlib takes ~0.5 s to import and only the figure needs it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    done = [row for row in prediction.rows if row.status == RowStatus.OK]
    for index, name in enumerate(prediction.names):
        ax.plot([r.cores for r in done], [r.estimates[name].wall_s / SECONDS_PER_HOUR for r in done], "o-",
                color=f"C{index}", label=name)
    if any(row.status != RowStatus.OK for row in prediction.rows):
        limit = prediction.protocol.atoms / prediction.min_atoms_per_rank
        ax.axvline(limit, linestyle="--", color="grey", label=f"{prediction.min_atoms_per_rank:g} atoms/core")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("cores (one MPI rank each)")
    ax.set_ylabel("wall time (h)")
    ax.set_title(f"{prediction.protocol.atoms} atoms, {prediction.protocol.steps} steps")
    ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return Path(path)


def predict_job(config: PredictConfig) -> Prediction:
    """Predict, then write the table, JSON, CSV, markdown, plot and run summary into ``config.output_dir``."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with RunRecord("bench predict", out, config, inputs=input_files(config)) as record:
        prediction = predict(config)
        record.add_output("prediction", write_json(prediction, config, out / PREDICTION_JSON))
        record.add_output("table", write_csv(prediction, out / PREDICTION_CSV))
        record.add_output("markdown", write_markdown(prediction, out / PREDICTION_MD))
        record.add_output("plot", plot_wall(prediction, out / PREDICTION_PNG))
        record.add_result("steps", prediction.protocol.steps)
        record.add_result("frames", prediction.protocol.frames)
        record.add_result("atoms", prediction.protocol.atoms)
    return prediction

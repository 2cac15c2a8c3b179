"""XPOT's Table 3.2 protocol with ``simkit optimise``: quadratic SNAP (2J = 6) for Mo on Zuo et al.'s data.

Each variant is one fresh ``simkit optimise`` run on the same problem: training
on ``training.xyz`` of Zuo et al.'s Mo data, the test set as the validation set (as in
XPOT's table), SVD solver, loss alpha = 0.75, and XPOT's search space: rcutfac
3-6, rfac0 0.5-1.5 (capped below 1, see below), one energy weight (100-15,000)
and one force weight (0.1-500) per config_type, written with the shorthand
``weights.config_types.*.energy`` / ``.forces`` (10 dimensions on this data).
Variants differ only in the loss convention and the priors:

- ``simkit-default``: L_F is simkit's default force-vector RMSE, uniform priors
  (the run the issue reports);
- ``xpot-loss``: L_F is the force-component RMSE (``objective.force_loss:
  component``), which makes L XPOT's loss (see :mod:`simkit.scoring.metrics`),
  uniform priors as XPOT's skopt ``Real`` dimensions;
- ``xpot-loss-log``: the same loss, log-uniform priors on the weights (they
  span 2 and 3.7 decades, and a least-squares fit depends on their ratios);
- ``xpot-loss-log-local``: the same, with ``optimiser.local_refinement``
  (after a quarter of the budget, every second proposal from a trust region
  around the best candidate);
- ``weight-search``: the same loss, but the per-config_type weights are not
  dimensions of the Gaussian process: ``fit.snap.weight_search`` chooses them
  inside each candidate by re-solves on its descriptors (same ranges), so the
  optimiser searches rcutfac and rfac0 alone;
- ``weight-search-spread``: the same, with the constant liar telling a
  running candidate the worst value so far (``optimiser.liar: cl_max``)
  instead of the best, so two candidates in flight are not proposed side by side;
- ``weight-search-log``: the weight search with the Gaussian process on log10 of the
  loss (``objective.scale: log``): on Mo the loss runs from 57 to over 800 across
  XPOT's box, and on a linear scale the surrogate spends its variance on the
  worst corner (rcutfac near 3) instead of the differences of a few percent
  between the good candidates;
- ``weight-search-log-spaced``: the same, with ``optimiser.min_spacing: 0.01``
  (no candidate within 1 % of every range of another);
- ``weight-search-targets``: the same, with ``fit.snap.weight_search.targets``: each
  candidate's weights are those nearest both of the dataset's targets (smallest
  max(E / 3.51, F / 170) on Mo) instead of those of the smallest loss. The loss at
  alpha = 0.75 has its optimum at lower energy and higher force errors than XPOT's
  published point (2.47 / 0.176 against 3.51 / 0.17), so loss-chosen weights never
  aim at both numbers; the Gaussian process still minimises the loss;
- ``targets-objective``: the same, with ``objective.error_targets``: the Gaussian process minimises
  100 max(E / 3.51, F / 170) as well, so descriptors and weights aim at the same point.
- ``targets-objective-gradient``: the same, with ``weight_search.method: gradient`` and 8 starts
  (L-BFGS-B with the exact gradient of the loss instead of Nelder-Mead for the weight search's loss optimum).

simkit refuses rfac0 >= 1 (LAMMPS documents 0 < rfac0 < 1), so rfac0 runs over
[0.5, 0.999]. Recorded per run: wall time, the best test errors after 10, 20,
40, 80 and 150 finished candidates (best by loss, lowest energy error, lowest
force error, and the first candidate that reaches both of XPOT's 3.51 meV/atom
and 0.17 eV/Å), the number of candidates needed for that, and the energy/force
Pareto set ``simkit optimise`` writes (``pareto_energy_forces.csv``).

``--dataset si-teacher`` runs the same protocol on a second dataset simkit
makes itself (``inputs/fit_si_teacher.extxyz``: 34 Si frames labelled by the
Zuo 2020 SNAP, a linear 2J = 8 SNAP with rcutfac 4.9; config_types rattled,
strained, liquid; a 25 % hold-out per config_type as the validation set; the
teacher's own error, zero, is the target); ``si-teacher-snap8`` fits the
teacher's own model family (linear, 2J = 8), which the right rcutfac and rfac0
recover exactly, so it asks whether the search finds them among 8 dimensions.

    .venv/bin/python benchmarks/mo_qsnap.py --candidates 40 --variants xpot-loss-log \\
        --record benchmarks/results/mo_qsnap.md
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml
from _optimise_child import run_optimise, stop_on_sigterm

ROOT = Path(__file__).resolve().parents[1]
# Zuo et al. (2020), J. Phys. Chem. A 124, 731, from the authors' mlearn repository (BSD-3-Clause), as extended
# XYZ in the published-data folder beside the repository; not shipped with simkit (--mo-data elsewhere).
MO_DATA = ROOT.parent / "shared" / "data" / "zuo2020-Mo"
_MACHINE_KEYS = ("hostname", "cpu_model", "physical_cores", "available_cpus", "platform")
CHECKPOINTS = (10, 20, 40, 80, 150)
# XPOT's qSNAP on the Mo test set (Table 3.2): energy RMSE meV/atom, force-component RMSE meV/Å.
TARGET_ENERGY_meV_PER_ATOM, TARGET_FORCE_meV_PER_A = 3.51, 170.0
# The table prints 0.17 eV/Å: any force error below 0.175 prints so. Energy stays at the literal 3.51.
PRINTED_TARGETS = (TARGET_ENERGY_meV_PER_ATOM, 174.999)

VARIANTS = {
    "simkit-default": {"force_loss": "vector", "prior": "uniform"},
    "xpot-loss": {"force_loss": "component", "prior": "uniform"},
    "xpot-loss-log": {"force_loss": "component", "prior": "log-uniform"},
    "xpot-loss-log-local": {"force_loss": "component", "prior": "log-uniform", "local": True},
    "weight-search": {"force_loss": "component", "prior": "log-uniform", "weight_search": True},
    "weight-search-spread": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                             "liar": "cl_max"},
    "weight-search-log": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                          "scale": "log"},
    "weight-search-log-spaced": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                                 "scale": "log", "min_spacing": 0.01},
    # The weights of each candidate chosen to meet the dataset's two targets together (weight_search.targets)
    # instead of for the smallest loss; the Gaussian process still minimises the loss over the descriptors.
    "weight-search-targets": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                              "scale": "log", "min_spacing": 0.01, "weight_targets": True},
    # The same targets as the objective: the Gaussian process minimises 100 max(E / 3.51, F / 170), and the
    # weight search aims at them too (objective.error_targets).
    "targets-objective": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                          "scale": "log", "min_spacing": 0.01, "objective_targets": True},
    "targets-objective-gradient": {"force_loss": "component", "prior": "log-uniform", "weight_search": True,
                                   "scale": "log", "min_spacing": 0.01, "objective_targets": True,
                                   "search_method": "gradient"},
}

DATASETS = {
    "mo": {"elements": ["Mo"], "train": MO_DATA / "training.xyz",
           "validation": {"kind": "file", "path": str(MO_DATA / "test.xyz")},
           "targets": (TARGET_ENERGY_meV_PER_ATOM, TARGET_FORCE_meV_PER_A)},
    # No published targets; weight-search-targets aims at 1 meV/atom and 0.4 eV/Å, just past the best
    # candidates of the loss-driven runs (1.09 / 0.422).
    "si-teacher": {"elements": ["Si"], "train": ROOT / "inputs" / "fit_si_teacher.extxyz",
                   "validation": {"kind": "holdout", "fraction": 0.25}, "targets": None,
                   "weight_targets": (1.0, 400.0)},
    # The teacher's own model family (linear SNAP, 2J = 8; rcutfac 4.9 and rfac0 0.99363 recover it exactly).
    "si-teacher-snap8": {"elements": ["Si"], "train": ROOT / "inputs" / "fit_si_teacher.extxyz",
                         "validation": {"kind": "holdout", "fraction": 0.25}, "targets": None,
                         "snap": {"twojmax": 8, "quadratic": False}},
}


def optimise_config(dataset: str, variant: str, out: Path, candidates: int, k: int, initial: int, seed: int) -> dict:
    data, settings = DATASETS[dataset], VARIANTS[variant]
    prior = settings["prior"]
    weights = {
        "weights.config_types.*.energy": {"real": [100.0, 15000.0], "prior": prior},
        "weights.config_types.*.forces": {"real": [0.1, 500.0], "prior": prior},
    }
    snap = {**data.get("snap", {"twojmax": 6, "quadratic": True}), "solver": {"kind": "svd"}}
    if settings.get("weight_search"):
        snap["weight_search"] = {"energy_range": [100.0, 15000.0], "force_range": [0.1, 500.0]}
        if "search_method" in settings:
            snap["weight_search"].update(method=settings["search_method"], starts=8)
        weights = {}
    targets = None
    if settings.get("weight_targets") or settings.get("objective_targets"):
        energy, forces = data.get("weight_targets") or data["targets"]
        targets = {"energy_meV_per_atom": energy, "forces_meV_per_A": forces}
    if settings.get("weight_targets"):
        snap["weight_search"]["targets"] = targets
    return {
        "output_dir": str(out), "seed": seed,
        "fit": {"backend": "snap", "elements": data["elements"], "seed": seed,
                "data": {"train": str(data["train"]), "validation": data["validation"]},
                "snap": snap,
                "scoring": {"parity_plot": False}},
        "search_space": {
            "snap.rcutfac": {"real": [3.0, 6.0]},
            "snap.rfac0": {"real": [0.5, 0.999]},
            **weights,
        },
        "objective": {"alpha": 0.75, "force_loss": settings["force_loss"],
                      **({"scale": settings["scale"]} if "scale" in settings else {}),
                      **({"error_targets": targets} if settings.get("objective_targets") else {})},
        "budget": {"candidates": candidates},
        "optimiser": {"initial_points": initial, **({"liar": settings["liar"]} if "liar" in settings else {}),
                      **({"min_spacing": settings["min_spacing"]} if "min_spacing" in settings else {}),
                      **({"local_refinement": {
            "start_after": max(initial + 5, candidates // 4), "share": 0.5, "radius": 0.1}}
            if settings.get("local") else {})},
        "parallel": {"candidates": k}, "progress": False,
    }


def _errors(row: dict) -> tuple[float, float] | None:
    overall = ((row.get("outcome") or {}).get("validation") or {}).get("overall") or {}
    e, f = overall.get("energy_rmse_meV_per_atom"), overall.get("force_component_rmse_meV_per_A")
    return (float(e), float(f)) if e is not None and f is not None else None


def checkpoints(rows: list[dict], targets: tuple[float, float] | None, total: int) -> tuple[list[dict], int | None]:
    """Best test errors among the first n finished candidates, and the first n at which both targets are met."""
    done = sorted((r for r in rows if _errors(r) is not None), key=lambda r: (r["finished_at"], r["id"]))
    needed = None
    if targets is not None:
        for n, row in enumerate(done, start=1):
            e, f = _errors(row)
            if e <= targets[0] and f <= targets[1]:
                needed = n
                break
    table = []
    total = min(total, len(done))  # a run stopped by its wall time finished fewer than its budget
    for n in sorted({c for c in CHECKPOINTS if c < total} | {total}):
        first = done[:n]
        if not first:
            continue
        by_loss = min(first, key=lambda r: (r["loss"], r["id"]))
        both = [r for r in first if targets and _errors(r)[0] <= targets[0] and _errors(r)[1] <= targets[1]]
        table.append({
            "n": len(first), "best_loss": by_loss["loss"], "best_loss_id": by_loss["id"],
            "best_loss_errors": _errors(by_loss),
            "lowest_energy": min(_errors(r)[0] for r in first), "lowest_force": min(_errors(r)[1] for r in first),
            "both": [(r["id"], *_errors(r)) for r in both][:3],
        })
    return table, needed


def run_variant(dataset: str, variant: str, workdir: Path, args) -> dict:
    out = workdir / f"{dataset}-{variant}"
    path = workdir / f"{dataset}-{variant}.yaml"
    document = optimise_config(dataset, variant, out, args.candidates, args.parallel, args.initial_points, args.seed)
    if args.wall_time_min:
        document["budget"]["wall_time_min"] = args.wall_time_min
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    start = time.perf_counter()
    run_optimise(path, workdir)
    wall = time.perf_counter() - start
    from simkit.optimise.journal import read_rows

    rows = read_rows(out)
    table, needed = checkpoints(rows, DATASETS[dataset]["targets"], args.candidates)
    needed_printed = checkpoints(rows, PRINTED_TARGETS, args.candidates)[1] if DATASETS[dataset]["targets"] else None
    with open(out / "pareto_energy_forces.csv") as handle:
        front = list(csv.DictReader(handle))
    fits = sorted(r["outcome"]["timings_s"].get("fit_s", math.nan) for r in rows if r.get("outcome"))
    return {"dataset": dataset, "variant": variant, "wall_s": wall, "finished": len(rows), "table": table,
            "needed": needed, "needed_printed": needed_printed, "front": front,
            "median_fit_s": fits[len(fits) // 2] if fits else math.nan,
            "config": document, "run_dir": str(out)}


def _pair(errors) -> str:
    return "-" if errors is None else f"{errors[0]:.2f} / {errors[1] / 1000:.3f}"


def report(results: list[dict], args, command: str) -> str:
    from simkit.bench.machine import machine_info

    machine = machine_info()
    lines = [
        "# XPOT's Table 3.2 protocol with simkit optimise: qSNAP 2J = 6", "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {json.dumps({k: machine[k] for k in _MACHINE_KEYS if k in machine})}",
        f"- {args.candidates} candidates per run, {args.initial_points} from the Hammersley design, "
        f"{args.parallel} at a time, seed {args.seed}; errors are on the validation set (Mo: the test set): "
        "energy RMSE meV/atom / force-component RMSE eV/Å",
        "",
    ]
    for r in results:
        lines += [
            f"## {r['dataset']}, variant `{r['variant']}`", "",
            f"- wall time {r['wall_s'] / 60:.1f} min for {r['finished']} candidates "
            f"(median fit and scoring {r['median_fit_s']:.1f} s per candidate)",
        ]
        if DATASETS[r["dataset"]]["targets"] is not None:
            needed = r["needed"]
            lines.append("- candidates needed to reach both 3.51 meV/atom and 0.170 eV/Å: "
                         + (f"**{needed}**" if needed else f"not reached in {r['finished']}"))
            printed = r["needed_printed"]
            lines.append("- candidates needed to reach both at the table's printed precision (3.51 meV/atom and "
                         "below 0.175 eV/Å, which prints as 0.17): "
                         + (f"**{printed}**" if printed else f"not reached in {r['finished']}"))
        lines += ["", "| candidates | best by loss (id): E / F | lowest E | lowest F | candidates at both targets "
                  "(id: E / F) |", "|---|---|---|---|---|"]
        for row in r["table"]:
            both = ", ".join(f"{cid}: {e:.2f} / {f / 1000:.3f}" for cid, e, f in row["both"]) or "-"
            lines.append(f"| {row['n']} | ({row['best_loss_id']}) {_pair(row['best_loss_errors'])} | "
                         f"{row['lowest_energy']:.2f} | {row['lowest_force'] / 1000:.3f} | {both} |")
        names = [k for k in (r["front"][0] if r["front"] else {}) if k.startswith("param:")]
        lines += ["", "Energy/force Pareto set (`pareto_energy_forces.csv`):", "",
                  "| id | E (meV/atom) | F (eV/Å) | " + " | ".join(n.removeprefix("param:") for n in names) + " |",
                  "|---|---|---|" + "---|" * len(names)]
        for entry in r["front"]:
            values = " | ".join(f"{float(entry[n]):.4g}" for n in names)
            lines.append(f"| {entry['id']} | {float(entry['energy_rmse_meV_per_atom']):.2f} | "
                         f"{float(entry['force_component_rmse_meV_per_A']) / 1000:.3f} | {values} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mo")
    parser.add_argument("--variants", default="xpot-loss-log",
                        help=f"comma-separated, run one after another: {', '.join(VARIANTS)}")
    parser.add_argument("--candidates", type=int, default=150, help="budget of each run (XPOT: 150)")
    parser.add_argument("--initial-points", type=int, default=10, help="Hammersley design points")
    parser.add_argument("--parallel", type=int, default=2, help="candidates at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wall-time-min", type=float, help="stop dispatching after this (budget.wall_time_min); "
                        "the report covers the candidates finished")
    parser.add_argument("--workdir", type=Path, help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--record", type=Path, help="write the markdown report here")
    parser.add_argument("--append", action="store_true", help="append to --record instead of replacing it")
    parser.add_argument("--mo-data", type=Path, default=MO_DATA,
                        help="folder holding Zuo et al.'s Mo training.xyz and test.xyz")
    args = parser.parse_args()
    stop_on_sigterm()
    if args.dataset == "mo":
        missing = [n for n in ("training.xyz", "test.xyz") if not (args.mo_data / n).is_file()]
        if missing:
            parser.error(f"--mo-data {args.mo_data}: no {', '.join(missing)} there (Zuo et al.'s Mo data as "
                         "extended XYZ)")
        DATASETS["mo"]["train"] = args.mo_data / "training.xyz"
        DATASETS["mo"]["validation"]["path"] = str(args.mo_data / "test.xyz")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/mo_qsnap.py", *sys.argv[1:]])
    temporary = tempfile.TemporaryDirectory(prefix="simkit-mo-qsnap-") if args.workdir is None else None
    workdir = Path(args.workdir or temporary.name).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        results = []
        for variant in variants:
            results.append(run_variant(args.dataset, variant, workdir, args))
            print(json.dumps({k: v for k, v in results[-1].items() if k not in ("config", "front")}, default=str),
                  flush=True)
        text = report(results, args, command)
        print(text)
        if args.record:
            args.record.parent.mkdir(parents=True, exist_ok=True)
            if args.append and args.record.is_file():
                text = args.record.read_text().rstrip("\n") + "\n\n" + text
            args.record.write_text(text)
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How close can weights alone bring a SNAP fit to an error target, at fixed descriptors?

A diagnostic for the optimiser, not a fitting method. For a ``simkit fit`` SNAP config validated on a file,
the descriptor rows of the training and validation frames are computed once per (rcutfac, rfac0) in
LAMMPS (simkit's ``SnapFitter``). A choice of per-config_type energy and force weights is then one
weighted linear solve: the normal equations of each (config_type, row kind) block are summed with the
squared weights and solved with the columns scaled to unit norm, as ``simkit fit``'s SVD does for a
full-rank system (milliseconds, not a fit's seconds). The log-weights are searched, by the search a fit
runs with ``snap.weight_search.targets`` (seeded random draws in the given ranges, then SLSQP with exact
gradients; before, this script had its own Nelder-Mead, which stalled on the kink where the two ratios
cross), for the smallest max(E / E_target, F / F_target) on the validation set: energy RMSE in meV/atom,
force-component RMSE in eV/Å. A value at or below 1 means some weights reach both targets with these
descriptors. The best weights are written as a fit config, so ``simkit fit``
can confirm the numbers end to end.

    .venv/bin/python benchmarks/snap_weight_frontier.py --mo --point 4.405 0.9084 --point 4.35 0.9 \\
        --target 3.51 0.1749 --record benchmarks/results/mo_qsnap.md

``--candidate RUN_DIR ID`` probes at the descriptors of a candidate of a ``simkit optimise`` run with
``snap.weight_search`` and adds that candidate's own weights to the search's starts: the random draws alone can
miss the region the candidate's search found.

``--mo`` probes the fit of ``benchmarks/mo_qsnap.py`` (XPOT's Table 3.2 protocol on Zuo et al.'s Mo data);
otherwise give a fit config, or an optimise config whose ``fit`` section is used.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import yaml

from simkit.config.loader import read_yaml, validate_config
from simkit.datasets.reader import read_dataset
from simkit.datasets.spec import Weights
from simkit.fitting.snap import SnapFitConfig, SnapFitter, descriptor_settings
from simkit.fitting.snap_weights import ErrorTargets, WeightBlocks, WeightSearch, search_block_weights


class Frontier:
    """Validation errors of the weighted solve at one descriptor setting (``simkit fit``'s weight-search blocks)."""

    def __init__(self, config: SnapFitConfig, train, validation):
        fitter, settings = SnapFitter(), descriptor_settings(config)
        reference = config.reference_potential()
        key = "" if config.reference is None else config.reference.model_dump_json()
        rows = fitter.rows(train.frames, settings, key, reference, None)
        checked = fitter.rows(validation.frames, settings, key, reference, None)
        self.blocks = WeightBlocks(train.frames, rows, validation.frames, checked,
                                   Weights(energy=1.0, forces=1.0, virial=0.0), config.snap.energy_rows)


def candidate_start(run_dir: Path, cid: int) -> tuple[float, float, dict]:
    """(rcutfac, rfac0, weights) of candidate ``cid`` of a ``simkit optimise`` run with ``snap.weight_search``."""
    from simkit.optimise.journal import read_rows

    row = {r["id"]: r for r in read_rows(run_dir)}[cid]
    info = json.loads((Path(row["workdir"]) / "candidate.json").read_text())["fit_info"]["weight_search"]
    weights = {(name, kind): terms[key] for name, terms in info["config_types"].items()
               for kind, key in ((0, "energy"), (1, "forces"))}
    return row["params"]["snap.rcutfac"], row["params"]["snap.rfac0"], weights


def search(frontier: Frontier, args, start: dict | None = None) -> dict:
    """The weights with the smallest max(E / E_target, F / F_target), by simkit's own targets search (a fit's
    ``weight_search.targets``: SLSQP with exact gradients from the loss's optimum and the best draws), once for
    each loss alpha of ``--loss-alpha``, started also from ``start`` (a candidate's own weights) when given."""
    targets = ErrorTargets(energy_meV_per_atom=args.target[0], forces_meV_per_A=1000.0 * args.target[1])
    settings = WeightSearch(energy_range=tuple(args.energy_range), force_range=tuple(args.force_range),
                            draws=args.random, iterations=args.iterations, targets=targets)
    best = None
    for alpha in args.loss_alpha:
        found = search_block_weights(frontier.blocks, weights=Weights(energy=1.0, forces=1.0, virial=0.0),
                                     ridge=0.0, settings=settings, alpha=alpha, force_loss="component",
                                     seed=args.seed, extra_starts=[start] if start is not None else [])
        if best is None or found.target_ratio < best.target_ratio:
            best = found
    weights = {(name, kind): getattr(terms, "energy" if kind == 0 else "forces")
               for name, terms in best.weights.config_types.items() for kind in (0, 1)}
    return {"score": best.target_ratio, "energy": best.energy_rmse_meV_per_atom,
            "forces": best.force_rmse_meV_per_A / 1000.0, "weights": weights}


def main() -> None:
    # The normal equations square the condition number (1e6 -> 1e12 on the Mo system), and scipy warns at every
    # solve; the errors still agree with `simkit fit`'s SVD to the digits printed, which the written configs
    # let anyone confirm end to end.
    warnings.filterwarnings("ignore", category=scipy.linalg.LinAlgWarning)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, nargs="?", help="a simkit fit (or optimise) config: backend snap, "
                        "validation kind file")
    parser.add_argument("--mo", action="store_true", help="the fit of benchmarks/mo_qsnap.py instead of a config")
    parser.add_argument("--point", nargs=2, type=float, action="append", metavar=("RCUTFAC", "RFAC0"),
                        help="descriptor settings to probe (default: the config's)")
    parser.add_argument("--target", nargs=2, type=float, default=(3.51, 0.17), metavar=("E_meV", "F_eV_A"))
    parser.add_argument("--energy-range", nargs=2, type=float, default=(100.0, 15000.0))
    parser.add_argument("--force-range", nargs=2, type=float, default=(0.1, 500.0))
    parser.add_argument("--random", type=int, default=500, help="random draws before the local searches")
    parser.add_argument("--iterations", type=int, default=1000, help="iterations of each local search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss-alpha", nargs="+", type=float, default=[0.75], metavar="ALPHA",
                        help="search from the optimum of L = alpha L_E + (1 - alpha) L_F (force-component L_F) "
                        "for each alpha; the best result is kept")
    parser.add_argument("--grid", nargs=6, type=float, metavar=("RC_MIN", "RC_MAX", "N_RC", "RF_MIN", "RF_MAX",
                                                                 "N_RF"), help="probe a grid of descriptor settings")
    parser.add_argument("--candidate", nargs=2, action="append", metavar=("RUN_DIR", "ID"),
                        help="probe at a weight-search candidate's descriptors, starting also from its weights")
    parser.add_argument("--output", type=Path, default=Path("frontier"), help="folder for the best fit configs")
    parser.add_argument("--record", type=Path, help="append the Markdown table here")
    args = parser.parse_args()

    args.output.mkdir(parents=True, exist_ok=True)
    if args.mo:
        from mo_qsnap import optimise_config  # the script beside this one (benchmarks/ is not a package)

        document, source = optimise_config("mo", "xpot-loss", args.output, 1, 1, 1, 1)["fit"], "mo_qsnap.py"
    elif args.config is not None:
        document, source = read_yaml(args.config), str(args.config)
    else:
        parser.error("give a config or --mo")
    document = document.get("fit", document)
    document.setdefault("output_dir", str(args.output))
    base_dir = args.config.parent if args.config is not None else Path.cwd()
    base = validate_config(SnapFitConfig, document, source=source, base_dir=base_dir)
    if base.data.validation.kind != "file":
        sys.exit(f"{source}: data.validation must be kind 'file' (the errors are on that set)")
    train = read_dataset(base.data.train)
    validation = read_dataset(base.data.validation.path)
    points = [(rcutfac, rfac0, None) for rcutfac, rfac0 in args.point or []]
    points += [candidate_start(Path(run_dir), int(cid)) for run_dir, cid in args.candidate or []]
    if args.grid:
        rc_min, rc_max, n_rc, rf_min, rf_max, n_rf = args.grid
        points += [(round(float(rc), 4), round(float(rf), 4), None) for rc in np.linspace(rc_min, rc_max, int(n_rc))
                   for rf in np.linspace(rf_min, rf_max, int(n_rf))]
    points = points or [(base.snap.rcutfac, base.snap.rfac0, None)]
    lines = [f"| rcutfac | rfac0 | max(E/{args.target[0]}, F/{args.target[1]}) | E (meV/atom) | F (eV/Å) | "
             "fit config |", "|---|---|---|---|---|---|"]
    for rcutfac, rfac0, start in points:
        started = time.perf_counter()
        config = base.model_copy(update={"snap": base.snap.model_copy(update={"rcutfac": rcutfac, "rfac0": rfac0})})
        best = search(Frontier(config, train, validation), args, start)
        document = {**document, "snap": {**document["snap"], "rcutfac": rcutfac, "rfac0": rfac0}}
        types = sorted({k[0] for k in best["weights"]})
        document["weights"] = {"config_types": {t: {"energy": round(best["weights"][(t, 0)], 4),
                                                    "forces": round(best["weights"][(t, 1)], 5)} for t in types}}
        path = args.output / f"fit-{rcutfac:g}-{rfac0:g}.yaml"
        document["output_dir"] = str(path.with_suffix(""))
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        print(f"rcutfac {rcutfac:g} rfac0 {rfac0:g}: score {best['score']:.4f}, E {best['energy']:.3f} meV/atom, "
              f"F {best['forces']:.4f} eV/A ({time.perf_counter() - started:.0f} s) -> {path}", flush=True)
        lines.append(f"| {rcutfac:g} | {rfac0:g} | {best['score']:.3f} | {best['energy']:.2f} | "
                     f"{best['forces']:.4f} | `{path}` |")
    if args.record:
        command = shlex.join([Path(sys.executable).name, *sys.argv])
        with args.record.open("a") as handle:
            handle.write("\n\n## Weights alone at fixed descriptors (`benchmarks/snap_weight_frontier.py`)\n\n"
                         f"- command: `{command}`\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

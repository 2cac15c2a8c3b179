"""``snap.weight_search``: per-config_type weights chosen by re-solves at fixed descriptors.

The search must optimise the very loss the candidate is then scored on in LAMMPS, and its
choice must be the fit that gets deployed.
"""

from __future__ import annotations

import json

import pytest

from simkit.errors import ConfigError
from simkit.fitting.candidate import fit_and_score
from simkit.optimise.config import Dimension
from simkit.optimise.space import SearchSpace, check_search_space
from tests.fitting.conftest import fit_config

# Ridge makes the search's normal equations the deployed solver exactly (see simkit.fitting.snap_weights).
QUADRATIC = {"twojmax": 4, "rcutfac": 4.6, "quadratic": True, "solver": {"kind": "ridge", "alpha": 1e-6}}
SEARCH = {"energy_range": [0.1, 100.0], "force_range": [0.1, 100.0], "draws": 40, "iterations": 150}


@pytest.mark.parametrize("force_loss", ["vector", "component"])
def test_the_search_minimises_the_loss_the_candidate_is_scored_on(force_loss, si_teacher_file, si_prepared, tmp_path):
    scoring = {"alpha": 0.75, "force_loss": force_loss, "parity_plot": False}
    plain = fit_and_score(fit_config(si_teacher_file, snap=QUADRATIC, scoring=scoring), tmp_path / "plain",
                          data=si_prepared)
    config = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": SEARCH}, scoring=scoring)
    searched = fit_and_score(config, tmp_path / "searched", data=si_prepared)

    found = searched.fit_info["weight_search"]
    # The search's own number is the LAMMPS-scored loss of the deployed files (to the solver's round-off).
    assert found["search_loss"] == pytest.approx(searched.loss, rel=1e-6)
    overall = searched.validation["overall"]
    assert found["search_energy_rmse_meV_per_atom"] == pytest.approx(overall["energy_rmse_meV_per_atom"], rel=1e-6)
    assert found["search_force_rmse_meV_per_A"] == pytest.approx(overall[f"force_{force_loss}_rmse_meV_per_A"],
                                                                  rel=1e-6)
    # Every training config_type got its own pair of weights, inside the ranges.
    assert set(found["config_types"]) == {"rattled", "strained", "liquid"}
    for weights in found["config_types"].values():
        assert 0.1 <= weights["energy"] <= 100 and 0.1 <= weights["forces"] <= 100
    # The configured weights (all 1) lie inside the searched ratios; the search finds a clearly better fit.
    assert searched.loss < 0.9 * plain.loss
    written = json.loads((tmp_path / "searched" / "candidate.json").read_text())
    assert written["fit_info"]["weight_search"]["config_types"] == found["config_types"]


def test_the_search_is_reproducible_from_the_seed(si_teacher_file, si_prepared, tmp_path):
    config = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": {**SEARCH, "iterations": 20}})
    first = fit_and_score(config, tmp_path / "a", data=si_prepared)
    again = fit_and_score(config, tmp_path / "b", data=si_prepared)
    assert first.fit_info["weight_search"]["config_types"] == again.fit_info["weight_search"]["config_types"]
    assert (tmp_path / "a" / "snap.snapcoeff").read_bytes() == (tmp_path / "b" / "snap.snapcoeff").read_bytes()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"data": {"validation": {"kind": "kfold", "folds": 3}}}, "not 'kfold'"),
        ({"weight_search": {"energy_range": [10, 1]}}, "energy_range"),
        ({"weight_search": {"force_range": [0, 1]}}, "force_range"),
        ({"weight_search": {"draws": 0}}, "draws"),
        ({"weight_search": {"typo": 1}}, "typo"),
    ],
    ids=["kfold", "reversed-range", "zero-weight", "no-draws", "unknown-key"],
)
def test_bad_weight_search_settings_are_refused_by_name(changes, message, si_teacher_file):
    snap = {**QUADRATIC, "weight_search": changes.get("weight_search", SEARCH)}
    sections = {"snap": snap}
    if "data" in changes:
        sections["data"] = {"train": str(si_teacher_file), **changes["data"]}
    with pytest.raises(ConfigError, match=message):
        fit_config(si_teacher_file, **sections)


def test_weights_cannot_be_searched_twice(si_teacher_file):
    fit = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": SEARCH})
    space = SearchSpace({"snap.rcutfac": Dimension(real=[4.0, 5.0]),
                         "weights.config_types.liquid.forces": Dimension(real=[1, 9])})
    with pytest.raises(ConfigError, match="weights.config_types.liquid.forces.*weight_search"):
        check_search_space(space, fit, "optimise.yaml")
    # Virial weights stay the user's to search: the weight search keeps them as configured.
    check_search_space(SearchSpace({"weights.virial": Dimension(real=[0.0, 1.0])}), fit, "optimise.yaml")


def test_an_optimise_run_searches_descriptors_while_each_candidate_chooses_its_weights(tmp_path, si_teacher_file):
    from simkit.optimise import load_optimise_config, run_optimisation
    from simkit.optimise.journal import read_rows
    from tests.optimise.conftest import base_config, write_config

    fit = {"snap": {**QUADRATIC, "weight_search": {**SEARCH, "draws": 20, "iterations": 40}}}
    document = base_config(si_teacher_file, tmp_path / "run", fit=fit,
                           search_space={"snap.rcutfac": {"real": [4.2, 5.2]}}, budget={"candidates": 3},
                           optimiser={"initial_points": 2}, parallel={"candidates": 1})
    summary = run_optimisation(load_optimise_config(write_config(tmp_path / "optimise.yaml", document)))
    rows = read_rows(tmp_path / "run")
    assert [r["status"] for r in rows] == ["ok"] * 3
    for row in rows:
        found = row["outcome"]["fit_info"]["weight_search"]
        assert set(found["config_types"]) == {"rattled", "strained", "liquid"}
        assert found["search_loss"] == pytest.approx(row["loss"], rel=1e-6)
    best = json.loads((tmp_path / "run" / "best" / "candidate.json").read_text())
    assert best["fit_info"]["weight_search"]["config_types"]
    assert summary["status"] == "finished"

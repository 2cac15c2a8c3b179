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
    assert found["deployed_over_search_loss"] == pytest.approx(1.0, abs=1e-6)  # recorded with every search
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


def test_error_targets_choose_the_weights_nearest_both(si_teacher_file, si_prepared, tmp_path):
    """With targets the search trades energy for forces (or back) to meet both, and the deployed fit scores what
    the search predicted. The targets here sit past the loss's optimum on the force side, so the loss-chosen
    weights miss them by more than the target-chosen ones."""
    scoring = {"alpha": 0.75, "force_loss": "component", "parity_plot": False}
    by_loss = fit_and_score(fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": SEARCH}, scoring=scoring),
                            tmp_path / "loss", data=si_prepared)
    overall = by_loss.validation["overall"]
    energy, forces = overall["energy_rmse_meV_per_atom"], overall["force_component_rmse_meV_per_A"]
    targets = {"energy_meV_per_atom": 3.0 * energy, "forces_meV_per_A": 0.9 * forces}
    config = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": {**SEARCH, "targets": targets}},
                        scoring=scoring)
    aimed = fit_and_score(config, tmp_path / "targets", data=si_prepared)

    found = aimed.fit_info["weight_search"]
    got = aimed.validation["overall"]
    ratio = max(got["energy_rmse_meV_per_atom"] / targets["energy_meV_per_atom"],
                got["force_component_rmse_meV_per_A"] / targets["forces_meV_per_A"])
    assert found["search_target_ratio"] == pytest.approx(ratio, rel=1e-6)
    loss_ratio = max(energy / targets["energy_meV_per_atom"], forces / targets["forces_meV_per_A"])
    assert loss_ratio >= 1.0 / 0.9 - 1e-9  # the force target is 10 % below what the loss's weights give
    assert ratio < loss_ratio - 0.02
    assert got["force_component_rmse_meV_per_A"] < forces and got["energy_rmse_meV_per_atom"] > energy
    assert "search_target_ratio" not in by_loss.fit_info["weight_search"]


def test_error_targets_are_validated_and_left_out_of_the_dump_while_unset(si_teacher_file):
    for bad in ({"energy_meV_per_atom": 0, "forces_meV_per_A": 100}, {"energy_meV_per_atom": 1},
                {"energy_meV_per_atom": float("nan"), "forces_meV_per_A": 100}):
        with pytest.raises(ConfigError, match="targets"):
            fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": {**SEARCH, "targets": bad}})
    unset = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": SEARCH})
    assert "targets" not in unset.snap.weight_search.model_dump()  # older runs' fingerprints stay the same
    aimed = fit_config(si_teacher_file, snap={**QUADRATIC, "weight_search": {
        **SEARCH, "targets": {"energy_meV_per_atom": 1, "forces_meV_per_A": 100}}})
    assert aimed.snap.weight_search.model_dump()["targets"] == {"energy_meV_per_atom": 1, "forces_meV_per_A": 100}


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


def test_error_targets_as_the_objective_aim_descriptors_and_weights_at_the_same_point(tmp_path, si_teacher_file):
    """objective.error_targets: every candidate's objective is 100 max(E / E_target, F / F_target) of its
    LAMMPS-scored validation errors (its loss column stays L), and its weights were chosen for those targets."""
    from simkit.optimise import load_optimise_config, run_optimisation
    from simkit.optimise.journal import read_rows
    from tests.optimise.conftest import base_config, write_config

    targets = {"energy_meV_per_atom": 5.0, "forces_meV_per_A": 150.0}
    fit = {"snap": {**QUADRATIC, "weight_search": {**SEARCH, "draws": 20, "iterations": 40}},
           "scoring": {"force_loss": "component", "parity_plot": False}}
    document = base_config(si_teacher_file, tmp_path / "run", fit=fit,
                           search_space={"snap.rcutfac": {"real": [4.2, 5.2]}}, budget={"candidates": 3},
                           objective={"error_targets": targets}, optimiser={"initial_points": 2},
                           parallel={"candidates": 1})
    config = load_optimise_config(write_config(tmp_path / "optimise.yaml", document))
    assert config.fit.snap.weight_search.targets.model_dump() == targets
    run_optimisation(config)
    rows = read_rows(tmp_path / "run")
    assert [r["status"] for r in rows] == ["ok"] * 3
    for row in rows:
        overall = row["outcome"]["validation"]["overall"]
        percent = 100 * max(overall["energy_rmse_meV_per_atom"] / 5.0, overall["force_component_rmse_meV_per_A"] / 150)
        assert row["objective"] == pytest.approx(percent, rel=1e-9)
        assert row["loss"] != pytest.approx(percent, rel=1e-3)  # the loss column is still L
        found = row["outcome"]["fit_info"]["weight_search"]
        assert found["search_target_ratio"] == pytest.approx(percent / 100, rel=1e-6)


def test_error_targets_of_the_objective_and_of_the_weight_search_must_agree(tmp_path, si_teacher_file):
    from simkit.optimise import load_optimise_config
    from tests.optimise.conftest import base_config, write_config

    fit = {"snap": {**QUADRATIC, "weight_search": {**SEARCH, "targets": {"energy_meV_per_atom": 1,
                                                                          "forces_meV_per_A": 100}}}}
    document = base_config(si_teacher_file, tmp_path / "run", fit=fit,
                           search_space={"snap.rcutfac": {"real": [4.2, 5.2]}}, budget={"candidates": 3},
                           objective={"error_targets": {"energy_meV_per_atom": 2, "forces_meV_per_A": 100}})
    with pytest.raises(ConfigError, match="error_targets and fit.snap.weight_search.targets differ"):
        load_optimise_config(write_config(tmp_path / "optimise.yaml", document))
    document["objective"] = {}
    config = load_optimise_config(write_config(tmp_path / "plain.yaml", document))
    assert "error_targets" not in config.objective.model_dump()  # older runs' fingerprints stay the same


def test_a_deployed_fit_far_from_the_search_prediction_is_recorded_and_warned(caplog, tmp_path):
    from simkit.fitting.candidate import _compare_with_search

    agreeing, apart = {"search_loss": 50.0}, {"search_loss": 50.0}
    with caplog.at_level("WARNING", logger="simkit.fitting.candidate"):
        _compare_with_search(agreeing, 50.2, tmp_path)
        assert not caplog.records
        _compare_with_search(apart, 60.0, tmp_path)
    assert agreeing["deployed_over_search_loss"] == pytest.approx(1.004)
    assert apart["deployed_over_search_loss"] == pytest.approx(1.2)
    assert len(caplog.records) == 1 and "1.2 times what the weight search predicted" in caplog.text
    _compare_with_search(None, 60.0, tmp_path)  # no weight search: nothing to compare


def test_with_an_svd_solver_the_search_reports_what_the_deployed_fit_scores(si_teacher_file, si_prepared, tmp_path):
    """The SVD keeps singular values the normal equations cannot resolve; the search's optima are ranked by the
    deployed SVD solve, so its numbers are the LAMMPS-scored ones (they were 5 times apart on this dataset)."""
    snap = {**QUADRATIC, "twojmax": 6, "solver": {"kind": "svd"},
            "weight_search": {**SEARCH, "energy_range": [100.0, 15000.0], "force_range": [0.1, 500.0],
                              "method": "gradient", "starts": 3, "iterations": 60}}
    scoring = {"alpha": 0.75, "force_loss": "component", "parity_plot": False}
    searched = fit_and_score(fit_config(si_teacher_file, snap=snap, scoring=scoring), tmp_path / "svd",
                             data=si_prepared)
    found = searched.fit_info["weight_search"]
    assert found["search_loss"] == pytest.approx(searched.loss, rel=1e-5)
    assert found["deployed_over_search_loss"] == pytest.approx(1.0, abs=1e-5)
    assert found["svd_rescored_optima"] >= 4

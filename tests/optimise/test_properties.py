"""Physical properties in the optimiser: a constraint changes the winner, for a reason the outputs state.

The case: linear SNAP at twojmax 4, 6 and 8 on Zuo-labelled Si (as in test_objectives.py); accuracy
alone picks 8. A first run measures every candidate's diamond lattice constant under a constraint
every candidate meets; the second asks for the lattice constant of the twojmax 6 fit within a
tolerance the twojmax 8 fit misses, so 8 becomes infeasible and 6 wins.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from simkit.errors import ConfigError
from simkit.optimise import load_optimise_config, run_optimisation
from simkit.optimise.journal import read_rows
from tests.optimise.conftest import SI_CELL, base_config, write_config

SPACE = {"snap.twojmax": {"categorical": [4, 6, 8]}}


def _run(tmp_path, data_file, name, properties):
    document = base_config(data_file, tmp_path / name, search_space=SPACE, budget={"candidates": 3},
                           optimiser={"initial_points": 3}, properties=properties)
    summary = run_optimisation(load_optimise_config(write_config(tmp_path / f"{name}.yaml", document)))
    return summary, {r["params"]["snap.twojmax"]: r for r in read_rows(tmp_path / name)}


@pytest.mark.slow
def test_a_property_constraint_picks_another_best_and_says_why(tmp_path, si_small_file):
    lax = {"structure": SI_CELL, "targets": {"a_A": {"target": 5.43, "tolerance": 1.0, "constraint": True}}}
    first, by_twojmax = _run(tmp_path, si_small_file, "lax", lax)
    assert first["results"]["summary"]["best_params"] == {"snap.twojmax": 8}
    lattice = {k: r["outcome"]["properties"]["a_A"] for k, r in by_twojmax.items()}
    assert all(5.2 < a < 5.7 for a in lattice.values()), lattice  # diamond Si, as the teacher's 5.43 Å
    assert lattice[8] != lattice[6]
    table = pd.read_csv(tmp_path / "lax" / "candidates.csv")
    assert "property:a_A" in table.columns and "properties_s" in table.columns

    tolerance = abs(lattice[8] - lattice[6]) / 2
    tight = {"structure": SI_CELL, "targets": {"a_A": {"target": lattice[6], "tolerance": tolerance,
                                                       "constraint": True}}}
    second, by_twojmax = _run(tmp_path, si_small_file, "tight", tight)
    best = second["results"]["summary"]["best_params"]
    assert best != {"snap.twojmax": 8}
    assert by_twojmax[8]["status"] == "infeasible"
    assert by_twojmax[8]["reason"].startswith("property a_A = ")
    assert f"outside {lattice[6]:g} +- {tolerance:g}" in by_twojmax[8]["reason"]
    assert by_twojmax[6]["status"] == "ok"
    if by_twojmax[4]["status"] == "ok":  # both feasible: the more accurate wins
        assert best == {"snap.twojmax": 6}
    table = pd.read_csv(tmp_path / "tight" / "candidates.csv")
    eight = table[table["param:snap.twojmax"] == 8].iloc[0]
    assert eight["status"] == "infeasible" and eight["reason"].startswith("property a_A")
    best_dir = tmp_path / "tight" / "best"
    assert json.loads((best_dir / "properties.json").read_text())["quantities"]["a_A"] == pytest.approx(
        by_twojmax[int(best["snap.twojmax"])]["outcome"]["properties"]["a_A"])


@pytest.mark.slow
def test_a_weighted_property_enters_the_objective_and_the_pareto_front(tmp_path, si_small_file):
    weighted = {"structure": SI_CELL, "targets": {"C11_GPa": {"target": 160.0, "tolerance": 10.0, "weight": 1.0}}}
    summary, by_twojmax = _run(tmp_path, si_small_file, "weighted", weighted)
    for row in by_twojmax.values():
        outcome = row["outcome"]
        c11 = outcome["properties"]["C11_GPa"]
        assert outcome["property_term"] == pytest.approx(((c11 - 160.0) / 10.0) ** 2)
        assert row["objective"] == pytest.approx(row["loss"] + outcome["property_term"])
    table = pd.read_csv(tmp_path / "weighted" / "candidates.csv")
    assert table["property_misfit"].notna().all()
    assert summary["results"]["summary"]["pareto_front"]  # over (loss, property misfit)


@pytest.mark.parametrize(("properties", "message"), [
    ({"structure": SI_CELL, "targets": {"bogus_GPa": {"target": 1, "tolerance": 1, "weight": 1}}}, "bogus_GPa"),
    ({"structure": SI_CELL, "targets": {"a_A": {"target": 5.4, "tolerance": 0.1}}}, "does nothing"),
    ({"structure": SI_CELL, "targets": {"a_A": {"target": 5.4, "tolerance": 0, "weight": 1}}}, "tolerance"),
    ({"structure": SI_CELL}, "give targets"),
    ({"structure": SI_CELL, "targets": {"surface_111_J_per_m2": {"target": 1, "tolerance": 1, "weight": 1}}},
     "surfaces.miller"),
])
def test_bad_property_targets_are_refused(tmp_path, si_small_file, properties, message):
    document = base_config(si_small_file, tmp_path / "out", properties=properties)
    with pytest.raises(ConfigError, match=message):
        load_optimise_config(write_config(tmp_path / "bad.yaml", document))

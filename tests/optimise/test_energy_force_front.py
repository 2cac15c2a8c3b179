"""The energy/force Pareto set every run writes beside its loss/cost/survival front."""

from __future__ import annotations

import csv

from simkit.optimise import plots, results
from simkit.optimise.objective import CandidateStatus


def _row(cid, status, energy, force, **params):
    overall = {"energy_rmse_meV_per_atom": energy, "force_component_rmse_meV_per_A": force,
               "force_vector_rmse_meV_per_A": None if force is None else 1.7 * force}
    outcome = {"validation": {"overall": overall}} if energy is not None else {}
    row = dict.fromkeys(("objective", "lower_bound", "speed_per_core", "relative_speed", "cost", "survival",
                         "survival_max", "reason"))
    return {**row, "id": cid, "status": status, "outcome": outcome, "params": params or None, "source": "initial",
            "loss": None if energy is None else 0.75 * energy + 0.25 * force, "penalised": False, "told_value": 1.0,
            "workdir": f"c{cid:04d}", "dispatched_at": "2026-12-03T19:00", "finished_at": f"2026-12-03T19:0{cid}"}


ROWS = [
    _row(1, CandidateStatus.OK, 4.0, 180.0, **{"snap.rcutfac": 4.1, "weights.config_types.A.energy": 120.0}),
    _row(2, CandidateStatus.OK, 3.4, 200.0, **{"snap.rcutfac": 4.6, "weights.config_types.A.energy": 900.0}),
    _row(3, CandidateStatus.PRUNED, 5.0, 160.0, **{"snap.rcutfac": 5.1, "weights.config_types.A.energy": 50.0}),
    _row(4, CandidateStatus.OK, 4.5, 190.0, **{"snap.rcutfac": 3.9, "weights.config_types.A.energy": 10.0}),
    _row(5, CandidateStatus.INFEASIBLE, 1.0, 100.0, **{"snap.rcutfac": 4.0, "weights.config_types.A.energy": 1.0}),
    _row(6, CandidateStatus.FAILED, None, None),
]
NAMES = ["snap.rcutfac", "weights.config_types.A.energy"]


def test_the_front_keeps_exactly_the_scored_candidates_no_other_beats_on_both_errors():
    front = results.energy_force_front(ROWS)
    # 4 is beaten by 1 on both; 5 missed a constraint and 6 failed, so neither counts; sorted by energy error.
    assert [entry["id"] for entry in front] == [2, 1, 3]
    assert front[0]["energy_rmse_meV_per_atom"] == 3.4 and front[0]["force_component_rmse_meV_per_A"] == 200.0
    assert front[2]["status"] == "pruned" and front[1]["params"]["snap.rcutfac"] == 4.1
    assert results.energy_force_front([ROWS[5]]) == []


def test_the_front_is_written_as_csv_with_units_and_parameters_and_plotted(tmp_path):
    front = results.energy_force_front(ROWS)
    path = results.write_energy_force_front(front, tmp_path / results.PARETO_ENERGY_FORCES_CSV, names=NAMES,
                                            best_id=1)
    with open(path) as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["id", "status", "energy_rmse_meV_per_atom", "force_component_rmse_meV_per_A",
                              "force_vector_rmse_meV_per_A", "loss", "best", "param:snap.rcutfac",
                              "param:weights.config_types.A.energy"]
    assert [row["id"] for row in table] == ["2", "1", "3"] and [row["best"] for row in table] == ["False", "True",
                                                                                                 "False"]
    assert float(table[1]["param:weights.config_types.A.energy"]) == 120.0
    plots.plot_energy_forces(ROWS, tmp_path / "ef.png", front=front, best_id=1, errors_of=results.energy_force_errors)
    assert (tmp_path / "ef.png").stat().st_size > 10_000
    table = results.candidate_table(ROWS, names=NAMES, has_reference=False, front=set(), best_id=1,
                                    energy_force_ids={entry["id"] for entry in front})
    assert list(table["pareto_energy_forces"]) == [True, True, True, False, False, False]

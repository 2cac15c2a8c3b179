"""Speed and survival in the objective change the winner; cheap-first evaluation prunes hopeless candidates.

The constructed case: linear SNAP at twojmax 4, 6 and 8 on Zuo-labelled data.
twojmax 8 is the most accurate (loss ~66 against ~89 for twojmax 6, measured
when this test was written) but slower: ~3x alone on a core, 1.7x seen on a
2-core CI runner with both candidates timed at once. Loss x cost (log scale,
equal weights) picks 6 whenever 8 is more than 1.35x slower (the loss ratio);
twojmax 4 is faster still but ~3x less accurate. Accuracy alone picks 8.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from simkit.optimise import load_optimise_config, run_optimisation
from simkit.optimise.journal import read_rows
from tests.optimise.conftest import base_config, speed_section, survival_section, write_config

SPACE = {"snap.twojmax": {"categorical": [4, 6, 8]}}


def _run(tmp_path, data_file, name, **sections):
    document = base_config(data_file, tmp_path / name, search_space=SPACE, budget={"candidates": 4},
                           optimiser={"initial_points": 3}, parallel={"candidates": 2}, **sections)
    summary = run_optimisation(load_optimise_config(write_config(tmp_path / f"{name}.yaml", document)))
    return summary, {r["params"]["snap.twojmax"]: r for r in read_rows(tmp_path / name)}


@pytest.mark.slow
def test_speed_and_survival_pick_a_fast_stable_candidate_over_the_most_accurate(tmp_path, si_small_file):
    accuracy, by_twojmax = _run(tmp_path, si_small_file, "accuracy")
    assert accuracy["results"]["stopped"] == "every point of the search space has been evaluated"
    assert sorted(by_twojmax) == [4, 6, 8] and accuracy["results"]["summary"]["finished"] == 3
    assert accuracy["results"]["summary"]["best_params"] == {"snap.twojmax": 8}
    losses = {k: r["loss"] for k, r in by_twojmax.items()}
    assert losses[8] < losses[6] < losses[4]

    combined, by_twojmax = _run(
        tmp_path, si_small_file, "combined", speed=speed_section(), survival=survival_section(),
        objective={"cost_weight": 1.0, "instability_weight": 1.0, "scale": "log", "early_stop": False},
    )
    summary = combined["results"]["summary"]
    six, eight = by_twojmax[6], by_twojmax[8]
    assert six["loss"] == pytest.approx(losses[6]) and eight["loss"] == pytest.approx(losses[8])
    # Only the order of the speeds is asserted: their ratio depends on what else the machine runs.
    assert eight["speed_per_core"] < six["speed_per_core"]
    # The objective is log10(loss) + log10(cost), cost ~ 1/speed (every candidate survives). 6 beats 8
    # when it is faster by more than 8 is more accurate (1.35x here): a quiet 2-core runner measures 1.7x
    # to 3x, a loaded one may measure less, so the winner is computed from what this run measured.
    speeds = {k: r["speed_per_core"] for k, r in by_twojmax.items()}
    expected = min(speeds, key=lambda k: math.log10(losses[k]) - math.log10(speeds[k]))
    assert summary["best_params"] == {"snap.twojmax": expected}, f"measured speeds {speeds}"
    if speeds[6] / speeds[8] > 1.5 * losses[6] / losses[8]:  # clearly decided by speed
        assert expected != 8  # the most accurate candidate lost
    assert six["survival"] == 1.0 and all(r["status"] == "ok" for r in by_twojmax.values())
    conditions = json.loads((tmp_path / "combined" / "best" / "speed.json").read_text())["conditions"]
    assert conditions["cores_per_candidate"] == 1 and conditions["concurrent_candidates"] == 2
    assert (tmp_path / "combined" / "best" / "survival.json").is_file()
    table = pd.read_csv(tmp_path / "combined" / "candidates.csv")
    front = set(table.loc[table["pareto"], "param:snap.twojmax"])
    assert {6, 8} <= front  # the most accurate and the chosen one are both Pareto-optimal
    assert table.loc[table["best"], "param:snap.twojmax"].tolist() == [expected]
    assert summary["pareto_front"] == sorted(table.loc[table["pareto"], "id"])
    assert (tmp_path / "combined" / "pareto.png").stat().st_size > 20_000


def test_a_candidate_that_cannot_win_stops_after_its_fit(tmp_path, si_small_file):
    from simkit.optimise.evaluate import CandidateTask, evaluate_candidate
    from simkit.optimise.runner import build_context

    document = base_config(si_small_file, tmp_path / "run", search_space=SPACE, speed=speed_section(),
                           survival=survival_section(), objective={"cost_weight": 1.0,
                                                                   "constraints": {"min_survival_fraction": 1.0}})
    config = load_optimise_config(write_config(tmp_path / "o.yaml", document))
    context = build_context(config, cores=1, concurrent=1, mode="processes")
    task = CandidateTask(id=1, point=['4'], params={"snap.twojmax": 4}, workdir=str(tmp_path / "c1"), best=1.0)
    outcome = evaluate_candidate(task, context)
    # Loss alone (~280) exceeds the best objective: speed and survival are never run.
    assert outcome.status == "pruned" and outcome.stages == ["fit"]
    assert outcome.lower_bound == pytest.approx(outcome.loss) and outcome.speed_per_core is None
    assert "after the fit" in outcome.reason

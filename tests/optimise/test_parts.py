"""The optimiser's parts on their own: proposals, objective bounds, journal, coordinator, one candidate."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from simkit.errors import ConfigError
from simkit.optimise.config import Dimension, ObjectiveSpec, OptimiserSpec
from simkit.optimise.coordinator import Coordinator
from simkit.optimise.evaluate import CandidateOutcome, CandidateTask
from simkit.optimise.journal import Journal, read_rows
from simkit.optimise.objective import CandidateStatus, Objective, pareto_mask, penalty
from simkit.optimise.proposer import Proposer
from simkit.optimise.space import SearchSpace, initial_design


def _space():
    return SearchSpace({
        "snap.rcutfac": Dimension(real=(3.5, 5.5)),
        "weights.energy": Dimension(real=(0.1, 10.0), prior="log-uniform"),
        "snap.twojmax": Dimension(categorical=[4, 6, 8]),
        "ace.nradmax_by_orders": Dimension(categorical=[[8, 4], [10, 6]]),
    })


def test_points_decode_to_fit_overrides_and_the_design_is_reproducible():
    space = _space()
    design = initial_design(space, 5, "hammersley", seed=1)
    assert design == initial_design(space, 5, "hammersley", seed=1) and len(design) == 5
    params = space.params(design[1])
    assert set(params) == set(space.names)
    assert 3.5 <= params["snap.rcutfac"] <= 5.5 and params["snap.twojmax"] in (4, 6, 8)
    assert params["ace.nradmax_by_orders"] in ([8, 4], [10, 6])
    assert all(space.contains(p) for p in design)
    assert not space.contains([6.0, 1.0, "4", "[8, 4]"])


def test_proposer_hands_out_the_design_then_spreads_pending_points():
    space = _space()
    proposer = Proposer(space, OptimiserSpec(initial_points=3), seed=4)
    seen: set[str] = set()
    first = [proposer.propose([], {0, 1, 2} - {i}, seen) for i in range(3)]
    assert [(source, index) for _, source, index in first] == [("initial", 0), ("initial", 1), ("initial", 2)]
    points = [p for p, _, _ in first]
    rng = np.random.default_rng(0)
    proposer.tell(points, list(rng.uniform(1, 2, 3)))
    seen = {space.key(p) for p in points}
    a, source, _ = proposer.propose([], {0, 1, 2}, seen)
    b, _, _ = proposer.propose([a], {0, 1, 2}, seen | {space.key(a)})
    assert source == "optimiser" and space.contains(a) and space.contains(b) and a != b


def test_a_discrete_space_is_exhausted_without_repeats():
    space = SearchSpace({"snap.twojmax": Dimension(categorical=[4, 6, 8]), "snap.quadratic": Dimension(
        categorical=[False, True])})
    proposer = Proposer(space, OptimiserSpec(initial_points=4), seed=0)
    seen: set[str] = set()
    taken: set[int] = set()
    while (proposal := proposer.propose([], taken, seen)) is not None:
        point, _, index = proposal
        assert space.key(point) not in seen
        seen.add(space.key(point))
        if index is not None:
            taken.add(index)
        proposer.tell([point], [float(len(seen))])
    assert len(seen) == 6 == proposer.finite_size()


def test_objective_bounds_survival_requirement_and_penalties():
    linear = Objective(ObjectiveSpec(cost_weight=2.0, instability_weight=10.0))
    assert linear.lower_bound(100.0) == 100.0  # cost >= 0, survival <= 1
    assert linear.lower_bound(100.0, cost=5.0) == 110.0
    assert linear.value(100.0, 5.0, 0.5) == 115.0
    # To beat 112 with loss + cost = 110 at most 0.2 of the replicas may fail.
    assert linear.survival_needed(100.0, 5.0, best=112.0) == pytest.approx(0.8)
    assert linear.survival_needed(100.0, 5.0, best=130.0) is None
    assert linear.cannot_win(110.0, 109.0) and not linear.cannot_win(110.0, 111.0)
    log = Objective(ObjectiveSpec(cost_weight=1.0, scale="log"))
    assert log.lower_bound(100.0) == -math.inf  # an unmeasured cost is unbounded on the log scale
    assert log.value(100.0, 10.0, None) == pytest.approx(3.0)
    constrained = Objective(ObjectiveSpec(constraints={"max_loss": 50, "min_survival_fraction": 1.0}))
    assert "max_loss" in constrained.loss_violation(60.0) and constrained.loss_violation(40.0) is None
    assert constrained.survival_requirement(10.0, None, best=None) == (1.0, "constraint")
    assert penalty(None, [1.0, 3.0]) == pytest.approx(3.5) and penalty(None, []) is None
    assert penalty(7.0, [1.0, 3.0]) > 7.0


def test_pareto_mask_keeps_exactly_the_non_dominated():
    values = np.array([[1.0, 5.0], [2.0, 2.0], [3.0, 3.0], [5.0, 1.0], [2.0, 2.0]])
    assert pareto_mask(values).tolist() == [True, True, False, True, True]


def _outcome(cid, status, objective=None, bound=None):
    outcome = CandidateOutcome(id=cid, status=status, objective=objective, lower_bound=bound, loss=objective)
    outcome.reason = None if status == CandidateStatus.OK else f"{status} on purpose"
    return outcome


def test_journal_commits_rows_marks_lost_ones_and_refuses_another_definition(tmp_path):
    space = SearchSpace({"snap.rcutfac": Dimension(real=(3.5, 5.5))})
    with Journal(tmp_path) as journal:
        assert journal.adopt_definition({"search_space": {"a": 1}}, "f1") is True
        with pytest.raises(ConfigError, match="another simkit optimise is running"):
            Journal(tmp_path)
        coordinator = Coordinator(journal, space, Proposer(space, OptimiserSpec(initial_points=2), seed=0), budget=5)
        tasks = [coordinator.next_task() for _ in range(4)]
        assert [t.id for t in tasks] == [1, 2, 3, 4] and tasks[0].best is None
        coordinator.finish(_outcome(2, CandidateStatus.OK, objective=10.0))
        coordinator.finish(_outcome(1, CandidateStatus.PRUNED, bound=12.0))
        coordinator.finish(_outcome(3, CandidateStatus.INFEASIBLE, bound=11.0))
        coordinator.finish(_outcome(3, CandidateStatus.OK, objective=1.0))  # a second report of the same candidate is ignored
        assert coordinator.next_task().best == 10.0  # candidate 5
        assert coordinator.next_task() is None  # budget: 3 finished + 2 running
        assert journal.meta("definition") == {"search_space": {"a": 1}}
        assert journal.adopt_definition({"search_space": {"a": 1}}, "f1") is False
        with pytest.raises(ConfigError, match=r"different search space or settings \(changed: search_space.a\)"):
            journal.adopt_definition({"search_space": {"a": 2}}, "f2")
    assert sqlite3.connect(tmp_path / "journal.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = {r["id"]: r for r in read_rows(tmp_path)}
    assert [rows[i]["status"] for i in (1, 2, 3, 4, 5)] == [CandidateStatus.PRUNED, CandidateStatus.OK, CandidateStatus.INFEASIBLE, "running", "running"]
    assert rows[2]["told_value"] == 10.0 and not rows[2]["penalised"]
    assert rows[1]["told_value"] == 12.0 and rows[1]["penalised"]  # a pruned candidate: its lower bound
    assert rows[3]["told_value"] > 11.0 and rows[3]["penalised"]  # above everything feasible and its own bound
    assert [rows[i]["tell_order"] for i in (2, 1, 3)] == [1, 2, 3]
    assert rows[1]["initial_index"] == 0 and rows[2]["initial_index"] == 1
    # Design exhausted and nothing told yet: random points; once values are known, the optimiser's.
    assert [rows[i]["source"] for i in (3, 4, 5)] == ["random", "random", "optimiser"]
    with Journal(tmp_path) as journal:
        assert journal.mark_lost() == [4, 5]
        assert journal.next_id() == 6 and len(journal.told()) == 3
    assert {r["status"] for r in read_rows(tmp_path) if r["id"] >= 4} == {CandidateStatus.LOST}


def test_a_candidate_with_settings_the_backend_rejects_fails_without_a_fit(tmp_path, si_small_file):
    from simkit.optimise.evaluate import evaluate_candidate
    from simkit.optimise.runner import build_context, load_optimise_config
    from tests.optimise.conftest import base_config, write_config

    document = base_config(si_small_file, tmp_path / "run", fit={"reference": {"kind": "zbl", "inner_A": 1.0,
                                                                               "outer_A": 2.6}},
                           search_space={"reference.inner_A": {"real": [1.0, 2.0]},
                                         "reference.outer_A": {"real": [1.5, 2.6]}})
    config = load_optimise_config(write_config(tmp_path / "o.yaml", document))
    context = build_context(config, cores=1, concurrent=1, mode="processes")
    task = CandidateTask(id=7, point=[1.9, 1.6], params={"reference.inner_A": 1.9, "reference.outer_A": 1.6},
                         workdir=str(tmp_path / "c7"))
    outcome = evaluate_candidate(task, context)
    assert outcome.status == CandidateStatus.FAILED and outcome.stages == ["fit"] and outcome.loss is None
    assert "must be smaller than outer_A" in outcome.reason and outcome.error_type == "ConfigError"


def test_results_are_written_even_when_nothing_is_feasible(tmp_path):
    from simkit.optimise import plots, results

    space = SearchSpace({"snap.rcutfac": Dimension(real=(3.5, 5.5))})
    with Journal(tmp_path) as journal:
        coordinator = Coordinator(journal, space, Proposer(space, OptimiserSpec(initial_points=2), seed=0), budget=2)
        for _ in range(2):
            task = coordinator.next_task()
            coordinator.fail(task.id, "worker process 1 died with exit code -11")
    rows = read_rows(tmp_path)
    assert [r["status"] for r in rows] == [CandidateStatus.FAILED, CandidateStatus.FAILED] and all(r["told_value"] is None for r in rows)
    assert results.best_row(rows) is None and results.pareto_ids(rows, ["loss", "cost"]) == set()
    table = results.candidate_table(rows, names=space.names, has_reference=False, front=set(), best_id=None)
    csv_path, h5_path = results.write_tables(table, tmp_path, {"config": "{}"})
    assert "worker process 1 died" in csv_path.read_text() and h5_path.is_file()
    plots.plot_convergence(rows, tmp_path / "c.png", initial_points=2, objective_label="objective")
    plots.plot_pareto(rows, tmp_path / "p.png", front=set(), best_id=None, axes_names=["loss", "cost", "instability"],
                      cost_label="cost")
    assert (tmp_path / "c.png").stat().st_size > 5_000 and (tmp_path / "p.png").stat().st_size > 5_000

"""Local refinement: proposals from a trust region around the best candidate, chosen by the surrogate."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simkit.optimise.config import Dimension, LocalRefinement, OptimiserSpec
from simkit.optimise.proposer import LOCAL, OPTIMISER, Proposer
from simkit.optimise.space import SearchSpace

SPACE = SearchSpace({
    "snap.rcutfac": Dimension(real=(3.0, 6.0)),
    "weights.config_types.A.energy": Dimension(real=(100.0, 15000.0), prior="log-uniform"),
    "snap.twojmax": Dimension(categorical=[4, 6]),
})


def _objective(point) -> float:
    rcut, energy, twojmax = point
    return (rcut - 4.4) ** 2 + (np.log10(energy) - 3.0) ** 2 + (0.3 if twojmax == "4" else 0.0)


def _proposer(**local) -> Proposer:
    spec = OptimiserSpec(initial_points=4, local_refinement=LocalRefinement(start_after=6, **local))
    proposer = Proposer(SPACE, spec, seed=5)
    points = list(proposer.design) + SPACE.random_points(2, seed=9)
    proposer.tell(points, [_objective(p) for p in points])
    return proposer


def test_unit_coordinates_round_trip_with_log_priors_and_fixed_categories():
    point = [4.5, 1224.7, "6"]
    unit = SPACE.to_unit(point)
    assert unit == pytest.approx([0.5, np.log(1224.7 / 100) / np.log(150), 0.0])
    back = SPACE.from_unit(unit, like=point)
    assert back[:2] == pytest.approx([4.5, 1224.7]) and back[2] == "6"
    clipped = SPACE.from_unit([2.0, -1.0, 0.3], like=point)
    assert clipped[:2] == pytest.approx([6.0, 100.0]) and clipped[2] == "6" and 100.0 <= clipped[1]


def test_local_proposals_alternate_with_global_ones_and_stay_in_the_region():
    proposer = _proposer(share=0.5, radius=0.1)
    best = proposer._points[int(np.argmin(proposer._values))]
    pending, sources = [], []
    for _ in range(4):
        point, source, index = proposer.propose(pending, set(range(4)), {SPACE.key(p) for p in pending})
        sources.append(source)
        if source == LOCAL:
            offset = np.abs(SPACE.to_unit(point) - SPACE.to_unit(best))[:2]
            assert np.all(offset <= 0.1 + 1e-9) and point[2] == best[2]
        pending.append(point)
    assert sources == [OPTIMISER, LOCAL, OPTIMISER, LOCAL]
    # Deterministic: the same tells and pending points give the same proposal.
    again = _proposer(share=0.5, radius=0.1).propose(pending[:2], set(range(4)), {SPACE.key(p) for p in pending[:2]})
    assert again[0] == pending[2]


def test_the_region_halves_after_patience_stalls_down_to_its_floor():
    proposer = Proposer(SPACE, OptimiserSpec(initial_points=2, local_refinement=LocalRefinement(
        start_after=1, radius=0.2, min_radius=0.05, patience=2)), seed=0)
    points = SPACE.random_points(9, seed=1)
    proposer.tell(points[:2], [5.0, 4.0])
    assert proposer.local_radius() == 0.2
    proposer.tell(points[2:4], [6.0, 7.0])  # two without improvement: halved
    assert proposer.local_radius() == 0.1
    proposer.tell(points[4:5], [3.0])  # an improvement resets the count, not the radius
    proposer.tell(points[5:9], [8.0] * 4)
    assert proposer.local_radius() == 0.05  # 0.025 would be below min_radius


def test_without_local_refinement_nothing_is_local_and_bad_settings_are_refused():
    proposer = Proposer(SPACE, OptimiserSpec(initial_points=4), seed=5)
    points = list(proposer.design) + SPACE.random_points(4, seed=9)
    proposer.tell(points, [_objective(p) for p in points])
    assert {proposer.propose([], set(range(4)), set())[1] for _ in range(2)} == {OPTIMISER}
    with pytest.raises(ValidationError, match="min_radius 0.2 is larger than radius 0.1"):
        LocalRefinement(start_after=3, radius=0.1, min_radius=0.2)

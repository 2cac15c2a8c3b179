"""optimiser.min_spacing: no proposal lands next to a candidate finished or running."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simkit.config.loader import validate_config
from simkit.optimise.config import Dimension, LocalRefinement, OptimiseConfig, OptimiserSpec
from simkit.optimise.proposer import LOCAL, OPTIMISER, SPACED, Proposer
from simkit.optimise.runner import run_definition
from simkit.optimise.space import SearchSpace
from tests.fuzz.config_corpus import INPUTS, example_data

SPACE = SearchSpace({
    "snap.rcutfac": Dimension(real=(3.0, 6.0)),
    "snap.rfac0": Dimension(real=(0.5, 0.999)),
})


def _objective(point) -> float:
    rcut, rfac0 = point
    # a narrow well at (4.0, 0.99) on a smooth bowl: the surrogate keeps asking next to its best point
    return 60 + 40 * (rcut - 4.4) ** 2 + 30 * (rfac0 - 0.9) ** 2 - 8 * np.exp(-((rcut - 4.0) ** 2 + (rfac0 - 0.99) ** 2)
                                                                        / 1e-3)


def _told(spacing: float, **spec) -> Proposer:
    proposer = Proposer(SPACE, OptimiserSpec(initial_points=8, min_spacing=spacing, **spec), seed=3)
    points = list(proposer.design) + [[4.0 + d, 0.99] for d in (-0.01, 0.0, 0.01)]
    proposer.tell(points, [_objective(p) for p in points])
    return proposer


def _gaps(proposer: Proposer, rounds: int, with_pending: bool) -> tuple[list[float], list[str]]:
    """Smallest max-norm unit distance of each proposal to the candidates before it, and the sources."""
    gaps, sources, pending = [], [], []
    for _ in range(rounds):
        point, source, _ = proposer.propose(pending, set(range(len(proposer.design))),
                                            {SPACE.key(p) for p in proposer._points + pending})
        others = np.array([SPACE.to_unit(p) for p in proposer._points + pending])
        gaps.append(float(np.min(np.max(np.abs(others - SPACE.to_unit(point)), axis=1))))
        sources.append(source)
        if with_pending:
            pending.append(point)
        else:
            proposer.tell([point], [_objective(point)])
    return gaps, sources


@pytest.mark.parametrize("with_pending", [False, True], ids=["told", "running"])
def test_proposals_keep_their_distance_from_finished_and_running_candidates(with_pending):
    crowded, _ = _gaps(_told(0.0), 6, with_pending)
    assert min(crowded) < 0.02  # without spacing the surrogate asks next to a candidate (the test can fail)
    gaps, sources = _gaps(_told(0.02), 6, with_pending)
    assert min(gaps) >= 0.02
    assert SPACED in sources and set(sources) <= {OPTIMISER, SPACED}


def test_spaced_proposals_are_deterministic():
    assert _gaps(_told(0.02), 4, True) == _gaps(_told(0.02), 4, True)


def test_local_proposals_keep_the_spacing_too():
    proposer = _told(0.02, local_refinement=LocalRefinement(start_after=1, share=1.0, radius=0.05))
    gaps, sources = _gaps(proposer, 4, True)
    assert LOCAL in sources and min(gaps) >= 0.02


def test_a_different_category_is_not_close():
    space = SearchSpace({"snap.rcutfac": Dimension(real=(3.0, 6.0)), "snap.twojmax": Dimension(categorical=[4, 6])})
    proposer = Proposer(space, OptimiserSpec(initial_points=2, min_spacing=0.05), seed=0)
    proposer.tell([[4.0, "4"]], [1.0])
    assert proposer._crowded([[4.01, "4"], [4.01, "6"], [4.5, "4"]], pending=[]).tolist() == [True, False, False]
    assert proposer._crowded([[4.5, "6"]], pending=[[4.52, "6"]]).tolist() == [True]


@pytest.mark.parametrize("value", [-0.01, 0.6])
def test_bad_spacing_is_refused(value):
    with pytest.raises(ValidationError, match="min_spacing"):
        OptimiserSpec(min_spacing=value)


def test_runs_started_before_the_setting_existed_keep_their_fingerprint():
    data = example_data(INPUTS / "optimise_snap_si.yaml")

    def config(**optimiser):
        document = {**data, "optimiser": {**data.get("optimiser", {}), **optimiser}}
        return validate_config(OptimiseConfig, document, source="optimise_snap_si.yaml", base_dir=INPUTS)

    base, off, on = config(), config(min_spacing=0.0), config(min_spacing=0.01)
    assert "min_spacing" not in run_definition(base)[0]["optimiser"]
    assert run_definition(off)[1] == run_definition(base)[1]
    assert run_definition(on)[0]["optimiser"]["min_spacing"] == 0.01
    assert run_definition(on)[1] != run_definition(base)[1]

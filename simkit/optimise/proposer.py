"""Where the next point comes from: the initial design, then scikit-optimize's ask/tell.

The initial design (Hammersley by default) is a fixed list of points drawn from
the run's seed; its points are handed out by index, so a resumed run evaluates
exactly the design points that never finished. After that, skopt's
:class:`~skopt.Optimizer` proposes points. Candidates still running are
handled by the constant liar: a copy of the optimiser is told each pending
point with a made-up value (the minimum, mean or maximum seen) before it is
asked, so concurrent candidates spread out instead of piling onto one spot.
The optimiser holds only what the journal holds: a resumed run replays the
journal's told points into a fresh one.

With ``optimiser.local_refinement`` some proposals, once enough candidates are
told, come from a trust region around the best point instead (source
``local``): the point of largest expected improvement under the same
surrogate among random points in the region (see
:class:`~simkit.optimise.config.LocalRefinement`). A global optimiser spends
most of a large budget far from the best point in a 10-dimensional space; the
local proposals refine around it while the others keep exploring.

With ``optimiser.min_spacing`` a proposal closer than that to a candidate
finished or running (in every real and integer dimension, as a fraction of its
range; same categories) is not evaluated: the proposal is instead the point of
largest expected improvement among random points outside those boxes (source
``spaced``). On a rugged or noisy objective the surrogate's acquisition peaks
next to its best point again and again; a near-repeat costs a full fit and
teaches the model nothing it did not know.
"""

from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from typing import Sequence

import numpy as np
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from simkit.optimise.config import OptimiserSpec
from simkit.optimise.space import SearchSpace, initial_design

log = logging.getLogger(__name__)

_RANDOM_TRIES = 200

INITIAL, OPTIMISER, RANDOM, LOCAL, SPACED = "initial", "optimiser", "random", "local", "spaced"
_SPACED_SAMPLES = 2000  # random points scored by expected improvement when a proposal is too close
_XI = 0.01  # improvement required over the best, in the objective's units, as skopt's EI default


@contextmanager
def _skopt_calls():
    """Around every skopt call: one BLAS thread, and its warnings logged rather than raised or printed.

    The surrogate's matrices are tiny; with several BLAS threads on a machine
    busy with candidates, thread contention made each model fit ~10x slower.
    skopt warns (UserWarning) when it re-proposes a point.
    """
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        log.debug("scikit-optimize: %s", item.message)


class Proposer:
    """Proposes points for one run; deterministic for a given seed and sequence of tells."""

    def __init__(self, space: SearchSpace, spec: OptimiserSpec, seed: int):
        self.space = space
        self.spec = spec
        self.seed = int(seed)
        self.design = initial_design(space, spec.initial_points, spec.initial_point_generator, self.seed)
        self._optimizer = self._fresh_optimizer()
        self._values: list[float] = []
        self._points: list[list] = []

    def _fresh_optimizer(self):
        # lazy: scikit-optimize (scikit-learn) takes seconds to import; only the rank proposing points needs it
        from skopt import Optimizer

        acquisition = self.spec.acquisition.model_dump()
        kind = acquisition.pop("kind")
        with _skopt_calls():
            # The initial design is ours (see module docstring): skopt fits its model from the first tell.
            return Optimizer(
                self.space.skopt_dimensions(), base_estimator=self.spec.base_estimator, n_initial_points=0,
                initial_point_generator="random", acq_func=kind, acq_func_kwargs=acquisition,
                random_state=self.seed % (2**32),
            )

    @property
    def told(self) -> int:
        return len(self._values)

    def tell(self, points: Sequence[list], values: Sequence[float]) -> None:
        """Record finished candidates (one batch: one model fit)."""
        if not points:
            return
        with _skopt_calls():
            self._optimizer.tell([list(p) for p in points], [float(v) for v in values])
        self._values.extend(float(v) for v in values)
        self._points.extend(list(p) for p in points)

    def _lie(self) -> float:
        values = self._values
        return {"cl_min": min, "cl_max": max, "cl_mean": lambda v: sum(v) / len(v)}[self.spec.liar](values)

    def propose(
        self, pending: Sequence[list], taken_initial: set[int], seen: set[str]
    ) -> tuple[list, str, int | None] | None:
        """The next point, its source and its design index; None when the space is exhausted.

        ``pending``: points being evaluated now; ``taken_initial``: design indices
        finished or running; ``seen``: keys of every point finished or running.
        """
        for index, point in enumerate(self.design):
            if index not in taken_initial and self.space.key(point) not in seen:
                return point, INITIAL, index
        salt = [self.seed, self.told, len(pending), len(seen)]
        if self.told:
            with _skopt_calls():
                optimizer = self._asking(pending, salt)
                if self._local_turn(len(pending)):
                    point = self._local_point(optimizer, seen, pending, salt)
                    if point is not None:
                        return point, LOCAL, None
                    log.debug("no unseen point in the trust region; asking the global optimiser")
                point = self.space.normalise(optimizer.ask())
                crowded = self._crowded([point], pending)[0]
                if crowded:
                    spaced = self._spaced_point(optimizer, pending, salt)
                    if spaced is not None:
                        log.debug("the optimiser proposed %s, within min_spacing of a candidate; took %s", point,
                                  spaced)
                        return spaced, SPACED, None
            if self.space.key(point) not in seen and not crowded:
                return point, OPTIMISER, None
            log.debug("the optimiser proposed a point already evaluated; drawing a random one")
        return self._random_unseen(seen, salt)

    # -- spacing --------------------------------------------------------------------
    def _crowded(self, points: Sequence[list], pending: Sequence[list]) -> np.ndarray:
        """For each point: within ``min_spacing`` of a finished or running candidate (see the module docstring)."""
        spacing = self.spec.min_spacing
        others = list(self._points) + [list(p) for p in pending]
        if not spacing or not others or not points:
            return np.zeros(len(points), dtype=bool)
        numeric = np.array([dim.categorical is None for dim in self.space.dimensions.values()])
        ours = np.array([self.space.to_unit(p) for p in points])
        theirs = np.array([self.space.to_unit(p) for p in others])
        close = np.all(np.abs(ours[:, None, numeric] - theirs[None, :, numeric]) < spacing, axis=2)
        if not numeric.all():
            labels = np.array([[str(v) for v, n in zip(self.space.normalise(p), numeric) if not n] for p in points])
            known = np.array([[str(v) for v, n in zip(self.space.normalise(p), numeric) if not n] for p in others])
            close &= np.all(labels[:, None, :] == known[None, :, :], axis=2)
        return close.any(axis=1)

    def _spaced_point(self, optimizer, pending: Sequence[list], salt: list[int]) -> list | None:
        seed = int(np.random.SeedSequence(salt + [3]).generate_state(1)[0])
        samples = self.space.random_points(_SPACED_SAMPLES, seed)
        free = [p for p, crowded in zip(samples, self._crowded(samples, pending)) if not crowded]
        return self._largest_improvement(optimizer, free) if free else None

    def _asking(self, pending: Sequence[list], salt: list[int]):
        """The optimiser to ask: a copy told the pending points with the liar's value, or the optimiser itself."""
        if not pending:
            return self._optimizer
        liar = self._optimizer.copy(random_state=int(np.random.SeedSequence(salt).generate_state(1)[0]))
        liar.tell([list(p) for p in pending], [self._lie()] * len(pending))
        return liar

    # -- local refinement -------------------------------------------------------------
    def _local_turn(self, pending: int) -> bool:
        local = self.spec.local_refinement
        if local is None or self.told < local.start_after:
            return False
        # Proposal m is local when m * share passes an integer: share 0.5 alternates, 1 makes every one local.
        m = self.told + pending - local.start_after
        return math.floor((m + 1) * local.share + 1e-9) > math.floor(m * local.share + 1e-9)

    def local_radius(self) -> float:
        """Half-width of the trust region after the told values so far (see the config's docstring)."""
        local = self.spec.local_refinement
        radius, best, stalled = local.radius, math.inf, 0
        for value in self._values:
            if value < best:
                best, stalled = value, 0
            else:
                stalled += 1
                if stalled >= local.patience:
                    radius, stalled = max(local.min_radius, radius / 2), 0
        return radius

    def _local_point(self, optimizer, seen: set[str], pending: Sequence[list], salt: list[int]) -> list | None:
        local = self.spec.local_refinement
        center = self._points[int(np.argmin(self._values))]
        radius = self.local_radius()
        rng = np.random.default_rng(np.random.SeedSequence(salt + [2]))
        middle = self.space.to_unit(center)
        offsets = rng.uniform(-radius, radius, (local.samples, len(middle)))
        candidates = {}
        for unit in np.clip(middle + offsets, 0.0, 1.0):
            point = self.space.from_unit(unit, center)
            key = self.space.key(point)
            if key not in seen:
                candidates.setdefault(key, point)
        points = [p for p, crowded in zip(candidates.values(), self._crowded(list(candidates.values()), pending))
                  if not crowded]
        return self._largest_improvement(optimizer, points) if points else None

    def _largest_improvement(self, optimizer, points: list[list]) -> list:
        """The point of largest expected improvement under the optimiser's latest model (lowest mean if none)."""
        model = optimizer.models[-1]
        mean, std = model.predict(optimizer.space.transform(points), return_std=True)
        improvement = min(optimizer.yi) - mean - _XI
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(std > 0, improvement / std, 0.0)
        expected = np.where(std > 0, improvement * norm.cdf(z) + std * norm.pdf(z), np.maximum(improvement, 0.0))
        index = int(np.argmax(expected)) if np.any(expected > 0) else int(np.argmin(mean))
        return self.space.normalise(points[index])

    def _random_unseen(self, seen: set[str], salt: list[int]) -> tuple[list, str, None] | None:
        size = self.finite_size()
        if size is not None and len(seen) >= size:
            return None
        seed = int(np.random.SeedSequence(salt + [1]).generate_state(1)[0])
        for point in self.space.random_points(_RANDOM_TRIES, seed):
            if self.space.key(point) not in seen:
                return point, RANDOM, None
        return None

    def finite_size(self) -> int | None:
        """Number of distinct points when every dimension is discrete, else None."""
        size = 1
        for dim in self.space.dimensions.values():
            if dim.real is not None:
                return None
            size *= len(dim.categorical) if dim.categorical is not None else dim.integer[1] - dim.integer[0] + 1
        return size if math.isfinite(size) else None

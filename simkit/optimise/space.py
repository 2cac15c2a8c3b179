"""The search space: named dimensions over dotted settings of the fit config, as skopt sees them.

A point is a list with one entry per dimension, in the order of the config:
floats for real, ints for integer, and for categorical the value's JSON text
(so lists such as ``[8, 4, 3]`` can be categories). :meth:`SearchSpace.params`
turns a point into ``{dotted name: value}`` overrides for
:func:`simkit.fitting.registry.with_overrides`.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from simkit.errors import ConfigError
from simkit.fitting.base import FitConfigBase
from simkit.fitting.registry import with_overrides
from simkit.optimise.config import Dimension, category_label

# Settings that define the problem rather than the model: searching them would
# compare candidates on different data, elements or scores.
_FIXED_ROOTS = ("backend", "output_dir", "elements", "data", "seed", "scoring")

# scikit-optimize spells Hammersley without the e.
_GENERATORS = {"hammersley": "hammersly", "halton": "halton", "sobol": "sobol", "lhs": "lhs", "random": "random"}


class SearchSpace:
    """Dimensions by dotted name, in config order."""

    def __init__(self, dimensions: dict[str, Dimension]):
        self.dimensions = dict(dimensions)
        self.names = list(self.dimensions)

    def skopt_dimensions(self) -> list:
        """Fresh skopt dimension objects (skopt's samplers change their transforms in place)."""
        # lazy: scikit-optimize (scikit-learn) takes seconds to import; config validation and workers never need it
        from skopt.space import Categorical, Integer, Real

        made = []
        for name, dim in self.dimensions.items():
            if dim.real is not None:
                made.append(Real(float(dim.real[0]), float(dim.real[1]), prior=dim.prior, name=name))
            elif dim.integer is not None:
                made.append(Integer(int(dim.integer[0]), int(dim.integer[1]), prior=dim.prior, name=name))
            else:
                made.append(Categorical([category_label(v) for v in dim.categorical], name=name))
        return made

    def normalise(self, point) -> list:
        """A point as plain Python values (skopt hands out numpy scalars)."""
        values = []
        for dim, value in zip(self.dimensions.values(), point):
            if dim.real is not None:
                values.append(float(value))
            elif dim.integer is not None:
                values.append(int(value))
            else:
                values.append(str(value))
        return values

    def key(self, point) -> str:
        """Identity of a point, to spot duplicates."""
        return json.dumps(self.normalise(point))

    def params(self, point) -> dict[str, Any]:
        """``{dotted name: value}`` of a point, categorical labels decoded."""
        params = {}
        for (name, dim), value in zip(self.dimensions.items(), self.normalise(point)):
            params[name] = json.loads(value) if dim.categorical is not None else value
        return params

    def contains(self, point) -> bool:
        if len(point) != len(self.names):
            return False
        for dim, value in zip(self.dimensions.values(), point):
            if dim.categorical is not None:
                if value not in [category_label(v) for v in dim.categorical]:
                    return False
            else:
                low, high = dim.real if dim.real is not None else dim.integer
                if not low <= value <= high:
                    return False
        return True

    def random_points(self, count: int, seed: int) -> list[list]:
        # lazy: scikit-optimize (scikit-learn) takes seconds to import; config validation and workers never need it
        from skopt.space import Space

        rng = np.random.RandomState(seed % (2**32))  # skopt's samplers take a RandomState
        return [self.normalise(p) for p in Space(self.skopt_dimensions()).rvs(n_samples=count, random_state=rng)]


def initial_design(space: SearchSpace, count: int, generator: str, seed: int) -> list[list]:
    """``count`` points of the initial design (duplicates, possible with categories, dropped)."""
    # lazy: scikit-optimize (scikit-learn) takes seconds to import; config validation and workers never need it
    from skopt.utils import cook_initial_point_generator

    if generator == "random":
        points = space.random_points(count, seed)
    else:
        sampler = cook_initial_point_generator(_GENERATORS[generator])
        with warnings.catch_warnings():
            # skopt warns when a Sobol/Halton count is not a power of its base; the design is still valid.
            warnings.simplefilter("ignore", UserWarning)
            points = sampler.generate(space.skopt_dimensions(), count, random_state=seed % (2**32))
        points = [space.normalise(p) for p in points]
    unique: dict[str, list] = {}
    for point in points:
        unique.setdefault(space.key(point), point)
    return list(unique.values())


def _test_values(dim: Dimension) -> list[Any]:
    if dim.categorical is not None:
        return list(dim.categorical)
    if dim.integer is not None:
        return [int(dim.integer[0]), int(dim.integer[1])]
    low, high = dim.real
    # A value with a fractional part catches a real range on an integer setting.
    return [float(low), float(high), float(low + 0.377 * (high - low))]


def _fit_message(error: ConfigError) -> str:
    text = str(error)
    marker = " config with overrides: "
    return text.split(marker, 1)[1] if marker in text else text


def check_search_space(space: SearchSpace, fit: FitConfigBase, source: str) -> None:
    """Refuse a search space the fit config cannot take, before anything runs.

    Every dimension is tried at its bounds (and an interior value) and at every
    category, alone and then all together at their first values; an unknown
    setting or a value the backend rejects raises ConfigError naming
    ``search_space.<name>``.
    """
    for name, dim in space.dimensions.items():
        root = name.split(".", 1)[0]
        if root in _FIXED_ROOTS:
            raise ConfigError(
                f"{source}: key 'search_space.{name}': '{root}' defines the problem, not the model, and cannot be "
                f"searched (searchable: the '{fit.backend}' section, weights, reference)"
            )
        for value in _test_values(dim):
            try:
                with_overrides(fit, {name: value})
            except ConfigError as exc:
                hint = ""
                if dim.real is not None and "integer" in str(exc):
                    hint = " (an integer setting: use 'integer: [low, high]' or 'categorical')"
                raise ConfigError(
                    f"{source}: key 'search_space.{name}' = {value!r} is not accepted by the {fit.backend} fit "
                    f"config: {_fit_message(exc)}{hint}"
                ) from exc
    together = {name: _test_values(dim)[0] for name, dim in space.dimensions.items()}
    try:
        with_overrides(fit, together)
    except ConfigError as exc:
        raise ConfigError(
            f"{source}: key 'search_space': the dimensions together ({together}) are not accepted by the "
            f"{fit.backend} fit config: {_fit_message(exc)}"
        ) from exc

"""The search space: named dimensions over dotted settings of the fit config, as skopt sees them.

A point is a list with one entry per dimension, in the order of the config:
floats for real, ints for integer, and for categorical the value's JSON text
(so lists such as ``[8, 4, 3]`` can be categories). :meth:`SearchSpace.params`
turns a point into ``{dotted name: value}`` overrides for
:func:`simkit.fitting.registry.with_overrides`.

``weights.config_types.*.energy`` (``.forces``, ``.virial``) is shorthand for
one dimension per config_type of the training data, in order of first
appearance, each with the range and prior given: :func:`search_space_of`
expands it in place; a key that names a config_type explicitly wins for that
type. The expanded names are what the journal, the table and ``best/`` show.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from simkit.datasets.reader import read_dataset
from simkit.errors import ConfigError
from simkit.fitting.base import FitConfigBase
from simkit.fitting.registry import with_overrides
from simkit.optimise.config import CONFIG_TYPE_WILDCARD, Dimension, OptimiseConfig, category_label

# Settings that define the problem rather than the model: searching them would
# compare candidates on different data, elements or scores.
_FIXED_ROOTS = ("backend", "output_dir", "elements", "data", "seed", "scoring")

# scikit-optimize spells Hammersley without the e.
_GENERATORS = {"hammersley": "hammersly", "halton": "halton", "sobol": "sobol", "lhs": "lhs", "random": "random"}


class SearchSpace:
    """Dimensions by dotted name, in config order."""

    def __init__(self, dimensions: dict[str, Dimension]):
        wildcards = [name for name in dimensions if CONFIG_TYPE_WILDCARD in name]
        if wildcards:
            # A '*' left in would search a config_type literally named '*', which no frame has.
            raise ConfigError(f"key 'search_space.{wildcards[0]}': expand the config_type shorthand first "
                              "(simkit.optimise.space.search_space_of)")
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

    def to_unit(self, point) -> np.ndarray:
        """Real and integer entries of ``point`` mapped onto [0, 1] (log-uniform ones on their log range);
        categorical entries are 0 (a trust region keeps them fixed)."""
        unit = []
        for dim, value in zip(self.dimensions.values(), self.normalise(point)):
            bounds = dim.real if dim.real is not None else dim.integer
            if bounds is None:
                unit.append(0.0)
                continue
            low, high, value = float(bounds[0]), float(bounds[1]), float(value)
            if dim.prior == "log-uniform":
                low, high, value = np.log(low), np.log(high), np.log(value)
            unit.append((value - low) / (high - low))
        return np.clip(np.array(unit), 0.0, 1.0)

    def from_unit(self, unit, like) -> list:
        """The point at ``unit`` (see :meth:`to_unit`), categorical entries taken from ``like``."""
        point = []
        for dim, u, fixed in zip(self.dimensions.values(), np.clip(unit, 0.0, 1.0), self.normalise(like)):
            bounds = dim.real if dim.real is not None else dim.integer
            if bounds is None:
                point.append(fixed)
                continue
            low, high = float(bounds[0]), float(bounds[1])
            if dim.prior == "log-uniform":
                value = float(np.exp(np.log(low) + u * (np.log(high) - np.log(low))))
            else:
                value = low + u * (high - low)
            value = min(max(value, low), high)  # exp/log round-off must not leave the range
            point.append(int(round(value)) if dim.integer is not None else value)
        return point

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
        chooser = fit.chosen_inside_the_fit(name)
        if chooser is not None:
            raise ConfigError(
                f"{source}: key 'search_space.{name}': fit.{chooser}; search them there or here, not both"
            )
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


def expand_config_types(dimensions: dict[str, Dimension], config_types: list[str], source: str) -> dict[str, Dimension]:
    """``dimensions`` with each ``weights.config_types.*.<term>`` replaced, in place, by one dimension per type.

    A type that already has its own key for that term keeps it (wherever it is
    in the config). A config_type whose name holds a '.' cannot be a dotted
    name and is refused, as is training data without any config_type.
    """
    if not config_types:
        raise ConfigError(f"{source}: key 'search_space': the config_type shorthand needs training data with frames")
    dotted = [name for name in config_types if "." in name or not name.strip()]
    expanded: dict[str, Dimension] = {}
    for name, dim in dimensions.items():
        if CONFIG_TYPE_WILDCARD not in name:
            expanded[name] = dim
            continue
        if dotted:
            raise ConfigError(f"{source}: key 'search_space.{name}': config_type {dotted[0]!r} of the training data "
                              "cannot be part of a dotted name; name it without '.' or list its weights explicitly")
        head, term = name.split(f".{CONFIG_TYPE_WILDCARD}.")
        for config_type in config_types:
            own = f"{head}.{config_type}.{term}"
            if own not in dimensions:
                expanded[own] = dim
    return expanded


def training_config_types(fit: FitConfigBase) -> list[str]:
    """The config_types of the fit's training data, in order of first appearance."""
    data = fit.data
    return list(read_dataset(list(data.train), data.keys, format=data.format, name="training data").config_types())


def search_space_of(config: OptimiseConfig, source: str = "config") -> SearchSpace:
    """The run's search space, the config_type shorthand expanded against its training data (read only then)."""
    dimensions = config.search_space
    if any(CONFIG_TYPE_WILDCARD in name for name in dimensions):
        dimensions = expand_config_types(dimensions, training_config_types(config.fit), source)
    return SearchSpace(dimensions)

"""The fitting backends simkit knows; their configs form one tagged union on ``backend``.

Adding a model family: write ``simkit/fitting/<name>.py`` with a config class
(deriving from :class:`~simkit.fitting.base.FitConfigBase`, ``backend:
Literal["<name>"]`` and a ``<name>:`` section of hyperparameters) and a class
implementing :class:`~simkit.fitting.base.Fitter`, then add one line below.
Nothing else (the optimiser, the CLI) changes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, RootModel

from simkit.config.loader import read_yaml, validate_config
from simkit.errors import ConfigError
from simkit.fitting.base import FitConfigBase, Fitter

# backend name -> (module, config class, fitter class)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "snap": ("simkit.fitting.snap", "SnapFitConfig", "SnapFitter"),
    "ace": ("simkit.fitting.ace", "AceFitConfig", "AceFitter"),
}


def _attribute(backend: str, index: int):
    if backend not in BACKENDS:
        raise ConfigError(f"unknown fitting backend {backend!r}; known: {', '.join(BACKENDS)}")
    module = importlib.import_module(BACKENDS[backend][0])
    return getattr(module, BACKENDS[backend][index])


def config_class(backend: str) -> type[FitConfigBase]:
    return _attribute(backend, 1)


def make_fitter(backend: str) -> Fitter:
    """A fresh fitter (fitters may cache per-frame work; never share one between candidates)."""
    return _attribute(backend, 2)()


class FitConfig(RootModel[Annotated[Union[tuple(config_class(name) for name in BACKENDS)], Field(discriminator="backend")]]):
    """Any backend's fit config (``.root`` is the backend's own model); used by load_config and tests."""


def validate_fit_config(data: dict[str, Any], *, source: str, base_dir: Path) -> FitConfigBase:
    """Validate a fit config mapping; the ``backend`` key picks the schema.

    Dispatching here rather than through :class:`FitConfig` keeps error
    locations clean: the union's tag would read like the backend's section key.
    """
    backend = data.get("backend") if isinstance(data, dict) else None
    if backend not in BACKENDS:
        raise ConfigError(f"{source}: key 'backend' = {backend!r}: expected one of {', '.join(BACKENDS)}")
    return validate_config(config_class(backend), data, source=source, base_dir=base_dir)


def load_fit_config(path: str | Path, overrides: dict[str, Any] | None = None) -> FitConfigBase:
    """Read a fit config YAML file; ``overrides`` are dotted keys applied before validation."""
    path = Path(path)
    data = read_yaml(path)
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate_fit_config(data, source=str(path), base_dir=path.resolve().parent)


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``data['a']['b']['c'] = value`` for key 'a.b.c', creating mappings on the way."""
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"override key {key!r} is not a dotted name like 'snap.rcutfac'")
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(f"override {key!r}: '{where}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def with_overrides(config: FitConfigBase, overrides: dict[str, Any]) -> FitConfigBase:
    """A copy of ``config`` with dotted-name overrides (``snap.wj.Si``, ``weights.energy``), re-validated."""
    data = config.model_dump(mode="json", exclude_none=True)
    for key, value in overrides.items():
        set_dotted(data, key, value)
    # Paths were resolved when the config was first read, so they are absolute now.
    return validate_fit_config(data, source=f"{config.backend} config with overrides", base_dir=Path("/"))

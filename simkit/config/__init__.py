"""Configuration: YAML -> validated, typed models (see :mod:`simkit.config.schema`)."""

from simkit.config.loader import (
    deep_merge,
    load_config,
    output_dir_override,
    parse_override,
    read_yaml,
    validate_config,
)
from simkit.config.schema import ExistingFile, PathIn, Schema, resolve_path

__all__ = [
    "ExistingFile",
    "PathIn",
    "Schema",
    "deep_merge",
    "load_config",
    "output_dir_override",
    "parse_override",
    "read_yaml",
    "resolve_path",
    "validate_config",
]

"""Read YAML configs into validated models, with one-line errors naming file and key."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from simkit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

# Configs nest a handful of levels. PyYAML builds documents by recursion, so a file nested
# thousands deep would end in a RecursionError; it is refused from the event stream first.
MAX_NESTING = 64
# Aliases let a few lines expand into billions of values for the validator to walk.
MAX_EXPANDED_VALUES = 100_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, not a {type(key).__name__}", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping from ``path``; syntax errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.object[exc.start]:#04x} at offset {exc.start} "
                          "is not UTF-8); a config is YAML text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    data = _parse(text, str(path))
    if data is None:
        raise ConfigError(f"{path}: config file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _parse(text: str, source: str) -> Any:
    """The YAML document in ``text``; every failure is a one-line ConfigError naming ``source``."""
    try:
        _check_nesting(text, source)
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"{source}: invalid YAML at {where}: {exc.problem or exc.context}") from exc
    except yaml.reader.ReaderError as exc:  # its text spans two lines
        raise ConfigError(f"{source}: invalid YAML at character {exc.position}: {exc.reason}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from exc
    _check_size(data, source)
    return data


def too_deep_at_line(text: str, loader: type, limit: int) -> int | None:
    """The line where YAML ``text`` first nests deeper than ``limit`` mappings/sequences (None: it never does).

    Streaming events keeps libyaml's parser on its own heap stack; stopping at the
    limit also spares its scanner, which slows quadratically in the nesting depth.
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > limit:
                return event.start_mark.line + 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _check_nesting(text: str, source: str) -> None:
    line = too_deep_at_line(text, _StrictLoader, MAX_NESTING)
    if line is not None:
        raise ConfigError(f"{source}: line {line}: nested more than {MAX_NESTING} levels deep; not a simkit config")


def _check_size(data: Any, source: str) -> None:
    """Refuse documents that aliases expand past MAX_EXPANDED_VALUES values or MAX_NESTING levels."""
    sizes: dict[int, int] = {}

    def size(value: Any, depth: int) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        if depth > MAX_NESTING:  # only aliases get here (the text was checked); a recursive one too
            raise ConfigError(f"{source}: aliases nest the document more than {MAX_NESTING} levels deep")
        key = id(value)
        if key not in sizes:
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            sizes[key] = 1 + sum(size(child, depth + 1) for child in children)
            if sizes[key] > MAX_EXPANDED_VALUES:
                raise ConfigError(f"{source}: aliases expand the document to more than {MAX_EXPANDED_VALUES} values")
        return sizes[key]

    size(data, 1)


def parse_override(text: str) -> tuple[str, Any]:
    """Split a command-line ``KEY=VALUE`` override; the value is read as YAML (``8``, ``[Cu, Ni]``)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE (e.g. snap.rcutfac=4.6)")
    try:
        _check_nesting(value, f"--set {key}")
        return key, yaml.load(value, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"--set {key}: value {value!r} is not valid YAML: {problem}") from exc


def _format_location(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts) or "<top level>"


def _is_union_tag(current: Any, loc: tuple, position: int) -> bool:
    """A tag value (``kind: vacancies``) that is followed by a key of the same mapping."""
    if not isinstance(current, dict) or position + 1 >= len(loc):
        return False
    item = loc[position]
    tags = [value for value in current.values() if isinstance(value, str)]
    return item in tags and loc[position + 1] in current


def _clean_location(loc: tuple, data: Any) -> tuple:
    """Keep only the parts of pydantic's location that are real YAML keys or indices.

    Tagged unions insert the tag value (``stages[0].nvt.duration_ps``) and function
    validators insert their names; walking the input data drops both.
    """
    kept: list[Any] = []
    current: Any = data
    last = len(loc) - 1
    for position, item in enumerate(loc):
        if _is_union_tag(current, loc, position):
            continue
        is_key = isinstance(current, dict) and item in current
        is_index = isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current)
        if is_key or is_index:
            current = current[item]
        elif isinstance(current, (dict, list)) and position != last:
            continue  # not in the data: a union tag or a validator name
        # The last item is kept even when absent: it may be the missing key itself.
        kept.append(item)
    return tuple(kept)


def format_validation_error(error: ValidationError, source: str, data: Any = None) -> str:
    """Turn pydantic's report into one line: ``source: key 'a.b[2]' = value: expected``."""
    problems = []
    for item in error.errors(include_url=False):
        loc = _format_location(_clean_location(item["loc"], data))
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{loc}'")
            continue
        if item["type"] == "missing":
            problems.append(f"missing required key '{loc}'")
            continue
        value = item.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        message = message.removeprefix("Value error, ")
        problems.append(f"key '{loc}' = {shown}: {message}")
    head = problems[0]
    if len(problems) > 1:
        head += f" (and {len(problems) - 1} more: " + "; ".join(problems[1:4])
        head += "; ...)" if len(problems) > 4 else ")"
    return f"{source}: {head}"


def validate_config(model: type[M], data: dict[str, Any], *, source: str, base_dir: Path) -> M:
    """Validate ``data`` against ``model``; paths resolve relative to ``base_dir``."""
    try:
        return model.model_validate(data, context={"base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, data)) from exc


def load_config(model: type[M], path: str | Path, overrides: dict[str, Any] | None = None) -> M:
    """Read ``path`` and validate it against ``model``.

    ``overrides`` are merged (deeply) over the file's content before validation,
    so a CLI flag and a YAML key go through the same checks.
    """
    path = Path(path)
    data = read_yaml(path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate_config(model, data, source=str(path), base_dir=path.resolve().parent)


def output_dir_override(output_dir: str | Path | None) -> dict[str, Any] | None:
    """The overrides of a command's ``-o/--output-dir`` flag (resolved here: the config's own paths are
    relative to the config file, the flag's to the working directory)."""
    return {"output_dir": str(Path(output_dir).resolve())} if output_dir else None


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``update`` merged in recursively (mappings merge, the rest replaces)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged

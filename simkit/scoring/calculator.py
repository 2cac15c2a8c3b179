"""An ASE calculator from a potential named the way simkit's configs and CLI name one.

The calculator itself lives with the LAMMPS session
(:mod:`simkit.lammps.ase_calculator`); this module only adds the ways of naming
a potential that live on this floor: a spec mapping as written under
``potential:`` in any simkit config (or the two-part ``{model, reference}``
form of a fit's ``potential.yaml``), a potential YAML file, or a model file
whose name tells its kind (``.snapcoeff``, ``.yace``, ``.eam.alloy``, ``.eam.fs``;
``lammps:NAME`` for files shipped with LAMMPS).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simkit.fitting.deployed import build_deployed
from simkit.lammps.ase_calculator import SimkitCalculator
from simkit.lammps.potentials.base import Potential
from simkit.scoring.potential_files import load_potential


def potential_calculator(
    source: Potential | Mapping[str, Any] | str | Path,
    *,
    param: str | Path | None = None,
    base_dir: Path = Path("."),
    comm=None,
    **kwargs,
) -> SimkitCalculator:
    """A :class:`SimkitCalculator` for ``source``.

    ``source``: a Potential; a spec mapping (``{kind: snap, coeff: ..., param: ...,
    zbl: {...}}``), its relative paths taken from ``base_dir``; or a path to a
    potential YAML or a model file (``param``: SNAP's param file when it is not
    the coeff file's namesake). ``comm`` and ``kwargs`` go to the calculator.
    """
    if isinstance(source, Mapping):
        potential = build_deployed(dict(source), source="potential spec", base_dir=Path(base_dir))
    elif isinstance(source, (str, Path)):
        potential = load_potential(source, param=param, base_dir=Path(base_dir))
    else:
        potential = source
    return SimkitCalculator(potential, comm=comm, **kwargs)

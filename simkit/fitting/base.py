"""What every fitting backend shares: the common config, the Fitter interface, its output.

A fit config is one YAML document. The keys every backend understands live in
:class:`FitConfigBase`; a backend adds ``backend: <name>`` and one section
named after itself holding every tunable setting (``snap: {...}``,
``ace: {...}``), so the optimiser can override any of them by dotted name
(``snap.rcutfac``, ``snap.wj.Si``, ``weights.energy``) and re-validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union, runtime_checkable

from ase.data import atomic_numbers
from pydantic import Field, field_validator, model_validator

from simkit.config.schema import PathIn, Schema
from simkit.datasets.frames import Dataset
from simkit.datasets.spec import DataSpec, Weights
from simkit.fitting.deployed import build_deployed
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import ZblPotential
from simkit.lammps.potentials.specs import LammpsSpec, ZblSpec
from simkit.scoring.metrics import ForceLoss


class ZblReference(ZblSpec):
    """ZBL repulsion as the reference pair style (nuclear charges from the element names)."""

    kind: Literal["zbl"]

    def build(self) -> Potential:
        return ZblPotential(self.inner_A, self.outer_A)


# A reference pair style is subtracted from the labels before the fit and
# overlaid on the fitted model when it is deployed (hybrid/overlay).
ReferenceSpec = Annotated[Union[ZblReference, LammpsSpec], Field(discriminator="kind")]


class ScoringSpec(Schema):
    """How candidates are scored (always by evaluating the deployed file in LAMMPS)."""

    alpha: float = Field(
        default=0.5, ge=0, le=1,
        description="L = alpha * L_E + (1 - alpha) * L_F (meV and meV/Å)",
    )
    force_loss: ForceLoss = Field(
        default="vector",
        description="L_F: RMSE of the force vectors (vector) or of the 3N force components (component, XPOT's "
        "convention; see simkit.scoring.metrics)",
    )
    parity_plot: bool = Field(default=True, description="write parity.png of the validation predictions")


class FitConfigBase(Schema):
    """Keys common to every backend (see the backend's section for the rest)."""

    backend: str
    output_dir: PathIn
    seed: int = Field(default=0, ge=0, description="drives the validation split and the fitter's own randomness")
    elements: list[str] = Field(min_length=1, description="model elements; their order is the LAMMPS type order")
    data: DataSpec
    weights: Weights = Field(default_factory=Weights)
    reference: ReferenceSpec | None = None
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)

    @field_validator("elements")
    @classmethod
    def _unique_elements(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"elements must be unique, got {value}")
        unknown = [el for el in value if el not in atomic_numbers]
        if unknown:
            raise ValueError(f"not chemical elements: {unknown}")
        return value

    @model_validator(mode="after")
    def _something_to_fit(self) -> "FitConfigBase":
        w = self.weights
        values = [w.energy, w.forces, w.virial]
        values += [v for t in w.config_types.values() for v in (t.energy, t.forces, t.virial) if v is not None]
        if not any(values):
            raise ValueError("weights are all 0: nothing would be fitted")
        return self

    def chosen_inside_the_fit(self, key: str) -> str | None:
        """What chooses the setting ``key`` inside each fit (so an optimiser must not also search it), said as
        '<setting> chooses ...'; None when the fit takes ``key`` as given."""
        return None

    def reference_potential(self) -> Potential | None:
        return None if self.reference is None else self.reference.build()


def per_element(value: dict[str, float] | None, elements: list[str], default: float, key: str) -> dict[str, float]:
    """Fill a per-element mapping with ``default`` and refuse elements the model does not have."""
    value = dict(value or {})
    unknown = sorted(set(value) - set(elements))
    if unknown:
        raise ValueError(f"{key} names element(s) {unknown} that are not in elements {elements}")
    return {el: float(value.get(el, default)) for el in elements}


@dataclass
class FittedModel:
    """What a fitter leaves behind in its work directory: a deployable potential (picklable)."""

    backend: str
    spec: dict[str, Any]  # see simkit.fitting.deployed: a PotentialSpec mapping, or {model, reference}
    files: list[Path]
    timings_s: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # the fitter's own numbers, never used for scoring

    def build(self) -> Potential:
        return build_deployed(self.spec)


@runtime_checkable
class Fitter(Protocol):
    """One model family. A new family is a module with a config class, a Fitter and one registry line.

    ``fit`` trains on ``train`` with the hyperparameters in ``config`` and writes
    the deployable files into ``workdir`` (exclusive to this fit). ``comm`` is
    the MPI communicator LAMMPS may use (None: this process alone); ``cores``
    is the number of CPU threads the fit may occupy (BLAS for SNAP, TensorFlow
    for ACE). ``validation`` holds the frames the candidate will be scored on
    (None for a final fit on all data): a fitter may use them to choose a
    setting its config asks it to choose (``snap.weight_search``), never to
    report a score. Identical inputs, seed included, give identical files.
    """

    name: ClassVar[str]

    def fit(self, config: Any, train: Dataset, workdir: Path, *, comm=None, cores: int = 1,
            validation: Dataset | None = None) -> FittedModel:
        ...

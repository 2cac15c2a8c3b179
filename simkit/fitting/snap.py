"""SNAP backend: descriptors from LAMMPS's ``compute snap``, a weighted least-squares fit,
and ``.snapcoeff``/``.snapparam`` files that plain ``pair_style snap`` reads.

The linear system has, per training frame, one energy row (divided by the
atom count, or its square root with ``energy_rows: per_sqrt_atom``, as in the
thesis loss L_E), three force rows per atom, and six virial rows (divided by
the atom count) for frames with a virial when ``weights.virial`` > 0. Each
row is multiplied by its config_type's weight. A reference pair style's
energy, forces and virial (read from ``compute snap``'s last column) are
subtracted from the labels first and overlaid again when the model is deployed.

With the default ``energy_rows: per_atom`` the rows are FitSNAP's (and so
those XPOT's SNAP searches weight): FitSNAP's energy row of a configuration
is its summed descriptors over N against (E - E_ref) / N, weighted by its
group's ``eweight``, and its force rows F - F_ref are weighted by ``fweight``;
``weights.config_types.<type>.energy`` / ``.forces`` are those two numbers
(tests/fitting/test_snap_conventions.py). FitSNAP's SVD truncates at 1e-13 of
the largest singular value of the unscaled weighted matrix; simkit scales the
columns first (see :mod:`simkit.fitting.linear`). Either way only the ratios
of the weights matter: scaling all of them by one factor gives the same fit.
With ``snap.weight_search`` the per-config_type energy and force weights are
chosen by re-solves against the validation loss at this fit's descriptors
(:mod:`simkit.fitting.snap_weights`), so an optimiser need not search them.

Example config section::

    backend: snap
    snap:
      twojmax: 6
      rcutfac: 4.8
      radelem: {Si: 0.5}
      wj: {Si: 1.0}
      quadratic: false
      solver: {kind: svd, rcond: 1.0e-10}
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator
from threadpoolctl import threadpool_limits

from simkit.config.schema import GrowingSchema, Schema
from simkit.datasets.frames import Dataset, Frame
from simkit.fitting.base import FitConfigBase, FittedModel, per_element
from simkit.fitting.deployed import deployed_spec
from simkit.fitting.linear import SolverSpec, SvdSolver, solve_weighted
from simkit.fitting.snap_rows import LinearSystem, assemble_system
from simkit.fitting.snap_weights import WeightSearch, search_weights
from simkit.lammps.potentials.snap import SnapElement, SnapModel
from simkit.lammps.snap_descriptors import DescriptorRows, SnapDescriptorSettings, descriptor_rows
from simkit.runtime.mpi import on_root

log = logging.getLogger(__name__)

COEFF_FILE = "snap.snapcoeff"
PARAM_FILE = "snap.snapparam"


class InnerSwitch(Schema):
    """Switch neighbour contributions off below ``sinner_A`` +- ``dinner_A`` (per element, Å)."""

    sinner_A: dict[str, float]
    dinner_A: dict[str, float]


class SnapSettings(GrowingSchema):
    """Every tunable SNAP setting (LAMMPS ``pair_style snap`` names where they exist)."""

    ADDED_KEYS = {"weight_search": None}

    twojmax: int = Field(default=6, ge=0, le=14, description="band limit of the bispectrum")
    rcutfac: float = Field(default=4.8, gt=0, description="cutoff = rcutfac * (radelem_i + radelem_j), Å")
    rfac0: float = Field(default=0.99363, gt=0, lt=1)
    rmin0: float = Field(default=0.0, ge=0)
    radelem: dict[str, float] = Field(default_factory=dict, description="per element; default 0.5")
    wj: dict[str, float] = Field(default_factory=dict, description="neighbour weight per element; default 1.0")
    switchflag: bool = True
    bzeroflag: bool = Field(default=True, description="subtract the isolated-atom bispectrum")
    quadratic: bool = Field(default=False, description="quadratic SNAP (quadraticflag 1)")
    chemflag: bool = Field(default=False, description="explicit multi-element bispectrum (chem)")
    bnormflag: bool | None = Field(default=None, description="default: same as chemflag")
    wselfallflag: bool = False
    inner_switch: InnerSwitch | None = None
    energy_rows: Literal["per_atom", "per_sqrt_atom"] = "per_atom"
    solver: SolverSpec = Field(default_factory=lambda: SvdSolver(kind="svd"))
    weight_search: WeightSearch | None = Field(
        default=None, description="choose the per-config_type energy/force weights by re-solves on the validation "
        "set (simkit.fitting.snap_weights)")


class SnapFitConfig(FitConfigBase):
    backend: Literal["snap"]
    snap: SnapSettings = Field(default_factory=SnapSettings)

    @model_validator(mode="after")
    def _fill_per_element(self) -> "SnapFitConfig":
        snap = self.snap
        radelem = per_element(snap.radelem, self.elements, 0.5, "snap.radelem")
        wj = per_element(snap.wj, self.elements, 1.0, "snap.wj")
        for key, values in (("snap.radelem", radelem), ("snap.wj", wj)):
            bad = {el: v for el, v in values.items() if v <= 0}
            if bad:
                raise ValueError(f"{key} must be positive, got {bad}")
        if snap.radelem != radelem:
            snap.radelem = radelem
        if snap.wj != wj:
            snap.wj = wj
        if snap.weight_search is not None and self.data.validation.kind == "kfold":
            raise ValueError("snap.weight_search chooses weights on one validation set: give data.validation kind "
                             "'file' or 'holdout', not 'kfold'")
        if snap.inner_switch is not None:
            for key in ("sinner_A", "dinner_A"):
                values = getattr(snap.inner_switch, key)
                missing = [el for el in self.elements if el not in values]
                if missing or set(values) - set(self.elements):
                    raise ValueError(f"snap.inner_switch.{key} needs exactly the elements {self.elements}")
        return self

    def chosen_inside_the_fit(self, key: str) -> str | None:
        # virial weights stay as configured by the weight search, so they stay searchable
        if (self.snap.weight_search is not None and key.split(".", 1)[0] == "weights"
                and not key.startswith("weights.virial") and not key.endswith(".virial")):
            return "snap.weight_search chooses the energy and force weights inside each fit"
        return None


def descriptor_settings(config: SnapFitConfig) -> SnapDescriptorSettings:
    snap, elements = config.snap, config.elements
    inner = snap.inner_switch
    return SnapDescriptorSettings(
        elements=tuple(elements),
        rcutfac=snap.rcutfac,
        twojmax=snap.twojmax,
        radelem=tuple(snap.radelem[el] for el in elements),
        wj=tuple(snap.wj[el] for el in elements),
        rfac0=snap.rfac0,
        rmin0=snap.rmin0,
        switchflag=snap.switchflag,
        bzeroflag=snap.bzeroflag,
        quadraticflag=snap.quadratic,
        chemflag=snap.chemflag,
        bnormflag=snap.chemflag if snap.bnormflag is None else snap.bnormflag,
        wselfallflag=snap.wselfallflag,
        sinner_A=None if inner is None else tuple(inner.sinner_A[el] for el in elements),
        dinner_A=None if inner is None else tuple(inner.dinner_A[el] for el in elements),
    )


def snap_model(settings: SnapDescriptorSettings, coefficients: np.ndarray) -> SnapModel:
    """Split stacked coefficients into per-element blocks (beta_0 first), as .snapcoeff stores them."""
    per = settings.n_coefficients
    elements = [
        SnapElement(name, settings.radelem[k], settings.wj[k], np.asarray(coefficients[k * per : (k + 1) * per]))
        for k, name in enumerate(settings.elements)
    ]
    return SnapModel(params=settings.snapparam(), elements=elements)


class SnapFitter:
    """Fits SNAP; descriptors of a frame are computed once per fitter (k folds reuse them)."""

    name: ClassVar[str] = "snap"

    def __init__(self) -> None:
        # (id(frame), settings, reference) -> (frame, rows); holding the frame keeps its id unique.
        self._rows: dict[tuple, tuple[Frame, DescriptorRows]] = {}

    def rows(self, frames: list[Frame], settings: SnapDescriptorSettings, reference_key: str, reference, comm):
        """Descriptor rows of ``frames``, computed in LAMMPS on ``comm`` unless already known."""

        def key(frame: Frame) -> tuple:
            return (id(frame), settings, reference_key)

        missing = [f for f in frames if key(f) not in self._rows]
        if missing:
            computed = descriptor_rows(
                [f.atoms for f in missing], settings, reference, comm=comm, labels=[f.source for f in missing]
            )
            for frame, row in zip(missing, computed):
                self._rows[key(frame)] = (frame, row)
        return [self._rows[key(f)][1] for f in frames]

    def fit(self, config: SnapFitConfig, train: Dataset, workdir: Path, *, comm=None, cores: int = 1,
            validation: Dataset | None = None) -> FittedModel:
        workdir = Path(workdir).resolve()
        settings = descriptor_settings(config)
        reference = config.reference_potential()
        reference_key = "" if config.reference is None else config.reference.model_dump_json()
        start = time.perf_counter()
        rows = self.rows(train.frames, settings, reference_key, reference, comm)
        searched = None
        if config.snap.weight_search is not None:
            if validation is None or not len(validation):
                raise ValueError("snap.weight_search needs the validation frames (data.validation kind file or "
                                 "holdout)")
            checked = self.rows(validation.frames, settings, reference_key, reference, comm)
        descriptors_s = time.perf_counter() - start

        start = time.perf_counter()
        weights = config.weights
        if config.snap.weight_search is not None:
            searched = on_root(comm, lambda: self._search(config, train, rows, validation, checked, cores))
            weights = searched.weights
        system = assemble_system(train.frames, rows, weights, config.snap.energy_rows)
        solution = on_root(comm, lambda: _solve(system, config.snap.solver, cores))
        solve_s = time.perf_counter() - start

        model = snap_model(settings, solution.coefficients)
        header = f"fitted by simkit (SNAP, {len(train)} frames, {train.n_atoms} atoms)"
        on_root(comm, lambda: model.write(workdir / COEFF_FILE, workdir / PARAM_FILE, header=header))
        residual = system.matrix @ solution.coefficients - system.target
        info = {
            "n_coefficients_per_element": settings.n_coefficients,
            "n_rows": int(system.matrix.shape[0]),
            "rank": solution.rank,
            "condition_number": solution.condition_number,
            "train_rmse_energy_rows": _rms(residual[system.kind == 0]),
            "train_rmse_force_rows_eV_per_A": _rms(residual[system.kind == 1]),
        }
        if searched is not None:
            info["weight_search"] = searched.describe()
        log.info(
            "SNAP fit: %d rows x %d columns, rank %d, cond %.3g", system.matrix.shape[0],
            system.matrix.shape[1], solution.rank, solution.condition_number,
        )
        spec = deployed_spec(
            {"kind": "snap", "coeff": str(workdir / COEFF_FILE), "param": str(workdir / PARAM_FILE)}, config.reference
        )
        return FittedModel(
            backend=self.name,
            spec=spec,
            files=[workdir / COEFF_FILE, workdir / PARAM_FILE],
            timings_s={"descriptors_s": descriptors_s, "solve_s": solve_s},
            info=info,
        )


    @staticmethod
    def _search(config: SnapFitConfig, train: Dataset, rows, validation: Dataset, checked, cores: int):
        with threadpool_limits(limits=max(1, int(cores))):
            return search_weights(
                train.frames, rows, validation.frames, checked, weights=config.weights,
                energy_rows=config.snap.energy_rows, solver=config.snap.solver, settings=config.snap.weight_search,
                alpha=config.scoring.alpha, force_loss=config.scoring.force_loss, seed=config.seed,
            )


def _rms(values: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean(values**2))) if values.size else None


def _solve(system: LinearSystem, solver, cores: int):
    # BLAS would otherwise take every core, starving concurrent candidates.
    with threadpool_limits(limits=max(1, int(cores))):
        return solve_weighted(system.matrix, system.target, system.weights, solver)

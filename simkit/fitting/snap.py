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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator
from threadpoolctl import threadpool_limits

from simkit.config.schema import Schema
from simkit.datasets.frames import Dataset, Frame
from simkit.datasets.reader import voigt_from_tensor
from simkit.datasets.spec import Weights
from simkit.fitting.base import FitConfigBase, FittedModel, per_element
from simkit.fitting.deployed import deployed_spec
from simkit.fitting.linear import SolverSpec, SvdSolver, solve_weighted
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


class SnapSettings(Schema):
    """Every tunable SNAP setting (LAMMPS ``pair_style snap`` names where they exist)."""

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
        if snap.inner_switch is not None:
            for key in ("sinner_A", "dinner_A"):
                values = getattr(snap.inner_switch, key)
                missing = [el for el in self.elements if el not in values]
                if missing or set(values) - set(self.elements):
                    raise ValueError(f"snap.inner_switch.{key} needs exactly the elements {self.elements}")
        return self


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


@dataclass
class LinearSystem:
    matrix: np.ndarray  # (rows, columns)
    target: np.ndarray
    weights: np.ndarray
    kind: np.ndarray  # 0 energy, 1 force, 2 virial (per row)


def assemble_system(
    frames: list[Frame], rows: list[DescriptorRows], weights: Weights, energy_rows: str = "per_atom"
) -> LinearSystem:
    """Stack every frame's weighted rows; rows with weight 0 are left out."""
    blocks, targets, row_weights, kinds = [], [], [], []
    for frame, r in zip(frames, rows):
        n = frame.n_atoms
        w_energy, w_forces, w_virial = weights.for_config_type(frame.config_type)
        scale = float(n) if energy_rows == "per_atom" else float(np.sqrt(n))
        if w_energy > 0:
            blocks.append(r.energy[None, :] / scale)
            targets.append([(frame.energy_eV - r.reference_energy_eV) / scale])
            row_weights.append([w_energy])
            kinds.append([0])
        if w_forces > 0:
            blocks.append(r.forces.reshape(3 * n, -1))
            targets.append((frame.forces_eV_per_A - r.reference_forces_eV_per_A).ravel())
            row_weights.append(np.full(3 * n, w_forces))
            kinds.append(np.ones(3 * n, dtype=int))
        if w_virial > 0 and frame.virial_eV is not None:
            blocks.append(r.virial / n)
            targets.append((voigt_from_tensor(frame.virial_eV) - r.reference_virial_eV) / n)
            row_weights.append(np.full(6, w_virial))
            kinds.append(np.full(6, 2))
    if not blocks:
        raise ValueError("no rows with non-zero weight")
    return LinearSystem(
        matrix=np.vstack(blocks),
        target=np.concatenate([np.asarray(t, dtype=float) for t in targets]),
        weights=np.concatenate([np.asarray(w, dtype=float) for w in row_weights]),
        kind=np.concatenate([np.asarray(k, dtype=int) for k in kinds]),
    )


def linear_predictions(rows: DescriptorRows, coefficients: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(energy eV, forces eV/Å (N, 3), virial eV (6,)) of the linear model plus the reference."""
    return (
        float(rows.energy @ coefficients + rows.reference_energy_eV),
        rows.forces @ coefficients + rows.reference_forces_eV_per_A,
        rows.virial @ coefficients + rows.reference_virial_eV,
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

    def fit(self, config: SnapFitConfig, train: Dataset, workdir: Path, *, comm=None, cores: int = 1) -> FittedModel:
        workdir = Path(workdir).resolve()
        settings = descriptor_settings(config)
        reference = config.reference_potential()
        reference_key = "" if config.reference is None else config.reference.model_dump_json()
        start = time.perf_counter()
        rows = self.rows(train.frames, settings, reference_key, reference, comm)
        descriptors_s = time.perf_counter() - start

        start = time.perf_counter()
        system = assemble_system(train.frames, rows, config.weights, config.snap.energy_rows)
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


def _rms(values: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean(values**2))) if values.size else None


def _solve(system: LinearSystem, solver, cores: int):
    # BLAS would otherwise take every core, starving concurrent candidates.
    with threadpool_limits(limits=max(1, int(cores))):
        return solve_weighted(system.matrix, system.target, system.weights, solver)

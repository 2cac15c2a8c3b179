"""Crystalline grains per frame: how many, how large, and how many are new (nucleation events).

The rules, in order (options in :class:`simkit.analysis.options.GrainOptions`):

1. **Crystal-like atoms** are those of the crystallinity analysis
   (:class:`simkit.analysis.crystallinity.CrystallinityModel`): ten Wolde's
   solid-like bonds (``bond_order``, the default here, fast) or the SOAP
   similarity to a reference crystal (``soap``). With ``bond_order`` one
   Steinhardt evaluation gives both these atoms and their orientations.
2. **Orientation** of an atom is its normalised Steinhardt vector q̂_lm
   (l = ``q_degree``, the ``q_neighbours`` nearest neighbours within the
   bond-order cutoff; :func:`simkit.analysis.steinhardt.bond_order`). Two
   crystal-like atoms closer than ``link_cutoff_A`` (default: the bond-order
   cutoff, between the reference crystal's first and second shells) are
   linked when their coherence ``Re Σ_m q̂_lm(i) q̂_lm(j)*`` exceeds
   ``orientation_threshold``. Grains are the connected components of these
   links. Orientation, not geometry, separates grains: two touching crystals
   of the same orientation are one grain; two crystals of different
   orientation touching are two, and so are two of the same orientation kept
   apart by atoms that are not crystal-like (amorphous, or a boundary between
   shifted lattices) over more than ``link_cutoff_A``. Coherence depends on
   the relative rotation only up to the crystal's symmetry (a 90° turn of a
   cubic crystal is the same grain). Linking is single-linkage, so a lower
   ``orientation_threshold`` lets boundary atoms of mixed orientation bridge
   two grains: in a Cu polycrystal at 300 K, 0.7 joined two grains of
   coherence 0.17, 0.8 (the default) kept them apart, and 0.9 began to break
   grains into fragments. Check it on the material at hand.
3. Connected clusters smaller than ``min_grain_atoms`` are **sub-critical
   clusters**, not grains (a lone crystal-like atom is a cluster of one).
4. **Size**: atoms per grain and the equivalent spherical diameter
   d = (6 N / (π ρ))^(1/3), with ρ the frame's number density (atoms / cell
   volume) unless ``number_density_per_A3`` gives the crystal's; the result
   records which (``density_source``).
5. **Nucleation events**: a grain of at least ``critical_nucleus_atoms``
   atoms (default ``min_grain_atoms``) in which fewer than half the atoms
   belonged to any grain in the previous analysed frame (atoms are matched by
   index: H5MD and extended XYZ keep the atom order). The first selected
   frame has no predecessor, so it has no events. Frames should be close
   enough that a grain does not more than double between them, or its
   growth counts as a nucleation.
6. Per frame: grains, sub-critical clusters, crystal-like atoms, atoms in
   grains, the largest grain, mean and median diameter, nucleation events, a
   diameter histogram on fixed bins, and each grain's size; per-atom grain ids
   (-1: none) when ``per_atom_ids`` asks, by default when frames x atoms is at
   most :data:`simkit.analysis.crystallinity.PER_ATOM_LIMIT` (5e7, as the
   crystallinity analysis's per-atom scores).
7. Grain ids are per frame, ordered by each grain's lowest atom index, so any
   run gives the same ids; they do not follow a grain from frame to frame.

Splitting frames (e.g. over MPI ranks): ``analyse_grains(..., frames=block)``
for contiguous blocks of the selected frames, then
:meth:`GrainResult.merge` of the parts in order, equals the serial run
exactly: a block not starting at the first selected frame also analyses the
selected frame before it, only to know which atoms were in grains there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from simkit.analysis.crystallinity import CrystallinityModel, keep_per_atom
from simkit.analysis.frames import iterate_frames
from simkit.analysis.grain_result import GrainResult
from simkit.analysis.neighbors import neighbour_list
from simkit.analysis.options import GrainOptions
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory

__all__ = ["FrameGrains", "GrainFinder", "GrainResult", "analyse_grains", "grains_of_frames", "label_grains",
           "nucleation_events"]

log = logging.getLogger(__name__)

# Pairs whose coherence is evaluated at once: the gathered (pairs, 2l+1) complex arrays stay ~100 MB each (l = 6).
_PAIR_CHUNK = 1 << 19


@dataclass(frozen=True)
class FrameGrains:
    """The grains of one frame."""

    grain_id: np.ndarray  # (N,) int32: grain of each atom, -1 for none
    sizes: np.ndarray  # (G,) atoms per grain, in id order
    subcritical: int  # connected clusters of crystal-like atoms below min_grain_atoms
    crystal_like: int  # crystal-like atoms


def orientation_coherence(unit_qlm: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``Re Σ_m q̂_lm(i) q̂_lm(j)*`` for each pair (i, j)."""
    coherence = np.empty(len(i))
    for start in range(0, len(i), _PAIR_CHUNK):
        stop = start + _PAIR_CHUNK
        coherence[start:stop] = np.real(np.sum(unit_qlm[i[start:stop]] * np.conj(unit_qlm[j[start:stop]]), axis=1))
    return coherence


def label_grains(positions: np.ndarray, cell: np.ndarray, pbc, crystal_like: np.ndarray, unit_qlm: np.ndarray, *,
                 link_cutoff_A: float, orientation_threshold: float, min_grain_atoms: int) -> FrameGrains:
    """Grains of one frame: connected components of coherently oriented crystal-like neighbours (rules 2, 3, 7)."""
    natoms = len(positions)
    members = np.flatnonzero(crystal_like)  # ascending atom indices
    grain_id = np.full(natoms, -1, dtype=np.int32)
    if len(members) == 0:
        return FrameGrains(grain_id, np.zeros(0, dtype=np.int64), 0, 0)
    pairs = neighbour_list(positions[members], cell, pbc, link_cutoff_A)
    linked = orientation_coherence(unit_qlm[members], pairs.i, pairs.j) > orientation_threshold
    graph = coo_matrix((np.ones(int(linked.sum()), dtype=np.int32), (pairs.i[linked], pairs.j[linked])),
                       shape=(len(members), len(members)))
    count, component = connected_components(graph, directed=False)
    sizes = np.bincount(component, minlength=count)
    # members ascend, so a component's first position is its lowest atom index: order components by it.
    _, first = np.unique(component, return_index=True)
    by_lowest_atom = np.argsort(first, kind="stable")
    grains = by_lowest_atom[sizes[by_lowest_atom] >= min_grain_atoms]
    renumber = np.full(count, -1, dtype=np.int32)
    renumber[grains] = np.arange(len(grains), dtype=np.int32)
    grain_id[members] = renumber[component]
    return FrameGrains(grain_id, sizes[grains].astype(np.int64), int(np.sum(sizes < min_grain_atoms)), len(members))


def nucleation_events(grains: FrameGrains, previous: FrameGrains | None, critical_atoms: int) -> int:
    """Grains of at least ``critical_atoms`` atoms, fewer than half of them in a grain before (rule 5)."""
    if previous is None:
        return 0
    if len(previous.grain_id) != len(grains.grain_id):
        raise InputDataError(f"grain tracking needs the same atoms in every frame: {len(previous.grain_id)} atoms, "
                             f"then {len(grains.grain_id)}")
    inside = grains.grain_id >= 0
    were_in_grains = np.bincount(grains.grain_id[inside], weights=(previous.grain_id[inside] >= 0).astype(float),
                                 minlength=len(grains.sizes))
    return int(np.sum((grains.sizes >= critical_atoms) & (were_in_grains < 0.5 * grains.sizes)))


class GrainFinder:
    """Crystal-like atoms (the crystallinity model) and their orientation, per frame, for the grain options."""

    def __init__(self, options: GrainOptions, species_numbers: Iterable[int]):
        self.options = options
        species_numbers = list(species_numbers)
        crystal_options = options.crystallinity_options()
        self.model = CrystallinityModel(crystal_options, species_numbers)
        if crystal_options.method == "bond_order":
            self.orientation: BondOrderCriterion = self.model.criterion
        else:  # the same Steinhardt vectors the bond_order method would use
            bond_options = crystal_options.model_copy(update={"method": "bond_order"})
            self.orientation = CrystallinityModel(bond_options, species_numbers, self.model.reference).criterion
        link = options.link_cutoff_A
        self.link_cutoff_A = self.orientation.cutoff_A if link is None else link

    def crystal_and_orientation(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(crystal-like mask, normalised q_lm) of every atom."""
        if self.options.method == "bond_order":
            # One evaluation of the model's own criterion gives both: its crystal_like is exactly what
            # CrystallinityModel.per_atom returns, and evaluating that as well would double the cost.
            result = bond_order(frame.positions_A, frame.cell_A, frame.pbc, self.model.criterion)
            return result.crystal_like, result.normalised_qlm
        _, crystal_like = self.model.per_atom(frame.positions_A, frame.cell_A, frame.pbc, frame.numbers)
        return crystal_like, bond_order(frame.positions_A, frame.cell_A, frame.pbc, self.orientation).normalised_qlm

    def grains(self, frame: Frame) -> FrameGrains:
        crystal_like, unit_qlm = self.crystal_and_orientation(frame)
        return label_grains(frame.positions_A, frame.cell_A, frame.pbc, crystal_like, unit_qlm,
                            link_cutoff_A=self.link_cutoff_A, orientation_threshold=self.options.orientation_threshold,
                            min_grain_atoms=self.options.min_grain_atoms)

    def number_density(self, frame: Frame) -> float:
        """Atoms per Å^3 for equivalent diameters (rule 4)."""
        if self.options.number_density_per_A3 is not None:
            return self.options.number_density_per_A3
        volume = abs(float(np.linalg.det(frame.cell_A)))
        if volume < 1e-9:
            raise InputDataError(f"frame {frame.index} has no cell volume to give a number density: "
                                 "set number_density_per_A3")
        return len(frame.positions_A) / volume


def grains_of_frames(frames: Iterable[Frame], finder: GrainFinder, *, keep_per_atom: bool,
                     seed: Frame | None = None) -> GrainResult:
    """Grains of each frame; ``seed``, the frame analysed before these (if any), only sets up nucleation tracking."""
    options = finder.options
    previous = finder.grains(seed) if seed is not None else None
    bins = int(np.ceil(options.diameter_max_nm / options.diameter_bin_nm - 1e-9))
    edges = np.arange(bins + 1) * options.diameter_bin_nm  # from 0, covering diameter_max_nm
    rows: dict[str, list] = {key: [] for key in ("index", "step", "time", "subcritical", "crystal_like", "events",
                                                 "density", "sizes", "ids")}
    for frame in frames:
        grains = finder.grains(frame)
        rows["events"].append(nucleation_events(grains, previous, options.nucleus_atoms))
        previous = grains
        rows["index"].append(frame.index)
        rows["step"].append(frame.step)
        rows["time"].append(frame.time_ps)
        rows["subcritical"].append(grains.subcritical)
        rows["crystal_like"].append(grains.crystal_like)
        rows["density"].append(finder.number_density(frame))
        rows["sizes"].append(grains.sizes)
        if keep_per_atom:
            rows["ids"].append(grains.grain_id)
    parameters = options.model_dump(mode="json", exclude={"start", "stop", "stride", "start_ps", "stop_ps"})
    parameters["link_cutoff_A"] = finder.link_cutoff_A
    parameters["orientation_criterion"] = finder.orientation.__dict__
    return GrainResult.from_frames(
        frame_index=np.array(rows["index"], dtype=np.int64), steps=np.array(rows["step"], dtype=np.int64),
        times_ps=np.array(rows["time"], dtype=float), grain_atoms=rows["sizes"],
        subcritical_clusters=np.array(rows["subcritical"], dtype=np.int64),
        crystal_like_atoms=np.array(rows["crystal_like"], dtype=np.int64),
        nucleation_events=np.array(rows["events"], dtype=np.int64),
        number_density_per_A3=np.array(rows["density"], dtype=float), diameter_edges_nm=edges,
        per_atom_grain_id=np.array(rows["ids"], dtype=np.int32) if keep_per_atom else None,
        density_source="given" if options.number_density_per_A3 is not None else "frame",
        method=options.method, parameters=parameters)


def analyse_grains(trajectory: Trajectory, options: GrainOptions, *, progress: bool = True,
                   frames: np.ndarray | None = None) -> GrainResult:
    """Stream the selected frames (or ``frames``, a contiguous block of them) into grains per frame.

    ``frames`` lets callers split the work: a block not starting at the first
    selected frame also reads the selected frame before it (not reported) so
    its first nucleation count is that of the serial run; merging the blocks'
    results in order (:meth:`GrainResult.merge`) then equals the serial run.
    """
    selected = options.indices(trajectory)
    block = selected if frames is None else np.asarray(frames, dtype=np.int64).ravel()
    where = np.flatnonzero(selected == block[0]) if len(block) else np.zeros(0, dtype=np.int64)
    if len(where) == 0 or not np.array_equal(selected[where[0]:where[0] + len(block)], block):
        raise ValueError(f"frames must be a non-empty contiguous block of the selected frames "
                         f"({options.selection_text()}: {len(selected)} frames)")
    keep = keep_per_atom(options.per_atom_ids, len(selected), trajectory.natoms, "per-atom grain ids",
                         "--per-atom-ids")
    finder = GrainFinder(options, trajectory.numbers)
    seed = None
    if where[0] > 0:
        seed = trajectory.frame(int(selected[where[0] - 1]), velocities=False, forces=False, per_atom=())
    stream = iterate_frames(trajectory, block, "grains", progress=progress)
    return grains_of_frames(stream, finder, keep_per_atom=bool(keep), seed=seed)

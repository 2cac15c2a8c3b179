"""Point defects by Wigner-Seitz analysis: vacancies, interstitials, antisites, Frenkel pairs, and their clusters.

Definition. The reference is a perfect lattice whose atoms are the *sites*.
Each atom of the current frame belongs to the Wigner-Seitz (Voronoi) cell of
the site nearest to it (periodic images included), and a site's *occupancy*
is the number of atoms in its cell. Then:

* occupancy 0: a **vacancy** at that site;
* occupancy k >= 2: k - 1 **interstitials**, the k - 1 atoms farthest from the
  site (the nearest one occupies it; ties go to the lower atom index);
* occupancy 1 with an atom of another species than the site's: an **antisite**
  (labelled ``Fe_on_Cr``: an Fe atom on a Cr site);
* **Frenkel pairs**: min(vacancies, interstitials), the vacancy-interstitial
  pairs the frame can hold (equal to either count when no atom was added or removed).

The current frame's cell and pbc are used. When the reference cell differs
(NPT, thermal expansion, a strained box), each site keeps its fractional
coordinates: r' = r H_ref⁻¹ H_cur (rows of H are cell vectors), so a
homogeneously strained crystal has no defects. A non-periodic direction
without a cell vector (ASE's zero vector) gets a unit vector normal to the
others in both cells, so there Cartesian coordinates are kept. Results do not
depend on how either input is wrapped.

Vacancies and interstitials are clustered separately (:func:`cluster_labels`:
joined within the cutoff, by default halfway between the reference's 2nd and
3rd neighbour shells), and the cloud of all of them is described by the
semi-axes of its equivalent uniform ellipsoid (:func:`cloud_shape`).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from ase.io import read

from simkit.analysis.defect_clusters import (
    CUTOFF_RULE,
    cloud_shape,
    cluster_labels,
    cluster_statistics,
    default_cluster_cutoff_A,
    nearest_site_images,
    neighbour_shells_A,
)
from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import search_cell
from simkit.analysis.options import DefectOptions
from simkit.analysis.output import new_figure, save_figure, time_axis, write_csv, write_hdf5
from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory
from simkit.runtime.files import atomic_write_text

__all__ = ["WignerSeitz", "wigner_seitz", "default_cluster_cutoff_A", "cluster_labels", "cloud_shape",
           "defect_summary", "reference_sites", "DefectResult", "defects_of_frames", "analyse_defects"]

# Added or lost atoms beyond this fraction of the sites mean another supercell, not defects.
_MAX_COUNT_MISMATCH = 0.1


def _symbols(species: Sequence) -> np.ndarray:
    """Atomic numbers or symbols -> an array of symbols."""
    values = np.asarray(species)
    if values.dtype.kind in "iu":
        return np.array(chemical_symbols, dtype=object)[values].astype(str)
    return values.astype(str)


def _species_order(symbols: Iterable[str]) -> list[str]:
    return sorted({str(s) for s in symbols}, key=lambda s: (atomic_numbers.get(s, 10**6), s))


@dataclass(frozen=True)
class WignerSeitz:
    """Site occupancies of one frame against a reference lattice (see the module docstring)."""

    occupancy: np.ndarray  # (n_sites,) atoms whose nearest reference site is that site
    site_of_atom: np.ndarray  # (n_atoms,)
    vacancy_sites: np.ndarray  # sites with occupancy 0
    interstitial_atoms: np.ndarray  # at a site with occupancy k >= 2, its k - 1 atoms farthest from it
    antisite_sites: np.ndarray  # sites with occupancy 1 holding an atom of another species

    def occupant_of_site(self) -> np.ndarray:
        """(n_sites,) the atom on each singly occupied site; -1 on empty sites (any occupant on crowded ones)."""
        occupant = np.full(len(self.occupancy), -1, dtype=np.int64)
        occupant[self.site_of_atom] = np.arange(len(self.site_of_atom))
        return occupant

    def counts(self, site_species, atom_species) -> dict:
        """Defect counts, in total and by species (every species of either input, zeros included); JSON-ready.

        ``site_species`` and ``atom_species`` are atomic numbers or symbols of the
        reference sites and of the current atoms. Vacancies count by the site's
        species, interstitials by the atom's, antisites as ``ATOM_on_SITE``.
        """
        sites, atoms = _symbols(site_species), _symbols(atom_species)
        if len(sites) != len(self.occupancy) or len(atoms) != len(self.site_of_atom):
            raise ValueError(f"species for {len(sites)} sites and {len(atoms)} atoms; this analysis has "
                             f"{len(self.occupancy)} sites and {len(self.site_of_atom)} atoms")
        species = _species_order([*sites, *atoms])
        vacancies = dict.fromkeys(species, 0)
        interstitials = dict.fromkeys(species, 0)
        antisites = {f"{a}_on_{b}": 0 for a, b in itertools.permutations(species, 2)}
        for name, count in zip(*np.unique(sites[self.vacancy_sites], return_counts=True)):
            vacancies[str(name)] = int(count)
        for name, count in zip(*np.unique(atoms[self.interstitial_atoms], return_counts=True)):
            interstitials[str(name)] = int(count)
        occupant = self.occupant_of_site()[self.antisite_sites]
        labels = np.char.add(np.char.add(atoms[occupant].astype(str), "_on_"), sites[self.antisite_sites].astype(str))
        for name, count in zip(*np.unique(labels, return_counts=True)):
            antisites[str(name)] = int(count)
        return {
            "vacancies": int(len(self.vacancy_sites)),
            "interstitials": int(len(self.interstitial_atoms)),
            "antisites": int(len(self.antisite_sites)),
            "frenkel_pairs": int(min(len(self.vacancy_sites), len(self.interstitial_atoms))),
            "vacancies_by_species": vacancies,
            "interstitials_by_species": interstitials,
            "antisites_by_species": antisites,
        }


def reference_sites(reference: Atoms, current: Atoms) -> np.ndarray:
    """Reference site positions (Å) in the current cell: r H_ref⁻¹ H_cur when the cells differ (module docstring)."""
    positions = np.asarray(reference.positions, dtype=float)
    if np.array_equal(np.array(reference.cell), np.array(current.cell)):
        return positions.copy()
    try:
        reference_cell = search_cell(np.array(reference.cell), current.pbc)
    except InputDataError as exc:
        raise InputDataError(f"the reference cell differs from the current one and cannot be mapped onto it: "
                             f"{exc}") from exc
    current_cell = search_cell(np.array(current.cell), current.pbc)
    return np.linalg.solve(reference_cell.T, positions.T).T @ current_cell


def wigner_seitz(reference: Atoms, current: Atoms) -> WignerSeitz:
    """Wigner-Seitz occupancies of ``current`` against the sites of ``reference`` (module docstring).

    The cell and pbc are ``current``'s; the reference sites are mapped into it by
    their fractional coordinates when the cells differ (r' = r H_ref⁻¹ H_cur).
    Works for triclinic cells and non-periodic directions, whatever the wrapping
    of either input, and for atom counts that differ from the site count.
    """
    if len(reference) == 0:
        raise InputDataError("the reference has no atoms (no lattice sites)")
    sites = reference_sites(reference, current)
    if len(current) == 0:
        site_of_atom, distance = np.zeros(0, dtype=np.int64), np.zeros(0)
    else:
        distance, site_of_atom, _ = nearest_site_images(sites, current.positions, np.array(current.cell), current.pbc)
    occupancy = np.bincount(site_of_atom, minlength=len(sites))
    by_site = np.lexsort((np.arange(len(site_of_atom)), distance, site_of_atom))  # nearest first within each site
    site_sorted = site_of_atom[by_site]
    nearest_of_site = np.r_[True, site_sorted[1:] != site_sorted[:-1]] if len(by_site) else np.zeros(0, bool)
    occupants, occupied = by_site[nearest_of_site], site_sorted[nearest_of_site]
    single = occupancy[occupied] == 1
    swapped = reference.numbers[occupied[single]] != current.numbers[occupants[single]]
    return WignerSeitz(
        occupancy=occupancy,
        site_of_atom=site_of_atom,
        vacancy_sites=np.flatnonzero(occupancy == 0),
        interstitial_atoms=np.sort(by_site[~nearest_of_site]),
        antisite_sites=np.sort(occupied[single][swapped]),
    )


def _frame_defects(reference: Atoms, current: Atoms, cutoff_A: float) -> tuple[dict, dict[str, np.ndarray]]:
    """(summary, defect indices and positions in Å) of one frame."""
    analysis = wigner_seitz(reference, current)
    vacancies = reference_sites(reference, current)[analysis.vacancy_sites]
    interstitials = np.asarray(current.positions)[analysis.interstitial_atoms]
    cell, pbc = np.array(current.cell), current.pbc
    summary = {
        "sites": len(reference), "atoms": len(current),
        **analysis.counts(reference.numbers, current.numbers),
        "cluster_cutoff_A": float(cutoff_A),
        "vacancy_clusters": cluster_statistics(cluster_labels(vacancies, cell, pbc, cutoff_A)),
        "interstitial_clusters": cluster_statistics(cluster_labels(interstitials, cell, pbc, cutoff_A)),
        "shape": cloud_shape(vacancies, interstitials, cell, pbc),
    }
    defects = {"vacancy_sites": analysis.vacancy_sites, "interstitial_atoms": analysis.interstitial_atoms,
               "antisite_sites": analysis.antisite_sites, "vacancy_positions": vacancies.reshape(-1, 3),
               "interstitial_positions": interstitials.reshape(-1, 3)}
    return summary, defects


def defect_summary(reference: Atoms, current: Atoms, cutoff_A: float | None = None) -> dict:
    """Counts, vacancy and interstitial clusters, and the cloud shape of one frame; JSON-ready.

    ``cutoff_A`` joins defects into clusters; None takes
    :func:`default_cluster_cutoff_A` of the reference (halfway between its
    2nd and 3rd neighbour shells). The cutoff used is in the result.
    """
    cutoff = default_cluster_cutoff_A(reference) if cutoff_A is None else float(cutoff_A)
    return _frame_defects(reference, current, cutoff)[0]


# -- over a trajectory -------------------------------------------------------------------------

_SHAPE_COLUMNS = {"semi_axis_1_A": ("semi_axes_A", 0), "semi_axis_2_A": ("semi_axes_A", 1),
                  "semi_axis_3_A": ("semi_axes_A", 2), "radius_of_gyration_A": ("radius_of_gyration_A", None),
                  "centre_x_A": ("centre_A", 0), "centre_y_A": ("centre_A", 1), "centre_z_A": ("centre_A", 2),
                  "mean_vacancy_distance_A": ("mean_vacancy_distance_A", None),
                  "mean_interstitial_distance_A": ("mean_interstitial_distance_A", None)}


def _row(summary: dict) -> dict[str, float]:
    """One CSV row of a frame's summary: counts, per-species counts, clusters, shape (NaN where undefined)."""
    row = {key: summary[key] for key in ("vacancies", "interstitials", "antisites", "frenkel_pairs")}
    for group in ("vacancies", "interstitials", "antisites"):
        row.update({f"{group}_{name}": count for name, count in summary[f"{group}_by_species"].items()})
    for kind in ("vacancy", "interstitial"):
        row[f"{kind}_clusters"] = summary[f"{kind}_clusters"]["number"]
        row[f"largest_{kind}_cluster"] = summary[f"{kind}_clusters"]["largest"]
    for column, (key, item) in _SHAPE_COLUMNS.items():
        value = summary["shape"][key]
        row[column] = np.nan if value is None else float(value if item is None else value[item])
    return row


@dataclass
class DefectResult:
    steps: np.ndarray
    times_ps: np.ndarray
    columns: dict[str, np.ndarray]  # per frame; counts, or lengths where the name ends in _A
    last: dict  # defect_summary of the last frame
    last_defects: dict[str, np.ndarray]  # indices and positions (Å) of the last frame's defects
    reference: str
    cutoff_A: float
    cutoff_rule: str

    @property
    def frames(self) -> int:
        return len(self.steps)

    def summary(self) -> dict:
        """What run_summary.json and defects.json record: the reference, the cutoff and the last frame."""
        time_ps = float(self.times_ps[-1])
        last = {"step": int(self.steps[-1]), "time_ps": time_ps if np.isfinite(time_ps) else None, **self.last}
        return {"frames": self.frames, "reference": self.reference, "cluster_cutoff_A": self.cutoff_A,
                "cluster_cutoff_rule": self.cutoff_rule, "last_frame": last}

    def write(self, output_dir: Path, stem: str = "defects") -> dict[str, Path]:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        units = {name: "Angstrom" if name.endswith("_A") else "1" for name in self.columns}
        datasets = {"step": (self.steps, "1"), "time": (self.times_ps, "ps")}
        datasets.update({f"per_frame/{k}": (v, units[k]) for k, v in self.columns.items()})
        datasets.update({f"last_frame/{k}": (v, "Angstrom" if k.endswith("positions") else "1")
                         for k, v in self.last_defects.items()})
        figure = new_figure(6.4, 6.0)
        counts, extent = figure.subplots(2, 1, sharex=True)
        x, x_label = time_axis(self.times_ps, self.steps)
        for key in ("vacancies", "interstitials", "antisites"):
            counts.plot(x, self.columns[key], marker=".", label=key)
        counts.set_ylabel("defects")
        counts.set_title(f"Wigner-Seitz defects (reference: {self.reference})", fontsize="small")
        counts.legend(fontsize="small")
        for key in ("semi_axis_1_A", "semi_axis_2_A", "semi_axis_3_A"):
            extent.plot(x, self.columns[key], marker=".", label=key.removesuffix("_A").replace("_", " "))
        extent.set_xlabel(x_label)
        extent.set_ylabel("defect cloud semi-axes (Å)")
        extent.legend(fontsize="small")
        json_path = atomic_write_text(output_dir / f"{stem}.json",
                                      json.dumps(self.summary(), indent=2, allow_nan=False) + "\n")
        attrs = {"reference": self.reference, "cluster_cutoff_A": self.cutoff_A,
                 "cluster_cutoff_rule": self.cutoff_rule}
        per_frame = {"step": self.steps, "time_ps": self.times_ps, **self.columns}
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, attrs),
            "csv": write_csv(output_dir / f"{stem}.csv", per_frame),
            "json": json_path,
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def defects_of_frames(frames: Iterable[Frame], reference: Atoms, cutoff_A: float | None = None, *,
                      reference_label: str = "reference") -> DefectResult:
    """Wigner-Seitz defects of every frame against ``reference``; the cutoff is fixed once for all frames."""
    if cutoff_A is None:
        try:
            shells = neighbour_shells_A(reference, 3)
        except InputDataError as exc:
            raise InputDataError(f"{reference_label}: {exc}; set cutoff_A") from exc
        cutoff, rule = 0.5 * (shells[1] + shells[2]), f"{CUTOFF_RULE} ({shells[1]:.4f} and {shells[2]:.4f} Å)"
    else:
        cutoff, rule = float(cutoff_A), "given"
    steps, times, rows, last, last_defects = [], [], [], None, {}
    for frame in frames:
        current = frame.to_atoms()
        if abs(len(current) - len(reference)) > _MAX_COUNT_MISMATCH * len(reference):
            raise InputDataError(f"{reference_label}: {len(reference)} sites, but frame {frame.index} has "
                                 f"{len(current)} atoms; the reference must be the same supercell")
        try:
            last, last_defects = _frame_defects(reference, current, cutoff)
        except InputDataError as exc:
            raise InputDataError(f"{reference_label}: frame {frame.index}: {exc}") from exc
        steps.append(frame.step)
        times.append(frame.time_ps)
        rows.append(_row(last))
    if last is None:
        raise InputDataError(f"{reference_label}: no frames to analyse")
    columns = {key: np.array([row[key] for row in rows]) for key in rows[0]}
    return DefectResult(np.array(steps), np.array(times), columns, last, last_defects, reference_label, cutoff, rule)


def load_reference(options: DefectOptions, trajectory: Trajectory) -> tuple[Atoms, str]:
    """(reference lattice, its label): the trajectory's frame 0, or the first structure in a file ASE reads."""
    if options.reference == "first":
        frame = trajectory.frame(0, velocities=False, forces=False, per_atom=())
        return frame.to_atoms(), f"{trajectory.path.name} frame 0"
    path = Path(options.reference)
    try:
        reference = read(path, index=0, parallel=False)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
        raise InputDataError(f"{path}: cannot read the reference structure: {' '.join(str(exc).split())}") from exc
    if len(reference) == 0:
        raise InputDataError(f"{path}: the reference structure has no atoms")
    theirs, ours = _species_order(_symbols(reference.numbers)), _species_order(_symbols(trajectory.numbers))
    if theirs != ours:
        raise InputDataError(f"{path}: reference species {', '.join(theirs)} differ from the trajectory's "
                             f"{', '.join(ours)} ({trajectory.path.name})")
    return reference, str(path)


def analyse_defects(trajectory: Trajectory, options: DefectOptions, *, progress: bool = True) -> DefectResult:
    """Stream the selected frames into Wigner-Seitz defect counts, clusters and cloud shapes."""
    reference, label = load_reference(options, trajectory)
    frames = iterate_frames(trajectory, options.indices(trajectory), "defects", progress=progress)
    return defects_of_frames(frames, reference, options.cutoff_A, reference_label=label)

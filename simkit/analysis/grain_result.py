"""Grains per frame as numbers (:class:`GrainResult`): derived sizes, merging of frame blocks, HDF5, CSV and PNG.

The rules that find the grains are in :mod:`simkit.analysis.grains`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from simkit.analysis.output import new_figure, save_figure, time_axis, write_csv, write_hdf5

__all__ = ["GrainResult", "equivalent_diameter_nm"]


def equivalent_diameter_nm(atoms: np.ndarray, number_density_per_A3: float) -> np.ndarray:
    """Diameter of a sphere holding ``atoms`` at the given number density: (6 N / (π ρ))^(1/3), in nm."""
    return np.cbrt(6.0 * np.asarray(atoms, dtype=float) / (np.pi * number_density_per_A3)) / 10.0


def _median_or_nan(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else np.nan


@dataclass
class GrainResult:
    """Grains per analysed frame (F frames); per-frame statistics are (F,) arrays."""

    frame_index: np.ndarray  # trajectory frame indices
    steps: np.ndarray
    times_ps: np.ndarray
    grain_count: np.ndarray
    subcritical_clusters: np.ndarray
    crystal_like_atoms: np.ndarray
    atoms_in_grains: np.ndarray
    largest_grain_atoms: np.ndarray  # 0 without grains
    mean_diameter_nm: np.ndarray  # NaN without grains
    median_diameter_nm: np.ndarray  # NaN without grains
    nucleation_events: np.ndarray
    number_density_per_A3: np.ndarray  # the density used for diameters
    diameter_edges_nm: np.ndarray  # (B + 1,) the last bin also counts larger grains
    diameter_histogram: np.ndarray  # (F, B) grains per diameter bin
    grain_atoms: list[np.ndarray]  # per frame: atoms of each grain, in grain id order
    per_atom_grain_id: np.ndarray | None  # (F, N) int32, -1 outside grains; None when not kept
    density_source: str  # "frame" (atoms / cell volume) or "given" (number_density_per_A3)
    method: str
    parameters: dict = field(default_factory=dict)

    @classmethod
    def from_frames(cls, *, grain_atoms: list[np.ndarray], number_density_per_A3: np.ndarray,
                    diameter_edges_nm: np.ndarray, **per_frame) -> "GrainResult":
        """Derive counts, diameters and histograms from each frame's grain sizes."""
        diameters = [equivalent_diameter_nm(a, rho) for a, rho in zip(grain_atoms, number_density_per_A3)]
        top = diameter_edges_nm[-1]
        histogram = np.array([np.histogram(np.minimum(d, top), diameter_edges_nm)[0] for d in diameters],
                             dtype=np.int64).reshape(len(grain_atoms), len(diameter_edges_nm) - 1)
        return cls(
            grain_count=np.array([len(a) for a in grain_atoms], dtype=np.int64),
            atoms_in_grains=np.array([a.sum() for a in grain_atoms], dtype=np.int64),
            largest_grain_atoms=np.array([a.max(initial=0) for a in grain_atoms], dtype=np.int64),
            mean_diameter_nm=np.array([d.mean() if len(d) else np.nan for d in diameters]),
            median_diameter_nm=np.array([_median_or_nan(d) for d in diameters]),
            diameter_histogram=histogram, grain_atoms=grain_atoms, number_density_per_A3=number_density_per_A3,
            diameter_edges_nm=diameter_edges_nm, **per_frame)

    @property
    def frames(self) -> int:
        return len(self.steps)

    def grain_diameters_nm(self, frame: int) -> np.ndarray:
        """Equivalent diameters (nm) of the grains of analysed frame ``frame`` (position in this result)."""
        return equivalent_diameter_nm(self.grain_atoms[frame], self.number_density_per_A3[frame])

    @classmethod
    def merge(cls, parts: list["GrainResult"]) -> "GrainResult":
        """Concatenate results of consecutive frame blocks, in order (each from ``analyse_grains(frames=...)``)."""
        if not parts:
            raise ValueError("nothing to merge")
        first = parts[0]
        for part in parts[1:]:
            if not np.array_equal(part.diameter_edges_nm, first.diameter_edges_nm) or part.method != first.method \
                    or part.density_source != first.density_source or part.parameters != first.parameters:
                raise ValueError("grain results of different options cannot be merged")
            if (part.per_atom_grain_id is None) != (first.per_atom_grain_id is None):
                raise ValueError("grain results with and without per-atom ids cannot be merged")
        merged = {}
        for item in fields(cls):
            values = [getattr(part, item.name) for part in parts]
            if item.name == "grain_atoms":
                merged[item.name] = [sizes for value in values for sizes in value]
            elif item.name in ("diameter_edges_nm", "density_source", "method", "parameters") or values[0] is None:
                merged[item.name] = values[0]
            else:
                merged[item.name] = np.concatenate(values)
        indices = merged["frame_index"]
        if np.any(np.diff(indices) <= 0):
            raise ValueError("grain results must be merged in frame order, without overlap")
        return cls(**merged)

    def summary(self) -> dict:
        """Headline numbers for run_summary.json (null plus a reason where undefined)."""
        final_mean = self.mean_diameter_nm[-1]
        summary = {"frames": self.frames, "final_grains": int(self.grain_count[-1]),
                   "final_mean_diameter_nm": float(final_mean) if np.isfinite(final_mean) else None,
                   "nucleation_events": int(self.nucleation_events.sum()), "density_source": self.density_source}
        if not np.isfinite(final_mean):
            summary["final_mean_diameter_note"] = "no grains in the final frame"
        return summary

    def write(self, output_dir: Path, stem: str = "grains") -> dict[str, Path]:
        output_dir = Path(output_dir)
        columns = {
            "frame": self.frame_index, "step": self.steps, "time_ps": self.times_ps, "grains": self.grain_count,
            "subcritical_clusters": self.subcritical_clusters, "crystal_like_atoms": self.crystal_like_atoms,
            "atoms_in_grains": self.atoms_in_grains, "largest_grain_atoms": self.largest_grain_atoms,
            "mean_diameter_nm": self.mean_diameter_nm, "median_diameter_nm": self.median_diameter_nm,
            "nucleation_events": self.nucleation_events, "number_density_per_A3": self.number_density_per_A3,
        }
        units = {"time_ps": "ps", "mean_diameter_nm": "nm", "median_diameter_nm": "nm",
                 "number_density_per_A3": "1/Angstrom^3"}
        datasets = {name: (values, units.get(name, "1")) for name, values in columns.items()}
        datasets["time"] = datasets.pop("time_ps")
        offsets = np.concatenate([[0], np.cumsum(self.grain_count)])
        flat_atoms = np.concatenate([np.zeros(0, dtype=np.int64), *self.grain_atoms])
        datasets.update({
            "diameter_bin_edges": (self.diameter_edges_nm, "nm"), "diameter_histogram": (self.diameter_histogram, "1"),
            "grain_atoms": (flat_atoms, "1"), "grain_offsets": (offsets, "1"),
            "grain_diameter": (np.concatenate([np.zeros(0), *map(self.grain_diameters_nm, range(self.frames))]), "nm"),
        })
        if self.per_atom_grain_id is not None:
            datasets["per_atom_grain_id"] = (self.per_atom_grain_id, "1")
        attrs = {"method": self.method, "density_source": self.density_source, "parameters": self.parameters,
                 "grain_offsets": "grains of frame k are grain_atoms[grain_offsets[k]:grain_offsets[k + 1]]"}
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, attrs),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(self._figure(), output_dir / f"{stem}.png"),
        }

    def _figure(self):
        figure = new_figure(6.4, 7.0)
        count_axes, size_axes, histogram_axes = figure.subplots(3, 1)
        x, x_label = time_axis(self.times_ps, self.steps)
        count_axes.plot(x, self.grain_count, "k.-", label="grains")
        count_axes.plot(x, self.nucleation_events, "r.", label="nucleation events")
        count_axes.set_xlabel(x_label)
        count_axes.set_ylabel("count")
        count_axes.set_title(f"grains ({self.method})")
        count_axes.legend(fontsize="small")
        size_axes.plot(x, self.mean_diameter_nm, "k.-", label="mean")
        size_axes.plot(x, self.median_diameter_nm, "b.--", lw=1, label="median")
        size_axes.set_xlabel(x_label)
        size_axes.set_ylabel("equivalent diameter (nm)")
        size_axes.legend(fontsize="small")
        edges = self.diameter_edges_nm
        final = self.diameter_histogram[-1]
        histogram_axes.stairs(final, edges, fill=True)
        used = np.flatnonzero(final)
        histogram_axes.set_xlim(0.0, edges[used[-1] + 1] + edges[1] if len(used) else edges[-1])
        histogram_axes.set_xlabel("equivalent diameter (nm)")
        histogram_axes.set_ylabel("grains")
        histogram_axes.set_title(f"final frame ({self.frame_index[-1]}): {int(self.grain_count[-1])} grains",
                                 fontsize="small")
        return figure

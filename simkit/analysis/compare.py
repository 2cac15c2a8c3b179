"""Does a student potential reproduce its teacher's structure? g(r), angles, coordination and density side by side.

:func:`structure_summary` runs the rdf, angles and coordination analyses on snapshots held in memory (e.g. a liquid
at 1000 K, a melt-quenched glass at 300 K); :func:`compare_structures` checks a candidate's numbers against the
reference's within :class:`Tolerances` and finds where the curves differ most; :meth:`StructureComparison.write`
leaves CSV, JSON and overlaid figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from simkit.analysis.angles import AngleResult, angles_of_frames
from simkit.analysis.coordination import coordination_of_frames
from simkit.analysis.frames import frames_from_atoms
from simkit.analysis.options import AngleOptions, CoordinationOptions, RdfOptions
from simkit.analysis.output import new_figure, save_figure, write_csv

# _smoothed: the running mean rdf.py finds first peaks with, so both place a noisy peak alike.
from simkit.analysis.rdf import PEAK_SMOOTHING_A, RdfResult, _smoothed, rdf_of_frames
from simkit.errors import InputDataError
from simkit.units import AVOGADRO_PER_MOL, CM_PER_A


@dataclass(frozen=True)
class Peak:
    """A maximum of g(r): position (Å) and height (dimensionless)."""

    position_A: float
    height: float


@dataclass
class StructureSummary:
    """The structure of a set of frames, averaged over them."""

    rdf: RdfResult  # partial g "A-B" (and "total" with several species) on rdf.r_A (Å)
    angles: AngleResult  # bond-angle distributions "A-B-C" (B the centre) and "all", per degree
    first_peaks: dict[str, Peak]  # per key of rdf.g
    coordination: dict[str, float]  # "A-B": mean number of B atoms within cutoffs_A of an A atom
    cutoffs_A: dict[str, float]
    angle_cutoff_A: float
    number_density_per_A3: float
    mass_density_g_per_cm3: float
    frames: int

    @property
    def total_key(self) -> str:
        """Key of the total g(r): "total", or the only pair of a one-species system."""
        return "total" if "total" in self.rdf.g else next(iter(self.rdf.g))


def structure_summary(frames: Sequence[Atoms], *, cutoffs_A: Mapping[str, float], angle_cutoff_A: float,
                      r_max_A: float | None = None, bin_width_A: float | None = None,
                      angle_bin_width_deg: float | None = None) -> StructureSummary:
    """g(r), first peaks, bond angles, coordination and densities of periodic ``frames``.

    ``cutoffs_A`` gives the bond length per species pair (e.g. ``{"Sb-Te": 3.6}``, Å);
    coordination is reported for the listed pairs only, both ways round ("Sb-Te":
    Te around Sb, "Te-Sb": Sb around Te). Bond angles count neighbours within
    ``angle_cutoff_A`` (Å) of every pair. ``r_max_A``, ``bin_width_A`` (Å) and
    ``angle_bin_width_deg`` left as None take the defaults of
    :class:`~simkit.analysis.options.RdfOptions` and ``AngleOptions``.
    Compare two summaries only if they were made with the same settings.
    """
    species, pairs = _species_and_pairs(frames, cutoffs_A)
    rdf_options = RdfOptions(**_given(r_max_A=r_max_A, bin_width_A=bin_width_A))
    rdf = rdf_of_frames(frames_from_atoms(frames), species, rdf_options)
    angle_options = AngleOptions(cutoff_A=angle_cutoff_A, **_given(bin_width_deg=angle_bin_width_deg))
    angles = angles_of_frames(frames_from_atoms(frames), species, angle_options)
    volumes_A3 = np.array([atoms.get_volume() for atoms in frames])
    masses_g_per_mol = np.array([atoms.get_masses().sum() for atoms in frames])
    return StructureSummary(
        rdf=rdf, angles=angles, first_peaks={key: first_peak(rdf, key) for key in rdf.g},
        coordination=_mean_coordination(frames, species, pairs, cutoffs_A),
        cutoffs_A=dict(cutoffs_A), angle_cutoff_A=float(angle_cutoff_A),
        number_density_per_A3=float(np.mean([len(a) for a in frames] / volumes_A3)),
        mass_density_g_per_cm3=float(np.mean(masses_g_per_mol / volumes_A3 / AVOGADRO_PER_MOL / CM_PER_A**3)),
        frames=len(frames),
    )


def first_peak(rdf: RdfResult, key: str) -> Peak:
    """The first peak of ``rdf.g[key]`` (not the global maximum): position (Å) and height.

    :meth:`RdfResult.first_peak_A` finds the highest bin of the first stretch where
    g rises above 1. One noisy bin can win there, and liquid peaks are flat-topped,
    so the peak is moved to the maximum of g smoothed over ``PEAK_SMOOTHING_A``
    nearby and then placed by a least-squares parabola through the raw g of every
    bin around it where the smoothed g is above ``PEAK_FIT_FRACTION`` of that
    maximum: many bins average out the noise of each.
    """
    r_A, g = rdf.r_A, rdf.g[key]
    smooth = _smoothed(g, r_A, PEAK_SMOOTHING_A)
    start = int(np.argmin(np.abs(r_A - rdf.first_peak_A(key))))
    reach = max(1, int(round(PEAK_SMOOTHING_A / float(r_A[1] - r_A[0])))) if len(r_A) > 1 else 0
    low = max(start - reach, 0)
    best = low + int(np.argmax(smooth[low:start + reach + 1]))
    fallback = Peak(float(r_A[best]), float(smooth[best]))
    top = _contiguous(smooth >= PEAK_FIT_FRACTION * smooth[best], best)
    if len(top) < 3:
        return fallback
    curvature, slope, offset = np.polyfit(r_A[top], g[top], 2)
    vertex_A = -slope / (2.0 * curvature) if curvature < 0 else np.nan
    if not r_A[top[0]] <= vertex_A <= r_A[top[-1]]:
        return fallback  # not peak-shaped (e.g. a one-sided edge): keep the smoothed maximum
    return Peak(float(vertex_A), float(np.polyval((curvature, slope, offset), vertex_A)))


# Fraction of the (smoothed) first-peak height above which bins enter the parabola fit:
# low enough for a dozen bins on a liquid's peak, high enough that a parabola fits its top.
PEAK_FIT_FRACTION = 0.8


def _contiguous(mask: np.ndarray, index: int) -> np.ndarray:
    """Indices of the run of True in ``mask`` that contains ``index``."""
    false = np.nonzero(~mask)[0]
    first = false[false < index].max(initial=-1) + 1
    last = false[false > index].min(initial=len(mask))
    return np.arange(first, last)


@dataclass(frozen=True)
class Tolerances:
    """How far a candidate may stray from the reference and still pass."""

    first_peak_position_A: float = 0.05  # |difference| of each first-peak position (Å)
    first_peak_height_rel: float = 0.15  # |difference| / reference of each first-peak height
    coordination_abs: float = 0.3  # |difference| of each mean coordination number
    density_rel: float = 0.02  # |difference| / reference of the number and the mass density


@dataclass(frozen=True)
class Check:
    """One number of the candidate against the reference's; difference = candidate - reference."""

    quantity: str  # with its unit in the name, e.g. "first_peak_position_A"
    key: str  # "total", a pair "Sb-Te", or "" for a number of the whole system
    reference: float
    candidate: float
    tolerance: float
    relative: bool  # the tolerance bounds |difference| / |reference| rather than |difference|

    @property
    def difference(self) -> float:
        return self.candidate - self.reference

    @property
    def relative_difference(self) -> float:
        if self.reference == 0:
            return 0.0 if self.candidate == 0 else math.inf
        return self.difference / abs(self.reference)

    @property
    def passed(self) -> bool:
        error = abs(self.relative_difference) if self.relative else abs(self.difference)
        return bool(error <= self.tolerance)  # NaN fails

    @property
    def name(self) -> str:
        return f"{self.quantity}[{self.key}]" if self.key else self.quantity

    def to_dict(self) -> dict:
        relative = self.relative_difference
        return {"reference": self.reference, "candidate": self.candidate, "difference": self.difference,
                "relative_difference": relative if math.isfinite(relative) else None,  # JSON has no inf
                "tolerance_relative" if self.relative else "tolerance": self.tolerance, "passed": self.passed}


@dataclass(frozen=True)
class CurveDifference:
    """Largest |candidate - reference| of one curve, and where on the grid it is."""

    max_abs_difference: float
    at: float


@dataclass(frozen=True)
class CurveComparison:
    """Reference and candidate curves on one grid (``grid_name`` carries its unit), keys aligned."""

    grid_name: str  # "r_A" or "angle_deg"
    grid: np.ndarray
    reference: dict[str, np.ndarray]
    candidate: dict[str, np.ndarray]
    differences: dict[str, CurveDifference]

    def largest(self) -> tuple[str, CurveDifference]:
        """The curve that differs most, and its difference."""
        return max(self.differences.items(), key=lambda item: item[1].max_abs_difference)

    def to_dict(self, value_units: str = "") -> dict:
        per_curve = {key: {f"max_abs_difference{value_units}": d.max_abs_difference, self.grid_name: d.at}
                     for key, d in self.differences.items()}
        key = self.largest()[0]
        return {"largest": {"key": key, **per_curve[key]}, "per_curve": per_curve}

    def columns(self, prefix: str, suffix: str, labels: tuple[str, str]) -> dict[str, np.ndarray]:
        """CSV columns: the grid, then each curve of both sides (``g_Sb-Te_teacher``)."""
        columns = {self.grid_name: self.grid}
        for key in self.reference:
            columns[f"{prefix}{key}_{labels[0]}{suffix}"] = self.reference[key]
            columns[f"{prefix}{key}_{labels[1]}{suffix}"] = self.candidate[key]
        return columns


def compare_curves(grid_name: str, grid: np.ndarray, reference: Mapping[str, np.ndarray],
                   candidate: Mapping[str, np.ndarray]) -> CurveComparison:
    """Align two sets of curves on ``grid``; a curve one side lacks (a triplet type it never forms) is zero."""
    zeros = np.zeros(len(grid))
    keys = list(dict.fromkeys([*reference, *candidate]))
    ref = {key: np.asarray(reference.get(key, zeros)) for key in keys}
    cand = {key: np.asarray(candidate.get(key, zeros)) for key in keys}
    gaps = {key: np.abs(cand[key] - ref[key]) for key in keys}
    differences = {key: CurveDifference(float(gap.max()), float(grid[int(np.argmax(gap))]))
                   for key, gap in gaps.items()}
    return CurveComparison(grid_name, np.asarray(grid), ref, cand, differences)


@dataclass
class StructureComparison:
    """Every :class:`Check` of a candidate against a reference, and their g(r) and angle curves."""

    reference: StructureSummary
    candidate: StructureSummary
    labels: tuple[str, str]
    tolerances: Tolerances
    checks: list[Check]
    g: CurveComparison  # g(r) per pair and total, grid r_A
    angles: CurveComparison  # bond-angle distributions (1/degree), grid angle_deg

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def check(self, quantity: str, key: str = "") -> Check:
        return next(c for c in self.checks if c.quantity == quantity and c.key == key)

    def to_dict(self) -> dict:
        """JSON-ready; units are in the key names (``_A``, ``_deg``, ``_per_A3``, ``_g_per_cm3``)."""
        checks: dict = {}
        for check in self.checks:
            group = checks.setdefault(check.quantity, {})
            group.update({check.key: check.to_dict()} if check.key else check.to_dict())
        return {
            "labels": {"reference": self.labels[0], "candidate": self.labels[1]},
            "passed": self.passed, "failed": [check.name for check in self.failures],
            "tolerances": asdict(self.tolerances), "checks": checks,
            "frames": {"reference": self.reference.frames, "candidate": self.candidate.frames},
            "cutoffs_A": self.reference.cutoffs_A, "angle_cutoff_A": self.reference.angle_cutoff_A,
            "g_largest_difference": self.g.to_dict(),
            "angle_largest_difference": self.angles.to_dict("_per_deg"),
        }

    def write(self, output_dir: Path, stem: str = "structure_comparison") -> dict[str, Path]:
        """``<stem>.json``, ``<stem>_rdf.csv``/``.png`` and ``<stem>_angles.csv``/``.png`` (curves overlaid)."""
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        json_path = output_dir / f"{stem}.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        ref, cand = self.reference, self.candidate
        peak_titles = {key: f"{key}: first peak {ref.first_peaks[key].position_A:.2f} / "
                            f"{cand.first_peaks[key].position_A:.2f} Å" for key in self.g.reference}
        rdf_figure = _overlay_figure(self.g, self.labels, "r (Å)", "g(r)", "Å", peak_titles)
        verdict = "pass" if self.passed else f"FAIL ({len(self.failures)} checks)"
        rdf_figure.suptitle(f"g(r), {self.labels[0]} vs {self.labels[1]}: {verdict}")
        # Triplet counts in the titles: a curve from few triplets is spiky, its differences mostly noise.
        triplet_titles = {key: f"{key} ({ref.angles.triplets.get(key, 0)} / {cand.angles.triplets.get(key, 0)} "
                               f"triplets)" for key in self.angles.reference}
        angle_figure = _overlay_figure(self.angles, self.labels, "bond angle (degrees)", "P (1/degree)", "°",
                                       triplet_titles)
        angle_figure.suptitle(f"bond angles, neighbours within {ref.angle_cutoff_A:g} Å")
        return {
            "json": json_path,
            "rdf_csv": write_csv(output_dir / f"{stem}_rdf.csv", self.g.columns("g_", "", self.labels)),
            "angles_csv": write_csv(output_dir / f"{stem}_angles.csv",
                                    self.angles.columns("P_", "_per_deg", self.labels)),
            "rdf_png": save_figure(rdf_figure, output_dir / f"{stem}_rdf.png"),
            "angles_png": save_figure(angle_figure, output_dir / f"{stem}_angles.png"),
        }


def compare_structures(reference: StructureSummary, candidate: StructureSummary, *,
                       labels: tuple[str, str] = ("teacher", "student"),
                       tolerances: Tolerances = Tolerances()) -> StructureComparison:
    """Check ``candidate`` against ``reference``: first peaks, coordination, densities, and the curves.

    Both summaries must share species, r and angle grids and cutoffs (the same
    :func:`structure_summary` settings); otherwise :class:`InputDataError`.
    """
    _check_comparable(reference, candidate)
    tol, checks = tolerances, []
    for key, peak in reference.first_peaks.items():
        other = candidate.first_peaks[key]
        checks.append(Check("first_peak_position_A", key, peak.position_A, other.position_A,
                            tol.first_peak_position_A, relative=False))
        checks.append(Check("first_peak_height", key, peak.height, other.height, tol.first_peak_height_rel, True))
    for key, value in reference.coordination.items():
        checks.append(Check("coordination_number", key, value, candidate.coordination[key],
                            tol.coordination_abs, relative=False))
    for quantity in ("number_density_per_A3", "mass_density_g_per_cm3"):
        checks.append(Check(quantity, "", getattr(reference, quantity), getattr(candidate, quantity),
                            tol.density_rel, relative=True))
    g = compare_curves("r_A", reference.rdf.r_A, reference.rdf.g, candidate.rdf.g)
    angles = compare_curves("angle_deg", reference.angles.angles_deg, reference.angles.distributions,
                            candidate.angles.distributions)
    return StructureComparison(reference, candidate, tuple(labels), tolerances, checks, g, angles)


def _species_and_pairs(frames: Sequence[Atoms], cutoffs_A: Mapping[str, float]):
    """Atomic numbers present, and the cutoff pairs as (A, B); refuses what cannot be summarised."""
    if not len(frames):
        raise InputDataError("structure summary: no frames given")
    for index, atoms in enumerate(frames):
        if not all(atoms.pbc):  # g(r) and densities are normalised by the volume of a periodic cell
            raise InputDataError(f"structure summary: frame {index} is not periodic in x, y and z (pbc={atoms.pbc})")
    species = sorted({int(z) for atoms in frames for z in atoms.numbers})
    symbols = {chemical_symbols[z] for z in species}
    pairs = [tuple(key.split("-")) for key in cutoffs_A]
    for key, pair in zip(cutoffs_A, pairs):
        if len(pair) != 2 or not set(pair) <= symbols:
            raise InputDataError(f"structure summary: cutoffs_A key {key!r}: expected 'A-B' with A and B "
                                 f"among the frames' species {sorted(symbols)}")
    if not pairs:
        raise InputDataError("structure summary: cutoffs_A is empty; give a bond cutoff per pair, e.g. {'Sb-Te': 3.6}")
    return species, pairs


def _mean_coordination(frames, species, pairs, cutoffs_A) -> dict[str, float]:
    """Mean B neighbours of an A atom for each listed pair, both ways round, averaged over frames."""
    # Unlisted pairs get the largest cutoff only so the options validate; their counts are dropped.
    options = CoordinationOptions(cutoff_A=max(cutoffs_A.values()), pair_cutoffs_A=dict(cutoffs_A))
    result = coordination_of_frames(frames_from_atoms(frames), species, options)
    keys = dict.fromkeys(f"{a}-{b}" for first, second in pairs for a, b in ((first, second), (second, first)))
    return {key: float(np.mean(result.mean[key])) for key in keys}


def _given(**values) -> dict:
    """Only the options a caller set, so the option models' own defaults apply to the rest."""
    return {name: value for name, value in values.items() if value is not None}


def _check_comparable(reference: StructureSummary, candidate: StructureSummary) -> None:
    ref, cand = reference, candidate
    problems = [message for differs, message in (
        (ref.rdf.species != cand.rdf.species, f"species {ref.rdf.species} vs {cand.rdf.species}"),
        (not _same_grid(ref.rdf.edges_A, cand.rdf.edges_A), "r grids differ (r_max_A, bin_width_A)"),
        (not _same_grid(ref.angles.angles_deg, cand.angles.angles_deg), "angle grids differ (angle_bin_width_deg)"),
        ((ref.cutoffs_A, ref.angle_cutoff_A) != (cand.cutoffs_A, cand.angle_cutoff_A), "cutoffs differ"),
    ) if differs]
    if problems:
        raise InputDataError(f"cannot compare structure summaries: {'; '.join(problems)}")


def _same_grid(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b)


def _overlay_figure(curves: CurveComparison, labels: tuple[str, str], xlabel: str, ylabel: str, unit: str,
                    titles: dict[str, str]):
    """One panel per curve: reference solid, candidate dashed, the largest difference marked."""
    columns = min(len(curves.reference), 3)
    figure = new_figure(3.6 * columns, 2.8 * math.ceil(len(curves.reference) / columns))
    axes = figure.subplots(math.ceil(len(curves.reference) / columns), columns, squeeze=False).ravel()
    for axis, key in zip(axes, curves.reference):
        axis.plot(curves.grid, curves.reference[key], color="k", lw=1.4, label=labels[0])
        axis.plot(curves.grid, curves.candidate[key], color="tab:red", lw=1.2, ls="--", label=labels[1])
        worst = curves.differences[key]
        axis.axvline(worst.at, color="tab:blue", lw=0.8, ls=":")
        axis.text(0.97, 0.95, f"max |Δ| {worst.max_abs_difference:.3g}\nat {worst.at:.3g} {unit}",
                  transform=axis.transAxes, ha="right", va="top", fontsize="x-small", color="tab:blue")
        axis.set_title(titles[key], fontsize="small")
        axis.set(xlabel=xlabel, ylabel=ylabel)
    for axis in axes[len(curves.reference):]:
        axis.set_visible(False)
    axes[0].legend(fontsize="x-small", loc="center right")
    return figure

"""Option models of every analysis: what ``simkit analyse`` flags and Python callers set.

Kept apart from the numerical modules so that building the CLI (and validating
options) imports only pydantic. Every model derives from :class:`FrameSelection`;
units are in the key names and defaults are documented here, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from simkit.config.schema import ExistingFile, Schema, resolve_path
from simkit.errors import InputDataError

REFERENCE_LATTICES = ("sc", "fcc", "bcc", "hcp", "diamond", "zincblende", "rocksalt")
# Far past any useful resolution (6 Å at 6 µÅ); more would only exhaust memory.
MAX_RDF_BINS = 1_000_000


class FrameSelection(Schema):
    """Frames ``start:stop:stride`` (indices) within an optional time window (ps)."""

    start: int = Field(default=0, description="first frame index (negative counts from the end)")
    stop: int | None = Field(default=None, description="frame index to stop before (default: the end)")
    stride: int = Field(default=1, ge=1, description="use every stride-th frame")
    start_ps: float | None = Field(default=None, description="skip frames before this time (ps)")
    stop_ps: float | None = Field(default=None, description="skip frames after this time (ps)")

    @model_validator(mode="after")
    def _window(self) -> "FrameSelection":
        if self.start_ps is not None and self.stop_ps is not None and self.stop_ps < self.start_ps:
            raise ValueError(f"stop_ps ({self.stop_ps}) is before start_ps ({self.start_ps})")
        return self

    def indices(self, trajectory) -> np.ndarray:
        """Selected frame indices; an empty selection is an error naming the file."""
        chosen = np.arange(len(trajectory))[self.start:self.stop:self.stride]
        times = trajectory.times_ps[chosen]
        if (self.start_ps is not None or self.stop_ps is not None) and not np.isfinite(times).all():
            # NaN times (a file without them, e.g. extended XYZ without time_ps) would silently select nothing.
            raise InputDataError(f"{trajectory.path}: frames carry no time, so start_ps/stop_ps cannot select "
                                 "them; select by start/stop/stride")
        if self.start_ps is not None:
            chosen = chosen[times >= self.start_ps]
            times = trajectory.times_ps[chosen]
        if self.stop_ps is not None:
            chosen = chosen[times <= self.stop_ps]
        if len(chosen) == 0:
            raise InputDataError(
                f"{trajectory.path}: no frames selected ({len(trajectory)} frames, "
                f"{trajectory.times_ps[0] if len(trajectory) else 0:g}-"
                f"{trajectory.times_ps[-1] if len(trajectory) else 0:g} ps; selection {self.selection_text()})"
            )
        return chosen

    def selection_text(self) -> str:
        parts = [f"{self.start}:{'' if self.stop is None else self.stop}:{self.stride}"]
        if self.start_ps is not None or self.stop_ps is not None:
            parts.append(f"{self.start_ps if self.start_ps is not None else ''}-"
                         f"{self.stop_ps if self.stop_ps is not None else ''} ps")
        return ", ".join(parts)


class RdfOptions(FrameSelection):
    """Partial radial distribution functions g_ab(r) and running coordination numbers."""

    r_max_A: float = Field(default=6.0, gt=0, description="largest distance (Å)")
    bin_width_A: float = Field(default=0.02, gt=0, description="histogram bin width (Å)")
    memory_MiB: float = Field(
        default=4096.0, gt=0, description="largest estimated memory of one frame's cell padded with the periodic "
        "images within r_max_A (MiB); a frame estimated above it is refused before the images are made"
    )

    @model_validator(mode="after")
    def _bins(self) -> "RdfOptions":
        bins = self.r_max_A / self.bin_width_A
        if bins > MAX_RDF_BINS:
            raise ValueError(f"r_max_A / bin_width_A = {bins:.3g} histogram bins; at most {MAX_RDF_BINS:.0e}")
        return self


class CutoffOptions(FrameSelection):
    """Neighbour cutoffs shared by the angle and coordination analyses."""

    cutoff_A: float = Field(default=3.0, gt=0, description="neighbour cutoff for every pair (Å)")
    pair_cutoffs_A: dict[str, float] = Field(
        default_factory=dict, description='per-pair cutoffs overriding cutoff_A, e.g. {"Ge-Te": 3.2} (Å)'
    )
    memory_MiB: float = Field(
        default=4096.0, gt=0, description="largest estimated memory of one frame's neighbour search (and, for "
        "angles, its triplets) (MiB); a frame estimated above it is refused before the search starts"
    )

    @field_validator("pair_cutoffs_A")
    @classmethod
    def _pairs(cls, value: dict[str, float]) -> dict[str, float]:
        from ase.data import chemical_symbols  # here, not at the top: building the CLI imports only pydantic

        for key, cutoff in value.items():
            if len(key.split("-")) != 2 or cutoff <= 0:
                raise ValueError(f"pair cutoff {key!r}: {cutoff}: expected 'A-B': positive distance")
            unknown = [name for name in key.split("-") if name not in chemical_symbols[1:]]
            if unknown:
                raise ValueError(f"pair cutoff {key!r}: {', '.join(map(repr, unknown))} is not an element symbol")
        return value


class AngleOptions(CutoffOptions):
    """Bond-angle distributions by triplet species (neighbours within cutoffs)."""

    bin_width_deg: float = Field(default=1.0, gt=0, le=30, description="histogram bin width (degrees)")


class CoordinationOptions(CutoffOptions):
    """Coordination numbers per species pair (neighbours within cutoffs), per frame."""


class MsdOptions(FrameSelection):
    """Mean squared displacement per species over all time origins (FFT), streamed in atom blocks."""

    memory_MiB: float = Field(default=1024.0, gt=0, description="memory budget for one block of atoms (MiB)")
    remove_drift: bool = Field(default=False, description="subtract the centre-of-mass displacement per frame")


class ProfileOptions(FrameSelection):
    """Number density, mass density and composition in slabs along a cell vector."""

    axis: int = Field(default=2, ge=0, le=2, description="cell vector to profile along (0, 1, 2 = a, b, c)")
    bins: int = Field(default=50, ge=1, description="number of slabs")


class CrystallinityOptions(FrameSelection):
    """Crystal-like atoms (SOAP similarity to a reference crystal, or ten Wolde solid-like bonds) and the crystalline fraction per frame and slab."""

    method: Literal["soap", "bond_order"] = Field(default="soap", description="soap or bond_order")
    reference_file: ExistingFile | None = Field(default=None, description="reference crystal (any ASE format)")
    reference_lattice: str | None = Field(
        default=None, description="reference crystal as 'LATTICE ELEMENT a_A', e.g. 'fcc Cu 3.615'"
    )
    threshold: float = Field(default=0.57, gt=0, lt=1, description="SOAP similarity above which an atom is crystal-like")
    soap_cutoff_A: float = Field(default=5.0, gt=0, description="SOAP cutoff (Å)")
    soap_sigma_A: float = Field(default=0.4, gt=0, description="SOAP Gaussian width (Å)")
    soap_n_max: int = Field(default=8, ge=1, le=16, description="SOAP radial functions")
    soap_l_max: int = Field(default=6, ge=0, le=12, description="SOAP maximum degree")
    soap_zeta: float = Field(default=16.0, gt=0, description="SOAP kernel exponent")
    average_radius_A: float | None = Field(
        default=None, ge=0, description="average spectra over neighbours within this radius (Å); "
        "default 1.2 x the reference's nearest-neighbour distance; 0 turns averaging off")
    q_degree: int = Field(default=6, ge=1, le=12, description="bond_order: Steinhardt degree l")
    q_neighbours: int = Field(default=12, ge=0, description="bond_order: nearest neighbours (LAMMPS nnn; 0 = all in cutoff)")
    q_cutoff_A: float | None = Field(
        default=None, gt=0, description="bond_order: neighbour cutoff (Å); default from the reference crystal")
    bond_threshold: float = Field(default=0.7, description="bond_order: q̂·q̂ above which a bond is solid-like")
    min_solid_bonds: int = Field(default=7, ge=1, description="bond_order: solid-like bonds of a crystal-like atom")
    slab_axis: int = Field(default=2, ge=0, le=2, description="cell vector of the region slabs (0, 1, 2)")
    slabs: int = Field(default=1, ge=1, description="number of slab regions (1: whole cell only)")
    per_atom_scores: bool | None = Field(
        default=None, description="write every atom's score of every frame (default: when frames x atoms "
        "<= 5e7, i.e. 200 MB)")

    @model_validator(mode="after")
    def _reference(self) -> "CrystallinityOptions":
        if self.reference_file is not None and self.reference_lattice is not None:
            raise ValueError("give reference_file or reference_lattice, not both")
        if self.reference_lattice is not None:
            parse_lattice(self.reference_lattice)
        if self.method == "soap" and self.reference_file is None and self.reference_lattice is None:
            raise ValueError("the soap method needs reference_file or reference_lattice")
        if self.method == "bond_order" and self.q_cutoff_A is None and self.reference_file is None \
                and self.reference_lattice is None:
            raise ValueError("the bond_order method needs q_cutoff_A or a reference crystal to derive it from")
        return self

    def soap_parameters(self):
        # lazy: soap imports scipy; building the CLI from these models imports only pydantic
        from simkit.analysis.soap import SoapParameters

        return SoapParameters(cutoff_A=self.soap_cutoff_A, sigma_A=self.soap_sigma_A, n_max=self.soap_n_max,
                              l_max=self.soap_l_max, zeta=self.soap_zeta,
                              cutoff_width_A=min(1.0, self.soap_cutoff_A))


# The crystal-like criterion of the grain analysis is the crystallinity analysis's own: these fields are
# CrystallinityOptions' (same types, defaults, bounds and descriptions, written once, there).
_CRYSTAL = CrystallinityOptions.model_fields
GRAIN_CRYSTAL_KEYS = ("method", "reference_file", "reference_lattice", "threshold", "soap_cutoff_A", "soap_sigma_A",
                      "soap_n_max", "soap_l_max", "soap_zeta", "average_radius_A", "q_degree", "q_neighbours",
                      "q_cutoff_A", "bond_threshold", "min_solid_bonds")
# A diameter histogram per frame: 0.01 nm bins up to 100 nm; more is noise and memory.
MAX_DIAMETER_BINS = 10_000


class GrainOptions(FrameSelection):
    """Crystalline grains (crystal-like atoms of one Steinhardt orientation): count, diameters, nucleation events."""

    method: Literal["soap", "bond_order"] = Field(
        default="bond_order", description="crystal-like atoms by soap or bond_order (as the crystallinity analysis)")
    reference_file: ExistingFile | None = _CRYSTAL["reference_file"]
    reference_lattice: str | None = _CRYSTAL["reference_lattice"]
    threshold: float = _CRYSTAL["threshold"]
    soap_cutoff_A: float = _CRYSTAL["soap_cutoff_A"]
    soap_sigma_A: float = _CRYSTAL["soap_sigma_A"]
    soap_n_max: int = _CRYSTAL["soap_n_max"]
    soap_l_max: int = _CRYSTAL["soap_l_max"]
    soap_zeta: float = _CRYSTAL["soap_zeta"]
    average_radius_A: float | None = _CRYSTAL["average_radius_A"]
    q_degree: int = _CRYSTAL["q_degree"]
    q_neighbours: int = _CRYSTAL["q_neighbours"]
    q_cutoff_A: float | None = _CRYSTAL["q_cutoff_A"]
    bond_threshold: float = _CRYSTAL["bond_threshold"]
    min_solid_bonds: int = _CRYSTAL["min_solid_bonds"]
    link_cutoff_A: float | None = Field(
        default=None, gt=0, description="crystal-like atoms closer than this may share a grain (Å); default the "
        "bond_order neighbour cutoff (q_cutoff_A, else from the reference crystal, between its 1st and 2nd shells)")
    orientation_threshold: float = Field(
        default=0.8, gt=-1, lt=1, description="orientation coherence Re Σ_m q̂_lm(i) q̂_lm(j)* above which two "
        "linked crystal-like atoms belong to the same grain")
    min_grain_atoms: int = Field(
        default=20, ge=1, description="smaller connected clusters are not grains (counted as sub-critical clusters)")
    critical_nucleus_atoms: int | None = Field(
        default=None, ge=1, description="a new grain of at least this many atoms is a nucleation event "
        "(default: min_grain_atoms)")
    number_density_per_A3: float | None = Field(
        default=None, gt=0, description="crystal number density for equivalent diameters (atoms/Å^3); "
        "default each frame's atoms / cell volume")
    diameter_bin_nm: float = Field(default=0.5, gt=0, description="bin width of the diameter histogram (nm)")
    diameter_max_nm: float = Field(
        default=50.0, gt=0, description="upper edge of the diameter histogram (nm); larger grains count in its last "
        "bin")
    per_atom_ids: bool | None = Field(
        default=None, description="write every atom's grain id of every frame (-1: none; default: when frames x "
        "atoms <= 5e7, i.e. 200 MB)")

    @model_validator(mode="after")
    def _criterion(self) -> "GrainOptions":
        if self.reference_file is None and self.reference_lattice is None and self.q_cutoff_A is None:
            raise ValueError("grains need a reference crystal to derive their cutoffs from: give reference_lattice "
                             "(e.g. 'fcc Cu 3.615') or reference_file, or q_cutoff_A")
        self.crystallinity_options()  # the crystallinity analysis's own checks of the criterion
        if self.critical_nucleus_atoms is not None and self.critical_nucleus_atoms < self.min_grain_atoms:
            raise ValueError(f"critical_nucleus_atoms ({self.critical_nucleus_atoms}) is below min_grain_atoms "
                             f"({self.min_grain_atoms}): only grains can be nucleation events")
        bins = self.diameter_max_nm / self.diameter_bin_nm
        if bins > MAX_DIAMETER_BINS:
            raise ValueError(f"diameter_max_nm / diameter_bin_nm = {bins:.3g} histogram bins; "
                             f"at most {MAX_DIAMETER_BINS}")
        return self

    @property
    def nucleus_atoms(self) -> int:
        return self.min_grain_atoms if self.critical_nucleus_atoms is None else self.critical_nucleus_atoms

    def crystallinity_options(self) -> CrystallinityOptions:
        """The crystal-like criterion as the crystallinity analysis's options (whole cell, no slabs)."""
        data = {key: getattr(self, key) for key in GRAIN_CRYSTAL_KEYS}
        try:
            return CrystallinityOptions.model_validate(data)
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc


class DefectOptions(FrameSelection):
    """Wigner-Seitz vacancies, interstitials, antisites and Frenkel pairs, their clusters and extent, per frame."""

    reference: str = Field(
        default="first", description="perfect lattice whose atoms are the sites: 'first' (the trajectory's frame 0, "
        "whatever frames are selected) or a structure file ASE reads (its first structure)")
    cutoff_A: float | None = Field(
        default=None, gt=0, description="defects closer than this join one cluster (Å); default halfway between "
        "the reference's 2nd and 3rd neighbour shells")

    @field_validator("reference")
    @classmethod
    def _reference_file(cls, value: str, info: ValidationInfo) -> str:
        if value == "first":
            return value
        path = resolve_path(value, Path((info.context or {}).get("base_dir", ".")))
        if not path.is_file():
            raise ValueError(f"file not found: {path} (give 'first' or a structure file)")
        return str(path)


def parse_lattice(text: str):
    """'fcc Cu 3.615' -> the primitive crystal (ase.build.bulk)."""
    from ase.build import bulk  # lazy: ase.build takes ~0.5 s (scipy); building the CLI imports only pydantic

    words = text.split()
    if len(words) != 3 or words[0] not in REFERENCE_LATTICES:
        raise ValueError(f"reference_lattice {text!r}: expected 'LATTICE ELEMENT a_A' with LATTICE in {REFERENCE_LATTICES}")
    try:
        return bulk(words[1], words[0], a=float(words[2]))
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ValueError(f"reference_lattice {text!r}: {exc}") from exc

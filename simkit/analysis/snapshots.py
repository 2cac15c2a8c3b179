"""Publication-style PNG snapshots of a frame, atoms coloured by crystal-like / amorphous-like.

The cell is seen side on with z vertical (the device's growth direction), in
nm, at equal aspect. Looking along x (``view_axis=0``) the viewer sits at +x
and y runs to the right; along y (``view_axis=1``) the viewer sits at -y and
x runs to the right, so neither view is mirrored. Atoms are drawn back to
front so nearer atoms cover farther ones; ``slab_thickness_A`` keeps only a
slab through the cell centre, which shows the interface without the atoms
behind it. Discs are sized from covalent radii in the axes' own scale, so an
atom looks the same size in any figure. Phase sets the colour, species a
lighter shade of it (by atomic number). The output depends only on the input
(no randomness, no timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase.data import chemical_symbols, covalent_radii
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D

from simkit.analysis.neighbors import wrap_into_cell
from simkit.analysis.output import new_figure, save_figure
from simkit.errors import InputDataError
from simkit.io.trajectory import open_trajectory
from simkit.units import A_PER_NM

CRYSTAL_COLOUR = "#2166ac"
AMORPHOUS_COLOUR = "#d6604d"
SPECIES_SHADES = (0.0, 0.45, 0.7)  # mix towards white for the 1st, 2nd, 3rd species (then repeat)
LINE_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)))
# view axis -> (horizontal coordinate, sign that makes depth grow towards the viewer)
_VIEWS = {0: (1, 1.0), 1: (0, -1.0)}
_EDGE = "#303030"


@dataclass
class SnapshotResult:
    """What one picture shows: its file and how many atoms of each phase it drew."""

    path: Path
    atoms_drawn: int
    crystal_drawn: int
    amorphous_drawn: int


@dataclass
class FramesResult:
    snapshots: list[SnapshotResult]
    strip_path: Path
    strip_panels: int


@dataclass
class _Scene:
    """Atoms projected onto the picture plane (nm), farthest first."""

    horizontal_nm: np.ndarray
    vertical_nm: np.ndarray
    crystal: np.ndarray
    numbers: np.ndarray
    diameter_nm: np.ndarray
    extent_nm: tuple[float, float, float, float]  # left, right, bottom, top
    horizontal_label: str


def crystal_flags(values: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Boolean crystal-like flags from flags, 0/1 values (as stored in H5MD) or scores above ``threshold``."""
    values = np.asarray(values)
    if values.dtype == bool:
        return values
    values = values.astype(float)
    if np.isnan(values).any():
        raise InputDataError(f"crystal-like values: {int(np.isnan(values).sum())} atoms have NaN "
                             "(not recorded in this stage?)")
    if threshold is not None:
        return values > threshold
    if not np.isin(values, (0.0, 1.0)).all():
        raise InputDataError("crystal-like values are scores, not 0/1 flags: give a threshold")
    return values == 1.0


def _scene(positions_A, cell_A, crystal, numbers, view_axis: int, slab_thickness_A: float | None,
           pbc, atom_scale: float) -> _Scene:
    if view_axis not in _VIEWS:
        raise InputDataError(f"view_axis {view_axis}: expected 0 (look along x) or 1 (along y); z stays vertical")
    cell = np.asarray(cell_A, dtype=float)
    positions = wrap_into_cell(np.asarray(positions_A, dtype=float), cell, pbc)
    numbers = np.asarray(numbers)
    if not len(positions) == len(crystal) == len(numbers):
        raise InputDataError(f"snapshot: {len(positions)} positions, {len(crystal)} crystal flags, "
                             f"{len(numbers)} atomic numbers")
    horizontal, sign = _VIEWS[view_axis]
    keep = np.ones(len(positions), dtype=bool)
    if slab_thickness_A is not None:
        centre = 0.5 * cell[:, view_axis].sum()
        keep = np.abs(positions[:, view_axis] - centre) <= 0.5 * slab_thickness_A
    order = np.nonzero(keep)[0]
    order = order[np.argsort(sign * positions[order, view_axis], kind="stable")]  # far first, near last
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) @ cell
    extent = (corners[:, horizontal].min(), corners[:, horizontal].max(), corners[:, 2].min(), corners[:, 2].max())
    return _Scene(
        horizontal_nm=positions[order, horizontal] / A_PER_NM, vertical_nm=positions[order, 2] / A_PER_NM,
        crystal=np.asarray(crystal, dtype=bool)[order], numbers=numbers[order],
        diameter_nm=2 * atom_scale * covalent_radii[numbers[order]] / A_PER_NM,
        extent_nm=tuple(float(e) / A_PER_NM for e in extent), horizontal_label="xy"[horizontal],
    )


def _face_colour(crystal: bool, rank: int) -> np.ndarray:
    base = np.array(to_rgb(CRYSTAL_COLOUR if crystal else AMORPHOUS_COLOUR))
    shade = SPECIES_SHADES[rank % len(SPECIES_SHADES)]
    return base + (1.0 - base) * shade


def _line_styles(labels) -> dict[str, object]:
    """One dash pattern per line label, in first-seen order, shared by every panel and the legend."""
    return {label: LINE_STYLES[k % len(LINE_STYLES)] for k, label in enumerate(dict.fromkeys(labels))}


def _draw(ax, scene: _Scene, species: Sequence[int], lines_z_A: Mapping[str, float], styles: Mapping,
          title: str | None):
    rank = {z: k for k, z in enumerate(species)}
    colours = np.array([_face_colour(c, rank[int(z)]) for c, z in zip(scene.crystal, scene.numbers)]).reshape(-1, 3)
    collection = ax.scatter(scene.horizontal_nm, scene.vertical_nm, s=1.0, c=colours, edgecolors=_EDGE,
                            linewidths=0.3)
    for label, z_A in lines_z_A.items():
        ax.axhline(z_A / A_PER_NM, color="k", lw=1.2, ls=styles[label], label=label)
    left, right, bottom, top = scene.extent_nm
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{scene.horizontal_label} (nm)")
    if title:
        ax.set_title(title, fontsize="medium")
    return collection


def _size_markers(figure, drawn: Sequence[tuple]) -> None:
    """Set disc diameters in points once the layout has fixed each axes' scale (points per nm)."""
    figure.draw_without_rendering()
    for ax, collection, scene in drawn:
        bottom, top = ax.get_ylim()
        points_per_nm = ax.bbox.height / (top - bottom) * 72.0 / figure.dpi
        collection.set_sizes((scene.diameter_nm * points_per_nm) ** 2)


def _legend(figure, species: Sequence[int], styles: Mapping) -> None:
    handles = []
    for crystal, phase in ((True, "crystal-like"), (False, "amorphous-like")):
        for k, z in enumerate(species):
            handles.append(Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor=_face_colour(crystal, k),
                                  markeredgecolor=_EDGE, markeredgewidth=0.3,
                                  label=f"{phase} {chemical_symbols[z]}"))
    for label, style in styles.items():
        handles.append(Line2D([], [], color="k", lw=1.2, ls=style, label=label))
    figure.legend(handles=handles, loc="outside right upper", fontsize="small", frameon=False)


def _figure(scenes: Sequence[_Scene], height_in: float):
    """A figure of panels side by side at equal aspect, plus room for the legend on the right."""
    widths = [max(1.7, 0.85 * height_in * (s.extent_nm[1] - s.extent_nm[0]) / (s.extent_nm[3] - s.extent_nm[2]))
              for s in scenes]
    return new_figure(sum(widths) + 2.2, height_in)


def _result(path: Path, collection, species: Sequence[int]) -> SnapshotResult:
    """Counts read back from the colours actually given to the discs, not from the input flags."""
    faces = np.asarray(collection.get_facecolors())[:, :3]
    shades = np.array([_face_colour(True, k) for k in range(len(species))])
    crystal = int(np.isclose(faces[:, None, :], shades[None]).all(axis=2).any(axis=1).sum())
    return SnapshotResult(path, len(faces), crystal, len(faces) - crystal)


def render_snapshot(positions_A: np.ndarray, cell_A: np.ndarray, crystal_like: np.ndarray, numbers: np.ndarray,
                    path: str | Path, *, threshold: float | None = None, view_axis: int = 0,
                    slab_thickness_A: float | None = None, lines_z_A: Mapping[str, float] | None = None,
                    title: str | None = None, pbc=(True, True, True), height_in: float = 6.0,
                    atom_scale: float = 0.8, dpi: int = 200) -> SnapshotResult:
    """Draw one frame to the PNG ``path``; positions and cell in Å, axes in nm.

    ``crystal_like``: per-atom flags, 0/1 values, or scores with ``threshold``
    (crystal-like above it). ``slab_thickness_A``: draw only atoms within this
    thickness (Å) around the cell centre along the view axis (default: all).
    ``lines_z_A``: labelled horizontal lines, e.g. ``{"interface": 31.2}`` (Å).
    ``atom_scale``: disc diameter as a fraction of twice the covalent radius.
    """
    flags = crystal_flags(crystal_like, threshold)
    scene = _scene(positions_A, cell_A, flags, numbers, view_axis, slab_thickness_A, pbc, atom_scale)
    lines = dict(lines_z_A or {})
    species = sorted(set(np.asarray(numbers).tolist()))
    figure = _figure([scene], height_in)
    ax = figure.add_subplot()
    styles = _line_styles(lines)
    collection = _draw(ax, scene, species, lines, styles, title)
    ax.set_ylabel("z (nm)")
    _legend(figure, species, styles)
    _size_markers(figure, [(ax, collection, scene)])
    return _result(save_figure(figure, Path(path), dpi=dpi), collection, species)


def render_frames(trajectory_path: str | Path, frame_indices: Sequence[int],
                  crystal_like_per_frame: Sequence[np.ndarray] | None, out_dir: str | Path, *,
                  labels: Sequence[str] | None = None, threshold: float | None = None, view_axis: int = 0,
                  slab_thickness_A: float | None = None,
                  lines_z_A: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
                  stem: str = "snapshot", height_in: float = 6.0, atom_scale: float = 0.8,
                  dpi: int = 200) -> FramesResult:
    """One PNG per chosen frame (``{stem}_frame{index:05d}.png``) and a strip of them (``{stem}_strip.png``).

    ``crystal_like_per_frame``: one array per chosen frame (see
    :func:`render_snapshot`), or None to use the per-atom ``crystalline``
    array the MD driver recorded in the trajectory. Each panel is titled with
    its label (e.g. "after RESET"), time (ps) and crystalline fraction of all
    atoms. ``lines_z_A``: one mapping for every frame, or one per frame (Å).
    """
    indices = [int(i) for i in frame_indices]
    for name, given in (("crystal_like_per_frame", crystal_like_per_frame), ("labels", labels)):
        if given is not None and len(given) != len(indices):
            raise InputDataError(f"render_frames: {len(given)} {name} for {len(indices)} frames")
    per_frame_lines = [dict(m) for m in lines_z_A] if isinstance(lines_z_A, Sequence) \
        else [dict(lines_z_A or {})] * len(indices)
    if len(per_frame_lines) != len(indices):
        raise InputDataError(f"render_frames: {len(per_frame_lines)} mappings of lines_z_A for {len(indices)} frames")
    out_dir = Path(out_dir)
    scenes, titles, snapshots = [], [], []
    with open_trajectory(trajectory_path) as trajectory:
        if crystal_like_per_frame is None and "crystalline" not in trajectory.per_atom_names:
            raise InputDataError(f"{trajectory.path}: no per-atom 'crystalline' array; record it in the protocol "
                                 "or pass crystal_like_per_frame")
        species = sorted(set(trajectory.numbers.tolist()))
        for k, index in enumerate(indices):
            frame = trajectory.frame(index, velocities=False, forces=False,
                                     per_atom=() if crystal_like_per_frame is not None else ("crystalline",))
            values = frame.per_atom["crystalline"] if crystal_like_per_frame is None else crystal_like_per_frame[k]
            try:
                flags = crystal_flags(values, threshold)
            except InputDataError as exc:
                raise InputDataError(f"{trajectory.path}: frame {frame.index}: {exc}") from exc
            label = f"{labels[k]}\n" if labels is not None else ""
            titles.append(f"{label}t = {frame.time_ps:g} ps\ncrystalline {100 * flags.mean():.0f} %")
            scenes.append(_scene(frame.positions_A, frame.cell_A, flags, frame.numbers, view_axis,
                                 slab_thickness_A, frame.pbc, atom_scale))
            path = out_dir / f"{stem}_frame{frame.index:05d}.png"
            snapshots.append(render_snapshot(frame.positions_A, frame.cell_A, flags, frame.numbers, path,
                                             view_axis=view_axis, slab_thickness_A=slab_thickness_A,
                                             lines_z_A=per_frame_lines[k], title=titles[-1], pbc=frame.pbc,
                                             height_in=height_in, atom_scale=atom_scale, dpi=dpi))
    strip_path, panels = _strip(scenes, titles, species, per_frame_lines, out_dir / f"{stem}_strip.png",
                                height_in, dpi)
    return FramesResult(snapshots, strip_path, panels)


def _strip(scenes, titles, species, per_frame_lines, path: Path, height_in: float, dpi: int) -> tuple[Path, int]:
    figure = _figure(scenes, height_in)
    axes = figure.subplots(1, len(scenes), sharey=True, squeeze=False)[0]
    styles = _line_styles(label for lines in per_frame_lines for label in lines)
    drawn = [(ax, _draw(ax, scene, species, lines, styles, title), scene)
             for ax, scene, title, lines in zip(axes, scenes, titles, per_frame_lines)]
    axes[0].set_ylabel("z (nm)")
    _legend(figure, species, styles)
    _size_markers(figure, drawn)
    return save_figure(figure, path, dpi=dpi), len(axes)

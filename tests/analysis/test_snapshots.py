"""Snapshots coloured by crystallinity: valid PNGs, the right atoms in each colour, one strip panel per frame."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from matplotlib.colors import to_rgb
from PIL import Image

from simkit.analysis.snapshots import (
    AMORPHOUS_COLOUR,
    CRYSTAL_COLOUR,
    crystal_flags,
    render_frames,
    render_snapshot,
)
from simkit.errors import InputDataError
from simkit.io import H5mdWriter, PerAtomSpec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cell_with_front(rng):
    """Cu (3x3x12 cubic cells, 432 atoms) rattled above z = 20 Å; crystal flags set by that front."""
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((3, 3, 12))
    crystal = atoms.positions[:, 2] < 20.0
    atoms.positions[~crystal] += rng.normal(0, 0.6, ((~crystal).sum(), 3))
    return atoms, crystal


def _rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def _pixels_of(path, colour: str) -> int:
    image = _rgb(path)
    return int((np.abs(image - np.round(np.array(to_rgb(colour)) * 255)).max(axis=2) <= 1).sum())


def test_snapshot_is_a_png_with_each_phase_in_its_colour(cell_with_front):
    atoms, crystal = cell_with_front
    result = render_snapshot(atoms.positions, np.array(atoms.cell), crystal, atoms.numbers, "snap.png",
                             lines_z_A={"interface": 20.0, "frozen top": 5.0}, title="test")
    data = result.path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000
    height, width, _ = _rgb(result.path).shape
    assert height > width > 0  # z (43 Å) is vertical, y (11 Å) horizontal
    assert result.atoms_drawn == len(atoms)
    assert result.crystal_drawn == crystal.sum() and result.amorphous_drawn == (~crystal).sum()
    assert _pixels_of(result.path, CRYSTAL_COLOUR) > 20_000 and _pixels_of(result.path, AMORPHOUS_COLOUR) > 20_000
    again = render_snapshot(atoms.positions, np.array(atoms.cell), crystal, atoms.numbers, "again.png",
                            lines_z_A={"interface": 20.0, "frozen top": 5.0}, title="test")
    assert again.path.read_bytes() == data  # deterministic


def test_a_slab_keeps_only_atoms_near_the_cell_centre_and_scores_take_a_threshold(cell_with_front):
    atoms, crystal = cell_with_front
    scores = np.where(crystal, 10.0, 2.0)
    cell = np.array(atoms.cell)
    result = render_snapshot(atoms.positions, cell, scores, atoms.numbers, "slab.png", threshold=6.5,
                             slab_thickness_A=3.0, view_axis=1)
    x = atoms.positions[:, 1] % cell[1, 1]  # view along y: the slab is around y = L/2
    inside = np.abs(x - 0.5 * cell[1, 1]) <= 1.5
    assert 0 < result.atoms_drawn == inside.sum() < len(atoms)
    assert result.crystal_drawn == (inside & crystal).sum()
    all_crystal = render_snapshot(atoms.positions, cell, np.ones(len(atoms)), atoms.numbers, "crystal.png")
    assert all_crystal.crystal_drawn == len(atoms) and all_crystal.amorphous_drawn == 0
    assert _pixels_of(all_crystal.path, AMORPHOUS_COLOUR) < 1000  # the legend's swatch only
    with pytest.raises(InputDataError, match="give a threshold"):
        crystal_flags(scores)
    with pytest.raises(InputDataError, match="view_axis 2"):
        render_snapshot(atoms.positions, cell, crystal, atoms.numbers, "top.png", view_axis=2)


def test_frames_from_a_trajectory_give_one_png_each_and_a_strip_with_one_panel_per_frame(cell_with_front):
    atoms, crystal = cell_with_front
    fronts_A = [40.0, 10.0, 15.0, 30.0]  # equilibrated, after RESET, after cooling, end of SET
    stored = []
    with H5mdWriter("run.h5md", per_atom=[PerAtomSpec("crystalline", "1")]) as writer:
        for k, front in enumerate(fronts_A):
            flags = (atoms.positions[:, 2] < front).astype(np.float32)
            stored.append(flags)
            writer.append_frame(step=1000 * k, time_ps=2.0 * k, positions_A=atoms.positions,
                                cell_A=np.array(atoms.cell), numbers=atoms.numbers, per_atom={"crystalline": flags})
    labels = ["equilibrated", "after RESET", "after cooling", "end of SET"]
    result = render_frames("run.h5md", [0, 1, 2, 3], None, "pictures", labels=labels,
                           lines_z_A=[{"interface": f} for f in fronts_A])
    assert result.strip_panels == 4 and len(result.snapshots) == 4
    assert [s.path.name for s in result.snapshots] == [f"snapshot_frame{k:05d}.png" for k in range(4)]
    for snapshot, flags in zip(result.snapshots, stored):
        assert snapshot.path.read_bytes().startswith(PNG_SIGNATURE)
        assert snapshot.crystal_drawn == flags.sum() and snapshot.amorphous_drawn == (flags == 0).sum()
    strip = result.strip_path.read_bytes()
    assert strip.startswith(PNG_SIGNATURE) and len(strip) > 50_000
    assert _rgb(result.strip_path).shape[1] > _rgb(result.snapshots[0].path).shape[1]
    given = render_frames("run.h5md", [3, 1], [crystal, ~crystal], "given", stem="given")
    assert given.strip_panels == 2
    assert given.snapshots[0].crystal_drawn == crystal.sum() and given.snapshots[1].crystal_drawn == (~crystal).sum()
    with pytest.raises(InputDataError, match="1 crystal_like_per_frame for 2 frames"):
        render_frames("run.h5md", [3, 1], [crystal], "bad")


def test_frames_without_recorded_crystallinity_are_refused(cell_with_front):
    atoms, _ = cell_with_front
    with H5mdWriter("plain.h5md", per_atom=[PerAtomSpec("crystalline", "1")]) as writer:
        writer.append_frame(step=0, time_ps=0.0, positions_A=atoms.positions, cell_A=np.array(atoms.cell),
                            numbers=atoms.numbers,
                            per_atom={"crystalline": np.full(len(atoms), np.nan, dtype=np.float32)})
    with pytest.raises(InputDataError, match="frame 0: crystal-like values: 432 atoms have NaN"):
        render_frames("plain.h5md", [0], None, "out")

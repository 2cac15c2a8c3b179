"""`simkit.io.export`: extended XYZ and LAMMPS dumps read back by ASE, LAMMPS, OVITO, MDAnalysis and by hand."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from simkit.io import H5mdWriter, PerAtomSpec, open_trajectory
from simkit.io.export import export_trajectory
from simkit.units import A_PER_PS_PER_ASE_VELOCITY

# Zr before Cu: LAMMPS types follow atomic number (Cu 1, Zr 2), not the order of appearance.
SPECIES = ("Zr", "Cu")
TYPES = {"Cu": 1, "Zr": 2}
PER_ATOM = (PerAtomSpec("crystalline"), PerAtomSpec("region", dtype="int32"),
            PerAtomSpec("order", components=2, dtype="float64"))
# Triclinic, right-handed and not lower triangular, so the dump has to rotate it.
BASE_CELL_A = np.array([[9.0, 0.8, -0.5], [-0.6, 8.5, 0.7], [0.4, -0.3, 9.5]])
OPEN_Z = (True, True, False)


def write_trajectory(path: Path | str, rng, *, pbc=OPEN_Z, forces=True, frames=4, natoms=40) -> Path:
    """Atoms drifting across the periodic faces of a cell that changes every frame (images up to +-2);
    along an open axis they stay inside the cell (a LAMMPS box with `f` boundaries drops atoms outside)."""
    symbols = [SPECIES[k % 2] for k in range(natoms)]
    fractional = rng.random((natoms, 3))
    drift = rng.normal(0.0, 0.4, (natoms, 3))
    for axis in np.flatnonzero(~np.asarray(pbc)):
        fractional[:, axis] = 0.2 + 0.6 * fractional[:, axis]
        drift[:, axis] = 0.0
    with H5mdWriter(path, velocities=True, forces=forces, per_atom=PER_ATOM) as writer:
        for k in range(frames):
            cell = BASE_CELL_A * (1.0 + 0.01 * k)
            writer.append_frame(
                step=100 * k, time_ps=0.05 * k, positions_A=(fractional + k * drift) @ cell, cell_A=cell,
                symbols=symbols, pbc=pbc, velocities_A_per_ps=rng.normal(size=(natoms, 3)),
                forces_eV_per_A=rng.normal(size=(natoms, 3)) if forces else None,
                per_atom={"crystalline": rng.random(natoms).astype(np.float32),
                          "region": rng.integers(0, 4, natoms).astype(np.int32),
                          "order": rng.random((natoms, 2))})
    return Path(path)


def h5md_frames(path: Path) -> list:
    with open_trajectory(path) as trajectory:
        return list(trajectory)


@pytest.fixture(params=[OPEN_Z, (True, True, True)], ids=["open-z", "periodic"])
def trajectory(request, rng) -> Path:
    return write_trajectory("traj.h5md", rng, pbc=request.param)


# -- a LAMMPS dump read by hand, from the manual's description --------------------------------------
def parse_dump(path: Path) -> list[dict]:
    snapshots, pending = [], {}
    lines = iter(Path(path).read_text().splitlines())
    for line in lines:
        item = line.removeprefix("ITEM: ")
        if item in ("UNITS", "TIME"):
            pending[item.lower()] = next(lines)
        elif item == "TIMESTEP":
            snapshots.append({**pending, "step": int(next(lines))})
            pending = {}
        elif item == "NUMBER OF ATOMS":
            snapshots[-1]["natoms"] = int(next(lines))
        elif item.startswith("BOX BOUNDS"):
            words = item.split()[2:]
            rows = [[float(v) for v in next(lines).split()] for _ in range(3)]
            snapshots[-1]["pbc"] = [flag == "pp" for flag in words[-3:]]
            snapshots[-1]["cell"] = _cell_from_bounds(rows) if words[:3] == ["xy", "xz", "yz"] else np.diag(
                [hi - lo for lo, hi in rows])
        elif item.startswith("ATOMS"):
            names = item.split()[1:]
            rows = [next(lines).split() for _ in range(snapshots[-1]["natoms"])]
            snapshots[-1]["atoms"] = {name: [row[k] for row in rows] for k, name in enumerate(names)}
        else:
            raise AssertionError(f"unexpected line {line!r}")
    return snapshots


def _cell_from_bounds(rows) -> np.ndarray:
    (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = rows
    lx = (xhi_b - max(0.0, xy, xz, xy + xz)) - (xlo_b - min(0.0, xy, xz, xy + xz))
    ly = (yhi_b - max(0.0, yz)) - (ylo_b - min(0.0, yz))
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, zhi - zlo]])


def columns(snapshot: dict, *names: str, kind=float) -> np.ndarray:
    return np.array([snapshot["atoms"][name] for name in names], dtype=kind).T


def rotation_of(frame, dump_cell: np.ndarray) -> np.ndarray:
    """The rotation taking the H5MD cell to the dump's; a proper rotation, or the test fails."""
    rotation = np.linalg.solve(frame.cell_A, dump_cell)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert not np.allclose(rotation, np.eye(3))  # the cell was not lower triangular: it did rotate
    return rotation


# -- extended XYZ ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("unwrapped", [False, True])
def test_extxyz_reads_back_in_ase(trajectory, unwrapped):
    summary = export_trajectory(trajectory, "out.extxyz", unwrapped=unwrapped)
    frames = h5md_frames(trajectory)
    assert summary["frames"] == len(frames) == 4 and summary["atoms"] == 40
    assert summary["bytes"] == Path("out.extxyz").stat().st_size
    images = read("out.extxyz", index=":")
    assert len(images) == len(frames)
    for frame, atoms in zip(frames, images):
        truth = frame.unwrapped_positions_A if unwrapped else frame.positions_A
        np.testing.assert_allclose(atoms.positions, truth, rtol=0, atol=1e-10)  # written with %.10f
        np.testing.assert_array_equal(np.array(atoms.cell), frame.cell_A)
        assert tuple(atoms.pbc) == frame.pbc
        assert atoms.get_chemical_symbols() == frame.symbols
        # ASE keeps `velo` as a plain array, in the file's Å/ps (it converts only `momenta`).
        np.testing.assert_array_equal(atoms.arrays["velo"], frame.velocities_A_per_ps)
        np.testing.assert_array_equal(atoms.get_forces(), frame.forces_eV_per_A)
        np.testing.assert_array_equal(atoms.arrays["crystalline"].astype(np.float32), frame.per_atom["crystalline"])
        np.testing.assert_array_equal(atoms.arrays["region"], frame.per_atom["region"])
        np.testing.assert_array_equal(atoms.arrays["order"], frame.per_atom["order"])
        assert atoms.info["Step"] == frame.step and atoms.info["Time"] == pytest.approx(frame.time_ps)
    if unwrapped:
        assert any(np.abs(frame.images).max() > 0 for frame in frames)  # the test unwraps something
    # simkit's own reader takes step and time back (time_unit=ps beside Time).
    with open_trajectory("out.extxyz") as back:
        np.testing.assert_array_equal(back.steps, [f.step for f in frames])
        np.testing.assert_allclose(back.times_ps, [f.time_ps for f in frames])


# -- LAMMPS dump --------------------------------------------------------------------------------------
@pytest.mark.parametrize("unwrapped", [False, True])
def test_dump_parsed_by_hand_matches_the_frames_in_the_rotated_frame(trajectory, unwrapped):
    export_trajectory(trajectory, "out.lammpstrj", unwrapped=unwrapped)
    frames = h5md_frames(trajectory)
    snapshots = parse_dump(Path("out.lammpstrj"))
    assert [s["step"] for s in snapshots] == [f.step for f in frames]
    assert [float(s["time"]) for s in snapshots] == pytest.approx([f.time_ps for f in frames])
    assert snapshots[0]["units"] == "metal" and "units" not in snapshots[1]
    for frame, snapshot in zip(frames, snapshots):
        rotation = rotation_of(frame, snapshot["cell"])
        assert snapshot["pbc"] == list(frame.pbc)
        assert columns(snapshot, "id", kind=int).ravel().tolist() == list(range(1, frame.natoms + 1))
        assert snapshot["atoms"]["element"] == frame.symbols
        assert columns(snapshot, "type", kind=int).ravel().tolist() == [TYPES[s] for s in frame.symbols]
        if unwrapped:
            assert "ix" not in snapshot["atoms"]  # OVITO would unwrap twice
            np.testing.assert_allclose(columns(snapshot, "xu", "yu", "zu"), frame.unwrapped_positions_A @ rotation,
                                       rtol=0, atol=1e-10)
        else:
            np.testing.assert_allclose(columns(snapshot, "x", "y", "z"), frame.positions_A @ rotation,
                                       rtol=0, atol=1e-10)
            np.testing.assert_array_equal(columns(snapshot, "ix", "iy", "iz", kind=int), frame.images)
        np.testing.assert_allclose(columns(snapshot, "vx", "vy", "vz"), frame.velocities_A_per_ps @ rotation,
                                   atol=1e-12)
        np.testing.assert_allclose(columns(snapshot, "fx", "fy", "fz"), frame.forces_eV_per_A @ rotation,
                                   atol=1e-12)
        np.testing.assert_array_equal(columns(snapshot, "crystalline", kind=np.float32).ravel(),
                                      frame.per_atom["crystalline"])
        np.testing.assert_array_equal(columns(snapshot, "region", kind=int).ravel(), frame.per_atom["region"])
        np.testing.assert_array_equal(columns(snapshot, "order[1]", "order[2]"), frame.per_atom["order"])


def test_dump_reads_back_in_ase(trajectory):
    export_trajectory(trajectory, "out.dump")
    frames = h5md_frames(trajectory)
    images = read("out.dump", format="lammps-dump-text", index=":")
    assert len(images) == len(frames)
    for frame, snapshot, atoms in zip(frames, parse_dump(Path("out.dump")), images):
        rotation = rotation_of(frame, np.array(atoms.cell))
        np.testing.assert_allclose(np.array(atoms.cell), snapshot["cell"], atol=1e-12)
        np.testing.assert_allclose(atoms.positions, frame.positions_A @ rotation, atol=1e-9)
        assert atoms.get_chemical_symbols() == frame.symbols and tuple(atoms.pbc) == frame.pbc
        # ASE converts LAMMPS metal velocities (Å/ps) into its own unit.
        np.testing.assert_allclose(atoms.get_velocities() * A_PER_PS_PER_ASE_VELOCITY,
                                   frame.velocities_A_per_ps @ rotation, atol=1e-9)
        np.testing.assert_allclose(atoms.get_forces(), frame.forces_eV_per_A @ rotation, atol=1e-9)


def test_lammps_read_dump_takes_the_box_atoms_and_images(trajectory):
    from simkit.lammps.session import LammpsSession

    export_trajectory(trajectory, "out.dump")
    frame = h5md_frames(trajectory)[2]
    flags = " ".join("p" if periodic else "f" for periodic in frame.pbc)
    with LammpsSession() as session:
        session.commands(["units metal", "atom_style atomic", f"boundary {flags}",
                          "region box prism 0 1 0 1 0 1 0 0 0", "create_box 2 box", "mass * 1.0",
                          f"read_dump out.dump {frame.step} x y z ix iy iz vx vy vz box yes add keep"])
        cell = session.current_cell_lammps()
        rotation = rotation_of(frame, cell)
        assert session.natoms == frame.natoms
        assert session.gather("type", 1).tolist() == [TYPES[s] for s in frame.symbols]
        # LAMMPS may wrap an atom on a face into the box; position plus image is what it must keep.
        unwrapped = session.gather("x", 3) + session.image_flags() @ cell
        np.testing.assert_allclose(unwrapped, frame.unwrapped_positions_A @ rotation, atol=1e-9)
        np.testing.assert_allclose(session.gather("v", 3), frame.velocities_A_per_ps @ rotation, atol=1e-9)


def test_extxyz_input_converts_to_a_dump(rng):
    write_trajectory("traj.h5md", rng)
    export_trajectory("traj.h5md", "mid.extxyz")
    export_trajectory("mid.extxyz", "from_xyz.dump")
    export_trajectory("traj.h5md", "direct.dump")
    for via_xyz, direct in zip(parse_dump(Path("from_xyz.dump")), parse_dump(Path("direct.dump"))):
        # Extended XYZ has no image flags; positions went through one more 1e-10 Å rounding; the rest is exact.
        assert "ix" not in via_xyz["atoms"] and "ix" in direct["atoms"]
        np.testing.assert_array_equal(via_xyz["cell"], direct["cell"])
        np.testing.assert_allclose(columns(via_xyz, "x", "y", "z"), columns(direct, "x", "y", "z"), rtol=0, atol=2e-10)
        for name in ("fx", "fy", "fz", "element", "type", "region", "order[1]"):
            assert via_xyz["atoms"][name] == direct["atoms"][name], name
        assert (via_xyz["step"], via_xyz["time"]) == (direct["step"], direct["time"])


def test_per_atom_data_a_format_cannot_carry_is_left_out_with_a_warning():
    from ase import Atoms
    from ase.io import write

    atoms = Atoms("Cu2", positions=[[0, 0, 0], [1, 1, 1]], cell=[4, 4, 4], pbc=True)
    atoms.set_array("id", np.array([7, 9]))  # what OVITO writes for particle identifiers
    atoms.set_array("charge_e", np.array([0.5, -0.5]))
    write("in.extxyz", atoms)
    warnings = _Records()
    logger = logging.getLogger("simkit.io.export_columns")
    logger.addHandler(warnings)
    try:
        export_trajectory("in.extxyz", "out.dump")
    finally:
        logger.removeHandler(warnings)
    (snapshot,) = parse_dump(Path("out.dump"))
    assert snapshot["atoms"]["id"] == ["1", "2"] and snapshot["atoms"]["charge_e"] == ["0.5", "-0.5"]
    assert [m for m in warnings.messages if "'id' not exported" in m and "own column" in m]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# -- OVITO and MDAnalysis ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["out.extxyz", "out.dump"])
def test_ovito_reads_both_outputs(trajectory, name):
    pytest.importorskip("ovito")
    from ovito.io import import_file  # headless by default: no display or env var needed

    export_trajectory(trajectory, name)
    frames = h5md_frames(trajectory)
    pipeline = import_file(str(Path(name).resolve()))
    assert pipeline.num_frames == len(frames)
    for frame in frames:
        data = pipeline.compute(frame.index)
        particles = data.particles
        assert particles.count == frame.natoms
        types = particles.particle_types
        assert [types.type_by_id(t).name for t in types[...]] == frame.symbols
        cell = np.array(data.cell[...])[:, :3].T  # OVITO's columns are the cell vectors
        rotation = np.eye(3) if name.endswith(".extxyz") else rotation_of(frame, cell)
        np.testing.assert_allclose(cell, frame.cell_A @ rotation, atol=1e-9)
        assert tuple(data.cell.pbc) == frame.pbc
        np.testing.assert_allclose(particles.positions[...], frame.positions_A @ rotation, atol=1e-9)
        np.testing.assert_allclose(particles["Velocity"][...], frame.velocities_A_per_ps @ rotation, atol=1e-9)
        np.testing.assert_allclose(particles["crystalline"][...], frame.per_atom["crystalline"], rtol=1e-7)
        assert data.attributes["Timestep" if name.endswith(".dump") else "Step"] == frame.step


def test_mdanalysis_takes_elements_from_an_exported_first_frame(rng):
    mda = pytest.importorskip("MDAnalysis")
    write_trajectory("traj.h5md", rng, forces=False)  # MDAnalysis's H5MD reader refuses eV-based forces
    export_trajectory("traj.h5md", "top.xyz", frames=0)
    universe = mda.Universe("top.xyz", "traj.h5md")
    frames = h5md_frames(Path("traj.h5md"))
    copper = universe.select_atoms("element Cu")
    assert copper.indices.tolist() == [k for k, s in enumerate(frames[0].symbols) if s == "Cu"]
    assert len(universe.trajectory) == len(frames)
    universe.trajectory[2]
    np.testing.assert_allclose(copper.positions, frames[2].positions_A[copper.indices], atol=1e-4)  # float32

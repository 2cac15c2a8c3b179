"""The H5MD writer and reader: round trips, layout, observables, resume, errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from ase.build import bulk

from simkit.errors import InputDataError
from simkit.io import THERMO_OBSERVABLES, H5mdWriter, ObservableSpec, PerAtomSpec, open_trajectory


def _moving_frames(rng, frames=12):
    """A triclinic two-species cell whose atoms drift across the boundaries (unwrapped truth)."""
    atoms = bulk("NaCl", "rocksalt", 5.64).repeat((3, 2, 2))
    cell = np.array(atoms.cell)
    velocities = rng.normal(0.0, 3.0, (len(atoms), 3))
    truth = np.array([atoms.positions + velocities * k for k in range(frames)])
    return atoms, cell, truth


def test_numpy_frames_round_trip_exactly(rng):
    atoms, cell, truth = _moving_frames(rng)
    n = len(atoms)
    velocities = rng.normal(size=(len(truth), n, 3))
    forces = rng.normal(size=(len(truth), n, 3))
    extra = rng.random((len(truth), n)).astype(np.float32)
    with H5mdWriter("t.h5md", velocities=True, forces=True, per_atom=[PerAtomSpec("q6")]) as writer:
        for k, positions in enumerate(truth):
            writer.append_frame(step=100 * k, time_ps=0.1 * k, positions_A=positions, cell_A=cell,
                                symbols=atoms.get_chemical_symbols(), velocities_A_per_ps=velocities[k],
                                forces_eV_per_A=forces[k], per_atom={"q6": extra[k]})
    with open_trajectory("t.h5md") as traj:
        assert len(traj) == len(truth) and traj.natoms == n
        assert traj.species == ("Na", "Cl")
        np.testing.assert_array_equal(traj.steps, 100 * np.arange(len(truth)))
        np.testing.assert_allclose(traj.times_ps, 0.1 * np.arange(len(truth)))
        for k, frame in enumerate(traj):
            np.testing.assert_allclose(frame.unwrapped_positions_A, truth[k], rtol=0, atol=1e-12)
            np.testing.assert_array_equal(frame.cell_A, cell)
            np.testing.assert_array_equal(frame.velocities_A_per_ps, velocities[k])
            np.testing.assert_array_equal(frame.forces_eV_per_A, forces[k])
            np.testing.assert_array_equal(frame.per_atom["q6"], extra[k])
            assert frame.symbols == atoms.get_chemical_symbols()
        # Stored positions are wrapped (the images carry the rest).
        fractional = np.linalg.solve(cell.T, traj[-1].positions_A.T).T
        assert fractional.min() >= -1e-9 and fractional.max() < 1 + 1e-9
        assert np.abs(traj[-1].images).max() > 0
        block = traj.positions(slice(2, 9, 3), slice(5, 11))
        np.testing.assert_allclose(block, truth[2:9:3, 5:11], atol=1e-12)
        atoms_back = traj.to_atoms(3, unwrapped=True)
        np.testing.assert_allclose(atoms_back.positions, truth[3], atol=1e-12)
        np.testing.assert_allclose(atoms_back.get_forces(), forces[3])
        np.testing.assert_array_equal(traj.select(0.25, 0.65), [3, 4, 5, 6])


def test_layout_follows_h5md_and_every_dataset_has_units(rng):
    atoms, cell, truth = _moving_frames(rng, frames=3)
    provenance = {"seeds": {"velocity": 7}, "versions": {"lammps": "2025.7.22"}}
    with H5mdWriter("t.h5md", provenance=provenance, observables=THERMO_OBSERVABLES.values()) as writer:
        for k, positions in enumerate(truth):
            writer.append_frame(step=k, time_ps=k * 0.002, positions_A=positions, cell_A=cell,
                                symbols=atoms.get_chemical_symbols())
            writer.append_observables(step=k, time_ps=k * 0.002, values={"temperature": 300.0 + k})
    with h5py.File("t.h5md", "r") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["h5md/creator"].attrs["name"] == "simkit" and "name" in f["h5md/author"].attrs
        box = f["particles/trajectory/box"]
        assert box.attrs["dimension"] == 3 and [b.decode() if isinstance(b, bytes) else b
                                                for b in box.attrs["boundary"]] == ["periodic"] * 3
        position = f["particles/trajectory/position"]
        assert position["value"].attrs["unit"] == "Angstrom" and position["time"].attrs["unit"] == "ps"
        assert position["value"].compression == "gzip" and position["value"].shape == (3, len(atoms), 3)
        # One clock shared by every element of a frame (hard links).
        assert f["particles/trajectory/image/step"].id == position["step"].id
        assert f["simkit/thermo/temperature/value"].attrs["unit"] == "K"
        missing = []
        f.visititems(lambda name, obj: missing.append(name)
                     if isinstance(obj, h5py.Dataset) and "units" not in obj.attrs else None)
        assert missing == []
    with open_trajectory("t.h5md") as traj:
        assert traj.provenance()[0]["seeds"] == {"velocity": 7}
        temperature = traj.observables()["temperature"]
        np.testing.assert_array_equal(temperature["value"], [300.0, 301.0, 302.0])
        assert temperature["units"] == "K"
        assert np.isnan(traj.observables()["pressure"]["value"]).all()  # declared, never given


def test_thermo_dict_becomes_observables(rng):
    atoms, cell, truth = _moving_frames(rng, frames=2)
    thermo = {"step": 0, "time": 0.0, "temp": 450.0, "pe": -3.5, "press": 12.0, "vol": 99.0, "c_x[1]": 1.0}
    with H5mdWriter("t.h5md", observables=[ObservableSpec("temperature", "K"), ObservableSpec("pressure", "bar"),
                                           ObservableSpec("volume", "Angstrom3"),
                                           ObservableSpec("potential_energy", "eV")]) as writer:
        writer.append_thermo(thermo)
    with h5py.File("t.h5md", "r") as f:
        assert f["simkit/thermo/temperature/value"][0] == 450.0
        assert f["simkit/thermo/potential_energy/value"].attrs["units"] == "eV"
        assert "c_x[1]" not in f["simkit/thermo"]


def test_bad_frames_are_refused_with_the_step_named(rng):
    atoms, cell, truth = _moving_frames(rng, frames=3)
    symbols = atoms.get_chemical_symbols()
    with H5mdWriter("t.h5md", per_atom=[PerAtomSpec("region", dtype="int32")]) as writer:
        writer.append_frame(step=10, time_ps=0.01, positions_A=truth[0], cell_A=cell, symbols=symbols,
                            per_atom={"region": np.zeros(len(atoms), dtype=np.int32)})
        with pytest.raises(InputDataError, match="step 10: steps must increase"):
            writer.append_frame(step=10, time_ps=0.01, positions_A=truth[1], cell_A=cell, symbols=symbols,
                                per_atom={"region": np.zeros(len(atoms), dtype=np.int32)})
        with pytest.raises(InputDataError, match="step 20: .*per-atom 'region'"):
            writer.append_frame(step=20, time_ps=0.02, positions_A=truth[1], cell_A=cell, symbols=symbols)
        with pytest.raises(InputDataError, match="step 30: .*atoms / species differ"):
            writer.append_frame(step=30, time_ps=0.03, positions_A=truth[1][:-1], cell_A=cell, symbols=symbols[:-1],
                                per_atom={"region": np.zeros(len(atoms) - 1, dtype=np.int32)})
        with pytest.raises(ValueError, match="not declared"):
            writer.append_observables(step=40, time_ps=0.04, values={"enthalpy": 1.0})
        with pytest.raises(ValueError, match="observables=THERMO_OBSERVABLES.values()"):
            writer.append_thermo({"step": 40, "time": 0.04, "temp": 300.0})
    with open_trajectory("t.h5md") as traj:
        assert len(traj) == 1  # refused frames left nothing behind


def test_resume_drops_frames_after_the_restart_step(rng):
    atoms, cell, truth = _moving_frames(rng, frames=10)
    symbols = atoms.get_chemical_symbols()

    def write(writer, k):
        writer.append_frame(step=10 * k, time_ps=0.01 * k, positions_A=truth[k], cell_A=cell, symbols=symbols)
        writer.append_observables(step=10 * k, time_ps=0.01 * k, values={"temperature": float(k)})

    with H5mdWriter("t.h5md", provenance={"run": 1}, observables=[ObservableSpec("temperature", "K")]) as writer:
        for k in range(8):
            write(writer, k)
    # The restart file was written at step 45: frames 50..70 are repeated by the resumed run.
    with H5mdWriter("t.h5md", mode="resume", resume_after_step=45, provenance={"run": 2}) as writer:
        assert writer.frames == 5
        for k in range(5, 10):
            write(writer, k)
    with open_trajectory("t.h5md") as traj:
        np.testing.assert_array_equal(traj.steps, 10 * np.arange(10))
        np.testing.assert_array_equal(traj.observables()["temperature"]["step"], 10 * np.arange(10))
        for k in (4, 5, 9):
            np.testing.assert_allclose(traj[k].unwrapped_positions_A, truth[k], atol=1e-12)
        segments = traj.provenance()
        assert [s["run"] for s in segments] == [1, 2]
        assert segments[1]["_segment"] == {"resumed_after_step": 45, "first_frame": 5, "status": "finished"}
        assert segments[0]["_segment"]["status"] == "finished"
    with h5py.File("t.h5md", "r") as f:  # the frame spacing MDAnalysis reads survives the resume's truncation
        np.testing.assert_allclose(f["observables/dt/value"][...], np.full(10, 0.01), rtol=1e-12)
        np.testing.assert_array_equal(f["observables/dt/step"][...], 10 * np.arange(10))


def test_resume_refuses_a_different_layout(rng):
    atoms, cell, truth = _moving_frames(rng, frames=2)
    with H5mdWriter("t.h5md", velocities=True) as writer:
        writer.append_frame(step=0, time_ps=0.0, positions_A=truth[0], cell_A=cell,
                            symbols=atoms.get_chemical_symbols(), velocities_A_per_ps=np.zeros((len(atoms), 3)))
    with pytest.raises(InputDataError, match="has velocity data; resume with velocities=True"):
        H5mdWriter("t.h5md", mode="resume")
    with pytest.raises(InputDataError, match="no such trajectory"):
        H5mdWriter("missing.h5md", mode="resume")


def test_float32_positions_halve_precision_not_correctness(rng):
    atoms, cell, truth = _moving_frames(rng, frames=4)
    with H5mdWriter("t.h5md", position_dtype="float32", compression_level=0) as writer:
        for k, positions in enumerate(truth):
            writer.append_frame(step=k, time_ps=k, positions_A=positions, cell_A=cell,
                                symbols=atoms.get_chemical_symbols())
    with open_trajectory("t.h5md") as traj:
        np.testing.assert_allclose(traj[-1].unwrapped_positions_A, truth[-1], atol=1e-4)
        np.testing.assert_array_equal(traj[-1].images, np.floor(
            np.linalg.solve(cell.T, truth[-1].T).T).astype(int))


def test_provenance_and_time_origin_say_what_happened(rng):
    atoms, cell, truth = _moving_frames(rng, frames=2)

    def write(path, **options):
        with H5mdWriter(path, provenance={"status": "running", "seed": 1}, **options) as writer:
            writer.append_frame(step=0, time_ps=6.0, positions_A=truth[0], cell_A=cell,
                                symbols=atoms.get_chemical_symbols())
            return writer

    write("ok.h5md", time_origin="t = 0 ps is the start of the equilibration")
    with pytest.raises(RuntimeError, match="boom"):
        with H5mdWriter("bad.h5md", provenance={"status": "running"}):
            raise RuntimeError("boom")
    with open_trajectory("ok.h5md") as traj:
        assert traj.time_origin == "t = 0 ps is the start of the equilibration"
        [segment] = traj.provenance()
        assert segment["status"] == "finished" and segment["_segment"]["status"] == "finished"
    with h5py.File("bad.h5md", "r") as f:
        assert f["parameters/simkit/run_0"].attrs["status"] == "failed"
        assert '"status": "failed"' in f["parameters/simkit/run_0"].attrs["json"]
    with h5py.File("ok.h5md", "r") as f:
        assert np.isnan(f["observables/dt/value"][0])  # one frame: no spacing yet, not a made-up one

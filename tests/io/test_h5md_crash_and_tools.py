"""A killed writer leaves every flushed frame readable; other H5MD tools read simkit's files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from simkit.errors import InputDataError
from simkit.io import H5mdWriter, ObservableSpec, open_trajectory, recover

WRITER = """
import sys
import numpy as np
from simkit.io import H5mdWriter, ObservableSpec

natoms = int(sys.argv[2])
base = np.random.default_rng(0).uniform(0.0, 30.0, (natoms, 3))
cell = np.eye(3) * 30.0
with H5mdWriter(sys.argv[1], velocities=True, observables=[ObservableSpec("temperature", "K")]) as writer:
    for step in range(100000):
        writer.append_frame(step=step, time_ps=0.001 * step, positions_A=base + 0.01 * step, cell_A=cell,
                            symbols=["Cu"] * natoms, velocities_A_per_ps=np.full((natoms, 3), float(step)))
        writer.append_observables(step=step, time_ps=0.001 * step, values={"temperature": float(step)})
        print(step, flush=True)  # printed only after the frame was committed
"""


def _kill_after(folder, source: str, args: list, step: int) -> int:
    """Run ``source`` as a script with ``args``, SIGKILL it once it printed ``step``; returns the last printed."""
    script = folder / "writer.py"
    script.write_text(source)
    child = subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE, text=True)
    printed = -1
    try:
        for line in child.stdout:
            printed = int(line)
            if printed >= step:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL and printed >= step
    return printed


def test_sigkill_mid_run_keeps_every_committed_frame(tmp_path):
    path = tmp_path / "killed.h5md"
    natoms = 20000  # big frames: the kill very likely lands inside a write
    printed = _kill_after(tmp_path, WRITER, [path, natoms], 25)

    base = np.random.default_rng(0).uniform(0.0, 30.0, (natoms, 3))
    with open_trajectory(path) as traj:  # still flagged "open for writing": read in SWMR mode
        assert len(traj) >= printed + 1
        np.testing.assert_array_equal(traj.steps, np.arange(len(traj)))
        for frame in traj.frames(indices=[0, printed, len(traj) - 1]):
            np.testing.assert_allclose(frame.unwrapped_positions_A, base + 0.01 * frame.step, atol=1e-9)
            assert np.all(frame.velocities_A_per_ps == frame.step)
        assert len(traj.observables()["temperature"]["value"]) >= printed + 1
        frames = len(traj)

    # Resuming recovers the file and appends after the last kept frame.
    with H5mdWriter(path, mode="resume", resume_after_step=printed, velocities=True) as writer:
        assert writer.frames == printed + 1
        writer.append_frame(step=printed + 1, time_ps=0.0, positions_A=base, cell_A=np.eye(3) * 30.0,
                            symbols=["Cu"] * natoms, velocities_A_per_ps=np.zeros((natoms, 3)))
    with open_trajectory(path) as traj:
        np.testing.assert_array_equal(traj.steps, np.arange(printed + 2))
    assert frames >= printed + 1


def _write_small(path, rng, frames=5, forces=False, thermo=True):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", 3.615, orthorhombic=True).repeat((3, 2, 2))
    cell = np.array(atoms.cell)
    observables = [ObservableSpec("temperature", "K")] if thermo else []
    with H5mdWriter(path, velocities=True, forces=forces, observables=observables) as writer:
        for k in range(frames):
            positions = atoms.positions + rng.normal(0, 0.1, atoms.positions.shape) + 2.0 * k
            writer.append_frame(step=20 * k, time_ps=0.04 * k, positions_A=positions, cell_A=cell,
                                symbols=atoms.get_chemical_symbols(), velocities_A_per_ps=np.ones((len(atoms), 3)) * k,
                                forces_eV_per_A=np.zeros((len(atoms), 3)) if forces else None)
            if thermo:
                writer.append_observables(step=20 * k, time_ps=0.04 * k, values={"temperature": 300.0 + k})
    return atoms


def test_mdanalysis_reads_simkit_files(rng):
    mda = pytest.importorskip("MDAnalysis")
    _write_small("t.h5md", rng)
    universe = mda.Universe("t.h5md")  # no topology: MDAnalysis takes atoms from particles/trajectory
    with open_trajectory("t.h5md") as traj:
        assert len(universe.atoms) == traj.natoms and len(universe.trajectory) == len(traj)
        for ts, frame in zip(universe.trajectory, traj):
            np.testing.assert_allclose(ts.positions, frame.positions_A, atol=1e-4)  # MDAnalysis keeps float32
            np.testing.assert_allclose(ts.dimensions[:3], np.diag(frame.cell_A), atol=1e-4)
            np.testing.assert_allclose(ts.velocities, frame.velocities_A_per_ps, atol=1e-5)
            assert ts.time == pytest.approx(frame.time_ps) and ts.data["step"] == frame.step
            assert ts.dt == pytest.approx(0.04)
            # thermo series have their own cadence: MDAnalysis would serve them by frame index, so it gets none
            assert set(ts.data) == {"dt", "step", "time"}
    assert universe.trajectory.dt == pytest.approx(0.04)  # not MDAnalysis's 1 ps fallback
    assert universe.trajectory.totaltime == pytest.approx(0.16)
    _write_small("bare.h5md", rng, thermo=False)  # the writer's defaults: no observables
    bare = mda.Universe("bare.h5md")
    assert len(bare.trajectory) == 5 and bare.trajectory.dt == pytest.approx(0.04)

    # And back: a file MDAnalysis writes (in nm and fs) reads in simkit in Å and ps.
    with mda.Writer("from_mda.h5md", n_atoms=bare.atoms.n_atoms, lengthunit="nm", timeunit="fs") as writer:
        for _ in bare.trajectory:
            writer.write(bare.atoms)
    with open_trajectory("from_mda.h5md") as back, open_trajectory("bare.h5md") as ours:
        np.testing.assert_array_equal(back.steps, ours.steps)
        np.testing.assert_allclose(back.times_ps, ours.times_ps, rtol=1e-6)
        np.testing.assert_allclose(back[3].positions_A, ours[3].positions_A, atol=1e-5)
        np.testing.assert_allclose(back[3].cell_A, ours[3].cell_A, atol=1e-5)


def test_recover_makes_a_killed_file_readable_by_other_tools(tmp_path, rng):
    mda = pytest.importorskip("MDAnalysis")
    import h5py

    _write_small("t.h5md", rng)
    # Simulate a writer killed in SWMR mode: the file stays marked open for writing.
    script = tmp_path / "kill.py"
    script.write_text(
        "import h5py, os, signal\n"
        "f = h5py.File('t.h5md', 'r+', libver='latest')\n"
        "f.swmr_mode = True\n"
        "f.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, str(script)], check=False)
    with pytest.raises(OSError):
        h5py.File("t.h5md", "r")
    assert recover("t.h5md") == 5
    universe = mda.Universe("t.h5md")
    assert len(universe.trajectory) == 5


OBSERVER = """
import sys
import numpy as np
from simkit.io import H5mdWriter, ObservableSpec

frames_from = int(sys.argv[2])  # observables only until this step, then frames as well
cell = np.eye(3) * 10.0
with H5mdWriter(sys.argv[1], observables=[ObservableSpec("temperature", "K")]) as writer:
    for step in range(100000):
        writer.append_observables(step=step, time_ps=0.001 * step, values={"temperature": float(step)})
        if step >= frames_from:
            writer.append_frame(step=step, time_ps=0.001 * step, positions_A=np.full((4, 3), 0.01 * step),
                                cell_A=cell, symbols=["Cu"] * 4)
        print(step, flush=True)
"""


@pytest.mark.parametrize("frames_from", [10**9, 40], ids=["observables-only", "frames-after-observables"])
def test_a_killed_file_whose_first_records_were_observables_resumes(tmp_path, frames_from):
    path = tmp_path / "killed.h5md"
    printed = _kill_after(tmp_path, OBSERVER, [path, frames_from], 60)
    # Still flagged "open for writing", but in SWMR mode: readable, committed records intact.
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        frames, records = (int(v) for v in f["simkit/committed"][...])
        assert records >= printed + 1 and (frames == 0 if frames_from > printed else frames >= printed + 1 - frames_from)
        np.testing.assert_array_equal(f["simkit/thermo/temperature/value"][:printed + 1], np.arange(printed + 1))
    with H5mdWriter(path, mode="resume", resume_after_step=50,
                    observables=[ObservableSpec("temperature", "K")]) as writer:
        writer.append_observables(step=51, time_ps=0.051, values={"temperature": -1.0})
        writer.append_frame(step=51, time_ps=0.051, positions_A=np.zeros((4, 3)), cell_A=np.eye(3) * 10.0,
                            symbols=["Cu"] * 4)
    recover(path)  # a clean file for any HDF5 tool
    with open_trajectory(path) as traj:
        temperature = traj.observables()["temperature"]["value"]
        np.testing.assert_array_equal(temperature, [*range(51), -1.0])
        expected_frames = [51] if frames_from > 50 else [*range(frames_from, 52)]
        np.testing.assert_array_equal(traj.steps, expected_frames)
        # the killed writer's segment says so; the resumed one finished
        assert [segment["_segment"]["status"] for segment in traj.provenance()] == ["interrupted", "finished"]


@pytest.mark.parametrize("swmr", [True, False], ids=["killed-in-swmr", "killed-outside-swmr"])
def test_a_writer_killed_outside_swmr_mode_leaves_a_file_resume_repairs(tmp_path, rng, swmr):
    """The writer leaves SWMR mode for moments (creating datasets, truncating on resume); a kill then leaves
    HDF5's open-for-write flag set without the SWMR one, and nothing opens the file until it is cleared."""
    from simkit.io.hdf5_flags import consistency_flags

    _write_small("t.h5md", rng)
    script = tmp_path / "kill.py"
    script.write_text(
        "import h5py, os, signal\n"
        "f = h5py.File('t.h5md', 'r+', libver='latest')\n"
        + ("f.swmr_mode = True\n" if swmr else "")
        + "f.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, str(script)], check=False)
    assert consistency_flags("t.h5md") == (0b101 if swmr else 0b001)
    if not swmr:
        with pytest.raises(InputDataError, match="resuming its run"):
            open_trajectory("t.h5md")
    with H5mdWriter("t.h5md", mode="resume", velocities=True, observables=[ObservableSpec("temperature", "K")]):
        pass
    assert consistency_flags("t.h5md") == 0
    with open_trajectory("t.h5md") as traj:
        assert len(traj) == 5 and traj.observables()["temperature"]["value"].tolist() == [300.0 + k for k in range(5)]


def test_lookup3_is_hdf5s_checksum(tmp_path):
    from simkit.io.hdf5_flags import lookup3

    # the published test vectors of lookup3's driver, then HDF5's own superblock checksum
    assert lookup3(b"") == 0xDEADBEEF
    assert lookup3(b"Four score and seven years ago") == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161
    with h5py.File(tmp_path / "x.h5", "w", libver="latest") as f:
        f["x"] = np.arange(3)
    head = (tmp_path / "x.h5").read_bytes()[:48]
    assert lookup3(head[:44]) == int.from_bytes(head[44:48], "little")

"""MSD (FFT, all origins, blocks of atoms, from wrapped files) and density/composition profiles."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis.msd import analyse_msd, atoms_per_block, msd_direct, msd_fft
from simkit.analysis.options import MsdOptions, ProfileOptions
from simkit.analysis.profiles import analyse_profiles, profiles_of_frames
from simkit.errors import InputDataError
from simkit.io import H5mdWriter, open_trajectory
from simkit.io.h5md_reader import Frame


def test_fft_msd_equals_the_direct_definition(rng):
    walk = np.cumsum(rng.normal(size=(257, 7, 3)), axis=0) + 1000.0  # far from the origin on purpose
    np.testing.assert_allclose(msd_fft(walk), msd_direct(walk), rtol=1e-10, atol=1e-9)
    per_particle = msd_fft(walk, per_particle=True)
    assert per_particle.shape == (257, 7)
    np.testing.assert_allclose(per_particle[:, 2], msd_direct(walk[:, 2:3]), rtol=1e-10, atol=1e-9)


def test_ballistic_msd_is_exact(rng):
    velocities = rng.normal(0.0, 2.0, (30, 3))
    t = 0.01 * np.arange(400)
    positions = 5.0 + t[:, None, None] * velocities[None]
    expected = np.mean(np.sum(velocities**2, axis=1)) * t**2
    np.testing.assert_allclose(msd_fft(positions), expected, rtol=1e-9, atol=1e-10)


def test_msd_from_a_wrapped_file_by_species_in_blocks(rng):
    """Atoms fly across a triclinic cell many times; unwrapping via image flags keeps MSD exact."""
    atoms = bulk("NaCl", "rocksalt", 5.64).repeat((3, 3, 2))
    cell = np.array(atoms.cell)
    velocities = rng.normal(0.0, 4.0, (len(atoms), 3))
    velocities[atoms.numbers == 17] *= 0.5
    frames = 60
    with H5mdWriter("ballistic.h5md", observables=()) as writer:
        for k in range(frames):
            writer.append_frame(step=10 * k, time_ps=0.01 * k, positions_A=atoms.positions + velocities * 0.01 * k * 100,
                                cell_A=cell, symbols=atoms.get_chemical_symbols())
    lag = np.arange(frames) * 1.0  # displacement per frame = velocity * 1
    with open_trajectory("ballistic.h5md") as traj:
        assert np.abs(traj[-1].images).max() > 3
        # A 0.01 MiB budget forces blocks of a few atoms: the streamed result must not change.
        assert atoms_per_block(frames, 0.01) < len(atoms)
        result = analyse_msd(traj, MsdOptions(memory_MiB=0.01), progress=False)
    for symbol, z in (("Na", 11), ("Cl", 17)):
        expected = np.mean(np.sum(velocities[atoms.numbers == z] ** 2, axis=1)) * lag**2
        np.testing.assert_allclose(result.msd_A2[symbol], expected, rtol=1e-9)
        assert result.atoms[symbol] == np.sum(atoms.numbers == z)
    np.testing.assert_allclose(result.msd_A2["all"], np.mean(np.sum(velocities**2, axis=1)) * lag**2, rtol=1e-9)
    np.testing.assert_allclose(result.lag_ps, 0.01 * np.arange(frames))
    paths = result.write("out")
    header = paths["csv"].read_text().splitlines()[0]
    assert header == "lag_ps,lag_steps,msd_Na_A2,msd_Cl_A2,msd_all_A2"


def test_msd_drift_removal_and_uneven_frames(rng):
    natoms, frames = 20, 30
    base = rng.uniform(0, 10, (natoms, 3))
    kicks = rng.normal(0, 0.3, (frames, natoms, 3)).cumsum(axis=0)
    drift = np.outer(np.arange(frames), [0.5, 0.0, 0.0])
    with H5mdWriter("drift.h5md", observables=()) as writer:
        for k in range(frames):
            writer.append_frame(step=k, time_ps=k * 0.001, positions_A=base + kicks[k] + drift[k][None],
                                cell_A=np.eye(3) * 10.0, symbols=["Ar"] * natoms)
    without = kicks - kicks.mean(axis=1, keepdims=True)  # equal masses: the COM motion is the mean
    with open_trajectory("drift.h5md") as traj:
        result = analyse_msd(traj, MsdOptions(remove_drift=True), progress=False)
    np.testing.assert_allclose(result.msd_A2["Ar"], msd_direct(without), rtol=1e-8, atol=1e-10)

    with H5mdWriter("uneven.h5md", observables=()) as writer:
        for k, step in enumerate((0, 10, 20, 35)):
            writer.append_frame(step=step, time_ps=step * 0.001, positions_A=base, cell_A=np.eye(3) * 10.0,
                                symbols=["Ar"] * natoms)
    with open_trajectory("uneven.h5md") as traj, pytest.raises(InputDataError, match="steps 20 -> 35"):
        analyse_msd(traj, MsdOptions(), progress=False)
    with open_trajectory("uneven.h5md") as traj:
        assert len(analyse_msd(traj, MsdOptions(stop=3), progress=False).lag_ps) == 3


def test_density_and_composition_profiles_of_a_bilayer():
    # Cu slab in the lower half of z, Ni slab in the upper half, vacuum-free.
    lower = bulk("Cu", "fcc", 3.6, cubic=True).repeat((2, 2, 4))
    upper = bulk("Ni", "fcc", 3.6, cubic=True).repeat((2, 2, 4))
    upper.positions[:, 2] += 4 * 3.6
    atoms = lower + upper
    atoms.set_cell([7.2, 7.2, 28.8])
    atoms.positions += 0.01  # keep atoms off slab edges
    frame = Frame(0, 0, 0.0, atoms.positions, np.array(atoms.cell), (True,) * 3, atoms.numbers)
    result = profiles_of_frames([frame, frame], atoms.numbers, ProfileOptions(axis=2, bins=8))
    composition = result.composition()
    np.testing.assert_allclose(composition["Cu"], [1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(composition["Ni"], [0, 0, 0, 0, 1, 1, 1, 1])
    number_density = 4 / 3.6**3
    np.testing.assert_allclose(result.number_density["Cu"][:, :4], number_density)
    cu_mass_density = number_density * 63.546 / 6.02214076e23 / 1e-24
    np.testing.assert_allclose(result.mass_density_g_per_cm3[0, :4], cu_mass_density, rtol=1e-4)
    np.testing.assert_allclose(result.position_A, (np.arange(8) + 0.5) * 3.6)


def test_profiles_from_a_file_write_units_in_headers(rng):
    atoms = bulk("Cu", "fcc", 3.6, cubic=True).repeat((2, 2, 3))
    with H5mdWriter("p.h5md", observables=()) as writer:
        for k in range(3):
            writer.append_atoms(atoms, step=k, time_ps=0.1 * k)
    with open_trajectory("p.h5md") as traj:
        result = analyse_profiles(traj, ProfileOptions(bins=3, start_ps=0.05), progress=False)
    assert result.frames == 2
    paths = result.write("out")
    assert paths["csv"].read_text().splitlines()[0].startswith("position_A,mass_density_g_per_cm3,number_density_Cu_per_A3")
    assert paths["png"].stat().st_size > 1000

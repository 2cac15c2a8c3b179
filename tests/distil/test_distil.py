"""``simkit distil``: generated structures labelled by a teacher, written as extended XYZ."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read
from pydantic import TypeAdapter

from simkit.config import load_config
from simkit.datasets import read_dataset
from simkit.distil.config import DistilConfig
from simkit.distil.generators import Generator
from simkit.distil.runner import generator_cost, run_distil
from simkit.errors import ConfigError
from simkit.lammps.potentials import EamPotential
from simkit.lammps.session import evaluate_structures
from tests.conftest import run_cli

CU_TEACHER = "{kind: eam/alloy, file: lammps:Cu_mishin1.eam.alloy}"
GENERATORS = """\
generators:
  - {kind: rattled, count: 3, rattle_A: 0.05}
  - {kind: strained, count: 2, max_strain: 0.04}
  - {kind: vacancies, count: 2, vacancies: 2, repeat: [2, 1, 1]}
  - {kind: surface, count: 2, axis: 2, vacuum_A: 10.0, repeat: [1, 1, 2]}
  - {kind: md, temperatures_K: [500, 2500], snapshots_per_temperature: 2, equilibration_ps: 0.1, interval_ps: 0.05}
  - {kind: amorphous, count: 2, melt_K: 3000, melt_ps: 0.3, quench_ps: 0.3, final_K: 300, hold_ps: 0.1,
     config_type: glass}
"""


def _config(tmp_path, teacher=CU_TEACHER, extra=""):
    path = tmp_path / "distil.yaml"
    path.write_text(
        f"output: out/data.extxyz\nseed: 3\nteacher: {teacher}\n"
        "structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}, repeat: [2, 2, 2]}\n"
        + GENERATORS + extra
    )
    return path


def test_every_generator_is_labelled_by_the_teacher(tmp_path, lammps_potentials):
    config = load_config(DistilConfig, _config(tmp_path))
    run_distil(config)
    dataset = read_dataset(tmp_path / "out" / "data.extxyz")
    assert dataset.config_types() == {
        "rattled": 3, "strained": 2, "vacancies": 2, "surface": 2, "md": 4, "glass": 2,
    }
    sizes = {f.config_type: f.n_atoms for f in dataset}
    assert sizes["vacancies"] == 64 - 2 and sizes["rattled"] == 32
    surface = next(f for f in dataset if f.config_type == "surface")
    assert surface.atoms.cell.lengths()[2] > 2 * 3.615 * 2  # vacuum was added
    # Labels are exactly the teacher's numbers.
    teacher = EamPotential(lammps_potentials / "Cu_mishin1.eam.alloy")
    check = evaluate_structures([f.atoms for f in dataset], teacher)
    for frame, result in zip(dataset, check):
        assert frame.energy_eV == pytest.approx(result.energy_eV, abs=1e-5)
        assert np.allclose(frame.forces_eV_per_A, result.forces_eV_per_A, atol=1e-5)
        assert np.allclose(frame.virial_eV, result.virial_eV, atol=1e-4)
    # Hot MD snapshots are disordered, cold ones are not: the sampling really ran.
    md = [f for f in dataset if f.config_type == "md"]
    cold, hot = np.abs(md[0].forces_eV_per_A).mean(), np.abs(md[-1].forces_eV_per_A).mean()
    assert hot > 2 * cold > 0
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["atoms"] == dataset.n_atoms


def test_same_seed_same_dataset_and_generators_are_independent(tmp_path):
    first = run_distil(load_config(DistilConfig, _config(tmp_path)))
    again = run_distil(load_config(DistilConfig, _config(tmp_path)))
    assert all(np.array_equal(a.atoms.positions, b.atoms.positions) for a, b in zip(first, again))


def test_ase_teacher_and_force_filter(tmp_path):
    teacher = "{kind: ase, calculator: emt}"
    config = load_config(DistilConfig, _config(tmp_path, teacher, extra="max_force_eV_per_A: 0.5\n"))
    dataset = run_distil(config)
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    dropped = summary["results"]["dropped_per_config_type"]
    assert dropped.get("md", 0) > 0  # hot snapshots exceed 0.5 eV/Å
    assert all(np.abs(f.forces_eV_per_A).max() <= 0.5 for f in dataset)
    from ase.calculators.emt import EMT

    atoms = dataset[0].atoms.copy()
    atoms.calc = EMT()
    assert dataset[0].energy_eV == pytest.approx(atoms.get_potential_energy(), abs=1e-9)


def test_bad_generator_is_refused_with_key(tmp_path):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("kind: vacancies, count: 2", "kind: vacancies, count: -2"))
    with pytest.raises(ConfigError, match=r"key 'generators\[2\].count'"):
        load_config(DistilConfig, path)
    path.write_text(path.read_text().replace("{kind: ase, calculator: emt}", "x").replace(CU_TEACHER, "{kind: ase, calculator: ace}"))
    with pytest.raises(ConfigError, match="yace"):
        load_config(DistilConfig, path)


@pytest.mark.mpi
def test_distil_cli_under_mpirun_matches_serial(tmp_path):
    config = _config(tmp_path)
    serial = run_cli("distil", str(config), "-o", str(tmp_path / "serial.extxyz"))
    assert serial.returncode == 0, serial.stderr
    parallel = run_cli("distil", str(config), "-o", str(tmp_path / "mpi.extxyz"), np_ranks=2)
    assert parallel.returncode == 0, parallel.stderr
    a, b = read_dataset(tmp_path / "serial.extxyz"), read_dataset(tmp_path / "mpi.extxyz")
    assert a.config_types() == b.config_types()
    # The two ranks run different generators, each alone and from its own seed: every frame, MD ones
    # included, is the serial run's.
    for x, y in zip(a, b):
        assert x.energy_eV == pytest.approx(y.energy_eV, rel=1e-10)
        assert np.allclose(x.atoms.positions, y.atoms.positions, atol=1e-8)


@pytest.mark.mpi
def test_a_generator_failing_on_one_rank_stops_both_with_its_message(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        f"output: out/data.extxyz\nseed: 3\nteacher: {CU_TEACHER}\n"
        "structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}, repeat: [2, 2, 2]}\n"
        "generators:\n"
        "  - {kind: md, temperatures_K: [500], snapshots_per_temperature: 2, equilibration_ps: 0.1, interval_ps: 0.05}\n"
        "  - {kind: vacancies, count: 1, vacancies: 40}\n")
    result = run_cli("distil", str(config), np_ranks=2, timeout=180)
    assert result.returncode != 0 and "cannot remove 40 atoms from a 32-atom cell" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "data.extxyz").exists()


def test_generators_are_balanced_by_their_md_cost():
    from simkit.distil.runner import assign_generators

    assert assign_generators([10.0, 1.0, 9.0, 2.0], 2) == [[0, 1], [2, 3]]  # loads 11 and 11
    assert assign_generators([5.0], 3) == [[0], [], []]


PHASE_GENERATORS = """\
generators:
  - {kind: rattled, count: 2, rattle_A: 0.05, config_type: crystal}
  - {kind: trajectory, interval_ps: 0.1, density_g_per_cm3: 8.0, segments: [
      {phase: melt, start_K: 3000, duration_ps: 0.2, snapshots: false},
      {phase: liquid, start_K: 2000, duration_ps: 0.2},
      {phase: amorphous, start_K: 2000, end_K: 300, duration_ps: 0.3}]}
  - {kind: interface, count: 2, repeat: [1, 1, 2], melt_K: 3000, melt_ps: 0.2, quench_ps: 0.1, hold_ps: 0.1}
  - {kind: amorphous, count: 2, melt_K: 3000, melt_ps: 0.1, quench_rate_K_per_s: 1.0e16, hold_ps: 0.1,
     split: benchmark}
"""


def test_phases_held_out_benchmark_density_and_interfaces(tmp_path):
    path = tmp_path / "distil.yaml"
    path.write_text("output: out/data.extxyz\nseed: 4\nteacher: " + CU_TEACHER + "\n"
                    "structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}, repeat: [2, 2, 2]}\n"
                    + PHASE_GENERATORS)
    config = load_config(DistilConfig, path)
    assert config.generators[3].quench_duration_ps == pytest.approx(2.7e3 / 1e16 / 1e-12)
    run_distil(config)
    train = read_dataset(tmp_path / "out" / "data.extxyz")
    benchmark = read_dataset(tmp_path / "out" / "data.benchmark.extxyz")
    # Trajectory frames carry their segment's phase; the unsnapshotted melt leaves none.
    assert train.config_types() == {"crystal": 2, "liquid": 2, "amorphous": 3, "interface": 2}
    assert benchmark.config_types() == {"amorphous": 2}  # never in the training file
    liquid = next(f for f in train if f.config_type == "liquid").atoms
    assert liquid.get_masses().sum() * 1.66053906660 / liquid.get_volume() == pytest.approx(8.0)
    from ase.io import read

    assert {a.info["generator"] for a in read(tmp_path / "out" / "data.extxyz", ":")} == {0, 1, 2}


def test_interface_holds_the_lower_part_still(tmp_path, lammps_potentials):
    from simkit.distil.generators import InterfaceGen, generate
    from simkit.distil.teachers import make_teacher
    from simkit.lammps.potentials.specs import EamSpec

    teacher = make_teacher(EamSpec(kind="eam/alloy", file=lammps_potentials / "Cu_mishin1.eam.alloy"))
    base = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((2, 2, 2))
    gen = InterfaceGen(kind="interface", count=1, repeat=(1, 1, 2), melt_K=4000, melt_ps=0.3, quench_ps=0.05,
                       final_K=300, hold_ps=0.01, timestep_fs=2.0)
    start = base.repeat((1, 1, 2))
    held = start.get_scaled_positions()[:, 2] < 0.5
    quenched = teacher.sample(start, [(4000, 4000, 0.3)], 0.3, 2.0, 11, held=held)[-1].atoms
    moved = np.linalg.norm(quenched.positions - start.positions, axis=1)
    assert moved[held].max() < 1e-9 and moved[~held].mean() > 0.3
    assert len(generate(gen, base, teacher, np.random.default_rng(0))) == 1


def _explore(tmp_path, name, sampler, threshold):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"output: {name}/data.extxyz\nseed: 3\nteacher: {CU_TEACHER}\n"
        "structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}, repeat: [2, 2, 2]}\n"
        "generators:\n"
        f"  - {{kind: md, temperatures_K: [900], snapshots_per_temperature: 3, equilibration_ps: 0.1, interval_ps: 0.05,"
        f" sampler: {sampler}, min_disagreement_meV_per_atom: {threshold}}}\n")
    return load_config(DistilConfig, path)


def test_a_student_sampler_keeps_only_the_frames_it_gets_wrong(tmp_path, lammps_potentials):
    # The teacher as its own sampler agrees everywhere: nothing to add is a result, and no file is written.
    run_distil(_explore(tmp_path, "same", CU_TEACHER, 1.0))
    summary = json.loads((tmp_path / "same" / "run_summary.json").read_text())["results"]
    assert summary["disagreement_meV_per_atom"]["generator 0 (md)"]["max_abs"] < 1e-6
    assert summary["agreeing_per_config_type"] == {"md": 3}
    assert not (tmp_path / "same" / "data.extxyz").exists()

    # A core repulsion reaching past Cu's 2.56 Å bond: the sampler is off the teacher on every frame it makes.
    shifted = "{kind: eam/alloy, file: lammps:Cu_mishin1.eam.alloy, zbl: {inner_A: 2.4, outer_A: 3.0}}"
    run_distil(_explore(tmp_path, "shifted", shifted, 20.0))
    dataset = read_dataset(tmp_path / "shifted" / "data.extxyz")
    assert len(dataset) == 3
    teacher = EamPotential(lammps_potentials / "Cu_mishin1.eam.alloy")
    check = evaluate_structures([f.atoms for f in dataset], teacher)
    for frame, result in zip(dataset, check):  # labels are the teacher's, not the sampler's
        assert frame.energy_eV == pytest.approx(result.energy_eV, abs=1e-5)
    assert all(a.info["disagreement_meV_per_atom"] > 20.0 for a in read(tmp_path / "shifted" / "data.extxyz", ":"))
    summary = json.loads((tmp_path / "shifted" / "run_summary.json").read_text())["results"]
    assert summary["disagreement_meV_per_atom"]["generator 0 (md)"]["at_or_above_threshold"] == 3

    with pytest.raises(ConfigError, match="give 'sampler'"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"output: x.extxyz\nteacher: {CU_TEACHER}\nstructure: {{bulk: {{element: Cu, crystal: fcc, "
                       "a_A: 3.615}}\ngenerators:\n  - {kind: md, temperatures_K: [900], snapshots_per_temperature: "
                       "1, min_disagreement_meV_per_atom: 5}\n")
        load_config(DistilConfig, bad)


def test_generator_costs_balance_ranks_by_atom_steps():
    base = bulk("Cu", "fcc", 3.615, cubic=True)  # 4 atoms
    parse = TypeAdapter(Generator).validate_python
    rattled = parse({"kind": "rattled", "count": 10, "repeat": [2, 1, 1]})
    assert generator_cost(rattled, base) == 4 * 2 * 10
    md = parse({"kind": "md", "temperatures_K": [300, 900], "snapshots_per_temperature": 4, "timestep_fs": 2.0})
    assert generator_cost(md, base) == pytest.approx(4 * 2 * (0.5 + 4 * 0.1) * 1e3 / 2.0)
    amorphous = parse({"kind": "amorphous", "count": 3, "melt_K": 2000, "quench_rate_K_per_s": 1.7e14})
    assert generator_cost(amorphous, base) == pytest.approx(4 * (2.0 + 1700 / 1.7e14 * 1e12 + 0.5) * 1e3)
    interface = parse({"kind": "interface", "count": 3, "melt_K": 2000})
    assert generator_cost(interface, base) == pytest.approx(4 * (2.0 + 5.0 + 0.5) * 1e3)
    trajectory = parse({"kind": "trajectory", "interval_ps": 0.5, "segments": [
        {"phase": "a", "start_K": 300, "duration_ps": 2}, {"phase": "b", "start_K": 900, "duration_ps": 3}]})
    assert generator_cost(trajectory, base) == pytest.approx(4 * 5.0 * 1e3)


CLUSTER_OK = [
    {"kind": "rattled", "count": 2},
    {"kind": "vacancies", "count": 1},
    {"kind": "md", "temperatures_K": [300], "snapshots_per_temperature": 1},
    {"kind": "trajectory", "interval_ps": 0.5, "segments": [{"phase": "a", "start_K": 300, "duration_ps": 1}]},
]
CLUSTER_REFUSED = [
    ({"kind": "strained", "count": 2}, "strained generator needs a bulk cell"),
    ({"kind": "surface", "count": 2}, "surface generator needs a bulk cell"),
    ({"kind": "amorphous", "count": 1, "melt_K": 2000}, "amorphous generator needs a bulk cell"),
    ({"kind": "interface", "count": 1, "melt_K": 2000}, "interface generator needs a bulk cell"),
    ({"kind": "rattled", "count": 2, "repeat": [1, 2, 1]}, "repeats along b"),
    ({"kind": "md", "temperatures_K": [300], "snapshots_per_temperature": 1, "density_g_per_cm3": 2.3},
     "density_g_per_cm3"),
]


def test_what_a_generator_can_start_from():
    """A cluster (no periodic direction) feeds rattles, vacancies and MD; strains, slabs, melts, repeats and
    densities need a bulk cell. A slab periodic along a and b may be repeated along them."""
    from simkit.distil.generators import base_problem

    parse = TypeAdapter(Generator).validate_python
    crystal = bulk("Si", "diamond", 5.431, cubic=True)
    cluster = crystal.copy()
    cluster.pbc, cluster.cell = False, None
    for spec in CLUSTER_OK + [spec for spec, _ in CLUSTER_REFUSED]:
        assert base_problem(parse(spec), crystal) is None, spec
    for spec in CLUSTER_OK:
        assert base_problem(parse(spec), cluster) is None, spec
    for spec, words in CLUSTER_REFUSED:
        assert words in base_problem(parse(spec), cluster), spec
    slab = crystal.copy()
    slab.pbc = (True, True, False)
    assert base_problem(parse({"kind": "rattled", "count": 1, "repeat": [2, 2, 1]}), slab) is None
    assert "repeats along c" in base_problem(parse({"kind": "rattled", "count": 1, "repeat": [1, 1, 2]}), slab)

"""``simkit survive``, ``speed``, ``bench scaling``, ``distil`` and ``diffusion`` refuse the bad files their
configs point to, in one line naming the file, before any MD runs.

The schema checks a config's keys (tests/fuzz/test_configs.py) and that its
files exist; what is inside them is read by the command itself. Each case here
points one key of an otherwise valid example from inputs/ at a broken file: a
SNAP pair that disagrees, a truncated EAM table, a truncated or non-finite
.yace (also as ``distil``'s ASE teacher), structure files (extended XYZ that is
binary, empty, cut short, with no atoms or a NaN position; a garbled CIF;
garbled and cut POSCARs), a missing file, and for ``survive`` the ``frames``
and ``reference_data`` datasets. A case first goes
through the steps its command takes before LAMMPS starts (load the config, read
the structures, build the potentials); the command runs in this process only
when those steps refuse it, so no MD ever starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from simkit.errors import SimkitError
from tests.ace import helpers
from tests.fuzz import config_corpus as cc
from tests.fuzz import dataset_corpus, potential_corpus
from tests.fuzz.harness import Verdict, check, record, run_in_process

STUDENT_YACE = cc.REPO / "potentials" / "simkit-Sb2Te3-student.yace"
CORPUS = "referenced-files"


def _files(folder: Path) -> None:
    """Every broken file a case can point to, written into the case's folder."""
    potential_corpus.write_broken_pair_files(helpers.potentials_dir(), folder)
    yace = STUDENT_YACE.read_text()
    (folder / "truncated.yace").write_text(yace[: len(yace) // 2])
    (folder / "nan.yace").write_text(yace.replace("rcut: 6", "rcut: .nan", 1))
    text = dataset_corpus.valid_dataset()
    frames = dataset_corpus._frames(text)
    last = dataset_corpus.FRAMES - 1
    (folder / "binary.extxyz").write_bytes(b"\x00\xff\xfe garbage \x01\x02")
    (folder / "empty.extxyz").write_bytes(b"")
    (folder / "truncated.extxyz").write_bytes(dataset_corpus._join(frames[:last] + [frames[last][:6]]))
    (folder / "nan.extxyz").write_bytes(dataset_corpus._edit(text, last, dataset_corpus._atom(1, 1, "nan")))
    (folder / "no-atoms.extxyz").write_text('0\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\n')
    (folder / "no-cell.extxyz").write_text("2\nProperties=species:S:1:pos:R:3\nSi 0 0 0\nSi 1.3 1.3 1.3\n")
    (folder / "garbled.cif").write_text("data_x\n_cell_length_a abc\n")
    poscar = "Si\n1.0\n5.431 0 0\n0 5.431 0\n0 0 5.431\nSi\n8\nDirect\n" + "0.0 0.0 0.0\n" * 8
    (folder / "garbled").mkdir()
    (folder / "garbled" / "POSCAR").write_text(poscar.replace("0 0 5.431", "0 0 five", 1))
    (folder / "cut").mkdir()
    (folder / "cut" / "POSCAR").write_text(poscar[: poscar.index("Direct") + 7] + "0.0 0.0 0.0\n" * 2)


SNAP = {"kind": "snap", "coeff": "si.snapcoeff", "param": "si.snapparam"}
EAM = {"kind": "eam/alloy", "file": "cu.eam.alloy"}


@dataclass(frozen=True)
class Target:
    """Where an example config names its potential and its structure."""

    example: str
    potential: tuple  # key path of the potential spec
    structure: tuple | None  # key path of the structure spec


@dataclass(frozen=True)
class Break:
    id: str
    where: str  # "potential", "structure", or a key path given in full
    value: object
    names: tuple[str, ...]  # what the error line must contain


POTENTIAL_BREAKS = [
    Break("snap-files-disagree", "potential", SNAP, ("si.snapcoeff", "twojmax")),
    Break("eam-truncated", "potential", EAM, ("cu.eam.alloy",)),
    Break("yace-truncated", "potential", {"kind": "ace", "yace": "truncated.yace"}, ("truncated.yace",)),
    Break("yace-nan-cutoff", "potential", {"kind": "ace", "yace": "nan.yace"}, ("nan.yace",)),
    Break("potential-missing", "potential", {"kind": "eam/alloy", "file": "nowhere.eam.alloy"},
          ("nowhere.eam.alloy",)),
]
STRUCTURE_FILES = [
    ("binary", "binary.extxyz"),
    ("empty", "empty.extxyz"),
    ("truncated-last-frame", "truncated.extxyz"),
    ("nan-position", "nan.extxyz"),
    ("no-atoms", "no-atoms.extxyz"),
    ("garbled-cif", "garbled.cif"),
    ("garbled-poscar", "garbled/POSCAR"),
    ("cut-poscar", "cut/POSCAR"),
    ("missing", "nowhere.extxyz"),
]
STRUCTURE_BREAKS = [Break(f"structure-{name}", "structure", {"file": file}, (file,)) for name, file in STRUCTURE_FILES]
FRAMES_BREAKS = [Break(f"{key}-{name}", key, {"file": file}, (file,))
                 for key in ("frames", "reference_data") for name, file in STRUCTURE_FILES]

TARGETS = {
    "survive": Target("survive_si", ("potential",), ("structure",)),
    "speed": Target("speed_si", ("potential",), ("structure",)),
    "bench scaling": Target("bench_scaling_si", ("potentials", 0, "potential"), ("structure",)),
    "distil": Target("distil_si", ("teacher",), ("structure",)),
    "diffusion": Target("diffusion_li_snap", ("potential",), ("structure",)),
}
# The ACE breaks also through the examples that run ACE, the EAM one through the one that runs EAM.
EXTRA = [
    ("bench scaling", Target("bench_scaling_sb2te3", ("potentials", 1, "potential"), None),
     [b for b in POTENTIAL_BREAKS if b.id.startswith("yace")]),
    ("distil", Target("distil_sb2te3_learn", ("teacher",), None), [b for b in POTENTIAL_BREAKS if b.id.startswith("yace")]
     + [Break(f"ase-{b.id}", "potential", {"kind": "ase", "calculator": "ace", "yace": b.value["yace"]}, b.names)
        for b in POTENTIAL_BREAKS if b.id.startswith("yace")]),
    ("diffusion", Target("diffusion_cu_liquid", ("potential",), None),
     [b for b in POTENTIAL_BREAKS if b.id == "eam-truncated"]),
]


def _cases() -> list:
    cases = []
    for command, target in TARGETS.items():
        breaks = POTENTIAL_BREAKS + STRUCTURE_BREAKS + (FRAMES_BREAKS if command == "survive" else [])
        cases += [pytest.param(command, target, b, id=f"{command.replace(' ', '-')}:{target.example}:{b.id}")
                  for b in breaks]
    for command, target, breaks in EXTRA:
        cases += [pytest.param(command, target, b, id=f"{command.replace(' ', '-')}:{target.example}:{b.id}")
                  for b in breaks]
    return cases


def _config(target: Target, brk: Break, folder: Path) -> Path:
    data = cc.example_data(cc.INPUTS / f"{target.example}.yaml")
    if brk.where == "potential":
        data = cc._set(data, target.potential, brk.value)
    elif brk.where == "structure":
        data = cc._set(data, target.structure, brk.value)
    elif brk.where == "frames":
        data = cc._set(cc._delete(data, ("structure",)), ("frames",), brk.value)
    else:
        data = cc._set(data, (brk.where,), brk.value)
    config = folder / "config.yaml"
    config.write_bytes(cc.dump(data))
    return config


# What each command does before LAMMPS starts (simkit/screening/jobs.py, simkit/bench/jobs.py,
# simkit/distil/runner.py, simkit/diffusion/driver.py run_diffusion).
def _before_lammps(command: str, config_file: Path) -> None:
    from simkit.config import load_config
    from simkit.structures.spec import load_structure

    rng = np.random.default_rng(0)
    if command in ("survive", "speed"):
        from simkit.screening.config import SpeedConfig, SurviveConfig, load_frames

        config = load_config(SurviveConfig if command == "survive" else SpeedConfig, config_file)
        if config.structure is not None:
            load_structure(config.structure, rng)
        if command == "survive":
            for frames in (config.frames, config.reference_data):
                if frames is not None:
                    load_frames(frames)
        config.potential.build()
    elif command == "bench scaling":
        from simkit.bench.jobs import checked_structure
        from simkit.bench.scaling import ScalingConfig

        config = load_config(ScalingConfig, config_file)
        checked_structure(config)
        for named in config.potentials:
            named.potential.build()
    elif command == "distil":
        from simkit.distil.config import DistilConfig
        from simkit.distil.runner import base_structure
        from simkit.distil.teachers import make_teacher

        config = load_config(DistilConfig, config_file)
        base_structure(config)
        make_teacher(config.teacher)
    elif command == "diffusion":
        from simkit.diffusion.config import DiffusionConfig
        from simkit.diffusion.protocol import check_structure

        config = load_config(DiffusionConfig, config_file)
        check_structure(config, load_structure(config.structure, rng))
        config.potential.build()


@pytest.mark.parametrize("command, target, brk", _cases())
def test_command_refuses_a_bad_file_its_config_points_to(command, target, brk, tmp_path):
    _files(tmp_path)
    config = _config(target, brk, tmp_path)
    try:
        _before_lammps(command, config)
    except SimkitError:
        pass
    except Exception:
        record(CORPUS, Verdict("traceback"))
        raise
    else:  # never run it: its MD would start
        record(CORPUS, Verdict("accepted before LAMMPS"))
        pytest.fail("accepted before LAMMPS starts")
    check(CORPUS, run_in_process([*command.split(), config]), command.split()[0], list(brk.names))
    # bench scaling reads its files itself; otherwise each point's job would find them bad, one launch each
    assert not (tmp_path / "out" / "points").exists()


@pytest.mark.parametrize("command, target, key, value", [
    ("survive", TARGETS["survive"], ("structure",), {"file": "no-cell.extxyz"}),
    ("survive", TARGETS["survive"], ("frames",), {"file": "no-cell.extxyz"}),
    ("speed", TARGETS["speed"], ("structure",), {"file": "no-cell.extxyz"}),
    ("bench scaling", TARGETS["bench scaling"], ("structure",), {"file": "no-cell.extxyz"}),
    ("distil", TARGETS["distil"], ("structure",), {"file": "no-cell.extxyz"}),
    ("diffusion", TARGETS["diffusion"], ("structure",), {"file": "no-cell.extxyz"}),
], ids=["survive-structure", "survive-frames", "speed-structure", "bench-scaling-structure", "distil-structure",
        "diffusion-structure"])
def test_a_cell_without_periodic_directions_that_must_grow_is_refused_naming_the_file(command, target, key, value,
                                                                                       tmp_path):
    _files(tmp_path)
    data = cc.example_data(cc.INPUTS / f"{target.example}.yaml")
    if key == ("frames",):
        data = cc._delete(data, ("structure",))
    config = tmp_path / "config.yaml"
    config.write_bytes(cc.dump(cc._set(data, key, value)))
    check(CORPUS, run_in_process([*command.split(), config]), command.split()[0], ["no-cell.extxyz", "periodic"])
    assert not (tmp_path / "out").exists()  # refused before the run's directory is made

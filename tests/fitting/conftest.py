"""Datasets labelled by potentials that ship with LAMMPS, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from simkit.datasets import read_dataset, teacher, write_dataset
from simkit.datasets.splits import prepare_data


@pytest.fixture(scope="session")
def si_teacher_file(tmp_path_factory, si_snap) -> Path:
    """34 Si frames (rattled, strained, liquid) labelled by the linear Zuo 2020 SNAP."""
    data = teacher.teacher_dataset(si_snap, bulk("Si", "diamond", a=5.43, cubic=True), np.random.default_rng(7))
    return write_dataset(data, tmp_path_factory.mktemp("si_data") / "si_teacher.extxyz")


@pytest.fixture(scope="session")
def si_teacher_data(si_teacher_file):
    return read_dataset(si_teacher_file, name="si teacher")


@pytest.fixture(scope="session")
def inp_teacher_file(tmp_path_factory, lammps_potentials) -> Path:
    """24 InP frames (16-atom rattled, strained zincblende cells) labelled by the InP SNAP (chem, bzero, bnorm)."""
    from simkit.lammps.potentials import SnapPotential

    inp = SnapPotential(lammps_potentials / "InP_JCPA2020.snapcoeff", lammps_potentials / "InP_JCPA2020.snapparam")
    rng = np.random.default_rng(11)
    crystal = bulk("InP", "zincblende", a=5.87, cubic=True).repeat((2, 1, 1))
    cells = teacher.perturbed_cells(crystal, 24, rng, rattle_A=0.1, strain=0.03)
    return write_dataset(teacher.label(cells, inp, "rattled"), tmp_path_factory.mktemp("inp_data") / "inp.extxyz")


def fit_config(data_file: Path, backend: str = "snap", **sections):
    """A validated fit config for ``data_file`` (sections override the defaults below)."""
    from simkit.fitting.registry import validate_fit_config

    document = {
        "backend": backend,
        "output_dir": "out",
        "seed": 5,
        "elements": ["Si"],
        "data": {"train": str(data_file), "validation": {"kind": "holdout", "fraction": 0.25}},
        **sections,
    }
    return validate_fit_config(document, source="test config", base_dir=Path.cwd())


@pytest.fixture(scope="session")
def si_prepared(si_teacher_file):
    config = fit_config(si_teacher_file)
    return prepare_data(config.data, config.elements, config.seed)

"""A small teacher-labelled Si dataset and a config writer shared by the optimiser tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.build import bulk

from simkit.config.loader import deep_merge

SI_CELL = {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}}


@pytest.fixture(scope="session")
def si_small_file(tmp_path_factory, si_snap) -> Path:
    """22 Si frames (8 rattled, 8 strained 16-atom, 6 liquid 16-atom) labelled by the Zuo 2020 SNAP."""
    from simkit.datasets import teacher, write_dataset

    data = teacher.teacher_dataset(si_snap, bulk("Si", "diamond", a=5.43, cubic=True), np.random.default_rng(11),
                                   rattled=8, strained=8, molten=6)
    return write_dataset(data, tmp_path_factory.mktemp("optimise_data") / "si_small.extxyz")


def base_config(data_file: Path, output_dir: Path, **sections) -> dict:
    """An optimise config (as data): linear SNAP on ``data_file``, accuracy only; ``sections`` merge in."""
    document = {
        "output_dir": str(output_dir),
        "seed": 3,
        "fit": {
            "backend": "snap", "elements": ["Si"], "seed": 1,
            "data": {"train": str(data_file), "validation": {"kind": "holdout", "fraction": 0.25}},
            "snap": {"twojmax": 4, "rcutfac": 4.7, "solver": {"kind": "ridge", "alpha": 1.0e-6}},
            "scoring": {"parity_plot": False},
        },
        "search_space": {"snap.rcutfac": {"real": [3.0, 6.0]}},
        "budget": {"candidates": 4},
        "optimiser": {"initial_points": 3},
        "progress": False,
    }
    replaced = {k: sections.pop(k) for k in ("search_space",) if k in sections}
    return {**deep_merge(document, sections), **replaced}


def write_config(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def speed_section(**extra) -> dict:
    return {"structure": SI_CELL, "size_atoms": 64, "steps": 40, "warmup_steps": 5, "repeats": 3, **extra}


def survival_section(**extra) -> dict:
    return {"structure": SI_CELL, "temperatures_K": [1500], "replicas": 2, "duration_ps": 0.4, "target_atoms": 64,
            "nve_duration_ps": 0.1, **extra}

"""The teacher's audit of a cycle: it passes the teacher itself and catches a student whose energies leave it."""

from __future__ import annotations

import csv
import json

import numpy as np
from pydantic import TypeAdapter

from simkit.config.loader import validate_config
from simkit.config.schema import shipped_potentials_dir
from simkit.demo.audit import AUDIT_JSON, AuditSection, audit_cycle, audit_frames
from simkit.demo.report import _audit_lines
from simkit.distil.teachers import TeacherSpec
from simkit.io.h5md_writer import H5mdWriter
from simkit.structures.spec import StructureSpec, load_structure


def test_frames_are_spread_evenly_with_both_ends():
    assert audit_frames(12, 100)[0] == 0 and audit_frames(12, 100)[-1] == 99
    assert len(audit_frames(12, 100)) == 12
    assert audit_frames(12, 5) == [0, 1, 2, 3, 4]
    assert audit_frames(2, 1) == [0]


def _trajectory(path, rng):
    spec = validate_config(StructureSpec, {"builtin": {"name": "Sb2Te3-rocksalt", "a_A": 6.215}}, source="test", base_dir=path.parent)
    crystal = load_structure(spec, rng)
    with H5mdWriter(path, observables=()) as writer:
        for k in range(4):
            writer.append_frame(step=100 * k, time_ps=0.2 * k,
                                positions_A=crystal.positions + rng.normal(0, 0.05, crystal.positions.shape),
                                cell_A=np.asarray(crystal.cell), symbols=crystal.get_chemical_symbols())


def test_the_teacher_passes_its_own_audit_and_a_shifted_student_fails(tmp_path, rng):
    _trajectory(tmp_path / "cycle.h5md", rng)
    teacher_file = str(shipped_potentials_dir() / "XPOT-Sb2Te3.yace")
    specs = TypeAdapter(TeacherSpec)
    teacher = specs.validate_python({"kind": "ace", "yace": teacher_file})
    windows = {"hold": (0.0, 0.3), "anneal": (0.3, 0.7)}

    same = audit_cycle(tmp_path / "cycle.h5md", teacher, teacher, windows, AuditSection(frames=3), tmp_path / "same")
    assert same["passed"] and same["frames"] == 3
    assert same["max_abs_difference_meV_per_atom"] < 1e-6 and same["max_force_rmse_meV_per_A"] < 1e-6
    assert [row["stage"] for row in same["rows"]] == ["hold", "anneal", "anneal"]

    # A core repulsion reaching past the Sb-Te bond (3.1 Å) lifts every frame's energy: a student off the teacher.
    shifted = specs.validate_python({"kind": "ace", "yace": teacher_file, "zbl": {"inner_A": 3.0, "outer_A": 3.6}})
    result = audit_cycle(tmp_path / "cycle.h5md", shifted, teacher, windows, AuditSection(frames=4,
                         tolerance_meV_per_atom=20.0), tmp_path / "shifted")
    assert not result["passed"]
    assert result["first_outside"]["frame"] == 0 and result["first_outside"]["stage"] == "hold"
    assert all(row["difference_meV_per_atom"] > 20.0 for row in result["rows"])
    with open(tmp_path / "shifted" / "teacher_audit.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and float(rows[0]["difference_meV_per_atom"]) == result["rows"][0]["difference_meV_per_atom"]
    assert (tmp_path / "shifted" / "teacher_audit.png").is_file()
    assert json.loads((tmp_path / "shifted" / AUDIT_JSON).read_text())["passed"] is False

    analysis = tmp_path / "analysis"
    (analysis / "teacher_audit").mkdir(parents=True)
    (analysis / "teacher_audit" / AUDIT_JSON).write_text((tmp_path / "shifted" / AUDIT_JSON).read_text())
    text = "\n".join(_audit_lines(analysis))
    assert "AUDIT FAILED** at 0.0 ps (stage hold" in text and text.count("| hold |") == 2
    (analysis / "teacher_audit" / AUDIT_JSON).write_text((tmp_path / "same" / AUDIT_JSON).read_text())
    assert "Audit passed" in "\n".join(_audit_lines(analysis))

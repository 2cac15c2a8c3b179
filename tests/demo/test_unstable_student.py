"""A student that blows up while replaying the teacher's runs is a validation finding, not a failed demo."""

from __future__ import annotations

import json

import pytest

from simkit.config.loader import validate_config
from simkit.demo import validate
from simkit.demo.config import default_config_path
from simkit.demo.report import _validation_lines
from simkit.demo.runner import FOLDERS, DemoPlan, load_demo_config
from simkit.distil.config import DistilConfig
from simkit.errors import ConfigError, LammpsError, RunFailed


def _plan(tmp_path):
    config, _ = load_demo_config(default_config_path())
    return DemoPlan(config, default_config_path(), tmp_path)


def test_a_replay_that_loses_atoms_is_recorded_and_the_rest_goes_on(tmp_path, monkeypatch):
    plan = _plan(tmp_path)
    distil = validate_config(DistilConfig, plan.data_config, source="data", base_dir=plan.base_dir)
    cases = validate.structure_cases(distil)
    assert len({index for index, _ in cases}) >= 2  # the default replays two training trajectories

    failures = iter([LammpsError("Lost atoms: original 80 current 73", "run 300 start 5900 stop 6200"),
                     RunFailed("non-finite energy at step 40")])

    def blow_up(config, index, potential):
        raise next(failures)

    monkeypatch.setattr(validate, "replay_generator", blow_up)
    monkeypatch.setattr(validate, "read", lambda *args, **kwargs: [])
    monkeypatch.setattr(validate, "_errors_per_phase", lambda best: {"per_phase": {}, "overall": {}})
    monkeypatch.setattr(validate, "_speed", lambda run_dir: {})
    section = plan.config.validation
    result = validate.validate_student("snap", {}, distil, tmp_path / "data.extxyz", tmp_path, section, tmp_path)
    assert result["stable"] is False
    assert {r["status"] for r in result["structure"].values()} == {"unstable"}
    assert [r["phase"] for r in result["structure"].values()] == [phase for _, phase in cases]
    errors = " | ".join(r["error"] for r in result["structure"].values())
    assert "Lost atoms: original 80 current 73" in errors and "non-finite energy" in errors

    # Other errors (a broken config, a missing file) still stop the step.
    monkeypatch.setattr(validate, "replay_generator", lambda *a: (_ for _ in ()).throw(ConfigError("bad key")))
    with pytest.raises(ConfigError, match="bad key"):
        validate.validate_student("snap", {}, distil, tmp_path / "data.extxyz", tmp_path, section, tmp_path)


def _objectives(out, **objectives):
    for family, objective in objectives.items():
        best = out / FOLDERS[family] / "best"
        best.mkdir(parents=True)
        (best / "provenance.json").write_text(json.dumps({"candidate": {"objective": objective}}))


def test_the_cycle_prefers_a_student_that_stayed_stable(tmp_path):
    plan = _plan(tmp_path)
    _objectives(tmp_path, snap=2.18, ace=2.05)
    assert plan.ranked_families() == ["ace", "snap"]  # lower objective first
    summary = {"students": [{"family": "snap", "stable": True, "structure": {}},
                            {"family": "ace", "stable": False, "structure": {
                                "liquid-generator4": {"phase": "liquid", "status": "unstable",
                                                      "error": "LAMMPS failed: Lost atoms: original 80 current 73"}}}]}
    (tmp_path / FOLDERS["validation"]).mkdir()
    (tmp_path / FOLDERS["validation"] / validate.SUMMARY).write_text(json.dumps(summary))
    assert plan.ranked_families() == ["snap", "ace"]


def test_the_report_names_an_unstable_replay(tmp_path):
    student = {"family": "snap", "stable": False, "errors": {"per_phase": {}, "overall": {}}, "speed": {},
               "structure": {"liquid-generator4": {"phase": "liquid", "status": "unstable",
                                                   "error": "LAMMPS failed: Lost atoms: original 80 current 73"}}}
    (tmp_path / validate.SUMMARY).write_text(json.dumps({"students": [student]}))
    lines = "\n".join(_validation_lines(tmp_path))
    assert "| SNAP | liquid-generator4 |" in lines and "UNSTABLE: LAMMPS failed: Lost atoms" in lines

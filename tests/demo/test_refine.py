"""The demo's active-learning step: its configs are checked before any step runs and built as documented."""

from __future__ import annotations

import json

import pytest
import yaml

from simkit.config.loader import validate_config
from simkit.demo.config import default_config_path
from simkit.demo.refine import best_fit_config, explore_config, refit_config
from simkit.demo.runner import FOLDERS, DemoPlan, load_demo_config
from simkit.distil.config import DistilConfig
from simkit.errors import ConfigError


def _plan(tmp_path, change=None):
    data = yaml.safe_load(default_config_path().read_text())
    if change:
        change(data)
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data))
    config, _ = load_demo_config(path)
    return DemoPlan(config, path, tmp_path / "out")


def test_a_refine_generator_that_runs_no_md_is_refused_by_name(tmp_path):
    def rattled(data):
        data["refine"]["generators"][1] = {"kind": "rattled", "count": 3}

    with pytest.raises(ConfigError, match=r"refine.generators.1.kind: the student explores by MD"):
        _plan(tmp_path, rattled)

    def typo(data):
        data["refine"]["generators"][0]["interval_fs"] = 1.0

    with pytest.raises(ConfigError, match="interval_fs"):
        _plan(tmp_path, typo)

    def no_ace(data):
        del data["ace"]
        data["cycle_model"] = "snap"

    with pytest.raises(ConfigError, match="refine.families names 'ace' but there is no 'ace' section"):
        _plan(tmp_path, no_ace)


def test_explored_frames_carry_one_label_and_the_student_samples_them(tmp_path):
    plan = _plan(tmp_path)
    student = {"kind": "ace", "yace": str(tmp_path / "student.yace")}
    config = explore_config(plan.data_config, plan.config.refine, student, 7, tmp_path / "explored.extxyz")
    assert config["teacher"] == plan.data_config["teacher"] and config["seed"] == 7
    for gen in config["generators"]:
        assert gen["sampler"] == student and gen["min_disagreement_meV_per_atom"] == 30.0
        assert gen["config_type"] == "explored" and gen["split"] == "train"
    assert {s["phase"] for s in config["generators"][0]["segments"]} == {"explored"}
    (tmp_path / "student.yace").write_text("placeholder: checked only as a path here\n")
    validate_config(DistilConfig, config, source="explore", base_dir=tmp_path)


def test_the_refit_is_the_best_candidate_on_the_data_plus_what_was_explored(tmp_path):
    plan = _plan(tmp_path)
    for path in (plan.dataset, plan.benchmark):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    best = tmp_path / "out" / FOLDERS["ace"] / "best"
    best.mkdir(parents=True)
    (best / "provenance.json").write_text(json.dumps({"config": plan.optimise_configs["ace"],
                                                      "candidate": {"params": {"ace.rcut_A": 5.5}}}))
    fit, params, candidate_dir = best_fit_config(best.parent)
    assert fit.ace.rcut_A == 5.5 and params == {"ace.rcut_A": 5.5} and candidate_dir == best.parent
    explored = tmp_path / "explored.extxyz"
    explored.write_text("")
    previous = tmp_path / "ace_potential.yaml"
    previous.write_text("")
    config = refit_config(fit, [plan.dataset, explored], plan.config.refine, tmp_path / "fit", previous)
    # An ACE refit continues from the student's coefficients, for the section's iterations.
    assert config["ace"]["initial_potential"] == str(previous)
    assert config["ace"]["max_iterations"] == plan.config.refine.max_iterations
    assert config["data"]["train"] == [str(plan.dataset), str(explored)]
    assert config["data"]["validation"] == {"kind": "file", "path": [str(plan.benchmark)]}
    assert config["weights"]["config_types"]["explored"]["energy"] == 0.3
    assert config["ace"]["rcut_A"] == 5.5 and config["output_dir"] == str(tmp_path / "fit")

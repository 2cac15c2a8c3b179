"""``simkit tde``: finite, direction-dependent thresholds in bcc Fe; refusals; a resume that keeps scans."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from simkit.config import load_config
from simkit.errors import ConfigError
from simkit.radiation.config import TdeConfig
from simkit.radiation.jobs import tde_job
from simkit.radiation.study import open_study
from simkit.radiation.tde import study_directions
from simkit.radiation.tde_report import TDE_CSV, TDE_HISTOGRAM_PNG, TDE_JSON, TDE_SPHERE_PNG
from tests.conftest import run_python_mpi
from tests.fuzz.harness import run_in_process
from tests.one_rank_fault import MESSAGE, fault_script


def _config(tmp_path, **changes) -> dict:
    data = {
        "output_dir": str(tmp_path / "tde"),
        "seed": 7,
        "potential": {"kind": "eam/fs", "file": "lammps:Fe_mm.eam.fs"},
        "structure": {"bulk": {"element": "Fe", "crystal": "bcc", "a_A": 2.855, "cubic": True}, "repeat": [6, 6, 6]},
        "pka": {"species": "Fe"},
        "directions": {"miller": [[1, 0, 0], [1, 1, 0], [1, 1, 1]]},
        "temperatures_K": [25],
        "equilibration": {"duration_ps": 0.5},
        "scan": {"start_eV": 12, "step_eV": 4, "max_eV": 80, "duration_fs": 300},
        "workers": 2,
    }
    data.update(changes)
    return data


def _write(tmp_path, data) -> str:
    path = tmp_path / "tde.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.slow
def test_fe_thresholds_are_finite_and_depend_on_direction(tmp_path):
    config = load_config(TdeConfig, _write(tmp_path, _config(tmp_path)))
    summary = tde_job(config)
    directions = summary["temperatures"]["25"]["directions"]
    values = {label: d["tde_eV"]["mean"] for label, d in directions.items()}
    assert set(values) == {"<100>", "<110>", "<111>"}
    assert all(12 <= v <= 80 for v in values.values()), values
    assert len(set(values.values())) > 1, f"no dependence on direction: {values}"
    out = config.output_dir
    for name in (TDE_CSV, TDE_JSON, TDE_SPHERE_PNG, TDE_HISTOGRAM_PNG):
        assert (out / name).is_file(), name
    rows = (out / TDE_CSV).read_text().splitlines()
    assert len(rows) == 4

    # A resume re-runs nothing: every scan's result file stays as it was.
    before = {p.name: p.read_text() for p in (out / "results").glob("*.json")}
    again = tde_job(config, resume=True)
    assert {p.name: p.read_text() for p in (out / "results").glob("*.json")} == before
    assert again["temperatures"] == json.loads(json.dumps(summary["temperatures"]))


def test_a_fresh_run_refuses_a_directory_with_results_and_a_changed_resume(tmp_path):
    config = load_config(TdeConfig, _write(tmp_path, _config(tmp_path)))
    results = open_study(config.output_dir, "tde", config, resume=False, overwrite=False)
    results.mkdir(parents=True)
    (results / "scan_T25K_e0_d0.json").write_text("{}")
    with pytest.raises(ConfigError, match="--resume"):
        open_study(config.output_dir, "tde", config, resume=False, overwrite=False)
    changed = load_config(TdeConfig, _write(tmp_path, _config(tmp_path, temperatures_K=[300])))
    with pytest.raises(ConfigError, match="temperatures_K"):
        open_study(changed.output_dir, "tde", changed, resume=True, overwrite=False)
    open_study(config.output_dir, "tde", config, resume=True, overwrite=False)  # same config: fine
    open_study(changed.output_dir, "tde", changed, resume=False, overwrite=True)
    assert not results.exists()


@pytest.mark.parametrize("change, named", [
    ({"pka": {"index": 100000}}, "pka.index"),
    ({"pka": {"species": "W"}}, "pka.species"),
    ({"directions": {"miller": [[0, 0, 0]]}}, "directions"),
    ({"temperatures_K": [-5]}, "temperatures_K"),
    ({"scan": {"start_eV": 50, "max_eV": 10}}, "scan"),
    ({"scan": {"start_eV": -1}}, "scan.start_eV"),
])
def test_bad_input_is_refused_naming_the_key(tmp_path, change, named):
    ended = run_in_process(["tde", _write(tmp_path, _config(tmp_path, **change))])
    assert ended.code != 0
    assert named in ended.stderr, ended.stderr
    assert "Traceback" not in ended.stderr
    assert not (tmp_path / "tde" / "results").exists() or not list((tmp_path / "tde" / "results").iterdir())


def test_listed_cubic_directions_are_weighted_by_their_images(tmp_path):
    config = load_config(TdeConfig, _write(tmp_path, _config(tmp_path)))
    vectors, weights, labels = study_directions(config.directions)
    assert labels == ["<100>", "<110>", "<111>"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert weights.sum() == pytest.approx(1.0)
    # 6 <100>, 12 <110> and 8 <111> images share the sphere; <110> has the most images.
    assert weights[1] > weights[0] and weights[1] > weights[2]


def test_a_potential_without_a_repulsive_core_is_refused(tmp_path):
    # A Morse pair with a 0.1 eV well never rises above about 12 eV: an 80 eV knock goes through it.
    data = _config(tmp_path, potential={"kind": "lammps", "pair_style": "morse 5.0",
                                        "pair_coeff": ["* * 0.1 1.0 2.5"], "elements": ["Fe"], "cutoff_A": 5.0})
    ended = run_in_process(["tde", _write(tmp_path, data)])
    assert ended.code != 0 and "repulsive" in ended.stderr, ended.stderr
    shutil.rmtree(tmp_path / "tde", ignore_errors=True)


@pytest.mark.slow
@pytest.mark.mpi
def test_scans_failing_on_one_rank_are_reported_and_the_others_kept(tmp_path):
    script = tmp_path / "one_rank_fails.py"
    script.write_text(fault_script(patch="simkit.radiation.tde:wigner_seitz", job="simkit.radiation.jobs:tde_job",
                                   config="simkit.radiation.config:TdeConfig"))
    config = _write(tmp_path, _config(tmp_path, scan={"start_eV": 12, "step_eV": 8, "max_eV": 60,
                                                      "duration_fs": 200}))
    done = run_python_mpi(script, 2, config, timeout=600)  # a rank left waiting would time out here
    assert done.returncode != 0
    assert done.stdout.count("stopped:") == 2 and MESSAGE in done.stdout, done.stdout
    # Scans are dealt round-robin: rank 1 ran direction 1 and its result is kept for --resume.
    kept = sorted(p.name for p in (tmp_path / "tde" / "results").glob("scan_*.json"))
    assert kept == ["scan_T25K_e0_d1.json"]

"""``simkit learn``: the loop on a diamond-only Si student, killed and resumed; bad configs refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from simkit.config import load_config
from simkit.errors import ConfigError
from simkit.learn.config import LearnConfig
from simkit.learn.loop import STATE_FILE, _start
from tests.conftest import BIN, run_cli

TEACHER = {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff", "param": "lammps:Si_Zuo_JPCA2020.snapparam"}
DIAMOND = {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A diamond-only training set and a solid-to-liquid benchmark, labelled by the teacher (simkit distil)."""
    folder = tmp_path_factory.mktemp("learn-data")
    config = {"output": str(folder / "crystal.extxyz"), "benchmark_output": str(folder / "benchmark.extxyz"),
              "seed": 5, "teacher": TEACHER, "structure": DIAMOND,
              "generators": [{"kind": "rattled", "count": 4, "rattle_A": 0.05, "repeat": [2, 2, 2]},
                             {"kind": "md", "split": "benchmark", "temperatures_K": [2500],
                              "snapshots_per_temperature": 3, "repeat": [2, 2, 2], "equilibration_ps": 0.3}]}
    (folder / "distil.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("distil", str(folder / "distil.yaml"))
    assert result.returncode == 0, result.stderr[-2000:]
    return {"train": folder / "crystal.extxyz", "benchmark": folder / "benchmark.extxyz"}


def learn_config(data, out: Path, **changes) -> dict:
    config = {
        "output_dir": str(out), "seed": 3, "teacher": TEACHER,
        "fit": {"backend": "ace", "elements": ["Si"], "data": {"train": str(data["train"])},
                "ace": {"functions_per_element": 20, "nradmax_by_orders": [6, 3, 2], "lmax_by_orders": [0, 2, 1],
                        "max_iterations": 60}},
        "refit_iterations": 30,
        "benchmark": str(data["benchmark"]),
        "exploration": {"structures": [{**DIAMOND, "repeat": [2, 2, 2]}],
                        "survival": {"temperatures_K": [3500], "replicas": 2, "duration_ps": 0.4,
                                     "nve_duration_ps": 0, "target_atoms": 64, "check_every_steps": 20}},
        "selection": {"gamma_threshold": 3.0, "max_frames_per_iteration": 2},
        "stop": {"max_iterations": 3},
    }
    config.update(changes)
    return config


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_loop_killed_after_an_iteration_resumes_to_the_same_end(data, tmp_path):
    out = tmp_path / "run"
    config = write(tmp_path / "learn.yaml", learn_config(data, out))
    log = tmp_path / "first.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([str(BIN / "simkit"), "learn", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and process.poll() is None:
            state = out / STATE_FILE
            if state.exists() and json.loads(state.read_text())["iterations"]:
                break
            time.sleep(1)
        assert process.poll() is None, log.read_text()[-3000:]
        os.killpg(process.pid, signal.SIGKILL)  # inside iteration 1 (its fit, screen or labelling)
        process.wait()
    first = json.loads((out / STATE_FILE).read_text())["iterations"]
    assert len(first) == 1 and not json.loads((out / STATE_FILE).read_text())["finished"]

    refused = run_cli("learn", str(config))
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = run_cli("learn", str(config), "--resume", timeout=1500)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = json.loads((out / STATE_FILE).read_text())
    iterations = state["iterations"]
    assert state["finished"] and iterations[0] == first[0]  # the completed iteration is kept as it was
    assert [e["iteration"] for e in iterations] == list(range(len(iterations)))
    assert iterations[-1]["stopped"]
    for before, after in zip(iterations, iterations[1:]):
        # each refit trains on everything added before it
        assert after["training_frames"] == before["training_frames"] + before["frames_added"]
        assert Path(before["added_file"]).is_file()
    # the diamond-only student graded the hot cells as extrapolation; labelling them cut its benchmark force
    # error and its largest grade. (Its energy error, with four training frames and a per-atom reference
    # energy refitted each time, moves either way at this size; benchmarks/results/learn_si.md has both.)
    assert iterations[0]["max_gamma"] > 3.0 and iterations[0]["frames_added"] > 0
    first_f, last_f = (iterations[i]["benchmark"]["force_component_rmse_meV_per_A"] for i in (0, -1))
    assert last_f < 0.9 * first_f and iterations[-1]["max_gamma"] < iterations[0]["max_gamma"]
    assert "| 0 |" in (out / "learn.md").read_text()
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["results"]["stopped"] == iterations[-1]["stopped"]


def test_config_refuses_a_snap_fit_and_a_fit_output_dir(data, tmp_path):
    config = learn_config(data, tmp_path / "run")
    config["fit"]["backend"] = "snap"
    with pytest.raises(ConfigError, match="fit"):
        load_config(LearnConfig, write(tmp_path / "a.yaml", config))
    config = learn_config(data, tmp_path / "run")
    config["fit"]["output_dir"] = "somewhere"
    with pytest.raises(ConfigError, match="fit.output_dir is set by simkit learn"):
        load_config(LearnConfig, write(tmp_path / "b.yaml", config))


def test_start_refuses_resume_without_state_and_a_fresh_run_over_one(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    config = load_config(LearnConfig, write(tmp_path / "learn.yaml", learn_config(data, out)))
    with pytest.raises(ConfigError, match="nothing to resume"):
        _start(config, out, resume=True, overwrite=False)
    from simkit.learn.loop import _save

    _save(out, config, [{"iteration": 0}], finished=False)
    (out / "iteration-0").mkdir()
    with pytest.raises(ConfigError, match="continue it with --resume"):
        _start(config, out, resume=False, overwrite=False)
    assert _start(config, out, resume=True, overwrite=False) == [{"iteration": 0}]
    changed = load_config(LearnConfig, write(tmp_path / "changed.yaml", learn_config(data, out, seed=4)))
    with pytest.raises(ConfigError, match="config changed since the loop started .*seed"):
        _start(changed, out, resume=True, overwrite=False)
    (out / STATE_FILE).write_text("{torn")
    with pytest.raises(ConfigError, match="unreadable learning state"):
        _start(config, out, resume=True, overwrite=False)
    assert _start(config, out, resume=False, overwrite=True) == []
    assert not (out / STATE_FILE).exists() and not (out / "iteration-0").exists()


def test_example_configs_build_their_starting_cells_reproducibly():
    # the Sb2Te3 rocksalt-like cell places its cation vacancies at random: the loop's seed decides
    from simkit.learn.loop import exploration_cells

    inputs = Path(__file__).resolve().parents[2] / "inputs"
    for name in ("learn_si.yaml", "learn_sb2te3.yaml"):
        config = load_config(LearnConfig, inputs / name)
        first, again = exploration_cells(config), exploration_cells(config)
        assert [len(c) for c in first] == [len(c) for c in again] and len(first[0]) > 0
        assert all((a.positions == b.positions).all() for a, b in zip(first, again))

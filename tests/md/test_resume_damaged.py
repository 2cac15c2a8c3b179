"""``simkit md --resume`` on a run directory whose ``checkpoints/state.json`` was damaged: every case is refused
with one line naming the file and the field (exit 2), on one rank and on two; none resumes from a made-up
step, segment or file, and none ends in a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_cli
from tests.md.test_resume import TINY


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    config = folder / "tiny.yaml"
    config.write_text(TINY.format(out=folder / "run", temperature=300))
    result = run_cli("md", str(config))
    assert result.returncode == 0, result.stderr
    return folder / "run"


def _damage(state: dict, case: str):
    checkpoint = state["checkpoint"]
    changes = {
        "not-a-mapping": lambda: [],
        "step-text": lambda: checkpoint.update(step="10"),
        "step-beyond-int64": lambda: checkpoint.update(step=10**30),
        "step-past-segment": lambda: checkpoint.update(step=10_000),
        "segment-not-in-protocol": lambda: checkpoint.update(segment=99),
        "restart-outside-folder": lambda: checkpoint.update(restart_file="../../tiny.yaml"),
        "records-not-a-list": lambda: checkpoint.update(segment_records="x"),
        "time-nan": lambda: checkpoint.update(segment_begin_time_ps=float("nan")),
        "unknown-key": lambda: checkpoint.update(stepp=3),
    }
    replaced = changes[case]()
    return state if replaced is None else replaced


# Each case starts a process (about 3 s), so one per kind of damage: the type, range and consistency checks of
# simkit.drivers.md.state are all reached.
CASES = {
    "not-a-mapping": "expected a mapping", "step-text": "'step'", "step-beyond-int64": "'step'",
    "step-past-segment": "steps into segment 1", "segment-not-in-protocol": "segment 99, but the protocol has 2",
    "restart-outside-folder": "'restart_file'", "records-not-a-list": "'segment_records'",
    "time-nan": "'segment_begin_time_ps'", "unknown-key": "stepp",
}


def _contents(run):
    # (the lock file names whichever command held the directory last)
    return {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".simkit.lock"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_checkpoint_record_is_refused_by_name(case, finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    path = run / "checkpoints" / "state.json"
    state = json.loads(path.read_text())
    state["finished"] = False  # as if killed after its last checkpoint
    path.write_text(json.dumps(_damage(state, case)))
    before = _contents(run)
    try:
        result = run_cli("md", "--resume", str(run), timeout=120)
    finally:
        after = _contents(run)
        path.unlink()  # the summary scan of every test's folder would (rightly) flag the damaged numbers
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("INFO")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"simkit md: error: {path}: unreadable checkpoint record") and CASES[case] in lines[0]
    assert after == before  # nothing the run had produced was touched


@pytest.mark.mpi
def test_a_damaged_checkpoint_record_stops_both_ranks(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    path = run / "checkpoints" / "state.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps(_damage(state | {"finished": False}, "segment-not-in-protocol")))
    try:
        result = run_cli("md", "--resume", str(run), np_ranks=2, timeout=120)
    finally:
        path.unlink()
    assert result.returncode == 2 and "segment 99" in result.stderr and "Traceback" not in result.stderr


def test_a_run_killed_after_its_last_step_writes_its_final_outputs_on_resume(finished_run, tmp_path):
    """The state file says finished before the final structure, figure and summary are written; a kill in
    between used to leave a run that resumed as 'finished already' with an empty summary (0 atoms, T = nan)."""
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    complete = json.loads((run / "run_summary.json").read_text())
    killed = complete | {"status": "running", "results": {"natoms": complete["results"]["natoms"]}}
    (run / "run_summary.json").write_text(json.dumps(killed))
    for name in ("final.extxyz", "summary.png"):
        (run / name).unlink()
    result = run_cli("md", "--resume", str(run), timeout=120)
    assert result.returncode == 0 and "did not write its final outputs" in result.stderr, result.stderr
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["results"]["final_thermo"] == complete["results"]["final_thermo"]
    assert summary["results"]["segments"] == complete["results"]["segments"]
    assert (run / "final.extxyz").read_bytes() == (finished_run / "final.extxyz").read_bytes()
    assert (run / "summary.png").stat().st_size > 10_000

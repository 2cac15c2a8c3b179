"""SIGTERM (a batch system's stop) ends ``simkit optimise`` with its workers at once: none runs on as an
orphan writing into the run directory, and running the command again continues the run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest

from simkit.optimise.journal import read_rows
from tests.conftest import BIN
from tests.optimise.conftest import base_config, write_config


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_the_run_continues(tmp_path, si_small_file):
    # A weight search of many draws keeps each candidate busy for several seconds.
    snap = {"twojmax": 4, "rcutfac": 4.7, "quadratic": True, "solver": {"kind": "ridge", "alpha": 1.0e-6},
            "weight_search": {"draws": 40000, "iterations": 0}}
    document = base_config(si_small_file, tmp_path / "run", fit={"snap": snap}, budget={"candidates": 3},
                           optimiser={"initial_points": 3}, parallel={"candidates": 2})
    config = write_config(tmp_path / "run.yaml", document)
    command = [str(BIN / "simkit"), "optimise", str(config)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    workers = _workers(parent)
    # Counting all children raced: the resource tracker and the first worker made two before the second
    # worker had been exec'd, so wait for the two workers themselves.
    while len(workers) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = _workers(parent)
    assert len(workers) == 2, process.communicate()
    time.sleep(3.0)  # both inside their first candidate's search
    os.kill(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr.decode()[-2000:]
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, [w.pid for w in alive]

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = read_rows(tmp_path / "run")
    assert sum(r["status"] == "ok" for r in rows) == 3


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in parent.children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # still being exec'd, or already gone
            continue
    return found

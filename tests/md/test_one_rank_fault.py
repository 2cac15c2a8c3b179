"""`mpirun -np 2 simkit md` with a fault on one rank only, mid-run: the whole job ends promptly, non-zero, with
the error printed once; the frames committed before it are kept and `--resume` finishes the run."""

from __future__ import annotations

import time

import pytest

from simkit.io import open_trajectory
from tests.conftest import run_cli, run_python_mpi
from tests.md.protocols import reset_protocol, write_protocol
from tests.one_rank_fault import MESSAGE, cli_fault_script

# Two frames, then the fault: at the third frame (every rank takes part in gathering a frame).
CASES = {
    # A defect on the rank that does not write: rank 0 is left inside the frame gather.
    "defect-on-rank-1": ("simkit.drivers.md.trajectory:take_snapshot", 1, "ValueError"),
    # The same on the writing rank: rank 1 is left inside the frame gather.
    "defect-on-rank-0": ("simkit.drivers.md.trajectory:take_snapshot", 0, "ValueError"),
    # A simkit error (a clear message, no traceback) raised on one rank alone.
    "simkit-error-on-rank-1": ("simkit.drivers.md.trajectory:take_snapshot", 1, "RunFailed"),
}


def _protocol(out):
    protocol = reset_protocol(out, trajectory_every=50, thermo_every=50, checkpoint_every=100)
    protocol["stages"][1]["duration_ps"] = 0.3
    protocol["stages"][2].update(duration_ps=0.3, energy_eV=40)
    protocol["stages"][3]["duration_ps"] = 0.2
    return protocol


@pytest.mark.mpi
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_fault_on_one_rank_ends_the_job_and_keeps_the_frames(tmp_path, case):
    patch, rank, error = CASES[case]
    script = tmp_path / "fault.py"
    script.write_text(cli_fault_script(patch=patch, rank=rank, on_call=3, error=error))
    out = tmp_path / "run"
    config = write_protocol(tmp_path / "md.yaml", _protocol(out))

    started = time.monotonic()
    done = run_python_mpi(script, 2, "md", str(config), timeout=180)  # a rank left waiting times out here
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    if error == "RunFailed":  # one line, by the rank that failed
        assert done.stderr.count(MESSAGE) == 1, done.stderr
        assert f"simkit md: error: [rank {rank}] {MESSAGE}" in done.stderr and "Traceback" not in done.stderr
    else:  # a defect: its traceback, once
        assert done.stderr.count(f"ValueError: {MESSAGE}") == 1 and done.stderr.count("Traceback") == 1, done.stderr
    assert elapsed < 120, f"the job took {elapsed:.0f} s to end after a one-rank fault"
    with open_trajectory(out / "trajectory.h5md") as trajectory:
        assert len(trajectory) == 2  # the frames committed before the fault

    resumed = run_cli("md", "--resume", str(out), np_ranks=2, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with open_trajectory(out / "trajectory.h5md") as trajectory:
        assert trajectory.steps.tolist() == list(range(0, 401, 50))  # nothing lost, nothing twice

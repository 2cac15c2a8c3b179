"""SIGKILL a simkit command at seeded random moments, resume it each time, and let the test compare the end.

A kill may land anywhere: during start-up, before the first checkpoint, while a checkpoint, a CSV row or
an HDF5 frame is being written, or during the final summary. After each kill the command is started again
the way a user would: with ``--resume`` once the run has state to resume, plainly before that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class KillRecord:
    kills: list[float] = field(default_factory=list)  # seconds after start of each killed attempt
    attempts: int = 0
    finished_on_its_own: int = 0  # attempts that ended before their kill time
    returncodes: list[int] = field(default_factory=list)


def kill_anywhere(fresh: list[str], resume: list[str], resumable: Callable[[], bool], *, kills: int, seed: int,
                  delay_s: tuple[float, float], timeout_s: float = 600.0, cwd=None) -> KillRecord:
    """Start, kill and restart until ``kills`` kills have landed, then run to the end; returns what happened.

    ``resumable()`` says whether the run directory has state to resume (then ``resume`` runs, else ``fresh``).
    A restart that ends with an error fails the suite at once (with its output): a kill must never leave a
    run that cannot be continued.
    """
    rng = np.random.default_rng(seed)
    record = KillRecord()
    deadline = time.monotonic() + timeout_s
    while True:
        command = resume if resumable() else fresh
        record.attempts += 1
        delay = float(rng.uniform(*delay_s)) if len(record.kills) < kills else None
        # A file, not a pipe: a chatty command never blocks on a full pipe.
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
                                       cwd=cwd)
            try:
                process.wait(timeout=delay if delay is not None else max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                record.kills.append(delay)
                assert time.monotonic() < deadline, f"no end after {record.attempts} attempts"
                continue
            log.seek(0)
            stderr = log.read().decode(errors="replace")
        record.returncodes.append(process.returncode)
        assert process.returncode == 0, f"attempt {record.attempts} ({' '.join(command[-3:])}) failed:\n{stderr}"
        if delay is not None:
            record.finished_on_its_own += 1
        return record

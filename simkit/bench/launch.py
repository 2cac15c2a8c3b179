"""Launch one simkit command as a separate MPI job, the way a cluster user would.

The launcher is a list of words with placeholders: ``{ranks}`` (the rank
count) and ``{mpirun}`` (this environment's mpirun). Examples::

    launcher: {command: ["{mpirun}", "-np", "{ranks}"]}                 # default
    launcher: {command: ["srun", "--mpi=pmi2", "-n", "{ranks}"]}
    launcher: {command: ["mpiexec", "-n", "{ranks}", "--bind-to", "core"]}

Each job runs in its own process group, so a job that runs past its time limit
is stopped as a whole (launcher and ranks) without touching anything else.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydantic import Field, field_validator

from simkit.config.schema import Schema
from simkit.errors import BackendSetupError
from simkit.runtime.mpi import launcher_size, mpirun_executable

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed): ")
RANKS = "{ranks}"
MPIRUN = "{mpirun}"
_GRACE_S = 10.0


class LauncherSpec(Schema):
    """How to start an MPI job of N ranks; see the module docstring for examples."""

    command: list[str] = Field(default=[MPIRUN, "-np", RANKS], min_length=1)
    timeout_s: float = Field(default=3600.0, gt=0, description="a job running longer is stopped and recorded as failed")
    env: dict[str, str] = Field(default={}, description="extra environment variables for the job")

    @field_validator("command")
    @classmethod
    def _has_ranks(cls, words: list[str]) -> list[str]:
        if not any(RANKS in word for word in words):
            raise ValueError(f"the launcher command must contain {RANKS} where the rank count goes, got {words}")
        return words

    def words(self, ranks: int) -> list[str]:
        """The launcher part of the command line for ``ranks`` ranks."""
        words = []
        for word in self.command:
            if MPIRUN in word:
                word = word.replace(MPIRUN, str(mpirun_executable()))
            words.append(word.replace(RANKS, str(int(ranks))))
        return words


def simkit_command(*args: str) -> list[str]:
    """This environment's simkit, started through its interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "simkit.cli.main", *args]


@dataclass(frozen=True)
class LaunchOutcome:
    command: list[str]
    returncode: int | None  # None: stopped at the time limit
    wall_s: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self) -> str:
        """One line saying why the job failed (simkit's own error line when there is one)."""
        if self.returncode is None:
            return f"timed out after {self.wall_s:.0f} s"
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if ": error:" in line]
        # A defect's traceback ends with its exception line; MPI's abort notice may follow it.
        raised = [line for line in lines if _EXCEPTION_LINE.match(line)]
        detail = (errors or raised or lines or [f"no output ({self.stdout.strip()[-200:]})"])[-1]
        return f"exit code {self.returncode}: {detail}"


def run_job(words: Sequence[str], *, cwd: Path, timeout_s: float, env: dict[str, str] | None = None) -> LaunchOutcome:
    """Run ``words`` in ``cwd`` and wait; at ``timeout_s`` stop its process group (TERM, then KILL)."""
    environment = dict(os.environ)
    environment.update(env or {})
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            list(words), cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise BackendSetupError(f"cannot start the launcher `{words[0]}`: {exc}") from exc
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _stop_group(process)
        stdout, stderr = process.communicate()
        returncode = None
    return LaunchOutcome(list(words), returncode, time.perf_counter() - started, stdout, stderr)


def _stop_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group this job was started in, and nothing else
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def own_job_size() -> int:
    """Ranks in the MPI job this process belongs to (1 when not started by a launcher)."""
    return launcher_size()

"""Run a ``simkit`` command on one bad input and judge how it ended.

The contract every fuzz case checks: exit code 2, exactly one non-empty line on
stderr starting with ``simkit <command>: error:`` that names the file (and the
key or frame), and no traceback anywhere. Commands run in this process through
:func:`simkit.cli.main.main` where nothing can crash the interpreter (config
validation, Python readers), and in a child process where native code (HDF5,
LAMMPS) reads the broken file, so a signal is reported instead of killing pytest.
"""

from __future__ import annotations

import io
import logging
import subprocess
import traceback
from collections import Counter, defaultdict
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import BIN

REFUSED = "refused"  # the one good outcome
# Outcomes counted per corpus, printed at the end of the session (see tests/fuzz/conftest.py).
TALLY: dict[str, Counter] = defaultdict(Counter)


@dataclass
class Ended:
    """How one command run ended."""

    code: int | None  # None: killed by a signal or timed out
    stdout: str
    stderr: str
    signal: int | None = None

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_in_process(argv: list[str]) -> Ended:
    """``simkit ARGV`` in this process; an escaping exception is printed as the CLI would print it."""
    from simkit.cli.main import main

    logger = logging.getLogger("simkit")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException:  # noqa: BLE001 - an escaping exception is the finding
                traceback.print_exc(file=err)
                code = 1
    finally:
        # main() configures the 'simkit' logger for a process; give the next test the logger it had.
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
    return Ended(code, out.getvalue(), err.getvalue())


def run_in_child(argv: list[str], *, cwd: Path | None = None, timeout: float = 120) -> Ended:
    """``simkit ARGV`` in a child process, so that a crash in native code is contained."""
    try:
        done = subprocess.run([str(BIN / "simkit"), *map(str, argv)], capture_output=True, text=True,
                              cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return Ended(None, _text(exc.stdout), _text(exc.stderr) + f"\n[timed out after {timeout} s]")
    if done.returncode < 0:
        return Ended(None, done.stdout, done.stderr, signal=-done.returncode)
    return Ended(done.returncode, done.stdout, done.stderr)


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


@dataclass
class Verdict:
    outcome: str
    detail: str = ""
    names: list[str] = field(default_factory=list)


def judge(ended: Ended, command: str, names: list[str]) -> Verdict:
    """The outcome of one case: ``refused`` when the contract holds, else what broke it."""
    everything = ended.stdout + ended.stderr
    tail = everything[-1500:]
    if ended.signal is not None:
        return Verdict(f"signal {ended.signal}", tail)
    if ended.code is None:
        return Verdict("timeout", tail)
    if "Traceback" in everything:
        return Verdict("traceback", tail)
    if ended.code == 0:
        return Verdict("exit 0", tail)
    if ended.code != 2:
        return Verdict(f"exit {ended.code}", tail)
    lines = ended.lines
    if len(lines) != 1:
        return Verdict("not one line", "\n".join(lines[:6]))
    line = lines[0]
    if not line.startswith(f"simkit {command}: error: "):
        return Verdict("wrong prefix", line)
    missing = [n for n in names if n not in line]
    if missing:
        return Verdict("does not name " + ", ".join(repr(m) for m in missing), line)
    return Verdict(REFUSED, line)


def record(corpus: str, verdict: Verdict) -> None:
    TALLY[corpus][verdict.outcome] += 1


def check(corpus: str, ended: Ended, command: str, names: list[str]) -> Verdict:
    """Judge, count, and assert the contract."""
    verdict = judge(ended, command, names)
    record(corpus, verdict)
    assert verdict.outcome == REFUSED, f"{verdict.outcome}: {verdict.detail}"
    return verdict

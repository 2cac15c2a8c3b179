"""``simkit optimise`` as the child of a benchmark script, stopped with it.

A benchmark that is stopped (SIGTERM from a batch system or ``kill``, Ctrl-C) must stop its run too: the run
then ends its workers and keeps its journal, instead of writing on into a directory the next invocation of the
benchmark may remove and restart in.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def stop_on_sigterm() -> None:
    """SIGTERM raises SystemExit(143) in the benchmark, which unwinds :func:`run_optimise` and stops its run."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def run_optimise(config: Path, cwd: Path) -> None:
    """Run ``simkit optimise CONFIG`` to its end; a failed run ends the benchmark with the run's error."""
    optimise = subprocess.Popen([str(BIN / "simkit"), "optimise", str(config)], cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, stderr = optimise.communicate()
    finally:
        if optimise.poll() is None:  # stopped ourselves: SIGTERM lets the run end its workers
            optimise.terminate()
            optimise.wait(timeout=120)
    if optimise.returncode != 0:
        sys.exit(f"simkit optimise {config} failed (exit {optimise.returncode}):\n"
                 f"{stderr.decode(errors='replace')[-4000:]}")

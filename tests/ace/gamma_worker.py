"""Run under mpirun by test_gamma.py: per-atom gamma of each test structure, written by rank 0."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from simkit.runtime.mpi import world  # noqa: E402
from tests.ace import gamma_helpers  # noqa: E402


def main(yace: str, activeset: str, out: str) -> None:
    comm = world()
    results = {name: gamma_helpers.plugin_gamma(Path(yace), Path(activeset), atoms, comm)
               for name, atoms in gamma_helpers.tests().items()}
    if comm.Get_rank() == 0:
        np.savez(out, size=comm.Get_size(), **results)


if __name__ == "__main__":
    main(*sys.argv[1:])

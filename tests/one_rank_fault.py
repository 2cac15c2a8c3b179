"""A script for ``mpirun -np 2``: run a job with one function failing on rank 0 only, and print how each rank
ended ("rank R stopped: MESSAGE" for a simkit error). A rank left waiting on the failed one hangs the job,
which the caller's timeout turns into a test failure."""

from __future__ import annotations

MESSAGE = "failed on rank 0 only"

_SCRIPT = """
import importlib, sys
from simkit.runtime.mpi import world
comm = world()
from simkit.config import load_config
from simkit.errors import SimkitError

def named(path):
    module, name = path.split(":")
    return importlib.import_module(module), name

target, attribute = named({patch!r})
real = getattr(target, attribute)
calls = []

def flaky(*args, **kwargs):
    calls.append(1)
    if comm.Get_rank() == 0 and len(calls) >= {on_call}:
        raise ValueError({message!r})
    return real(*args, **kwargs)

setattr(target, attribute, flaky)
job = getattr(*named({job!r}))
config = load_config(getattr(*named({config!r})), sys.argv[1])
try:
    job(config, comm)
except SimkitError as exc:
    print(f"rank {{comm.Get_rank()}} stopped: {{exc}}", flush=True)
    sys.exit(5)
print(f"rank {{comm.Get_rank()}} finished", flush=True)
"""


def fault_script(*, patch: str, job: str, config: str, on_call: int = 1) -> str:
    """``patch``, ``job`` and ``config`` as ``module:name``; ``patch`` raises on rank 0 from its ``on_call``-th call."""
    return _SCRIPT.format(patch=patch, job=job, config=config, on_call=on_call, message=MESSAGE)

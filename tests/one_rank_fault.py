"""A script for ``mpirun -np 2``: run a job with one function failing on rank 0 only, and print how each rank
ended ("rank R stopped: MESSAGE" for a simkit error). A rank left waiting on the failed one hangs the job,
which the caller's timeout turns into a test failure."""

from __future__ import annotations

import builtins

MESSAGE = "injected fault on one rank"

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


_CLI_SCRIPT = """
import importlib, sys
from simkit.runtime.mpi import world
comm = world()
module, name = {patch!r}.split(":")
target = importlib.import_module(module)
real = getattr(target, name)
calls = []

def flaky(*args, **kwargs):
    calls.append(1)
    if comm.Get_rank() == {rank} and len(calls) >= {on_call}:
        raise {error}({message!r})
    return real(*args, **kwargs)

setattr(target, name, flaky)
from simkit.cli.main import main
argv = sys.argv[1:]
if "simkit.cli.main" in argv:  # given a launcher's command line (bench scaling's jobs): PYTHON -m simkit.cli.main ...
    argv = argv[argv.index("simkit.cli.main") + 1:]
sys.exit(main(argv))
"""


def cli_fault_script(*, patch: str, rank: int, on_call: int = 1, error: str = "ValueError") -> str:
    """A script taking simkit's argv: ``patch`` (``module:name``) raises ``error`` on ``rank`` alone from
    its ``on_call``-th call there, then the command runs as ``simkit ARGV`` would. ``error`` is a builtin
    exception (a defect) or a name importable from ``simkit.errors`` (an error simkit raises)."""
    if not error.isidentifier():
        raise ValueError(error)
    script = _CLI_SCRIPT.format(patch=patch, rank=rank, on_call=on_call, error=error, message=MESSAGE)
    if not hasattr(builtins, error):
        script = f"from simkit.errors import {error}\n" + script
    return script
